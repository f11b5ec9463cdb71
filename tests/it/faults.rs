//! Fault injection: many rlock processes take turns on one key, each turn a read-modify-write of a
//! counter in a store that refuses any request carrying a fence lower than the highest it has
//! seen (as Kleppmann's fenced storage does), while holders are SIGKILLed, holders are frozen
//! (SIGSTOP) past their ttl and let go on, redis-server is killed and started again empty, and a
//! quorum server goes down. Every phase is bounded in time; each reports turns completed, faults
//! injected, writes refused, lost updates and late writes accepted, and the last two must be 0.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

use crate::fixture::{RedisServer, Sentinel};
use crate::harness::rlock_at;
use crate::partition::Partition;

const KEY: &str = "counter";
/// Exit status of a turn whose request the store refused (its fence was too low).
const REFUSED: i32 = 3;

/// The fenced store: a counter, the highest fence seen, and logs of what was accepted and refused.
/// Requests go through `store.sh`, one at a time (flock).
pub(crate) struct Store {
    dir: tempfile::TempDir,
}

impl Store {
    pub(crate) fn new() -> Store {
        Store::with_turn("")
    }

    /// A store whose turns do their read-modify-write in a step sent to the background (`&`),
    /// or, with `setsid`, in a session of its own, the turn's shell ending at once.
    fn left_behind(setsid: bool) -> Store {
        Store::with_turn(if setsid { "setsid" } else { "background" })
    }

    fn with_turn(how: &str) -> Store {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path();
        std::fs::write(path.join("counter"), "0\n").unwrap();
        std::fs::write(path.join("fence"), "0\n").unwrap();
        std::fs::write(path.join("accepted"), "").unwrap();
        std::fs::write(path.join("refused"), "").unwrap();
        std::fs::write(path.join("turns"), "").unwrap();
        // A request: `store.sh read` prints the counter, `store.sh write V` sets it; either is
        // refused (exit 3) when $RLOCK_FENCE is lower than a fence the store has seen.
        std::fs::write(
            path.join("store.sh"),
            r#"dir=$(dirname "$0")
exec 9>>"$dir/lock"
flock 9
last=$(cat "$dir/fence")
if [ "$RLOCK_FENCE" -lt "$last" ]; then
  echo "$1 $RLOCK_FENCE $last $TURN_ID" >> "$dir/refused"
  exit 3
fi
# (Files are replaced, never rewritten in place, so a request killed half-way leaves them whole;
# and a write is logged only once it is made, so a killed one is never logged without effect.)
echo "$RLOCK_FENCE" > "$dir/fence.new" && mv "$dir/fence.new" "$dir/fence"
case $1 in
  read) cat "$dir/counter" ;;
  write)
    echo "$2" > "$dir/counter.new" && mv "$dir/counter.new" "$dir/counter"
    echo "$RLOCK_FENCE $2 $TURN_ID" >> "$dir/accepted" ;;
esac
"#,
        )
        .unwrap();
        // A turn: read, work a little, write what was read plus one; stamped in and out.
        let turn = r#"dir=$(dirname "$0")
echo "in $TURN_ID $(date +%s%N)" >> "$dir/turns"
v=$(sh "$dir/store.sh" read) || exit 3
sleep 0.05
sh "$dir/store.sh" write $((v + 1)) || exit 3
echo "out $TURN_ID $(date +%s%N)" >> "$dir/turns"
"#;
        std::fs::write(path.join("body.sh"), turn).unwrap();
        let turn = match how {
            "background" => r#"sh "$(dirname "$0")/body.sh" & exit 0"#,
            "setsid" => r#"setsid sh "$(dirname "$0")/body.sh" & exit 0"#,
            _ => turn,
        };
        std::fs::write(path.join("turn.sh"), turn).unwrap();
        Store { dir }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    pub(crate) fn lines(&self, name: &str) -> Vec<String> {
        std::fs::read_to_string(self.path(name)).unwrap().lines().map(str::to_owned).collect()
    }

    /// (fence, value written) of every accepted write, in the order the store took them.
    fn accepted(&self) -> Vec<(u64, u64)> {
        self.lines("accepted")
            .iter()
            .map(|line| {
                let mut words = line.split_whitespace().map(|word| word.parse::<u64>().unwrap());
                (words.next().unwrap(), words.next().unwrap())
            })
            .collect()
    }
}

