//! How the answers of the servers a lock lives on make one answer (Redlock when there are
//! several independent masters; one server is a quorum of one). Each rule is a pure function of
//! the servers' answers, tested here:
//!
//! - taking the lock: it is ours when a quorum granted it and some validity is left (ttl minus
//!   the time the calls took, minus the drift allowance). Its fence is the largest counter among
//!   that quorum, and every counter in it is raised to that fence, so that fences keep growing
//!   from holder to holder (any two quorums share a server). Otherwise whatever was granted is
//!   released on every server (a waiter gives it back and keeps its place: see
//!   scripts/giveback.lua).
//! - a waiter's place: its ticket is the largest any server gave it on its first try, and every
//!   server that has it at another place is told that one ([`ticket`]). Every server then orders
//!   the waiters it has by the same (ticket, id), and a waiter that joined after another was
//!   queued on a majority has a larger ticket (the two majorities share a server).
//! - refreshing: it counts only when a quorum extended the lock, within its validity.
//! - releasing and breaking: on every server; done when any server still had it.
//! - reading (`ttl`, `status`): held when a quorum report it held, for as long as a quorum still
//!   will; a holder is shown when a quorum of servers report it. A waiter is shown when any
//!   server reports it, once, in ticket order ([`queue`]).
//!
//! The quorum is a majority for an exclusive or shared lock, and more for a limited one
//! ([`Mode::quorum`]). Fewer servers answering than a quorum needs is an error (exit 125), not
//! a busy lock. With one server, its own answer (or error) is the answer.

use std::time::{Duration, Instant};

use anyhow::{Result, anyhow};

use crate::lock::holder::Holder;
use crate::lock::mode::{Mode, ModeConflict};
use crate::lock::reply::{Attempt, LockInfo, Queued, Waiting};
use crate::redis;
use crate::timing;

/// How many servers make a majority of `n`.
pub fn majority(n: usize) -> usize {
    n / 2 + 1
}

/// What the servers' answers to a try at the lock come to.
#[derive(Debug)]
pub(crate) enum Acquired {
    /// Ours, with this fence, since no later than `since` (with the short first lifetime of a
    /// lock handed over if any server in the quorum `granted` it so); the servers (by index)
    /// whose counters must be raised to the fence.
    Yes { fence: u64, granted: bool, since: Instant, raise: Vec<usize> },
    /// Not ours: release on every server if `undo` (some granted it), then give `answer`.
    No { undo: bool, answer: Result<Attempt> },
}

/// One try at the lock on every server, answered in `elapsed`.
pub(crate) fn acquired(
    results: Vec<Result<Attempt>>,
    mode: Mode,
    ttl: Duration,
    elapsed: Duration,
) -> Acquired {
    let needed = mode.quorum(results.len());
    let granted: Vec<Option<(u64, bool, Instant)>> = results
        .iter()
        .map(|result| match result {
            Ok(Attempt::Acquired { fence, granted, since }) => Some((*fence, *granted, *since)),
            _ => None,
        })
        .collect();
    let count = granted.iter().flatten().count();
    if count >= needed && !timing::quorum_validity(ttl, elapsed).is_zero() {
        let (fence, raise) = fence_of(granted.iter().map(|at| at.map(|(fence, ..)| fence)));
        let handed = granted.iter().flatten().any(|(_, handed, _)| *handed);
        let since = granted.iter().flatten().map(|(.., since)| *since).min();
        let since = since.unwrap_or_else(Instant::now);
        return Acquired::Yes { fence, granted: handed, since, raise };
    }
    let undo = count > 0;
    let answer = if let Some(conflict) = conflict_in(&results) {
        Err(conflict)
    } else if results.iter().filter(|result| result.is_ok()).count() < needed {
        Err(too_few(results, needed))
    } else {
        // Held elsewhere (or split, or too slow): the holder that lives longest.
        let mut held: Vec<Waiting> = results
            .into_iter()
            .filter_map(|result| match result {
                Ok(Attempt::Held(waiting)) => Some(waiting),
                _ => None,
            })
            .collect();
        held.sort_by_key(|waiting| std::cmp::Reverse(waiting.ttl.unwrap_or(Duration::MAX)));
        Ok(Attempt::Held(held.into_iter().next().unwrap_or_default()))
    };
    Acquired::No { undo, answer }
}

