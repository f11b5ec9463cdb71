//! Starting and watching processes: the command rlock runs ([`command`]), what became of it
//! ([`child`]), what it left behind ([`descendants`]), and the guardian that kills the command's
//! group when rlock dies or freezes ([`guardian`]), and the terminal's foreground the command is
//! given ([`terminal`]). The only module allowed `unsafe`, for two things: asking the kernel how
//! a signal is handled, and giving the command the terminal between fork and exec (with
//! descriptor 0 borrowed as it is). Everything else goes through `std::process` and `nix`.

pub(crate) mod child;
pub(crate) mod command;
pub(crate) mod descendants;
pub(crate) mod guardian;
pub(crate) mod terminal;

/// Whether `signal` is currently ignored (SIG_IGN) in this process: such a signal (`nohup`, or
/// `&` in a script for SIGINT and SIGQUIT) stays ignored, and the command inherits that.
pub(crate) fn signal_is_ignored(signal: i32) -> bool {
    let mut old = std::mem::MaybeUninit::<libc::sigaction>::zeroed();
    // SAFETY: sigaction with a null new action only writes the current disposition into `old`,
    // which points to room for a sigaction on our stack.
    let read = unsafe { libc::sigaction(signal, std::ptr::null(), old.as_mut_ptr()) } == 0;
    // SAFETY: all zeroes is a valid sigaction (a plain C struct), and sigaction filled it in.
    let old = unsafe { old.assume_init() };
    read && old.sa_sigaction == libc::SIG_IGN
}
