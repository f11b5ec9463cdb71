//! Keeping passwords out of what rlock shows: URLs with their password replaced by `***`
//! ([`redact`]), and messages with every password of a URL replaced ([`scrub`], [`secrets`]).

/// The characters that end a URL's server part (`\` only in `http:` and `file:` URLs): typed
/// unencoded in a password, they make a URL parser read the rest as a port, path, query or
/// fragment.
const ENDS_SERVER_PART: [char; 4] = ['/', '?', '#', '\\'];

/// Returns `url` with any password replaced by `***` (also a `pass=` query parameter of unix URLs).
/// Works on malformed URLs too, as far as they have a `scheme://user:password@` shape or a
/// `?pass=` parameter. A password is hidden whole even when it holds `@`, `/`, `?` or `#`,
/// percent-encoded or not.
pub fn redact(url: &str) -> String {
    // A `pass=` value as typed goes first, wherever it stands: in a URL that can be read two ways
    // (`unix://:?pass=@x`: a password `?pass=`, or a `pass` of `@x`), neither may show.
    let masked = mask_typed_pass_values(url);
    let url = masked.as_str();
    // A password typed with a `/`, `?` or `#` (`redis://:p@ss/w?rd#x@host`) reads two ways: up
    // to the first `@` as a URL parser reads it, with the rest as server, path or query, or up
    // to the last `@`. Either may be the one meant, so everything up to the last `@` goes.
    match hide_typed_password(url) {
        Some(hidden) => redact_parsed_or_typed(&hidden),
        None => redact_parsed_or_typed(url),
    }
}

/// Whether `url` has a password, as typed, with a `/`, `?` or `#` in it that a URL parser takes
/// for the end of the server part (everything from the user's `:` to the last `@`): a URL
/// parser would read a shorter password and take the rest of it for a server, path or query,
/// and so connect elsewhere and show parts of the password. Such a password needs
/// percent-encoding. (A URL with an `@` in its path or query and a password reads the same way,
/// and is refused too.)
pub(crate) fn password_ends_server_part(url: &str) -> bool {
    let url = mask_typed_pass_values(url);
    typed_userinfo(&url).is_some_and(|(_, colon, at)| url[colon + 1..at].contains(['/', '?', '#']))
}

/// `scheme://user:password@...`, as typed: the byte offsets of the start of the user, of the
/// `:` after it and of the last `@`. The user holds none of the characters that end a server
/// part (a path or query with `:` and `@` in it is no user and password).
fn typed_userinfo(url: &str) -> Option<(usize, usize, usize)> {
    let start = url.find("://")? + 3;
    let rest = &url[start..];
    let at = rest.rfind('@')?;
    let colon = rest[..at].find(':')?;
    if rest[..colon].contains(ENDS_SERVER_PART) {
        return None;
    }
    Some((start, start + colon, start + at))
}

/// `url` with a typed password that holds a character ending the server part replaced by `***`
/// (everything from the user's `:` to the last `@`); `None` for any other URL.
fn hide_typed_password(url: &str) -> Option<String> {
    let (_, colon, at) = typed_userinfo(url)?;
    if !url[colon + 1..at].contains(ENDS_SERVER_PART) {
        return None;
    }
    Some(format!("{}:***{}", &url[..colon], &url[at..]))
}

/// [`redact`] for a URL whose password, if any, a URL parser reads whole.
fn redact_parsed_or_typed(url: &str) -> String {
    if let Ok(mut parsed) = url::Url::parse(url) {
        // Not `secrets`, which leaves out passwords too short to scrub from messages.
        if parsed.password().is_none() && !parsed.query_pairs().any(|(name, _)| name == "pass") {
            return url.into();
        }
        if parsed.password().is_some() && parsed.set_password(Some("***")).is_err() {
            return "<unparsable URL>".into();
        }
        if parsed.query_pairs().any(|(name, _)| name == "pass") {
            let pairs: Vec<(String, String)> = parsed
                .query_pairs()
                .map(|(name, value)| {
                    let value = if name == "pass" { "***".into() } else { value.into_owned() };
                    (name.into_owned(), value)
                })
                .collect();
            parsed.query_pairs_mut().clear().extend_pairs(pairs);
        }
        return parsed.to_string();
    }
    // Not a URL the parser accepts: hide `pass=` values, and anything between "://user:" and the
    // last "@".
    let url = match url.split_once('?') {
        Some((base, query)) => {
            let hide = |pair| if typed_pass(pair).is_some() { "pass=***" } else { pair };
            format!("{base}?{}", query.split('&').map(hide).collect::<Vec<_>>().join("&"))
        }
        None => url.to_owned(),
    };
    let url = url.as_str();
    let Some(start) = url.find("://").map(|at| at + 3) else {
        return url.into();
    };
    let rest = &url[start..];
    match (rest.find(':'), rest.rfind('@')) {
        (Some(colon), Some(at)) if colon < at => {
            format!("{}{}:***{}", &url[..start], &rest[..colon], &rest[at..])
        }
        (None, Some(at)) => format!("{}***{}", &url[..start], &rest[at..]),
        _ => url.into(),
    }
}

