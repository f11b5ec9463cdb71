use std::process::ExitCode;

use clap::Parser;
use rlock::cli::Cli;
use rlock::endpoint::scrub;
use rlock::exit_code::Exit;

fn main() -> ExitCode {
    // Every URL that could carry a password, so that no message shows one.
    let mut urls: Vec<String> = std::env::args().collect();
    urls.extend(std::env::var("RLOCK_REDIS").ok());
    let clean = |text: String| urls.iter().fold(text, |text, url| scrub(&text, url));

    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(err) => {
            let code = if err.exit_code() == 0 { 0 } else { Exit::Failure.code() };
            let plain = err.render().to_string();
            if clean(plain.clone()) == plain {
                let _ = err.print();
            } else {
                eprint!("{}", clean(plain));
            }
            return ExitCode::from(code);
        }
    };
    match rlock::commands::execute(cli) {
        Ok(exit) => ExitCode::from(exit.code()),
        Err(err) => {
            eprintln!("rlock: {}", clean(format!("{err:#}")));
            ExitCode::from(Exit::Failure.code())
        }
    }
}
