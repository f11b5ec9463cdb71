//! The lock client: one lock on one Redis server, taken, refreshed and released by token; held
//! by one holder, by readers together, or by up to N holders (see [`Mode`]).

use std::time::Duration;

use anyhow::{Result, anyhow};
use redis::{ConnectionLike, ErrorKind, FromRedisValue, ServerErrorKind, Value};

use crate::endpoint::{Endpoint, RedisConnection};
use crate::holder::Holder;
use crate::keys::LockKeys;
use crate::mode::{Mode, ModeConflict};
use crate::quorum;
use crate::scripts::{self, LuaScript};

/// The secret that proves who holds a lock: 128 random bits as 32 hex digits (a UUID v4).
#[derive(Clone, PartialEq, Eq)]
pub struct Token(String);

impl Token {
    /// A new random token.
    pub fn generate() -> Token {
        Token(uuid::Uuid::new_v4().simple().to_string())
    }

    /// A token given by the user (from `acquire`'s output); refuses an empty one.
    pub fn given(text: &str) -> Result<Token> {
        let text = text.trim();
        if text.is_empty() {
            anyhow::bail!("the token is empty: pass the token that 'rlock acquire' printed");
        }
        Ok(Token(text.to_owned()))
    }

    /// The token itself. Show it only where the user asked for it.
    pub fn secret(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Token(***)")
    }
}

/// The result of one try at taking a lock.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Attempt {
    /// The lock is ours, with this fencing number. `granted`: it was handed to us while we
    /// waited, with the short first lifetime we asked for, not the full ttl.
    Acquired { fence: u64, granted: bool },
    /// Someone else holds it, or it is someone else's turn.
    Held(Waiting),
}

/// What woke a waiter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wake {
    /// The lock was handed to it, with this fence.
    Granted(u64),
    /// rlock itself pushed a wake-up, to look at a signal.
    Nudged,
    /// Nothing came in time.
    TimedOut,
}

/// A place in a lock's wait queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Waiter {
    /// Random, unique to this wait.
    pub id: String,
    /// How long the place lasts without a heartbeat.
    pub lapse: Duration,
    /// The first lifetime of the lock when it is handed to this waiter (extended once it wakes).
    pub grant: Duration,
}

/// What a waiter learns at each try.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Waiting {
    /// The holder's remaining lifetime: `None` when the key never expires, zero when the lock is
    /// free but another waiter is ahead.
    pub ttl: Option<Duration>,
    /// Our place in the queue (1 = next), or 0 when we did not join it.
    pub place: u64,
    /// How many are waiting, us included.
    pub waiters: u64,
    /// Host, pid and since (ms) of the holder (the first one, when there are several), when rlock
    /// took the lock.
    pub holder: Option<Holder>,
    /// How many hold it (0 when it is held by another tool).
    pub holders: u64,
    /// The mode it is held in, when rlock holds it.
    pub mode: Option<Mode>,
}

/// What a held lock looks like from outside.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LockInfo {
    /// The mode it is held in; `None` when something other than rlock holds it.
    pub mode: Option<Mode>,
    /// Remaining lifetime (of the longest-lived holder); `None` when the key has no expiry (set
    /// by something other than rlock).
    pub ttl: Option<Duration>,
    /// Who holds it, in the order they took it, each with its own remaining lifetime; empty when
    /// something other than rlock holds it.
    pub holders: Vec<Holder>,
    /// How many wait for it.
    pub waiters: u64,
}

impl LockInfo {
    /// The holder that took it first.
    pub fn holder(&self) -> Option<&Holder> {
        self.holders.first()
    }
}

/// A client for one lock: on one Redis server, or on a quorum of independent servers (see
/// [`crate::quorum`]). Each call is one atomic script on each server.
pub struct LockClient {
    endpoint: Endpoint,
    keys: LockKeys,
    mode: Option<Mode>,
    nodes: Vec<Node>,
}

impl LockClient {
    /// A client for the lock `keys` at `endpoint`, giving each Redis round trip up to `timeout`
    /// (in quorum mode at most [`quorum::NODE_TIMEOUT`] per server).
    pub fn new(endpoint: Endpoint, keys: LockKeys, timeout: Duration) -> LockClient {
        let members = endpoint.members();
        let timeout = node_timeout(members.len(), timeout);
        let nodes =
            members.into_iter().map(|member| Node::new(member, keys.clone(), timeout)).collect();
        LockClient { endpoint, keys, mode: None, nodes }
    }

