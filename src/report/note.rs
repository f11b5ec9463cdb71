//! The wording of every message the supervisor of `rlock run` (and `acquire`) gives, and the
//! level each is shown at.

use std::fmt::{self, Display};
use std::time::Duration;

use crate::lock::LockInfo;
use crate::report::{Level, at, duration, signal_name};

/// What the supervisor of `rlock run` (and `acquire`) has to say.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Note {
    /// `-v`: the lock is ours.
    Acquired { name: String, fence: u64, ttl: Duration },
    /// `-v`: the command started.
    Started { pid: u32 },
    /// The command could not be started, or could not be found.
    CannotStart(String),
    /// A signal arrived while waiting: nothing was run.
    InterruptedWaiting(i32),
    /// The lock was not obtained: who holds it (if that could be read).
    GaveUp { name: String, info: Option<Option<LockInfo>> },
    /// `-vv`: a signal passed on to the command.
    PassedOn(i32),
    /// A second SIGINT or SIGTERM: the command is killed.
    SecondSignal(i32),
    /// The command was stopped by a signal; the lock is still held.
    Stopped { signal: i32, pid: u32, rlock: u32 },
    /// The lock was lost while the command ran, or could not be kept: the command is being
    /// stopped, with SIGKILL due in `kill_in`.
    Lost { name: String, reason: String, kill_in: Duration },
    /// The command's leader ended, leaving these processes running: the lock stays held.
    LeftBehind { name: String, pids: Vec<i32> },
    /// A lock reached us with too little of its lease left to use (Redis answered too slowly);
    /// it was given back.
    TooLate { name: String, left: Duration, ttl: Duration },
    /// The command ran for its `--timeout`: it is being stopped, with SIGKILL due in `kill_in`.
    TimedOut { timeout: Duration, kill_in: Duration },
    /// The command outlived its SIGTERM: SIGKILL follows.
    KillAfterGrace,
    /// `-vv`: a refresh went through.
    Refreshed { name: String, ttl: Duration },
    /// `-v`: a refresh failed and is retried.
    RefreshFailed(String),
    /// Redis answers again after failed refreshes.
    AnswersAgain,
    /// How the release at the end went.
    Released { name: String, result: Result<bool, String>, ttl: Duration },
    /// rlock itself failed (exit 125): why.
    Failed(String),
}

impl Note {
    /// The level at which it is shown.
    fn level(&self) -> Level {
        match self {
            Note::CannotStart(_) | Note::Lost { .. } | Note::Failed(_) => Level::Quiet,
            Note::Released { result: Ok(false), .. } => Level::Quiet,
            Note::Acquired { .. } | Note::Started { .. } | Note::RefreshFailed(_) => Level::Detail,
            Note::Released { result: Ok(true), .. } => Level::Detail,
            Note::PassedOn(_) | Note::Refreshed { .. } => Level::Steps,
            _ => Level::Notice,
        }
    }
}

impl Display for Note {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Note::Acquired { name, fence, ttl } => {
                write!(f, "acquired '{name}' (fence {fence}, ttl {})", duration(*ttl))
            }
            Note::Started { pid } => write!(f, "started pid {pid}"),
            Note::CannotStart(message) | Note::Failed(message) => f.write_str(message),
            Note::InterruptedWaiting(signal) => {
                write!(f, "{} while waiting; nothing was run", signal_name(*signal))
            }
            Note::GaveUp { name, info } => match info {
                Some(Some(info)) => {
                    let who = match info.holders.as_slice() {
                        [] => String::new(),
                        [holder] => format!(" by {}", holder.short()),
                        many => format!(" by {} holders", many.len()),
                    };
                    let ttl = match info.ttl {
                        Some(ttl) => format!("for another {}", duration(ttl)),
                        None => "with no expiry".into(),
                    };
                    write!(f, "'{name}' is held{who} {ttl}")
                }
                Some(None) => write!(f, "'{name}' was held until just now, or others were ahead"),
                None => write!(f, "'{name}' was held; gave up waiting"),
            },
            Note::PassedOn(signal) => {
                write!(f, "passing {} on to the command", signal_name(*signal))
            }
            Note::SecondSignal(signal) => {
                write!(f, "second {}: killing the command", signal_name(*signal))
            }
            Note::Stopped { signal, pid, rlock } => {
                let hint = if [libc::SIGTTIN, libc::SIGTTOU].contains(signal) {
                    " (it tried to use the terminal, which rlock hands it only when run in the \
                     terminal's foreground and not in a pipeline: run rlock so, or give the \
                     command input from a file or a pipe)"
                } else {
                    ""
                };
                write!(
                    f,
                    "the command was stopped by {}{hint}; the lock is still held. Resume it \
                     with kill -CONT -{pid}, or end it with kill {rlock}",
                    signal_name(*signal)
                )
            }
            Note::Lost { name, reason, kill_in } => write!(
                f,
                "lost the lock '{name}': {reason}; stopping the command before anyone else can \
                 get it (SIGTERM now, SIGKILL in {})",
                duration(*kill_in)
            ),
            Note::TimedOut { timeout, kill_in } => write!(
                f,
                "the command ran for its --timeout of {}: stopping it (SIGTERM now, SIGKILL in {} \
                 if it goes on), then releasing the lock; exit 123",
                duration(*timeout),
                duration(*kill_in)
            ),
            Note::KillAfterGrace => {
                f.write_str("the command did not end after SIGTERM; sending SIGKILL to its group")
            }
            Note::Refreshed { name, ttl } => write!(f, "refreshed '{name}' for {}", duration(*ttl)),
            Note::TooLate { name, left, ttl } => write!(
                f,
                "Redis answered too late: '{name}' had only {} of its {} ttl left when it \
                 reached rlock, too little to use; gave it back and waiting on (is the link to \
                 Redis slow?)",
                duration(*left),
                duration(*ttl)
            ),
            Note::LeftBehind { name, pids } => {
                let pids: Vec<String> = pids.iter().map(i32::to_string).collect();
                let (count, them) = match pids.len() {
                    1 => ("a process".to_owned(), "it ends"),
                    n => (format!("{n} processes"), "they end"),
                };
                write!(
                    f,
                    "the command ended but left {count} running (pid {}): '{name}' stays held \
                     until {them}",
                    pids.join(", ")
                )
            }
            Note::RefreshFailed(err) => write!(f, "refresh failed, retrying: {err}"),
            Note::AnswersAgain => f.write_str("Redis answers again; the lock is still ours"),
            Note::Released { name, result, ttl } => match result {
                Ok(true) => write!(f, "released '{name}'"),
                Ok(false) => write!(
                    f,
                    "lost the lock '{name}' while the command ran: Redis no longer had it under \
                     our token when the command ended (broken, deleted or taken); exit 124"
                ),
                Err(err) => write!(
                    f,
                    "could not release '{name}' ({err}); it lapses within {}",
                    duration(*ttl)
                ),
            },
        }
    }
}

