//! The Lua scripts that change locks. Each runs atomically in Redis (EVALSHA, loading it with
//! SCRIPT LOAD when the server has not seen it yet), so no change is ever a read followed by a
//! separate write. Every script starts with the helpers for shared and limited locks in
//! `scripts/holders.lua` and those that write the lock's history in `scripts/history.lua`;
//! those that touch the wait queue also with the helpers in `scripts/queue.lua`. `build.rs`
//! puts them together and computes their SHA1s.
//!
//! - [`ACQUIRE`] takes a free lock (or a place among shared or limited holders) when it is our
//!   turn, incrementing the fence and recording the holder, or joins and keeps a place in the queue.
//! - [`REFRESH`] extends a lock held with a given token.
//! - [`RELEASE`] releases a lock held with a given token and hands it to the next waiters.
//! - [`BREAK`] deletes a lock whoever holds it and hands it to the next waiters.
//! - [`LEAVE`] takes a waiter out of the queue, passing the turn on.
//! - [`INSPECT`] reads a lock's mode, remaining lifetime, holders and number of waiters.
//! - [`FENCE`] (quorum mode) raises a held lock's fencing counter to the fence the quorum agreed on.
//! - [`GIVE_BACK`] (quorum mode) gives back a lock a minority granted, keeping the waiter's place.

/// A script's text and its SHA1, the name EVALSHA calls it by.
#[derive(Debug)]
pub struct LuaScript {
    /// Its name, for messages (`acquire`, `release`...).
    pub name: &'static str,
    pub code: &'static str,
    pub sha1: &'static str,
}

include!(concat!(env!("OUT_DIR"), "/scripts.rs"));

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_are_those_redis_computes() {
        // What Redis's SCRIPT LOAD answers: the hex SHA1 of the text.
        for script in [&ACQUIRE, &REFRESH, &RELEASE, &BREAK, &LEAVE, &INSPECT, &FENCE, &GIVE_BACK] {
            let sha1 = redis::Script::new(script.code);
            assert_eq!(sha1.get_hash(), script.sha1);
        }
        assert!(ACQUIRE.code.starts_with(include_str!("scripts/holders.lua")));
        assert!(ACQUIRE.code.ends_with(include_str!("scripts/acquire.lua")));
    }
}
