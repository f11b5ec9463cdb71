//! Every timing rule of rlock: how long a lock stays valid, when it is refreshed and retried,
//! how long a handed-over lock first lives, how often waiters check in, how a waiter that lost
//! Redis backs off, and how long a call to Redis may take. Pure arithmetic on durations and
//! instants, so that each rule is tested here and changed in one place.

use std::time::{Duration, Instant};

use crate::duration::show;

/// Time allowed for each Redis round trip while taking, inspecting and releasing a lock.
pub const REDIS_TIMEOUT: Duration = Duration::from_secs(5);

/// The longest one server may take to answer one call in quorum mode: a slow server must not
/// eat the lock's validity.
pub const NODE_TIMEOUT: Duration = Duration::from_millis(500);

/// How long a lock's fencing counter is kept after the last fence it gave. Once it is gone, the
/// next fence comes from Redis's clock (see `next_fence` in the scripts): this is how far back
/// that clock may be set, at the least, without a fence going backwards.
pub const FENCE_LIFETIME: Duration = Duration::from_secs(7 * 24 * 3600);

/// How long a lock's history (`rlock log`) is kept after its last entry: renewed with every
/// entry, so a lock in use keeps its last holds (as many as [`crate::lock::history::MAX_ENTRIES`]
/// allows), and one nobody has used for this long leaves nothing behind. As long as the fencing
/// counter: a lock name used once (`build-1234`) costs its history for a week, not for longer.
pub const HISTORY_LIFETIME: Duration = Duration::from_secs(7 * 24 * 3600);

/// How long to wait before asking the Sentinels again while a failover is under way (the server
/// they name is not a master yet).
pub const FAILOVER_NAP: Duration = Duration::from_millis(100);

/// The longest rlock waits for replicas to acknowledge a lock it took or refreshed (`--replicas`).
pub const REPLICA_ACK: Duration = Duration::from_secs(1);

/// How often the head of the queue checks in (and notices a lock freed without a push).
pub const HEARTBEAT_HEAD: Duration = Duration::from_secs(1);
/// How often a waiter further back checks in.
pub const HEARTBEAT_BEHIND: Duration = Duration::from_secs(2);
/// How long a waiter's place lasts without a heartbeat.
pub const LAPSE: Duration = Duration::from_secs(4);
/// A waiter never sleeps shorter than this between two looks at the lock.
const MIN_NAP: Duration = Duration::from_millis(10);
/// How long after a holder's lifetime ends the head of the queue looks again.
const AFTER_EXPIRY: Duration = Duration::from_millis(5);
/// Quorum mode: how long past its nap a waiter waits for the servers' BLPOPs to answer before it
/// looks at the lock again without the slow ones.
pub const WAKE_SLACK: Duration = Duration::from_millis(50);
/// How long rlock, about to exit, waits for its last messages to reach stderr (a pipe nobody
/// reads would otherwise hold it forever).
pub const STDERR_FLUSH: Duration = Duration::from_secs(1);
/// How often a waiting line on a terminal is redrawn, at least.
const STATUS_LINE_EVERY: Duration = Duration::from_secs(1);
/// How often a wait off a terminal says how it goes, unless `--progress` says otherwise (the
/// first line comes when the wait starts).
pub const PROGRESS_EVERY: Duration = Duration::from_secs(30);
/// A waiter getting back to Redis backs off starting about this long, doubling each time, up
/// to [`BACKOFF_MAX`].
const BACKOFF_FIRST: Duration = Duration::from_millis(50);
/// The longest pause of that backoff (before jitter).
const BACKOFF_MAX: Duration = Duration::from_secs(1);
/// The least time a waiter's call is given, however little patience is left.
const WAITER_CALL_MIN: Duration = Duration::from_millis(100);

/// The instant `after` from now, or `None` when it is too far away to represent (that is, never).
pub fn after(after: Duration) -> Option<Instant> {
    Instant::now().checked_add(after)
}

/// The time allowed for one server's answer: `timeout`, at most [`NODE_TIMEOUT`] when there are
/// several servers.
pub fn per_server(servers: usize, timeout: Duration) -> Duration {
    if servers > 1 { timeout.min(NODE_TIMEOUT) } else { timeout }
}

