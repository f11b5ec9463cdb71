//! Running the command: spawned directly (no shell) in its own process group, killed with rlock
//! (PR_SET_PDEATHSIG), watched from a thread, and signalled as a group.

use std::ffi::OsString;
use std::io;
use std::os::unix::process::CommandExt;
use std::process::{Command, ExitStatus};

use anyhow::{Context, Result};
use nix::sys::signal::{Signal, killpg};
use nix::sys::wait::{Id, WaitPidFlag, WaitStatus, waitid};
use nix::unistd::Pid;

use crate::exit_code::Exit;

/// A running command, leader of its own process group.
pub struct Child {
    inner: std::process::Child,
    group: Pid,
}

/// Why the command could not be started: the exit code to use and a message.
#[derive(Debug)]
pub struct SpawnError {
    pub exit: Exit,
    pub message: String,
}

/// Starts `argv` with `env` added to rlock's environment and stdio inherited.
///
/// Must be called from the thread that lives as long as the command runs (the main thread):
/// Linux sends PR_SET_PDEATHSIG when the *thread* that forked the child ends.
pub fn spawn(argv: &[OsString], env: &[(&str, String)]) -> Result<Child, SpawnError> {
    let Some((program, args)) = argv.split_first() else {
        return Err(SpawnError { exit: Exit::Failure, message: "no command to run".into() });
    };
    let mut command = Command::new(program);
    command.args(args).envs(env.iter().map(|(name, value)| (name, value)));
    let parent = std::process::id();
    // SAFETY: the closure runs between fork and exec and calls only async-signal-safe functions.
    unsafe {
        command.pre_exec(move || {
            if libc::setpgid(0, 0) != 0 {
                return Err(io::Error::last_os_error());
            }
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL, 0, 0, 0) != 0 {
                return Err(io::Error::last_os_error());
            }
            // rlock may have died before the line above took effect: then nothing will signal us.
            if u32::try_from(libc::getppid()).ok() != Some(parent) {
                libc::raise(libc::SIGKILL);
            }
            Ok(())
        });
    }
    match command.spawn() {
        Ok(inner) => {
            let group = Pid::from_raw(i32::try_from(inner.id()).unwrap_or(i32::MAX));
            Ok(Child { inner, group })
        }
        Err(err) => {
            let shown = program.to_string_lossy();
            let (exit, what) = match err.kind() {
                io::ErrorKind::NotFound => (Exit::NotFound, "command not found".to_owned()),
                io::ErrorKind::PermissionDenied => (
                    Exit::CannotExecute,
                    "permission denied (is it executable? chmod +x)".to_owned(),
                ),
                _ => (Exit::CannotExecute, format!("cannot execute ({err})")),
            };
            Err(SpawnError { exit, message: format!("{shown}: {what}") })
        }
    }
}

impl Child {
    pub fn pid(&self) -> u32 {
        self.inner.id()
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
    pub fn reap(mut self) -> io::Result<ExitStatus> {
        self.inner.wait()
    }
}

/// A small process that outlives rlock by a moment: if rlock dies without dismissing it (SIGKILL,
/// a crash), it kills the command's whole process group. PR_SET_PDEATHSIG alone reaches only the
/// command itself, not the processes it started.
pub struct Guardian {
    /// rlock's end of a pipe; the guardian sees end-of-file when rlock is gone.
    dismissal: std::os::fd::OwnedFd,
    pid: Pid,
}

impl Guardian {
    /// Forks a guardian for the process group of `child`.
    pub fn watch_over(child: &Child) -> Result<Guardian> {
        use nix::fcntl::OFlag;
        use nix::unistd::{ForkResult, fork, pipe2};
        use std::os::fd::AsRawFd;

        let (watch, dismissal) =
            pipe2(OFlag::O_CLOEXEC).context("cannot create the guardian's pipe")?;
        let group = child.group.as_raw();
        let (watch_fd, dismissal_fd) = (watch.as_raw_fd(), dismissal.as_raw_fd());
        // SAFETY: rlock has threads, so the forked child may only call async-signal-safe functions
        // (close, sigaction via signal, read, kill, _exit) and must never return into Rust code.
        match unsafe { fork() }.context("cannot fork the guardian")? {
            ForkResult::Child => unsafe {
                libc::close(dismissal_fd);
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
                let mut byte = 0u8;
                let read = loop {
                    let read = libc::read(watch_fd, (&raw mut byte).cast(), 1);
                    if read >= 0 || *libc::__errno_location() != libc::EINTR {
                        break read;
                    }
                };
                // End of file without the dismissal byte: rlock died with the command running.
                if read == 0 {
                    libc::kill(-group, libc::SIGKILL);
                }
                libc::_exit(0);
            },
            ForkResult::Parent { child: pid } => {
                drop(watch);
                Ok(Guardian { dismissal, pid })
            }
        }
    }

    /// Tells the guardian rlock is ending normally, and waits for it to leave.
    pub fn dismiss(self) {
        let _ = nix::unistd::write(&self.dismissal, &[1]);
        drop(self.dismissal);
        let _ = nix::sys::wait::waitpid(self.pid, None);
    }
}
