//! Waiting: first come, first served, woken by a push, robust to crashed holders and waiters.

use std::path::Path;
use std::time::{Duration, Instant};

use nix::sys::signal::Signal;

use crate::fixture::RedisServer;
use crate::harness::{Running, count_under_contention, eventually, rlock};

fn queued(server: &RedisServer, key: &str) -> i64 {
    server.cmd(&["ZCARD", &format!("{{rlock:{key}}}}}queue")])
}

/// Starts `rlock run KEY -- sh -c SCRIPT` and waits until it is the `place`-th in the queue.
fn start_waiter(
    server: &RedisServer,
    key: &str,
    place: i64,
    extra: &[&str],
    script: &str,
) -> Running {
    let running =
        rlock(server).arg("run").args(extra).args([key, "--", "sh", "-c", script]).spawn();
    assert!(
        eventually(Duration::from_secs(10), || queued(server, key) == place),
        "waiter {place} never showed up in the queue"
    );
    running
}

fn acquire(server: &RedisServer, key: &str) -> String {
    let out = rlock(server).args(["acquire", "-t", "2m", key]).output();
    out.expect_code(0);
    out.stdout.trim().to_owned()
}

fn release(server: &RedisServer, key: &str, token: &str) {
    rlock(server).args(["release", key, token]).output().expect_code(0);
}

fn lines(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path).unwrap_or_default().lines().map(str::to_owned).collect()
}

#[test]
fn waiters_enter_in_the_order_they_arrived() {
    let server = RedisServer::start();
    let dir = tempfile::tempdir().unwrap();
    for round in 0..3 {
        let order = dir.path().join(format!("order-{round}"));
        let token = acquire(&server, "fifo");
        let waiters: Vec<Running> = (1..=10)
            .map(|i| {
                let script = format!("echo {i} >> '{}'", order.display());
                start_waiter(&server, "fifo", i, &[], &script)
            })
            .collect();
        release(&server, "fifo", &token);
        for waiter in waiters {
            waiter.finish(Duration::from_secs(30)).expect_code(0);
        }
        let expected: Vec<String> = (1..=10).map(|i| i.to_string()).collect();
        assert_eq!(lines(&order), expected, "round {round}");
        assert_eq!(queued(&server, "fifo"), 0);
    }
}

/// Client commands (not the commands scripts run inside Redis) since the last CONFIG RESETSTAT.
fn client_commands(server: &RedisServer) -> u64 {
    let info: String = server.cmd(&["INFO", "commandstats"]);
    info.lines()
        .filter(|line| {
            ["cmdstat_evalsha:", "cmdstat_eval:", "cmdstat_blpop:"]
                .iter()
                .any(|c| line.starts_with(c))
        })
        .filter_map(|line| line.split("calls=").nth(1)?.split(',').next()?.parse::<u64>().ok())
        .sum()
}

#[test]
fn waiters_are_woken_by_a_push_not_by_polling() {
    let server = RedisServer::start();
    let dir = tempfile::tempdir().unwrap();
    let turns = dir.path().join("turns");
    let token = acquire(&server, "quiet");
    // Each command writes when it starts and when it ends.
    let stamp = format!("date +%s%N >> '{0}'; date +%s%N >> '{0}'", turns.display());
    let waiters: Vec<Running> =
        (1..=8).map(|i| start_waiter(&server, "quiet", i, &[], &stamp)).collect();
    server.cmd::<String>(&["CONFIG", "RESETSTAT"]);
    std::thread::sleep(Duration::from_secs(5));
    let commands = client_commands(&server);
    eprintln!("8 waiters behind a 5 s holder sent {commands} commands");
    assert!(commands <= 64, "8 waiters sent {commands} commands in 5 s: that is polling");

    release(&server, "quiet", &token);
    for waiter in waiters {
        waiter.finish(Duration::from_secs(30)).expect_code(0);
    }
    // Each turn starts when the previous one ends, not at the next heartbeat (1 to 2 s later).
    let stamps: Vec<u128> = lines(&turns).iter().map(|line| line.parse().unwrap()).collect();
    let mut handoffs: Vec<u128> = stamps
        .chunks(2)
        .zip(stamps.chunks(2).skip(1))
        .map(|(one, next)| next[0] - one[1])
        .collect();
    handoffs.sort();
    let median = Duration::from_nanos(handoffs[handoffs.len() / 2] as u64);
    eprintln!("handoffs (ns): {handoffs:?}");
    assert!(median < Duration::from_millis(300), "median handoff {median:?}: not pushed");
}

