//! A real redis-server for one test: started on a free loopback port in its own temporary folder,
//! waited for until it answers, and killed by pid when dropped.

use std::net::TcpListener;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use tempfile::TempDir;

pub struct RedisServer {
    process: Child,
    /// How it was started, to start it again (see [`RedisServer::restart`]).
    command_line: Vec<std::ffi::OsString>,
    port: u16,
    password: Option<String>,
    tls: Option<Tls>,
    dir: TempDir,
}

/// A server's TLS port, and certificates made for the test (PEM files in the server's folder).
pub struct Tls {
    pub port: u16,
    /// The CA that signed the server's and the client's certificates.
    pub ca: PathBuf,
    /// A CA that signed nothing here: trusting it alone must fail.
    pub other_ca: PathBuf,
    pub client_cert: PathBuf,
    pub client_key: PathBuf,
}

/// Whether a TLS server asks clients for a certificate (`tls-auth-clients`).
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum ClientCerts {
    Required,
    NotAsked,
}

/// Makes a CA, a server certificate for localhost and 127.0.0.1, a client certificate, and a
/// second, unrelated CA, and writes them to `dir`. Returns the server's certificate and key paths.
fn make_certificates(dir: &Path, port: u16) -> (Tls, PathBuf, PathBuf) {
    use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};

    let write = |name: &str, pem: String| {
        let path = dir.join(name);
        std::fs::write(&path, pem).expect("cannot write a test certificate");
        path
    };
    let new_ca = |name: &str| {
        let key = KeyPair::generate().expect("cannot make a key");
        let mut params = CertificateParams::new(Vec::<String>::new()).expect("CA parameters");
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.distinguished_name.push(DnType::CommonName, name);
        let cert = params.self_signed(&key).expect("cannot sign the CA");
        (cert, Issuer::new(params, key))
    };
    let (ca, issuer) = new_ca("rlock test CA");
    let (other_ca, _) = new_ca("rlock unrelated CA");
    let leaf = |names: Vec<String>, cn: &str| {
        let key = KeyPair::generate().expect("cannot make a key");
        let mut params = CertificateParams::new(names).expect("certificate parameters");
        params.distinguished_name.push(DnType::CommonName, cn);
        let cert = params.signed_by(&key, &issuer).expect("cannot sign a certificate");
        (cert.pem(), key.serialize_pem())
    };
    let (server_cert, server_key) =
        leaf(vec!["localhost".into(), "127.0.0.1".into()], "redis-server");
    let (client_cert, client_key) = leaf(Vec::new(), "rlock client");
    let tls = Tls {
        port,
        ca: write("ca.pem", ca.pem()),
        other_ca: write("other-ca.pem", other_ca.pem()),
        client_cert: write("client.pem", client_cert),
        client_key: write("client.key", client_key),
    };
    (tls, write("server.pem", server_cert), write("server.key", server_key))
}

/// The redis-server binary: $REDIS_SERVER, or redis-server on PATH.
fn server_binary() -> PathBuf {
    if let Some(path) = std::env::var_os("REDIS_SERVER") {
        return path.into();
    }
    let found = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join("redis-server"))
            .find(|candidate| candidate.is_file())
    });
    found.unwrap_or_else(|| {
        panic!(
            "redis-server was not found on PATH: the tests start their own Redis servers. Install it \
             (Debian/Ubuntu: apt-get install redis-server; macOS: brew install redis) or point \
             REDIS_SERVER at the binary"
        )
    })
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|addr| addr.port())
        .expect("no free loopback port")
}

impl RedisServer {
    pub fn start() -> RedisServer {
        RedisServer::start_with(None, None, &[])
    }

    /// A master that cannot be made a replica (REPLICAOF and SLAVEOF renamed away): after a
    /// failover it stays a master for good, as an old master does for a few seconds (or as long
    /// as a partition keeps it from the Sentinels).
    pub fn stubborn_master() -> RedisServer {
        let renamed = ["--rename-command", "SLAVEOF", "", "--rename-command", "REPLICAOF", ""];
        RedisServer::start_with(None, None, &renamed)
    }

    /// A server that requires this password (`requirepass`).
    pub fn with_password(password: &str) -> RedisServer {
        RedisServer::start_with(Some(password), None, &[])
    }

    /// A server that also listens with TLS (see [`RedisServer::tls`]); its plain port stays for
    /// the test's own connection.
    pub fn with_tls(client_certs: ClientCerts) -> RedisServer {
        RedisServer::start_with(None, Some(client_certs), &[])
    }

