//! Waiting for a lock someone else holds, on a thread of its own: first come, first served,
//! woken by a push, on one server or a quorum.
//!
//! A waiter joins the lock's queue once and keeps its place with a heartbeat (each try is one); a
//! waiter that stops sending them (crashed, killed) loses its place after [`timing::LAPSE`]. It
//! sleeps on its own wake-up list with BLPOP (on every server of a quorum at once). Releasing
//! the lock hands it to the head of the queue in the same script and pushes the fence to that
//! waiter alone, so the next holder starts about one round trip later and nobody else stirs. The
//! head also looks again when the holder's lifetime runs out (a crashed holder hands nothing on)
//! and at its heartbeat (a lock held through another library is freed without a push). Over a
//! quorum, [`Lock`] keeps the waiter at the same place on every server and gives back what only
//! a minority granted it.
//!
//! A waiter rides out Redis restarting or failing over: when a call fails with an error that
//! trying again may fix (see [`crate::redis::retryable`]), it tries again after a bounded
//! backoff ([`timing::reconnect_nap`]) until Redis answers, keeping its deadline. The try that
//! gets through is also its heartbeat: it keeps the waiter's place if Redis still has it
//! (persistence), or joins the queue again if Redis forgot it (no persistence, or a place that
//! lapsed meanwhile); the waiter's id is the same, so it never holds two places. Only an error
//! that retrying cannot fix, or Redis still away when the patience runs out, ends the wait as
//! failed. The first try is not retried: Redis unreachable from the start is most often a wrong
//! address, said at once.
//!
//! The thread reports how the wait ended as one [`Outcome`]. Whoever started it can give the
//! wait up at any moment ([`Wait::abandon`]): no try is under way then or later, and the place
//! in the queue is left, releasing a lock granted a moment before.

use std::ops::ControlFlow;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use anyhow::Result;

use crate::lock::{Attempt, End, Holder, Lock, LockInfo, Token, Waiter, Waiting, Wake};
use crate::redis;
use crate::report::note::{Note, Outage};
use crate::report::progress::Progress;
use crate::timing::{self, Lease, NapFacts};

/// How long to wait for a held lock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Patience {
    /// Give up at once (`-n`).
    NoWait,
    /// Wait until this instant (`--wait`), or forever for `None`.
    Until(Option<Instant>),
}

/// What to take, for how long, and how patiently.
#[derive(Debug, Clone)]
pub struct Request {
    pub token: Token,
    pub ttl: Duration,
    pub holder: Holder,
    pub patience: Patience,
    /// The kill grace of the command to run: a lock that reaches us with so little of its
    /// lease left that the command would have to be stopped at once is given back, and waited
    /// for again (see [`timing::startable`]).
    pub grace: Duration,
    /// `--progress`: off a terminal, how often to say how the wait goes (`None`: never, nor a
    /// waiting line on a terminal).
    pub progress: Option<Duration>,
}

/// How a wait ended.
pub enum Outcome {
    /// The lock is ours, with this fence and lease; `lock` is the client that took it.
    Acquired { fence: u64, lease: Lease, lock: Lock },
    /// It stayed held until we gave up (and left the queue); what the lock looked like then
    /// (`None` if that could not be read).
    GaveUp(Option<Option<LockInfo>>),
    /// Redis could not be asked, or answered with an error.
    Failed(anyhow::Error),
}

/// A wait under way on its thread.
pub struct Wait {
    /// Set, under its lock, once the wait is given up: the thread makes no try after that, and
    /// holds the lock for the length of each try.
    abandoned: Arc<Mutex<bool>>,
    /// The same lock on a connection of its own, for leaving the queue.
    leaver: Lock,
    waiter: Option<String>,
    token: Token,
}

/// How [`start`] began: the first try settled it, or the wait goes on on its thread.
pub enum Begun {
    Done(Outcome),
    Waiting(Wait),
}

