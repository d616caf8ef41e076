//! Reports: one writer per format, each a pure function from findings to text. What every writer
//! shares lives here: what was scanned, whether secrets are revealed, and how scanned text is made
//! safe to print (control and bidi characters escaped).

pub mod checklist;
pub mod human;
pub mod json;
pub mod sarif;
mod stream;

use crate::findings::Finding;
use crate::matcher::Evidence;
use crate::rotation::Facts;
use crate::rules::RuleMeta;
use crate::source::CommitInfo;
use crate::verify::Verification;
use std::sync::Arc;

/// What was scanned, which decides the wording and the advice.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Scope {
    Staged,
    Files,
    History,
    Range(String),
    /// The message of the commit being made (a commit-msg hook).
    Message,
    /// The commits a push to this remote sends (a pre-push hook).
    Push(String),
    /// The commits a server receives for these refs (a pre-receive hook).
    Receive(String),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reveal {
    Masked,
    Full,
}

/// Whether a finding is reported, or accepted in the baseline (still listed for rotation until
/// the ledger records it rotated).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    Reported,
    Accepted,
    /// Accepted and recorded as rotated in the ledger: shown only when its provider says the old
    /// key still works (the rotation failed).
    Rotated,
}

/// One finding as the reports show it: the finding, whether it is reported or accepted, what
/// git says about it, and what its provider said about the key.
#[derive(Debug)]
pub struct Row {
    pub finding: Finding,
    pub status: Status,
    /// What the repository says about it; None outside git and for hook scopes without advice.
    pub facts: Option<Facts>,
    /// What its provider said, with `--verify`.
    pub verification: Option<Verification>,
}

impl Row {
    pub fn new(finding: Finding, status: Status) -> Row {
        Row { finding, status, facts: None, verification: None }
    }

    pub fn is_live(&self) -> bool {
        matches!(self.verification, Some(Verification::Live))
    }

    /// Recorded as rotated, yet the provider still accepts the key.
    pub fn rotation_failed(&self) -> bool {
        self.status == Status::Rotated && self.is_live()
    }
}

pub struct Report {
    /// Every finding of the run: reported first, then accepted ones, in scan order.
    pub rows: Vec<Row>,
    /// Changes in a range that affect what keyrot reports.
    pub notices: Vec<String>,
    /// What could not be read: a report with errors covers only part of what was asked.
    pub errors: Vec<String>,
    pub scope: Scope,
    pub reveal: Reveal,
    /// Every rule in use, in config order (SARIF lists them all).
    pub rules: Vec<Arc<RuleMeta>>,
    /// Seconds since the epoch, for "N days ago".
    pub now: i64,
    /// How much content the matcher was given.
    pub scanned: crate::scan::Scanned,
    /// Whether the keys were checked with their providers (`--verify`).
    pub verified: bool,
}

impl Report {
    /// The findings this run reports (not accepted in the baseline).
    pub fn reported(&self) -> impl Iterator<Item = &Row> {
        self.rows.iter().filter(|r| r.status == Status::Reported)
    }

    pub fn reported_count(&self) -> usize {
        self.reported().count()
    }

    /// How many findings the baseline accepts.
    pub fn accepted_count(&self) -> usize {
        self.rows.len() - self.reported_count()
    }

    /// Rows to list under "Keys to rotate", most urgent first.
    pub fn rotation_order(&self) -> Vec<&Row> {
        crate::rotation::order(&self.rows).into_iter().map(|i| &self.rows[i]).collect()
    }

    /// Keys recorded as rotated that their provider still accepts.
    pub fn rotation_failures(&self) -> impl Iterator<Item = &Row> {
        self.rows.iter().filter(|r| r.rotation_failed())
    }
}

/// `1a2b3c4d5e` (10 digits), the way the reports cite a commit.
pub fn short(commit: &CommitInfo) -> &str {
    &commit.id[..commit.id.len().min(10)]
}

/// The secret as it may be shown: masked unless the user asked to reveal it. File findings
/// have no secret value.
pub fn shown_secret(finding: &Finding, reveal: Reveal) -> Option<String> {
    match &finding.evidence {
        Evidence::Secret { secret, .. } => Some(escape(&match reveal {
            Reveal::Masked => secret.masked(),
            Reveal::Full => secret.expose(),
        })),
        Evidence::File => None,
    }
}

/// The key's public identifier (a FAL key id, an AWS access key id), when the rule names one.
pub fn public_id(finding: &Finding) -> Option<String> {
    match &finding.evidence {
        Evidence::Secret { public: Some(public), .. } => Some(escape(public)),
        _ => None,
    }
}

/// Escapes control characters (C0 and C1, so also the 8-bit CSI), line and paragraph separators
/// and bidirectional marks and overrides, so that scanned text cannot move the cursor, recolor the
/// terminal, break a line or reorder what the user reads.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        let special = matches!(
            c,
            '\u{61c}' | '\u{200e}' | '\u{200f}' | '\u{2028}'..='\u{202e}' | '\u{2066}'..='\u{2069}'
        );
        if c.is_control() || special {
            match c {
                '\n' => out.push_str("\\n"),
                '\r' => out.push_str("\\r"),
                '\t' => out.push_str("\\t"),
                _ => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
            }
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::escape;

    #[test]
    fn escapes_terminal_controls_and_bidi() {
        assert_eq!(escape("a\u{1b}[31mb"), "a\\u{1b}[31mb");
        assert_eq!(escape("x\u{202e}y\nz"), "x\\u{202e}y\\nz");
        assert_eq!(escape("plain/path.py"), "plain/path.py");
        assert_eq!(escape("a\u{9b}2Jb\u{85}"), "a\\u{9b}2Jb\\u{85}");
        assert_eq!(
            escape("\u{2066}\u{2069}\u{200f}\u{61c}\u{2028}"),
            "\\u{2066}\\u{2069}\\u{200f}\\u{61c}\\u{2028}"
        );
    }
}
