//! `rlock log`: every hold rlock takes is recorded beside the lock, with how it ended, in a
//! capped and expiring list; other tools' locks have none.

use std::time::Duration;

use crate::fixture::{RedisCluster, RedisServer};
use crate::harness::{Finished, eventually, rlock, rlock_at};
use crate::quorum::{servers, urls};

/// How many entries the history keeps (src/lock/history.rs, MAX_ENTRIES).
const MAX_ENTRIES: i64 = 1000;

/// How long the history lives after its last entry (src/timing.rs, HISTORY_LIFETIME).
const LIFETIME_MS: i64 = 7 * 24 * 3600 * 1000;

fn log_key(name: &str) -> String {
    format!("{{rlock:{name}}}}}log")
}

fn log_json(out: &Finished) -> serde_json::Value {
    serde_json::from_str(&out.stdout).unwrap_or_else(|err| panic!("{err}: {}", out.stdout))
}

fn holds(json: &serde_json::Value) -> Vec<serde_json::Value> {
    json["holds"].as_array().cloned().unwrap_or_else(|| panic!("no holds: {json}"))
}

#[test]
fn a_run_is_recorded_with_its_label_fence_and_the_commands_exit_status() {
    let server = RedisServer::start();
    let out = rlock(&server)
        .args([
            "run",
            "--label",
            "ci job 7",
            "deploy",
            "--",
            "sh",
            "-c",
            "echo $RLOCK_FENCE; exit 3",
        ])
        .output();
    out.expect_code(3);
    let fence = out.stdout.trim().to_owned();

    let log = rlock(&server).args(["log", "deploy"]).output();
    log.expect_code(0);
    let lines: Vec<&str> = log.stdout.lines().collect();
    assert_eq!(lines.len(), 1, "{}", log.stdout);
    let fields: Vec<&str> = lines[0].split('\t').collect();
    assert_eq!(fields.len(), 8, "{}", lines[0]);
    assert!(fields[1].contains(" pid "), "{}", lines[0]);
    assert_eq!(fields[3], "sh");
    assert_eq!(fields[4], "label ci job 7");
    assert_eq!(fields[5], format!("fence {fence}"));
    assert!(fields[6].starts_with("held "), "{}", lines[0]);
    assert_eq!(fields[7], "released, exit 3");

    let json = log_json(&rlock(&server).args(["log", "--json", "deploy"]).output());
    assert_eq!(json["version"], 1);
    assert_eq!(json["key"], "deploy");
    let hold = &holds(&json)[0];
    assert_eq!(hold["end"], "released");
    assert_eq!(hold["exit_status"], 3);
    assert!(hold["signal"].is_null());
    assert_eq!(hold["label"], "ci job 7");
    assert_eq!(hold["fence"].to_string(), fence);
    assert_eq!(hold["mode"], "exclusive");
    assert!(hold["held_ms"].is_u64() && hold["began_unix_ms"].is_u64(), "{hold}");
    assert!(hold["ended_unix_ms"].as_u64() >= hold["began_unix_ms"].as_u64(), "{hold}");
    // A command killed by a signal says which.
    let out = rlock(&server).args(["run", "deploy", "--", "sh", "-c", "kill -TERM $$"]).output();
    out.expect_code(128 + 15);
    let last = holds(&log_json(&rlock(&server).args(["log", "--json", "deploy"]).output()));
    assert_eq!(last.len(), 2);
    assert_eq!(last[1]["signal"], 15, "{}", last[1]);
    assert!(last[1]["exit_status"].is_null());
}

