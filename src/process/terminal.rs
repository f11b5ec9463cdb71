//! The terminal's foreground: a command rlock runs leads a process group of its own, so that
//! rlock can signal all it starts; when stdin is a terminal whose foreground is rlock's group,
//! rlock hands that foreground to the command's group (as `timeout --foreground` does), so that
//! the command can read the terminal (instead of being stopped by SIGTTIN) and hears Ctrl-C and
//! Ctrl-Z itself. rlock takes it back when the command stops or ends. Off a terminal, or in the
//! background, nothing is handed over.

use std::io::IsTerminal;
use std::os::fd::BorrowedFd;

use nix::sys::signal::{SigSet, SigmaskHow, Signal, pthread_sigmask};
use nix::unistd::{Pid, getpgrp, tcgetpgrp, tcsetpgrp};

/// rlock's terminal (its stdin), while rlock's process group has its foreground.
#[derive(Debug, Clone, Copy)]
pub struct Terminal {
    /// rlock's own process group, to give the foreground back to.
    ours: Pid,
}

impl Terminal {
    /// The terminal on stdin, if it is rlock's controlling terminal and rlock's process group
    /// has its foreground now (not when rlock runs in the background, `&` or `bg`).
    pub fn foreground() -> Option<Terminal> {
        if !std::io::stdin().is_terminal() {
            return None;
        }
        let ours = getpgrp();
        (tcgetpgrp(stdin()).ok()? == ours).then_some(Terminal { ours })
    }

    /// Gives the foreground to `group` (the command's), if rlock's group still has it.
    pub fn give(&self, group: Pid) {
        if tcgetpgrp(stdin()).is_ok_and(|now| now == self.ours) {
            let _ = without_sigttou(|| tcsetpgrp(stdin(), group));
        }
    }

    /// Takes the foreground back for rlock's group, if `group` (the command's) has it: not
    /// from whoever took it since (the shell, after `bg`).
    pub fn take_back(&self, group: Pid) {
        if tcgetpgrp(stdin()).is_ok_and(|now| now == group) {
            self.reclaim();
        }
    }

    /// Takes the foreground back for rlock's group, whoever has it: after a command that took
    /// it failed to start (the group it went to is gone, and its id unknown).
    pub fn reclaim(&self) {
        let _ = without_sigttou(|| tcsetpgrp(stdin(), self.ours));
    }
}

/// The process that calls it (the command, between fork and exec) takes the terminal's
/// foreground for its process group. Async-signal-safe: it allocates nothing and makes only
/// system calls (sigprocmask, getpgrp, tcsetpgrp). Should that fail (the terminal hung up
/// meanwhile), the command runs without the foreground, as it would in the background.
pub fn take_foreground_in_child() -> std::io::Result<()> {
    let _ = without_sigttou(|| tcsetpgrp(stdin(), getpgrp()));
    Ok(())
}

/// Standard input, where the terminal is: descriptor 0 itself (not `std::io::stdin()`, which
/// may allocate the first time, and so cannot be called between fork and exec).
fn stdin() -> BorrowedFd<'static> {
    // SAFETY: descriptor 0 is open: this is only called once stdin was found to be a terminal
    // (Terminal::foreground), and neither rlock nor the command before exec closes it.
    unsafe { BorrowedFd::borrow_raw(libc::STDIN_FILENO) }
}

/// Runs `change` (a tcsetpgrp) with SIGTTOU blocked in the calling thread: a process outside
/// the foreground that changes it is otherwise stopped by SIGTTOU (or, in rlock, has that
/// signal taken for a Ctrl-Z).
fn without_sigttou<T>(change: impl FnOnce() -> nix::Result<T>) -> nix::Result<T> {
    let mut ttou = SigSet::empty();
    ttou.add(Signal::SIGTTOU);
    let mut before = SigSet::empty();
    pthread_sigmask(SigmaskHow::SIG_BLOCK, Some(&ttou), Some(&mut before))?;
    let changed = change();
    let _ = pthread_sigmask(SigmaskHow::SIG_SETMASK, Some(&before), None);
    changed
}