/// The password in `url`, as typed and percent-decoded, for scrubbing messages.
pub fn secrets(url: &str) -> Vec<String> {
    let mut found = Vec::new();
    // A password with a character that ends the server part, as typed (a parser reads less).
    if let Some((_, colon, at)) = typed_userinfo(url)
        && url[colon + 1..at].contains(ENDS_SERVER_PART)
    {
        push_decoded(&mut found, &url[colon + 1..at]);
    }
    if let Ok(parsed) = url::Url::parse(url) {
        if let Some(password) = parsed.password() {
            push_decoded(&mut found, password);
        }
        found.extend(parsed.query_pairs().filter(|(n, _)| n == "pass").map(|(_, v)| v.into()));
    } else {
        if let Some(rest) = url.split_once("://").map(|(_, rest)| rest)
            && let (Some(colon), Some(at)) = (rest.find(':'), rest.rfind('@'))
            && colon < at
        {
            found.push(rest[colon + 1..at].to_owned());
        }
        let query = url.split_once('?').map_or("", |(_, query)| query);
        found.extend(query.split('&').filter_map(typed_pass).map(str::to_owned));
    }
    found.extend(typed_pass_values(url).map(str::to_owned));
    found.retain(|secret| secret.len() >= 3 && secret != "***");
    // Longest first, so that no shorter secret inside a longer one leaves the rest of it shown.
    found.sort_by_key(|secret| std::cmp::Reverse(secret.len()));
    found.dedup();
    found
}

/// Adds `password` to `found`, as typed and percent-decoded.
fn push_decoded(found: &mut Vec<String>, password: &str) {
    found.push(password.to_owned());
    if let Ok(decoded) = percent_encoding::percent_decode_str(password).decode_utf8() {
        found.push(decoded.into_owned());
    }
}

/// `url` with the value after every `pass=` (up to the next `&`, or the end) replaced by `***`.
fn mask_typed_pass_values(url: &str) -> String {
    let mut masked = String::with_capacity(url.len());
    let mut rest = url;
    while let Some(at) = rest.find("pass=") {
        let (before, after) = rest.split_at(at + "pass=".len());
        masked.push_str(before);
        let end = after.find('&').unwrap_or(after.len());
        if end > 0 {
            masked.push_str("***");
        }
        rest = &after[end..];
    }
    masked.push_str(rest);
    masked
}

/// The values after every `pass=` as typed (up to the next `&`, or the end).
fn typed_pass_values(url: &str) -> impl Iterator<Item = &str> {
    url.match_indices("pass=").map(move |(at, _)| {
        let after = &url[at + "pass=".len()..];
        &after[..after.find('&').unwrap_or(after.len())]
    })
}

/// The value of a `pass=VALUE` pair of a query, as typed.
fn typed_pass(pair: &str) -> Option<&str> {
    pair.strip_prefix("pass=")
}

/// `message` with every secret of `url` replaced by `***`.
pub fn scrub(message: &str, url: &str) -> String {
    scrub_all(message, &secrets(url))
}