#[test]
fn counter_stays_exact_under_contention() {
    let server = RedisServer::start();
    count_under_contention(&server.url(), 16, 25);
}

#[test]
fn the_head_waiter_takes_over_when_a_crashed_holders_ttl_runs_out() {
    let server = RedisServer::start();
    let holder = rlock(&server)
        .args(["run", "-t", "3s", "crash", "--", "sleep", "60"])
        .spawn_holding(&server, "rlock:crash");
    let waiter = start_waiter(&server, "crash", 1, &[], "true");
    let killed = Instant::now();
    holder.signal(Signal::SIGKILL);
    let _ = holder.finish(Duration::from_secs(10));
    waiter.finish(Duration::from_secs(20)).expect_code(0);
    let took = killed.elapsed();
    assert!(took < Duration::from_millis(4500), "took {took:?} after the holder died (ttl 3s)");
}

#[test]
fn a_crashed_waiters_place_lapses_and_nothing_is_left_behind() {
    let server = RedisServer::start();
    let token = acquire(&server, "lapse");
    let doomed = start_waiter(&server, "lapse", 1, &[], "echo doomed");
    let next = start_waiter(&server, "lapse", 2, &[], "echo next");
    doomed.signal(Signal::SIGKILL);
    let _ = doomed.finish(Duration::from_secs(10));
    let released = Instant::now();
    release(&server, "lapse", &token);
    let out = next.finish(Duration::from_secs(30));
    out.expect_code(0);
    assert_eq!(out.stdout, "next\n");
    let took = released.elapsed();
    assert!(took < Duration::from_secs(10), "the next waiter got the lock only after {took:?}");

    // Every key rlock left has an expiry, but the fencing counter.
    let keys: Vec<String> = server.cmd(&["KEYS", "*"]);
    for key in keys {
        let pttl: i64 = server.cmd(&["PTTL", &key]);
        assert!(pttl != -1 || key.ends_with(":fence"), "{key} has no expiry");
    }
}

#[test]
fn running_out_of_wait_leaves_the_queue_and_holds_nobody_up() {
    let server = RedisServer::start();
    let token = acquire(&server, "patience");
    let impatient = start_waiter(&server, "patience", 1, &["-w", "1s"], "echo impatient");
    let patient = start_waiter(&server, "patience", 2, &[], "echo patient");
    let out = impatient.finish(Duration::from_secs(10));
    out.expect_code(75);
    assert_eq!(out.stdout, "");
    assert_eq!(queued(&server, "patience"), 1, "the impatient waiter left the queue");
    let released = Instant::now();
    release(&server, "patience", &token);
    let out = patient.finish(Duration::from_secs(10));
    out.expect_code(0);
    assert!(released.elapsed() < Duration::from_millis(900), "{:?}", released.elapsed());
}

#[test]
fn sigint_while_waiting_leaves_the_queue_and_holds_nothing() {
    let server = RedisServer::start();
    let token = acquire(&server, "int");
    let waiter = start_waiter(&server, "int", 1, &[], "echo ran");
    waiter.signal(Signal::SIGINT);
    let out = waiter.finish(Duration::from_secs(10));
    out.expect_code(130);
    assert_eq!(out.stdout, "");
    assert_eq!(queued(&server, "int"), 0);
    assert_eq!(server.cmd::<String>(&["GET", "rlock:int"]), token, "the holder is untouched");
    // Nothing of the waiter is left: no wake-up list, no place.
    let keys: Vec<String> = server.cmd(&["KEYS", "{rlock:int}}queue*"]);
    assert!(keys.is_empty(), "{keys:?}");
    // The same for acquire.
    let waiter = rlock(&server).args(["acquire", "int"]).spawn();
    assert!(eventually(Duration::from_secs(10), || queued(&server, "int") == 1));
    waiter.signal(Signal::SIGINT);
    waiter.finish(Duration::from_secs(10)).expect_code(130);
    assert_eq!(queued(&server, "int"), 0);
}