/// What one phase did.
#[derive(Debug, Default)]
pub(crate) struct Report {
    pub(crate) turns: usize,
    faults: u64,
    refused: usize,
    lost_updates: u64,
    late_writes_accepted: usize,
    /// Turns that started while another that went on to finish was inside.
    pub(crate) overlaps: usize,
    pub(crate) exits: HashMap<i32, usize>,
    failures: Vec<String>,
}

impl Report {
    pub(crate) fn of(
        store: &Store,
        faults: u64,
        exits: HashMap<i32, usize>,
        holders: &Holders,
    ) -> Report {
        let accepted = store.accepted();
        // Every accepted write is its turn's read plus one: a value written twice is an update
        // lost (two turns read the same value). (A turn killed between its write and the log
        // leaves a gap instead, which loses nothing.)
        let values: std::collections::HashSet<u64> =
            accepted.iter().map(|(_, value)| *value).collect();
        let lost_updates = (accepted.len() - values.len()) as u64;
        // The store's own rule, checked independently: no accepted write has a fence lower than
        // one accepted before it.
        let mut highest = 0;
        let late_writes_accepted = accepted
            .iter()
            .filter(|(fence, _)| {
                let late = *fence < highest;
                highest = highest.max(*fence);
                late
            })
            .count();
        Report {
            turns: accepted.len(),
            faults,
            refused: store.lines("refused").len(),
            lost_updates,
            late_writes_accepted,
            overlaps: overlaps(store).len(),
            exits,
            failures: holders.failures.lock().unwrap().clone(),
        }
    }

    pub(crate) fn check(&self, phase: &str) {
        eprintln!(
            "fault injection, {phase}: {} turns completed, {} faults injected, {} requests refused \
             by fence, {} overlaps, {} lost updates, {} late writes accepted; rlock exits {:?} \
             {:?}",
            self.turns,
            self.faults,
            self.refused,
            self.overlaps,
            self.lost_updates,
            self.late_writes_accepted,
            self.exits,
            self.failures
        );
        assert_eq!(self.lost_updates, 0, "{phase}: {self:?}");
        assert_eq!(self.late_writes_accepted, 0, "{phase}: {self:?}");
        assert!(self.faults > 0, "{phase}: no fault was injected: {self:?}");
    }
}

/// The rlock processes of a phase: pid -> turn id of those running, for the fault injector,
/// turn id -> exit code of those done, and turn id -> the loop (0, 1, ...) that took it and when
/// its rlock was started (ns since the epoch, as the turns stamp themselves).
#[derive(Default)]
pub(crate) struct Holders {
    turns: Mutex<HashMap<i32, u64>>,
    pub(crate) codes: Mutex<HashMap<u64, i32>>,
    pub(crate) loops: Mutex<HashMap<u64, usize>>,
    pub(crate) started: Mutex<HashMap<u64, u128>>,
    /// Why rlock failed (exit 125), the first few different reasons.
    failures: Mutex<Vec<String>>,
    /// The turns that were handed a lock too late to use, and gave it back (and waited on).
    pub(crate) gave_back: Mutex<Vec<u64>>,
    /// The `--kill-grace` of every turn, when not [`KILL_GRACE`].
    kill_grace: Option<&'static str>,
}

/// Every turn's `rlock run -t 1s -w 20s --kill-grace 500ms`, unless [`Holders::kill_grace`] says
/// otherwise.
const KILL_GRACE: &str = "500ms";

impl Holders {
    /// Turns run with this `--kill-grace`.
    pub(crate) fn with_kill_grace(grace: &'static str) -> Holders {
        Holders { kill_grace: Some(grace), ..Holders::default() }
    }
}

