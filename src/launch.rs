//! Starting the command. Its process is prepared while rlock waits for the lock: started (as a
//! [`spawn::Helper`], sharing rlock's memory), given its own process group, and set to die with
//! rlock (PR_SET_PDEATHSIG). When the lock is ours, rlock sends the fence down a pipe and the
//! process becomes the command (execve). Creating a process, the slowest part of starting one,
//! is thus not part of the handoff from one holder to the next. The command runs directly,
//! without a shell, with rlock's stdin, stdout and stderr.

use std::ffi::{CString, OsStr, OsString, c_char, c_int, c_void};
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::{Path, PathBuf};

use nix::fcntl::OFlag;
use nix::unistd::{Pid, pipe2};

use crate::child::Child;
use crate::exit_code::Exit;
use crate::spawn::{self, sys};

/// Why the command could not be started: the exit code to use and a message.
#[derive(Debug)]
pub struct SpawnError {
    pub exit: Exit,
    pub message: String,
}

/// Name of the variable that carries the fence, filled in at the last moment.
const FENCE: &[u8] = b"RLOCK_FENCE=";
/// Room for the digits of any u64 and the closing NUL.
const FENCE_DIGITS: usize = 21;

/// A process waiting to become the command.
pub struct Prepared {
    pid: Pid,
    /// The stack the process runs on until it execs.
    helper: Option<spawn::Helper>,
    /// Write end of the pipe the child waits on: the fence and a newline start it; closing the
    /// pipe without them makes it exit quietly.
    go: Option<OwnedFd>,
    /// Read end of a close-on-exec, non-blocking pipe: end-of-file means the execve worked, four
    /// bytes are the errno of a failed one.
    failed: OwnedFd,
    shown: String,
    /// What the process reads until it execs.
    launch: Option<Box<Launch>>,
}

/// Everything the process that becomes the command reads before its execve. It lives in rlock's
/// memory (see [`crate::spawn`]) and is owned by [`Prepared`] until that process has exec'd or
/// been reaped.
struct Launch {
    /// The pipe ends the process reads and writes, and rlock's ends, which it closes.
    go_read: c_int,
    go_write: c_int,
    failed_read: c_int,
    failed_write: c_int,
    parent: libc::pid_t,
    path: CString,
    argv: Vec<*const c_char>,
    envp: Vec<*const c_char>,
    /// Where the fence's digits go: inside the RLOCK_FENCE entry of `envp`.
    fence_at: *mut u8,
    // What the pointers above point into.
    _args: Vec<CString>,
    _vars: Vec<CString>,
    _fence: Vec<u8>,
}

/// Prepares `argv` to run with `env` added to rlock's environment (and RLOCK_FENCE, given later).
///
/// Must be called from the thread that lives as long as the command runs (the main thread), and
/// before rlock starts other threads or installs signal handlers: Linux sends PR_SET_PDEATHSIG
/// when the *thread* that started the child ends, and the process starts as a [`spawn::Helper`].
pub fn prepare(argv: &[OsString], env: &[(&str, String)]) -> Result<Prepared, SpawnError> {
    let Some(program) = argv.first() else {
        return Err(SpawnError { exit: Exit::Failure, message: "no command to run".into() });
    };
    let shown = program.to_string_lossy().into_owned();
    let path = c_string(
        resolve(program)
            .map_err(|(exit, what)| SpawnError { exit, message: format!("{shown}: {what}") })?,
    )?;
    let args: Vec<CString> =
        argv.iter().map(|arg| c_string(arg.clone())).collect::<Result<_, _>>()?;

    // The environment: rlock's own, less what rlock sets, plus what it sets.
    let mut vars: Vec<CString> = Vec::new();
    for (name, value) in std::env::vars_os() {
        let set_here = env.iter().any(|(ours, _)| OsStr::new(ours) == name);
        if set_here || name == "RLOCK_FENCE" {
            continue;
        }
        let mut entry = name.into_vec();
        entry.push(b'=');
        entry.extend(value.into_vec());
        vars.push(c_string(OsString::from_vec(entry))?);
    }
    for (name, value) in env {
        vars.push(c_string(OsString::from(format!("{name}={value}")))?);
    }
    let mut fence = FENCE.to_vec();
    fence.resize(FENCE.len() + FENCE_DIGITS, 0);

    let mut arg_ptrs: Vec<*const c_char> = args.iter().map(|arg| arg.as_ptr()).collect();
    arg_ptrs.push(std::ptr::null());
    let mut env_ptrs: Vec<*const c_char> = vars.iter().map(|var| var.as_ptr()).collect();
    env_ptrs.push(fence.as_ptr().cast());
    env_ptrs.push(std::ptr::null());

    let (go_read, go_write) = pipe2(OFlag::O_CLOEXEC).map_err(os_error)?;
    let (failed_read, failed_write) =
        pipe2(OFlag::O_CLOEXEC | OFlag::O_NONBLOCK).map_err(os_error)?;
    let fence_at = fence.as_mut_ptr().wrapping_add(FENCE.len());
    let mut launch = Box::new(Launch {
        go_read: go_read.as_raw_fd(),
        go_write: go_write.as_raw_fd(),
        failed_read: failed_read.as_raw_fd(),
        failed_write: failed_write.as_raw_fd(),
        parent: nix::unistd::getpid().as_raw(),
        path,
        argv: arg_ptrs,
        envp: env_ptrs,
        fence_at,
        _args: args,
        _vars: vars,
        _fence: fence,
    });
    let data: *mut Launch = &mut *launch;
    // SAFETY: become_command keeps to the helper rules; `launch` is kept in Prepared until the
    // process has exec'd or been reaped, and nothing changes it meanwhile.
    let helper = unsafe { spawn::Helper::start(become_command, data.cast()) }
        .map_err(|err| os_error(nix::errno::Errno::from_raw(err.raw_os_error().unwrap_or(0))))?;
    // The process's ends of the pipes are its own now.
    drop((go_read, failed_write));
    Ok(Prepared {
        pid: helper.pid(),
        helper: Some(helper),
        go: Some(go_write),
        failed: failed_read,
        shown,
        launch: Some(launch),
    })
}