#[test]
fn a_lock_held_through_another_library_is_waited_for_and_taken_once_free() {
    let server = RedisServer::start();
    server.cmd::<String>(&["SET", "deploy", "their-token", "PX", "60000"]);
    let running =
        rlock(&server).args(["--prefix", "", "run", "deploy", "--", "echo", "in"]).spawn();
    assert!(eventually(Duration::from_secs(10), || server
        .cmd::<i64>(&["ZCARD", "{deploy}}queue"])
        == 1));
    std::thread::sleep(Duration::from_millis(500));
    let deleted = Instant::now();
    server.cmd::<i64>(&["DEL", "deploy"]);
    let out = running.finish(Duration::from_secs(10));
    out.expect_code(0);
    assert!(
        deleted.elapsed() < Duration::from_secs(2),
        "{:?} after the key was deleted",
        deleted.elapsed()
    );

    // And when that lock expires rather than being deleted.
    server.cmd::<String>(&["SET", "deploy", "their-token", "PX", "1500"]);
    let out = rlock(&server).args(["--prefix", "", "run", "deploy", "--", "echo", "in"]).output();
    out.expect_code(0);
    assert!(out.elapsed < Duration::from_millis(2500), "{:?}", out.elapsed);
}

#[test]
fn status_counts_the_waiters() {
    let server = RedisServer::start();
    let token = acquire(&server, "count");
    let waiters: Vec<Running> =
        (1..=2).map(|i| start_waiter(&server, "count", i, &[], "true")).collect();
    let out = rlock(&server).args(["status", "--json", "count"]).output();
    let status: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(status["waiters"], 2);
    let out = rlock(&server).args(["status", "count"]).output();
    assert!(out.stdout.contains("waiters:  2"), "{}", out.stdout);
    release(&server, "count", &token);
    for waiter in waiters {
        waiter.finish(Duration::from_secs(10)).expect_code(0);
    }
}

/// The lines of `stderr` that say how the wait for `key` goes.
fn progress_lines(stderr: &str, key: &str) -> Vec<String> {
    let start = format!("rlock: waiting for '{key}': ");
    stderr.lines().filter(|line| line.starts_with(&start)).map(str::to_owned).collect()
}

/// Off a terminal, a wait says how it goes when it starts and then every `--progress`: who holds
/// the lock and for how long, our place, how long we waited. `-q` and `--progress 0` say
/// nothing, and NO_COLOR changes nothing.
#[test]
fn waiting_off_a_terminal_says_how_it_goes_at_the_start_and_then_every_interval() {
    let server = RedisServer::start();
    let key = "progress";
    let token = acquire(&server, key);
    let every = start_waiter(&server, key, 1, &["--progress", "1s"], "true");
    let no_color = rlock(&server)
        .env("NO_COLOR", "1")
        .args(["run", "--progress", "1s", key, "--", "true"])
        .spawn();
    assert!(eventually(Duration::from_secs(10), || queued(&server, key) == 2));
    let quiet = start_waiter(&server, key, 3, &["-q", "--progress", "1s"], "true");
    let none = start_waiter(&server, key, 4, &["--progress", "0"], "true");
    let default = start_waiter(&server, key, 5, &[], "true");
    let host = nix::unistd::gethostname().unwrap().to_string_lossy().into_owned();
    for (waiter, what) in [(&every, "--progress 1s"), (&no_color, "NO_COLOR=1")] {
        let enough = || progress_lines(&waiter.stderr_so_far(), key).len() >= 3;
        assert!(
            eventually(Duration::from_secs(20), enough),
            "{what}: a line at the start and one a second: {}",
            waiter.stderr_so_far()
        );
        let lines = progress_lines(&waiter.stderr_so_far(), key);
        assert!(lines[0].ends_with("waited 0s"), "{what}: {lines:?}");
        for line in &lines {
            assert!(line.contains(&format!("held by {host} pid ")), "{what}: {line}");
            assert!(line.contains("s; place ") && line.contains(" of "), "{what}: {line}");
        }
        assert!(!lines.last().unwrap().ends_with("waited 0s"), "{what}: {lines:?}");
    }
    let lines = progress_lines(&default.stderr_so_far(), key);
    assert!(!lines.is_empty(), "the default says when the wait starts");
    assert!(lines[0].contains("place 5 of 5") && lines[0].ends_with("waited 0s"), "{lines:?}");
    assert_eq!(quiet.stderr_so_far(), "", "-q says nothing");
    assert_eq!(none.stderr_so_far(), "", "--progress 0 says nothing");
    release(&server, key, &token);
    for waiter in [every, no_color, quiet, none, default] {
        let out = waiter.finish(Duration::from_secs(20));
        out.expect_code(0);
        assert!(!out.stderr.contains(['\r', '\x1b']), "no control characters: {:?}", out.stderr);
    }
}

