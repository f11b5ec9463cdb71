//! Waiting for a lock someone else holds, on a thread of its own: first come, first served,
//! woken by a push.
//!
//! A waiter joins the lock's queue once and keeps its place with a heartbeat (each try is one); a
//! waiter that stops sending them (crashed, killed) loses its place after [`timing::LAPSE`]. It
//! sleeps on its own wake-up list with BLPOP. Releasing the lock hands it to the head of the
//! queue in the same script and pushes the fence to that waiter alone, so the next holder starts
//! about one round trip later and nobody else stirs. The head also looks again when the holder's
//! lifetime runs out (a crashed holder hands nothing on) and at its heartbeat (a lock held
//! through another library is freed without a push). A quorum has no queue: its waiters try
//! again after a jittered backoff.
//!
//! The thread reports how the wait ended as one [`Outcome`]. Whoever started it can give the
//! wait up at any moment ([`Wait::abandon`]): no try is under way then or later, and the place
//! in the queue is left, releasing a lock granted a moment before.

use std::ops::ControlFlow;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use anyhow::Result;

use crate::lock::{Attempt, Holder, Lock, LockInfo, Token, Waiter, Waiting, Wake};
use crate::report::views::Progress;
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
        _ if !lock.has_queue() => None,
        Patience::NoWait => None,
        Patience::Until(_) => Some(Waiter {
            id: Token::generate().secret().to_owned(),
            lapse: timing::LAPSE,
            grant: timing::grant_lifetime(request.ttl),
        }),
    };
    let abandoned = Arc::new(Mutex::new(false));
    let started = Instant::now();
    let mut turn =
        Turn { lock, request, waiter, abandoned: abandoned.clone(), started, asked: started };
    let first = turn.try_now();
    let waiting = match turn.settle(first, started) {
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

/// The waiting thread's state.
struct Turn {
    lock: Lock,
    request: Request,
    waiter: Option<Waiter>,
    abandoned: Arc<Mutex<bool>>,
    /// When the wait began.
    started: Instant,
    /// When the last BLPOP began. A lock handed to us counts from before the grant could have
    /// happened: from the last call that found no grant yet. For a grant found by a try, that is
    /// the BLPOP before it; for one found by BLPOP, the try before it.
    asked: Instant,
}

impl Turn {
    /// One try, unless the wait was given up (then `None`).
    fn try_once(&mut self) -> Option<Result<Attempt>> {
        let abandoned = self.abandoned.clone();
        let abandoned = abandoned.lock().unwrap_or_else(PoisonError::into_inner);
        if *abandoned {
            return None;
        }
        Some(self.try_now())
    }

    /// One try.
    fn try_now(&mut self) -> Result<Attempt> {
        let Request { token, ttl, holder, .. } = &self.request;
        self.lock.try_acquire(token, *ttl, holder, self.waiter.as_ref())
    }

    /// What a try sent at `sent` settles: the outcome, or what to wait for.
    fn settle(&mut self, attempt: Result<Attempt>, sent: Instant) -> ControlFlow<Outcome, Waiting> {
        let ttl = self.request.ttl;
        let waiting = match attempt {
            Err(err) => return ControlFlow::Break(Outcome::Failed(err)),
            Ok(Attempt::Acquired { fence, granted }) => {
                let lease = if granted {
                    Lease::new(ttl, self.asked, timing::grant_lifetime(ttl))
                } else {
                    Lease::new(ttl, sent, ttl)
                };
                return ControlFlow::Break(self.acquired(fence, lease));
            }
            Ok(Attempt::Held(waiting)) => waiting,
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

    /// Waits, from what the last try found, until the lock is ours or the patience runs out;
    /// `None` when the wait was given up.
    fn wait(&mut self, mut waiting: Waiting) -> Option<Outcome> {
        let mut progress = Progress::new(&self.lock.keys().name);
        let mut tries = 0;
        let mut sent = self.started;
        loop {
            progress.show(&waiting, self.started.elapsed());
            let Patience::Until(deadline) = self.request.patience else {
                return Some(Outcome::GaveUp(None));
            };
            let left = deadline.map(|deadline| deadline.saturating_duration_since(Instant::now()));
            if let Some(waiter) = self.waiter.clone() {
                let nap = timing::queue_nap(NapFacts {
                    head: waiting.place == 1,
                    holder_ttl: waiting.ttl,
                    grant: waiter.grant,
                    status_line: progress.on_terminal(),
                    left,
                });
                self.asked = Instant::now();
                match self.lock.wait_for_grant(&waiter, nap) {
                    Err(err) => return Some(Outcome::Failed(err)),
                    Ok(Wake::Granted(fence)) => {
                        let lease = Lease::new(self.request.ttl, sent, waiter.grant);
                        return Some(self.acquired(fence, lease));
                    }
                    Ok(Wake::TimedOut) => {}
                }
            } else {
                // A quorum has no queue: try again after a jittered backoff.
                let backoff = timing::backoff(tries, fastrand::f64());
                tries += 1;
                std::thread::sleep(timing::quorum_nap(backoff, waiting.ttl, left));
            }
            sent = Instant::now();
            let attempt = self.try_once()?;
            match self.settle(attempt, sent) {
                ControlFlow::Break(outcome) => return Some(outcome),
                ControlFlow::Continue(still) => waiting = still,
            }
        }
    }

    /// The outcome as it is reported: a wait that did not take the lock leaves the queue (if
    /// Redis is unreachable, the place lapses), and one that gave up says who holds the lock.
    fn finish(&mut self, outcome: Outcome) -> Outcome {
        if let (Outcome::GaveUp(_) | Outcome::Failed(_), Some(waiter)) = (&outcome, &self.waiter) {
            let _ = self.lock.leave(&waiter.id, &self.request.token);
        }
        match outcome {
            Outcome::GaveUp(_) => Outcome::GaveUp(self.lock.inspect().ok()),
            outcome => outcome,
        }
    }

    fn acquired(&mut self, fence: u64, lease: Lease) -> Outcome {
        let fresh = self.lock.another();
        let lock = std::mem::replace(&mut self.lock, fresh);
        Outcome::Acquired { fence, lease, lock }
    }
}
