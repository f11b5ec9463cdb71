//! A command run from a terminal: rlock hands it the terminal's foreground, so that it can read
//! the terminal (instead of being stopped by SIGTTIN), hears Ctrl-C and Ctrl-Z itself, and the
//! terminal is rlock's (and its shell's) again after. Each test runs a shell in a session of its
//! own on a pseudo-terminal, as a login shell runs on a terminal, and types into it.

use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
use nix::sys::signal::{Signal, kill, killpg};
use nix::unistd::{Pid, tcgetpgrp};

use crate::fixture::RedisServer;
use crate::harness::{eventually, rlock};

/// How long a test waits for anything the terminal should show.
const PATIENCE: Duration = Duration::from_secs(15);

/// A shell running `script` as the leader of a session whose controlling terminal is a
/// pseudo-terminal, its stdin, stdout and stderr; the test holds the terminal's other end.
struct Session {
    shell: Child,
    master: File,
    /// Everything the terminal showed so far.
    seen: String,
}

impl Session {
    fn start(server: &RedisServer, script: &str) -> Session {
        let pty = nix::pty::openpty(None, None).expect("cannot open a pseudo-terminal");
        let slave = |pty: &OwnedFd| Stdio::from(pty.try_clone().expect("cannot share the pty"));
        let mut command = Command::new("sh");
        command
            .args(["-c", script])
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("RLOCK", env!("CARGO_BIN_EXE_rlock"))
            .env("RLOCK_REDIS", server.url())
            .stdin(slave(&pty.slave))
            .stdout(slave(&pty.slave))
            .stderr(slave(&pty.slave));
        let controlling_terminal = || {
            nix::unistd::setsid()?;
            // SAFETY: TIOCSCTTY takes an int argument (0: do not steal the terminal from
            // another session); descriptor 0 is the pty's slave, just set up by std.
            let made = unsafe { libc::ioctl(0, libc::TIOCSCTTY, 0) };
            if made == 0 { Ok(()) } else { Err(std::io::Error::last_os_error()) }
        };
        // SAFETY: the hook runs in the child between fork and exec and makes two system calls
        // (setsid, ioctl), both async-signal-safe; it allocates nothing.
        unsafe { command.pre_exec(controlling_terminal) };
        let shell = command.spawn().expect("cannot start the shell");
        // Only the session holds the slave now: once it is gone, reading the master fails.
        drop(pty.slave);
        Session { shell, master: File::from(pty.master), seen: String::new() }
    }

    /// Types `text` at the terminal.
    fn type_in(&mut self, text: &str) {
        self.master.write_all(text.as_bytes()).expect("cannot type at the terminal");
    }

    /// Waits (at most [`PATIENCE`]) until the terminal has shown `text`; what it showed after
    /// it, up to the end of that line.
    fn expect(&mut self, text: &str) -> String {
        let deadline = Instant::now() + PATIENCE;
        loop {
            if let Some(at) = self.seen.find(text) {
                let rest = &self.seen[at + text.len()..];
                if let Some(end) = rest.find('\n') {
                    return rest[..end].trim().to_owned();
                }
            }
            let left = deadline.saturating_duration_since(Instant::now());
            assert!(
                !left.is_zero(),
                "the terminal never showed {text:?}; it showed: {}",
                self.seen
            );
            let mut fds = [PollFd::new(self.master.as_fd(), PollFlags::POLLIN)];
            let wait = PollTimeout::try_from(left.min(Duration::from_millis(100))).unwrap();
            if poll(&mut fds, wait).unwrap_or(0) == 0 {
                continue;
            }
            let mut buf = [0u8; 4096];
            match self.master.read(&mut buf) {
                Ok(n) if n > 0 => self.seen.push_str(&String::from_utf8_lossy(&buf[..n])),
                // EIO: the session is gone, nothing more will come.
                _ => {
                    panic!("the terminal closed before showing {text:?}; it showed: {}", self.seen)
                }
            }
        }
    }

    /// The terminal's foreground process group.
    fn foreground(&self) -> i32 {
        tcgetpgrp(&self.master).expect("cannot read the terminal's foreground").as_raw()
    }

    /// The shell's pid, which is also its session's and process group's id.
    fn shell(&self) -> i32 {
        self.shell.id() as i32
    }