#[test]
fn a_progress_interval_under_a_second_is_refused_with_what_to_give() {
    let server = RedisServer::start();
    let out = rlock(&server).args(["run", "--progress", "200ms", "k", "--", "true"]).output();
    out.expect_code(125);
    assert!(out.stderr.contains("at least 1s, or 0 for none"), "{}", out.stderr);
}

/// Runs `rlock run KEY -- true` with stderr on a pseudo-terminal while `hold` holds the lock, and
/// returns everything it wrote there.
fn waiting_on_a_terminal(
    server: &RedisServer,
    key: &str,
    extra: &[&str],
    env: &[(&str, &str)],
    hold: Duration,
) -> String {
    use std::io::Read;
    let token = acquire(server, key);
    // Wide enough for the whole line, however long the host's name.
    let size = nix::pty::Winsize { ws_row: 24, ws_col: 250, ws_xpixel: 0, ws_ypixel: 0 };
    let pty = nix::pty::openpty(Some(&size), None).expect("cannot open a pseudo-terminal");
    let mut waiter = std::process::Command::new(env!("CARGO_BIN_EXE_rlock"))
        .env("RLOCK_REDIS", server.url())
        .env_remove("NO_COLOR")
        .env("TERM", "xterm")
        .envs(env.iter().copied())
        .args(extra)
        .args(["run", key, "--", "true"])
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::from(pty.slave))
        .spawn()
        .unwrap();
    let mut master = std::fs::File::from(pty.master);
    let reader = std::thread::spawn(move || {
        let mut seen = Vec::new();
        let mut buffer = [0u8; 4096];
        // Read until the terminal closes (EIO once rlock, its only user, has exited).
        while let Ok(n) = master.read(&mut buffer) {
            if n == 0 {
                break;
            }
            seen.extend_from_slice(&buffer[..n]);
        }
        String::from_utf8_lossy(&seen).into_owned()
    });
    assert!(eventually(Duration::from_secs(10), || queued(server, key) == 1));
    std::thread::sleep(hold);
    release(server, key, &token);
    assert!(waiter.wait().unwrap().success());
    reader.join().unwrap()
}

