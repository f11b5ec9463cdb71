//! The command line, as clap derive definitions. They also drive `--help`, the shell completions
//! and the man page ([`crate::generate`]).

use std::ffi::OsString;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};

use crate::duration;
use crate::glob::Glob;
use crate::lock::Mode;

/// The examples of `rlock --help`, also the man page's EXAMPLES: a command, two spaces or more,
/// and what it does.
macro_rules! example_lines {
    () => {
        "  rlock run deploy -- ./deploy.sh            one deploy at a time, across all machines
  rlock run -n nightly -- ./backup.sh        cron: skip this run if the last one is still going
  rlock run -w 5m -t 1m migrate -- make it   wait up to 5 minutes; a 1-minute ttl, kept refreshed
  rlock run --limit 2 stage -- ./deploy.sh   at most 2 deploys to staging at once
  rlock run --shared db -- ./report.sh       readers together; a plain 'rlock run db' runs alone
  rlock ttl deploy                           is anyone holding it, and for how much longer?
  rlock status deploy --json                 who holds it, since when, with which fence; who waits
  rlock list                                 every lock held now, and how many wait for each
  rlock log deploy                           the last holds: who, when, how long, how each ended
  tok=$(rlock acquire -t 10m job)            take a lock in a script...
  rlock release job \"$tok\"                   ...and release it
  rlock completions bash > rlock.bash        completions (also zsh, fish, elvish, powershell)"
    };
}

/// The same examples, for the man page.
pub const EXAMPLE_LINES: &str = example_lines!();

const EXAMPLES: &str = concat!(
    "Examples:\n",
    example_lines!(),
    "\n
Exit status: the command's own; 128+N if it died of signal N; 75 lock not obtained (-E changes it);
123 the command ran for its --timeout; 124 lock lost while the command ran; 125 rlock failed (usage,
Redis); 126 command not executable; 127 command not found. Query commands: 0 held/done, 1 free/not
yours."
);

/// `rlock run`'s usage line: clap's own would show the command as optional.
const RUN_USAGE: &str = "rlock run [OPTIONS] <KEY> -- <COMMAND>...";

const RUN_EXAMPLES: &str = "\
Examples:
  rlock run deploy -- ./deploy.sh --env prod
  rlock run -n -E 0 -q nightly -- ./backup.sh  skip silently (exit 0) if a backup is running
  rlock run -w 10m -t 2m migrate -- make migrate
  rlock run --limit 3 -n encode -- ./encode.sh  at most 3 encoders; skip if all 3 are busy
  rlock run --shared schema -- ./read-only-report.sh
  rlock run --timeout 1h nightly -- ./backup.sh  stopped after an hour (exit 123), lock released

The command gets RLOCK_KEY, RLOCK_TOKEN, RLOCK_FENCE (increases with every acquisition; pass it to
storage that rejects stale writers) and RLOCK_TTL_MS in its environment.

When stdin is a terminal and rlock runs in its foreground (and not in a pipeline: rlock ... | less),
the command gets the terminal's foreground: it can read the terminal, and Ctrl-C and Ctrl-Z go to it
(Ctrl-Z stops rlock too, for fg to continue both); rlock takes it back when the command stops or
ends.";

const DESCRIPTION: &str = "\
Take turns through Redis: run a command while holding a lock that every machine sharing the Redis
respects.

rlock run KEY -- COMMAND waits until it holds the lock named KEY, runs COMMAND (without a shell,
with stdin, stdout and stderr passed through), refreshes the lock every ttl/3 while COMMAND runs,
releases it when COMMAND ends, and exits with COMMAND's status. If the lock is lost while COMMAND
runs, rlock stops COMMAND (SIGTERM, then SIGKILL) and exits with 124; with --timeout, it stops
COMMAND the same way once it has run that long, and exits with 123. Signals sent to rlock are
passed on to COMMAND's process group; if rlock itself is killed, COMMAND dies with it. Run from a
terminal, COMMAND gets the terminal's foreground: it can read it, and Ctrl-C and Ctrl-Z reach it.