/// The process that becomes the command: in its own process group, set to die with rlock, it
/// waits for the fence, then execs. A failed execve reports its errno down the `failed` pipe.
extern "C" fn become_command(data: *mut c_void) -> c_int {
    // SAFETY: `data` is the Launch that Prepared keeps alive and unchanged (see prepare).
    let launch = unsafe { &*data.cast::<Launch>() };
    let fail = |errno: c_int| -> ! {
        // SAFETY: four bytes of a local.
        unsafe { sys::write(launch.failed_write, (&raw const errno).cast(), 4) };
        sys::exit(127);
    };
    // rlock's ends of the pipes: with them open here, the read below would never end.
    sys::close(launch.go_write);
    sys::close(launch.failed_read);
    // SAFETY: plain system calls on this process.
    unsafe {
        if libc::setpgid(0, 0) != 0 {
            fail(sys::errno());
        }
        if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL, 0, 0, 0) != 0 {
            fail(sys::errno());
        }
        // rlock may have died before the line above took effect: then nothing will signal us.
        if libc::getppid() != launch.parent {
            sys::exit(0);
        }
        // Rust ignores SIGPIPE in rlock; the command gets the default, as from a shell.
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    // Wait for the fence: digits, then a newline. Anything else means "never mind".
    let mut got = 0;
    loop {
        let mut byte = 0u8;
        // SAFETY: one byte of a local.
        if unsafe { sys::read(launch.go_read, &raw mut byte, 1) } != 1
            || (byte != b'\n' && (!byte.is_ascii_digit() || got + 1 >= FENCE_DIGITS))
        {
            sys::exit(0);
        }
        if byte == b'\n' {
            break;
        }
        // SAFETY: within the FENCE_DIGITS bytes reserved after "RLOCK_FENCE=", before its NUL.
        unsafe { *launch.fence_at.add(got) = byte };
        got += 1;
    }
    // SAFETY: NUL-terminated arrays of NUL-terminated strings, all owned by Launch.
    unsafe { libc::execve(launch.path.as_ptr(), launch.argv.as_ptr(), launch.envp.as_ptr()) };
    fail(sys::errno());
}

impl Prepared {
    /// Turns the waiting process into the command (same pid), with RLOCK_FENCE set to `fence`.
    /// Returns at once, without waiting for the execve: rlock's next steps then run beside the
    /// command's start instead of waking in the middle of it. Whether the execve failed is known
    /// once the process has ended: see [`Prepared::failure`].
    pub fn start(&mut self, fence: u64) -> Result<(), SpawnError> {
        let go = self.go.as_ref().ok_or_else(|| os_error(nix::errno::Errno::EBADF))?;
        // Should this fail, the process exits once `go` closes, and drop collects it.
        nix::unistd::write(go, format!("{fence}\n").as_bytes()).map_err(os_error)?;
        drop(self.go.take());
        Ok(())
    }

