//! Waiting for a lock someone else holds: first come, first served, woken by a push.
//!
//! A waiter joins the lock's queue once, registering its token, and keeps its place with a
//! heartbeat (each try is one); a waiter that stops sending them (crashed, killed) loses its place
//! after [`LAPSE`]. It sleeps on its own wake-up list with BLPOP. Releasing the lock hands it to
//! the head of the queue in the same script and pushes the fence to that waiter alone, so the next
//! holder starts about one round trip later and nobody else stirs. The head also looks again when
//! the holder's lifetime runs out (a crashed holder hands nothing on) and at its heartbeat (a lock
//! held through another library is freed without a push). Giving up leaves the queue and passes
//! the turn on.

use std::ops::ControlFlow;
use std::sync::mpsc::{Receiver, Sender};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use anyhow::Result;

use crate::duration;
use crate::endpoint::Endpoint;
use crate::events::Event;
use crate::holder::Holder;
use crate::keys::LockKeys;
use crate::lock::{Attempt, LockClient, Token, Waiter, Waiting, Wake};
use crate::signals::Listener;
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
    /// The lock is ours, with this fencing number, and lives for `lifetime` counted from
    /// `taken_at` (an instant no later than the moment Redis gave it to us): the ttl when we took
    /// it, the short grant when it was handed to us (extend it at once).
    Acquired { fence: u64, taken_at: Instant, lifetime: Duration },
    /// It stayed held until we gave up (and left the queue).
    GaveUp,
    /// A signal arrived while waiting (and we left the queue).
    Interrupted(i32),
}

/// What to take, for how long, and how patiently.
pub struct Request<'a> {
    pub token: &'a Token,
    pub ttl: Duration,
    pub holder: &'a Holder,
    pub patience: Patience,
}

/// Cuts a waiter's BLPOP short when rlock gets a signal: the signal thread pushes a wake-up to
/// the waiter's own list (on a connection of its own), so the main thread can sleep in BLPOP and
/// still answer Ctrl-C at once.
#[derive(Clone, Default)]
pub struct Nudger {
    waiting: Arc<Mutex<Option<(Endpoint, LockKeys, String)>>>,
}

impl Nudger {
    fn arm(&self, endpoint: &Endpoint, keys: &LockKeys, waiter: &str) {
        if let Ok(mut waiting) = self.waiting.lock() {
            *waiting = Some((endpoint.clone(), keys.clone(), waiter.to_owned()));
        }
    }

    fn disarm(&self) {
        if let Ok(mut waiting) = self.waiting.lock() {
            *waiting = None;
        }
    }

    /// Wakes the waiter, if one is sleeping. Called from the signal thread; if Redis cannot be
    /// reached, the waiter still wakes at the end of its (short) sleep.
    pub fn ring(&self) {
        let Ok(waiting) = self.waiting.lock() else { return };
        if let Some((endpoint, keys, waiter)) = waiting.as_ref() {
            let mut client =
                LockClient::new(endpoint.clone(), keys.clone(), Duration::from_secs(1));
            let _ = client.nudge(waiter);
        }
    }
}

/// Catches the forwarded signals (see [`crate::signals`]): each goes to `events` and nudges a
/// sleeping waiter. With `on_child`, SIGCHLD is caught too and calls it (on the same thread),
/// which may end the catching.
pub fn catch_signals(
    events: &Sender<Event>,
    mut on_child: Option<Box<dyn FnMut() -> ControlFlow<()> + Send>>,
) -> Result<(Listener, Nudger)> {
    let nudger = Nudger::default();
    let listener = Listener::start(on_child.is_some(), {
        let (events, nudger) = (events.clone(), nudger.clone());
        move |signal| {
            if signal == libc::SIGCHLD {
                return on_child.as_mut().map_or(ControlFlow::Continue(()), |on_child| on_child());
            }
            let _ = events.send(Event::Signal(signal));
            nudger.ring();
            ControlFlow::Continue(())
        }
    })?;
    Ok((listener, nudger))
}

