//! The running command: checked on SIGCHLD, signalled as a group, reaped; and the guardian
//! that kills its process group if rlock dies.

use std::ffi::{c_int, c_void};
use std::io;
use std::os::fd::{AsRawFd, OwnedFd};
use std::process::ExitStatus;
use std::sync::{Arc, Mutex};

use anyhow::{Context, Result};
use nix::sys::signal::{Signal, killpg};
use nix::sys::wait::{Id, WaitPidFlag, WaitStatus, waitid};
use nix::unistd::Pid;

use crate::spawn::{Helper, sys};

/// What became of the command (see [`Child::check`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    /// Stopped by this signal.
    Stopped(i32),
    /// Exited or killed (not yet reaped).
    Ended,
}

/// A running command, leader of its own process group.
#[derive(Debug, Clone, Copy)]
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

    /// What became of the command since last asked, without waiting and without reaping it:
    /// a stop (reported once each), or its end; `None` while it runs on.
    pub fn check(&self) -> Option<Change> {
        let any = WaitPidFlag::WEXITED
            | WaitPidFlag::WSTOPPED
            | WaitPidFlag::WNOWAIT
            | WaitPidFlag::WNOHANG;
        loop {
            return match waitid(Id::Pid(self.group), any) {
                Err(nix::errno::Errno::EINTR) => continue,
                Ok(WaitStatus::StillAlive) => None,
                Ok(WaitStatus::Stopped(_, signal)) => {
                    // Consume this stop report (only a stop: never the exit).
                    let _ =
                        waitid(Id::Pid(self.group), WaitPidFlag::WSTOPPED | WaitPidFlag::WNOHANG);
                    Some(Change::Stopped(signal as i32))
                }
                // Exited, killed, or already collected: it has ended.
                _ => Some(Change::Ended),
            };
        }
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
/// a crash), it kills the command's whole process group. PR_SET_PDEATHSIG alone reaches only the
/// command itself, not the processes it started.
pub struct Guardian {
    /// rlock's end of a pipe: a dismissal byte goes down it. The guardian sees end-of-file when
    /// rlock is gone.
    pipe: Dismissal,
    helper: Option<Helper>,
    /// What the guardian reads at its start; kept until it has been reaped.
    _watch: Box<Watch>,
}

/// What dismisses a guardian (see [`Guardian::dismissal`]): rlock's end of its pipe, shared, taken
/// by whoever dismisses it first or closes it.
#[derive(Clone)]
pub struct Dismissal(Arc<Mutex<Option<OwnedFd>>>);

impl Dismissal {
    /// Tells the guardian rlock is ending normally: it exits at once, killing nothing.
    pub fn dismiss(&self) {
        if let Some(pipe) = self.take() {
            let _ = nix::unistd::write(&pipe, &[1]);
        }
    }

    fn take(&self) -> Option<OwnedFd> {
        self.0.lock().map_or(None, |mut pipe| pipe.take())
    }
}

/// What the guardian is given: the read end of its pipe, and the process group to kill.
struct Watch {
    pipe: c_int,
    group: libc::pid_t,
}

impl Guardian {
    /// Starts the guardian (a [`Helper`]) over the command's process group: that of the process
    /// prepared to become the command (see [`crate::launch`]), which leads it from the start.
    /// Done before waiting for the lock, so that nothing of it is part of the handoff from one
    /// holder to the next, and before any signal handler exists.
    pub fn start(child: &Child) -> Result<Guardian> {
        use nix::fcntl::OFlag;
        use nix::unistd::pipe2;

        let (watch, pipe) = pipe2(OFlag::O_CLOEXEC).context("cannot create the guardian's pipe")?;
        let mut given = Box::new(Watch { pipe: watch.as_raw_fd(), group: child.group.as_raw() });
        let data: *mut Watch = &mut *given;
        // SAFETY: guard keeps to the helper rules, and `given` lives until the guardian is reaped.
        let helper = unsafe { Helper::start_silent(guard, data.cast()) }
            .context("cannot start the guardian process")?;
        drop(watch);
        let pipe = Dismissal(Arc::new(Mutex::new(Some(pipe))));
        Ok(Guardian { pipe, helper: Some(helper), _watch: given })
    }

    /// What dismisses the guardian, for another thread: the command's end is the time (see
    /// [`crate::run`]). Once dismissed, the guardian exits at once, while rlock finishes.
    pub fn dismissal(&self) -> Dismissal {
        self.pipe.clone()
    }

    /// Waits for a dismissed guardian to end, and leaves its stack to rlock's exit, which comes
    /// next (unmapping it would make the kernel interrupt the other CPUs to flush their TLBs).
    pub fn reap_before_exit(mut self) {
        drop(self.pipe.take());
        if let Some(helper) = self.helper.take() {
            helper.reap_silent();
            helper.leak();
        }
    }

    /// Closes the pipe (without the dismissal byte, a guarded group is killed), and reaps the
    /// guardian; only then may its stack go.
    fn leave(&mut self) {
        drop(self.pipe.take());
        if let Some(helper) = self.helper.take() {
            helper.reap_silent();
        }
    }
}

impl Drop for Guardian {
    fn drop(&mut self) {
        self.leave();
    }
}

/// The guardian's code (see [`Guardian`]); `data` is its [`Watch`].
extern "C" fn guard(data: *mut c_void) -> c_int {
    // SAFETY: the Watch that Guardian keeps until this process is reaped.
    let (pipe, group) = unsafe {
        let given = &*data.cast::<Watch>();
        (given.pipe, given.group)
    };
    // Nothing of rlock's but the pipe is the guardian's business: not rlock's end of it, nor the
    // terminal, nor a connection to Redis (a copy open here would keep a connection rlock dropped
    // open in Redis, where a BLPOP on it could still take a wake-up).
    sys::close_all_but(pipe);
    // SAFETY: plain system calls on this process.
    unsafe {
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
    }
    // End-of-file without the dismissal byte: rlock died. Whatever is left of the group goes
    // with it (before the command started, that is the process waiting to become it).
    let mut byte = 0u8;
    // SAFETY: one byte of a local.
    if unsafe { sys::read(pipe, &raw mut byte, 1) } == 0 {
        // SAFETY: a plain system call.
        unsafe { libc::kill(-group, libc::SIGKILL) };
    }
    sys::exit(0);
}