    /// Takes, refreshes and releases the lock in `mode`. Without one, it is taken exclusively, and
    /// refreshed and released in whatever mode the token holds it.
    pub fn with_mode(mut self, mode: Option<Mode>) -> LockClient {
        self.mode = mode;
        self
    }

    /// The mode given with [`LockClient::with_mode`].
    pub fn mode(&self) -> Option<Mode> {
        self.mode
    }

    pub fn keys(&self) -> &LockKeys {
        &self.keys
    }

    pub fn endpoint(&self) -> &Endpoint {
        &self.endpoint
    }

    /// Whether this is a quorum of several servers (no wait queue then).
    pub fn is_quorum(&self) -> bool {
        self.nodes.len() > 1
    }

    /// Changes the time allowed for each round trip from now on.
    pub fn set_timeout(&mut self, timeout: Duration) {
        let timeout = node_timeout(self.nodes.len(), timeout);
        self.nodes.iter_mut().for_each(|node| node.set_timeout(timeout));
    }

    /// Tries once to take the lock with `token` for `ttl`, recording `holder`. With a `waiter`
    /// it joins the queue when it cannot take the lock (or keeps its place there: every try is also
    /// a heartbeat); without one, or in quorum mode, it only tries.
    pub fn try_acquire(
        &mut self,
        token: &Token,
        ttl: Duration,
        holder: &Holder,
        waiter: Option<&Waiter>,
    ) -> Result<Attempt> {
        let mode = self.mode.unwrap_or_default();
        match self.nodes.as_mut_slice() {
            [node] => node.try_acquire(token, ttl, holder, waiter, mode),
            nodes => quorum::try_acquire(nodes, token, ttl, holder, mode),
        }
    }

    /// Sends the try [`LockClient::try_acquire`] would make, without waiting for the answer:
    /// the caller gets on with other work while Redis runs it, and the next `try_acquire` with the
    /// same arguments reads that answer instead of asking again. A quorum, or a Redis Cluster,
    /// makes its try when asked.
    pub fn send_try(
        &mut self,
        token: &Token,
        ttl: Duration,
        holder: &Holder,
        waiter: Option<&Waiter>,
    ) -> Result<()> {
        let mode = self.mode.unwrap_or_default();
        match self.nodes.as_mut_slice() {
            [node] => node.send_try(token, ttl, holder, waiter, mode),
            _ => Ok(()),
        }
    }

    /// Leaves the wait queue (releasing the lock if it was just granted to `token`), passing the
    /// turn on if the lock is free. Nothing to do in quorum mode.
    pub fn leave(&mut self, waiter: &str, token: &Token) -> Result<()> {
        match self.nodes.as_mut_slice() {
            [node] => node.leave(waiter, token),
            _ => Ok(()),
        }
    }

    /// Blocks on this waiter's wake-up list until something arrives or `timeout` passes.
    pub fn wait_for_grant(&mut self, waiter: &str, timeout: Duration) -> Result<Wake> {
        match self.nodes.as_mut_slice() {
            [node] => node.wait_for_grant(waiter, timeout),
            _ => Err(anyhow!("no wait queue in quorum mode")),
        }
    }

    /// Wakes this waiter from its BLPOP without handing it anything (rlock got a signal).
    pub fn nudge(&mut self, waiter: &str) -> Result<()> {
        match self.nodes.as_mut_slice() {
            [node] => node.nudge(waiter),
            _ => Ok(()),
        }
    }

    /// Extends the lock to `ttl` from now if it is still held with `token`; false when it is not.
    pub fn refresh(&mut self, token: &Token, ttl: Duration) -> Result<bool> {
        let want = self.mode;
        match self.nodes.as_mut_slice() {
            [node] => Ok(node.refresh(token, ttl, want)?.is_some()),
            nodes => quorum::refresh(nodes, token, ttl, want),
        }
    }

