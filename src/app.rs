//! Carrying out a parsed command line: one thin function per subcommand.

use std::collections::BTreeMap;

use anyhow::{Result, bail};

use crate::cli::{
    AcquireArgs, Cli, Command, KeyArg, ListArgs, LogArgs, RedisOptions, RefreshArgs, ReleaseArgs,
    StatusArgs, TakeArgs, TtlArgs,
};
use crate::exit::Exit;
use crate::generate;
use crate::lock::quorum;
use crate::lock::{Described, Holder, Lock, LockKeys, Token};
use crate::redis::{self, Endpoint, TlsFiles};
use crate::report::note::Note;
use crate::report::{self, views};
use crate::run::wait::{self, Patience};
use crate::run::{self, RunRequest, Taken};
use crate::timing::{self, REDIS_TIMEOUT};

/// Runs rlock with this process's arguments and environment, and says how it exits: the
/// whole `rlock` binary, but for the exit.
pub fn main() -> Exit {
    if crate::process::guardian::is_me() {
        crate::process::guardian::serve();
    }
    // Every URL that could carry a password, so that no message shows one.
    let mut urls: Vec<String> =
        std::env::args_os().map(|arg| arg.to_string_lossy().into_owned()).collect();
    urls.extend(std::env::var("RLOCK_REDIS").ok());
    let cli = match crate::cli::parse() {
        Ok(cli) => cli,
        Err(err) => {
            report::init(0, false, &urls);
            return report::usage(&err);
        }
    };
    report::init(cli.output.verbose, cli.output.quiet, &urls);
    let exit = match execute(cli) {
        Ok(exit) => exit,
        Err(err) => {
            report::error(format_args!("{err:#}"));
            Exit::Failure
        }
    };
    report::flush(timing::STDERR_FLUSH);
    exit
}

/// Does what the command line asks and says how rlock should exit. Errors mean exit 125.
pub fn execute(cli: Cli) -> Result<Exit> {
    let options = &cli.redis;
    // Made only by the subcommands that talk to Redis (not completions and man).
    let servers = || servers(options);
    let prefix = options.prefix.as_str();
    let replicas = options.replicas;
    match cli.command {
        Command::Run(args) => {
            let request = RunRequest {
                keys: LockKeys::new(prefix, &args.key.key)?,
                ttl: args.take.ttl,
                mode: args.take.mode.mode(),
                patience: patience(&args.take),
                conflict_exit: args.take.conflict_exit_code,
                kill_grace: timing::kill_grace(args.take.ttl, args.kill_grace)
                    .map_err(anyhow::Error::msg)?,
                timeout: args.timeout,
                replicas,
                progress: progress(&args.take),
                label: args.take.label.unwrap_or_default(),
                command: args.command,
            };
            run::run(servers()?, request)
        }
        Command::Acquire(args) => acquire(servers()?, prefix, replicas, args),
        Command::Refresh(args) => refresh(servers()?, prefix, replicas, args),
        Command::Release(args) => release(servers()?, prefix, args),
        Command::Ttl(args) => ttl(servers()?, prefix, args),
        Command::Status(args) => status(servers()?, prefix, args),
        Command::List(args) => list(servers()?, prefix, args),
        Command::Log(args) => log(servers()?, prefix, args),
        Command::Break(args) => force_release(servers()?, prefix, args.key),
        Command::Completions(args) => {
            report::out_raw(&generate::completions(args.shell))?;
            Ok(Exit::Success)
        }
        Command::Man => {
            report::out_raw(&generate::man_page()?)?;
            Ok(Exit::Success)
        }
    }
}

/// The servers the Redis options name.
fn servers(options: &RedisOptions) -> Result<Vec<Endpoint>> {
    let tls = TlsFiles {
        ca: options.tls_ca.clone(),
        cert: options.tls_cert.clone(),
        key: options.tls_key.clone(),
    };
    redis::servers(&options.redis, &tls, options.cluster, REDIS_TIMEOUT)
}

fn lock(servers: Vec<Endpoint>, prefix: &str, key: &KeyArg) -> Result<Lock> {
    Ok(Lock::new(servers, LockKeys::new(prefix, &key.key)?, REDIS_TIMEOUT))
}

fn patience(take: &TakeArgs) -> Patience {
    match (take.no_wait, take.wait) {
        (true, _) => Patience::NoWait,
        // A wait too long to represent is a wait forever.
        (false, Some(wait)) => Patience::Until(timing::after(wait)),
        (false, None) => Patience::Until(None),
    }
}

/// How often a wait off a terminal says how it goes (`None`: never, `--progress 0`).
fn progress(take: &TakeArgs) -> Option<std::time::Duration> {
    Some(take.progress.unwrap_or(timing::PROGRESS_EVERY)).filter(|every| !every.is_zero())
}

