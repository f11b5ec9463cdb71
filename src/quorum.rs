//! Quorum mode (Redlock): one lock over N independent Redis masters, given as several `--redis`
//! URLs. Every call goes to all of them at once, each with a short time limit, and counts only
//! with a quorum: a majority for an exclusive or shared lock, and more for a limited one
//! ([`Mode::quorum`]: any N + 1 of those quorums share a server, which admits at most N):
//!
//! - taking the lock: it is ours when a majority granted it and some validity is left (ttl minus
//!   the time the calls took, minus the drift allowance). Its fence is the largest counter among
//!   that majority, and every counter in it is raised to that fence, so that fences keep growing
//!   from holder to holder (any two majorities share a server). Otherwise whatever was granted is
//!   released on every server at once.
//! - refreshing: it counts only when a majority extended the lock, within its validity.
//! - releasing and breaking: on every server.
//! - reading (`ttl`, `status`): what a quorum reports; a holder is shown when a quorum of servers
//!   report it.
//!
//! There is no wait queue: waiters try again after a jittered backoff, so the lock goes to
//! whoever tries first once it is free, not in arrival order. Fewer than a majority of servers
//! answering is an error (exit 125), not a busy lock.

use std::time::{Duration, Instant};

use anyhow::{Result, anyhow};

use crate::holder::Holder;
use crate::keepalive::drift;
use crate::lock::{Attempt, LockInfo, Node, Token, Waiting};
use crate::mode::{Mode, ModeConflict};

/// The longest one server may take to answer one call in quorum mode: a slow server must not
/// eat the lock's validity.
pub const NODE_TIMEOUT: Duration = Duration::from_millis(500);

/// How many servers make a majority of `n`.
pub fn majority(n: usize) -> usize {
    n / 2 + 1
}

/// Runs `call(index, node)` on every node at once and collects the results in node order.
fn on_all<T: Send>(
    nodes: &mut [Node],
    call: impl Fn(usize, &mut Node) -> Result<T> + Sync,
) -> Vec<Result<T>> {
    let call = &call;
    std::thread::scope(|scope| {
        let running: Vec<_> = nodes
            .iter_mut()
            .enumerate()
            .map(|(index, node)| scope.spawn(move || call(index, node)))
            .collect();
        running
            .into_iter()
            .map(|thread| thread.join().unwrap_or_else(|_| Err(anyhow!("a Redis call failed"))))
            .collect()
    })
}

/// The error for too few answers: how many answered, how many are needed, and the first reason.
/// A server that says the lock is used in another mode is reported as that instead.
fn too_few<T>(results: &[Result<T>], needed: usize) -> anyhow::Error {
    if let Some(conflict) = conflict_in(results) {
        return conflict;
    }
    let answered = results.iter().filter(|result| result.is_ok()).count();
    let first = results.iter().find_map(|result| result.as_ref().err());
    too_few_answered(
        answered,
        results.len(),
        needed,
        &first.map(|err| format!("{err:#}")).unwrap_or_default(),
    )
}

/// A server's answer that the lock is used in a mode this call's cannot go with.
fn conflict_in<T>(results: &[Result<T>]) -> Option<anyhow::Error> {
    results.iter().find_map(|result| {
        let conflict = result.as_ref().err()?.downcast_ref::<ModeConflict>()?;
        Some(anyhow::Error::new(conflict.clone()))
    })
}

/// The error when only `answered` of `n` servers answered, fewer than the `needed`, and why.
pub fn too_few_answered(answered: usize, n: usize, needed: usize, reason: &str) -> anyhow::Error {
    let reason = if reason.is_empty() { String::new() } else { format!(": {reason}") };
    let quorum = if needed == majority(n) {
        format!("a majority ({needed})")
    } else {
        format!("{needed} of them (a --limit lock needs more than a majority)")
    };
    anyhow!("only {answered} of {n} Redis servers answered, and the lock needs {quorum}{reason}")
}

/// One try at taking the lock on a majority (see the module's documentation).
pub(crate) fn try_acquire(
    nodes: &mut [Node],
    token: &Token,
    ttl: Duration,
    holder: &Holder,
    mode: Mode,
) -> Result<Attempt> {
    let started = Instant::now();
    let results = on_all(nodes, |_, node| node.try_acquire(token, ttl, holder, None, mode));
    let needed = mode.quorum(nodes.len());
    let elapsed = started.elapsed();
    let granted: Vec<Option<u64>> = results
        .iter()
        .map(|result| match result {
            Ok(Attempt::Acquired { fence, .. }) => Some(*fence),
            _ => None,
        })
        .collect();
    let fences: Vec<u64> = granted.iter().flatten().copied().collect();
    let valid = ttl.saturating_sub(elapsed + drift(ttl));
    if fences.len() >= needed && !valid.is_zero() {
        let fence = fences.iter().copied().max().unwrap_or(0);
        // Best effort: a server that misses this only makes a later fence smaller than it could be.
        if fences.iter().any(|&own| own < fence) {
            let _ = on_all(nodes, |index, node| match granted[index] {
                Some(own) if own < fence => node.raise_fence(token, fence),
                _ => Ok(true),
            });
        }
        return Ok(Attempt::Acquired { fence, granted: false });
    }
    if !fences.is_empty() {
        // On every server: one may have taken it and lost its answer on the way back.
        let _ = on_all(nodes, |_, node| node.release(token, None));
    }
    if let Some(conflict) = conflict_in(&results) {
        return Err(conflict);
    }
    let answered = results.iter().filter(|result| result.is_ok()).count();
    if answered < needed {
        return Err(too_few(&results, needed));
    }
    // Held elsewhere (or split, or too slow): describe the holder a majority-sized share saw.
    let mut held: Vec<Waiting> = results
        .into_iter()
        .filter_map(|result| match result {
            Ok(Attempt::Held(waiting)) => Some(waiting),
            _ => None,
        })
        .collect();
    held.sort_by_key(|waiting| std::cmp::Reverse(waiting.ttl.unwrap_or(Duration::MAX)));
    let waiting = held.into_iter().next().unwrap_or_default();
    Ok(Attempt::Held(Waiting { place: 0, waiters: 0, ..waiting }))
}