/// Runs `workers` loops of turns against `url` until `until`, while `inject` runs on its own
/// thread (it is told when to stop); returns how rlock exited, by code.
pub(crate) fn take_turns(
    urls: &[String],
    global: &[&str],
    store: &Store,
    workers: usize,
    until: Instant,
    holders: &Holders,
    inject: impl FnOnce(&AtomicBool) + Send,
) -> HashMap<i32, usize> {
    let next_turn = AtomicU64::new(1);
    let exits = Mutex::new(HashMap::new());
    let done = AtomicBool::new(false);
    std::thread::scope(|scope| {
        let injector = scope.spawn(|| inject(&done));
        let loops: Vec<_> = (0..workers)
            .map(|worker| {
                let url = urls[worker % urls.len()].as_str();
                let next_turn = &next_turn;
                let exits = &exits;
                scope.spawn(move || {
                    while Instant::now() < until {
                        let turn = next_turn.fetch_add(1, Ordering::SeqCst);
                        holders.loops.lock().unwrap().insert(turn, worker);
                        let now =
                            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH);
                        holders.started.lock().unwrap().insert(turn, now.unwrap().as_nanos());
                        let running = rlock_at(url)
                            .args(global)
                            .args([
                                "run",
                                "-t",
                                "1s",
                                "-w",
                                "20s",
                                "--kill-grace",
                                holders.kill_grace.unwrap_or(KILL_GRACE),
                                KEY,
                                "--",
                            ])
                            .arg("sh")
                            .arg_path(&store.path("turn.sh"))
                            .env("TURN_ID", turn.to_string())
                            .spawn();
                        let pid = running.pid().as_raw();
                        holders.turns.lock().unwrap().insert(pid, turn);
                        let out = running.finish(Duration::from_secs(60));
                        holders.turns.lock().unwrap().remove(&pid);
                        let code = out.status.code().unwrap_or(-1);
                        if out.stderr.contains("Redis answered too late") {
                            holders.gave_back.lock().unwrap().push(turn);
                        }
                        if code == 125 {
                            let mut failures = holders.failures.lock().unwrap();
                            let mut lines = out.stderr.lines();
                            let why = lines
                                .find(|line| !line.starts_with("rlock: waiting for "))
                                .unwrap_or_default()
                                .to_owned();
                            if !failures.contains(&why) && failures.len() < 5 {
                                failures.push(why);
                            }
                        }
                        holders.codes.lock().unwrap().insert(turn, code);
                        *exits.lock().unwrap().entry(code).or_insert(0) += 1;
                    }
                })
            })
            .collect();
        for worker in loops {
            worker.join().unwrap();
        }
        done.store(true, Ordering::SeqCst);
        injector.join().unwrap();
    });
    exits.into_inner().unwrap()
}

/// The pid of the rlock holding the lock now, if one of ours does (by its holder record on any of
/// `urls`).
fn holder(urls: &[String], holders: &Holders) -> Option<i32> {
    urls.iter().find_map(|url| {
        let client = redis::Client::open(url.as_str()).ok()?;
        let mut con = client.get_connection_with_timeout(Duration::from_millis(300)).ok()?;
        let pid: Option<i32> = redis::cmd("HGET")
            .arg(format!("{{rlock:{KEY}}}}}holder"))
            .arg("pid")
            .query(&mut con)
            .ok()?;
        pid.filter(|pid| holders.turns.lock().unwrap().contains_key(pid))
    })
}

/// The process group of the command rlock `pid` runs (its child that leads a group of its own).
fn command_group(pid: i32) -> Option<Pid> {
    let tasks = std::fs::read_dir(format!("/proc/{pid}/task")).ok()?;
    tasks
        .filter_map(|task| std::fs::read_to_string(task.ok()?.path().join("children")).ok())
        .flat_map(|children| {
            children.split_whitespace().filter_map(|child| child.parse().ok()).collect::<Vec<i32>>()
        })
        .map(Pid::from_raw)
        .find(|&child| nix::unistd::getpgid(Some(child)) == Ok(child))
}

