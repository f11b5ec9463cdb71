//! `rlock run`: take the lock, run the command under it, keep the lock alive, release it, and exit
//! with the command's status.

use std::ffi::OsString;
use std::sync::mpsc::{self, RecvTimeoutError};
use std::time::{Duration, Instant};

use anyhow::{Result, bail};
use nix::sys::signal::Signal;

use crate::child;
use crate::duration;
use crate::endpoint::Endpoint;
use crate::events::Event;
use crate::exit_code::Exit;
use crate::holder::Holder;
use crate::keepalive::{Held, KeepAlive};
use crate::keys::LockKeys;
use crate::launch;
use crate::lock::{LockClient, Token};
use crate::signals::{self, Listener};
use crate::ui;
use crate::wait::{self, Outcome, Patience, Ringer};

/// Time allowed for each Redis round trip while taking and releasing the lock.
pub const REDIS_TIMEOUT: Duration = Duration::from_secs(5);

/// What `rlock run` was asked to do.
#[derive(Debug, Clone)]
pub struct RunRequest {
    pub keys: LockKeys,
    pub ttl: Duration,
    pub patience: Patience,
    pub conflict_exit: u8,
    pub kill_grace: Duration,
    pub command: Vec<OsString>,
}

/// Runs the request against one Redis server and returns how rlock should exit.
pub fn run(endpoint: Endpoint, request: RunRequest) -> Result<Exit> {
    if request.command.is_empty() {
        bail!("nothing to run: put the command after --, as in: rlock run KEY -- ./deploy.sh");
    }
    // Both helper processes are forked first, while rlock has no other thread.
    let guardian = child::Guardian::start();
    if let Err(err) = &guardian {
        ui::notice(format_args!(
            "{err:#}; if rlock is killed, only the command itself dies with it"
        ));
    }
    let token = Token::generate();
    let env = [
        ("RLOCK_KEY", request.keys.name.clone()),
        ("RLOCK_TOKEN", token.secret().to_owned()),
        ("RLOCK_TTL_MS", crate::lock::millis(request.ttl).to_string()),
    ];
    // A command that cannot be found is reported before any lock is taken.
    let prepared = match launch::prepare(&request.command, &env) {
        Ok(prepared) => prepared,
        Err(err) => {
            ui::error(&err.message);
            return Ok(err.exit);
        }
    };
    let (events, inbox) = mpsc::channel();
    let _signals = Listener::start({
        let events = events.clone();
        move |signal| {
            let _ = events.send(Event::Signal(signal));
        }
    })?;

    let mut client = LockClient::new(endpoint.clone(), request.keys.clone(), REDIS_TIMEOUT);
    let holder = Holder::for_command(&request.command);
    let mut doorbell =
        Ringer::start(endpoint.clone(), request.keys.clone(), events.clone(), &inbox)?;
    let take = wait::Request {
        token: &token,
        ttl: request.ttl,
        holder: &holder,
        patience: request.patience,
    };
    let outcome = wait::acquire(&mut client, &take, &mut doorbell)?;
    drop(doorbell);
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
    if let Ok(Event::Signal(signal)) = inbox.try_recv() {
        release(&mut client, &token, request.ttl);
        return Ok(Exit::Signal(signal));
    }

    let child = match prepared.start(fence) {
        Ok(child) => child,
        Err(err) => {
            ui::error(&err.message);
            release(&mut client, &token, request.ttl);
            return Ok(err.exit);
        }
    };
    ui::detail(format_args!("started pid {}", child.pid()));
    if let Ok(guardian) = &guardian
        && let Err(err) = guardian.watch_over(&child)
    {
        ui::notice(format_args!(
            "{err:#}; if rlock is killed, only the command itself dies with it"
        ));
    }

    let held = Held {
        endpoint,
        keys: request.keys.clone(),
        token: token.clone(),
        ttl: request.ttl,
        taken_at,
        lifetime,
    };
    let keepalive = KeepAlive::start(held, {
        let events = events.clone();
        move |reason| {
            let _ = events.send(Event::LockLost(reason));
        }
    })?;
    let stops = events.clone();
    child.watch(
        move |signal| {
            let _ = stops.send(Event::ChildStopped(signal));
        },
        {
            let events = events.clone();
            move || {
                let _ = events.send(Event::ChildExited);
            }
        },
    )?;
    drop(events);

    let lost = supervise(&child, &inbox, &request);
    if lost {
        // Whatever is left of the command's group must not go on without the lock.
        child.signal_group(Signal::SIGKILL);
    } else {
        // The command is done: hand the lock on first, then tidy up. A refresh that races with
        // this finds the lock gone and changes nothing.
        release(&mut client, &token, request.ttl);
    }
    keepalive.stop();
    let status = child.reap();
    if let Ok(guardian) = guardian {
        guardian.dismiss();
    }
    let status = status?;
    Ok(if lost { Exit::LockLost } else { Exit::from_status(status) })
}

/// Waits for the command to end, passing on signals and stopping it if the lock is lost.
/// Returns whether the lock was lost.
fn supervise(child: &child::Child, inbox: &mpsc::Receiver<Event>, request: &RunRequest) -> bool {
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
        let event = match kill_at {
            Some(at) => inbox.recv_timeout(at.saturating_duration_since(Instant::now())),
            None => inbox.recv().map_err(|_| RecvTimeoutError::Disconnected),
        };
        match event {
            Err(RecvTimeoutError::Timeout) => {
                ui::notice("the command outlived --kill-grace; sending SIGKILL");
                child.signal_group(Signal::SIGKILL);
                kill_at = None;
            }
            // Every sender is gone: the watcher thread could not report. Should not happen.
            Err(RecvTimeoutError::Disconnected) => return lost,
            Ok(Event::ChildExited) => return lost,
            // The doorbell is idle once the lock is ours.
            Ok(Event::Bell(_)) => {}
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

/// Releases the lock at the end of a run; a failure only warns, as the lock lapses by itself.
fn release(client: &mut LockClient, token: &Token, ttl: Duration) {
    client.set_timeout(REDIS_TIMEOUT);
    // The connection sat idle while the command ran: if it broke, try once more on a new one.
    let result = client.release(token).or_else(|_| client.release(token));
    match result {
        Ok(true) => ui::detail(format_args!("released '{}'", client.keys().name)),
        Ok(false) => ui::notice(format_args!(
            "'{}' was no longer ours when the command ended (it expired or was broken)",
            client.keys().name
        )),
        Err(err) => ui::notice(format_args!(
            "could not release '{}' ({err:#}); it lapses within {}",
            client.keys().name,
            duration::show(ttl)
        )),
    }
}
