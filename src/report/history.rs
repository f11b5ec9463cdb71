//! What `log` prints: a lock's last holds, newest last, a line each in text, or one JSON object.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::json;

use crate::lock::history::{Hold, Outcome, State};
use crate::lock::{LockKeys, Mode};
use crate::report::views::JSON_VERSION;
use crate::report::{duration, signal_name, whole_seconds};

/// `log`: a line per hold, tab-separated as `list` prints: when it began, the holder (host and
/// pid), user, program, label, fence, how long it lasted (a hold still going: so far, at `now`)
/// and how it ended. What the history does not say is `-`.
pub fn log_lines(holds: &[Hold], now: SystemTime) -> Vec<String> {
    holds
        .iter()
        .map(|hold| {
            let text = |value: &Option<String>| match value {
                Some(value) if !value.is_empty() => visible(value),
                _ => "-".to_owned(),
            };
            let number =
                |value: Option<u64>| value.map_or_else(|| "-".to_owned(), |n| n.to_string());
            let held = match (hold.held_ms, hold.state) {
                (Some(ms), _) => duration(Duration::from_millis(ms)),
                (None, State::Holding) => match hold.began_ms {
                    Some(began) => {
                        let since = UNIX_EPOCH + Duration::from_millis(began);
                        let so_far = now.duration_since(since).unwrap_or_default();
                        format!("{} so far", whole_seconds(so_far))
                    }
                    None => "so far".to_owned(),
                },
                (None, _) => "-".to_owned(),
            };
            format!(
                "{}\t{} pid {}\tuser {}\t{}\tlabel {}\tfence {}\theld {held}\t{}",
                time(hold.began_ms),
                text(&hold.host),
                number(hold.pid.map(u64::from)),
                text(&hold.user),
                text(&hold.program),
                text(&hold.label),
                number(hold.fence),
                ending(hold)
            )
        })
        .collect()
}

/// `log --json`: the lock and its holds, oldest first; absent facts are null.
pub fn log_json(keys: &LockKeys, holds: &[Hold]) -> serde_json::Value {
    let holds: Vec<serde_json::Value> = holds
        .iter()
        .map(|hold| {
            let (end, ended) = match hold.state {
                State::Ended { outcome, at_ms } => (outcome_name(outcome), Some(at_ms)),
                State::Holding => ("holding", None),
                State::Unrecorded => ("unrecorded", None),
            };
            json!({
                "id": hold.id,
                "began": hold.began_ms.map(rfc3339),
                "began_unix_ms": hold.began_ms,
                "host": hold.host,
                "pid": hold.pid,
                "user": hold.user,
                "program": hold.program,
                "label": hold.label.as_ref().filter(|label| !label.is_empty()),
                "fence": hold.fence,
                "mode": hold.mode.map(|mode| match mode {
                    Mode::Exclusive => "exclusive",
                    Mode::Shared => "shared",
                    Mode::Limit(_) => "limit",
                }),
                "end": end,
                "ended": ended.map(rfc3339),
                "ended_unix_ms": ended,
                "held_ms": hold.held_ms,
                "exit_status": hold.exit,
                "signal": hold.signal,
            })
        })
        .collect();
    json!({
        "version": JSON_VERSION,
        "key": keys.name,
        "redis_key": keys.lock,
        "history_key": keys.log,
        "holds": holds,
    })
}

/// How a hold ended, with its command's status when known.
fn ending(hold: &Hold) -> String {
    let how = match hold.state {
        State::Ended { outcome: Outcome::Stopped, .. } => "stopped by rlock",
        State::Ended { outcome, .. } => outcome_name(outcome),
        State::Holding => return "holding now".to_owned(),
        State::Unrecorded => return "no end recorded (it expired, or was deleted)".to_owned(),
    };
    match (hold.exit, hold.signal) {
        (Some(code), _) => format!("{how}, exit {code}"),
        (None, Some(signal)) => format!("{how}, killed by {}", signal_name(signal)),
        (None, None) => how.to_owned(),
    }
}

