//! What `ttl`, `status` and `list` print, in text and JSON.

use std::time::{Duration, SystemTime};

use serde_json::json;

use crate::lock::{Holder, LockInfo, LockKeys, Mode, millis};
use crate::report::{duration, whole_seconds};

/// The version of the JSON that `status`, `ttl`, `list` and `log` print (its `"version"` field),
/// raised when a field changes meaning or goes away (new fields do not raise it).
pub const JSON_VERSION: u32 = 1;

/// `status --json` (and `ttl --json`, and each element of `list --json`): one object; absent
/// facts are null. `holders` lists every holder in the order they took the lock; `holder` and
/// `fence` are the first of them (the only one of an exclusive lock).
pub fn status_json(keys: &LockKeys, info: Option<&LockInfo>) -> serde_json::Value {
    let holder = info.and_then(LockInfo::holder);
    let mode = info.and_then(|info| info.mode);
    let described = |h: &Holder| {
        json!({
            "host": h.host,
            "pid": h.pid,
            "user": h.user,
            "program": h.program,
            "label": (!h.label.is_empty()).then_some(&h.label),
            "since": humantime::format_rfc3339_seconds(h.since()).to_string(),
            "since_unix_ms": h.since_ms,
            "fence": h.fence,
            "ttl_ms": h.ttl.map(millis),
        })
    };
    json!({
        "version": JSON_VERSION,
        "key": keys.name,
        "redis_key": keys.lock,
        "held": info.is_some(),
        "mode": mode.map(|mode| match mode {
            Mode::Exclusive => "exclusive",
            Mode::Shared => "shared",
            Mode::Limit(_) => "limit",
        }),
        "limit": match mode {
            Some(Mode::Limit(limit)) => Some(limit),
            Some(Mode::Exclusive) => Some(1),
            _ => None,
        },
        "ttl_ms": info.and_then(|info| info.ttl).map(millis),
        "fence": holder.map(|h| h.fence),
        "waiters": info.map_or(0, |info| info.waiters),
        "holder": holder.map(described),
        "holders": info.map_or_else(Vec::new, |info| info.holders.iter().map(described).collect()),
    })
}

/// `status`: the lock, its state, each holder, its ttl, fence and waiters.
pub fn status_lines(keys: &LockKeys, info: Option<&LockInfo>) -> Vec<String> {
    let mut lines = vec![format!("lock:     {} (key {})", keys.name, keys.lock)];
    let Some(info) = info else {
        lines.push("state:    free".into());
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
        let ago = SystemTime::now().duration_since(h.since()).unwrap_or_default();
        let since = format!(
            "{} ({} ago)",
            humantime::format_rfc3339_seconds(h.since()),
            whole_seconds(ago)
        );
        let program = if h.program.is_empty() { "-" } else { &h.program };
        if info.mode == Some(Mode::Exclusive) {
            lines.push(format!("holder:   {} pid {} user {}", h.host, h.pid, h.user));
            lines.push(format!("program:  {program}"));
            lines.push(format!("since:    {since}"));
        } else {
            let ttl = h.ttl.map_or_else(|| "no expiry".to_owned(), duration);
            lines.push(format!(
                "holder:   {} pid {} user {}; fence {}; ttl {ttl}; since {since}; program: {program}",
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
    lines.push(format!("waiters:  {}", info.waiters));
    lines
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

/// `list`: a line per holder (a shared or limited lock shows as many as it has holders).
pub fn list_lines(keys: &LockKeys, info: &LockInfo) -> Vec<String> {
    info.holders
        .iter()
        .map(|holder| {
            let ttl = holder.ttl.map_or_else(|| "no expiry".to_owned(), duration);
            format!("{}\t{}\tttl {ttl}\tfence {}", keys.name, holder.short(), holder.fence)
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
}
