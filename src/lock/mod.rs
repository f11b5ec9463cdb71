//! The lock protocol: one lock, on one Redis server or on a quorum of independent servers, taken,
//! refreshed and released by token; held by one holder, by readers together, or by up to N
//! holders ([`Mode`]). [`Lock`] is the one backend every subcommand uses; [`quorum`] says how the
//! servers' answers make one; the Lua scripts in `scripts/` make every change atomic.

pub mod history;
pub mod holder;
pub mod keys;
pub mod mode;
pub(crate) mod quorum;
pub mod reply;

mod node;
mod scripts;
mod watch;

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Result, anyhow};

pub use history::{End, Ending, Hold, Status};
pub use holder::Holder;
pub use keys::LockKeys;
pub use mode::{Mode, ModeConflict};
pub use reply::{Attempt, Described, LockInfo, Queued, Waiting, Wake};

use crate::redis::Endpoint;
use crate::timing;
use node::{Node, Take};
use quorum::Acquired;
use watch::Watch;

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

/// A place in a lock's wait queue, on every server the lock lives on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Waiter {
    /// Random, unique to this wait.
    pub id: String,
    /// How long the place lasts without a heartbeat.
    pub lapse: Duration,
    /// The first lifetime of the lock when it is handed to this waiter (extended once it wakes).
    pub grant: Duration,
    /// Its ticket, which orders the queue: the same on every server, agreed at its first try
    /// (0 before).
    pub ticket: u64,
}

/// Milliseconds for Redis, at least 1.
pub fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX).max(1)
}

/// One lock on the servers it lives on: one Redis server (directly, through Sentinel, or in a
/// Redis Cluster), or a quorum of independent servers. Every call goes to every server (at once,
/// when there are several), and [`quorum`] makes one answer of theirs. A waiter queues on every
/// server, at the place its ticket gives it on all of them, and is woken by a push on each.
pub struct Lock {
    keys: Arc<LockKeys>,
    mode: Option<Mode>,
    nodes: Vec<Node>,
    /// Quorum mode: the threads blocked on each server for the waiter's grants.
    watch: Option<Box<Watch>>,
}

impl Lock {
    /// The lock `keys` on `servers`, giving each Redis round trip up to `timeout` (at most
    /// [`timing::NODE_TIMEOUT`] per server when there are several).
    pub fn new(servers: Vec<Endpoint>, keys: LockKeys, timeout: Duration) -> Lock {
        let timeout = timing::per_server(servers.len(), timeout);
        let nodes =
            servers.into_iter().map(|server| Node::new(server, keys.clone(), timeout)).collect();
        Lock { keys: Arc::new(keys), mode: None, nodes, watch: None }
    }

    /// Takes, refreshes and releases the lock in `mode`. Without one, it is taken exclusively, and
    /// refreshed and released in whatever mode the token holds it.
    pub fn with_mode(mut self, mode: Option<Mode>) -> Lock {
        self.mode = mode;
        self
    }

    /// Takes and extends the lock only once `replicas` replicas of each server acknowledge it
    /// (WAIT; 0, the default, waits for none): then a failover right after does not forget it.
    pub fn with_replicas(mut self, replicas: u32) -> Lock {
        self.nodes.iter_mut().for_each(|node| node.set_replicas(replicas));
        self
    }

    /// The same lock, on connections of its own (made when first used).
    pub fn another(&self) -> Lock {
        let nodes = self.nodes.iter().map(Node::another).collect();
        Lock { keys: self.keys.clone(), mode: self.mode, nodes, watch: None }
    }

    pub fn keys(&self) -> &LockKeys {
        &self.keys
    }

    /// Changes the time allowed for each round trip from now on.
    pub fn set_timeout(&mut self, timeout: Duration) {
        let timeout = timing::per_server(self.nodes.len(), timeout);
        self.nodes.iter_mut().for_each(|node| node.set_timeout(timeout));
    }

    /// The time allowed for each round trip to each server (what [`Lock::set_timeout`] was
    /// given, at most [`timing::NODE_TIMEOUT`] when there are several servers).
    pub fn timeout(&self) -> Duration {
        self.nodes.first().map_or(timing::REDIS_TIMEOUT, Node::timeout)
    }

