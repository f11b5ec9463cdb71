//! Running the rlock binary as a user would, and looking at what it did.

use std::ffi::OsStr;
use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

use crate::fixture::RedisServer;

/// An rlock command line, pointed at one test server through RLOCK_REDIS.
pub struct Rlock {
    command: Command,
}

pub fn rlock(server: &RedisServer) -> Rlock {
    rlock_at(&server.url())
}

/// rlock pointed at an arbitrary URL.
pub fn rlock_at(url: &str) -> Rlock {
    let mut command = Command::new(env!("CARGO_BIN_EXE_rlock"));
    command.env_clear();
    for name in ["PATH", "HOME", "USER", "LANG"] {
        if let Some(value) = std::env::var_os(name) {
            command.env(name, value);
        }
    }
    command.env("RLOCK_REDIS", url).stdin(Stdio::null());
    Rlock { command }
}

impl Rlock {
    pub fn args<I, S>(mut self, args: I) -> Rlock
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.command.args(args);
        self
    }

    pub fn arg(mut self, arg: impl AsRef<OsStr>) -> Rlock {
        self.command.arg(arg);
        self
    }

    pub fn arg_path(mut self, path: &Path) -> Rlock {
        self.command.arg(path);
        self
    }

    pub fn env(mut self, name: &str, value: impl AsRef<OsStr>) -> Rlock {
        self.command.env(name, value);
        self
    }

    pub fn env_remove(mut self, name: &str) -> Rlock {
        self.command.env_remove(name);
        self
    }

    /// Runs rlock as the leader of a process group of its own, so a test can kill that group.
    pub fn own_process_group(mut self) -> Rlock {
        use std::os::unix::process::CommandExt;
        self.command.process_group(0);
        self
    }

    pub fn current_dir(mut self, dir: &Path) -> Rlock {
        self.command.current_dir(dir);
        self
    }

    /// Runs to the end (at most a minute) and collects what it printed.
    pub fn output(self) -> Finished {
        let running = self.spawn();
        running.finish(Duration::from_secs(60))
    }

    /// Starts it in the background, with stdout and stderr captured in files (not pipes: a
    /// process the command left behind must not keep the test waiting for end-of-file).
    pub fn spawn(mut self) -> Running {
        let stdout = tempfile::tempfile().expect("cannot create a file for stdout");
        let stderr = tempfile::tempfile().expect("cannot create a file for stderr");
        let child = self
            .command
            .stdout(stdout.try_clone().expect("cannot share the stdout file"))
            .stderr(stderr.try_clone().expect("cannot share the stderr file"))
            .spawn()
            .expect("cannot start rlock");
        Running { child, started: Instant::now(), stdout, stderr }
    }
}

impl Rlock {
    /// Starts it and waits (at most 10 s) until it holds `redis_key`, the lock record.
    pub fn spawn_holding(self, server: &RedisServer, redis_key: &str) -> Running {
        let running = self.spawn();
        let held = || server.cmd::<i64>(&["EXISTS", redis_key]) == 1;
        assert!(eventually(Duration::from_secs(10), held), "rlock never took {redis_key}");
        running
    }
}

/// A running rlock.
pub struct Running {
    pub child: Child,
    pub started: Instant,
    stdout: File,
    stderr: File,
}

impl Running {
    pub fn pid(&self) -> Pid {
        Pid::from_raw(self.child.id() as i32)
    }

    pub fn signal(&self, signal: Signal) {
        kill(self.pid(), signal).expect("cannot signal rlock");
    }

    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// What it wrote on stderr so far, read without moving the offset of the file, which rlock
    /// shares.
    pub fn stderr_so_far(&self) -> String {
        use std::os::unix::fs::FileExt;
        let mut seen = Vec::new();
        let mut buffer = [0u8; 4096];
        while let Ok(n) = self.stderr.read_at(&mut buffer, seen.len() as u64) {
            if n == 0 {
                break;
            }
            seen.extend_from_slice(&buffer[..n]);
        }
        String::from_utf8_lossy(&seen).into_owned()
    }

    /// Waits for it to exit, at most `limit` (then kills it and fails the test).
    pub fn finish(mut self, limit: Duration) -> Finished {
        let deadline = Instant::now() + limit;
        let status = loop {
            if let Some(status) = self.child.try_wait().expect("cannot wait for rlock") {
                break status;
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                let _ = self.child.wait();
                panic!(
                    "rlock did not finish within {limit:?}; stderr: {}",
                    read_all(&mut self.stderr)
                );
            }
            std::thread::sleep(Duration::from_millis(10));
        };
        Finished {
            status,
            elapsed: self.started.elapsed(),
            stdout: read_all(&mut self.stdout),
            stderr: read_all(&mut self.stderr),
        }
    }
}

