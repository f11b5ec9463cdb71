//! Waiting for a lock that someone else holds.
//!
//! For now this polls with a bounded, jittered backoff: it tries again soon after the holder's
//! lifetime runs out, never sleeps past the caller's deadline, and lets a signal cut the wait short.

use std::time::{Duration, Instant};

use anyhow::Result;

use crate::duration;
use crate::holder::Holder;
use crate::lock::{Attempt, LockClient, Token};
use crate::ui;

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
    /// It stayed held until we gave up; `ttl` is the holder's remaining lifetime at the last try.
    GaveUp { ttl: Option<Duration> },
    /// A signal arrived while waiting.
    Interrupted(i32),
}

const FIRST_PAUSE: Duration = Duration::from_millis(25);
const LONGEST_PAUSE: Duration = Duration::from_millis(500);

/// Takes the lock, waiting as `patience` allows. `pause(d)` sleeps for up to `d` and returns the
/// signal that cut it short, if any.
pub fn acquire(
    client: &mut LockClient,
    token: &Token,
    ttl: Duration,
    holder: &Holder,
    patience: Patience,
    mut pause: impl FnMut(Duration) -> Option<i32>,
) -> Result<Outcome> {
    let mut backoff = FIRST_PAUSE;
    let mut announced = false;
    loop {
        let sent = Instant::now();
        let held_ttl = match client.try_acquire(token, ttl, holder)? {
            Attempt::Acquired { fence } => {
                return Ok(Outcome::Acquired { fence, taken_at: sent });
            }
            Attempt::Held { ttl } => ttl,
        };
        let deadline = match patience {
            Patience::NoWait => return Ok(Outcome::GaveUp { ttl: held_ttl }),
            Patience::Until(deadline) => deadline,
        };
        let now = Instant::now();
        if deadline.is_some_and(|deadline| now >= deadline) {
            return Ok(Outcome::GaveUp { ttl: held_ttl });
        }
        if !announced {
            crate::ui::detail(format_args!("'{}' is held; waiting for it", client.keys().name));
            announced = true;
        }
        // Sleep a jittered backoff, but wake just after the holder's lifetime ends and at the deadline.
        let mut nap = backoff.mul_f64(0.5 + fastrand::f64() * 0.5);
        if let Some(left) = held_ttl {
            nap = nap.min(left + Duration::from_millis(2));
        }
        if let Some(deadline) = deadline {
            nap = nap.min(deadline.saturating_duration_since(now));
        }
        if let Some(signal) = pause(nap) {
            return Ok(Outcome::Interrupted(signal));
        }
        backoff = backoff.mul_f64(1.5).min(LONGEST_PAUSE);
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
        // Freed in the meantime, or Redis went away: either way we did not get it.
        _ => ui::notice(format_args!("'{name}' was held; gave up waiting")),
    }
}
