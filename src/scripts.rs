//! The Lua scripts that change locks. Each runs atomically in Redis (EVALSHA, falling back to EVAL
//! when the server has not seen it yet), so no change is ever a read followed by a separate write.
//! Every script starts with the helpers for shared and limited locks in `scripts/holders.lua`;
//! those that touch the wait queue also with the helpers in `scripts/queue.lua`.

use std::sync::LazyLock;

use redis::Script;

macro_rules! with_holders {
    ($file:literal) => {
        concat!(include_str!("scripts/holders.lua"), "\n", include_str!($file))
    };
}

macro_rules! with_queue {
    ($file:literal) => {
        concat!(
            include_str!("scripts/holders.lua"),
            "\n",
            include_str!("scripts/queue.lua"),
            "\n",
            include_str!($file)
        )
    };
}

/// Takes a free lock (or a place among shared or limited holders) when it is our turn,
/// incrementing the fence and recording the holder, or joins and keeps a place in the queue.
pub static ACQUIRE: LazyLock<Script> =
    LazyLock::new(|| Script::new(with_queue!("scripts/acquire.lua")));
/// Extends a lock held with a given token.
pub static REFRESH: LazyLock<Script> =
    LazyLock::new(|| Script::new(with_holders!("scripts/refresh.lua")));
/// Deletes a lock held with a given token and wakes the next waiter.
pub static RELEASE: LazyLock<Script> =
    LazyLock::new(|| Script::new(with_queue!("scripts/release.lua")));
/// Deletes a lock whoever holds it and wakes the next waiter.
pub static BREAK: LazyLock<Script> =
    LazyLock::new(|| Script::new(with_queue!("scripts/break.lua")));
/// Takes a waiter out of the queue, passing the turn on if the lock is free.
pub static LEAVE: LazyLock<Script> =
    LazyLock::new(|| Script::new(with_queue!("scripts/leave.lua")));
/// Reads a lock's remaining lifetime, holder and number of waiters.
pub static INSPECT: LazyLock<Script> =
    LazyLock::new(|| Script::new(with_queue!("scripts/inspect.lua")));
/// Quorum mode: raises a held lock's fencing counter to the fence the majority agreed on.
pub static FENCE: LazyLock<Script> =
    LazyLock::new(|| Script::new(with_holders!("scripts/fence.lua")));
