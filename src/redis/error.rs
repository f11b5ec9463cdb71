//! Turning redis-rs's errors into messages that say what went wrong and what to do.
//!
//! An error is classified by what it is, never by the wording of redis-rs or rustls (which
//! changes between versions): by its [`ErrorKind`], the error code of the server's reply
//! (`NOAUTH`, `WRONGPASS`, `NOPERM`, `OOM`...: part of the Redis protocol), and the errors it
//! wraps: an [`io::Error`] and its [`io::ErrorKind`], inside that a [`rustls::Error`], or a
//! [`rustls_native_certs::Error`]. Where it happened matters too ([`Phase`]): a failed connect
//! means Redis cannot be reached, a failure on an established connection that it was lost.
//! [`classify`] does the classifying and [`message`] the wording; both are pure. Each problem
//! is also one that trying again may fix (Redis restarting, failing over, loading its data) or
//! one that it cannot (a refused password, an ACL, TLS, a key of the wrong type):
//! [`Problem::retryable`], carried by the error [`explain`] makes and read by [`retryable`].

use std::error::Error as StdError;
use std::io;
use std::sync::Arc;

use redis::{ErrorKind, RedisError, ServerErrorKind};
use rustls::{AlertDescription, CertificateError};

use super::secrets::scrub_all;

/// When an error happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Phase {
    /// While connecting: opening the socket, the TLS handshake, AUTH and SELECT.
    Connecting,
    /// On an established connection.
    Connected,
}

/// How the server was reached, which decides some hints.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Via {
    /// Directly, by its URL.
    Direct,
    /// As the master some Sentinels name.
    Sentinel,
    /// As a Redis Cluster.
    Cluster,
}

/// What a message says of the server that failed.
pub(crate) struct Peer<'a> {
    /// How it is shown: its URL without the password, or a name such as "Sentinel HOST:PORT".
    pub shown: &'a str,
    /// How a sentence names it: "Redis at URL", "Sentinel HOST:PORT", "the Redis Cluster of ...".
    pub who: &'a str,
    /// Whether it is reached over TLS.
    pub tls: bool,
    pub via: Via,
    /// Passwords that must not appear in the message.
    pub secrets: &'a [String],
}

/// What went wrong, as far as the error tells.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Problem {
    /// Nothing listens there (connection refused).
    Refused,
    /// No unix socket at that path.
    NoSocket,
    /// Any other failure to connect: a host name that does not resolve, an unreachable network.
    Unreachable,
    /// No answer in time.
    TimedOut(Phase),
    /// The server closed the connection (reset, end of file, broken pipe).
    Closed(Phase),
    /// Any other failure of an established connection.
    Lost,
    /// This system's CA certificates could not be loaded.
    SystemCas,
    /// The server's certificate is not made out to the name connected to.
    WrongName,
    /// The server's certificate has expired or is not valid yet.
    Expired,
    /// The server's certificate is not signed by a trusted CA (or otherwise not trusted).
    Untrusted,
    /// The server wants a client certificate, and got none.
    WantsClientCertificate,
    /// The server refused the client certificate it got.
    RefusedClientCertificate,
    /// What came back is not TLS.
    NotTls,
    /// Any other TLS failure.
    Tls,
    /// AUTH failed: wrong user name or password.
    BadCredentials,
    /// The server wants a password, and got none.
    NeedsPassword,
    /// The user's ACL does not allow a command or key.
    NoPermission,
    /// A Redis Cluster node redirected the lock's keys to another node.
    ClusterNode,
    /// The cluster cannot serve the keys now (down, resharding).
    ClusterTrouble,
    /// A replica refused a write.
    ReadOnly,
    /// A replica that lost its master refused to serve.
    MasterDown,
    /// The server is still loading its data set.
    Loading,
    /// The server is out of memory (maxmemory).
    OutOfMemory,
    /// The server is busy running a script or function.
    Busy,
    /// The server refuses writes because it cannot save (MISCONF).
    CannotSave,
    /// The reply is not RESP: not a Redis server, or not its port.
    NotRedis,
    /// A reply of a type rlock does not expect.
    UnexpectedReply,
    /// The server refused to set up the connection (SELECT of the URL's database).
    Setup,
    /// An `ERR` reply, which a server older than Redis 6 gives to what rlock sends.
    NeedsRedis6,
    /// Any other error reply.
    ServerError,
    /// redis-rs cannot use the connection's settings.
    Settings,
    /// Anything else, on rlock's side.
    Failed,
}

