//! The documentation's links resolve.
//!
//! Reads `README.md`, `ARCHITECTURE.md` (when it exists) and every Markdown file under `docs/`,
//! takes every link and image target in them — `[text](target)`, `![alt](target)`, reference
//! definitions `[label]: target`, and HTML `src="…"` / `href="…"` — outside code blocks and
//! code spans, and checks that each relative target names a file or folder that exists,
//! relative to the file holding the link. A `#fragment` into a Markdown file (or a pure
//! `#fragment` into the same file) must name one of its headings by GitHub's slug rule:
//! lowercase, punctuation other than `-` and `_` dropped, spaces turned into `-`, and `-1`,
//! `-2`, … after repeated headings. Absolute URLs (`http:`, `https:`, `mailto:`) are not
//! followed. Every page under `docs/` must also be listed in `docs/SUMMARY.md` (the mdBook's
//! table of contents), so that no page is left out of the book.

use std::collections::{BTreeSet, HashMap};
use std::fs;
use std::path::{Component, Path, PathBuf};

/// One link target, and where it stands.
#[derive(Debug)]
struct Link {
    file: PathBuf,
    line: usize,
    target: String,
}

fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The checked files: the README, ARCHITECTURE.md if present, and `docs/**/*.md`, sorted.
fn markdown_files(root: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = ["README.md", "ARCHITECTURE.md"]
        .iter()
        .map(|name| root.join(name))
        .filter(|path| path.is_file())
        .collect();
    let mut docs = Vec::new();
    collect_markdown(&root.join("docs"), &mut docs);
    docs.sort();
    files.extend(docs);
    files
}

fn collect_markdown(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            collect_markdown(&path, out);
        } else if path.extension().is_some_and(|ext| ext == "md") {
            out.push(path);
        }
    }
}

/// The file's lines with fenced code blocks emptied, so that neither their text nor a `#` at
/// their start counts as a link or a heading.
fn outside_fences(text: &str) -> Vec<String> {
    let mut fence: Option<String> = None;
    let mut lines = Vec::new();
    for line in text.lines() {
        let trimmed = line.trim_start();
        let marker: String = trimmed
            .chars()
            .take_while(|&c| c == '`' || c == '~')
            .collect();
        let opens = marker.len() >= 3 && marker.chars().all(|c| c == marker.as_bytes()[0] as char);
        match &fence {
            Some(open) if opens && marker.starts_with(open.as_str()) => fence = None,
            Some(_) => {}
            None if opens => fence = Some(marker),
            None => {
                lines.push(line.to_string());
                continue;
            }
        }
        lines.push(String::new());
    }
    lines
}

