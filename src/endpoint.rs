//! Where Redis is (one server, the master Sentinels name, a Redis Cluster, or the servers of a
//! quorum): URL parsing, TLS certificates, redaction of secrets, connecting with time limits, and
//! turning Redis's errors into messages that say what to do.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Error, Result, anyhow, bail};
use redis::cluster::{ClusterClient, ClusterClientBuilder, ClusterConnection};
use redis::{
    Client, ClientTlsConfig, Connection, ConnectionLike, ErrorKind, FromRedisValue,
    IntoConnectionInfo, RedisError, TlsCertificates,
};

use crate::sentinel::Sentinels;

/// One Redis server, as given by a URL (or the master a set of Sentinels names).
#[derive(Clone)]
pub struct Endpoint {
    target: Target,
    shown: String,
}

#[derive(Clone)]
enum Target {
    Direct(Client),
    Sentinel(Sentinels),
    /// A Redis Cluster.
    Cluster(Box<Cluster>),
    /// Independent masters, a majority of which holds a lock (see [`crate::quorum`]).
    Quorum(Vec<Endpoint>),
}

/// A Redis Cluster, found through seed nodes; `seed` (the first seed's URL) and `tls` reach any
/// one node directly.
#[derive(Clone)]
struct Cluster {
    client: ClusterClient,
    seed: String,
    tls: TlsFiles,
}

/// A connection to one server, or to a whole Redis Cluster (which sends each command to the node
/// that serves its keys' slot: all of one lock's keys share a slot).
pub enum RedisConnection {
    Single(Connection),
    Cluster(Box<ClusterConnection>),
}

impl RedisConnection {
    /// Sets the time allowed for each read and write.
    pub fn set_timeouts(&self, timeout: Duration) -> redis::RedisResult<()> {
        match self {
            RedisConnection::Single(con) => {
                con.set_read_timeout(Some(timeout))?;
                con.set_write_timeout(Some(timeout))
            }
            RedisConnection::Cluster(con) => {
                con.set_read_timeout(Some(timeout))?;
                con.set_write_timeout(Some(timeout))
            }
        }
    }

    fn inner(&mut self) -> &mut dyn ConnectionLike {
        match self {
            RedisConnection::Single(con) => con,
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
            RedisConnection::Single(con) => con.get_db(),
            RedisConnection::Cluster(con) => con.get_db(),
        }
    }

    fn supports_pipelining(&self) -> bool {
        match self {
            RedisConnection::Single(con) => con.supports_pipelining(),
            RedisConnection::Cluster(con) => con.supports_pipelining(),
        }
    }

    fn check_connection(&mut self) -> bool {
        self.inner().check_connection()
    }

    fn is_open(&self) -> bool {
        match self {
            RedisConnection::Single(con) => con.is_open(),
            RedisConnection::Cluster(con) => con.is_open(),
        }
    }
}

impl std::fmt::Debug for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Endpoint").field("url", &self.shown).finish()
    }
}

/// Certificate files for `rediss://` URLs (paths; read when a TLS URL is parsed).
#[derive(Debug, Clone, Default)]
pub struct TlsFiles {
    /// CA certificates to trust instead of the system's.
    pub ca: Option<PathBuf>,
    /// A client certificate and its key, for servers that require one.
    pub cert: Option<PathBuf>,
    pub key: Option<PathBuf>,
}

impl TlsFiles {
    /// The certificates as redis-rs takes them.
    fn load(&self) -> Result<TlsCertificates> {
        let read = |path: &Path, what: &str| {
            let pem = std::fs::read(path).map_err(|err| {
                anyhow!("cannot read {what} '{}' ({err}): give a readable PEM file", path.display())
            })?;
            if !pem.windows(11).any(|window| window == b"-----BEGIN ") {
                bail!(
                    "{what} '{}' is not in PEM format (-----BEGIN ...): give the PEM file, or \
                     convert a DER one with openssl x509 -inform der -outform pem",
                    path.display()
                );
            }
            Ok(pem)
        };
        let root_cert = match &self.ca {
            Some(path) => Some(read(path, "the TLS CA file (--tls-ca, RLOCK_TLS_CA)")?),
            None => None,
        };
        let client_tls = match (&self.cert, &self.key) {
            (Some(cert), Some(key)) => Some(ClientTlsConfig {
                client_cert: read(cert, "the TLS client certificate (--tls-cert, RLOCK_TLS_CERT)")?,
                client_key: read(key, "the TLS client key (--tls-key, RLOCK_TLS_KEY)")?,
            }),
            (None, None) => None,
            _ => bail!(
                "--tls-cert and --tls-key (RLOCK_TLS_CERT, RLOCK_TLS_KEY) go together: give both"
            ),
        };
        Ok(TlsCertificates { client_tls, root_cert })
    }
}