Waiters are served in the order they came, and the lock is handed to the next one the moment it is
released. A lock can also admit several holders: at most N (--limit N), or readers together and
a writer alone (--shared). One Redis server, Sentinel, a Redis Cluster (--cluster) or a quorum of
independent servers (several --redis URLs) can hold the locks; rediss:// URLs use TLS.

The other subcommands take a lock for a script (acquire, refresh, release), look at locks (ttl,
status, list, log), break one (break), or print shell completions and this page.";

const ACQUIRE_TTL: &str = "Lifetime of the lock: it is not refreshed, so refresh it (rlock refresh) \
     or release it before then, or it lapses";

const TOKEN_MODE: &str = "\
The token says how it holds the lock. --limit N or --shared, if given, must be the option the lock
was taken with (exit 125 otherwise).";

/// Take turns through Redis: run a command while holding a lock that every machine sharing the
/// Redis respects.
#[derive(Debug, Parser)]
#[command(
    name = "rlock",
    version,
    after_help = EXAMPLES,
    max_term_width = 100,
    long_about = DESCRIPTION
)]
pub struct Cli {
    #[command(flatten)]
    pub redis: RedisOptions,

    #[command(flatten)]
    pub output: OutputOptions,

    #[command(subcommand)]
    pub command: Command,
}

// Which Redis holds the locks, and how to reach it: taken by every subcommand that talks to Redis,
// before or after its name (`completions` and `man` hide them, see `command`). (Not a doc
// comment: on a flattened struct, clap would make it the subcommand's about text.)
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Redis options")]
pub struct RedisOptions {
    /// Redis server URL: redis://[USER:PASSWORD@]HOST[:PORT][/DB], rediss://... (TLS),
    /// unix:///PATH/TO/SOCKET, or redis+sentinel://[USER:PASSWORD@]HOST[:PORT]/SERVICE once per
    /// Sentinel. Several redis:// URLs: a quorum of independent masters
    #[arg(
        global = true,
        short = 'r',
        long = "redis",
        value_name = "URL",
        env = "RLOCK_REDIS",
        hide_env_values = true,
        value_delimiter = ',',
        default_value = "redis://127.0.0.1:6379"
    )]
    pub redis: Vec<String>,

    /// The --redis URLs are seed nodes of one Redis Cluster
    #[arg(long, global = true, env = "RLOCK_CLUSTER", value_parser = parse_flag)]
    pub cluster: bool,

    /// For rediss:// URLs: the CA certificates (PEM) to trust instead of the system's
    #[arg(long, global = true, value_name = "FILE", env = "RLOCK_TLS_CA")]
    pub tls_ca: Option<PathBuf>,

    /// For rediss:// URLs: a client certificate (PEM), for servers that require one
    #[arg(long, global = true, value_name = "FILE", env = "RLOCK_TLS_CERT", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,

    /// The private key (PEM) of --tls-cert
    #[arg(long, global = true, value_name = "FILE", env = "RLOCK_TLS_KEY", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,

    /// Take and refresh a lock only once N replicas of the master have it (Redis WAIT), so that
    /// a failover right after keeps it; a lock they do not acknowledge in time is not taken
    /// (exit 125), a refresh they do not acknowledge failed [default: 0, do not wait]
    #[arg(
        long,
        global = true,
        value_name = "N",
        env = "RLOCK_REPLICAS",
        default_value_t = 0,
        hide_default_value = true,
        value_parser = parse_replicas
    )]
    pub replicas: u32,

    /// Namespace of every key rlock writes ('' locks the bare key, as other Redis lock libraries do)
    #[arg(long, global = true, value_name = "P", env = "RLOCK_PREFIX", default_value = "rlock:")]
    pub prefix: String,
}

