//! Redis Sentinel: rlock asks the Sentinels where the master is, on every new connection.

use std::time::Duration;

use crate::fixture::{RedisServer, Sentinel, closed_port};
use crate::harness::{assert_one_line_mentioning, eventually, rlock, rlock_at};

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

/// Waits (at most 15 s) until `master`'s replica has all it wrote: a replica starting up syncs
/// a few seconds late, and a failover before that forgets everything.
fn replicated(master: &RedisServer) {
    // Within the test connection's 5 s read timeout, asked again.
    let caught_up = || master.cmd::<i64>(&["WAIT", "1", "1000"]) == 1;
    assert!(eventually(Duration::from_secs(15), caught_up), "the replica did not catch up");
}

/// Nanosecond timestamps a command wrote, one a line (`date +%s%N`).
fn stamps(path: &std::path::Path) -> Vec<u128> {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    text.lines().filter_map(|line| line.trim().parse().ok()).collect()
}

/// A command that writes a timestamp to `file` when it starts, every 50 ms while it runs (at
/// most `beats` times), and at its end.
fn stamping(file: &std::path::Path, beats: u32) -> String {
    until(file, beats, None)
}

/// The same, ending early once the file `stop` exists.
fn until(file: &std::path::Path, beats: u32, stop: Option<&std::path::Path>) -> String {
    let (file, stop) = (file.display(), stop.map(|stop| stop.display().to_string()));
    let go_on = stop.map(|stop| format!("[ ! -e '{stop}' ] && ")).unwrap_or_default();
    format!(
        "i=0; while {go_on}[ $i -lt {beats} ]; do date +%s%N >> '{file}'; sleep 0.05; \
         i=$((i+1)); done; date +%s%N >> '{file}'"
    )
}

/// Asserts that the commands that wrote these stamp files ran one after the other, never two
/// at once.
fn one_at_a_time(files: &[&std::path::Path]) {
    let mut runs: Vec<(u128, u128, String)> = files
        .iter()
        .map(|file| {
            let stamps = stamps(file);
            let (first, last) = (stamps.iter().min(), stamps.iter().max());
            let (Some(first), Some(last)) = (first, last) else {
                panic!("{} was never written", file.display())
            };
            (*first, *last, file.file_name().unwrap().to_string_lossy().into_owned())
        })
        .collect();
    runs.sort_unstable();
    for pair in runs.windows(2) {
        let ((_, end, one), (start, _, next)) = (&pair[0], &pair[1]);
        assert!(
            end < start,
            "{one} was still running {} ms after {next} started",
            (end - start) / 1_000_000
        );
    }
}

#[test]
fn a_holder_notices_a_failover_and_no_second_holder_overlaps_it() {
    // The old master stays a master after the failover: a holder that kept refreshing there
    // would keep its lock there, while the new master lets a second holder in.
    let master = RedisServer::stubborn_master();
    let replica = RedisServer::replica_of(&master);
    let sentinel = Sentinel::watch(&master, 1);
    let url = sentinel.url();
    let dir = tempfile::tempdir().unwrap();
    let (first, second) = (dir.path().join("holder"), dir.path().join("contender"));
    let stop = dir.path().join("stop");
    replicated(&master);

    // The holder runs until told to stop (at most 30 s); its 3 s ttl is refreshed every 1 s.
    let holder = rlock_at(&url)
        .args(["run", "-t", "3s", "--kill-grace", "1s", "k", "--", "sh", "-c"])
        .arg(until(&first, 600, Some(&stop)))
        .spawn_holding(&master, "rlock:k");
    // Replication is asynchronous but quick once the replica is in sync: the promoted replica
    // has the lock as the last refresh left it.
    replicated(&master);
    // The first refresh (at 1 s) makes the keep-alive's connection, to the old master.
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(sentinel.fail_over(), replica.port());
    // A contender that comes after the failover reaches the new master.
    let contender = rlock_at(&url).args(["run", "-w", "30s", "k", "--", "sh", "-c"]);
    let contender = contender.arg(stamping(&second, 2)).spawn();
    // Long enough for the lock to lapse on the new master, were it not refreshed there.
    std::thread::sleep(Duration::from_secs(5));
    std::fs::write(&stop, "").unwrap();

    let holder = holder.finish(Duration::from_secs(30));
    let contender = contender.finish(Duration::from_secs(30));
    // The holder kept the lock on the new master (0), or found it lost there and stopped (124).
    assert!(matches!(holder.code(), 0 | 124), "holder exited {}: {}", holder.code(), holder.stderr);
    contender.expect_code(0);
    one_at_a_time(&[&first, &second]);
}