    /// A node for a Redis Cluster (see [`RedisCluster`]).
    fn cluster_node() -> RedisServer {
        RedisServer::start_with(
            None,
            None,
            &["--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf"],
        )
    }

    /// A server that keeps its data in an append-only file in its folder, written through on
    /// every change (`appendonly yes`, `appendfsync always`): [`RedisServer::restart`] finds it
    /// all again.
    pub fn with_appendonly() -> RedisServer {
        RedisServer::start_with(None, None, &["--appendonly", "yes", "--appendfsync", "always"])
    }

    /// A replica of `master` (`replicaof`).
    pub fn replica_of(master: &RedisServer) -> RedisServer {
        let port = master.port.to_string();
        RedisServer::start_with(None, None, &["--replicaof", "127.0.0.1", &port])
    }

    fn start_with(password: Option<&str>, tls: Option<ClientCerts>, extra: &[&str]) -> RedisServer {
        let binary = server_binary();
        // Another process may take the port between our probe and the server's bind: try again.
        for _ in 0..5 {
            let dir = tempfile::tempdir().expect("cannot create a temporary folder");
            let port = free_port();
            let mut command = Command::new(&binary);
            command
                .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
                .args(["--save", "", "--appendonly", "no", "--daemonize", "no"])
                .arg("--dir")
                .arg(dir.path())
                .arg("--unixsocket")
                .arg(dir.path().join("redis.sock"))
                .arg("--logfile")
                .arg(dir.path().join("redis.log"))
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null());
            if let Some(password) = password {
                command.args(["--requirepass", password]);
            }
            command.args(extra);
            let tls = tls.map(|client_certs| {
                let (tls, cert, key) = make_certificates(dir.path(), free_port());
                command.args(["--tls-port", &tls.port.to_string()]);
                command.arg("--tls-cert-file").arg(cert).arg("--tls-key-file").arg(key);
                command.arg("--tls-ca-cert-file").arg(&tls.ca);
                let asked = if client_certs == ClientCerts::Required { "yes" } else { "no" };
                command.args(["--tls-auth-clients", asked]);
                tls
            });
            // If the test process dies, so does its server.
            // SAFETY: the hook runs in the forked child before exec and only makes the prctl
            // system call (no allocation, no lock).
            unsafe {
                command.pre_exec(die_with_the_tests);
            }
            let command_line = command.get_args().map(Into::into).collect();
            let process = command
                .spawn()
                .unwrap_or_else(|err| panic!("cannot start {}: {err}", binary.display()));
            let password = password.map(Into::into);
            let mut server = RedisServer { process, command_line, port, password, tls, dir };
            if server.wait_until_ready() {
                return server;
            }
        }
        panic!("redis-server did not start after 5 tries (see its redis.log)");
    }

    /// Waits until the server answers PING; false if it exited (port taken) or took too long.
    fn wait_until_ready(&mut self) -> bool {
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.process.try_wait() {
                return false;
            }
            if let Ok(mut con) = self.try_connection()
                && redis::cmd("PING").query::<String>(&mut con).is_ok()
            {
                return true;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.process.kill();
        let _ = self.process.wait();
        false
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The TLS port and certificates of a server started [`RedisServer::with_tls`].
    pub fn tls(&self) -> &Tls {
        self.tls.as_ref().expect("this test server was not started with TLS")
    }

    pub fn pid(&self) -> i32 {
        self.process.id() as i32
    }

    /// The URL rlock should use, with the password if there is one.
    pub fn url(&self) -> String {
        match &self.password {
            Some(password) => format!("redis://:{password}@127.0.0.1:{}", self.port),
            None => format!("redis://127.0.0.1:{}", self.port),
        }
    }

    fn try_connection(&self) -> redis::RedisResult<redis::Connection> {
        let client = redis::Client::open(self.url())?;
        let con = client.get_connection_with_timeout(Duration::from_secs(2))?;
        con.set_read_timeout(Some(Duration::from_secs(5)))?;
        Ok(con)
    }

    /// A connection for the test itself, to look at and tamper with keys.
    pub fn connection(&self) -> redis::Connection {
        self.try_connection().expect("cannot connect to the test's redis-server")
    }

    /// Runs one command on the server, for the test.
    pub fn cmd<T: redis::FromRedisValue>(&self, args: &[&str]) -> T {
        let mut command = redis::cmd(args[0]);
        for arg in &args[1..] {
            command.arg(*arg);
        }
        command.query(&mut self.connection()).unwrap_or_else(|err| panic!("{args:?} failed: {err}"))
    }

    /// Freezes the server (SIGSTOP): connections stay open, nothing answers.
    pub fn pause(&self) {
        nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(self.pid()),
            nix::sys::signal::Signal::SIGSTOP,
        )
        .expect("cannot SIGSTOP redis-server");
    }

    /// Lets a paused server go on (SIGCONT).
    pub fn resume(&self) {
        nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(self.pid()),
            nix::sys::signal::Signal::SIGCONT,
        )
        .expect("cannot SIGCONT redis-server");
    }

    /// Kills the server (SIGKILL: no shutdown, and it keeps nothing, having no persistence) and
    /// starts it again on the same port, empty (or, [`RedisServer::with_appendonly`], with what
    /// its append-only file holds). The new process dies when the thread that calls this ends
    /// (PR_SET_PDEATHSIG is per thread): call it from one that outlives its use.
    pub fn restart(&mut self) {
        self.stop();
        self.start_again();
    }

    /// Kills the server (SIGKILL, by its pid), and leaves it down.
    pub fn stop(&mut self) {
        let _ = self.process.kill();
        let _ = self.process.wait();
    }

    /// Starts a stopped server again, as it was started, on the same port (see
    /// [`RedisServer::restart`]).
    pub fn start_again(&mut self) {
        let mut command = Command::new(server_binary());
        command
            .args(&self.command_line)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        // SAFETY: the hook runs in the forked child before exec and only makes the prctl
        // system call (no allocation, no lock).
        unsafe {
            command.pre_exec(die_with_the_tests);
        }
        self.process = command.spawn().expect("cannot start redis-server again");
        assert!(self.wait_until_ready(), "redis-server did not start again on its port");
    }

    /// The server's unix socket.
    pub fn socket(&self) -> PathBuf {
        self.dir.path().join("redis.sock")
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        // A paused server would not die of SIGTERM; SIGKILL works either way.
        let _ = self.process.kill();
        let _ = self.process.wait();
    }
}