    /// Waits (at most [`PATIENCE`]) for the shell to end; its exit code.
    fn finish(mut self) -> i32 {
        let deadline = Instant::now() + PATIENCE;
        loop {
            if let Some(status) = self.shell.try_wait().expect("cannot wait for the shell") {
                return status.code().unwrap_or(-1);
            }
            assert!(Instant::now() < deadline, "the shell never ended; it showed: {}", self.seen);
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

impl Drop for Session {
    /// A test that fails half-way leaves nothing behind: the shell's group (the shell and
    /// rlock) is killed, and rlock's guardian kills the command.
    fn drop(&mut self) {
        if let Ok(None) = self.shell.try_wait() {
            let _ = killpg(Pid::from_raw(self.shell()), Signal::SIGKILL);
            let _ = self.shell.wait();
        }
    }
}

fn lock_is_free(server: &RedisServer, key: &str) -> bool {
    rlock(server).args(["ttl", key]).output().code() == 1
}

/// Whether process `pid` is stopped (state T in /proc).
fn is_stopped(pid: i32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
        stat.rsplit_once(')').is_some_and(|(_, rest)| rest.trim_start().starts_with('T'))
    })
}

/// The numbers after `ready:` on the terminal: rlock's pid (the command's parent) and the
/// command's (its process group).
fn ready(session: &mut Session) -> (i32, i32) {
    let line = session.expect("ready:");
    let (rlock, command) = line.split_once(':').expect("ready:RLOCK:COMMAND");
    (rlock.parse().unwrap(), command.parse().unwrap())
}

#[test]
fn a_command_reads_the_terminal_and_the_shell_has_it_back_after() {
    let server = RedisServer::start();
    let mut session = Session::start(
        &server,
        r#""$RLOCK" run tty -- sh -c 'echo ready:$PPID:$$; read line; echo got:$line'
        echo rc=$?; read again; echo again:$again"#,
    );
    let (_, command) = ready(&mut session);
    assert_eq!(session.foreground(), command, "the command has the terminal");
    session.type_in("hello\n");
    assert_eq!(session.expect("got:"), "hello");
    assert_eq!(session.expect("rc="), "0");
    // The shell that ran rlock reads the terminal again: its group has the foreground back.
    assert_eq!(session.foreground(), session.shell());
    session.type_in("world\n");
    assert_eq!(session.expect("again:"), "world");
    assert_eq!(session.finish(), 0);
    assert!(lock_is_free(&server, "tty"));
}

#[test]
fn ctrl_c_ends_the_command_and_rlock_releases_and_exits_130() {
    let server = RedisServer::start();
    let mut session = Session::start(
        &server,
        r#""$RLOCK" run tty -- sh -c 'echo ready:$PPID:$$; exec sleep 30'
        echo rc=$?; read again; echo again:$again"#,
    );
    ready(&mut session);
    session.type_in("\x03");
    assert_eq!(session.expect("rc="), "130");
    assert!(lock_is_free(&server, "tty"), "the lock must be released after Ctrl-C");
    session.type_in("world\n");
    assert_eq!(session.expect("again:"), "world");
    assert_eq!(session.finish(), 0);
}

#[test]
fn ctrl_z_stops_the_command_and_rlock_and_continuing_gives_the_command_the_terminal_again() {
    let server = RedisServer::start();
    let mut session = Session::start(
        &server,
        r#""$RLOCK" run tty -- sh -c 'echo ready:$PPID:$$; read line; echo got:$line'
        echo rc=$?"#,
    );
    let (rlock_pid, command) = ready(&mut session);
    session.type_in("\x1a");
    // Both stopped, and the terminal is rlock's group's (the shell's) again.
    assert!(
        eventually(PATIENCE, || is_stopped(rlock_pid) && is_stopped(command)),
        "rlock and the command must both stop; the terminal showed: {}",
        session.seen
    );
    assert_eq!(session.foreground(), session.shell());
    // What `fg` does: continue rlock's group. The command has the terminal again, and reads it.
    killpg(Pid::from_raw(session.shell()), Signal::SIGCONT).unwrap();
    assert!(
        eventually(PATIENCE, || session.foreground() == command && !is_stopped(command)),
        "the command must have the terminal again and run"
    );
    session.type_in("hello\n");
    assert_eq!(session.expect("got:"), "hello");
    assert_eq!(session.expect("rc="), "0");
    assert_eq!(session.finish(), 0);
    assert!(lock_is_free(&server, "tty"));
}

#[test]
fn in_the_background_the_command_gets_no_terminal() {
    let server = RedisServer::start();
    // rlock in a group of its own that is not the terminal's foreground (as `rlock ... &` in an
    // interactive shell): the command's read stops it, as before, and rlock says why.
    let mut session = Session::start(
        &server,
        r#"set -m; "$RLOCK" run tty -- sh -c 'echo ready:$PPID:$$; read line' & wait $!"#,
    );
    let (rlock_pid, command) = ready(&mut session);
    assert!(
        eventually(PATIENCE, || is_stopped(command)),
        "a command in the background that reads the terminal is stopped"
    );
    assert_ne!(session.foreground(), command);
    session.expect("stopped by SIGTTIN");
    let _ = kill(Pid::from_raw(rlock_pid), Signal::SIGTERM);
    let _ = session.finish();
}

#[test]
fn a_command_reading_the_terminal_past_its_timeout_is_stopped_and_the_shell_has_it_back() {
    let server = RedisServer::start();
    let mut session = Session::start(
        &server,
        r#""$RLOCK" run --timeout 1s tty -- sh -c 'echo ready:$PPID:$$; read line'
        echo rc=$?; read again; echo again:$again"#,
    );
    ready(&mut session);
    assert_eq!(session.expect("rc="), "123");
    assert_eq!(session.foreground(), session.shell());
    session.type_in("world\n");
    assert_eq!(session.expect("again:"), "world");
    assert_eq!(session.finish(), 0);
    assert!(lock_is_free(&server, "tty"));
}

#[test]
fn in_a_pipeline_the_command_gets_no_terminal_and_the_other_end_reads_it() {
    let server = RedisServer::start();
    // `rlock run ... | reader`: the reader is in rlock's process group and reads the terminal;
    // were the command given the foreground, the reader would be stopped (or fail to read).
    let mut session = Session::start(
        &server,
        r#""$RLOCK" run tty -- sh -c 'echo ready:$PPID:$$; exec sleep 30' | {
            read line; echo "$line"; read typed < /dev/tty; echo partner:$typed; }"#,
    );
    let (rlock_pid, command) = ready(&mut session);
    assert_eq!(session.foreground(), session.shell());
    assert_ne!(session.foreground(), command);
    session.type_in("hi\n");
    assert_eq!(session.expect("partner:"), "hi");
    kill(Pid::from_raw(rlock_pid), Signal::SIGTERM).unwrap();
    let _ = session.finish();
    assert!(lock_is_free(&server, "tty"));
}
