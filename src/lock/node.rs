//! One lock on one Redis server: each call is one atomic script (EVALSHA, loading the script when
//! the server has not seen it yet). It connects lazily and reconnects after a broken connection.
//!
//! Behind Sentinel, a connection kept from an earlier call is first checked: if the Sentinels
//! name another master now (a failover), it reconnects to that one, so that a refresh finds
//! whether the new master holds the lock under our token, and a try or release acts where the
//! lock lives. With `--replicas N`, taking and extending the lock waits (WAIT, right after the
//! script, on the same connection) until N replicas have it, so that a failover right after
//! does not forget it.

use std::time::{Duration, Instant};

use anyhow::{Result, anyhow};
use redis::{ConnectionLike, ErrorKind, FromRedisValue, ServerErrorKind, Value};

use crate::lock::history::{self, End, Entry, Status};
use crate::lock::holder::Holder;
use crate::lock::keys::LockKeys;
use crate::lock::mode::{Mode, ModeConflict};
use crate::lock::reply::{self, Attempt, Described, Odd, Wake};
use crate::lock::scripts::{self, LuaScript};
use crate::lock::{Token, Waiter, millis};
use crate::redis::{Endpoint, RedisConnection};
use crate::{report, timing};

/// One lock on one server.
pub(crate) struct Node {
    endpoint: Endpoint,
    keys: LockKeys,
    timeout: Duration,
    /// How many replicas must acknowledge the lock when it is taken or extended (0: none).
    replicas: u32,
    con: Option<RedisConnection>,
    /// When the last call that found the lock not granted to us here was sent: a grant found
    /// later was made later, and its lease counts from then.
    clear: Instant,
    /// The fence of the last grant given back here (quorum mode): a wake-up carrying it, or an
    /// older one, is stale.
    given_back: u64,
}

impl Node {
    pub(crate) fn new(endpoint: Endpoint, keys: LockKeys, timeout: Duration) -> Node {
        // Nothing can be granted to a waiter of this process before its lock exists.
        let clear = Instant::now();
        Node { endpoint, keys, timeout, replicas: 0, con: None, clear, given_back: 0 }
    }

    /// The same lock on the same server, on a connection of its own.
    pub(crate) fn another(&self) -> Node {
        let node = Node::new(self.endpoint.clone(), self.keys.clone(), self.timeout);
        Node { replicas: self.replicas, ..node }
    }

    /// Makes taking and extending the lock wait until `replicas` replicas have it.
    pub(crate) fn set_replicas(&mut self, replicas: u32) {
        self.replicas = replicas;
    }

    /// The time allowed for each round trip.
    pub(crate) fn timeout(&self) -> Duration {
        self.timeout
    }

    /// Changes the time allowed for each round trip from now on.
    pub(crate) fn set_timeout(&mut self, timeout: Duration) {
        self.timeout = timeout.max(Duration::from_millis(1));
        if let Some(con) = &self.con
            && con.set_timeouts(self.timeout).is_err()
        {
            self.con = None;
        }
    }

    /// One try at the lock (see [`crate::lock::Lock::try_acquire`]); a waiter with a `ticket`
    /// (not 0) takes that place in the queue.
    pub(crate) fn try_acquire(&mut self, take: &Take, waiter: Option<&Waiter>) -> Result<Attempt> {
        let (token, ttl, mode) = (take.token, take.ttl, take.mode);
        let args = acquire_args(take, waiter);
        let started = Instant::now();
        let reply: Vec<Value> = self.call(&scripts::ACQUIRE, &args)?;
        let clear = self.clear;
        let attempt =
            reply::attempt(&reply, started, clear).map_err(|odd| self.odd(odd, mode, false))?;
        if let Attempt::Held(_) = attempt {
            self.clear = started;
        }
        if let Attempt::Acquired { .. } = attempt
            && let Err(err) = self.replicated(ttl, started, "it")
        {
            // Not taken: a lock the replicas may not have is one a failover could hand to
            // someone else. (If this fails too, it lapses after its ttl.)
            let _ = self.release(token, Some(mode), End::given_back());
            return Err(err
                .context(format!("the lock '{}' was not taken (released again)", self.keys.name)));
        }
        Ok(attempt)
    }

