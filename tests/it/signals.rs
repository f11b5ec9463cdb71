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
