//! rlock's integration tests: the real binary against real redis-server processes.

// The fixtures start redis-server processes that die with the tests (pre_exec).
#[allow(unsafe_code)]
mod fixture;
mod harness;
mod partition;

mod acl;
mod cluster;
mod commands;
mod docs;
mod errors;
mod fair_quorum;
mod faults;
mod generated;
mod history;
mod keys;
mod limits;
mod properties;
mod queue;
mod quorum;
mod recipes;
mod restarts;
mod run;
mod safety;
mod sentinel;
mod signals;
// The pseudo-terminal sessions take their controlling terminal in the child (pre_exec).
#[allow(unsafe_code)]
mod terminal;
mod timeout;
mod tls;
mod waiting;
