//! Quorum mode (Redlock): one lock over N independent Redis masters, given as several `--redis`
//! URLs. Every call goes to all of them at once, each with a short time limit, and counts only
//! with a majority:
//!
//! - taking the lock: it is ours when a majority granted it and some validity is left (ttl minus
//!   the time the calls took, minus the drift allowance). Its fence is the largest counter among
//!   that majority, and every counter in it is raised to that fence, so that fences keep growing
//!   from holder to holder (any two majorities share a server). Otherwise whatever was granted is
//!   released on every server at once.
//! - refreshing: it counts only when a majority extended the lock, within its validity.
//! - releasing and breaking: on every server.
//! - reading (`ttl`, `status`): what a majority reports.
//!
//! There is no wait queue: waiters try again after a jittered backoff, so the lock goes to
//! whoever tries first once it is free, not in arrival order. Fewer than a majority of servers
//! answering is an error (exit 125), not a busy lock.

use std::time::{Duration, Instant};

use anyhow::{Result, anyhow};

use crate::holder::Holder;
use crate::keepalive::drift;
use crate::lock::{Attempt, LockInfo, Node, Token, Waiting};

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
fn too_few<T>(results: &[Result<T>]) -> anyhow::Error {
    let answered = results.iter().filter(|result| result.is_ok()).count();
    let first = results.iter().find_map(|result| result.as_ref().err());
    too_few_answered(
        answered,
        results.len(),
        &first.map(|err| format!("{err:#}")).unwrap_or_default(),
    )
}

/// The error when only `answered` of `n` servers answered, less than a majority, and why.
pub fn too_few_answered(answered: usize, n: usize, reason: &str) -> anyhow::Error {
    let reason = if reason.is_empty() { String::new() } else { format!(": {reason}") };
    anyhow!(
        "only {answered} of {n} Redis servers answered, and the lock needs a majority ({}){reason}",
        majority(n)
    )
}

/// One try at taking the lock on a majority (see the module's documentation).
pub(crate) fn try_acquire(
    nodes: &mut [Node],
    token: &Token,
    ttl: Duration,
    holder: &Holder,
) -> Result<Attempt> {
    let started = Instant::now();
    let results = on_all(nodes, |_, node| node.try_acquire(token, ttl, holder, None));
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
    if fences.len() >= majority(nodes.len()) && !valid.is_zero() {
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
        let _ = on_all(nodes, |_, node| node.release(token));
    }
    let answered = results.iter().filter(|result| result.is_ok()).count();
    if answered < majority(nodes.len()) {
        return Err(too_few(&results));
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

/// Extends the lock on a majority within its validity: true then; false when a majority cannot
/// be reached any more because the lock is gone or someone else's there; an error otherwise.
pub(crate) fn refresh(nodes: &mut [Node], token: &Token, ttl: Duration) -> Result<bool> {
    let started = Instant::now();
    let results = on_all(nodes, |_, node| node.refresh(token, ttl));
    let extended = results.iter().filter(|result| matches!(result, Ok(true))).count();
    let refused = results.iter().filter(|result| matches!(result, Ok(false))).count();
    let needed = majority(nodes.len());
    if extended >= needed && started.elapsed() + drift(ttl) < ttl {
        return Ok(true);
    }
    if nodes.len() - refused < needed {
        return Ok(false);
    }
    if extended >= needed {
        return Err(anyhow!("the refresh took longer than the lock's validity"));
    }
    Err(too_few(&results))
}

/// Releases the lock on every server; true when any of them still had it.
pub(crate) fn release(nodes: &mut [Node], token: &Token) -> Result<bool> {
    any(on_all(nodes, |_, node| node.release(token)))
}

/// Breaks the lock on every server; true when any of them had it.
pub(crate) fn force_release(nodes: &mut [Node]) -> Result<bool> {
    any(on_all(nodes, |_, node| node.force_release()))
}

/// True when any server said true; an error only when none answered.
fn any(results: Vec<Result<bool>>) -> Result<bool> {
    if results.iter().all(|result| result.is_err()) {
        return Err(too_few(&results));
    }
    Ok(results.iter().any(|result| matches!(result, Ok(true))))
}

/// The lock as a majority sees it: held when a majority report it held, for as long as a
/// majority still will (the majority-th longest ttl), with the largest fence among them.
pub(crate) fn inspect(nodes: &mut [Node]) -> Result<Option<LockInfo>> {
    let results = on_all(nodes, |_, node| node.inspect());
    let needed = majority(nodes.len());
    if results.iter().filter(|result| result.is_ok()).count() < needed {
        return Err(too_few(&results));
    }
    let mut held: Vec<LockInfo> =
        results.into_iter().filter_map(|result| result.ok().flatten()).collect();
    if held.len() < needed {
        return Ok(None);
    }
    held.sort_by_key(|info| std::cmp::Reverse(info.ttl.unwrap_or(Duration::MAX)));
    let fence = held.iter().filter_map(|info| info.holder.as_ref()).map(|h| h.fence).max();
    let ttl = held[needed - 1].ttl;
    let mut info = held.swap_remove(0);
    info.ttl = ttl;
    if let (Some(holder), Some(fence)) = (info.holder.as_mut(), fence) {
        holder.fence = fence;
    }
    info.waiters = 0;
    Ok(Some(info))
}
