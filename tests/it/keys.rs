//! What rlock leaves in Redis: every key expires once a lock is idle, fences keep growing across
//! idle periods and restarts, no secret is stored, and lock names cannot take each other's keys.

use std::time::Duration;

use nix::sys::signal::Signal;

use crate::fixture::RedisServer;
use crate::harness::{Running, eventually, rlock};

/// How long rlock keeps a fencing counter after its last fence (src/timing.rs, FENCE_LIFETIME).
const FENCE_LIFETIME_MS: i64 = 7 * 24 * 3600 * 1000;

/// How long rlock keeps a lock's history after its last entry (src/timing.rs, HISTORY_LIFETIME).
const HISTORY_LIFETIME_MS: i64 = 7 * 24 * 3600 * 1000;

/// Every key on the server (SCAN, as `redis-cli --scan` does), with its PTTL.
fn all_keys(server: &RedisServer) -> Vec<(String, i64)> {
    let mut con = server.connection();
    let mut cursor = "0".to_owned();
    let mut keys = Vec::new();
    for _ in 0..10_000 {
        let (next, batch): (String, Vec<String>) =
            redis::cmd("SCAN").arg(&cursor).arg("COUNT").arg(1000).query(&mut con).unwrap();
        keys.extend(batch);
        cursor = next;
        if cursor == "0" {
            break;
        }
    }
    keys.into_iter().map(|key| (key.clone(), server.cmd::<i64>(&["PTTL", &key]))).collect()
}

/// Fails unless every key on the server expires by itself: PTTL 0 or more (0: within the
/// millisecond), or -2 (gone since the SCAN); -1 is a key without expiry.
fn assert_every_key_expires(server: &RedisServer, when: &str) -> Vec<(String, i64)> {
    let keys = all_keys(server);
    for (key, pttl) in &keys {
        assert!(*pttl >= 0 || *pttl == -2, "{when}: '{key}' has no expiry ({pttl})");
    }
    keys
}

fn fence_of(server: &RedisServer, args: &[&str]) -> u64 {
    let out =
        rlock(server).arg("run").args(args).args(["--", "sh", "-c", "echo $RLOCK_FENCE"]).output();
    out.expect_code(0);
    out.stdout.trim().parse().unwrap_or_else(|_| panic!("no fence: {}", out.stdout))
}

fn queued(server: &RedisServer, key: &str) -> i64 {
    server.cmd(&["ZCARD", &format!("{{rlock:{key}}}}}queue")])
}

fn spawn_run(server: &RedisServer, args: &[&str], command: &[&str]) -> Running {
    rlock(server).arg("run").args(args).arg("--").args(command).spawn()
}

