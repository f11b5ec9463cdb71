//! Property tests for everything that parses user input: durations, Redis, TLS and Sentinel URLs,
//! lock names and prefixes, tokens, mode codes and the whole command line. None of them panics on
//! any input, and each keeps the promises that are cheap to check. No Redis needed: nothing here
//! connects.
//!
//! Each property runs a fixed number of cases (set `PROPTEST_CASES` to run more or fewer), and a
//! failure is reported with its shrunk input only, never saved into the source tree.

use std::ffi::OsString;
use std::os::unix::ffi::OsStringExt;
use std::time::Duration;

use clap::Parser;
use proptest::prelude::*;
use proptest::sample::select;
use redis::cluster_routing::Slot;
use rlock::cli::{Cli, Command};
use rlock::duration::{self, MAX_TTL, MIN_TTL};
use rlock::lock::{LockKeys, Mode, Token};
use rlock::redis::{Endpoint, Sentinels, TlsFiles, is_sentinel_url, redact};

/// `cases` cases (or `PROPTEST_CASES`), and no failure files written beside the sources.
fn config(cases: u32) -> ProptestConfig {
    let cases = std::env::var("PROPTEST_CASES").ok().and_then(|n| n.parse().ok()).unwrap_or(cases);
    ProptestConfig { cases, failure_persistence: None, ..ProptestConfig::default() }
}

/// Any text: arbitrary Unicode, printable ASCII, or the characters parsers split on.
fn text() -> impl Strategy<Value = String> {
    prop_oneof![any::<String>(), "[ -~]{0,24}", "[a-z0-9 :/@?#&=%.,{}\\[\\]+*\t\n-]{0,24}",]
}

// Durations.

const UNITS: &[&str] = &[
    "ns", "nsec", "us", "usec", "µs", "ms", "msec", "s", "sec", "second", "seconds", "m", "min",
    "minute", "minutes", "h", "hr", "hour", "hours", "d", "day", "days", "w", "week", "weeks", "M",
    "month", "months", "y", "year", "years",
];

/// Durations as people write them, and near misses: numbers of any size and shape (fractions,
/// signs, exponents, overflow), known and unknown units, odd separators.
fn duration_text() -> impl Strategy<Value = String> {
    let number = prop_oneof![
        "[0-9]{1,3}",
        "[0-9]{1,26}",
        "[0-9]{0,3}\\.[0-9]{0,12}",
        "[-+]?[0-9]{1,4}([eE][-+]?[0-9]{1,3})?",
        select(&["inf", "-inf", "NaN", "infinity", "0x10", "1_000", "٣"][..])
            .prop_map(String::from),
    ];
    let unit = prop_oneof![
        4 => select(UNITS).prop_map(String::from),
        1 => "[a-zA-Zµ]{0,6}",
        1 => "\\PC{0,3}",
    ];
    let part = (number, " {0,2}", unit).prop_map(|(n, gap, u)| format!("{n}{gap}{u}"));
    let joined = (prop::collection::vec(part, 1..4), select(&[" ", "", "  ", ",", "\t"][..]))
        .prop_map(|(parts, sep)| parts.join(sep));
    prop_oneof![
        4 => (" {0,2}", joined, "[ \n]{0,2}").prop_map(|(a, d, b)| format!("{a}{d}{b}")),
        1 => text(),
    ]
}

/// `duration` rounded down to whole milliseconds, as `duration::show` prints it.
fn whole_millis(duration: Duration) -> Duration {
    Duration::from_millis(u64::try_from(duration.as_millis()).unwrap_or(u64::MAX))
}