/// Clock drift allowed for when computing how long a lock stays valid: 1% of the ttl plus 2 ms.
pub fn drift(ttl: Duration) -> Duration {
    ttl / 100 + Duration::from_millis(2)
}

/// How long a lock taken on a quorum is valid: the ttl less the time the calls took and the
/// drift; zero when nothing is left.
pub fn quorum_validity(ttl: Duration, elapsed: Duration) -> Duration {
    ttl.saturating_sub(elapsed + drift(ttl))
}

/// How long the replicas may take to acknowledge a lock of `ttl` just taken or refreshed
/// (`--replicas`), when the call may take `left` more: at most [`REPLICA_ACK`] and a tenth of the
/// ttl (the lock's validity runs meanwhile), never past what the call has left (on a refresh,
/// that is bounded by the lock's validity), and at least 1 ms (WAIT 0 would wait forever).
pub fn replica_ack(ttl: Duration, left: Duration) -> Duration {
    REPLICA_ACK.min(ttl / 10).min(left).max(Duration::from_millis(1))
}

/// The time between two refreshes of a held lock.
pub fn refresh_period(ttl: Duration) -> Duration {
    ttl / 3
}

/// The pause before trying again after a refresh failed: a twentieth of the ttl, within 20 ms
/// and 1 s.
pub fn refresh_retry(ttl: Duration) -> Duration {
    (ttl / 20).clamp(Duration::from_millis(20), Duration::from_secs(1))
}

/// The kill grace when none is given: 10 s, or a third of a shorter ttl, so that it always fits
/// (see [`max_kill_grace`]).
pub fn default_kill_grace(ttl: Duration) -> Duration {
    KILL_GRACE.min(refresh_period(ttl))
}

/// The default `--kill-grace` for the default ttl.
const KILL_GRACE: Duration = Duration::from_secs(10);

/// How long before the lock's validity ends the command must be dead: room for SIGKILL to take
/// effect and for rlock's timer to fire late. A twentieth of the ttl, within 10 ms and 250 ms.
pub fn stop_margin(ttl: Duration) -> Duration {
    (ttl / 20).clamp(Duration::from_millis(10), Duration::from_millis(250))
}

/// The longest kill grace a ttl leaves room for: the SIGTERM (validity − grace − margin) must
/// come no sooner than a retry after the first refresh is due, so that one failed refresh is
/// not yet a stop.
pub fn max_kill_grace(ttl: Duration) -> Duration {
    (ttl - refresh_period(ttl)).saturating_sub(drift(ttl) + stop_margin(ttl) + refresh_retry(ttl))
}

/// The kill grace to use: the one given, if it fits the ttl, or the default. A grace that does
/// not fit is refused with what would.
pub fn kill_grace(ttl: Duration, given: Option<Duration>) -> Result<Duration, String> {
    let Some(grace) = given else { return Ok(default_kill_grace(ttl)) };
    let most = max_kill_grace(ttl);
    if grace > most {
        return Err(format!(
            "a --kill-grace of {} does not fit a ttl of {}: rlock must have stopped the command \
             before the lock can lapse, so use at most {} (or a longer --ttl)",
            show(grace),
            show(ttl),
            show(most)
        ));
    }
    Ok(grace)
}

/// Whether a command with this kill grace may start at `now` on `lease`: not when its stop
/// would already be due (Redis answered so late that little of the lease is left).
pub fn startable(lease: &Lease, grace: Duration, now: Instant) -> bool {
    now < stop_times(lease, grace).0
}

/// When a command whose lock is on `lease` must be stopped if no refresh moves the lease on:
/// SIGTERM at the first instant, SIGKILL of its whole group at the second, a margin before the
/// validity ends, so that it is dead before Redis can give the lock to anyone else. The SIGTERM
/// comes no sooner than a retry after the next refresh is due (a lock just handed over has a
/// short first lifetime: its grace is cut short, its SIGKILL never moved).
pub fn stop_times(lease: &Lease, grace: Duration) -> (Instant, Instant) {
    let ttl = lease.ttl();
    let valid_until = lease.valid_until();
    let kill = valid_until.checked_sub(stop_margin(ttl)).unwrap_or(valid_until);
    let term = kill.checked_sub(grace).unwrap_or(kill);
    let term = term.max(lease.refresh_due() + refresh_retry(ttl)).min(kill);
    (term, kill)
}