    /// Tries once to take the lock with `token` for `ttl`, recording `holder`. With a `waiter`
    /// it joins the queue when it cannot take the lock (or keeps its place there: every try is
    /// also a heartbeat); without one it only tries.
    pub fn try_acquire(
        &mut self,
        token: &Token,
        ttl: Duration,
        holder: &Holder,
        mut waiter: Option<&mut Waiter>,
    ) -> Result<Attempt> {
        let mode = self.mode.unwrap_or_default();
        let started = Instant::now();
        let ticket = waiter.as_ref().map_or(0, |waiter| waiter.ticket);
        let take = Take { token, ttl, holder, mode, ticket };
        let mut results = self.on_all(|node| node.try_acquire(&take, waiter.as_deref()));
        if let Some(waiter) = waiter.as_deref_mut() {
            let (ticket, differ) = quorum::ticket(&results, waiter.ticket);
            waiter.ticket = ticket;
            let waiter = &*waiter;
            if !differ.is_empty() {
                // Servers that placed us elsewhere (another waiter joined at the same moment):
                // each takes the agreed place, so that all of them order the two alike.
                let take = Take { ticket, ..take };
                let again = self.on_some(&differ, |node| node.try_acquire(&take, Some(waiter)));
                for (at, result) in differ.into_iter().zip(again) {
                    results[at] = result;
                }
            }
        }
        // The servers that may hold the lock for us: all but those that said it is not ours.
        let unheld: Vec<usize> =
            (0..results.len()).filter(|&at| !matches!(results[at], Ok(Attempt::Held(_)))).collect();
        match quorum::acquired(results, mode, ttl, started.elapsed()) {
            Acquired::Yes { fence, granted, since, raise } => {
                // Nothing to wait for any more: the watch threads end once their BLPOP returns.
                self.watch = None;
                self.raise_fences(token, fence, &raise);
                Ok(Attempt::Acquired { fence, granted, since })
            }
            Acquired::No { undo, answer } => {
                if undo {
                    // Also where a call failed: one may have taken it and lost its answer.
                    if let Some(waiter) = waiter.as_deref() {
                        // The waiter keeps its place: each server hands the lock to its first.
                        let take = Take { ticket: waiter.ticket, ..take };
                        let _ = self.on_some(&unheld, |node| node.give_back(&take, waiter));
                    } else {
                        let end = End::given_back();
                        let _ = self.on_some(&unheld, |node| node.release(token, None, end));
                    }
                }
                answer
            }
        }
    }

    /// Raises the fencing counters of the servers `at` to the `fence` a quorum gave the lock.
    /// Best effort: a server that misses this only makes a later fence smaller than it could be.
    fn raise_fences(&mut self, token: &Token, fence: u64, at: &[usize]) {
        let _ = self.on_some(at, |node| node.raise_fence(token, fence));
    }

    /// Leaves the wait queue (releasing the lock if it was just granted to `token`), passing the
    /// turn on if the lock is free.
    pub fn leave(&mut self, waiter: &str, token: &Token) -> Result<()> {
        self.watch = None;
        quorum::any(self.on_all(|node| node.leave(waiter, token).map(|()| true))).map(|_| ())
    }

    /// Blocks on this waiter's wake-up list on every server until a quorum granted it the lock
    /// or `timeout` passes. A grant from fewer servers is found (and given back) by the next
    /// try.
    pub fn wait_for_grant(
        &mut self,
        waiter: &Waiter,
        token: &Token,
        timeout: Duration,
    ) -> Result<Wake> {
        if let [node] = self.nodes.as_mut_slice() {
            return node.wait_for_grant(waiter, timeout);
        }
        let mut watch = match self.watch.take() {
            Some(watch) if watch.is_for(waiter) => watch,
            _ => Box::new(Watch::start(&self.nodes, waiter)?),
        };
        let needed = self.mode.unwrap_or_default().quorum(self.nodes.len());
        let grants = watch.grants(&self.nodes, timeout, needed);
        if grants.iter().flatten().count() < needed {
            self.watch = Some(watch);
            return Ok(Wake::TimedOut);
        }
        // Ours: the threads still blocked end by themselves once their BLPOP returns.
        drop(watch);
        let since = (0..grants.len())
            .filter(|&at| grants[at].is_some())
            .map(|at| self.nodes[at].clear())
            .min()
            .unwrap_or_else(Instant::now);
        let (fence, raise) = quorum::fence_of(grants.into_iter());
        self.raise_fences(token, fence, &raise);
        Ok(Wake::Granted { fence, since })
    }

