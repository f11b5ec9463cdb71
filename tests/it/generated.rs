//! The committed shell completions, man page and help: up to date with the binary, rendering
//! cleanly, completing in real bash, zsh and fish, and each subcommand's help showing the options
//! it takes.

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
    bash_completes_with(None, words)
}

/// [`bash_completes`], after sourcing `first` (bash-completion's own script).
fn bash_completes_with(first: Option<&Path>, words: &[&str]) -> Vec<String> {
    let quoted: Vec<String> = words.iter().map(|word| format!("'{word}'")).collect();
    let first = first.map(|path| format!("source '{}'", path.display())).unwrap_or_default();
    let script = format!(
        r#"{first}
source '{}'
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
    assert!(!words.iter().any(|word| word == "--redis"), "{words:?}");
}

/// The words of `rlock run ... -- COMMAND` lines, with what each shell must offer there: the
/// commands (whoami), the command's own completion (git's subcommands: `checkout`), and not
/// rlock's options once the command has begun.
const COMMAND_LINES: [(&str, &str); 3] = [
    ("rlock run deploy -- whoam", "whoami"),
    ("rlock run -n -t 1m deploy -- git chec", "checkout"),
    ("rlock run --shared -- -deploy -- whoam", "whoami"),
];

#[test]
fn bash_completes_the_command_after_the_double_dash() {
    let bash_completion = Path::new("/usr/share/bash-completion/bash_completion");
    assert!(bash_completion.exists(), "bash-completion is needed (Debian: bash-completion)");
    for (line, offered) in COMMAND_LINES {
        let words: Vec<&str> = line.split(' ').collect();
        // Without bash-completion, command names; with it, each command's own completion too.
        if !line.contains("git") {
            let plain = bash_completes(&words);
            assert!(plain.iter().any(|word| word == offered), "{line}: {plain:?}");
        }
        let full = bash_completes_with(Some(bash_completion), &words);
        assert!(full.iter().any(|word| word == offered), "{line}: {full:?}");
    }
    // Before the command: rlock's own options and lock names (files), not commands.
    let options = bash_completes(&["rlock", "run", "deploy", "--ti"]);
    assert_eq!(options, ["--timeout"]);
    let options = bash_completes(&["rlock", "run", "--", "-deploy", "--ti"]);
    assert!(!options.iter().any(|word| word == "whoami"), "{options:?}");
}

/// What fish offers for `line` (completed at its end), with the committed completions/rlock.fish.
fn fish_completes(line: &str) -> Vec<String> {
    let script = format!(
        "source '{}'; complete -C '{line}'",
        root().join("completions/rlock.fish").display()
    );
    let out = Command::new("fish")
        .args(["-c", &script])
        // Not the user's own configuration, but fish's completions for other commands.
        .env("XDG_CONFIG_HOME", root().join("target/no-fish-config"))
        .output()
        .expect("fish is needed (Debian: fish)");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    // Each line: the candidate, then a tab and its description.
    let text = String::from_utf8(out.stdout).unwrap();
    text.lines().map(|line| line.split('\t').next().unwrap_or("").to_owned()).collect()
}

#[test]
fn fish_completes_shell_names_and_the_command_after_the_double_dash() {
    assert_eq!(
        fish_completes("rlock completions "),
        ["bash", "elvish", "fish", "powershell", "zsh"]
    );
    for (line, offered) in COMMAND_LINES {
        let words = fish_completes(line);
        assert!(words.iter().any(|word| word == offered), "{line}: {words:?}");
    }
    // The command's options, not rlock's.
    let options = fish_completes("rlock run deploy -- ls --");
    assert!(options.iter().any(|word| word == "--all"), "{options:?}");
    assert!(!options.iter().any(|word| word == "--ttl"), "{options:?}");
    // Before the command, rlock's own; none of the Redis options where they do nothing.
    assert!(fish_completes("rlock run --ti").iter().any(|word| word == "--timeout"));
    assert!(fish_completes("rlock ttl --pre").iter().any(|word| word == "--prefix"));
    assert!(fish_completes("rlock man --").iter().all(|word| word != "--redis"));
}

/// What zsh's completion system offers for `line`, with the committed completions/_rlock.
fn zsh_completes(line: &str) -> Vec<String> {
    let out = Command::new("zsh")
        .arg("-f")
        .arg(root().join("tests/it/shells/zsh-complete.zsh"))
        .arg(root().join("completions"))
        .arg(line)
        .output()
        .expect("zsh is needed (Debian: zsh)");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8(out.stdout).unwrap();
    text.lines().map(str::trim).filter(|word| !word.is_empty()).map(str::to_owned).collect()
}

#[test]
fn zsh_completes_shell_names_and_the_command_after_the_double_dash() {
    let shells = zsh_completes("rlock completions ");
    assert_eq!(shells, ["bash", "elvish", "fish", "powershell", "zsh"]);
    // (zsh does not see past the second '--' of rlock run -- -KEY -- COMMAND.)
    for (line, offered) in &COMMAND_LINES[..2] {
        let words = zsh_completes(line);
        assert!(words.iter().any(|word| word == offered), "{line}: {words:?}");
    }
    let options = zsh_completes("rlock run deploy -- ls --");
    assert!(options.iter().any(|word| word == "--all"), "{options:?}");
    assert!(!options.iter().any(|word| word == "--ttl"), "{options:?}");
    assert!(zsh_completes("rlock run --ti").iter().any(|word| word == "--timeout"));
}

/// The Redis options, as `--help` shows them.
const REDIS_OPTIONS: [&str; 7] =
    ["--redis", "--cluster", "--tls-ca", "--tls-cert", "--tls-key", "--replicas", "--prefix"];

#[test]
fn each_subcommand_shows_the_redis_options_only_if_it_uses_redis() {
    let uses_redis =
        ["run", "acquire", "refresh", "release", "ttl", "status", "break", "list", "log"];
    for sub in uses_redis {
        let help = rlock_prints(&[sub, "--help"]);
        let heading = help.find("\nRedis options:\n").unwrap_or_else(|| panic!("{sub}: {help}"));
        for option in REDIS_OPTIONS {
            assert!(help[heading..].contains(option), "{sub}: no {option} under the heading");
        }
        assert!(help.contains("--verbose") && help.contains("--quiet"), "{sub}: {help}");
    }
    for sub in ["completions", "man"] {
        let help = rlock_prints(&[sub, "--help"]);
        for option in REDIS_OPTIONS.iter().chain(&["Redis options"]) {
            assert!(!help.contains(option), "{sub} shows {option}: {help}");
        }
        assert!(help.contains("--quiet"), "{sub}: {help}");
    }
    // The usage lines: run's command is required, after '--'; the same in the man page.
    let run = rlock_prints(&["run", "--help"]);
    let usage = "rlock run [OPTIONS] <KEY> -- <COMMAND>...";
    assert!(run.contains(&format!("Usage: {usage}")), "{run}");
    let page = std::fs::read_to_string(root().join("man/rlock.1")).unwrap();
    assert!(page.contains(&usage.replace('-', "\\-")), "the man page's run synopsis");
    assert!(!page.contains("<KEY> [COMMAND]"), "the man page shows the command as optional");
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
