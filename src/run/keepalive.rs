//! The timer thread that keeps a held lock alive while the command runs: it refreshes every
//! ttl/3 (sooner after a short first lifetime), and after a failed refresh (Redis down, slow,
//! restarting) tries again quickly, each call bounded by what is left of the lock's validity.
//! It only refreshes and reports ([`Refresh`]); what a failure means for the command is the
//! supervisor's to decide.

use std::sync::mpsc::{self, RecvTimeoutError, Sender};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Instant;

use anyhow::Result;

use crate::lock::{Lock, Token};
use crate::timing::{self, Lease};

/// What one refresh found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refresh {
    /// The lock is ours on this lease, moved on.
    Kept { lease: Lease },
    /// Redis could not be asked; it is tried again soon.
    Failed(String),
    /// Redis says the lock is no longer held with our token.
    NotOurs,
}

/// The keep-alive thread. [`KeepAlive::stop`] it before releasing the lock.
pub struct KeepAlive {
    /// Set, under its lock, when stopped: the thread makes no refresh after that, and holds the
    /// lock for the length of each refresh, so that no refresh overlaps the release.
    stopped: Arc<Mutex<bool>>,
    wake: Sender<()>,
}

impl KeepAlive {
    /// Starts keeping `lock` (held with `token`, on `lease`) alive, reporting each refresh to
    /// `report`.
    pub fn start(
        mut lock: Lock,
        token: Token,
        mut lease: Lease,
        report: impl Fn(Refresh) + Send + 'static,
    ) -> Result<KeepAlive> {
        let stopped = Arc::new(Mutex::new(false));
        let (wake, woken) = mpsc::channel();
        let theirs = stopped.clone();
        std::thread::Builder::new().name("rlock-refresh".into()).spawn(move || {
            let mut next = lease.refresh_due();
            loop {
                let valid_until = lease.valid_until();
                let at = next.min(valid_until);
                match woken.recv_timeout(at.saturating_duration_since(Instant::now())) {
                    Ok(()) | Err(RecvTimeoutError::Disconnected) => return,
                    Err(RecvTimeoutError::Timeout) => {}
                }
                let now = Instant::now();
                if now >= valid_until {
                    // Nothing left to keep: the supervisor has seen the validity run out.
                    return;
                }
                if now < next {
                    continue;
                }
                let stopped = theirs.lock().unwrap_or_else(PoisonError::into_inner);
                if *stopped {
                    return;
                }
                lock.set_timeout(lease.call_timeout(now));
                let sent = Instant::now();
                match lock.refresh(&token, lease.ttl()) {
                    Ok(true) => {
                        lease.refreshed(sent);
                        next = lease.refresh_due();
                        report(Refresh::Kept { lease });
                    }
                    Ok(false) => return report(Refresh::NotOurs),
                    Err(err) => {
                        next = Instant::now() + timing::refresh_retry(lease.ttl());
                        report(Refresh::Failed(format!("{err:#}")));
                    }
                }
            }
        })?;
        Ok(KeepAlive { stopped, wake })
    }

    /// Stops refreshing: once this returns, no refresh is under way or will be made (it waits
    /// for one under way, at most one bounded round trip).
    pub fn stop(&self) {
        let _ = self.wake.send(());
        *self.stopped.lock().unwrap_or_else(PoisonError::into_inner) = true;
    }
}
