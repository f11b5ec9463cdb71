//! TLS (`rediss://`): against redis-server's TLS port, with certificates made for each test.

use std::time::Duration;

use crate::fixture::{ClientCerts, RedisServer};
use crate::harness::{assert_one_line_mentioning, eventually, rlock_at};

fn tls_url(server: &RedisServer, host: &str) -> String {
    format!("rediss://{host}:{}", server.tls().port)
}

#[test]
fn over_tls_with_the_right_ca_everything_works() {
    let server = RedisServer::with_tls(ClientCerts::NotAsked);
    let tls = server.tls();
    let url = tls_url(&server, "127.0.0.1");

    // The CA by option, and by environment, by address and by host name.
    let out = rlock_at(&url)
        .arg("--tls-ca")
        .arg(&tls.ca)
        .args(["run", "k", "--", "echo", "ran"])
        .output();
    out.expect_code(0);
    assert_eq!(out.stdout, "ran\n");
    let by_name = tls_url(&server, "localhost");
    let out = rlock_at(&by_name).env("RLOCK_TLS_CA", &tls.ca).args(["acquire", "k"]).output();
    out.expect_code(0);
    let token = out.stdout.trim().to_owned();

    // Waiting and the handoff go over TLS too.
    let waiter = rlock_at(&url)
        .env("RLOCK_TLS_CA", &tls.ca)
        .args(["run", "k", "--", "echo", "next"])
        .spawn();
    let queue = "{rlock:k}}queue";
    assert!(eventually(Duration::from_secs(10), || server.cmd::<i64>(&["ZCARD", queue]) == 1));
    rlock_at(&url).env("RLOCK_TLS_CA", &tls.ca).args(["status", "k"]).output().expect_code(0);
    rlock_at(&url)
        .env("RLOCK_TLS_CA", &tls.ca)
        .args(["release", "k", &token])
        .output()
        .expect_code(0);
    let out = waiter.finish(Duration::from_secs(10));
    out.expect_code(0);
    assert_eq!(out.stdout, "next\n");
}

#[test]
fn an_untrusted_certificate_gives_125_and_says_which_option_fixes_it() {
    let server = RedisServer::with_tls(ClientCerts::NotAsked);
    let tls = server.tls();
    let url = tls_url(&server, "127.0.0.1");

    let out = rlock_at(&url)
        .arg("--tls-ca")
        .arg(&tls.other_ca)
        .args(["run", "k", "--", "echo", "ran"])
        .output();
    out.expect_code(125);
    assert_eq!(out.stdout, "", "nothing runs without the lock");
    assert_one_line_mentioning(&out.stderr, &["not trusted", "UnknownIssuer", "--tls-ca", &url]);
    // The system's CAs do not know the test CA either.
    let out = rlock_at(&url).args(["ttl", "k"]).output();
    out.expect_code(125);
    assert_one_line_mentioning(&out.stderr, &["not trusted", "--tls-ca"]);
    // A CA file that is not there.
    let out = rlock_at(&url).args(["--tls-ca", "/no/such/ca.pem", "ttl", "k"]).output();
    out.expect_code(125);
    assert_one_line_mentioning(&out.stderr, &["cannot read", "/no/such/ca.pem"]);
    // A file that holds no certificate at all.
    let dir = tempfile::tempdir().unwrap();
    let garbage = dir.path().join("garbage.pem");
    std::fs::write(&garbage, "not a certificate\n").unwrap();
    let out = rlock_at(&url).arg("--tls-ca").arg(&garbage).args(["ttl", "k"]).output();
    out.expect_code(125);
    assert_one_line_mentioning(&out.stderr, &["garbage.pem", "not in PEM format"]);
    // Plain redis:// to the TLS port.
    let plain = format!("redis://127.0.0.1:{}", tls.port);
    let out = rlock_at(&plain).args(["ttl", "k"]).output();
    out.expect_code(125);
    assert_one_line_mentioning(&out.stderr, &["rediss://"]);
    assert_eq!(server.cmd::<i64>(&["EXISTS", "rlock:k"]), 0);
}

#[test]
fn a_server_that_wants_a_client_certificate_gets_one() {
    let server = RedisServer::with_tls(ClientCerts::Required);
    let tls = server.tls();
    let url = tls_url(&server, "127.0.0.1");

    let out = rlock_at(&url).arg("--tls-ca").arg(&tls.ca).args(["ttl", "k"]).output();
    out.expect_code(125);
    assert_one_line_mentioning(&out.stderr, &["client certificate", "--tls-cert", "--tls-key"]);

    let out = rlock_at(&url)
        .env("RLOCK_TLS_CA", &tls.ca)
        .env("RLOCK_TLS_CERT", &tls.client_cert)
        .env("RLOCK_TLS_KEY", &tls.client_key)
        .args(["run", "k", "--", "sh", "-c", "echo fence $RLOCK_FENCE"])
        .output();
    out.expect_code(0);
    let fence: u64 = out.stdout.trim().strip_prefix("fence ").unwrap().parse().unwrap();
    assert!(fence > 0, "{}", out.stdout);
}
