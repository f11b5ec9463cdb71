//! Waiting for a lock someone else holds: first come, first served, woken by a push.
//!
//! A waiter joins the lock's queue once and keeps its place with a heartbeat (each try is one); a
//! waiter that stops sending them (crashed, killed) loses its place after [`LAPSE`]. It sleeps on
//! its own wake-up list with BLPOP. Releasing the lock pushes a wake-up to the head of the queue
//! only, so the next holder starts about one round trip later and nobody else stirs. The head also
//! wakes by itself when the holder's lifetime runs out (a crashed holder sends nothing) and at its
//! heartbeat (a lock held through another library is freed without a push). Giving up leaves the
//! queue and passes the turn on.

use std::time::{Duration, Instant, SystemTime};

use std::sync::mpsc::{self, Receiver, Sender};

use anyhow::{Context, Result, anyhow, bail};

use crate::duration;
use crate::endpoint::Endpoint;
use crate::events::Event;
use crate::holder::Holder;
use crate::keys::LockKeys;
use crate::lock::{Attempt, LockClient, Token, Waiting};
use crate::ui;

/// How often the head of the queue checks in (and notices a lock freed without a push).
pub const HEARTBEAT_HEAD: Duration = Duration::from_secs(1);
/// How often a waiter further back checks in.
pub const HEARTBEAT_BEHIND: Duration = Duration::from_secs(2);
/// How long a waiter's place lasts without a heartbeat.
pub const LAPSE: Duration = Duration::from_secs(4);

/// How long to wait for a held lock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Patience {
    /// Give up at once (`-n`).
    NoWait,
    /// Wait until this instant (`--wait`), or forever for `None`.
    Until(Option<Instant>),
}

/// How a wait ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The lock is ours, with this fencing number, since the try sent at `taken_at`.
    Acquired { fence: u64, taken_at: Instant },
    /// It stayed held until we gave up (and left the queue).
    GaveUp,
    /// A signal arrived while waiting (and we left the queue).
    Interrupted(i32),
}

/// Why a waiter's sleep ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rung {
    /// A wake-up was pushed: the lock is free for us.
    Rang,
    /// The time ran out.
    Quiet,
    /// A signal arrived.
    Interrupted(i32),
}

/// How a waiter sleeps until it is woken or `timeout` passes: BLPOP on its wake-up list, cut
/// short by signals where the caller watches for them.
pub trait Doorbell {
    fn listen(&mut self, client: &mut LockClient, waiter: &str, timeout: Duration) -> Result<Rung>;
}

/// Sleeps on a connection of its own, in a thread, so that the main thread can listen for signals
/// at the same time: whichever comes first, the wake-up or a signal, ends the sleep.
pub struct Ringer<'a> {
    requests: Sender<(String, Duration)>,
    inbox: &'a Receiver<Event>,
}

impl<'a> Ringer<'a> {
    /// Starts the doorbell thread; its answers arrive on `events` and are read from `inbox`, where
    /// signals arrive too.
    pub fn start(
        endpoint: Endpoint,
        keys: LockKeys,
        events: Sender<Event>,
        inbox: &'a Receiver<Event>,
    ) -> Result<Ringer<'a>> {
        let (requests, asked) = mpsc::channel::<(String, Duration)>();
        let mut client = LockClient::new(endpoint, keys, crate::run::REDIS_TIMEOUT);
        std::thread::Builder::new()
            .name("rlock-doorbell".into())
            .spawn(move || {
                for (waiter, timeout) in asked {
                    let rung =
                        client.wait_for_wake(&waiter, timeout).map_err(|err| format!("{err:#}"));
                    if events.send(Event::Bell(rung)).is_err() {
                        break;
                    }
                }
            })
            .context("cannot start the doorbell thread")?;
        Ok(Ringer { requests, inbox })
    }
}

impl Doorbell for Ringer<'_> {
    fn listen(&mut self, _: &mut LockClient, waiter: &str, timeout: Duration) -> Result<Rung> {
        self.requests
            .send((waiter.to_owned(), timeout))
            .map_err(|_| anyhow!("the doorbell thread has stopped"))?;
        loop {
            match self.inbox.recv() {
                Ok(Event::Signal(signal)) => return Ok(Rung::Interrupted(signal)),
                Ok(Event::Bell(Ok(true))) => return Ok(Rung::Rang),
                Ok(Event::Bell(Ok(false))) => return Ok(Rung::Quiet),
                Ok(Event::Bell(Err(err))) => bail!(err),
                // Nothing else is sent while waiting.
                Ok(_) => continue,
                Err(_) => bail!("the doorbell thread has stopped"),
            }
        }
    }
}

