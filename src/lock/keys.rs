//! Key naming: the lock record and everything rlock keeps beside it, in one Redis Cluster slot.
//!
//! The lock record is `PREFIX + NAME`, as every Redis lock library names it. The companion keys
//! beside it are `{KEY}}suffix` (or `KEY}}suffix` when KEY already holds a hash tag): the hash tag
//! keeps them in the lock record's slot, and the `}}` keeps them apart from every lock record,
//! since rlock refuses a lock whose key holds `}}`. So no lock name, under any prefix (even `''`),
//! names another lock's companion key, and no two locks share one: the suffix is what follows
//! the last `}` (suffixes hold none), and what is left, less its `}}`, is `{KEY` or `KEY`, which
//! tell themselves apart (a `{KEY` with no `}` in it has no hash tag).

use anyhow::{Result, bail};

/// The Redis keys that make up one lock.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LockKeys {
    /// The name the user gave (`deploy`).
    pub name: String,
    /// The lock record, `PREFIX + name`: a string holding the holder's token, with an expiry.
    pub lock: String,
    /// Who holds it: a hash with the same expiry as the lock record.
    pub holder: String,
    /// The fencing counter: the last fence handed out, kept for a long time (see the scripts).
    pub fence: String,
    /// The wait queue: a sorted set of waiter ids, scored by their ticket (arrival order).
    pub queue: String,
    /// When each waiter's place lapses unless it sends a heartbeat: a sorted set of waiter ids,
    /// scored by that deadline in Redis's own clock (milliseconds).
    pub alive: String,
    /// The holders of a shared or limited lock: a sorted set of tokens, scored by the end of each
    /// one's lifetime in Redis's own clock (milliseconds); each has its record at `holders:TOKEN`.
    pub holders: String,
    /// The lock's history: a list of the holds that began and ended, capped and expiring (see
    /// [`crate::lock::history`]).
    pub log: String,
}

impl LockKeys {
    /// The keys of the lock `name` under `prefix`. Refuses an empty name, control characters
    /// (tab, newline, escape...), a `}` that would split the slot, and `}}`, which only rlock's
    /// companion keys hold.
    pub fn new(prefix: &str, name: &str) -> Result<LockKeys> {
        if name.is_empty() {
            bail!("the lock name is empty: give a name such as 'deploy' (rlock run deploy -- CMD)");
        }
        for (what, text) in [("lock name", name), ("prefix", prefix)] {
            if let Some(c) = text.chars().find(|c| c.is_control()) {
                bail!(
                    "the {what} {text:?} holds a control character ({:?}): give one without tabs, \
                     newlines or other control characters",
                    c
                );
            }
        }
        let lock = format!("{prefix}{name}");
        if lock.contains(RESERVED) {
            bail!(
                "the key '{lock}' holds '{RESERVED}', which rlock keeps for the keys it writes \
                 beside each lock: choose a name without it"
            );
        }
        if lock.contains('}') && !has_hash_tag(&lock) {
            bail!(
                "the key '{lock}' has a '}}' but no hash tag, so its companion keys could not share \
                 its Redis Cluster slot: drop the '}}' or give a full tag such as '{{{name}}}'"
            );
        }
        Ok(LockKeys {
            name: name.to_owned(),
            holder: sibling(&lock, "holder"),
            fence: sibling(&lock, "fence"),
            queue: sibling(&lock, "queue"),
            alive: sibling(&lock, "alive"),
            holders: sibling(&lock, "holders"),
            log: sibling(&lock, "log"),
            lock,
        })
    }

    /// All keys in the order the Lua scripts expect them: lock, holder, fence, queue, alive,
    /// holders, log.
    pub fn all(&self) -> [&str; 7] {
        [&self.lock, &self.holder, &self.fence, &self.queue, &self.alive, &self.holders, &self.log]
    }

    /// The list a waiter blocks on (BLPOP) until it is told the lock is free. The scripts build the
    /// same name as `queue .. ':' .. id`.
    pub fn wake(&self, waiter: &str) -> String {
        format!("{}:{waiter}", self.queue)
    }
}

/// What every companion key holds and no lock record may.
const RESERVED: &str = "}}";

/// A companion key of the lock record `key`, in the same Cluster slot: `{key}}suffix`, or
/// `key}}suffix` when `key` already carries a hash tag (which then decides the slot for both).
/// `suffix` holds no `}`.
pub fn sibling(key: &str, suffix: &str) -> String {
    if has_hash_tag(key) { format!("{key}}}}}{suffix}") } else { format!("{{{key}}}}}{suffix}") }
}

