//! What `status` and `list` show of a lock's queue, the one JSON schema of `status`, `ttl` and
//! `list`, and which names `list PATTERN` finds.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::fixture::RedisServer;
use crate::harness::{Running, eventually, rlock, rlock_at};
use crate::quorum::{servers, urls};

fn now_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_millis() as u64
}

fn json_of(stdout: &str) -> serde_json::Value {
    serde_json::from_str(stdout).unwrap_or_else(|err| panic!("not JSON ({err}): {stdout}"))
}

/// `status --json KEY` at `url`, with its exit code.
fn status_at(url: &str, key: &str) -> (serde_json::Value, i32) {
    let out = rlock_at(url).args(["status", "--json", key]).output();
    (json_of(&out.stdout), out.code())
}

/// How many waiters `status --json` lists for `key`.
fn listed(url: &str, key: &str) -> usize {
    status_at(url, key).0["queue"].as_array().map_or(0, Vec::len)
}

/// Starts `rlock run KEY -- true` with `extra` options and waits (at most 10 s) until
/// `status` lists it as the `place`-th waiter.
fn start_waiter(url: &str, key: &str, place: usize, extra: &[&str]) -> Running {
    let running = rlock_at(url).args(["run", "-w", "60s"]).args(extra).args([key, "--", "true"]);
    let running = running.spawn();
    assert!(
        eventually(Duration::from_secs(10), || listed(url, key) == place),
        "waiter {place} never showed up in the queue"
    );
    running
}

fn acquire(url: &str, key: &str, extra: &[&str]) -> String {
    let out = rlock_at(url).args(["acquire", "-t", "2m"]).args(extra).arg(key).output();
    out.expect_code(0);
    out.stdout.trim().to_owned()
}

#[test]
fn status_lists_the_waiters_in_the_order_they_will_be_served() {
    let server = RedisServer::start();
    let url = server.url();
    let before = now_ms();
    let token = acquire(&url, "q", &["--label", "nightly build"]);
    let first = start_waiter(&url, "q", 1, &["--label", "job 1"]);
    let second = start_waiter(&url, "q", 2, &["--shared"]);
    let third = start_waiter(&url, "q", 3, &["--label", "job 3"]);
    let pids: Vec<u64> = [&first, &second, &third].map(|w| w.pid().as_raw() as u64).to_vec();

    let (status, code) = status_at(&url, "q");
    assert_eq!(code, 0);
    assert_eq!(status["version"], 1);
    assert_eq!(status["waiters"], 3, "{status}");
    assert_eq!(status["holder"]["label"], "nightly build", "{status}");
    let queue = status["queue"].as_array().unwrap();
    let fields: Vec<&str> = queue[0].as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(
        fields,
        [
            "host",
            "label",
            "limit",
            "mode",
            "pid",
            "place",
            "program",
            "since",
            "since_unix_ms",
            "user"
        ]
    );
    let seen: Vec<(u64, u64, &str, &serde_json::Value)> = queue
        .iter()
        .map(|w| {
            (
                w["place"].as_u64().unwrap(),
                w["pid"].as_u64().unwrap(),
                w["mode"].as_str().unwrap(),
                &w["label"],
            )
        })
        .collect();
    let (job1, job3) = (serde_json::json!("job 1"), serde_json::json!("job 3"));
    assert_eq!(
        seen,
        [
            (1, pids[0], "exclusive", &job1),
            (2, pids[1], "shared", &serde_json::Value::Null),
            (3, pids[2], "exclusive", &job3)
        ],
        "{status}"
    );
    // Each waits since it joined: after the test began, before now, in the order they came.
    let since: Vec<u64> = queue.iter().map(|w| w["since_unix_ms"].as_u64().unwrap()).collect();
    assert!(since.windows(2).all(|pair| pair[0] <= pair[1]), "{since:?}");
    assert!(since[0] + 1000 >= before && since[2] <= now_ms() + 1000, "{since:?} vs {before}");
    for w in queue {
        assert_eq!(w["program"], "true", "{w}");
        assert_eq!(w["host"], status["holder"]["host"], "{w}");
        assert!(w["since"].as_str().unwrap().ends_with('Z'), "{w}");
    }
    assert!(!status.to_string().contains("token"), "{status}");

    // The same in text, a line per waiter in order.
    let out = rlock(&server).args(["status", "q"]).output();
    out.expect_code(0);
    let text = &out.stdout;
    assert!(text.contains("label:    nightly build\n"), "{text}");
    assert!(text.contains("waiters:  3\n"), "{text}");
    let lines: Vec<&str> = text.lines().filter(|line| line.starts_with("  ")).collect();
    assert_eq!(lines.len(), 3, "{text}");
    for (at, (line, pid)) in lines.iter().zip(&pids).enumerate() {
        assert!(line.starts_with(&format!("  {}. ", at + 1)), "{line}");
        assert!(line.contains(&format!(" pid {pid} user ")), "{line}");
        assert!(line.contains("program: true;"), "{line}");
        assert!(line.contains(" ago)"), "{line}");
    }
    assert!(lines[0].contains("label: job 1; exclusive; waiting since "), "{}", lines[0]);
    assert!(lines[1].contains("; shared; waiting since "), "{}", lines[1]);
    assert!(!lines[1].contains("label"), "{}", lines[1]);
    assert!(lines[2].contains("label: job 3; exclusive; "), "{}", lines[2]);

    // list: the number waiting, and the holder's label.
    let out = rlock(&server).arg("list").output();
    out.expect_code(0);
    assert_eq!(
        out.stdout.trim_end().split('\t').skip(4).collect::<Vec<_>>(),
        ["waiting 3", "label nightly build"],
        "{}",
        out.stdout
    );

    // They are served in that order, and the queue empties.
    rlock(&server).args(["release", "q", &token]).output().expect_code(0);
    for waiter in [first, second, third] {
        waiter.finish(Duration::from_secs(30)).expect_code(0);
    }
    let (free, code) = status_at(&url, "q");
    assert_eq!(
        (code, &free["waiters"], &free["queue"]),
        (1, &serde_json::json!(0), &serde_json::json!([]))
    );
}