/// The first signal waiting in `inbox`, if any.
pub fn pending_signal(inbox: &Receiver<Event>) -> Option<i32> {
    inbox.try_iter().find_map(|event| match event {
        Event::Signal(signal) => Some(signal),
        _ => None,
    })
}

/// Takes the lock, waiting in the queue as the request's patience allows.
pub fn acquire(
    client: &mut LockClient,
    request: &Request,
    signals: &Receiver<Event>,
    nudger: &Nudger,
) -> Result<Outcome> {
    begin(client, request)?.finish(client, request, signals, nudger)
}

/// A turn at the lock begun with [`begin`]: its first try is on its way to Redis.
pub struct Turn {
    /// The place in the queue it takes if the lock is held (none: it only tries).
    waiter: Option<Waiter>,
    /// When the first try was sent.
    started: Instant,
}

/// Sends the first try at the lock (joining the queue, if the request's patience allows waiting),
/// without waiting for the answer: [`Turn::finish`] reads it, so the caller can get ready to run
/// the command while Redis works. It connects first, so an unreachable Redis is reported here.
pub fn begin(client: &mut LockClient, request: &Request) -> Result<Turn> {
    let waiter = match request.patience {
        // Quorum mode has no wait queue: its waiters try again after a backoff.
        _ if client.is_quorum() => None,
        Patience::NoWait => None,
        Patience::Until(_) => Some(Waiter {
            id: Token::generate().secret().to_owned(),
            lapse: LAPSE,
            grant: grant_lifetime(request.ttl),
        }),
    };
    let started = Instant::now();
    client.send_try(request.token, request.ttl, request.holder, waiter.as_ref())?;
    Ok(Turn { waiter, started })
}

impl Turn {
    /// Reads the first try's answer and, while the lock is held, waits in the queue as the
    /// request's patience allows. `request` must be the one given to [`begin`].
    pub fn finish(
        self,
        client: &mut LockClient,
        request: &Request,
        signals: &Receiver<Event>,
        nudger: &Nudger,
    ) -> Result<Outcome> {
        let waiter = self.waiter;
        if let Some(waiter) = &waiter {
            nudger.arm(client.endpoint(), client.keys(), &waiter.id);
        }
        let mut progress = Progress::new(&client.keys().name);
        let result =
            take_turn(client, request, signals, waiter.as_ref(), self.started, &mut progress);
        nudger.disarm();
        progress.clear();
        match (&result, &waiter) {
            (Ok(Outcome::Acquired { .. }), _) | (_, None) => {}
            // Leave the queue however the wait ended; if Redis is unreachable, the place lapses.
            (_, Some(waiter)) => {
                let _ = client.leave(&waiter.id, request.token);
            }
        }
        result
    }

    /// Gives the turn up before its answer was read: whatever the first try did (took the
    /// lock, joined the queue) is undone, as far as Redis can be reached.
    pub fn abandon(self, client: &mut LockClient, token: &Token) {
        let id = self.waiter.as_ref().map_or("", |waiter| waiter.id.as_str());
        let _ = client.leave(id, token);
    }
}

/// The first lifetime of a lock handed to a waiter: short, so that a waiter that died a moment
/// ago holds nobody up for longer than a lapsed place would.
pub fn grant_lifetime(ttl: Duration) -> Duration {
    ttl.min(LAPSE)
}

