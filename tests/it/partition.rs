//! A network partition without network namespaces: a TCP proxy on loopback in front of a test
//! server that can go silent. While it is cut, connections stay open and nothing passes either
//! way (bytes wait in the kernel's buffers, as packets would be retransmitted); new connections
//! are accepted by the kernel but get no answer. Redis itself runs on and serves everyone else.

use std::io::{ErrorKind, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use crate::fixture::RedisServer;

/// How often the proxy's threads look at the switches.
const TICK: Duration = Duration::from_millis(10);

pub struct Partition {
    port: u16,
    cut: Arc<AtomicBool>,
    done: Arc<AtomicBool>,
    acceptor: Option<JoinHandle<()>>,
}

impl Partition {
    /// A proxy to `server`, passing everything until [`Partition::cut`].
    pub fn before(server: &RedisServer) -> Partition {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the proxy");
        listener.set_nonblocking(true).expect("a non-blocking listener");
        let port = listener.local_addr().unwrap().port();
        let target = server.port();
        let (cut, done) = (Arc::new(AtomicBool::new(false)), Arc::new(AtomicBool::new(false)));
        let (their_cut, their_done) = (cut.clone(), done.clone());
        let acceptor = std::thread::spawn(move || {
            let mut pumps = Vec::new();
            while !their_done.load(Ordering::SeqCst) {
                match listener.accept() {
                    Ok((client, _)) => {
                        let Ok(server) = TcpStream::connect(("127.0.0.1", target)) else {
                            continue;
                        };
                        for (from, to) in [(&client, &server), (&server, &client)] {
                            let (from, to) = (from.try_clone().unwrap(), to.try_clone().unwrap());
                            let (cut, done) = (their_cut.clone(), their_done.clone());
                            pumps.push(std::thread::spawn(move || pump(from, to, &cut, &done)));
                        }
                    }
                    Err(err) if err.kind() == ErrorKind::WouldBlock => std::thread::sleep(TICK),
                    Err(_) => break,
                }
            }
            for pump in pumps {
                let _ = pump.join();
            }
        });
        Partition { port, cut, done, acceptor: Some(acceptor) }
    }

    /// The URL that reaches the server through the proxy.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// From now on nothing passes.
    pub fn cut(&self) {
        self.cut.store(true, Ordering::SeqCst);
    }

    /// Everything passes again, what waited first.
    pub fn heal(&self) {
        self.cut.store(false, Ordering::SeqCst);
    }
}

/// Copies `from` to `to` while the proxy is not cut, until either side closes or the proxy ends.
fn pump(mut from: TcpStream, mut to: TcpStream, cut: &AtomicBool, done: &AtomicBool) {
    let _ = from.set_read_timeout(Some(TICK));
    let mut buffer = [0u8; 16 * 1024];
    while !done.load(Ordering::SeqCst) {
        if cut.load(Ordering::SeqCst) {
            std::thread::sleep(TICK);
            continue;
        }
        match from.read(&mut buffer) {
            Ok(0) => break,
            Ok(n) => {
                if to.write_all(&buffer[..n]).is_err() {
                    break;
                }
            }
            Err(err) if matches!(err.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
            Err(_) => break,
        }
    }
    let _ = to.shutdown(Shutdown::Both);
    let _ = from.shutdown(Shutdown::Both);
}

impl Drop for Partition {
    fn drop(&mut self) {
        self.done.store(true, Ordering::SeqCst);
        if let Some(acceptor) = self.acceptor.take() {
            let _ = acceptor.join();
        }
    }
}