// How much rlock says on stderr: every subcommand takes them, before or after its name.
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Global options")]
pub struct OutputOptions {
    /// Say more on stderr: -v what happens to the lock, -vv every refresh and step of the wait,
    /// -vvv every call to Redis
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,

    /// Say nothing on stderr but errors
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub quiet: bool,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run a command while holding the lock KEY; exit with the command's status
    #[command(after_help = RUN_EXAMPLES, override_usage = RUN_USAGE)]
    Run(RunArgs),
    /// Take the lock and print its token, for scripts that span several commands
    #[command(mut_arg("ttl", |arg| arg.help(ACQUIRE_TTL)))]
    Acquire(AcquireArgs),
    /// Extend a lock you hold (exit 1 when it is not yours or gone)
    #[command(after_help = TOKEN_MODE)]
    Refresh(RefreshArgs),
    /// Release a lock you hold (exit 1 when it is not yours or gone)
    #[command(after_help = TOKEN_MODE)]
    Release(ReleaseArgs),
    /// Print the lock's remaining lifetime, a line per holder, longest first (exit 1 when free)
    Ttl(TtlArgs),
    /// Show who holds the lock (every holder), since when, its ttl and fence, and who waits, in
    /// the order they will be served (exit 1 when free)
    Status(StatusArgs),
    /// Force-release a lock someone else holds, an operator's tool (exit 1 when it was free)
    Break(BreakArgs),
    /// List the locks rlock holds now, a line per holder: name, holder, ttl, fence, waiting
    List(ListArgs),
    /// Show the lock's last holds, newest last: when, who, how long, how each ended (exit 1 when
    /// it has none)
    #[command(after_help = LOG_HELP)]
    Log(LogArgs),
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell)
    #[command(after_help = COMPLETION_HELP)]
    Completions(CompletionsArgs),
    /// Print the man page (roff): rlock man > rlock.1; man -l rlock.1
    Man,
}

/// The ids clap gives [`RedisOptions`]'s options (its field names).
pub const REDIS_IDS: [&str; 7] =
    ["redis", "cluster", "tls_ca", "tls_cert", "tls_key", "replicas", "prefix"];

/// The ids of [`OutputOptions`]'s options.
pub const OUTPUT_IDS: [&str; 2] = ["verbose", "quiet"];

/// The subcommands that do not talk to Redis: their help does not show the Redis options.
const WITHOUT_REDIS: [&str; 2] = ["completions", "man"];

/// rlock's command line, built: every subcommand has its copy of the global options, and those
/// of [`RedisOptions`] are hidden where they do nothing. `--help`, the completions and the man
/// page all come from this.
pub fn command() -> clap::Command {
    use clap::CommandFactory;

    let mut command = Cli::command();
    // Building copies the global options into each subcommand, where they can then be hidden.
    command.build();
    for name in WITHOUT_REDIS {
        command = command.mut_subcommand(name, |sub| {
            sub.mut_args(|arg| {
                let redis = REDIS_IDS.contains(&arg.get_id().as_str());
                if redis { arg.hide(true) } else { arg }
            })
        });
    }
    command
}

/// rlock's command line for the completion scripts: as [`command`], but `completions` and `man`
/// have no Redis options at all (the scripts would offer hidden ones too).
pub fn completion_command() -> clap::Command {
    use clap::CommandFactory;

    let mut command = Cli::command();
    let redis: Vec<clap::Arg> = command
        .get_arguments()
        .filter(|arg| REDIS_IDS.contains(&arg.get_id().as_str()))
        .map(|arg| arg.clone().global(false))
        .collect();
    // What building does with a global option, but for the subcommands that use Redis only.
    command = command.mut_args(|arg| {
        if REDIS_IDS.contains(&arg.get_id().as_str()) { arg.global(false) } else { arg }
    });
    command = command.mut_subcommands(|sub| {
        if WITHOUT_REDIS.contains(&sub.get_name()) { sub } else { sub.args(redis.clone()) }
    });
    command.build();
    command
}

