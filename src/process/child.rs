//! The running command: what became of it (checked on SIGCHLD, without reaping it), signals to
//! its whole process group, and reaping it at the end.

use nix::sys::signal::{Signal, killpg};
use nix::sys::wait::{Id, WaitPidFlag, WaitStatus, waitid, waitpid};
use nix::unistd::Pid;

/// How the command ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ended {
    /// It exited with this status.
    Exited(i32),
    /// It died of this signal.
    Killed(i32),
    /// It is gone, and nobody can say how (it was collected elsewhere).
    Unknown,
}

/// What became of the command (see [`Child::check`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    /// Stopped by this signal.
    Stopped(i32),
    /// Ended (not yet reaped).
    Ended(Ended),
}

/// A running command, leader of its own process group.
#[derive(Debug, Clone, Copy)]
pub struct Child {
    group: Pid,
}

impl Child {
    /// The command started as process `pid`, which leads its own process group.
    pub fn new(pid: u32) -> Child {
        Child { group: Pid::from_raw(i32::try_from(pid).unwrap_or(i32::MAX)) }
    }

    /// The command's process group (its pid).
    pub fn group(&self) -> Pid {
        self.group
    }

    pub fn pid(&self) -> u32 {
        u32::try_from(self.group.as_raw()).unwrap_or(0)
    }

    /// Sends `signal` to the command's whole process group. Safe to call until [`Child::reap`]:
    /// an ended but unreaped leader keeps the group id from being reused.
    pub fn signal_group(&self, signal: Signal) {
        // ESRCH (the group is gone) is fine: there is nobody left to tell.
        let _ = killpg(self.group, signal);
    }

    /// What became of the command since last asked, without waiting and without reaping it:
    /// a stop (reported once each), or its end; `None` while it runs on.
    pub fn check(&self) -> Option<Change> {
        let any = WaitPidFlag::WEXITED
            | WaitPidFlag::WSTOPPED
            | WaitPidFlag::WNOWAIT
            | WaitPidFlag::WNOHANG;
        loop {
            return match waitid(Id::Pid(self.group), any) {
                Err(nix::errno::Errno::EINTR) => continue,
                Ok(WaitStatus::StillAlive) => None,
                Ok(WaitStatus::Stopped(_, signal)) => {
                    // Consume this stop report (only a stop: never the exit).
                    let _ =
                        waitid(Id::Pid(self.group), WaitPidFlag::WSTOPPED | WaitPidFlag::WNOHANG);
                    Some(Change::Stopped(signal as i32))
                }
                Ok(WaitStatus::Exited(_, code)) => Some(Change::Ended(Ended::Exited(code))),
                Ok(WaitStatus::Signaled(_, signal, _)) => {
                    Some(Change::Ended(Ended::Killed(signal as i32)))
                }
                // Continued: nothing new to say.
                Ok(_) => None,
                // Collected elsewhere (it can only have ended).
                Err(_) => Some(Change::Ended(Ended::Unknown)),
            };
        }
    }

    /// Collects the command once it has ended, freeing its process group id.
    pub fn reap(self) {
        while waitpid(self.group, None) == Err(nix::errno::Errno::EINTR) {}
    }
}
