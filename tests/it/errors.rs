//! Exit codes for everything that is not the command's own status, and the messages for bad input.

use crate::fixture::{RedisServer, closed_port};
use crate::harness::{assert_one_line_mentioning, rlock, rlock_at};

#[test]
fn the_command_dying_of_a_signal_gives_128_plus_n() {
    let server = RedisServer::start();
    rlock(&server).args(["run", "k", "--", "sh", "-c", "kill -KILL $$"]).output().expect_code(137);
    rlock(&server).args(["run", "k", "--", "sh", "-c", "kill -USR1 $$"]).output().expect_code(138);
}

#[test]
fn a_command_that_is_not_found_gives_127_without_taking_the_lock() {
    let server = RedisServer::start();
    let out = rlock(&server).args(["run", "k", "--", "no-such-command-rlock-test"]).output();
    out.expect_code(127);
    assert_one_line_mentioning(&out.stderr, &["no-such-command-rlock-test", "not found"]);
    // Found missing before the lock was taken: no lock, no fence used up.
    assert_eq!(server.cmd::<i64>(&["EXISTS", "rlock:k", "{rlock:k}}fence"]), 0);
    let out = rlock(&server).args(["run", "k", "--", "/no/such/dir/cmd"]).output();
    out.expect_code(127);
    assert_one_line_mentioning(&out.stderr, &["/no/such/dir/cmd", "not found"]);
    assert_eq!(server.cmd::<i64>(&["EXISTS", "rlock:k", "{rlock:k}}fence"]), 0);
}

#[test]
fn a_command_that_cannot_be_executed_gives_126_and_releases() {
    let server = RedisServer::start();
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("not-executable.sh");
    std::fs::write(&script, "#!/bin/sh\necho hi\n").unwrap();
    let out = rlock(&server).args(["run", "k", "--"]).arg_path(&script).output();
    out.expect_code(126);
    assert_one_line_mentioning(&out.stderr, &["not-executable.sh", "permission denied"]);
    // A directory cannot be executed either.
    let out = rlock(&server).args(["run", "k", "--"]).arg_path(dir.path()).output();
    out.expect_code(126);
    assert_one_line_mentioning(&out.stderr, &["is a directory"]);
    // Both found out before the lock was taken: no lock, no fence used up.
    assert_eq!(server.cmd::<i64>(&["EXISTS", "rlock:k", "{rlock:k}}fence"]), 0);
    // Nor an executable file in no format the kernel knows (found only by the execve itself).
    let garbage = dir.path().join("garbage");
    std::fs::write(&garbage, b"\x00\x01\x02 not a program\n").unwrap();
    std::fs::set_permissions(&garbage, std::os::unix::fs::PermissionsExt::from_mode(0o755))
        .unwrap();
    let out = rlock(&server).args(["run", "k", "--"]).arg_path(&garbage).output();
    out.expect_code(126);
    assert_one_line_mentioning(&out.stderr, &["garbage", "cannot execute"]);
    assert_eq!(server.cmd::<i64>(&["EXISTS", "rlock:k"]), 0);
}

#[test]
fn unreachable_redis_gives_125() {
    let url = format!("redis://127.0.0.1:{}", closed_port());
    let out = rlock_at(&url).args(["run", "k", "--", "echo", "ran"]).output();
    out.expect_code(125);
    assert_eq!(out.stdout, "", "nothing runs without the lock");
    assert_one_line_mentioning(&out.stderr, &["cannot reach Redis", &url]);
    rlock_at(&url).args(["ttl", "k"]).output().expect_code(125);
    rlock_at(&url).args(["acquire", "k"]).output().expect_code(125);
}