    /// Quorum mode: gives back a lock granted here to `waiter` (whom only a minority granted it)
    /// and takes its place in the queue again with its ticket; the lock goes to whoever is first
    /// here now. The fence given back, or 0 when nothing was ours here.
    pub(crate) fn give_back(&mut self, take: &Take, waiter: &Waiter) -> Result<u64> {
        let args = acquire_args(take, Some(waiter));
        let started = Instant::now();
        let fence: u64 = self.call(&scripts::GIVE_BACK, &args)?;
        // Whatever is granted to us here from now on is a new grant.
        self.clear = started;
        self.given_back = self.given_back.max(fence);
        Ok(fence)
    }

    /// When the last call that found the lock not granted to us here was sent.
    pub(crate) fn clear(&self) -> Instant {
        self.clear
    }

    /// Whether a wake-up carrying `fence` is for a grant given back since.
    pub(crate) fn given_back(&self, fence: u64) -> bool {
        fence <= self.given_back
    }

    /// Leaves the wait queue (releasing the lock if it was just granted to `token`), passing the
    /// turn on if the lock is free.
    pub(crate) fn leave(&mut self, waiter: &str, token: &Token) -> Result<()> {
        let mut args = vec![waiter.to_owned(), token.secret().to_owned()];
        args.extend(history_and_fence());
        let _: i64 = self.call(&scripts::LEAVE, &args)?;
        Ok(())
    }

    /// Blocks on this waiter's wake-up list until something arrives or `timeout` passes.
    pub(crate) fn wait_for_grant(&mut self, waiter: &Waiter, timeout: Duration) -> Result<Wake> {
        let wake = self.keys.wake(&waiter.id);
        // BLPOP takes seconds with decimals (Redis 6 and later); never 0, which means forever.
        let seconds = format!("{:.3}", timeout.as_secs_f64().max(0.001));
        // The reply may take the whole timeout: allow for it on the socket.
        let socket = self.timeout;
        self.set_timeout(socket + timeout);
        let started = Instant::now();
        // The try just before checked that this is the master: no need to ask again.
        let result = match self.connection(false) {
            Ok(con) => redis::cmd("BLPOP").arg(&wake).arg(&seconds).query(con),
            Err(err) => {
                self.set_timeout(socket);
                return Err(err);
            }
        };
        self.set_timeout(socket);
        report::call(format_args!(
            "waited on '{}' at {} for {}",
            self.keys.name,
            self.endpoint.shown(),
            report::duration_fine(started.elapsed())
        ));
        let wake = match result {
            Ok(value) => reply::wake(value, self.clear),
            Err(err) if self.endpoint.is_sentinel() && is_broken(&err, self.con.as_ref()) => {
                // A failover closes the connections of the servers it changes: look again, on
                // the master the Sentinels name now.
                self.con = None;
                report::step(format_args!(
                    "the connection to {} was closed ({}): looking again",
                    self.endpoint.shown(),
                    self.endpoint.explain(&err)
                ));
                return Ok(Wake::TimedOut);
            }
            Err(err) => return Err(self.failed(err)),
        };
        if let Wake::TimedOut = wake {
            self.clear = started;
        }
        if let Wake::Granted { .. } = wake {
            if self.moved()? {
                // Handed over by a master that is no more: the next try asks the new one.
                return Ok(Wake::TimedOut);
            }
            self.replicated(waiter.grant, Instant::now(), "the lock handed to us")?;
        }
        Ok(wake)
    }

