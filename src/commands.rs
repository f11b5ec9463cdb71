//! Carrying out a parsed command line: one function per subcommand.

use std::collections::BTreeMap;
use std::time::SystemTime;

use anyhow::{Result, bail};
use serde_json::json;

use crate::cli::{
    AcquireArgs, Cli, Command, KeyArg, ListArgs, RefreshArgs, ReleaseArgs, StatusArgs, TakeArgs,
    TtlArgs,
};
use crate::duration;
use crate::endpoint::{self, Endpoint, TlsFiles};
use crate::exit_code::Exit;
use crate::generate;
use crate::holder::Holder;
use crate::keys::LockKeys;
use crate::lock::{LockClient, LockInfo, Token, millis};
use crate::mode::Mode;
use crate::quorum;
use crate::run::{self, REDIS_TIMEOUT, RunRequest};
use crate::sentinel::{self, Sentinels};
use crate::ui;
use crate::wait::{self, Outcome, Patience};

/// Does what the command line asks and says how rlock should exit. Errors mean exit 125.
pub fn execute(cli: Cli) -> Result<Exit> {
    ui::set_level(cli.global.verbose, cli.global.quiet);
    let tls = TlsFiles {
        ca: cli.global.tls_ca.clone(),
        cert: cli.global.tls_cert.clone(),
        key: cli.global.tls_key.clone(),
    };
    // Made only by the subcommands that talk to Redis (not completions and man).
    let endpoint = || endpoint(&cli.global.redis, &tls, cli.global.cluster);
    let prefix = cli.global.prefix.as_str();
    match cli.command {
        Command::Run(args) => {
            let request = RunRequest {
                keys: LockKeys::new(prefix, &args.key.key)?,
                ttl: args.take.ttl,
                mode: args.take.mode.mode(),
                patience: patience(&args.take),
                conflict_exit: args.take.conflict_exit_code,
                kill_grace: args.kill_grace,
                command: args.command,
            };
            run::run(endpoint()?, request)
        }
        Command::Acquire(args) => acquire(endpoint()?, prefix, args),
        Command::Refresh(args) => refresh(endpoint()?, prefix, args),
        Command::Release(args) => release(endpoint()?, prefix, args),
        Command::Ttl(args) => ttl(endpoint()?, prefix, args),
        Command::Status(args) => status(endpoint()?, prefix, args),
        Command::List(args) => list(endpoint()?, prefix, args),
        Command::Break(args) => force_release(endpoint()?, prefix, args.key),
        Command::Completions(args) => {
            ui::out_raw(&generate::completions(args.shell))?;
            Ok(Exit::Success)
        }
        Command::Man(_) => {
            ui::out_raw(&generate::man_page()?)?;
            Ok(Exit::Success)
        }
    }
}

/// The Redis to use: one server, the Sentinels of one, a Redis Cluster, or several independent
/// servers (a quorum).
fn endpoint(urls: &[String], tls: &TlsFiles, cluster: bool) -> Result<Endpoint> {
    let urls: Vec<&String> = urls.iter().filter(|url| !url.trim().is_empty()).collect();
    if cluster && !urls.is_empty() {
        let seeds: Vec<&str> = urls.iter().map(|url| url.trim()).collect();
        return Endpoint::cluster(&seeds, tls, REDIS_TIMEOUT);
    }
    match urls.as_slice() {
        [] => {
            bail!("no Redis URL: give one with --redis or RLOCK_REDIS, e.g. redis://127.0.0.1:6379")
        }
        urls if urls.iter().any(|url| sentinel::is_sentinel_url(url.trim())) => {
            let urls: Vec<&str> = urls.iter().map(|url| url.trim()).collect();
            if let Some(other) = urls.iter().find(|url| !sentinel::is_sentinel_url(url)) {
                bail!(
                    "'{}' is not a redis+sentinel:// URL, but others are: give either the \
                     Sentinels of one deployment or one Redis server",
                    endpoint::redact(other)
                );
            }
            Ok(Endpoint::sentinel(Sentinels::parse(&urls, tls)?))
        }
        [url] => Endpoint::parse(url.trim(), tls),
        urls => {
            let members = urls
                .iter()
                .map(|url| Endpoint::parse(url.trim(), tls))
                .collect::<Result<Vec<_>>>()?;
            Ok(Endpoint::quorum(members))
        }
    }
}