/// Takes the lock, waiting in the queue as `patience` allows.
pub fn acquire(
    client: &mut LockClient,
    token: &Token,
    ttl: Duration,
    holder: &Holder,
    patience: Patience,
    doorbell: &mut dyn Doorbell,
) -> Result<Outcome> {
    let waiter = match patience {
        Patience::NoWait => None,
        Patience::Until(_) => Some(Token::generate().secret().to_owned()),
    };
    let started = Instant::now();
    let mut progress = Progress::new(&client.keys().name);
    let result = take_turn(
        client,
        token,
        ttl,
        holder,
        patience,
        doorbell,
        waiter.as_deref(),
        started,
        &mut progress,
    );
    progress.clear();
    match (&result, &waiter) {
        (Ok(Outcome::Acquired { .. }), _) | (_, None) => {}
        // Leave the queue however the wait ended; if Redis is unreachable, the place lapses.
        (_, Some(waiter)) => {
            let _ = client.leave(waiter);
        }
    }
    result
}

#[allow(clippy::too_many_arguments)]
fn take_turn(
    client: &mut LockClient,
    token: &Token,
    ttl: Duration,
    holder: &Holder,
    patience: Patience,
    doorbell: &mut dyn Doorbell,
    waiter: Option<&str>,
    started: Instant,
    progress: &mut Progress,
) -> Result<Outcome> {
    loop {
        let sent = Instant::now();
        let waiting = match client.try_acquire(token, ttl, holder, waiter, LAPSE)? {
            Attempt::Acquired { fence } => return Ok(Outcome::Acquired { fence, taken_at: sent }),
            Attempt::Held(waiting) => waiting,
        };
        let (Patience::Until(deadline), Some(waiter)) = (patience, waiter) else {
            return Ok(Outcome::GaveUp);
        };
        let now = Instant::now();
        if deadline.is_some_and(|deadline| now >= deadline) {
            return Ok(Outcome::GaveUp);
        }
        progress.show(&waiting, started.elapsed());
        let head = waiting.place == 1;
        let mut nap = if head { HEARTBEAT_HEAD } else { HEARTBEAT_BEHIND };
        if head && let Some(left) = waiting.ttl {
            // A crashed holder sends no wake-up: look again just as its lifetime ends.
            nap = nap.min(left + Duration::from_millis(5));
        }
        if progress.active() {
            nap = nap.min(Duration::from_secs(1));
        }
        if let Some(deadline) = deadline {
            nap = nap.min(deadline.saturating_duration_since(now));
        }
        let nap = nap.max(Duration::from_millis(10));
        if let Rung::Interrupted(signal) = doorbell.listen(client, waiter, nap)? {
            return Ok(Outcome::Interrupted(signal));
        }
    }
}

/// Says who holds the lock we could not get.
pub fn report_gave_up(client: &mut LockClient) {
    let name = client.keys().name.clone();
    match client.inspect() {
        Ok(Some(info)) => {
            let who = info.holder.map(|h| format!(" by {}", h.short())).unwrap_or_default();
            let ttl = match info.ttl {
                Some(ttl) => format!("for another {}", duration::show(ttl)),
                None => "with no expiry".into(),
            };
            ui::notice(format_args!("'{name}' is held{who} {ttl}"));
        }
        Ok(None) => {
            ui::notice(format_args!("'{name}' was held until just now, or others were ahead"))
        }
        Err(_) => ui::notice(format_args!("'{name}' was held; gave up waiting")),
    }
}

/// The waiting line: on a terminal, one line updated in place; with `-v` elsewhere, a line each
/// time our place changes; otherwise nothing.
struct Progress {
    name: String,
    terminal: bool,
    shown: bool,
    last_place: u64,
}

impl Progress {
    fn new(name: &str) -> Progress {
        Progress {
            name: name.to_owned(),
            terminal: ui::status_line_wanted(),
            shown: false,
            last_place: 0,
        }
    }

    fn active(&self) -> bool {
        self.terminal
    }

    fn show(&mut self, waiting: &Waiting, waited: Duration) {
        let holder = match &waiting.holder {
            Some(h) => {
                let held = SystemTime::now().duration_since(h.since()).unwrap_or_default();
                format!("held by {} for {}", h.short(), whole_seconds(held))
            }
            None if waiting.ttl == Some(Duration::ZERO) => "being handed over".to_owned(),
            None => "held (not by rlock)".to_owned(),
        };
        let place = format!("place {} of {}", waiting.place, waiting.waiters);
        if self.terminal {
            let line = format!(
                "waiting for '{}': {holder}; {place}; waited {}",
                self.name,
                whole_seconds(waited)
            );
            ui::status_line(&line);
            self.shown = true;
        } else if waiting.place != self.last_place {
            ui::detail(format_args!("waiting for '{}': {holder}; {place}", self.name));
        }
        self.last_place = waiting.place;
    }

    fn clear(&mut self) {
        if self.shown {
            ui::clear_status_line();
            self.shown = false;
        }
    }
}

fn whole_seconds(duration: Duration) -> String {
    duration::show(Duration::from_secs(duration.as_secs()))
}