/// When a command started at `started` with a `--timeout` of `timeout` must be stopped: SIGTERM
/// at the first instant, SIGKILL of its group `grace` later; and when the guardian kills it
/// should rlock be frozen (stopped, starved) by then, a second after that, so that it never
/// races rlock's own SIGKILL. `None` for a timeout too long to represent: no limit.
pub fn timeout_times(
    started: Instant,
    timeout: Duration,
    grace: Duration,
) -> Option<(Instant, Instant)> {
    let term = started.checked_add(timeout)?;
    let guard = term.checked_add(grace)?.checked_add(TIMEOUT_GUARD_SLACK)?;
    Some((term, guard))
}

/// How long after rlock's SIGKILL for a `--timeout` the guardian gives it (see [`timeout_times`]).
const TIMEOUT_GUARD_SLACK: Duration = Duration::from_secs(1);

/// The first lifetime of a lock handed to a waiter: short, so that a waiter that died a moment
/// ago holds nobody up for longer than a lapsed place would.
pub fn grant_lifetime(ttl: Duration) -> Duration {
    ttl.min(LAPSE)
}

/// The pause before try `tries` + 1 of the backoff, before jitter: 50 ms doubling up to 1 s.
fn doubling(tries: u32) -> Duration {
    BACKOFF_FIRST.saturating_mul(1 << tries.min(5)).min(BACKOFF_MAX)
}

/// How long a waiter that lost Redis (restarting, failing over) sleeps before try `tries` + 1
/// to get back: 50 ms doubling up to 1 s, times 0.5 + `jitter` / 2 (`jitter` is a random number
/// in 0..1, so that the waiters of one server do not all come back at once), never past its
/// patience (`left`; `None`: it waits forever).
pub fn reconnect_nap(tries: u32, jitter: f64, left: Option<Duration>) -> Duration {
    let nap = doubling(tries).mul_f64(0.5 + jitter.clamp(0.0, 1.0) / 2.0);
    match left {
        Some(left) => nap.min(left),
        None => nap,
    }
}

/// The time allowed for each round trip of a waiter (waiting, or trying to get back to Redis):
/// `timeout`, but no longer than the patience left (`left`), so that a waiter whose Redis stays
/// away, or answers too slowly, gives up about when its patience runs out; at least 100 ms, so
/// that a call can be made at all.
pub fn waiter_call_timeout(timeout: Duration, left: Option<Duration>) -> Duration {
    match left {
        Some(left) => timeout.min(left.max(WAITER_CALL_MIN)),
        None => timeout,
    }
}

/// What a waiter knows when it decides how long to sleep before it looks at the lock again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NapFacts {
    /// It is first in the queue.
    pub head: bool,
    /// The holder's remaining lifetime, when it has one.
    pub holder_ttl: Option<Duration>,
    /// The first lifetime of a lock handed to it (a grant found at the end of the sleep must
    /// still be valid).
    pub grant: Duration,
    /// A waiting line is shown on a terminal.
    pub status_line: bool,
    /// Until the next progress line off a terminal is due (`None`: none is).
    pub line_due: Option<Duration>,
    /// Until its patience runs out (`None`: it waits forever).
    pub left: Option<Duration>,
}

/// How long a waiter in the queue sleeps on its wake-up list: its heartbeat (shorter at the
/// head), no later than just after the holder's lifetime ends (a crashed holder sends no
/// wake-up), at most half its grant, once a second with a waiting line, no later than the next
/// progress line, never past its patience, and never less than 10 ms.
pub fn queue_nap(facts: NapFacts) -> Duration {
    let mut nap = if facts.head { HEARTBEAT_HEAD } else { HEARTBEAT_BEHIND };
    if facts.head
        && let Some(left) = facts.holder_ttl
    {
        nap = nap.min(left + AFTER_EXPIRY);
    }
    nap = nap.min(facts.grant / 2);
    if facts.status_line {
        nap = nap.min(STATUS_LINE_EVERY);
    }
    if let Some(due) = facts.line_due {
        nap = nap.min(due);
    }
    if let Some(left) = facts.left {
        nap = nap.min(left);
    }
    nap.max(MIN_NAP)
}