/// What a waiter says when Redis goes away while it waits (restarting, failing over), and when
/// it comes back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outage<'a> {
    /// The waiter lost Redis (`why`) and tries to get back for the `left` of its patience
    /// (`None`: for as long as it takes).
    Lost { name: &'a str, why: &'a str, left: Option<Duration> },
    /// Another try to get back failed.
    Still { name: &'a str, why: &'a str, down: Duration },
    /// Redis answers again, after `down`.
    Back { name: &'a str, down: Duration },
    /// The patience ran out while Redis stayed away: why rlock fails (exit 125).
    GaveUp { name: &'a str, why: &'a str, down: Duration },
}

impl Display for Outage<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Outage::Lost { name, why, left } => {
                let within = match left {
                    Some(left) => format!("for up to {} more, as --wait allows", rough(*left)),
                    None => "for as long as it takes (no --wait)".to_owned(),
                };
                write!(
                    f,
                    "Redis went away while waiting for '{name}' ({why}); reconnecting {within}"
                )
            }
            Outage::Still { name, why, down } => {
                write!(
                    f,
                    "still no Redis for '{name}' after {} ({why}); trying again",
                    rough(*down)
                )
            }
            Outage::Back { name, down } => {
                write!(
                    f,
                    "Redis answers again after {}; back in the queue for '{name}'",
                    rough(*down)
                )
            }
            Outage::GaveUp { name, why, down } => write!(
                f,
                "gave up waiting for '{name}': Redis stayed unreachable for {} until --wait ran \
                 out ({why})",
                rough(*down)
            ),
        }
    }
}

/// A duration to 10 ms below a second, to a tenth of a second below ten, to the second above:
/// how long Redis was away, or how much patience is left, is not known more closely.
fn rough(length: Duration) -> String {
    let step: u128 = if length < Duration::from_secs(1) {
        10
    } else if length < Duration::from_secs(10) {
        100
    } else {
        1000
    };
    let millis = (length.as_millis() + step / 2) / step * step;
    duration(Duration::from_millis(u64::try_from(millis).unwrap_or(u64::MAX)))
}

impl Note {
    /// Shows the note, at its level.
    pub fn show(&self) {
        at(self.level(), self);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notes_have_levels() {
        let lost = Note::Lost { name: "k".into(), reason: "gone".into(), kill_in: Duration::ZERO };
        assert_eq!(lost.level(), Level::Quiet);
        assert_eq!(Note::PassedOn(2).level(), Level::Steps);
        assert_eq!(Note::Started { pid: 1 }.level(), Level::Detail);
        assert_eq!(Note::AnswersAgain.level(), Level::Notice);
        let released = |result| Note::Released { name: "k".into(), result, ttl: Duration::ZERO };
        assert_eq!(released(Ok(true)).level(), Level::Detail);
        // A lock found gone at the end is said even with -q: the exit is 124.
        assert_eq!(released(Ok(false)).level(), Level::Quiet);
        assert_eq!(released(Err("down".into())).level(), Level::Notice);
        assert_eq!(Note::SecondSignal(2).to_string(), "second SIGINT: killing the command");
    }

    #[test]
    fn outages_say_what_happens_and_for_how_long() {
        let why = "lost the connection to Redis at redis://h:1 (broken pipe)";
        let lost = Outage::Lost { name: "k", why, left: Some(Duration::from_secs(12)) };
        assert_eq!(
            lost.to_string(),
            format!(
                "Redis went away while waiting for 'k' ({why}); reconnecting for up to 12s \
                     more, as --wait allows"
            )
        );
        let forever = Outage::Lost { name: "k", why, left: None }.to_string();
        assert!(forever.ends_with("reconnecting for as long as it takes (no --wait)"), "{forever}");
        let back = Outage::Back { name: "k", down: Duration::from_millis(1467) }.to_string();
        assert_eq!(back, "Redis answers again after 1s 500ms; back in the queue for 'k'");
        assert_eq!(rough(Duration::from_millis(19_517)), "20s");
        assert_eq!(rough(Duration::from_millis(9_017)), "9s");
        assert_eq!(rough(Duration::from_millis(9_467)), "9s 500ms");
        assert_eq!(rough(Duration::from_millis(49)), "50ms");
        assert_eq!(rough(Duration::from_millis(61_700)), "1m 2s");
        let gave_up = Outage::GaveUp { name: "k", why, down: Duration::from_secs(3) }.to_string();
        assert!(gave_up.starts_with("gave up waiting for 'k': Redis stayed unreachable for 3s"));
        assert!(gave_up.contains(why), "{gave_up}");
    }
}
