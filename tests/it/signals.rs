//! Signals sent to rlock reach the command's whole process group; rlock releases and passes the
//! command's status on. rlock SIGKILLed takes the command with it.

use std::time::Duration;

use nix::sys::signal::Signal;

use crate::fixture::RedisServer;
use crate::harness::{eventually, process_is_dead, read_line, read_pid, rlock};

fn lock_is_free(server: &RedisServer, key: &str) -> bool {
    rlock(server).args(["ttl", key]).output().code() == 1
}

/// The command is a shell that runs a second shell in the foreground, which records its pid and
/// becomes `sleep`. The signal must reach both: the shell dies of it, and so does its child.
fn forwards(signal: Signal) {
    let server = RedisServer::start();
    let dir = tempfile::tempdir().unwrap();
    let pidfile = dir.path().join("grandchild.pid");
    let running = rlock(&server)
        .current_dir(dir.path())
        .args([
            "run",
            "sig",
            "--",
            "sh",
            "-c",
            r#"sh -c 'echo $$ > "$0"; exec sleep 60' "$0"; exit 7"#,
        ])
        .arg_path(&pidfile)
        .spawn();
    let grandchild = read_pid(&pidfile);
    running.signal(signal);
    let out = running.finish(Duration::from_secs(20));
    out.expect_code(128 + signal as i32);
    assert!(
        eventually(Duration::from_secs(5), || process_is_dead(grandchild)),
        "the command's child survived {signal}"
    );
    assert!(lock_is_free(&server, "sig"), "the lock must be released after {signal}");
}

#[test]
fn sigint_reaches_the_process_group() {
    forwards(Signal::SIGINT);
}

#[test]
fn sigterm_reaches_the_process_group() {
    forwards(Signal::SIGTERM);
}

#[test]
fn sighup_reaches_the_process_group() {
    forwards(Signal::SIGHUP);
}

#[test]
fn sigquit_reaches_the_process_group() {
    forwards(Signal::SIGQUIT);
}

#[test]
fn a_command_that_traps_sigterm_and_exits_0_makes_rlock_exit_0() {
    let server = RedisServer::start();
    let dir = tempfile::tempdir().unwrap();
    let ready = dir.path().join("ready");
    let running = rlock(&server)
        .args([
            "run",
            "trap",
            "--",
            "sh",
            "-c",
            r#"trap 'exit 0' TERM; sleep 60 & echo ready > "$0"; wait"#,
        ])
        .arg_path(&ready)
        .spawn();
    read_line(&ready);
    running.signal(Signal::SIGTERM);
    running.finish(Duration::from_secs(20)).expect_code(0);
    assert!(lock_is_free(&server, "trap"));
}

