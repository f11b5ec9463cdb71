//! What `ttl`, `status` and `list` print, in text and JSON.

use std::time::{Duration, SystemTime};

use serde_json::json;

use crate::lock::{Holder, LockInfo, LockKeys, Mode, Queued, millis};
use crate::report::{duration, whole_seconds};

/// The version of the JSON that `status`, `ttl`, `list` and `log` print (its `"version"` field),
/// raised when a field changes meaning or goes away (new fields do not raise it).
pub const JSON_VERSION: u32 = 1;

/// A mode as the JSON names it.
fn mode_name(mode: Mode) -> &'static str {
    match mode {
        Mode::Exclusive => "exclusive",
        Mode::Shared => "shared",
        Mode::Limit(_) => "limit",
    }
}

/// How many may hold the lock in `mode` at once: 1 exclusive, N limited, none for shared.
fn limit_of(mode: Option<Mode>) -> Option<u32> {
    match mode {
        Some(Mode::Limit(limit)) => Some(limit),
        Some(Mode::Exclusive) => Some(1),
        _ => None,
    }
}

/// `status --json` (and `ttl --json`, and each of `list --json`'s locks): one object; absent
/// facts are null. `holders` lists every holder in the order they took the lock; `holder` and
/// `fence` are the first of them (the only one of an exclusive lock). `queue` lists the waiters
/// in the order they will be served, `waiters` is how many there are.
pub fn status_json(
    keys: &LockKeys,
    info: Option<&LockInfo>,
    queue: &[Queued],
) -> serde_json::Value {
    let holder = info.and_then(LockInfo::holder);
    let mode = info.and_then(|info| info.mode);
    let described = |h: &Holder| {
        json!({
            "host": h.host,
            "pid": h.pid,
            "user": h.user,
            "program": h.program,
            "label": (!h.label.is_empty()).then_some(&h.label),
            "since": rfc3339(h),
            "since_unix_ms": h.since_ms,
            "fence": h.fence,
            "ttl_ms": h.ttl.map(millis),
        })
    };
    let waiting = |(at, waiter): (usize, &Queued)| {
        let w = &waiter.who;
        json!({
            "place": at + 1,
            "host": w.host,
            "pid": w.pid,
            "user": w.user,
            "program": w.program,
            "label": (!w.label.is_empty()).then_some(&w.label),
            "mode": waiter.mode.map(mode_name),
            "limit": limit_of(waiter.mode),
            // (0: its record does not say, written by an older rlock.)
            "since": (w.since_ms > 0).then(|| rfc3339(w)),
            "since_unix_ms": (w.since_ms > 0).then_some(w.since_ms),
        })
    };
    json!({
        "version": JSON_VERSION,
        "key": keys.name,
        "redis_key": keys.lock,
        "held": info.is_some(),
        "mode": mode.map(mode_name),
        "limit": limit_of(mode),
        "ttl_ms": info.and_then(|info| info.ttl).map(millis),
        "fence": holder.map(|h| h.fence),
        "waiters": queue.len(),
        "holder": holder.map(described),
        "holders": info.map_or_else(Vec::new, |info| info.holders.iter().map(described).collect()),
        "queue": queue.iter().enumerate().map(waiting).collect::<Vec<_>>(),
    })
}

/// `list --json`: one object holding each lock as [`status_json`] shows it.
pub fn list_json(locks: Vec<serde_json::Value>) -> serde_json::Value {
    json!({ "version": JSON_VERSION, "locks": locks })
}

/// When a holder took the lock, or a waiter joined the queue, to the second (RFC 3339, UTC).
fn rfc3339(h: &Holder) -> String {
    humantime::format_rfc3339_seconds(h.since()).to_string()
}

/// "2026-12-03T08:00:00Z (12s ago)".
fn since_and_ago(h: &Holder) -> String {
    let ago = SystemTime::now().duration_since(h.since()).unwrap_or_default();
    format!("{} ({} ago)", rfc3339(h), whole_seconds(ago))
}

/// `status`: the lock, its state, each holder, its ttl, fence and waiters, the waiters in the
/// order they will be served.
pub fn status_lines(keys: &LockKeys, info: Option<&LockInfo>, queue: &[Queued]) -> Vec<String> {
    let mut lines = vec![format!("lock:     {} (key {})", keys.name, keys.lock)];
    let Some(info) = info else {
        lines.push("state:    free".into());
        if !queue.is_empty() {
            // For a moment: the first takes it at its next look.
            queue_lines(&mut lines, queue);
        }
        return lines;
    };
    let count = info.holders.len();
    lines.push(match info.mode {
        None => "state:    held, not by rlock (no holder record)".into(),
        Some(Mode::Exclusive) => "state:    held".into(),
        Some(Mode::Shared) => format!("state:    held shared by {count}"),
        Some(Mode::Limit(limit)) => format!("state:    held by {count} of at most {limit}"),
    });
    for h in &info.holders {
        let since = since_and_ago(h);
        let program = if h.program.is_empty() { "-" } else { &h.program };
        if info.mode == Some(Mode::Exclusive) {
            lines.push(format!("holder:   {} pid {} user {}", h.host, h.pid, h.user));
            lines.push(format!("program:  {program}"));
            if !h.label.is_empty() {
                lines.push(format!("label:    {}", h.label));
            }
            lines.push(format!("since:    {since}"));
        } else {
            let ttl = h.ttl.map_or_else(|| "no expiry".to_owned(), duration);
            let label =
                if h.label.is_empty() { String::new() } else { format!("; label: {}", h.label) };
            lines.push(format!(
                "holder:   {} pid {} user {}; fence {}; ttl {ttl}; since {since}; program: {program}{label}",
                h.host, h.pid, h.user, h.fence
            ));
        }
    }
    lines.push(match info.ttl {
        Some(ttl) => format!("ttl:      {}", duration(ttl)),
        None => "ttl:      none (the key never expires)".into(),
    });
    if info.mode == Some(Mode::Exclusive)
        && let Some(h) = info.holder()
    {
        lines.push(format!("fence:    {}", h.fence));
    }
    queue_lines(&mut lines, queue);
    lines
}

