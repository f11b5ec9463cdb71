//! `rlock run`: take the lock, run the command under it, keep the lock alive, release it, and exit
//! with the command's status.

use std::ffi::OsString;
use std::ops::ControlFlow;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Result, bail};
use nix::sys::signal::Signal;

use crate::child::{self, Change};
use crate::duration;
use crate::endpoint::Endpoint;
use crate::events::Event;
use crate::exit_code::Exit;
use crate::holder::Holder;
use crate::keepalive::{Held, KeepAlive};
use crate::keys::LockKeys;
use crate::launch;
use crate::lock::{LockClient, Token};
use crate::mode::Mode;
use crate::signals;
use crate::ui;
use crate::wait::{self, Outcome, Patience};

/// Time allowed for each Redis round trip while taking and releasing the lock.
pub const REDIS_TIMEOUT: Duration = Duration::from_secs(5);

/// What `rlock run` was asked to do.
#[derive(Debug, Clone)]
pub struct RunRequest {
    pub keys: LockKeys,
    pub ttl: Duration,
    /// Exclusive, shared or limited.
    pub mode: Mode,
    pub patience: Patience,
    pub conflict_exit: u8,
    pub kill_grace: Duration,
    pub command: Vec<OsString>,
}

/// Runs the request against one Redis server and returns how rlock should exit. The process is
/// meant to exit right after: once the command has run, what is left to free (the stacks the
/// helper processes ran on, the signal listener) is left to the exit.
pub fn run(endpoint: Endpoint, request: RunRequest) -> Result<Exit> {
    if request.command.is_empty() {
        bail!("nothing to run: put the command after --, as in: rlock run KEY -- ./deploy.sh");
    }
    let token = Token::generate();
    let env = [
        ("RLOCK_KEY", request.keys.name.clone()),
        ("RLOCK_TOKEN", token.secret().to_owned()),
        ("RLOCK_TTL_MS", crate::lock::millis(request.ttl).to_string()),
    ];
    // A command that cannot be found is reported before any lock is taken. Its process starts
    // first, while rlock has no other thread, no signal handler and no connection to pass on.
    let mut prepared = match launch::prepare(&request.command, &env) {
        Ok(prepared) => prepared,
        Err(err) => {
            ui::error(&err.message);
            return Ok(err.exit);
        }
    };
    // From here on a signal waits for the signal thread: it cannot end rlock with a lock taken.
    signals::block(true)?;
    let mut client = LockClient::new(endpoint.clone(), request.keys.clone(), REDIS_TIMEOUT)
        .with_mode(Some(request.mode));
    let holder = Holder::for_command(&request.command);
    let take = wait::Request {
        token: &token,
        ttl: request.ttl,
        holder: &holder,
        patience: request.patience,
    };
    // The first try goes to Redis now; rlock gets the rest ready while Redis answers.
    let turn = wait::begin(&mut client, &take)?;
    let child = prepared.child();
    // The guardian starts before any signal handler exists; the signals blocked here stay
    // blocked in it, and it ignores them anyway.
    let guardian = child::Guardian::start(&child);
    if let Err(err) = &guardian {
        unguarded(err);
    }
    let (events, inbox) = mpsc::channel();
    // Set as soon as the lock is known lost, so that nobody tries to release it after that.
    let lock_lost = Arc::new(AtomicBool::new(false));
    // The lock client, put here once the command runs: whoever sees the command end first (the
    // signal thread, mostly) takes it and hands the lock on.
    let releaser: Arc<Mutex<Option<LockClient>>> = Arc::default();
    // One thread hears of signals and of the command stopping or ending (SIGCHLD). It hands the
    // lock on the moment the command ends: the next holder need not wait for the main thread to
    // wake. A lock known lost is left alone; one lost a moment ago holds someone else's token (or
    // none) and the release is a no-op.
    // With the command ended, the guardian has nothing left to guard: it is let go at once, and
    // exits while the lock is released. So does the thread, its work done: rlock then exits
    // without waking either.
    let dismissal = guardian.as_ref().ok().map(child::Guardian::dismissal);
    let on_child = {
        let (events, lock_lost, releaser, token) =
            (events.clone(), lock_lost.clone(), releaser.clone(), token.clone());
        move || {
            while let Some(change) = child.check() {
                match change {
                    Change::Stopped(signal) => {
                        let _ = events.send(Event::ChildStopped(signal));
                    }
                    Change::Ended => {
                        if let Some(dismissal) = &dismissal {
                            dismissal.dismiss();
                        }
                        let mut client = take_client(&releaser, &lock_lost);
                        let released = client.as_mut().map(|client| release_now(client, &token));
                        let _ = events.send(Event::ChildExited(released));
                        // Closing the connection wakes Redis: only once the main thread is told.
                        drop(client);
                        return ControlFlow::Break(());
                    }
                }
            }
            ControlFlow::Continue(())
        }
    };
    let (signals, nudger) = match wait::catch_signals(&events, Some(Box::new(on_child))) {
        Ok(caught) => caught,
        Err(err) => {
            turn.abandon(&mut client, &token);
            return Err(err);
        }
    };

    // What watches the command is started before the lock is ours, so that nothing needs
    // starting when it is handed over; the refresh thread only if the command outlives a third
    // of the lock's first lifetime (supervise starts it then).
    let held = Held {
        endpoint,
        keys: request.keys.clone(),
        mode: request.mode,
        token: token.clone(),
        ttl: request.ttl,
    };
    let mut keepalive = KeepAlive::ready(held, {
        let (events, lock_lost) = (events.clone(), lock_lost.clone());
        move |reason| {
            lock_lost.store(true, Ordering::SeqCst);
            let _ = events.send(Event::LockLost(reason));
        }
    });
    drop(events);

    let outcome = turn.finish(&mut client, &take, &inbox, &nudger)?;
    let (fence, taken_at, lifetime) = match outcome {
        Outcome::Acquired { fence, taken_at, lifetime } => (fence, taken_at, lifetime),
        Outcome::GaveUp => {
            wait::report_gave_up(&mut client);
            return Ok(Exit::Conflict(request.conflict_exit));
        }
        Outcome::Interrupted(signal) => {
            ui::notice(format_args!("{} while waiting; nothing was run", signals::name(signal)));
            return Ok(Exit::Signal(signal));
        }
    };
    ui::detail(format_args!(
        "acquired '{}' (fence {fence}, ttl {})",
        request.keys.name,
        duration::show(request.ttl)
    ));
    // A signal that arrived while the lock was being taken: stop before starting anything.
    if let Some(signal) = wait::pending_signal(&inbox) {
        release(&mut client, &token, request.ttl);
        return Ok(Exit::Signal(signal));
    }

    if let Err(err) = prepared.start(fence) {
        ui::error(&err.message);
        release(&mut client, &token, request.ttl);
        return Ok(err.exit);
    }
    keepalive.begin(taken_at, lifetime);
    if let Ok(mut slot) = releaser.lock() {
        *slot = Some(client);
    }
    ui::detail(format_args!("started pid {}", child.pid()));

    let (lost, released) = supervise(&child, &inbox, &request, &mut keepalive);
    // The command ended before the client was put in place: release from here.
    let released = released.or_else(|| {
        take_client(&releaser, &lock_lost).map(|mut client| release_now(&mut client, &token))
    });
    // The lock is handed on: what is left (reporting, reaping, tidying up) can yield the CPU to
    // the next holder's command. Raising one's own niceness needs no privilege.
    // SAFETY: setpriority only changes this thread's scheduling priority.
    unsafe {
        libc::setpriority(libc::PRIO_PROCESS, 0, 10);
    }
    if lost {
        // Whatever is left of the command's group must not go on without the lock.
        child.signal_group(Signal::SIGKILL);
    }
    // The signal thread let the guardian go when the command ended; should it not have, now.
    if let Ok(guardian) = &guardian {
        guardian.dismissal().dismiss();
    }
    if let Some(released) = released.filter(|_| !lost) {
        report_release(&request.keys.name, released, request.ttl);
    }
    keepalive.stop();
    let status = child.reap();
    if let Ok(guardian) = guardian {
        guardian.reap_before_exit();
    }
    let status = status?;
    // The execve failed (found in PATH a moment ago, it can still be unrunnable): say why.
    let failure = prepared.failure();
    // rlock exits once this returns, and the exit frees what is left. Freeing it here would cost:
    // unmapping the helper's stack makes the kernel interrupt the other CPUs to flush their TLBs
    // (slow in a virtual machine), and closing the listener is one more system call.
    std::mem::forget(prepared);
    std::mem::forget(signals);
    if let Some(err) = failure {
        ui::error(&err.message);
        return Ok(err.exit);
    }
    Ok(if lost { Exit::LockLost } else { Exit::from_status(status) })
}

