//! The `rlock` binary: parse the command line, carry it out, exit with its code.
//!
//! rlock starts its own way (`no_main`). Rust's usual start-up reads /proc/self/maps to find the
//! main thread's stack and gives every thread an alternate signal stack, only to print "stack
//! overflow" before a crash; that took about 0.1 ms of the 2.5 ms an uncontended
//! `rlock run KEY -- true` takes (flock takes 1.6). What rlock needs of that start-up it does in
//! [`start_up`]; a panic still ends with exit 101 and its message, and standard output is still
//! flushed on the way out.
#![no_main]

use std::ffi::{c_char, c_int};

use rlock::endpoint::scrub;
use rlock::exit_code::Exit;

/// The C entry point (see the module's note).
#[unsafe(no_mangle)]
extern "C" fn main(_argc: c_int, _argv: *const *const c_char) -> c_int {
    start_up();
    let code = std::panic::catch_unwind(run).map_or(101, i32::from);
    // Flushes standard output, as returning from a Rust main would.
    std::process::exit(code)
}

/// What rlock relies on from Rust's usual start-up: standard input, output and error open (if
/// one was closed, the next file or socket opened would take its number), and SIGPIPE ignored,
/// so that writing to a closed pipe is an error rlock handles rather than its death.
fn start_up() {
    for fd in 0..=2 {
        // SAFETY: fcntl and open on file descriptor numbers; nothing else is running yet.
        unsafe {
            if libc::fcntl(fd, libc::F_GETFD) == -1
                && std::io::Error::last_os_error().raw_os_error() == Some(libc::EBADF)
                && libc::open(c"/dev/null".as_ptr(), libc::O_RDWR) == -1
            {
                libc::abort();
            }
        }
    }
    // SAFETY: setting a signal's disposition before any thread starts.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_IGN);
    }
}

fn run() -> u8 {
    // Every URL that could carry a password, so that no message shows one.
    let mut urls: Vec<String> = std::env::args().collect();
    urls.extend(std::env::var("RLOCK_REDIS").ok());
    let clean = |text: String| urls.iter().fold(text, |text, url| scrub(&text, url));

    let cli = match rlock::cli::parse() {
        Ok(cli) => cli,
        Err(err) => {
            let code = if err.exit_code() == 0 { 0 } else { Exit::Failure.code() };
            let plain = err.render().to_string();
            if clean(plain.clone()) == plain {
                let _ = err.print();
            } else {
                eprint!("{}", clean(plain));
            }
            return code;
        }
    };
    match rlock::commands::execute(cli) {
        Ok(exit) => exit.code(),
        Err(err) => {
            eprintln!("rlock: {}", clean(format!("{err:#}")));
            Exit::Failure.code()
        }
    }
}
