//! A network partition without network namespaces: a TCP proxy on loopback in front of a test
//! server that can go silent. While it is cut, connections stay open and nothing passes either
//! way (bytes wait in the kernel's buffers, as packets would be retransmitted); new connections
//! are accepted by the kernel but get no answer. Redis itself runs on and serves everyone else.

use std::io::{ErrorKind, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::fixture::RedisServer;

/// How often the proxy's threads look at the switches.
const TICK: Duration = Duration::from_millis(10);

pub struct Partition {
    port: u16,
    cut: Arc<AtomicBool>,
    /// How long each request waits on its way to the server, in milliseconds.
    delay: Arc<AtomicU64>,
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
        let delay = Arc::new(AtomicU64::new(0));
        let (their_cut, their_done, their_delay) = (cut.clone(), done.clone(), delay.clone());
        let acceptor = std::thread::spawn(move || {
            let mut pumps = Vec::new();
            while !their_done.load(Ordering::SeqCst) {
                match listener.accept() {
                    Ok((client, _)) => {
                        let Ok(server) = TcpStream::connect(("127.0.0.1", target)) else {
                            continue;
                        };
                        let no_delay = Arc::new(AtomicU64::new(0));
                        for (from, to, delay) in
                            [(&client, &server, &their_delay), (&server, &client, &no_delay)]
                        {
                            let (from, to) = (from.try_clone().unwrap(), to.try_clone().unwrap());
                            let (cut, done) = (their_cut.clone(), their_done.clone());
                            let delay = delay.clone();
                            pumps.push(std::thread::spawn(move || {
                                pump(from, to, &cut, &done, &delay)
                            }));
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
        Partition { port, cut, delay, done, acceptor: Some(acceptor) }
    }

    /// The URL that reaches the server through the proxy.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// From now on nothing passes.
    pub fn cut(&self) {
        self.cut.store(true, Ordering::SeqCst);
    }

    /// From now on every request reaches the server `delay` after it was sent (the replies come
    /// back at once): a slow one-way link.
    pub fn delay(&self, delay: Duration) {
        self.delay.store(u64::try_from(delay.as_millis()).unwrap(), Ordering::SeqCst);
    }

    /// Everything passes again, what waited first.
    pub fn heal(&self) {
        self.cut.store(false, Ordering::SeqCst);
    }
}

/// Copies `from` to `to` while the proxy is not cut, each chunk `delay` after it was read (the
/// chunks queue meanwhile, as bytes in flight on a slow link do), until either side closes or
/// the proxy ends.
fn pump(
    mut from: TcpStream,
    mut to: TcpStream,
    cut: &AtomicBool,
    done: &AtomicBool,
    delay: &AtomicU64,
) {
    let _ = from.set_read_timeout(Some(TICK));
    let (chunks, queue) = std::sync::mpsc::channel::<(Instant, Vec<u8>)>();
    let writer = std::thread::spawn(move || {
        for (due, chunk) in queue {
            std::thread::sleep(due.saturating_duration_since(Instant::now()));
            if to.write_all(&chunk).is_err() {
                break;
            }
        }
        let _ = to.shutdown(Shutdown::Both);
    });
    let mut buffer = [0u8; 16 * 1024];
    while !done.load(Ordering::SeqCst) {
        if cut.load(Ordering::SeqCst) {
            std::thread::sleep(TICK);
            continue;
        }
        match from.read(&mut buffer) {
            Ok(0) => break,
            Ok(n) => {
                let due = Instant::now() + Duration::from_millis(delay.load(Ordering::SeqCst));
                if chunks.send((due, buffer[..n].to_vec())).is_err() {
                    break;
                }
            }
            Err(err) if matches!(err.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
            Err(_) => break,
        }
    }
    drop(chunks);
    let _ = from.shutdown(Shutdown::Both);
    let _ = writer.join();
}

impl Drop for Partition {
    fn drop(&mut self) {
        self.done.store(true, Ordering::SeqCst);
        if let Some(acceptor) = self.acceptor.take() {
            let _ = acceptor.join();
        }
    }
}