fn acquire(servers: Vec<Endpoint>, prefix: &str, replicas: u32, args: AcquireArgs) -> Result<Exit> {
    let lock = lock(servers, prefix, &args.key)?
        .with_mode(Some(args.take.mode.mode()))
        .with_replicas(replicas);
    let token = Token::generate();
    let ttl = args.take.ttl;
    let request = wait::Request {
        token: token.clone(),
        ttl,
        holder: Holder::for_parent().labelled(args.take.label.as_deref().unwrap_or_default()),
        patience: patience(&args.take),
        grace: std::time::Duration::ZERO,
        progress: progress(&args.take),
    };
    let name = args.key.key;
    match run::take(lock, request)? {
        Taken::Acquired { fence, lease, mut lock } => {
            // A lock handed over while we waited starts with a short lifetime: give it the full ttl
            // before the script relies on it.
            if lease.lifetime() < ttl && !lock.refresh(&token, ttl)? {
                bail!(
                    "'{name}' was handed to us but lapsed before it could be extended: try again"
                );
            }
            // A token nobody can read is a lock nobody can release: give it back.
            if let Err(err) = report::out_or_fail(token.secret()) {
                let released = lock.release(&token).map_or(
                    "could not release it; it lapses \
                     within its ttl",
                    |_| "released it again",
                );
                bail!("cannot hand the token over on standard output ({err}): {released}");
            }
            Note::Acquired { name, fence, ttl }.show();
            Ok(Exit::Success)
        }
        Taken::GaveUp(info) => {
            Note::GaveUp { name, info }.show();
            Ok(Exit::Conflict(args.take.conflict_exit_code))
        }
        Taken::Interrupted(signal) => Ok(Exit::Signal(signal)),
    }
}

fn refresh(servers: Vec<Endpoint>, prefix: &str, replicas: u32, args: RefreshArgs) -> Result<Exit> {
    let mut lock =
        lock(servers, prefix, &args.lock.key)?.with_mode(args.mode.given()).with_replicas(replicas);
    let token = Token::given(&args.lock.token)?;
    if lock.refresh(&token, args.ttl)? { Ok(Exit::Success) } else { not_yours(&args.lock.key.key) }
}

fn release(servers: Vec<Endpoint>, prefix: &str, args: ReleaseArgs) -> Result<Exit> {
    let mut lock = lock(servers, prefix, &args.lock.key)?.with_mode(args.mode.given());
    let token = Token::given(&args.lock.token)?;
    if lock.release(&token)? { Ok(Exit::Success) } else { not_yours(&args.lock.key.key) }
}

fn not_yours(name: &str) -> Result<Exit> {
    report::notice(format_args!(
        "'{name}' is not held with that token: it expired, was released or broken, or belongs to someone else"
    ));
    Ok(Exit::NotHeld)
}

fn ttl(servers: Vec<Endpoint>, prefix: &str, args: TtlArgs) -> Result<Exit> {
    if args.json {
        return status(servers, prefix, StatusArgs { key: args.key, json: true });
    }
    let mut lock = lock(servers, prefix, &args.key)?;
    let Some(info) = lock.inspect()? else {
        report::notice(format_args!("'{}' is free", args.key.key));
        return Ok(Exit::NotHeld);
    };
    for line in views::ttl_lines(&info, args.ms) {
        report::out(line)?;
    }
    Ok(Exit::Success)
}

fn status(servers: Vec<Endpoint>, prefix: &str, args: StatusArgs) -> Result<Exit> {
    let mut lock = lock(servers, prefix, &args.key)?;
    let Described { info, queue } = lock.describe()?;
    if args.json {
        report::out(views::status_json(lock.keys(), info.as_ref(), &queue))?;
    } else {
        for line in views::status_lines(lock.keys(), info.as_ref(), &queue) {
            report::out(line)?;
        }
    }
    Ok(if info.is_some() { Exit::Success } else { Exit::NotHeld })
}

/// `log`: the lock's last holds, newest last; exit 1 when its history has none.
fn log(servers: Vec<Endpoint>, prefix: &str, args: LogArgs) -> Result<Exit> {
    let mut lock = lock(servers, prefix, &args.key)?;
    let info = lock.inspect()?;
    let holding: Vec<String> =
        info.iter().flat_map(|info| info.holders.iter().map(|holder| holder.id.clone())).collect();
    let mut holds = lock.history(&holding)?;
    holds.drain(..holds.len().saturating_sub(args.count));
    // Held now, but by no holder rlock recorded: another tool's lock.
    let foreign = info.as_ref().is_some_and(|info| info.holders.is_empty());
    if args.json {
        report::out(report::history::log_json(lock.keys(), &holds))?;
    } else {
        for line in report::history::log_lines(&holds, std::time::SystemTime::now()) {
            report::out(line)?;
        }
    }
    let name = &args.key.key;
    match (holds.is_empty(), foreign) {
        (true, true) => report::notice(format_args!(
            "no history for '{name}': it is held now by a tool other than rlock, and locks taken \
             by other tools have none"
        )),
        (true, false) => report::notice(format_args!(
            "no history for '{name}': rlock has not taken it in the last {} days (locks taken by \
             other tools have none)",
            timing::HISTORY_LIFETIME.as_secs() / 86_400
        )),
        (false, true) => report::notice(format_args!(
            "'{name}' is held now by a tool other than rlock, which leaves no history: the holds \
             above are rlock's"
        )),
        (false, false) => {}
    }
    if holds.is_empty() {
        return Ok(Exit::NotHeld);
    }
    Ok(Exit::Success)
}

