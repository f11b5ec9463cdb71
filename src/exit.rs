//! Every way rlock can end, and the number each one exits with.
//!
//! The README's exit-code table is this enum; keep the two in step.

/// Exit code when the lock could not be obtained (`-n`, or `--wait` ran out), unless `-E` says otherwise.
/// It is `EX_TEMPFAIL` from sysexits.h: "try again later".
pub const CONFLICT: u8 = 75;

/// Every exit status and what it means, for the man page (and in the README's words).
pub const TABLE: [(&str, &str); 9] = [
    ("the command's", "the command ran, and exited with this status"),
    ("128+N", "the command died of signal N (143 for SIGTERM, 137 for SIGKILL)"),
    (
        "75",
        "the lock was not obtained: it was held and -n was given, or --wait ran out \
         (-E changes the code)",
    ),
    (
        "123",
        "the command ran for its --timeout: rlock stopped it (SIGTERM, then SIGKILL after \
         --kill-grace) and released the lock, whatever status it then exited with",
    ),
    (
        "124",
        "the lock was lost while the command ran (rlock stopped the command), or was found \
         gone when the command ended",
    ),
    (
        "125",
        "rlock itself failed: bad usage, Redis unreachable (for a waiter: still unreachable \
         when its --wait ran out), authentication or TLS refused, an unexpected reply, or a lock \
         in use with another --limit",
    ),
    ("126", "the command was found but could not be executed"),
    ("127", "the command was not found"),
    (
        "0 or 1",
        "ttl, status, refresh, release and break: 0 when the lock is held or the action was \
         done, 1 when it is free or not held with the token",
    ),
];

/// How rlock ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// Everything asked for was done (`acquire`, `refresh`, `release`, `break`, or `ttl`/`status` of a held lock).
    Success,
    /// The lock is free, or not held with the given token (`ttl`, `status`, `refresh`, `release`, `break`).
    NotHeld,
    /// The command ran and exited with this status.
    Command(u8),
    /// The command died of this signal: exit 128 + N.
    Signal(i32),
    /// The lock was not obtained; the code is 75 or the one given with `-E`.
    Conflict(u8),
    /// The command ran for its `--timeout`: rlock stopped it and released the lock.
    TimedOut,
    /// The lock was lost while the command ran (rlock stopped it), or found gone at its end.
    LockLost,
    /// rlock itself failed: bad usage, Redis unreachable, refused or answering oddly.
    Failure,
    /// The command was found but could not be executed.
    CannotExecute,
    /// The command was not found.
    NotFound,
}

impl Exit {
    /// The process exit status for this outcome.
    pub fn code(self) -> u8 {
        match self {
            Exit::Success => 0,
            Exit::NotHeld => 1,
            Exit::Command(code) => code,
            // Signal numbers on Linux are 1..=64, so this stays within 129..=192.
            Exit::Signal(signal) => 128u8.saturating_add(u8::try_from(signal).unwrap_or(127)),
            Exit::Conflict(code) => code,
            Exit::TimedOut => 123,
            Exit::LockLost => 124,
            Exit::Failure => 125,
            Exit::CannotExecute => 126,
            Exit::NotFound => 127,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_match_the_table() {
        assert_eq!(Exit::Success.code(), 0);
        assert_eq!(Exit::NotHeld.code(), 1);
        assert_eq!(Exit::Command(255).code(), 255);
        assert_eq!(Exit::Signal(15).code(), 143);
        assert_eq!(Exit::Signal(9).code(), 137);
        assert_eq!(Exit::Conflict(CONFLICT).code(), 75);
        assert_eq!(Exit::TimedOut.code(), 123);
        assert_eq!(Exit::LockLost.code(), 124);
        assert_eq!(Exit::Failure.code(), 125);
        assert_eq!(Exit::CannotExecute.code(), 126);
        assert_eq!(Exit::NotFound.code(), 127);
    }
}
