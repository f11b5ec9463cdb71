//! One Redis server reached directly by its URL: parsing the URL, connecting within a time
//! limit, and the messages for its errors. [`super::Endpoint`] and [`super::Sentinels`] build on
//! it (a Sentinel, and the master it names, are such servers too).

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Error, Result, anyhow, bail};
use redis::{Client, Connection, ConnectionAddr, IntoConnectionInfo, RedisError};

use super::error::{self, Peer, Phase, Via};
use super::secrets::{password_ends_server_part, redact, scrub, secrets};
use super::tls::TlsFiles;

/// A Redis server and how messages name it.
#[derive(Clone)]
pub(crate) struct Server {
    client: Client,
    /// Its URL without the password, or the name it was given ([`Server::named`]).
    shown: String,
    /// How a sentence names it: "Redis at URL", or the name it was given.
    who: String,
    tls: bool,
    /// The URL's password, to keep out of messages.
    secrets: Vec<String>,
}

/// Where a server is, to tell servers apart: its host (in lower case) and port, or its socket's
/// path, and the database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Address {
    place: Place,
    db: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Place {
    Tcp(String, u16),
    Unix(PathBuf),
    Other(String),
}

impl std::fmt::Debug for Server {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Server").field("url", &self.shown).finish()
    }
}

impl Server {
    /// Parses a `redis://`, `rediss://` (TLS, with `tls`'s certificates), `unix://` (or
    /// `redis+unix://`) URL. Messages never contain the password.
    pub(crate) fn parse(text: &str, tls: &TlsFiles) -> Result<Server> {
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
        refuse_unencoded_password(text, &shown)?;
        // The client only parses here; it connects later. It skips the CLIENT SETINFO that would
        // cost every connection a round trip (and fails on servers older than 7.2).
        let info = text
            .into_connection_info()
            .map(|info| {
                let settings = info.redis_settings().clone().set_skip_set_lib_name();
                info.set_redis_settings(settings)
            })
            .map_err(|err| invalid_url(&shown, text, &err))?;
        let client = if secure {
            // The URL parsed, and the files were checked: what is left to fail is the
            // certificates as redis-rs reads them.
            Client::build_with_tls(info, tls.load()?).map_err(|err| {
                anyhow!(
                    "rlock cannot use the TLS certificates it was given for '{shown}' ({}): give \
                     PEM files, X.509 v3 certificates and their key, with --tls-ca, --tls-cert, \
                     --tls-key",
                    scrub(&err.to_string(), text)
                )
            })?
        } else {
            Client::open(info).map_err(|err| invalid_url(&shown, text, &err))?
        };
        let who = format!("Redis at {shown}");
        Ok(Server { client, shown, who, tls: secure, secrets: secrets(text) })
    }

    /// The same server, shown and named in sentences as `name`.
    pub(crate) fn named(self, name: String) -> Server {
        Server { who: name.clone(), shown: name, ..self }
    }

    /// The URL as it may be shown (without its password), or the name given.
    pub(crate) fn shown(&self) -> &str {
        &self.shown
    }

    /// Whether it is reached over TLS.
    pub(crate) fn is_tls(&self) -> bool {
        self.tls
    }

    /// Where it is, to tell it from other servers.
    pub(crate) fn address(&self) -> Address {
        let info = self.client.get_connection_info();
        let place = match info.addr() {
            ConnectionAddr::Tcp(host, port) | ConnectionAddr::TcpTls { host, port, .. } => {
                Place::Tcp(host.to_ascii_lowercase(), *port)
            }
            ConnectionAddr::Unix(path) => Place::Unix(path.clone()),
            other => Place::Other(other.to_string()),
        };
        Address { place, db: info.redis_settings().db() }
    }

