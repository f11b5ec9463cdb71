//! The supervisor of `rlock run`: what to do at each thing that happens, as a state machine. It
//! owns no resource: it is told what happened ([`Input`]) and says what to do ([`Action`]); the
//! driver in [`crate::run`] holds the lock, the command, the guardian and the keep-alive and
//! carries the actions out. So every rule of a run (when the command starts, which signal goes
//! where, when the lock counts as lost, where it is released, how rlock exits) is here, and is
//! tested with a fake command.
//!
//! A run goes Waiting → Starting → Running → Releasing → Done. The lock is released by one
//! action, [`Action::Release`], given once: when the command ended with the lock, or could not
//! be started. A lock known lost is never released (it may be someone else's by then).

use std::time::{Duration, Instant};

use nix::sys::signal::Signal;

use crate::exit::Exit;
use crate::lock::LockInfo;
use crate::process::child::Ended;
use crate::report::note::Note;
use crate::run::keepalive::Refresh;

/// What the supervisor is told.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    /// rlock received this signal.
    Signal(i32),
    /// The lock is ours, with this fence, surely until `valid_until`; its first refresh is due
    /// at `refresh_due`.
    Acquired { fence: u64, valid_until: Instant, refresh_due: Instant },
    /// The lock was not obtained; what it looked like then, if that could be read.
    GaveUp(Option<Option<LockInfo>>),
    /// Waiting failed (Redis unreachable, refused, answering oddly): why.
    WaitFailed(String),
    /// The command started as this process.
    Started { pid: u32 },
    /// The command could not be started.
    StartFailed { exit: Exit, message: String },
    /// The lock cannot be kept alive (the keep-alive could not start): why.
    CannotKeep(String),
    /// The command was stopped by this signal.
    Stopped(i32),
    /// The command ended.
    Ended(Ended),
    /// What a refresh found.
    Refresh(Refresh),
    /// How the release went: whether the lock was still ours, or why it failed.
    Released(Result<bool, String>),
    /// Time passed: a deadline may be due.
    Tick,
}

/// What the supervisor says to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Start the command with this fence (answer with Started or StartFailed).
    Start { fence: u64 },
    /// Give the wait up: leave the queue.
    Abandon,
    /// Start keeping the lock alive (the first refresh is due; answer with CannotKeep if that
    /// cannot be done).
    KeepAlive,
    /// Send this signal to the command's process group.
    Signal(Signal),
    /// Stop the keep-alive and release the lock (answer with Released).
    Release,
    /// Tell the user.
    Say(Note),
    /// rlock is done: exit so.
    Finish(Exit),
}

/// What a run was asked to do, as far as the supervisor cares.
#[derive(Debug, Clone)]
pub struct Settings {
    pub name: String,
    pub ttl: Duration,
    pub kill_grace: Duration,
    pub conflict_exit: u8,
    /// rlock's own pid, for messages.
    pub rlock: u32,
}

#[derive(Debug)]
enum Phase {
    Waiting,
    Starting { valid_until: Instant, refresh_due: Instant },
    Running(Running),
    Releasing { then: Exit },
    Done,
}

#[derive(Debug)]
struct Running {
    pid: u32,
    /// The lock is surely ours until then (moved on by each refresh).
    valid_until: Instant,
    /// When to start the keep-alive: when the first refresh is due (a command that ends sooner
    /// needs none).
    keepalive_at: Option<Instant>,
    /// The lock was lost: the command is being stopped.
    lost: bool,
    /// When to SIGKILL a command that outlives its SIGTERM.
    kill_at: Option<Instant>,
    /// SIGINTs and SIGTERMs so far: the second one kills.
    interrupts: u32,
    /// The command is stopped (it acts on a signal only once continued).
    stopped: bool,
    /// Why refreshes fail, while they do.
    failing: Option<String>,
}

/// The state of one run.
#[derive(Debug)]
pub struct Supervisor {
    settings: Settings,
    phase: Phase,
}

impl Supervisor {
    pub fn new(settings: Settings) -> Supervisor {
        Supervisor { settings, phase: Phase::Waiting }
    }