/// `waiters:  N`, then a line per waiter in the order they will be served: its place, who it is,
/// the mode it waits for and since when.
fn queue_lines(lines: &mut Vec<String>, queue: &[Queued]) {
    lines.push(format!("waiters:  {}", queue.len()));
    for (at, waiter) in queue.iter().enumerate() {
        let w = &waiter.who;
        let program = if w.program.is_empty() { "-" } else { &w.program };
        let label =
            if w.label.is_empty() { String::new() } else { format!("; label: {}", w.label) };
        let mode = match waiter.mode {
            Some(Mode::Limit(limit)) => format!("limit {limit}"),
            Some(mode) => mode_name(mode).to_owned(),
            None => "-".to_owned(),
        };
        let since = if w.since_ms > 0 { since_and_ago(w) } else { "unknown".to_owned() };
        lines.push(format!(
            "  {}. {} pid {} user {}; program: {program}{label}; {mode}; waiting since {since}",
            at + 1,
            w.host,
            w.pid,
            w.user,
        ));
    }
}

/// `ttl`: a line per holder, longest-lived first (the first line is how long the lock stays
/// held); whole milliseconds with `ms`.
pub fn ttl_lines(info: &LockInfo, ms: bool) -> Vec<String> {
    let mut ttls: Vec<Option<Duration>> = info.holders.iter().map(|holder| holder.ttl).collect();
    if ttls.is_empty() {
        ttls.push(info.ttl);
    }
    ttls.sort_by_key(|ttl| std::cmp::Reverse(ttl.unwrap_or(Duration::MAX)));
    ttls.into_iter()
        .map(|ttl| match (ttl, ms) {
            (Some(ttl), true) => millis(ttl).to_string(),
            (Some(ttl), false) => duration(ttl),
            (None, true) => "-1".into(),
            (None, false) => "no expiry".into(),
        })
        .collect()
}

/// `list`: a line per holder (a shared or limited lock shows as many as it has holders): name,
/// holder, ttl, fence, how many wait for the lock, and the holder's label when it has one.
pub fn list_lines(keys: &LockKeys, info: &LockInfo) -> Vec<String> {
    info.holders
        .iter()
        .map(|holder| {
            let ttl = holder.ttl.map_or_else(|| "no expiry".to_owned(), duration);
            let label = if holder.label.is_empty() {
                String::new()
            } else {
                format!("\tlabel {}", holder.label)
            };
            format!(
                "{}\t{}\tttl {ttl}\tfence {}\twaiting {}{label}",
                keys.name,
                holder.short(),
                holder.fence,
                info.waiters
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ttl_lines_put_the_longest_first() {
        let holder = |ms| Holder { ttl: Some(Duration::from_millis(ms)), ..Holder::default() };
        let info = LockInfo {
            mode: Some(Mode::Shared),
            ttl: Some(Duration::from_millis(900)),
            holders: vec![holder(300), holder(900)],
            waiters: 0,
        };
        assert_eq!(ttl_lines(&info, true), ["900", "300"]);
        let foreign = LockInfo { mode: None, ttl: None, holders: vec![], waiters: 0 };
        assert_eq!(ttl_lines(&foreign, false), ["no expiry"]);
    }

    #[test]
    fn a_free_lock_shows_the_waiters_about_to_take_it() {
        let keys = LockKeys::new("rlock:", "deploy").unwrap();
        let who =
            Holder { host: "h".into(), pid: 7, user: "u".into(), since_ms: 1, ..Holder::default() };
        let waiter = Queued { id: "w".into(), ticket: 1, mode: Some(Mode::Limit(3)), who };
        let lines = status_lines(&keys, None, std::slice::from_ref(&waiter));
        assert_eq!(lines[1..3], ["state:    free", "waiters:  1"]);
        assert!(lines[3].starts_with("  1. h pid 7 user u; program: -; limit 3; waiting since "));
        assert_eq!(status_lines(&keys, None, &[]).len(), 2);
        let json = status_json(&keys, None, std::slice::from_ref(&waiter));
        assert_eq!((&json["held"], &json["waiters"]), (&json!(false), &json!(1)));
        assert_eq!(
            (&json["queue"][0]["mode"], &json["queue"][0]["limit"]),
            (&json!("limit"), &json!(3))
        );
        // The waiter's id never shows.
        assert!(!json.to_string().contains("\"w\""), "{json}");
        // A record without since_ms (an older rlock's): unknown, not 1970.
        let old = Queued { who: Holder::default(), ..waiter };
        assert!(
            status_lines(&keys, None, std::slice::from_ref(&old))[3].ends_with("since unknown")
        );
        let json = status_json(&keys, None, &[old]);
        assert!(json["queue"][0]["since"].is_null() && json["queue"][0]["since_unix_ms"].is_null());
    }
}
