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
    /// The terminal on stdin, if it is rlock's controlling terminal, rlock's process group has
    /// its foreground now (not when rlock runs in the background, `&` or `bg`), and rlock is
    /// alone in that group but for its ancestors (the shell of a script that runs it): not in a
    /// pipeline such as `rlock run ... | less`, whose other end reads the terminal too and
    /// would be stopped if the command had its foreground.
    pub fn foreground() -> Option<Terminal> {
        if !std::io::stdin().is_terminal() {
            return None;
        }
        let ours = getpgrp();
        if tcgetpgrp(stdin()).ok()? != ours || shares_its_group(ours.as_raw()) {
            return None;
        }
        Some(Terminal { ours })
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

/// Whether a process other than rlock and its ancestors is in process group `group` (rlock's):
/// a partner in a pipeline, or a job a script sent to the background. If /proc cannot be read,
/// none is assumed.
fn shares_its_group(group: i32) -> bool {
    let me = i32::try_from(std::process::id()).unwrap_or(0);
    let mut ancestors = Vec::new();
    let mut parent = nix::unistd::getppid().as_raw();
    // Up the tree for as long as it stays in the group (a shell running a script running rlock).
    while parent > 1 && ancestors.len() < 64 {
        let Some((pgrp, grandparent)) = group_and_parent(parent) else { break };
        if pgrp != group {
            break;
        }
        ancestors.push(parent);
        parent = grandparent;
    }
    let Ok(entries) = std::fs::read_dir("/proc") else { return false };
    entries
        .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse::<i32>().ok())
        .filter(|pid| *pid != me && !ancestors.contains(pid))
        .any(|pid| group_and_parent(pid).is_some_and(|(pgrp, _)| pgrp == group))
}

/// The process group and parent of process `pid`, from /proc; `None` if it is gone.
fn group_and_parent(pid: i32) -> Option<(i32, i32)> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // After the command name, in parentheses (which may hold anything): state, ppid, pgrp.
    let (_, rest) = stat.rsplit_once(')')?;
    let mut fields = rest.split_whitespace().skip(1);
    let parent = fields.next()?.parse().ok()?;
    let pgrp = fields.next()?.parse().ok()?;
    Some((pgrp, parent))
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_process_group_and_parent() {
        let me = i32::try_from(std::process::id()).unwrap();
        let (pgrp, parent) = group_and_parent(me).unwrap();
        assert_eq!(pgrp, getpgrp().as_raw());
        assert_eq!(parent, nix::unistd::getppid().as_raw());
        assert_eq!(group_and_parent(-1), None);
    }

    #[test]
    fn a_child_in_the_same_group_shares_it() {
        // A child that stays in the test's group: it is neither the test nor one of its
        // ancestors.
        let mut child = std::process::Command::new("sleep").arg("5").spawn().unwrap();
        assert!(shares_its_group(getpgrp().as_raw()));
        child.kill().unwrap();
        child.wait().unwrap();
        // A group nobody is in.
        assert!(!shares_its_group(i32::MAX));
    }
}