fn read_all(file: &mut File) -> String {
    let mut text = String::new();
    let _ = file.seek(SeekFrom::Start(0)).and_then(|_| file.read_to_string(&mut text));
    text
}

impl Drop for Running {
    /// A test that fails half-way leaves no rlock behind (its command dies with it).
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// What a finished rlock did.
#[derive(Debug)]
pub struct Finished {
    pub status: ExitStatus,
    pub stdout: String,
    pub stderr: String,
    /// From start to exit.
    pub elapsed: Duration,
}

impl Finished {
    /// The exit code; fails the test if rlock itself died of a signal.
    pub fn code(&self) -> i32 {
        self.status.code().unwrap_or_else(|| {
            panic!("rlock died of a signal: {:?}; stderr: {}", self.status, self.stderr)
        })
    }

    /// Asserts the exit code, showing stderr when it differs.
    pub fn expect_code(&self, code: i32) -> &Finished {
        assert_eq!(
            self.code(),
            code,
            "unexpected exit code; stdout: {}; stderr: {}",
            self.stdout,
            self.stderr
        );
        self
    }
}

/// Polls `condition` every 10 ms for up to `limit`; true as soon as it holds.
pub fn eventually(limit: Duration, mut condition: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + limit;
    loop {
        if condition() {
            return true;
        }
        if Instant::now() > deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Whether a process is gone (or a zombie no one has reaped yet).
pub fn process_is_dead(pid: i32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => true,
        // The state follows the command name, which is in parentheses.
        Ok(stat) => {
            stat.rsplit_once(')').is_some_and(|(_, rest)| rest.trim_start().starts_with(['Z', 'X']))
        }
    }
}

/// Reads a pid a test command wrote to a file, once it is there.
pub fn read_pid(path: &Path) -> i32 {
    read_line(path).trim().parse().expect("the file holds a pid")
}

/// The first line of a file a test command writes, once it is there.
pub fn read_line(path: &Path) -> String {
    let mut line = None;
    assert!(
        eventually(Duration::from_secs(10), || {
            line = std::fs::read_to_string(path)
                .ok()
                .and_then(|text| text.lines().next().map(str::to_owned))
                .filter(|line| !line.is_empty());
            line.is_some()
        }),
        "the command never wrote {}",
        path.display()
    );
    line.unwrap_or_default()
}

/// One line on stderr that mentions every part of `expected`, and no panic.
pub fn assert_one_line_mentioning(stderr: &str, expected: &[&str]) {
    let lines: Vec<&str> = stderr.lines().filter(|line| !line.trim().is_empty()).collect();
    assert!(!lines.is_empty(), "no message at all");
    let first = lines[0];
    for part in expected {
        assert!(first.contains(part), "{part:?} missing from: {stderr}");
    }
    assert!(!stderr.contains("panicked"), "{stderr}");
}

/// `contenders` processes each take `turns` turns through `rlock run` (at RLOCK_REDIS=`url`) at a
/// read-modify-write of a counter file, with mkdir as an atomic "somebody is inside" marker; the
/// count must come out exact, and nobody may have been inside with someone else.
pub fn count_under_contention(url: &str, contenders: usize, turns: usize) {
    let dir = tempfile::tempdir().unwrap();
    let counter = dir.path().join("counter");
    let marker = dir.path().join("inside");
    let breaches = dir.path().join("breaches");
    std::fs::write(&counter, "0\n").unwrap();
    let critical = format!(
        "mkdir '{m}' 2>/dev/null || echo breach >> '{b}'; n=$(cat '{c}'); echo $((n + 1)) > '{c}'; rmdir '{m}'",
        m = marker.display(),
        b = breaches.display(),
        c = counter.display()
    );
    let loop_script = r#"for i in $(seq "$TURNS"); do "$RLOCK_BIN" run -t 10s counter -- sh -c "$CRITICAL" || exit 1; done"#;
    let running: Vec<std::process::Child> = (0..contenders)
        .map(|_| {
            Command::new("sh")
                .args(["-c", loop_script])
                .env("RLOCK_BIN", env!("CARGO_BIN_EXE_rlock"))
                .env("RLOCK_REDIS", url)
                .env("CRITICAL", &critical)
                .env("TURNS", turns.to_string())
                .spawn()
                .unwrap()
        })
        .collect();
    for mut contender in running {
        assert!(contender.wait().unwrap().success(), "a contender failed");
    }
    let count = std::fs::read_to_string(&counter).unwrap();
    assert_eq!(count.trim(), (contenders * turns).to_string());
    assert!(!breaches.exists(), "two contenders were inside at once");
}