/// The fence of a lock a quorum granted with these fences (`None` where a server did not):
/// the largest; and the servers (by index) whose counters must be raised to it.
pub(crate) fn fence_of(fences: impl Iterator<Item = Option<u64>>) -> (u64, Vec<usize>) {
    let fences: Vec<Option<u64>> = fences.collect();
    let fence = fences.iter().flatten().copied().max().unwrap_or(0);
    let raise = (0..fences.len()).filter(|&at| fences[at].is_some_and(|own| own < fence)).collect();
    (fence, raise)
}

/// A waiter's ticket after a try answered with `results`, when its ticket was `agreed` (0 before
/// it had one): that one, or the largest the servers that queued it gave it; and the servers (by
/// index) that have it at another place, to be told the agreed one.
pub(crate) fn ticket(results: &[Result<Attempt>], agreed: u64) -> (u64, Vec<usize>) {
    let tickets: Vec<u64> = results
        .iter()
        .map(|result| match result {
            Ok(Attempt::Held(waiting)) => waiting.ticket,
            _ => 0,
        })
        .collect();
    let ticket = if agreed != 0 { agreed } else { tickets.iter().copied().max().unwrap_or(0) };
    let differ =
        (0..tickets.len()).filter(|&at| tickets[at] != 0 && tickets[at] != ticket).collect();
    (ticket, differ)
}

/// Whether a refresh answered by every server in `elapsed` kept the lock: true when a quorum
/// extended it within its validity; false when a quorum cannot be reached any more because the
/// lock is gone or someone else's there; an error otherwise.
pub(crate) fn refreshed(
    results: Vec<Result<Option<Mode>>>,
    want: Option<Mode>,
    ttl: Duration,
    elapsed: Duration,
) -> Result<bool> {
    if let Some(conflict) = conflict_in(&results) {
        return Err(conflict);
    }
    let n = results.len();
    let extended = results.iter().filter(|result| matches!(result, Ok(Some(_)))).count();
    let refused = results.iter().filter(|result| matches!(result, Ok(None))).count();
    let reported = results.iter().find_map(|result| result.as_ref().ok().copied().flatten());
    let needed = want.or(reported).unwrap_or_default().quorum(n);
    if extended >= needed && !timing::quorum_validity(ttl, elapsed).is_zero() {
        return Ok(true);
    }
    if n - refused < needed {
        return Ok(false);
    }
    if extended >= needed {
        return Err(anyhow!("the refresh took longer than the lock's validity"));
    }
    Err(too_few(results, needed))
}

/// A release or a break on every server: done when any server said so; an error only when none
/// answered (or one says the lock is used in another mode).
pub(crate) fn any(results: Vec<Result<bool>>) -> Result<bool> {
    if let Some(conflict) = conflict_in(&results) {
        return Err(conflict);
    }
    if results.iter().all(|result| result.is_err()) {
        return Err(too_few(results, 1));
    }
    Ok(results.iter().any(|result| matches!(result, Ok(true))))
}

/// The lock as a quorum sees it (see the module's documentation): held when a quorum (for the
/// mode the servers report) report it held, for the quorum-th longest ttl. A holder is listed
/// when a quorum report it, with the quorum-th longest of its ttls and the largest of its fences.
pub(crate) fn seen(results: Vec<Result<Option<LockInfo>>>) -> Result<Option<LockInfo>> {
    let n = results.len();
    let answered = results.iter().filter(|result| result.is_ok()).count();
    if answered < majority(n) {
        return Err(too_few(results, majority(n)));
    }
    let mut held: Vec<LockInfo> =
        results.into_iter().filter_map(|result| result.ok().flatten()).collect();
    let mode = held.iter().find_map(|info| info.mode);
    let needed = mode.unwrap_or_default().quorum(n);
    if held.len() < needed {
        return Ok(None);
    }
    held.sort_by_key(|info| std::cmp::Reverse(info.ttl.unwrap_or(Duration::MAX)));
    let ttl = held[needed - 1].ttl;
    let waiters = held.iter().map(|info| info.waiters).max().unwrap_or(0);
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
    Ok(Some(LockInfo { mode, ttl, holders, waiters }))
}

