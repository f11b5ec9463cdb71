//! The documentation's links: every relative link in README.md, ARCHITECTURE.md and docs/*.md
//! names a file that exists, and every `#anchor` names a heading of its target, by GitHub's rule
//! for heading ids.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// GitHub's id for a heading's text: lowercase; every character that is not a letter, a digit,
/// a space, a hyphen or an underscore dropped; spaces turned into hyphens.
fn slug(heading: &str) -> String {
    heading
        .to_lowercase()
        .chars()
        .filter(|c| c.is_alphanumeric() || matches!(c, ' ' | '-' | '_'))
        .map(|c| if c == ' ' { '-' } else { c })
        .collect()
}

/// Whether a line opens or closes a fenced code block (``` or ~~~, indented at most 3 spaces).
fn is_fence(line: &str) -> bool {
    let indent = line.len() - line.trim_start_matches(' ').len();
    let rest = line.trim_start_matches(' ');
    indent <= 3 && (rest.starts_with("```") || rest.starts_with("~~~"))
}

/// The lines of a Markdown text outside fenced code blocks, with their line numbers (from 1).
fn prose_lines(text: &str) -> Vec<(usize, &str)> {
    let mut in_fence = false;
    let mut lines = Vec::new();
    for (index, line) in text.lines().enumerate() {
        if is_fence(line) {
            in_fence = !in_fence;
        } else if !in_fence {
            lines.push((index + 1, line));
        }
    }
    lines
}

/// The ids of a Markdown text's headings, as GitHub gives them: a repeated id gets -1, -2, ...
fn anchors(text: &str) -> Vec<String> {
    let mut seen: HashMap<String, usize> = HashMap::new();
    let mut ids = Vec::new();
    for (_, line) in prose_lines(text) {
        let hashes = line.len() - line.trim_start_matches('#').len();
        let Some(title) = line[hashes..].strip_prefix(' ') else { continue };
        if !(1..=6).contains(&hashes) {
            continue;
        }
        let base = slug(title.trim().trim_end_matches('#').trim());
        let count = seen.entry(base.clone()).or_insert(0);
        ids.push(if *count == 0 { base.clone() } else { format!("{base}-{count}") });
        *count += 1;
    }
    ids
}

/// A line without its inline code spans (text between backticks), where `](` means no link.
fn without_code_spans(line: &str) -> String {
    line.split('`').step_by(2).collect::<Vec<_>>().join(" ")
}

/// The targets of the inline links `[text](target)` on the prose lines of a Markdown text.
fn links(text: &str) -> Vec<(usize, String)> {
    let mut found = Vec::new();
    for (number, line) in prose_lines(text) {
        let line = without_code_spans(line);
        let mut rest = line.as_str();
        while let Some(start) = rest.find("](") {
            rest = &rest[start + 2..];
            let end = rest.find(')').unwrap_or(rest.len());
            let target = rest[..end].split_whitespace().next().unwrap_or("");
            found.push((number, target.to_string()));
            rest = &rest[end..];
        }
    }
    found
}

/// Every broken relative link or anchor in the given Markdown files, one line each.
fn broken_links(files: &[PathBuf]) -> Vec<String> {
    let mut broken = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(file).unwrap_or_else(|e| panic!("{file:?}: {e}"));
        let dir = file.parent().unwrap_or(Path::new("."));
        for (number, target) in links(&text) {
            let at = format!("{}:{number}: {target}", file.display());
            if target.is_empty() {
                broken.push(format!("{at}: an empty link"));
                continue;
            }
            if target.contains("://") || target.starts_with("mailto:") {
                continue;
            }
            let (path, anchor) = match target.split_once('#') {
                Some((path, anchor)) => (path, Some(anchor)),
                None => (target.as_str(), None),
            };
            let target_file = if path.is_empty() { file.clone() } else { dir.join(path) };
            if !target_file.exists() {
                broken.push(format!("{at}: no file {}", target_file.display()));
                continue;
            }
            let Some(anchor) = anchor else { continue };
            if target_file.extension().is_none_or(|ext| ext != "md") {
                broken.push(format!("{at}: an anchor into a file that is not Markdown"));
                continue;
            }
            let target_text = std::fs::read_to_string(&target_file)
                .unwrap_or_else(|e| panic!("{target_file:?}: {e}"));
            if !anchors(&target_text).iter().any(|id| id == anchor) {
                broken.push(format!(
                    "{at}: no heading with id {anchor:?} in {}",
                    target_file.display()
                ));
            }
        }
    }
    broken
}

fn documentation() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = vec![root.join("README.md"), root.join("ARCHITECTURE.md")];
    let mut docs: Vec<PathBuf> = std::fs::read_dir(root.join("docs"))
        .expect("docs/ is missing")
        .map(|entry| entry.expect("reading docs/").path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "md"))
        .collect();
    docs.sort();
    files.extend(docs);
    files
}

#[test]
fn headings_get_githubs_ids() {
    assert_eq!(slug("`run`: run a command under the lock"), "run-run-a-command-under-the-lock");
    assert_eq!(
        slug("Sharing a lock: `--limit N` and `--shared`"),
        "sharing-a-lock---limit-n-and---shared"
    );
    assert_eq!(
        slug("Passing `RLOCK_FENCE` to a database write"),
        "passing-rlock_fence-to-a-database-write"
    );
    let text =
        "# Title\n## Notes\n```\n## Not a heading\n```\n### Notes\n#Not one either\n## Notes\n";
    assert_eq!(anchors(text), ["title", "notes", "notes-1", "notes-2"]);
}

#[test]
fn links_in_code_are_not_links() {
    let text = "see [a](#a) and `[b](#b)`\n```\n[c](#c)\n```\n[d](x.md#d \"title\") [e](#e)\n";
    let targets: Vec<String> = links(text).into_iter().map(|(_, target)| target).collect();
    assert_eq!(targets, ["#a", "x.md#d", "#e"]);
}

#[test]
fn a_broken_link_is_found() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let page = dir.path().join("page.md");
    let other = dir.path().join("other.md");
    std::fs::write(&other, "# Other\n## Part two\n").expect("writing other.md");
    std::fs::write(
        &page,
        "# Page\n[ok](other.md#part-two) [ok](#page) [bad](other.md#part-three)\n\
         [bad](missing.md) [bad](#nowhere)\n```\n[ignored](#nowhere)\n```\n",
    )
    .expect("writing page.md");
    let broken = broken_links(&[page]);
    assert_eq!(broken.len(), 3, "{broken:#?}");
    assert!(broken[0].contains("part-three"), "{broken:#?}");
    assert!(broken[1].contains("missing.md"), "{broken:#?}");
    assert!(broken[2].contains("nowhere"), "{broken:#?}");
}

#[test]
fn every_link_in_the_documentation_resolves() {
    let files = documentation();
    assert!(files.len() > 1, "no docs/*.md found");
    let broken = broken_links(&files);
    assert!(broken.is_empty(), "broken links:\n{}", broken.join("\n"));
}
