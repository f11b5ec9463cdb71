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

use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use anyhow::Result;

use crate::lock::{Attempt, Holder, Lock, LockInfo, Token, Waiter, Wake};
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

/// Starts waiting for `lock` on a thread of its own, which calls `done` with the outcome.
pub fn start(
    lock: Lock,
    request: Request,
    done: impl FnOnce(Outcome) + Send + 'static,
) -> Result<Wait> {
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
    let wait = Wait {
        abandoned: abandoned.clone(),
        leaver: lock.another(),
        waiter: waiter.as_ref().map(|waiter| waiter.id.clone()),
        token: request.token.clone(),
    };
    std::thread::Builder::new().name("rlock-wait".into()).spawn(move || {
        let mut turn = Turn { lock, request, waiter, abandoned };
        if let Some(outcome) = turn.take() {
            done(outcome);
        }
    })?;
    Ok(wait)
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
}

impl Turn {
    /// Waits for the lock; `None` when the wait was given up.
    fn take(&mut self) -> Option<Outcome> {
        let mut progress = Progress::new(&self.lock.keys().name);
        let outcome = self.turn(&mut progress);
        progress.clear();
        if let Some(Outcome::GaveUp(_) | Outcome::Failed(_)) = &outcome {
            // Leave the queue however the wait ended; if Redis is unreachable, the place lapses.
            if let Some(waiter) = &self.waiter {
                let _ = self.lock.leave(&waiter.id, &self.request.token);
            }
        }
        match outcome {
            Some(Outcome::GaveUp(_)) => Some(Outcome::GaveUp(self.lock.inspect().ok())),
            outcome => outcome,
        }
    }

    /// One try, unless the wait was given up (then `None`).
    fn try_once(&mut self) -> Option<Result<Attempt>> {
        let abandoned = self.abandoned.lock().unwrap_or_else(PoisonError::into_inner);
        if *abandoned {
            return None;
        }
        let Request { token, ttl, holder, .. } = &self.request;
        Some(self.lock.try_acquire(token, *ttl, holder, self.waiter.as_ref()))
    }

    fn turn(&mut self, progress: &mut Progress) -> Option<Outcome> {
        let started = Instant::now();
        let ttl = self.request.ttl;
        // A lock handed to us counts from before the grant could have happened: from the last
        // call that found no grant yet. For a grant found by a try, that is the BLPOP before it
        // (`asked`); for one found by BLPOP, the try before it (`sent`).
        let mut asked = started;
        let mut tries = 0;
        loop {
            let sent = Instant::now();
            let waiting = match self.try_once()? {
                Err(err) => return Some(Outcome::Failed(err)),
                Ok(Attempt::Acquired { fence, granted }) => {
                    let lease = if granted {
                        Lease::new(ttl, asked, timing::grant_lifetime(ttl))
                    } else {
                        Lease::new(ttl, sent, ttl)
                    };
                    return Some(self.acquired(fence, lease));
                }
                Ok(Attempt::Held(waiting)) => waiting,
            };
            let Patience::Until(deadline) = self.request.patience else {
                return Some(Outcome::GaveUp(None));
            };
            let now = Instant::now();
            if deadline.is_some_and(|deadline| now >= deadline) {
                return Some(Outcome::GaveUp(None));
            }
            progress.show(&waiting, started.elapsed());
            let left = deadline.map(|deadline| deadline.saturating_duration_since(now));
            let Some(waiter) = self.waiter.clone() else {
                let backoff = timing::backoff(tries, fastrand::f64());
                tries += 1;
                std::thread::sleep(timing::quorum_nap(backoff, waiting.ttl, left));
                continue;
            };
            let nap = timing::queue_nap(NapFacts {
                head: waiting.place == 1,
                holder_ttl: waiting.ttl,
                grant: waiter.grant,
                status_line: progress.on_terminal(),
                left,
            });
            asked = Instant::now();
            match self.lock.wait_for_grant(&waiter.id, nap) {
                Err(err) => return Some(Outcome::Failed(err)),
                Ok(Wake::Granted(fence)) => {
                    return Some(self.acquired(fence, Lease::new(ttl, sent, waiter.grant)));
                }
                Ok(Wake::Nudged | Wake::TimedOut) => {}
            }
        }
    }

    fn acquired(&mut self, fence: u64, lease: Lease) -> Outcome {
        let fresh = self.lock.another();
        let lock = std::mem::replace(&mut self.lock, fresh);
        Outcome::Acquired { fence, lease, lock }
    }
}