#[test]
fn waiting_on_a_terminal_shows_one_updating_line() {
    let server = RedisServer::start();
    let seen = waiting_on_a_terminal(&server, "tty", &[], &[], Duration::from_millis(2500));
    let updates: Vec<&str> = seen.split("\r\x1b[K").filter(|part| !part.is_empty()).collect();
    assert!(updates.len() >= 2, "the line should be redrawn as time passes: {seen:?}");
    let host = nix::unistd::gethostname().unwrap().to_string_lossy().into_owned();
    for update in &updates {
        assert!(update.starts_with("rlock: waiting for 'tty': held by "), "{update:?}");
        assert!(update.contains(&host), "{update:?}");
        assert!(update.contains("place 1 of 1"), "{update:?}");
        assert!(!update.contains('\n'), "one line, redrawn in place: {update:?}");
    }
    let waited = |update: &str| update.rsplit("waited ").next().unwrap_or_default().to_owned();
    assert_eq!(waited(updates[0]), "0s", "{seen:?}");
    assert!(["2s", "3s"].contains(&waited(updates.last().unwrap()).as_str()), "{seen:?}");
    assert!(seen.ends_with("\r\x1b[K"), "the line is cleared once the lock is taken: {seen:?}");

    let seen = waiting_on_a_terminal(&server, "tty", &["-q"], &[], Duration::from_millis(500));
    assert_eq!(seen, "", "-q shows nothing");
}

/// The redraws of the waiting line in what a terminal was sent from byte `from` on (what comes
/// before the first redraw there may be the end of an earlier one, and is left out).
fn redraws(seen: &[u8], from: usize) -> Vec<String> {
    let text = String::from_utf8_lossy(&seen[from.min(seen.len())..]).into_owned();
    text.split("\r\x1b[K").skip(1).filter(|draw| !draw.is_empty()).map(str::to_owned).collect()
}

/// Sets the size of the terminal whose slave is `slave` (as a terminal emulator does when its
/// window is resized), then tells rlock, as the kernel would tell the terminal's foreground.
fn resize(slave: &std::os::fd::OwnedFd, columns: u16, rlock: u32) {
    let status = std::process::Command::new("stty")
        .args(["cols", &columns.to_string(), "rows", "24"])
        .stdin(std::process::Stdio::from(slave.try_clone().unwrap()))
        .status()
        .expect("cannot run stty");
    assert!(status.success(), "stty cols {columns} failed");
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(rlock as i32), Signal::SIGWINCH).unwrap();
}

/// On a terminal 80 columns wide the waiting line, however long the lock's name, is cut so that
/// it never wraps (one column is left free), counting characters, not bytes; resized (SIGWINCH),
/// it is drawn again at once to fit the new width.
#[test]
fn the_waiting_line_fits_the_terminal_and_is_redrawn_when_it_is_resized() {
    use std::io::Read;
    use std::sync::{Arc, Mutex};

    let server = RedisServer::start();
    // The name alone is wider than 80 columns; each 'é' is two bytes and one column.
    let key = format!("fits-{}", "é".repeat(90));
    let token = acquire(&server, &key);
    let size = nix::pty::Winsize { ws_row: 24, ws_col: 80, ws_xpixel: 0, ws_ypixel: 0 };
    let pty = nix::pty::openpty(Some(&size), None).expect("cannot open a pseudo-terminal");
    let slave = pty.slave.try_clone().unwrap();
    let mut waiter = std::process::Command::new(env!("CARGO_BIN_EXE_rlock"))
        .env("RLOCK_REDIS", server.url())
        .env_remove("NO_COLOR")
        .env("TERM", "xterm")
        .args(["run", &key, "--", "true"])
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::from(pty.slave))
        .spawn()
        .unwrap();
    let rlock = waiter.id();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let mut master = std::fs::File::from(pty.master);
    let reader = std::thread::spawn({
        let seen = seen.clone();
        move || {
            let mut buffer = [0u8; 4096];
            // Until the terminal closes (EIO once rlock and the test's copy are gone).
            while let Ok(n) = master.read(&mut buffer) {
                if n == 0 {
                    break;
                }
                seen.lock().unwrap().extend_from_slice(&buffer[..n]);
            }
        }
    });
    let seen_now = || seen.lock().unwrap().clone();
    let columns = |draw: &str| draw.chars().count();

    assert!(
        eventually(Duration::from_secs(10), || redraws(&seen_now(), 0).len() >= 2),
        "the line should be drawn and redrawn: {:?}",
        String::from_utf8_lossy(&seen_now())
    );
    for draw in redraws(&seen_now(), 0) {
        assert!(draw.starts_with("rlock: waiting for 'fits-éééé"), "{draw:?}");
        assert!(columns(&draw) <= 79, "{} columns at 80: {draw:?}", columns(&draw));
    }

    // Redis frozen: the wait's thread is stuck in a call for seconds, so that only the signal
    // can draw the line again meanwhile.
    server.pause();
    std::thread::sleep(Duration::from_millis(1500));
    let before = seen_now().len();
    resize(&slave, 40, rlock);
    assert!(
        eventually(Duration::from_secs(5), || !redraws(&seen_now(), before).is_empty()),
        "no redraw after SIGWINCH"
    );
    for draw in redraws(&seen_now(), before) {
        assert!(columns(&draw) <= 39, "{} columns at 40: {draw:?}", columns(&draw));
    }
    let before = seen_now().len();
    resize(&slave, 300, rlock);
    let whole =
        |draw: &String| draw.contains("held by ") && draw.contains("; place 1 of 1; waited");
    assert!(
        eventually(Duration::from_secs(3), || redraws(&seen_now(), before).iter().any(whole)),
        "the whole line, drawn again at once on a wide terminal: {:?}",
        redraws(&seen_now(), before)
    );
    server.resume();
    release(&server, &key, &token);
    assert!(waiter.wait().unwrap().success());
    drop(slave);
    reader.join().unwrap();
}

