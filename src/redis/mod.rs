//! Connecting to Redis. This module owns where Redis is and how to reach it: URL parsing (one
//! server, the Sentinels of one, a Redis Cluster, or the independent servers of a quorum:
//! [`servers`]), TLS certificates ([`TlsFiles`]), connecting within time limits
//! ([`Endpoint::connect`]), keeping passwords out of everything shown ([`redact`], [`scrub`]),
//! and turning Redis's errors into messages that say what went wrong and what to do (by the
//! kind of error, never its wording: see `error.rs`).
//!
//! Its files depend one way: `endpoint` on `sentinel`, both on `server`, and all three on
//! `error`, `secrets` and `tls` (of which only `error` uses another: `secrets`).

mod endpoint;
mod error;
mod secrets;
mod sentinel;
mod server;
mod tls;

use std::time::Duration;

use anyhow::{Result, bail};

pub use endpoint::{Endpoint, RedisConnection};
pub(crate) use error::{failure, is_wrong_type, retryable};
pub(crate) use secrets::scrub_all;
pub use secrets::{redact, scrub, secrets};
pub use sentinel::{MasterAt, Sentinels, is_sentinel_url};
pub use tls::TlsFiles;

/// The servers a lock lives on, from the `--redis` URLs (blank ones ignored): one [`Endpoint`]
/// for one server, for the Sentinels of one deployment (`redis+sentinel://` URLs) or for a
/// Redis Cluster (`cluster`, the URLs its seeds); several for a quorum of independent masters,
/// each given once. `timeout` limits a cluster's connections.
pub fn servers(
    urls: &[String],
    tls: &TlsFiles,
    cluster: bool,
    timeout: Duration,
) -> Result<Vec<Endpoint>> {
    let urls: Vec<&str> = urls.iter().map(|url| url.trim()).filter(|url| !url.is_empty()).collect();
    if urls.is_empty() {
        bail!("no Redis URL: give one with --redis or RLOCK_REDIS, e.g. redis://127.0.0.1:6379");
    }
    if cluster {
        return Ok(vec![Endpoint::cluster(&urls, tls, timeout)?]);
    }
    if urls.iter().any(|url| is_sentinel_url(url)) {
        if let Some(other) = urls.iter().find(|url| !is_sentinel_url(url)) {
            bail!(
                "'{}' is not a redis+sentinel:// URL, but others are: give either the Sentinels \
                 of one deployment or one Redis server",
                redact(other)
            );
        }
        return Ok(vec![Endpoint::sentinel(Sentinels::parse(&urls, tls)?)]);
    }
    let mut servers: Vec<Endpoint> = Vec::with_capacity(urls.len());
    for url in &urls {
        let server = Endpoint::parse(url, tls)?;
        if let Some(known) = servers.iter().find(|known| known.address() == server.address()) {
            let also = if known.shown() == server.shown() {
                String::new()
            } else {
                format!(" (as '{}' too)", known.shown())
            };
            bail!(
                "'{}' is given twice{also}: a quorum needs independent Redis servers; give each \
                 one once",
                server.shown()
            );
        }
        servers.push(server);
    }
    Ok(servers)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn servers_of(urls: &[&str], cluster: bool) -> Result<Vec<Endpoint>> {
        let urls: Vec<String> = urls.iter().map(|url| (*url).to_owned()).collect();
        servers(&urls, &TlsFiles::default(), cluster, Duration::from_secs(1))
    }

    fn shown(urls: &[&str], cluster: bool) -> Vec<String> {
        servers_of(urls, cluster).unwrap().iter().map(|server| server.shown().to_owned()).collect()
    }

    fn refusal(urls: &[&str]) -> String {
        format!("{:#}", servers_of(urls, false).unwrap_err())
    }

    #[test]
    fn one_server_sentinels_a_cluster_or_a_quorum() {
        assert_eq!(shown(&[" redis://h:1 ", ""], false), ["redis://h:1"]);
        assert_eq!(
            shown(&["redis+sentinel://h:1/svc", "redis+sentinel://h:2/svc"], false),
            ["the master 'svc' of Sentinel h:1"]
        );
        assert_eq!(
            shown(&["redis://h:1", "redis://h:2"], true),
            ["the Redis Cluster of redis://h:1, redis://h:2"]
        );
        assert_eq!(
            shown(&["redis://h:1", "redis://h:2", "unix:///tmp/r.sock"], false),
            ["redis://h:1", "redis://h:2", "unix:///tmp/r.sock"]
        );
    }

    #[test]
    fn refuses_what_cannot_be_a_lock_s_servers() {
        assert!(refusal(&[]).contains("no Redis URL"));
        assert!(refusal(&[" "]).contains("no Redis URL"));
        let mixed = refusal(&["redis+sentinel://h/svc", "redis://:pw123@h:1"]);
        assert!(mixed.contains("'redis://:***@h:1' is not a redis+sentinel:// URL"), "{mixed}");
        assert!(refusal(&["redis://h:1", "http://h:2"]).contains("unknown scheme 'http'"));
    }

    #[test]
    fn refuses_a_server_given_twice_in_a_quorum() {
        let twice = refusal(&["redis://h:1", "redis://h:1"]);
        assert!(
            twice
                .contains("'redis://h:1' is given twice: a quorum needs independent Redis servers"),
            "{twice}"
        );
        let twice =
            refusal(&["redis://localhost:1", "redis://h:2", "redis://:pw123@LOCALHOST:1/0"]);
        assert!(
            twice.contains(
                "'redis://:***@LOCALHOST:1/0' is given twice (as 'redis://localhost:1' too)"
            ),
            "{twice}"
        );
        assert!(!twice.contains("pw123"));
        assert!(refusal(&["unix:///tmp/r.sock", "redis+unix:///tmp/r.sock"]).contains("twice"));
        // Two databases of one server hold separate keys.
        assert_eq!(servers_of(&["redis://h:1/1", "redis://h:1/2"], false).unwrap().len(), 2);
    }
}
