//! `rlock completions SHELL` and `rlock man`: shell completions (clap_complete) and the man page
//! (clap_mangen, with rlock's own EXIT STATUS, ENVIRONMENT and EXAMPLES sections), both made
//! from the definitions in [`crate::cli`]. Copies are committed in `completions/` and `man/`, and
//! a test checks that they are up to date.

use std::io::Write;

use anyhow::{Context, Result};
use clap::ValueEnum;
use clap_complete::Shell;
use clap_mangen::roff::{Roff, bold, roman};

use crate::cli;
use crate::exit;

/// The committed completion file for each shell, under `completions/`, named as each shell's
/// completion loader expects it.
pub const COMPLETION_FILES: [(Shell, &str); 5] = [
    (Shell::Bash, "rlock.bash"),
    (Shell::Zsh, "_rlock"),
    (Shell::Fish, "rlock.fish"),
    (Shell::Elvish, "rlock.elv"),
    (Shell::PowerShell, "_rlock.ps1"),
];

/// What rlock gives the command it runs, beside the environment it had.
pub const CHILD_ENVIRONMENT: [(&str, &str); 4] = [
    ("RLOCK_KEY", "the lock's name, as given (without the prefix)"),
    ("RLOCK_TOKEN", "this holder's secret token"),
    (
        "RLOCK_FENCE",
        "the fencing number: it grows with every acquisition of the lock (each holder of a \
         shared or limited lock has its own). Pass it to storage that can refuse writes carrying \
         a smaller one than it has seen",
    ),
    ("RLOCK_TTL_MS", "the lock's ttl in milliseconds"),
];

/// The completion script for `shell`: clap_complete's, with what it leaves out: the command after
/// `rlock run ... --` (zsh has it from clap's value hint, once narrowed to the words after `--`),
/// and in fish the shell names of `rlock completions`. (Made in memory: clap_complete panics when it cannot write,
/// as into a pipe closed early.)
pub fn completions(shell: Shell) -> Vec<u8> {
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut cli::completion_command(), "rlock", &mut script);
    match shell {
        // clap's `*::` would hand the lock's name to the command's completion as its first word;
        // `*:::` gives it only the words after `--`.
        Shell::Zsh => {
            let rest =
                String::from_utf8_lossy(&script).replace("'*::command -- ", "'*:::command -- ");
            script = rest.into_bytes();
        }
        Shell::Bash => script.extend_from_slice(include_bytes!("generate/run-command.bash")),
        Shell::Fish => {
            // Not rlock's own options once the command has begun.
            let run = "-n \"__fish_rlock_using_subcommand run\"";
            let before_command =
                "-n \"__fish_rlock_using_subcommand run; and not __fish_rlock_command_start\"";
            script = String::from_utf8_lossy(&script).replace(run, before_command).into_bytes();
            script.extend_from_slice(include_bytes!("generate/run-command.fish"));
            let shells: Vec<String> =
                Shell::value_variants().iter().map(|shell| shell.to_string()).collect();
            let names = format!(
                "complete -c rlock -n \"__fish_rlock_using_subcommand completions\" -f -a \"{}\"\n",
                shells.join(" ")
            );
            script.extend_from_slice(names.as_bytes());
        }
        _ => {}
    }
    script
}

/// The man page, `rlock.1`.
pub fn man_page() -> Result<Vec<u8>> {
    let mut page = Vec::new();
    write_man_page(&mut page)?;
    Ok(page)
}