proptest! {
    #![proptest_config(config(4000))]

    /// Any text: no panic; what parses prints and parses back; a ttl is a duration within bounds;
    /// the hint for a bare number names a duration that parses.
    #[test]
    fn properties_durations(text in duration_text()) {
        let parsed = duration::parse(&text);
        if let Ok(value) = parsed {
            prop_assert_eq!(duration::parse(&duration::show(value)), Ok(whole_millis(value)));
            let exact = humantime::format_duration(value).to_string();
            prop_assert_eq!(duration::parse(&exact), Ok(value));
        }
        if let Err(message) = &parsed
            && message.contains("has no unit")
        {
            for unit in ["s", "ms"] {
                let hinted = format!("{}{unit}", text.trim());
                prop_assert!(duration::parse(&hinted).is_ok(), "{message:?} but {hinted:?} fails");
            }
        }
        let ttl = duration::parse_ttl(&text);
        match parsed {
            Ok(value) if (MIN_TTL..=MAX_TTL).contains(&value) => {
                prop_assert_eq!(ttl, Ok(value));
                let shown = duration::show(value);
                prop_assert_eq!(duration::parse_ttl(&shown), Ok(whole_millis(value)));
            }
            _ => prop_assert!(ttl.is_err()),
        }
    }

    /// Any duration at all prints without panicking, and whole milliseconds print exactly.
    #[test]
    fn properties_durations_show(secs in any::<u64>(), nanos in 0..1_000_000_000u32) {
        let value = Duration::new(secs, nanos);
        let shown = duration::show(value);
        prop_assert_eq!(duration::parse(&shown), Ok(whole_millis(value)));
    }
}

// Redis URLs.

/// The password the URL strategies hide in every URL they build: a message that contains it
/// leaked a password.
const SECRET: &str = "Pw7Secret";

/// A password: SECRET between characters of any kind, including the URL delimiters `@` and `:`
/// (but not `/`, `?`, `#` or `\`, which end a URL's authority, the last in `file:` and `http:`
/// URLs), or SECRET several times with `@`, `/`, `?`, `#` and `:` between, unencoded
/// (`p@ss/w?rd#x`): every piece of such a password holds SECRET, so a message that shows any
/// piece of it shows SECRET.
fn password() -> impl Strategy<Value = String> {
    let side = prop_oneof![
        "[^/?#\\\\]{0,4}",
        "[a-zA-Z0-9@:%!$&'()*+,;=\\[\\] ]{0,4}",
        Just(String::new())
    ];
    let plain = (side.clone(), side).prop_map(|(a, b)| format!("{a}{SECRET}{b}"));
    let delimiters = select(&["@", "/", "?", "#", ":", "@/", "/?#", "?@"][..]);
    let pieces = prop::collection::vec(delimiters, 1..4).prop_map(|between| {
        between.iter().fold(SECRET.to_owned(), |password, sep| format!("{password}{sep}{SECRET}"))
    });
    prop_oneof![3 => plain, 1 => pieces]
}

fn scheme() -> impl Strategy<Value = String> {
    prop_oneof![
        6 => select(&["redis", "rediss", "unix", "redis+unix", "REDIS", "Rediss"][..]).prop_map(String::from),
        1 => select(&["http", "", "redis+sentinel", "redis+tls", "file"][..]).prop_map(String::from),
        1 => "[a-z+.-]{0,8}",
    ]
}

fn host() -> impl Strategy<Value = String> {
    prop_oneof![
        select(
            &[
                "127.0.0.1",
                "localhost",
                "[::1]",
                "::1",
                "[::1",
                "",
                "redis.example.com",
                "256.1.1.1",
                "xn--",
                "[v1.x]"
            ][..]
        )
        .prop_map(String::from),
        "[^/?#\\\\]{0,10}",
        "[a-z0-9.%\\[\\]:-]{0,12}",
    ]
}

/// `:PORT`, a near miss, or nothing.
fn port() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(String::new()),
        "[0-9]{1,6}".prop_map(|p| format!(":{p}")),
        "[^/?#\\\\]{0,6}".prop_map(|p| format!(":{p}")),
    ]
}

/// `/DB`, `?QUERY`, a path of any shape, or nothing.
fn tail() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(String::new()),
        "/[0-9]{0,4}",
        "/-?[0-9]{1,12}",
        "/[^#]{0,10}",
        "[/?#][ -~]{0,16}",
        "\\?(db|user|protocol|pass|resp)=[ -~]{0,8}",
    ]
}

