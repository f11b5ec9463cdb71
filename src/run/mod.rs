//! `rlock run`: take the lock, run the command under it, keep the lock alive, release it, and exit
//! with the command's status. One loop here carries out what the [`supervisor`] decides, and owns
//! everything a run needs: the token, the lock client, the command, the guardian and the
//! keep-alive. The other threads (the signal listener, the waiter, the keep-alive) only report,
//! each as an [`Event`] on one channel.

pub(crate) mod keepalive;
pub(crate) mod signals;
pub(crate) mod supervisor;
pub(crate) mod wait;

use std::collections::VecDeque;
use std::ffi::OsString;
use std::os::unix::process::ExitStatusExt;
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::time::{Duration, Instant};

use anyhow::{Result, bail};

use crate::exit::Exit;
use crate::lock::{End, Ending, Holder, Lock, LockKeys, Mode, Status, Token};
use crate::process::child::{Change, Child, Ended};
use crate::process::command::Command;
use crate::process::descendants;
use crate::process::guardian::Guardian;
use crate::process::terminal::Terminal;
use crate::redis::Endpoint;
use crate::report;
use crate::report::progress;
use crate::timing::{Lease, REDIS_TIMEOUT};
use keepalive::{KeepAlive, Refresh};
use signals::Listener;
use supervisor::{Action, Input, Settings, Supervisor};
use wait::{Begun, Outcome, Patience};

/// What `rlock run` was asked to do.
#[derive(Debug, Clone)]
pub struct RunRequest {
    pub keys: LockKeys,
    pub ttl: Duration,
    /// Exclusive, shared or limited.
    pub mode: Mode,
    pub patience: Patience,
    pub conflict_exit: u8,
    pub kill_grace: Duration,
    /// `--timeout`: how long the command may run, from its start.
    pub timeout: Option<Duration>,
    /// How many replicas must acknowledge the lock when it is taken and refreshed.
    pub replicas: u32,
    /// `--label`: what status, list and log call this hold ('' for none).
    pub label: String,
    /// `--progress`: how often a wait off a terminal says how it goes (`None`: never).
    pub progress: Option<Duration>,
    pub command: Vec<OsString>,
}

/// What the helper threads report.
pub(crate) enum Event {
    /// rlock received this signal.
    Signal(i32),
    /// SIGCHLD: the command may have stopped or ended.
    Child,
    /// SIGWINCH: the terminal was resized.
    Resized,
    /// The wait for the lock ended.
    Wait(Box<Outcome>),
    /// A refresh's result.
    Refresh(Refresh),
}

impl Event {
    fn waited(outcome: Outcome) -> Event {
        Event::Wait(Box::new(outcome))
    }
}