#[test]
fn acquire_and_release_from_the_cli_and_a_holder_handed_the_lock() {
    let server = RedisServer::start();
    let out = rlock(&server).args(["acquire", "--label", "by hand", "-t", "1m", "k"]).output();
    out.expect_code(0);
    let token = out.stdout.trim().to_owned();
    let log = rlock(&server).args(["log", "k"]).output();
    log.expect_code(0);
    assert!(log.stdout.trim_end().ends_with(" so far\tholding now"), "{}", log.stdout);
    // A waiter is handed the lock at the release.
    let waiter = rlock(&server).args(["run", "--label", "waiter", "k", "--", "true"]).spawn();
    let queue = "{rlock:k}}queue";
    assert!(eventually(Duration::from_secs(10), || server.cmd::<i64>(&["ZCARD", queue]) == 1));
    rlock(&server).args(["release", "k", &token]).output().expect_code(0);
    waiter.finish(Duration::from_secs(20)).expect_code(0);

    let json = log_json(&rlock(&server).args(["log", "--json", "k"]).output());
    let all = holds(&json);
    assert_eq!(all.len(), 2, "{json}");
    assert_eq!((&all[0]["label"], &all[0]["end"]), (&"by hand".into(), &"released".into()));
    assert!(all[0]["exit_status"].is_null(), "rlock release has no status: {}", all[0]);
    assert_eq!((&all[1]["label"], &all[1]["end"]), (&"waiter".into(), &"released".into()));
    assert_eq!(all[1]["exit_status"], 0);
    assert!(all[0]["fence"].as_u64() < all[1]["fence"].as_u64(), "{json}");
    // A release with a token that never held the lock adds no hold.
    rlock(&server)
        .args(["release", "k", "0123456789abcdef0123456789abcdef"])
        .output()
        .expect_code(1);
    assert_eq!(holds(&log_json(&rlock(&server).args(["log", "--json", "k"]).output())).len(), 2);
}

#[test]
fn a_lock_deleted_under_a_run_is_recorded_lost() {
    let server = RedisServer::start();
    let running = rlock(&server).args(["run", "-t", "1s", "gone", "--", "sleep", "30"]);
    let running = running.spawn_holding(&server, "rlock:gone");
    // Another client removes it: the next refresh finds it no longer ours.
    server.cmd::<i64>(&["DEL", "rlock:gone"]);
    running.finish(Duration::from_secs(20)).expect_code(124);
    let log = rlock(&server).args(["log", "gone"]).output();
    log.expect_code(0);
    assert!(log.stdout.trim_end().ends_with("\tlost"), "{}", log.stdout);
    let hold = &holds(&log_json(&rlock(&server).args(["log", "--json", "gone"]).output()))[0];
    assert_eq!(hold["end"], "lost");
    assert!(hold["exit_status"].is_null(), "{hold}");
}

#[test]
fn a_break_ends_every_holder() {
    let server = RedisServer::start();
    for label in ["reader 1", "reader 2"] {
        let out = rlock(&server).args(["acquire", "--shared", "--label", label, "s"]).output();
        out.expect_code(0);
    }
    rlock(&server).args(["break", "s"]).output().expect_code(0);
    let json = log_json(&rlock(&server).args(["log", "--json", "s"]).output());
    let all = holds(&json);
    assert_eq!(all.len(), 2, "{json}");
    for (hold, label) in all.iter().zip(["reader 1", "reader 2"]) {
        assert_eq!(hold["end"], "broken", "{hold}");
        assert_eq!(hold["label"], label);
        assert_eq!(hold["mode"], "shared");
    }
    // An exclusive one, broken under a run: it ended broken, not lost.
    let running = rlock(&server).args(["run", "-t", "1s", "x", "--", "sleep", "30"]);
    let running = running.spawn_holding(&server, "rlock:x");
    rlock(&server).args(["break", "x"]).output().expect_code(0);
    running.finish(Duration::from_secs(20)).expect_code(124);
    let log = rlock(&server).args(["log", "x"]).output();
    assert!(log.stdout.trim_end().ends_with("\tbroken"), "{}", log.stdout);
}

#[test]
fn a_hold_that_rlock_stopped_for_its_timeout_says_so() {
    let server = RedisServer::start();
    let out = rlock(&server)
        .args(["run", "--timeout", "1s", "--label", "nightly", "st", "--", "sleep", "30"])
        .output();
    out.expect_code(123);
    let log = rlock(&server).args(["log", "st"]).output();
    log.expect_code(0);
    assert!(
        log.stdout.trim_end().ends_with("\tstopped by rlock, killed by SIGTERM"),
        "{}",
        log.stdout
    );
    let hold = &holds(&log_json(&rlock(&server).args(["log", "--json", "st"]).output()))[0];
    assert_eq!((&hold["end"], &hold["signal"]), (&"stopped".into(), &15.into()));
    assert_eq!(hold["label"], "nightly");
    assert!(hold["held_ms"].as_u64().is_some_and(|ms| ms >= 1000), "{hold}");
    // A command that ends in time is released as usual.
    rlock(&server).args(["run", "--timeout", "1m", "st", "--", "true"]).output().expect_code(0);
    let log = rlock(&server).args(["log", "st"]).output();
    assert!(log.stdout.trim_end().ends_with("\treleased, exit 0"), "{}", log.stdout);
}

