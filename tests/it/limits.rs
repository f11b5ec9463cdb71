//! Locks with several holders: `--limit N` (at most N at once) and `--shared` (readers together,
//! a writer alone), on one server, a quorum and a cluster.

use std::collections::BTreeSet;
use std::time::Duration;

use nix::sys::signal::Signal;

use crate::fixture::{RedisCluster, RedisServer};
use crate::harness::{Running, assert_one_line_mentioning, eventually, rlock, rlock_at};

/// A room that records who was inside together: a job's command enters it (a file named after
/// the job in `inside/`), writes what it saw there on entering to `seen/`, stays `secs`, and
/// leaves. The file exists only while the job's command runs, that is while it holds the lock.
pub(crate) struct Room {
    dir: tempfile::TempDir,
}

impl Room {
    pub(crate) fn new() -> Room {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("inside")).unwrap();
        std::fs::create_dir(dir.path().join("seen")).unwrap();
        Room { dir }
    }

    /// The command for job `name`: `sh -c SCRIPT`.
    pub(crate) fn job(&self, name: &str, secs: f64) -> [String; 3] {
        let dir = self.dir.path().display();
        let script = format!(
            "touch '{dir}/inside/{name}' && ls '{dir}/inside' > '{dir}/seen/{name}' && \
             sleep {secs}; rm -f '{dir}/inside/{name}'"
        );
        ["sh".into(), "-c".into(), script]
    }

    /// For every job that got in: whom it saw inside as it entered (itself included).
    pub(crate) fn seen(&self) -> Vec<(String, BTreeSet<String>)> {
        let mut all = Vec::new();
        for entry in std::fs::read_dir(self.dir.path().join("seen")).unwrap() {
            let entry = entry.unwrap();
            let text = std::fs::read_to_string(entry.path()).unwrap();
            let names = text.lines().map(str::to_owned).collect();
            all.push((entry.file_name().to_string_lossy().into_owned(), names));
        }
        all.sort();
        all
    }

    /// The most jobs inside at once (the count only grows when someone enters).
    pub(crate) fn most_together(&self) -> usize {
        self.seen().iter().map(|(_, together)| together.len()).max().unwrap_or(0)
    }
}

fn queued(server: &RedisServer, key: &str) -> i64 {
    server.cmd(&["ZCARD", &format!("{{rlock:{key}}}}}queue")])
}

fn json(text: &str) -> serde_json::Value {
    serde_json::from_str(text).unwrap_or_else(|err| panic!("not JSON ({err}): {text}"))
}

fn acquire(url: &str, args: &[&str]) -> String {
    let out = rlock_at(url).arg("acquire").args(args).output();
    out.expect_code(0);
    out.stdout.trim().to_owned()
}

#[test]
fn twelve_jobs_with_limit_3_all_run_never_more_than_3_at_once() {
    let server = RedisServer::start();
    let room = Room::new();
    let jobs: Vec<Running> = (0..12)
        .map(|i| {
            rlock(&server)
                .args(["run", "--limit", "3", "pool", "--"])
                .args(room.job(&format!("job{i}"), 0.3))
                .spawn()
        })
        .collect();
    for job in jobs {
        job.finish(Duration::from_secs(60)).expect_code(0);
    }
    assert_eq!(room.seen().len(), 12, "every job ran: {:?}", room.seen());
    assert_eq!(room.most_together(), 3, "at most 3, and 3 were seen together: {:?}", room.seen());
    // Nothing is left behind once they are done.
    let left: Vec<String> = server.cmd(&["KEYS", "*pool*"]);
    let mut left = left;
    left.sort();
    assert_eq!(left, ["{rlock:pool}}fence", "{rlock:pool}}log"]);
}