#[test]
fn no_key_is_left_without_an_expiry_once_locks_are_idle() {
    let server = RedisServer::start();
    // Taken and released.
    fence_of(&server, &["-t", "1s", "plain"]);
    // A holder with waiters (queue, places, waiters' records and wake-up lists), one of which is
    // killed while it waits and leaves its place to lapse.
    let holder = spawn_run(&server, &["-t", "1s", "busy"], &["sleep", "1"]);
    assert!(
        eventually(Duration::from_secs(10), || server.cmd::<i64>(&["EXISTS", "rlock:busy"]) == 1)
    );
    let waiters: Vec<Running> =
        (0..2).map(|_| spawn_run(&server, &["-t", "1s", "busy"], &["true"])).collect();
    let killed = spawn_run(&server, &["-t", "1s", "busy"], &["true"]);
    assert!(eventually(Duration::from_secs(10), || queued(&server, "busy") == 3));
    killed.signal(Signal::SIGKILL);
    // Shared and limited holders, and locks taken and never released.
    let shared: Vec<Running> = (0..2)
        .map(|_| spawn_run(&server, &["--shared", "-t", "1s", "s"], &["sleep", "1"]))
        .collect();
    rlock(&server).args(["acquire", "--limit", "2", "-t", "1s", "lim"]).output().expect_code(0);
    rlock(&server).args(["acquire", "-t", "1s", "forgotten"]).output().expect_code(0);
    // Broken while held, and handed to a waiter that then gives up.
    rlock(&server).args(["acquire", "-t", "1m", "broken"]).output().expect_code(0);
    let giving_up = spawn_run(&server, &["-w", "10s", "broken"], &["true"]);
    assert!(eventually(Duration::from_secs(10), || queued(&server, "broken") == 1));
    rlock(&server).args(["break", "broken"]).output().expect_code(0);
    giving_up.finish(Duration::from_secs(20)).expect_code(0);

    // While all that goes on, too.
    let busy = assert_every_key_expires(&server, "while held");
    assert!(busy.iter().any(|(key, _)| key.starts_with("{rlock:busy}}queue:")), "{busy:?}");
    assert!(busy.iter().any(|(key, _)| key.starts_with("{rlock:s}}holders:")), "{busy:?}");
    for running in waiters.into_iter().chain(shared).chain([holder]) {
        running.finish(Duration::from_secs(30)).expect_code(0);
    }
    assert_every_key_expires(&server, "once done");

    // Once the ttls (1 s) and the killed waiter's place (8 s at most) have lapsed, what is left
    // is the fencing counters and the histories, kept for their lifetimes, and nothing else of
    // the locks.
    let idle = || {
        all_keys(&server).iter().all(|(key, _)| {
            key.ends_with("}}fence") || key.ends_with("}}log") || key.contains("}}queue:")
        })
    };
    assert!(eventually(Duration::from_secs(15), idle), "{:?}", all_keys(&server));
    let left = assert_every_key_expires(&server, "idle");
    for (key, pttl) in &left {
        if key.ends_with("}}fence") {
            assert!(
                *pttl > FENCE_LIFETIME_MS - 60_000 && *pttl <= FENCE_LIFETIME_MS,
                "{key} {pttl}"
            );
        }
        if key.ends_with("}}log") {
            assert!(
                *pttl > HISTORY_LIFETIME_MS - 60_000 && *pttl <= HISTORY_LIFETIME_MS,
                "{key} {pttl}"
            );
        }
    }
    let counters: Vec<&str> =
        left.iter().map(|(key, _)| key.as_str()).filter(|key| key.ends_with("fence")).collect();
    assert_eq!(counters.len(), 6, "one counter per lock: {left:?}");
    let histories = left.iter().filter(|(key, _)| key.ends_with("}}log")).count();
    assert_eq!(histories, 6, "one history per lock: {left:?}");
}

#[test]
fn holders_written_again_after_a_delete_by_hand_expire_with_the_lock() {
    let server = RedisServer::start();
    rlock(&server).args(["acquire", "--shared", "-t", "30s", "s"]).output().expect_code(0);
    server.cmd::<i64>(&["DEL", "{rlock:s}}holders"]);
    rlock(&server).args(["acquire", "--shared", "-t", "1s", "s"]).output().expect_code(0);
    let keys = assert_every_key_expires(&server, "after the delete");
    assert!(keys.iter().any(|(key, _)| key == "{rlock:s}}holders"), "{keys:?}");
}