#[test]
fn other_tools_locks_and_unused_names_have_no_history() {
    let server = RedisServer::start();
    server.cmd::<String>(&["SET", "rlock:foreign", "their-token", "PX", "60000"]);
    let out = rlock(&server).args(["log", "foreign"]).output();
    out.expect_code(1);
    assert_eq!(out.stdout, "");
    assert!(out.stderr.contains("no history for 'foreign'"), "{}", out.stderr);
    assert!(out.stderr.contains("other tools"), "{}", out.stderr);
    assert!(out.stderr.contains("held now by a tool other than rlock"), "{}", out.stderr);
    let out = rlock(&server).args(["log", "--json", "foreign"]).output();
    out.expect_code(1);
    assert_eq!(holds(&log_json(&out)), Vec::<serde_json::Value>::new());
    let out = rlock(&server).args(["log", "never-used"]).output();
    out.expect_code(1);
    assert!(out.stderr.contains("no history for 'never-used'"), "{}", out.stderr);
    assert_eq!(server.cmd::<i64>(&["EXISTS", &log_key("foreign"), &log_key("never-used")]), 0);
}

#[test]
fn n_shows_the_newest_holds_newest_last() {
    let server = RedisServer::start();
    for n in 0..5 {
        let label = format!("job {n}");
        rlock(&server).args(["run", "--label", &label, "n", "--", "true"]).output().expect_code(0);
    }
    let out = rlock(&server).args(["log", "-n", "2", "n"]).output();
    out.expect_code(0);
    let labels: Vec<&str> =
        out.stdout.lines().map(|line| line.split('\t').nth(4).unwrap()).collect();
    assert_eq!(labels, ["label job 3", "label job 4"]);
    let all =
        holds(&log_json(&rlock(&server).args(["log", "--json", "--count", "3", "n"]).output()));
    let labels: Vec<&str> = all.iter().filter_map(|hold| hold["label"].as_str()).collect();
    assert_eq!(labels, ["job 2", "job 3", "job 4"]);
    assert_eq!(rlock(&server).args(["log", "n"]).output().stdout.lines().count(), 5);
    let out = rlock(&server).args(["log", "-n", "0", "n"]).output();
    out.expect_code(125);
    assert!(out.stderr.contains("0 would show nothing"), "{}", out.stderr);
}

