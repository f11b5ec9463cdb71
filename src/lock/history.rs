//! A lock's history, for `rlock log`: each server keeps a list beside the lock
//! ([`crate::lock::LockKeys::log`]) with an entry each time a hold begins there and each time one
//! ends as rlock sees it, written by the script that changes the lock (see
//! `scripts/history.lua`), each a JSON object. It is capped at [`MAX_ENTRIES`] entries and expires
//! [`crate::timing::HISTORY_LIFETIME`] after the last one. A holder is named by the digest of its
//! token that `status` shows too, never by the token.
//!
//! Reading it back is pure: [`holds`] pairs each hold's beginning with its end, over every
//! server that answered, so that it is tested without a server.

use std::collections::HashMap;

use crate::lock::mode::Mode;

/// How many entries a lock's history keeps on each server, the last ones: about half as many
/// holds.
pub const MAX_ENTRIES: u64 = 1000;

/// How a holder says its hold ended when it gives the lock back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ending {
    /// It was done: its command ended, or `rlock release` let it go.
    Released,
    /// rlock stopped its command because the lock could not be kept, then released it.
    Stopped,
    /// A grant never used (one only a minority of a quorum gave, one that came too late): given
    /// back, and no hold at all.
    GivenBack,
}

impl Ending {
    /// The event the scripts record.
    pub(crate) fn code(self) -> &'static str {
        match self {
            Ending::Released => "released",
            Ending::Stopped => "stopped",
            Ending::GivenBack => "given-back",
        }
    }
}

/// How the command under the lock ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// It exited with this code.
    Exited(i32),
    /// This signal killed it.
    Killed(i32),
}

/// What a holder says as it gives the lock back: how the hold ended, and how its command did,
/// when it ran one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct End {
    pub ending: Ending,
    pub status: Option<Status>,
}

impl End {
    /// A hold let go with no command's status to tell (`rlock release`).
    pub fn released() -> End {
        End { ending: Ending::Released, status: None }
    }

    /// A grant given back unused.
    pub fn given_back() -> End {
        End { ending: Ending::GivenBack, status: None }
    }
}

/// What an entry of the history says happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Event {
    Acquired,
    Released,
    Stopped,
    /// The holder found the lock no longer its own (expired and taken, deleted, broken).
    Lost,
    Broken,
    GivenBack,
}

impl Event {
    fn from_code(code: &str) -> Option<Event> {
        Some(match code {
            "acquired" => Event::Acquired,
            "released" => Event::Released,
            "stopped" => Event::Stopped,
            "lost" => Event::Lost,
            "broken" => Event::Broken,
            "given-back" => Event::GivenBack,
            _ => return None,
        })
    }
}

/// One entry of the history, as one server keeps it. What the entry does not say is `None`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Entry {
    /// `None` for an entry rlock does not know (written by a later version, say).
    pub event: Option<Event>,
    /// When, in milliseconds since the Unix epoch (Redis's clock).
    pub at_ms: u64,
    /// The holder: the digest of its token.
    pub id: String,
    pub host: Option<String>,
    pub pid: Option<u32>,
    pub user: Option<String>,
    pub program: Option<String>,
    pub label: Option<String>,
    pub fence: Option<u64>,
    pub mode: Option<Mode>,
    /// How long the hold lasted (on end entries whose holder record said when it began).
    pub held_ms: Option<u64>,
    /// The command's exit code, or the signal that killed it (on end entries, when known).
    pub exit: Option<i32>,
    pub signal: Option<i32>,
}

impl Entry {
    /// An entry as the scripts write it: a JSON object of strings; `None` for anything else.
    pub fn from_json(text: &str) -> Option<Entry> {
        let serde_json::Value::Object(object) = serde_json::from_str(text).ok()? else {
            return None;
        };
        let mut fields = Vec::with_capacity(2 * object.len());
        for (name, value) in object {
            let value = match value {
                serde_json::Value::String(text) => text,
                serde_json::Value::Number(number) => number.to_string(),
                _ => continue,
            };
            fields.push(name);
            fields.push(value);
        }
        Some(Entry::from_fields(&fields))
    }

