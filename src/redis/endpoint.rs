//! Where one lock lives: one Redis server reached directly, the master a set of Sentinels names,
//! or a Redis Cluster ([`Endpoint`]); and the connection to it ([`RedisConnection`]).

use std::time::Duration;

use anyhow::{Error, Result, anyhow};
use redis::cluster::{ClusterClient, ClusterClientBuilder, ClusterConnection};
use redis::{Connection, ConnectionLike, FromRedisValue, IntoConnectionInfo, RedisError};

use super::error::{self, Peer, Phase, Via};
use super::secrets::{redact, scrub, scrub_all, secrets};
use super::sentinel::{MasterAt, Sentinels};
use super::server::{Address, Server, refuse_unencoded_password};
use super::tls::TlsFiles;

/// One Redis server, as given by a URL, the master a set of Sentinels names, or a Redis Cluster.
#[derive(Clone)]
pub struct Endpoint {
    target: Target,
    shown: String,
}

#[derive(Clone)]
enum Target {
    Direct(Server),
    Sentinel(Sentinels),
    Cluster(Box<Cluster>),
}

/// A Redis Cluster, found through seed nodes; `seed` (the first seed's URL) and `tls` reach any
/// one node directly.
#[derive(Clone)]
struct Cluster {
    client: ClusterClient,
    seed: String,
    tls: TlsFiles,
    secure: bool,
    /// The seeds' passwords, to keep out of messages.
    secrets: Vec<String>,
}

/// A connection to one server, to the master some Sentinels named (and where that was), or to a
/// whole Redis Cluster (which sends each command to the node that serves its keys' slot: all of
/// one lock's keys share a slot).
pub enum RedisConnection {
    Single(Connection),
    Master(Connection, MasterAt),
    Cluster(Box<ClusterConnection>),
}

impl RedisConnection {
    /// Sets the time allowed for each read and write.
    pub fn set_timeouts(&self, timeout: Duration) -> redis::RedisResult<()> {
        match self {
            RedisConnection::Single(con) | RedisConnection::Master(con, _) => {
                con.set_read_timeout(Some(timeout))?;
                con.set_write_timeout(Some(timeout))
            }
            RedisConnection::Cluster(con) => {
                con.set_read_timeout(Some(timeout))?;
                con.set_write_timeout(Some(timeout))
            }
        }
    }

    /// Waits up to `timeout` until `replicas` replicas have acknowledged every write made on
    /// this connection so far (WAIT; in a cluster, on the master of `key`'s slot, where the
    /// writes went): how many did.
    pub fn wait_for_replicas(
        &mut self,
        key: &str,
        replicas: u32,
        timeout: Duration,
    ) -> redis::RedisResult<u64> {
        let mut wait = redis::cmd("WAIT");
        // 0 would wait forever.
        wait.arg(replicas).arg(u64::try_from(timeout.as_millis()).unwrap_or(u64::MAX).max(1));
        match self {
            RedisConnection::Single(con) | RedisConnection::Master(con, _) => wait.query(con),
            RedisConnection::Cluster(con) => {
                use redis::cluster_routing::{Route, RoutingInfo, SingleNodeRoutingInfo, SlotAddr};
                let route = Route::with_key(key, SlotAddr::Master);
                let routing = RoutingInfo::SingleNode(SingleNodeRoutingInfo::SpecificNode(route));
                Ok(u64::from_redis_value(con.route_command(&wait, routing)?)?)
            }
        }
    }

    fn inner(&mut self) -> &mut dyn ConnectionLike {
        match self {
            RedisConnection::Single(con) | RedisConnection::Master(con, _) => con,
            RedisConnection::Cluster(con) => con.as_mut(),
        }
    }
}

impl ConnectionLike for RedisConnection {
    fn req_packed_command(&mut self, cmd: &[u8]) -> redis::RedisResult<redis::Value> {
        self.inner().req_packed_command(cmd)
    }

    fn req_packed_commands(
        &mut self,
        cmd: &[u8],
        offset: usize,
        count: usize,
    ) -> redis::RedisResult<Vec<redis::Value>> {
        self.inner().req_packed_commands(cmd, offset, count)
    }