/// Makes the first try at `lock` on the calling thread (so that a lock that is free costs no
/// thread); if that does not settle it, waits on a thread of its own, which calls `done` with the
/// outcome.
pub fn start(
    lock: Lock,
    request: Request,
    done: impl FnOnce(Outcome) + Send + 'static,
) -> Result<Begun> {
    let waiter = match request.patience {
        Patience::NoWait => None,
        Patience::Until(_) => Some(Waiter {
            id: Token::generate().secret().to_owned(),
            lapse: timing::LAPSE,
            grant: timing::grant_lifetime(request.ttl),
            ticket: 0,
        }),
    };
    let abandoned = Arc::new(Mutex::new(false));
    let started = Instant::now();
    let timeout = lock.timeout();
    let mut turn = Turn { lock, request, waiter, abandoned: abandoned.clone(), started, timeout };
    let first = turn.try_now();
    let waiting = match turn.settle(first) {
        ControlFlow::Break(outcome) => return Ok(Begun::Done(turn.finish(outcome))),
        ControlFlow::Continue(waiting) => waiting,
    };
    let wait = Wait {
        abandoned,
        leaver: turn.lock.another(),
        waiter: turn.waiter.as_ref().map(|waiter| waiter.id.clone()),
        token: turn.request.token.clone(),
    };
    std::thread::Builder::new().name("rlock-wait".into()).spawn(move || {
        if let Some(outcome) = turn.wait(waiting) {
            done(turn.finish(outcome));
        }
    })?;
    Ok(Begun::Waiting(wait))
}

impl Wait {
    /// Gives the wait up: once this returns no try is under way or will be made, the place in
    /// the queue is left, and a lock granted to us meanwhile is released (as far as Redis can be
    /// reached; otherwise place and lock lapse by themselves).
    pub fn abandon(mut self) {
        *self.abandoned.lock().unwrap_or_else(PoisonError::into_inner) = true;
        let id = self.waiter.as_deref().unwrap_or("");
        let _ = self.leaver.leave(id, &self.token);
    }
}

/// What a try found: the lock, with its lease counted, or whom to wait for.
enum Found {
    Acquired { fence: u64, lease: Lease },
    Held(Waiting),
}

/// The waiting thread's state.
struct Turn {
    lock: Lock,
    request: Request,
    waiter: Option<Waiter>,
    abandoned: Arc<Mutex<bool>>,
    /// When the wait began.
    started: Instant,
    /// The time allowed for each call, as the lock was given (calls made while reconnecting
    /// get less when the patience is nearly out).
    timeout: Duration,
}

impl Turn {
    /// One try, unless the wait was given up (then `None`).
    fn try_once(&mut self) -> Option<Result<Found>> {
        let abandoned = self.abandoned.clone();
        let abandoned = abandoned.lock().unwrap_or_else(PoisonError::into_inner);
        if *abandoned {
            return None;
        }
        Some(self.try_now())
    }

    /// One try: the lock, or whom to wait for. A lock handed to us whose lease, counted from
    /// the last call that found no grant (a handed lock was handed later), is due for a refresh
    /// already (the wait lost Redis a while, and the grant waited for it in Redis) is refreshed
    /// first, so that no command starts on a lease about to end; one that lapsed meanwhile is
    /// waited for again.
    fn try_now(&mut self) -> Result<Found> {
        let Request { token, ttl, holder, .. } = &self.request;
        let (token, ttl) = (token.clone(), *ttl);
        // Twice at most: once more only after a grant that lapsed, which that try rejoins.
        for _ in 0..2 {
            let (fence, mut lease) =
                match self.lock.try_acquire(&token, ttl, holder, self.waiter.as_mut())? {
                    Attempt::Held(waiting) => return Ok(Found::Held(waiting)),
                    Attempt::Acquired { fence, granted: false, since } => {
                        return Ok(Found::Acquired { fence, lease: Lease::new(ttl, since, ttl) });
                    }
                    Attempt::Acquired { fence, granted: true, since } => {
                        (fence, Lease::new(ttl, since, timing::grant_lifetime(ttl)))
                    }
                };
            if Instant::now() < lease.refresh_due() {
                return Ok(Found::Acquired { fence, lease });
            }
            let sent = Instant::now();
            if self.lock.refresh(&token, ttl)? {
                lease.refreshed(sent);
                return Ok(Found::Acquired { fence, lease });
            }
        }
        Ok(Found::Held(Waiting::default()))
    }