    /// An entry from its field/value list.
    pub fn from_fields(fields: &[String]) -> Entry {
        let mut entry = Entry::default();
        for pair in fields.chunks_exact(2) {
            let value = pair[1].clone();
            match pair[0].as_str() {
                "event" => entry.event = Event::from_code(&value),
                "at" => entry.at_ms = value.parse().unwrap_or(0),
                "id" => entry.id = value,
                "host" => entry.host = Some(value),
                "pid" => entry.pid = value.parse().ok(),
                "user" => entry.user = Some(value),
                "program" => entry.program = Some(value),
                "label" => entry.label = Some(value),
                "fence" => entry.fence = value.parse().ok(),
                "mode" => entry.mode = Mode::from_code(&value),
                "held_ms" => entry.held_ms = value.parse().ok(),
                "exit" => entry.exit = value.parse().ok(),
                "signal" => entry.signal = value.parse().ok(),
                _ => {}
            }
        }
        entry
    }

    /// Fills what this entry does not say from `other`, an entry about the same holder.
    fn fill_from(&mut self, other: &Entry) {
        fn fill<T: Clone>(mine: &mut Option<T>, theirs: &Option<T>) {
            if mine.is_none() {
                mine.clone_from(theirs);
            }
        }
        fill(&mut self.host, &other.host);
        fill(&mut self.pid, &other.pid);
        fill(&mut self.user, &other.user);
        fill(&mut self.program, &other.program);
        fill(&mut self.label, &other.label);
        fill(&mut self.mode, &other.mode);
        fill(&mut self.held_ms, &other.held_ms);
        fill(&mut self.exit, &other.exit);
        fill(&mut self.signal, &other.signal);
        fill(&mut self.fence, &other.fence);
    }
}

/// How a hold ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Released,
    /// rlock stopped the command because the lock could not be kept.
    Stopped,
    /// The holder found the lock no longer its own.
    Lost,
    Broken,
}

/// Where a hold stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    /// It ended so, at this time (ms since the Unix epoch).
    Ended { outcome: Outcome, at_ms: u64 },
    /// Its holder holds the lock now.
    Holding,
    /// No end was recorded and it is not held now: it expired (its holder was killed, or never
    /// released it), or the lock was deleted outside rlock.
    Unrecorded,
}

/// One hold of the lock, from its beginning to its end. What the history does not say is
/// `None` (a beginning older than what the history keeps, say).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hold {
    /// The holder: the digest of its token (as `status --json` shows it).
    pub id: String,
    /// When it began (ms since the Unix epoch).
    pub began_ms: Option<u64>,
    pub host: Option<String>,
    pub pid: Option<u32>,
    pub user: Option<String>,
    pub program: Option<String>,
    pub label: Option<String>,
    pub fence: Option<u64>,
    pub mode: Option<Mode>,
    pub state: State,
    /// How long it lasted, once it ended.
    pub held_ms: Option<u64>,
    /// How its command ended, when rlock ran one and said.
    pub exit: Option<i32>,
    pub signal: Option<i32>,
}