#[test]
fn fences_grow_across_holders_idle_gaps_and_a_restart_without_persistence() {
    let mut server = RedisServer::start();
    let mut fences = vec![fence_of(&server, &["-t", "300ms", "f"]), fence_of(&server, &["f"])];
    // Handed over from a holder to a waiter.
    let holder = spawn_run(&server, &["f"], &["sh", "-c", "echo $RLOCK_FENCE; sleep 0.5"]);
    assert!(eventually(Duration::from_secs(10), || server.cmd::<i64>(&["EXISTS", "rlock:f"]) == 1));
    let waiter = spawn_run(&server, &["f"], &["sh", "-c", "echo $RLOCK_FENCE"]);
    for running in [holder, waiter] {
        let out = running.finish(Duration::from_secs(20));
        out.expect_code(0);
        fences.push(out.stdout.trim().parse().unwrap());
    }
    // A limited holder takes its fence from the same counter, which keeps the last one.
    fences.push(fence_of(&server, &["--limit", "2", "-t", "300ms", "f"]));
    let counter: u64 = server.cmd(&["GET", "{rlock:f}}fence"]);
    assert_eq!(Some(&counter), fences.last());

    // Idle for longer than every key's lifetime: the ttl has passed, and the expiry of the
    // counter and of the history (a week each) is played by deleting them.
    std::thread::sleep(Duration::from_millis(400));
    server.cmd::<i64>(&["DEL", "{rlock:f}}fence", "{rlock:f}}log"]);
    assert!(all_keys(&server).is_empty(), "{:?}", all_keys(&server));
    fences.push(fence_of(&server, &["f"]));
    fences.push(fence_of(&server, &["--shared", "f"]));

    // Redis restarted empty (no persistence): the counter is gone with everything else.
    server.restart();
    assert!(all_keys(&server).is_empty());
    fences.push(fence_of(&server, &["f"]));
    fences.push(fence_of(&server, &["f"]));
    assert!(fences.windows(2).all(|pair| pair[0] < pair[1]), "{fences:?}");
}