/// Parses rlock's command line. A global option may come before the subcommand's name or after
/// it; given in both places, the one after it wins.
pub fn parse() -> Result<Cli, clap::Error> {
    parse_from(std::env::args_os())
}

/// [`parse`], for the given arguments (the first is the program's name).
pub fn parse_from<I, T>(args: I) -> Result<Cli, clap::Error>
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    use clap::FromArgMatches;

    let mut command = command();
    let matches = command.try_get_matches_from_mut(args)?;
    let mut cli = Cli::from_arg_matches(&matches).map_err(|err| err.format(&mut command))?;
    // `rlock run [OPTIONS] -- -name -- COMMAND`: the first `--` ends the options, so that a lock
    // name may start with '-'; then clap takes the second for the command's first word.
    if let Command::Run(run) = &mut cli.command
        && run.command.first().is_some_and(|word| word == "--")
    {
        run.command.remove(0);
    }
    // clap checks the conflict within one level only: -q before the subcommand, -v after it.
    if cli.output.quiet && cli.output.verbose > 0 {
        return Err(command.error(
            clap::error::ErrorKind::ArgumentConflict,
            "the argument '--quiet' cannot be used with '--verbose'",
        ));
    }
    Ok(cli)
}

/// `--cluster` and RLOCK_CLUSTER: yes/no, true/false, on/off, 1/0; set but empty (as CI systems
/// export unset variables) is no.
fn parse_flag(text: &str) -> Result<bool, String> {
    match text.trim().to_ascii_lowercase().as_str() {
        "" | "0" | "n" | "no" | "f" | "false" | "off" => Ok(false),
        "1" | "y" | "yes" | "t" | "true" | "on" => Ok(true),
        _ => Err(format!("'{text}' is not yes or no: give 1 or 0 (or leave it empty)")),
    }
}

const COMPLETION_HELP: &str = "\
Examples:
  rlock completions bash > ~/.local/share/bash-completion/completions/rlock
  rlock completions zsh > ~/.zfunc/_rlock      (with ~/.zfunc on $fpath)
  rlock completions fish > ~/.config/fish/completions/rlock.fish";

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell to complete for
    #[arg(value_name = "SHELL")]
    pub shell: clap_complete::Shell,
}

#[derive(Debug, Args)]
pub struct BreakArgs {
    #[command(flatten)]
    pub key: KeyArg,
}

#[derive(Debug, Args)]
pub struct KeyArg {
    /// Name of the lock (stored in Redis under PREFIX + KEY), without control characters. A KEY
    /// that starts with '-' goes after '--' (rlock ttl -- -KEY; rlock run -- -KEY -- COMMAND)
    #[arg(value_name = "KEY")]
    pub key: String,
}

// How to take a lock: lifetime and patience. (Not a doc comment: on a flattened struct, clap
// would make it the subcommand's about text, see `Command`.)
#[derive(Debug, Args)]
pub struct TakeArgs {
    /// Lifetime of the lock; rlock refreshes it every ttl/3 while it holds it
    #[arg(short, long, value_name = "DURATION", default_value = "30s", value_parser = duration::parse_ttl)]
    pub ttl: Duration,

    /// Wait at most this long for a held lock [default: wait forever]
    #[arg(short, long, value_name = "DURATION", value_parser = duration::parse)]
    pub wait: Option<Duration>,

    /// Do not wait: give up at once if the lock is held
    #[arg(short = 'n', long, conflicts_with = "wait")]
    pub no_wait: bool,

    /// Exit with this code when the lock is not obtained
    #[arg(short = 'E', long, value_name = "N", default_value_t = crate::exit::CONFLICT)]
    pub conflict_exit_code: u8,

    #[command(flatten)]
    pub mode: ModeArgs,

    /// Name this hold, as status, list and log show it (a CI job's URL, say): at most 200
    /// characters, without control characters
    #[arg(long, value_name = "TEXT", env = "RLOCK_LABEL", value_parser = parse_label)]
    pub label: Option<String>,