    /// Releases the lock if it is held with `token`; false when it is not (gone, or someone else's).
    pub fn release(&mut self, token: &Token) -> Result<bool> {
        let want = self.mode;
        match self.nodes.as_mut_slice() {
            [node] => Ok(node.release(token, want)?.is_some()),
            nodes => quorum::release(nodes, token, want),
        }
    }

    /// Releases the lock whoever holds it; false when it was free.
    pub fn force_release(&mut self) -> Result<bool> {
        match self.nodes.as_mut_slice() {
            [node] => node.force_release(),
            nodes => quorum::force_release(nodes),
        }
    }

    /// The lock's remaining lifetime, holder and waiters; `None` when it is free.
    pub fn inspect(&mut self) -> Result<Option<LockInfo>> {
        match self.nodes.as_mut_slice() {
            [node] => node.inspect(),
            nodes => quorum::inspect(nodes),
        }
    }
}

/// One lock on one Redis server. It connects lazily and reconnects after a broken connection;
/// each call is one atomic script.
pub(crate) struct Node {
    endpoint: Endpoint,
    keys: LockKeys,
    timeout: Duration,
    con: Option<RedisConnection>,
    /// The arguments of an acquire try sent ahead ([`Node::send_try`]), whose answer is still
    /// to be read from `con`.
    ahead: Option<Vec<String>>,
}

impl Node {
    fn new(endpoint: Endpoint, keys: LockKeys, timeout: Duration) -> Node {
        Node { endpoint, keys, timeout, con: None, ahead: None }
    }

    /// Changes the time allowed for each round trip from now on.
    pub fn set_timeout(&mut self, timeout: Duration) {
        self.timeout = timeout.max(Duration::from_millis(1));
        if let Some(con) = &self.con
            && con.set_timeouts(self.timeout).is_err()
        {
            self.con = None;
        }
    }

    /// [`LockClient::try_acquire`] on this server.
    pub fn try_acquire(
        &mut self,
        token: &Token,
        ttl: Duration,
        holder: &Holder,
        waiter: Option<&Waiter>,
        mode: Mode,
    ) -> Result<Attempt> {
        let args = acquire_args(token, ttl, holder, waiter, mode);
        let reply: Vec<Value> = match self.ahead.take() {
            Some(sent) if sent == args => self.answer(&scripts::ACQUIRE, &args)?,
            sent => {
                self.ahead = sent;
                self.call(&scripts::ACQUIRE, &args)?
            }
        };
        let number =
            |at: usize| reply.get(at).and_then(|value| i64::from_redis_value_ref(value).ok());
        let text = |at: usize| {
            reply
                .get(at)
                .and_then(|value| String::from_redis_value_ref(value).ok())
                .unwrap_or_default()
        };
        match (number(0), number(1)) {
            (Some(-1), _) => Err(self.conflict(&text(1), mode, false)),
            (Some(1), Some(fence)) => Ok(Attempt::Acquired {
                fence: u64::try_from(fence).unwrap_or(0),
                granted: number(2) == Some(1),
            }),
            (Some(0), Some(pttl)) => {
                let (host, pid, since) = (text(4), text(5), text(6));
                let holder = (!host.is_empty()).then(|| Holder {
                    host,
                    pid: pid.parse().unwrap_or(0),
                    since_ms: since.parse().unwrap_or(0),
                    ..Holder::default()
                });
                Ok(Attempt::Held(Waiting {
                    ttl: pttl_to_ttl(pttl),
                    place: number(2).and_then(|n| u64::try_from(n).ok()).unwrap_or(0),
                    waiters: number(3).and_then(|n| u64::try_from(n).ok()).unwrap_or(0),
                    holder,
                    holders: number(7).and_then(|n| u64::try_from(n).ok()).unwrap_or(0),
                    mode: Mode::from_code(&text(8)),
                }))
            }
            _ => Err(self.unexpected(&format!("{reply:?}"))),
        }
    }

