//! Redis Sentinel: `redis+sentinel://[USER:PASSWORD@]HOST[:PORT]/SERVICE[/DB]` names one Sentinel
//! (port 26379 by default) and the master it watches; several such URLs (repeated `--redis`, or
//! commas in RLOCK_REDIS) name several Sentinels of the same deployment. `rediss+sentinel://`
//! speaks TLS to both. The user and password are the master's; the Sentinels are asked without.
//!
//! Each new connection asks the Sentinels in turn where the master is (SENTINEL
//! GET-MASTER-ADDR-BY-NAME), connects there and checks with ROLE that it is a master, all within
//! rlock's time limits; while a failover is under way (the server named is not a master yet) it
//! asks again, within the same limit. A connection remembers which master it reached, and
//! [`Sentinels::is_master`] asks the Sentinels whether it still is: after a failover the old
//! master stays a master for a few seconds, and a lock kept there is not the one the new master
//! serves. redis-rs has a Sentinel client too, but it waits without a time limit on a Sentinel
//! that does not answer.

use std::time::{Duration, Instant};

use anyhow::{Result, anyhow, bail};
use redis::Connection;

use super::error;
use super::secrets::{redact, secrets};
use super::server::{Server, refuse_unencoded_password};
use super::tls::TlsFiles;
use crate::timing;

/// The Sentinels of one deployment, and how to reach the master they name.
#[derive(Clone)]
pub struct Sentinels {
    sentinels: Vec<Server>,
    service: String,
    /// The master's URL, less its host and port: scheme, user, password, database.
    master: url::Url,
    tls: TlsFiles,
    /// The master's password, to keep out of messages.
    secrets: Vec<String>,
}

impl std::fmt::Debug for Sentinels {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sentinels")
            .field("sentinels", &self.sentinels)
            .field("service", &self.service)
            .field("master", &redact(self.master.as_str()))
            .field("tls", &self.tls)
            .finish()
    }
}

/// Whether `url` is a Sentinel URL.
pub fn is_sentinel_url(url: &str) -> bool {
    let scheme = url.split_once("://").map(|(scheme, _)| scheme.to_ascii_lowercase());
    matches!(scheme.as_deref(), Some("redis+sentinel" | "rediss+sentinel"))
}

const FORM: &str = "redis+sentinel://[USER:PASSWORD@]HOST[:PORT]/SERVICE[/DB]";

impl Sentinels {
    /// Parses Sentinel URLs, which must all name the same service, user and database.
    pub fn parse(urls: &[&str], tls: &TlsFiles) -> Result<Sentinels> {
        let mut sentinels = Vec::new();
        let mut master: Option<(url::Url, String)> = None;
        for text in urls {
            let shown = redact(text);
            refuse_unencoded_password(text, &shown)?;
            let url = url::Url::parse(text).map_err(|err| {
                anyhow!("'{shown}' is not a valid Sentinel URL ({err}): write {FORM}")
            })?;
            let secure = url.scheme().eq_ignore_ascii_case("rediss+sentinel");
            let Some(host) = url.host_str().filter(|host| !host.is_empty()) else {
                bail!("'{shown}' names no Sentinel host: write {FORM}");
            };
            let port = url.port().unwrap_or(26379);
            let mut path = url.path().trim_matches('/').split('/');
            let service = path.next().unwrap_or_default().to_owned();
            if service.is_empty() {
                bail!(
                    "'{shown}' names no service (the master's name in the Sentinels): write {FORM}"
                );
            }
            let db = path.next().unwrap_or("0");
            if db.parse::<u32>().is_err() || path.next().is_some() {
                bail!(
                    "'{shown}' has more than SERVICE and a database number in its path: write {FORM}"
                );
            }
            // The master's URL: this one's user, password and database, on a host filled in later.
            let mut template =
                url::Url::parse(if secure { "rediss://master" } else { "redis://master" })?;
            let _ = template.set_username(url.username());
            let _ = template.set_password(url.password());
            template.set_path(&format!("/{db}"));
            match &master {
                None => master = Some((template, service)),
                Some((known, known_service)) => {
                    if *known != template || *known_service != service {
                        bail!(
                            "the Sentinel URLs disagree on the service, user, password or database \
                             ('{shown}'): every redis+sentinel:// URL must name the same master"
                        );
                    }
                }
            }
            let scheme = if secure { "rediss" } else { "redis" };
            let sentinel = Server::parse(&format!("{scheme}://{}", host_port(host, port)), tls)?;
            sentinels.push(sentinel.named(format!("Sentinel {}", host_port(host, port))));
        }
        let Some((master, service)) = master else { bail!("no Sentinel URL given: write {FORM}") };
        let secrets = urls.iter().flat_map(|url| secrets(url)).collect();
        Ok(Sentinels { sentinels, service, master, tls: tls.clone(), secrets })
    }