    /// Extends the lock to `ttl` from now if it is still held with `token` (in mode `want`, when
    /// given): the mode it is held in, or `None` when it is not held with that token.
    pub(crate) fn refresh(
        &mut self,
        token: &Token,
        ttl: Duration,
        want: Option<Mode>,
    ) -> Result<Option<Mode>> {
        let mut args = vec![token.secret().to_owned(), millis(ttl).to_string(), code_of(want)];
        args.extend(history_and_fence());
        let started = Instant::now();
        let reply: Vec<Value> = self.call(&scripts::REFRESH, &args)?;
        let held =
            reply::held_in(&reply).map_err(|odd| self.odd(odd, want.unwrap_or_default(), true))?;
        if held.is_some() {
            self.replicated(ttl, started, "the refresh")?;
        }
        Ok(held)
    }

    /// Releases the lock if it is held with `token` (in mode `want`, when given), recording in
    /// its history that the hold ended as `end` says: the mode it was held in, or `None` when it
    /// was not held with that token (gone, or someone else's).
    pub(crate) fn release(
        &mut self,
        token: &Token,
        want: Option<Mode>,
        end: End,
    ) -> Result<Option<Mode>> {
        let (exit, signal) = match end.status {
            Some(Status::Exited(code)) => (code.to_string(), String::new()),
            Some(Status::Killed(signal)) => (String::new(), signal.to_string()),
            None => (String::new(), String::new()),
        };
        let mut args = vec![
            token.secret().to_owned(),
            code_of(want),
            end.ending.code().to_owned(),
            exit,
            signal,
        ];
        args.extend(history_and_fence());
        let reply: Vec<Value> = self.call(&scripts::RELEASE, &args)?;
        reply::held_in(&reply).map_err(|odd| self.odd(odd, want.unwrap_or_default(), true))
    }

    /// Releases the lock whoever holds it; false when it was free.
    pub(crate) fn force_release(&mut self) -> Result<bool> {
        let done: i64 = self.call(&scripts::BREAK, &history_and_fence())?;
        Ok(done == 1)
    }

    /// Quorum mode: raises the fencing counter of a lock held with `token` to `fence`.
    pub(crate) fn raise_fence(&mut self, token: &Token, fence: u64) -> Result<bool> {
        let args = [token.secret().to_owned(), fence.to_string(), fence_life()];
        let done: i64 = self.call(&scripts::FENCE, &args)?;
        Ok(done == 1)
    }

    /// The lock's mode, remaining lifetime and holders (`None` when it is free), and its queue.
    pub(crate) fn describe(&mut self) -> Result<Described> {
        let reply: Vec<Value> = self.call(&scripts::INSPECT, &[] as &[&str])?;
        reply::described(&reply).map_err(|odd| self.odd(odd, Mode::default(), false))
    }

    /// The lock's history on this server, oldest first (empty when it has none; an entry rlock
    /// cannot read is left out).
    pub(crate) fn history(&mut self) -> Result<Vec<Entry>> {
        let mut read = redis::cmd("LRANGE");
        read.arg(&self.keys.log).arg(0).arg(-1);
        let started = Instant::now();
        let result = read.query::<Vec<String>>(self.connection(true)?);
        report::call(format_args!(
            "history of '{}' at {}: {} in {}",
            self.keys.name,
            self.endpoint.shown(),
            if result.is_ok() { "answered" } else { "failed" },
            report::duration_fine(started.elapsed())
        ));
        let entries = result.map_err(|err| self.failed(err))?;
        Ok(entries.iter().filter_map(|text| Entry::from_json(text)).collect())
    }