#[test]
fn redis_holds_the_program_name_and_never_an_argument() {
    let server = RedisServer::start();
    let secret = "--db-password=hunter2";
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("deploy-with-secrets.sh");
    std::fs::write(&script, "#!/bin/sh\nsleep 30\n").unwrap();
    std::fs::set_permissions(&script, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let holder = rlock(&server).args(["run", "-t", "1m", "job", "--"]).arg(&script).arg(secret);
    let holder = holder.spawn_holding(&server, "rlock:job");
    // A waiter's record holds its holder fields too.
    let waiter = spawn_run(&server, &["job"], &["sh", "-c", "true", secret]);
    assert!(eventually(Duration::from_secs(10), || queued(&server, "job") == 1));
    // acquire records the script that called it: here a shell with the secret in its arguments.
    // (`; true`: so that sh stays, and is the parent, instead of running rlock in its place.)
    let acquire = format!("{} acquire -t 1m other; true", env!("CARGO_BIN_EXE_rlock"));
    let out = std::process::Command::new("sh")
        .args(["-c", &acquire, secret])
        .env("RLOCK_REDIS", server.url())
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");

    let status = rlock(&server).args(["status", "--json", "job"]).output();
    status.expect_code(0);
    let json: serde_json::Value = serde_json::from_str(&status.stdout).unwrap();
    assert_eq!(json["holder"]["program"], "deploy-with-secrets.sh", "{json}");
    let other = rlock(&server).args(["status", "--json", "other"]).output();
    let other: serde_json::Value = serde_json::from_str(&other.stdout).unwrap();
    assert_eq!(other["holder"]["program"], "sh", "{other}");
    let text = rlock(&server).args(["status", "job"]).output();
    assert!(text.stdout.contains("program:  deploy-with-secrets.sh\n"), "{}", text.stdout);
    let mut shown = vec![status.stdout, text.stdout];
    for args in
        [&["list"][..], &["list", "--json"], &["status", "other"], &["ttl", "--json", "job"]]
    {
        let out = rlock(&server).args(args).output();
        out.expect_code(0);
        shown.push(out.stdout + &out.stderr);
    }
    for text in &shown {
        assert!(!text.contains("hunter2"), "{text}");
    }

    // Everything in Redis, whatever its type.
    let mut dumped = Vec::new();
    for (key, _) in all_keys(&server) {
        let kind: String = server.cmd(&["TYPE", &key]);
        let values: Vec<String> = match kind.as_str() {
            "string" => vec![server.cmd(&["GET", &key])],
            "hash" => server.cmd(&["HGETALL", &key]),
            "zset" => server.cmd(&["ZRANGE", &key, "0", "-1", "WITHSCORES"]),
            "list" => server.cmd(&["LRANGE", &key, "0", "-1"]),
            other => panic!("{key} is a {other}"),
        };
        dumped.push(format!("{key} {values:?}"));
    }
    assert!(dumped.iter().any(|entry| entry.contains("}}queue:")), "the waiter: {dumped:?}");
    for entry in &dumped {
        assert!(!entry.contains("hunter2"), "stored: {entry}");
    }
    holder.signal(Signal::SIGTERM);
    holder.finish(Duration::from_secs(20));
    waiter.finish(Duration::from_secs(20)).expect_code(0);
}

#[test]
fn lock_names_with_control_characters_are_refused_with_125() {
    let server = RedisServer::start();
    for name in ["tab\there", "new\nline", "esc\u{1b}[31m"] {
        for args in [&["run", name, "--", "true"][..], &["acquire", name], &["status", name]] {
            let out = rlock(&server).args(args).output();
            out.expect_code(125);
            assert!(out.stderr.contains("control character"), "{args:?}: {}", out.stderr);
        }
    }
    let out = rlock(&server).args(["--prefix", "a\tb", "ttl", "x"]).output();
    out.expect_code(125);
    assert!(out.stderr.contains("prefix"), "{}", out.stderr);
    assert!(all_keys(&server).is_empty(), "{:?}", all_keys(&server));
}

#[test]
fn a_lock_name_starting_with_a_dash_goes_after_a_double_dash() {
    let server = RedisServer::start();
    let out = rlock(&server)
        .args([
            "run",
            "-t",
            "5s",
            "--",
            "-name",
            "--",
            "sh",
            "-c",
            "echo $RLOCK_KEY; echo \"$1\"",
            "sh",
        ])
        .arg("-x")
        .output();
    out.expect_code(0);
    assert_eq!(out.stdout, "-name\n-x\n");
    assert_eq!(server.cmd::<i64>(&["EXISTS", "{rlock:-name}}fence"]), 1);
    let token = rlock(&server).args(["acquire", "--", "-name"]).output();
    token.expect_code(0);
    let out = rlock(&server).args(["status", "--", "-name"]).output();
    out.expect_code(0);
    assert!(out.stdout.starts_with("lock:     -name (key rlock:-name)"), "{}", out.stdout);
    rlock(&server).args(["run", "-n", "--", "-name", "--", "true"]).output().expect_code(75);
    rlock(&server).args(["release", "--", "-name", token.stdout.trim()]).output().expect_code(0);
    rlock(&server).args(["ttl", "--", "-name"]).output().expect_code(1);
}

#[test]
fn with_an_empty_prefix_no_lock_name_takes_another_locks_keys() {
    let server = RedisServer::start();
    let rl = || rlock(&server).args(["--prefix", ""]);
    let acquire = |name: &str| {
        let out = rl().args(["acquire", "-t", "1m", name]).output();
        out.expect_code(0);
        out.stdout.trim().to_owned()
    };
    acquire("a");
    let fence: String = server.cmd(&["GET", "{a}}fence"]);
    // The names that took lock a's keys before: '{a}' shared all of them, and '{a}:fence' was
    // its counter. They are locks of their own now.
    acquire("{a}");
    acquire("{a}:fence");
    for name in ["a", "{a}", "{a}:fence"] {
        let out = rl().args(["status", "--json", name]).output();
        out.expect_code(0);
        let status: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
        assert_eq!(status["mode"], "exclusive", "{name} is held by rlock: {status}");
        assert_eq!(status["holders"].as_array().map(Vec::len), Some(1), "{status}");
    }
    assert_eq!(server.cmd::<String>(&["GET", "{a}}fence"]), fence, "lock a's counter is its own");
    let out = rl().arg("list").output();
    let names: Vec<&str> = out.stdout.lines().filter_map(|line| line.split('\t').next()).collect();
    assert_eq!(names, ["a", "{a}", "{a}:fence"], "{}", out.stdout);
    // A name that spells one of rlock's own keys is refused, naming why.
    for name in ["{a}}fence", "{a}}holder", "a}}b"] {
        let out = rl().args(["run", name, "--", "true"]).output();
        out.expect_code(125);
        assert!(out.stderr.contains("'}}'"), "{}", out.stderr);
    }
    assert_eq!(server.cmd::<String>(&["GET", "{a}}fence"]), fence);
}