#[test]
fn a_free_lock_prints_valid_json_of_the_same_schema_and_exits_1() {
    let server = RedisServer::start();
    let held = acquire(&server.url(), "held", &[]);
    let (reference, _) = status_at(&server.url(), "held");
    let fields: Vec<&String> = reference.as_object().unwrap().keys().collect();
    for args in [&["status", "--json", "free"][..], &["ttl", "--json", "free"]] {
        let out = rlock(&server).args(args).output();
        out.expect_code(1);
        let free = json_of(&out.stdout);
        assert_eq!(free.as_object().unwrap().keys().collect::<Vec<_>>(), fields, "{args:?}");
        assert_eq!(free["version"], 1);
        assert_eq!(
            (&free["held"], &free["waiters"]),
            (&serde_json::json!(false), &serde_json::json!(0))
        );
        assert_eq!(free["queue"], serde_json::json!([]));
    }
    // list --json: one object with a version, whose locks are status objects.
    let out = rlock(&server).args(["list", "--json"]).output();
    out.expect_code(0);
    let list = json_of(&out.stdout);
    assert_eq!(list.as_object().unwrap().keys().collect::<Vec<_>>(), ["locks", "version"]);
    assert_eq!(list["version"], 1);
    let locks = list["locks"].as_array().unwrap();
    assert_eq!(locks.len(), 1, "{list}");
    assert_eq!(locks[0].as_object().unwrap().keys().collect::<Vec<_>>(), fields);
    rlock(&server).args(["release", "held", &held]).output().expect_code(0);
    let out = rlock(&server).args(["list", "--json"]).output();
    out.expect_code(0);
    assert_eq!(json_of(&out.stdout), serde_json::json!({"version": 1, "locks": []}));
}

/// The names `list PATTERN` prints.
fn names(server: &RedisServer, extra: &[&str], pattern: &str) -> Vec<String> {
    let out = rlock(server).args(extra).args(["list", pattern]).output();
    out.expect_code(0);
    out.stdout.lines().map(|line| line.split('\t').next().unwrap().to_owned()).collect()
}