/// Sleeps `duration` in short steps, returning early (false) once `done` is set.
pub(crate) fn nap(duration: Duration, done: &AtomicBool) -> bool {
    let until = Instant::now() + duration;
    while Instant::now() < until {
        if done.load(Ordering::SeqCst) {
            return false;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    true
}

fn phase_length() -> Duration {
    Duration::from_secs(8)
}

#[test]
fn holders_killed_with_sigkill_lose_no_update() {
    let server = RedisServer::start();
    let store = Store::new();
    let holders = Holders::default();
    let faults = AtomicU64::new(0);
    let urls = [server.url()];
    let exits =
        take_turns(&urls, &[], &store, 6, Instant::now() + phase_length(), &holders, |done| {
            while nap(Duration::from_millis(600), done) {
                if let Some(pid) = holder(&urls, &holders)
                    && kill(Pid::from_raw(pid), Signal::SIGKILL).is_ok()
                {
                    faults.fetch_add(1, Ordering::SeqCst);
                }
            }
        });
    let report = Report::of(&store, faults.load(Ordering::SeqCst), exits, &holders);
    report.check("holders SIGKILLed");
    assert!(report.turns > 5, "{report:?}");
    assert_eq!(report.refused, 0, "no holder outlives its lock here: {report:?}");
    assert_no_overlap(&store);
}

/// No two turns ran at once: no turn started while one that later finished was inside.
fn assert_no_overlap(store: &Store) {
    let overlaps = overlaps(store);
    assert!(overlaps.is_empty(), "turns that started while another ran: {overlaps:?}");
}

/// The turns that started while another that went on to finish was inside (a turn killed
/// half-way never stamps out: it is over once another starts).
fn overlaps(store: &Store) -> Vec<String> {
    let stamps: Vec<(String, String)> = store
        .lines("turns")
        .iter()
        .map(|line| {
            let mut words = line.split_whitespace().map(str::to_owned);
            (words.next().unwrap(), words.next().unwrap())
        })
        .collect();
    let finished: std::collections::HashSet<&String> =
        stamps.iter().filter(|(what, _)| what == "out").map(|(_, turn)| turn).collect();
    let mut inside: Option<&String> = None;
    let mut overlaps = Vec::new();
    for (what, turn) in &stamps {
        if what == "in" {
            if let Some(other) = inside.filter(|other| finished.contains(other)) {
                overlaps.push(format!("{turn} started while {other} ran"));
            }
            inside = Some(turn);
        } else {
            inside = None;
        }
    }
    overlaps
}

#[test]
fn holders_frozen_past_their_ttl_are_stopped_or_refused() {
    let server = RedisServer::start();
    let store = Store::new();
    let holders = Holders::default();
    let faults = AtomicU64::new(0);
    let frozen_turns = Mutex::new(Vec::new());
    let urls = [server.url()];
    let exits =
        take_turns(&urls, &[], &store, 5, Instant::now() + phase_length(), &holders, |done| {
            while nap(Duration::from_millis(400), done) {
                let Some(pid) = holder(&urls, &holders) else { continue };
                let Some(group) = command_group(pid) else { continue };
                // A paused machine: rlock and its command stop together, for twice the ttl.
                let rlock = Pid::from_raw(pid);
                if kill(rlock, Signal::SIGSTOP).is_err() {
                    continue;
                }
                let _ = nix::sys::signal::killpg(group, Signal::SIGSTOP);
                faults.fetch_add(1, Ordering::SeqCst);
                frozen_turns.lock().unwrap().push(holders.turns.lock().unwrap().get(&pid).copied());
                std::thread::sleep(Duration::from_secs(2));
                let _ = nix::sys::signal::killpg(group, Signal::SIGCONT);
                let _ = kill(rlock, Signal::SIGCONT);
                nap(Duration::from_millis(600), done);
            }
        });
    let report = Report::of(&store, faults.load(Ordering::SeqCst), exits, &holders);
    report.check("holders frozen past their ttl");
    assert!(report.turns > 5, "{report:?}");
    // Each frozen holder either found its lock gone and was stopped (124), or had its late request
    // refused, or finished before anyone else came to the store.
    assert!(report.exits.get(&124).copied().unwrap_or(0) + report.refused > 0, "{report:?}");
}

#[test]
fn a_redis_restart_without_persistence_stops_the_holder() {
    let mut server = RedisServer::start();
    let store = Store::new();
    let holders = Holders::default();
    let url = server.url();
    let urls = [url.clone()];
    let restarted = Mutex::new(None);
    let server_ref = &mut server;
    let exits = take_turns(
        std::slice::from_ref(&url),
        &[],
        &store,
        4,
        Instant::now() + phase_length(),
        &holders,
        |done| {
            // Once turns are going, kill Redis while someone holds the lock, and start it empty.
            if !nap(Duration::from_secs(2), done) {
                return;
            }
            let deadline = Instant::now() + Duration::from_secs(3);
            while holder(&urls, &holders).is_none() && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(10));
            }
            let victim = holder(&urls, &holders)
                .and_then(|pid| holders.turns.lock().unwrap().get(&pid).copied());
            server_ref.restart();
            *restarted.lock().unwrap() = Some((Instant::now(), victim));
            // The new server dies with the thread that started it (PR_SET_PDEATHSIG): stay.
            while nap(Duration::from_millis(100), done) {}
        },
    );
    let (_, victim) = restarted.into_inner().unwrap().expect("Redis was never restarted");
    let report = Report::of(&store, 1, exits, &holders);
    report.check("redis-server killed and started again empty");
    // Fences carry on from Redis's clock on the empty server, larger than every one before, so
    // only a holder from before the crash can be refused. Waiters that lost their connection
    // queue again on the new server (see restarts.rs); an rlock started while the server was
    // down exits 125 at once.
    let victim = victim.expect("nobody held the lock when Redis was killed");
    // The holder at that moment finished its turn before it noticed (0), or had a request refused
    // (3), or found the lock gone and was stopped (124): never anything else.
    let code = holders.codes.lock().unwrap().get(&victim).copied();
    assert!(matches!(code, Some(0 | REFUSED | 124)), "the holder's rlock exited {code:?}");
}