fn client(endpoint: Endpoint, prefix: &str, key: &KeyArg) -> Result<LockClient> {
    Ok(LockClient::new(endpoint, LockKeys::new(prefix, &key.key)?, REDIS_TIMEOUT))
}

fn patience(take: &TakeArgs) -> Patience {
    match (take.no_wait, take.wait) {
        (true, _) => Patience::NoWait,
        // A wait too long to represent is a wait forever.
        (false, Some(wait)) => Patience::Until(duration::deadline(wait)),
        (false, None) => Patience::Until(None),
    }
}

fn acquire(endpoint: Endpoint, prefix: &str, args: AcquireArgs) -> Result<Exit> {
    let mut client = client(endpoint, prefix, &args.key)?.with_mode(Some(args.take.mode.mode()));
    let token = Token::generate();
    let holder = Holder::for_parent();
    // Ctrl-C while waiting leaves the queue before rlock exits.
    let (events, inbox) = std::sync::mpsc::channel();
    let (_signals, nudger) = wait::catch_signals(&events, None)?;
    let patience = patience(&args.take);
    let take = wait::Request { token: &token, ttl: args.take.ttl, holder: &holder, patience };
    let outcome = wait::acquire(&mut client, &take, &inbox, &nudger)?;
    match outcome {
        Outcome::Acquired { fence, lifetime, .. } => {
            // A lock handed over while we waited starts with a short lifetime: give it the full ttl
            // before the script relies on it.
            if lifetime < args.take.ttl && !client.refresh(&token, args.take.ttl)? {
                bail!(
                    "'{}' was handed to us but lapsed before it could be extended: try again",
                    args.key.key
                );
            }
            ui::detail(format_args!("acquired '{}' (fence {fence})", args.key.key));
            ui::out(token.secret())?;
            Ok(Exit::Success)
        }
        Outcome::GaveUp => {
            wait::report_gave_up(&mut client);
            Ok(Exit::Conflict(args.take.conflict_exit_code))
        }
        Outcome::Interrupted(signal) => Ok(Exit::Signal(signal)),
    }
}

fn refresh(endpoint: Endpoint, prefix: &str, args: RefreshArgs) -> Result<Exit> {
    let mut client = client(endpoint, prefix, &args.lock.key)?.with_mode(args.mode.given());
    let token = Token::given(&args.lock.token)?;
    if client.refresh(&token, args.ttl)? {
        Ok(Exit::Success)
    } else {
        not_yours(&args.lock.key.key)
    }
}

fn release(endpoint: Endpoint, prefix: &str, args: ReleaseArgs) -> Result<Exit> {
    let mut client = client(endpoint, prefix, &args.lock.key)?.with_mode(args.mode.given());
    let token = Token::given(&args.lock.token)?;
    if client.release(&token)? { Ok(Exit::Success) } else { not_yours(&args.lock.key.key) }
}

fn not_yours(name: &str) -> Result<Exit> {
    ui::notice(format_args!(
        "'{name}' is not held with that token: it expired, was released or broken, or belongs to someone else"
    ));
    Ok(Exit::NotHeld)
}

fn ttl(endpoint: Endpoint, prefix: &str, args: TtlArgs) -> Result<Exit> {
    if args.json {
        return status(
            endpoint,
            prefix,
            StatusArgs { key: args.key, json: true, global: args.global },
        );
    }
    let mut client = client(endpoint, prefix, &args.key)?;
    let Some(info) = client.inspect()? else {
        ui::notice(format_args!("'{}' is free", args.key.key));
        return Ok(Exit::NotHeld);
    };
    // A line per holder, longest-lived first: the first line is how long the lock stays held.
    let mut ttls: Vec<Option<std::time::Duration>> =
        info.holders.iter().map(|holder| holder.ttl).collect();
    if ttls.is_empty() {
        ttls.push(info.ttl);
    }
    ttls.sort_by_key(|ttl| std::cmp::Reverse(ttl.unwrap_or(std::time::Duration::MAX)));
    for ttl in ttls {
        ui::out(match (ttl, args.ms) {
            (Some(ttl), true) => millis(ttl).to_string(),
            (Some(ttl), false) => duration::show(ttl),
            (None, true) => "-1".into(),
            (None, false) => "no expiry".into(),
        })?;
    }
    Ok(Exit::Success)
}

