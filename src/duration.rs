//! Durations on the command line: humantime (`500ms`, `30s`, `1m 30s`), never a bare number.

use std::time::Duration;

/// Parses a humantime duration, refusing a bare number with a hint on how to write it.
pub fn parse(text: &str) -> Result<Duration, String> {
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return Err("empty duration: write it with a unit, such as 30s, 500ms or 1m 30s".into());
    }
    // The hint only for numbers it fixes (not `-1`, `inf`, `1e3` or `.5`).
    let fixed_by = |unit| humantime::parse_duration(&format!("{trimmed}{unit}")).is_ok();
    if trimmed.parse::<f64>().is_ok() && fixed_by("s") && fixed_by("ms") {
        return Err(format!(
            "'{trimmed}' has no unit: write {trimmed}s for seconds or {trimmed}ms for milliseconds"
        ));
    }
    humantime::parse_duration(trimmed).map_err(|err| {
        format!("'{trimmed}' is not a duration ({err}): write it like 30s, 500ms or 1m 30s")
    })
}

/// Shortest lock lifetime rlock accepts: shorter ones cannot be refreshed reliably over a network.
pub const MIN_TTL: Duration = Duration::from_millis(100);
/// Longest lock lifetime rlock accepts (Redis stores expiries in milliseconds; a year is plenty).
pub const MAX_TTL: Duration = Duration::from_secs(366 * 24 * 3600);

/// Parses a lock lifetime: a duration between [`MIN_TTL`] and [`MAX_TTL`].
pub fn parse_ttl(text: &str) -> Result<Duration, String> {
    let ttl = parse(text)?;
    if ttl < MIN_TTL {
        return Err(format!(
            "a ttl of {} is too short to keep alive: use at least {}",
            humantime::format_duration(ttl),
            humantime::format_duration(MIN_TTL)
        ));
    }
    if ttl > MAX_TTL {
        return Err(format!(
            "a ttl of {} is too long: use at most {}",
            humantime::format_duration(ttl),
            humantime::format_duration(MAX_TTL)
        ));
    }
    Ok(ttl)
}

/// The shortest interval between two progress lines (`--progress`): more often would fill a
/// CI log.
pub const MIN_PROGRESS: Duration = Duration::from_secs(1);

/// Parses `--progress`: `0` (or any zero duration) for none, otherwise a duration of at least
/// [`MIN_PROGRESS`].
pub fn parse_progress(text: &str) -> Result<Duration, String> {
    if text.trim() == "0" {
        return Ok(Duration::ZERO);
    }
    let every = parse(text)?;
    if !every.is_zero() && every < MIN_PROGRESS {
        return Err(format!(
            "progress lines every {} would be too many: give at least {}, or 0 for none",
            humantime::format_duration(every),
            humantime::format_duration(MIN_PROGRESS)
        ));
    }
    Ok(every)
}

/// Parses `--timeout`: how long the command may run, a duration above zero.
pub fn parse_timeout(text: &str) -> Result<Duration, String> {
    // A bare 0 is refused for being 0, not for its missing unit (0s would be refused next).
    let zero = text.trim().parse::<f64>().is_ok_and(|number| number == 0.0);
    if zero || parse(text)?.is_zero() {
        return Err("a --timeout of 0 would stop the command as it starts: give how long it may \
                    run, such as 90s or 1h (leave --timeout out for no limit)"
            .into());
    }
    parse(text)
}

/// A duration for people: whole milliseconds, with the larger units humantime picks.
pub fn show(duration: Duration) -> String {
    let millis = Duration::from_millis(u64::try_from(duration.as_millis()).unwrap_or(u64::MAX));
    humantime::format_duration(millis).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_units() {
        assert_eq!(parse("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse("30s"), Ok(Duration::from_secs(30)));
        assert_eq!(parse("1m 30s"), Ok(Duration::from_secs(90)));
    }

    #[test]
    fn refuses_bare_numbers_with_a_hint() {
        let err = parse("30").unwrap_err();
        assert!(err.contains("30s"), "{err}");
        assert!(parse("1.5").unwrap_err().contains("no unit"));
        assert!(parse("").is_err());
        assert!(parse("soon").unwrap_err().contains("30s"));
        // No hint that would not parse either ("-1s", "infs").
        for text in ["-1", "inf", "1e3", ".5"] {
            let err = parse(text).unwrap_err();
            assert!(err.contains("is not a duration"), "{err}");
        }
    }

    #[test]
    fn ttl_bounds() {
        assert!(parse_ttl("10ms").unwrap_err().contains("too short"));
        assert!(parse_ttl("5y").unwrap_err().contains("too long"));
        assert_eq!(parse_ttl("100ms"), Ok(MIN_TTL));
    }

    #[test]
    fn progress_is_zero_for_none_or_at_least_a_second() {
        assert_eq!(parse_progress("0"), Ok(Duration::ZERO));
        assert_eq!(parse_progress("0s"), Ok(Duration::ZERO));
        assert_eq!(parse_progress("1s"), Ok(MIN_PROGRESS));
        assert_eq!(parse_progress("2m"), Ok(Duration::from_secs(120)));
        assert!(parse_progress("500ms").unwrap_err().contains("at least 1s, or 0 for none"));
        assert!(parse_progress("10").unwrap_err().contains("no unit"));
    }

    #[test]
    fn a_timeout_is_above_zero() {
        assert_eq!(parse_timeout("1s"), Ok(Duration::from_secs(1)));
        assert_eq!(parse_timeout("1ms"), Ok(Duration::from_millis(1)));
        for zero in ["0s", "0ms", "0 s", "0", "0.0"] {
            assert!(parse_timeout(zero).unwrap_err().contains("0 would stop"), "{zero}");
        }
        assert!(parse_timeout("5").unwrap_err().contains("no unit"));
        assert!(parse_timeout("soon").unwrap_err().contains("is not a duration"));
    }

    #[test]
    fn show_rounds_to_milliseconds() {
        assert_eq!(show(Duration::from_micros(1_500_700)), "1s 500ms");
    }
}