#[test]
fn a_crashed_holder_frees_its_place_when_its_ttl_runs_out() {
    let server = RedisServer::start();
    let room = Room::new();
    let start = |name: &str, ttl: &str, secs: f64| {
        rlock(&server)
            .args(["run", "--limit", "2", "-t", ttl, "pool", "--"])
            .args(room.job(name, secs))
            .own_process_group()
            .spawn()
    };
    let crashing = start("crashing", "2s", 60.0);
    let staying = start("staying", "30s", 60.0);
    assert!(eventually(Duration::from_secs(10), || room.seen().len() == 2));
    let waiting = start("waiting", "30s", 0.0);
    assert!(eventually(Duration::from_secs(10), || queued(&server, "pool") == 1));
    // SIGKILL: no release, no refresh; its command dies with it.
    crashing.signal(Signal::SIGKILL);
    let out = waiting.finish(Duration::from_secs(15));
    out.expect_code(0);
    assert!(out.elapsed < Duration::from_secs(12), "waited {:?}", out.elapsed);
    let seen: Vec<String> = room.seen().into_iter().map(|(name, _)| name).collect();
    assert_eq!(seen, ["crashing", "staying", "waiting"]);
    let mut staying = staying;
    assert!(staying.is_running(), "the other holder kept its place");
}

#[test]
fn callers_that_disagree_on_the_limit_get_an_error_not_a_mix() {
    let server = RedisServer::start();
    let url = server.url();
    let token = acquire(&url, &["--limit", "3", "-t", "1m", "pool"]);
    for (args, asked) in [
        (&["--limit", "2"][..], "at most 2"),
        (&[][..], "an exclusive lock"),
        (&["--limit", "1"][..], "an exclusive lock"),
        (&["--shared"][..], "a shared lock"),
    ] {
        let out = rlock(&server).arg("run").args(args).args(["-n", "pool", "--", "true"]).output();
        out.expect_code(125);
        assert_one_line_mentioning(&out.stderr, &["'pool'", "--limit 3", asked]);
    }
    // The other way round: an exclusive lock, then a limit.
    acquire(&url, &["-t", "1m", "single"]);
    let out = rlock(&server).args(["acquire", "--limit", "2", "-n", "single"]).output();
    out.expect_code(125);
    assert_one_line_mentioning(&out.stderr, &["'single'", "an exclusive lock", "--limit 2"]);
    // A waiter says what the lock is waited for with, even while another tool holds it.
    server.cmd::<String>(&["SET", "rlock:foreign", "their-token", "PX", "60000"]);
    let waiter = rlock(&server).args(["run", "--limit", "3", "foreign", "--", "true"]).spawn();
    assert!(eventually(Duration::from_secs(10), || queued(&server, "foreign") == 1));
    let out = rlock(&server).args(["run", "--limit", "4", "-n", "foreign", "--", "true"]).output();
    out.expect_code(125);
    assert_one_line_mentioning(&out.stderr, &["'foreign'", "--limit 3"]);
    // Another tool's lock says nothing about limits: it is simply held.
    server.cmd::<String>(&["SET", "rlock:other", "their-token", "PX", "60000"]);
    let out = rlock(&server).args(["run", "-n", "--limit", "2", "other", "--", "true"]).output();
    out.expect_code(75);
    drop(waiter);
    // And the semaphore is untouched: its holder still refreshes and releases it.
    let rl = |args: &[&str]| rlock(&server).args(args).output();
    rl(&["refresh", "--limit", "3", "pool", &token]).expect_code(0);
    rl(&["release", "pool", &token]).expect_code(0);
}

#[test]
fn shared_holders_run_together_and_an_exclusive_one_alone() {
    let server = RedisServer::start();
    let room = Room::new();
    let mut jobs = Vec::new();
    for i in 0..10 {
        let (name, shared) =
            if i % 3 == 1 { (format!("W{i}"), false) } else { (format!("R{i}"), true) };
        let mut command = rlock(&server).arg("run");
        if shared {
            command = command.arg("--shared");
        }
        jobs.push(command.args(["db", "--"]).args(room.job(&name, 0.3)).spawn());
        std::thread::sleep(Duration::from_millis(50));
    }
    for job in jobs {
        job.finish(Duration::from_secs(60)).expect_code(0);
    }
    let seen = room.seen();
    assert_eq!(seen.len(), 10, "{seen:?}");
    for (name, together) in &seen {
        if name.starts_with('W') {
            assert_eq!(together.len(), 1, "a writer is alone: {name} saw {together:?}");
        } else {
            assert!(
                together.iter().all(|other| other.starts_with('R')),
                "a reader never sees a writer: {name} saw {together:?}"
            );
        }
    }
    assert!(room.most_together() >= 2, "readers ran together: {seen:?}");
}