/// `message` with each of `secrets` replaced by `***`.
pub(crate) fn scrub_all(message: &str, secrets: &[String]) -> String {
    secrets.iter().fold(message.to_owned(), |text, secret| text.replace(secret.as_str(), "***"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_url_read_two_ways_shows_neither_password() {
        // A password `?pass=` before the `@`, or a `pass` value `@Pw7Secret` after the `?`.
        let shown = redact("unix://:?pass=@Pw7Secret");
        assert!(!shown.contains("Pw7Secret"), "{shown}");
        assert!(secrets("unix://:?pass=@Pw7Secret").contains(&"@Pw7Secret".to_owned()));
        assert_eq!(redact("unix:///r.sock?db=1&pass=pw&x=2"), "unix:///r.sock?db=1&pass=***&x=2");
    }

    #[test]
    fn redacts_passwords() {
        assert_eq!(redact("redis://:hunter2@host:6379/0"), "redis://:***@host:6379/0");
        assert_eq!(redact("redis://bob:hunter2@host"), "redis://bob:***@host");
        assert_eq!(redact("redis://host:6379"), "redis://host:6379");
        assert!(!redact("unix:///tmp/r.sock?pass=hunter2&db=1").contains("hunter2"));
        assert!(!redact("redis://:hunter2@[::1").contains("hunter2"));
        assert_eq!(redact("unix://[/r.sock?db=1&pass=hunter2"), "unix://[/r.sock?db=1&pass=***");
        assert!(!redact("http://bob:hunter2@x").contains("hunter2"));
        assert_eq!(redact("redis://bob:pw@host"), "redis://bob:***@host");
        assert_eq!(redact("unix:///tmp/r.sock?pass=pw"), "unix:///tmp/r.sock?pass=***");
    }

    #[test]
    fn redacts_passwords_with_url_delimiters_whole() {
        for (url, shown) in [
            ("redis://:p@ss@host:6379/0", "redis://:***@host:6379/0"),
            ("redis://:p@ss/w?r#d@host:6379/0", "redis://:***@host:6379/0"),
            ("redis://bob:a/b@host", "redis://bob:***@host"),
            // A URL parser reads these as port 12 and path "/ss@host", or a query or fragment.
            ("redis://bob:12/ss@host", "redis://bob:***@host"),
            ("redis://:p?ss@host", "redis://:***@host"),
            ("redis://bob:1#ss@host", "redis://bob:***@host"),
            ("rediss://bob:a\\b@host", "rediss://bob:***@host"),
            ("redis://:p%40s%2Fs%3F%23@host", "redis://:***@host"),
            ("redis://:p?ss@[::1", "redis://:***@[::1"),
        ] {
            assert_eq!(redact(url), shown, "{url}");
        }
        // An `@` in a query might end a password: hidden too, as far as it.
        assert_eq!(redact("redis://u:pw@host/0?x=@"), "redis://u:***@");
        // A path with `:` and `@` is no user and password.
        assert_eq!(redact("unix:///tmp/a:b@c.sock"), "unix:///tmp/a:b@c.sock");
    }

    #[test]
    fn an_unencoded_password_with_every_delimiter_shows_no_part_of_itself() {
        // Whatever follows the last `@`: a server, a socket, nothing, something invalid.
        let password = "p@ss/w?rd#x";
        let parts = ["p@", "ss", "w?", "rd", "#x", "ss/w", "rd#x"];
        for (url, shown) in [
            ("redis://:p@ss/w?rd#x@127.0.0.1:6379", "redis://:***@127.0.0.1:6379"),
            ("redis://bob:p@ss/w?rd#x@host:6379/2", "redis://bob:***@host:6379/2"),
            ("rediss://:p@ss/w?rd#x@localhost", "rediss://:***@localhost"),
            (
                "redis+sentinel://:p@ss/w?rd#x@h:26379/mymaster",
                "redis+sentinel://:***@h:26379/mymaster",
            ),
            ("unix://:p@ss/w?rd#x@/tmp/redis.sock", "unix://:***@/tmp/redis.sock"),
            ("redis://:p@ss/w?rd#x@", "redis://:***@"),
            ("redis://u:p@ss/w?rd#x@host:notaport", "redis://u:***@host:notaport"),
        ] {
            let redacted = redact(url);
            assert_eq!(redacted, shown, "{url}");
            let after_scheme = redacted.split_once("://").map_or("", |(_, rest)| rest);
            for part in parts {
                assert!(!after_scheme.contains(part), "{part} of {url} in {redacted}");
            }
            assert!(password_ends_server_part(url), "{url}");
            assert!(secrets(url).contains(&password.to_owned()), "{url}: {:?}", secrets(url));
            let message = format!("AUTH failed for {password} at ss:6379 (rd#x)");
            let scrubbed = scrub(&message, url);
            assert!(!scrubbed.contains(password), "{scrubbed}");
        }
        // Percent-encoded, it is one password and no refusal.
        let encoded = "redis://:p%40ss%2Fw%3Frd%23x@host";
        assert!(!password_ends_server_part(encoded));
        assert_eq!(redact(encoded), "redis://:***@host");
        assert_eq!(scrub("no p@ss/w?rd#x here", encoded), "no *** here");
    }

    #[test]
    fn finds_passwords_with_url_delimiters_for_scrubbing() {
        let url = "redis://bob:12/s?s#x@host";
        assert!(secrets(url).contains(&"12/s?s#x".to_owned()), "{:?}", secrets(url));
        assert_eq!(scrub("AUTH bob 12/s?s#x failed", url), "AUTH bob *** failed");
        let url = "redis://:p%40s%2Fs%3F%23@host";
        assert_eq!(scrub("bad p@s/s?# and p%40s%2Fs%3F%23", url), "bad *** and ***");
        assert!(password_ends_server_part("redis://bob:12/ss@host"));
        assert!(password_ends_server_part("redis://:p?ss@host"));
        assert!(!password_ends_server_part("redis://:p@ss@host"));
        assert!(!password_ends_server_part("redis://:p%2Fss@host"));
        assert!(password_ends_server_part("redis://u:pw@host/0?x=@"));
        assert!(!password_ends_server_part("unix:///tmp/a:b@c.sock?pass=x/y"));
    }

    #[test]
    fn scrubs_decoded_passwords() {
        let url = "redis://:p%40ss@host";
        assert_eq!(scrub("bad p@ss here", url), "bad *** here");
    }
}
