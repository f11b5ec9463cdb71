//! What the main thread hears about while rlock waits for a lock and runs a command: signals, the
//! command, and the keep-alive thread, all on one channel.

/// One thing that happened, sent by a helper thread to the main thread.
#[derive(Debug)]
pub enum Event {
    /// rlock received this signal.
    Signal(i32),
    /// The command was stopped by this signal.
    ChildStopped(i32),
    /// The command exited (it is not reaped yet), and the lock was released: whether it was still
    /// ours, or why releasing failed (`None`: not tried, the lock was lost).
    ChildExited(Option<Result<bool, String>>),
    /// The lock was lost, for this reason.
    LockLost(String),
}
