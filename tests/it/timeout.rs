//! `run --timeout`: a command that runs too long is stopped (SIGTERM, SIGKILL after the kill
//! grace), the lock is released, and rlock exits 123; one that ends in time is unaffected.

use std::time::Duration;

use crate::fixture::RedisServer;
use crate::harness::{eventually, process_is_dead, read_line, read_pid, rlock};

fn lock_is_free(server: &RedisServer, key: &str) -> bool {
    rlock(server).args(["ttl", key]).output().code() == 1
}

#[test]
fn a_command_that_runs_past_its_timeout_is_stopped_with_123_and_the_lock_freed() {
    let server = RedisServer::start();
    let out = rlock(&server).args(["run", "--timeout", "1s", "slow", "--", "sleep", "30"]).output();
    out.expect_code(123);
    // Stopped by its SIGTERM at once, not after the sleep: well within the 30 s it asked for.
    assert!(out.elapsed >= Duration::from_secs(1), "{:?}", out.elapsed);
    assert!(out.elapsed < Duration::from_secs(20), "{:?}", out.elapsed);
    assert!(out.stderr.contains("ran for its --timeout of 1s"), "{}", out.stderr);
    assert!(!out.stderr.contains("SIGKILL to its group"), "sleep ends on SIGTERM: {}", out.stderr);
    assert!(lock_is_free(&server, "slow"), "the lock must be released after a timeout");
}

#[test]
fn a_command_that_ignores_sigterm_is_killed_after_the_kill_grace() {
    let server = RedisServer::start();
    let dir = tempfile::tempdir().unwrap();
    let pidfile = dir.path().join("pid");
    let running = rlock(&server)
        .args(["run", "--timeout", "1s", "--kill-grace", "1s", "stubborn", "--"])
        .args(["sh", "-c", r#"trap '' TERM; echo $$ > "$0"; while :; do sleep 0.1; done"#])
        .arg_path(&pidfile)
        .spawn();
    let shell = read_pid(&pidfile);
    let out = running.finish(Duration::from_secs(30));
    out.expect_code(123);
    // The timeout, then the grace: not sooner.
    assert!(out.elapsed >= Duration::from_secs(2), "{:?}", out.elapsed);
    assert!(out.stderr.contains("did not end after SIGTERM; sending SIGKILL"), "{}", out.stderr);
    assert!(eventually(Duration::from_secs(5), || process_is_dead(shell)), "the shell survived");
    assert!(lock_is_free(&server, "stubborn"));
}

#[test]
fn the_timeouts_exit_wins_over_a_command_that_traps_sigterm_and_exits_0() {
    let server = RedisServer::start();
    let dir = tempfile::tempdir().unwrap();
    let trapped = dir.path().join("trapped");
    let out = rlock(&server)
        .args(["run", "--timeout", "1s", "trap", "--"])
        .args(["sh", "-c", r#"trap 'echo yes > "$0"; exit 0' TERM; sleep 30 & wait"#])
        .arg_path(&trapped)
        .output();
    out.expect_code(123);
    assert_eq!(read_line(&trapped), "yes", "the command had its SIGTERM and exited 0");
    assert!(lock_is_free(&server, "trap"));
}

#[test]
fn a_command_that_ends_in_time_is_unaffected() {
    let server = RedisServer::start();
    rlock(&server).args(["run", "--timeout", "10s", "quick", "--", "true"]).output().expect_code(0);
    let out = rlock(&server).args(["run", "--timeout", "10s", "quick", "--", "sh", "-c", "exit 3"]);
    out.output().expect_code(3);
}

#[test]
fn bad_timeouts_are_refused_before_any_lock_is_taken() {
    let server = RedisServer::start();
    for (bad, said) in [
        ("0", "a --timeout of 0 would stop the command"),
        ("0s", "a --timeout of 0 would stop the command"),
        ("soon", "'soon' is not a duration"),
        ("30", "'30' has no unit: write 30s"),
    ] {
        let out = rlock(&server).args(["run", "--timeout", bad, "k", "--", "true"]).output();
        out.expect_code(125);
        assert!(out.stderr.contains(said), "{bad}: {}", out.stderr);
        assert!(out.stderr.contains("--timeout"), "{bad}: {}", out.stderr);
    }
    let taken: i64 = server.cmd(&["EXISTS", "rlock:k"]);
    assert_eq!(taken, 0, "nothing was taken");
}

#[test]
fn the_timeout_counts_from_the_commands_start_not_the_wait() {
    let server = RedisServer::start();
    let token = {
        let out = rlock(&server).args(["acquire", "-t", "2m", "queue"]).output();
        out.expect_code(0);
        out.stdout.trim().to_owned()
    };
    let mut waiter =
        rlock(&server).args(["run", "--timeout", "3s", "queue", "--", "sleep", "0.5"]).spawn();
    // Held for 4 s, longer than the timeout: counted from rlock's start, the timeout would be
    // long past when the command starts.
    std::thread::sleep(Duration::from_secs(4));
    assert!(waiter.is_running(), "the waiter must still be waiting");
    rlock(&server).args(["release", "queue", &token]).output().expect_code(0);
    let out = waiter.finish(Duration::from_secs(30));
    out.expect_code(0);
    assert!(out.elapsed >= Duration::from_secs(4), "{:?}", out.elapsed);
    assert!(lock_is_free(&server, "queue"));
}

#[test]
fn a_frozen_rlock_does_not_let_the_command_outrun_its_timeout() {
    let server = RedisServer::start();
    let dir = tempfile::tempdir().unwrap();
    let pidfile = dir.path().join("pid");
    let running = rlock(&server)
        .args(["run", "--timeout", "2s", "--kill-grace", "1s", "frozen", "--"])
        .args(["sh", "-c", r#"trap '' TERM; echo $$ > "$0"; while :; do sleep 0.1; done"#])
        .arg_path(&pidfile)
        .spawn();
    let shell = read_pid(&pidfile);
    running.signal(nix::sys::signal::Signal::SIGSTOP);
    // The guardian kills it a second after rlock's own SIGKILL would have: long before the
    // lock's 30 s ttl would have it killed.
    assert!(
        eventually(Duration::from_secs(15), || process_is_dead(shell)),
        "the command outran its timeout while rlock was frozen"
    );
    running.signal(nix::sys::signal::Signal::SIGCONT);
    let out = running.finish(Duration::from_secs(30));
    out.expect_code(123);
    assert!(lock_is_free(&server, "frozen"));
}
