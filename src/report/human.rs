//! The report a person reads in a terminal or a hook's output: what was found, where, and what to
//! do next. Colors only when `colored` was told to use them (decided once, in `main`). Secrets are
//! masked unless `--reveal`; paths, values and the rules' own text (which a repository's
//! `.keyrot.toml` may set) are escaped before printing.

use super::{escape, public_id, short, shown_secret, Report, Row, Scope, Status};
use crate::findings::{Finding, Location};
use crate::rotation::{advice, days_exposed, Exposure};
use crate::rules::Confidence;
use crate::verify::Verification;
use colored::Colorize;
use std::fmt::Write;

/// How many locations of one finding are listed before "and N more".
const SHOWN_LOCATIONS: usize = 5;

pub fn render(report: &Report) -> String {
    let mut out = String::new();
    for notice in &report.notices {
        let _ = writeln!(out, "{} {}", "notice:".yellow().bold(), escape(notice));
    }
    for row in report.rotation_failures() {
        let f = &row.finding;
        let _ = writeln!(
            out,
            "{} {} {} {}  ({})\n",
            "ROTATION FAILED: the old key still works:".red().bold(),
            f.rule.provider.as_deref().map_or_else(|| "-".into(), escape),
            escape(&f.rule.description),
            shown_secret(f, report.reveal).unwrap_or_default(),
            f.fingerprint
        );
    }
    let n = report.reported_count();
    let accepted = report.accepted_count();
    if n == 0 && !report.errors.is_empty() {
        let count = report.errors.len();
        let _ = writeln!(
            out,
            "{} the scan is incomplete: {count} error{} (on stderr); nothing was found in what could be read of {}",
            "keyrot:".red().bold(),
            if count == 1 { "" } else { "s" },
            scope_name(&report.scope)
        );
    } else if n == 0 && coverage(report).is_some() {
        // A hook's clean run: its one line, on stderr, says what was checked (see `coverage`).
    } else if n == 0 {
        let note =
            if accepted > 0 { format!(" ({accepted} accepted in the baseline)") } else { String::new() };
        let _ = writeln!(
            out,
            "{} no secrets found in {}{note}",
            "keyrot:".green().bold(),
            scope_name(&report.scope)
        );
    } else {
        let noun = if n == 1 { "finding" } else { "findings" };
        let scope = scope_name(&report.scope);
        let headline = match report.scope {
            Scope::Staged | Scope::Message => format!("{n} {noun} in {scope}: commit blocked"),
            Scope::Push(_) => format!("{n} {noun} in {scope}: push blocked"),
            Scope::Receive(_) => format!("{n} {noun} in {scope}: push rejected"),
            _ => format!("{n} {noun} in {scope}"),
        };
        let _ = writeln!(out, "{} {}\n", "keyrot:".red().bold(), headline.bold());
        for row in report.reported() {
            write_finding(&mut out, row, report);
        }
    }
    write_rotation(&mut out, report);
    if n > 0 {
        write_advice(&mut out, report);
    }
    out
}