    fn req_command(&mut self, cmd: &redis::Cmd) -> redis::RedisResult<redis::Value> {
        self.inner().req_command(cmd)
    }

    fn get_db(&self) -> i64 {
        match self {
            RedisConnection::Single(con) | RedisConnection::Master(con, _) => con.get_db(),
            RedisConnection::Cluster(con) => con.get_db(),
        }
    }

    fn supports_pipelining(&self) -> bool {
        match self {
            RedisConnection::Single(con) | RedisConnection::Master(con, _) => {
                con.supports_pipelining()
            }
            RedisConnection::Cluster(con) => con.supports_pipelining(),
        }
    }

    fn check_connection(&mut self) -> bool {
        self.inner().check_connection()
    }

    fn is_open(&self) -> bool {
        match self {
            RedisConnection::Single(con) | RedisConnection::Master(con, _) => con.is_open(),
            RedisConnection::Cluster(con) => con.is_open(),
        }
    }
}

impl std::fmt::Debug for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Endpoint").field("url", &self.shown).finish()
    }
}

impl Endpoint {
    /// Parses a `redis://`, `rediss://` (TLS, with `tls`'s certificates), `unix://` (or
    /// `redis+unix://`) URL. Messages never contain the password.
    pub fn parse(text: &str, tls: &TlsFiles) -> Result<Endpoint> {
        let server = Server::parse(text, tls)?;
        Ok(Endpoint { shown: server.shown().to_owned(), target: Target::Direct(server) })
    }

    /// The Redis Cluster that these seed URLs (`redis://` or `rediss://`) belong to.
    pub fn cluster(urls: &[&str], tls: &TlsFiles, timeout: Duration) -> Result<Endpoint> {
        let mut seeds = Vec::new();
        let mut secure = None;
        for text in urls {
            let shown = redact(text);
            let is_tls = match text.split_once("://").map(|(scheme, _)| scheme.to_ascii_lowercase())
            {
                Some(scheme) if scheme == "redis" => false,
                Some(scheme) if scheme == "rediss" => true,
                _ => anyhow::bail!(
                    "'{shown}' cannot be a Redis Cluster seed: give redis://HOST:PORT (or \
                     rediss:// for TLS) URLs of cluster nodes with --cluster"
                ),
            };
            if secure.is_some_and(|secure| secure != is_tls) {
                anyhow::bail!(
                    "the --cluster seeds mix redis:// and rediss://: use one or the other"
                );
            }
            secure = Some(is_tls);
            refuse_unencoded_password(text, &shown)?;
            let info = text.into_connection_info().map_err(|err| {
                anyhow!(
                    "'{shown}' is not a valid Redis URL ({}): write redis://[USER:PASSWORD@]HOST:PORT \
                     (or rediss://) for each --cluster seed",
                    scrub(&err.to_string(), text)
                )
            })?;
            let settings = info.redis_settings().clone().set_skip_set_lib_name();
            seeds.push(info.set_redis_settings(settings));
        }
        let shown = format!(
            "the Redis Cluster of {}",
            urls.iter().map(|url| redact(url)).collect::<Vec<_>>().join(", ")
        );
        let secrets: Vec<String> = urls.iter().flat_map(|url| secrets(url)).collect();
        let mut builder =
            ClusterClientBuilder::new(seeds).connection_timeout(timeout).response_timeout(timeout);
        let secure = secure == Some(true);
        if secure {
            builder = builder.certs(tls.load()?);
        }
        let client = builder.build().map_err(|err| {
            anyhow!(
                "{shown} cannot be used ({}): check the --cluster seed URLs",
                scrub_all(&err.to_string(), &secrets)
            )
        })?;
        let seed = urls.first().map(|url| (*url).to_owned()).unwrap_or_default();
        let cluster = Cluster { client, seed, tls: tls.clone(), secure, secrets };
        Ok(Endpoint { target: Target::Cluster(Box::new(cluster)), shown })
    }

    /// The master that `sentinels` name, whichever server that is at the time of each connection.
    pub fn sentinel(sentinels: Sentinels) -> Endpoint {
        let shown = sentinels.shown();
        Endpoint { target: Target::Sentinel(sentinels), shown }
    }

    /// The URL as it may be shown: without its password.
    pub fn shown(&self) -> &str {
        &self.shown
    }

