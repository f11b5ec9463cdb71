//! What Redis answers to rlock's scripts, read into types: a try at the lock, a refresh or
//! release, a wake-up, a description of the lock. Pure functions of the reply, so that each
//! reply shape is tested without a server.

use std::time::{Duration, Instant};

use redis::{FromRedisValue, Value};

use crate::lock::holder::Holder;
use crate::lock::mode::Mode;

/// The result of one try at taking a lock.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Attempt {
    /// The lock is ours, with this fencing number, since no later than `since`. `granted`: it
    /// was handed to us while we waited, with the short first lifetime we asked for, not the
    /// full ttl.
    Acquired { fence: u64, granted: bool, since: Instant },
    /// Someone else holds it, or it is someone else's turn.
    Held(Waiting),
}

/// What woke a waiter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wake {
    /// The lock was handed to it, with this fence, no sooner than `since`.
    Granted { fence: u64, since: Instant },
    /// No grant came in time (or something that is no fence was on its list): look again.
    TimedOut,
}

/// What a waiter learns at each try.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Waiting {
    /// The holder's remaining lifetime: `None` when the key never expires, zero when the lock is
    /// free but another waiter is ahead.
    pub ttl: Option<Duration>,
    /// Our place in the queue (1 = next), or 0 when we did not join it.
    pub place: u64,
    /// How many are waiting, us included.
    pub waiters: u64,
    /// Host, pid and since (ms) of the holder (the first one, when there are several), when rlock
    /// took the lock.
    pub holder: Option<Holder>,
    /// How many hold it (0 when it is held by another tool).
    pub holders: u64,
    /// The mode it is held in, when rlock holds it.
    pub mode: Option<Mode>,
    /// Our ticket, which orders the queue (0 when we did not join it).
    pub ticket: u64,
}

/// What a held lock looks like from outside.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LockInfo {
    /// The mode it is held in; `None` when something other than rlock holds it.
    pub mode: Option<Mode>,
    /// Remaining lifetime (of the longest-lived holder); `None` when the key has no expiry (set
    /// by something other than rlock).
    pub ttl: Option<Duration>,
    /// Who holds it, in the order they took it, each with its own remaining lifetime; empty when
    /// something other than rlock holds it.
    pub holders: Vec<Holder>,
    /// How many wait for it.
    pub waiters: u64,
}

/// A waiter in a lock's queue, as `status` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Queued {
    /// The waiter's id: with the ticket, it orders the queue, and it tells waiters apart over a
    /// quorum. Never shown: anyone who has it can take the waiter out of the queue.
    pub id: String,
    /// Its ticket, which orders the queue (the same on every server of a quorum).
    pub ticket: u64,
    /// The mode it waits to take the lock in.
    pub mode: Option<Mode>,
    /// Who waits (host, pid, user, program, label), and since when it waits (`since_ms`, on
    /// Redis's clock: when it joined the queue).
    pub who: Holder,
}

/// All `status` reads of a lock: whether and how it is held, and who waits for it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Described {
    /// How it is held; `None` when it is free.
    pub info: Option<LockInfo>,
    /// The live waiters, in the order they will be served (a free lock may have some for a
    /// moment: the first takes it at its next look).
    pub queue: Vec<Queued>,
}

impl LockInfo {
    /// The holder that took it first.
    pub fn holder(&self) -> Option<&Holder> {
        self.holders.first()
    }
}

/// A reply of a shape rlock's scripts never give (described for the message), or the mode
/// code of a lock in use in another mode.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Odd {
    /// Not what the script returns.
    Shape(String),
    /// `{-1, mode}`: the lock is in use in this mode (a script's code).
    Conflict(String),
}

fn number(reply: &[Value], at: usize) -> Option<i64> {
    reply.get(at).and_then(|value| i64::from_redis_value_ref(value).ok())
}

fn text(reply: &[Value], at: usize) -> Option<String> {
    reply.get(at).and_then(|value| String::from_redis_value_ref(value).ok())
}

fn count(reply: &[Value], at: usize) -> u64 {
    number(reply, at).and_then(|n| u64::try_from(n).ok()).unwrap_or(0)
}

fn shape(reply: &[Value]) -> Odd {
    Odd::Shape(format!("{reply:?}"))
}

