//! Who holds a lock: the facts rlock records beside it for `status`.

use std::ffi::OsString;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The longest command line kept in the holder record; longer ones are cut with an ellipsis.
const MAX_COMMAND_LEN: usize = 512;

/// The holder of a lock, as recorded when it was taken.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Holder {
    pub host: String,
    pub pid: u32,
    pub user: String,
    pub command: String,
    /// When the lock was taken, in milliseconds since the Unix epoch.
    pub since_ms: u64,
    /// The fencing number of this acquisition (0 until Redis assigns it).
    pub fence: u64,
    /// How long this holder keeps the lock unless it refreshes it, as read back from Redis
    /// (`None` before that, or for a key without expiry).
    pub ttl: Option<Duration>,
    /// A digest of the holder's token, read back from Redis: the same on every server, so holders
    /// can be told apart without showing their tokens (empty before that).
    pub id: String,
}

impl Holder {
    /// This machine and user, process `pid`, running `command`, from now on.
    pub fn here(pid: u32, command: String) -> Holder {
        Holder {
            host: nix::unistd::gethostname()
                .map(|name| name.to_string_lossy().into_owned())
                .unwrap_or_else(|_| "unknown".into()),
            pid,
            user: current_user(),
            command: shorten(command),
            since_ms: unix_ms(SystemTime::now()),
            fence: 0,
            ttl: None,
            id: String::new(),
        }
    }

    /// The holder for a command rlock itself runs.
    pub fn for_command(command: &[OsString]) -> Holder {
        Holder::here(std::process::id(), quote_command(command))
    }

    /// The holder for `acquire`: the process that called rlock (the script), which keeps the lock.
    pub fn for_parent() -> Holder {
        let parent = nix::unistd::getppid().as_raw();
        let command = std::fs::read(format!("/proc/{parent}/cmdline"))
            .map(|raw| {
                let args: Vec<OsString> = raw
                    .split(|&b| b == 0)
                    .filter(|arg| !arg.is_empty())
                    .map(|arg| String::from_utf8_lossy(arg).into_owned().into())
                    .collect();
                quote_command(&args)
            })
            .unwrap_or_default();
        Holder::here(u32::try_from(parent).unwrap_or(0), command)
    }

    /// The field/value pairs stored in Redis (the scripts add the fence, and `since_ms` from Redis's
    /// clock, so that every holder's "since" is on the same clock).
    pub fn fields(&self) -> Vec<(&'static str, String)> {
        vec![
            ("host", self.host.clone()),
            ("pid", self.pid.to_string()),
            ("user", self.user.clone()),
            ("command", self.command.clone()),
        ]
    }

    /// Reads a holder back from Redis's field/value pairs; `None` when there are none.
    pub fn from_fields(pairs: &[(String, String)]) -> Option<Holder> {
        if pairs.is_empty() {
            return None;
        }
        let mut holder = Holder::default();
        for (name, value) in pairs {
            match name.as_str() {
                "host" => holder.host = value.clone(),
                "pid" => holder.pid = value.parse().unwrap_or(0),
                "user" => holder.user = value.clone(),
                "command" => holder.command = value.clone(),
                "since_ms" => holder.since_ms = value.parse().unwrap_or(0),
                "fence" => holder.fence = value.parse().unwrap_or(0),
                "id" => holder.id = value.clone(),
                _ => {}
            }
        }
        Some(holder)
    }

    /// When the lock was taken.
    pub fn since(&self) -> SystemTime {
        UNIX_EPOCH + Duration::from_millis(self.since_ms)
    }

    /// "host pid 1234": enough to find the holder.
    pub fn short(&self) -> String {
        format!("{} pid {}", self.host, self.pid)
    }
}

/// Milliseconds since the Unix epoch (0 for a clock before 1970).
pub fn unix_ms(time: SystemTime) -> u64 {
    time.duration_since(UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

/// The user's name, as Python's `getpass.getuser` finds it: LOGNAME, USER, LNAME or USERNAME if
/// set (login, cron, sudo and ssh set them), else the password database, else the uid.
fn current_user() -> String {
    ["LOGNAME", "USER", "LNAME", "USERNAME"]
        .into_iter()
        .find_map(|name| std::env::var(name).ok().filter(|value| !value.is_empty()))
        .unwrap_or_else(|| {
            let uid = nix::unistd::getuid();
            match nix::unistd::User::from_uid(uid) {
                Ok(Some(user)) => user.name,
                _ => uid.to_string(),
            }
        })
}

/// The command line as a shell would need it typed: arguments with special characters quoted.
pub fn quote_command(args: &[OsString]) -> String {
    let words: Vec<String> = args
        .iter()
        .map(|arg| {
            let arg = arg.to_string_lossy();
            let plain = !arg.is_empty()
                && arg.chars().all(|c| c.is_ascii_alphanumeric() || "-_./=:,+@%".contains(c));
            if plain { arg.into_owned() } else { format!("'{}'", arg.replace('\'', r"'\''")) }
        })
        .collect();
    words.join(" ")
}

fn shorten(mut command: String) -> String {
    if command.len() > MAX_COMMAND_LEN {
        let mut cut = MAX_COMMAND_LEN;
        while !command.is_char_boundary(cut) {
            cut -= 1;
        }
        command.truncate(cut);
        command.push('…');
    }
    command
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_like_a_shell() {
        let args: Vec<OsString> = ["sh", "-c", "echo 'hi' $X", ""].iter().map(Into::into).collect();
        assert_eq!(quote_command(&args), r"sh -c 'echo '\''hi'\'' $X' ''");
    }

    #[test]
    fn round_trips_through_fields() {
        let holder = Holder::here(42, "./deploy.sh".into());
        let mut pairs: Vec<(String, String)> =
            holder.fields().into_iter().map(|(k, v)| (k.into(), v)).collect();
        pairs.push(("fence".into(), "7".into()));
        pairs.push(("since_ms".into(), "1234".into()));
        let back = Holder::from_fields(&pairs).unwrap();
        assert_eq!(back, Holder { fence: 7, since_ms: 1234, ..holder });
        assert_eq!(Holder::from_fields(&[]), None);
    }

    #[test]
    fn long_commands_are_cut() {
        let long = "é".repeat(600);
        let cut = shorten(long);
        assert!(cut.len() <= MAX_COMMAND_LEN + '…'.len_utf8());
        assert!(cut.ends_with('…'));
    }
}