/// Runs the request on `servers` and returns how rlock should exit.
pub fn run(servers: Vec<Endpoint>, request: RunRequest) -> Result<Exit> {
    if request.command.is_empty() {
        bail!("nothing to run: put the command after --, as in: rlock run KEY -- ./deploy.sh");
    }
    // A command that cannot be found is reported before any lock is taken.
    let command = match Command::find(&request.command) {
        Ok(command) => command,
        Err(err) => {
            report::error(&err.message);
            return Ok(err.exit);
        }
    };
    // From here on a signal waits for the signal thread: it cannot end rlock with a lock taken.
    signals::block(true)?;
    // What the command leaves behind becomes rlock's, to wait for and to stop with it.
    if let Err(err) = descendants::adopt() {
        report::detail(format_args!("cannot become the subreaper of the command ({err})"));
    }
    let (events, inbox) = mpsc::channel();
    let _listener = Listener::start(true, events.clone())?;
    let token = Token::generate();
    let lock = Lock::new(servers, request.keys.clone(), REDIS_TIMEOUT)
        .with_mode(Some(request.mode))
        .with_replicas(request.replicas);
    let take = wait::Request {
        token: token.clone(),
        ttl: request.ttl,
        holder: Holder::for_command(&request.command).labelled(&request.label),
        patience: request.patience,
        grace: request.kill_grace,
        progress: request.progress,
    };
    // The first try is made here; if it settles the wait, its outcome is the first event.
    let (waiting, first) = match wait::start(lock, take, reporter(&events, Event::waited))? {
        Begun::Done(outcome) => (None, Some(Event::waited(outcome))),
        Begun::Waiting(waiting) => (Some(waiting), None),
    };
    // The guardian, if a command may run: it starts after the first try, so that it does not
    // compete with that round trip for the CPU, and before the command.
    let runs = match &first {
        Some(Event::Wait(outcome)) => matches!(**outcome, Outcome::Acquired { .. }),
        _ => true,
    };
    let guardian = runs.then(start_guardian).flatten();
    let mut supervisor = Supervisor::new(Settings {
        name: request.keys.name.clone(),
        ttl: request.ttl,
        kill_grace: request.kill_grace,
        timeout: request.timeout,
        conflict_exit: request.conflict_exit,
        rlock: std::process::id(),
    });
    let mut driver = Driver {
        request,
        token,
        command,
        events,
        waiting,
        held: None,
        child: None,
        ended: None,
        keepalive: None,
        guardian,
        terminal: None,
    };
    let exit = driver.drive(&mut supervisor, &inbox, first);
    // The terminal is rlock's again, however the run ended (the supervisor took it back when
    // the command ended, if it did).
    driver.take_terminal();
    // The lock is handed on; what is left: let the guardian go, and collect the command.
    if let Some(guardian) = driver.guardian.take() {
        guardian.dismiss();
    }
    if let Some(child) = driver.child.take() {
        child.reap();
    }
    Ok(exit)
}

/// The guardian, or a notice that there is none.
fn start_guardian() -> Option<Guardian> {
    Guardian::start()
        .map_err(|err| {
            report::notice(format_args!(
                "cannot start the guardian process ({err}): if rlock is killed, its command \
                 goes on without the lock"
            ))
        })
        .ok()
}

/// A callback for a helper thread that sends what it reports as an event.
fn reporter<T: 'static>(
    events: &Sender<Event>,
    wrap: fn(T) -> Event,
) -> impl Fn(T) + Send + 'static {
    let events = events.clone();
    move |report| {
        let _ = events.send(wrap(report));
    }
}

/// The resources of a run, and how each action is carried out.
struct Driver {
    request: RunRequest,
    token: Token,
    command: Command,
    events: Sender<Event>,
    waiting: Option<wait::Wait>,
    /// The lock once ours, and its lease.
    held: Option<(Lock, Lease)>,
    child: Option<Child>,
    /// How the command's leader ended, while processes it left behind still run.
    ended: Option<Ended>,
    keepalive: Option<KeepAlive>,
    guardian: Option<Guardian>,
    /// The terminal whose foreground the command was given, if it was.
    terminal: Option<Terminal>,
}

impl Driver {
    /// The loop: one event (or deadline) at a time, each turned into actions, until the
    /// supervisor says how rlock exits.
    fn drive(
        &mut self,
        supervisor: &mut Supervisor,
        inbox: &Receiver<Event>,
        mut first: Option<Event>,
    ) -> Exit {
        loop {
            let event = match (first.take(), supervisor.deadline()) {
                (Some(event), _) => Ok(event),
                (None, Some(at)) => {
                    inbox.recv_timeout(at.saturating_duration_since(Instant::now()))
                }
                (None, None) => inbox.recv().map_err(|_| RecvTimeoutError::Disconnected),
            };
            let mut inputs: VecDeque<Input> = match event {
                Ok(event) => self.inputs(event).into(),
                Err(RecvTimeoutError::Timeout) => VecDeque::from([Input::Tick]),
                // The driver holds a sender itself: this cannot happen.
                Err(RecvTimeoutError::Disconnected) => return Exit::Failure,
            };
            while let Some(input) = inputs.pop_front() {
                for action in supervisor.handle(input, Instant::now()) {
                    if let Action::Finish(exit) = action {
                        return exit;
                    }
                    inputs.extend(self.perform(action));
                }
            }
        }
    }