/// A held lock's lease: since when it is ours, and until when it is valid, as each refresh moves
/// it on. A lease counts from an instant no later than the one Redis gave or extended the lock,
/// so that rlock's idea of its validity never outlasts Redis's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lease {
    ttl: Duration,
    /// The start of the current lifetime.
    since: Instant,
    /// Its length: the ttl, or the shorter first lifetime of a lock handed over while waiting.
    lifetime: Duration,
}

impl Lease {
    /// A lock ours since `since` for `lifetime`, refreshed to `ttl` each time.
    pub fn new(ttl: Duration, since: Instant, lifetime: Duration) -> Lease {
        Lease { ttl, since, lifetime }
    }

    /// The last instant the lock is surely ours: the start of its lifetime + the lifetime − drift.
    pub fn valid_until(&self) -> Instant {
        self.since + self.lifetime.saturating_sub(drift(self.lifetime))
    }

    /// When the next refresh is due: a third into the current lifetime (sooner for a short
    /// first lifetime).
    pub fn refresh_due(&self) -> Instant {
        self.since + self.lifetime / 3
    }

    /// A refresh sent at `sent` succeeded: the lock lives for the ttl from then.
    pub fn refreshed(&mut self, sent: Instant) {
        self.since = sent;
        self.lifetime = self.ttl;
    }

    /// The length of the current lifetime: shorter than the ttl for a lock just handed over.
    pub fn lifetime(&self) -> Duration {
        self.lifetime
    }