/// A loopback port that nothing listens on (for "Redis unreachable").
pub fn closed_port() -> u16 {
    free_port()
}

/// A Redis Sentinel watching one master (as service `svc`), with quorum 1 and short timeouts.
pub struct Sentinel {
    process: Child,
    port: u16,
    _dir: TempDir,
}

impl Sentinel {
    pub const SERVICE: &str = "svc";

    /// Starts a Sentinel for `master` and waits until it also knows `replicas` replicas (a
    /// failover needs one).
    pub fn watch(master: &RedisServer, replicas: usize) -> Sentinel {
        let dir = tempfile::tempdir().expect("cannot create a temporary folder");
        let port = free_port();
        let config = dir.path().join("sentinel.conf");
        let service = Sentinel::SERVICE;
        std::fs::write(
            &config,
            format!(
                "port {port}\nbind 127.0.0.1\ndir {dir}\nlogfile {dir}/sentinel.log\n\
                 sentinel monitor {service} 127.0.0.1 {master} 1\n\
                 sentinel down-after-milliseconds {service} 1000\n\
                 sentinel failover-timeout {service} 5000\n",
                dir = dir.path().display(),
                master = master.port(),
            ),
        )
        .expect("cannot write sentinel.conf");
        let mut command = Command::new(server_binary());
        command.arg(&config).arg("--sentinel").stdin(Stdio::null()).stdout(Stdio::null());
        command.stderr(Stdio::null());
        // SAFETY: prctl only, between fork and exec.
        // SAFETY: the hook runs in the forked child before exec and only makes the prctl
        // system call (no allocation, no lock).
        unsafe {
            command.pre_exec(die_with_the_tests);
        }
        let process = command.spawn().expect("cannot start redis-server --sentinel");
        let sentinel = Sentinel { process, port, _dir: dir };
        let ready = crate::harness::eventually(Duration::from_secs(20), || {
            sentinel.try_master_port().is_some()
                && sentinel
                    .try_cmd::<Vec<redis::Value>>(&["SENTINEL", "REPLICAS", service])
                    .is_some_and(|found| found.len() >= replicas)
        });
        assert!(ready, "the Sentinel did not come up knowing the master and its replicas");
        sentinel
    }

    /// The URL rlock should use.
    pub fn url(&self) -> String {
        format!("redis+sentinel://127.0.0.1:{}/{}", self.port, Sentinel::SERVICE)
    }

    /// The port of the master the Sentinel names now.
    pub fn master_port(&self) -> u16 {
        self.try_master_port().expect("the Sentinel names no master")
    }