/// The holds in the histories of every server that answered (each oldest first), oldest first.
/// `holding` are the digests of those who hold the lock now. A grant given back is no hold. The
/// same event seen on several servers (a quorum) counts once, at the earliest time. A hold's end
/// is the first one recorded, but a holder finding the lock lost on some servers while it
/// released it on others released it (a server of a quorum may have missed the hold). An end
/// whose beginning the history no longer has shows when it says who held the lock.
pub fn holds(servers: Vec<Vec<Entry>>, holding: &[String]) -> Vec<Hold> {
    // Each event once, by holder and event, over every server.
    let mut merged: HashMap<(String, Event), Entry> = HashMap::new();
    let mut order: Vec<(String, Event)> = Vec::new();
    for entries in servers {
        for entry in used(entries) {
            let Some(event) = entry.event else { continue };
            let key = (entry.id.clone(), event);
            match merged.get_mut(&key) {
                Some(seen) => {
                    // The first server to see it says it, the others fill in what it did not.
                    let largest = seen.fence.max(entry.fence);
                    if entry.at_ms < seen.at_ms {
                        let later = std::mem::replace(seen, entry);
                        seen.fill_from(&later);
                    } else {
                        seen.fill_from(&entry);
                    }
                    // Each server of a quorum gives its own fence, and the lock takes the
                    // largest (an end says the one the holder had).
                    if event == Event::Acquired {
                        seen.fence = largest;
                    }
                }
                None => {
                    order.push(key.clone());
                    merged.insert(key, entry);
                }
            }
        }
    }
    let mut begun: HashMap<String, Entry> = HashMap::new();
    let mut ends: HashMap<String, Vec<Entry>> = HashMap::new();
    let mut ids: Vec<String> = Vec::new();
    for key in order {
        let Some(entry) = merged.remove(&key) else { continue };
        if !ids.contains(&key.0) {
            ids.push(key.0.clone());
        }
        if key.1 == Event::Acquired {
            begun.insert(key.0, entry);
        } else {
            ends.entry(key.0).or_default().push(entry);
        }
    }
    let mut holds: Vec<Hold> = ids
        .into_iter()
        .filter_map(|id| {
            let start = begun.remove(&id);
            let end = first_end(ends.remove(&id).unwrap_or_default());
            hold(id, start, end, holding)
        })
        .collect();
    holds.sort_by_key(|hold| (hold.began_ms.or(ended_at(hold)), hold.fence));
    holds
}

/// One server's entries without the grants given back: each `given-back` takes away the last
/// acquisition of that holder before it, and itself.
fn used(entries: Vec<Entry>) -> Vec<Entry> {
    let mut kept: Vec<Entry> = Vec::with_capacity(entries.len());
    for entry in entries {
        if entry.event == Some(Event::GivenBack) {
            let granted = kept
                .iter()
                .rposition(|seen| seen.id == entry.id && seen.event == Some(Event::Acquired));
            if let Some(at) = granted {
                kept.remove(at);
            }
        } else {
            kept.push(entry);
        }
    }
    kept
}

/// The end that counts among a holder's ends (each event once): the first, but for a loss
/// when it also ended otherwise.
fn first_end(mut ends: Vec<Entry>) -> Option<Entry> {
    ends.sort_by_key(|end| (end.event == Some(Event::Lost), end.at_ms));
    ends.into_iter().next()
}

fn ended_at(hold: &Hold) -> Option<u64> {
    match hold.state {
        State::Ended { at_ms, .. } => Some(at_ms),
        _ => None,
    }
}

