//! `rlock run`: the lock, the command, its environment, refreshing, waiting, fencing, lost locks.

use std::time::Duration;

use crate::fixture::RedisServer;
use crate::harness::rlock;

fn key_exists(server: &RedisServer, key: &str) -> bool {
    server.cmd::<i64>(&["EXISTS", key]) == 1
}

#[test]
fn passes_the_commands_exit_status_through() {
    let server = RedisServer::start();
    rlock(&server).args(["run", "job", "--", "true"]).output().expect_code(0);
    rlock(&server).args(["run", "job", "--", "sh", "-c", "exit 255"]).output().expect_code(255);
    rlock(&server).args(["run", "job", "--", "sh", "-c", "exit 3"]).output().expect_code(3);
    // Released every time: nothing is left behind but the fencing counter.
    assert!(!key_exists(&server, "rlock:job"));
    assert!(!key_exists(&server, "{rlock:job}}holder"));
}

#[test]
fn the_command_sees_its_lock_in_the_environment_and_holds_it() {
    let server = RedisServer::start();
    let script = r#"echo "$RLOCK_KEY $RLOCK_TOKEN $RLOCK_FENCE $RLOCK_TTL_MS""#;
    // Values inherited from an outer rlock are replaced by this one's.
    let out = rlock(&server)
        .env("RLOCK_FENCE", "999")
        .env("RLOCK_TOKEN", "outer")
        .env("RLOCK_KEY", "outer")
        .args(["run", "-t", "7s", "env-job", "--", "sh", "-c", script])
        .output();
    out.expect_code(0);
    let fields: Vec<&str> = out.stdout.split_whitespace().collect();
    assert_eq!(fields.len(), 4, "{}", out.stdout);
    assert_eq!(fields[0], "env-job");
    assert_eq!(fields[1].len(), 32, "a 128-bit token as hex: {}", fields[1]);
    assert!(fields[1].chars().all(|c| c.is_ascii_hexdigit()));
    let fence: String = server.cmd(&["GET", "{rlock:env-job}}fence"]);
    assert_eq!(fields[2], fence);
    assert_eq!(fields[3], "7000");
    // The token is not printed by rlock itself anywhere else.
    assert!(!out.stderr.contains(fields[1]));

    // While the command runs, the lock record holds exactly the token it was given.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("token");
    let running = rlock(&server)
        .args(["run", "held", "--", "sh", "-c", r#"echo "$RLOCK_TOKEN" > "$0"; sleep 30"#])
        .arg_path(&file)
        .spawn();
    let token = crate::harness::read_line(&file);
    let stored: String = server.cmd(&["GET", "rlock:held"]);
    assert_eq!(stored, token);
    let pttl: i64 = server.cmd(&["PTTL", "rlock:held"]);
    assert!(pttl > 0 && pttl <= 30_000, "pttl {pttl}");
    running.signal(nix::sys::signal::Signal::SIGTERM);
    running.finish(Duration::from_secs(10)).expect_code(143);
    assert!(!key_exists(&server, "rlock:held"));
}

#[test]
fn the_command_runs_without_a_shell_in_its_own_process_group() {
    let server = RedisServer::start();
    let out = rlock(&server).args(["run", "k", "--", "echo", "$HOME", "a;b"]).output();
    out.expect_code(0);
    assert_eq!(out.stdout, "$HOME a;b\n");

    // Field 5 of /proc/PID/stat is the process group; the command leads its own.
    let out = rlock(&server)
        .args(["run", "k", "--", "sh", "-c", r#"echo $$ $(cut -d' ' -f5 /proc/$$/stat)"#])
        .output();
    out.expect_code(0);
    let ids: Vec<&str> = out.stdout.split_whitespace().collect();
    assert_eq!(ids.len(), 2, "{}", out.stdout);
    assert_eq!(ids[0], ids[1], "the command should lead its own process group");

    // SIGPIPE is not ignored in the command (Rust ignores it in rlock itself): bit 13 of SigIgn.
    let out =
        rlock(&server).args(["run", "k", "--", "grep", "SigIgn", "/proc/self/status"]).output();
    out.expect_code(0);
    let mask = u64::from_str_radix(out.stdout.split_whitespace().nth(1).unwrap(), 16).unwrap();
    assert_eq!(mask & (1 << 12), 0, "SIGPIPE is ignored in the command: {}", out.stdout);
}

#[test]
fn stdin_is_inherited() {
    let server = RedisServer::start();
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_rlock"))
        .args(["-r", &server.url(), "run", "k", "--", "tr", "a-z", "A-Z"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child.stdin.take().unwrap().write_all(b"hello\n").unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout), "HELLO\n");
    assert_eq!(out.status.code(), Some(0));
}

#[test]
fn keeps_the_lock_alive_beyond_its_ttl() {
    let server = RedisServer::start();
    let running = rlock(&server)
        .args(["run", "-t", "600ms", "long", "--", "sleep", "2"])
        .spawn_holding(&server, "rlock:long");
    // Well past the ttl, it is still there, refreshed.
    std::thread::sleep(Duration::from_millis(1500));
    let pttl: i64 = server.cmd(&["PTTL", "rlock:long"]);
    assert!(pttl > 0, "the lock should still be held, pttl {pttl}");
    let out = running.finish(Duration::from_secs(10));
    out.expect_code(0);
    assert!(!key_exists(&server, "rlock:long"));
}

#[test]
fn no_wait_and_wait_give_up_with_75_or_the_code_of_e() {
    let server = RedisServer::start();
    let token = rlock(&server).args(["acquire", "busy"]).output();
    token.expect_code(0);

    let out = rlock(&server).args(["run", "-n", "busy", "--", "echo", "ran"]).output();
    out.expect_code(75);
    assert_eq!(out.stdout, "", "the command must not run");
    assert!(out.stderr.contains("held by"), "{}", out.stderr);

    rlock(&server)
        .args(["run", "-n", "-E", "0", "busy", "--", "echo", "ran"])
        .output()
        .expect_code(0);
    rlock(&server)
        .args(["run", "--no-wait", "-E", "9", "busy", "--", "true"])
        .output()
        .expect_code(9);

    let out = rlock(&server).args(["run", "-w", "1s", "busy", "--", "echo", "ran"]).output();
    out.expect_code(75);
    assert_eq!(out.stdout, "");
    assert!(
        out.elapsed >= Duration::from_millis(950) && out.elapsed < Duration::from_millis(2500),
        "--wait 1s gave up after {:?}",
        out.elapsed
    );
    // The holder was not disturbed.
    let stored: String = server.cmd(&["GET", "rlock:busy"]);
    assert_eq!(stored, token.stdout.trim());
}

#[test]
fn waiting_forever_really_waits_and_then_runs() {
    let server = RedisServer::start();
    let token = rlock(&server).args(["acquire", "-t", "1m", "door"]).output().stdout;
    let mut waiter = rlock(&server).args(["run", "door", "--", "echo", "in"]).spawn();
    std::thread::sleep(Duration::from_secs(3));
    assert!(waiter.is_running(), "rlock without --wait must keep waiting");
    rlock(&server).args(["release", "door", token.trim()]).output().expect_code(0);
    let out = waiter.finish(Duration::from_secs(10));
    out.expect_code(0);
    assert_eq!(out.stdout, "in\n");
}

#[test]
fn a_lapsed_lock_is_taken_while_waiting() {
    let server = RedisServer::start();
    rlock(&server).args(["acquire", "-t", "1s", "lapse"]).output().expect_code(0);
    let out = rlock(&server).args(["run", "-w", "10s", "lapse", "--", "echo", "in"]).output();
    out.expect_code(0);
    assert!(out.elapsed < Duration::from_secs(5), "took {:?}", out.elapsed);
}

#[test]
fn fencing_numbers_strictly_increase_across_100_runs() {
    let server = RedisServer::start();
    let mut last = 0u64;
    let mut first = None;
    for _ in 0..100 {
        let out =
            rlock(&server).args(["run", "fenced", "--", "sh", "-c", "echo $RLOCK_FENCE"]).output();
        out.expect_code(0);
        let fence: u64 = out.stdout.trim().parse().expect("RLOCK_FENCE is a number");
        assert!(fence > last, "fence {fence} after {last}");
        first.get_or_insert(fence);
        last = fence;
    }
    // Each is Redis's clock in microseconds, or one more than the last when that is later.
    let first = first.unwrap_or_default();
    assert!(first > 1_700_000_000_000_000, "fence {first} is no clock in microseconds");
    assert!(last - first < 600_000_000, "100 runs took 10 minutes? {first} to {last}");
    // acquire counts too, and status shows the fence of the current holder.
    rlock(&server).args(["acquire", "fenced"]).output().expect_code(0);
    let out = rlock(&server).args(["status", "--json", "fenced"]).output();
    let status: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert!(status["fence"].as_u64().unwrap() > last, "{status}");
}

#[test]
fn a_deleted_lock_stops_the_command_with_124() {
    let server = RedisServer::start();
    let running = rlock(&server)
        .args(["run", "-t", "3s", "doomed", "--", "sleep", "60"])
        .spawn_holding(&server, "rlock:doomed");
    server.cmd::<i64>(&["DEL", "rlock:doomed"]);
    let out = running.finish(Duration::from_secs(20));
    out.expect_code(124);
    assert!(out.stderr.contains("lost the lock"), "{}", out.stderr);
    assert!(out.elapsed < Duration::from_secs(10), "took {:?}", out.elapsed);
}

#[test]
fn a_lock_taken_over_stops_the_command_and_is_left_to_its_new_holder() {
    let server = RedisServer::start();
    let running = rlock(&server)
        .args(["run", "-t", "1500ms", "stolen", "--", "sleep", "60"])
        .spawn_holding(&server, "rlock:stolen");
    server.cmd::<String>(&["SET", "rlock:stolen", "someone-else", "PX", "60000"]);
    let out = running.finish(Duration::from_secs(20));
    out.expect_code(124);
    let stored: String = server.cmd(&["GET", "rlock:stolen"]);
    assert_eq!(stored, "someone-else", "rlock must not delete a lock that is not its own");
}

#[test]
fn a_frozen_redis_stops_the_command_before_the_lock_can_lapse() {
    let server = RedisServer::start();
    let running = rlock(&server)
        .args(["run", "-t", "3s", "frozen", "--", "sleep", "60"])
        .spawn_holding(&server, "rlock:frozen");
    let paused_at = std::time::Instant::now();
    server.pause();
    let out = running.finish(Duration::from_secs(30));
    let since_pause = paused_at.elapsed();
    server.resume();
    out.expect_code(124);
    // SIGTERM a second (the default grace for a 3 s ttl) before the SIGKILL, which comes before
    // the 3 s are up; sleep obeys the SIGTERM.
    assert!(since_pause < Duration::from_secs(3), "exit 124 only after {since_pause:?}");
    assert!(out.stderr.contains("lost the lock"), "{}", out.stderr);
}

#[test]
fn a_command_that_ignores_sigterm_is_killed_after_the_grace() {
    let server = RedisServer::start();
    let running = rlock(&server)
        .args(["run", "-t", "3s", "--kill-grace", "1s", "stubborn", "--"])
        .args(["sh", "-c", "trap '' TERM; while :; do sleep 0.1; done"])
        .spawn_holding(&server, "rlock:stubborn");
    server.cmd::<i64>(&["DEL", "rlock:stubborn"]);
    let out = running.finish(Duration::from_secs(20));
    out.expect_code(124);
    assert!(out.stderr.contains("SIGKILL"), "{}", out.stderr);
}

#[test]
fn a_kill_grace_that_does_not_fit_the_ttl_is_refused() {
    let server = RedisServer::start();
    let out =
        rlock(&server).args(["run", "-t", "3s", "--kill-grace", "5s", "k", "--", "true"]).output();
    out.expect_code(125);
    assert!(out.stderr.contains("does not fit a ttl of 3s"), "{}", out.stderr);
    assert!(out.stderr.contains("use at most 1s 668ms"), "{}", out.stderr);
    let free: i64 = server.cmd(&["EXISTS", "rlock:k"]);
    assert_eq!(free, 0, "nothing was taken");
}

#[test]
fn a_redis_restart_shorter_than_the_ttl_is_ridden_out() {
    // Redis stops answering briefly (SIGSTOP), well within the ttl: the refresh is retried and the
    // command finishes normally.
    let server = RedisServer::start();
    let running = rlock(&server)
        .args(["run", "-t", "4s", "blip", "--", "sleep", "3"])
        .spawn_holding(&server, "rlock:blip");
    server.pause();
    std::thread::sleep(Duration::from_millis(1500));
    server.resume();
    running.finish(Duration::from_secs(20)).expect_code(0);
}

#[test]
fn prefix_changes_the_key_and_empty_prefix_locks_the_bare_key() {
    let server = RedisServer::start();
    let out = rlock(&server)
        .args(["--prefix", "app:", "run", "p", "--", "sh", "-c", "echo $RLOCK_KEY"])
        .output();
    out.expect_code(0);
    assert_eq!(out.stdout, "p\n");
    assert_eq!(server.cmd::<i64>(&["EXISTS", "{app:p}}fence"]), 1);

    // With --prefix '' a lock set by another library's convention on the bare key is respected.
    server.cmd::<String>(&["SET", "bare", "other-library-token", "PX", "60000"]);
    rlock(&server)
        .args(["--prefix", "", "run", "-n", "bare", "--", "true"])
        .output()
        .expect_code(75);
    let out = rlock(&server).env("RLOCK_PREFIX", "").args(["ttl", "bare"]).output();
    out.expect_code(0);
}

/// Started with stdin and stdout closed, rlock opens /dev/null in their place (as Rust's usual
/// start-up does, which rlock skips), so that neither a pipe nor the Redis connection takes
/// their numbers and reaches the command as its input or output.
#[test]
fn closed_standard_descriptors_are_reopened_on_dev_null() {
    let server = RedisServer::start();
    // The command says what its stdin and stdout are, on stderr (the only one left open).
    let report = r#"a=$(readlink /proc/$$/fd/0); b=$(readlink /proc/$$/fd/1); echo "$a $b" >&2"#;
    let out = std::process::Command::new("sh")
        .arg("-c")
        .arg(r#"exec "$RLOCK_BIN" run k -- sh -c "$REPORT" <&- >&-"#)
        .env("RLOCK_BIN", env!("CARGO_BIN_EXE_rlock"))
        .env("RLOCK_REDIS", server.url())
        .env("REPORT", report)
        .output()
        .unwrap();
    assert!(out.status.success(), "{:?}", out);
    assert_eq!(String::from_utf8_lossy(&out.stderr), "/dev/null /dev/null\n");
}

/// rlock links GCC's unwinder in (build.rs) rather than loading libgcc_s.so.1 at every start.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[test]
fn the_binary_does_not_load_libgcc_s() {
    let out = std::process::Command::new("ldd").arg(env!("CARGO_BIN_EXE_rlock")).output().unwrap();
    let libraries = String::from_utf8_lossy(&out.stdout);
    assert!(libraries.contains("libc.so"), "{libraries}");
    assert!(!libraries.contains("libgcc_s"), "{libraries}");
}

/// The guardian keeps nothing of rlock's open but its pipe: not rlock's standard output (which a
/// reader would otherwise see open for as long as the guardian lives), nor the connection to
/// Redis that rlock opened before starting it.
#[test]
fn the_guardian_holds_only_its_pipe() {
    let server = RedisServer::start();
    // The command lists the descriptors of rlock's other child, the guardian.
    let list = r#"for d in /proc/[0-9]*; do
        read -r line < "$d/stat" 2>/dev/null || continue
        set -- ${line##*) }
        [ "$2" = "$PPID" ] && [ "${d#/proc/}" != "$$" ] && ls -l "$d/fd/" | grep -e '->'
    done; true"#;
    let out = rlock(&server).args(["run", "k", "--", "sh", "-c", list]).output();
    out.expect_code(0);
    let descriptors: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(descriptors.len(), 1, "{descriptors:?}");
    assert!(descriptors[0].ends_with(']') && descriptors[0].contains("pipe:["), "{descriptors:?}");
}

/// Arguments reach the command byte for byte, whatever their encoding: a name in Latin-1 (not
/// UTF-8) is no reason for a panic.
#[test]
fn arguments_that_are_not_utf8_reach_the_command_as_they_are() {
    use std::os::unix::ffi::OsStrExt;

    let server = RedisServer::start();
    let latin1 = std::ffi::OsStr::from_bytes(b"caf\xe9");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_rlock"))
        .args(["-r", &server.url(), "run", "k", "--", "printf", "%s\\n"])
        .arg(latin1)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(out.stdout, b"caf\xe9\n");
    // Not as the lock's name, which Redis keys and messages need as text: a usage error.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_rlock"))
        .args(["-r", &server.url(), "run"])
        .arg(latin1)
        .args(["--", "true"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(125), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stderr).contains("invalid UTF-8"));
}

/// How many times Redis ran each command since its statistics were last reset, as `INFO
/// commandstats` counts them (the commands scripts call included).
fn command_calls(server: &RedisServer) -> std::collections::BTreeMap<String, u64> {
    let info: String = server.cmd(&["INFO", "commandstats"]);
    info.lines()
        .filter_map(|line| line.strip_prefix("cmdstat_"))
        .filter_map(|line| {
            let (name, rest) = line.split_once(':')?;
            let calls = rest.strip_prefix("calls=")?.split(',').next()?.parse().ok()?;
            Some((name.to_owned(), calls))
        })
        .collect()
}

#[test]
fn an_uncontended_run_costs_redis_two_short_scripts() {
    let server = RedisServer::start();
    rlock(&server).args(["run", "warm", "--", "true"]).output().expect_code(0);
    server.cmd::<String>(&["CONFIG", "RESETSTAT"]);
    rlock(&server).args(["run", "cost", "--", "true"]).output().expect_code(0);
    let calls = command_calls(&server);
    assert_eq!(calls.get("evalsha"), Some(&2), "{calls:?}");
    // What the two scripts call: each command a script runs costs Redis more than the command
    // itself, so the path every uncontended run takes is kept short. One reading of the clock
    // each; no type checks beyond the reads; nobody waits, so no queue to leave; a short history.
    let inner: u64 = calls
        .iter()
        .filter(|(name, _)| !["evalsha", "config|resetstat", "info"].contains(&name.as_str()))
        .map(|(_, count)| count)
        .sum();
    assert!(inner <= 20, "{inner} commands: {calls:?}");
    assert_eq!(calls.get("time"), Some(&2), "{calls:?}");
    for absent in ["type", "ltrim", "zrem", "zrangebyscore"] {
        assert!(!calls.contains_key(absent), "{absent}: {calls:?}");
    }
}
