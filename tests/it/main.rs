//! rlock's integration tests: the real binary against real redis-server processes.

// The fixtures start redis-server processes that die with the tests (pre_exec).
#[allow(unsafe_code)]
mod fixture;
mod harness;
mod partition;

mod acl;
mod cluster;
mod commands;
mod errors;
mod fair_quorum;
mod faults;
mod generated;
mod history;
mod keys;
mod limits;
mod properties;
mod quorum;
mod restarts;
mod run;
mod safety;
mod sentinel;
mod signals;
mod tls;
mod waiting;