    /// Runs `script` on the lock's keys with `args`: EVALSHA, and SCRIPT LOAD first when this
    /// server has not seen the script yet.
    fn call<T: FromRedisValue>(
        &mut self,
        script: &'static LuaScript,
        args: &[impl AsRef<str>],
    ) -> Result<T> {
        let eval = eval(&self.keys, script, args);
        let started = Instant::now();
        let con = self.connection(true)?;
        let result = match eval.query::<T>(con) {
            Err(err) if err.kind() == ErrorKind::Server(ServerErrorKind::NoScript) => {
                redis::cmd("SCRIPT")
                    .arg("LOAD")
                    .arg(script.code)
                    .query::<String>(con)
                    .and_then(|_| eval.query::<T>(con))
            }
            result => result,
        };
        report::call(format_args!(
            "{} '{}' at {}: {} in {}",
            script.name,
            self.keys.name,
            self.endpoint.shown(),
            if result.is_ok() { "answered" } else { "failed" },
            report::duration_fine(started.elapsed())
        ));
        result.map_err(|err| self.failed(err))
    }

    /// The connection, made if there is none; one kept from an earlier call is dropped first if it
    /// is no longer on the master (when `check`: see [`Node::moved`]).
    fn connection(&mut self, check: bool) -> Result<&mut RedisConnection> {
        if check {
            self.moved()?;
        }
        if self.con.is_none() {
            self.con = Some(self.endpoint.connect(self.timeout)?);
        }
        self.con.as_mut().ok_or_else(|| anyhow!("no connection"))
    }

    /// Behind Sentinel: whether the connection kept from an earlier call is on a server that is
    /// no longer the master (then it is dropped, and the next call connects to the new one). An
    /// error when no Sentinel answers: nobody can say where the lock lives then.
    fn moved(&mut self) -> Result<bool> {
        let Some(con) = &self.con else { return Ok(false) };
        let Some(former) = self.endpoint.former_master(con, self.timeout)? else {
            return Ok(false);
        };
        self.con = None;
        report::detail(format_args!(
            "{} moved from {former} (a failover): going on with '{}' on the new master",
            self.endpoint.shown(),
            self.keys.name
        ));
        Ok(true)
    }

    /// With `--replicas N`: waits until N replicas have acknowledged what was just written on
    /// this connection (the lock taken or extended for `ttl` by a script sent at `started`), at
    /// most what [`timing::replica_ack`] allows. An error, naming `what` was written, when fewer
    /// did.
    fn replicated(&mut self, ttl: Duration, started: Instant, what: &str) -> Result<()> {
        let wanted = self.replicas;
        if wanted == 0 {
            return Ok(());
        }
        let timeout = timing::replica_ack(ttl, self.timeout.saturating_sub(started.elapsed()));
        let lock = self.keys.lock.clone();
        let Some(con) = self.con.as_mut() else {
            return Err(anyhow!("the connection was lost before the replicas acknowledged"));
        };
        let asked = Instant::now();
        let acked =
            con.wait_for_replicas(&lock, wanted, timeout).map_err(|err| self.failed(err))?;
        report::call(format_args!(
            "{acked} of {wanted} replica(s) of {} acknowledged '{}' in {}",
            self.endpoint.shown(),
            self.keys.name,
            report::duration_fine(asked.elapsed())
        ));
        if acked < u64::from(wanted) {
            let replicas = if wanted == 1 { "replica" } else { "replicas" };
            anyhow::bail!(
                "only {acked} of the {wanted} {replicas} asked for (--replicas) acknowledged {what} \
                 at {} within {}: a failover could lose the lock '{}'. Check the master's \
                 replicas (INFO replication), or ask for fewer",
                self.endpoint.shown(),
                report::duration(timeout),
                self.keys.name
            );
        }
        Ok(())
    }

    /// The message for a failed call; drops a connection that may be out of step.
    fn failed(&mut self, err: redis::RedisError) -> anyhow::Error {
        if is_broken(&err, self.con.as_ref()) {
            // A late reply could arrive on this connection and be taken for the next one's.
            self.con = None;
        }
        if crate::redis::is_wrong_type(&err) {
            return anyhow!(
                "the key '{}' (or its companion keys) holds something other than an rlock lock at {}: \
                 choose another lock name or --prefix, or delete the key if nothing uses it",
                self.keys.lock,
                self.endpoint.shown()
            );
        }
        let explained = self.endpoint.explain(&err);
        if crate::redis::retryable(&explained) {
            // A server that may pass (a master turned replica, one loading its data): the next
            // call connects afresh, and so finds the master that Sentinel or DNS names then.
            self.con = None;
        }
        explained
    }