/// NO_COLOR asks for no colour, which the waiting line never has: it is still drawn in place. A
/// dumb terminal cannot erase a line: it gets plain lines, as a file would.
#[test]
fn no_color_keeps_the_waiting_line_and_a_dumb_terminal_gets_plain_lines() {
    let server = RedisServer::start();
    let hold = Duration::from_millis(500);
    let seen = waiting_on_a_terminal(&server, "tty", &[], &[("NO_COLOR", "1")], hold);
    assert!(seen.starts_with("\r\x1b[Krlock: waiting for 'tty': held by "), "{seen:?}");
    assert!(!seen.replace("\r\x1b[K", "").contains('\x1b'), "no colour: {seen:?}");
    let seen = waiting_on_a_terminal(&server, "tty", &[], &[("TERM", "dumb")], hold);
    assert!(seen.starts_with("rlock: waiting for 'tty': held by "), "{seen:?}");
    assert!(seen.contains("waited 0s\r\n"), "a plain line (the terminal adds \\r): {seen:?}");
    assert!(!seen.contains('\x1b'), "{seen:?}");
    // Usage errors: coloured on a terminal, plain with NO_COLOR.
    let usage_error = |no_color: bool| {
        let pty = nix::pty::openpty(None, None).expect("cannot open a pseudo-terminal");
        let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_rlock"));
        command.args(["run", "--bogus"]).env("TERM", "xterm").env_remove("NO_COLOR");
        if no_color {
            command.env("NO_COLOR", "1");
        }
        let out = command.stderr(std::process::Stdio::from(pty.slave)).output().unwrap();
        assert_eq!(out.status.code(), Some(125));
        let mut master = std::fs::File::from(pty.master);
        let mut seen = vec![0u8; 4096];
        let n = std::io::Read::read(&mut master, &mut seen).unwrap();
        String::from_utf8_lossy(&seen[..n]).into_owned()
    };
    assert!(usage_error(false).contains('\x1b'), "a terminal gets colour by default");
    let plain = usage_error(true);
    assert!(
        plain.contains("unexpected argument '--bogus'") && !plain.contains('\x1b'),
        "{plain:?}"
    );
}