/// ACQUIRE's reply (see scripts/acquire.lua) to a call sent at `sent`; `clear`: when the last
/// call that found the lock not granted to us was sent (a grant found now came after it).
pub fn attempt(reply: &[Value], sent: Instant, clear: Instant) -> Result<Attempt, Odd> {
    match (number(reply, 0), number(reply, 1)) {
        (Some(-1), _) => Err(Odd::Conflict(text(reply, 1).unwrap_or_default())),
        (Some(1), Some(fence)) => {
            let granted = number(reply, 2) == Some(1);
            let fence = u64::try_from(fence).unwrap_or(0);
            Ok(Attempt::Acquired { fence, granted, since: if granted { clear } else { sent } })
        }
        (Some(0), Some(pttl)) => {
            let field = |at| text(reply, at).unwrap_or_default();
            let (host, pid, since) = (field(4), field(5), field(6));
            let holder = (!host.is_empty()).then(|| Holder {
                host,
                pid: pid.parse().unwrap_or(0),
                since_ms: since.parse().unwrap_or(0),
                ..Holder::default()
            });
            Ok(Attempt::Held(Waiting {
                ttl: lifetime(pttl),
                place: count(reply, 2),
                waiters: count(reply, 3),
                holder,
                holders: count(reply, 7),
                mode: Mode::from_code(&field(8)),
                ticket: count(reply, 9),
            }))
        }
        _ => Err(shape(reply)),
    }
}

/// REFRESH's and RELEASE's reply, `{1, mode}`, `{0}` or `{-1, mode}`: the mode the token held
/// the lock in, or `None` when it did not hold it.
pub fn held_in(reply: &[Value]) -> Result<Option<Mode>, Odd> {
    match (number(reply, 0), text(reply, 1)) {
        (Some(0), _) => Ok(None),
        (Some(1), Some(code)) => Mode::from_code(&code).map(Some).ok_or_else(|| shape(reply)),
        (Some(-1), Some(code)) => Err(Odd::Conflict(code)),
        _ => Err(shape(reply)),
    }
}

/// BLPOP's reply on a waiter's wake-up list: a fence is a grant (made after `since`, when the
/// last call that found none was sent); nothing, or anything else, is no grant.
pub fn wake(reply: Option<(String, String)>, since: Instant) -> Wake {
    match reply {
        None => Wake::TimedOut,
        Some((_, message)) => {
            message.parse().map_or(Wake::TimedOut, |fence| Wake::Granted { fence, since })
        }
    }
}

/// INSPECT's reply (see scripts/inspect.lua): how the lock is held (`None` when it is free) and
/// its queue.
pub fn described(reply: &[Value]) -> Result<Described, Odd> {
    let (Some(held), Some(pttl), Some(waiters)) =
        (number(reply, 0), number(reply, 1), number(reply, 2))
    else {
        return Err(shape(reply));
    };
    let queue = match reply.get(5) {
        Some(Value::Array(entries)) => entries.iter().map(queued).collect::<Result<_, _>>()?,
        _ => return Err(shape(reply)),
    };
    if held == 0 {
        return Ok(Described { info: None, queue });
    }
    let Some(Value::Array(entries)) = reply.get(4) else { return Err(shape(reply)) };
    let mut holders = Vec::new();
    for entry in entries {
        let Value::Array(entry) = entry else { return Err(Odd::Shape("a holder".into())) };
        let ttl = number(entry, 0);
        if let Some(mut holder) = Holder::from_fields(&pairs(entry.get(1..).unwrap_or_default())?) {
            holder.ttl = ttl.and_then(lifetime);
            holders.push(holder);
        }
    }
    holders.sort_by_key(|holder| (holder.since_ms, holder.fence));
    let code = text(reply, 3);
    let mode = if holders.is_empty() { None } else { code.as_deref().and_then(Mode::from_code) };
    let info = LockInfo {
        mode,
        ttl: lifetime(pttl),
        holders,
        waiters: u64::try_from(waiters).unwrap_or(0),
    };
    Ok(Described { info: Some(info), queue })
}

