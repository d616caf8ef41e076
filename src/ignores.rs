//! Accepted findings listed by hand: `.keyrotignore` holds one content fingerprint per line
//! (`#` starts a comment), so an entry follows the secret, not its position. Fingerprints of the
//! legacy form (32 hex digits, before `v2:`) still match their secret. `.gitleaksignore`
//! is read too, for people migrating: its position-based entries (`[commit:]file:rule:line`)
//! drop the matching locations, and a finding with no location left is dropped.

use crate::error::{Error, Result};
use crate::findings::Finding;
use crate::secret::{Fingerprint, FINGERPRINT_PREFIX};
use std::path::Path;

pub const FILE_NAME: &str = ".keyrotignore";
pub const GITLEAKS_FILE_NAME: &str = ".gitleaksignore";

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Entry {
    Fingerprint(String),
    /// gitleaks' `commit:file:rule:line` (commit optional).
    Position {
        commit: Option<String>,
        path: String,
        rule: String,
        line: usize,
    },
}

#[derive(Debug, Clone)]
pub struct Ignore {
    /// The file and line each entry came from, for `--report-unused-ignores`.
    pub entries: Vec<(Entry, String)>,
}

impl Ignore {
    /// Reads whichever of `.keyrotignore` and `.gitleaksignore` exist in `root`.
    pub fn load(root: &Path) -> Result<Ignore> {
        let mut entries = Vec::new();
        for name in [FILE_NAME, GITLEAKS_FILE_NAME] {
            let path = root.join(name);
            if !path.is_file() {
                continue;
            }
            let text = std::fs::read_to_string(&path)
                .map_err(|e| Error::Config { file: path.display().to_string(), message: e.to_string() })?;
            for (n, line) in text.lines().enumerate() {
                let content = line.split('#').next().unwrap_or("").trim();
                if content.is_empty() {
                    continue;
                }
                let entry = parse(content).ok_or_else(|| Error::Config {
                    file: format!("{name}:{}", n + 1),
                    message: format!("expected a fingerprint or commit:file:rule:line, found {content:?}"),
                })?;
                entries.push((entry, format!("{name}:{}", n + 1)));
            }
        }
        Ok(Ignore { entries })
    }

    /// Removes ignored findings (and ignored locations); returns which entries were used.
    pub fn apply(&self, findings: &mut Vec<Finding>) -> Vec<bool> {
        let mut used = vec![false; self.entries.len()];
        let any_legacy = self
            .entries
            .iter()
            .any(|(e, _)| matches!(e, Entry::Fingerprint(fp) if Fingerprint::is_legacy(fp)));
        findings.retain_mut(|finding| {
            let legacy = any_legacy.then(|| finding.legacy_fingerprint());
            for (i, (entry, _)) in self.entries.iter().enumerate() {
                match entry {
                    Entry::Fingerprint(fp)
                        if fp == finding.fingerprint.as_str()
                            || legacy.as_ref().is_some_and(|l| fp == l.as_str()) =>
                    {
                        used[i] = true;
                        return false;
                    }
                    Entry::Position { commit, path, rule, line } if *rule == finding.rule.id => {
                        let before = finding.locations.len();
                        finding.locations.retain(|l| {
                            let same_commit = match (commit, &l.commit) {
                                (None, _) => true,
                                (Some(c), Some(lc)) => lc.id.starts_with(c.as_str()),
                                (Some(_), None) => false,
                            };
                            !(same_commit && l.path == *path && l.line == *line)
                        });
                        used[i] |= finding.locations.len() < before;
                    }
                    _ => {}
                }
            }
            !finding.locations.is_empty()
        });
        used
    }
}

fn parse(content: &str) -> Option<Entry> {
    let token = content.split_whitespace().next()?.to_ascii_lowercase();
    let hex = token.strip_prefix(FINGERPRINT_PREFIX).unwrap_or(&token);
    if Fingerprint::is_legacy(hex) {
        return Some(Entry::Fingerprint(token));
    }
    let parts: Vec<&str> = content.rsplitn(3, ':').collect();
    let [line, rule, rest] = parts.as_slice() else { return None };
    let line = line.parse().ok()?;
    let (commit, path) = match rest.split_once(':') {
        Some((commit, path)) if commit.len() >= 7 && commit.bytes().all(|b| b.is_ascii_hexdigit()) => {
            (Some(commit.to_ascii_lowercase()), path)
        }
        _ => (None, *rest),
    };
    Some(Entry::Position { commit, path: path.replace('\\', "/"), rule: rule.to_string(), line })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_fingerprints_and_gitleaks_positions() {
        assert_eq!(
            parse("V2:0123456789abcdef0123456789ABCDEF  accepted in review"),
            Some(Entry::Fingerprint("v2:0123456789abcdef0123456789abcdef".into()))
        );
        assert_eq!(
            parse("0123456789abcdef0123456789ABCDEF  legacy form"),
            Some(Entry::Fingerprint("0123456789abcdef0123456789abcdef".into()))
        );
        assert_eq!(parse("v2:0123"), None);
        assert_eq!(
            parse("418edf165dbb63d6f46993ae8f8818ffd87ea582:cmd/jwt.go:jwt:17"),
            Some(Entry::Position {
                commit: Some("418edf165dbb63d6f46993ae8f8818ffd87ea582".into()),
                path: "cmd/jwt.go".into(),
                rule: "jwt".into(),
                line: 17
            })
        );
        assert_eq!(
            parse("src\\app.py:generic-api-key:4"),
            Some(Entry::Position {
                commit: None,
                path: "src/app.py".into(),
                rule: "generic-api-key".into(),
                line: 4
            })
        );
        assert_eq!(parse("not an entry"), None);
    }
}
