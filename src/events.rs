//! What the main thread hears about while rlock waits for a lock and runs a command: signals, the
//! waiter's doorbell, the command, and the keep-alive thread, all on one channel.

/// One thing that happened, sent by a helper thread to the main thread.
#[derive(Debug)]
pub enum Event {
    /// rlock received this signal.
    Signal(i32),
    /// The doorbell thread's BLPOP ended: the lock was handed over (its fence), the time ran
    /// out, or it failed.
    Bell(Result<Option<u64>, String>),
    /// The command was stopped by this signal.
    ChildStopped(i32),
    /// The command exited (it is not reaped yet).
    ChildExited,
    /// The lock was lost, for this reason.
    LockLost(String),
}
