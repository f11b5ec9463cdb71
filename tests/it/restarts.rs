//! Waiters ride out Redis restarts: they reconnect with a bounded backoff, keep their place where
//! Redis kept it (appendonly) and queue again where it forgot it, and exit 125 only when Redis
//! stays away past their --wait or refuses them for good (a password, a key of the wrong type).
//! Holders are unchanged: a lock Redis forgot is lost (124).

use std::path::PathBuf;
use std::time::{Duration, Instant};

use crate::fixture::RedisServer;
use crate::harness::{Finished, Running, eventually, rlock, rlock_at};

const KEY: &str = "deploy";
const QUEUE: &str = "{rlock:deploy}}queue";
const ALIVE: &str = "{rlock:deploy}}alive";
const WAITERS: usize = 5;
/// How long a waiter's place lasts without a heartbeat (rlock's timing::LAPSE).
const LAPSE_MS: u64 = 4000;

/// A log that the commands append to: `in ID` when one starts, `out ID` when it ends.
struct Log {
    dir: tempfile::TempDir,
}

impl Log {
    fn new() -> Log {
        Log { dir: tempfile::tempdir().unwrap() }
    }

    fn path(&self) -> PathBuf {
        self.dir.path().join("log")
    }

    /// The file that lets a holder's command finish.
    fn go(&self) -> PathBuf {
        self.dir.path().join("go")
    }

    /// A waiter's command: stamps in, works 200 ms, stamps out.
    fn turn(&self, id: &str) -> String {
        let log = self.path().display().to_string();
        format!("echo 'in {id}' >> '{log}'; sleep 0.2; echo 'out {id}' >> '{log}'")
    }

    /// A holder's command: stamps in, waits until the test creates `go` (10 s at most), stamps
    /// out.
    fn hold(&self, id: &str) -> String {
        let (log, go) = (self.path().display().to_string(), self.go().display().to_string());
        format!(
            "echo 'in {id}' >> '{log}'; for i in $(seq 200); do [ -e '{go}' ] && break; \
             sleep 0.05; done; echo 'out {id}' >> '{log}'"
        )
    }

    /// (in or out, id) of every stamp, in order.
    fn stamps(&self) -> Vec<(String, String)> {
        std::fs::read_to_string(self.path())
            .unwrap_or_default()
            .lines()
            .map(|line| {
                let (what, id) = line.split_once(' ').expect("a stamp is 'in ID' or 'out ID'");
                (what.to_owned(), id.to_owned())
            })
            .collect()
    }

    /// The ids in the order their commands ran, checking that none of them (leaving out those
    /// in `apart`) started while another ran, and that each ended.
    fn one_at_a_time(&self, apart: &[&str]) -> Vec<String> {
        let stamps: Vec<(String, String)> =
            self.stamps().into_iter().filter(|(_, id)| !apart.contains(&id.as_str())).collect();
        let mut order = Vec::new();
        let mut inside: Option<&String> = None;
        for (what, id) in &stamps {
            match (what.as_str(), inside) {
                ("in", None) => {
                    inside = Some(id);
                    order.push(id.clone());
                }
                ("out", Some(running)) if running == id => inside = None,
                _ => panic!(
                    "two commands ran at once ({what} {id} while {inside:?} ran): {stamps:?}"
                ),
            }
        }
        assert_eq!(inside, None, "a command never ended: {stamps:?}");
        order
    }
}

fn queued(server: &RedisServer) -> i64 {
    server.cmd(&["ZCARD", QUEUE])
}

/// Redis's clock, in milliseconds.
fn redis_ms(server: &RedisServer) -> u64 {
    let (seconds, micros): (u64, u64) = server.cmd(&["TIME"]);
    seconds * 1000 + micros / 1000
}

/// A holder that keeps the lock until the test creates `log.go()`, and `WAITERS` waiters queued
/// behind it in a known order (`w1` first), each with `-w 60s`.
fn holder_and_waiters(server: &RedisServer, log: &Log) -> (Running, Vec<Running>) {
    let holder = rlock(server)
        .args(["run", "-t", "3s", KEY, "--", "sh", "-c", &log.hold("holder")])
        .spawn_holding(server, "rlock:deploy");
    let waiters = (1..=WAITERS)
        .map(|i| {
            let turn = log.turn(&format!("w{i}"));
            let waiter = rlock(server).args(["run", "-w", "60s", KEY, "--", "sh", "-c", &turn]);
            let waiter = waiter.spawn();
            let place = i64::try_from(i).unwrap();
            assert!(
                eventually(Duration::from_secs(10), || queued(server) == place),
                "waiter {i} never joined the queue"
            );
            waiter
        })
        .collect();
    (holder, waiters)
}