impl Endpoint {
    /// Parses a `redis://`, `rediss://` (TLS, with `tls`'s certificates), `unix://` (or
    /// `redis+unix://`) URL. Messages never contain the password.
    pub fn parse(text: &str, tls: &TlsFiles) -> Result<Endpoint> {
        let shown = redact(text);
        let Some((scheme, rest)) = text.split_once("://") else {
            bail!(
                "'{shown}' is not a Redis URL: write redis://HOST[:PORT][/DB] or unix:///PATH/TO/SOCKET"
            );
        };
        let secure = match scheme.to_ascii_lowercase().as_str() {
            "redis" | "unix" | "redis+unix" => false,
            "rediss" => true,
            _ => bail!(
                "'{shown}' has the unknown scheme '{scheme}': use redis://HOST[:PORT][/DB], \
                 rediss://HOST[:PORT][/DB] (TLS) or unix:///PATH/TO/SOCKET"
            ),
        };
        if rest.is_empty() {
            bail!("'{shown}' names no server: write redis://HOST[:PORT] or unix:///PATH/TO/SOCKET");
        }
        // The client only parses here; it connects later. It skips the CLIENT SETINFO that would
        // cost every connection a round trip (and fails on servers older than 7.2).
        let info = text
            .into_connection_info()
            .map(|info| {
                let settings = info.redis_settings().clone().set_skip_set_lib_name();
                info.set_redis_settings(settings)
            })
            .map_err(|err| invalid_url(&shown, text, &err))?;
        let client =
            if secure { Client::build_with_tls(info, tls.load()?) } else { Client::open(info) }
                .map_err(|err| invalid_url(&shown, text, &err))?;
        Ok(Endpoint { target: Target::Direct(client), shown })
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
                _ => bail!(
                    "'{shown}' cannot be a Redis Cluster seed: give redis://HOST:PORT (or \
                     rediss:// for TLS) URLs of cluster nodes with --cluster"
                ),
            };
            if secure.is_some_and(|secure| secure != is_tls) {
                bail!("the --cluster seeds mix redis:// and rediss://: use one or the other");
            }
            secure = Some(is_tls);
            let info =
                text.into_connection_info().map_err(|err| invalid_url(&shown, text, &err))?;
            let settings = info.redis_settings().clone().set_skip_set_lib_name();
            seeds.push(info.set_redis_settings(settings));
        }
        let shown = format!(
            "the Redis Cluster of {}",
            urls.iter().map(|url| redact(url)).collect::<Vec<_>>().join(", ")
        );
        let mut builder =
            ClusterClientBuilder::new(seeds).connection_timeout(timeout).response_timeout(timeout);
        if secure == Some(true) {
            builder = builder.certs(tls.load()?);
        }
        let client = builder.build().map_err(|err| {
            anyhow!(
                "{shown} cannot be used ({}): check the --cluster seed URLs",
                scrub_all(&err.to_string(), urls)
            )
        })?;
        let seed = urls.first().map(|url| (*url).to_owned()).unwrap_or_default();
        let cluster = Cluster { client, seed, tls: tls.clone() };
        Ok(Endpoint { target: Target::Cluster(Box::new(cluster)), shown })
    }

    /// Independent masters for quorum mode.
    pub fn quorum(members: Vec<Endpoint>) -> Endpoint {
        let shown = format!(
            "{} Redis servers ({})",
            members.len(),
            members.iter().map(Endpoint::shown).collect::<Vec<_>>().join(", ")
        );
        Endpoint { target: Target::Quorum(members), shown }
    }

    /// The servers a lock lives on: the members of a quorum, or just this one.
    pub fn members(&self) -> Vec<Endpoint> {
        match &self.target {
            Target::Quorum(members) => members.clone(),
            _ => vec![self.clone()],
        }
    }

    /// The servers that together hold every key, each to be scanned on its own: the masters of a
    /// cluster, the members of a quorum, or just this one.
    pub fn scan_targets(&self, timeout: Duration) -> Result<Vec<Endpoint>> {
        let (seed, tls) = match &self.target {
            Target::Quorum(members) => return Ok(members.clone()),
            Target::Cluster(cluster) => (&cluster.seed, &cluster.tls),
            _ => return Ok(vec![self.clone()]),
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
        let mut url = url::Url::parse(seed).map_err(|err| anyhow!("{}: {err}", redact(seed)))?;
        masters
            .into_iter()
            .map(|(host, port)| {
                url.set_host(Some(&host)).map_err(|err| anyhow!("node address '{host}': {err}"))?;
                let _ = url.set_port(Some(port));
                Endpoint::parse(url.as_str(), tls)
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

    /// The master that `sentinels` name, whichever server that is at the time of each connection.
    pub fn sentinel(sentinels: Sentinels) -> Endpoint {
        let shown = sentinels.shown();
        Endpoint { target: Target::Sentinel(sentinels), shown }
    }

    /// The same server, named `shown` in messages.
    pub fn shown_as(self, shown: String) -> Endpoint {
        Endpoint { shown, ..self }
    }

    /// The URL as it may be shown: without its password.
    pub fn shown(&self) -> &str {
        &self.shown
    }

    /// Connects, spending at most `timeout` on connecting and on each later read or write.
    pub fn connect(&self, timeout: Duration) -> Result<RedisConnection> {
        let timeout = timeout.max(Duration::from_millis(1));
        let con = match &self.target {
            Target::Direct(client) => client
                .get_connection_with_timeout(timeout)
                .map(RedisConnection::Single)
                .map_err(|err| self.explain(&err))?,
            Target::Sentinel(sentinels) => return sentinels.connect(timeout),
            Target::Quorum(_) => bail!("{}: connect to each server of a quorum", self.shown),
            Target::Cluster(cluster) => cluster
                .client
                .get_connection()
                .map(|con| RedisConnection::Cluster(Box::new(con)))
                .map_err(|err| self.explain(&err))?,
        };
        con.set_timeouts(timeout).map_err(|err| self.explain(&err))?;
        Ok(con)
    }

    /// A message for a Redis error that names this server (redacted) and says what to do.
    pub fn explain(&self, err: &RedisError) -> Error {
        let url = &self.shown;
        let code = err.code().unwrap_or_default();
        let detail = scrub(&err.to_string(), &self.shown);
        if err.is_connection_refusal() {
            anyhow!(
                "cannot reach Redis at {url} ({detail}): start redis-server there, or point \
                 --redis / RLOCK_REDIS at a running one"
            )
        } else if err.is_timeout() {
            anyhow!("Redis at {url} did not answer in time: check that it is up and not overloaded")
        } else if err.kind() == ErrorKind::AuthenticationFailed
            || code == "WRONGPASS"
            || detail.contains("invalid password")
        {
            anyhow!(
                "Redis at {url} refused the user name or password: correct them in the URL \
                 (redis://USER:PASSWORD@HOST) or in RLOCK_REDIS"
            )
        } else if code == "NOAUTH" || detail.contains("NOAUTH") {
            anyhow!(
                "Redis at {url} requires a password: give it in the URL (redis://:PASSWORD@HOST), \
                 preferably through RLOCK_REDIS so it stays out of the process list"
            )
        } else if code == "NOPERM" || detail.contains("user executing the script can't") {
            // The second: a command inside one of rlock's scripts that the ACL does not allow.
            anyhow!(
                "Redis at {url} does not let this user do what rlock needs ({detail}): give the \
                 user the ACL rule in rlock's README (\"Redis users (ACL)\"), with key patterns \
                 for your --prefix"
            )
        } else if url.starts_with("rediss:")
            && (detail.contains("opening directory") || detail.contains("opening file"))
        {
            anyhow!(
                "cannot load this system's CA certificates for {url} ({detail}): correct \
                 SSL_CERT_FILE / SSL_CERT_DIR, or give the CA with --tls-ca or RLOCK_TLS_CA"
            )
        } else if code == "MOVED" || err.kind() == ErrorKind::Server(redis::ServerErrorKind::Moved)
        {
            anyhow!(
                "Redis at {url} is a node of a Redis Cluster, and this lock lives on another node \
                 ({detail}): add --cluster (or RLOCK_CLUSTER=1)"
            )
        } else if detail.contains("Unable to build client with TLS parameters") {
            anyhow!(
                "rlock cannot use the TLS certificates it was given for {url} ({detail}): give PEM \
                 files, X.509 v3 certificates and their key, with --tls-ca, --tls-cert, --tls-key"
            )
        } else if detail.contains("invalid peer certificate") {
            let fix = if detail.contains("NotValidForName") {
                "connect by a host name or address the certificate lists"
            } else {
                "give the CA that signed it with --tls-ca or RLOCK_TLS_CA"
            };
            anyhow!("the TLS certificate of Redis at {url} is not trusted ({detail}): {fix}")
        } else if detail.contains("CertificateRequired") || detail.contains("certificate required")
        {
            anyhow!(
                "Redis at {url} wants a client certificate ({detail}): give one with --tls-cert and \
                 --tls-key (RLOCK_TLS_CERT, RLOCK_TLS_KEY)"
            )
        } else if err.is_io_error() {
            let hint = if !url.starts_with("rediss:") && detail.contains("reset by peer") {
                "; if that server speaks only TLS, use a rediss:// URL"
            } else {
                ""
            };
            anyhow!("lost the connection to Redis at {url} ({detail}){hint}")
        } else {
            anyhow!(
                "Redis at {url} answered with an error: {detail}; rlock needs Redis 6 or later, \
                 and the server's log may say more"
            )
        }
    }
}

/// `message` without the secrets of any of `urls`.
fn scrub_all(message: &str, urls: &[&str]) -> String {
    urls.iter().fold(message.to_owned(), |text, url| scrub(&text, url))
}

/// The message for a URL (or its certificates) that redis-rs cannot use.
fn invalid_url(shown: &str, text: &str, err: &RedisError) -> Error {
    anyhow!(
        "'{shown}' is not a valid Redis URL ({}): write redis://[USER:PASSWORD@]HOST[:PORT][/DB], \
         rediss://... for TLS, or unix:///PATH/TO/SOCKET",
        scrub(&err.to_string(), text)
    )
}

/// Returns `url` with any password replaced by `***` (also a `pass=` query parameter of unix URLs).
/// Works on malformed URLs too, as far as they have a `scheme://user:password@` shape or a
/// `?pass=` parameter.
pub fn redact(url: &str) -> String {
    if let Ok(mut parsed) = url::Url::parse(url) {
        // Not `secrets`, which leaves out passwords too short to scrub from messages.
        if parsed.password().is_none() && !parsed.query_pairs().any(|(name, _)| name == "pass") {
            return url.into();
        }
        if parsed.password().is_some() && parsed.set_password(Some("***")).is_err() {
            return "<unparsable URL>".into();
        }
        if parsed.query_pairs().any(|(name, _)| name == "pass") {
            let pairs: Vec<(String, String)> = parsed
                .query_pairs()
                .map(|(name, value)| {
                    let value = if name == "pass" { "***".into() } else { value.into_owned() };
                    (name.into_owned(), value)
                })
                .collect();
            parsed.query_pairs_mut().clear().extend_pairs(pairs);
        }
        return parsed.to_string();
    }
    // Not a URL the parser accepts: hide `pass=` values, and anything between "://user:" and the
    // last "@".
    let url = match url.split_once('?') {
        Some((base, query)) => {
            let hide = |pair| if typed_pass(pair).is_some() { "pass=***" } else { pair };
            format!("{base}?{}", query.split('&').map(hide).collect::<Vec<_>>().join("&"))
        }
        None => url.to_owned(),
    };
    let url = url.as_str();
    let Some(start) = url.find("://").map(|at| at + 3) else {
        return url.into();
    };
    let rest = &url[start..];
    match (rest.find(':'), rest.rfind('@')) {
        (Some(colon), Some(at)) if colon < at => {
            format!("{}{}:***{}", &url[..start], &rest[..colon], &rest[at..])
        }
        (None, Some(at)) => format!("{}***{}", &url[..start], &rest[at..]),
        _ => url.into(),
    }
}

/// The password in `url`, as typed and percent-decoded, for scrubbing messages.
pub fn secrets(url: &str) -> Vec<String> {
    let mut found = Vec::new();
    if let Ok(parsed) = url::Url::parse(url) {
        if let Some(password) = parsed.password() {
            found.push(password.to_owned());
            if let Ok(decoded) = percent_encoding::percent_decode_str(password).decode_utf8() {
                found.push(decoded.into_owned());
            }
        }
        found.extend(parsed.query_pairs().filter(|(n, _)| n == "pass").map(|(_, v)| v.into()));
    } else {
        if let Some(rest) = url.split_once("://").map(|(_, rest)| rest)
            && let (Some(colon), Some(at)) = (rest.find(':'), rest.rfind('@'))
            && colon < at
        {
            found.push(rest[colon + 1..at].to_owned());
        }
        let query = url.split_once('?').map_or("", |(_, query)| query);
        found.extend(query.split('&').filter_map(typed_pass).map(str::to_owned));
    }
    found.retain(|secret| secret.len() >= 3 && secret != "***");
    found
}

/// The value of a `pass=VALUE` pair of a query, as typed.
fn typed_pass(pair: &str) -> Option<&str> {
    pair.strip_prefix("pass=")
}

/// `message` with every secret of `url` replaced by `***`.
pub fn scrub(message: &str, url: &str) -> String {
    secrets(url)
        .iter()
        .fold(message.to_owned(), |text, secret| text.replace(secret.as_str(), "***"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redacts_passwords() {
        assert_eq!(redact("redis://:hunter2@host:6379/0"), "redis://:***@host:6379/0");
        assert_eq!(redact("redis://bob:hunter2@host"), "redis://bob:***@host");
        assert_eq!(redact("redis://host:6379"), "redis://host:6379");
        assert!(!redact("unix:///tmp/r.sock?pass=hunter2&db=1").contains("hunter2"));
        assert!(!redact("redis://:hunter2@[::1").contains("hunter2"));
        assert_eq!(redact("unix://[/r.sock?db=1&pass=hunter2"), "unix://[/r.sock?db=1&pass=***");
        assert!(!redact("http://bob:hunter2@x").contains("hunter2"));
        assert_eq!(redact("redis://bob:pw@host"), "redis://bob:***@host");
        assert_eq!(redact("unix:///tmp/r.sock?pass=pw"), "unix:///tmp/r.sock?pass=***");
    }

    #[test]
    fn scrubs_decoded_passwords() {
        let url = "redis://:p%40ss@host";
        assert_eq!(scrub("bad p@ss here", url), "bad *** here");
    }

    #[test]
    fn refuses_unknown_schemes_and_garbage() {
        let err = Endpoint::parse("http://host", &TlsFiles::default()).unwrap_err().to_string();
        assert!(err.contains("unknown scheme 'http'"), "{err}");
        let err = Endpoint::parse("localhost:6379", &TlsFiles::default()).unwrap_err().to_string();
        assert!(err.contains("not a Redis URL"), "{err}");
        let err = Endpoint::parse("redis://:secret99@[::1", &TlsFiles::default())
            .unwrap_err()
            .to_string();
        assert!(!err.contains("secret99"), "{err}");
        assert!(Endpoint::parse("redis://127.0.0.1:6379/2", &TlsFiles::default()).is_ok());
        assert!(Endpoint::parse("unix:///tmp/redis.sock", &TlsFiles::default()).is_ok());
    }
}