    /// The next instant at which [`Input::Tick`] is due, if any.
    pub fn deadline(&self) -> Option<Instant> {
        match &self.phase {
            Phase::Running(running) => {
                let valid = (!running.lost).then_some(running.valid_until);
                valid.into_iter().chain(running.kill_at).chain(running.keepalive_at).min()
            }
            _ => None,
        }
    }

    /// What to do about `input`, which happened at `now`.
    pub fn handle(&mut self, input: Input, now: Instant) -> Vec<Action> {
        let name = self.settings.name.clone();
        match (&mut self.phase, input) {
            (Phase::Waiting, Input::Signal(signal)) => {
                self.phase = Phase::Done;
                vec![
                    Action::Abandon,
                    Action::Say(Note::InterruptedWaiting(signal)),
                    Action::Finish(Exit::Signal(signal)),
                ]
            }
            (Phase::Waiting, Input::Acquired { fence, valid_until, refresh_due }) => {
                self.phase = Phase::Starting { valid_until, refresh_due };
                let ttl = self.settings.ttl;
                vec![Action::Start { fence }, Action::Say(Note::Acquired { name, fence, ttl })]
            }
            (Phase::Waiting, Input::GaveUp(info)) => {
                self.phase = Phase::Done;
                let exit = Exit::Conflict(self.settings.conflict_exit);
                vec![Action::Say(Note::GaveUp { name, info }), Action::Finish(exit)]
            }
            (Phase::Waiting, Input::WaitFailed(message)) => {
                self.phase = Phase::Done;
                vec![Action::Say(Note::Failed(message)), Action::Finish(Exit::Failure)]
            }
            (Phase::Starting { valid_until, refresh_due }, Input::Started { pid }) => {
                self.phase = Phase::Running(Running {
                    pid,
                    valid_until: *valid_until,
                    keepalive_at: Some(*refresh_due),
                    lost: false,
                    kill_at: None,
                    interrupts: 0,
                    stopped: false,
                    failing: None,
                });
                vec![Action::Say(Note::Started { pid })]
            }
            (Phase::Starting { .. }, Input::StartFailed { exit, message }) => {
                self.phase = Phase::Releasing { then: exit };
                vec![Action::Release, Action::Say(Note::CannotStart(message))]
            }
            (Phase::Running(running), input) => {
                let settings = &self.settings;
                match input {
                    Input::Ended(_) if running.lost => {
                        // Whatever is left of the command's group must not go on without it.
                        self.phase = Phase::Done;
                        vec![Action::Signal(Signal::SIGKILL), Action::Finish(Exit::LockLost)]
                    }
                    Input::Ended(ended) => {
                        self.phase = Phase::Releasing { then: exit_of(ended) };
                        vec![Action::Release]
                    }
                    input => running.handle(input, now, settings),
                }
            }
            (Phase::Releasing { then }, Input::Released(result)) => {
                let exit = *then;
                self.phase = Phase::Done;
                let ttl = self.settings.ttl;
                vec![Action::Say(Note::Released { name, result, ttl }), Action::Finish(exit)]
            }
            // Anything else has nothing left to change: a signal during the release, a refresh
            // reported after the end.
            _ => Vec::new(),
        }
    }
}