#[test]
fn a_quorum_server_down_loses_no_update() {
    let mut servers: Vec<RedisServer> = (0..3).map(|_| RedisServer::start()).collect();
    let urls: Vec<String> = servers.iter().map(RedisServer::url).collect();
    let quorum = urls.join(",");
    let store = Store::new();
    let holders = Holders::default();
    let faults = AtomicU64::new(0);
    let down = Mutex::new(Some(servers.pop().unwrap()));
    let exits =
        take_turns(&[quorum], &[], &store, 5, Instant::now() + phase_length(), &holders, |done| {
            if nap(Duration::from_secs(2), done) {
                drop(down.lock().unwrap().take());
                faults.fetch_add(1, Ordering::SeqCst);
            }
            while nap(Duration::from_millis(900), done) {
                if let Some(pid) = holder(&urls[..2], &holders)
                    && kill(Pid::from_raw(pid), Signal::SIGKILL).is_ok()
                {
                    faults.fetch_add(1, Ordering::SeqCst);
                }
            }
        });
    let report = Report::of(&store, faults.load(Ordering::SeqCst), exits, &holders);
    report.check("one of 3 quorum servers down, holders SIGKILLed");
    assert!(report.turns > 5, "{report:?}");
}

#[test]
fn holders_cut_off_from_redis_are_stopped_before_the_lock_passes() {
    // Half the contenders reach Redis through a proxy that goes silent for longer than the ttl,
    // half directly: a holder cut off must be dead before a direct one gets the lock.
    let server = RedisServer::start();
    let partition = Partition::before(&server);
    let store = Store::new();
    let holders = Holders::default();
    let faults = AtomicU64::new(0);
    let urls = [partition.url(), server.url()];
    let exits =
        take_turns(&urls, &[], &store, 6, Instant::now() + phase_length(), &holders, |done| {
            while nap(Duration::from_millis(700), done) {
                partition.cut();
                faults.fetch_add(1, Ordering::SeqCst);
                nap(Duration::from_millis(1500), done);
                partition.heal();
            }
            partition.heal();
        });
    let report = Report::of(&store, faults.load(Ordering::SeqCst), exits, &holders);
    report.check("holders cut off from Redis");
    assert!(report.turns > 5, "{report:?}");
    assert_eq!(report.overlaps, 0, "{report:?}");
}