/// "Keys to rotate": one row per distinct secret, most urgent first.
fn write_rotation(out: &mut String, report: &Report) {
    let order = report.rotation_order();
    if order.is_empty() {
        return;
    }
    let _ = writeln!(out, "{}", "Keys to rotate".bold());
    for (n, row) in order.into_iter().enumerate() {
        let f = &row.finding;
        let facts = row.facts.as_ref().expect("rotation rows have facts");
        let exposure = facts.exposure.as_ref().expect("rotation rows have an exposure");
        let label = match exposure {
            Exposure::Pushed(_) => "ROTATE NOW".red().bold(),
            Exposure::Local => "rotate".yellow().bold(),
            Exposure::Staged => "unstage".normal(),
        };
        let provider = f.rule.provider.as_deref().map_or_else(|| "-".into(), escape);
        let description = escape(&f.rule.description);
        let secret = shown_secret(f, report.reveal).unwrap_or_else(|| escape(&f.first().path));
        let accepted = match row.status {
            Status::Reported => "",
            Status::Accepted => "  (accepted in the baseline)",
            Status::Rotated => "  (recorded as rotated)",
        };
        let _ = writeln!(out, "  {}. {label}  {provider}  {description}  {secret}{accepted}", n + 1);
        if let Some(id) = public_id(f) {
            let _ = writeln!(out, "       key id   {id}");
        }
        let _ = writeln!(out, "       {:<8} {} ({})", "exposure", exposure.name(), advice(facts));
        if let Some(verification) = &row.verification {
            let _ = writeln!(out, "       {:<8} {}", "verified", verification_text(verification));
        }
        if let Some(first) = &facts.first_seen {
            let _ = writeln!(
                out,
                "       {:<8} {} in {} by {}, {} days ago; {} {}",
                "first",
                crate::time::date(first.time, first.offset_minutes),
                short(first),
                escape(&first.author),
                days_exposed(first.time, report.now),
                f.location_count(),
                if f.location_count() == 1 { "place" } else { "places" }
            );
        }
        if let Some(removed) = &facts.removed_in {
            let _ = writeln!(
                out,
                "       {:<8} from HEAD in {} on {}",
                "removed",
                short(removed),
                crate::time::date(removed.time, removed.offset_minutes)
            );
        }
        if let (true, Some(rotate)) = (exposure.needs_rotation(), &f.rule.rotate) {
            let _ = writeln!(out, "       {:<8} {}", "rotate", escape(&rotate.url).underline());
            for (k, step) in rotate.steps.iter().enumerate() {
                let _ = writeln!(out, "       {:<8} {}. {}", "", k + 1, escape(step));
            }
        }
    }
    out.push('\n');
}

fn scope_name(scope: &Scope) -> String {
    match scope {
        Scope::Staged => "the staged changes".into(),
        Scope::Files => "the scanned files".into(),
        Scope::History => "git history".into(),
        Scope::Range(range) => format!("the commits of {}", escape(range)),
        Scope::Message => "the commit message".into(),
        Scope::Push(remote) => format!("the commits to push to {}", escape(remote)),
        Scope::Receive(refs) => format!("the pushed commits ({})", escape(refs)),
    }
}

/// The one line a clean hook run prints on stderr, saying what it checked: a pass after
/// checking nothing (a wrong index, a path filter) must not look like a pass after checking
/// everything. None for scans that are not a hook's.
pub fn coverage(report: &Report) -> Option<String> {
    let scanned = report.scanned;
    let size = size(scanned.bytes);
    let plural = |n: u64, one: &str, many: &str| format!("{n} {}", if n == 1 { one } else { many });
    let what = match &report.scope {
        Scope::Staged => format!("{} ({size})", plural(scanned.files, "staged file", "staged files")),
        Scope::Message => format!("the commit message ({size})"),
        Scope::Push(_) | Scope::Receive(_) => format!(
            "{} ({size}) in {}",
            plural(scanned.files, "file version or message", "file versions and messages"),
            scope_name(&report.scope)
        ),
        Scope::Files | Scope::History | Scope::Range(_) => return None,
    };
    let accepted = report.accepted_count();
    let note = if accepted > 0 { format!(" ({accepted} accepted in the baseline)") } else { String::new() };
    Some(format!("keyrot: {what} checked against {} rules: no secrets{note}", report.rules.len()))
}

/// `812 bytes`, `12 KB`, `3.4 MB` (powers of 1024).
fn size(bytes: u64) -> String {
    match bytes {
        0..=1023 => format!("{bytes} {}", if bytes == 1 { "byte" } else { "bytes" }),
        1024..=1_048_575 => format!("{} KB", (bytes + 512) / 1024),
        _ => format!("{:.1} MB", bytes as f64 / 1_048_576.0),
    }
}

fn write_finding(out: &mut String, row: &Row, report: &Report) {
    let f = &row.finding;
    let provider = f.rule.provider.as_deref().map(|p| format!("{}: ", escape(p))).unwrap_or_default();
    let (description, id) = (escape(&f.rule.description), escape(&f.rule.id));
    let _ = writeln!(out, "  {} {}{}  ({})", "✗".red(), provider, description.bold(), id.dimmed());
    if f.rule.confidence != Confidence::High {
        let _ = writeln!(out, "      {:<8} {}", "confidence", f.rule.confidence.name());
    }
    if let Some(secret) = shown_secret(f, report.reveal) {
        let _ = writeln!(out, "      {:<8} {}", "secret", secret.yellow());
    }
    if let Some(id) = public_id(f) {
        let _ = writeln!(out, "      {:<8} {}", "key id", id);
    }
    for (i, location) in f.locations.iter().take(SHOWN_LOCATIONS).enumerate() {
        let label = if i == 0 { "at" } else { "" };
        let _ = writeln!(out, "      {label:<8} {}", describe(location));
    }
    let hidden = f.location_count().saturating_sub(SHOWN_LOCATIONS);
    if hidden > 0 {
        let _ = writeln!(out, "      {:<8} … and {hidden} more places", "");
    }
    if let Some(verification) = &row.verification {
        let _ = writeln!(out, "      {:<8} {}", "verified", verification_text(verification));
    }
    let _ = writeln!(out, "      {:<8} {}", "id", f.fingerprint.as_str().dimmed());
    out.push('\n');
}

