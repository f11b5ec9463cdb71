//! acquire, refresh, release, ttl, status and break.

use std::time::Duration;

use crate::fixture::RedisServer;
use crate::harness::rlock;

fn acquire(server: &RedisServer, args: &[&str]) -> String {
    let out = rlock(server).arg("acquire").args(args).output();
    out.expect_code(0);
    out.stdout.trim().to_owned()
}

#[test]
fn acquire_prints_a_token_and_refuses_a_held_lock_with_75() {
    let server = RedisServer::start();
    let token = acquire(&server, &["-t", "20s", "a"]);
    assert_eq!(token.len(), 32);
    assert_eq!(server.cmd::<String>(&["GET", "rlock:a"]), token);
    let pttl: i64 = server.cmd(&["PTTL", "rlock:a"]);
    assert!(pttl > 15_000 && pttl <= 20_000, "pttl {pttl}");

    let out = rlock(&server).args(["acquire", "-n", "a"]).output();
    out.expect_code(75);
    assert_eq!(out.stdout, "", "no token for a lock not obtained");
    rlock(&server).args(["acquire", "-n", "-E", "3", "a"]).output().expect_code(3);
    let out = rlock(&server).args(["acquire", "-w", "300ms", "a"]).output();
    out.expect_code(75);
    assert!(out.elapsed >= Duration::from_millis(280), "{:?}", out.elapsed);
}

#[test]
fn refresh_extends_only_with_the_right_token() {
    let server = RedisServer::start();
    let token = acquire(&server, &["-t", "5s", "r"]);
    rlock(&server).args(["refresh", "-t", "1m", "r", &token]).output().expect_code(0);
    let pttl: i64 = server.cmd(&["PTTL", "rlock:r"]);
    assert!(pttl > 55_000, "pttl {pttl}");
    assert!(server.cmd::<i64>(&["PTTL", "{rlock:r}}holder"]) > 55_000, "the holder record follows");

    let out = rlock(&server).args(["refresh", "r", "not-the-token"]).output();
    out.expect_code(1);
    assert!(out.stderr.contains("not held with that token"), "{}", out.stderr);
    rlock(&server).args(["refresh", "gone", &token]).output().expect_code(1);
}

#[test]
fn release_deletes_only_with_the_right_token() {
    let server = RedisServer::start();
    let token = acquire(&server, &["rel"]);
    rlock(&server).args(["release", "rel", "wrong"]).output().expect_code(1);
    assert_eq!(server.cmd::<String>(&["GET", "rlock:rel"]), token);
    rlock(&server).args(["release", "rel", &token]).output().expect_code(0);
    assert_eq!(server.cmd::<i64>(&["EXISTS", "rlock:rel", "{rlock:rel}}holder"]), 0);
    rlock(&server).args(["release", "rel", &token]).output().expect_code(1);
}

#[test]
fn ttl_reports_held_and_free() {
    let server = RedisServer::start();
    let out = rlock(&server).args(["ttl", "t"]).output();
    out.expect_code(1);
    assert_eq!(out.stdout, "");
    assert!(out.stderr.contains("free"), "{}", out.stderr);

    acquire(&server, &["-t", "90s", "t"]);
    let out = rlock(&server).args(["ttl", "t"]).output();
    out.expect_code(0);
    assert!(out.stdout.starts_with("1m 29s") || out.stdout.starts_with("1m 30s"), "{}", out.stdout);
    let out = rlock(&server).args(["ttl", "--ms", "t"]).output();
    out.expect_code(0);
    let ms: u64 = out.stdout.trim().parse().unwrap();
    assert!((80_000..=90_000).contains(&ms), "{ms}");

    // A foreign lock without expiry.
    server.cmd::<String>(&["SET", "rlock:forever", "x"]);
    let out = rlock(&server).args(["ttl", "--ms", "forever"]).output();
    out.expect_code(0);
    assert_eq!(out.stdout, "-1\n");
}