impl Problem {
    /// Whether trying again, with nothing changed on rlock's side, may get through: the server
    /// is restarting or unreachable for now, failing over (a master that became a replica, a
    /// replica without its master, a cluster moving slots), loading its data, or busy with a
    /// script. Not a refused password or ACL, TLS, a server that is no Redis, a full memory,
    /// or a reply rlock does not understand: those stay until someone changes something. A
    /// redirect to another cluster node is retried only in cluster mode (otherwise --cluster
    /// is missing).
    pub(crate) fn retryable(self, via: Via) -> bool {
        match self {
            Problem::Refused
            | Problem::NoSocket
            | Problem::Unreachable
            | Problem::TimedOut(_)
            | Problem::Closed(_)
            | Problem::Lost
            | Problem::ClusterTrouble
            | Problem::ReadOnly
            | Problem::MasterDown
            | Problem::Loading
            | Problem::Busy => true,
            Problem::ClusterNode => via == Via::Cluster,
            Problem::SystemCas
            | Problem::WrongName
            | Problem::Expired
            | Problem::Untrusted
            | Problem::WantsClientCertificate
            | Problem::RefusedClientCertificate
            | Problem::NotTls
            | Problem::Tls
            | Problem::BadCredentials
            | Problem::NeedsPassword
            | Problem::NoPermission
            | Problem::OutOfMemory
            | Problem::CannotSave
            | Problem::NotRedis
            | Problem::UnexpectedReply
            | Problem::Setup
            | Problem::NeedsRedis6
            | Problem::ServerError
            | Problem::Settings
            | Problem::Failed => false,
        }
    }
}