/// The queue as the servers that answered report it: every waiter any of them has, once, in the
/// order they serve them (by ticket, then id: the same on every server, see [`ticket`]). A waiter
/// that only some have is still waiting: its next try takes its place back on the others. Its
/// ticket is the largest reported (the one agreed), its wait from the earliest report.
pub(crate) fn queue(queues: Vec<Vec<Queued>>) -> Vec<Queued> {
    let mut merged: Vec<Queued> = Vec::new();
    for waiter in queues.into_iter().flatten() {
        match merged.iter_mut().find(|seen| seen.id == waiter.id) {
            Some(seen) => {
                seen.ticket = seen.ticket.max(waiter.ticket);
                // (0: a server whose record does not say, written by an older rlock.)
                seen.who.since_ms = match (seen.who.since_ms, waiter.who.since_ms) {
                    (0, since) | (since, 0) => since,
                    (one, other) => one.min(other),
                }
            }
            None => merged.push(waiter),
        }
    }
    merged.sort_by(|a, b| (a.ticket, &a.id).cmp(&(b.ticket, &b.id)));
    merged
}

/// Whether enough of `n` servers answered a scan (`list`): a majority of a quorum, or the one.
pub(crate) fn enough_answered(answered: usize, n: usize) -> bool {
    answered >= majority(n)
}

/// A server's answer that the lock is used in a mode this call's cannot go with.
fn conflict_in<T>(results: &[Result<T>]) -> Option<anyhow::Error> {
    results.iter().find_map(|result| {
        let conflict = result.as_ref().err()?.downcast_ref::<ModeConflict>()?;
        Some(anyhow::Error::new(conflict.clone()))
    })
}

/// The error for too few answers: one server's own error, or how many of several answered, how
/// many are needed, and the first reason.
pub(crate) fn too_few<T>(results: Vec<Result<T>>, needed: usize) -> anyhow::Error {
    let n = results.len();
    let answered = results.iter().filter(|result| result.is_ok()).count();
    let mut errors = results.into_iter().filter_map(Result::err);
    let Some(first) = errors.next() else {
        return anyhow!("no Redis server answered");
    };
    if n == 1 {
        return first;
    }
    // Trying again may help if it may with every server that failed (restarting, say).
    let again = redis::retryable(&first) && errors.all(|err| redis::retryable(&err));
    let message = too_few_answered(answered, n, needed, &format!("{first:#}")).to_string();
    redis::failure(message, again)
}

/// The error when only `answered` of `n` servers answered, fewer than the `needed`, and why.
pub(crate) fn too_few_answered(
    answered: usize,
    n: usize,
    needed: usize,
    reason: &str,
) -> anyhow::Error {
    let reason = if reason.is_empty() { String::new() } else { format!(": {reason}") };
    let quorum = if needed == majority(n) {
        format!("a majority ({needed})")
    } else {
        format!("{needed} of them (a --limit lock needs more than a majority)")
    };
    anyhow!("only {answered} of {n} Redis servers answered, and the lock needs {quorum}{reason}")
}

#[cfg(test)]
mod tests {
    use super::*;

    const TTL: Duration = Duration::from_secs(30);
    const FAST: Duration = Duration::from_millis(3);

    fn took(fence: u64) -> Result<Attempt> {
        Ok(Attempt::Acquired { fence, granted: false, since: Instant::now() })
    }

    fn held(ttl_ms: u64) -> Result<Attempt> {
        let ttl = Some(Duration::from_millis(ttl_ms));
        Ok(Attempt::Held(Waiting { ttl, ..Waiting::default() }))
    }