#[test]
fn list_matches_a_glob_against_the_whole_name() {
    let server = RedisServer::start();
    let url = server.url();
    for name in ["deploy", "mydeploy", "deploy2", "{t}rlock:deploy", "{app}.deploy", "a*b", "a[1]"]
    {
        acquire(&url, name, &[]);
    }
    let found = |pattern| names(&server, &[], pattern);
    for pattern in
        ["deploy", "d?ploy", "[d]eploy", "[a-e]eploy", "[!x]eploy", "[^x]eploy", "de\\ploy"]
    {
        assert_eq!(found(pattern), ["deploy"], "{pattern}");
    }
    assert_eq!(found("*ploy"), ["deploy", "mydeploy", "{app}.deploy", "{t}rlock:deploy"]);
    assert_eq!(found("dep"), Vec::<String>::new());
    assert_eq!(found("dep*"), ["deploy", "deploy2"]);
    assert_eq!(found("{app}*"), ["{app}.deploy"]);
    assert_eq!(found("a\\*b"), ["a*b"]);
    assert_eq!(found("a\\[1\\]"), ["a[1]"]);
    assert_eq!(found("a[1]"), Vec::<String>::new());
    assert_eq!(found("*").len(), 7);
    // A broken pattern is a usage error that says what to write.
    let out = rlock(&server).args(["list", "deploy-[0-9"]).output();
    assert_ne!(out.code(), 0);
    assert!(out.stderr.contains("'\\['"), "{}", out.stderr);

    // Under any prefix, the empty one too: the same names, and nothing from another prefix.
    for prefix in ["", "ci:", "x*["] {
        let at = |name: &str| {
            let out =
                rlock(&server).args(["--prefix", prefix, "acquire", "-t", "2m", name]).output();
            out.expect_code(0);
        };
        at(&format!("{prefix}x-deploy"));
        at("deploy");
        at("{tag}deploy");
        let found = |pattern| names(&server, &["--prefix", prefix], pattern);
        assert_eq!(found("deploy"), ["deploy"], "prefix {prefix:?}");
        assert_eq!(found("[{]tag}d?ploy"), ["{tag}deploy"], "prefix {prefix:?}");
        assert_eq!(found("*x-deploy"), [format!("{prefix}x-deploy")], "prefix {prefix:?}");
    }
}

#[test]
fn a_quorum_status_shows_each_waiter_once_in_order() {
    let all = servers(3);
    let url = urls(&all);
    let token = acquire(&url, "qq", &[]);
    let waiters: Vec<Running> = (1..=3)
        .map(|place| start_waiter(&url, "qq", place, &["--label", &format!("w{place}")]))
        .collect();
    let (status, code) = status_at(&url, "qq");
    assert_eq!(code, 0);
    assert_eq!(status["waiters"], 3, "{status}");
    let seen: Vec<(u64, u64, &str)> = status["queue"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| {
            (w["place"].as_u64().unwrap(), w["pid"].as_u64().unwrap(), w["label"].as_str().unwrap())
        })
        .collect();
    let expected: Vec<(u64, u64, &str)> = waiters
        .iter()
        .zip(["w1", "w2", "w3"])
        .enumerate()
        .map(|(at, (w, label))| (at as u64 + 1, w.pid().as_raw() as u64, label))
        .collect();
    assert_eq!(seen, expected, "{status}");
    // Every server has all three.
    for server in &all {
        assert_eq!(server.cmd::<i64>(&["ZCARD", "{rlock:qq}}queue"]), 3);
    }
    let order = |status: &serde_json::Value| -> Vec<u64> {
        let queue = status["queue"].as_array().unwrap();
        queue.iter().map(|w| w["pid"].as_u64().unwrap()).collect()
    };
    let pids: Vec<u64> = expected.iter().map(|&(_, pid, _)| pid).collect();
    // One server restarted empty: the others still say who waits, and once the waiters took
    // their places back there (their next heartbeat; the first may instead be handed the lock
    // that server alone now has free, which is no place in its queue), still once each.
    let mut all = all;
    all[0].restart();
    assert_eq!(order(&status_at(&url, "qq").0), pids);
    let back = || all[0].cmd::<i64>(&["ZCARD", "{rlock:qq}}queue"]) >= 2;
    assert!(eventually(Duration::from_secs(20), back), "the waiters never came back");
    assert_eq!(order(&status_at(&url, "qq").0), pids);
    let out = rlock_at(&url).args(["list"]).output();
    out.expect_code(0);
    assert!(out.stdout.contains("\twaiting 3"), "{}", out.stdout);
    rlock_at(&url).args(["release", "qq", &token]).output().expect_code(0);
    for waiter in waiters {
        waiter.finish(Duration::from_secs(30)).expect_code(0);
    }
}
