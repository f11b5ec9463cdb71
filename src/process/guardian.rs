//! The guardian: a small process outside rlock's address space that kills the command's whole
//! process group when rlock dies (SIGKILL, a crash) without dismissing it, or when the lock's
//! deadline passes without rlock moving it on (rlock frozen: SIGSTOP, a debugger, starved of
//! CPU). It is rlock's own binary started again as `rlock-guardian` (its argv[0], see
//! [`is_me`], and its name, so that `ps` and `pgrep rlock-guardian` show it for what it is), in a
//! process group of its own, so that a signal to rlock's group (Ctrl-C, or `kill -9 -PGID` from
//! a CI runner) leaves it alive to do its job. rlock tells it the command's group and each new
//! deadline down a pipe, its standard input ([`Order`]); end of file on that pipe means rlock is
//! gone. rlock dismisses it by killing it (it has nothing to tidy up), which also ends one still
//! starting.
//!
//! A signal sent to the guardian does nothing (it keeps them all blocked), so that neither a
//! mistaken `pkill rlock` nor a terminal's signals can take the safety net away: rlock is the
//! one to signal. Only SIGKILL ends it (and SIGSTOP freezes it until SIGCONT); rlock hears of its
//! end, says so, and goes on without it, holding the lock.

use std::io;
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::process::Stdio;
use std::time::{Duration, Instant};

use nix::fcntl::OFlag;
use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
use nix::sys::signal::{SigSet, SigmaskHow, Signal, killpg, pthread_sigmask};
use nix::time::{ClockId, clock_gettime};
use nix::unistd::Pid;

use crate::process::descendants;

/// The guardian's name: its argv[0] (what `ps` shows), and its name in the kernel (what `pgrep`
/// matches and `ps -o comm` shows; at most 15 bytes).
const NAME: &str = "rlock-guardian";

/// What rlock tells its guardian.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Order {
    /// The command runs as the leader of this process group: kill it should rlock die.
    Watch(i32),
    /// Kill the group at this instant of the system's monotonic clock (milliseconds since
    /// boot), unless a later deadline comes first: the lock may lapse soon after.
    Deadline(u64),
}

/// The size of an encoded [`Order`]: a tag byte and eight bytes.
const ORDER_LEN: usize = 9;

impl Order {
    fn encode(self) -> [u8; ORDER_LEN] {
        let (tag, value) = match self {
            Order::Watch(group) => (b'W', i64::from(group).to_le_bytes()),
            Order::Deadline(at) => (b'D', at.to_le_bytes()),
        };
        let mut bytes = [tag; ORDER_LEN];
        bytes[1..].copy_from_slice(&value);
        bytes
    }

    fn decode(bytes: [u8; ORDER_LEN]) -> Option<Order> {
        let mut value = [0u8; 8];
        value.copy_from_slice(&bytes[1..]);
        match bytes[0] {
            b'W' => match i32::try_from(i64::from_le_bytes(value)) {
                Ok(group) if group > 1 => Some(Order::Watch(group)),
                _ => None,
            },
            b'D' => Some(Order::Deadline(u64::from_le_bytes(value))),
            _ => None,
        }
    }
}

/// The system's monotonic clock, in milliseconds: the clock `Instant` reads on Linux, shared by
/// every process.
fn monotonic_ms() -> u64 {
    // CLOCK_MONOTONIC cannot fail on Linux; were it to, the guardian would act at once.
    let Ok(now) = clock_gettime(ClockId::CLOCK_MONOTONIC) else { return u64::MAX };
    let (secs, nanos) = (u64::try_from(now.tv_sec()), u64::try_from(now.tv_nsec()));
    secs.unwrap_or(0).saturating_mul(1000).saturating_add(nanos.unwrap_or(0) / 1_000_000)
}

/// What the guardian does, given what it has heard: the group to kill, and when.
#[derive(Debug, Default, PartialEq, Eq)]
struct Watch {
    group: Option<i32>,
    deadline: Option<u64>,
}

impl Watch {
    /// Takes an order.
    fn hear(&mut self, order: Order) {
        match order {
            Order::Watch(group) => self.group = Some(group),
            Order::Deadline(at) => self.deadline = Some(at),
        }
    }

    /// How long to wait for the next order at `now`: until the deadline, or for ever.
    fn patience(&self, now: u64) -> Option<u64> {
        self.deadline.map(|at| at.saturating_sub(now))
    }

