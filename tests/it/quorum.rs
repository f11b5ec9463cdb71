//! Quorum mode (Redlock): one lock over 3 or 5 independent redis-servers.

use std::time::{Duration, Instant};

use nix::sys::signal::Signal;

use crate::fixture::RedisServer;
use crate::harness::{assert_one_line_mentioning, count_under_contention, eventually, rlock_at};

pub(crate) fn servers(n: usize) -> Vec<RedisServer> {
    (0..n).map(|_| RedisServer::start()).collect()
}

/// RLOCK_REDIS for all of them: their URLs, comma-separated.
pub(crate) fn urls(servers: &[RedisServer]) -> String {
    servers.iter().map(RedisServer::url).collect::<Vec<_>>().join(",")
}

fn fence_of(url: &str, key: &str) -> u64 {
    let out = rlock_at(url).args(["run", key, "--", "sh", "-c", "echo $RLOCK_FENCE"]).output();
    out.expect_code(0);
    out.stdout.trim().parse().unwrap()
}

#[test]
fn a_minority_down_or_frozen_changes_nothing_for_the_user() {
    for (n, down) in [(3, 1), (5, 2)] {
        let mut all = servers(n);
        let url = urls(&all);
        let first = fence_of(&url, "k");
        // The lock is on every server.
        for server in &all {
            assert_eq!(server.cmd::<i64>(&["EXISTS", "{rlock:k}}fence"]), 1);
        }
        // One frozen (SIGSTOP), the others of the minority gone.
        all[0].pause();
        for _ in 1..down {
            drop(all.pop());
        }
        assert!(fence_of(&url, "k") > first);
        let out = rlock_at(&url).args(["acquire", "-t", "1m", "held"]).output();
        out.expect_code(0);
        let out = rlock_at(&url).args(["status", "--json", "held"]).output();
        out.expect_code(0);
        let status: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
        assert_eq!(status["held"], true, "{status}");
        rlock_at(&url).args(["ttl", "held"]).output().expect_code(0);
        let out = rlock_at(&url).arg("list").output();
        out.expect_code(0);
        assert!(out.stdout.starts_with("held\t"), "{}", out.stdout);
        rlock_at(&url).args(["run", "-n", "held", "--", "true"]).output().expect_code(75);
        all[0].resume();
    }
}

#[test]
fn a_majority_down_is_an_error_naming_how_many_answered() {
    let mut all = servers(3);
    let url = urls(&all);
    all[0].pause();
    drop(all.pop());
    let out = rlock_at(&url).args(["run", "k", "--", "echo", "ran"]).output();
    out.expect_code(125);
    assert_eq!(out.stdout, "", "nothing runs without a majority");
    assert_one_line_mentioning(
        &out.stderr,
        &["only 1 of 3 Redis servers answered", "majority (2)"],
    );
    for query in [&["ttl", "k"][..], &["status", "k"], &["list"]] {
        let out = rlock_at(&url).args(query).output();
        out.expect_code(125);
        assert_one_line_mentioning(&out.stderr, &["only 1 of 3"]);
    }
    all[0].resume();
}

#[test]
fn losing_the_majority_while_the_command_runs_stops_it_with_124() {
    let all = servers(3);
    let url = urls(&all);
    let running = rlock_at(&url)
        .args(["run", "-t", "2s", "--kill-grace", "1s", "k", "--", "sleep", "30"])
        .spawn();
    assert!(eventually(Duration::from_secs(10), || {
        all[2].cmd::<Option<String>>(&["GET", "rlock:k"]).is_some()
    }));
    let lost_at = Instant::now();
    all[0].pause();
    all[1].pause();
    let out = running.finish(Duration::from_secs(15));
    out.expect_code(124);
    assert!(lost_at.elapsed() < Duration::from_secs(6), "{:?}", lost_at.elapsed());
    assert_one_line_mentioning(&out.stderr, &["lost the lock 'k'"]);
    all[0].resume();
    all[1].resume();
}

/// Makes `server` refuse every client (a password it does not have) or take them again.
fn set_away(server: &RedisServer, away: bool) {
    let url = format!("redis://:away-pw@127.0.0.1:{}", server.port());
    if away {
        server.cmd::<String>(&["CONFIG", "SET", "requirepass", "away-pw"]);
    } else {
        let client = redis::Client::open(url).unwrap();
        let mut con = client.get_connection().unwrap();
        redis::cmd("CONFIG")
            .arg("SET")
            .arg("requirepass")
            .arg("")
            .query::<String>(&mut con)
            .unwrap();
    }
}

