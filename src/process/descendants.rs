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

/// The pids of the children of process `pid` (rlock's, or `self`), as the kernel lists them
/// for its main thread. That list has them all: rlock starts the command and the guardian from
/// its main thread, and an orphan goes to the first live thread of its subreaper, the main
/// thread while rlock runs. (One file to read: this is on the way from the command's end to the
/// release.)
pub fn children_of(pid: &str) -> Vec<i32> {
    let main = if pid == "self" { std::process::id().to_string() } else { pid.to_owned() };
    listed(&format!("/proc/{pid}/task/{main}/children"))
}

/// The pids in a thread's `children` file.
fn listed(path: &str) -> Vec<i32> {
    let Ok(list) = std::fs::read_to_string(path) else { return Vec::new() };
    list.split_whitespace().filter_map(|pid| pid.parse().ok()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_a_threads_children_and_reaps_those_that_ended() {
        // A test runs on a thread of its own: its children are listed on that thread.
        let mine = format!("/proc/self/task/{}/children", nix::unistd::gettid());
        let mut running = std::process::Command::new("sleep").arg("5").spawn().unwrap();
        // Reaped by alive below, not by std.
        let ended = std::process::Command::new("true").spawn().unwrap().id();
        let (running_pid, ended) =
            (i32::try_from(running.id()).unwrap(), i32::try_from(ended).unwrap());
        std::thread::sleep(std::time::Duration::from_millis(100));
        let children = listed(&mine);
        assert!(children.contains(&running_pid), "{children:?}");
        assert!(alive(running_pid));
        assert!(!alive(ended), "an ended child is reaped, and not counted");
        assert!(!listed(&mine).contains(&ended));
        signal(&[running_pid], Signal::SIGKILL);
        let _ = running.wait();
        assert!(children_of("self").iter().all(|&pid| pid != running_pid));
    }
}