    /// While waiting with stderr not a terminal, say who holds the lock, for how long, and our
    /// place in the queue when the wait starts and then this often (at least 1s); 0: never, nor
    /// the waiting line on a terminal [default: 30s]
    #[arg(long, value_name = "DURATION", value_parser = duration::parse_progress)]
    pub progress: Option<Duration>,
}

/// The longest `--label`, in characters.
const MAX_LABEL_CHARS: usize = 200;

/// `--label` and RLOCK_LABEL: shown to anyone who can read the Redis, on one line; set but empty
/// (as CI systems export unset variables) is no label.
fn parse_label(text: &str) -> Result<String, String> {
    if let Some(c) = text.chars().find(|c| c.is_control()) {
        return Err(format!(
            "the label holds a control character ({c:?}): give one line of text without tabs or \
             escapes"
        ));
    }
    let count = text.chars().count();
    if count > MAX_LABEL_CHARS {
        return Err(format!(
            "the label is {count} characters long: give at most {MAX_LABEL_CHARS} (a URL or a job name)"
        ));
    }
    Ok(text.trim().to_owned())
}

// How many may hold the lock at once.
#[derive(Debug, Clone, Copy, Args)]
pub struct ModeArgs {
    /// Let at most N hold the lock at once (a semaphore); every rlock using the lock must give the
    /// same N [default: 1, exclusive]
    #[arg(long, value_name = "N", value_parser = parse_limit)]
    pub limit: Option<u32>,

    /// Take a shared (read) lock: shared holders run together, a plain (exclusive) one alone;
    /// arrivals are served in order, so a waiting exclusive one is not starved
    #[arg(short, long, conflicts_with = "limit")]
    pub shared: bool,
}

impl ModeArgs {
    /// The mode asked for (exclusive when neither option is given).
    pub fn mode(&self) -> Mode {
        Mode::from_options(self.limit, self.shared)
    }

    /// The mode asked for, or `None` when neither option is given.
    pub fn given(&self) -> Option<Mode> {
        (self.limit.is_some() || self.shared).then(|| self.mode())
    }
}

#[derive(Debug, Args)]
pub struct RunArgs {
    #[command(flatten)]
    pub key: KeyArg,

    #[command(flatten)]
    pub take: TakeArgs,

    /// Time between SIGTERM and SIGKILL when rlock must stop the command (lock lost or not
    /// refreshed in time); both come before the lock can lapse [default: 10s, or a third of a
    /// shorter ttl]
    #[arg(long, value_name = "DURATION", value_parser = duration::parse)]
    pub kill_grace: Option<Duration>,

    /// Stop the command once it has run this long (counted from its start, not the wait):
    /// SIGTERM to its group, SIGKILL after --kill-grace; the lock is released and rlock exits
    /// 123, whatever the command's status [default: no limit]
    #[arg(long, value_name = "DURATION", value_parser = duration::parse_timeout)]
    pub timeout: Option<Duration>,

    /// The command and its arguments, after --
    #[arg(
        value_name = "COMMAND",
        trailing_var_arg = true,
        allow_hyphen_values = true,
        value_hint = clap::ValueHint::CommandWithArguments
    )]
    pub command: Vec<OsString>,
}

#[derive(Debug, Args)]
pub struct AcquireArgs {
    #[command(flatten)]
    pub key: KeyArg,

    #[command(flatten)]
    pub take: TakeArgs,
}

#[derive(Debug, Args)]
pub struct TokenArgs {
    #[command(flatten)]
    pub key: KeyArg,

    /// The token 'rlock acquire' printed
    #[arg(value_name = "TOKEN")]
    pub token: String,
}

// For a lock taken with --limit or --shared: the same option, checked against how the token
// holds it. Without them, whichever way the token holds it.
#[derive(Debug, Args)]
pub struct ReleaseArgs {
    #[command(flatten)]
    pub lock: TokenArgs,

