//! The waiting line: what rlock says while it waits for a lock someone else holds, on a
//! terminal and off one.
//!
//! On a terminal, one line is redrawn in place (a carriage return and an erase-line code, no
//! colour, so `NO_COLOR` leaves it be), cut to the terminal's width so that it never wraps, and
//! drawn again at the new width when the terminal is resized ([`redraw`], on SIGWINCH). Off a
//! terminal, and on one that cannot erase a line (`TERM=dumb`), a plain line when the wait
//! starts and one every `--progress` interval. `-q` and `--progress 0` show none of it.

use std::io::Write;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant, SystemTime};

use crate::lock::Waiting;
use crate::report::note::Outage;
use crate::report::{Level, detail, notice, scrub, shows, step, whole_seconds};

/// How the wait is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shown {
    /// One line on the terminal, redrawn in place.
    InPlace,
    /// A plain line at the start and one every this long.
    Lines(Duration),
    /// Nothing at the default level (`-q`, or `--progress 0`).
    Off,
}

/// How to show a wait, given `--progress` (`None`: no progress lines), `-q`, and stderr: a
/// terminal gets the line in place unless `TERM=dumb` says it cannot erase a line.
fn shown(every: Option<Duration>) -> Shown {
    use std::io::IsTerminal;
    let Some(every) = every.filter(|every| !every.is_zero() && shows(Level::Notice)) else {
        return Shown::Off;
    };
    let dumb = std::env::var_os("TERM").is_some_and(|term| term == "dumb");
    if !dumb && std::io::stderr().is_terminal() { Shown::InPlace } else { Shown::Lines(every) }
}

/// The waiting line on the terminal, whole, as last drawn (`None`: none is shown): kept so that
/// a resized terminal gets it again at its new width. Drawing holds the lock, so that the wait's
/// thread and the one that hears SIGWINCH never write over each other.
static ON_SCREEN: Mutex<Option<String>> = Mutex::new(None);

/// The waiting line: on a terminal, one line updated in place; elsewhere a line when the wait
/// starts and one every `--progress` interval, and with `-v` a line each time our place
/// changes; a line when Redis goes away and one when it is back.
pub struct Progress {
    name: String,
    shown: Shown,
    /// When the next plain line is due (`None`: at the next look, the wait's first).
    next_line: Option<Instant>,
    last_place: Option<u64>,
}

impl Progress {
    /// The line for the wait for `name`, with a plain line every `every` off a terminal
    /// (`None`: none, nor a line on a terminal).
    pub fn new(name: &str, every: Option<Duration>) -> Progress {
        Progress { name: name.to_owned(), shown: shown(every), next_line: None, last_place: None }
    }

    /// Whether a line on a terminal is kept up to date (it wants redrawing every second).
    pub fn on_terminal(&self) -> bool {
        self.shown == Shown::InPlace
    }

    /// How long until the next plain line is due (`None`: none will be).
    pub fn line_due(&self) -> Option<Duration> {
        match self.shown {
            Shown::Lines(_) => Some(
                self.next_line
                    .map_or(Duration::ZERO, |at| at.saturating_duration_since(Instant::now())),
            ),
            Shown::InPlace | Shown::Off => None,
        }
    }

    /// Whether a plain line is due now; if so, the one after is due an interval later.
    fn take_line(&mut self) -> bool {
        let Shown::Lines(every) = self.shown else { return false };
        let now = Instant::now();
        if self.next_line.is_some_and(|at| now < at) {
            return false;
        }
        self.next_line = now.checked_add(every);
        true
    }

    /// Shows what the last look at the lock found (`waiting`), `waited` into the wait: on a
    /// terminal, drawn in place; off one, a line if one is due (or, with `-v`, if our place
    /// changed).
    pub fn show(&mut self, waiting: &Waiting, waited: Duration) {
        let holder = match &waiting.holder {
            Some(_) if waiting.holders > 1 => format!("held by {} holders", waiting.holders),
            Some(h) => {
                let held = SystemTime::now().duration_since(h.since()).unwrap_or_default();
                format!("held by {} for {}", h.short(), whole_seconds(held))
            }
            None if waiting.ttl == Some(Duration::ZERO) => "being handed over".to_owned(),
            None => "held (not by rlock)".to_owned(),
        };
        let place = if waiting.place == 0 {
            "joining the queue".to_owned()
        } else {
            format!("place {} of {}", waiting.place, waiting.waiters)
        };
        let line = format!(
            "waiting for '{}': {holder}; {place}; waited {}",
            self.name,
            whole_seconds(waited)
        );
        if self.on_terminal() {
            draw(&line);
        } else if self.take_line() {
            notice(line);
        } else if self.last_place != Some(waiting.place) {
            detail(format_args!("waiting for '{}': {holder}; {place}", self.name));
        } else {
            step(format_args!("still waiting for '{}': {holder}; {place}", self.name));
        }
        self.last_place = Some(waiting.place);
    }

    /// Redis went away (`why`): the waiter tries to get back for the `left` of its patience.
    /// Said at the default level off a terminal; on one the waiting line says it (and `-v` the
    /// reason).
    pub fn lost(&mut self, why: &str, left: Option<Duration>) {
        let message = Outage::Lost { name: &self.name, why, left }.to_string();
        self.tell(&message);
        // The next waiting line after coming back is shown as a new one.
        self.last_place = None;
    }