/// The lock client, for releasing the lock, unless it is known lost or already taken.
fn take_client(releaser: &Mutex<Option<LockClient>>, lock_lost: &AtomicBool) -> Option<LockClient> {
    let client = releaser.lock().ok()?.take()?;
    (!lock_lost.load(Ordering::SeqCst)).then_some(client)
}

/// Says that the guardian could not be set up, and what that means.
fn unguarded(err: &anyhow::Error) {
    ui::notice(format_args!("{err:#}; if rlock is killed, only the command itself dies with it"));
}

/// Waits for the command to end, passing on signals, starting the refresh thread when the first
/// refresh is due, and stopping the command if the lock is lost. Returns whether the lock was
/// lost, and how releasing it went once the command ended.
fn supervise(
    child: &child::Child,
    inbox: &mpsc::Receiver<Event>,
    request: &RunRequest,
    keepalive: &mut KeepAlive,
) -> (bool, Option<Result<bool, String>>) {
    let mut lost = false;
    let mut kill_at: Option<Instant> = None;
    let mut interrupts = 0;
    let mut stopped = false;
    // A stopped command acts on a signal only once continued; SIGKILL needs no help.
    let tell = |signal: Signal, stopped: &mut bool| {
        child.signal_group(signal);
        if std::mem::take(stopped) && signal != Signal::SIGKILL {
            child.signal_group(Signal::SIGCONT);
        }
    };
    loop {
        let event = match kill_at.into_iter().chain(keepalive.due()).min() {
            Some(at) => inbox.recv_timeout(at.saturating_duration_since(Instant::now())),
            None => inbox.recv().map_err(|_| RecvTimeoutError::Disconnected),
        };
        match event {
            Err(RecvTimeoutError::Timeout) => {
                let now = Instant::now();
                if keepalive.due().is_some_and(|due| now >= due) {
                    keepalive.start();
                }
                if kill_at.is_some_and(|at| now >= at) {
                    ui::notice("the command outlived --kill-grace; sending SIGKILL");
                    child.signal_group(Signal::SIGKILL);
                    kill_at = None;
                }
            }
            // Every sender is gone: the signal thread could not report. Should not happen.
            Err(RecvTimeoutError::Disconnected) => return (lost, None),
            Ok(Event::ChildExited(released)) => return (lost, released),
            Ok(Event::ChildStopped(number)) => {
                stopped = true;
                let name = signals::name(number);
                let hint = if matches!(
                    Signal::try_from(number),
                    Ok(Signal::SIGTTIN | Signal::SIGTTOU)
                ) {
                    " (it tried to use the terminal, but runs in its own process group: give it \
                     input from a file or a pipe)"
                } else {
                    ""
                };
                ui::notice(format_args!(
                    "the command was stopped by {name}{hint}; the lock is still held. \
                     Resume it with kill -CONT -{pid}, or end it with kill {rlock}",
                    pid = child.pid(),
                    rlock = std::process::id()
                ));
            }
            Ok(Event::Signal(number)) => {
                let Ok(signal) = Signal::try_from(number) else {
                    continue;
                };
                if matches!(signal, Signal::SIGINT | Signal::SIGTERM) {
                    interrupts += 1;
                }
                if interrupts >= 2 && matches!(signal, Signal::SIGINT | Signal::SIGTERM) {
                    ui::notice(format_args!("second {}: killing the command", signal.as_str()));
                    tell(Signal::SIGKILL, &mut stopped);
                } else {
                    ui::detail(format_args!("passing {} on to the command", signal.as_str()));
                    tell(signal, &mut stopped);
                }
            }
            Ok(Event::LockLost(reason)) => {
                if lost {
                    continue;
                }
                lost = true;
                ui::error(format_args!(
                    "lost the lock '{}': {reason}; stopping the command (SIGTERM, then SIGKILL after {})",
                    request.keys.name,
                    duration::show(request.kill_grace)
                ));
                tell(Signal::SIGTERM, &mut stopped);
                kill_at = duration::deadline(request.kill_grace);
            }
        }
    }
}

/// Releases the lock at the end of a run and says how it went.
fn release(client: &mut LockClient, token: &Token, ttl: Duration) {
    let result = release_now(client, token);
    report_release(&client.keys().name, result, ttl);
}

/// Releases the lock (handing it to the next waiter).
fn release_now(client: &mut LockClient, token: &Token) -> Result<bool, String> {
    client.set_timeout(REDIS_TIMEOUT);
    // The connection sat idle while the command ran: if it broke, try once more on a new one.
    client.release(token).or_else(|_| client.release(token)).map_err(|err| format!("{err:#}"))
}

/// A failed release only warns: the lock lapses by itself.
fn report_release(name: &str, result: Result<bool, String>, ttl: Duration) {
    match result {
        Ok(true) => ui::detail(format_args!("released '{name}'")),
        Ok(false) => ui::notice(format_args!(
            "'{name}' was no longer ours when the command ended (it expired or was broken)"
        )),
        Err(err) => ui::notice(format_args!(
            "could not release '{name}' ({err}); it lapses within {}",
            duration::show(ttl)
        )),
    }
}
