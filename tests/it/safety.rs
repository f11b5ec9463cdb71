//! Never two at once: a holder that cannot keep its lock (cut off from Redis, or frozen) has its
//! command dead before Redis can give the lock to the next contender, which starts its own
//! command as soon as it may. Each test has the first holder's command write a heartbeat (a
//! timestamp) every 20 ms for as long as it lives, and the next one write the moment it starts:
//! a heartbeat after that moment is an overlap.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};

use crate::fixture::RedisServer;
use crate::harness::{Rlock, Running, eventually, process_is_dead, read_pid, rlock, rlock_at};
use crate::partition::Partition;

/// A command that ignores SIGTERM and beats into `beats` every 20 ms, after writing its pid.
const STUBBORN: &str =
    r#"echo $$ > "$1"; trap '' TERM; while :; do date +%s%N >> "$2"; sleep 0.02; done"#;

/// A command that writes when it started, in nanoseconds.
const STAMP: &str = r#"date +%s%N > "$0""#;

struct Files {
    _dir: tempfile::TempDir,
    pid: PathBuf,
    beats: PathBuf,
    second: PathBuf,
}

impl Files {
    fn new() -> Files {
        let dir = tempfile::tempdir().unwrap();
        let path = |name: &str| dir.path().join(name);
        Files { pid: path("pid"), beats: path("beats"), second: path("second"), _dir: dir }
    }

    /// Starts `rlock`, whose command (given last) takes the pid file and the heartbeat file,
    /// and waits for the first heartbeat.
    fn beating(&self, rlock: Rlock) -> Running {
        let running = rlock.arg_path(&self.pid).arg_path(&self.beats).spawn();
        wait_for(&self.beats);
        running
    }

    /// The next contender, reaching Redis directly: it waits for the lock, and stamps when its
    /// command starts.
    fn next_holder(&self, server: &RedisServer) {
        rlock(server)
            .args(["run", "-w", "20s", "k", "--", "sh", "-c", STAMP])
            .arg_path(&self.second)
            .output()
            .expect_code(0);
    }

    /// The heartbeats written after the second holder started: none, when there was no overlap.
    fn overlap(&self) -> Vec<u128> {
        let started = number(&self.second);
        let beats = std::fs::read_to_string(&self.beats).unwrap_or_default();
        let beats: Vec<u128> = beats.lines().filter_map(|line| line.trim().parse().ok()).collect();
        assert!(!beats.is_empty(), "the first command never ran");
        beats.into_iter().filter(|&beat| beat >= started).collect()
    }
}

fn number(path: &Path) -> u128 {
    std::fs::read_to_string(path).unwrap().trim().parse().expect("a timestamp")
}

/// Waits until the file holds a line, or panics.
fn wait_for(path: &Path) {
    assert!(eventually(Duration::from_secs(10), || path.exists()), "{} never came", path.display());
}

#[test]
fn a_holder_cut_off_from_redis_is_dead_before_the_next_one_starts() {
    for attempt in 0..3 {
        let server = RedisServer::start();
        let partition = Partition::before(&server);
        let files = Files::new();
        let first = rlock_at(&partition.url())
            .args(["run", "-t", "3s", "k", "--", "sh", "-c", STUBBORN, "sh"])
            .arg_path(&files.pid)
            .arg_path(&files.beats)
            .spawn();
        wait_for(&files.beats);
        partition.cut();
        let cut_at = Instant::now();
        // The next contender reaches Redis directly and waits for the lock to lapse.
        files.next_holder(&server);
        let first = first.finish(Duration::from_secs(20));
        first.expect_code(124);
        assert!(first.stderr.contains("SIGKILL"), "{}", first.stderr);
        assert!(process_is_dead(read_pid(&files.pid)));
        assert_eq!(files.overlap(), Vec::<u128>::new(), "attempt {attempt}: ran together");
        // The stop came from the lease, not from the end of a long grace.
        assert!(cut_at.elapsed() < Duration::from_secs(15), "{:?}", cut_at.elapsed());
    }
}