/// `SCHEME://[USER:PASSWORD@]HOST[:PORT][/DB][?...]`, with SECRET in the password when `secret`.
fn redis_url(secret: bool) -> impl Strategy<Value = String> {
    let user = prop_oneof![Just(String::new()), Just("default".to_owned()), "[^/?#\\\\]{0,6}"];
    let auth = if secret {
        (user, password()).prop_map(|(u, p)| format!("{u}:{p}@")).boxed()
    } else {
        prop_oneof![Just(String::new()), (text(), text()).prop_map(|(u, p)| format!("{u}:{p}@"))]
            .boxed()
    };
    (scheme(), auth, host(), port(), tail())
        .prop_map(|(scheme, auth, host, port, tail)| format!("{scheme}://{auth}{host}{port}{tail}"))
}

/// `unix://PATH?pass=PASSWORD`, with SECRET in the password when `secret` (else any query).
fn unix_url(secret: bool) -> impl Strategy<Value = String> {
    let path = prop_oneof!["/[a-z/._-]{0,12}", "[^?#]{0,12}", Just("/tmp/redis.sock".to_owned())];
    let query = if secret {
        let side = "[^&#+%]{0,4}";
        (prop_oneof![Just(""), Just("db=1&"), Just("user=bob&")], side, side)
            .prop_map(|(before, a, b)| format!("?{before}pass={a}{SECRET}{b}"))
            .boxed()
    } else {
        prop_oneof![Just(String::new()), "\\?[ -~]{0,16}"].boxed()
    };
    (select(&["unix", "redis+unix"][..]), path, query)
        .prop_map(|(scheme, path, query)| format!("{scheme}://{path}{query}"))
}

/// `redis+sentinel://[USER:PASSWORD@]HOST[:PORT]/SERVICE[/DB]` and near misses.
fn sentinel_url(secret: bool) -> impl Strategy<Value = String> {
    let scheme = select(&["redis+sentinel", "rediss+sentinel", "REDIS+SENTINEL"][..]);
    let auth = if secret {
        ("[^/?#\\\\]{0,6}", password()).prop_map(|(u, p)| format!("{u}:{p}@")).boxed()
    } else {
        prop_oneof![Just(String::new()), "[^/?#\\\\]{0,6}:[^/?#\\\\]{0,6}@"].boxed()
    };
    let path = prop_oneof![
        Just("/mymaster".to_owned()),
        "/[a-z]{0,6}(/[0-9]{0,3})?",
        "/[^#]{0,12}",
        Just(String::new()),
    ];
    (scheme, auth, host(), port(), path)
        .prop_map(|(scheme, auth, host, port, path)| format!("{scheme}://{auth}{host}{port}{path}"))
}

/// URLs of every kind, with SECRET as the password when `secret`.
fn any_url(secret: bool) -> BoxedStrategy<String> {
    if secret {
        prop_oneof![3 => redis_url(true), 1 => unix_url(true), 1 => sentinel_url(true)].boxed()
    } else {
        prop_oneof![
            3 => redis_url(false),
            1 => unix_url(false),
            1 => sentinel_url(false),
            1 => text(),
        ]
        .boxed()
    }
}

/// What messages may show of a parse: the error, or the names of what parsed.
fn shown(result: anyhow::Result<Endpoint>, shown: &mut Vec<String>) {
    match result {
        Ok(endpoint) => {
            shown.push(endpoint.shown().to_owned());
            shown.push(format!("{endpoint:?}"));
        }
        Err(err) => shown.push(format!("{err:#} / {err:?}")),
    }
}