    fn down<T>() -> Result<T> {
        Err(anyhow!("cannot reach Redis"))
    }

    #[test]
    fn majorities() {
        assert_eq!([1, 2, 3, 4, 5, 7].map(majority), [1, 2, 2, 3, 3, 4]);
    }

    #[test]
    fn a_majority_takes_the_lock_with_the_largest_fence() {
        let Acquired::Yes { fence, granted, raise, .. } =
            acquired(vec![took(5), down(), took(9)], Mode::Exclusive, TTL, FAST)
        else {
            panic!("a majority granted it")
        };
        assert_eq!((fence, granted), (9, false));
        // The counter that was behind is raised, so the next holder's fence is larger still.
        assert_eq!(raise, [0]);
    }

    #[test]
    fn a_minority_is_released_and_reported_as_held() {
        let result = acquired(vec![took(5), held(800), held(2000)], Mode::Exclusive, TTL, FAST);
        let Acquired::No { undo: true, answer: Ok(Attempt::Held(waiting)) } = result else {
            panic!("{result:?}")
        };
        // The longest-lived holder is the one to wait for.
        assert_eq!(waiting.ttl, Some(Duration::from_millis(2000)));
    }

    #[test]
    fn too_slow_a_majority_is_no_lock() {
        let slow = TTL - Duration::from_millis(100);
        let result = acquired(vec![took(1), took(1), took(1)], Mode::Exclusive, TTL, slow);
        assert!(matches!(result, Acquired::No { undo: true, answer: Ok(_) }), "{result:?}");
    }

    #[test]
    fn too_few_answers_is_an_error_and_one_server_gives_its_own() {
        let result = acquired(vec![down(), down(), held(5)], Mode::Exclusive, TTL, FAST);
        let Acquired::No { undo: false, answer: Err(err) } = result else { panic!("{result:?}") };
        assert!(err.to_string().starts_with("only 1 of 3 Redis servers answered"), "{err}");
        let result = acquired(vec![down()], Mode::Exclusive, TTL, FAST);
        let Acquired::No { answer: Err(err), .. } = result else { panic!("{result:?}") };
        assert_eq!(err.to_string(), "cannot reach Redis");
    }

    #[test]
    fn too_few_answers_may_be_retried_when_every_failure_may() {
        let restarting = || -> Result<Attempt> { Err(redis::failure("restarting".into(), true)) };
        let refused = || -> Result<Attempt> { Err(redis::failure("wrong password".into(), false)) };
        let answer = |results| match acquired(results, Mode::Exclusive, TTL, FAST) {
            Acquired::No { answer: Err(err), .. } => err,
            other => panic!("{other:?}"),
        };
        let err = answer(vec![restarting(), restarting(), held(5)]);
        assert!(redis::retryable(&err), "{err}");
        assert!(err.to_string().starts_with("only 1 of 3 Redis servers answered"), "{err}");
        assert!(!redis::retryable(&answer(vec![restarting(), refused(), held(5)])));
        assert!(!redis::retryable(&answer(vec![down(), restarting(), held(5)])));
        // One server: its own error, as it is.
        assert!(redis::retryable(&answer(vec![restarting()])));
    }

    #[test]
    fn a_limit_needs_more_than_a_majority() {
        let result = acquired(vec![took(1), took(2), down()], Mode::Limit(2), TTL, FAST);
        let Acquired::No { undo: true, answer: Err(err) } = result else { panic!("{result:?}") };
        assert!(err.to_string().contains("3 of them"), "{err}");
    }

    #[test]
    fn one_server_keeps_its_place_in_the_queue_and_its_grant() {
        let waiting = Waiting { place: 2, waiters: 3, ..Waiting::default() };
        let result = acquired(vec![Ok(Attempt::Held(waiting.clone()))], Mode::Exclusive, TTL, FAST);
        let Acquired::No { undo: false, answer: Ok(Attempt::Held(seen)) } = result else {
            panic!("{result:?}")
        };
        assert_eq!(seen, waiting);
        let granted = Ok(Attempt::Acquired { fence: 4, granted: true, since: Instant::now() });
        let result = acquired(vec![granted], Mode::Exclusive, TTL, FAST);
        assert!(matches!(result, Acquired::Yes { fence: 4, granted: true, .. }), "{result:?}");
    }