fn take_turn(
    client: &mut LockClient,
    request: &Request,
    signals: &Receiver<Event>,
    waiter: Option<&Waiter>,
    started: Instant,
    progress: &mut Progress,
) -> Result<Outcome> {
    // Validity of a lock handed to us counts from before the grant could have happened: from when
    // we sent the last call that found no grant yet. For a grant found by a try, that is the
    // BLPOP before it (`asked`); for one found by BLPOP, the try before it (`sent`).
    let mut asked = started;
    let mut tries = 0;
    let mut first = true;
    loop {
        // The first try was sent at `started` (by `begin`): this reads its answer.
        let sent = if std::mem::take(&mut first) { started } else { Instant::now() };
        let attempt = client.try_acquire(request.token, request.ttl, request.holder, waiter)?;
        let waiting = match attempt {
            Attempt::Acquired { fence, granted: false } => {
                return Ok(Outcome::Acquired { fence, taken_at: sent, lifetime: request.ttl });
            }
            Attempt::Acquired { fence, granted: true } => {
                let lifetime = grant_lifetime(request.ttl);
                return Ok(Outcome::Acquired { fence, taken_at: asked, lifetime });
            }
            Attempt::Held(waiting) => waiting,
        };
        let Patience::Until(deadline) = request.patience else {
            return Ok(Outcome::GaveUp);
        };
        let now = Instant::now();
        if deadline.is_some_and(|deadline| now >= deadline) {
            return Ok(Outcome::GaveUp);
        }
        progress.show(&waiting, started.elapsed());
        let Some(waiter) = waiter else {
            // Quorum mode: try again after a jittered backoff (never sooner than the lock could
            // be free), or at once on a signal.
            let mut nap = backoff(tries);
            tries += 1;
            if let Some(left) = waiting.ttl.filter(|left| !left.is_zero()) {
                nap = nap.min(left + Duration::from_millis(5));
            }
            if let Some(deadline) = deadline {
                nap = nap.min(deadline.saturating_duration_since(now));
            }
            if let Ok(Event::Signal(signal)) = signals.recv_timeout(nap) {
                return Ok(Outcome::Interrupted(signal));
            }
            continue;
        };
        let head = waiting.place == 1;
        let mut nap = if head { HEARTBEAT_HEAD } else { HEARTBEAT_BEHIND };
        if head && let Some(left) = waiting.ttl {
            // A crashed holder sends no wake-up: look again just as its lifetime ends.
            nap = nap.min(left + Duration::from_millis(5));
        }
        // A grant found at the end of this sleep must still be valid: sleep at most half of it.
        nap = nap.min(waiter.grant / 2);
        if progress.active() {
            nap = nap.min(Duration::from_secs(1));
        }
        if let Some(deadline) = deadline {
            nap = nap.min(deadline.saturating_duration_since(now));
        }
        let nap = nap.max(Duration::from_millis(10));
        if let Some(signal) = pending_signal(signals) {
            return Ok(Outcome::Interrupted(signal));
        }
        asked = Instant::now();
        match client.wait_for_grant(&waiter.id, nap)? {
            Wake::Granted(fence) => {
                let lifetime = waiter.grant;
                return Ok(Outcome::Acquired { fence, taken_at: sent, lifetime });
            }
            Wake::Nudged | Wake::TimedOut => {
                if let Some(signal) = pending_signal(signals) {
                    return Ok(Outcome::Interrupted(signal));
                }
            }
        }
    }
}

/// Quorum mode's pause before try `tries` + 1: 50 ms doubling up to 1 s, each time somewhere
/// between half and one and a half of that, so that contenders do not keep colliding.
pub fn backoff(tries: u32) -> Duration {
    let base =
        Duration::from_millis(50).saturating_mul(1 << tries.min(5)).min(Duration::from_secs(1));
    base.mul_f64(0.5 + fastrand::f64())
}

/// Says who holds the lock we could not get.
pub fn report_gave_up(client: &mut LockClient) {
    let name = client.keys().name.clone();
    match client.inspect() {
        Ok(Some(info)) => {
            let who = match info.holders.as_slice() {
                [] => String::new(),
                [holder] => format!(" by {}", holder.short()),
                many => format!(" by {} holders", many.len()),
            };
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
            Some(_) if waiting.holders > 1 => format!("held by {} holders", waiting.holders),
            Some(h) => {
                let held = SystemTime::now().duration_since(h.since()).unwrap_or_default();
                format!("held by {} for {}", h.short(), whole_seconds(held))
            }
            None if waiting.ttl == Some(Duration::ZERO) => "being handed over".to_owned(),
            None => "held (not by rlock)".to_owned(),
        };
        let place = if waiting.place == 0 {
            "no queue (quorum mode)".to_owned()
        } else {
            format!("place {} of {}", waiting.place, waiting.waiters)
        };
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
