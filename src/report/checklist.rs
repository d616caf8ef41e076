//! `--format checklist`: the rotation plan as a Markdown checklist to paste into an issue, one
//! `- [ ]` item per key to rotate (provider, masked key, where it leaked, the rotation link and
//! steps), then the places that use it, revoking the old key, and verifying. Keys that were only
//! staged need no rotation and are listed apart.

use super::{escape, public_id, short, shown_secret, Report};
use crate::findings::Finding;
use crate::rotation::Exposure;
use std::fmt::Write;

pub fn render(report: &Report) -> String {
    let order = report.rotation_order();
    let (rotate, unstage): (Vec<usize>, Vec<usize>) = order.into_iter().partition(|&i| {
        report.facts(i).and_then(|f| f.exposure.as_ref()).is_some_and(Exposure::needs_rotation)
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
    for i in rotate {
        item(&mut out, report, i);
    }
    if !unstage.is_empty() {
        out.push_str("\n## Remove before committing\n\n");
        for i in unstage {
            let f = &report.findings[i];
            let _ = writeln!(
                out,
                "- [ ] Unstage {} from `{}` (not committed: no rotation needed)",
                name(f),
                escape(&f.first().path)
            );
        }
    }
    out
}

fn name(f: &Finding) -> String {
    let what = match shown_secret(f, super::Reveal::Masked) {
        Some(masked) => format!("{} `{masked}`", f.rule.description),
        None => f.rule.description.clone(),
    };
    match &f.rule.provider {
        Some(provider) => format!("**{provider}** {what}"),
        None => what,
    }
}

fn item(out: &mut String, report: &Report, i: usize) {
    let f = &report.findings[i];
    let facts = report.facts(i).expect("rotation rows have facts");
    let mut line = format!("- [ ] Rotate {}", name(f));
    if let Some(id) = public_id(f) {
        let _ = write!(line, " (key id `{id}`)");
    }
    match &facts.exposure {
        Some(Exposure::Pushed(remotes)) => {
            let _ = write!(line, ": **pushed** to {}", remotes.join(", "));
        }
        _ => line.push_str(": committed locally, not pushed"),
    }
    if let Some(first) = &facts.first_seen {
        let _ = write!(
            line,
            ", first committed {} by {} in `{}`",
            crate::time::date(first.time, first.offset_minutes),
            escape(&first.author),
            short(first)
        );
    }
    let _ = writeln!(out, "{line}");
    match &f.rule.rotate {
        Some(rotate) => {
            let _ = writeln!(out, "  - [ ] Open {}", rotate.url);
            for step in &rotate.steps {
                let _ = writeln!(out, "  - [ ] {step}");
            }
        }
        None => {
            let _ = writeln!(out, "  - [ ] Replace this credential with its issuer and revoke the old one");
        }
    }
    let mut places: Vec<String> = f
        .locations
        .iter()
        .map(|l| {
            if l.line > 0 {
                format!("`{}:{}`", escape(&l.path), l.line)
            } else {
                format!("`{}`", escape(&l.path))
            }
        })
        .collect();
    places.dedup();
    let _ = writeln!(out, "  - [ ] Update the places that use it (found in {})", places.join(", "));
    let _ = writeln!(out, "  - [ ] Revoke the old key");
    let _ = writeln!(out, "  - [ ] Verify the services work with the new key");
}