    /// Connects to the master the Sentinels name now (see the module's documentation), and says
    /// where that is.
    pub(crate) fn connect(&self, timeout: Duration) -> Result<(Connection, MasterAt)> {
        let deadline = Instant::now() + timeout;
        loop {
            match self.connect_once(timeout) {
                Err(Reached::NotYet(_)) if Instant::now() + timing::FAILOVER_NAP < deadline => {
                    std::thread::sleep(timing::FAILOVER_NAP);
                }
                Err(Reached::NotYet(err) | Reached::Failed(err)) => return Err(err),
                Ok(reached) => return Ok(reached),
            }
        }
    }

    /// One round of [`Sentinels::connect`]: `NotYet` when a Sentinel named a server that is not
    /// a master (yet).
    fn connect_once(&self, timeout: Duration) -> Result<(Connection, MasterAt), Reached> {
        let mut failures = Vec::new();
        let mut not_yet = false;
        for sentinel in &self.sentinels {
            match self.master_from(sentinel, timeout) {
                Ok(reached) => return Ok(reached),
                Err(Reached::NotYet(err)) => {
                    not_yet = true;
                    failures.push(err);
                }
                Err(Reached::Failed(err)) => failures.push(err),
            }
        }
        // Trying again may help while a failover is under way, or when it may with every
        // Sentinel (all restarting, say).
        let again = not_yet || failures.iter().all(error::retryable);
        let reasons: Vec<String> = failures.iter().map(|err| format!("{err:#}")).collect();
        let message =
            format!("no Sentinel led to the master of '{}': {}", self.service, reasons.join("; "));
        let err = error::failure(message, again);
        Err(if not_yet { Reached::NotYet(err) } else { Reached::Failed(err) })
    }

    /// Whether `at` is still the master, as the first Sentinel that answers says. An error when
    /// none answers: then nobody can tell.
    pub(crate) fn is_master(&self, at: &MasterAt, timeout: Duration) -> Result<bool> {
        let mut failures = Vec::new();
        for sentinel in &self.sentinels {
            match self.master_address(sentinel, timeout) {
                Ok(named) => return Ok(named == *at),
                Err(err) => failures.push(err),
            }
        }
        let again = failures.iter().all(error::retryable);
        let reasons: Vec<String> = failures.iter().map(|err| format!("{err:#}")).collect();
        let message = format!(
            "no Sentinel said whether {at} is still the master of '{}': {}",
            self.service,
            reasons.join("; ")
        );
        Err(error::failure(message, again))
    }

    /// Where `sentinel` says the master is.
    fn master_address(&self, sentinel: &Server, timeout: Duration) -> Result<MasterAt> {
        let mut con = sentinel.connect(timeout)?;
        let address: Option<(String, String)> = redis::cmd("SENTINEL")
            .arg("GET-MASTER-ADDR-BY-NAME")
            .arg(&self.service)
            .query(&mut con)
            .map_err(|err| sentinel.explain(&err))?;
        let Some((host, port)) = address else {
            bail!("{} knows no master named '{}'", sentinel.shown(), self.service);
        };
        let port: u16 = port.parse().map_err(|_| {
            anyhow!("{} gave '{port}' as the port of '{}'", sentinel.shown(), self.service)
        })?;
        Ok(MasterAt { host, port })
    }

