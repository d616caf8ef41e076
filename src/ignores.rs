//! Accepted findings listed by hand: `.keyrotignore` holds one content fingerprint per line
//! (`#` starts a comment), so an entry follows the secret, not its position. Fingerprints of the
//! legacy form (32 hex digits, before `v2:`) still match their secret. `.gitleaksignore`
//! is read too, for people migrating: its position-based entries (`[commit:]file:rule:line`)
//! drop the matching locations, and a finding with no location left is dropped. So is
//! `.betterleaksignore`, for teams that used betterleaks: one SHA-256 (64 hex digits) of a raw
//! secret per line, matched against the secret's own bytes.

use crate::error::{Error, Result};
use crate::findings::Finding;
use crate::matcher::Evidence;
use crate::secret::{Fingerprint, FINGERPRINT_PREFIX};
use sha2::{Digest, Sha256};
use std::path::Path;

pub const FILE_NAME: &str = ".keyrotignore";
pub const GITLEAKS_FILE_NAME: &str = ".gitleaksignore";
pub const BETTERLEAKS_FILE_NAME: &str = ".betterleaksignore";

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Entry {
    Fingerprint(String),
    /// betterleaks': the SHA-256 of the secret, 64 lowercase hex digits.
    SecretSha256(String),
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
    /// Reads whichever of `.keyrotignore`, `.gitleaksignore` and `.betterleaksignore` exist in
    /// `root`.
    pub fn load(root: &Path) -> Result<Ignore> {
        let mut entries = Vec::new();
        for name in [FILE_NAME, GITLEAKS_FILE_NAME, BETTERLEAKS_FILE_NAME] {
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
                let (entry, expected) = match name {
                    BETTERLEAKS_FILE_NAME => {
                        (parse_sha256(content), "the SHA-256 of a secret (64 hex digits)")
                    }
                    _ => (parse(content), "a fingerprint or commit:file:rule:line"),
                };
                let entry = entry.ok_or_else(|| Error::Config {
                    file: format!("{name}:{}", n + 1),
                    message: format!("expected {expected}, found {content:?}"),
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
        let any_sha256 = self.entries.iter().any(|(e, _)| matches!(e, Entry::SecretSha256(_)));
        findings.retain_mut(|finding| {
            let legacy = any_legacy.then(|| finding.legacy_fingerprint());
            let sha256 = match &finding.evidence {
                Evidence::Secret { secret, .. } if any_sha256 => Some(hex(&Sha256::digest(secret.bytes()))),
                _ => None,
            };
            for (i, (entry, _)) in self.entries.iter().enumerate() {
                match entry {
                    Entry::Fingerprint(fp)
                        if fp == finding.fingerprint.as_str()
                            || legacy.as_ref().is_some_and(|l| fp == l.as_str()) =>
                    {
                        used[i] = true;
                        return false;
                    }
                    Entry::SecretSha256(hash) if sha256.as_ref() == Some(hash) => {
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

/// A `.betterleaksignore` line: 64 hex digits (anything after whitespace is a note).
fn parse_sha256(content: &str) -> Option<Entry> {
    let token = content.split_whitespace().next()?.to_ascii_lowercase();
    (token.len() == 64 && token.bytes().all(|b| b.is_ascii_hexdigit())).then_some(Entry::SecretSha256(token))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
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

    #[test]
    fn parses_betterleaks_secret_hashes() {
        let hash = "9F86D081884C7D659A2FEAA0C55AD015A3BF4F1B2B0B822CD15D6C15B0F00A08";
        assert_eq!(
            parse_sha256(&format!("{hash} test")),
            Some(Entry::SecretSha256(hash.to_ascii_lowercase()))
        );
        assert_eq!(parse_sha256(&hash[..63]), None);
        assert_eq!(parse_sha256("v2:0123456789abcdef0123456789abcdef"), None);
    }
}
