//! The processes a command leaves behind: a step sent to the background (`cmd &`), a daemon
//! that left the command's process group or session (`setsid`). rlock is their child
//! subreaper, so that when their parent ends they become rlock's children instead of init's:
//! rlock then holds the lock until they have ended too (as flock's inherited descriptor does),
//! and signals them with the command's group when it stops the command.

use nix::sys::signal::{Signal, kill, killpg};
use nix::sys::wait::{WaitPidFlag, WaitStatus, waitpid};
use nix::unistd::{Pid, getpgid};

/// Makes rlock the child subreaper of everything it starts. Without it (an old kernel), what
/// the command leaves behind goes to init, and rlock does not see it.
pub fn adopt() -> nix::Result<()> {
    nix::sys::prctl::set_child_subreaper(true)
}

/// rlock's children other than those in `known` (the command's leader, the guardian) that are
/// still alive; those that have ended are reaped on the way.
pub fn left_behind(known: &[u32]) -> Vec<i32> {
    children_of("self")
        .into_iter()
        .filter(|pid| u32::try_from(*pid).is_ok_and(|pid| !known.contains(&pid)))
        .filter(|&pid| alive(pid))
        .collect()
}

/// Sends `signal` to each of `pids`, and to the process group each leads.
pub fn signal(pids: &[i32], signal: Signal) {
    for &pid in pids {
        let pid = Pid::from_raw(pid);
        if getpgid(Some(pid)) == Ok(pid) {
            let _ = killpg(pid, signal);
        }
        let _ = kill(pid, signal);
    }
}

/// Reaps `pid` if it has ended; whether it still runs (a stopped one does).
fn alive(pid: i32) -> bool {
    loop {
        return match waitpid(Pid::from_raw(pid), Some(WaitPidFlag::WNOHANG)) {
            Err(nix::errno::Errno::EINTR) => continue,
            Ok(WaitStatus::Exited(..) | WaitStatus::Signaled(..)) => false,
            // Gone already (collected, or not our child any more).
            Err(_) => false,
            Ok(_) => true,
        };
    }
}

/// The pids of the children of `process` (a pid, or `self`), as the kernel lists them for each
/// of its threads.
pub fn children_of(process: &str) -> Vec<i32> {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{process}/task")) else { return Vec::new() };
    let mut pids: Vec<i32> = tasks
        .filter_map(|task| std::fs::read_to_string(task.ok()?.path().join("children")).ok())
        .flat_map(|list| {
            list.split_whitespace().filter_map(|pid| pid.parse().ok()).collect::<Vec<_>>()
        })
        .collect();
    pids.sort_unstable();
    pids.dedup();
    pids
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_children_and_reaps_those_that_ended() {
        let mut running = std::process::Command::new("sleep").arg("5").spawn().unwrap();
        // Reaped by left_behind below, not by std.
        let ended_pid = std::process::Command::new("true").spawn().unwrap().id();
        let running_pid = running.id();
        std::thread::sleep(std::time::Duration::from_millis(100));
        let left = left_behind(&[]);
        assert!(left.contains(&i32::try_from(running_pid).unwrap()), "{left:?}");
        assert!(!left.contains(&i32::try_from(ended_pid).unwrap()), "{left:?}");
        assert!(!left_behind(&[running_pid]).contains(&i32::try_from(running_pid).unwrap()));
        signal(&[i32::try_from(running_pid).unwrap()], Signal::SIGKILL);
        let _ = running.wait();
    }
}