/// A failure to talk to Redis, in words that say what to do, and whether trying again may fix
/// it (see [`Problem::retryable`]).
#[derive(Debug)]
pub(crate) struct Failure {
    message: String,
    retryable: bool,
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl StdError for Failure {}

/// The error saying `message`, which trying again may fix if `retryable`.
pub(crate) fn failure(message: String, retryable: bool) -> anyhow::Error {
    anyhow::Error::new(Failure { message, retryable })
}

/// Whether trying again may fix `err`: only a failure of Redis classified so (any other error,
/// such as a reply rlock does not understand, is for good).
pub(crate) fn retryable(err: &anyhow::Error) -> bool {
    err.chain()
        .any(|cause| cause.downcast_ref::<Failure>().is_some_and(|failure| failure.retryable))
}

/// What `err`, which happened in `phase`, says went wrong.
pub(crate) fn classify(err: &RedisError, phase: Phase) -> Problem {
    let causes = causes(err);
    // Before the io errors: loading the system's CAs fails with the io error of the file.
    if causes.iter().any(|cause| cause.is::<rustls_native_certs::Error>()) {
        return Problem::SystemCas;
    }
    if let Some(tls) = causes.iter().find_map(|cause| cause.downcast_ref::<rustls::Error>()) {
        return tls_problem(tls);
    }
    if let Some(io) = causes.iter().find_map(|cause| cause.downcast_ref::<io::Error>()) {
        return io_problem(io.kind(), phase);
    }
    if let Some(problem) = err.code().and_then(|code| code_problem(code, err)) {
        return problem;
    }
    match err.kind() {
        ErrorKind::AuthenticationFailed => Problem::BadCredentials,
        ErrorKind::Server(kind) => server_problem(kind, phase),
        ErrorKind::Extension => Problem::ServerError,
        ErrorKind::Parse => Problem::NotRedis,
        ErrorKind::UnexpectedReturnType => Problem::UnexpectedReply,
        ErrorKind::InvalidClientConfig => Problem::Settings,
        ErrorKind::RESP3NotSupported => Problem::NeedsRedis6,
        // Without an io error inside: redis-rs's own account, such as a cluster's "failed to
        // check startup nodes".
        ErrorKind::Io | ErrorKind::ClusterConnectionNotFound => match phase {
            Phase::Connecting => Problem::Unreachable,
            Phase::Connected => Problem::Lost,
        },
        _ => Problem::Failed,
    }
}

/// The errors `err` wraps, outermost first. redis-rs keeps a wrapped error in an `Arc`, which
/// hides its type from a downcast; an `io::Error`'s `source` skips the error it wraps, which
/// `get_ref` gives.
fn causes(err: &RedisError) -> Vec<&(dyn StdError + 'static)> {
    let mut found: Vec<&(dyn StdError + 'static)> = Vec::new();
    let mut next = err.source();
    while let Some(cause) = next {
        let cause: &(dyn StdError + 'static) =
            match cause.downcast_ref::<Arc<dyn StdError + Send + Sync>>() {
                Some(inner) => inner.as_ref(),
                None => cause,
            };
        found.push(cause);
        next = match cause.downcast_ref::<io::Error>() {
            Some(io) => io.get_ref().map(|inner| inner as &(dyn StdError + 'static)),
            None => cause.source(),
        };
        // Error chains are short; this only guards against a chain that never ends.
        if found.len() >= 16 {
            break;
        }
    }
    found
}

fn tls_problem(err: &rustls::Error) -> Problem {
    match err {
        rustls::Error::InvalidCertificate(
            CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
        ) => Problem::WrongName,
        rustls::Error::InvalidCertificate(
            CertificateError::Expired
            | CertificateError::ExpiredContext { .. }
            | CertificateError::NotValidYet
            | CertificateError::NotValidYetContext { .. },
        ) => Problem::Expired,
        rustls::Error::InvalidCertificate(_) => Problem::Untrusted,
        rustls::Error::AlertReceived(AlertDescription::CertificateRequired) => {
            Problem::WantsClientCertificate
        }
        rustls::Error::AlertReceived(
            AlertDescription::BadCertificate
            | AlertDescription::UnsupportedCertificate
            | AlertDescription::CertificateRevoked
            | AlertDescription::CertificateExpired
            | AlertDescription::CertificateUnknown
            | AlertDescription::UnknownCA,
        ) => Problem::RefusedClientCertificate,
        rustls::Error::InvalidMessage(_) | rustls::Error::InappropriateMessage { .. } => {
            Problem::NotTls
        }
        _ => Problem::Tls,
    }
}

fn io_problem(kind: io::ErrorKind, phase: Phase) -> Problem {
    use io::ErrorKind as Io;
    match (kind, phase) {
        (Io::ConnectionRefused, _) => Problem::Refused,
        (Io::NotFound, Phase::Connecting) => Problem::NoSocket,
        (Io::TimedOut | Io::WouldBlock, _) => Problem::TimedOut(phase),
        (
            Io::ConnectionReset
            | Io::ConnectionAborted
            | Io::UnexpectedEof
            | Io::BrokenPipe
            | Io::NotConnected,
            _,
        ) => Problem::Closed(phase),
        (_, Phase::Connecting) => Problem::Unreachable,
        (_, Phase::Connected) => Problem::Lost,
    }
}

/// The problem a server's error code names, where the code alone says.
fn code_problem(code: &str, err: &RedisError) -> Option<Problem> {
    Some(match code {
        "WRONGPASS" => Problem::BadCredentials,
        "NOAUTH" => Problem::NeedsPassword,
        "NOPERM" => Problem::NoPermission,
        "OOM" => Problem::OutOfMemory,
        "BUSY" => Problem::Busy,
        "MISCONF" => Problem::CannotSave,
        // A blocked call (a waiter's BLPOP) cut short as the master turned replica.
        "UNBLOCKED" => Problem::ReadOnly,
        // Redis 7.0 answers a command its ACL denies inside a script with a plain ERR (later
        // versions with NOPERM): this is the server's own reply text, not a library's.
        "ERR" if err.detail().is_some_and(|detail| detail.starts_with(SCRIPT_DENIED)) => {
            Problem::NoPermission
        }
        // A call of more than a few arguments (a script's) from a client that has not
        // authenticated: Redis refuses it unread, and closes the connection.
        "ERR" if err.detail().is_some_and(|detail| detail.starts_with(UNAUTHENTICATED)) => {
            Problem::NeedsPassword
        }
        _ => return None,
    })
}

const SCRIPT_DENIED: &str = "The user executing the script can't";

/// How Redis begins its refusal of a long call before AUTH (the server's reply text).
const UNAUTHENTICATED: &str = "Protocol error: unauthenticated";

fn server_problem(kind: ServerErrorKind, phase: Phase) -> Problem {
    match kind {
        ServerErrorKind::Moved | ServerErrorKind::Ask => Problem::ClusterNode,
        ServerErrorKind::ClusterDown | ServerErrorKind::TryAgain | ServerErrorKind::CrossSlot => {
            Problem::ClusterTrouble
        }
        ServerErrorKind::ReadOnly => Problem::ReadOnly,
        ServerErrorKind::MasterDown => Problem::MasterDown,
        ServerErrorKind::BusyLoading => Problem::Loading,
        ServerErrorKind::NoPerm => Problem::NoPermission,
        // While connecting, the only command that can answer ERR is the SELECT of the URL's
        // database (a refused AUTH is AuthenticationFailed).
        ServerErrorKind::ResponseError => match phase {
            Phase::Connecting => Problem::Setup,
            Phase::Connected => Problem::NeedsRedis6,
        },
        _ => Problem::ServerError,
    }
}

/// The message for `problem` at `peer`, with `detail` (the error as redis-rs words it, without
/// passwords) where it helps.
pub(crate) fn message(problem: Problem, peer: &Peer, detail: &str) -> String {
    let (who, shown) = (peer.who, peer.shown);
    let tls_hint =
        if peer.tls { "" } else { "; if that server speaks only TLS, use a rediss:// URL" };
    // A plain Redis server waits for the end of a line, which a TLS handshake never sends.
    let plain_hint =
        if peer.tls { "; if that server speaks plain Redis, use a redis:// URL" } else { "" };
    let start_one = "start redis-server there, or point --redis / RLOCK_REDIS at a running one";
    match problem {
        Problem::Refused => format!("cannot reach {who} ({detail}): {start_one}"),
        Problem::NoSocket => {
            format!("cannot reach {who} ({detail}): no socket is at that path; {start_one}")
        }
        Problem::Unreachable => format!(
            "cannot reach {who} ({detail}): check the host name and port, and that this machine \
             can reach it"
        ),
        Problem::TimedOut(Phase::Connecting) => format!(
            "cannot reach {who}: it did not answer in time ({detail}); check the address, and \
             that it is up and not overloaded{plain_hint}"
        ),
        Problem::TimedOut(Phase::Connected) => {
            format!(
                "{who} did not answer in time: check that it is up and not overloaded{plain_hint}"
            )
        }
        Problem::Closed(Phase::Connecting) => {
            format!("{who} closed the connection while rlock was connecting ({detail}){tls_hint}")
        }
        Problem::Closed(Phase::Connected) | Problem::Lost => {
            let hint = if problem == Problem::Lost { "" } else { tls_hint };
            format!("lost the connection to {who} ({detail}){hint}")
        }
        Problem::SystemCas => format!(
            "cannot load this system's CA certificates for {who} ({detail}): correct \
             SSL_CERT_FILE / SSL_CERT_DIR, or give the CA with --tls-ca or RLOCK_TLS_CA"
        ),
        Problem::WrongName => format!(
            "the TLS certificate of {who} is not trusted ({detail}): it is made out to other \
             names; connect by a host name or address the certificate lists"
        ),
        Problem::Expired => format!(
            "the TLS certificate of {who} is not trusted ({detail}): it has expired or is not \
             valid yet; renew it, or correct this machine's clock"
        ),
        Problem::Untrusted => format!(
            "the TLS certificate of {who} is not trusted ({detail}): give the CA that signed it \
             with --tls-ca or RLOCK_TLS_CA"
        ),
        Problem::WantsClientCertificate => format!(
            "{who} wants a client certificate ({detail}): give one with --tls-cert and --tls-key \
             (RLOCK_TLS_CERT, RLOCK_TLS_KEY)"
        ),
        Problem::RefusedClientCertificate => format!(
            "{who} refused rlock's client certificate ({detail}): give one signed by a CA the \
             server trusts, with --tls-cert and --tls-key (RLOCK_TLS_CERT, RLOCK_TLS_KEY)"
        ),
        Problem::NotTls => format!(
            "{who} does not answer in TLS ({detail}): if it speaks plain Redis, use a redis:// URL"
        ),
        Problem::Tls => {
            format!("the TLS connection to {who} failed ({detail}): the server's log may say why")
        }
        Problem::BadCredentials => format!(
            "{who} refused the user name or password: correct them in the URL \
             (redis://USER:PASSWORD@HOST) or in RLOCK_REDIS"
        ),
        Problem::NeedsPassword => format!(
            "{who} requires a password: give it in the URL (redis://:PASSWORD@HOST), preferably \
             through RLOCK_REDIS so it stays out of the process list"
        ),
        Problem::NoPermission => format!(
            "{who} does not let this user do what rlock needs ({detail}): give the user the ACL \
             rule in docs/deployment.md of rlock's source (\"Redis users (ACL)\"), with key \
             patterns for your --prefix"
        ),
        Problem::ClusterNode if peer.via != Via::Cluster => format!(
            "{who} is a node of a Redis Cluster, and this lock lives on another node ({detail}): \
             add --cluster (or RLOCK_CLUSTER=1)"
        ),
        Problem::ClusterNode | Problem::ClusterTrouble => format!(
            "{who} cannot serve this lock now ({detail}): the cluster is down or moving slots; \
             try again, and see CLUSTER INFO"
        ),
        Problem::ReadOnly | Problem::MasterDown => match peer.via {
            Via::Direct if problem == Problem::ReadOnly => format!(
                "{who} is a read-only replica ({detail}): point --redis at its master, or give \
                 redis+sentinel:// URLs to follow the master"
            ),
            Via::Direct => format!(
                "{who} is a replica that lost its master ({detail}): point --redis at the master"
            ),
            Via::Sentinel => {
                format!("{who} is no master now ({detail}): a failover is under way; try again")
            }
            Via::Cluster => format!(
                "{who} cannot serve this lock now ({detail}): a failover is under way; try again"
            ),
        },
        Problem::Loading => {
            format!("{who} is still loading its data ({detail}): try again in a moment")
        }
        Problem::OutOfMemory => {
            format!("{who} is out of memory ({detail}): free memory there, or raise its maxmemory")
        }
        Problem::Busy => format!(
            "{who} is busy running a script or function ({detail}): try again later, or stop it \
             with SCRIPT KILL or FUNCTION KILL"
        ),
        Problem::CannotSave => {
            format!("{who} refuses writes because it cannot save its data ({detail}): see its log")
        }
        Problem::NotRedis => format!(
            "the server at {shown} does not speak the Redis protocol ({detail}): is it a Redis \
             server, and is that its port?"
        ),
        Problem::UnexpectedReply => format!(
            "{who} gave an unexpected reply ({detail}): is it a Redis server, version 6 or later?"
        ),
        Problem::Setup if peer.via == Via::Cluster => format!(
            "{who} refused to set up a connection ({detail}): are the seeds nodes of a Redis \
             Cluster? For a single server, leave out --cluster"
        ),
        Problem::Setup => format!(
            "{who} refused to set up the connection ({detail}): check the password and the \
             database number in the URL"
        ),
        Problem::NeedsRedis6 => format!(
            "{who} answered with an error: {detail}; rlock needs Redis 6 or later, and the \
             server's log may say more"
        ),
        Problem::ServerError => {
            format!("{who} answered with an error: {detail}; the server's log may say more")
        }
        Problem::Settings if peer.tls => format!(
            "rlock cannot connect to {who} as given ({detail}): check the URL, and the files of \
             --tls-ca, --tls-cert and --tls-key"
        ),
        Problem::Settings => {
            format!("rlock cannot connect to {who} as given ({detail}): check the URL")
        }
        Problem::Failed => format!("talking to {who} failed ({detail})"),
    }
}

/// The error for `err`, which happened in `phase` at `peer`: [`classify`], then [`message`].
pub(crate) fn explain(err: &RedisError, phase: Phase, peer: &Peer) -> anyhow::Error {
    // On one line: some of redis-rs's errors span several.
    let detail = err.to_string().split_whitespace().collect::<Vec<_>>().join(" ");
    let detail = scrub_all(&detail, peer.secrets);
    let problem = classify(err, phase);
    failure(message(problem, peer, &detail), problem.retryable(peer.via))
}

/// Whether `err` is Redis's WRONGTYPE: a key holds another type than the command works on (rlock's
/// scripts answer so too, for keys that are not an rlock lock's).
pub(crate) fn is_wrong_type(err: &RedisError) -> bool {
    err.code() == Some("WRONGTYPE")
}

#[cfg(test)]
mod tests {
    use super::*;

    use Phase::{Connected, Connecting};

    fn io(kind: io::ErrorKind) -> RedisError {
        RedisError::from(io::Error::from(kind))
    }

    /// An io error wrapping `err`, as rustls's stream reports a TLS failure.
    fn tls(err: rustls::Error) -> RedisError {
        RedisError::from(io::Error::new(io::ErrorKind::InvalidData, err))
    }

    /// The error of a RESP error reply, as the server sends it.
    fn reply(resp: &str) -> RedisError {
        match redis::parse_redis_value(resp.as_bytes()).unwrap().extract_error() {
            Err(err) => err,
            Ok(value) => panic!("{resp:?} is no error: {value:?}"),
        }
    }

    fn both(err: &RedisError) -> (Problem, Problem) {
        (classify(err, Connecting), classify(err, Connected))
    }

    const PEER: Peer = Peer {
        shown: "redis://:***@h:1",
        who: "Redis at redis://:***@h:1",
        tls: false,
        via: Via::Direct,
        secrets: &[],
    };

    #[test]
    fn io_errors_depend_on_the_phase() {
        use io::ErrorKind as Io;
        assert_eq!(both(&io(Io::ConnectionRefused)), (Problem::Refused, Problem::Refused));
        assert_eq!(classify(&io(Io::NotFound), Connecting), Problem::NoSocket);
        assert_eq!(classify(&io(Io::NotFound), Connected), Problem::Lost);
        assert_eq!(
            both(&io(Io::TimedOut)),
            (Problem::TimedOut(Connecting), Problem::TimedOut(Connected))
        );
        assert_eq!(classify(&io(Io::WouldBlock), Connected), Problem::TimedOut(Connected));
        for kind in [Io::ConnectionReset, Io::UnexpectedEof, Io::BrokenPipe, Io::ConnectionAborted]
        {
            assert_eq!(both(&io(kind)), (Problem::Closed(Connecting), Problem::Closed(Connected)));
        }
        // A host name that does not resolve: an io error of no particular kind.
        let dns = RedisError::from(io::Error::other("failed to lookup address information"));
        assert_eq!(both(&dns), (Problem::Unreachable, Problem::Lost));
        let unreachable = io(Io::HostUnreachable);
        assert_eq!(classify(&unreachable, Connecting), Problem::Unreachable);
        // redis-rs's own Io errors without an io::Error inside (a cluster's failed seeds).
        let seeds = RedisError::from((ErrorKind::Io, "It failed to check startup nodes."));
        assert_eq!(both(&seeds), (Problem::Unreachable, Problem::Lost));
    }

    #[test]
    fn tls_errors_by_kind() {
        let cert = |err| tls(rustls::Error::InvalidCertificate(err));
        assert_eq!(
            classify(&cert(CertificateError::UnknownIssuer), Connecting),
            Problem::Untrusted
        );
        assert_eq!(classify(&cert(CertificateError::BadSignature), Connecting), Problem::Untrusted);
        assert_eq!(
            classify(&cert(CertificateError::NotValidForName), Connecting),
            Problem::WrongName
        );
        assert_eq!(classify(&cert(CertificateError::Expired), Connecting), Problem::Expired);
        assert_eq!(classify(&cert(CertificateError::NotValidYet), Connected), Problem::Expired);
        let alert = |alert| tls(rustls::Error::AlertReceived(alert));
        assert_eq!(
            classify(&alert(AlertDescription::CertificateRequired), Connecting),
            Problem::WantsClientCertificate
        );
        assert_eq!(
            classify(&alert(AlertDescription::UnknownCA), Connecting),
            Problem::RefusedClientCertificate
        );
        assert_eq!(classify(&alert(AlertDescription::HandshakeFailure), Connecting), Problem::Tls);
        let garbage =
            tls(rustls::Error::InvalidMessage(rustls::InvalidMessage::InvalidContentType));
        assert_eq!(classify(&garbage, Connecting), Problem::NotTls);
        // rustls errors redis-rs returns as they are (kind Client), not inside an io error.
        let bare =
            RedisError::from(rustls::Error::InvalidCertificate(CertificateError::UnknownIssuer));
        assert_eq!(classify(&bare, Connecting), Problem::Untrusted);
    }

    #[test]
    fn the_system_cas_failing_to_load_comes_before_its_io_error() {
        let inner = rustls_native_certs::Error {
            context: "failed to read PEM from file",
            kind: rustls_native_certs::ErrorKind::Io {
                inner: io::Error::from(io::ErrorKind::NotFound),
                path: "/no/such/certs".into(),
            },
        };
        assert_eq!(classify(&RedisError::from(inner), Connecting), Problem::SystemCas);
    }

    #[test]
    fn auth_and_acl_errors_by_kind_and_code() {
        let failed =
            RedisError::from((ErrorKind::AuthenticationFailed, "Password authentication failed"));
        assert_eq!(both(&failed), (Problem::BadCredentials, Problem::BadCredentials));
        let wrongpass = redis::make_extension_error("WRONGPASS".into(), None);
        assert_eq!(classify(&wrongpass, Connecting), Problem::BadCredentials);
        let noauth = reply("-NOAUTH Authentication required.\r\n");
        assert_eq!(both(&noauth), (Problem::NeedsPassword, Problem::NeedsPassword));
        let long_call = reply("-ERR Protocol error: unauthenticated multibulk length\r\n");
        assert_eq!(both(&long_call), (Problem::NeedsPassword, Problem::NeedsPassword));
        let noperm = reply("-NOPERM this user has no permissions to run the 'evalsha' command\r\n");
        assert_eq!(noperm.kind(), ErrorKind::Server(ServerErrorKind::NoPerm));
        assert_eq!(classify(&noperm, Connected), Problem::NoPermission);
        let in_script = reply(
            "-ERR The user executing the script can't run this command or subcommand script: \
             abc, on @user_script:1.\r\n",
        );
        assert_eq!(classify(&in_script, Connected), Problem::NoPermission);
    }

    #[test]
    fn server_errors_by_kind_and_code() {
        let cases = [
            ("-MOVED 3999 127.0.0.1:6381\r\n", Problem::ClusterNode),
            ("-ASK 3999 127.0.0.1:6381\r\n", Problem::ClusterNode),
            ("-CLUSTERDOWN The cluster is down\r\n", Problem::ClusterTrouble),
            (
                "-TRYAGAIN Multiple keys request during rehashing of slot\r\n",
                Problem::ClusterTrouble,
            ),
            ("-READONLY You can't write against a read only replica.\r\n", Problem::ReadOnly),
            ("-MASTERDOWN Link with MASTER is down\r\n", Problem::MasterDown),
            ("-LOADING Redis is loading the dataset in memory\r\n", Problem::Loading),
            ("-OOM command not allowed when used memory > 'maxmemory'.\r\n", Problem::OutOfMemory),
            ("-BUSY Redis is busy running a script.\r\n", Problem::Busy),
            ("-MISCONF Redis is configured to save RDB snapshots\r\n", Problem::CannotSave),
            ("-ERR unknown command 'FOO', with args beginning with:\r\n", Problem::NeedsRedis6),
            ("-NOSCRIPT No matching script.\r\n", Problem::ServerError),
            ("-WEIRD something new\r\n", Problem::ServerError),
        ];
        for (resp, problem) in cases {
            assert_eq!(classify(&reply(resp), Connected), problem, "{resp}");
        }
        // ERR while connecting: the SELECT of the URL's database.
        let select = RedisError::from((
            ErrorKind::Server(ServerErrorKind::ResponseError),
            "Redis server refused to switch database",
            "DB index is out of range".to_owned(),
        ));
        assert_eq!(classify(&select, Connecting), Problem::Setup);
    }

    #[test]
    fn wrong_replies_and_settings() {
        // What an HTTP server's answer gives: no RESP.
        let http = redis::parse_redis_value(b"HTTP/1.0 400 Bad Request\r\n").unwrap_err();
        assert_eq!(both(&http), (Problem::NotRedis, Problem::NotRedis));
        let typed = RedisError::from((
            ErrorKind::UnexpectedReturnType,
            "Response was of incompatible type",
        ));
        assert_eq!(classify(&typed, Connected), Problem::UnexpectedReply);
        let config = RedisError::from((
            ErrorKind::InvalidClientConfig,
            "could not resolve to any addresses",
        ));
        assert_eq!(classify(&config, Connecting), Problem::Settings);
        let client = RedisError::from((ErrorKind::Client, "empty command"));
        assert_eq!(classify(&client, Connected), Problem::Failed);
    }

    #[test]
    fn wrong_type_is_told_by_its_code() {
        assert!(is_wrong_type(&reply("-WRONGTYPE the lock key holds a hash, not a lock\r\n")));
        assert!(!is_wrong_type(&reply("-ERR WRONGTYPE in the text only\r\n")));
        assert!(!is_wrong_type(&io(io::ErrorKind::ConnectionReset)));
    }

    #[test]
    fn messages_say_what_to_do_and_only_true_hints() {
        let text = |problem, peer: &Peer| message(problem, peer, "detail");
        let refused = text(Problem::Refused, &PEER);
        assert!(refused.starts_with("cannot reach Redis at redis://:***@h:1"), "{refused}");
        assert!(text(Problem::Unreachable, &PEER).starts_with("cannot reach"));
        assert!(text(Problem::TimedOut(Connecting), &PEER).starts_with("cannot reach"));
        assert!(text(Problem::Closed(Connected), &PEER).starts_with("lost the connection"));
        assert!(text(Problem::Closed(Connected), &PEER).contains("rediss://"));
        assert!(!text(Problem::Lost, &PEER).contains("rediss://"));
        let over_tls = Peer { tls: true, ..PEER };
        assert!(!text(Problem::Closed(Connected), &over_tls).contains("rediss://"));
        assert!(text(Problem::TimedOut(Connected), &over_tls).contains("redis:// URL"));
        assert!(!text(Problem::TimedOut(Connected), &PEER).contains("redis:// URL"));
        assert!(text(Problem::Untrusted, &over_tls).contains("--tls-ca"));
        assert!(!text(Problem::WrongName, &over_tls).contains("--tls-ca"));
        assert!(text(Problem::WantsClientCertificate, &over_tls).contains("--tls-cert"));
        let not_redis = text(Problem::NotRedis, &PEER);
        assert!(not_redis.contains("does not speak the Redis protocol"), "{not_redis}");
        assert!(text(Problem::NeedsRedis6, &PEER).contains("rlock needs Redis 6 or later"));
        for problem in [Problem::NotRedis, Problem::ServerError, Problem::Lost, Problem::Setup] {
            assert!(!text(problem, &PEER).contains("Redis 6"), "{problem:?}");
        }
        assert!(text(Problem::ClusterNode, &PEER).contains("--cluster"));
        let cluster = Peer { via: Via::Cluster, who: "the Redis Cluster of redis://h:1", ..PEER };
        assert!(!text(Problem::ClusterNode, &cluster).contains("add --cluster"));
        assert!(text(Problem::BadCredentials, &PEER).contains("refused the user name or password"));
        assert!(text(Problem::NeedsPassword, &PEER).contains("requires a password"));
        assert!(text(Problem::NoPermission, &PEER).contains("does not let this user"));
    }

    #[test]
    fn what_trying_again_may_fix() {
        use io::ErrorKind as Io;
        let explained = |err: &RedisError, phase, via| {
            let peer = Peer { via, ..PEER };
            retryable(&explain(err, phase, &peer))
        };
        // Redis restarting, unreachable for now, failing over, loading or busy.
        for kind in [
            Io::ConnectionRefused,
            Io::ConnectionReset,
            Io::UnexpectedEof,
            Io::BrokenPipe,
            Io::TimedOut,
        ] {
            assert!(explained(&io(kind), Connecting, Via::Direct), "{kind:?}");
            assert!(explained(&io(kind), Connected, Via::Direct), "{kind:?}");
        }
        assert!(
            explained(&io(Io::NotFound), Connecting, Via::Direct),
            "a unix socket not there yet"
        );
        for resp in [
            "-LOADING Redis is loading the dataset in memory\r\n",
            "-MASTERDOWN Link with MASTER is down\r\n",
            "-READONLY You can't write against a read only replica.\r\n",
            "-BUSY Redis is busy running a script.\r\n",
            "-CLUSTERDOWN The cluster is down\r\n",
            "-TRYAGAIN Multiple keys request during rehashing of slot\r\n",
            "-UNBLOCKED force unblock from blocking operation, instance state changed (master -> \
             replica?)\r\n",
        ] {
            assert!(explained(&reply(resp), Connected, Via::Sentinel), "{resp}");
        }
        // A redirect: retried by a cluster client, a missing --cluster otherwise.
        let moved = reply("-MOVED 3999 127.0.0.1:6381\r\n");
        assert!(explained(&moved, Connected, Via::Cluster));
        assert!(!explained(&moved, Connected, Via::Direct));
        // What stays wrong until someone changes something.
        for resp in [
            "-NOAUTH Authentication required.\r\n",
            "-WRONGPASS invalid username-password pair or user is disabled.\r\n",
            "-NOPERM this user has no permissions to run the 'evalsha' command\r\n",
            "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n",
            "-OOM command not allowed when used memory > 'maxmemory'.\r\n",
            "-ERR Error running script (call to f_abc): @user_script:1: oops\r\n",
            "-MISCONF Redis is configured to save RDB snapshots\r\n",
        ] {
            assert!(!explained(&reply(resp), Connected, Via::Direct), "{resp}");
        }
        let failed =
            RedisError::from((ErrorKind::AuthenticationFailed, "Password authentication failed"));
        assert!(!explained(&failed, Connecting, Via::Direct));
        let untrusted = tls(rustls::Error::InvalidCertificate(CertificateError::UnknownIssuer));
        assert!(!explained(&untrusted, Connecting, Via::Direct));
        let not_tls =
            tls(rustls::Error::InvalidMessage(rustls::InvalidMessage::InvalidContentType));
        assert!(!explained(&not_tls, Connecting, Via::Direct));
        let http = redis::parse_redis_value(b"HTTP/1.0 400 Bad Request\r\n").unwrap_err();
        assert!(!explained(&http, Connected, Via::Direct));
        // The mark survives context added on the way up; other errors are for good.
        let lost = explain(&io(Io::ConnectionReset), Connected, &PEER).context("waiting");
        assert!(retryable(&lost));
        assert!(!retryable(&anyhow::anyhow!("an unexpected reply")));
        assert!(retryable(&failure("a failover is under way".into(), true)));
        assert!(!retryable(&failure("no master named so".into(), false)));
    }

    #[test]
    fn explained_errors_never_show_a_password() {
        let secrets = ["hunter22".to_owned()];
        let peer = Peer { secrets: &secrets, ..PEER };
        let err = RedisError::from(io::Error::new(io::ErrorKind::ConnectionRefused, "hunter22"));
        let text = explain(&err, Connecting, &peer).to_string();
        assert!(text.starts_with("cannot reach") && !text.contains("hunter22"), "{text}");
    }
}