    /// What an event from a helper thread means for the supervisor.
    fn inputs(&mut self, event: Event) -> Vec<Input> {
        match event {
            Event::Signal(signal) => vec![Input::Signal(signal)],
            Event::Resized => {
                progress::redraw();
                Vec::new()
            }
            Event::Child => {
                self.check_guardian();
                let Some(child) = self.child else { return Vec::new() };
                let mut inputs = Vec::new();
                while self.ended.is_none()
                    && let Some(change) = child.check()
                {
                    match change {
                        Change::Stopped(signal) => inputs.push(Input::Stopped(signal)),
                        Change::Ended(ended) => self.ended = Some(ended),
                    }
                }
                // The command has ended once what it left behind has ended too.
                if let Some(ended) = self.ended {
                    let left = self.left_behind();
                    inputs.push(if left.is_empty() {
                        Input::Ended(ended)
                    } else {
                        Input::LeftBehind(left)
                    });
                }
                inputs
            }
            Event::Wait(outcome) => match *outcome {
                Outcome::Acquired { fence, lease, lock } => {
                    self.waiting = None;
                    self.held = Some((lock, lease));
                    vec![Input::Acquired { fence, lease }]
                }
                Outcome::GaveUp(info) => vec![Input::GaveUp(info)],
                Outcome::Failed(err) => vec![Input::WaitFailed(format!("{err:#}"))],
            },
            Event::Refresh(refresh) => vec![Input::Refresh(refresh)],
        }
    }

    /// Carries `action` out; what came of it, if the supervisor must hear it.
    fn perform(&mut self, action: Action) -> Option<Input> {
        match action {
            Action::Start { fence } => Some(self.start(fence)),
            Action::KeepAlive => self.keep_alive(),
            Action::Abandon => {
                if let Some(waiting) = self.waiting.take() {
                    waiting.abandon();
                }
                None
            }
            Action::Signal(signal) => {
                if let Some(child) = &self.child {
                    child.signal_group(signal);
                    descendants::signal(&self.left_behind(), signal);
                }
                None
            }
            Action::Guard(at) => {
                if let Some(guardian) = &self.guardian
                    && guardian.deadline(at).is_err()
                {
                    self.check_guardian();
                }
                None
            }
            Action::StopSelf => {
                signals::stop_self();
                None
            }
            Action::TakeTerminal => {
                self.take_terminal();
                None
            }
            Action::GiveTerminal => {
                if let (Some(terminal), Some(child)) = (&self.terminal, &self.child) {
                    terminal.give(child.group());
                }
                None
            }
            Action::Release(ending) => Some(Input::Released(self.release(ending))),
            Action::Say(note) => {
                note.show();
                None
            }
            Action::Finish(_) => None,
        }
    }

    /// Starts the command with the fence, and the keep-alive.
    fn start(&mut self, fence: u64) -> Input {
        let env = [
            ("RLOCK_KEY", self.request.keys.name.clone()),
            ("RLOCK_TOKEN", self.token.secret().to_owned()),
            ("RLOCK_FENCE", fence.to_string()),
            ("RLOCK_TTL_MS", crate::lock::millis(self.request.ttl).to_string()),
        ];
        // The command gets the terminal's foreground if rlock has it now (not if it was put in
        // the background while it waited).
        self.terminal = Terminal::foreground();
        let foreground = self.terminal.is_some();
        let child = match signals::unblocked_for(true, || self.command.start(&env, foreground)) {
            Ok(child) => child,
            Err(err) => {
                // A command that took the terminal but could not be executed is gone.
                if let Some(terminal) = self.terminal.take() {
                    terminal.reclaim();
                }
                return Input::StartFailed { exit: err.exit, message: err.message };
            }
        };
        self.child = Some(child);
        if let Some(guardian) = &self.guardian {
            let _ = guardian.watch(child.pid());
        }
        Input::Started { pid: child.pid(), terminal: foreground }
    }

    /// Gives the terminal's foreground back to rlock's group, if the command's group has it.
    fn take_terminal(&self) {
        if let (Some(terminal), Some(child)) = (&self.terminal, &self.child) {
            terminal.take_back(child.group());
        }
    }