    /// Where a server reached directly is, to tell it from others; `None` for Sentinels and
    /// clusters.
    pub(crate) fn address(&self) -> Option<Address> {
        match &self.target {
            Target::Direct(server) => Some(server.address()),
            Target::Sentinel(_) | Target::Cluster(_) => None,
        }
    }

    /// Connects, spending at most `timeout` on connecting and on each later read or write.
    pub fn connect(&self, timeout: Duration) -> Result<RedisConnection> {
        let timeout = timeout.max(Duration::from_millis(1));
        let con = match &self.target {
            Target::Direct(server) => return server.connect(timeout).map(RedisConnection::Single),
            Target::Sentinel(sentinels) => {
                let (con, at) = sentinels.connect(timeout)?;
                RedisConnection::Master(con, at)
            }
            Target::Cluster(cluster) => cluster
                .client
                .get_connection()
                .map(|con| RedisConnection::Cluster(Box::new(con)))
                .map_err(|err| self.failed(&err, Phase::Connecting))?,
        };
        con.set_timeouts(timeout).map_err(|err| self.failed(&err, Phase::Connecting))?;
        Ok(con)
    }

    /// Where `con` is, if that is no longer the master: for the master some Sentinels name, when
    /// they name another server now (an error when no Sentinel answers, as then nobody can tell).
    /// Never for one server reached directly, nor for a cluster (whose nodes redirect what they
    /// no longer serve).
    pub fn former_master(
        &self,
        con: &RedisConnection,
        timeout: Duration,
    ) -> Result<Option<String>> {
        match (&self.target, con) {
            (Target::Sentinel(sentinels), RedisConnection::Master(_, at)) => Ok((!sentinels
                .is_master(at, timeout.max(Duration::from_millis(1)))?)
            .then(|| at.to_string())),
            _ => Ok(None),
        }
    }

    /// Whether this is the master some Sentinels name.
    pub fn is_sentinel(&self) -> bool {
        matches!(self.target, Target::Sentinel(_))
    }

    /// A message for an error of a call on an established connection: it names this server
    /// (without the password) and says what to do.
    pub fn explain(&self, err: &RedisError) -> Error {
        self.failed(err, Phase::Connected)
    }

    fn failed(&self, err: &RedisError, phase: Phase) -> Error {
        let (tls, via, secrets) = match &self.target {
            Target::Direct(server) => return server.explain_in(err, phase),
            Target::Sentinel(sentinels) => (sentinels.is_tls(), Via::Sentinel, sentinels.secrets()),
            Target::Cluster(cluster) => (cluster.secure, Via::Cluster, cluster.secrets.as_slice()),
        };
        let peer = Peer { shown: &self.shown, who: &self.shown, tls, via, secrets };
        error::explain(err, phase, &peer)
    }

    /// The servers that together hold every key, each to be scanned on its own: the masters of a
    /// cluster, or just this one.
    pub fn scan_targets(&self, timeout: Duration) -> Result<Vec<Endpoint>> {
        let Target::Cluster(cluster) = &self.target else {
            return Ok(vec![self.clone()]);
        };
        let mut con = self.connect(timeout)?;
        // Each entry: first slot, last slot, [address, port, ...] of its master, then replicas.
        let ranges: Vec<Vec<redis::Value>> =
            redis::cmd("CLUSTER").arg("SLOTS").query(&mut con).map_err(|err| self.explain(&err))?;
        let mut masters = std::collections::BTreeSet::new();
        for range in &ranges {
            let Some(redis::Value::Array(master)) = range.get(2) else { continue };
            let host = master.first().and_then(|v| String::from_redis_value_ref(v).ok());
            let port = master.get(1).and_then(|v| u16::from_redis_value_ref(v).ok());
            if let (Some(host), Some(port)) = (host, port) {
                masters.insert((host, port));
            }
        }
        let mut url = url::Url::parse(&cluster.seed)
            .map_err(|err| anyhow!("{}: {err}", redact(&cluster.seed)))?;
        masters
            .into_iter()
            .map(|(host, port)| {
                url.set_host(Some(&host)).map_err(|err| anyhow!("node address '{host}': {err}"))?;
                let _ = url.set_port(Some(port));
                Endpoint::parse(url.as_str(), &cluster.tls)
            })
            .collect()
    }

