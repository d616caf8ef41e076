//! `--format checklist`: the rotation plan as a Markdown checklist to paste into an issue, one
//! `- [ ]` item per key to rotate (provider, masked key, where it leaked, the rotation link and
//! steps), then the places that use it, revoking the old key, and verifying. Keys that were only
//! staged need no rotation and are listed apart.
//!
//! Everything that comes from the repository (paths, authors, remotes, and the rules' own text,
//! which a repository's `.keyrot.toml` may set) is made inert Markdown: paths and values as code
//! spans no backtick inside can close, other text with Markdown's punctuation backslash-escaped.

use super::{escape, public_id, short, shown_secret, Report, Row};
use crate::findings::Finding;
use crate::rotation::Exposure;
use crate::verify::Verification;
use std::fmt::Write;

pub fn render(report: &Report) -> String {
    let order = report.rotation_order();
    let (rotate, unstage): (Vec<&Row>, Vec<&Row>) = order.into_iter().partition(|row| {
        row.facts.as_ref().and_then(|f| f.exposure.as_ref()).is_some_and(Exposure::needs_rotation)
    });
    let mut out = String::new();
    if !report.errors.is_empty() || !report.notices.is_empty() {
        out.push_str("## Read this first\n\n");
        for error in &report.errors {
            let _ = writeln!(out, "- **Not scanned:** {}", escape(error));
        }
        for notice in &report.notices {
            let _ = writeln!(out, "- **Notice:** {}", escape(notice));
        }
        out.push('\n');
    }
    out.push_str("## Keys to rotate\n\n");
    if rotate.is_empty() {
        out.push_str("Nothing to rotate: no secret found in this scan reached a commit.\n");
    }
    for row in rotate {
        item(&mut out, row);
    }
    if !unstage.is_empty() {
        out.push_str("\n## Remove before committing\n\n");
        for row in unstage {
            let f = &row.finding;
            let _ = writeln!(
                out,
                "- [ ] Unstage {} from {} (not committed: no rotation needed)",
                name(f),
                code(&f.first().path)
            );
        }
    }
    out
}

fn name(f: &Finding) -> String {
    let what = match shown_secret(f, super::Reveal::Masked) {
        Some(masked) => format!("{} {}", plain(&f.rule.description), code(&masked)),
        None => plain(&f.rule.description),
    };
    match &f.rule.provider {
        Some(provider) => format!("**{}** {what}", plain(provider)),
        None => what,
    }
}

fn item(out: &mut String, row: &Row) {
    let f = &row.finding;
    let facts = row.facts.as_ref().expect("rotation rows have facts");
    let mut line = format!("- [ ] Rotate {}", name(f));
    if let Some(id) = public_id(f) {
        let _ = write!(line, " (key id {})", code(&id));
    }
    match &facts.exposure {
        Some(Exposure::Pushed(remotes)) => {
            let remotes: Vec<String> = remotes.iter().map(|r| plain(r)).collect();
            let _ = write!(line, ": **pushed** to {}", remotes.join(", "));
        }
        _ => line.push_str(": committed locally, not pushed"),
    }
    if let Some(first) = &facts.first_seen {
        let _ = write!(
            line,
            ", first committed {} by {} in `{}`",
            crate::time::date(first.time, first.offset_minutes),
            plain(&first.author),
            short(first)
        );
    }
    match &row.verification {
        Some(Verification::Live) if row.rotation_failed() => {
            line.push_str(": **ROTATION FAILED: the old key still works**")
        }
        Some(Verification::Live) => line.push_str(": **the key still works**"),
        Some(Verification::Dead) => line.push_str(": the provider refuses the key"),
        Some(Verification::Unknown(reason)) => {
            let _ = write!(line, ": not verified ({})", plain(&reason.to_string()));
        }
        None => {}
    }
    let _ = writeln!(out, "{line}");
    match &f.rule.rotate {
        Some(rotate) => {
            let _ = writeln!(out, "  - [ ] Open {}", link(&rotate.url));
            for step in rotate.steps.iter() {
                let _ = writeln!(out, "  - [ ] {}", plain(step));
            }
        }
        None => {
            let _ = writeln!(out, "  - [ ] Replace this credential with its issuer and revoke the old one");
        }
    }
    let mut places: Vec<String> = f
        .locations
        .iter()
        .map(|l| if l.line > 0 { code(&format!("{}:{}", l.path, l.line)) } else { code(&l.path) })
        .collect();
    places.dedup();
    let _ = writeln!(out, "  - [ ] Update the places that use it (found in {})", places.join(", "));
    let _ = writeln!(out, "  - [ ] Revoke the old key");
    let _ = writeln!(out, "  - [ ] Verify the services work with the new key");
}

/// `text` as a Markdown code span, control characters escaped, fenced by more backticks than the
/// longest run of them inside so that nothing in it can close the span.
fn code(text: &str) -> String {
    let text = escape(text);
    let longest = text.split(|c| c != '`').map(str::len).max().unwrap_or(0);
    let fence = "`".repeat(longest + 1);
    // Markdown strips one space from each end of a span's content, and a span may not start or
    // end with its own fence's character: pad both ends.
    let pad = if text.starts_with(['`', ' ']) || text.ends_with(['`', ' ']) { " " } else { "" };
    format!("{fence}{pad}{text}{pad}{fence}")
}

/// `text` as inert Markdown: control characters escaped, and a backslash before each character
/// that could start a link, an image, HTML, an entity, emphasis, a code span or a table cell.
fn plain(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in escape(text).chars() {
        if matches!(c, '\\' | '`' | '*' | '_' | '[' | ']' | '<' | '>' | '&' | '~' | '!' | '#' | '|') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// A rotation link: an autolink when it is a plain http(s) URL, else inert text.
fn link(url: &str) -> String {
    let plain_url = (url.starts_with("https://") || url.starts_with("http://"))
        && url.chars().all(|c| c.is_ascii_graphic() && !matches!(c, '<' | '>' | '`' | '"' | '\\'));
    if plain_url {
        format!("<{url}>")
    } else {
        code(url)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn code_spans_cannot_be_closed_from_inside() {
        assert_eq!(code("src/a.py"), "`src/a.py`");
        assert_eq!(code("a`b"), "``a`b``");
        assert_eq!(code("``x"), "``` ``x ```");
        assert_eq!(code("a\u{1b}[2Jb\n"), "`a\\u{1b}[2Jb\\n`");
    }

    #[test]
    fn plain_text_has_no_markup() {
        assert_eq!(
            plain("[x](https://e.vil) <img> *a* `b`"),
            "\\[x\\](https://e.vil) \\<img\\> \\*a\\* \\`b\\`"
        );
        assert_eq!(plain("AWS (access key)"), "AWS (access key)");
        assert_eq!(plain("\u{202e}&#x202e;"), "\\\\u{202e}\\&\\#x202e;");
    }

    #[test]
    fn only_plain_urls_become_links() {
        assert_eq!(link("https://fal.ai/dashboard/keys"), "<https://fal.ai/dashboard/keys>");
        assert_eq!(link("javascript:alert(1)"), "`javascript:alert(1)`");
        assert_eq!(link("https://a.b/x> <script>"), "`https://a.b/x> <script>`");
    }
}