    fn try_master_port(&self) -> Option<u16> {
        let address: Option<(String, String)> =
            self.try_cmd(&["SENTINEL", "GET-MASTER-ADDR-BY-NAME", Sentinel::SERVICE])?;
        address?.1.parse().ok()
    }

    /// Starts a failover (SENTINEL FAILOVER) and waits until the Sentinel names another master.
    pub fn fail_over(&self) -> u16 {
        let before = self.master_port();
        // A replica it has only just met is not yet a candidate (NOGOODSLAVE): ask again.
        let started = crate::harness::eventually(Duration::from_secs(30), || {
            self.try_cmd::<String>(&["SENTINEL", "FAILOVER", Sentinel::SERVICE]).as_deref()
                == Some("OK")
        });
        assert!(started, "SENTINEL FAILOVER was refused for 30 s");
        let moved = crate::harness::eventually(Duration::from_secs(20), || {
            self.try_master_port().is_some_and(|port| port != before)
        });
        assert!(moved, "the failover did not happen");
        self.master_port()
    }

    fn try_cmd<T: redis::FromRedisValue>(&self, args: &[&str]) -> Option<T> {
        let client = redis::Client::open(format!("redis://127.0.0.1:{}", self.port)).ok()?;
        let mut con = client.get_connection_with_timeout(Duration::from_secs(2)).ok()?;
        con.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
        let mut command = redis::cmd(args[0]);
        for arg in &args[1..] {
            command.arg(*arg);
        }
        command.query(&mut con).ok()
    }
}

impl Drop for Sentinel {
    fn drop(&mut self) {
        let _ = self.process.kill();
        let _ = self.process.wait();
    }
}

/// A Redis Cluster of masters without replicas, made with `redis-cli --cluster create`.
pub struct RedisCluster {
    pub nodes: Vec<RedisServer>,
}

impl RedisCluster {
    pub fn start(masters: usize) -> RedisCluster {
        let nodes: Vec<RedisServer> = (0..masters).map(|_| RedisServer::cluster_node()).collect();
        let addresses: Vec<String> =
            nodes.iter().map(|node| format!("127.0.0.1:{}", node.port())).collect();
        let created = Command::new("redis-cli")
            .arg("--cluster")
            .arg("create")
            .args(&addresses)
            .args(["--cluster-replicas", "0", "--cluster-yes"])
            .stdin(Stdio::null())
            .output()
            .expect("cannot run redis-cli --cluster create (redis-cli comes with redis-server)");
        assert!(
            created.status.success(),
            "redis-cli --cluster create failed: {}",
            String::from_utf8_lossy(&created.stdout)
        );
        let cluster = RedisCluster { nodes };
        let ready = crate::harness::eventually(Duration::from_secs(30), || {
            cluster.nodes.iter().all(|node| {
                let info: String = node.cmd(&["CLUSTER", "INFO"]);
                info.contains("cluster_state:ok") && info.contains("cluster_known_nodes:") && {
                    let known = info
                        .lines()
                        .find_map(|line| line.strip_prefix("cluster_known_nodes:"))
                        .and_then(|count| count.trim().parse::<usize>().ok());
                    known == Some(cluster.nodes.len())
                }
            })
        });
        assert!(ready, "the cluster did not settle");
        cluster
    }

    /// A seed URL for rlock: the first node's.
    pub fn seed(&self) -> String {
        self.nodes[0].url()
    }

    /// The node that serves `key`'s slot.
    pub fn owner(&self, key: &str) -> &RedisServer {
        let slot: i64 = self.nodes[0].cmd(&["CLUSTER", "KEYSLOT", key]);
        // Each entry: first slot, last slot, [address, port, id, ...] of its master.
        let ranges: Vec<(i64, i64, Vec<redis::Value>)> = self.nodes[0].cmd(&["CLUSTER", "SLOTS"]);
        let port = ranges
            .iter()
            .find(|(first, last, _)| (*first..=*last).contains(&slot))
            .and_then(|(_, _, master)| match master.get(1) {
                Some(redis::Value::Int(port)) => Some(*port),
                _ => None,
            })
            .expect("no range covers the slot");
        self.nodes.iter().find(|node| i64::from(node.port()) == port).expect("unknown node")
    }
}

/// For a server's `pre_exec`: it dies with the test process (PR_SET_PDEATHSIG).
fn die_with_the_tests() -> std::io::Result<()> {
    nix::sys::prctl::set_pdeathsig(nix::sys::signal::Signal::SIGKILL).map_err(Into::into)
}