#[test]
fn the_history_is_a_capped_list_that_expires_and_holds_no_token() {
    let server = RedisServer::start();
    let key = log_key("cap");
    // Three times what it keeps, written at once: entries of a kind rlock does not know, and
    // text that is no entry at all.
    let fill = "for i = 1, tonumber(ARGV[1]) do \
                redis.call('RPUSH', KEYS[1], '{\"event\":\"old\",\"at\":\"1\",\"id\":\"x\"}', 'junk') end";
    server.cmd::<()>(&["EVAL", fill, "1", &key, &(3 * MAX_ENTRIES / 2).to_string()]);
    let out = rlock(&server).args(["acquire", "-t", "1m", "cap"]).output();
    out.expect_code(0);
    let token = out.stdout.trim().to_owned();
    assert_eq!(server.cmd::<String>(&["TYPE", &key]), "list");
    assert_eq!(server.cmd::<i64>(&["LLEN", &key]), MAX_ENTRIES);
    let pttl: i64 = server.cmd(&["PTTL", &key]);
    assert!(pttl > LIFETIME_MS - 60_000 && pttl <= LIFETIME_MS, "{pttl}");
    rlock(&server).args(["release", "cap", &token]).output().expect_code(0);
    // What rlock does not know is left out; its own hold shows.
    let all = holds(&log_json(&rlock(&server).args(["log", "--json", "cap"]).output()));
    assert_eq!(all.len(), 1, "{all:?}");

    // The holder is named by a digest of its token (as `status` tells holders apart), never by
    // the token.
    let out = rlock(&server).args(["acquire", "-t", "1m", "cap"]).output();
    let token = out.stdout.trim().to_owned();
    let digest = "return string.sub(redis.sha1hex(ARGV[1]), 1, 16)";
    let id: String = server.cmd(&["EVAL", digest, "0", &token]);
    let all = holds(&log_json(&rlock(&server).args(["log", "--json", "cap"]).output()));
    assert_eq!(all[1]["id"], id.as_str());
    rlock(&server).args(["break", "cap"]).output().expect_code(0);
    let entries: Vec<String> = server.cmd(&["LRANGE", &key, "0", "-1"]);
    let mine: Vec<serde_json::Value> = entries
        .iter()
        .filter_map(|text| serde_json::from_str::<serde_json::Value>(text).ok())
        .filter(|entry| entry["event"] != "old")
        .collect();
    let events: Vec<&str> = mine.iter().filter_map(|entry| entry["event"].as_str()).collect();
    assert_eq!(events, ["acquired", "released", "acquired", "broken"], "{mine:?}");
    assert!(mine.iter().all(|entry| entry["id"].as_str().is_some_and(|id| id.len() == 16)));
    for entry in &entries {
        assert!(!entry.contains(&token), "{entry}");
    }
}

#[test]
fn list_shows_no_history_as_a_lock() {
    let server = RedisServer::start();
    rlock(&server).args(["run", "done", "--", "true"]).output().expect_code(0);
    rlock(&server).args(["acquire", "-t", "1m", "held"]).output().expect_code(0);
    let out = rlock(&server).arg("list").output();
    out.expect_code(0);
    let names: Vec<&str> = out.stdout.lines().filter_map(|line| line.split('\t').next()).collect();
    assert_eq!(names, ["held"], "{}", out.stdout);
}

#[test]
fn in_quorum_mode_each_server_keeps_it_and_log_merges_them() {
    let mut all = servers(3);
    let url = urls(&all);
    let out =
        rlock_at(&url).args(["run", "q", "--", "sh", "-c", "echo $RLOCK_FENCE; exit 4"]).output();
    out.expect_code(4);
    let fence = out.stdout.trim().to_owned();
    for server in &all {
        assert_eq!(server.cmd::<i64>(&["LLEN", &log_key("q")]), 2, "on port {}", server.port());
    }
    let log = rlock_at(&url).args(["log", "--json", "q"]).output();
    log.expect_code(0);
    let merged = holds(&log_json(&log));
    assert_eq!(merged.len(), 1, "{}", log.stdout);
    assert_eq!(merged[0]["fence"].to_string(), fence);
    assert_eq!((&merged[0]["end"], &merged[0]["exit_status"]), (&"released".into(), &4.into()));
    // A minority away: the others answer; a majority away: an error.
    all[0].stop();
    rlock_at(&url).args(["log", "q"]).output().expect_code(0);
    all[1].stop();
    let out = rlock_at(&url).args(["log", "q"]).output();
    out.expect_code(125);
}

#[test]
fn the_history_lives_in_the_locks_cluster_slot() {
    let cluster = RedisCluster::start(3);
    let seed = cluster.seed();
    for name in ["a", "b", "c", "{app}.deploy"] {
        let lock = format!("rlock:{name}");
        let log = if name.starts_with('{') { format!("{lock}}}}}log") } else { log_key(name) };
        let slot = |key: &str| cluster.nodes[0].cmd::<i64>(&["CLUSTER", "KEYSLOT", key]);
        assert_eq!(slot(&lock), slot(&log), "{lock} and {log}");
        rlock_at(&seed).args(["--cluster", "run", name, "--", "true"]).output().expect_code(0);
        assert_eq!(cluster.owner(&lock).cmd::<i64>(&["LLEN", &log]), 2, "{log}");
        let out = rlock_at(&seed).args(["--cluster", "log", name]).output();
        out.expect_code(0);
        assert!(out.stdout.contains("released, exit 0"), "{}", out.stdout);
    }
}