/// `list`: the locks held now whose name matches the pattern. Every lock rlock holds has a
/// holder record, `{PREFIX NAME}}holder` (or `PREFIX NAME}}holder` for a name with a hash tag):
/// one SCAN finds those under the prefix on every server, the name is read back from each and
/// matched against the pattern here, and each lock is then read like `status` reads it. (A free
/// lock is not listed, even while waiters are about to take it: it has no holder record, and its
/// first waiter takes it at its next look.)
fn list(servers: Vec<Endpoint>, prefix: &str, args: ListArgs) -> Result<Exit> {
    // One pass finds both forms under the prefix, whatever the name; the name is matched below,
    // against the whole of it (the pattern never goes to Redis, whose MATCH would let it match
    // across the prefix, the braces and the suffix).
    let pattern = format!("*{}*}}}}holder", escape_glob(prefix));
    // In quorum mode a minority of servers may be away: their locks show through the others.
    let n = servers.len();
    let timeout = timing::per_server(n, REDIS_TIMEOUT);
    let mut found = BTreeMap::new();
    let (mut answered, mut failures) = (0, Vec::new());
    for server in &servers {
        let scanned = server.scan_targets(timeout).and_then(|targets| {
            targets.iter().map(|target| target.scan(&pattern, "hash", timeout)).collect()
        });
        let keys: Vec<Vec<String>> = match scanned {
            Ok(keys) => keys,
            Err(err) if n > 1 => {
                failures.push(format!("{err:#}"));
                continue;
            }
            Err(err) => return Err(err),
        };
        answered += 1;
        for key in keys.iter().flatten() {
            if let Some(keys) = lock_of_holder_record(prefix, key)
                && args.pattern.matches(&keys.name)
            {
                found.insert(keys.lock.clone(), keys);
            }
        }
    }
    if !quorum::enough_answered(answered, n) {
        let majority = quorum::majority(n);
        return Err(quorum::too_few_answered(answered, n, majority, &failures.join("; ")));
    }
    let mut held = Vec::new();
    for keys in found.into_values() {
        let mut lock = Lock::new(servers.clone(), keys.clone(), REDIS_TIMEOUT);
        let Described { info, queue } = lock.describe()?;
        if let Some(info) = info.filter(|info| !info.holders.is_empty()) {
            held.push((keys, info, queue));
        }
    }
    if args.json {
        let locks = held
            .iter()
            .map(|(keys, info, queue)| views::status_json(keys, Some(info), queue))
            .collect();
        report::out(views::list_json(locks))?;
        return Ok(Exit::Success);
    }
    for (keys, info, _) in &held {
        for line in views::list_lines(keys, info) {
            report::out(line)?;
        }
    }
    Ok(Exit::Success)
}

/// The lock whose holder record is `key` (not a waiter's record, say), if any.
fn lock_of_holder_record(prefix: &str, key: &str) -> Option<LockKeys> {
    let tagged = key.strip_prefix('{').and_then(|key| key.strip_suffix("}}holder"));
    let plain = key.strip_suffix("}}holder");
    tagged.into_iter().chain(plain).find_map(|lock| {
        lock.strip_prefix(prefix)
            .and_then(|name| LockKeys::new(prefix, name).ok())
            .filter(|keys| keys.holder == key)
    })
}

/// `text` with the characters SCAN's MATCH treats specially escaped.
fn escape_glob(text: &str) -> String {
    text.chars()
        .flat_map(|c| match c {
            '*' | '?' | '[' | ']' | '\\' => vec!['\\', c],
            _ => vec![c],
        })
        .collect()
}

fn force_release(servers: Vec<Endpoint>, prefix: &str, args: KeyArg) -> Result<Exit> {
    let mut lock = lock(servers, prefix, &args)?;
    // Who held it is only for the message; the break itself is one atomic script.
    let holders = lock.inspect()?.map(|info| info.holders).unwrap_or_default();
    if lock.force_release()? {
        let from = match holders.as_slice() {
            [] => String::new(),
            [holder] => format!(" from {}", holder.short()),
            many => format!(" from {} holders", many.len()),
        };
        report::notice(format_args!("broke '{}'{from}", args.key));
        Ok(Exit::Success)
    } else {
        report::notice(format_args!("'{}' was free", args.key));
        Ok(Exit::NotHeld)
    }
}
