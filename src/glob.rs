//! Glob patterns over lock names, as `rlock list PATTERN` takes them. A pattern matches the whole
//! name: `*` any text (none too), `?` any one character, `[abc]` one of them, `[a-z]` one in the
//! range, `[!abc]` or `[^abc]` any one but them, and `\` takes the next character as it is (`\*`,
//! `\[`). Every other character stands for itself, `{` and `}` too (they are hash tags in lock
//! names, not alternatives), so a bare word matches that one name.
//!
//! rlock's own matcher rather than a crate's: the glob crates at hand either read `{a,b}` as
//! alternatives (globset), which would make hash-tagged names such as `{app}.deploy` unmatchable
//! as written, or know neither `\` escapes nor `[^abc]` (glob's `Pattern`).

use anyhow::{Result, bail};

/// A parsed pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Glob {
    parts: Vec<Part>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    /// This character.
    Char(char),
    /// `?`: any one character.
    One,
    /// `*`: any text, none too.
    Any,
    /// `[...]`: one character in (or, negated, not in) these inclusive ranges.
    Class { negated: bool, ranges: Vec<(char, char)> },
}

impl Part {
    /// Whether this part, which is not `*`, takes `c`.
    fn takes(&self, c: char) -> bool {
        match self {
            Part::Char(want) => *want == c,
            Part::One => true,
            Part::Any => false,
            Part::Class { negated, ranges } => {
                ranges.iter().any(|&(low, high)| (low..=high).contains(&c)) != *negated
            }
        }
    }
}

impl Glob {
    /// Parses `pattern`; refuses a `[` without its `]`, a backwards range and a lone `\` at the
    /// end, saying how to write what was meant.
    pub fn new(pattern: &str) -> Result<Glob> {
        let mut parts = Vec::new();
        let mut chars = pattern.chars().peekable();
        while let Some(c) = chars.next() {
            parts.push(match c {
                '*' => {
                    // `**` is `*`.
                    if parts.last() == Some(&Part::Any) {
                        continue;
                    }
                    Part::Any
                }
                '?' => Part::One,
                '\\' => Part::Char(escaped(chars.next(), pattern)?),
                '[' => class(&mut chars, pattern)?,
                c => Part::Char(c),
            });
        }
        Ok(Glob { parts })
    }

    /// Whether the whole of `name` matches.
    pub fn matches(&self, name: &str) -> bool {
        let name: Vec<char> = name.chars().collect();
        let (mut part, mut at) = (0, 0);
        // The last `*` seen and where in the name it took over: on a mismatch, it takes one
        // character more. (Every other part takes exactly one character, so this is enough.)
        let mut star: Option<(usize, usize)> = None;
        while at < name.len() {
            match self.parts.get(part) {
                Some(Part::Any) => {
                    star = Some((part, at));
                    part += 1;
                    continue;
                }
                Some(one) if one.takes(name[at]) => {
                    part += 1;
                    at += 1;
                    continue;
                }
                _ => {}
            }
            let Some((star_part, star_at)) = star else { return false };
            part = star_part + 1;
            at = star_at + 1;
            star = Some((star_part, star_at + 1));
        }
        self.parts[part..].iter().all(|rest| *rest == Part::Any)
    }
}

/// The character after a `\`.
fn escaped(next: Option<char>, pattern: &str) -> Result<char> {
    match next {
        Some(c) => Ok(c),
        None => bail!(
            "the pattern '{pattern}' ends with a lone '\\': write '\\\\' for a backslash, or drop it"
        ),
    }
}

