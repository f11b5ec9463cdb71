//! The guardian: a small process outside rlock's address space that kills the command's whole
//! process group when rlock dies (SIGKILL, a crash) without dismissing it. It is forked while
//! rlock has one thread, before anything else starts, and lives in a process group of its own,
//! so that a signal to rlock's group (Ctrl-C, or `kill -9 -PGID` from a CI runner) leaves it
//! alive to do its job. rlock talks to it down a pipe ([`Order`]); end of file on that pipe
//! without a dismissal means rlock is gone.

use std::io::{self, Read};
use std::os::fd::{AsRawFd, OwnedFd};

use nix::fcntl::OFlag;
use nix::sys::signal::{Signal, killpg};
use nix::unistd::{ForkResult, Pid};

/// What rlock tells its guardian.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Order {
    /// The command runs as the leader of this process group: kill it should rlock die.
    Watch(i32),
    /// rlock ends normally: leave, killing nothing.
    Dismiss,
}

/// The size of an encoded [`Order`]: a tag byte and a process group id.
const ORDER_LEN: usize = 5;

impl Order {
    fn encode(self) -> [u8; ORDER_LEN] {
        let (tag, group) = match self {
            Order::Watch(group) => (b'W', group),
            Order::Dismiss => (b'D', 0),
        };
        let mut bytes = [tag, 0, 0, 0, 0];
        bytes[1..].copy_from_slice(&group.to_le_bytes());
        bytes
    }

    fn decode(bytes: [u8; ORDER_LEN]) -> Option<Order> {
        let group = i32::from_le_bytes([bytes[1], bytes[2], bytes[3], bytes[4]]);
        match bytes[0] {
            b'W' if group > 1 => Some(Order::Watch(group)),
            b'D' => Some(Order::Dismiss),
            _ => None,
        }
    }
}

/// What the guardian does, given what it has heard: the group to kill once rlock is gone.
#[derive(Debug, Default, PartialEq, Eq)]
struct Watch {
    group: Option<i32>,
}

impl Watch {
    /// Takes an order; false when the guardian should leave now.
    fn hear(&mut self, order: Order) -> bool {
        match order {
            Order::Watch(group) => {
                self.group = Some(group);
                true
            }
            Order::Dismiss => {
                self.group = None;
                false
            }
        }
    }

    /// rlock is gone (end of file, or a broken pipe): the group to kill, if any.
    fn orphaned(&self) -> Option<i32> {
        self.group
    }
}

/// rlock's side of the guardian.
pub struct Guardian {
    pid: Pid,
    pipe: Option<OwnedFd>,
}

impl Guardian {
    /// Forks the guardian. Call it before rlock starts any thread: it refuses otherwise.
    pub fn start() -> io::Result<Guardian> {
        if threads()? != 1 {
            return Err(io::Error::other("rlock already runs several threads"));
        }
        let (theirs, ours) = nix::unistd::pipe2(OFlag::O_CLOEXEC)?;
        // SAFETY: rlock has a single thread here (checked above), so the child is a whole copy
        // of a consistent process: no lock held by another thread, no half-updated allocator.
        // The child never returns into rlock's code: `guard` ends with an exit.
        match unsafe { nix::unistd::fork() }? {
            ForkResult::Child => {
                drop(ours);
                guard(theirs)
            }
            ForkResult::Parent { child } => {
                drop(theirs);
                Ok(Guardian { pid: child, pipe: Some(ours) })
            }
        }
    }

    /// The command started as the leader of `group`.
    pub fn watch(&self, group: u32) -> io::Result<()> {
        let group = i32::try_from(group).map_err(io::Error::other)?;
        self.tell(Order::Watch(group))
    }

    fn tell(&self, order: Order) -> io::Result<()> {
        let Some(pipe) = &self.pipe else { return Ok(()) };
        nix::unistd::write(pipe, &order.encode())?;
        Ok(())
    }

    /// rlock ends normally: the guardian leaves at once, killing nothing. Reaps it.
    pub fn dismiss(mut self) {
        let _ = self.tell(Order::Dismiss);
        drop(self.pipe.take());
        while nix::sys::wait::waitpid(self.pid, None) == Err(nix::errno::Errno::EINTR) {}
    }
}

/// How many threads this process runs, from /proc/self/status.
fn threads() -> io::Result<usize> {
    let status = std::fs::read_to_string("/proc/self/status")?;
    status
        .lines()
        .find_map(|line| line.strip_prefix("Threads:"))
        .and_then(|count| count.trim().parse().ok())
        .ok_or_else(|| io::Error::other("no thread count in /proc/self/status"))
}

/// The guardian's life (in the forked child): in its own process group, with nothing of rlock's
/// open but its pipe (not the terminal, not a connection to Redis), it follows orders until
/// dismissed, or kills the watched group when rlock is gone. The signals rlock blocked
/// (SIGINT, SIGTERM, SIGHUP, SIGQUIT) stay blocked here, so they are not the guardian's either.
fn guard(pipe: OwnedFd) -> ! {
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let _ = nix::unistd::setpgid(Pid::from_raw(0), Pid::from_raw(0));
        let _ = nix::sys::prctl::set_name(c"rlock-guardian");
        close_all_but(pipe.as_raw_fd());
        let mut pipe = std::fs::File::from(pipe);
        let mut watch = Watch::default();
        loop {
            let mut bytes = [0u8; ORDER_LEN];
            match pipe.read_exact(&mut bytes) {
                Ok(()) => {
                    if !Order::decode(bytes).is_some_and(|order| watch.hear(order)) {
                        return;
                    }
                }
                Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => break,
            }
        }
        if let Some(group) = watch.orphaned() {
            let _ = killpg(Pid::from_raw(group), Signal::SIGKILL);
        }
    }));
    std::process::exit(i32::from(outcome.is_err()))
}

/// Closes every descriptor but `keep`.
fn close_all_but(keep: i32) {
    let open: Vec<i32> = match std::fs::read_dir("/proc/self/fd") {
        Ok(entries) => {
            entries.filter_map(|entry| entry.ok()?.file_name().to_str()?.parse().ok()).collect()
        }
        Err(_) => (0..1024).collect(),
    };
    for fd in open.into_iter().filter(|&fd| fd != keep) {
        let _ = nix::unistd::close(fd);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn orders_round_trip() {
        for order in [Order::Watch(4242), Order::Dismiss] {
            assert_eq!(Order::decode(order.encode()), Some(order));
        }
        // Nothing that could kill every process (0, 1, -1) is ever taken as a group.
        assert_eq!(Order::decode(Order::Watch(1).encode()), None);
        assert_eq!(Order::decode(Order::Watch(-1).encode()), None);
        assert_eq!(Order::decode([b'?', 0, 0, 0, 0]), None);
    }

    #[test]
    fn kills_the_group_only_when_rlock_is_gone_undismissed() {
        let mut watch = Watch::default();
        assert_eq!(watch.orphaned(), None, "nothing started yet: nothing to kill");
        assert!(watch.hear(Order::Watch(77)));
        assert_eq!(watch.orphaned(), Some(77));
        assert!(!watch.hear(Order::Dismiss));
        assert_eq!(watch.orphaned(), None);
    }
}