    #[command(flatten)]
    pub mode: ModeArgs,
}

#[derive(Debug, Args)]
pub struct RefreshArgs {
    #[command(flatten)]
    pub lock: TokenArgs,

    #[command(flatten)]
    pub mode: ModeArgs,

    /// New lifetime of the lock, from now
    #[arg(short, long, value_name = "DURATION", default_value = "30s", value_parser = duration::parse_ttl)]
    pub ttl: Duration,
}

#[derive(Debug, Args)]
pub struct TtlArgs {
    #[command(flatten)]
    pub key: KeyArg,

    /// Print whole milliseconds (-1 for a lock without expiry)
    #[arg(long)]
    pub ms: bool,

    /// Print one JSON object, as status --json prints it
    #[arg(long, conflicts_with = "ms")]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct StatusArgs {
    #[command(flatten)]
    pub key: KeyArg,

    /// Print one JSON object
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct ListArgs {
    /// Only locks whose whole name matches this glob: * any text, ? one character, [abc] one of
    /// them, [a-z] one in the range, [!abc] or [^abc] one not among them, \ the next character
    /// as it is (\*, \[); { and } stand for themselves. A name without these is that one lock
    /// (list deploy); quote a pattern from the shell (list 'deploy-*')
    #[arg(value_name = "PATTERN", default_value = "*", value_parser = parse_pattern)]
    pub pattern: Glob,

    /// Print one JSON object: {"version": 1, "locks": [...]}, each lock as status --json prints it
    #[arg(long)]
    pub json: bool,
}

/// `list PATTERN`: a glob over lock names.
fn parse_pattern(text: &str) -> Result<Glob, String> {
    Glob::new(text).map_err(|err| err.to_string())
}

const LOG_HELP: &str = "\
Each line: when the hold began, host, pid, user, program, label, fence, how long it lasted, how
it ended (released, stopped by rlock, lost, broken; still holding) and the command's exit status.
rlock keeps about the last 500 holds of each lock, for 7 days after the last one. Locks taken by
other tools have no history.";

#[derive(Debug, Args)]
pub struct LogArgs {
    #[command(flatten)]
    pub key: KeyArg,

    /// How many holds to show, the newest
    #[arg(short = 'n', long = "count", value_name = "N", default_value = "20", value_parser = parse_count)]
    pub count: usize,