fn status(endpoint: Endpoint, prefix: &str, args: StatusArgs) -> Result<Exit> {
    let mut client = client(endpoint, prefix, &args.key)?;
    let info = client.inspect()?;
    let keys = client.keys();
    if args.json {
        ui::out(status_json(keys, info.as_ref()))?;
    } else {
        for line in status_lines(keys, info.as_ref()) {
            ui::out(line)?;
        }
    }
    Ok(if info.is_some() { Exit::Success } else { Exit::NotHeld })
}

/// `status --json` (and `ttl --json`, and each element of `list --json`): one object; absent
/// facts are null. `holders` lists every holder in the order they took the lock; `holder` and
/// `fence` are the first of them (the only one of an exclusive lock).
pub fn status_json(keys: &LockKeys, info: Option<&LockInfo>) -> serde_json::Value {
    let holder = info.and_then(LockInfo::holder);
    let mode = info.and_then(|info| info.mode);
    let described = |h: &Holder| {
        json!({
            "host": h.host,
            "pid": h.pid,
            "user": h.user,
            "command": h.command,
            "since": humantime::format_rfc3339_seconds(h.since()).to_string(),
            "since_unix_ms": h.since_ms,
            "fence": h.fence,
            "ttl_ms": h.ttl.map(millis),
        })
    };
    json!({
        "key": keys.name,
        "redis_key": keys.lock,
        "held": info.is_some(),
        "mode": mode.map(|mode| match mode {
            Mode::Exclusive => "exclusive",
            Mode::Shared => "shared",
            Mode::Limit(_) => "limit",
        }),
        "limit": match mode {
            Some(Mode::Limit(limit)) => Some(limit),
            Some(Mode::Exclusive) => Some(1),
            _ => None,
        },
        "ttl_ms": info.and_then(|info| info.ttl).map(millis),
        "fence": holder.map(|h| h.fence),
        "waiters": info.map_or(0, |info| info.waiters),
        "holder": holder.map(described),
        "holders": info.map_or_else(Vec::new, |info| info.holders.iter().map(described).collect()),
    })
}

fn status_lines(keys: &LockKeys, info: Option<&LockInfo>) -> Vec<String> {
    let mut lines = vec![format!("lock:     {} (key {})", keys.name, keys.lock)];
    let Some(info) = info else {
        lines.push("state:    free".into());
        return lines;
    };
    let count = info.holders.len();
    lines.push(match info.mode {
        None => "state:    held, not by rlock (no holder record)".into(),
        Some(Mode::Exclusive) => "state:    held".into(),
        Some(Mode::Shared) => format!("state:    held shared by {count}"),
        Some(Mode::Limit(limit)) => format!("state:    held by {count} of at most {limit}"),
    });
    for h in &info.holders {
        let ago = SystemTime::now().duration_since(h.since()).unwrap_or_default();
        let since = format!(
            "{} ({} ago)",
            humantime::format_rfc3339_seconds(h.since()),
            duration::show(std::time::Duration::from_secs(ago.as_secs()))
        );
        let command = if h.command.is_empty() { "-" } else { &h.command };
        if info.mode == Some(Mode::Exclusive) {
            lines.push(format!("holder:   {} pid {} user {}", h.host, h.pid, h.user));
            lines.push(format!("command:  {command}"));
            lines.push(format!("since:    {since}"));
        } else {
            let ttl = h.ttl.map_or_else(|| "no expiry".to_owned(), duration::show);
            lines.push(format!(
                "holder:   {} pid {} user {}; fence {}; ttl {ttl}; since {since}; command: {command}",
                h.host, h.pid, h.user, h.fence
            ));
        }
    }
    lines.push(match info.ttl {
        Some(ttl) => format!("ttl:      {}", duration::show(ttl)),
        None => "ttl:      none (the key never expires)".into(),
    });
    if info.mode == Some(Mode::Exclusive)
        && let Some(h) = info.holder()
    {
        lines.push(format!("fence:    {}", h.fence));
    }
    lines.push(format!("waiters:  {}", info.waiters));
    lines
}

