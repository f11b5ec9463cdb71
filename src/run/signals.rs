//! The signals rlock passes on to the command (SIGINT, SIGTERM, SIGHUP and SIGQUIT), the
//! job-control ones it stops and continues the command with (SIGTSTP, SIGTTIN, SIGTTOU,
//! SIGCONT), SIGCHLD, and SIGWINCH (the terminal was resized: the waiting line is redrawn; it is
//! not passed on, and the command, whose disposition of it is the default, hears of a resize as
//! it would without rlock), heard on one thread and sent on as events.

use std::sync::mpsc::Sender;

use anyhow::{Context, Result};
use nix::sys::signal::{SigSet, SigmaskHow, Signal, pthread_sigmask};
use nix::unistd::Pid;
use signal_hook::consts::{
    SIGCHLD, SIGCONT, SIGHUP, SIGINT, SIGQUIT, SIGTERM, SIGTSTP, SIGTTIN, SIGTTOU, SIGWINCH,
};
use signal_hook::iterator::{Handle, Signals};

use crate::process::signal_is_ignored;
use crate::run::Event;

/// The signals rlock catches and forwards to the command's process group.
const FORWARDED: [i32; 4] = [SIGINT, SIGTERM, SIGHUP, SIGQUIT];

/// The job-control signals: with a command, rlock stops and continues it with itself.
const JOB_CONTROL: [i32; 4] = [SIGTSTP, SIGTTIN, SIGTTOU, SIGCONT];

/// The signals rlock takes: the forwarded ones it did not find ignored; with `children`, the
/// job-control ones it did not find ignored, and SIGCHLD (whatever its disposition was: rlock
/// needs to hear of its command); SIGWINCH unless ignored.
fn wanted(children: bool) -> Vec<i32> {
    let mut wanted: Vec<i32> = FORWARDED.to_vec();
    if children {
        wanted.extend(JOB_CONTROL);
    }
    wanted.push(SIGWINCH);
    wanted.retain(|&signal| !signal_is_ignored(signal));
    if children {
        wanted.push(SIGCHLD);
    }
    wanted
}

/// Stops rlock, the whole process, as a job-control signal's default action would have; it
/// goes on when continued (SIGCONT).
pub(crate) fn stop_self() {
    let _ = nix::sys::signal::kill(Pid::this(), Signal::SIGSTOP);
}

/// Blocks, in the calling thread (and so in every thread and process it starts later), the
/// signals a [`Listener`] started with `children` takes. Until the listener runs they wait
/// (pending) instead of taking their default action: a Ctrl-C cannot end rlock between a call
/// to Redis and the release it calls for. Call it first, from the main thread.
pub(crate) fn block(children: bool) -> Result<()> {
    pthread_sigmask(SigmaskHow::SIG_BLOCK, Some(&mask(&wanted(children))), None)
        .context("cannot block signals in the main thread")
}

fn mask(signals: &[i32]) -> SigSet {
    let mut mask = SigSet::empty();
    for signal in signals.iter().filter_map(|&signal| Signal::try_from(signal).ok()) {
        mask.add(signal);
    }
    mask
}

/// Runs `start` (which starts a process) with the signals [`block`] blocked unblocked in the
/// calling thread, so that the new process does not inherit them blocked (`posix_spawn` passes
/// the mask on). A signal that arrives meanwhile goes to the listener's handler as usual.
pub(crate) fn unblocked_for<T>(children: bool, start: impl FnOnce() -> T) -> T {
    let mask = mask(&wanted(children));
    let _ = pthread_sigmask(SigmaskHow::SIG_UNBLOCK, Some(&mask), None);
    let started = start();
    let _ = pthread_sigmask(SigmaskHow::SIG_BLOCK, Some(&mask), None);
    started
}

/// Catches the signals [`block`] blocked, on a thread of its own, for as long as it lives: each
/// becomes an [`Event::Signal`], SIGCHLD an [`Event::Child`] and SIGWINCH an
/// [`Event::Resized`].
pub(crate) struct Listener {
    handle: Handle,
}

impl Listener {
    pub(crate) fn start(children: bool, events: Sender<Event>) -> Result<Listener> {
        let wanted = wanted(children);
        let mut signals = Signals::new(&wanted).context("cannot install signal handlers")?;
        let handle = signals.handle();
        let mask = mask(&wanted);
        std::thread::Builder::new()
            .name("rlock-signals".into())
            .spawn(move || {
                let _ = pthread_sigmask(SigmaskHow::SIG_UNBLOCK, Some(&mask), None);
                for signal in signals.forever() {
                    let event = match signal {
                        SIGCHLD => Event::Child,
                        SIGWINCH => Event::Resized,
                        signal => Event::Signal(signal),
                    };
                    if events.send(event).is_err() {
                        break;
                    }
                }
            })
            .context("cannot start the signal thread")?;
        Ok(Listener { handle })
    }
}

impl Drop for Listener {
    /// Ends the listening; the thread leaves by itself.
    fn drop(&mut self) {
        self.handle.close();
    }
}