    /// Extends the lock to `ttl` from now if it is still held with `token`; false when it is not.
    pub fn refresh(&mut self, token: &Token, ttl: Duration) -> Result<bool> {
        let want = self.mode;
        let started = Instant::now();
        let results = self.on_all(|node| node.refresh(token, ttl, want));
        quorum::refreshed(results, want, ttl, started.elapsed())
    }

    /// Releases the lock if it is held with `token`; false when it is not (gone, or someone else's).
    /// The history says it was released, with no command's status.
    pub fn release(&mut self, token: &Token) -> Result<bool> {
        self.release_as(token, End::released())
    }

    /// Releases the lock if it is held with `token`, the history saying the hold ended as `end`
    /// says; false when it is not held with `token` (the history then says its holder lost it,
    /// unless `end` gives back a grant never used).
    pub fn release_as(&mut self, token: &Token, end: End) -> Result<bool> {
        let want = self.mode;
        quorum::any(self.on_all(|node| Ok(node.release(token, want, end)?.is_some())))
    }

    /// Releases the lock whoever holds it; false when it was free.
    pub fn force_release(&mut self) -> Result<bool> {
        quorum::any(self.on_all(Node::force_release))
    }

    /// The lock's remaining lifetime, holders and waiters; `None` when it is free.
    pub fn inspect(&mut self) -> Result<Option<LockInfo>> {
        Ok(self.describe()?.info)
    }

    /// How the lock is held (`None` when it is free), and who waits for it, in the order they
    /// will be served.
    pub fn describe(&mut self) -> Result<Described> {
        let mut queues = Vec::new();
        let infos = self
            .on_all(Node::describe)
            .into_iter()
            .map(|result| {
                result.map(|described| {
                    queues.push(described.queue);
                    described.info
                })
            })
            .collect();
        let mut info = quorum::seen(infos)?;
        let queue = quorum::queue(queues);
        if let Some(info) = &mut info {
            info.waiters = u64::try_from(queue.len()).unwrap_or(u64::MAX);
        }
        Ok(Described { info, queue })
    }

    /// The lock's holds that its history keeps, oldest first, over every server that answers (a
    /// majority must); `holding` are the digests of its holders now.
    pub fn history(&mut self, holding: &[String]) -> Result<Vec<Hold>> {
        let results = self.on_all(Node::history);
        let n = results.len();
        let answered = results.iter().filter(|result| result.is_ok()).count();
        if !quorum::enough_answered(answered, n) {
            return Err(quorum::too_few(results, quorum::majority(n)));
        }
        Ok(history::holds(results.into_iter().filter_map(Result::ok).collect(), holding))
    }

    /// Runs `call` on every server, at once when there are several, and collects the results in
    /// server order.
    fn on_all<T: Send>(&mut self, call: impl Fn(&mut Node) -> Result<T> + Sync) -> Vec<Result<T>> {
        on_each(self.nodes.iter_mut().collect(), call)
    }

    /// Runs `call` on the servers `at` (by index, in order), as [`Lock::on_all`] does.
    fn on_some<T: Send>(
        &mut self,
        at: &[usize],
        call: impl Fn(&mut Node) -> Result<T> + Sync,
    ) -> Vec<Result<T>> {
        let nodes = self.nodes.iter_mut().enumerate();
        on_each(nodes.filter(|(index, _)| at.contains(index)).map(|(_, node)| node).collect(), call)
    }
}

/// Runs `call` on each of `nodes`, at once when there are several, and collects the results in
/// their order.
fn on_each<T: Send>(
    mut nodes: Vec<&mut Node>,
    call: impl Fn(&mut Node) -> Result<T> + Sync,
) -> Vec<Result<T>> {
    if let [node] = nodes.as_mut_slice() {
        return vec![call(node)];
    }
    let call = &call;
    std::thread::scope(|scope| {
        let running: Vec<_> =
            nodes.into_iter().map(|node| scope.spawn(move || call(node))).collect();
        running
            .into_iter()
            .map(|thread| thread.join().unwrap_or_else(|_| Err(anyhow!("a Redis call failed"))))
            .collect()
    })
}