    /// Why the command could not be started, if its execve failed. Ask once the process has
    /// ended (been reaped): before that, a failure may not have been reported yet.
    pub fn failure(&self) -> Option<SpawnError> {
        let Report::Failed(errno) = self.report() else { return None };
        let err = std::io::Error::from_raw_os_error(errno);
        let (exit, what) = match err.kind() {
            std::io::ErrorKind::NotFound => (Exit::NotFound, "command not found".to_owned()),
            std::io::ErrorKind::PermissionDenied => (Exit::CannotExecute, PERMISSION.to_owned()),
            _ if errno == libc::ENOEXEC => (Exit::CannotExecute, NOT_A_PROGRAM.to_owned()),
            _ => (Exit::CannotExecute, format!("cannot execute ({err})")),
        };
        Some(SpawnError { exit, message: format!("{}: {what}", self.shown) })
    }

    /// What the `failed` pipe says so far (it never blocks).
    fn report(&self) -> Report {
        let mut errno = [0u8; 4];
        let mut got = 0;
        while got < errno.len() {
            match nix::unistd::read(&self.failed, &mut errno[got..]) {
                Ok(0) if got == 0 => return Report::Execed,
                Ok(0) => break,
                Ok(n) => got += n,
                Err(nix::errno::Errno::EINTR) => continue,
                Err(_) if got == 0 => return Report::Pending,
                Err(_) => break,
            }
        }
        Report::Failed(i32::from_ne_bytes(errno))
    }

    /// The process that will be the command: it leads its own process group already.
    pub fn child(&self) -> Child {
        Child::new(self.pid)
    }
}

/// What the process has said about its execve.
enum Report {
    /// Nothing yet: it may still be on its way to the execve, in our memory.
    Pending,
    /// End of file without an errno: it exec'd (or exited without trying).
    Execed,
    /// The execve failed with this errno; the process is exiting.
    Failed(i32),
}

impl Drop for Prepared {
    /// Its stack and what it reads are freed after this, so the process must be done with them:
    /// not started, it exits once its pipe closes, and is collected here; started, it has exec'd,
    /// or exits and is collected here, or (should rlock get here first) its memory is left alone.
    fn drop(&mut self) {
        if let Some(go) = self.go.take() {
            drop(go);
            let _ = nix::sys::wait::waitpid(self.pid, None);
            return;
        }
        match self.report() {
            Report::Execed => {}
            // Already reaped (ECHILD) once the command's status was collected.
            Report::Failed(_) => {
                let _ = nix::sys::wait::waitpid(self.pid, None);
            }
            Report::Pending => {
                if let Some(helper) = self.helper.take() {
                    helper.leak();
                }
                std::mem::forget(self.launch.take());
            }
        }
    }
}

const PERMISSION: &str = "permission denied (is it executable? chmod +x)";
const NOT_A_PROGRAM: &str =
    "cannot execute: not a program this system can run (does the script start with #!?)";

/// Where `program` is: itself when it names a path, otherwise the first executable file of that
/// name in PATH, as a shell finds it. Either way it must exist and be executable.
fn resolve(program: &OsStr) -> Result<PathBuf, (Exit, &'static str)> {
    if program.is_empty() {
        return Err((Exit::NotFound, "command not found"));
    }
    if program.as_bytes().contains(&b'/') {
        let path = PathBuf::from(program);
        return match path.metadata() {
            Err(_) => Err((Exit::NotFound, "command not found")),
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
    Err(if denied {
        (Exit::CannotExecute, PERMISSION)
    } else {
        (Exit::NotFound, "command not found")
    })
}

fn executable(path: &Path) -> bool {
    nix::unistd::access(path, nix::unistd::AccessFlags::X_OK).is_ok()
}

fn c_string(text: impl Into<OsString>) -> Result<CString, SpawnError> {
    CString::new(text.into().into_vec()).map_err(|_| SpawnError {
        exit: Exit::Failure,
        message: "the command or its environment contains a NUL byte".into(),
    })
}

fn os_error(err: nix::errno::Errno) -> SpawnError {
    SpawnError { exit: Exit::Failure, message: format!("cannot prepare the command: {err}") }
}
