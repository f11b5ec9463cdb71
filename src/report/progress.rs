//! The waiting line: what rlock says while it waits for a lock someone else holds, on a
//! terminal and off one.

use std::io::Write;
use std::time::{Duration, SystemTime};

use crate::lock::Waiting;
use crate::report::note::Outage;
use crate::report::{Level, detail, notice, scrub, shows, step, whole_seconds};

/// Whether to keep a status line updated in place (with a carriage return and an erase-line
/// code): stderr is a terminal, not `-q`, and neither `NO_COLOR` nor `TERM=dumb` asks for plain
/// output.
fn status_line_wanted() -> bool {
    use std::io::IsTerminal;
    let no_color = std::env::var_os("NO_COLOR").is_some_and(|value| !value.is_empty());
    let dumb = std::env::var_os("TERM").is_some_and(|term| term == "dumb");
    shows(Level::Notice) && !no_color && !dumb && std::io::stderr().is_terminal()
}

/// The waiting line: on a terminal, one line updated in place; with `-v` elsewhere, a line each
/// time our place changes; otherwise nothing but a line when Redis goes away and one when it is
/// back.
pub struct Progress {
    name: String,
    terminal: bool,
    shown: bool,
    last_place: Option<u64>,
}

impl Progress {
    pub fn new(name: &str) -> Progress {
        Progress {
            name: name.to_owned(),
            terminal: status_line_wanted(),
            shown: false,
            last_place: None,
        }
    }

    /// Whether a line on a terminal is kept up to date (it wants redrawing every second).
    pub fn on_terminal(&self) -> bool {
        self.terminal
    }

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
        if self.terminal {
            let line = format!(
                "waiting for '{}': {holder}; {place}; waited {}",
                self.name,
                whole_seconds(waited)
            );
            self.draw(&line);
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
        if self.terminal {
            let line = format!(
                "waiting for '{}': Redis unreachable for {}, reconnecting; waited {}",
                self.name,
                whole_seconds(down),
                whole_seconds(waited)
            );
            self.draw(&line);
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
        if self.terminal {
            if shows(Level::Detail) {
                self.clear();
                detail(message);
            }
        } else {
            notice(message);
        }
    }

    /// Draws the waiting line on the terminal, in place of the last one.
    fn draw(&mut self, line: &str) {
        let mut stderr = std::io::stderr().lock();
        let _ = write!(stderr, "\r\x1b[K{}", scrub(&format!("rlock: {line}")))
            .and_then(|()| stderr.flush());
        self.shown = true;
    }

    /// Removes the line from the terminal.
    pub fn clear(&mut self) {
        if std::mem::take(&mut self.shown) {
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