#[test]
fn a_reader_that_arrives_after_a_waiting_writer_waits_behind_it() {
    let server = RedisServer::start();
    let url = server.url();
    let room = Room::new();
    let reader = acquire(&url, &["--shared", "-t", "1m", "db"]);
    let writer = rlock(&server).args(["run", "db", "--"]).args(room.job("writer", 0.5)).spawn();
    assert!(eventually(Duration::from_secs(10), || queued(&server, "db") == 1));
    let late = rlock(&server).args(["run", "--shared", "db", "--"]).args(room.job("late", 0.0));
    let late = late.spawn();
    assert!(eventually(Duration::from_secs(10), || queued(&server, "db") == 2));
    // The lock is held shared, yet the late reader waits: the writer came first.
    std::thread::sleep(Duration::from_millis(300));
    assert!(room.seen().is_empty(), "nobody got in: {:?}", room.seen());
    rlock(&server).args(["release", "--shared", "db", &reader]).output().expect_code(0);
    writer.finish(Duration::from_secs(10)).expect_code(0);
    late.finish(Duration::from_secs(10)).expect_code(0);
    let seen = room.seen();
    assert_eq!(seen.len(), 2);
    let (_, writer_saw) = &seen[1];
    assert_eq!(writer_saw.len(), 1, "the writer was alone: {seen:?}");
}

#[test]
fn acquire_refresh_and_release_take_the_same_options() {
    let server = RedisServer::start();
    let url = server.url();
    let rl = |args: &[&str]| rlock(&server).args(args).output();
    let first = acquire(&url, &["--limit", "2", "-t", "1m", "pool"]);
    let second = acquire(&url, &["--limit", "2", "-t", "2m", "pool"]);
    assert_ne!(first, second, "each holder has its own token");
    rl(&["acquire", "--limit", "2", "-n", "pool"]).expect_code(75);
    // Refresh: with the same option, or none; another option is an error that names the right one.
    rl(&["refresh", "--limit", "2", "-t", "3m", "pool", &first]).expect_code(0);
    rl(&["refresh", "-t", "2m", "pool", &second]).expect_code(0);
    for wrong in [&["--limit", "3"][..], &["--shared"][..]] {
        let out = rlock(&server).arg("refresh").args(wrong).args(["pool", &first]).output();
        out.expect_code(125);
        assert_one_line_mentioning(&out.stderr, &["'pool'", "--limit 2"]);
    }
    let out = rl(&["ttl", "--ms", "pool"]);
    out.expect_code(0);
    let ttls: Vec<u64> = out.stdout.lines().map(|line| line.parse().unwrap()).collect();
    assert_eq!(ttls.len(), 2, "{}", out.stdout);
    assert!(ttls[0] > 150_000 && ttls[1] > 90_000 && ttls[1] <= 120_000, "{ttls:?}");
    // Release: one place frees up, for someone else.
    rl(&["release", "--limit", "2", "pool", &first]).expect_code(0);
    rl(&["release", "pool", &first]).expect_code(1);
    let third = acquire(&url, &["--limit", "2", "-n", "pool"]);
    rl(&["release", "pool", &second]).expect_code(0);
    rl(&["release", "--limit", "2", "pool", &third]).expect_code(0);
    rl(&["ttl", "pool"]).expect_code(1);
    // Shared: many tokens, released in any order; an exclusive acquire waits for the last.
    let readers: Vec<String> =
        (0..3).map(|_| acquire(&url, &["--shared", "-t", "1m", "db"])).collect();
    rl(&["acquire", "-n", "db"]).expect_code(75);
    let out = rl(&["release", "db", &readers[1]]);
    out.expect_code(0);
    rl(&["release", "--shared", "db", &readers[0]]).expect_code(0);
    let out = rl(&["release", "db", &readers[2]]);
    out.expect_code(0);
    acquire(&url, &["-n", "db"]);
}

