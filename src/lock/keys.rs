//! Key naming: the lock record and everything rlock keeps beside it, in one Redis Cluster slot.

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
    /// The fencing counter, incremented by every acquisition; it never expires.
    pub fence: String,
    /// The wait queue: a sorted set of waiter ids, scored by their ticket (arrival order).
    pub queue: String,
    /// When each waiter's place lapses unless it sends a heartbeat: a sorted set of waiter ids,
    /// scored by that deadline in Redis's own clock (milliseconds).
    pub alive: String,
    /// The holders of a shared or limited lock: a sorted set of tokens, scored by the end of each
    /// one's lifetime in Redis's own clock (milliseconds); each has its record at `holders:TOKEN`.
    pub holders: String,
}

impl LockKeys {
    /// The keys of the lock `name` under `prefix`. Refuses an empty name.
    pub fn new(prefix: &str, name: &str) -> Result<LockKeys> {
        if name.is_empty() {
            bail!("the lock name is empty: give a name such as 'deploy' (rlock run deploy -- CMD)");
        }
        let lock = format!("{prefix}{name}");
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
            lock,
        })
    }

    /// All keys in the order the Lua scripts expect them: lock, holder, fence, queue, alive,
    /// holders.
    pub fn all(&self) -> [&str; 6] {
        [&self.lock, &self.holder, &self.fence, &self.queue, &self.alive, &self.holders]
    }

    /// The list a waiter blocks on (BLPOP) until it is told the lock is free. The scripts build the
    /// same name as `queue .. ':' .. id`.
    pub fn wake(&self, waiter: &str) -> String {
        format!("{}:{waiter}", self.queue)
    }
}

/// A key in the same Cluster slot as `key`: `{key}:suffix`, or `key:suffix` when `key` already
/// carries a hash tag (which then decides the slot for both).
pub fn sibling(key: &str, suffix: &str) -> String {
    if has_hash_tag(key) { format!("{key}:{suffix}") } else { format!("{{{key}}}:{suffix}") }
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
        assert_eq!(keys.holder, "{rlock:deploy}:holder");
        assert_eq!(keys.fence, "{rlock:deploy}:fence");
        assert_eq!(keys.queue, "{rlock:deploy}:queue");
        assert_eq!(keys.holders, "{rlock:deploy}:holders");
        assert_eq!(keys.wake("w1"), "{rlock:deploy}:queue:w1");
    }

    #[test]
    fn names_with_a_hash_tag_keep_it() {
        let keys = LockKeys::new("", "{app}.deploy").unwrap();
        assert_eq!(keys.lock, "{app}.deploy");
        assert_eq!(keys.holder, "{app}.deploy:holder");
    }

    #[test]
    fn empty_braces_are_no_hash_tag() {
        assert!(!has_hash_tag("a{}b"));
        assert!(!has_hash_tag("a{b"));
        assert!(has_hash_tag("a{b}"));
        assert!(has_hash_tag("}{x}"));
        assert_eq!(sibling("a{b", "fence"), "{a{b}:fence");
    }

    #[test]
    fn a_closing_brace_without_a_tag_is_refused() {
        // "{a{}b}:fence" would hash "a{", not the whole "a{}b": the slots would differ.
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
}