#[test]
fn fences_keep_growing_whichever_majority_grants_the_lock() {
    let all = servers(3);
    let url = urls(&all);
    // Server 0's counter is far ahead of the clocks, as after a history in which the others were
    // away (8e15 microseconds is the year 2223).
    let ahead: u64 = 8_000_000_000_000_000;
    all[0].cmd::<String>(&["SET", "{rlock:k}}fence", &ahead.to_string()]);
    set_away(&all[2], true);
    assert_eq!(fence_of(&url, "k"), ahead + 1, "the largest counter of the majority");
    set_away(&all[2], false);
    // Now a majority without server 0: its fence must still be larger.
    set_away(&all[0], true);
    let fence = fence_of(&url, "k");
    assert!(fence > ahead + 1, "fence {fence} after {}", ahead + 1);
    set_away(&all[0], false);
}

#[test]
fn fences_keep_growing_across_a_majority_after_idle_gaps_and_restarts() {
    let mut all = servers(3);
    let url = urls(&all);
    let mut fences = vec![fence_of(&url, "k")];
    // Server 2 away: the others' counters move on without it.
    set_away(&all[2], true);
    fences.push(fence_of(&url, "k"));
    set_away(&all[2], false);
    // Server 0 restarted empty (no persistence) and server 1 away: the majority is the restarted
    // server and the one that was away, whose counter is behind.
    all[0].restart();
    set_away(&all[1], true);
    fences.push(fence_of(&url, "k"));
    set_away(&all[1], false);
    // Idle past every counter's lifetime (their expiry played by deleting them).
    for server in &all {
        let pttl: i64 = server.cmd(&["PTTL", "{rlock:k}}fence"]);
        assert!(pttl > 0, "every counter expires: {pttl}");
        server.cmd::<i64>(&["DEL", "{rlock:k}}fence"]);
    }
    fences.push(fence_of(&url, "k"));
    // Every server restarted empty.
    for server in &mut all {
        server.restart();
    }
    fences.push(fence_of(&url, "k"));
    assert!(fences.windows(2).all(|pair| pair[0] < pair[1]), "{fences:?}");
}

#[test]
fn waiters_all_get_the_lock_in_turn_without_a_queue() {
    let all = servers(3);
    let url = urls(&all);
    let out = rlock_at(&url).args(["acquire", "-t", "1m", "k"]).output();
    out.expect_code(0);
    let token = out.stdout.trim().to_owned();
    let waiters: Vec<_> = (0..4)
        .map(|n| rlock_at(&url).args(["run", "k", "--", "echo", &format!("waiter {n}")]).spawn())
        .collect();
    std::thread::sleep(Duration::from_millis(300));
    rlock_at(&url).args(["release", "k", &token]).output().expect_code(0);
    for waiter in waiters {
        waiter.finish(Duration::from_secs(20)).expect_code(0);
    }
    // Ctrl-C while waiting still ends the wait at once, holding nothing.
    rlock_at(&url).args(["acquire", "-t", "1m", "k"]).output().expect_code(0);
    let waiter = rlock_at(&url).args(["run", "k", "--", "echo", "never"]).spawn();
    std::thread::sleep(Duration::from_millis(300));
    let signalled = Instant::now();
    waiter.signal(Signal::SIGINT);
    waiter.finish(Duration::from_secs(5)).expect_code(130);
    assert!(signalled.elapsed() < Duration::from_secs(2));
}

#[test]
fn the_counter_stays_exact_against_three_masters() {
    let all = servers(3);
    count_under_contention(&urls(&all), 16, 25);
}

/// The same server twice is no quorum (a majority of two "servers" would be one): refused at
/// once, however the URL is spelled, instead of waiting forever.
#[test]
fn the_same_server_twice_is_refused_with_125() {
    let server = RedisServer::start();
    let other = RedisServer::start();
    let url = server.url();
    let same = format!("redis://127.0.0.1:{}/0", server.port());
    for urls in [format!("{url},{url}"), format!("{url},{},{same}", other.url())] {
        let out = rlock_at(&urls).args(["run", "-w", "2s", "k", "--", "echo", "ran"]).output();
        out.expect_code(125);
        assert_eq!(out.stdout, "", "nothing runs");
        assert_one_line_mentioning(&out.stderr, &["twice", "independent"]);
        assert!(out.elapsed < Duration::from_secs(2), "took {:?}", out.elapsed);
    }
}
