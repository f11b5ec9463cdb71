//! The guardian: a small process outside rlock's address space that kills the command's whole
//! process group when rlock dies (SIGKILL, a crash) without dismissing it. It is rlock's own
//! binary started again as `rlock-guardian` (its argv[0]; see [`is_me`]), in a process group of
//! its own, so that a signal to rlock's group (Ctrl-C, or `kill -9 -PGID` from a CI runner)
//! leaves it alive to do its job. rlock tells it the command's group down a pipe, its standard
//! input ([`Order`]); end of file on that pipe means rlock is gone. rlock dismisses it by killing
//! it (it has nothing to tidy up), which also ends one still starting.

use std::io::{self, Read};
use std::os::fd::OwnedFd;
use std::os::unix::process::CommandExt;
use std::process::Stdio;

use nix::fcntl::OFlag;
use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;

/// The guardian's name: its argv[0], and so what `ps` shows.
const NAME: &str = "rlock-guardian";

/// What rlock tells its guardian.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Order {
    /// The command runs as the leader of this process group: kill it should rlock die.
    Watch(i32),
}

/// The size of an encoded [`Order`]: a tag byte and a process group id.
const ORDER_LEN: usize = 5;

impl Order {
    fn encode(self) -> [u8; ORDER_LEN] {
        let Order::Watch(group) = self;
        let tag = b'W';
        let mut bytes = [tag, 0, 0, 0, 0];
        bytes[1..].copy_from_slice(&group.to_le_bytes());
        bytes
    }

    fn decode(bytes: [u8; ORDER_LEN]) -> Option<Order> {
        let group = i32::from_le_bytes([bytes[1], bytes[2], bytes[3], bytes[4]]);
        match bytes[0] {
            b'W' if group > 1 => Some(Order::Watch(group)),
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
    /// Takes an order.
    fn hear(&mut self, order: Order) {
        let Order::Watch(group) = order;
        self.group = Some(group);
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
/// connection to Redis), it takes orders until rlock is gone, then kills the watched group. The signals rlock blocked (SIGINT, SIGTERM, SIGHUP, SIGQUIT) were blocked when
/// it started, and stay so: they are not the guardian's.
pub fn serve() -> ! {
    // The pipe is standard input. Nothing else is the guardian's: not standard output and
    // error (/dev/null), nor a descriptor rlock was given by whoever started it.
    close_all_but(0);
    let mut watch = Watch::default();
    let mut pipe = io::stdin().lock();
    loop {
        let mut bytes = [0u8; ORDER_LEN];
        match pipe.read_exact(&mut bytes) {
            Ok(()) => match Order::decode(bytes) {
                Some(order) => watch.hear(order),
                // Not an order of rlock's: whoever wrote it, the guardian takes nobody's word.
                None => std::process::exit(1),
            },
            Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
            Err(_) => break,
        }
    }
    if let Some(group) = watch.orphaned() {
        let _ = killpg(Pid::from_raw(group), Signal::SIGKILL);
    }
    std::process::exit(0)
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
        let order = Order::Watch(4242);
        assert_eq!(Order::decode(order.encode()), Some(order));
        // Nothing that could kill every process (0, 1, -1) is ever taken as a group.
        assert_eq!(Order::decode(Order::Watch(1).encode()), None);
        assert_eq!(Order::decode(Order::Watch(-1).encode()), None);
        assert_eq!(Order::decode([b'?', 0, 0, 0, 0]), None);
    }

    #[test]
    fn kills_the_watched_group_once_rlock_is_gone() {
        let mut watch = Watch::default();
        assert_eq!(watch.orphaned(), None, "nothing started yet: nothing to kill");
        watch.hear(Order::Watch(77));
        assert_eq!(watch.orphaned(), Some(77));
    }
}
