//! Quorum mode: a waiter blocks on every server at once. One thread per server sits in BLPOP on
//! the waiter's wake-up list there, on a connection of its own, and reports each wake-up; the
//! waiter holds the lock as soon as a quorum of those reports are grants, however slow or frozen
//! the other servers are. The threads end once nobody waits for them any more (the lock taken or
//! the wait left), when their BLPOP returns; a grant one of them pops after that is of a lock
//! that is ours there anyway (refreshed and released with the others), or lapses with its short
//! first lifetime.

use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::time::{Duration, Instant};

use anyhow::Result;

use crate::lock::Waiter;
use crate::lock::node::Node;
use crate::lock::reply::Wake;

/// The threads waiting for one waiter, one per server.
pub(crate) struct Watch {
    /// The waiter they wait for.
    id: String,
    /// Per server: where to send how long its next BLPOP may block.
    orders: Vec<Sender<Duration>>,
    /// Per server: a BLPOP is under way (ordered, not yet reported).
    busy: Vec<bool>,
    reports: Receiver<Report>,
}

/// What one server's BLPOP came to.
struct Report {
    /// The server, by index.
    at: usize,
    wake: Result<Wake>,
}

impl Watch {
    /// Starts one thread for each of `nodes`, each on a connection of its own, for `waiter`.
    pub(crate) fn start(nodes: &[Node], waiter: &Waiter) -> Result<Watch> {
        let (report, reports) = mpsc::channel();
        let mut orders = Vec::with_capacity(nodes.len());
        for (at, node) in nodes.iter().enumerate() {
            let (order, ordered) = mpsc::channel::<Duration>();
            let mut node = node.another();
            let (report, waiter) = (report.clone(), waiter.clone());
            std::thread::Builder::new().name("rlock-watch".into()).spawn(move || {
                for nap in ordered {
                    let wake = node.wait_for_grant(&waiter, nap);
                    if report.send(Report { at, wake }).is_err() {
                        break;
                    }
                }
            })?;
            orders.push(order);
        }
        Ok(Watch { id: waiter.id.clone(), orders, busy: vec![false; nodes.len()], reports })
    }

    /// Whether these threads wait for `waiter`.
    pub(crate) fn is_for(&self, waiter: &Waiter) -> bool {
        self.id == waiter.id
    }

    /// Waits up to `nap` (and a little more for the replies) for grants: each server that is not
    /// still blocked from an earlier call blocks for up to `nap`. Returns, per server, the fence
    /// it granted, as soon as `needed` servers granted, or once every server answered or the
    /// time is up. A grant that `nodes` (the waiter's own, by index) say was given back since is
    /// stale, and not counted.
    pub(crate) fn grants(
        &mut self,
        nodes: &[Node],
        nap: Duration,
        needed: usize,
    ) -> Vec<Option<u64>> {
        for (order, busy) in self.orders.iter().zip(self.busy.iter_mut()) {
            if !*busy {
                *busy = order.send(nap).is_ok();
            }
        }
        let until = Instant::now() + nap + crate::timing::WAKE_SLACK;
        let mut grants = vec![None; self.orders.len()];
        while grants.iter().flatten().count() < needed && self.busy.contains(&true) {
            let report =
                match self.reports.recv_timeout(until.saturating_duration_since(Instant::now())) {
                    Ok(report) => report,
                    Err(RecvTimeoutError::Timeout | RecvTimeoutError::Disconnected) => break,
                };
            self.busy[report.at] = false;
            // A server that failed is asked again at the next try, which says what is wrong.
            if let Ok(Wake::Granted { fence, .. }) = report.wake
                && !nodes[report.at].given_back(fence)
            {
                grants[report.at] = Some(fence);
            }
        }
        grants
    }
}