#[test]
fn a_frozen_rlock_cannot_leave_its_command_running() {
    let server = RedisServer::start();
    let files = Files::new();
    let first = files
        .beating(rlock(&server).args(["run", "-t", "2s", "k", "--", "sh", "-c", STUBBORN, "sh"]));
    // rlock alone is stopped; its command and its guardian are not.
    kill(first.pid(), Signal::SIGSTOP).unwrap();
    files.next_holder(&server);
    let command = read_pid(&files.pid);
    assert!(process_is_dead(command), "the guardian let the command outlive the lock");
    assert_eq!(files.overlap(), Vec::<u128>::new(), "ran together");
    kill(first.pid(), Signal::SIGCONT).unwrap();
    let first = first.finish(Duration::from_secs(20));
    // Woken up, rlock finds its command killed and the lock gone: 124, said.
    first.expect_code(124);
    assert!(first.stderr.contains("lost the lock"), "{}", first.stderr);
}

/// The state letter of a process (R, S, T for stopped, Z...).
fn state(pid: i32) -> Option<char> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    stat.rsplit_once(") ")?.1.chars().next()
}

#[test]
fn ctrl_z_stops_the_command_with_rlock_and_sigcont_continues_both() {
    let server = RedisServer::start();
    let files = Files::new();
    let running = files
        .beating(rlock(&server).args(["run", "-t", "30s", "k", "--", "sh", "-c", STUBBORN, "sh"]));
    let command = read_pid(&files.pid);
    let rlock_pid = running.pid().as_raw();
    running.signal(Signal::SIGTSTP);
    let both_stopped = || state(rlock_pid) == Some('T') && state(command) == Some('T');
    assert!(eventually(Duration::from_secs(5), both_stopped), "not both stopped");
    running.signal(Signal::SIGCONT);
    let both_run = || state(rlock_pid) != Some('T') && state(command) != Some('T');
    assert!(eventually(Duration::from_secs(5), both_run), "not both continued");
    let beats = std::fs::read_to_string(&files.beats).unwrap().lines().count();
    assert!(
        eventually(Duration::from_secs(5), || {
            std::fs::read_to_string(&files.beats).unwrap().lines().count() > beats + 2
        }),
        "the command does not beat again"
    );
    // Ended as usual: a second SIGTERM kills it, and the lock is released.
    running.signal(Signal::SIGTERM);
    std::thread::sleep(Duration::from_millis(100));
    running.signal(Signal::SIGTERM);
    running.finish(Duration::from_secs(20)).expect_code(137);
    let held: i64 = server.cmd(&["EXISTS", "rlock:k"]);
    assert_eq!(held, 0);
}

#[test]
fn a_lock_broken_during_the_command_exits_124_even_with_q() {
    let server = RedisServer::start();
    let running = rlock(&server)
        .args(["-q", "run", "b1", "--", "sleep", "1.5"])
        .spawn_holding(&server, "rlock:b1");
    rlock(&server).args(["break", "b1"]).output().expect_code(0);
    let out = running.finish(Duration::from_secs(20));
    out.expect_code(124);
    assert!(out.stderr.contains("lost the lock 'b1'"), "{}", out.stderr);
}

#[test]
fn the_guardian_is_told_each_new_deadline() {
    // A command that outlives several refreshes is not killed by its guardian: each refresh
    // moved the deadline on.
    let server = RedisServer::start();
    let started = Instant::now();
    let out = rlock(&server).args(["run", "-t", "300ms", "k", "--", "sleep", "1.2"]).output();
    out.expect_code(0);
    assert!(started.elapsed() >= Duration::from_millis(1200));
}

#[test]
fn a_short_partition_is_ridden_out() {
    // Cut off for less than the ttl allows: the refresh is retried when the link is back, and
    // the command runs to its end.
    let server = RedisServer::start();
    let partition = Partition::before(&server);
    let running = rlock_at(&partition.url())
        .args(["run", "-t", "3s", "k", "--", "sleep", "2.5"])
        .spawn_holding(&server, "rlock:k");
    std::thread::sleep(Duration::from_millis(700));
    partition.cut();
    std::thread::sleep(Duration::from_millis(600));
    partition.heal();
    running.finish(Duration::from_secs(20)).expect_code(0);
}