#[test]
fn bad_usage_gives_125() {
    let server = RedisServer::start();
    rlock(&server).args(["run", "--no-such-flag", "k", "--", "true"]).output().expect_code(125);
    rlock(&server).args(["frobnicate"]).output().expect_code(125);
    rlock(&server).args(["run", "-n", "-w", "1s", "k", "--", "true"]).output().expect_code(125);
    rlock(&server).args(["run", "-E", "300", "k", "--", "true"]).output().expect_code(125);
    rlock(&server).output().expect_code(125);
    // Help and version are not errors.
    let out = rlock(&server).args(["--help"]).output();
    out.expect_code(0);
    assert!(out.stdout.contains("Examples:"));
    let out = rlock(&server).args(["run", "--help"]).output();
    out.expect_code(0);
    assert!(out.stdout.contains("Examples:") && out.stdout.contains("--limit"), "{}", out.stdout);
    let out = rlock(&server).args(["--version"]).output();
    out.expect_code(0);
    assert_eq!(out.stdout, format!("rlock {}\n", env!("CARGO_PKG_VERSION")));
}

#[test]
fn a_duration_without_a_unit_is_refused_with_a_hint() {
    let server = RedisServer::start();
    let out = rlock(&server).args(["run", "-t", "30", "k", "--", "true"]).output();
    out.expect_code(125);
    assert_one_line_mentioning(&out.stderr, &["'30' has no unit", "30s"]);
    let out = rlock(&server).args(["run", "-w", "5", "k", "--", "true"]).output();
    out.expect_code(125);
    assert_one_line_mentioning(&out.stderr, &["no unit", "5s"]);
    let out = rlock(&server).args(["run", "-t", "5ms", "k", "--", "true"]).output();
    out.expect_code(125);
    assert_one_line_mentioning(&out.stderr, &["too short"]);
}

#[test]
fn an_empty_key_is_refused() {
    let server = RedisServer::start();
    let out = rlock(&server).args(["run", "", "--", "true"]).output();
    out.expect_code(125);
    assert_one_line_mentioning(&out.stderr, &["lock name is empty"]);
    rlock(&server).args(["ttl", ""]).output().expect_code(125);
}

#[test]
fn nothing_after_the_double_dash_is_refused() {
    let server = RedisServer::start();
    for args in [&["run", "k", "--"][..], &["run", "k"][..]] {
        let out = rlock(&server).args(args).output();
        out.expect_code(125);
        assert_one_line_mentioning(&out.stderr, &["nothing to run", "--"]);
    }
    assert_eq!(server.cmd::<i64>(&["EXISTS", "rlock:k"]), 0, "no lock taken for nothing");
}

#[test]
fn malformed_urls_and_unknown_schemes_are_refused() {
    for (url, expected) in [
        ("localhost:6379", "not a Redis URL"),
        ("http://127.0.0.1:6379", "unknown scheme 'http'"),
        ("redis://[::1", "not a valid Redis URL"),
        ("redis://127.0.0.1:99999", "not a valid Redis URL"),
        ("redis://127.0.0.1/notadb", "not a valid Redis URL"),
        ("redis://", "names no server"),
    ] {
        let out = rlock_at(url).args(["ttl", "k"]).output();
        out.expect_code(125);
        assert_one_line_mentioning(&out.stderr, &[expected, "redis://"]);
    }
    let out = rlock_at("redis://127.0.0.1:1").args(["-r", "ftp://x", "ttl", "k"]).output();
    out.expect_code(125);
    assert_one_line_mentioning(&out.stderr, &["unknown scheme 'ftp'"]);
}