#[test]
fn nobody_jumps_the_queue_even_when_the_lock_is_free() {
    let server = RedisServer::start();
    // A waiter ahead of everyone, made by hand as rlock would make it (its place good for 3 s, the
    // lock handed to it for 2.5 s), that never wakes up; and the lock free.
    let time: Vec<String> = server.cmd(&["TIME"]);
    let now_ms = time[0].parse::<u64>().unwrap() * 1000 + time[1].parse::<u64>().unwrap() / 1000;
    server.cmd::<i64>(&["ZADD", "{rlock:line}}queue", "1", "someone"]);
    server.cmd::<i64>(&["ZADD", "{rlock:line}}alive", &(now_ms + 3000).to_string(), "someone"]);
    let record = "{rlock:line}}queue:someone:holder";
    server.cmd::<i64>(&["HSET", record, "token", "their-token", "ttl", "30000", "grant", "2500"]);
    let out = rlock(&server).args(["run", "-n", "line", "--", "echo", "jumped"]).output();
    out.expect_code(75);
    assert_eq!(out.stdout, "");
    // The free lock went to the head of the queue instead.
    assert_eq!(server.cmd::<String>(&["GET", "rlock:line"]), "their-token");
    // Once what was handed to that waiter lapses (it never takes it up), the next one gets in.
    let out = rlock(&server).args(["run", "-w", "10s", "line", "--", "echo", "in turn"]).output();
    out.expect_code(0);
    assert_eq!(out.stdout, "in turn\n");
    assert!(out.elapsed > Duration::from_millis(1500), "it jumped the queue: {:?}", out.elapsed);
}

#[test]
fn a_lock_handed_over_while_waiting_gets_its_full_ttl() {
    let server = RedisServer::start();
    let token = acquire(&server, "handed");
    // run: the lock is handed over with a short first lifetime, then refreshed to the full ttl.
    let waiter = start_waiter(&server, "handed", 1, &["-t", "30s"], "sleep 6");
    release(&server, "handed", &token);
    std::thread::sleep(Duration::from_secs(5));
    let pttl: i64 = server.cmd(&["PTTL", "rlock:handed"]);
    assert!(pttl > 20_000, "the handed-over lock was not extended: pttl {pttl}");
    waiter.finish(Duration::from_secs(20)).expect_code(0);

    // acquire: the token it prints is good for the full ttl.
    let token = acquire(&server, "handed");
    let second = rlock(&server).args(["acquire", "-t", "50s", "handed"]).spawn();
    assert!(eventually(Duration::from_secs(10), || queued(&server, "handed") == 1));
    release(&server, "handed", &token);
    let out = second.finish(Duration::from_secs(10));
    out.expect_code(0);
    assert_eq!(server.cmd::<String>(&["GET", "rlock:handed"]), out.stdout.trim());
    let pttl: i64 = server.cmd(&["PTTL", "rlock:handed"]);
    assert!(pttl > 45_000, "acquire printed a token for a lock with only {pttl} ms left");
}

#[test]
fn waiters_killed_in_the_middle_of_the_queue_hold_up_nobody_for_long() {
    let server = RedisServer::start();
    let dir = tempfile::tempdir().unwrap();
    let order = dir.path().join("order");
    let token = acquire(&server, "chaos");
    let mut waiters: Vec<(i64, Running)> = (1..=8)
        .map(|i| {
            let script = format!("echo {i} >> '{}'", order.display());
            (i, start_waiter(&server, "chaos", i, &[], &script))
        })
        .collect();
    // Kill the first, two in the middle and the last.
    let doomed = [1, 4, 5, 8];
    for (i, waiter) in &waiters {
        if doomed.contains(i) {
            waiter.signal(Signal::SIGKILL);
        }
    }
    let started = Instant::now();
    release(&server, "chaos", &token);
    let mut survivors = Vec::new();
    for (i, waiter) in waiters.drain(..) {
        let out = waiter.finish(Duration::from_secs(30));
        if !doomed.contains(&i) {
            out.expect_code(0);
            survivors.push(i.to_string());
        }
    }
    // Each dead waiter costs at most a lapse (4 s); they lapse together, not one after another.
    assert!(started.elapsed() < Duration::from_secs(15), "took {:?}", started.elapsed());
    assert_eq!(lines(&order), survivors, "the survivors keep their order");
    let keys: Vec<String> = server.cmd(&["KEYS", "*"]);
    for key in keys {
        let pttl: i64 = server.cmd(&["PTTL", &key]);
        assert!(pttl != -1 || key.ends_with(":fence"), "{key} has no expiry");
    }
}
