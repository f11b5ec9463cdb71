//! How many may hold a lock at once: one (exclusive, the default), any number of readers while no
//! writer holds it (`--shared`), or at most N (`--limit N`, a semaphore).

use std::fmt;

/// The way a lock is held.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Mode {
    /// One holder at a time; a shared holder waits for it, and it for them.
    #[default]
    Exclusive,
    /// Any number of shared holders together, never with an exclusive one.
    Shared,
    /// At most this many holders at once (2 or more; a limit of 1 is [`Mode::Exclusive`]).
    Limit(u32),
}

impl Mode {
    /// The mode the options `--limit` and `--shared` ask for (clap keeps them apart).
    pub fn from_options(limit: Option<u32>, shared: bool) -> Mode {
        match (limit, shared) {
            (_, true) => Mode::Shared,
            (Some(limit), false) if limit > 1 => Mode::Limit(limit),
            _ => Mode::Exclusive,
        }
    }

    /// The mode as the Lua scripts take and return it: `x`, `s` or the limit.
    pub fn code(self) -> String {
        match self {
            Mode::Exclusive => "x".into(),
            Mode::Shared => "s".into(),
            Mode::Limit(limit) => limit.to_string(),
        }
    }

    /// Reads a mode from a script's reply; `None` for anything else.
    pub fn from_code(code: &str) -> Option<Mode> {
        match code {
            "x" => Some(Mode::Exclusive),
            "s" => Some(Mode::Shared),
            number => match number.parse() {
                Ok(limit) if limit > 1 => Some(Mode::Limit(limit)),
                _ => None,
            },
        }
    }

    /// How many servers of a quorum of `servers` must grant the lock. Any `limit + 1` sets of
    /// that many servers share a server (`(limit + 1) * (servers - quorum) < servers`), and that
    /// server would refuse the extra holder, so no more than `limit` can ever hold it. For an
    /// exclusive or shared lock this is a majority: a writer's and a reader's majorities meet.
    pub fn quorum(self, servers: usize) -> usize {
        let limit = match self {
            Mode::Limit(limit) => usize::try_from(limit).unwrap_or(usize::MAX),
            Mode::Exclusive | Mode::Shared => 1,
        };
        let quorum = (servers as u128 * limit as u128 / (limit as u128 + 1)) as usize + 1;
        quorum.min(servers)
    }

    /// The options that ask for this mode, as a user would type them.
    pub fn options(self) -> String {
        match self {
            Mode::Exclusive => "no --limit or --shared".into(),
            Mode::Shared => "--shared".into(),
            Mode::Limit(limit) => format!("--limit {limit}"),
        }
    }
}

impl fmt::Display for Mode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Mode::Exclusive => f.write_str("an exclusive lock"),
            Mode::Shared => f.write_str("a shared lock"),
            Mode::Limit(limit) => write!(f, "a lock for at most {limit} holders (--limit {limit})"),
        }
    }
}

/// A lock is in use in one mode and rlock was asked to use it in another that cannot go with it
/// (a limit with a different limit, or with an exclusive or shared lock). Exit 125: the callers
/// disagree, and mixing them would break what each of them promises.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModeConflict {
    /// The lock's name.
    pub lock: String,
    /// The mode it is held or waited for in.
    pub found: Mode,
    /// The mode this rlock asked for.
    pub asked: Mode,
    /// Whether this rlock holds it (refresh, release) rather than wants it.
    pub holding: bool,
}

impl fmt::Display for ModeConflict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ModeConflict { lock, found, asked, .. } = self;
        if self.holding {
            write!(
                f,
                "the token holds '{lock}' as {found}, not as {asked}: give {} (or neither \
                 --limit nor --shared)",
                found.options()
            )
        } else {
            write!(
                f,
                "'{lock}' is in use as {found}, but this rlock asked for {asked}: every rlock \
                 that uses one lock must give it the same --limit (use {}, or another lock name)",
                found.options()
            )
        }
    }
}

impl std::error::Error for ModeConflict {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip() {
        for mode in [Mode::Exclusive, Mode::Shared, Mode::Limit(2), Mode::Limit(40)] {
            assert_eq!(Mode::from_code(&mode.code()), Some(mode));
        }
        assert_eq!(Mode::from_code("1"), None);
        assert_eq!(Mode::from_code(""), None);
        assert_eq!(Mode::from_options(Some(1), false), Mode::Exclusive);
        assert_eq!(Mode::from_options(Some(3), false), Mode::Limit(3));
        assert_eq!(Mode::from_options(None, true), Mode::Shared);
    }

    #[test]
    fn quorums_keep_the_limit() {
        assert_eq!(Mode::Exclusive.quorum(3), 2);
        assert_eq!(Mode::Shared.quorum(5), 3);
        assert_eq!(Mode::Limit(2).quorum(3), 3);
        assert_eq!(Mode::Limit(2).quorum(5), 4);
        assert_eq!(Mode::Limit(4).quorum(5), 5);
        // The table in docs/usage.md ("Sharing a lock").
        let row = |servers| [2, 3, 4].map(|limit| Mode::Limit(limit).quorum(servers));
        assert_eq!([row(3), row(5), row(7)], [[3, 3, 3], [4, 4, 5], [5, 6, 6]]);
        assert_eq!(Mode::Limit(u32::MAX).quorum(7), 7);
        // The defining property, checked by brute force: limit + 1 quorums always meet.
        for servers in 1..=9usize {
            for limit in 1..=5u32 {
                let quorum = Mode::Limit(limit).quorum(servers);
                let limit = limit as usize;
                assert!((limit + 1) * (servers - quorum) < servers, "{servers} {limit}");
                // And no smaller quorum would do.
                assert!(quorum == 1 || (limit + 1) * (servers - quorum + 1) >= servers);
            }
        }
    }
}
