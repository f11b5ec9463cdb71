//! The `rlock` binary: carry out the command line, exit with its code.

fn main() -> std::process::ExitCode {
    std::process::ExitCode::from(rlock::main().code())
}
