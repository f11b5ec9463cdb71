//! Everything rlock prints: its own messages on stderr at the level `-q`/`-v` chose (stdout
//! carries only results), the waiting line, the results of `ttl`, `status` and `list` in text
//! and JSON, and the wording of every message the supervisor of `rlock run` gives. Every message
//! passes through [`scrub`], so that no password of a Redis URL is ever shown. Messages reach
//! stderr through a thread of their own, and a failed write is ignored: what rlock says never
//! stops or holds up what it does, even when stderr is a full pipe nobody reads.

use std::fmt::Display;
use std::io::Write;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicI8, Ordering};
use std::sync::mpsc::{self, SyncSender};
use std::time::Duration;

use crate::redis;

pub mod history;
pub mod note;
pub mod progress;
pub mod views;

static LEVEL: AtomicI8 = AtomicI8::new(0);
static SECRETS: OnceLock<Vec<String>> = OnceLock::new();

/// How much rlock says: `-q` only errors; nothing given: notices; `-v` what happens to the lock
/// (taken, released, a refresh that failed); `-vv` also each refresh, each change of place while
/// waiting and each signal passed on; `-vvv` also every call to Redis and how long it took.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    Quiet = -1,
    Notice = 0,
    Detail = 1,
    Steps = 2,
    Calls = 3,
}

/// Sets how much rlock says, and the URLs whose passwords no message may show.
pub fn init(verbose: u8, quiet: bool, urls: &[String]) {
    let level = if quiet { -1 } else { i8::try_from(verbose.min(3)).unwrap_or(3) };
    LEVEL.store(level, Ordering::Relaxed);
    let mut secrets: Vec<String> = urls.iter().flat_map(|url| redis::secrets(url)).collect();
    // Longest first, so that a secret containing another is hidden whole.
    secrets.sort_by_key(|secret| std::cmp::Reverse(secret.len()));
    let _ = SECRETS.set(secrets);
}

/// Whether messages at `level` are shown.
pub fn shows(level: Level) -> bool {
    LEVEL.load(Ordering::Relaxed) >= level as i8
}

/// `text` without any password of the URLs given to [`init`].
pub fn scrub(text: &str) -> String {
    redis::scrub_all(text, SECRETS.get().map(Vec::as_slice).unwrap_or_default())
}

/// What the stderr thread is handed.
enum Line {
    Text(String),
    /// Everything before this is written (or failed): say so.
    Flushed(mpsc::Sender<()>),
}

/// How many messages may wait for a slow stderr; more are dropped.
const WAITING_LINES: usize = 256;

static STDERR: OnceLock<Option<SyncSender<Line>>> = OnceLock::new();

/// The stderr thread, started with the first message (a run that says nothing starts none).
fn stderr_thread() -> Option<&'static SyncSender<Line>> {
    STDERR
        .get_or_init(|| {
            let (lines, queue) = mpsc::sync_channel(WAITING_LINES);
            let writer = move || {
                for line in queue {
                    match line {
                        Line::Text(text) => write_stderr(&text),
                        Line::Flushed(done) => {
                            let _ = done.send(());
                        }
                    }
                }
            };
            let thread = std::thread::Builder::new().name("rlock-stderr".into()).spawn(writer);
            thread.ok().map(|_| lines)
        })
        .as_ref()
}

fn write_stderr(text: &str) {
    let mut stderr = std::io::stderr().lock();
    let _ = stderr.write_all(text.as_bytes()).and_then(|()| stderr.flush());
}

pub(crate) fn say(message: impl Display) {
    let line = scrub(&format!("rlock: {message}\n"));
    match stderr_thread() {
        // Full: the message is dropped rather than waited for.
        Some(thread) => {
            let _ = thread.try_send(Line::Text(line));
        }
        None => write_stderr(&line),
    }
}

/// Waits, at most `limit`, for the messages said so far to reach stderr: rlock calls it once,
/// before it exits.
pub fn flush(limit: Duration) {
    let Some(thread) = STDERR.get().and_then(Option::as_ref) else { return };
    let (done, flushed) = mpsc::channel();
    if thread.try_send(Line::Flushed(done)).is_ok() {
        let _ = flushed.recv_timeout(limit);
    }
}

/// Says `message` if rlock says that much (see [`Level`]).
pub fn at(level: Level, message: impl Display) {
    if shows(level) {
        say(message);
    }
}

/// A message the user should see unless they asked for quiet (the lock is held, it was lost...).
pub fn notice(message: impl Display) {
    at(Level::Notice, message);
}

/// What happens to the lock, for `-v`.
pub fn detail(message: impl Display) {
    at(Level::Detail, message);
}

/// Each step, for `-vv`.
pub fn step(message: impl Display) {
    at(Level::Steps, message);
}

/// Each call to Redis, for `-vvv`.
pub fn call(message: impl Display) {
    at(Level::Calls, message);
}

/// A failure: always shown.
pub fn error(message: impl Display) {
    say(message);
}

/// A command line clap could not parse (or `--help`, `--version`): printed as clap prints it,
/// with any password hidden. Help and version exit 0, anything else 125.
pub fn usage(err: &clap::Error) -> crate::exit::Exit {
    let plain = err.render().to_string();
    if scrub(&plain) == plain {
        let _ = err.print();
    } else {
        let mut stderr = std::io::stderr().lock();
        let _ = stderr.write_all(scrub(&plain).as_bytes());
    }
    if err.exit_code() == 0 { crate::exit::Exit::Success } else { crate::exit::Exit::Failure }
}

/// One line of results on stdout. A closed pipe (`rlock status | head -1`) is not an error.
pub fn out(line: impl Display) -> std::io::Result<()> {
    out_raw(format!("{line}\n").as_bytes())
}

/// A line on stdout that must arrive (the token `acquire` hands over): every failure to write
/// it, a closed pipe included, is an error.
pub fn out_or_fail(line: impl Display) -> std::io::Result<()> {
    let mut stdout = std::io::stdout().lock();
    stdout.write_all(format!("{line}\n").as_bytes()).and_then(|()| stdout.flush())
}

/// Results on stdout as they are (a generated file). A closed pipe is not an error.
pub fn out_raw(bytes: &[u8]) -> std::io::Result<()> {
    let mut stdout = std::io::stdout().lock();
    match stdout.write_all(bytes).and_then(|()| stdout.flush()) {
        Err(err) if err.kind() != std::io::ErrorKind::BrokenPipe => Err(err),
        _ => Ok(()),
    }
}

/// The conventional name of a signal, for messages.
pub fn signal_name(signal: i32) -> String {
    nix::sys::signal::Signal::try_from(signal)
        .map(|s| s.as_str().to_owned())
        .unwrap_or_else(|_| format!("signal {signal}"))
}

/// A duration for people: whole milliseconds, with the larger units humantime picks.
pub fn duration(duration: Duration) -> String {
    crate::duration::show(duration)
}

/// A short duration to the microsecond (a round trip to Redis).
pub fn duration_fine(duration: Duration) -> String {
    format!("{:.3} ms", duration.as_secs_f64() * 1000.0)
}

/// Whole seconds of `duration`, for people.
pub fn whole_seconds(duration: Duration) -> String {
    self::duration(Duration::from_secs(duration.as_secs()))
}