fn outcome_name(outcome: Outcome) -> &'static str {
    match outcome {
        Outcome::Released => "released",
        Outcome::Stopped => "stopped",
        Outcome::Lost => "lost",
        Outcome::Broken => "broken",
    }
}

/// A time from the history (ms since the Unix epoch), to the second; `-` when not known.
fn time(ms: Option<u64>) -> String {
    ms.map_or_else(|| "-".to_owned(), rfc3339)
}

fn rfc3339(ms: u64) -> String {
    humantime::format_rfc3339_seconds(UNIX_EPOCH + Duration::from_millis(ms)).to_string()
}

/// `text` fit for a terminal and for a tab-separated line: control characters as `?`.
fn visible(text: &str) -> String {
    text.chars().map(|c| if c.is_control() { '?' } else { c }).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 65 s after the holds below began.
    const NOW_MS: u64 = 1_764_748_865_000;

    fn now() -> SystemTime {
        UNIX_EPOCH + Duration::from_millis(NOW_MS)
    }

    fn hold(state: State) -> Hold {
        Hold {
            id: "0123456789abcdef".into(),
            began_ms: Some(1_764_748_800_000),
            host: Some("web1".into()),
            pid: Some(42),
            user: Some("ann".into()),
            program: Some("deploy.sh".into()),
            label: None,
            fence: Some(7),
            mode: Some(Mode::Exclusive),
            state,
            held_ms: Some(1500),
            exit: Some(3),
            signal: None,
        }
    }

    #[test]
    fn a_line_says_who_held_it_how_long_and_how_it_ended() {
        let ended = State::Ended { outcome: Outcome::Released, at_ms: 1_764_748_801_500 };
        let lines = log_lines(&[hold(ended)], now());
        assert_eq!(
            lines,
            [
                "2025-12-03T08:00:00Z\tweb1 pid 42\tuser ann\tdeploy.sh\tlabel -\tfence 7\theld 1s 500ms\treleased, exit 3"
            ]
        );
        let stopped = Hold {
            exit: None,
            signal: Some(15),
            label: Some("ci\tjob".into()),
            ..hold(State::Ended { outcome: Outcome::Stopped, at_ms: 0 })
        };
        let line = &log_lines(&[stopped], now())[0];
        assert!(line.ends_with("stopped by rlock, killed by SIGTERM"), "{line}");
        assert!(line.contains("\tlabel ci?job\t"), "{line}");
        let going = Hold { held_ms: None, exit: None, ..hold(State::Holding) };
        let line = &log_lines(&[going], now())[0];
        assert!(line.ends_with("held 1m 5s so far\tholding now"), "{line}");
        let unknown = Hold { began_ms: None, host: None, pid: None, ..hold(State::Unrecorded) };
        let line = &log_lines(&[unknown], now())[0];
        assert!(line.starts_with("-\t- pid -\t"), "{line}");
        assert!(line.contains("no end recorded"), "{line}");
    }

    #[test]
    fn json_is_versioned_with_null_for_what_is_not_known() {
        let keys = LockKeys::new("rlock:", "deploy").unwrap();
        let lost = Hold { exit: None, ..hold(State::Ended { outcome: Outcome::Lost, at_ms: 5 }) };
        let json = log_json(&keys, &[lost, hold(State::Holding)]);
        assert_eq!(json["version"], JSON_VERSION);
        assert_eq!(json["key"], "deploy");
        assert_eq!(json["redis_key"], "rlock:deploy");
        assert_eq!(json["history_key"], "{rlock:deploy}}log");
        let holds = json["holds"].as_array().unwrap();
        assert_eq!(holds[0]["end"], "lost");
        assert_eq!(holds[0]["ended_unix_ms"], 5);
        assert!(holds[0]["exit_status"].is_null() && holds[0]["label"].is_null());
        assert_eq!(holds[0]["mode"], "exclusive");
        assert_eq!(holds[1]["end"], "holding");
        assert!(holds[1]["ended"].is_null());
        assert_eq!(holds[1]["exit_status"], 3);
        assert_eq!(holds[1]["began"], "2025-12-03T08:00:00Z");
    }
}