/// Stops the holder's rlock, and not its command, with `signal` for twice the ttl, then
/// continues it; the guardian must kill the command before the lock passes.
fn freeze_rlock_alone(signal: Signal, phase: &str) {
    let server = RedisServer::start();
    let store = Store::new();
    let holders = Holders::default();
    let faults = AtomicU64::new(0);
    let urls = [server.url()];
    let exits =
        take_turns(&urls, &[], &store, 5, Instant::now() + phase_length(), &holders, |done| {
            while nap(Duration::from_millis(400), done) {
                let Some(pid) = holder(&urls, &holders) else { continue };
                let rlock = Pid::from_raw(pid);
                if kill(rlock, signal).is_err() {
                    continue;
                }
                faults.fetch_add(1, Ordering::SeqCst);
                std::thread::sleep(Duration::from_secs(2));
                let _ = kill(rlock, Signal::SIGCONT);
                nap(Duration::from_millis(600), done);
            }
        });
    let report = Report::of(&store, faults.load(Ordering::SeqCst), exits, &holders);
    report.check(phase);
    assert!(report.turns > 5, "{report:?}");
    assert_eq!(report.overlaps, 0, "{report:?}");
}

#[test]
fn rlocks_frozen_alone_have_their_commands_killed_in_time() {
    freeze_rlock_alone(Signal::SIGSTOP, "rlock alone SIGSTOPped past its ttl");
}

#[test]
fn ctrl_z_past_the_ttl_passes_the_lock_on_safely() {
    freeze_rlock_alone(Signal::SIGTSTP, "Ctrl-Z (SIGTSTP) past the ttl");
}

/// Turns whose work runs in what the command leaves behind: the lock must be held until it ends.
fn turns_left_behind(setsid: bool, phase: &str) {
    let server = RedisServer::start();
    let store = Store::left_behind(setsid);
    let holders = Holders::default();
    let urls = [server.url()];
    let exits =
        take_turns(&urls, &[], &store, 5, Instant::now() + phase_length(), &holders, |done| {
            while nap(Duration::from_millis(100), done) {}
        });
    // Every turn left its read-modify-write behind: that is the fault.
    let started = store.lines("turns").iter().filter(|line| line.starts_with("in ")).count();
    let report = Report::of(&store, started as u64, exits, &holders);
    report.check(phase);
    assert!(report.turns > 5, "{report:?}");
    assert_eq!(report.overlaps, 0, "{report:?}");
    assert_eq!(report.refused, 0, "{report:?}");
}

#[test]
fn turns_done_in_a_background_step_lose_no_update() {
    turns_left_behind(false, "each turn's work in a background step");
}

#[test]
fn turns_done_in_a_setsid_step_lose_no_update() {
    turns_left_behind(true, "each turn's work in a setsid step");
}

/// Turns through Sentinel while it fails the master over to the replica and back; `global` is
/// given to every rlock.
fn turns_through_failovers(global: &[&str], phase: &str) {
    let master = RedisServer::start();
    let replica = RedisServer::replica_of(&master);
    let sentinel = Sentinel::watch(&master, 1);
    // The replica has synced (a failover before that forgets everything).
    let synced = || master.cmd::<i64>(&["WAIT", "1", "1000"]) == 1;
    assert!(crate::harness::eventually(Duration::from_secs(15), synced), "no replica synced");
    let store = Store::new();
    let holders = Holders::default();
    let faults = AtomicU64::new(0);
    let urls = [sentinel.url()];
    let until = Instant::now() + phase_length() + phase_length();
    let exits = take_turns(&urls, global, &store, 4, until, &holders, |done| {
        while nap(Duration::from_millis(1500), done) {
            sentinel.fail_over();
            faults.fetch_add(1, Ordering::SeqCst);
        }
    });
    drop(replica);
    let report = Report::of(&store, faults.load(Ordering::SeqCst), exits, &holders);
    report.check(phase);
    assert!(report.turns > 5, "{report:?}");
    assert_eq!(report.overlaps, 0, "{report:?}");
}

#[test]
fn sentinel_failovers_lose_no_update() {
    turns_through_failovers(&[], "Sentinel failovers");
}

#[test]
fn sentinel_failovers_with_replicas_lose_no_update() {
    turns_through_failovers(&["--replicas", "1"], "Sentinel failovers, --replicas 1");
}