    #[test]
    fn a_mode_conflict_wins_over_counting() {
        let conflict = ModeConflict {
            lock: "k".into(),
            found: Mode::Limit(3),
            asked: Mode::Exclusive,
            holding: false,
        };
        let result =
            acquired(vec![Err(anyhow::Error::new(conflict)), held(1)], Mode::Exclusive, TTL, FAST);
        let Acquired::No { answer: Err(err), .. } = result else { panic!("{result:?}") };
        assert!(err.downcast_ref::<ModeConflict>().is_some(), "{err}");
    }

    fn queued(ticket: u64) -> Result<Attempt> {
        Ok(Attempt::Held(Waiting { place: 1, ticket, ..Waiting::default() }))
    }

    #[test]
    fn a_waiter_takes_the_largest_ticket_it_was_given_and_keeps_it() {
        // Two waiters joined at once and the servers saw them in different orders: each takes
        // the largest, so that every server orders them alike (ties by id); the servers that
        // gave another are told. A server that did not queue it (took it, or failed) says nothing.
        let (ticket, differ) = ticket(&[queued(7), queued(6), took(3), down()], 0);
        assert_eq!((ticket, differ), (7, vec![1]));
        // Once agreed, the ticket stays, and a server that forgot the waiter is told it again.
        let (ticket, differ) = super::ticket(&[queued(7), queued(1), queued(7)], 7);
        assert_eq!((ticket, differ), (7, vec![1]));
        assert_eq!(super::ticket(&[took(1), down()], 0), (0, vec![]));
    }

    #[test]
    fn a_lock_handed_over_counts_from_the_earliest_grant() {
        let early = Instant::now();
        let late = early + Duration::from_millis(40);
        let handed = |fence, since| Ok(Attempt::Acquired { fence, granted: true, since });
        let taken = Ok(Attempt::Acquired { fence: 2, granted: false, since: late });
        let result = acquired(vec![taken, handed(9, early), held(5)], Mode::Exclusive, TTL, FAST);
        let Acquired::Yes { fence, granted, since, raise } = result else { panic!("{result:?}") };
        // One server handed it over: the short first lifetime, from its grant.
        assert_eq!((fence, granted, since, raise), (9, true, early, vec![0]));
    }

    #[test]
    fn fences_of_a_quorum() {
        assert_eq!(fence_of([Some(4), None, Some(9)].into_iter()), (9, vec![0]));
        assert_eq!(fence_of([Some(4), Some(4)].into_iter()), (4, vec![]));
    }

    #[test]
    fn refreshes_count_with_a_quorum() {
        let x = Some(Mode::Exclusive);
        assert!(refreshed(vec![Ok(x), Ok(x), down()], None, TTL, FAST).unwrap());
        // Two servers no longer have it: a majority cannot be had again.
        assert!(!refreshed(vec![Ok(x), Ok(None), Ok(None)], None, TTL, FAST).unwrap());
        // One has it, one refuses, one is down: it may come back, so it is an error, not a loss.
        assert!(refreshed(vec![Ok(x), Ok(None), down()], None, TTL, FAST).is_err());
        assert!(refreshed(vec![Ok(x), Ok(x), Ok(x)], None, TTL, TTL).is_err());
        // A limited lock's quorum comes from the mode the servers report.
        let limit = Some(Mode::Limit(2));
        assert!(refreshed(vec![Ok(limit), Ok(limit), down()], None, TTL, FAST).is_err());
        // One server: its answer.
        assert!(refreshed(vec![Ok(x)], None, TTL, FAST).unwrap());
        assert!(!refreshed(vec![Ok(None)], None, TTL, FAST).unwrap());
    }