impl Running {
    fn handle(&mut self, input: Input, now: Instant, settings: &Settings) -> Vec<Action> {
        match input {
            Input::Signal(number) => self.signal(number),
            Input::Stopped(signal) => {
                self.stopped = true;
                vec![Action::Say(Note::Stopped { signal, pid: self.pid, rlock: settings.rlock })]
            }
            Input::Refresh(Refresh::Kept { valid_until }) if !self.lost => {
                self.valid_until = valid_until;
                let mut actions = Vec::new();
                if self.failing.take().is_some() {
                    actions.push(Action::Say(Note::AnswersAgain));
                }
                let (name, ttl) = (settings.name.clone(), settings.ttl);
                actions.push(Action::Say(Note::Refreshed { name, ttl }));
                actions
            }
            Input::Refresh(Refresh::Failed(why)) if !self.lost => {
                self.failing = Some(why.clone());
                vec![Action::Say(Note::RefreshFailed(why))]
            }
            Input::Refresh(Refresh::NotOurs) => self.lose(
                "Redis no longer has it under our token (deleted, broken, or expired and taken)",
                now,
                settings,
            ),
            Input::CannotKeep(why) => self.lose(&why, now, settings),
            Input::Tick => {
                let mut actions = Vec::new();
                if self.keepalive_at.is_some_and(|at| now >= at) {
                    self.keepalive_at = None;
                    actions.push(Action::KeepAlive);
                }
                if !self.lost && now >= self.valid_until {
                    let why = self.failing.clone().unwrap_or_else(|| "no answer".into());
                    let reason =
                        format!("no refresh succeeded before its ttl ran out (last error: {why})");
                    actions = self.lose(&reason, now, settings);
                }
                if self.kill_at.is_some_and(|at| now >= at) {
                    self.kill_at = None;
                    actions.push(Action::Signal(Signal::SIGKILL));
                    actions.push(Action::Say(Note::KillAfterGrace));
                }
                actions
            }
            _ => Vec::new(),
        }
    }

    /// A signal to rlock while the command runs: passed on to its group; a second SIGINT or
    /// SIGTERM kills it.
    fn signal(&mut self, number: i32) -> Vec<Action> {
        let Ok(signal) = Signal::try_from(number) else { return Vec::new() };
        if matches!(signal, Signal::SIGINT | Signal::SIGTERM) {
            self.interrupts += 1;
            if self.interrupts >= 2 {
                let mut actions = self.tell(Signal::SIGKILL);
                actions.push(Action::Say(Note::SecondSignal(number)));
                return actions;
            }
        }
        let mut actions = self.tell(signal);
        actions.push(Action::Say(Note::PassedOn(number)));
        actions
    }

    /// Signals the command's group; a stopped command is continued so that it acts on it
    /// (SIGKILL needs no help).
    fn tell(&mut self, signal: Signal) -> Vec<Action> {
        let mut actions = vec![Action::Signal(signal)];
        if std::mem::take(&mut self.stopped) && signal != Signal::SIGKILL {
            actions.push(Action::Signal(Signal::SIGCONT));
        }
        actions
    }

    /// The lock is lost: stop the command (SIGTERM now, SIGKILL after the grace), then say so.
    fn lose(&mut self, reason: &str, now: Instant, settings: &Settings) -> Vec<Action> {
        if self.lost {
            return Vec::new();
        }
        self.lost = true;
        self.keepalive_at = None;
        self.kill_at = now.checked_add(settings.kill_grace);
        let mut actions = self.tell(Signal::SIGTERM);
        actions.push(Action::Say(Note::Lost {
            name: settings.name.clone(),
            reason: reason.to_owned(),
            grace: settings.kill_grace,
        }));
        actions
    }
}