/// Every way rlock reads URLs: one server, a quorum's members, Sentinels, a cluster's seeds.
/// Returns what each may show: error messages, or the names of what it parsed.
fn parse_everywhere(urls: &[String]) -> Vec<String> {
    let tls = TlsFiles::default();
    let refs: Vec<&str> = urls.iter().map(String::as_str).collect();
    let mut out = Vec::new();
    for url in &refs {
        shown(Endpoint::parse(url, &tls), &mut out);
        let _ = is_sentinel_url(url);
    }
    shown(Endpoint::cluster(&refs, &tls, Duration::from_secs(1)), &mut out);
    match rlock::redis::servers(urls, &tls, false, Duration::from_secs(1)) {
        Ok(servers) => out.extend(servers.iter().map(|server| server.shown().to_owned())),
        Err(err) => out.push(format!("{err:#} / {err:?}")),
    }
    match Sentinels::parse(&refs, &tls) {
        Ok(sentinels) => {
            out.push(sentinels.shown());
            out.push(format!("{sentinels:?}"));
            shown(Ok(Endpoint::sentinel(sentinels)), &mut out);
        }
        Err(err) => out.push(format!("{err:#} / {err:?}")),
    }
    out.extend(refs.iter().map(|url| redact(url)));
    out
}

proptest! {
    #![proptest_config(config(2000))]

    /// Any URL, or any list of them (a quorum, Sentinels, cluster seeds): no panic anywhere.
    #[test]
    fn properties_urls(urls in prop::collection::vec(any_url(false), 1..4)) {
        parse_everywhere(&urls);
    }

    /// A password in a URL, well formed or not, never shows: not in error messages, not in the
    /// names of what parsed, not in what `redact` returns.
    #[test]
    fn properties_urls_never_show_passwords(
        urls in prop::collection::vec(any_url(true), 1..3),
        others in prop::collection::vec(any_url(false), 0..2),
    ) {
        let urls: Vec<String> = urls.into_iter().chain(others).collect();
        for message in parse_everywhere(&urls) {
            prop_assert!(!message.contains(SECRET), "password shown in: {message}");
        }
    }

    /// `redact` hides a password of any length, even one too short to scrub from messages.
    #[test]
    fn properties_redact_hides_every_password(url in any_url(false)) {
        let shown = redact(&url);
        if let Ok(parsed) = url::Url::parse(&url)
            && (parsed.password().is_some() || parsed.query_pairs().any(|(name, _)| name == "pass"))
        {
            // A password typed with a `/`, `?` or `#` before a later `@` is hidden up to that `@`;
            // what is left may be no URL a parser takes (`redis://:***@`).
            let typed = shown.contains(":***@");
            let again = url::Url::parse(&shown);
            prop_assert!(again.is_ok() || typed, "{url:?} shown as {shown:?}");
            let Ok(again) = again else { return Ok(()) };
            if parsed.password().is_some() {
                let hidden = again.password() == Some("***")
                    || (again.host_str().is_none_or(str::is_empty) && typed);
                prop_assert!(hidden, "{:?} shown as {:?}", url, shown);
            }
            for (name, value) in again.query_pairs().filter(|(name, _)| name == "pass") {
                prop_assert_eq!(&value, "***", "{:?} shown as {:?} ({})", url, shown, name);
            }
        }
    }
}

// Lock names and prefixes.

/// The part of `key` Redis Cluster hashes: between the first `{` and the next `}` when that is not
/// empty, else the whole key (written here from the Redis Cluster specification, apart from
/// rlock's own code).
fn hashed(key: &str) -> &str {
    if let Some(open) = key.find('{')
        && let Some(len) = key[open + 1..].find('}')
        && len > 0
    {
        return &key[open + 1..open + 1 + len];
    }
    key
}

fn key_text() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(String::new()),
        Just("rlock:".to_owned()),
        "[{}a:]{0,8}",
        "[{}a-c:*?\\[\\] ]{0,10}",
        "\\PC{0,6}",
        text(),
    ]
}