/// Whether Redis Cluster would hash only part of `key`: a `{` followed later by a `}` with at least
/// one character between them.
pub fn has_hash_tag(key: &str) -> bool {
    match key.find('{') {
        Some(open) => matches!(key[open + 1..].find('}'), Some(len) if len > 0),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_names_get_a_hash_tag() {
        let keys = LockKeys::new("rlock:", "deploy").unwrap();
        assert_eq!(keys.lock, "rlock:deploy");
        assert_eq!(keys.holder, "{rlock:deploy}}holder");
        assert_eq!(keys.fence, "{rlock:deploy}}fence");
        assert_eq!(keys.queue, "{rlock:deploy}}queue");
        assert_eq!(keys.holders, "{rlock:deploy}}holders");
        assert_eq!(keys.log, "{rlock:deploy}}log");
        assert_eq!(keys.wake("w1"), "{rlock:deploy}}queue:w1");
    }

    #[test]
    fn names_with_a_hash_tag_keep_it() {
        let keys = LockKeys::new("", "{app}.deploy").unwrap();
        assert_eq!(keys.lock, "{app}.deploy");
        assert_eq!(keys.holder, "{app}.deploy}}holder");
        assert_eq!(keys.log, "{app}.deploy}}log");
        assert_eq!(LockKeys::new("", "{a}").unwrap().fence, "{a}}}fence");
    }

    #[test]
    fn empty_braces_are_no_hash_tag() {
        assert!(!has_hash_tag("a{}b"));
        assert!(!has_hash_tag("a{b"));
        assert!(has_hash_tag("a{b}"));
        assert!(has_hash_tag("}{x}"));
        assert_eq!(sibling("a{b", "fence"), "{a{b}}fence");
    }

    #[test]
    fn a_closing_brace_without_a_tag_is_refused() {
        // "{a{}b}}fence" would hash "a{", not the whole "a{}b": the slots would differ.
        let err = LockKeys::new("", "a{}b").unwrap_err().to_string();
        assert!(err.contains("hash tag"), "{err}");
        assert!(LockKeys::new("", "a}b").is_err());
        assert!(LockKeys::new("", "{a}b}").is_ok());
    }

    #[test]
    fn empty_name_is_refused() {
        let err = LockKeys::new("rlock:", "").unwrap_err().to_string();
        assert!(err.contains("empty"), "{err}");
    }

    #[test]
    fn control_characters_are_refused() {
        for name in ["a\tb", "line\n", "\u{1b}[31mred", "nul\0", "del\u{7f}", "c1\u{85}"] {
            let err = LockKeys::new("rlock:", name).unwrap_err().to_string();
            assert!(err.contains("control character"), "{name:?}: {err}");
        }
        let err = LockKeys::new("p\n", "a").unwrap_err().to_string();
        assert!(err.contains("prefix"), "{err}");
        // Other characters are fine, spaces and Unicode too.
        assert!(LockKeys::new("rlock:", "nightly backup é").is_ok());
    }

    #[test]
    fn companion_keys_are_no_lock_records() {
        // Today's keys of lock 'a' under the empty prefix, and the names that would take them.
        let a = LockKeys::new("", "a").unwrap();
        for key in [&a.holder, &a.fence, &a.queue, &a.alive, &a.holders, &a.log, &a.wake("w")] {
            let err = LockKeys::new("", key).unwrap_err().to_string();
            assert!(err.contains("}}"), "{key}: {err}");
        }
        // The names that took them before: lock 'a' and lock '{a}' shared every companion key,
        // and '{a}:fence' was lock 'a''s counter.
        let tagged = LockKeys::new("", "{a}").unwrap();
        let colon = LockKeys::new("", "{a}:fence").unwrap();
        let mut all: Vec<String> = [&a, &tagged, &colon]
            .iter()
            .flat_map(|keys| keys.all().map(str::to_owned).into_iter().chain([keys.wake("w")]))
            .collect();
        let n = all.len();
        all.sort();
        all.dedup();
        assert_eq!(all.len(), n, "{all:?}");
        assert!(LockKeys::new("", "a}}b").is_err());
        assert!(LockKeys::new("x}", "}y").is_err());
    }
}