/// How rlock exits for a command that ended so with the lock.
fn exit_of(ended: Ended) -> Exit {
    match ended {
        Ended::Exited(code) => Exit::Command(u8::try_from(code & 0xff).unwrap_or(u8::MAX)),
        Ended::Killed(signal) => Exit::Signal(signal),
        Ended::Unknown => Exit::Failure,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TTL: Duration = Duration::from_secs(30);
    const GRACE: Duration = Duration::from_secs(10);

    /// A supervisor and a fake command: the test plays the command, the lock and the clock.
    struct Fake {
        supervisor: Supervisor,
        start: Instant,
    }

    impl Fake {
        fn new() -> Fake {
            let settings = Settings {
                name: "k".into(),
                ttl: TTL,
                kill_grace: GRACE,
                conflict_exit: 75,
                rlock: 100,
            };
            Fake { supervisor: Supervisor::new(settings), start: Instant::now() }
        }

        fn at(&mut self, secs: u64, input: Input) -> Vec<Action> {
            self.supervisor.handle(input, self.start + Duration::from_secs(secs))
        }

        /// Takes the lock and starts the command as pid 42.
        fn running(mut self) -> Fake {
            let (valid_until, refresh_due) = (self.start + TTL, self.start + TTL / 3);
            let actions = self.at(0, Input::Acquired { fence: 7, valid_until, refresh_due });
            assert_eq!(actions[0], Action::Start { fence: 7 });
            self.at(0, Input::Started { pid: 42 });
            self
        }

        fn signals(actions: &[Action]) -> Vec<Signal> {
            actions
                .iter()
                .filter_map(|action| match action {
                    Action::Signal(signal) => Some(*signal),
                    _ => None,
                })
                .collect()
        }
    }

    fn finished(actions: &[Action]) -> Option<Exit> {
        actions.iter().find_map(|action| match action {
            Action::Finish(exit) => Some(*exit),
            _ => None,
        })
    }

    #[test]
    fn a_command_that_ends_with_the_lock_releases_it_once_and_exits_with_its_status() {
        let mut run = Fake::new().running();
        assert_eq!(run.at(1, Input::Ended(Ended::Exited(3))), [Action::Release]);
        let actions = run.at(1, Input::Released(Ok(true)));
        assert_eq!(finished(&actions), Some(Exit::Command(3)));
        // Nothing after the end releases again.
        assert!(run.at(2, Input::Released(Ok(true))).is_empty());
        assert!(run.at(2, Input::Signal(libc::SIGTERM)).is_empty());
        assert_eq!(run.supervisor.deadline(), None);
    }

    #[test]
    fn a_command_killed_by_a_signal_exits_128_plus_n() {
        let mut run = Fake::new().running();
        run.at(1, Input::Ended(Ended::Killed(9)));
        assert_eq!(finished(&run.at(1, Input::Released(Ok(true)))), Some(Exit::Signal(9)));
    }

    #[test]
    fn a_signal_while_waiting_leaves_the_queue_and_runs_nothing() {
        let mut run = Fake::new();
        let actions = run.at(0, Input::Signal(libc::SIGINT));
        assert_eq!(actions[0], Action::Abandon);
        assert_eq!(finished(&actions), Some(Exit::Signal(libc::SIGINT)));
        assert!(!actions.iter().any(|action| matches!(action, Action::Start { .. })));
    }

    #[test]
    fn giving_up_exits_with_the_conflict_code() {
        let mut run = Fake::new();
        assert_eq!(finished(&run.at(0, Input::GaveUp(None))), Some(Exit::Conflict(75)));
        let mut run = Fake::new();
        let actions = run.at(0, Input::WaitFailed("cannot reach Redis".into()));
        assert_eq!(finished(&actions), Some(Exit::Failure));
    }

    #[test]
    fn a_command_that_cannot_start_releases_and_exits_with_its_code() {
        let mut run = Fake::new();
        let (valid_until, refresh_due) = (run.start + TTL, run.start + TTL / 3);
        run.at(0, Input::Acquired { fence: 1, valid_until, refresh_due });
        let failed = Input::StartFailed { exit: Exit::CannotExecute, message: "x: nope".into() };
        assert_eq!(run.at(0, failed)[0], Action::Release);
        assert_eq!(finished(&run.at(0, Input::Released(Ok(true)))), Some(Exit::CannotExecute));
    }

    #[test]
    fn signals_are_passed_on_and_the_second_interrupt_kills() {
        let mut run = Fake::new().running();
        assert_eq!(Fake::signals(&run.at(1, Input::Signal(libc::SIGHUP))), [Signal::SIGHUP]);
        assert_eq!(Fake::signals(&run.at(1, Input::Signal(libc::SIGINT))), [Signal::SIGINT]);
        assert_eq!(Fake::signals(&run.at(1, Input::Signal(libc::SIGTERM))), [Signal::SIGKILL]);
    }

    #[test]
    fn a_stopped_command_is_continued_to_hear_a_signal() {
        let mut run = Fake::new().running();
        let actions = run.at(1, Input::Stopped(libc::SIGSTOP));
        assert!(matches!(&actions[0], Action::Say(Note::Stopped { pid: 42, rlock: 100, .. })));
        let sent = Fake::signals(&run.at(2, Input::Signal(libc::SIGTERM)));
        assert_eq!(sent, [Signal::SIGTERM, Signal::SIGCONT]);
    }

    #[test]
    fn a_lock_not_ours_any_more_stops_the_command_and_is_never_released() {
        let mut run = Fake::new().running();
        let actions = run.at(5, Input::Refresh(Refresh::NotOurs));
        assert_eq!(Fake::signals(&actions), [Signal::SIGTERM]);
        assert!(matches!(actions.last(), Some(Action::Say(Note::Lost { .. }))));
        // SIGKILL once the grace is over (and no keep-alive starts for a lock lost).
        assert_eq!(run.supervisor.deadline(), Some(run.start + Duration::from_secs(15)));
        assert!(run.at(14, Input::Tick).is_empty());
        assert_eq!(Fake::signals(&run.at(15, Input::Tick)), [Signal::SIGKILL]);
        // The end: no release, exit 124, and whatever is left of the group is killed.
        let actions = run.at(16, Input::Ended(Ended::Killed(9)));
        assert!(!actions.contains(&Action::Release));
        assert_eq!(Fake::signals(&actions), [Signal::SIGKILL]);
        assert_eq!(finished(&actions), Some(Exit::LockLost));
    }

    #[test]
    fn the_keep_alive_starts_when_the_first_refresh_is_due() {
        let mut run = Fake::new().running();
        assert_eq!(run.supervisor.deadline(), Some(run.start + TTL / 3));
        assert!(run.at(9, Input::Tick).is_empty());
        assert_eq!(run.at(10, Input::Tick), [Action::KeepAlive]);
        assert_eq!(run.supervisor.deadline(), Some(run.start + TTL));
        assert!(!run.at(11, Input::Tick).contains(&Action::KeepAlive), "only once");
        // One that cannot start: the lock cannot be kept, so it counts as lost.
        let actions = run.at(11, Input::CannotKeep("no threads".into()));
        assert_eq!(Fake::signals(&actions), [Signal::SIGTERM]);
    }

    #[test]
    fn a_short_command_needs_no_keep_alive() {
        let mut run = Fake::new().running();
        assert_eq!(run.at(1, Input::Ended(Ended::Exited(0))), [Action::Release]);
        assert_eq!(run.supervisor.deadline(), None);
    }

    #[test]
    fn refreshes_move_the_validity_on_and_failures_past_it_lose_the_lock() {
        let mut run = Fake::new().running();
        assert_eq!(run.at(10, Input::Tick), [Action::KeepAlive]);
        assert_eq!(run.supervisor.deadline(), Some(run.start + TTL));
        run.at(10, Input::Refresh(Refresh::Kept { valid_until: run.start + 40 * SEC }));
        assert_eq!(run.supervisor.deadline(), Some(run.start + 40 * SEC));
        let actions = run.at(20, Input::Refresh(Refresh::Failed("timed out".into())));
        assert_eq!(actions, [Action::Say(Note::RefreshFailed("timed out".into()))]);
        assert!(run.at(39, Input::Tick).is_empty());
        let actions = run.at(40, Input::Tick);
        assert_eq!(Fake::signals(&actions), [Signal::SIGTERM]);
        let Some(Action::Say(Note::Lost { reason, .. })) = actions.last() else { panic!() };
        assert!(reason.contains("last error: timed out"), "{reason}");
        // A refresh that comes through after that changes nothing.
        let late = run.at(41, Input::Refresh(Refresh::Kept { valid_until: run.start + 70 * SEC }));
        assert!(late.is_empty());
    }

    #[test]
    fn redis_answering_again_is_said_once() {
        let mut run = Fake::new().running();
        run.at(10, Input::Refresh(Refresh::Failed("down".into())));
        let actions = run.at(11, Input::Refresh(Refresh::Kept { valid_until: run.start + TTL }));
        assert_eq!(actions[0], Action::Say(Note::AnswersAgain));
        let actions = run.at(21, Input::Refresh(Refresh::Kept { valid_until: run.start + TTL }));
        assert!(!actions.contains(&Action::Say(Note::AnswersAgain)));
    }

    const SEC: Duration = Duration::from_secs(1);
}
