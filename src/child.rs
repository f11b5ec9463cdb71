//! The running command: watched from a thread, signalled as a group, reaped; and the guardian
//! that kills its process group if rlock dies.

use std::io;
use std::process::ExitStatus;

use anyhow::{Context, Result};
use nix::sys::signal::{Signal, killpg};
use nix::sys::wait::{Id, WaitPidFlag, WaitStatus, waitid};
use nix::unistd::Pid;

/// A running command, leader of its own process group.
pub struct Child {
    group: Pid,
}

impl Child {
    /// The command started as process `pid`, which leads its own process group.
    pub fn new(pid: Pid) -> Child {
        Child { group: pid }
    }

    pub fn pid(&self) -> u32 {
        u32::try_from(self.group.as_raw()).unwrap_or(0)
    }

    /// Sends `signal` to the command's whole process group. Safe to call until [`Child::reap`]:
    /// an exited but unreaped leader keeps the group id from being reused.
    pub fn signal_group(&self, signal: Signal) {
        // ESRCH (the group is gone) is fine: there is nobody left to tell.
        let _ = killpg(self.group, signal);
    }

    /// Reports from a new thread each time the command is stopped (`on_stop(signal)`), and once
    /// when it has exited (`on_exit()`), without reaping it.
    pub fn watch(
        &self,
        on_stop: impl Fn(i32) + Send + 'static,
        on_exit: impl FnOnce() + Send + 'static,
    ) -> Result<()> {
        let pid = self.group;
        let any = WaitPidFlag::WEXITED | WaitPidFlag::WSTOPPED | WaitPidFlag::WNOWAIT;
        std::thread::Builder::new()
            .name("rlock-child".into())
            .spawn(move || {
                loop {
                    match waitid(Id::Pid(pid), any) {
                        Err(nix::errno::Errno::EINTR) => continue,
                        Ok(WaitStatus::Stopped(_, signal)) => {
                            // Consume this stop report (only a stop: never the exit), then go on.
                            let _ =
                                waitid(Id::Pid(pid), WaitPidFlag::WSTOPPED | WaitPidFlag::WNOHANG);
                            on_stop(signal as i32);
                        }
                        _ => break,
                    }
                }
                on_exit();
            })
            .context("cannot start the thread that watches the command")?;
        Ok(())
    }

    /// Collects the exit status of a command that has exited.
    pub fn reap(self) -> io::Result<ExitStatus> {
        use std::os::unix::process::ExitStatusExt;
        let mut status = 0;
        loop {
            // SAFETY: waitpid writes the status of our own child into `status`.
            let reaped = unsafe { libc::waitpid(self.group.as_raw(), &mut status, 0) };
            if reaped >= 0 {
                return Ok(ExitStatus::from_raw(status));
            }
            let err = io::Error::last_os_error();
            if err.kind() != io::ErrorKind::Interrupted {
                return Err(err);
            }
        }
    }
}

/// A small process that outlives rlock by a moment: if rlock dies without dismissing it (SIGKILL,
/// a crash) while a command runs, it kills the command's whole process group. PR_SET_PDEATHSIG
/// alone reaches only the command itself, not the processes it started.
pub struct Guardian {
    /// rlock's end of a pipe: the command's process group id goes down it, then a dismissal byte.
    /// The guardian sees end-of-file when rlock is gone.
    pipe: std::os::fd::OwnedFd,
    pid: Pid,
}

impl Guardian {
    /// Forks the guardian. Done before waiting for the lock, so that the fork is not part of the
    /// handoff from one holder to the next.
    pub fn start() -> Result<Guardian> {
        use nix::fcntl::OFlag;
        use nix::unistd::{ForkResult, fork, pipe2};
        use std::os::fd::AsRawFd;

        let (watch, pipe) = pipe2(OFlag::O_CLOEXEC).context("cannot create the guardian's pipe")?;
        let (watch_fd, pipe_fd) = (watch.as_raw_fd(), pipe.as_raw_fd());
        // SAFETY: rlock has threads, so the forked child may only call async-signal-safe functions
        // (close, signal, read, kill, _exit) and must never return into Rust code.
        match unsafe { fork() }.context("cannot fork the guardian")? {
            ForkResult::Child => unsafe {
                libc::close(pipe_fd);
                // Signals meant for rlock's process group (Ctrl-C, Ctrl-Z) are not for the guardian.
                for signal in [
                    libc::SIGINT,
                    libc::SIGTERM,
                    libc::SIGHUP,
                    libc::SIGQUIT,
                    libc::SIGTSTP,
                    libc::SIGTTIN,
                    libc::SIGTTOU,
                ] {
                    libc::signal(signal, libc::SIG_IGN);
                }
                // It only ever wakes to exit: never at the expense of the command or the next one.
                libc::setpriority(libc::PRIO_PROCESS, 0, 19);
                let read = |buffer: *mut u8, len: usize| loop {
                    let got = libc::read(watch_fd, buffer.cast(), len);
                    if got >= 0 || *libc::__errno_location() != libc::EINTR {
                        break got;
                    }
                };
                // First the process group to guard (none: rlock ended without running anything).
                let mut group = [0u8; 4];
                let mut filled = 0;
                while filled < group.len() {
                    let got = read(group.as_mut_ptr().add(filled), group.len() - filled);
                    if got <= 0 {
                        libc::_exit(0);
                    }
                    filled += got as usize;
                }
                // Then end-of-file without the dismissal byte: rlock died with the command running.
                let mut byte = 0u8;
                if read(&raw mut byte, 1) == 0 {
                    libc::kill(-i32::from_ne_bytes(group), libc::SIGKILL);
                }
                libc::_exit(0);
            },
            ForkResult::Parent { child: pid } => {
                drop(watch);
                Ok(Guardian { pipe, pid })
            }
        }
    }

    /// Puts the command's process group in the guardian's care.
    pub fn watch_over(&self, child: &Child) -> Result<()> {
        nix::unistd::write(&self.pipe, &child.group.as_raw().to_ne_bytes())
            .context("cannot reach the guardian")?;
        Ok(())
    }

    /// Tells the guardian rlock is ending normally, and waits for it to leave.
    pub fn dismiss(self) {
        let _ = nix::unistd::write(&self.pipe, &[1]);
        drop(self.pipe);
        let _ = nix::sys::wait::waitpid(self.pid, None);
    }
}