#[test]
fn ttl_status_and_list_show_every_holder() {
    let server = RedisServer::start();
    let url = server.url();
    let rl = |args: &[&str]| rlock(&server).args(args).output();
    for ttl in ["1m", "3m", "2m"] {
        acquire(&url, &["--limit", "3", "-t", ttl, "pool"]);
    }
    for _ in 0..2 {
        acquire(&url, &["--shared", "-t", "1m", "db"]);
    }
    acquire(&url, &["-t", "1m", "one"]);

    let out = rl(&["ttl", "pool"]);
    out.expect_code(0);
    assert_eq!(out.stdout.lines().count(), 3, "a line per holder: {}", out.stdout);
    let out = rl(&["ttl", "--ms", "pool"]);
    let ttls: Vec<u64> = out.stdout.lines().map(|line| line.parse().unwrap()).collect();
    assert!(ttls.windows(2).all(|pair| pair[0] > pair[1]), "longest first: {ttls:?}");
    assert!(ttls[0] > 170_000, "the first line is how long the lock stays held: {ttls:?}");

    let status = json(&rl(&["status", "--json", "pool"]).stdout);
    assert_eq!(status["mode"], "limit", "{status}");
    assert_eq!(status["limit"], 3, "{status}");
    let holders = status["holders"].as_array().unwrap();
    assert_eq!(holders.len(), 3, "{status}");
    let fences: BTreeSet<u64> = holders.iter().map(|h| h["fence"].as_u64().unwrap()).collect();
    assert_eq!(fences.len(), 3, "each holder has its own fence: {fences:?}");
    for holder in holders {
        assert!(holder["pid"].as_u64().unwrap() > 0, "{holder}");
        assert!(holder["ttl_ms"].as_u64().unwrap() > 50_000, "{holder}");
        assert!(holder["host"].as_str().is_some_and(|host| !host.is_empty()), "{holder}");
    }
    assert_eq!(status["holder"], holders[0], "holder is the first of them");
    let fences_of = |status: &serde_json::Value| {
        let holders = status["holders"].as_array().unwrap();
        holders.iter().map(|h| h["fence"].as_u64().unwrap()).collect::<Vec<_>>()
    };
    let ttl = json(&rl(&["ttl", "--json", "pool"]).stdout);
    assert_eq!(fences_of(&ttl), fences_of(&status), "ttl --json is status --json");

    let status = json(&rl(&["status", "--json", "db"]).stdout);
    assert_eq!(status["mode"], "shared", "{status}");
    assert_eq!(status["limit"], serde_json::Value::Null, "{status}");
    assert_eq!(status["holders"].as_array().unwrap().len(), 2, "{status}");
    let status = json(&rl(&["status", "--json", "one"]).stdout);
    assert_eq!(status["mode"], "exclusive", "{status}");
    assert_eq!(status["holders"].as_array().unwrap().len(), 1, "{status}");

    let text = rl(&["status", "pool"]).stdout;
    assert!(text.contains("held by 3 of at most 3"), "{text}");
    assert_eq!(text.lines().filter(|line| line.starts_with("holder:")).count(), 3, "{text}");
    let text = rl(&["status", "db"]).stdout;
    assert!(text.contains("held shared by 2"), "{text}");

    let out = rl(&["list"]);
    out.expect_code(0);
    let names: Vec<&str> =
        out.stdout.lines().map(|line| line.split('\t').next().unwrap()).collect();
    assert_eq!(names, ["db", "db", "one", "pool", "pool", "pool"], "{}", out.stdout);
    let all = json(&rl(&["list", "--json"]).stdout);
    let counts: Vec<usize> = all["locks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|lock| lock["holders"].as_array().unwrap().len())
        .collect();
    assert_eq!(counts, [2, 1, 3], "{all}");
    // break removes every holder at once.
    rl(&["break", "pool"]).expect_code(0);
    rl(&["ttl", "pool"]).expect_code(1);
    acquire(&url, &["--limit", "3", "-n", "pool"]);
}

/// Counts how many of `jobs` are inside at once, over a quorum of `servers`.
fn room_over(url: &str, mode: &[&str], jobs: usize) -> Room {
    let room = Room::new();
    let running: Vec<Running> = (0..jobs)
        .map(|i| {
            rlock_at(url)
                .arg("run")
                .args(mode)
                .args(["-w", "40s", "pool", "--"])
                .args(room.job(&format!("job{i}"), 0.2))
                .spawn()
        })
        .collect();
    for job in running {
        job.finish(Duration::from_secs(60)).expect_code(0);
    }
    room
}

#[test]
fn a_limit_over_a_quorum_needs_more_than_a_majority() {
    // 5 servers, --limit 2: any 3 holders' quorums must meet, so each needs 4 servers.
    let mut all: Vec<RedisServer> = (0..5).map(|_| RedisServer::start()).collect();
    let url = all.iter().map(RedisServer::url).collect::<Vec<_>>().join(",");
    let room = room_over(&url, &["--limit", "2"], 8);
    assert_eq!(room.seen().len(), 8, "{:?}", room.seen());
    assert!(room.most_together() <= 2, "{:?}", room.seen());
    // One server down: 4 are left, enough.
    drop(all.pop());
    let first = acquire(&url, &["--limit", "2", "-t", "1m", "held"]);
    let second = acquire(&url, &["--limit", "2", "-t", "1m", "held"]);
    rlock_at(&url).args(["acquire", "--limit", "2", "-n", "held"]).output().expect_code(75);
    let status = json(&rlock_at(&url).args(["status", "--json", "held"]).output().stdout);
    assert_eq!(status["holders"].as_array().unwrap().len(), 2, "{status}");
    // Two down: 3 of 5 is a majority, but not enough for a limit of 2.
    all[0].pause();
    let out = rlock_at(&url).args(["refresh", "--limit", "2", "held", &first]).output();
    out.expect_code(125);
    assert_one_line_mentioning(&out.stderr, &["only 3 of 5", "needs 4"]);
    all[0].resume();
    rlock_at(&url).args(["release", "held", &first]).output().expect_code(0);
    rlock_at(&url).args(["release", "held", &second]).output().expect_code(0);
    // An exclusive lock there still needs only a majority.
    all[0].pause();
    rlock_at(&url).args(["run", "-n", "other", "--", "true"]).output().expect_code(0);
    all[0].resume();
}

#[test]
fn shared_locks_over_a_quorum_keep_writers_alone() {
    let all: Vec<RedisServer> = (0..3).map(|_| RedisServer::start()).collect();
    let url = all.iter().map(RedisServer::url).collect::<Vec<_>>().join(",");
    let room = Room::new();
    let mut jobs = Vec::new();
    for i in 0..6 {
        let (name, mode) =
            if i % 3 == 1 { (format!("W{i}"), "-v") } else { (format!("R{i}"), "--shared") };
        jobs.push(
            rlock_at(&url)
                .args(["run", mode, "-w", "40s", "db", "--"])
                .args(room.job(&name, 0.3))
                .spawn(),
        );
    }
    for job in jobs {
        job.finish(Duration::from_secs(60)).expect_code(0);
    }
    for (name, together) in room.seen() {
        if name.starts_with('W') {
            assert_eq!(together.len(), 1, "{name} saw {together:?}");
        } else {
            assert!(together.iter().all(|other| other.starts_with('R')), "{name} saw {together:?}");
        }
    }
    assert_eq!(room.seen().len(), 6);
}

#[test]
fn limits_and_shared_locks_work_in_a_cluster() {
    let cluster = RedisCluster::start(3);
    let seed = cluster.seed();
    let rl = |args: &[&str]| rlock_at(&seed).arg("--cluster").args(args).output();
    let take = |args: &[&str]| {
        let out = rl(&[&["acquire"][..], args].concat());
        out.expect_code(0);
        out.stdout.trim().to_owned()
    };
    let first = take(&["--limit", "2", "-t", "1m", "pool"]);
    take(&["--limit", "2", "-t", "1m", "pool"]);
    rl(&["acquire", "--limit", "2", "-n", "pool"]).expect_code(75);
    let owner = cluster.owner("rlock:pool");
    assert_eq!(owner.cmd::<i64>(&["ZCARD", "{rlock:pool}}holders"]), 2);
    let status = json(&rl(&["status", "--json", "pool"]).stdout);
    assert_eq!(status["holders"].as_array().unwrap().len(), 2, "{status}");
    rl(&["release", "pool", &first]).expect_code(0);
    let room = Room::new();
    let job = rlock_at(&seed)
        .args(["--cluster", "run", "--limit", "2", "pool", "--"])
        .args(room.job("third", 0.0))
        .output();
    job.expect_code(0);
    take(&["--shared", "-t", "1m", "db"]);
    take(&["--shared", "-t", "1m", "db"]);
    rl(&["acquire", "-n", "db"]).expect_code(75);
    let out = rl(&["list"]);
    assert_eq!(out.stdout.lines().filter(|line| line.starts_with("db\t")).count(), 2);
}

#[test]
fn a_bad_limit_is_a_usage_error() {
    let server = RedisServer::start();
    for (args, expected) in [
        (&["--limit", "0"][..], "1 or more"),
        (&["--limit", "many"][..], "not a whole number"),
        (&["--limit", "2", "--shared"][..], "cannot be used with"),
    ] {
        let out = rlock(&server).arg("run").args(args).args(["k", "--", "true"]).output();
        out.expect_code(125);
        assert!(out.stderr.contains(expected), "{args:?}: {}", out.stderr);
    }
}

#[test]
fn waiters_for_a_limited_lock_get_in_in_the_order_they_came() {
    let server = RedisServer::start();
    let url = server.url();
    let dir = tempfile::tempdir().unwrap();
    let order = dir.path().join("order");
    let tokens: Vec<String> = (0..2).map(|_| acquire(&url, &["--limit", "2", "pool"])).collect();
    let waiters: Vec<Running> = (1..=6)
        .map(|i| {
            let script = format!("echo {i} >> '{}'; sleep 0.2", order.display());
            let waiter = rlock(&server).args(["run", "--limit", "2", "pool", "--", "sh", "-c"]);
            let waiter = waiter.arg(script).spawn();
            assert!(eventually(Duration::from_secs(10), || queued(&server, "pool") == i));
            waiter
        })
        .collect();
    for token in &tokens {
        rlock(&server).args(["release", "pool", token]).output().expect_code(0);
    }
    for waiter in waiters {
        let out = waiter.finish(Duration::from_secs(20));
        out.expect_code(0);
    }
    let entered: Vec<u32> = std::fs::read_to_string(&order)
        .unwrap()
        .lines()
        .map(|line| line.parse().unwrap())
        .collect();
    // Two places: waiters go in by twos, in the order they came (within a pair, the two start
    // a moment apart and may write in either order).
    let mut pairs: Vec<Vec<u32>> = entered.chunks(2).map(<[u32]>::to_vec).collect();
    pairs.iter_mut().for_each(|pair| pair.sort());
    assert_eq!(pairs, [[1, 2], [3, 4], [5, 6]], "{entered:?}");
}

#[test]
fn a_broken_or_deleted_shared_lock_stops_its_commands_with_124() {
    let server = RedisServer::start();
    let dir = tempfile::tempdir().unwrap();
    // Each holder gets a fence of its own in its environment.
    let holders: Vec<Running> = (0..2)
        .map(|i| {
            let fence = dir.path().join(format!("fence{i}"));
            let script = format!("echo $RLOCK_FENCE > '{}'; sleep 60", fence.display());
            rlock(&server)
                .args(["run", "--limit", "2", "-t", "1500ms", "pool", "--", "sh", "-c", &script])
                .spawn()
        })
        .collect();
    let fences = || -> BTreeSet<String> {
        (0..2)
            .filter_map(|i| std::fs::read_to_string(dir.path().join(format!("fence{i}"))).ok())
            .map(|fence| fence.trim().to_owned())
            .collect()
    };
    // (A file the shell has opened but not yet written reads empty: wait for both numbers.)
    let written = || {
        let fences = fences();
        fences.len() == 2 && fences.iter().all(|fence| fence.parse::<u64>().is_ok())
    };
    assert!(eventually(Duration::from_secs(10), written), "{:?}", fences());
    rlock(&server).args(["break", "pool"]).output().expect_code(0);
    for holder in holders {
        let out = holder.finish(Duration::from_secs(20));
        out.expect_code(124);
        assert!(out.stderr.contains("lost the lock"), "{}", out.stderr);
        assert!(out.elapsed < Duration::from_secs(12), "took {:?}", out.elapsed);
    }
    // Deleting the lock record by hand does the same to a shared holder.
    let reader = rlock(&server)
        .args(["run", "--shared", "-t", "1500ms", "db", "--", "sleep", "60"])
        .spawn_holding(&server, "rlock:db");
    server.cmd::<i64>(&["DEL", "rlock:db"]);
    reader.finish(Duration::from_secs(20)).expect_code(124);
}