    fn master_from(
        &self,
        sentinel: &Server,
        timeout: Duration,
    ) -> Result<(Connection, MasterAt), Reached> {
        let at = self.master_address(sentinel, timeout).map_err(Reached::Failed)?;
        let MasterAt { host, port } = &at;
        let mut url = self.master.clone();
        url.set_host(Some(host)).map_err(|err| {
            Reached::Failed(anyhow!(
                "{} gave '{host}' as the address of '{}' ({err})",
                sentinel.shown(),
                self.service
            ))
        })?;
        let _ = url.set_port(Some(*port));
        let master = Server::parse(url.as_str(), &self.tls).map_err(Reached::Failed)?;
        let mut con = master.connect(timeout).map_err(Reached::Failed)?;
        let role: Vec<redis::Value> = redis::cmd("ROLE")
            .query(&mut con)
            .map_err(|err| Reached::Failed(master.explain(&err)))?;
        match role.first() {
            Some(redis::Value::BulkString(role)) if role.as_slice() == b"master" => Ok((con, at)),
            _ => Err(Reached::NotYet(error::failure(
                format!(
                    "{} named {at} as the master of '{}', but it is not one (yet): a failover is \
                     under way, try again",
                    sentinel.shown(),
                    self.service
                ),
                true,
            ))),
        }
    }

    /// How messages name this deployment.
    pub fn shown(&self) -> String {
        let first = self.sentinels.first().map(Server::shown).unwrap_or_default();
        format!("the master '{}' of {first}", self.service)
    }

    /// Whether the master (and the Sentinels) are reached over TLS.
    pub(crate) fn is_tls(&self) -> bool {
        self.sentinels.first().is_some_and(Server::is_tls)
    }

    /// The master's password, to keep out of messages.
    pub(crate) fn secrets(&self) -> &[String] {
        &self.secrets
    }
}

/// Where a Sentinel said the master is: a host (as the Sentinel gives it) and port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MasterAt {
    host: String,
    port: u16,
}

impl std::fmt::Display for MasterAt {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&host_port(&self.host, self.port))
    }
}

/// How one round of connecting through the Sentinels failed.
enum Reached {
    /// A failover is under way: asking again shortly may succeed.
    NotYet(anyhow::Error),
    Failed(anyhow::Error),
}

/// `host:port`, with brackets around an IPv6 address.
fn host_port(host: &str, port: u16) -> String {
    if host.contains(':') && !host.starts_with('[') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(urls: &[&str]) -> Result<Sentinels> {
        Sentinels::parse(urls, &TlsFiles::default())
    }

    #[test]
    fn parses_the_sentinels_of_one_master() {
        let sentinels =
            parse(&["redis+sentinel://:pw123@h1/svc/2", "redis+sentinel://:pw123@h2:5/svc/2"])
                .unwrap();
        assert_eq!(sentinels.shown(), "the master 'svc' of Sentinel h1:26379");
        assert!(!sentinels.is_tls());
        assert!(!format!("{sentinels:?}").contains("pw123"));
        assert!(sentinels.secrets().contains(&"pw123".to_owned()));
        assert!(parse(&["rediss+sentinel://h1/svc"]).unwrap().is_tls());
        assert!(is_sentinel_url("REDIS+SENTINEL://h/svc"));
        assert!(!is_sentinel_url("redis://h"));
    }

    #[test]
    fn names_what_is_wrong() {
        let err = |urls: &[&str]| format!("{:#}", parse(urls).unwrap_err());
        assert!(err(&["redis+sentinel://h"]).contains("names no service"));
        assert!(err(&["redis+sentinel:///svc"]).contains("names no Sentinel host"));
        assert!(err(&["redis+sentinel://h/svc/x"]).contains("more than SERVICE"));
        assert!(err(&["redis+sentinel://h/a", "redis+sentinel://h/b"]).contains("disagree"));
        let unencoded = err(&["redis+sentinel://u:1/secret@h/svc"]);
        assert!(
            unencoded.contains("percent-encoded") && !unencoded.contains("secret"),
            "{unencoded}"
        );
        assert!(err(&[]).contains("no Sentinel URL"));
    }
}
