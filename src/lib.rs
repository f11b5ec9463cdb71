//! rlock: take turns through Redis.
//!
//! The library behind the `rlock` command: a lock taken with `SET key token NX PX ttl` (the
//! convention Redis lock libraries share), fenced, kept alive while a command runs, and released
//! by compare-and-delete; or held by several at once, shared or up to a limit. On one Redis
//! server (directly, through Sentinel, or in a Redis Cluster) or on a quorum of independent
//! servers. [`execute`] runs a parsed [`cli::Cli`]; [`lock::Lock`] is the lock itself for
//! programs that want no CLI, on the servers [`redis::servers`] names.
//!
//! ARCHITECTURE.md draws the modules and the flow of `rlock run`.

// Linux only: say so once, rather than leave a build failing on the first Linux call it meets.
#[cfg(not(target_os = "linux"))]
compile_error!(
    "rlock runs on Linux only: it needs /proc (the command's descendants, its terminal, its \
     holder's name), prctl(PR_SET_CHILD_SUBREAPER) to keep what the command leaves behind, and \
     /proc/self/exe for its guardian process"
);

pub mod cli;
pub mod duration;
pub mod glob;
pub mod lock;
pub mod redis;

mod app;
mod exit;
mod generate;
#[allow(unsafe_code)]
mod process;
mod report;
mod run;
mod timing;

pub use app::{execute, main};
pub use exit::{CONFLICT, Exit};
pub use generate::COMPLETION_FILES;