#[test]
fn status_shows_the_holder_in_text_and_json() {
    let server = RedisServer::start();
    let out = rlock(&server).args(["status", "--json", "s"]).output();
    out.expect_code(1);
    let free: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(free["held"], false);
    assert_eq!(free["holder"], serde_json::Value::Null);

    let dir = tempfile::tempdir().unwrap();
    let ready = dir.path().join("ready");
    let running = rlock(&server)
        .args(["run", "-t", "40s", "s", "--", "sh", "-c", r#"echo $RLOCK_FENCE > "$0"; sleep 30"#])
        .arg_path(&ready)
        .spawn();
    let fence: u64 = crate::harness::read_line(&ready).parse().unwrap();

    let out = rlock(&server).args(["status", "--json", "s"]).output();
    out.expect_code(0);
    let held: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(held["held"], true);
    assert_eq!(held["key"], "s");
    assert_eq!(held["redis_key"], "rlock:s");
    assert_eq!(held["fence"], fence);
    let holder = &held["holder"];
    assert_eq!(holder["pid"], running.child.id());
    assert_eq!(holder["host"], nix::unistd::gethostname().unwrap().to_string_lossy().as_ref());
    assert_eq!(holder["program"], "sh", "the program's name, without its arguments");
    assert!(!holder["user"].as_str().unwrap().is_empty());
    assert!(holder["since"].as_str().unwrap().ends_with('Z'));
    let ttl = held["ttl_ms"].as_u64().unwrap();
    assert!(ttl > 0 && ttl <= 40_000, "{ttl}");
    // The token never appears.
    let token: String = server.cmd(&["GET", "rlock:s"]);
    assert!(!out.stdout.contains(&token));

    let out = rlock(&server).args(["status", "s"]).output();
    out.expect_code(0);
    assert!(out.stdout.contains("state:    held"), "{}", out.stdout);
    assert!(out.stdout.contains(&format!("pid {}", running.child.id())), "{}", out.stdout);
    assert!(out.stdout.contains(&format!("fence:    {fence}")), "{}", out.stdout);
    assert!(!out.stdout.contains(&token));

    running.signal(nix::sys::signal::Signal::SIGTERM);
    running.finish(Duration::from_secs(10));
    let out = rlock(&server).args(["status", "s"]).output();
    out.expect_code(1);
    assert!(out.stdout.contains("free"), "{}", out.stdout);
}

#[test]
fn status_of_a_lock_taken_by_another_library_has_no_holder() {
    let server = RedisServer::start();
    server.cmd::<String>(&["SET", "rlock:foreign", "their-token", "PX", "30000"]);
    let out = rlock(&server).args(["status", "--json", "foreign"]).output();
    out.expect_code(0);
    let status: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(status["held"], true);
    assert_eq!(status["holder"], serde_json::Value::Null);
    assert!(!out.stdout.contains("their-token"));
}

#[test]
fn break_force_releases_and_reports_a_free_lock() {
    let server = RedisServer::start();
    acquire(&server, &["b"]);
    let out = rlock(&server).args(["break", "b"]).output();
    out.expect_code(0);
    assert!(out.stderr.contains("broke 'b'"), "{}", out.stderr);
    assert_eq!(server.cmd::<i64>(&["EXISTS", "rlock:b", "{rlock:b}}holder"]), 0);
    rlock(&server).args(["break", "b"]).output().expect_code(1);
    // The fencing counter survives a break, so the next holder's fence is still higher.
    let before: u64 = server.cmd(&["GET", "{rlock:b}}fence"]);
    let token = acquire(&server, &["b"]);
    assert!(!token.is_empty());
    assert!(server.cmd::<u64>(&["GET", "{rlock:b}}fence"]) > before);
}

#[test]
fn quiet_silences_notices_and_verbose_adds_detail() {
    let server = RedisServer::start();
    let out = rlock(&server).args(["-q", "ttl", "q"]).output();
    out.expect_code(1);
    assert_eq!(out.stderr, "");
    let out = rlock(&server).args(["-v", "run", "q", "--", "true"]).output();
    out.expect_code(0);
    assert!(out.stderr.contains("acquired 'q'"), "{}", out.stderr);
    assert!(out.stderr.contains("released 'q'"), "{}", out.stderr);
}

#[test]
fn a_unix_socket_url_works() {
    let server = RedisServer::start();
    let url = format!("unix://{}", server.socket().display());
    let out = crate::harness::rlock_at(&url).args(["run", "u", "--", "echo", "ok"]).output();
    out.expect_code(0);
    assert_eq!(out.stdout, "ok\n");
}

#[test]
fn list_shows_the_locks_held_now_among_many_other_keys_using_scan() {
    let server = RedisServer::start();
    // Fifty thousand unrelated keys, and a lock some other library took under the prefix.
    let mut con = server.connection();
    for batch in 0..50 {
        let mut mset = redis::cmd("MSET");
        for n in 0..1000 {
            mset.arg(format!("junk:{batch}:{n}")).arg(n);
        }
        mset.query::<()>(&mut con).unwrap();
    }
    server.cmd::<String>(&["SET", "rlock:foreign", "their-token", "PX", "60000"]);
    acquire(&server, &["-t", "5m", "alpha"]);
    acquire(&server, &["-t", "5m", "{tagged}"]);
    let beta = acquire(&server, &["-t", "5m", "beta"]);
    // A waiter's record is not a lock.
    let waiter = rlock(&server).args(["run", "beta", "--", "true"]).spawn();
    assert!(crate::harness::eventually(Duration::from_secs(10), || {
        server.cmd::<i64>(&["ZCARD", "{rlock:beta}}queue"]) == 1
    }));
    server.cmd::<String>(&["CONFIG", "RESETSTAT"]);

    let out = rlock(&server).arg("list").output();
    out.expect_code(0);
    let names: Vec<&str> =
        out.stdout.lines().map(|line| line.split('\t').next().unwrap()).collect();
    assert_eq!(names, ["alpha", "beta", "{tagged}"], "{}", out.stdout);
    for line in out.stdout.lines() {
        let fields: Vec<&str> = line.split('\t').collect();
        assert_eq!(fields.len(), 5, "{line}");
        assert!(fields[1].contains(" pid "), "{line}");
        assert!(fields[2].starts_with("ttl "), "{line}");
        assert!(fields[3].starts_with("fence "), "{line}");
        // How many wait: beta's one waiter.
        let waiting = if fields[0] == "beta" { "waiting 1" } else { "waiting 0" };
        assert_eq!(fields[4], waiting, "{line}");
    }
    let stats: String = server.cmd(&["INFO", "commandstats"]);
    assert!(!stats.contains("cmdstat_keys:"), "KEYS was used: {stats}");
    let scans = stats
        .lines()
        .find_map(|line| line.strip_prefix("cmdstat_scan:calls="))
        .and_then(|rest| rest.split(',').next())
        .and_then(|calls| calls.parse::<u64>().ok())
        .expect("SCAN was not used");
    assert!(scans >= 50, "only {scans} SCAN calls for 50,000 keys: COUNT too large?");

    let out = rlock(&server).args(["list", "--json", "b*"]).output();
    out.expect_code(0);
    let listed: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(listed["version"], 1, "{listed}");
    let listed = listed["locks"].as_array().expect("an array of locks");
    assert_eq!(listed.len(), 1, "{listed:?}");
    assert_eq!(listed[0]["key"], "beta");
    assert_eq!(listed[0]["held"], true);
    assert!(listed[0]["holder"]["pid"].as_u64().is_some());
    assert!(listed[0]["ttl_ms"].as_u64().is_some_and(|ms| ms > 0));

    rlock(&server).args(["release", "beta", &beta]).output().expect_code(0);
    waiter.finish(Duration::from_secs(10)).expect_code(0);
    let out = rlock(&server).args(["list", "--json", "nothing*"]).output();
    out.expect_code(0);
    assert_eq!(out.stdout.trim(), r#"{"locks":[],"version":1}"#);
}

/// The fields docs/usage.md documents for `status --json`, `ttl --json` and each `list --json`
/// entry.
/// (Sorted: serde_json writes an object's keys in order.)
const LOCK_FIELDS: [&str; 12] = [
    "fence",
    "held",
    "holder",
    "holders",
    "key",
    "limit",
    "mode",
    "queue",
    "redis_key",
    "ttl_ms",
    "version",
    "waiters",
];
const HOLDER_FIELDS: [&str; 9] =
    ["fence", "host", "label", "pid", "program", "since", "since_unix_ms", "ttl_ms", "user"];

fn keys_of(value: &serde_json::Value) -> Vec<String> {
    value.as_object().unwrap_or_else(|| panic!("not an object: {value}")).keys().cloned().collect()
}

#[test]
fn status_ttl_and_list_print_one_json_schema() {
    let server = RedisServer::start();
    let fields: Vec<String> = LOCK_FIELDS.iter().map(|field| field.to_string()).collect();
    let json = |args: &[&str]| -> serde_json::Value {
        let out = rlock(&server).args(args).output();
        serde_json::from_str(&out.stdout).unwrap_or_else(|err| panic!("{args:?}: {err}"))
    };
    // Free: the same fields, nulls and false.
    for args in [&["status", "--json", "job"][..], &["ttl", "--json", "job"][..]] {
        let free = json(args);
        assert_eq!(keys_of(&free), fields, "{args:?}");
        assert_eq!(free["held"], false);
        assert_eq!(free["holders"], serde_json::json!([]));
        assert!(free["mode"].is_null() && free["ttl_ms"].is_null() && free["holder"].is_null());
    }
    acquire(&server, &["-t", "1m", "job"]);
    let status = json(&["status", "--json", "job"]);
    let ttl = json(&["ttl", "--json", "job"]);
    let list = json(&["list", "--json"]);
    assert_eq!(keys_of(&list), ["locks", "version"], "{list}");
    assert_eq!(list["version"], 1);
    let listed = &list["locks"][0];
    for object in [&status, &ttl, listed] {
        assert_eq!(keys_of(object), fields, "{object}");
        assert_eq!(object["key"], "job");
        assert_eq!(object["version"], 1);
        assert_eq!(object["mode"], "exclusive");
        assert_eq!(object["limit"], 1);
        assert_eq!(object["held"], true);
        assert!(object["ttl_ms"].as_u64().unwrap() > 50_000, "{object}");
        assert_eq!(keys_of(&object["holder"]), HOLDER_FIELDS, "{object}");
        assert_eq!(object["holders"][0], object["holder"], "{object}");
        assert_eq!(object["fence"], object["holder"]["fence"], "{object}");
    }
}

/// The holder's user: LOGNAME (then USER, LNAME, USERNAME) as cron, login and sudo set it, else
/// the password database's name for rlock's uid.
#[test]
fn the_holder_names_its_user() {
    let server = RedisServer::start();
    let user_of = |key: &str| -> String {
        let out = rlock(&server).args(["status", "--json", key]).output();
        out.expect_code(0);
        let status: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
        status["holder"]["user"].as_str().unwrap().to_owned()
    };

    rlock(&server).env("LOGNAME", "deploy-bot").args(["acquire", "a"]).output().expect_code(0);
    assert_eq!(user_of("a"), "deploy-bot");

    rlock(&server)
        .env_remove("USER")
        .env("USERNAME", "")
        .args(["acquire", "b"])
        .output()
        .expect_code(0);
    let uid = nix::unistd::getuid();
    let name = nix::unistd::User::from_uid(uid).unwrap().map_or(uid.to_string(), |user| user.name);
    assert_eq!(user_of("b"), name);
}

/// A global option given on the command line, before the subcommand or after it, wins over its
/// variable; given in both places, the one after the subcommand wins. `run --help` lists the
/// subcommand's own options first.
#[test]
fn global_options_work_before_and_after_the_subcommand() {
    let server = RedisServer::start();
    let nowhere = "redis://127.0.0.1:1";
    let good = server.url();
    for args in [
        vec!["-r", &good, "ttl", "k"],
        vec!["ttl", "-r", &good, "k"],
        vec!["-r", nowhere, "ttl", "-r", &good, "k"],
    ] {
        crate::harness::rlock_at(nowhere).args(&args).output().expect_code(1);
    }
    let out = rlock(&server).args(["-r", &good, "ttl", "-r", nowhere, "k"]).output();
    out.expect_code(125);
    assert!(out.stderr.contains("127.0.0.1:1"), "{}", out.stderr);

    rlock(&server).args(["--prefix", "app:", "acquire", "p"]).output().expect_code(0);
    assert_eq!(server.cmd::<i64>(&["EXISTS", "app:p"]), 1);
    rlock(&server).env("RLOCK_PREFIX", "x:").args(["acquire", "--prefix", "y:", "q"]).output();
    assert_eq!(server.cmd::<i64>(&["EXISTS", "y:q"]), 1);

    let help = rlock(&server).args(["run", "--help"]).output().stdout;
    let at = |option: &str| help.find(option).unwrap_or_else(|| panic!("{option}: {help}"));
    assert!(at("--ttl") < at("--kill-grace") && at("--kill-grace") < at("--redis"), "{help}");
}

/// Each -v says more than the one before: -v what happens to the lock, -vv each refresh, -vvv
/// each call to Redis.
#[test]
fn each_verbose_level_says_more() {
    let server = RedisServer::start();
    let said = |level: &str| {
        let out =
            rlock(&server).args([level, "run", "-t", "300ms", "v", "--", "sleep", "0.3"]).output();
        out.expect_code(0);
        out.stderr
    };
    let (one, two, three) = (said("-v"), said("-vv"), said("-vvv"));
    assert!(one.contains("acquired 'v'") && one.contains("released 'v'"), "{one}");
    assert!(!one.contains("refreshed"), "{one}");
    assert!(two.contains("refreshed 'v'") && !two.contains("answered in"), "{two}");
    assert!(three.contains("refresh 'v' at") && three.contains("answered in"), "{three}");
    assert!(one.lines().count() < two.lines().count(), "{one}\n--\n{two}");
    assert!(two.lines().count() < three.lines().count(), "{two}\n--\n{three}");
}

/// CI systems export variables they leave empty: RLOCK_CLUSTER= means no cluster, not an error.
#[test]
fn an_empty_flag_variable_is_unset() {
    let server = RedisServer::start();
    rlock(&server).env("RLOCK_CLUSTER", "").args(["ttl", "k"]).output().expect_code(1);
    rlock(&server).env("RLOCK_CLUSTER", "0").args(["ttl", "k"]).output().expect_code(1);
    let out = rlock(&server).env("RLOCK_CLUSTER", "maybe").args(["ttl", "k"]).output();
    out.expect_code(125);
    assert!(out.stderr.contains("'maybe' is not yes or no"), "{}", out.stderr);
}

/// `acquire` does not refresh the lock it takes, and its help says so.
#[test]
fn acquire_help_does_not_promise_refreshes() {
    let server = RedisServer::start();
    let help = rlock(&server).args(["acquire", "--help"]).output().stdout;
    assert!(!help.contains("refreshes it"), "{help}");
    assert!(help.contains("it is not refreshed"), "{help}");
    let run = rlock(&server).args(["run", "--help"]).output().stdout;
    assert!(run.contains("rlock refreshes it every ttl/3"), "{run}");
    let man = String::from_utf8(
        std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/man/rlock.1")).unwrap(),
    )
    .unwrap();
    let section = |name: &str| man.find(&format!(".SS \"rlock {name}\"")).unwrap();
    let acquire = &man[section("acquire")..section("refresh")];
    assert!(!acquire.contains("refreshes it"), "{acquire}");
}