    /// [`LockClient::send_try`] on this server: sent now, its answer read by the next
    /// [`Node::try_acquire`] with the same arguments.
    pub fn send_try(
        &mut self,
        token: &Token,
        ttl: Duration,
        holder: &Holder,
        waiter: Option<&Waiter>,
        mode: Mode,
    ) -> Result<()> {
        let args = acquire_args(token, ttl, holder, waiter, mode);
        let packed = eval(&self.keys, &scripts::ACQUIRE, &args).get_packed_command();
        let RedisConnection::Single(con) = self.connection()? else {
            // A cluster connection reads each reply as it sends: the try waits until asked.
            return Ok(());
        };
        match con.send_packed_command(&packed) {
            Ok(()) => {
                self.ahead = Some(args);
                warm_up_parser();
                Ok(())
            }
            Err(err) => Err(self.failed(err)),
        }
    }

    /// Reads the answer to the call sent ahead with `args`. Should Redis not know the script yet
    /// (NOSCRIPT: nothing ran), it is loaded and called again.
    fn answer<T: FromRedisValue>(
        &mut self,
        script: &'static LuaScript,
        args: &[String],
    ) -> Result<T> {
        let Some(RedisConnection::Single(con)) = self.con.as_mut() else {
            // The connection went (and the call with it): make it again.
            return self.call(script, args);
        };
        let result = con
            .recv_response()
            .and_then(Value::extract_error)
            .and_then(|value| Ok(redis::from_redis_value(value)?));
        match result {
            Err(err) if err.kind() == ErrorKind::Server(ServerErrorKind::NoScript) => {
                self.call(script, args)
            }
            result => result.map_err(|err| self.failed(err)),
        }
    }

    /// Reads and drops the answer to a try sent ahead that nobody asked for, so that the next
    /// reply read is the next call's. A connection that cannot give it is dropped.
    fn settle(&mut self) {
        if self.ahead.take().is_none() {
            return;
        }
        let read = match self.con.as_mut() {
            Some(RedisConnection::Single(con)) => con.recv_response().is_ok(),
            _ => false,
        };
        if !read {
            self.con = None;
        }
    }

    /// Leaves the wait queue (releasing the lock if it was just granted to `token`), passing the
    /// turn on if the lock is free.
    pub fn leave(&mut self, waiter: &str, token: &Token) -> Result<()> {
        let _: i64 = self.call(&scripts::LEAVE, &[waiter, token.secret()])?;
        Ok(())
    }

    /// Blocks on this waiter's wake-up list until something arrives or `timeout` passes.
    pub fn wait_for_grant(&mut self, waiter: &str, timeout: Duration) -> Result<Wake> {
        let wake = self.keys.wake(waiter);
        // BLPOP takes seconds with decimals (Redis 6 and later); never 0, which means forever.
        let seconds = format!("{:.3}", timeout.as_secs_f64().max(0.001));
        // The reply may take the whole timeout: allow for it on the socket.
        let socket = self.timeout;
        self.set_timeout(socket + timeout);
        let con = self.connection()?;
        let result =
            redis::cmd("BLPOP").arg(&wake).arg(&seconds).query::<Option<(String, String)>>(con);
        self.set_timeout(socket);
        match result {
            Ok(None) => Ok(Wake::TimedOut),
            Ok(Some((_, message))) => Ok(match message.parse() {
                Ok(fence) => Wake::Granted(fence),
                Err(_) => Wake::Nudged,
            }),
            Err(err) => Err(self.failed(err)),
        }
    }

    /// Wakes this waiter from its BLPOP without handing it anything (rlock got a signal).
    pub fn nudge(&mut self, waiter: &str) -> Result<()> {
        let wake = self.keys.wake(waiter);
        let con = self.connection()?;
        let result = redis::pipe()
            .cmd("RPUSH")
            .arg(&wake)
            .arg("nudge")
            .ignore()
            .cmd("PEXPIRE")
            .arg(&wake)
            .arg(10_000)
            .ignore()
            .query::<()>(con);
        result.map_err(|err| self.failed(err))
    }

    /// Extends the lock to `ttl` from now if it is still held with `token` (in mode `want`, when
    /// given): the mode it is held in, or `None` when it is not held with that token.
    pub fn refresh(
        &mut self,
        token: &Token,
        ttl: Duration,
        want: Option<Mode>,
    ) -> Result<Option<Mode>> {
        let args = [token.secret().to_owned(), millis(ttl).to_string(), code_of(want)];
        let reply: Vec<Value> = self.call(&scripts::REFRESH, &args)?;
        self.held_in(&reply, want)
    }

