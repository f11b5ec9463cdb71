//! Who holds a lock: the facts rlock records beside it for `status`. They are what is safe to
//! show anyone who can read the Redis: host, pid, user and the program's name, never its
//! arguments (which may carry passwords).

use std::ffi::{OsStr, OsString};
use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The longest program name kept in the holder record (a file name's longest on Linux); longer
/// ones are cut with an ellipsis.
const MAX_PROGRAM_LEN: usize = 255;

/// How long Linux keeps a process's name (`/proc/PID/comm`): longer names are cut to this.
const COMM_LEN: usize = 15;

/// The holder of a lock, as recorded when it was taken.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Holder {
    pub host: String,
    pub pid: u32,
    pub user: String,
    /// The name of the program that holds the lock (`deploy.sh`), without its directory or its
    /// arguments.
    pub program: String,
    /// What the user named this hold (`--label`, such as a CI job's URL); empty when not given.
    pub label: String,
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
    /// This machine and user, process `pid`, running the program named `program`, from now on.
    pub fn here(pid: u32, program: &str) -> Holder {
        Holder {
            host: nix::unistd::gethostname()
                .map(|name| name.to_string_lossy().into_owned())
                .unwrap_or_else(|_| "unknown".into()),
            pid,
            user: current_user(),
            program: clean(program),
            label: String::new(),
            since_ms: unix_ms(SystemTime::now()),
            fence: 0,
            ttl: None,
            id: String::new(),
        }
    }

    /// The holder for a command rlock itself runs: its program's name (the last part of its
    /// first word), none of its arguments.
    pub fn for_command(command: &[OsString]) -> Holder {
        let program = command.first().map(|word| base_name(word)).unwrap_or_default();
        Holder::here(std::process::id(), &program)
    }

    /// The holder for `acquire`: the process that called rlock (the script), which keeps the
    /// lock, with its program's name.
    pub fn for_parent() -> Holder {
        let parent = nix::unistd::getppid().as_raw();
        let comm = std::fs::read_to_string(format!("/proc/{parent}/comm")).unwrap_or_default();
        let args: Vec<OsString> = std::fs::read(format!("/proc/{parent}/cmdline"))
            .map(|raw| {
                use std::os::unix::ffi::OsStringExt;
                raw.split(|&b| b == 0).take(2).map(|arg| OsString::from_vec(arg.to_vec())).collect()
            })
            .unwrap_or_default();
        let program = program_name(comm.trim_end_matches('\n'), &args);
        Holder::here(u32::try_from(parent).unwrap_or(0), &program)
    }

    /// This holder, named `label` (`--label`; none when empty).
    pub fn labelled(self, label: &str) -> Holder {
        Holder { label: label.to_owned(), ..self }
    }

    /// The field/value pairs stored in Redis (the scripts add the fence, and `since_ms` from Redis's
    /// clock, so that every holder's "since" is on the same clock). The label only when given.
    pub fn fields(&self) -> Vec<(&'static str, String)> {
        let mut fields = vec![
            ("host", self.host.clone()),
            ("pid", self.pid.to_string()),
            ("user", self.user.clone()),
            ("program", self.program.clone()),
        ];
        if !self.label.is_empty() {
            fields.push(("label", self.label.clone()));
        }
        fields
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
                "program" => holder.program = value.clone(),
                "label" => holder.label = value.clone(),
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

/// The program's name for a process that Linux calls `comm` and that was started with `args`
/// (its first two, at most): `comm`, which is the script's name for a script and the
/// executable's otherwise, unless Linux cut it short and the name of the first or second
/// argument goes on from it (`/bin/sh ./record-deploy.sh` for `record-deploy.s`). With no
/// `comm` (not Linux), the name of the first argument.
fn program_name(comm: &str, args: &[OsString]) -> String {
    if comm.is_empty() {
        return args.first().map(|arg| base_name(arg)).unwrap_or_default();
    }
    if comm.len() == COMM_LEN
        && let Some(longer) =
            args.iter().take(2).map(|arg| base_name(arg)).find(|name| name.starts_with(comm))
    {
        return longer;
    }
    comm.to_owned()
}

/// The last part of a path (`deploy.sh` for `./bin/deploy.sh`), or the whole text when it has
/// none.
fn base_name(path: &OsStr) -> String {
    Path::new(path).file_name().unwrap_or(path).to_string_lossy().into_owned()
}

/// `program` fit to show: control characters (a terminal's escapes) as `?`, and at most
/// [`MAX_PROGRAM_LEN`] bytes.
fn clean(program: &str) -> String {
    let mut program: String =
        program.chars().map(|c| if c.is_control() { '?' } else { c }).collect();
    if program.len() > MAX_PROGRAM_LEN {
        let mut cut = MAX_PROGRAM_LEN;
        while !program.is_char_boundary(cut) {
            cut -= 1;
        }
        program.truncate(cut);
        program.push('…');
    }
    program
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(args: &[&str]) -> Vec<OsString> {
        args.iter().map(Into::into).collect()
    }

    #[test]
    fn a_command_is_recorded_by_its_program_name_alone() {
        let holder = Holder::for_command(&words(&["./bin/deploy.sh", "--db-password=hunter2"]));
        assert_eq!(holder.program, "deploy.sh");
        assert_eq!(Holder::for_command(&words(&["sh", "-c", "echo secret"])).program, "sh");
        assert_eq!(Holder::for_command(&words(&["/usr/bin/env"])).program, "env");
        assert_eq!(Holder::for_command(&[]).program, "");
        let fields = format!("{:?}", holder.fields());
        assert!(!fields.contains("hunter2"), "{fields}");
    }

    #[test]
    fn a_parent_is_recorded_by_its_program_name() {
        // A binary, and a script (Linux names it after the script).
        assert_eq!(program_name("bash", &words(&["-bash"])), "bash");
        assert_eq!(program_name("deploy.sh", &words(&["/bin/bash", "./deploy.sh"])), "deploy.sh");
        // A name Linux cut short, completed from the script's path; never from anything else.
        let cut = "record-deploy.s";
        let args = words(&["/bin/sh", "/opt/record-deploy.sh", "--token=x"]);
        assert_eq!(program_name(cut, &args), "record-deploy.sh");
        assert_eq!(program_name(cut, &words(&["/bin/sh", "-c"])), cut);
        assert_eq!(program_name("sh", &words(&["/bin/sh", "shell-secret"])), "sh");
        // Without /proc/PID/comm: the first word's name.
        assert_eq!(program_name("", &words(&["/usr/bin/python3", "job.py"])), "python3");
        assert_eq!(program_name("", &[]), "");
    }

    #[test]
    fn round_trips_through_fields() {
        let holder = Holder::here(42, "deploy.sh");
        let mut pairs: Vec<(String, String)> =
            holder.fields().into_iter().map(|(k, v)| (k.into(), v)).collect();
        pairs.push(("fence".into(), "7".into()));
        pairs.push(("since_ms".into(), "1234".into()));
        let back = Holder::from_fields(&pairs).unwrap();
        assert_eq!(back, Holder { fence: 7, since_ms: 1234, ..holder.clone() });
        assert_eq!(Holder::from_fields(&[]), None);
        let labelled = Holder::here(42, "deploy.sh").labelled("ci job 7");
        let pairs: Vec<(String, String)> =
            labelled.fields().into_iter().map(|(k, v)| (k.into(), v)).collect();
        assert_eq!(Holder::from_fields(&pairs).unwrap().label, "ci job 7");
        assert!(!holder.fields().iter().any(|(name, _)| *name == "label"));
    }

    #[test]
    fn long_names_are_cut_and_control_characters_hidden() {
        let cut = clean(&"é".repeat(600));
        assert!(cut.len() <= MAX_PROGRAM_LEN + '…'.len_utf8());
        assert!(cut.ends_with('…'));
        assert_eq!(clean("a\x1b[2Jb\n"), "a?[2Jb?");
    }
}
