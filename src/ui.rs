//! rlock's own messages on stderr (stdout carries only results), at the level `-q`/`-v` chose.

use std::fmt::Display;
use std::io::Write;
use std::sync::atomic::{AtomicI8, Ordering};

static LEVEL: AtomicI8 = AtomicI8::new(0);

/// Sets how much rlock says: `-q` silences notices, each `-v` adds detail.
pub fn set_level(verbose: u8, quiet: bool) {
    let level = if quiet { -1 } else { i8::try_from(verbose).unwrap_or(i8::MAX) };
    LEVEL.store(level, Ordering::Relaxed);
}

fn level() -> i8 {
    LEVEL.load(Ordering::Relaxed)
}

/// A message the user should see unless they asked for quiet (the lock is held, it was lost...).
pub fn notice(message: impl Display) {
    if level() >= 0 {
        eprintln!("rlock: {message}");
    }
}

/// Detail for `-v`.
pub fn detail(message: impl Display) {
    if level() >= 1 {
        eprintln!("rlock: {message}");
    }
}

/// A failure: always shown.
pub fn error(message: impl Display) {
    eprintln!("rlock: {message}");
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

/// Whether to keep a status line updated in place (with a carriage return and an erase-line
/// code): stderr is a terminal, not `-q`, and neither `NO_COLOR` nor `TERM=dumb` asks for plain
/// output.
pub fn status_line_wanted() -> bool {
    use std::io::IsTerminal;
    let no_color = std::env::var_os("NO_COLOR").is_some_and(|value| !value.is_empty());
    let dumb = std::env::var_os("TERM").is_some_and(|term| term == "dumb");
    level() >= 0 && !no_color && !dumb && std::io::stderr().is_terminal()
}

/// Replaces the status line on the terminal with `text`.
pub fn status_line(text: &str) {
    let mut stderr = std::io::stderr().lock();
    let _ = write!(stderr, "\r\x1b[Krlock: {text}").and_then(|()| stderr.flush());
}

/// Removes the status line.
pub fn clear_status_line() {
    let mut stderr = std::io::stderr().lock();
    let _ = write!(stderr, "\r\x1b[K").and_then(|()| stderr.flush());
}
