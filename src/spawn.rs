//! Starting rlock's helper processes (the guardian and the process that becomes the command)
//! cheaply: with `clone(CLONE_VM)`, as `posix_spawn` does, instead of `fork`. The new process runs
//! on a stack of its own but in rlock's memory, so nothing is copied: no page tables at the start,
//! no copy-on-write faults in rlock for as long as the helper lives, nothing to tear down when it
//! execs or exits. On a busy machine this is a good part of what one waiting rlock costs.
//!
//! The price is discipline in the helper's code ([`Entry`]): it shares memory and thread-local
//! storage with rlock's main thread, so it may only make system calls that touch neither (see
//! [`sys`]) and read memory that stays put until it has exec'd or exited. Helpers are started
//! before rlock installs any signal handler, so no handler of rlock's ever runs in one: a signal
//! takes its default action, or stays pending where the helper inherited it blocked.
//! The libc functions they call are bound when rlock starts (Rust links with `-z now`), so no lazy
//! symbol lookup runs in a helper either.

use std::ffi::{c_int, c_void};
use std::io;

use nix::unistd::Pid;

/// The code a helper runs: it gets the pointer given to [`Helper::start`] and must end in
/// `execve` or `exit`, never return into anything that assumes it is rlock.
pub type Entry = extern "C" fn(*mut c_void) -> c_int;

/// Room for a helper's stack: its code is a handful of system calls.
const STACK: usize = 64 * 1024;
/// An inaccessible page below the stack, so that an overflow faults instead of writing into rlock.
const GUARD: usize = 4096;

/// A helper process and the stack it runs on. Dropping it frees the stack: only do that once the
/// process has exec'd or been reaped.
pub struct Helper {
    pid: Pid,
    stack: Stack,
}

impl Helper {
    /// Starts `entry(data)` in a new process sharing rlock's memory, which sends SIGCHLD to rlock
    /// when it ends, like a forked child.
    ///
    /// # Safety
    ///
    /// `entry` must follow the rules in the module's documentation, and whatever `data` points
    /// to must stay valid and unchanged until the helper has exec'd or been reaped. No signal
    /// handler may be installed yet.
    pub unsafe fn start(entry: Entry, data: *mut c_void) -> io::Result<Helper> {
        // SAFETY: as the caller promised.
        unsafe { Helper::start_with(entry, data, libc::SIGCHLD) }
    }

    /// [`Helper::start`], for a helper whose end rlock need not hear of: it sends no signal when
    /// it ends (a clone "exit signal" of 0), so rlock's signal thread does not wake for it.
    /// Reap it with [`Helper::reap_silent`]. Should rlock end first, the helper is handed to
    /// init, which gets SIGCHLD for it as for any orphan.
    /// # Safety
    /// As for [`Helper::start`].
    pub unsafe fn start_silent(entry: Entry, data: *mut c_void) -> io::Result<Helper> {
        // SAFETY: as the caller promised.
        unsafe { Helper::start_with(entry, data, 0) }
    }

    /// Waits for a helper made by [`Helper::start_silent`] to end (`__WCLONE`: a child that sends
    /// no SIGCHLD is waited for only with that flag).
    pub fn reap_silent(&self) {
        let flags = Some(nix::sys::wait::WaitPidFlag::__WCLONE);
        while nix::sys::wait::waitpid(self.pid, flags) == Err(nix::errno::Errno::EINTR) {}
    }

    /// # Safety
    /// As for [`Helper::start`].
    unsafe fn start_with(
        entry: Entry,
        data: *mut c_void,
        exit_signal: c_int,
    ) -> io::Result<Helper> {
        let stack = Stack::new()?;
        // SAFETY: the stack is ours, mapped and writable; the caller vouches for entry and data.
        let pid = unsafe { libc::clone(entry, stack.top(), libc::CLONE_VM | exit_signal, data) };
        if pid < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(Helper { pid: Pid::from_raw(pid), stack })
    }