    #[test]
    fn releases_are_done_when_any_server_had_it() {
        assert!(any(vec![Ok(false), Ok(true), down()]).unwrap());
        assert!(!any(vec![Ok(false), down()]).unwrap());
        assert!(any(vec![down::<bool>(), down()]).is_err());
    }

    fn info(ttl_ms: u64, holders: &[(&str, u64, u64)]) -> Result<Option<LockInfo>> {
        let holders = holders
            .iter()
            .map(|&(id, fence, ttl)| Holder {
                id: id.into(),
                fence,
                ttl: Some(Duration::from_millis(ttl)),
                ..Holder::default()
            })
            .collect();
        let ttl = Some(Duration::from_millis(ttl_ms));
        Ok(Some(LockInfo { mode: Some(Mode::Exclusive), ttl, holders, waiters: 1 }))
    }

    #[test]
    fn a_quorum_sees_a_holder_a_majority_reports() {
        let both = vec![info(900, &[("a", 3, 900)]), info(700, &[("a", 5, 700)]), Ok(None)];
        let quorum = seen_of(both).unwrap();
        // The second-longest ttl of three: as long as a majority will still say it is held.
        assert_eq!(quorum.ttl, Some(Duration::from_millis(700)));
        assert_eq!(quorum.holders.len(), 1);
        assert_eq!(quorum.holders[0].fence, 5);
        assert_eq!(quorum.waiters, 1);
        // Only one server says it is held: it is free.
        assert_eq!(seen_of(vec![info(900, &[("a", 3, 900)]), Ok(None), Ok(None)]), None);
        // Two holders, neither on a majority: held, but by nobody a quorum agrees on.
        let split = seen_of(vec![info(9, &[("a", 1, 9)]), info(9, &[("b", 2, 9)]), Ok(None)]);
        assert_eq!(split.map(|info| (info.holders.len(), info.mode)), Some((0, None)));
        assert!(seen(vec![down(), down(), Ok(None)]).is_err());
    }

    fn seen_of(results: Vec<Result<Option<LockInfo>>>) -> Option<LockInfo> {
        seen(results).unwrap()
    }

    fn waiter(id: &str, ticket: u64, since_ms: u64) -> Queued {
        let who = Holder { host: format!("host-{id}"), since_ms, ..Holder::default() };
        Queued { id: id.into(), ticket, mode: Some(Mode::Exclusive), who }
    }

    #[test]
    fn a_quorum_lists_each_waiter_once_in_ticket_order() {
        // Server 2 lost b (restarted empty), server 3 has c only at the place it was given first.
        let queues = vec![
            vec![waiter("a", 1, 100), waiter("b", 2, 200), waiter("c", 3, 300)],
            vec![waiter("a", 1, 90), waiter("c", 3, 310)],
            vec![waiter("c", 2, 305), waiter("a", 1, 95)],
        ];
        let merged = queue(queues);
        let seen: Vec<_> =
            merged.iter().map(|w| (w.id.as_str(), w.ticket, w.who.since_ms)).collect();
        assert_eq!(seen, [("a", 1, 90), ("b", 2, 200), ("c", 3, 300)]);
        // Equal tickets (two waiters joined at once): by id, as every server orders them.
        let tied = queue(vec![vec![waiter("y", 5, 1), waiter("x", 5, 1)]]);
        assert_eq!(tied.iter().map(|w| w.id.as_str()).collect::<Vec<_>>(), ["x", "y"]);
        assert!(queue(vec![vec![], vec![]]).is_empty());
        // A record that does not say since when (an older rlock's) takes the others' word.
        let unknown = queue(vec![vec![waiter("a", 1, 0)], vec![waiter("a", 1, 50)]]);
        assert_eq!(unknown[0].who.since_ms, 50);
    }

    #[test]
    fn one_server_is_seen_as_it_is() {
        let one = info(500, &[("a", 2, 500)]);
        let expected = one.as_ref().unwrap().clone();
        assert_eq!(seen(vec![one]).unwrap(), expected);
    }
}
