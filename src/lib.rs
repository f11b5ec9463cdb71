//! rlock: take turns through Redis.
//!
//! The library behind the `rlock` command: a lock taken with `SET key token NX PX ttl` (the
//! convention Redis lock libraries share), fenced, kept alive while a command runs, and released
//! by compare-and-delete; or held by several at once, shared or up to a limit ([`mode`]). On one
//! Redis server (directly, through Sentinel, or in a Redis Cluster) or on a quorum of independent
//! servers ([`quorum`]). [`commands::execute`] runs a parsed [`cli::Cli`]; [`lock::LockClient`] is
//! the lock itself for programs that want no CLI.

pub mod child;
pub mod cli;
pub mod commands;
pub mod duration;
pub mod endpoint;
pub mod events;
pub mod exit_code;
pub mod generate;
pub mod holder;
pub mod keepalive;
pub mod keys;
pub mod launch;
pub mod lock;
pub mod mode;
pub mod quorum;
pub mod run;
pub mod scripts;
pub mod sentinel;
pub mod signals;
pub mod spawn;
pub mod ui;
pub mod wait;