/// How many servers must agree for a lock held in `mode`, or in whichever mode the servers report
/// (`found`) when the caller did not say.
fn needed_for(nodes: usize, want: Option<Mode>, found: &[Result<Option<Mode>>]) -> usize {
    let reported = || found.iter().find_map(|result| result.as_ref().ok().copied().flatten());
    want.or_else(reported).unwrap_or_default().quorum(nodes)
}

/// Extends the lock on a majority within its validity: true then; false when a majority cannot
/// be reached any more because the lock is gone or someone else's there; an error otherwise.
pub(crate) fn refresh(
    nodes: &mut [Node],
    token: &Token,
    ttl: Duration,
    want: Option<Mode>,
) -> Result<bool> {
    let started = Instant::now();
    let results = on_all(nodes, |_, node| node.refresh(token, ttl, want));
    if let Some(conflict) = conflict_in(&results) {
        return Err(conflict);
    }
    let extended = results.iter().filter(|result| matches!(result, Ok(Some(_)))).count();
    let refused = results.iter().filter(|result| matches!(result, Ok(None))).count();
    let needed = needed_for(nodes.len(), want, &results);
    if extended >= needed && started.elapsed() + drift(ttl) < ttl {
        return Ok(true);
    }
    if nodes.len() - refused < needed {
        return Ok(false);
    }
    if extended >= needed {
        return Err(anyhow!("the refresh took longer than the lock's validity"));
    }
    Err(too_few(&results, needed))
}

/// Releases the lock on every server; true when any of them still had it.
pub(crate) fn release(nodes: &mut [Node], token: &Token, want: Option<Mode>) -> Result<bool> {
    let results = on_all(nodes, |_, node| Ok(node.release(token, want)?.is_some()));
    if let Some(conflict) = conflict_in(&results) {
        return Err(conflict);
    }
    any(results)
}

/// Breaks the lock on every server; true when any of them had it.
pub(crate) fn force_release(nodes: &mut [Node]) -> Result<bool> {
    any(on_all(nodes, |_, node| node.force_release()))
}

/// True when any server said true; an error only when none answered.
fn any(results: Vec<Result<bool>>) -> Result<bool> {
    if results.iter().all(|result| result.is_err()) {
        return Err(too_few(&results, 1));
    }
    Ok(results.iter().any(|result| matches!(result, Ok(true))))
}

/// The lock as a quorum sees it: held when a quorum (for the mode the servers report) report it
/// held, for as long as a quorum still will (the quorum-th longest ttl). A holder is listed when a
/// quorum report it, with the quorum-th longest of its ttls and the largest of its fences.
pub(crate) fn inspect(nodes: &mut [Node]) -> Result<Option<LockInfo>> {
    let results = on_all(nodes, |_, node| node.inspect());
    let answered = results.iter().filter(|result| result.is_ok()).count();
    if answered < majority(nodes.len()) {
        return Err(too_few(&results, majority(nodes.len())));
    }
    let mut held: Vec<LockInfo> =
        results.into_iter().filter_map(|result| result.ok().flatten()).collect();
    let mode = held.iter().find_map(|info| info.mode);
    let needed = mode.unwrap_or_default().quorum(nodes.len());
    if held.len() < needed {
        return Ok(None);
    }
    held.sort_by_key(|info| std::cmp::Reverse(info.ttl.unwrap_or(Duration::MAX)));
    let ttl = held[needed - 1].ttl;
    let mut reports: Vec<Vec<Holder>> = Vec::new();
    for holder in held.iter().flat_map(|info| info.holders.iter()) {
        match reports.iter_mut().find(|same| same[0].id == holder.id) {
            Some(same) => same.push(holder.clone()),
            None => reports.push(vec![holder.clone()]),
        }
    }
    let mut holders: Vec<Holder> = reports
        .into_iter()
        .filter(|same| same.len() >= needed)
        .map(|mut same| {
            let fence = same.iter().map(|holder| holder.fence).max().unwrap_or(0);
            same.sort_by_key(|holder| std::cmp::Reverse(holder.ttl.unwrap_or(Duration::MAX)));
            let ttl = same[needed - 1].ttl;
            Holder { fence, ttl, ..same.swap_remove(0) }
        })
        .collect();
    holders.sort_by_key(|holder| (holder.since_ms, holder.fence));
    let mode = if holders.is_empty() { None } else { mode };
    Ok(Some(LockInfo { mode, ttl, holders, waiters: 0 }))
}
