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
use crate::lock::{Ending, LockInfo};
use crate::process::child::Ended;
use crate::report::note::Note;
use crate::run::keepalive::Refresh;
use crate::timing::{self, Lease};

/// What the supervisor is told.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    /// rlock received this signal.
    Signal(i32),
    /// The lock is ours, with this fence, on this lease.
    Acquired { fence: u64, lease: Lease },
    /// The lock was not obtained; what it looked like then, if that could be read.
    GaveUp(Option<Option<LockInfo>>),
    /// Waiting failed (Redis unreachable, refused, answering oddly): why.
    WaitFailed(String),
    /// The command started as this process; with `terminal`, it was given the terminal's
    /// foreground (stdin is a terminal whose foreground rlock had).
    Started { pid: u32, terminal: bool },
    /// The command could not be started.
    StartFailed { exit: Exit, message: String },
    /// The lock cannot be kept alive (the keep-alive could not start): why.
    CannotKeep(String),
    /// The command was stopped by this signal.
    Stopped(i32),
    /// The command's leader ended, but these processes it left behind still run.
    LeftBehind(Vec<i32>),
    /// The command ended, and everything it left behind.
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
    /// Tell the guardian the command must be dead by this instant.
    Guard(Instant),
    /// Stop rlock itself (SIGSTOP), as a job-control signal asked; it carries on when continued.
    StopSelf,
    /// Give the terminal's foreground back to rlock's process group, if the command's group has
    /// it: the command stopped or ended.
    TakeTerminal,
    /// Give the terminal's foreground to the command's group again, if rlock's group has it
    /// (continued by `fg`, not `bg`): the command is about to be continued.
    GiveTerminal,
    /// Stop the keep-alive and release the lock, the lock's history saying the hold ended so
    /// (answer with Released).
    Release(Ending),
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
    /// `--timeout`: how long the command may run, from its start.
    pub timeout: Option<Duration>,
    pub conflict_exit: u8,
    /// rlock's own pid, for messages.
    pub rlock: u32,
}

#[derive(Debug)]
enum Phase {
    Waiting,
    Starting { lease: Lease },
    Running(Running),
    Releasing { then: Exit },
    Done,
}

#[derive(Debug)]
struct Running {
    pid: u32,
    /// The lock's lease, moved on by each refresh: the command is stopped against its end.
    lease: Lease,
    /// When to start the keep-alive: when the first refresh is due (a command that ends sooner
    /// needs none).
    keepalive_at: Option<Instant>,
    /// The lock was lost, or could not be kept: the command is being stopped.
    lost: bool,
    /// The command ran for its `--timeout`: it is being stopped.
    timed_out: bool,
    /// When the command will have run for its `--timeout` (SIGTERM then), until then.
    timeout_at: Option<Instant>,
    /// When the guardian is to kill a command still running past its `--timeout`.
    timeout_guard: Option<Instant>,
    /// The command has the terminal's foreground (until it ends).
    terminal: bool,
    /// When to SIGKILL a command that outlives its SIGTERM.
    kill_at: Option<Instant>,
    /// rlock passed a job-control stop on and stopped itself: the command's stop is no news.
    suspended: bool,
    /// How many processes the command's leader left behind, last said.
    left_behind: usize,
    /// SIGINTs and SIGTERMs so far: the second one kills.
    interrupts: u32,
    /// The command is stopped (it acts on a signal only once continued).
    stopped: bool,
    /// Why refreshes fail, while they do.
    failing: Option<String>,
}

