//! The committed shell completions and man page: up to date with the binary, rendering cleanly,
//! and completing in a real bash.

use std::path::{Path, PathBuf};
use std::process::Command;

use rlock::COMPLETION_FILES;

/// The one command that rewrites every generated file.
const REGENERATE: &str = "RLOCK_REGENERATE=1 cargo test --test it generated_files_are_up_to_date";

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// What `rlock ARGS` prints (nothing here needs Redis).
fn rlock_prints(args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_rlock")).args(args).output().unwrap();
    assert!(out.status.success(), "rlock {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

/// Every generated file: where it is committed, and what the binary makes of it now.
fn generated() -> Vec<(PathBuf, String)> {
    let mut all: Vec<(PathBuf, String)> = COMPLETION_FILES
        .iter()
        .map(|(shell, file)| {
            (
                root().join("completions").join(file),
                rlock_prints(&["completions", &shell.to_string()]),
            )
        })
        .collect();
    all.push((root().join("man/rlock.1"), rlock_prints(&["man"])));
    all
}

#[test]
fn generated_files_are_up_to_date() {
    if std::env::var_os("RLOCK_REGENERATE").is_some() {
        for (path, text) in generated() {
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(&path, text).unwrap();
        }
        return;
    }
    let stale: Vec<String> = generated()
        .into_iter()
        .filter(|(path, text)| std::fs::read_to_string(path).ok().as_ref() != Some(text))
        .map(|(path, _)| path.strip_prefix(root()).unwrap().display().to_string())
        .collect();
    assert!(
        stale.is_empty(),
        "stale or missing: {}; regenerate them with: {REGENERATE}",
        stale.join(", ")
    );
}

#[test]
fn the_man_page_renders_cleanly_with_every_section() {
    let page = root().join("man/rlock.1");
    // groff's own warnings (-ww), with the output thrown away.
    // (C.UTF-8 exists everywhere: a missing locale would be a warning of its own.)
    let check = Command::new("groff")
        .args(["-man", "-Tutf8", "-ww", "-z"])
        .arg(&page)
        .env("LC_ALL", "C.UTF-8")
        .output();
    let check = check.expect("groff is needed (Debian: groff-base)");
    assert!(check.status.success() && check.stderr.is_empty(), "{check:?}");
    let out = Command::new("man")
        .arg("-l")
        .arg(&page)
        .env("MANWIDTH", "100")
        .env("LC_ALL", "C.UTF-8")
        .env("MANPAGER", "cat")
        .env("PAGER", "cat")
        .output()
        .expect("man is needed (Debian: man-db)");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success() && stderr.is_empty(), "man -l: {stderr}");
    let text = String::from_utf8(out.stdout).unwrap();
    for section in ["NAME", "SYNOPSIS", "DESCRIPTION", "OPTIONS", "COMMANDS", "EXIT STATUS"] {
        assert!(text.lines().any(|line| line == section), "no {section} section:\n{text}");
    }
    for section in ["ENVIRONMENT", "EXAMPLES", "SEE ALSO"] {
        assert!(text.lines().any(|line| line == section), "no {section} section:\n{text}");
    }
    for sub in ["run", "acquire", "refresh", "release", "ttl", "status", "break", "list"] {
        let heading = format!("   rlock {sub}");
        assert!(text.lines().any(|line| line == heading), "no subsection for {sub}:\n{text}");
    }
    for word in ["RLOCK_REDIS", "RLOCK_FENCE", "NO_COLOR", "124", "125", "--limit <N>"] {
        assert!(text.contains(word), "no {word}:\n{text}");
    }
}

/// What bash's completion offers for `words` (the last one being completed), with the committed
/// completions/rlock.bash sourced.
fn bash_completes(words: &[&str]) -> Vec<String> {
    let quoted: Vec<String> = words.iter().map(|word| format!("'{word}'")).collect();
    let script = format!(
        r#"source '{}'
COMP_WORDS=({})
COMP_CWORD=$(( ${{#COMP_WORDS[@]}} - 1 ))
COMP_LINE="${{COMP_WORDS[*]}}"
COMP_POINT=${{#COMP_LINE}}
function=$(complete -p rlock | sed -n 's/.*-F \([^ ]*\) .*/\1/p')
"$function" rlock "${{COMP_WORDS[COMP_CWORD]}}" "${{COMP_WORDS[COMP_CWORD-1]}}"
printf '%s\n' "${{COMPREPLY[@]}}""#,
        root().join("completions/rlock.bash").display(),
        quoted.join(" "),
    );
    let out = Command::new("bash").arg("--norc").arg("-c").arg(script).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap().lines().map(|line| line.trim().to_owned()).collect()
}

#[test]
fn bash_completes_subcommands_options_and_values() {
    let subcommands = bash_completes(&["rlock", ""]);
    for sub in ["run", "acquire", "refresh", "release", "ttl", "status", "break", "list", "man"] {
        assert!(subcommands.iter().any(|word| word == sub), "{sub} missing: {subcommands:?}");
    }
    assert_eq!(bash_completes(&["rlock", "st"]), ["status"]);
    let options = bash_completes(&["rlock", "run", "--"]);
    for option in ["--ttl", "--wait", "--no-wait", "--limit", "--shared", "--kill-grace", "--redis"]
    {
        assert!(options.iter().any(|word| word == option), "{option} missing: {options:?}");
    }
    let words = bash_completes(&["rlock", "completions", ""]);
    let shells: Vec<&String> = words.iter().filter(|word| !word.starts_with('-')).collect();
    assert_eq!(shells, ["bash", "elvish", "fish", "powershell", "zsh"]);
}

#[test]
fn a_closed_pipe_is_no_error() {
    // A pipe whose reading end is already closed: every write fails (EPIPE).
    for args in [&["completions", "powershell"][..], &["man"][..], &["--help"][..]] {
        let (reader, writer) = nix::unistd::pipe().unwrap();
        drop(reader);
        let out = Command::new(env!("CARGO_BIN_EXE_rlock"))
            .args(args)
            .stdout(std::process::Stdio::from(writer))
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
        assert_eq!(out.status.code(), Some(0), "{args:?}: {stderr}");
    }
}