#[test]
fn a_waiter_follows_the_new_master() {
    let master = RedisServer::stubborn_master();
    let replica = RedisServer::replica_of(&master);
    let sentinel = Sentinel::watch(&master, 1);
    let url = sentinel.url();
    let dir = tempfile::tempdir().unwrap();
    let files = ["holder", "early", "late"].map(|who| dir.path().join(who));
    let stop = dir.path().join("stop");
    replicated(&master);

    let holder = rlock_at(&url)
        .args(["run", "-t", "3s", "--kill-grace", "1s", "k", "--", "sh", "-c"])
        .arg(until(&files[0], 600, Some(&stop)))
        .spawn_holding(&master, "rlock:k");
    // A waiter in the queue on the old master, before the failover, and one after it.
    let early = rlock_at(&url).args(["run", "-w", "30s", "k", "--", "sh", "-c"]);
    let early = early.arg(stamping(&files[1], 2)).spawn();
    let queued = || master.cmd::<i64>(&["ZCARD", "{rlock:k}}queue"]) == 1;
    assert!(eventually(Duration::from_secs(10), queued), "the waiter did not queue");
    replicated(&master);
    // The first refresh (at 1 s) makes the keep-alive's connection, to the old master.
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(sentinel.fail_over(), replica.port());
    let late = rlock_at(&url).args(["run", "-w", "30s", "k", "--", "sh", "-c"]);
    let late = late.arg(stamping(&files[2], 2)).spawn();
    // Long enough for the lock to lapse on the new master, and the first waiter's place there
    // (4 s), were they not kept there.
    std::thread::sleep(Duration::from_secs(8));
    std::fs::write(&stop, "").unwrap();

    let holder = holder.finish(Duration::from_secs(30));
    assert!(matches!(holder.code(), 0 | 124), "holder exited {}: {}", holder.code(), holder.stderr);
    // Neither waiter lost its way (125): each had its turn.
    early.finish(Duration::from_secs(30)).expect_code(0);
    late.finish(Duration::from_secs(30)).expect_code(0);
    one_at_a_time(&files.each_ref().map(|file| file.as_path()));
}

#[test]
fn with_replicas_a_lock_taken_just_before_a_failover_is_still_held() {
    let master = RedisServer::start();
    let replica = RedisServer::replica_of(&master);
    let sentinel = Sentinel::watch(&master, 1);
    let url = sentinel.url();
    replicated(&master);

    let out = rlock_at(&url).args(["--replicas", "1", "acquire", "-t", "30s", "held"]).output();
    out.expect_code(0);
    assert_eq!(sentinel.fail_over(), replica.port());
    let out = rlock_at(&url).args(["run", "-n", "held", "--", "echo", "ran"]).output();
    out.expect_code(75);
    assert_eq!(out.stdout, "");
    assert_eq!(replica.cmd::<i64>(&["EXISTS", "rlock:held"]), 1);
}

#[test]
fn replicas_that_do_not_acknowledge_refuse_the_lock_and_leave_it_free() {
    let master = RedisServer::start();
    let replica = RedisServer::replica_of(&master);
    let sentinel = Sentinel::watch(&master, 1);
    let url = sentinel.url();
    replicated(&master);

    // Two replicas asked for, one there: not taken, said so, exit 125, the lock left free.
    let out = rlock_at(&url).args(["run", "--replicas", "2", "k", "--", "echo", "ran"]).output();
    out.expect_code(125);
    assert_eq!(out.stdout, "");
    assert_one_line_mentioning(
        &out.stderr,
        &["was not taken", "only 1 of the 2 replicas", "--replicas"],
    );
    assert_eq!(master.cmd::<i64>(&["EXISTS", "rlock:k"]), 0);
    let out = rlock_at(&url).env("RLOCK_REPLICAS", "2").args(["acquire", "k"]).output();
    out.expect_code(125);
    assert_eq!(out.stdout, "");
    assert_eq!(master.cmd::<i64>(&["EXISTS", "rlock:k"]), 0);

    // A replica that does not answer (stopped) does not acknowledge either.
    replica.pause();
    let out = rlock_at(&url).args(["--replicas", "1", "run", "k", "--", "echo", "ran"]).output();
    replica.resume();
    out.expect_code(125);
    assert_one_line_mentioning(&out.stderr, &["only 0 of the 1 replica asked for"]);
    assert_eq!(master.cmd::<i64>(&["EXISTS", "rlock:k"]), 0);

    // The one there acknowledges one.
    let out = rlock_at(&url).args(["--replicas", "1", "run", "k", "--", "echo", "ran"]).output();
    out.expect_code(0);
    assert_eq!(out.stdout, "ran\n");

    // A refresh the replica does not acknowledge failed: when none is, the lock is lost.
    let holder = rlock_at(&url)
        .args(["--replicas", "1", "run", "-t", "2s", "--kill-grace", "200ms", "k", "--"])
        .args(["sleep", "20"])
        .spawn_holding(&master, "rlock:k");
    replica.pause();
    let out = holder.finish(Duration::from_secs(15));
    replica.resume();
    out.expect_code(124);
    assert!(
        out.stderr.contains("no refresh went through in time")
            && out.stderr.contains(
                "only 0 of the 1 replica asked for (--replicas) acknowledged the refresh"
            ),
        "{}",
        out.stderr
    );

    // The same with the master reached directly.
    let out = rlock(&master).args(["--replicas", "1", "run", "k", "--", "echo", "ran"]).output();
    out.expect_code(0);
    let out = rlock(&master).args(["--replicas", "2", "run", "k", "--", "echo", "ran"]).output();
    out.expect_code(125);
    assert_one_line_mentioning(&out.stderr, &["only 1 of the 2 replicas"]);

    let out = rlock_at(&url).args(["--replicas", "x", "ttl", "k"]).output();
    out.expect_code(125);
    assert_one_line_mentioning(&out.stderr, &["'x' is not a whole number"]);
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
    // The waiter follows the Sentinels to the new master, within the call that found the old
    // one turned replica (or through a reconnect, said on stderr): either way it gets its turn.
    assert_eq!(out.stdout, "ran\n");
}