/// Why rlock is stopping the command (SIGTERM, then SIGKILL after the kill grace).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stop {
    /// It ran for its `--timeout`: the lock is still ours, released once it ends (exit 123).
    Timeout,
    /// The lock was lost, or could not be kept: it is never released (exit 124). This wins over
    /// a timeout, before or after it: whoever reads the exit must know the lock was lost.
    LockLost,
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
                let stop = (!running.lost).then(|| running.stop_times(&self.settings).0);
                let others = [running.kill_at, running.keepalive_at, running.timeout_at];
                stop.into_iter().chain(others.into_iter().flatten()).min()
            }
            _ => None,
        }
    }

    /// What to do about `input`, which happened at `now`.
    pub fn handle(&mut self, input: Input, now: Instant) -> Vec<Action> {
        let name = self.settings.name.clone();
        match (&mut self.phase, input) {
            // Ctrl-Z and the like stop rlock (and, while it runs, the command first).
            (Phase::Running(running), Input::Signal(signal)) if job_control(signal) => {
                running.suspend(signal)
            }
            (_, Input::Signal(signal)) if job_control(signal) => vec![Action::StopSelf],
            (Phase::Running(running), Input::Signal(libc::SIGCONT)) => running.resume(),
            (_, Input::Signal(libc::SIGCONT)) => Vec::new(),
            (Phase::Waiting, Input::Signal(signal)) => {
                self.phase = Phase::Done;
                vec![
                    Action::Abandon,
                    Action::Say(Note::InterruptedWaiting(signal)),
                    Action::Finish(Exit::Signal(signal)),
                ]
            }
            (Phase::Waiting, Input::Acquired { fence, lease }) => {
                self.phase = Phase::Starting { lease };
                let ttl = self.settings.ttl;
                // The guardian hears the deadline before the command exists: a rlock frozen
                // while it starts the command is covered too.
                let kill = timing::stop_times(&lease, self.settings.kill_grace).1;
                vec![
                    Action::Guard(kill),
                    Action::Start { fence },
                    Action::Say(Note::Acquired { name, fence, ttl }),
                ]
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
            (Phase::Starting { lease }, Input::Started { pid, terminal }) => {
                let grace = self.settings.kill_grace;
                let timeout =
                    self.settings.timeout.and_then(|t| timing::timeout_times(now, t, grace));
                let running = Running {
                    pid,
                    lease: *lease,
                    keepalive_at: Some(lease.refresh_due()),
                    lost: false,
                    timed_out: false,
                    timeout_at: timeout.map(|(term, _)| term),
                    timeout_guard: timeout.map(|(_, guard)| guard),
                    terminal,
                    kill_at: None,
                    suspended: false,
                    left_behind: 0,
                    interrupts: 0,
                    stopped: false,
                    failing: None,
                };
                // The guardian kills a command that outruns its timeout too, should rlock freeze.
                let guard =
                    timeout.is_some().then(|| Action::Guard(running.guard_at(&self.settings)));
                self.phase = Phase::Running(running);
                guard.into_iter().chain([Action::Say(Note::Started { pid })]).collect()
            }
            (Phase::Starting { .. }, Input::StartFailed { exit, message }) => {
                self.phase = Phase::Releasing { then: exit };
                vec![Action::Release(Ending::Released), Action::Say(Note::CannotStart(message))]
            }
            (Phase::Running(running), input) => {
                let settings = &self.settings;
                // The command's leader ended: the terminal goes back to rlock's group (and to
                // whoever started rlock after it).
                let mut actions = Vec::new();
                if running.terminal && matches!(input, Input::Ended(_) | Input::LeftBehind(_)) {
                    running.terminal = false;
                    actions.push(Action::TakeTerminal);
                }
                actions.extend(match input {
                    Input::Ended(_) if running.lost => {
                        // Whatever is left of the command's group must not go on without it.
                        self.phase = Phase::Done;
                        vec![Action::Signal(Signal::SIGKILL), Action::Finish(Exit::LockLost)]
                    }
                    Input::Ended(ended) => {
                        // Stopped for its timeout: that is the exit, whatever the command made of
                        // its SIGTERM (as timeout(1) without --preserve-status). So it is when the
                        // guardian killed it for its timeout while rlock was frozen.
                        let guarded = running.timeout_guard.is_some_and(|at| now >= at);
                        let (then, ending) = if running.timed_out || guarded {
                            (Exit::TimedOut, Ending::Stopped)
                        } else {
                            (exit_of(ended), Ending::Released)
                        };
                        self.phase = Phase::Releasing { then };
                        vec![Action::Release(ending)]
                    }
                    input => running.handle(input, now, settings),
                });
                actions
            }
            (Phase::Releasing { then }, Input::Released(result)) => {
                // Not ours at the end: broken, deleted or taken while the command ran (the
                // command is always stopped before the lock's validity ends, so it did not
                // just lapse).
                let exit = if result == Ok(false) { Exit::LockLost } else { *then };
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
                if self.suspended {
                    return Vec::new();
                }
                // Ctrl-Z at the terminal the command has: its job is stopped, so rlock takes the
                // terminal back and stops too, for the shell to see; `fg` continues both.
                if self.terminal && job_control(signal) {
                    self.suspended = true;
                    return vec![Action::TakeTerminal, Action::StopSelf];
                }
                vec![Action::Say(Note::Stopped { signal, pid: self.pid, rlock: settings.rlock })]
            }
            Input::Refresh(Refresh::Kept { lease }) if !self.lost => {
                self.lease = lease;
                let mut actions = vec![Action::Guard(self.guard_at(settings))];
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
            // The lock stays held until they end; once the group has had its SIGKILL, so do they.
            Input::LeftBehind(_) if self.stopped_by().is_some() => {
                if self.kill_at.is_none() {
                    vec![Action::Signal(Signal::SIGKILL)]
                } else {
                    Vec::new()
                }
            }
            Input::LeftBehind(pids) if self.left_behind != pids.len() => {
                self.left_behind = pids.len();
                vec![Action::Say(Note::LeftBehind { name: settings.name.clone(), pids })]
            }
            Input::Tick => {
                let mut actions = Vec::new();
                if self.keepalive_at.is_some_and(|at| now >= at) {
                    self.keepalive_at = None;
                    actions.push(Action::KeepAlive);
                }
                if !self.lost && now >= self.stop_times(settings).0 {
                    let why = self.failing.clone().unwrap_or_else(|| "no answer".into());
                    let reason = format!(
                        "no refresh went through in time, and the lock would lapse soon (last \
                         error: {why})"
                    );
                    actions = self.lose(&reason, now, settings);
                }
                if self.timeout_at.is_some_and(|at| now >= at) {
                    self.timeout_at = None;
                    actions.extend(self.time_out(now, settings));
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

    /// Why rlock is stopping the command, if it is.
    fn stopped_by(&self) -> Option<Stop> {
        if self.lost {
            Some(Stop::LockLost)
        } else if self.timed_out {
            Some(Stop::Timeout)
        } else {
            None
        }
    }

    /// The command ran for its `--timeout`: stop it (SIGTERM now, SIGKILL after the grace),
    /// then say so. The lock is still ours: it is kept alive until the command ends.
    fn time_out(&mut self, now: Instant, settings: &Settings) -> Vec<Action> {
        if self.stopped_by().is_some() {
            return Vec::new();
        }
        let kill_at = now.checked_add(settings.kill_grace);
        self.timed_out = true;
        self.kill_at = kill_at;
        let mut actions = self.tell(Signal::SIGTERM);
        if let Some(timeout) = settings.timeout {
            let kill_in = settings.kill_grace;
            actions.push(Action::Say(Note::TimedOut { timeout, kill_in }));
        }
        actions
    }

    /// When the guardian must kill the command, should rlock not move it on: before the lease
    /// can lapse, and a little after its timeout's SIGKILL.
    fn guard_at(&self, settings: &Settings) -> Instant {
        let kill = self.stop_times(settings).1;
        self.timeout_guard.map_or(kill, |guard| guard.min(kill))
    }

    /// When to stop the command, on the current lease: SIGTERM, then SIGKILL.
    fn stop_times(&self, settings: &Settings) -> (Instant, Instant) {
        timing::stop_times(&self.lease, settings.kill_grace)
    }

    /// The lock is lost, or about to lapse: stop the command (SIGTERM now, SIGKILL after the
    /// grace but before the lease ends), then say so.
    fn lose(&mut self, reason: &str, now: Instant, settings: &Settings) -> Vec<Action> {
        if self.lost {
            return Vec::new();
        }
        let latest = self.stop_times(settings).1.max(now);
        let kill_at = now.checked_add(settings.kill_grace).map_or(latest, |at| at.min(latest));
        // Already being stopped for its timeout: its SIGKILL comes no later for this.
        let kill_at = self.kill_at.map_or(kill_at, |due| due.min(kill_at));
        self.lost = true;
        self.keepalive_at = None;
        self.timeout_at = None;
        self.kill_at = Some(kill_at);
        // One SIGTERM is enough: a command stopped for its timeout has had it.
        let mut actions = if self.timed_out { Vec::new() } else { self.tell(Signal::SIGTERM) };
        actions.push(Action::Say(Note::Lost {
            name: settings.name.clone(),
            reason: reason.to_owned(),
            kill_in: kill_at - now,
        }));
        actions
    }

    /// A job-control stop (SIGTSTP, SIGTTIN, SIGTTOU) for rlock: the command's group gets the
    /// same signal, then rlock stops itself. The guardian stays awake: should rlock stay stopped
    /// past the lock's deadline, it kills the command's group.
    fn suspend(&mut self, signal: i32) -> Vec<Action> {
        let Ok(signal) = Signal::try_from(signal) else { return vec![Action::StopSelf] };
        self.suspended = true;
        let take = self.terminal.then_some(Action::TakeTerminal);
        [Action::Signal(signal)].into_iter().chain(take).chain([Action::StopSelf]).collect()
    }

    /// rlock was continued: so is the command's group, with the terminal if it had it.
    fn resume(&mut self) -> Vec<Action> {
        self.suspended = false;
        self.stopped = false;
        let give = self.terminal.then_some(Action::GiveTerminal);
        give.into_iter().chain([Action::Signal(Signal::SIGCONT)]).collect()
    }
}

/// SIGTSTP, SIGTTIN and SIGTTOU: the signals that stop a job.
fn job_control(signal: i32) -> bool {
    [libc::SIGTSTP, libc::SIGTTIN, libc::SIGTTOU].contains(&signal)
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
            Fake::with_timeout(None)
        }

        fn with_timeout(timeout: Option<Duration>) -> Fake {
            let settings = Settings {
                name: "k".into(),
                ttl: TTL,
                kill_grace: GRACE,
                timeout,
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
            let lease = Lease::new(TTL, self.start, TTL);
            let actions = self.at(0, Input::Acquired { fence: 7, lease });
            // The guardian hears the deadline first, then the command starts.
            assert_eq!(actions[0], Action::Guard(self.kill_time(self.start)));
            assert_eq!(actions[1], Action::Start { fence: 7 });
            self.at(0, Input::Started { pid: 42, terminal: false });
            self
        }

        /// The lease of a refresh sent `secs` in.
        fn refreshed(&self, secs: u64) -> Lease {
            Lease::new(TTL, self.start + Duration::from_secs(secs), TTL)
        }

        /// When the command is to be killed, for a lease that began at `since`.
        fn kill_time(&self, since: Instant) -> Instant {
            timing::stop_times(&Lease::new(TTL, since, TTL), GRACE).1
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
        assert_eq!(run.at(1, Input::Ended(Ended::Exited(3))), [Action::Release(Ending::Released)]);
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
        run.at(0, Input::Acquired { fence: 1, lease: Lease::new(TTL, run.start, TTL) });
        let failed = Input::StartFailed { exit: Exit::CannotExecute, message: "x: nope".into() };
        assert_eq!(run.at(0, failed)[0], Action::Release(Ending::Released));
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
        assert!(!actions.iter().any(|action| matches!(action, Action::Release(_))));
        assert_eq!(Fake::signals(&actions), [Signal::SIGKILL]);
        assert_eq!(finished(&actions), Some(Exit::LockLost));
    }

    #[test]
    fn the_keep_alive_starts_when_the_first_refresh_is_due() {
        let mut run = Fake::new().running();
        assert_eq!(run.supervisor.deadline(), Some(run.start + TTL / 3));
        assert!(run.at(9, Input::Tick).is_empty());
        assert_eq!(run.at(10, Input::Tick), [Action::KeepAlive]);
        // Next: the SIGTERM, should no refresh go through.
        let term = timing::stop_times(&Lease::new(TTL, run.start, TTL), GRACE).0;
        assert_eq!(run.supervisor.deadline(), Some(term));
        assert!(!run.at(11, Input::Tick).contains(&Action::KeepAlive), "only once");
        // One that cannot start: the lock cannot be kept, so it counts as lost.
        let actions = run.at(11, Input::CannotKeep("no threads".into()));
        assert_eq!(Fake::signals(&actions), [Signal::SIGTERM]);
    }

    #[test]
    fn a_short_command_needs_no_keep_alive() {
        let mut run = Fake::new().running();
        assert_eq!(run.at(1, Input::Ended(Ended::Exited(0))), [Action::Release(Ending::Released)]);
        assert_eq!(run.supervisor.deadline(), None);
    }

    #[test]
    fn refreshes_move_the_deadlines_on_and_failing_ones_stop_the_command_in_time() {
        let mut run = Fake::new().running();
        assert_eq!(run.at(10, Input::Tick), [Action::KeepAlive]);
        let lease = run.refreshed(10);
        let actions = run.at(10, Input::Refresh(Refresh::Kept { lease }));
        // The guardian's deadline moves on with the lease.
        assert_eq!(actions[0], Action::Guard(run.kill_time(run.start + 10 * SEC)));
        // 10 s in, ttl 30 s: valid until 39.698 s; SIGKILL 250 ms before that, SIGTERM 10 s
        // before the SIGKILL.
        let kill = run.start + 40 * SEC - 302 * MS - 250 * MS;
        assert_eq!(run.supervisor.deadline(), Some(kill - GRACE));
        let actions = run.at(20, Input::Refresh(Refresh::Failed("timed out".into())));
        assert_eq!(actions, [Action::Say(Note::RefreshFailed("timed out".into()))]);
        assert!(run.at(29, Input::Tick).is_empty());
        let actions = run.supervisor.handle(Input::Tick, kill - GRACE);
        assert_eq!(Fake::signals(&actions), [Signal::SIGTERM]);
        let Some(Action::Say(Note::Lost { reason, kill_in, .. })) = actions.last() else {
            panic!("{actions:?}")
        };
        assert!(reason.contains("last error: timed out"), "{reason}");
        assert_eq!(*kill_in, GRACE);
        // SIGKILL before the lock can lapse, whatever comes in between.
        assert_eq!(run.supervisor.deadline(), Some(kill));
        let late = run.at(31, Input::Refresh(Refresh::Kept { lease: run.refreshed(31) }));
        assert!(late.is_empty());
        let actions = run.supervisor.handle(Input::Tick, kill);
        assert_eq!(Fake::signals(&actions), [Signal::SIGKILL]);
        assert!(kill < lease.valid_until());
        let actions = run.at(40, Input::Ended(Ended::Killed(9)));
        assert_eq!(finished(&actions), Some(Exit::LockLost));
        assert!(!actions.iter().any(|action| matches!(action, Action::Release(_))));
    }

    #[test]
    fn a_lock_lost_late_in_its_lease_gets_its_sigkill_before_it_lapses() {
        let mut run = Fake::new().running();
        // 25 s in, with 10 s of grace: the SIGKILL cannot wait until 35 s.
        let actions = run.at(25, Input::Refresh(Refresh::NotOurs));
        let Some(Action::Say(Note::Lost { kill_in, .. })) = actions.last() else { panic!() };
        let kill = run.kill_time(run.start);
        assert_eq!(run.start + 25 * SEC + *kill_in, kill);
        assert_eq!(run.supervisor.deadline(), Some(kill));
    }

    #[test]
    fn a_lock_handed_over_is_not_stopped_before_its_first_refresh() {
        let mut run = Fake::new();
        let lease = Lease::new(TTL, run.start, timing::grant_lifetime(TTL));
        run.at(0, Input::Acquired { fence: 3, lease });
        run.at(0, Input::Started { pid: 42, terminal: false });
        let (term, kill) = timing::stop_times(&lease, GRACE);
        assert!(term > lease.refresh_due() && kill < lease.valid_until());
        assert_eq!(run.at(1, Input::Tick), []);
        assert_eq!(run.supervisor.handle(Input::Tick, lease.refresh_due()), [Action::KeepAlive]);
        let kept = Lease::new(TTL, lease.refresh_due(), TTL);
        run.supervisor.handle(Input::Refresh(Refresh::Kept { lease: kept }), lease.refresh_due());
        assert!(run.supervisor.handle(Input::Tick, term).is_empty(), "moved on: no stop");
    }

    #[test]
    fn a_lock_found_gone_at_the_release_exits_124() {
        let mut run = Fake::new().running();
        assert_eq!(run.at(1, Input::Ended(Ended::Exited(0))), [Action::Release(Ending::Released)]);
        let actions = run.at(1, Input::Released(Ok(false)));
        assert_eq!(finished(&actions), Some(Exit::LockLost));
        // Said even with -q.
        let said = actions.iter().find_map(|action| match action {
            Action::Say(note) => Some(note.clone()),
            _ => None,
        });
        assert!(matches!(said, Some(Note::Released { result: Ok(false), .. })));
        // A release that could not be made does not say the command ran without the lock.
        let mut run = Fake::new().running();
        run.at(1, Input::Ended(Ended::Exited(3)));
        let actions = run.at(1, Input::Released(Err("timed out".into())));
        assert_eq!(finished(&actions), Some(Exit::Command(3)));
    }

    #[test]
    fn ctrl_z_stops_the_command_with_rlock_and_fg_continues_both() {
        let mut run = Fake::new().running();
        let actions = run.at(1, Input::Signal(libc::SIGTSTP));
        assert_eq!(actions, [Action::Signal(Signal::SIGTSTP), Action::StopSelf]);
        // Its stop is rlock's doing: nothing to say.
        assert!(run.at(1, Input::Stopped(libc::SIGTSTP)).is_empty());
        assert_eq!(run.at(5, Input::Signal(libc::SIGCONT)), [Action::Signal(Signal::SIGCONT)]);
        for signal in [libc::SIGTTIN, libc::SIGTTOU] {
            assert_eq!(run.at(6, Input::Signal(signal)).last(), Some(&Action::StopSelf));
        }
        // While waiting there is no command: rlock stops alone, and stays in the queue.
        let mut waiting = Fake::new();
        assert_eq!(waiting.at(0, Input::Signal(libc::SIGTSTP)), [Action::StopSelf]);
        assert!(waiting.at(0, Input::Signal(libc::SIGCONT)).is_empty());
        let lease = Lease::new(TTL, waiting.start, TTL);
        let actions = waiting.at(1, Input::Acquired { fence: 1, lease });
        assert_eq!(actions[1], Action::Start { fence: 1 });
    }

    #[test]
    fn what_the_command_left_behind_keeps_the_lock_and_goes_with_it() {
        let mut run = Fake::new().running();
        let actions = run.at(1, Input::LeftBehind(vec![50, 51]));
        assert!(matches!(&actions[..], [Action::Say(Note::LeftBehind { .. })]), "{actions:?}");
        assert!(run.at(2, Input::LeftBehind(vec![50, 51])).is_empty(), "said once");
        // Still running: refreshes, and stops, go on; released once they have ended too.
        assert_eq!(run.at(10, Input::Tick), [Action::KeepAlive]);
        let actions = run.at(12, Input::Refresh(Refresh::NotOurs));
        assert_eq!(Fake::signals(&actions), [Signal::SIGTERM]);
        assert!(run.at(13, Input::LeftBehind(vec![51])).is_empty(), "the SIGKILL is due later");
        assert_eq!(Fake::signals(&run.at(22, Input::Tick)), [Signal::SIGKILL]);
        // One that shows up after the SIGKILL (its parent just died) gets one of its own.
        assert_eq!(Fake::signals(&run.at(22, Input::LeftBehind(vec![52]))), [Signal::SIGKILL]);
        assert_eq!(finished(&run.at(23, Input::Ended(Ended::Exited(0)))), Some(Exit::LockLost));
    }

    #[test]
    fn redis_answering_again_is_said_once() {
        let mut run = Fake::new().running();
        run.at(10, Input::Refresh(Refresh::Failed("down".into())));
        let actions = run.at(11, Input::Refresh(Refresh::Kept { lease: run.refreshed(11) }));
        assert_eq!(actions[1], Action::Say(Note::AnswersAgain));
        let actions = run.at(21, Input::Refresh(Refresh::Kept { lease: run.refreshed(21) }));
        assert!(!actions.contains(&Action::Say(Note::AnswersAgain)));
    }

    /// A run with a `--timeout` of 5 s whose command starts 2 s after the lock is taken (a slow
    /// start, standing for any time between the two).
    fn timed() -> Fake {
        let mut run = Fake::with_timeout(Some(5 * SEC));
        let lease = Lease::new(TTL, run.start, TTL);
        run.at(0, Input::Acquired { fence: 7, lease });
        let actions = run.at(2, Input::Started { pid: 42, terminal: false });
        // The guardian kills it a second after rlock's own SIGKILL would, should rlock freeze:
        // 2 + 5 + 10 + 1 s, before the lease's deadline (29.x s).
        assert_eq!(actions[0], Action::Guard(run.start + 18 * SEC));
        run
    }

    #[test]
    fn the_timeout_counts_from_the_command_start_and_stops_it_with_exit_123() {
        let mut run = timed();
        // Not 5 s after the lock was taken: 5 s after the command started.
        assert_eq!(run.supervisor.deadline(), Some(run.start + 7 * SEC));
        assert!(run.at(6, Input::Tick).is_empty());
        let actions = run.at(7, Input::Tick);
        assert_eq!(Fake::signals(&actions), [Signal::SIGTERM]);
        let said = Note::TimedOut { timeout: 5 * SEC, kill_in: GRACE };
        assert_eq!(actions.last(), Some(&Action::Say(said)));
        // The lock is still ours: it is kept alive while the command takes its grace.
        assert_eq!(run.at(10, Input::Tick), [Action::KeepAlive]);
        let actions = run.at(11, Input::Refresh(Refresh::Kept { lease: run.refreshed(11) }));
        assert_eq!(actions[0], Action::Guard(run.start + 18 * SEC), "the timeout's, still");
        // SIGKILL once the grace is over, then the release, and exit 123.
        assert_eq!(run.supervisor.deadline(), Some(run.start + 17 * SEC));
        assert!(Fake::signals(&run.at(16, Input::Tick)).is_empty());
        assert_eq!(Fake::signals(&run.at(17, Input::Tick)), [Signal::SIGKILL]);
        assert_eq!(run.at(17, Input::Ended(Ended::Killed(9))), [Action::Release(Ending::Stopped)]);
        assert_eq!(finished(&run.at(17, Input::Released(Ok(true)))), Some(Exit::TimedOut));
    }

    #[test]
    fn the_timeout_wins_over_the_status_of_a_command_that_traps_sigterm() {
        let mut run = timed();
        assert_eq!(Fake::signals(&run.at(7, Input::Tick)), [Signal::SIGTERM]);
        assert_eq!(run.at(8, Input::Ended(Ended::Exited(0))), [Action::Release(Ending::Stopped)]);
        assert_eq!(finished(&run.at(8, Input::Released(Ok(true)))), Some(Exit::TimedOut));
        // A lock found gone at the release is still said so.
        let mut run = timed();
        run.at(7, Input::Tick);
        run.at(8, Input::Ended(Ended::Killed(15)));
        assert_eq!(finished(&run.at(8, Input::Released(Ok(false)))), Some(Exit::LockLost));
    }

    #[test]
    fn a_command_that_ends_in_time_is_unaffected_by_its_timeout() {
        let mut run = timed();
        assert_eq!(run.at(6, Input::Ended(Ended::Exited(3))), [Action::Release(Ending::Released)]);
        assert_eq!(finished(&run.at(6, Input::Released(Ok(true)))), Some(Exit::Command(3)));
        assert_eq!(run.supervisor.deadline(), None);
        // No timeout: no deadline but the lock's.
        let run = Fake::new().running();
        assert_eq!(run.supervisor.deadline(), Some(run.start + TTL / 3));
    }

    #[test]
    fn a_command_the_guardian_killed_for_its_timeout_exits_123() {
        // rlock was frozen from 3 s to 20 s: no tick, but the guardian's SIGKILL at 18 s.
        let mut run = timed();
        assert_eq!(run.at(20, Input::Signal(libc::SIGCONT)), [Action::Signal(Signal::SIGCONT)]);
        assert_eq!(run.at(20, Input::Ended(Ended::Killed(9))), [Action::Release(Ending::Stopped)]);
        assert_eq!(finished(&run.at(20, Input::Released(Ok(true)))), Some(Exit::TimedOut));
        // Before the guardian's time, a command's end is its own, even past the timeout's SIGTERM
        // time (it ended before rlock could act).
        let mut run = timed();
        run.at(8, Input::Ended(Ended::Exited(0)));
        assert_eq!(finished(&run.at(8, Input::Released(Ok(true)))), Some(Exit::Command(0)));
    }

    #[test]
    fn a_lock_lost_during_the_timeouts_grace_exits_124_and_kills_no_later() {
        let mut run = timed();
        run.at(7, Input::Tick);
        // Lost 1 s into the grace: no second SIGTERM, the SIGKILL stays at 17 s.
        let actions = run.at(8, Input::Refresh(Refresh::NotOurs));
        assert!(Fake::signals(&actions).is_empty(), "{actions:?}");
        let Some(Action::Say(Note::Lost { kill_in, .. })) = actions.last() else { panic!() };
        assert_eq!(*kill_in, 9 * SEC);
        assert_eq!(run.supervisor.deadline(), Some(run.start + 17 * SEC));
        assert_eq!(Fake::signals(&run.at(17, Input::Tick)), [Signal::SIGKILL]);
        // Never released; the lock's loss is the exit.
        let actions = run.at(17, Input::Ended(Ended::Killed(9)));
        assert!(!actions.iter().any(|action| matches!(action, Action::Release(_))), "{actions:?}");
        assert_eq!(finished(&actions), Some(Exit::LockLost));
    }

    #[test]
    fn a_timeout_that_comes_while_the_lock_is_being_lost_changes_nothing() {
        let mut run = timed();
        let actions = run.at(6, Input::Refresh(Refresh::NotOurs));
        assert_eq!(Fake::signals(&actions), [Signal::SIGTERM]);
        // The SIGKILL due at 16 s; the timeout (7 s) is no deadline any more.
        assert_eq!(run.supervisor.deadline(), Some(run.start + 16 * SEC));
        assert!(run.at(7, Input::Tick).is_empty());
        assert_eq!(Fake::signals(&run.at(16, Input::Tick)), [Signal::SIGKILL]);
        assert_eq!(finished(&run.at(16, Input::Ended(Ended::Exited(0)))), Some(Exit::LockLost));
    }

    #[test]
    fn a_timeout_stops_what_the_command_left_behind_too() {
        let mut run = timed();
        assert!(matches!(&run.at(3, Input::LeftBehind(vec![50]))[..], [Action::Say(_)]));
        assert_eq!(Fake::signals(&run.at(7, Input::Tick)), [Signal::SIGTERM]);
        assert!(run.at(8, Input::LeftBehind(vec![50])).is_empty(), "the SIGKILL is due later");
        assert_eq!(Fake::signals(&run.at(17, Input::Tick)), [Signal::SIGKILL]);
        assert_eq!(Fake::signals(&run.at(17, Input::LeftBehind(vec![51]))), [Signal::SIGKILL]);
        assert_eq!(run.at(18, Input::Ended(Ended::Exited(0))), [Action::Release(Ending::Stopped)]);
        assert_eq!(finished(&run.at(18, Input::Released(Ok(true)))), Some(Exit::TimedOut));
    }

    #[test]
    fn a_command_with_the_terminal_is_stopped_and_continued_as_a_job() {
        let mut run = Fake::new();
        run.at(0, Input::Acquired { fence: 7, lease: Lease::new(TTL, run.start, TTL) });
        run.at(0, Input::Started { pid: 42, terminal: true });
        // Ctrl-Z reaches the command's group only: rlock takes the terminal and stops too.
        let actions = run.at(1, Input::Stopped(libc::SIGTSTP));
        assert_eq!(actions, [Action::TakeTerminal, Action::StopSelf]);
        // `fg` continues rlock: the command gets the terminal back, then is continued.
        let actions = run.at(5, Input::Signal(libc::SIGCONT));
        assert_eq!(actions, [Action::GiveTerminal, Action::Signal(Signal::SIGCONT)]);
        // A stop sent to rlock itself: the command's group first, then the terminal, then rlock.
        let actions = run.at(6, Input::Signal(libc::SIGTSTP));
        let stop = [Action::Signal(Signal::SIGTSTP), Action::TakeTerminal, Action::StopSelf];
        assert_eq!(actions, stop);
        assert!(run.at(6, Input::Stopped(libc::SIGTSTP)).is_empty());
        run.at(7, Input::Signal(libc::SIGCONT));
        // A SIGSTOP from elsewhere is no job stop: said, as without a terminal.
        let actions = run.at(8, Input::Stopped(libc::SIGSTOP));
        assert!(matches!(&actions[..], [Action::Say(Note::Stopped { .. })]), "{actions:?}");
        run.at(9, Input::Signal(libc::SIGCONT));
        // Ctrl-C reaches the command only; when it ends, the terminal is rlock's again, once.
        let actions = run.at(9, Input::Ended(Ended::Killed(libc::SIGINT)));
        assert_eq!(actions, [Action::TakeTerminal, Action::Release(Ending::Released)]);
        assert_eq!(finished(&run.at(9, Input::Released(Ok(true)))), Some(Exit::Signal(2)));
    }

    #[test]
    fn the_terminal_is_taken_back_when_the_leader_ends_leaving_processes_behind() {
        let mut run = Fake::new();
        run.at(0, Input::Acquired { fence: 7, lease: Lease::new(TTL, run.start, TTL) });
        run.at(0, Input::Started { pid: 42, terminal: true });
        let actions = run.at(1, Input::LeftBehind(vec![50]));
        assert_eq!(actions[0], Action::TakeTerminal);
        // After that, a continue gives nothing back: the leader is gone.
        assert_eq!(run.at(2, Input::Signal(libc::SIGCONT)), [Action::Signal(Signal::SIGCONT)]);
        assert_eq!(run.at(3, Input::Ended(Ended::Exited(0))), [Action::Release(Ending::Released)]);
    }

    const SEC: Duration = Duration::from_secs(1);
    const MS: Duration = Duration::from_millis(1);
}
