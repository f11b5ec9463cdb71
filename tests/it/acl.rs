//! Redis users (ACL): the rule docs/deployment.md gives is enough for everything rlock does, and
//! a user short of it gets 125 with Redis's reason.

use std::time::Duration;

use nix::sys::signal::Signal;

use crate::fixture::RedisServer;
use crate::harness::{assert_one_line_mentioning, eventually, rlock_at};

const PASSWORD: &str = "Zq8-acl-secret";

/// The `ACL SETUSER rlock ...` line from docs/deployment.md, with `PASSWORD` filled in.
fn documented_rule() -> Vec<String> {
    let docs = include_str!("../../docs/deployment.md");
    let line = docs
        .lines()
        .find(|line| line.starts_with("ACL SETUSER rlock "))
        .expect("docs/deployment.md gives no ACL SETUSER line");
    line.split_whitespace().map(|word| word.replace("PASSWORD", PASSWORD)).collect()
}

fn set_user(server: &RedisServer, rule: &[String]) {
    let args: Vec<&str> = rule.iter().map(String::as_str).collect();
    assert_eq!(server.cmd::<String>(&args), "OK", "{rule:?}");
}

fn url_for(server: &RedisServer, user: &str) -> String {
    format!("redis://{user}:{PASSWORD}@127.0.0.1:{}", server.port())
}

fn queued(server: &RedisServer, key: &str) -> i64 {
    server.cmd(&["ZCARD", &format!("{{rlock:{key}}}}}queue")])
}

#[test]
fn the_documented_acl_rule_is_enough_for_everything_rlock_does() {
    let server = RedisServer::start();
    set_user(&server, &documented_rule());
    let url = url_for(&server, "rlock");

    let out = rlock_at(&url).args(["run", "k", "--", "sh", "-c", "echo ran $RLOCK_FENCE"]).output();
    out.expect_code(0);
    let fence: String = server.cmd(&["GET", "{rlock:k}}fence"]);
    assert_eq!(out.stdout, format!("ran {fence}\n"));

    let out = rlock_at(&url).args(["acquire", "-t", "1m", "held"]).output();
    out.expect_code(0);
    let token = out.stdout.trim().to_owned();
    // Two waiters: one is handed the lock, the other is stopped by a signal (which nudges it).
    let waiter = rlock_at(&url).args(["run", "held", "--", "echo", "waited"]).spawn();
    assert!(eventually(Duration::from_secs(10), || queued(&server, "held") == 1));
    let quitter = rlock_at(&url).args(["run", "held", "--", "echo", "never"]).spawn();
    assert!(eventually(Duration::from_secs(10), || queued(&server, "held") == 2));
    let out = rlock_at(&url).args(["status", "--json", "held"]).output();
    out.expect_code(0);
    let status: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(status["waiters"], 2, "{status}");
    rlock_at(&url).args(["ttl", "held"]).output().expect_code(0);
    rlock_at(&url).args(["refresh", "held", &token]).output().expect_code(0);
    quitter.signal(Signal::SIGTERM);
    quitter.finish(Duration::from_secs(5)).expect_code(143);
    rlock_at(&url).args(["release", "held", &token]).output().expect_code(0);
    let out = waiter.finish(Duration::from_secs(10));
    out.expect_code(0);
    assert_eq!(out.stdout, "waited\n");

    rlock_at(&url).args(["acquire", "other"]).output().expect_code(0);
    rlock_at(&url).args(["break", "other"]).output().expect_code(0);

    // Shared and limited locks: taken, queued for, handed over, listed, refreshed and broken.
    let take = |args: &[&str]| {
        let out = rlock_at(&url).arg("acquire").args(args).output();
        out.expect_code(0);
        out.stdout.trim().to_owned()
    };
    let first = take(&["--limit", "2", "-t", "1m", "pool"]);
    take(&["--limit", "2", "-t", "1m", "pool"]);
    let waiter = rlock_at(&url).args(["run", "--limit", "2", "pool", "--", "echo", "in"]).spawn();
    assert!(eventually(Duration::from_secs(10), || queued(&server, "pool") == 1));
    rlock_at(&url).args(["refresh", "--limit", "2", "pool", &first]).output().expect_code(0);
    rlock_at(&url).args(["release", "pool", &first]).output().expect_code(0);
    waiter.finish(Duration::from_secs(10)).expect_code(0);
    take(&["--shared", "db"]);
    rlock_at(&url).args(["run", "--shared", "db", "--", "true"]).output().expect_code(0);
    rlock_at(&url).args(["ttl", "--json", "pool"]).output().expect_code(0);
    rlock_at(&url).arg("list").output().expect_code(0);
    rlock_at(&url).args(["break", "db"]).output().expect_code(0);
    // And the history every one of them left.
    for key in ["k", "held", "other", "pool", "db"] {
        rlock_at(&url).args(["log", key]).output().expect_code(0);
    }

    // Redis logged no denial along the way.
    let denials: Vec<redis::Value> = server.cmd(&["ACL", "LOG"]);
    assert!(denials.is_empty(), "{denials:?}");
}

#[test]
fn a_user_short_of_the_rule_gets_125_and_the_reason() {
    let server = RedisServer::start();
    // Not allowed to run scripts at all.
    set_user(&server, &rule(&["reader", "on", ">P", "~*", "+@read"]));
    // Allowed everything, but on other keys only.
    set_user(&server, &rule(&["elsewhere", "on", ">P", "~other:*", "+@all"]));
    // The documented rule without ZADD: fine until it has to join a queue.
    let mut no_zadd = documented_rule();
    no_zadd.retain(|word| word != "+zadd");
    no_zadd[2] = "no-zadd".into();
    set_user(&server, &no_zadd);

    for (user, reason) in [
        ("reader", "permissions to run the 'evalsha' command"),
        ("elsewhere", "permissions to access one of the keys"),
    ] {
        let out =
            rlock_at(&url_for(&server, user)).args(["run", "k", "--", "echo", "ran"]).output();
        out.expect_code(125);
        assert_eq!(out.stdout, "");
        assert_one_line_mentioning(
            &out.stderr,
            &["does not let this user", reason, "docs/deployment.md"],
        );
        assert!(!out.stderr.contains(PASSWORD), "{}", out.stderr);
    }

    server.cmd::<String>(&["SET", "rlock:busy", "someone", "PX", "60000"]);
    let out = rlock_at(&url_for(&server, "no-zadd")).args(["run", "busy", "--", "true"]).output();
    out.expect_code(125);
    assert_one_line_mentioning(&out.stderr, &["does not let this user", "can't run this command"]);
    assert!(!out.stderr.contains(PASSWORD), "{}", out.stderr);
}

fn rule(words: &[&str]) -> Vec<String> {
    let mut rule = vec!["ACL".to_owned(), "SETUSER".to_owned()];
    rule.extend(words.iter().map(|word| word.replace(">P", &format!(">{PASSWORD}"))));
    rule
}
