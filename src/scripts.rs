//! The Lua scripts that change locks. Each runs atomically in Redis (EVALSHA, falling back to EVAL
//! when the server has not seen it yet), so no change is ever a read followed by a separate write.

use std::sync::LazyLock;

use redis::Script;

/// Takes a free lock, increments its fencing counter and records the holder.
pub static ACQUIRE: LazyLock<Script> =
    LazyLock::new(|| Script::new(include_str!("scripts/acquire.lua")));
/// Extends a lock held with a given token.
pub static REFRESH: LazyLock<Script> =
    LazyLock::new(|| Script::new(include_str!("scripts/refresh.lua")));
/// Deletes a lock held with a given token.
pub static RELEASE: LazyLock<Script> =
    LazyLock::new(|| Script::new(include_str!("scripts/release.lua")));
/// Deletes a lock whoever holds it.
pub static BREAK: LazyLock<Script> =
    LazyLock::new(|| Script::new(include_str!("scripts/break.lua")));
/// Reads a lock's remaining lifetime and holder.
pub static INSPECT: LazyLock<Script> =
    LazyLock::new(|| Script::new(include_str!("scripts/inspect.lua")));