    /// Another try to get back to Redis failed; it went away `down` ago.
    pub fn still_lost(&mut self, why: &str, down: Duration, waited: Duration) {
        let line = format!(
            "waiting for '{}': Redis unreachable for {}, reconnecting; waited {}",
            self.name,
            whole_seconds(down),
            whole_seconds(waited)
        );
        if self.on_terminal() {
            draw(&line);
        } else if self.take_line() {
            notice(line);
        } else {
            step(Outage::Still { name: &self.name, why, down });
        }
    }

    /// Redis answers again, after `down`.
    pub fn back(&mut self, down: Duration) {
        let message = Outage::Back { name: &self.name, down }.to_string();
        self.tell(&message);
    }

    /// A line off a terminal at the default level; on one, at `-v` only (the waiting line says
    /// the rest), above the waiting line.
    fn tell(&mut self, message: &str) {
        if self.on_terminal() {
            if shows(Level::Detail) {
                self.clear();
                detail(message);
            }
        } else {
            notice(message);
        }
    }

    /// Removes the line from the terminal.
    pub fn clear(&mut self) {
        let mut on_screen = ON_SCREEN.lock().unwrap_or_else(PoisonError::into_inner);
        if on_screen.take().is_some() {
            let mut stderr = std::io::stderr().lock();
            let _ = write!(stderr, "\r\x1b[K").and_then(|()| stderr.flush());
        }
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        self.clear();
    }
}

/// Draws the waiting line on the terminal, in place of the last one.
fn draw(line: &str) {
    let mut on_screen = ON_SCREEN.lock().unwrap_or_else(PoisonError::into_inner);
    let whole = scrub(&format!("rlock: {line}"));
    put(&whole);
    *on_screen = Some(whole);
}

/// The terminal was resized (SIGWINCH): the waiting line, if one is shown, is drawn again to fit
/// the new width.
pub fn redraw() {
    let on_screen = ON_SCREEN.lock().unwrap_or_else(PoisonError::into_inner);
    if let Some(whole) = on_screen.as_deref() {
        put(whole);
    }
}

/// Writes `whole` over the line the cursor is on, cut to the terminal's width.
fn put(whole: &str) {
    let mut stderr = std::io::stderr().lock();
    let fitted = fit(whole, width(&stderr).saturating_sub(1));
    let _ = write!(stderr, "\r\x1b[K{fitted}").and_then(|()| stderr.flush());
}

/// The width of the terminal on stderr, in columns; 80 when it cannot be read.
fn width(stderr: &std::io::StderrLock<'_>) -> usize {
    match terminal_size::terminal_size_of(stderr) {
        Some((terminal_size::Width(columns), _)) if columns > 0 => usize::from(columns),
        _ => 80,
    }
}

/// The start of `text` that takes at most `columns` columns on a terminal, with any control
/// character shown as `?` (a holder's record in Redis is anyone's to write).
fn fit(text: &str, columns: usize) -> String {
    let mut used = 0;
    let mut fitted = String::new();
    for c in text.chars() {
        let c = if c.is_control() { '?' } else { c };
        used += char_columns(c);
        if used > columns {
            break;
        }
        fitted.push(c);
    }
    fitted
}

/// How many columns `c` takes on a terminal: two for the wide characters of East Asian scripts
/// and emoji (the common blocks), one for the rest. An estimate that errs on the wide side, so
/// that the line still does not wrap.
fn char_columns(c: char) -> usize {
    const WIDE: [(u32, u32); 10] = [
        (0x1100, 0x115F),
        (0x2E80, 0x303E),
        (0x3041, 0xA4CF),
        (0xAC00, 0xD7A3),
        (0xF900, 0xFAFF),
        (0xFE30, 0xFE4F),
        (0xFF00, 0xFF60),
        (0xFFE0, 0xFFE6),
        (0x1F300, 0x1FAFF),
        (0x20000, 0x3FFFD),
    ];
    let code = u32::from(c);
    if WIDE.iter().any(|&(first, last)| (first..=last).contains(&code)) { 2 } else { 1 }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_is_cut_to_the_columns_counting_characters_not_bytes() {
        assert_eq!(fit("rlock: waiting", 5), "rlock");
        assert_eq!(fit("short", 80), "short");
        assert_eq!(fit("été à Zürich", 4), "été ");
        assert_eq!(fit("鎖鎖鎖", 5), "鎖鎖", "wide characters take two columns");
        assert_eq!(fit("a\u{1b}[31mb", 80), "a?[31mb", "no control character reaches the terminal");
        assert_eq!(fit("anything", 0), "");
    }

    #[test]
    fn no_progress_when_asked_for_none() {
        assert_eq!(shown(None), Shown::Off);
        assert_eq!(shown(Some(Duration::ZERO)), Shown::Off);
    }

    #[test]
    fn plain_lines_come_at_the_start_and_then_every_interval() {
        let every = Duration::from_secs(30);
        let mut progress = Progress {
            name: "k".into(),
            shown: Shown::Lines(every),
            next_line: None,
            last_place: None,
        };
        assert_eq!(progress.line_due(), Some(Duration::ZERO), "the first look gets a line");
        assert!(progress.take_line());
        assert!(!progress.take_line(), "not again until the interval has passed");
        let due = progress.line_due().unwrap();
        assert!(due > Duration::from_secs(29) && due <= every, "{due:?}");
        progress.next_line = Some(Instant::now());
        assert!(progress.take_line());
    }
}