/// The hold of holder `id` from its beginning and its end, either of which the history may no
/// longer have; `None` for a loss that says nothing else (a token that never held the lock, or
/// whose beginning is gone).
fn hold(id: String, start: Option<Entry>, end: Option<Entry>, holding: &[String]) -> Option<Hold> {
    let facts = match (&start, &end) {
        (Some(start), Some(end)) => {
            // The fence the holder had at the end: a server of a quorum that granted the lock
            // late (frozen, say, and let go after the hold) gave one the holder never had.
            let mut facts = Entry { fence: end.fence.or(start.fence), ..start.clone() };
            facts.fill_from(end);
            facts
        }
        (Some(start), None) => start.clone(),
        (None, Some(end)) if end.event == Some(Event::Lost) && end.host.is_none() => return None,
        (None, Some(end)) => end.clone(),
        (None, None) => return None,
    };
    let state = match &end {
        Some(end) => {
            let outcome = match end.event {
                Some(Event::Stopped) => Outcome::Stopped,
                Some(Event::Lost) => Outcome::Lost,
                Some(Event::Broken) => Outcome::Broken,
                _ => Outcome::Released,
            };
            State::Ended { outcome, at_ms: end.at_ms }
        }
        None if holding.contains(&id) => State::Holding,
        None => State::Unrecorded,
    };
    let began_ms = start.as_ref().map(|start| start.at_ms);
    let held_ms = end.as_ref().and_then(|end| {
        end.held_ms.or_else(|| began_ms.map(|began| end.at_ms.saturating_sub(began)))
    });
    let (exit, signal) = end.as_ref().map_or((None, None), |end| (end.exit, end.signal));
    Some(Hold {
        id,
        began_ms,
        host: facts.host,
        pid: facts.pid,
        user: facts.user,
        program: facts.program,
        label: facts.label,
        fence: facts.fence,
        mode: facts.mode,
        state,
        held_ms,
        exit,
        signal,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(event: &str, id: &str, at: u64, more: &[(&str, &str)]) -> Entry {
        let at = at.to_string();
        let mut fields: Vec<String> =
            ["event", event, "at", &at, "id", id].into_iter().map(str::to_owned).collect();
        for (name, value) in more {
            fields.push((*name).to_owned());
            fields.push((*value).to_owned());
        }
        Entry::from_fields(&fields)
    }

    fn began(id: &str, at: u64, fence: &str) -> Entry {
        let facts = [("host", "web1"), ("pid", "42"), ("user", "ann"), ("mode", "x")];
        let mut more = facts.to_vec();
        more.push(("fence", fence));
        entry("acquired", id, at, &more)
    }

    #[test]
    fn entries_are_read_from_the_json_the_scripts_write() {
        let text =
            r#"{"event":"released","at":"5","id":"ab","exit":"3","fence":"1796285694570019"}"#;
        let read = Entry::from_json(text).unwrap();
        assert_eq!(read.event, Some(Event::Released));
        assert_eq!((read.at_ms, read.exit, read.fence), (5, Some(3), Some(1_796_285_694_570_019)));
        assert_eq!(Entry::from_json(r#"{"event":"lost","at":7,"id":"ab"}"#).unwrap().at_ms, 7);
        assert_eq!(Entry::from_json("not json"), None);
        assert_eq!(Entry::from_json("[1]"), None);
    }

    #[test]
    fn entries_are_read_from_their_fields() {
        let read = entry("released", "ab", 5, &[("exit", "3"), ("held_ms", "40"), ("x", "y")]);
        assert_eq!(read.event, Some(Event::Released));
        assert_eq!((read.at_ms, read.exit, read.held_ms), (5, Some(3), Some(40)));
        assert_eq!(read.host, None);
        assert_eq!(entry("later-kind", "ab", 5, &[]).event, None);
        assert_eq!(entry("acquired", "ab", 5, &[("mode", "3")]).mode, Some(Mode::Limit(3)));
    }

    #[test]
    fn a_hold_pairs_its_beginning_with_its_end() {
        let server = vec![
            began("a", 1000, "7"),
            began("b", 3000, "8"),
            entry("released", "a", 2500, &[("exit", "3"), ("held_ms", "1500")]),
        ];
        let holds = holds(vec![server], &["b".into()]);
        assert_eq!(holds.len(), 2);
        let first = &holds[0];
        assert_eq!(first.id, "a");
        assert_eq!(first.began_ms, Some(1000));
        assert_eq!(first.state, State::Ended { outcome: Outcome::Released, at_ms: 2500 });
        assert_eq!((first.held_ms, first.exit, first.fence), (Some(1500), Some(3), Some(7)));
        assert_eq!(first.host.as_deref(), Some("web1"));
        assert_eq!(holds[1].state, State::Holding);
        assert_eq!(holds[1].held_ms, None);
    }

    #[test]
    fn a_hold_without_an_end_and_not_held_now_is_unrecorded() {
        let holds = holds(vec![vec![began("a", 1000, "7")]], &[]);
        assert_eq!(holds[0].state, State::Unrecorded);
    }

    #[test]
    fn the_first_end_counts_and_a_loss_only_without_another() {
        let server = vec![
            began("a", 1000, "7"),
            entry("broken", "a", 2000, &[]),
            entry("lost", "a", 2100, &[]),
            began("b", 3000, "8"),
            entry("lost", "b", 4000, &[]),
        ];
        let found = holds(vec![server], &[]);
        assert_eq!(found[0].state, State::Ended { outcome: Outcome::Broken, at_ms: 2000 });
        assert_eq!(found[1].state, State::Ended { outcome: Outcome::Lost, at_ms: 4000 });
        // Without a recorded held_ms, from the beginning to the end.
        assert_eq!(found[1].held_ms, Some(1000));
        // A quorum's server that missed the hold says it lost; the others say it was released.
        let quorum = vec![
            vec![began("a", 1000, "7"), entry("released", "a", 2000, &[("exit", "0")])],
            vec![entry("lost", "a", 1990, &[])],
        ];
        let found = holds(quorum, &[]);
        assert_eq!(found[0].state, State::Ended { outcome: Outcome::Released, at_ms: 2000 });
    }

    #[test]
    fn a_grant_given_back_is_no_hold() {
        let server = vec![
            began("w", 1000, "7"),
            entry("given-back", "w", 1001, &[]),
            began("w", 2000, "9"),
            entry("released", "w", 3000, &[]),
            began("v", 4000, "10"),
            entry("given-back", "v", 4001, &[]),
        ];
        let found = holds(vec![server], &[]);
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!((found[0].began_ms, found[0].fence), (Some(2000), Some(9)));
    }

    #[test]
    fn the_same_event_on_several_servers_counts_once() {
        let servers = vec![
            vec![began("a", 1002, "70"), entry("released", "a", 2001, &[])],
            vec![began("a", 1000, "71"), entry("released", "a", 2000, &[("exit", "0")])],
            vec![],
        ];
        let found = holds(servers, &[]);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].began_ms, Some(1000));
        assert_eq!(found[0].fence, Some(71), "the largest fence, the one the quorum gave");
        assert_eq!(found[0].exit, Some(0));
        assert_eq!(found[0].state, State::Ended { outcome: Outcome::Released, at_ms: 2000 });
    }

    #[test]
    fn a_late_grant_on_one_server_of_a_quorum_changes_neither_start_nor_fence() {
        let release = |at| entry("released", "a", at, &[("fence", "71"), ("held_ms", "1000")]);
        let servers = vec![
            vec![began("a", 1000, "70"), release(2000)],
            vec![began("a", 1001, "71"), release(2001)],
            // Frozen while the lock was taken, and let go after its release.
            vec![began("a", 2500, "99")],
        ];
        let found = holds(servers, &[]);
        assert_eq!(found.len(), 1);
        assert_eq!((found[0].began_ms, found[0].fence), (Some(1000), Some(71)));
        assert_eq!(found[0].state, State::Ended { outcome: Outcome::Released, at_ms: 2000 });
    }

    #[test]
    fn ends_without_a_beginning_show_only_when_they_say_who_held_it() {
        let server = vec![
            entry("lost", "stray", 500, &[]),
            entry("released", "old", 600, &[("host", "web2"), ("fence", "3")]),
        ];
        let found = holds(vec![server], &[]);
        assert_eq!(found.len(), 1);
        assert_eq!((found[0].id.as_str(), found[0].began_ms), ("old", None));
        assert_eq!(found[0].held_ms, None);
    }

    #[test]
    fn holds_are_in_the_order_they_began() {
        let server = vec![
            began("b", 2000, "2"),
            began("a", 1000, "1"),
            entry("released", "b", 2500, &[]),
            entry("released", "a", 3000, &[]),
        ];
        let ids: Vec<String> = holds(vec![server], &[]).into_iter().map(|hold| hold.id).collect();
        assert_eq!(ids, ["a", "b"]);
    }
}