/// One waiter of INSPECT's queue: {id, ticket, field, value, ...}.
fn queued(entry: &Value) -> Result<Queued, Odd> {
    let Value::Array(entry) = entry else { return Err(Odd::Shape("a waiter".into())) };
    let Some(id) = text(entry, 0) else { return Err(Odd::Shape("a waiter's id".into())) };
    let fields = pairs(entry.get(2..).unwrap_or_default())?;
    let mode =
        fields.iter().find(|(name, _)| name == "mode").and_then(|(_, code)| Mode::from_code(code));
    Ok(Queued {
        id,
        ticket: count(entry, 1),
        mode,
        who: Holder::from_fields(&fields).unwrap_or_default(),
    })
}

/// Field/value pairs of a record, as the scripts list them.
fn pairs(values: &[Value]) -> Result<Vec<(String, String)>, Odd> {
    let read =
        |value| String::from_redis_value_ref(value).map_err(|_| Odd::Shape("a field".into()));
    let mut pairs = Vec::new();
    for pair in values.chunks(2) {
        if let [name, value] = pair {
            pairs.push((read(name)?, read(value)?));
        }
    }
    Ok(pairs)
}

/// PTTL's answer as a lifetime: `None` for a key without expiry (-1); zero for a key just gone.
fn lifetime(pttl: i64) -> Option<Duration> {
    match pttl {
        -1 => None,
        ms => Some(Duration::from_millis(u64::try_from(ms).unwrap_or(0))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn int(n: i64) -> Value {
        Value::Int(n)
    }

    fn bulk(text: &str) -> Value {
        Value::BulkString(text.as_bytes().to_vec())
    }

    fn at(ms: u64) -> Instant {
        // (Any fixed instant will do: the replies only carry them through.)
        static ORIGIN: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();
        *ORIGIN.get_or_init(Instant::now) + Duration::from_millis(ms)
    }

    fn attempt(reply: &[Value]) -> Result<Attempt, Odd> {
        super::attempt(reply, at(20), at(10))
    }

    #[test]
    fn a_try_that_took_the_lock() {
        // Taken by this call: ours since it was sent.
        assert_eq!(
            attempt(&[int(1), int(7), int(0)]),
            Ok(Attempt::Acquired { fence: 7, granted: false, since: at(20) })
        );
        // Granted while we waited: ours since no later than the last call that found it not ours.
        assert_eq!(
            attempt(&[int(1), int(8), int(1)]),
            Ok(Attempt::Acquired { fence: 8, granted: true, since: at(10) })
        );
    }

    #[test]
    fn a_try_that_found_it_held() {
        let reply = [
            int(0),
            int(1500),
            int(2),
            int(3),
            bulk("build-1"),
            bulk("4242"),
            bulk("1700000000000"),
            int(1),
            bulk("x"),
            int(41),
        ];
        let Ok(Attempt::Held(waiting)) = attempt(&reply) else { panic!("{reply:?}") };
        assert_eq!(waiting.ttl, Some(Duration::from_millis(1500)));
        assert_eq!((waiting.place, waiting.waiters, waiting.holders), (2, 3, 1));
        assert_eq!(waiting.ticket, 41);
        assert_eq!(waiting.mode, Some(Mode::Exclusive));
        let holder = waiting.holder.unwrap();
        assert_eq!(
            (holder.host.as_str(), holder.pid, holder.since_ms),
            ("build-1", 4242, 1.7e12 as u64)
        );
        // Held by another tool: no expiry, no holder, no mode.
        let reply = [
            int(0),
            int(-1),
            int(1),
            int(1),
            bulk(""),
            bulk(""),
            bulk(""),
            int(0),
            bulk(""),
            int(0),
        ];
        let Ok(Attempt::Held(waiting)) = attempt(&reply) else { panic!("{reply:?}") };
        assert_eq!((waiting.ttl, waiting.holder, waiting.mode), (None, None, None));
    }

    #[test]
    fn a_try_in_the_wrong_mode_or_a_strange_reply() {
        assert_eq!(attempt(&[int(-1), bulk("3")]), Err(Odd::Conflict("3".into())));
        assert!(matches!(attempt(&[bulk("OK")]), Err(Odd::Shape(_))));
        assert!(matches!(attempt(&[]), Err(Odd::Shape(_))));
    }

    #[test]
    fn refresh_and_release_replies() {
        assert_eq!(held_in(&[int(1), bulk("x")]), Ok(Some(Mode::Exclusive)));
        assert_eq!(held_in(&[int(1), bulk("4")]), Ok(Some(Mode::Limit(4))));
        assert_eq!(held_in(&[int(0)]), Ok(None));
        assert_eq!(held_in(&[int(-1), bulk("s")]), Err(Odd::Conflict("s".into())));
        assert!(matches!(held_in(&[int(1), bulk("?")]), Err(Odd::Shape(_))));
        assert!(matches!(held_in(&[int(1)]), Err(Odd::Shape(_))));
    }

    #[test]
    fn wake_ups() {
        assert_eq!(wake(None, at(0)), Wake::TimedOut);
        let granted = Wake::Granted { fence: 12, since: at(5) };
        assert_eq!(wake(Some(("q".into(), "12".into())), at(5)), granted);
        assert_eq!(wake(Some(("q".into(), "nudge".into())), at(0)), Wake::TimedOut);
    }

    fn info(reply: &[Value]) -> Result<Option<LockInfo>, Odd> {
        described(reply).map(|described| described.info)
    }

    fn none() -> Value {
        Value::Array(vec![])
    }

    #[test]
    fn descriptions_of_a_lock() {
        assert_eq!(info(&[int(0), int(-2), int(0), bulk(""), none(), none()]), Ok(None));
        let holder = |since: &str, fence: &str, pttl| {
            Value::Array(vec![
                int(pttl),
                bulk("id"),
                bulk("abcd"),
                bulk("host"),
                bulk("h"),
                bulk("since_ms"),
                bulk(since),
                bulk("fence"),
                bulk(fence),
            ])
        };
        let reply = [
            int(1),
            int(900),
            int(2),
            bulk("3"),
            Value::Array(vec![holder("20", "5", 900), holder("10", "4", 300)]),
            none(),
        ];
        let described = info(&reply).unwrap().unwrap();
        assert_eq!(described.mode, Some(Mode::Limit(3)));
        assert_eq!(described.waiters, 2);
        assert_eq!(described.ttl, Some(Duration::from_millis(900)));
        // In the order they took the lock.
        let fences: Vec<u64> = described.holders.iter().map(|h| h.fence).collect();
        assert_eq!(fences, [4, 5]);
        assert_eq!(described.holder().unwrap().ttl, Some(Duration::from_millis(300)));
        // Held by another tool: no holders, so no mode either.
        let reply = [int(1), int(-1), int(0), bulk("x"), none(), none()];
        let described = info(&reply).unwrap().unwrap();
        assert_eq!((described.mode, described.ttl), (None, None));
        assert!(matches!(info(&[int(1), int(5), int(0), bulk("x")]), Err(Odd::Shape(_))));
    }

    #[test]
    fn the_queue_of_a_lock_held_or_free() {
        let waiter = |id: &str, ticket, mode: &str| {
            Value::Array(vec![
                bulk(id),
                int(ticket),
                bulk("mode"),
                bulk(mode),
                bulk("host"),
                bulk("build-2"),
                bulk("pid"),
                bulk("77"),
                bulk("label"),
                bulk("job 9"),
                bulk("since_ms"),
                bulk("1700000000000"),
            ])
        };
        let queue = Value::Array(vec![waiter("w1", 3, "x"), waiter("w2", 4, "s")]);
        // A free lock keeps its queue (the first waiter takes it at its next look).
        let described = described(&[int(0), int(-2), int(2), bulk(""), none(), queue]).unwrap();
        assert_eq!(described.info, None);
        let seen: Vec<_> =
            described.queue.iter().map(|q| (q.id.as_str(), q.ticket, q.mode)).collect();
        assert_eq!(seen, [("w1", 3, Some(Mode::Exclusive)), ("w2", 4, Some(Mode::Shared))]);
        let who = &described.queue[0].who;
        assert_eq!((who.host.as_str(), who.pid, who.label.as_str()), ("build-2", 77, "job 9"));
        assert_eq!(who.since_ms, 1.7e12 as u64);
        let odd = [int(0), int(-2), int(1), bulk(""), none(), Value::Array(vec![int(3)])];
        assert!(matches!(super::described(&odd), Err(Odd::Shape(_))));
    }
}