    /// Releases the lock if it is held with `token` (in mode `want`, when given): the mode it was
    /// held in, or `None` when it was not held with that token (gone, or someone else's).
    pub fn release(&mut self, token: &Token, want: Option<Mode>) -> Result<Option<Mode>> {
        let args = [token.secret().to_owned(), code_of(want)];
        let reply: Vec<Value> = self.call(&scripts::RELEASE, &args)?;
        self.held_in(&reply, want)
    }

    /// Reads `{1, mode}`, `{0}` or `{-1, mode}` from refresh and release.
    fn held_in(&self, reply: &[Value], want: Option<Mode>) -> Result<Option<Mode>> {
        let number = reply.first().and_then(|value| i64::from_redis_value_ref(value).ok());
        let code = reply.get(1).and_then(|value| String::from_redis_value_ref(value).ok());
        match (number, code) {
            (Some(0), _) => Ok(None),
            (Some(1), Some(code)) => match Mode::from_code(&code) {
                Some(mode) => Ok(Some(mode)),
                None => Err(self.unexpected(&format!("{reply:?}"))),
            },
            (Some(-1), Some(code)) => Err(self.conflict(&code, want.unwrap_or_default(), true)),
            _ => Err(self.unexpected(&format!("{reply:?}"))),
        }
    }

    /// The error for a lock in use in mode `found` (a script's code) when `asked` was asked for.
    fn conflict(&self, found: &str, asked: Mode, holding: bool) -> anyhow::Error {
        match Mode::from_code(found) {
            Some(found) => anyhow::Error::new(ModeConflict {
                lock: self.keys.name.clone(),
                found,
                asked,
                holding,
            }),
            None => self.unexpected(&format!("mode '{found}'")),
        }
    }

    /// Releases the lock whoever holds it; false when it was free.
    pub fn force_release(&mut self) -> Result<bool> {
        let done: i64 = self.call(&scripts::BREAK, &[] as &[&str])?;
        Ok(done == 1)
    }

    /// Quorum mode: raises the fencing counter of a lock held with `token` to `fence`.
    pub fn raise_fence(&mut self, token: &Token, fence: u64) -> Result<bool> {
        let args = [token.secret().to_owned(), fence.to_string()];
        let done: i64 = self.call(&scripts::FENCE, &args)?;
        Ok(done == 1)
    }

    /// The lock's mode, remaining lifetime, holders and waiters; `None` when it is free.
    pub fn inspect(&mut self) -> Result<Option<LockInfo>> {
        let reply: Vec<Value> = self.call(&scripts::INSPECT, &[] as &[&str])?;
        let number =
            |at: usize| reply.get(at).and_then(|value| i64::from_redis_value_ref(value).ok());
        let (Some(held), Some(pttl), Some(waiters)) = (number(0), number(1), number(2)) else {
            return Err(self.unexpected(&format!("{reply:?}")));
        };
        if held == 0 {
            return Ok(None);
        }
        let code = reply.get(3).and_then(|value| String::from_redis_value_ref(value).ok());
        let entries = match reply.get(4) {
            Some(Value::Array(entries)) => entries.as_slice(),
            _ => return Err(self.unexpected(&format!("{reply:?}"))),
        };
        let mut holders = Vec::new();
        for entry in entries {
            let Value::Array(entry) = entry else {
                return Err(self.unexpected("a holder"));
            };
            let ttl = entry.first().and_then(|value| i64::from_redis_value_ref(value).ok());
            let mut pairs = Vec::new();
            for pair in entry.get(1..).unwrap_or_default().chunks(2) {
                if let [name, value] = pair {
                    let name = String::from_redis_value_ref(name)
                        .map_err(|_| self.unexpected("a field"))?;
                    let value = String::from_redis_value_ref(value)
                        .map_err(|_| self.unexpected("a value"))?;
                    pairs.push((name, value));
                }
            }
            if let Some(mut holder) = Holder::from_fields(&pairs) {
                holder.ttl = ttl.and_then(pttl_to_ttl);
                holders.push(holder);
            }
        }
        holders.sort_by_key(|holder| (holder.since_ms, holder.fence));
        let mode =
            if holders.is_empty() { None } else { code.as_deref().and_then(Mode::from_code) };
        Ok(Some(LockInfo {
            mode,
            ttl: pttl_to_ttl(pttl),
            holders,
            waiters: u64::try_from(waiters).unwrap_or(0),
        }))
    }