/// Each waiter ran its command (exit 0), and said once that Redis went away and once that it
/// was back.
fn all_got_their_turn(waiters: Vec<Running>) {
    for (i, waiter) in waiters.into_iter().enumerate() {
        let out: Finished = waiter.finish(Duration::from_secs(30));
        out.expect_code(0);
        let said = |what: &str| out.stderr.lines().filter(|line| line.contains(what)).count();
        assert_eq!(
            said("Redis went away while waiting for 'deploy'"),
            1,
            "w{}: {}",
            i + 1,
            out.stderr
        );
        assert_eq!(said("Redis answers again after"), 1, "w{}: {}", i + 1, out.stderr);
        assert!(!out.stderr.contains("panicked"), "{}", out.stderr);
    }
}

#[test]
fn waiters_ride_out_a_restart_without_persistence() {
    let mut server = RedisServer::start();
    let log = Log::new();
    let (holder, waiters) = holder_and_waiters(&server, &log);
    server.restart();
    // The restarted server has forgotten the lock: the holder finds it gone and is stopped.
    let out = holder.finish(Duration::from_secs(20));
    out.expect_code(124);
    assert!(out.stderr.contains("lost the lock 'deploy'"), "{}", out.stderr);
    // The waiters queue again on the empty server and take their turns, one at a time. (The
    // holder's command may still have been running when the first of them started: without
    // persistence Redis forgets locks, which is why rlock hands out fences.)
    all_got_their_turn(waiters);
    let mut order = log.one_at_a_time(&["holder"]);
    order.sort();
    assert_eq!(order, ["w1", "w2", "w3", "w4", "w5"], "each waiter ran once");
}

#[test]
fn waiters_keep_their_places_across_a_restart_with_appendonly() {
    let mut server = RedisServer::with_appendonly();
    let log = Log::new();
    let (holder, waiters) = holder_and_waiters(&server, &log);
    let places: Vec<(String, i64)> = server.cmd(&["ZRANGE", QUEUE, "0", "-1", "WITHSCORES"]);
    let before = redis_ms(&server);
    server.restart();
    // Every waiter has checked in with the restarted server (its heartbeat deadline is later
    // than any set before the restart) ...
    let all_back = eventually(Duration::from_secs(10), || {
        let alive: Vec<(String, u64)> = server.cmd(&["ZRANGE", ALIVE, "0", "-1", "WITHSCORES"]);
        alive.len() == WAITERS && alive.iter().all(|(_, deadline)| *deadline > before + LAPSE_MS)
    });
    assert!(all_back, "the waiters did not all come back to the restarted server");
    // ... and kept its place and ticket: none lost its place, none has two.
    let now: Vec<(String, i64)> = server.cmd(&["ZRANGE", QUEUE, "0", "-1", "WITHSCORES"]);
    assert_eq!(now, places);
    // The holder kept its lock (Redis kept it), and hands it on when its command ends.
    std::fs::write(log.go(), "").unwrap();
    holder.finish(Duration::from_secs(20)).expect_code(0);
    all_got_their_turn(waiters);
    assert_eq!(log.one_at_a_time(&[]), ["holder", "w1", "w2", "w3", "w4", "w5"]);
}

#[test]
fn a_waiter_whose_redis_stays_down_gives_up_at_its_deadline() {
    let mut server = RedisServer::start();
    server.cmd::<String>(&["SET", "rlock:deploy", "another-tool", "PX", "60000"]);
    let waiter = rlock(&server).args(["run", "-w", "2s", KEY, "--", "echo", "ran"]).spawn();
    assert!(eventually(Duration::from_secs(10), || queued(&server) == 1), "it never queued");
    server.stop();
    let out = waiter.finish(Duration::from_secs(20));
    out.expect_code(125);
    assert_eq!(out.stdout, "", "nothing runs without the lock");
    // About when its patience ran out: not at once, and not much later.
    assert!(out.elapsed >= Duration::from_secs(2), "gave up after {:?}", out.elapsed);
    assert!(out.elapsed < Duration::from_millis(3500), "gave up after {:?}", out.elapsed);
    // Besides the line that says the wait began.
    let waiting = |line: &&str| line.starts_with("rlock: waiting for 'deploy': ");
    let lines: Vec<&str> = out.stderr.lines().filter(|line| !waiting(line)).collect();
    assert_eq!(lines.len(), 2, "{}", out.stderr);
    assert!(lines[0].contains("Redis went away while waiting for 'deploy'"), "{}", out.stderr);
    for part in ["gave up waiting for 'deploy'", "until --wait ran out", "cannot reach Redis"] {
        assert!(lines[1].contains(part), "{part:?} missing from: {}", out.stderr);
    }
}

