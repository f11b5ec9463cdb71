//! The command rlock runs: found before the lock is taken (so that a missing command costs no
//! lock), then started once the lock is ours, directly (no shell), in its own process group,
//! with rlock's stdin, stdout and stderr and the lock's facts in its environment.

use std::ffi::{OsStr, OsString};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};

use crate::exit::Exit;
use crate::process::child::Child;
use crate::process::terminal;

/// Why the command could not be started: the exit code to use and a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpawnError {
    pub exit: Exit,
    pub message: String,
}

/// A command found and ready to start.
#[derive(Debug, Clone)]
pub struct Command {
    path: PathBuf,
    argv: Vec<OsString>,
}

const NOT_FOUND: &str = "command not found";
const PERMISSION: &str = "permission denied (is it executable? chmod +x)";
const NOT_A_PROGRAM: &str =
    "cannot execute: not a program this system can run (does the script start with #!?)";

impl Command {
    /// Finds `argv[0]`: itself when it names a path, otherwise the first executable file of that
    /// name in PATH, as a shell finds it. Either way it must exist and be executable.
    pub fn find(argv: &[OsString]) -> Result<Command, SpawnError> {
        let Some(program) = argv.first() else {
            return Err(SpawnError { exit: Exit::Failure, message: "no command to run".into() });
        };
        let path = resolve(program).map_err(|(exit, what)| SpawnError {
            exit,
            message: format!("{}: {what}", program.to_string_lossy()),
        })?;
        Ok(Command { path, argv: argv.to_vec() })
    }

    /// Starts the command with `env` added to rlock's environment. It leads a process group of
    /// its own, so that rlock can signal everything it starts; its signal mask is cleared and
    /// SIGPIPE restored to its default (std does both), while signals rlock found ignored stay
    /// ignored. With `foreground`, its group takes the terminal's foreground before the command
    /// is executed, so that the command never runs without it (see [`terminal`]).
    pub fn start(&self, env: &[(&str, String)], foreground: bool) -> Result<Child, SpawnError> {
        let program = self.argv.first().map_or(OsStr::new(""), OsString::as_os_str);
        let args = self.argv.get(1..).unwrap_or_default();
        let mut command = std::process::Command::new(&self.path);
        command.arg0(program).args(args).process_group(0);
        for (name, value) in env {
            command.env(name, value);
        }
        if foreground {
            // SAFETY: the hook runs in the child between fork and exec, after std has made it the
            // leader of its own group; it only makes async-signal-safe system calls (sigprocmask,
            // getpgrp, tcsetpgrp) and allocates nothing.
            unsafe { command.pre_exec(terminal::take_foreground_in_child) };
        }
        // The child is not waited for through std: rlock checks it without reaping it, so that
        // its group id stays its own until rlock is done signalling it.
        let child = command.spawn().map_err(|err| self.failed(&err))?;
        Ok(Child::new(child.id()))
    }

    /// What a failed start means for the user: 127 when not found, 126 otherwise.
    fn failed(&self, err: &std::io::Error) -> SpawnError {
        let (exit, what) = match err.kind() {
            std::io::ErrorKind::NotFound => (Exit::NotFound, NOT_FOUND.to_owned()),
            std::io::ErrorKind::PermissionDenied => (Exit::CannotExecute, PERMISSION.to_owned()),
            _ if err.raw_os_error() == Some(libc::ENOEXEC) => {
                (Exit::CannotExecute, NOT_A_PROGRAM.to_owned())
            }
            _ => (Exit::CannotExecute, format!("cannot execute ({err})")),
        };
        let shown = self.argv.first().map(|arg| arg.to_string_lossy()).unwrap_or_default();
        SpawnError { exit, message: format!("{shown}: {what}") }
    }
}

/// Where `program` is (see [`Command::find`]).
fn resolve(program: &OsStr) -> Result<PathBuf, (Exit, &'static str)> {
    if program.is_empty() {
        return Err((Exit::NotFound, NOT_FOUND));
    }
    if program.as_bytes().contains(&b'/') {
        let path = PathBuf::from(program);
        return match path.metadata() {
            Err(_) => Err((Exit::NotFound, NOT_FOUND)),
            Ok(meta) if meta.is_dir() => Err((Exit::CannotExecute, "is a directory")),
            Ok(_) if !executable(&path) => Err((Exit::CannotExecute, PERMISSION)),
            Ok(_) => Ok(path),
        };
    }
    let path = std::env::var_os("PATH").unwrap_or_else(|| "/usr/local/bin:/usr/bin:/bin".into());
    let mut denied = false;
    for dir in std::env::split_paths(&path) {
        let dir = if dir.as_os_str().is_empty() { PathBuf::from(".") } else { dir };
        let candidate = dir.join(program);
        if !candidate.is_file() {
            continue;
        }
        if executable(&candidate) {
            return Ok(candidate);
        }
        denied = true;
    }
    Err(if denied { (Exit::CannotExecute, PERMISSION) } else { (Exit::NotFound, NOT_FOUND) })
}

fn executable(path: &Path) -> bool {
    nix::unistd::access(path, nix::unistd::AccessFlags::X_OK).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn found(argv: &[&str]) -> Result<Command, SpawnError> {
        Command::find(&argv.iter().map(OsString::from).collect::<Vec<_>>())
    }

    #[test]
    fn finds_programs_in_path_and_by_path() {
        assert!(found(&["sh", "-c", "true"]).unwrap().path.is_absolute());
        assert_eq!(found(&["/bin/sh"]).unwrap().path, PathBuf::from("/bin/sh"));
    }

    #[test]
    fn says_what_is_wrong() {
        let err = found(&["no-such-program-rlock"]).unwrap_err();
        assert_eq!(err.exit, Exit::NotFound);
        assert_eq!(err.message, "no-such-program-rlock: command not found");
        assert_eq!(found(&["/"]).unwrap_err().exit, Exit::CannotExecute);
        assert_eq!(found(&[""]).unwrap_err().exit, Exit::NotFound);
        assert_eq!(found(&[]).unwrap_err().exit, Exit::Failure);
    }
}