fn describe(location: &Location) -> String {
    let mut text = escape(&location.path);
    if location.line > 0 {
        let _ = write!(text, ":{}:{}", location.line, location.column);
    }
    if let Some(commit) = &location.commit {
        let _ = write!(
            text,
            "  in {} by {} on {}",
            &commit.id[..commit.id.len().min(10)],
            escape(&commit.author),
            crate::time::date(commit.time, commit.offset_minutes)
        );
    }
    text
}

fn write_advice(out: &mut String, report: &Report) {
    let files: Vec<&Finding> = report.reported().map(|r| &r.finding).filter(|f| !f.is_secret()).collect();
    let _ = writeln!(out, "{}", "What to do".bold());
    match report.scope {
        Scope::Staged => {
            if report.reported().any(|r| r.finding.is_secret()) {
                let _ = writeln!(
                    out,
                    "  • Take the secret out of the file, then stage it again (`git add -p` to pick hunks)."
                );
                let _ = writeln!(
                    out,
                    "    Keep secrets in an untracked .env (listed in .gitignore) or a secret manager."
                );
            }
            for f in &files {
                let path = escape(&f.first().path);
                let _ = writeln!(
                    out,
                    "  • Unstage {path} and ignore it: `git rm --cached {path} && echo {path} >> .gitignore`."
                );
            }
            let committed = report
                .rows
                .iter()
                .filter_map(|r| r.facts.as_ref())
                .any(|f| f.exposure.as_ref().is_some_and(Exposure::needs_rotation));
            if committed {
                let _ = writeln!(
                    out,
                    "  • Some of these keys are already committed: rotate them (see Keys to rotate)."
                );
            } else {
                let _ = writeln!(
                    out,
                    "  • Nothing was committed yet: no rotation is needed unless the key leaked elsewhere."
                );
            }
        }
        Scope::Message => {
            let _ = writeln!(
                out,
                "  • Nothing was committed: take the secret out of the message and commit again (git kept"
            );
            let _ = writeln!(
                out,
                "    your message in .git/COMMIT_EDITMSG: `git commit -e -F .git/COMMIT_EDITMSG`)."
            );
            let _ = writeln!(
                out,
                "  • The message was not pushed: no rotation is needed unless the key leaked elsewhere."
            );
        }
        Scope::Push(_) | Scope::Receive(_) => {
            let rejected = matches!(report.scope, Scope::Receive(_));
            let _ = writeln!(
                out,
                "  • {}: rewrite the commits that add them, then push again:",
                if rejected {
                    "The server refused these commits and kept none of them"
                } else {
                    "These keys are not pushed yet"
                }
            );
            let _ = writeln!(
                out,
                "    `git commit --amend` for the last commit, `git rebase -i` to edit an older one or its message."
            );
            let _ = writeln!(out, "  • No rotation is needed unless the key leaked elsewhere.");
        }
        _ => {
            let _ = writeln!(
                out,
                "  • A secret that reached git should be treated as leaked: rotate it at the provider,"
            );
            let _ = writeln!(
                out,
                "    then remove it from the code (and from history if the repository is shared)."
            );
        }
    }
    let _ = writeln!(
        out,
        "  • Not a secret (a test value, a public key)? Add `keyrot:allow` in a comment on that line."
    );
}

/// `live`, `dead`, or `unknown (the reason)`; a live key stands out.
fn verification_text(verification: &Verification) -> String {
    match verification {
        Verification::Live => "live: the key still works".red().bold().to_string(),
        Verification::Dead => "dead: the provider refused the key".green().to_string(),
        Verification::Unknown(reason) => format!("unknown ({reason})").yellow().to_string(),
    }
}