/// `line` without its code spans (text between two runs of the same number of backticks).
fn without_code_spans(line: &str) -> String {
    let mut out = String::new();
    let mut rest = line;
    while let Some(start) = rest.find('`') {
        let run = rest[start..].chars().take_while(|&c| c == '`').count();
        let after = &rest[start + run..];
        let close = find_backtick_run(after, run);
        out.push_str(&rest[..start]);
        match close {
            Some(end) => rest = &after[end + run..],
            None => {
                out.push_str(&rest[start..start + run]);
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// Where a run of exactly `run` backticks starts in `text`.
fn find_backtick_run(text: &str, run: usize) -> Option<usize> {
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] != b'`' {
            i += 1;
            continue;
        }
        let len = bytes[i..].iter().take_while(|&&b| b == b'`').count();
        if len == run {
            return Some(i);
        }
        i += len;
    }
    None
}

/// Every link target on one line of prose.
fn targets_in_line(line: &str) -> Vec<String> {
    let mut targets = Vec::new();
    let mut rest = line;
    while let Some(at) = rest.find("](") {
        let after = &rest[at + 2..];
        if let Some(target) = destination(after) {
            targets.push(target);
        }
        rest = after;
    }
    if let Some(target) = reference_definition(line) {
        targets.push(target);
    }
    for attribute in ["src=", "href="] {
        targets.extend(html_attribute(line, attribute));
    }
    targets
}

/// The destination at the start of `text`, which follows `](`: `<…>`, or up to white space
/// or the `)` that closes the link (parentheses inside it balanced).
fn destination(text: &str) -> Option<String> {
    let text = text.trim_start();
    if let Some(inner) = text.strip_prefix('<') {
        return inner.find('>').map(|end| inner[..end].to_string());
    }
    let mut depth = 0usize;
    for (i, c) in text.char_indices() {
        match c {
            '(' => depth += 1,
            ')' if depth == 0 => return Some(text[..i].to_string()),
            ')' => depth -= 1,
            c if c.is_whitespace() => return Some(text[..i].to_string()),
            _ => {}
        }
    }
    None
}

/// The target of a reference definition, `[label]: target`, indented at most three spaces.
fn reference_definition(line: &str) -> Option<String> {
    let indent = line.len() - line.trim_start_matches(' ').len();
    let rest = line[indent..].strip_prefix('[').filter(|_| indent <= 3)?;
    let close = rest.find("]:")?;
    if close == 0 || rest[..close].contains(']') {
        return None;
    }
    let target = rest[close + 2..].split_whitespace().next()?;
    Some(
        target
            .trim_start_matches('<')
            .trim_end_matches('>')
            .to_string(),
    )
}

/// The values of `attribute` (`src=` or `href=`) inside HTML tags on the line.
fn html_attribute(line: &str, attribute: &str) -> Vec<String> {
    let mut values = Vec::new();
    if !line.contains('<') {
        return values;
    }
    let mut rest = line;
    while let Some(at) = rest.find(attribute) {
        rest = &rest[at + attribute.len()..];
        let Some(quote) = rest.chars().next().filter(|c| *c == '"' || *c == '\'') else {
            continue;
        };
        if let Some(end) = rest[1..].find(quote) {
            values.push(rest[1..1 + end].to_string());
            rest = &rest[1 + end..];
        }
    }
    values
}

/// Every link in one Markdown file.
fn links_in(file: &Path, text: &str) -> Vec<Link> {
    let mut links = Vec::new();
    for (index, line) in outside_fences(text).iter().enumerate() {
        for target in targets_in_line(&without_code_spans(line)) {
            links.push(Link {
                file: file.to_path_buf(),
                line: index + 1,
                target,
            });
        }
    }
    links
}

fn is_absolute_url(target: &str) -> bool {
    ["http:", "https:", "mailto:"]
        .iter()
        .any(|scheme| target.to_ascii_lowercase().starts_with(scheme))
}

/// GitHub's anchor for a heading's text.
fn slug(heading: &str) -> String {
    heading
        .trim()
        .to_lowercase()
        .chars()
        .filter_map(|c| match c {
            ' ' => Some('-'),
            c if c.is_alphanumeric() || c == '-' || c == '_' => Some(c),
            _ => None,
        })
        .collect()
}

/// The anchors of every ATX heading (`#` to `######`) in a Markdown text, repeated headings
/// numbered as GitHub numbers them.
fn anchors(text: &str) -> BTreeSet<String> {
    let mut seen: HashMap<String, usize> = HashMap::new();
    let mut anchors = BTreeSet::new();
    for line in outside_fences(text) {
        let Some(heading) = heading_text(&line) else {
            continue;
        };
        let base = slug(&heading);
        let count = seen.entry(base.clone()).or_insert(0);
        anchors.insert(match *count {
            0 => base.clone(),
            n => format!("{base}-{n}"),
        });
        *count += 1;
    }
    anchors
}

/// The text of an ATX heading line, or None.
fn heading_text(line: &str) -> Option<String> {
    let trimmed = line.trim_start();
    let level = trimmed.chars().take_while(|&c| c == '#').count();
    let rest = &trimmed[level..];
    if !(1..=6).contains(&level) || !(rest.is_empty() || rest.starts_with(' ')) {
        return None;
    }
    Some(rest.trim().trim_end_matches('#').to_string())
}

/// `%XX` escapes in a link's path decoded (`%20` for a space).
fn percent_decoded(path: &str) -> String {
    let bytes = path.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = (bytes[i] == b'%')
            .then(|| path.get(i + 1..i + 3))
            .flatten()
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match hex {
            Some(byte) => {
                out.push(byte);
                i += 3;
            }
            None => {
                out.push(bytes[i]);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Checks one link; the error names the file, the line and the target.
fn check(link: &Link, root: &Path) -> Result<(), String> {
    let (path, fragment) = match link.target.split_once('#') {
        Some((path, fragment)) => (path, Some(fragment)),
        None => (link.target.as_str(), None),
    };
    let shown = link.file.strip_prefix(root).unwrap_or(&link.file).display();
    let fail = |why: String| Err(format!("{shown}:{}: `{}`: {why}", link.line, link.target));
    let resolved = if path.is_empty() {
        link.file.clone()
    } else {
        link.file.parent().unwrap().join(percent_decoded(path))
    };
    if !resolved.exists() {
        return fail(format!(
            "no such file: {}",
            normalised(&resolved, root).display()
        ));
    }
    let Some(fragment) = fragment.filter(|f| !f.is_empty()) else {
        return Ok(());
    };
    if resolved.extension().is_none_or(|ext| ext != "md") {
        return Ok(());
    }
    let text = fs::read_to_string(&resolved).map_err(|e| e.to_string())?;
    if anchors(&text).contains(fragment) {
        return Ok(());
    }
    fail(format!(
        "no heading with the anchor `#{fragment}` in that file"
    ))
}

/// `path` without `.` and `..` components, relative to the repository when inside it.
fn normalised(path: &Path, root: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for component in path.components() {
        match component {
            Component::ParentDir => {
                out.pop();
            }
            Component::CurDir => {}
            other => out.push(other),
        }
    }
    out.strip_prefix(root).map(Path::to_path_buf).unwrap_or(out)
}

#[test]
fn every_relative_link_and_image_resolves() {
    let root = repo_root();
    let files = markdown_files(&root);
    assert!(files.iter().any(|f| f.ends_with("docs/SUMMARY.md")));
    let mut checked = 0;
    let mut errors = Vec::new();
    for file in &files {
        let text = fs::read_to_string(file).unwrap();
        for link in links_in(file, &text) {
            if is_absolute_url(&link.target) {
                continue;
            }
            checked += 1;
            errors.extend(check(&link, &root).err());
        }
    }
    assert!(checked > 100, "only {checked} relative links found");
    assert!(
        errors.is_empty(),
        "{} broken link(s):\n{}",
        errors.len(),
        errors.join("\n")
    );
}

#[test]
fn every_page_of_the_book_is_in_the_summary() {
    let root = repo_root();
    let docs = root.join("docs");
    let summary = docs.join("SUMMARY.md");
    let text = fs::read_to_string(&summary).unwrap();
    assert_eq!(
        text.lines().next(),
        Some("# Summary"),
        "SUMMARY.md's first line"
    );
    let mut listed = BTreeSet::new();
    let mut errors = Vec::new();
    for link in links_in(&summary, &text) {
        let path = link.target.split('#').next().unwrap();
        if is_absolute_url(path) || path.starts_with("..") || !path.ends_with(".md") {
            errors.push(format!(
                "docs/SUMMARY.md:{}: `{}`: not a page inside docs/",
                link.line, link.target
            ));
        }
        listed.insert(normalised(&docs.join(path), &root));
    }
    let mut pages = Vec::new();
    collect_markdown(&docs, &mut pages);
    for page in pages.iter().map(|p| normalised(p, &root)) {
        if page != Path::new("docs/SUMMARY.md") && !listed.contains(&page) {
            errors.push(format!("{}: not listed in docs/SUMMARY.md", page.display()));
        }
    }
    assert!(errors.is_empty(), "{}", errors.join("\n"));
}

#[test]
fn the_link_reader_finds_every_form_and_skips_code() {
    let text = "A [link](a.md#x) and ![img](b.png \"t\"), <img src=\"c.png\">,\n\
                [ref]: d.md\n\
                `[not](e.md)` and\n\
                ```\n[not](f.md)\n```\n\
                [nested ![i](g.png)](h.md) [paren](i_(j).md) [angle](<k l.md>)\n";
    let targets: Vec<String> = links_in(Path::new("x.md"), text)
        .into_iter()
        .map(|link| format!("{}:{}", link.line, link.target))
        .collect();
    let expected = [
        "1:a.md#x",
        "1:b.png",
        "1:c.png",
        "2:d.md",
        "7:g.png",
        "7:h.md",
        "7:i_(j).md",
        "7:k l.md",
    ];
    assert_eq!(targets, expected);
}

#[test]
fn anchors_follow_githubs_slug_rule() {
    let text = "# The comparison table (`experiments/ablation.toml`)\n\
                ## Planning seeds: 10% more, *again*\n\
                ## Performance → GPU\n\
                ## Repeated\n## Repeated\n\
                ```\n# not a heading\n```\n#hashtag\n";
    let found: Vec<String> = anchors(text).into_iter().collect();
    let expected = [
        "performance--gpu",
        "planning-seeds-10-more-again",
        "repeated",
        "repeated-1",
        "the-comparison-table-experimentsablationtoml",
    ];
    assert_eq!(found, expected);
}
