//! Everything rlock prints: its own messages on stderr at the level `-q`/`-v` chose (stdout
//! carries only results), the waiting line, the results of `ttl`, `status` and `list` in text
//! and JSON, and the wording of every message the supervisor of `rlock run` gives. Every message
//! passes through [`scrub`], so that no password of a Redis URL is ever shown. A failed write to
//! stderr is ignored: what rlock says never stops what it does.

use std::fmt::Display;
use std::io::Write;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicI8, Ordering};
use std::time::Duration;

use crate::redis;

pub mod note;
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

pub(crate) fn say(message: impl Display) {
    let line = scrub(&format!("rlock: {message}\n"));
    let mut stderr = std::io::stderr().lock();
    let _ = stderr.write_all(line.as_bytes()).and_then(|()| stderr.flush());
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