fn second_signal_forces_sigkill(signal: Signal) {
    let server = RedisServer::start();
    let dir = tempfile::tempdir().unwrap();
    let ready = dir.path().join("ready");
    let mut running = rlock(&server)
        .args(["run", "stubborn", "--", "sh", "-c"])
        .arg(format!(r#"trap '' {}; echo ready > "$0"; sleep 60"#, &signal.as_str()[3..]))
        .arg_path(&ready)
        .spawn();
    read_line(&ready);
    running.signal(signal);
    std::thread::sleep(Duration::from_millis(500));
    assert!(running.is_running(), "the command ignores {signal}, so it keeps running");
    running.signal(signal);
    let out = running.finish(Duration::from_secs(20));
    out.expect_code(128 + Signal::SIGKILL as i32);
    assert!(lock_is_free(&server, "stubborn"));
}

#[test]
fn a_second_sigint_forces_sigkill() {
    second_signal_forces_sigkill(Signal::SIGINT);
}

#[test]
fn a_second_sigterm_forces_sigkill() {
    second_signal_forces_sigkill(Signal::SIGTERM);
}

#[test]
fn sigint_while_waiting_runs_nothing_and_exits_130() {
    let server = RedisServer::start();
    let token = rlock(&server).args(["acquire", "queue"]).output().stdout;
    let running = rlock(&server).args(["run", "queue", "--", "echo", "ran"]).spawn();
    std::thread::sleep(Duration::from_millis(500));
    running.signal(Signal::SIGINT);
    let out = running.finish(Duration::from_secs(10));
    out.expect_code(130);
    assert_eq!(out.stdout, "");
    // The holder still holds it.
    let stored: String = server.cmd(&["GET", "rlock:queue"]);
    assert_eq!(stored, token.trim());
}

#[test]
fn rlock_sigkilled_takes_the_command_and_its_children_with_it_and_the_lock_lapses() {
    let server = RedisServer::start();
    let dir = tempfile::tempdir().unwrap();
    let pidfile = dir.path().join("pids");
    // The command records its own pid and that of a child it started in the background.
    let running = rlock(&server)
        .args(["run", "-t", "2s", "orphan", "--", "sh", "-c"])
        .arg(r#"sleep 60 & echo "$$ $!" > "$0.tmp"; mv "$0.tmp" "$0"; wait"#)
        .arg_path(&pidfile)
        .spawn();
    let pids: Vec<i32> =
        read_line(&pidfile).split_whitespace().map(|pid| pid.parse().unwrap()).collect();
    assert_eq!(pids.len(), 2);
    running.signal(Signal::SIGKILL);
    let _ = running.finish(Duration::from_secs(10));
    for pid in &pids {
        assert!(
            eventually(Duration::from_secs(3), || process_is_dead(*pid)),
            "process {pid} of the command outlived rlock"
        );
    }
    // Nobody released it: it lapses after its ttl.
    assert!(
        eventually(Duration::from_secs(4), || lock_is_free(&server, "orphan")),
        "the lock should lapse within its ttl"
    );
}

#[test]
fn a_stopped_command_is_reported_and_a_forwarded_signal_still_ends_it() {
    let server = RedisServer::start();
    let mut running = rlock(&server)
        .args(["run", "stopped", "--", "sh", "-c", "kill -STOP $$; sleep 60"])
        .spawn();
    std::thread::sleep(Duration::from_millis(800));
    assert!(running.is_running());
    running.signal(Signal::SIGTERM);
    let out = running.finish(Duration::from_secs(10));
    out.expect_code(143);
    assert!(out.stderr.contains("stopped by SIGSTOP"), "{}", out.stderr);
    assert!(lock_is_free(&server, "stopped"));
}

#[test]
fn the_command_dies_even_when_rlocks_whole_process_group_is_killed() {
    // `kill -9 -PGID`, as a CI runner cancelling a job does, takes rlock and its guardian at once:
    // then PR_SET_PDEATHSIG alone stops the command.
    let server = RedisServer::start();
    let dir = tempfile::tempdir().unwrap();
    let pidfile = dir.path().join("child.pid");
    let running = rlock(&server)
        .own_process_group()
        .args(["run", "-t", "2s", "group", "--", "sh", "-c", r#"echo $$ > "$0"; exec sleep 60"#])
        .arg_path(&pidfile)
        .spawn();
    let child = read_pid(&pidfile);
    nix::sys::signal::killpg(running.pid(), Signal::SIGKILL).unwrap();
    let _ = running.finish(Duration::from_secs(10));
    assert!(
        eventually(Duration::from_secs(3), || process_is_dead(child)),
        "the command outlived rlock"
    );
}

/// rlock sends its first try before it starts the signal thread (see `wait::begin`), with the
/// signals blocked from before that try: a signal at any moment of its start-up either ends it
/// before anything was taken or is handled, and never leaves the lock held until its ttl runs
/// out. The signal is sent at 0, 0.1, ... 3 ms after the start, across the whole start-up.
#[test]
fn a_signal_at_any_moment_of_start_up_leaves_the_lock_free() {
    use std::os::unix::process::ExitStatusExt;

    let server = RedisServer::start();
    for step in 0..30 {
        let running =
            rlock(&server).args(["run", "-t", "60s", "startup", "--", "sleep", "5"]).spawn();
        std::thread::sleep(Duration::from_micros(100 * step));
        running.signal(Signal::SIGTERM);
        let out = running.finish(Duration::from_secs(10));
        let status = out.status;
        assert!(
            status.code() == Some(143) || status.signal() == Some(Signal::SIGTERM as i32),
            "step {step}: {status:?}; stderr: {}",
            out.stderr
        );
        assert!(lock_is_free(&server, "startup"), "step {step}: the lock was left held");
    }
}

/// The guardian of rlock `rlock`, found as `pgrep -P RLOCK rlock-guardian` would: by its name in
/// the kernel. Its argv[0] says the same.
fn guardian_of(rlock: i32) -> i32 {
    let mut found = None;
    let named = || {
        let children = std::fs::read_to_string(format!("/proc/{rlock}/task/{rlock}/children"));
        found = children.unwrap_or_default().split_whitespace().find_map(|pid| {
            let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).ok()?;
            (comm == "rlock-guardian\n").then(|| pid.parse().ok()).flatten()
        });
        found.is_some()
    };
    assert!(
        eventually(Duration::from_secs(10), named),
        "no child of rlock is named rlock-guardian"
    );
    let guardian = found.unwrap_or_default();
    let cmdline = std::fs::read(format!("/proc/{guardian}/cmdline")).unwrap_or_default();
    assert!(cmdline.starts_with(b"rlock-guardian\0"), "{:?}", String::from_utf8_lossy(&cmdline));
    guardian
}

/// The names of rlock's threads, as `ps -L` and `top -H` show them.
fn thread_names(rlock: i32) -> Vec<String> {
    let tasks = std::fs::read_dir(format!("/proc/{rlock}/task")).unwrap();
    let comm = |task: std::fs::DirEntry| std::fs::read_to_string(task.path().join("comm")).ok();
    tasks.filter_map(|task| comm(task.ok()?)).map(|name| name.trim_end().to_owned()).collect()
}

/// The command of the guardian tests: it says it started, then ends with 7 once the file `go`
/// is there (in 20 s at most).
const UNTIL_GO: &str = r#"echo started > started
for i in $(seq 400); do [ -e go ] && exit 7; sleep 0.05; done; exit 9"#;

/// The guardian shows as `rlock-guardian` in ps and pgrep, and rlock's threads by what they do.
/// A signal an operator sends the guardian (a `pkill rlock` that matched it, say) does nothing:
/// the command runs on, and rlock releases the lock and passes the command's status on.
#[test]
fn the_guardian_is_named_and_shrugs_off_signals_sent_to_it() {
    let server = RedisServer::start();
    let dir = tempfile::tempdir().unwrap();
    let running = rlock(&server)
        .current_dir(dir.path())
        // A short ttl: the refresh thread starts with the first refresh, a third of it in.
        .args(["run", "-t", "3s", "guarded", "--", "sh", "-c", UNTIL_GO])
        .spawn();
    read_line(&dir.path().join("started"));
    let rlock = running.pid().as_raw();
    let guardian = guardian_of(rlock);
    let threads = || thread_names(rlock);
    assert!(
        eventually(Duration::from_secs(10), || threads().contains(&"rlock-refresh".to_owned())),
        "{:?}",
        threads()
    );
    let names = threads();
    assert!(names.contains(&"rlock-signals".to_owned()), "{names:?}");
    assert!(names.iter().all(|name| name.starts_with("rlock")), "{names:?}");

    let signals = [Signal::SIGTERM, Signal::SIGINT, Signal::SIGHUP, Signal::SIGQUIT];
    let job_control = [Signal::SIGTSTP, Signal::SIGTTIN, Signal::SIGTTOU];
    for signal in signals.into_iter().chain(job_control).chain([Signal::SIGUSR1, Signal::SIGALRM]) {
        nix::sys::signal::kill(nix::unistd::Pid::from_raw(guardian), signal).unwrap();
    }
    std::thread::sleep(Duration::from_millis(300));
    let stat = std::fs::read_to_string(format!("/proc/{guardian}/stat")).unwrap_or_default();
    let state = stat.rsplit_once(") ").map(|(_, rest)| rest.chars().next());
    assert_eq!(state, Some(Some('S')), "the guardian should sleep on as before: {stat}");
    std::fs::write(dir.path().join("go"), "").unwrap();
    let out = running.finish(Duration::from_secs(20));
    out.expect_code(7);
    assert!(!out.stderr.contains("guardian"), "{}", out.stderr);
    assert!(lock_is_free(&server, "guarded"));
    assert!(eventually(Duration::from_secs(5), || process_is_dead(guardian)));
}

/// SIGKILL does end the guardian: rlock says so once, keeps the lock (refreshing it past its ttl)
/// and runs the command to its end.
#[test]
fn rlock_goes_on_holding_the_lock_when_its_guardian_is_killed() {
    let server = RedisServer::start();
    let dir = tempfile::tempdir().unwrap();
    let running = rlock(&server)
        .current_dir(dir.path())
        .args(["run", "-t", "1s", "unguarded", "--", "sh", "-c", UNTIL_GO])
        .spawn();
    read_line(&dir.path().join("started"));
    let guardian = guardian_of(running.pid().as_raw());
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(guardian), Signal::SIGKILL).unwrap();
    let said = || running.stderr_so_far().contains("guardian process");
    assert!(eventually(Duration::from_secs(10), said), "rlock should say its guardian is gone");
    // Past the ttl twice over: still held, refreshed by rlock.
    std::thread::sleep(Duration::from_millis(2500));
    assert_eq!(server.cmd::<i64>(&["EXISTS", "rlock:unguarded"]), 1, "the lock should be held");
    std::fs::write(dir.path().join("go"), "").unwrap();
    let out = running.finish(Duration::from_secs(20));
    out.expect_code(7);
    let told: Vec<&str> = out.stderr.lines().filter(|line| line.contains("guardian")).collect();
    assert_eq!(told.len(), 1, "{}", out.stderr);
    assert!(told[0].contains(&format!("(pid {guardian}) was killed by SIGKILL")), "{}", out.stderr);
    assert!(told[0].contains("keeps the lock"), "{}", out.stderr);
    assert!(lock_is_free(&server, "unguarded"));
}
