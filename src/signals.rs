//! The signals rlock passes on to the command (SIGINT, SIGTERM, SIGHUP and SIGQUIT), and SIGCHLD.

use std::ops::ControlFlow;

use anyhow::{Context, Result};
use nix::sys::signal::{SigSet, SigmaskHow, Signal, pthread_sigmask};
use signal_hook::consts::{SIGCHLD, SIGHUP, SIGINT, SIGQUIT, SIGTERM};
use signal_hook::iterator::{Handle, Signals};

/// The signals rlock catches and forwards to the command's process group.
pub const FORWARDED: [i32; 4] = [SIGINT, SIGTERM, SIGHUP, SIGQUIT];

/// Catches the forwarded signals while it lives and hands each to a callback on its own thread.
///
/// A signal that was ignored when rlock started (`nohup`, or `&` in a script for SIGINT and
/// SIGQUIT) stays ignored, and the command inherits that, as it would without rlock.
pub struct Listener {
    handle: Handle,
}

impl Listener {
    /// Starts the thread that takes the forwarded signals and calls `on_signal` with each, until
    /// it says to stop (the thread then ends).
    ///
    /// The signals are blocked in the calling thread, and so in every thread it starts later:
    /// only the listener's own thread takes them, and no Redis call elsewhere is cut short
    /// (EINTR). Call it from the main thread before starting other threads, and after starting
    /// anything that should not inherit the mask.
    ///
    /// With `children`, it also takes SIGCHLD (whatever its disposition was: rlock needs to hear
    /// of its children), so that one thread hears of signals and of the command stopping or ending.
    pub fn start(
        children: bool,
        mut on_signal: impl FnMut(i32) -> ControlFlow<()> + Send + 'static,
    ) -> Result<Listener> {
        let wanted = wanted(children);
        let mut signals = Signals::new(&wanted).context("cannot install signal handlers")?;
        let handle = signals.handle();
        let mask = block_these(&wanted)?;
        std::thread::Builder::new()
            .name("rlock-signals".into())
            .spawn(move || {
                let _ = pthread_sigmask(SigmaskHow::SIG_UNBLOCK, Some(&mask), None);
                for signal in signals.forever() {
                    if on_signal(signal).is_break() {
                        break;
                    }
                }
            })
            .context("cannot start the signal thread")?;
        Ok(Listener { handle })
    }
}

/// The signals a [`Listener`] takes: the forwarded ones not ignored, and SIGCHLD with `children`.
fn wanted(children: bool) -> Vec<i32> {
    let mut wanted: Vec<i32> =
        FORWARDED.into_iter().filter(|&signal| !is_ignored(signal)).collect();
    if children {
        wanted.push(SIGCHLD);
    }
    wanted
}

/// Blocks, in the calling thread, the signals a [`Listener`] started with `children` takes,
/// and returns them. Until the listener runs they wait (pending) instead of taking their default
/// action: a Ctrl-C cannot end rlock between a call to Redis and the release it calls for.
/// Processes started meanwhile inherit the mask (and must restore it before an execve).
pub fn block(children: bool) -> Result<SigSet> {
    block_these(&wanted(children))
}

fn block_these(wanted: &[i32]) -> Result<SigSet> {
    let mut mask = SigSet::empty();
    for signal in wanted.iter().filter_map(|&signal| Signal::try_from(signal).ok()) {
        mask.add(signal);
    }
    pthread_sigmask(SigmaskHow::SIG_BLOCK, Some(&mask), None)
        .context("cannot block signals in the main thread")?;
    Ok(mask)
}

impl Drop for Listener {
    /// Ends the listening: the thread leaves by itself. It is not waited for (that took a
    /// wake-up, about 20 µs of every run's exit), and it keeps only what it was given.
    fn drop(&mut self) {
        self.handle.close();
    }
}

/// Whether `signal` is currently ignored (SIG_IGN) in this process.
fn is_ignored(signal: i32) -> bool {
    // SAFETY: sigaction with a null new action only reads the current disposition into `old`.
    unsafe {
        let mut old: libc::sigaction = std::mem::zeroed();
        libc::sigaction(signal, std::ptr::null(), &mut old) == 0
            && old.sa_sigaction == libc::SIG_IGN
    }
}

/// The conventional name of a forwarded signal, for messages.
pub fn name(signal: i32) -> String {
    nix::sys::signal::Signal::try_from(signal)
        .map(|s| s.as_str().to_owned())
        .unwrap_or_else(|_| format!("signal {signal}"))
}