    /// What a try settles: the outcome, or what to wait for.
    fn settle(&mut self, found: Result<Found>) -> ControlFlow<Outcome, Waiting> {
        let waiting = match found {
            Err(err) => return ControlFlow::Break(Outcome::Failed(err)),
            Ok(Found::Acquired { lease, .. }) if self.too_late(&lease) => {
                self.give_back(&lease);
                Waiting::default()
            }
            Ok(Found::Acquired { fence, lease }) => {
                return ControlFlow::Break(self.acquired(fence, lease));
            }
            Ok(Found::Held(waiting)) => waiting,
        };
        match self.request.patience {
            Patience::Until(deadline)
                if deadline.is_none_or(|deadline| Instant::now() < deadline) =>
            {
                ControlFlow::Continue(waiting)
            }
            _ => ControlFlow::Break(Outcome::GaveUp(None)),
        }
    }

    /// What is left of the patience (`None`: it waits forever).
    fn left(&self) -> Option<Duration> {
        match self.request.patience {
            Patience::Until(Some(deadline)) => {
                Some(deadline.saturating_duration_since(Instant::now()))
            }
            Patience::Until(None) => None,
            Patience::NoWait => Some(Duration::ZERO),
        }
    }

    /// Waits, from what the last try found, until the lock is ours or the patience runs out;
    /// `None` when the wait was given up.
    fn wait(&mut self, mut waiting: Waiting) -> Option<Outcome> {
        let mut progress = Progress::new(&self.lock.keys().name, self.request.progress);
        loop {
            progress.show(&waiting, self.started.elapsed());
            let Some(waiter) = self.waiter.clone() else {
                // Not queued (-n): one try was all.
                return Some(Outcome::GaveUp(None));
            };
            let left = self.left();
            let nap = timing::queue_nap(NapFacts {
                head: waiting.place == 1,
                holder_ttl: waiting.ttl,
                grant: waiter.grant,
                status_line: progress.on_terminal(),
                line_due: progress.line_due(),
                left,
            });
            // No call may keep the wait much past its patience, however slow Redis answers: the
            // reply may take the nap, and what is left of the patience bounds the rest.
            let rest = left.map(|left| left.saturating_sub(nap));
            self.lock.set_timeout(timing::waiter_call_timeout(self.timeout, rest));
            let slept = self.sleep_on(&waiter, nap);
            let found = match slept {
                Ok(Some(outcome)) => return Some(outcome),
                Ok(None) => self.try_once()?,
                Err(err) => Err(err),
            };
            let found = match found {
                Err(err) if redis::retryable(&err) => self.ride_out(err, &mut progress)?,
                found => found,
            };
            match self.settle(found) {
                ControlFlow::Break(outcome) => return Some(outcome),
                ControlFlow::Continue(still) => waiting = still,
            }
        }
    }

    /// Sleeps on the waiter's wake-up list for up to `nap`: the outcome if the lock was handed
    /// to us, `None` if nothing came. A lock handed to us whose lease, counted from the last call
    /// that found no grant, would not let the command start (the grant came late in a long
    /// nap, or a frozen server slowed the calls) is refreshed first, and given back only if that
    /// does not go through.
    fn sleep_on(&mut self, waiter: &Waiter, nap: Duration) -> Result<Option<Outcome>> {
        match self.lock.wait_for_grant(waiter, &self.request.token, nap)? {
            Wake::Granted { fence, since } => {
                let mut lease = Lease::new(self.request.ttl, since, waiter.grant);
                if self.too_late(&lease) {
                    let sent = Instant::now();
                    if self.lock.refresh(&self.request.token, self.request.ttl).unwrap_or(false) {
                        lease.refreshed(sent);
                    }
                }
                if self.too_late(&lease) {
                    self.give_back(&lease);
                    return Ok(None);
                }
                Ok(Some(self.acquired(fence, lease)))
            }
            Wake::TimedOut => Ok(None),
        }
    }

