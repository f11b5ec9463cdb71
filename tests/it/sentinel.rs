//! Redis Sentinel: rlock asks the Sentinels where the master is, on every new connection.

use std::time::Duration;

use crate::fixture::{RedisServer, Sentinel, closed_port};
use crate::harness::{assert_one_line_mentioning, eventually, rlock_at};

#[test]
fn run_reaches_the_master_the_sentinel_names_before_and_after_a_failover() {
    let master = RedisServer::start();
    let replica = RedisServer::replica_of(&master);
    let sentinel = Sentinel::watch(&master, 1);
    let url = sentinel.url();

    let out =
        rlock_at(&url).args(["run", "before", "--", "sh", "-c", "echo $RLOCK_FENCE"]).output();
    out.expect_code(0);
    let fence: String = master.cmd(&["GET", "{rlock:before}}fence"]);
    assert_eq!(out.stdout, format!("{fence}\n"));
    rlock_at(&url).args(["acquire", "held"]).output().expect_code(0);
    let out = rlock_at(&url).args(["status", "held"]).output();
    out.expect_code(0);
    rlock_at(&url).args(["ttl", "held"]).output().expect_code(0);
    // Replication is asynchronous: let the replica have it all before it is promoted.
    assert_eq!(master.cmd::<i64>(&["WAIT", "1", "10000"]), 1, "the replica did not catch up");

    assert_eq!(sentinel.fail_over(), replica.port());
    let out = rlock_at(&url).args(["run", "after", "--", "echo", "ran"]).output();
    out.expect_code(0);
    assert_eq!(out.stdout, "ran\n");
    // Written on the new master: the old one, if it had taken the write, replicates nothing to it.
    assert_eq!(replica.cmd::<i64>(&["EXISTS", "{rlock:after}}fence"]), 1);
    // The lock taken (and replicated) before the failover is still held.
    rlock_at(&url).args(["run", "-n", "held", "--", "true"]).output().expect_code(75);
}

#[test]
fn sentinel_mistakes_give_125_and_say_what_is_wrong() {
    let master = RedisServer::start();
    let sentinel = Sentinel::watch(&master, 0);
    let unknown = sentinel.url().replace("/svc", "/nosuch");
    let out = rlock_at(&unknown).args(["run", "k", "--", "echo", "ran"]).output();
    out.expect_code(125);
    assert_eq!(out.stdout, "");
    assert_one_line_mentioning(&out.stderr, &["knows no master named 'nosuch'"]);

    let nobody = format!("redis+sentinel://127.0.0.1:{}/svc", closed_port());
    let out = rlock_at(&nobody).args(["ttl", "k"]).output();
    out.expect_code(125);
    assert_one_line_mentioning(
        &out.stderr,
        &["no Sentinel led to the master of 'svc'", "cannot reach"],
    );
    // The first Sentinel is down, the second answers.
    let both = format!("{nobody},{}", sentinel.url());
    rlock_at(&both).args(["run", "k", "--", "true"]).output().expect_code(0);

    let plain = format!("{},redis://127.0.0.1:{}", sentinel.url(), master.port());
    let out = rlock_at(&plain).args(["ttl", "k"]).output();
    out.expect_code(125);
    assert_one_line_mentioning(&out.stderr, &["is not a redis+sentinel:// URL"]);
    let out = rlock_at("redis+sentinel://127.0.0.1:26379").args(["ttl", "k"]).output();
    out.expect_code(125);
    assert_one_line_mentioning(&out.stderr, &["names no service"]);
}

#[test]
fn a_waiter_rides_out_a_failover() {
    let master = RedisServer::start();
    let replica = RedisServer::replica_of(&master);
    let sentinel = Sentinel::watch(&master, 1);
    let url = sentinel.url();
    let held = rlock_at(&url).args(["acquire", "-t", "2m", "deploy"]).output();
    held.expect_code(0);
    let token = held.stdout.trim().to_owned();
    let waiter = rlock_at(&url).args(["run", "-w", "60s", "deploy", "--", "echo", "ran"]).spawn();
    let queued = || master.cmd::<i64>(&["ZCARD", "{rlock:deploy}}queue"]) == 1;
    assert!(eventually(Duration::from_secs(10), queued), "the waiter never queued");
    assert_eq!(master.cmd::<i64>(&["WAIT", "1", "10000"]), 1, "the replica did not catch up");
    // The master becomes a replica: the waiter is turned away there, and finds the new master
    // through the Sentinel.
    assert_eq!(sentinel.fail_over(), replica.port());
    let back = || replica.cmd::<i64>(&["ZCARD", "{rlock:deploy}}queue"]) == 1;
    assert!(
        eventually(Duration::from_secs(10), back),
        "the waiter is not queued on the new master"
    );
    rlock_at(&url).args(["release", "deploy", &token]).output().expect_code(0);
    let out = waiter.finish(Duration::from_secs(20));
    out.expect_code(0);
    assert_eq!(out.stdout, "ran\n");
    assert!(out.stderr.contains("Redis went away while waiting for 'deploy'"), "{}", out.stderr);
    assert!(out.stderr.contains("Redis answers again"), "{}", out.stderr);
}