    /// The keys of one type that match a glob `pattern` on this one server, found with SCAN
    /// (a thousand at a time, so that Redis never blocks on it), never KEYS.
    pub fn scan(&self, pattern: &str, kind: &str, timeout: Duration) -> Result<Vec<String>> {
        let mut con = self.connect(timeout)?;
        let mut found = Vec::new();
        let mut cursor: u64 = 0;
        loop {
            let (next, keys): (u64, Vec<String>) = redis::cmd("SCAN")
                .arg(cursor)
                .arg("MATCH")
                .arg(pattern)
                .arg("COUNT")
                .arg(1000)
                .arg("TYPE")
                .arg(kind)
                .query(&mut con)
                .map_err(|err| self.explain(&err))?;
            found.extend(keys);
            if next == 0 {
                return Ok(found);
            }
            cursor = next;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_one_server_a_cluster_and_sentinels() {
        let tls = TlsFiles::default();
        let server = Endpoint::parse("redis://:hunter22@127.0.0.1:6379/2", &tls).unwrap();
        assert_eq!(server.shown(), "redis://:***@127.0.0.1:6379/2");
        assert!(server.address().is_some());
        let cluster = Endpoint::cluster(
            &["redis://:hunter22@h:1", "redis://:hunter22@h:2"],
            &tls,
            Duration::from_secs(1),
        )
        .unwrap();
        assert_eq!(cluster.shown(), "the Redis Cluster of redis://:***@h:1, redis://:***@h:2");
        assert!(cluster.address().is_none());
        let err = Endpoint::cluster(&["redis://h:1", "rediss://h:2"], &tls, Duration::from_secs(1))
            .unwrap_err();
        assert!(err.to_string().contains("mix"), "{err}");
        let err =
            Endpoint::cluster(&["unix:///tmp/r.sock"], &tls, Duration::from_secs(1)).unwrap_err();
        assert!(err.to_string().contains("cannot be a Redis Cluster seed"), "{err}");
        let sentinels = Sentinels::parse(&["redis+sentinel://h/svc"], &tls).unwrap();
        let master = Endpoint::sentinel(sentinels);
        assert_eq!(master.shown(), "the master 'svc' of Sentinel h:26379");
        assert_eq!(
            format!("{master:?}"),
            "Endpoint { url: \"the master 'svc' of Sentinel h:26379\" }"
        );
    }

    #[test]
    fn explains_errors_naming_the_endpoint_without_its_password() {
        let tls = TlsFiles::default();
        let server = Endpoint::parse("redis://:hunter22@127.0.0.1:6379", &tls).unwrap();
        let err = RedisError::from(std::io::Error::new(std::io::ErrorKind::BrokenPipe, "hunter22"));
        let text = server.explain(&err).to_string();
        assert!(text.starts_with("lost the connection to Redis at redis://:***@127.0.0.1:6379"));
        assert!(!text.contains("hunter22"), "{text}");
        let cluster = Endpoint::cluster(&["redis://h:1"], &tls, Duration::from_secs(1)).unwrap();
        let moved =
            redis::parse_redis_value(b"-MOVED 1 h:2\r\n").unwrap().extract_error().unwrap_err();
        assert!(!cluster.explain(&moved).to_string().contains("add --cluster"));
        assert!(server.explain(&moved).to_string().contains("add --cluster"));
    }

    #[test]
    fn connecting_where_nothing_listens_says_it_cannot_reach() {
        // Port 1 on loopback: nothing listens there.
        let failure = |endpoint: &Endpoint| match endpoint.connect(Duration::from_secs(1)) {
            Ok(_) => panic!("connected to {endpoint:?}"),
            Err(err) => err.to_string(),
        };
        let server = Endpoint::parse("redis://127.0.0.1:1", &TlsFiles::default()).unwrap();
        let err = failure(&server);
        assert!(err.starts_with("cannot reach Redis at redis://127.0.0.1:1"), "{err}");
        let socket = Endpoint::parse("unix:///nonexistent/r.sock", &TlsFiles::default()).unwrap();
        let err = failure(&socket);
        assert!(err.contains("cannot reach") && err.contains("no socket"), "{err}");
    }
}