proptest! {
    #![proptest_config(config(4000))]

    /// Any prefix and name: no panic; an accepted lock's companion keys (and the per-waiter and
    /// per-holder keys built from them) all hash to the lock record's Redis Cluster slot; what is
    /// refused is an empty name, a '}' that would split the slots, a control character, or '}}'
    /// (which only companion keys hold).
    #[test]
    fn properties_keys(prefix in key_text(), name in key_text(), id in text()) {
        let lock = format!("{prefix}{name}");
        match LockKeys::new(&prefix, &name) {
            Ok(keys) => {
                prop_assert!(!name.is_empty());
                prop_assert_eq!(&keys.lock, &lock);
                prop_assert_eq!(&keys.name, &name);
                let slot = Slot::for_key(&keys.lock);
                let wake = keys.wake(&id);
                let record = format!("{}:{id}", keys.holders);
                let others =
                    [&keys.holder, &keys.fence, &keys.queue, &keys.alive, &keys.holders, &keys.log];
                for key in others.into_iter().chain([&wake, &record]) {
                    prop_assert_eq!(hashed(key), hashed(&keys.lock), "{} and {}", key, keys.lock);
                    prop_assert_eq!(Slot::for_key(key), slot, "{} and {}", key, keys.lock);
                }
                let mut all = keys.all().to_vec();
                all.sort_unstable();
                all.dedup();
                prop_assert_eq!(all.len(), 7, "keys collide: {:?}", keys);
            }
            Err(err) => {
                let splits = lock.contains('}') && hashed(&lock) == lock;
                let control = lock.chars().any(char::is_control);
                let reserved = lock.contains("}}");
                prop_assert!(
                    name.is_empty() || splits || control || reserved,
                    "'{lock}' refused: {err:#}"
                );
            }
        }
    }

    /// Two locks under one prefix (the empty one too) never share a key: no companion key of one
    /// (nor a waiter's or holder's key beside it) is the other's lock record or companion key.
    #[test]
    fn properties_keys_of_two_locks_never_meet(
        prefix in prop_oneof![Just(String::new()), key_text()],
        a in key_text(),
        b in prop_oneof![key_text(), "\\{?[a{}:]{0,3}\\}?\\}{0,2}(holder|fence|queue|alive|holders|log)(:[a-z0-9]{1,3})?"],
        id in "[0-9a-f]{1,8}",
    ) {
        let (Ok(one), Ok(other)) = (LockKeys::new(&prefix, &a), LockKeys::new(&prefix, &b)) else {
            return Ok(());
        };
        prop_assume!(one.lock != other.lock);
        let keys = |keys: &LockKeys| {
            let mut all: Vec<String> = keys.all().iter().map(|key| (*key).to_owned()).collect();
            all.push(keys.wake(&id));
            all.push(format!("{}:{id}:holder", keys.queue));
            all.push(format!("{}:{id}", keys.holders));
            all
        };
        let mine = keys(&one);
        for key in keys(&other) {
            prop_assert!(!mine.contains(&key), "'{}' and '{}' share {}", a, b, key);
        }
    }

    /// Any token text: no panic; refused only when blank; kept trimmed; never in Debug output.
    #[test]
    fn properties_tokens(text in prop_oneof![text(), "[ \t\n]{0,2}[0-9a-f-]{0,36}[ \t\n]{0,2}"]) {
        match Token::given(&text) {
            Ok(token) => {
                prop_assert_eq!(token.secret(), text.trim());
                prop_assert!(!token.secret().is_empty());
                prop_assert_eq!(format!("{token:?}"), "Token(***)");
            }
            Err(_) => prop_assert!(text.trim().is_empty()),
        }
    }

    /// Any mode code from a script's reply: no panic; what is read writes back the same way.
    #[test]
    fn properties_mode_codes(code in prop_oneof![text(), "[-+]?[0-9]{0,12}", "[xsXS ]{0,2}"]) {
        if let Some(mode) = Mode::from_code(&code) {
            prop_assert_eq!(Mode::from_code(&mode.code()), Some(mode));
            if let Mode::Limit(limit) = mode {
                prop_assert!(limit > 1);
            }
        }
    }

    /// Every mode writes a code that reads back as itself.
    #[test]
    fn properties_modes_round_trip(limit in 2..=u32::MAX, pick in 0..3u8) {
        let mode = [Mode::Exclusive, Mode::Shared, Mode::Limit(limit)][usize::from(pick)];
        prop_assert_eq!(Mode::from_code(&mode.code()), Some(mode));
    }
}