fn write_man_page(out: &mut dyn Write) -> Result<()> {
    let mut command = cli::command();
    let man = clap_mangen::Man::new(command.clone()).date("");
    let failed = "cannot write the man page";
    man.render_title(out).context(failed)?;
    man.render_name_section(out).context(failed)?;
    synopsis(&mut command, "SH", out).context(failed)?;
    man.render_description_section(out).context(failed)?;
    man.render_options_section(out).context(failed)?;

    let mut page = Roff::new();
    page.control("SH", ["COMMANDS"]);
    out.write_all(page.to_roff().as_bytes()).context(failed)?;
    for sub in command.get_subcommands().filter(|sub| !sub.is_hide_set()) {
        subcommand(sub, out).context(failed)?;
    }

    let mut page = Roff::new();
    page.control("SH", ["EXIT STATUS"]);
    for (code, meaning) in exit::TABLE {
        page.control("TP", []).text([bold(code)]).text([roman(meaning)]);
    }

    page.control("SH", ["ENVIRONMENT"]);
    page.text([roman("rlock reads these (an option given on the command line wins):")]);
    for arg in command.get_arguments() {
        if let (Some(name), Some(long)) = (arg.get_env(), arg.get_long()) {
            page.control("TP", []).text([bold(name.to_string_lossy())]);
            page.text([roman("as "), bold(format!("--{long}"))]);
        }
    }
    page.control("TP", []).text([bold("NO_COLOR")]);
    page.text([roman(
        "Set (and not empty): no styling (bold, colour) in help and usage errors. rlock's own \
         messages, the waiting line among them, have none anyway.",
    )]);
    page.control("TP", []).text([bold("TERM")]);
    page.text([roman(
        "dumb: rlock prints plain progress lines while it waits, as when stderr is not a \
         terminal, instead of one line rewritten in place.",
    )]);
    page.control("PP", []);
    page.text([roman("The command run by "), bold("rlock run"), roman(" gets these:")]);
    for (name, meaning) in CHILD_ENVIRONMENT {
        page.control("TP", []).text([bold(name)]).text([roman(meaning)]);
    }

    page.control("SH", ["EXAMPLES"]);
    for line in cli::EXAMPLE_LINES.lines() {
        let line = line.trim();
        let (example, says) = line.split_once("  ").unwrap_or((line, ""));
        page.control("TP", []).text([bold(example.trim())]);
        page.text([roman(if says.trim().is_empty() { "\u{a0}" } else { says.trim() })]);
    }

    page.control("SH", ["SEE ALSO"]);
    page.text([
        bold("flock"),
        roman("(1), "),
        bold("timeout"),
        roman("(1), "),
        bold("redis-cli"),
        roman(
            "(1), and the documentation in docs/ of rlock's source: docs/usage.md explains \
               every subcommand, waiting and sharing a lock in full, docs/deployment.md quorum \
               mode, Redis Cluster, Sentinel, TLS and ACL users, and docs/safety.md what a lock \
               promises.",
        ),
    ]);
    out.write_all(page.to_roff().as_bytes()).context(failed)?;
    man.render_version_section(out).context(failed)?;
    Ok(())
}

/// A command's usage line, as `--help` shows it (clap_mangen's own synopsis would list every
/// option without its value, and `run`'s command as optional), after a `.SH SYNOPSIS` heading or a
/// `.PP` paragraph break.
fn synopsis(
    command: &mut clap::Command,
    control: &str,
    out: &mut dyn Write,
) -> std::io::Result<()> {
    let usage = command.render_usage().to_string();
    let usage = usage.trim().trim_start_matches("Usage:").trim();
    let mut page = Roff::new();
    match control {
        "SH" => page.control("SH", ["SYNOPSIS"]),
        _ => page.control(control, []),
    };
    page.text([bold(usage)]);
    out.write_all(page.to_roff().as_bytes())
}

/// One subcommand of the COMMANDS section: its synopsis, what it does and its own options (the
/// global ones are under OPTIONS), as clap_mangen renders them for a page of its own, under a
/// subsection heading instead of section ones; then its notes and examples, line by line.
fn subcommand(sub: &clap::Command, out: &mut dyn Write) -> std::io::Result<()> {
    let name = format!("rlock {}", sub.get_name());
    // Less its copy of the global options, which OPTIONS shows.
    let mut sub = sub.clone().bin_name(&name).mut_args(|arg| {
        let id = arg.get_id().as_str();
        let global = cli::REDIS_IDS.contains(&id) || cli::OUTPUT_IDS.contains(&id);
        if global { arg.hide(true) } else { arg }
    });
    let man = clap_mangen::Man::new(sub.clone());
    let mut heading = Roff::new();
    heading.control("SS", [name.as_str()]);
    out.write_all(heading.to_roff().as_bytes())?;
    synopsis(&mut sub, "PP", out)?;
    let mut body = Vec::new();
    man.render_description_section(&mut body)?;
    man.render_options_section(&mut body)?;
    for line in String::from_utf8_lossy(&body).lines() {
        // A new paragraph where the page of its own would start a section.
        if line.starts_with(".SH ") { writeln!(out, ".PP")? } else { writeln!(out, "{line}")? }
    }
    if let Some(notes) = sub.get_after_help() {
        let mut notes_roff = Roff::new();
        notes_roff.control("PP", []).control("nf", []);
        for line in notes.to_string().lines() {
            notes_roff.text([roman(line)]);
        }
        notes_roff.control("fi", []);
        out.write_all(notes_roff.to_roff().as_bytes())?;
    }
    Ok(())
}