#[test]
fn what_retrying_cannot_fix_ends_the_wait_at_once() {
    let server = RedisServer::with_password("right-pass");
    let held = rlock(&server).args(["acquire", "-t", "2m", KEY]).output();
    held.expect_code(0);
    // A wrong password from the start: refused at once, whatever the --wait.
    let wrong = format!("redis://:wrong-pass@127.0.0.1:{}", server.port());
    let out = rlock_at(&wrong).args(["run", "-w", "60s", KEY, "--", "echo", "ran"]).output();
    out.expect_code(125);
    assert!(out.elapsed < Duration::from_secs(3), "took {:?}", out.elapsed);
    assert!(out.stderr.contains("refused the user name or password"), "{}", out.stderr);
    // A waiter whose password stops working while it waits: refused when it reconnects, and
    // not tried again.
    let waiter = rlock(&server).args(["run", "-w", "60s", KEY, "--", "echo", "ran"]).spawn();
    assert!(eventually(Duration::from_secs(10), || queued(&server) == 1), "it never queued");
    let mut admin = server.connection();
    redis::cmd("CONFIG")
        .arg("SET")
        .arg("requirepass")
        .arg("new-pass")
        .query::<()>(&mut admin)
        .unwrap();
    // Every connection but this one: the waiter's is lost, and it connects again.
    let killed: i64 =
        redis::cmd("CLIENT").arg("KILL").arg("TYPE").arg("normal").query(&mut admin).unwrap();
    assert!(killed >= 1);
    let dropped = Instant::now();
    let out = waiter.finish(Duration::from_secs(20));
    out.expect_code(125);
    assert!(dropped.elapsed() < Duration::from_secs(3), "took {:?}", dropped.elapsed());
    assert_eq!(out.stdout, "");
    assert!(out.stderr.contains("refused the user name or password"), "{}", out.stderr);
    assert!(!out.stderr.contains("answers again"), "{}", out.stderr);
    assert!(
        !out.stderr.contains("right-pass") && !out.stderr.contains("new-pass"),
        "{}",
        out.stderr
    );
}

#[test]
fn a_key_of_the_wrong_type_ends_the_wait_at_once() {
    let server = RedisServer::start();
    rlock(&server).args(["acquire", "-t", "2m", KEY]).output().expect_code(0);
    let waiter = rlock(&server).args(["run", "-w", "60s", KEY, "--", "echo", "ran"]).spawn();
    assert!(eventually(Duration::from_secs(10), || queued(&server) == 1), "it never queued");
    // The fencing counter is overwritten with something else, and the waiter's connection
    // dropped: the try it reconnects with is refused for good.
    server.cmd::<String>(&["SET", "{rlock:deploy}}fence", "not-a-number"]);
    let mut admin = server.connection();
    let _: i64 =
        redis::cmd("CLIENT").arg("KILL").arg("TYPE").arg("normal").query(&mut admin).unwrap();
    let dropped = Instant::now();
    let out = waiter.finish(Duration::from_secs(20));
    out.expect_code(125);
    assert!(dropped.elapsed() < Duration::from_secs(3), "took {:?}", dropped.elapsed());
    assert!(out.stderr.contains("holds something other than an rlock lock"), "{}", out.stderr);
    assert!(!out.stderr.contains("answers again"), "{}", out.stderr);
}

/// A quorum of three: a waiter queues on each of them.
fn quorum() -> (Vec<RedisServer>, String) {
    let servers: Vec<RedisServer> = (0..3).map(|_| RedisServer::start()).collect();
    let urls = servers.iter().map(RedisServer::url).collect::<Vec<_>>().join(",");
    (servers, urls)
}