    /// Whether the deadline has passed at `now`. (It comes before the command starts, so that a
    /// rlock frozen between the two is covered: the group is not known yet then, but the
    /// command is one of rlock's children.)
    fn overdue(&self, now: u64) -> bool {
        self.deadline.is_some_and(|at| now >= at)
    }

    /// rlock is gone (end of file, or a broken pipe): the group to kill, if any.
    fn orphaned(&self) -> Option<i32> {
        self.group
    }
}

/// rlock's side of the guardian.
pub struct Guardian {
    child: std::process::Child,
    pipe: Option<OwnedFd>,
}

impl Guardian {
    /// Starts the guardian.
    pub fn start() -> io::Result<Guardian> {
        let (theirs, ours) = nix::unistd::pipe2(OFlag::O_CLOEXEC)?;
        // /proc/self/exe: this very binary, even if the file was replaced (an upgrade) since.
        let child = std::process::Command::new("/proc/self/exe")
            .arg0(NAME)
            .stdin(Stdio::from(theirs))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0)
            .spawn()?;
        Ok(Guardian { child, pipe: Some(ours) })
    }

    /// The guardian's pid.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// How the guardian ended, if it has (it is reaped then; someone killed it); `None` while it
    /// runs.
    pub fn ended(&mut self) -> Option<std::process::ExitStatus> {
        self.child.try_wait().ok().flatten()
    }

    /// The command started as the leader of `group`.
    pub fn watch(&self, group: u32) -> io::Result<()> {
        let group = i32::try_from(group).map_err(io::Error::other)?;
        self.tell(Order::Watch(group))
    }

    /// The command must be dead by `at`: kill its group then, should rlock not have moved the
    /// deadline on by that time.
    pub fn deadline(&self, at: Instant) -> io::Result<()> {
        let left = at.saturating_duration_since(Instant::now());
        // Rounded down: the guardian may act a little early, never late.
        let left = u64::try_from(left.as_millis()).unwrap_or(u64::MAX);
        self.tell(Order::Deadline(monotonic_ms().saturating_add(left)))
    }

    fn tell(&self, order: Order) -> io::Result<()> {
        let Some(pipe) = &self.pipe else { return Ok(()) };
        nix::unistd::write(pipe, &order.encode())?;
        Ok(())
    }

    /// rlock ends normally: the guardian is killed (so it kills nothing), and reaped.
    pub fn dismiss(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Whether this process was started as the guardian (its argv[0] says so).
pub fn is_me() -> bool {
    std::env::args_os().next().is_some_and(|arg0| arg0 == NAME)
}

/// The guardian's life: with nothing of rlock's open but its pipe (not the terminal, not a
/// connection to Redis), it takes orders until rlock is gone or the deadline passes, then kills
/// the watched group, and rlock's other children should rlock still live. Every signal that
/// can be blocked is: a signal sent to it does nothing.
pub fn serve() -> ! {
    // Started as /proc/self/exe, the kernel calls it "exe": give it its own name.
    let _ = nix::sys::prctl::set_name(c"rlock-guardian");
    shrug_off_signals();
    // The pipe is standard input. Nothing else is the guardian's: not standard output and
    // error (/dev/null), nor a descriptor rlock was given by whoever started it.
    close_all_but(0);
    let mut watch = Watch::default();
    let stdin = io::stdin();
    // rlock, whose other children (what the command left behind, rlock being their subreaper)
    // go with the command's group while rlock lives (frozen). Once it is gone they went to
    // another reaper, and its pid may be someone else's.
    let rlock = nix::unistd::getppid();
    let me = i32::try_from(std::process::id()).unwrap_or(0);
    let kill = |group: Option<i32>| {
        if let Some(group) = group {
            let _ = killpg(Pid::from_raw(group), Signal::SIGKILL);
        }
        if nix::unistd::getppid() == rlock {
            let mut left = descendants::children_of(&rlock.to_string());
            left.retain(|&pid| pid != me && Some(pid) != group);
            descendants::signal(&left, Signal::SIGKILL);
        }
        std::process::exit(0)
    };
    loop {
        let now = monotonic_ms();
        if watch.overdue(now) {
            kill(watch.group);
        }
        let wait = watch.patience(now).map_or(PollTimeout::NONE, |ms| {
            PollTimeout::try_from(Duration::from_millis(ms)).unwrap_or(PollTimeout::MAX)
        });
        let mut fds = [PollFd::new(stdin.as_fd(), PollFlags::POLLIN)];
        match poll(&mut fds, wait) {
            // The deadline came: checked at the top of the loop.
            Ok(0) | Err(nix::errno::Errno::EINTR) => continue,
            Ok(_) => {}
            Err(_) => break,
        }
        // Unbuffered: what poll saw is what is read, an order at a time (rlock writes each
        // whole, in one write smaller than a pipe's atomic size).
        let Some(bytes) = read_order(&stdin) else { break };
        match Order::decode(bytes) {
            Some(order) => watch.hear(order),
            // Not an order of rlock's: whoever wrote it, the guardian takes nobody's word.
            None => std::process::exit(1),
        }
    }
    if let Some(group) = watch.orphaned() {
        kill(Some(group));
    }
    std::process::exit(0)
}

/// Blocks every signal but those that report a fault of the guardian's own (SIGSEGV and the
/// like, which blocking would not stop): a signal an operator sends it (SIGTERM, SIGINT,
/// SIGHUP, SIGQUIT, SIGTSTP, SIGUSR1...) stays pending and does nothing. SIGKILL and SIGSTOP
/// cannot be blocked. Most of them came blocked from rlock already; this makes it all of them.
fn shrug_off_signals() {
    let mut blocked = SigSet::all();
    for fault in [Signal::SIGSEGV, Signal::SIGBUS, Signal::SIGFPE, Signal::SIGILL, Signal::SIGTRAP]
    {
        blocked.remove(fault);
    }
    let _ = pthread_sigmask(SigmaskHow::SIG_BLOCK, Some(&blocked), None);
}

/// Reads one order from the pipe; `None` at end of file or on an error (rlock is gone).
fn read_order(pipe: &io::Stdin) -> Option<[u8; ORDER_LEN]> {
    let mut bytes = [0u8; ORDER_LEN];
    let mut got = 0;
    while got < ORDER_LEN {
        match nix::unistd::read(pipe.as_fd(), &mut bytes[got..]) {
            Ok(0) => return None,
            Ok(n) => got += n,
            Err(nix::errno::Errno::EINTR) => {}
            Err(_) => return None,
        }
    }
    Some(bytes)
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
        for order in [Order::Watch(4242), Order::Deadline(123_456_789_012)] {
            assert_eq!(Order::decode(order.encode()), Some(order));
        }
        // Nothing that could kill every process (0, 1, -1) is ever taken as a group.
        assert_eq!(Order::decode(Order::Watch(1).encode()), None);
        assert_eq!(Order::decode(Order::Watch(-1).encode()), None);
        assert_eq!(Order::decode([b'?'; ORDER_LEN]), None);
    }

    #[test]
    fn kills_the_watched_group_once_rlock_is_gone() {
        let mut watch = Watch::default();
        assert_eq!(watch.orphaned(), None, "nothing started yet: nothing to kill");
        watch.hear(Order::Watch(77));
        assert_eq!(watch.orphaned(), Some(77));
    }

    #[test]
    fn kills_when_the_deadline_passes() {
        let mut watch = Watch::default();
        assert_eq!(watch.patience(0), None, "no deadline: wait for ever");
        // The deadline comes first, before the command (and its group) exists.
        watch.hear(Order::Deadline(1000));
        assert_eq!(watch.patience(400), Some(600));
        assert!(!watch.overdue(999));
        assert!(watch.overdue(1000));
        watch.hear(Order::Watch(77));
        // rlock moved the deadline on: the guardian waits again.
        watch.hear(Order::Deadline(5000));
        assert!(!watch.overdue(1000));
        assert_eq!(watch.patience(1000), Some(4000));
        assert_eq!(watch.group, Some(77));
    }

    #[test]
    fn the_monotonic_clock_is_the_one_instants_read() {
        let before = monotonic_ms();
        let instant = Instant::now();
        std::thread::sleep(Duration::from_millis(20));
        let elapsed = u64::try_from(instant.elapsed().as_millis()).unwrap();
        let after = monotonic_ms();
        assert!(after - before + 1 >= elapsed && after - before <= elapsed + 5, "{before} {after}");
    }
}