#[test]
fn acquire_gives_the_lock_back_when_it_cannot_print_the_token() {
    let server = RedisServer::start();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_rlock"))
        .args(["-r", &server.url(), "acquire", "k"])
        .stdout(std::fs::File::create("/dev/full").unwrap())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(125));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("cannot hand the token over") && stderr.contains("released"),
        "{stderr}"
    );
    let held: i64 = server.cmd(&["EXISTS", "rlock:k"]);
    assert_eq!(held, 0, "a lock nobody can release was left held");
}

#[test]
fn a_full_or_broken_stderr_changes_nothing() {
    let server = RedisServer::start();
    for stderr in ["/dev/full", "/dev/null"] {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_rlock"))
            .args(["-r", &server.url(), "-vvv", "run", "-t", "300ms", "k", "--", "sleep", "0.5"])
            .stderr(std::fs::File::options().write(true).open(stderr).unwrap())
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(0), "{stderr}");
    }
    // A reader that goes away: rlock carries on, refreshes, releases, and exits as the command.
    let out = std::process::Command::new("bash")
        .arg("-c")
        .arg(r#""$0" -r "$1" -vv run -t 300ms k -- sleep 1 2>&1 | head -n 1 >/dev/null; exit "${PIPESTATUS[0]}""#)
        .arg(env!("CARGO_BIN_EXE_rlock"))
        .arg(server.url())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let held: i64 = server.cmd(&["EXISTS", "rlock:k"]);
    assert_eq!(held, 0);
}

#[test]
fn a_stderr_nobody_reads_holds_up_neither_the_stop_nor_the_exit() {
    use std::os::fd::AsFd;

    // A pipe of one page that nobody reads: -vvv fills it within a second.
    let server = RedisServer::start();
    let (reader, writer) = nix::unistd::pipe().unwrap();
    nix::fcntl::fcntl(writer.as_fd(), nix::fcntl::FcntlArg::F_SETPIPE_SZ(4096)).unwrap();
    let mut running = std::process::Command::new(env!("CARGO_BIN_EXE_rlock"))
        .args(["-r", &server.url(), "-vvv", "run", "-t", "150ms", "k", "--"])
        .args(["sh", "-c", "trap '' TERM; sleep 30"])
        .stderr(std::process::Stdio::from(writer))
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(1500));
    rlock(&server).args(["break", "k"]).output().expect_code(0);
    let deadline = Instant::now() + Duration::from_secs(10);
    let status = loop {
        if let Some(status) = running.try_wait().unwrap() {
            break status;
        }
        assert!(Instant::now() < deadline, "rlock hung on its stderr");
        std::thread::sleep(Duration::from_millis(20));
    };
    drop(reader);
    assert_eq!(status.code(), Some(124));
}