    /// Connects, spending at most `timeout` on connecting and on each later read or write.
    pub(crate) fn connect(&self, timeout: Duration) -> Result<Connection> {
        let timeout = timeout.max(Duration::from_millis(1));
        let failed = |err: RedisError| self.explain_in(&err, Phase::Connecting);
        let con = self.client.get_connection_with_timeout(timeout).map_err(failed)?;
        con.set_read_timeout(Some(timeout)).map_err(failed)?;
        con.set_write_timeout(Some(timeout)).map_err(failed)?;
        Ok(con)
    }

    /// A message for an error of a call on an established connection to this server.
    pub(crate) fn explain(&self, err: &RedisError) -> Error {
        self.explain_in(err, Phase::Connected)
    }

    /// A message for an error that happened in `phase`.
    pub(crate) fn explain_in(&self, err: &RedisError, phase: Phase) -> Error {
        let peer = Peer {
            shown: &self.shown,
            who: &self.who,
            tls: self.tls,
            via: Via::Direct,
            secrets: &self.secrets,
        };
        error::explain(err, phase, &peer)
    }
}

/// Refuses a URL whose password holds an unencoded `/`, `?` or `#`: a URL parser ends the server
/// part there, and would connect somewhere else than the URL seems to name.
pub(crate) fn refuse_unencoded_password(text: &str, shown: &str) -> Result<()> {
    if password_ends_server_part(text) {
        bail!(
            "the password in '{shown}' holds a '/', '?' or '#', which ends the server part of a \
             URL: write them percent-encoded (%2F, %3F, %23)"
        );
    }
    Ok(())
}

/// The message for a URL that redis-rs cannot use.
fn invalid_url(shown: &str, text: &str, err: &RedisError) -> Error {
    anyhow!(
        "'{shown}' is not a valid Redis URL ({}): write redis://[USER:PASSWORD@]HOST[:PORT][/DB], \
         rediss://... for TLS, or unix:///PATH/TO/SOCKET",
        scrub(&err.to_string(), text)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Server> {
        Server::parse(text, &TlsFiles::default())
    }

    #[test]
    fn refuses_unknown_schemes_and_garbage() {
        let err = parse("http://host").unwrap_err().to_string();
        assert!(err.contains("unknown scheme 'http'"), "{err}");
        let err = parse("localhost:6379").unwrap_err().to_string();
        assert!(err.contains("not a Redis URL"), "{err}");
        let err = parse("redis://").unwrap_err().to_string();
        assert!(err.contains("names no server"), "{err}");
        let err = parse("redis://:secret99@[::1").unwrap_err().to_string();
        assert!(!err.contains("secret99"), "{err}");
        assert!(parse("redis://127.0.0.1:6379/2").is_ok());
        assert!(parse("unix:///tmp/redis.sock").is_ok());
    }

    #[test]
    fn refuses_a_password_that_ends_the_server_part() {
        let err = parse("redis://bob:12/secret@host").unwrap_err().to_string();
        assert!(err.contains("percent-encoded") && !err.contains("secret"), "{err}");
        assert!(parse("redis://bob:12%2Fsecret@host").is_ok());
        assert!(parse("redis://bob:p@ss@host").is_ok());
    }

    #[test]
    fn addresses_tell_servers_apart() {
        let address = |text| parse(text).unwrap().address();
        assert_eq!(address("redis://localhost:1"), address("redis://LOCALHOST:1/0"));
        assert_eq!(address("redis://h:1"), address("redis://:pw@h:1"));
        assert_ne!(address("redis://h:1"), address("redis://h:2"));
        assert_ne!(address("redis://h:1"), address("redis://h:1/1"));
        assert_eq!(address("unix:///tmp/r.sock"), address("redis+unix:///tmp/r.sock"));
        assert_ne!(address("unix:///tmp/r.sock"), address("unix:///tmp/r.sock?db=2"));
    }

    #[test]
    fn names_itself_by_url_or_given_name() {
        let server = parse("redis://:hunter22@h:1").unwrap();
        assert_eq!(server.shown(), "redis://:***@h:1");
        assert!(!format!("{server:?}").contains("hunter22"));
        let named = server.named("Sentinel h:1".into());
        assert_eq!(named.shown(), "Sentinel h:1");
    }
}