/// A holder on the quorum `urls` until `log.go()` exists, and a waiter behind it (`-w 60s`).
fn quorum_holder_and_waiter(servers: &[RedisServer], urls: &str, log: &Log) -> (Running, Running) {
    let holder = rlock_at(urls)
        .args(["run", "-t", "3s", KEY, "--", "sh", "-c", &log.hold("holder")])
        .spawn_holding(&servers[0], "rlock:deploy");
    let waiter =
        rlock_at(urls).args(["run", "-w", "60s", KEY, "--", "sh", "-c", &log.turn("w1")]).spawn();
    let queued =
        || servers.iter().all(|server| server.cmd::<i64>(&["ZCARD", "{rlock:deploy}}queue"]) == 1);
    assert!(eventually(Duration::from_secs(10), queued), "the waiter never queued");
    (holder, waiter)
}

#[test]
fn a_quorum_waiter_rides_out_one_master_restarting() {
    let (mut servers, urls) = quorum();
    let log = Log::new();
    let (holder, waiter) = quorum_holder_and_waiter(&servers, &urls, &log);
    servers[0].restart();
    std::thread::sleep(Duration::from_millis(300));
    std::fs::write(log.go(), "").unwrap();
    // Two of three still have the lock: the holder keeps it, then the waiter takes it.
    holder.finish(Duration::from_secs(20)).expect_code(0);
    waiter.finish(Duration::from_secs(20)).expect_code(0);
    assert_eq!(log.one_at_a_time(&[]), ["holder", "w1"]);
}

#[test]
fn a_quorum_waiter_rides_out_a_majority_restarting() {
    let (mut servers, urls) = quorum();
    let log = Log::new();
    let (holder, waiter) = quorum_holder_and_waiter(&servers, &urls, &log);
    // Two of three down for a while (the waiter finds too few servers answering), then back
    // empty: the holder's lock is lost, and the waiter takes it.
    servers[0].stop();
    servers[1].stop();
    std::thread::sleep(Duration::from_secs(2));
    servers[0].start_again();
    servers[1].start_again();
    let out = holder.finish(Duration::from_secs(20));
    out.expect_code(124);
    let out = waiter.finish(Duration::from_secs(20));
    out.expect_code(0);
    assert!(out.stderr.contains("Redis went away while waiting for 'deploy'"), "{}", out.stderr);
    assert!(out.stderr.contains("only 1 of 3 Redis servers answered"), "{}", out.stderr);
    assert!(out.stderr.contains("Redis answers again"), "{}", out.stderr);
    assert_eq!(log.one_at_a_time(&["holder"]), ["w1"]);
}

#[test]
fn a_waiter_rides_out_its_master_turning_replica_and_back() {
    let server = RedisServer::start();
    let other = RedisServer::start();
    server.cmd::<String>(&["SET", "rlock:deploy", "another-tool", "PX", "60000"]);
    let mut waiter = rlock(&server).args(["run", "-w", "60s", KEY, "--", "echo", "ran"]).spawn();
    assert!(eventually(Duration::from_secs(10), || queued(&server) == 1), "it never queued");
    // Its BLPOP is cut short (UNBLOCKED), and its tries refused (READONLY) while the server is
    // a replica of an empty one ...
    let port = other.port().to_string();
    server.cmd::<String>(&["REPLICAOF", "127.0.0.1", &port]);
    let synced = || server.cmd::<i64>(&["EXISTS", "rlock:deploy"]) == 0;
    assert!(eventually(Duration::from_secs(10), synced), "the replica never synced");
    std::thread::sleep(Duration::from_millis(500));
    assert!(waiter.is_running(), "the waiter gave up while its server was a replica");
    // ... until it is a master again, empty: the waiter takes the lock.
    server.cmd::<String>(&["REPLICAOF", "NO", "ONE"]);
    let out = waiter.finish(Duration::from_secs(20));
    out.expect_code(0);
    assert_eq!(out.stdout, "ran\n");
    assert!(out.stderr.contains("Redis went away while waiting for 'deploy'"), "{}", out.stderr);
    assert!(out.stderr.contains("Redis answers again"), "{}", out.stderr);
}

#[test]
fn acquire_waits_through_a_restart_too() {
    let mut server = RedisServer::start();
    server.cmd::<String>(&["SET", "rlock:deploy", "another-tool", "PX", "60000"]);
    let waiter = rlock(&server).args(["acquire", "-w", "60s", KEY]).spawn();
    assert!(eventually(Duration::from_secs(10), || queued(&server) == 1), "it never queued");
    server.restart();
    let out = waiter.finish(Duration::from_secs(20));
    out.expect_code(0);
    let token = out.stdout.trim();
    assert_eq!(server.cmd::<String>(&["GET", "rlock:deploy"]), token, "it holds the lock");
    assert!(out.stderr.contains("Redis went away while waiting for 'deploy'"), "{}", out.stderr);
}