    /// Redis went away (`err`, which retrying may fix): tries again after a bounded backoff
    /// until a try gets through (what it found), an error retrying cannot fix comes, or the
    /// patience runs out (an error saying so); `None` if the wait was given up meanwhile.
    fn ride_out(
        &mut self,
        mut err: anyhow::Error,
        progress: &mut Progress,
    ) -> Option<Result<Found>> {
        let since = Instant::now();
        progress.lost(&format!("{err:#}"), self.left());
        let mut tries = 0;
        loop {
            let left = self.left();
            if left == Some(Duration::ZERO) {
                // The calls that give up (leaving the queue) keep the short timeout.
                let name = &self.lock.keys().name;
                let why = format!("{err:#}");
                let gave_up = Outage::GaveUp { name, why: &why, down: since.elapsed() };
                return Some(Err(anyhow::anyhow!(gave_up.to_string())));
            }
            std::thread::sleep(timing::reconnect_nap(tries, fastrand::f64(), left));
            tries = tries.saturating_add(1);
            self.lock.set_timeout(timing::waiter_call_timeout(self.timeout, self.left()));
            match self.try_once() {
                None => return None,
                Some(Err(again)) if redis::retryable(&again) => {
                    progress.still_lost(
                        &format!("{again:#}"),
                        since.elapsed(),
                        self.started.elapsed(),
                    );
                    err = again;
                }
                Some(found) => {
                    if found.is_ok() {
                        progress.back(since.elapsed());
                    }
                    return Some(found);
                }
            }
        }
    }

    /// The outcome as it is reported: a wait that did not take the lock leaves the queue (if
    /// Redis is unreachable, the place lapses), and one that gave up says who holds the lock.
    fn finish(&mut self, outcome: Outcome) -> Outcome {
        // Past the patience, what is left to say to Redis gets the shortest time.
        if self.left() == Some(Duration::ZERO) {
            self.lock.set_timeout(timing::waiter_call_timeout(self.timeout, Some(Duration::ZERO)));
        }
        if let (Outcome::GaveUp(_) | Outcome::Failed(_), Some(waiter)) = (&outcome, &self.waiter) {
            let _ = self.lock.leave(&waiter.id, &self.request.token);
        }
        match outcome {
            Outcome::GaveUp(_) => Outcome::GaveUp(self.lock.inspect().ok()),
            outcome => outcome,
        }
    }

    /// Whether a lock on `lease` reached us too late to use: Redis answered so slowly that the
    /// command would be stopped as soon as it started.
    fn too_late(&self, lease: &Lease) -> bool {
        !timing::startable(lease, self.request.grace, Instant::now())
    }

    /// Gives back a lock that came too late, and says so.
    fn give_back(&mut self, lease: &Lease) {
        let left = lease.valid_until().saturating_duration_since(Instant::now());
        let _ = self.lock.release_as(&self.request.token, End::given_back());
        let name = self.lock.keys().name.clone();
        Note::TooLate { name, left, ttl: self.request.ttl }.show();
    }

    fn acquired(&mut self, fence: u64, lease: Lease) -> Outcome {
        // Handed on with the time per call it was given, not one cut short by the patience.
        self.lock.set_timeout(self.timeout);
        let fresh = self.lock.another();
        let lock = std::mem::replace(&mut self.lock, fresh);
        Outcome::Acquired { fence, lease, lock }
    }
}