#[test]
fn a_wrong_or_missing_password_is_refused_without_showing_it() {
    let server = RedisServer::with_password("correct-horse-9");
    rlock(&server).args(["run", "k", "--", "true"]).output().expect_code(0);

    let wrong = format!("redis://:battery-staple-7@127.0.0.1:{}", server.port());
    let out = rlock_at(&wrong).args(["run", "k", "--", "echo", "ran"]).output();
    out.expect_code(125);
    assert_eq!(out.stdout, "");
    assert_one_line_mentioning(
        &out.stderr,
        &["refused the user name or password", "redis://:***@"],
    );
    assert!(!out.stderr.contains("battery-staple-7"), "{}", out.stderr);

    // The same through -r on the command line, and with a user name.
    let wrong_user = format!("redis://alice:battery-staple-7@127.0.0.1:{}", server.port());
    let out = rlock_at("redis://unused:1").args(["-r", &wrong_user, "status", "k"]).output();
    out.expect_code(125);
    assert!(!out.stderr.contains("battery-staple-7"), "{}", out.stderr);

    // Without one: whether the first call is small (ttl) or a script with many arguments, which
    // Redis refuses from a client that has not authenticated with a protocol error of its own.
    let none = format!("redis://127.0.0.1:{}", server.port());
    for args in [&["ttl", "k"][..], &["acquire", "k"], &["run", "k", "--", "true"]] {
        let out = rlock_at(&none).args(args).output();
        out.expect_code(125);
        assert_one_line_mentioning(&out.stderr, &["requires a password"]);
    }
}

#[test]
fn passwords_never_appear_in_any_message() {
    let secret = "s3cret-Pa55";
    let port = closed_port();
    let urls = [
        format!("redis://:{secret}@127.0.0.1:{port}"),
        format!("redis://bob:{secret}@127.0.0.1:{port}/0"),
        format!("redis://:{secret}@[::1"),
        format!("http://bob:{secret}@127.0.0.1:{port}"),
        format!("unix:///nonexistent/redis.sock?pass={secret}"),
    ];
    for url in &urls {
        for args in [&["ttl", "k"][..], &["-v", "run", "k", "--", "true"][..], &["status", "k"][..]]
        {
            let out = rlock_at(url).args(args).output();
            out.expect_code(125);
            assert!(!out.stderr.contains(secret), "{url}: {}", out.stderr);
            let out = rlock_at("redis://127.0.0.1:1").arg("-r").arg(url).args(args).output();
            assert!(!out.stderr.contains(secret), "-r {url}: {}", out.stderr);
        }
    }
    // Nor in --help, where clap would show environment values.
    let out = rlock_at(&urls[0]).args(["--help"]).output();
    assert!(!out.stdout.contains(secret));
    let out = rlock_at(&urls[0]).args(["run", "--help"]).output();
    assert!(!out.stdout.contains(secret));
}

#[test]
fn a_key_of_the_wrong_type_is_refused() {
    let server = RedisServer::start();
    server.cmd::<i64>(&["HSET", "rlock:hashed", "a", "b"]);
    for args in [
        &["run", "hashed", "--", "echo", "ran"][..],
        &["acquire", "hashed"][..],
        &["ttl", "hashed"][..],
        &["status", "hashed"][..],
        &["break", "hashed"][..],
    ] {
        let out = rlock(&server).args(args).output();
        out.expect_code(125);
        assert_eq!(out.stdout, "", "{args:?}");
        assert_one_line_mentioning(
            &out.stderr,
            &["rlock:hashed", "holds something other than an rlock lock"],
        );
    }
    // The key is left as it was.
    assert_eq!(server.cmd::<String>(&["TYPE", "rlock:hashed"]), "hash");

    // A corrupt fencing counter is refused before anything is written.
    server.cmd::<String>(&["SET", "{rlock:f}}fence", "not-a-number"]);
    rlock(&server).args(["run", "f", "--", "true"]).output().expect_code(125);
    assert_eq!(server.cmd::<i64>(&["EXISTS", "rlock:f"]), 0);
}

#[test]
fn several_urls_make_a_quorum_whose_mistakes_are_named() {
    let (one, two) = (closed_port(), closed_port());
    let urls = format!("redis://127.0.0.1:{one},redis://127.0.0.1:{two}");
    let out = rlock_at(&urls).args(["ttl", "k"]).output();
    out.expect_code(125);
    assert_one_line_mentioning(
        &out.stderr,
        &["only 0 of 2 Redis servers answered", "cannot reach"],
    );
    let out = rlock_at(&format!("redis://127.0.0.1:{one},http://x")).args(["ttl", "k"]).output();
    out.expect_code(125);
    assert_one_line_mentioning(&out.stderr, &["unknown scheme 'http'"]);
}