/// A `[...]` class, its `[` already read.
fn class(chars: &mut std::iter::Peekable<std::str::Chars<'_>>, pattern: &str) -> Result<Part> {
    let negated = matches!(chars.peek(), Some('!' | '^'));
    if negated {
        chars.next();
    }
    let unclosed = || {
        anyhow::anyhow!(
            "the pattern '{pattern}' has a '[' without its ']': close it (as in 'build-[0-9]'), \
             or write '\\[' for a '['"
        )
    };
    let mut ranges = Vec::new();
    let mut first = true;
    loop {
        let c = match chars.next() {
            None => return Err(unclosed()),
            // A `]` first stands for itself.
            Some(']') if !first => break,
            Some('\\') => escaped(chars.next(), pattern)?,
            Some(c) => c,
        };
        first = false;
        let mut high = c;
        if chars.peek() == Some(&'-') {
            let mut ahead = chars.clone();
            ahead.next();
            match ahead.next() {
                // A `-` last stands for itself.
                Some(']') | None => {}
                Some(end) => {
                    chars.next();
                    chars.next();
                    high = if end == '\\' { escaped(chars.next(), pattern)? } else { end };
                    if high < c {
                        bail!(
                            "the pattern '{pattern}' has the range '{c}-{high}', which is \
                             backwards: write '{high}-{c}'"
                        );
                    }
                }
            }
        }
        ranges.push((c, high));
    }
    Ok(Part::Class { negated, ranges })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn matches(pattern: &str, name: &str) -> bool {
        Glob::new(pattern).unwrap().matches(name)
    }

    #[test]
    fn a_bare_word_is_that_name() {
        assert!(matches("deploy", "deploy"));
        assert!(!matches("dep", "deploy"));
        assert!(!matches("deploy", "mydeploy"));
        assert!(!matches("deploy", "deploy2"));
        assert!(matches("{app}.deploy", "{app}.deploy"));
        assert!(!matches("{app}.deploy", "app.deploy"));
        assert!(matches("", ""));
        assert!(!matches("", "a"));
    }

    #[test]
    fn stars_and_question_marks() {
        for pattern in ["*", "*ploy", "d*", "d*y", "*e*o*", "d?ploy", "??????", "d**y", "*deploy*"]
        {
            assert!(matches(pattern, "deploy"), "{pattern}");
        }
        for pattern in ["*x", "x*", "d?y", "???????", "?????", "*ploy?"] {
            assert!(!matches(pattern, "deploy"), "{pattern}");
        }
        assert!(matches("*", ""));
        assert!(matches("a*b*c", "aXbYbZc"));
        assert!(!matches("a*b*c", "aXbYbZ"));
        // One character, not one byte.
        assert!(matches("n?ghtly", "néghtly"));
    }

    #[test]
    fn classes() {
        assert!(matches("[d]eploy", "deploy"));
        assert!(matches("[abcd]eploy", "deploy"));
        assert!(matches("build-[0-9]", "build-7"));
        assert!(!matches("build-[0-9]", "build-x"));
        assert!(matches("[!x]eploy", "deploy"));
        assert!(matches("[^x]eploy", "deploy"));
        assert!(!matches("[!d]eploy", "deploy"));
        assert!(!matches("[^a-z]eploy", "deploy"));
        // `]` first and `-` last stand for themselves; `!` after the first place too.
        assert!(matches("a[]]", "a]"));
        assert!(matches("a[!]]", "ab"));
        assert!(matches("a[x-]", "a-"));
        assert!(matches("a[x!]", "a!"));
        assert!(matches("[a-cx-z]", "y"));
        assert!(matches("[\\]]", "]"));
    }

    #[test]
    fn backslashes_take_the_next_character_as_it_is() {
        assert!(matches("a\\*", "a*"));
        assert!(!matches("a\\*", "ab"));
        assert!(matches("what\\?", "what?"));
        assert!(matches("\\[x\\]", "[x]"));
        assert!(matches("back\\\\slash", "back\\slash"));
        assert!(matches("\\d", "d"));
    }

    #[test]
    fn broken_patterns_are_refused_with_what_to_write() {
        let err = Glob::new("build-[0-9").unwrap_err().to_string();
        assert!(err.contains("without its ']'") && err.contains("\\["), "{err}");
        assert!(Glob::new("[").is_err());
        assert!(Glob::new("[]").is_err());
        let err = Glob::new("x\\").unwrap_err().to_string();
        assert!(err.contains("lone"), "{err}");
        let err = Glob::new("[z-a]").unwrap_err().to_string();
        assert!(err.contains("'a-z'"), "{err}");
    }
}