/// A command whose shell ends at once, leaving a step in the background (or, with `setsid`, in
/// a session of its own) that beats and ignores SIGTERM.
fn leaving_behind(setsid: bool) -> String {
    let step = r#"echo $$ > "$1"; trap '' TERM; i=0; while [ $i -lt 100 ]; do date +%s%N >> "$2"; sleep 0.02; i=$((i+1)); done"#;
    let start = if setsid { "setsid sh -c" } else { "sh -c" };
    format!(r#"{start} '{step}' sh "$0" "$1" & exit 3"#)
}

#[test]
fn the_lock_is_held_until_what_the_command_left_behind_has_ended() {
    for setsid in [false, true] {
        let server = RedisServer::start();
        let files = Files::new();
        let first = files.beating(rlock(&server).args([
            "run",
            "k",
            "--",
            "sh",
            "-c",
            &leaving_behind(setsid),
        ]));
        files.next_holder(&server);
        let first = first.finish(Duration::from_secs(20));
        // The shell's own status, once its background step ended (2 s of beats).
        first.expect_code(3);
        assert!(first.stderr.contains("stays held until it ends"), "{}", first.stderr);
        assert_eq!(files.overlap(), Vec::<u128>::new(), "setsid {setsid}: ran together");
    }
}

#[test]
fn what_the_command_left_behind_is_stopped_with_it_when_the_lock_goes() {
    let server = RedisServer::start();
    let files = Files::new();
    let running = files.beating(rlock(&server).args([
        "run",
        "-t",
        "600ms",
        "k",
        "--",
        "sh",
        "-c",
        &leaving_behind(true),
    ]));
    rlock(&server).args(["break", "k"]).output().expect_code(0);
    let out = running.finish(Duration::from_secs(20));
    out.expect_code(124);
    assert!(process_is_dead(read_pid(&files.pid)), "the setsid step outlived the lock");
}

#[test]
fn a_frozen_rlock_cannot_leave_what_its_command_left_behind_running() {
    let server = RedisServer::start();
    let files = Files::new();
    let first = files.beating(rlock(&server).args([
        "run",
        "-t",
        "2s",
        "k",
        "--",
        "sh",
        "-c",
        &leaving_behind(true),
    ]));
    kill(first.pid(), Signal::SIGSTOP).unwrap();
    files.next_holder(&server);
    assert_eq!(files.overlap(), Vec::<u128>::new(), "ran together");
    kill(first.pid(), Signal::SIGCONT).unwrap();
    first.finish(Duration::from_secs(20)).expect_code(124);
}

#[test]
fn a_command_that_ends_as_its_first_refresh_goes_out_exits_with_its_own_status() {
    // The refresh and the release must not race: a command ending right at its first refresh
    // (ttl/3 = 100 ms) ran with the lock, and exits 0, never 124. Two busy loops make the
    // timing vary, as under load.
    let server = RedisServer::start();
    let stop = std::sync::atomic::AtomicBool::new(false);
    std::thread::scope(|scope| {
        for _ in 0..2 {
            scope.spawn(|| {
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    std::hint::spin_loop();
                }
            });
        }
        let mut codes = std::collections::HashMap::new();
        for _ in 0..60 {
            let out =
                rlock(&server).args(["run", "-t", "300ms", "k", "--", "sleep", "0.1"]).output();
            *codes.entry(out.code()).or_insert(0) += 1;
        }
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        assert_eq!(codes, std::collections::HashMap::from([(0, 60)]));
    });
}

#[test]
fn a_lock_that_arrives_too_late_to_use_starts_no_command() {
    // Every request takes 1.5 s to reach Redis: a lock with a 2 s ttl has too little left on
    // arrival for its command to run before it must be stopped. rlock gives it back, does not
    // start the command, and gives up within a second of its --wait.
    let server = RedisServer::start();
    let partition = Partition::before(&server);
    let files = Files::new();
    // Once at full speed, so that Redis knows the scripts: each call is then one round trip.
    rlock_at(&partition.url()).args(["run", "k", "--", "true"]).output().expect_code(0);
    partition.delay(Duration::from_millis(1500));
    let started = Instant::now();
    let out = rlock_at(&partition.url())
        .args(["run", "-t", "2s", "-w", "4s", "k", "--", "sh", "-c", STAMP])
        .arg_path(&files.second)
        .output();
    let took = started.elapsed();
    eprintln!("gave up after {took:?} with --wait 4s");
    assert!(!files.second.exists(), "the command was started: {}", out.stderr);
    assert!(out.stderr.contains("Redis answered too late"), "{}", out.stderr);
    assert_ne!(out.code(), 0, "{}", out.stderr);
    assert!(took < Duration::from_secs(5) + Duration::from_millis(900), "took {took:?}");
    // The same link with a ttl that leaves room: the command runs.
    let out = rlock_at(&partition.url())
        .args(["run", "-t", "20s", "-w", "10s", "k", "--", "sh", "-c", STAMP])
        .arg_path(&files.second)
        .output();
    out.expect_code(0);
    assert!(files.second.exists());
}