    /// Whether the guardian was killed (only SIGKILL can do it): if so, says so, once, and goes
    /// on without it; the lock stays held and the command runs on.
    fn check_guardian(&mut self) {
        let Some(status) = self.guardian.as_mut().and_then(Guardian::ended) else { return };
        let pid = self.guardian.take().map_or(0, |guardian| guardian.pid());
        let how = match (status.signal(), status.code()) {
            (Some(signal), _) => format!("was killed by {}", report::signal_name(signal)),
            (None, Some(code)) => format!("exited with code {code}"),
            (None, None) => "ended".to_owned(),
        };
        report::notice(format_args!(
            "the guardian process (pid {pid}) {how}: rlock goes on and keeps the lock, but if \
             rlock is killed now, its command goes on without the lock"
        ));
    }

    /// The processes the command left behind that still run: rlock's children but for the
    /// command's leader and the guardian.
    fn left_behind(&self) -> Vec<i32> {
        let known =
            [self.child.map(|child| child.pid()), self.guardian.as_ref().map(Guardian::pid)];
        descendants::left_behind(&known.into_iter().flatten().collect::<Vec<_>>())
    }

    /// Starts the keep-alive thread.
    fn keep_alive(&mut self) -> Option<Input> {
        let Some((lock, lease)) = &self.held else {
            return Some(Input::CannotKeep("the lock is not at hand".into()));
        };
        let report = reporter(&self.events, Event::Refresh);
        match KeepAlive::start(lock.another(), self.token.clone(), *lease, report) {
            Ok(keepalive) => {
                self.keepalive = Some(keepalive);
                None
            }
            Err(err) => Some(Input::CannotKeep(format!("cannot start the refresh thread ({err})"))),
        }
    }

    /// Stops the keep-alive, then releases the lock (handing it to the next waiter), the lock's
    /// history saying the hold ended as `ending` says, with the command's status: the one place
    /// a run releases its lock.
    fn release(&mut self, ending: Ending) -> Result<bool, String> {
        if let Some(keepalive) = self.keepalive.take() {
            keepalive.stop();
        }
        let Some((lock, _)) = self.held.as_mut() else {
            return Err("the lock is not at hand".into());
        };
        lock.set_timeout(REDIS_TIMEOUT);
        // The connection sat idle while the command ran: if it broke, try once more on a new one.
        let status = match self.ended {
            Some(Ended::Exited(code)) => Some(Status::Exited(code)),
            Some(Ended::Killed(signal)) => Some(Status::Killed(signal)),
            Some(Ended::Unknown) | None => None,
        };
        let end = End { ending, status };
        lock.release_as(&self.token, end)
            .or_else(|_| lock.release_as(&self.token, end))
            .map_err(|err| format!("{err:#}"))
    }
}

/// How a wait for `acquire` ended.
pub(crate) enum Taken {
    Acquired { fence: u64, lease: Lease, lock: Lock },
    GaveUp(Option<Option<crate::lock::LockInfo>>),
    Interrupted(i32),
}

/// Waits for the lock as `request` says, for `acquire`: a signal gives the wait up (leaving the
/// queue).
pub(crate) fn take(lock: Lock, request: wait::Request) -> Result<Taken> {
    signals::block(false)?;
    let (events, inbox) = mpsc::channel();
    let _listener = Listener::start(false, events.clone())?;
    let waiting = match wait::start(lock, request, reporter(&events, Event::waited))? {
        Begun::Done(outcome) => return taken(outcome),
        Begun::Waiting(waiting) => waiting,
    };
    loop {
        match inbox.recv() {
            Ok(Event::Signal(signal)) => {
                waiting.abandon();
                return Ok(Taken::Interrupted(signal));
            }
            Ok(Event::Wait(outcome)) => return taken(*outcome),
            Ok(Event::Resized) => progress::redraw(),
            Ok(Event::Child | Event::Refresh(_)) => {}
            Err(_) => bail!("the wait for the lock ended without an answer"),
        }
    }
}

fn taken(outcome: Outcome) -> Result<Taken> {
    match outcome {
        Outcome::Acquired { fence, lease, lock } => Ok(Taken::Acquired { fence, lease, lock }),
        Outcome::GaveUp(info) => Ok(Taken::GaveUp(info)),
        Outcome::Failed(err) => Err(err),
    }
}