    /// Runs `script` on the lock's keys (lock, holder, fence, queue, alive, holders) with `args`:
    /// EVALSHA, and SCRIPT LOAD first when this server has not seen the script yet.
    fn call<T: FromRedisValue>(
        &mut self,
        script: &'static LuaScript,
        args: &[impl AsRef<str>],
    ) -> Result<T> {
        let eval = eval(&self.keys, script, args);
        let con = self.connection()?;
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
        result.map_err(|err| self.failed(err))
    }

    /// The connection, in step: ready for a call and its reply.
    fn connection(&mut self) -> Result<&mut RedisConnection> {
        self.settle();
        if self.con.is_none() {
            self.con = Some(self.endpoint.connect(self.timeout)?);
        }
        self.con.as_mut().ok_or_else(|| anyhow!("no connection"))
    }

    /// The message for a failed call; drops a connection that may be out of step.
    fn failed(&mut self, err: redis::RedisError) -> anyhow::Error {
        let broken = err.is_io_error()
            || err.is_timeout()
            || err.is_connection_dropped()
            || self.con.as_ref().is_some_and(|con| !con.is_open());
        if broken {
            // A late reply could arrive on this connection and be taken for the next one's.
            self.con = None;
        }
        if err.to_string().contains("WRONGTYPE") {
            anyhow!(
                "the key '{}' (or its companion keys) holds something other than an rlock lock at {}: \
                 choose another lock name or --prefix, or delete the key if nothing uses it",
                self.keys.lock,
                self.endpoint.shown()
            )
        } else {
            self.endpoint.explain(&err)
        }
    }

    fn unexpected(&self, what: &str) -> anyhow::Error {
        anyhow!(
            "Redis at {} gave an unexpected reply ({what}) for lock '{}': is it a Redis server, version 6 or later?",
            self.endpoint.shown(),
            self.keys.lock
        )
    }
}

/// Has the CPU's features looked up now, while an answer is on its way. The reply parser's memchr
/// asks for them the first time it runs, and that takes several CPUID instructions, which a
/// virtual machine makes slow (about 40 µs in all on the development machine): paid here, it
/// is not paid once the answer has come.
fn warm_up_parser() {
    #[cfg(target_arch = "x86_64")]
    let _ = std::arch::is_x86_feature_detected!("avx2");
}

/// EVALSHA of `script` on the lock's keys (lock, holder, fence, queue, alive, holders) with
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

/// ACQUIRE's arguments (see scripts/acquire.lua).
fn acquire_args(
    token: &Token,
    ttl: Duration,
    holder: &Holder,
    waiter: Option<&Waiter>,
    mode: Mode,
) -> Vec<String> {
    let (id, lapse, grant) = match waiter {
        Some(waiter) => (waiter.id.as_str(), millis(waiter.lapse), millis(waiter.grant)),
        None => ("", 0, 0),
    };
    let mut args = vec![
        token.secret().to_owned(),
        millis(ttl).to_string(),
        id.to_owned(),
        lapse.to_string(),
        grant.to_string(),
        mode.code(),
    ];
    for (name, value) in holder.fields() {
        args.push(name.to_owned());
        args.push(value);
    }
    args
}

/// The time allowed for one server's answer: `timeout`, at most [`quorum::NODE_TIMEOUT`] when
/// there are several servers.
fn node_timeout(servers: usize, timeout: Duration) -> Duration {
    if servers > 1 { timeout.min(quorum::NODE_TIMEOUT) } else { timeout }
}

/// Milliseconds for Redis, at least 1.
pub fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX).max(1)
}

/// PTTL's answer as a lifetime: `None` for a key without expiry (-1); zero for a key just gone (-2).
fn pttl_to_ttl(pttl: i64) -> Option<Duration> {
    match pttl {
        -1 => None,
        ms => Some(Duration::from_millis(u64::try_from(ms).unwrap_or(0))),
    }
}

/// A mode for the scripts; '' for "whichever the token holds".
fn code_of(mode: Option<Mode>) -> String {
    mode.map(Mode::code).unwrap_or_default()
}
