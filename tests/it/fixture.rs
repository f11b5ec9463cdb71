//! A real redis-server for one test: started on a free loopback port in its own temporary folder,
//! waited for until it answers, and killed by pid when dropped.

use std::net::TcpListener;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use tempfile::TempDir;

pub struct RedisServer {
    process: Child,
    port: u16,
    password: Option<String>,
    dir: TempDir,
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
        RedisServer::start_with(None)
    }

    /// A server that requires this password (`requirepass`).
    pub fn with_password(password: &str) -> RedisServer {
        RedisServer::start_with(Some(password))
    }

    fn start_with(password: Option<&str>) -> RedisServer {
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
            // If the test process dies, so does its server.
            unsafe {
                command.pre_exec(|| {
                    libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL, 0, 0, 0);
                    Ok(())
                });
            }
            let process = command
                .spawn()
                .unwrap_or_else(|err| panic!("cannot start {}: {err}", binary.display()));
            let mut server = RedisServer { process, port, password: password.map(Into::into), dir };
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