    pub fn pid(&self) -> Pid {
        self.pid
    }

    /// Keeps the stack mapped for good: for a helper that may outlive every chance to reap it.
    pub fn leak(self) {
        std::mem::forget(self.stack);
    }
}

/// An anonymous mapping with a guard page at its low end (stacks grow down).
struct Stack {
    base: *mut c_void,
    len: usize,
}

impl Stack {
    fn new() -> io::Result<Stack> {
        let len = STACK + GUARD;
        // SAFETY: a fresh private anonymous mapping, checked before use.
        let base = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_STACK,
                -1,
                0,
            )
        };
        if base == libc::MAP_FAILED {
            return Err(io::Error::last_os_error());
        }
        let stack = Stack { base, len };
        // SAFETY: the first page of the mapping just made.
        if unsafe { libc::mprotect(base, GUARD, libc::PROT_NONE) } != 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(stack)
    }

    /// The initial stack pointer: the high end, 16-byte aligned as both ABIs want.
    fn top(&self) -> *mut c_void {
        let end = self.base as usize + self.len;
        (end & !15) as *mut c_void
    }
}

impl Drop for Stack {
    fn drop(&mut self) {
        // SAFETY: the mapping made in Stack::new, no longer used by anyone.
        unsafe {
            libc::munmap(self.base, self.len);
        }
    }
}

/// The system calls a helper may make. Each goes through `syscall(2)` or a libc wrapper that is
/// nothing but the system call: no cancellation point, no locks, no buffers. Only a failure
/// touches thread-local state (errno), and the helpers' failures all end them.
pub mod sys {
    use std::ffi::c_int;

    /// read(2), retried when interrupted. Returns the byte count, 0 at end of file, -1 on error.
    ///
    /// # Safety
    /// `buffer` must be valid for `len` bytes.
    pub unsafe fn read(fd: c_int, buffer: *mut u8, len: usize) -> isize {
        loop {
            // SAFETY: as the caller promised.
            let got = unsafe { libc::syscall(libc::SYS_read, fd, buffer, len) } as isize;
            if got >= 0 || unsafe { *libc::__errno_location() } != libc::EINTR {
                return got;
            }
        }
    }

    /// write(2) of a small buffer, once.
    ///
    /// # Safety
    /// `buffer` must be valid for `len` bytes.
    pub unsafe fn write(fd: c_int, buffer: *const u8, len: usize) {
        // SAFETY: as the caller promised.
        unsafe {
            libc::syscall(libc::SYS_write, fd, buffer, len);
        }
    }

    /// close(2), without glibc's cancellation handling.
    pub fn close(fd: c_int) {
        // SAFETY: closes a descriptor in the helper's own copy of the descriptor table.
        unsafe {
            libc::syscall(libc::SYS_close, fd);
        }
    }

    /// Closes every descriptor but `keep`: close_range(2), or one by one up to 1023 where the
    /// kernel lacks it (before Linux 5.9).
    pub fn close_all_but(keep_fd: c_int) {
        let Ok(keep) = u32::try_from(keep_fd) else { return };
        // SAFETY: closes descriptors in the helper's own copy of the descriptor table.
        let ranged = unsafe {
            (keep == 0 || libc::syscall(libc::SYS_close_range, 0, keep - 1, 0) == 0)
                && libc::syscall(libc::SYS_close_range, keep + 1, u32::MAX, 0) == 0
        };
        if !ranged {
            (0..1024).filter(|&fd| fd != keep_fd).for_each(close);
        }
    }

    /// The errno of the last failed call in this helper.
    pub fn errno() -> c_int {
        // SAFETY: errno's location is always valid.
        unsafe { *libc::__errno_location() }
    }

    /// Ends the helper (exit_group: the helper is a process of its own).
    pub fn exit(code: c_int) -> ! {
        // SAFETY: _exit is the bare system call; no atexit handlers, no stdio.
        unsafe { libc::_exit(code) }
    }
}