    /// The error for a reply rlock's scripts never give, or for a lock in use in mode `found`
    /// when `asked` was asked for.
    fn odd(&self, odd: Odd, asked: Mode, holding: bool) -> anyhow::Error {
        let what = match odd {
            Odd::Conflict(found) => match Mode::from_code(&found) {
                Some(found) => {
                    let lock = self.keys.name.clone();
                    return anyhow::Error::new(ModeConflict { lock, found, asked, holding });
                }
                None => format!("mode '{found}'"),
            },
            Odd::Shape(what) => what,
        };
        anyhow!(
            "Redis at {} gave an unexpected reply ({what}) for lock '{}': is something else \
             using this key?",
            self.endpoint.shown(),
            self.keys.lock
        )
    }
}

/// Whether `err` leaves `con` out of step or closed: a late reply could arrive on it.
fn is_broken(err: &redis::RedisError, con: Option<&RedisConnection>) -> bool {
    err.is_io_error()
        || err.is_timeout()
        || err.is_connection_dropped()
        || con.is_some_and(|con| !con.is_open())
}

/// EVALSHA of `script` on the lock's keys (lock, holder, fence, queue, alive, holders, log) with
/// `args`.
fn eval(keys: &LockKeys, script: &LuaScript, args: &[impl AsRef<str>]) -> redis::Cmd {
    let keys = keys.all();
    let mut eval = redis::cmd("EVALSHA");
    eval.arg(script.sha1).arg(keys.len()).arg(&keys[..]);
    for arg in args {
        eval.arg(arg.as_ref());
    }
    eval
}

/// What a try at the lock takes: with which token, for how long, recorded as which holder, in
/// which mode, and (a waiter's) at which place in the queue.
pub(crate) struct Take<'a> {
    pub(crate) token: &'a Token,
    pub(crate) ttl: Duration,
    pub(crate) holder: &'a Holder,
    pub(crate) mode: Mode,
    /// The waiter's ticket, agreed over the servers; 0 until it has one.
    pub(crate) ticket: u64,
}

/// ACQUIRE's and GIVE_BACK's arguments (see scripts/acquire.lua).
fn acquire_args(take: &Take, waiter: Option<&Waiter>) -> Vec<String> {
    let (id, lapse, grant) = match waiter {
        Some(waiter) => (waiter.id.as_str(), millis(waiter.lapse), millis(waiter.grant)),
        None => ("", 0, 0),
    };
    let mut args = vec![
        take.token.secret().to_owned(),
        millis(take.ttl).to_string(),
        id.to_owned(),
        lapse.to_string(),
        grant.to_string(),
        take.mode.code(),
        take.ticket.to_string(),
    ];
    for (name, value) in take.holder.fields() {
        args.push(name.to_owned());
        args.push(value);
    }
    args.extend(history_and_fence());
    args
}

/// The last arguments of every script that writes the lock's history: its cap (entries) and
/// lifetime (ms), then the fencing counter's lifetime (see scripts/history.lua).
fn history_and_fence() -> [String; 3] {
    [history::MAX_ENTRIES.to_string(), millis(timing::HISTORY_LIFETIME).to_string(), fence_life()]
}

/// The last argument of every script that can hand out a fence: how long the fencing counter
/// is kept after the last fence, in ms.
fn fence_life() -> String {
    millis(timing::FENCE_LIFETIME).to_string()
}

/// A mode for the scripts; '' for "whichever the token holds".
fn code_of(mode: Option<Mode>) -> String {
    mode.map(Mode::code).unwrap_or_default()
}