    /// Print one JSON object, its holds in "holds"
    #[arg(long)]
    pub json: bool,
}

/// `log -n N`: a whole number, 1 or more.
fn parse_count(text: &str) -> Result<usize, String> {
    match text.trim().parse::<usize>() {
        Ok(0) => Err("0 would show nothing: give how many holds to show, 1 or more".into()),
        Ok(count) => Ok(count),
        Err(_) => {
            Err(format!("'{text}' is not a whole number: give how many holds to show, e.g. -n 50"))
        }
    }
}

/// `--limit N`: a whole number, 1 or more.
fn parse_limit(text: &str) -> Result<u32, String> {
    match text.trim().parse::<u32>() {
        Ok(0) => Err("0 would let nobody in: give 1 or more (1 is an exclusive lock)".into()),
        Ok(limit) => Ok(limit),
        Err(_) => Err(format!(
            "'{text}' is not a whole number: give how many may hold the lock at once, e.g. --limit 3"
        )),
    }
}

/// The most replicas `--replicas` may ask for: more than any deployment has.
const MOST_REPLICAS: u32 = 100;

/// `--replicas N` and RLOCK_REPLICAS: a whole number, 0 (do not wait) to [`MOST_REPLICAS`]; set
/// but empty (as CI systems export unset variables) is 0.
fn parse_replicas(text: &str) -> Result<u32, String> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(0);
    }
    match text.parse::<u32>() {
        Ok(replicas) if replicas <= MOST_REPLICAS => Ok(replicas),
        Ok(_) => Err(format!(
            "{text} replicas is more than any Redis deployment has: give how many replicas must \
             acknowledge the lock, at most {MOST_REPLICAS} (0 waits for none)"
        )),
        Err(_) => Err(format!(
            "'{text}' is not a whole number: give how many replicas must acknowledge the lock, \
             e.g. --replicas 1 (0 waits for none)"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn definitions_are_consistent() {
        Cli::command().debug_assert();
    }

    fn parsed(args: &[&str]) -> Cli {
        parse_from(std::iter::once("rlock").chain(args.iter().copied())).unwrap()
    }

    #[test]
    fn global_options_go_before_or_after_the_subcommand() {
        let before = parsed(&["-r", "redis://a", "--prefix", "p:", "run", "k", "--", "true"]);
        assert_eq!(before.redis.redis, ["redis://a"]);
        assert_eq!(before.redis.prefix, "p:");
        let after = parsed(&["ttl", "--cluster", "-r", "redis://b,redis://c", "k"]);
        assert_eq!(after.redis.redis, ["redis://b", "redis://c"]);
        assert!(after.redis.cluster);
        assert_eq!(after.redis.prefix, "rlock:");
        // Given in both places, the one after the subcommand wins.
        let both = parsed(&["-r", "redis://a", "-v", "status", "-vv", "-r", "redis://b", "k"]);
        assert_eq!(both.redis.redis, ["redis://b"]);
        assert_eq!(both.output.verbose, 2);
        assert_eq!(parsed(&["-vv", "status", "k"]).output.verbose, 2);
        // The TLS files, and the options of the subcommands that do not use Redis.
        let tls = parsed(&["--tls-cert", "c.pem", "--tls-key", "k.pem", "list", "--tls-ca", "a"]);
        assert_eq!(tls.redis.tls_cert, Some(PathBuf::from("c.pem")));
        assert_eq!(tls.redis.tls_key, Some(PathBuf::from("k.pem")));
        assert_eq!(tls.redis.tls_ca, Some(PathBuf::from("a")));
        assert!(parsed(&["man", "-q"]).output.quiet);
        assert_eq!(parsed(&["ttl", "k"]).redis.replicas, 0);
        assert_eq!(parsed(&["--replicas", "2", "ttl", "k"]).redis.replicas, 2);
        assert_eq!(parsed(&["ttl", "k", "--replicas", " 1 "]).redis.replicas, 1);
        assert!(parsed(&["-q", "completions", "bash"]).output.quiet);
    }

    #[test]
    fn a_lock_name_may_start_with_a_dash_after_a_double_dash() {
        let run = |args: &[&str]| match parsed(args).command {
            Command::Run(run) => (run.key.key, run.command),
            other => panic!("{other:?}"),
        };
        let (key, command) = run(&["run", "-n", "--", "-name", "--", "echo", "-x"]);
        assert_eq!(key, "-name");
        assert_eq!(command, ["echo", "-x"]);
        // One '--' as before: the command follows it.
        assert_eq!(run(&["run", "k", "--", "ls", "--", "-l"]).1, ["ls", "--", "-l"]);
        match parsed(&["ttl", "--", "-name"]).command {
            Command::Ttl(ttl) => assert_eq!(ttl.key.key, "-name"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn s_is_short_for_shared() {
        let mode = |args: &[&str]| match parsed(args).command {
            Command::Run(run) => run.take.mode.mode(),
            Command::Release(release) => release.mode.mode(),
            other => panic!("{other:?}"),
        };
        assert_eq!(mode(&["run", "-s", "db", "--", "true"]), Mode::Shared);
        assert_eq!(mode(&["run", "-ns", "db", "--", "true"]), Mode::Shared);
        assert_eq!(mode(&["release", "-s", "db", "token"]), Mode::Shared);
        assert_eq!(mode(&["run", "db", "--", "true"]), Mode::Exclusive);
        // Still not with --limit.
        assert!(parse_from(["rlock", "run", "-s", "--limit", "2", "db", "--", "true"]).is_err());
    }

    #[test]
    fn replicas_is_a_small_whole_number() {
        assert_eq!(parse_replicas(""), Ok(0));
        assert_eq!(parse_replicas("0"), Ok(0));
        assert_eq!(parse_replicas("100"), Ok(100));
        let err = parse_replicas("101").unwrap_err();
        assert!(err.contains("at most 100"), "{err}");
        for bad in ["-1", "one", "1.5"] {
            let err = parse_replicas(bad).unwrap_err();
            assert!(err.contains("is not a whole number"), "{err}");
        }
        let err = parse_from(["rlock", "--replicas", "x", "ttl", "k"]).map(|_| ()).unwrap_err();
        assert_eq!(err.kind(), clap::error::ErrorKind::ValueValidation);
    }

    #[test]
    fn a_label_is_one_short_line() {
        let label = |args: &[&str]| match parsed(args).command {
            Command::Run(run) => run.take.label,
            Command::Acquire(acquire) => acquire.take.label,
            other => panic!("{other:?}"),
        };
        assert_eq!(label(&["run", "--label", " ci #7 ", "k", "--", "true"]).unwrap(), "ci #7");
        assert_eq!(label(&["acquire", "k"]), None);
        for bad in ["two\nlines", "tab\there", &"x".repeat(201)] {
            let err = parse_label(bad).unwrap_err();
            assert!(err.contains("control character") || err.contains("at most 200"), "{err}");
        }
        assert_eq!(parse_label(&"é".repeat(200)).unwrap().chars().count(), 200);
    }

    #[test]
    fn a_timeout_is_a_duration_above_zero() {
        let timeout = |args: &[&str]| match parsed(args).command {
            Command::Run(run) => run.timeout,
            other => panic!("{other:?}"),
        };
        assert_eq!(timeout(&["run", "--timeout", "90s", "k", "--", "true"]), Some(90 * SECOND));
        assert_eq!(timeout(&["run", "k", "--", "true"]), None);
        for bad in ["0s", "soon", "5"] {
            let err = parse_from(["rlock", "run", "--timeout", bad, "k", "--", "true"]);
            let kind = err.map(|_| ()).unwrap_err().kind();
            assert_eq!(kind, clap::error::ErrorKind::ValueValidation, "{bad}");
        }
    }

    const SECOND: Duration = Duration::from_secs(1);

    #[test]
    fn quiet_and_verbose_conflict_wherever_they_are() {
        for args in [&["-q", "ttl", "-v", "k"][..], &["-v", "ttl", "-q", "k"], &["ttl", "-qv", "k"]]
        {
            let err = parse_from(std::iter::once("rlock").chain(args.iter().copied()));
            let kind = err.map(|_| ()).unwrap_err().kind();
            assert_eq!(kind, clap::error::ErrorKind::ArgumentConflict, "{args:?}");
        }
    }

    #[test]
    fn the_log_help_says_what_the_history_keeps() {
        let holds = crate::lock::history::MAX_ENTRIES / 2;
        let days = crate::timing::HISTORY_LIFETIME.as_secs() / 86_400;
        assert!(LOG_HELP.contains(&format!("last {holds} holds")), "{LOG_HELP}");
        assert!(LOG_HELP.contains(&format!("for {days} days")), "{LOG_HELP}");
        let cli = parse_from(["rlock", "log", "-n", "5", "--json", "deploy"]).unwrap();
        let Command::Log(log) = cli.command else { panic!("not log") };
        assert_eq!((log.key.key.as_str(), log.count, log.json), ("deploy", 5, true));
        let cli = parse_from(["rlock", "log", "deploy"]).unwrap();
        let Command::Log(log) = cli.command else { panic!("not log") };
        assert_eq!(log.count, 20);
        assert!(parse_from(["rlock", "log", "-n", "0", "deploy"]).is_err());
    }
}