    /// The ttl the lock is refreshed to.
    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    /// How long a refresh sent at `now` may take: never past the validity, at most a period.
    pub fn call_timeout(&self, now: Instant) -> Duration {
        self.valid_until().saturating_duration_since(now).min(refresh_period(self.ttl))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    #[test]
    fn drift_and_quorum_validity() {
        assert_eq!(drift(Duration::from_secs(30)), 302 * MS);
        assert_eq!(drift(Duration::from_millis(100)), 3 * MS);
        let ttl = Duration::from_secs(10);
        assert_eq!(quorum_validity(ttl, 500 * MS), ttl - 500 * MS - 102 * MS);
        assert_eq!(quorum_validity(ttl, ttl), Duration::ZERO);
    }

    #[test]
    fn replicas_acknowledge_within_bounds() {
        let ttl = Duration::from_secs(30);
        assert_eq!(replica_ack(ttl, REDIS_TIMEOUT), REPLICA_ACK);
        assert_eq!(replica_ack(Duration::from_secs(2), REDIS_TIMEOUT), 200 * MS);
        // A refresh near the end of the validity has little left.
        assert_eq!(replica_ack(ttl, 30 * MS), 30 * MS);
        assert_eq!(replica_ack(ttl, Duration::ZERO), MS);
        assert_eq!(replica_ack(5 * MS, REDIS_TIMEOUT), MS);
    }

    #[test]
    fn refresh_period_and_retry() {
        assert_eq!(refresh_period(Duration::from_secs(30)), Duration::from_secs(10));
        assert_eq!(refresh_retry(Duration::from_secs(30)), Duration::from_secs(1));
        assert_eq!(refresh_retry(Duration::from_secs(6)), 300 * MS);
        assert_eq!(refresh_retry(Duration::from_millis(100)), 20 * MS);
    }

    #[test]
    fn the_kill_grace_fits_the_ttl() {
        let ttl = Duration::from_secs(30);
        assert_eq!(kill_grace(ttl, None), Ok(Duration::from_secs(10)));
        assert_eq!(max_kill_grace(ttl), 20 * SEC - 302 * MS - 250 * MS - SEC);
        // A short ttl gets a shorter default, and refuses a grace it has no room for.
        let short = Duration::from_secs(6);
        assert_eq!(kill_grace(short, None), Ok(2 * SEC));
        let err = kill_grace(short, Some(10 * SEC)).unwrap_err();
        assert!(err.contains("at most 3s 388ms"), "{err}");
        assert_eq!(kill_grace(short, Some(3 * SEC)), Ok(3 * SEC));
        // The default always fits.
        for ms in [100, 150, 200, 500, 1000, 2000, 6000, 30_000, 600_000, 86_400_000] {
            let ttl = Duration::from_millis(ms);
            assert!(default_kill_grace(ttl) <= max_kill_grace(ttl), "{ms} ms");
        }
    }

    #[test]
    fn the_command_is_stopped_before_the_lock_can_lapse() {
        let start = Instant::now();
        let ttl = Duration::from_secs(6);
        let lease = Lease::new(ttl, start, ttl);
        let (term, kill) = stop_times(&lease, 2 * SEC);
        // Valid until 6 s less the drift (62 ms); the margin is 250 ms.
        assert_eq!(kill, start + ttl - 62 * MS - 250 * MS);
        assert_eq!(term, kill - 2 * SEC);
        assert!(kill < lease.valid_until());
        // A lock just handed over lives 4 s at first: the SIGKILL stays before that ends, the
        // SIGTERM waits for a retry after the first refresh is due.
        let ttl = Duration::from_secs(30);
        let granted = Lease::new(ttl, start, grant_lifetime(ttl));
        let (term, kill) = stop_times(&granted, 10 * SEC);
        assert_eq!(kill, start + LAPSE - drift(LAPSE) - 250 * MS);
        assert_eq!(term, granted.refresh_due() + SEC);
        assert!(term < kill);
    }

    #[test]
    fn a_lock_that_arrives_too_late_is_not_started_on() {
        let sent = Instant::now();
        let ttl = 2 * SEC;
        let lease = Lease::new(ttl, sent, ttl);
        let grace = default_kill_grace(ttl);
        // 2 s ttl, 667 ms of grace: the stop would begin 1.211 s after the request was sent.
        assert!(startable(&lease, grace, sent + 300 * MS));
        assert!(!startable(&lease, grace, sent + 1500 * MS));
        // Without a command (acquire), only the end of the lease less the margin counts.
        assert!(startable(&lease, Duration::ZERO, sent + 1500 * MS));
        assert!(!startable(&lease, Duration::ZERO, sent + 1900 * MS));
    }

    const SEC: Duration = Duration::from_secs(1);

    #[test]
    fn grant_lifetime_is_short() {
        assert_eq!(grant_lifetime(Duration::from_secs(30)), LAPSE);
        assert_eq!(grant_lifetime(Duration::from_secs(2)), Duration::from_secs(2));
    }

    #[test]
    fn a_wait_too_long_to_represent_is_forever() {
        assert_eq!(after(Duration::MAX), None);
        assert!(after(Duration::from_secs(60)).is_some_and(|at| at > Instant::now()));
    }

    #[test]
    fn per_server_timeouts() {
        assert_eq!(per_server(1, REDIS_TIMEOUT), REDIS_TIMEOUT);
        assert_eq!(per_server(3, REDIS_TIMEOUT), NODE_TIMEOUT);
        assert_eq!(per_server(3, 100 * MS), 100 * MS);
    }

    #[test]
    fn reconnecting_backs_off_within_bounds_and_patience() {
        // 50 ms doubling to 1 s, jittered into its upper half.
        assert_eq!(reconnect_nap(0, 1.0, None), 50 * MS);
        assert_eq!(reconnect_nap(0, 0.0, None), 25 * MS);
        assert_eq!(reconnect_nap(1, 1.0, None), 100 * MS);
        assert_eq!(reconnect_nap(4, 1.0, None), 800 * MS);
        assert_eq!(reconnect_nap(5, 1.0, None), BACKOFF_MAX);
        assert_eq!(reconnect_nap(u32::MAX, 1.0, None), BACKOFF_MAX);
        assert_eq!(reconnect_nap(u32::MAX, 0.0, None), BACKOFF_MAX / 2);
        // A jitter out of range is taken as its nearest bound.
        assert_eq!(reconnect_nap(9, 7.0, None), BACKOFF_MAX);
        assert_eq!(reconnect_nap(9, -1.0, None), BACKOFF_MAX / 2);
        for tries in 0..40 {
            for jitter in [0.0, 0.3, 0.99, 1.0] {
                let nap = reconnect_nap(tries, jitter, None);
                assert!(nap >= BACKOFF_FIRST / 2 && nap <= BACKOFF_MAX, "{tries}: {nap:?}");
            }
        }
        // Never past the patience.
        assert_eq!(reconnect_nap(5, 1.0, Some(300 * MS)), 300 * MS);
        assert_eq!(reconnect_nap(5, 1.0, Some(Duration::ZERO)), Duration::ZERO);
        assert_eq!(reconnect_nap(0, 1.0, Some(Duration::from_secs(9))), 50 * MS);
    }

    #[test]
    fn calls_while_reconnecting_end_with_the_patience() {
        assert_eq!(waiter_call_timeout(REDIS_TIMEOUT, None), REDIS_TIMEOUT);
        assert_eq!(
            waiter_call_timeout(REDIS_TIMEOUT, Some(Duration::from_secs(60))),
            REDIS_TIMEOUT
        );
        assert_eq!(waiter_call_timeout(REDIS_TIMEOUT, Some(700 * MS)), 700 * MS);
        assert_eq!(waiter_call_timeout(REDIS_TIMEOUT, Some(Duration::ZERO)), WAITER_CALL_MIN);
        assert_eq!(waiter_call_timeout(50 * MS, Some(Duration::ZERO)), 50 * MS);
    }

    #[test]
    fn naps_in_the_queue() {
        let facts = NapFacts {
            head: false,
            holder_ttl: Some(Duration::from_secs(20)),
            grant: LAPSE,
            status_line: false,
            line_due: None,
            left: None,
        };
        assert_eq!(queue_nap(facts), HEARTBEAT_BEHIND);
        // The head looks again just after the holder's lifetime ends.
        let head = NapFacts { head: true, holder_ttl: Some(300 * MS), ..facts };
        assert_eq!(queue_nap(head), 305 * MS);
        assert_eq!(queue_nap(NapFacts { holder_ttl: None, ..head }), HEARTBEAT_HEAD);
        // Half the grant, the status line, the patience, and the floor.
        assert_eq!(queue_nap(NapFacts { grant: Duration::from_secs(1), ..facts }), 500 * MS);
        assert_eq!(queue_nap(NapFacts { status_line: true, ..facts }), Duration::from_secs(1));
        assert_eq!(queue_nap(NapFacts { line_due: Some(300 * MS), ..facts }), 300 * MS);
        assert_eq!(queue_nap(NapFacts { line_due: Some(Duration::ZERO), ..facts }), MIN_NAP);
        assert_eq!(queue_nap(NapFacts { left: Some(40 * MS), ..facts }), 40 * MS);
        assert_eq!(queue_nap(NapFacts { left: Some(Duration::ZERO), ..facts }), MIN_NAP);
    }

    #[test]
    fn a_lease_moves_on_with_each_refresh() {
        let start = Instant::now();
        let ttl = Duration::from_secs(30);
        let mut lease = Lease::new(ttl, start, ttl);
        assert_eq!(lease.valid_until(), start + ttl - drift(ttl));
        assert_eq!(lease.refresh_due(), start + Duration::from_secs(10));
        assert_eq!(lease.call_timeout(start), Duration::from_secs(10));
        assert_eq!(lease.call_timeout(start + ttl), Duration::ZERO);
        let sent = start + Duration::from_secs(10);
        lease.refreshed(sent);
        assert_eq!(lease.valid_until(), sent + ttl - drift(ttl));
        assert_eq!(lease.refresh_due(), sent + Duration::from_secs(10));
    }

    #[test]
    fn a_handed_over_lease_is_refreshed_sooner() {
        let start = Instant::now();
        let ttl = Duration::from_secs(30);
        let mut lease = Lease::new(ttl, start, grant_lifetime(ttl));
        assert_eq!(lease.valid_until(), start + LAPSE - drift(LAPSE));
        assert_eq!(lease.refresh_due(), start + LAPSE / 3);
        // Near the end of the grant a refresh may not take longer than what is left.
        let late = start + Duration::from_secs(3);
        assert_eq!(lease.call_timeout(late), LAPSE - drift(LAPSE) - Duration::from_secs(3));
        lease.refreshed(late);
        assert_eq!(lease.valid_until(), late + ttl - drift(ttl));
    }
}