/// `list`: the locks held now. Every lock rlock holds has a holder record, `{PREFIX NAME}:holder`
/// (or `PREFIX NAME:holder` for a name with a hash tag): one SCAN finds those on every server, and
/// each lock is then read like `status` reads it.
fn list(endpoint: Endpoint, prefix: &str, args: ListArgs) -> Result<Exit> {
    // One pass finds both `{PREFIX NAME}:holder` and `PREFIX NAME:holder` (a name with a hash
    // tag); what else the pattern lets through is sorted out below.
    let pattern = format!("*{}{}:holder", escape_glob(prefix), args.pattern);
    // In quorum mode a minority of servers may be away: their locks show through the others.
    let quorum = endpoint.members().len();
    let timeout = if quorum > 1 { quorum::NODE_TIMEOUT } else { REDIS_TIMEOUT };
    let mut found = BTreeMap::new();
    let (mut answered, mut failures) = (0, Vec::new());
    for server in endpoint.scan_targets(REDIS_TIMEOUT)? {
        let holders = match server.scan(&pattern, "hash", timeout) {
            Ok(holders) => holders,
            Err(err) if quorum > 1 => {
                failures.push(format!("{err:#}"));
                continue;
            }
            Err(err) => return Err(err),
        };
        answered += 1;
        for key in &holders {
            let tagged = key.strip_prefix('{').and_then(|key| key.strip_suffix("}:holder"));
            let plain = key.strip_suffix(":holder");
            for lock in tagged.into_iter().chain(plain) {
                // Only a lock whose holder record is this very key (not a waiter's record, say).
                if let Some(keys) = lock
                    .strip_prefix(prefix)
                    .and_then(|name| LockKeys::new(prefix, name).ok())
                    .filter(|keys| keys.holder == *key)
                {
                    found.insert(keys.lock.clone(), keys);
                }
            }
        }
    }
    if quorum > 1 && answered < quorum::majority(quorum) {
        let majority = quorum::majority(quorum);
        return Err(quorum::too_few_answered(answered, quorum, majority, &failures.join("; ")));
    }
    let mut held = Vec::new();
    for keys in found.into_values() {
        let mut client = LockClient::new(endpoint.clone(), keys.clone(), REDIS_TIMEOUT);
        if let Some(info) = client.inspect()?.filter(|info| !info.holders.is_empty()) {
            held.push((keys, info));
        }
    }
    if args.json {
        let all: Vec<_> = held.iter().map(|(keys, info)| status_json(keys, Some(info))).collect();
        ui::out(serde_json::Value::Array(all))?;
        return Ok(Exit::Success);
    }
    // A line per holder: a shared or limited lock shows as many lines as it has holders.
    for (keys, info) in &held {
        for holder in &info.holders {
            let ttl = holder.ttl.map_or_else(|| "no expiry".to_owned(), duration::show);
            let (who, fence) = (holder.short(), holder.fence);
            ui::out(format!("{}\t{who}\tttl {ttl}\tfence {fence}", keys.name))?;
        }
    }
    Ok(Exit::Success)
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

fn force_release(endpoint: Endpoint, prefix: &str, args: KeyArg) -> Result<Exit> {
    let mut client = client(endpoint, prefix, &args)?;
    // Who held it is only for the message; the break itself is one atomic script.
    let holders = client.inspect()?.map(|info| info.holders).unwrap_or_default();
    if client.force_release()? {
        let from = match holders.as_slice() {
            [] => String::new(),
            [holder] => format!(" from {}", holder.short()),
            many => format!(" from {} holders", many.len()),
        };
        ui::notice(format_args!("broke '{}'{from}", args.key));
        Ok(Exit::Success)
    } else {
        ui::notice(format_args!("'{}' was free", args.key));
        Ok(Exit::NotHeld)
    }
}