// The whole command line.

/// Words rlock's command line knows, and values near its edges, separated by spaces.
const WORDS: &str = "run acquire refresh release ttl status break list completions man help bash \
    zsh fish elvish powershell -- - --redis -r --cluster --tls-ca --tls-cert --tls-key --prefix -v \
    -vv -q --verbose --quiet -t --ttl -w --wait -n --no-wait -E --conflict-exit-code --limit \
    --shared --kill-grace --ms --json -h --help -V --version -nqv -t30s --ttl= --limit= -E= deploy \
    k 30s 0 1 255 256 -1 redis://127.0.0.1:6379 true no";

/// One of [`WORDS`].
fn word() -> impl Strategy<Value = &'static str> {
    select(WORDS.split_whitespace().collect::<Vec<_>>())
}

/// A command-line argument: a word rlock knows, `--option=VALUE`, a duration, any text, or bytes
/// that are not UTF-8 at all.
fn argument() -> impl Strategy<Value = OsString> {
    prop_oneof![
        6 => word().prop_map(OsString::from),
        2 => duration_text().prop_map(OsString::from),
        1 => (select(&["--ttl=", "--wait=", "--limit=", "-E", "--prefix=", "--cluster="][..]), text())
            .prop_map(|(option, value)| OsString::from(format!("{option}{value}"))),
        2 => text().prop_map(OsString::from),
        1 => prop::collection::vec(any::<u8>(), 0..8).prop_map(OsString::from_vec),
    ]
}

proptest! {
    #![proptest_config(config(2000))]

    /// Any argument vector: clap's parse never panics, its errors render, and what it accepts
    /// keeps the bounds the value parsers promise.
    #[test]
    fn properties_command_line(args in prop::collection::vec(argument(), 0..9)) {
        let argv = std::iter::once(OsString::from("rlock")).chain(args);
        match Cli::try_parse_from(argv) {
            Err(err) => {
                let _ = (err.kind(), err.to_string(), err.render().to_string());
            }
            Ok(cli) => {
                let (take, ttl) = match &cli.command {
                    Command::Run(args) => (Some(&args.take), Some(args.take.ttl)),
                    Command::Acquire(args) => (Some(&args.take), Some(args.take.ttl)),
                    Command::Refresh(args) => (None, Some(args.ttl)),
                    _ => (None, None),
                };
                if let Some(ttl) = ttl {
                    prop_assert!((MIN_TTL..=MAX_TTL).contains(&ttl), "ttl {ttl:?}");
                }
                if let Some(take) = take {
                    prop_assert!(take.mode.limit != Some(0));
                    prop_assert!(!(take.no_wait && take.wait.is_some()));
                }
            }
        }
    }

    /// A password given as the value of --redis is not in clap's messages either. (After `--` the
    /// URL would be a stray argument, which clap names in its message: not tried.)
    #[test]
    fn properties_command_line_never_shows_passwords(
        before in prop::collection::vec(word().prop_filter("no --, no help", |w| !["--", "help"].contains(w)), 0..4),
        option in select(&["--redis", "-r", "--redis="][..]),
        url in any_url(true).prop_filter("a URL, not an option", |url| !url.starts_with('-')),
        after in prop::collection::vec(word(), 0..4),
    ) {
        let mut argv: Vec<String> = std::iter::once("rlock").chain(before).map(String::from).collect();
        if option.ends_with('=') {
            argv.push(format!("{option}{url}"));
        } else {
            argv.extend([option.to_owned(), url]);
        }
        argv.extend(after.into_iter().map(String::from));
        if let Err(err) = Cli::try_parse_from(&argv) {
            let message = err.render().to_string();
            prop_assert!(!message.contains(SECRET), "{argv:?}: {message}");
        }
    }
}
