//! The timer thread that keeps a held lock alive while the command runs.
//!
//! It starts when the first refresh is due, and refreshes every ttl/3. A failed refresh (Redis
//! down, slow, restarting) is retried quickly; the lock counts as lost when Redis says it is no
//! longer ours, or when no refresh has succeeded before the lock's validity ran out: the start of
//! the last successful refresh + ttl − drift.

use std::sync::Arc;
use std::sync::mpsc::{self, RecvTimeoutError, Sender};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::endpoint::Endpoint;
use crate::keys::LockKeys;
use crate::lock::{LockClient, Token};
use crate::mode::Mode;

/// The keep-alive thread; stop it before releasing the lock.
///
/// The thread is started only when the first refresh is due (see [`KeepAlive::due`]): a command
/// that ends sooner, as most short jobs do, costs no thread at all.
pub struct KeepAlive {
    /// Until the thread starts: the lock to keep, and whom to tell if it is lost.
    pending: Option<(Held, OnLost)>,
    /// Since when the lock is ours, and for how long from then.
    begun: Option<(Instant, Duration)>,
    control: Option<Sender<Control>>,
    thread: Option<JoinHandle<()>>,
}

type OnLost = Arc<dyn Fn(String) + Send + Sync>;

enum Control {
    Stop,
}

/// Clock drift allowed for when computing how long a lock stays valid: 1% of the ttl plus 2 ms.
pub fn drift(ttl: Duration) -> Duration {
    ttl / 100 + Duration::from_millis(2)
}

/// The lock the keep-alive thread keeps.
pub struct Held {
    pub endpoint: Endpoint,
    pub keys: LockKeys,
    pub mode: Mode,
    pub token: Token,
    pub ttl: Duration,
}

impl KeepAlive {
    /// Prepares to keep `held` alive once [`KeepAlive::begin`] says since when it is ours.
    /// `on_lost(reason)` is called once, from the thread, if the lock is lost.
    pub fn ready(held: Held, on_lost: impl Fn(String) + Send + Sync + 'static) -> KeepAlive {
        KeepAlive {
            pending: Some((held, Arc::new(on_lost))),
            begun: None,
            control: None,
            thread: None,
        }
    }

    /// The lock is ours since `taken_at` (an instant no later than the one Redis gave it to us),
    /// for `lifetime` from then: the ttl, or the shorter first lifetime of a lock handed over
    /// while we waited (then the first refresh comes sooner).
    pub fn begin(&mut self, taken_at: Instant, lifetime: Duration) {
        self.begun = Some((taken_at, lifetime));
    }

    /// When the thread must be started with [`KeepAlive::start`]: the first refresh is due then.
    /// `None` before [`KeepAlive::begin`] and once started.
    pub fn due(&self) -> Option<Instant> {
        match (&self.pending, self.begun) {
            (Some(_), Some((taken_at, lifetime))) => Some(taken_at + lifetime / 3),
            _ => None,
        }
    }

    /// Starts the thread, which refreshes at once and then every ttl/3. Should the thread not
    /// start, the lock cannot be kept: `on_lost` is told so at once.
    pub fn start(&mut self) {
        let (Some((held, on_lost)), Some((taken_at, lifetime))) = (self.pending.take(), self.begun)
        else {
            return;
        };
        let (control, orders) = mpsc::channel();
        let theirs = on_lost.clone();
        let spawned = std::thread::Builder::new().name("rlock-refresh".into()).spawn(move || {
            if let Some(reason) = keep(held, taken_at, lifetime, &orders) {
                theirs(reason);
            }
        });
        match spawned {
            Ok(thread) => {
                self.control = Some(control);
                self.thread = Some(thread);
            }
            Err(err) => on_lost(format!("cannot start the refresh thread ({err})")),
        }
    }

    /// Stops refreshing and waits for the thread (at most one bounded Redis round trip).
    pub fn stop(mut self) {
        self.halt();
    }

    fn halt(&mut self) {
        self.pending = None;
        if let Some(control) = self.control.take() {
            let _ = control.send(Control::Stop);
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for KeepAlive {
    fn drop(&mut self) {
        self.halt();
    }
}

/// Refreshes until told to stop (returns `None`) or until the lock is lost (returns why).
fn keep(
    held: Held,
    taken_at: Instant,
    lifetime: Duration,
    orders: &mpsc::Receiver<Control>,
) -> Option<String> {
    let Held { endpoint, keys, mode, token, ttl } = held;
    let period = ttl / 3;
    let retry = (ttl / 20).clamp(Duration::from_millis(20), Duration::from_secs(1));
    let valid_for = ttl.saturating_sub(drift(ttl));
    let mut valid_until = taken_at + lifetime.saturating_sub(drift(lifetime));
    // A lock handed over while we waited has a short first lifetime: refresh within a third of it.
    let mut next = taken_at + lifetime / 3;
    let mut last_error: Option<String> = None;
    let mut client = LockClient::new(endpoint, keys, period).with_mode(Some(mode));
    loop {
        let wake = next.min(valid_until);
        match orders.recv_timeout(wake.saturating_duration_since(Instant::now())) {
            Ok(Control::Stop) | Err(RecvTimeoutError::Disconnected) => return None,
            Err(RecvTimeoutError::Timeout) => {}
        }
        let now = Instant::now();
        if now >= valid_until {
            let why = last_error.unwrap_or_else(|| "no answer".into());
            return Some(format!(
                "no refresh succeeded before its ttl ran out (last error: {why})"
            ));
        }
        if now < next {
            continue;
        }
        // Never let one attempt run past the moment the lock stops being valid.
        client.set_timeout(valid_until.saturating_duration_since(now).min(period));
        let sent = Instant::now();
        match client.refresh(&token, ttl) {
            Ok(true) => {
                valid_until = sent + valid_for;
                next = sent + period;
                if last_error.take().is_some() {
                    crate::ui::notice("Redis answers again; the lock is still ours");
                }
                crate::ui::detail(format_args!(
                    "refreshed '{}' for {}",
                    client.keys().name,
                    crate::duration::show(ttl)
                ));
            }
            Ok(false) => {
                return Some("Redis no longer has it under our token (deleted, broken, or expired and taken)".into());
            }
            Err(err) => {
                crate::ui::detail(format_args!("refresh failed, retrying: {err:#}"));
                last_error = Some(format!("{err:#}"));
                next = Instant::now() + retry;
            }
        }
    }
}
