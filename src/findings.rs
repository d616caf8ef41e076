//! Matches merged into findings: one per distinct secret, identified by its content
//! fingerprint, with every place it was seen. Locations are capped per finding (a key committed
//! ten thousand times keeps the first few hundred places and a count of the rest), and sorted so
//! that output is identical from run to run whatever order parallel workers reported in.

use crate::matcher::{Evidence, Match};
use crate::rules::RuleMeta;
use crate::secret::Fingerprint;
use crate::source::Seen;
use std::collections::HashMap;
use std::sync::Arc;

/// Locations kept per finding; past this only a count grows.
pub const MAX_LOCATIONS: usize = 200;

/// The commit a location was seen in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommitInfo {
    pub id: String,
    pub author: String,
    pub email: String,
    /// Author time, seconds since the epoch, and the author's UTC offset in minutes.
    pub time: i64,
    pub offset_minutes: i32,
    pub summary: String,
    /// Position in the walk, parents before children: the smallest is where a secret entered.
    pub order: usize,
}

impl CommitInfo {
    pub fn of(commit: &git2::Commit, order: usize) -> CommitInfo {
        let author = commit.author();
        CommitInfo {
            id: commit.id().to_string(),
            author: String::from_utf8_lossy(author.name_bytes()).into_owned(),
            email: String::from_utf8_lossy(author.email_bytes()).into_owned(),
            time: author.when().seconds(),
            offset_minutes: author.when().offset_minutes(),
            summary: String::from_utf8_lossy(commit.summary_bytes().unwrap_or_default()).into_owned(),
            order,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    pub path: String,
    pub line: usize,
    pub column: usize,
    pub commit: Option<Arc<CommitInfo>>,
    /// The git object id of the content it was found in, when it came from git.
    pub blob: Option<git2::Oid>,
}

impl Location {
    fn sort_key(&self) -> (usize, &str, usize, usize) {
        (self.commit.as_ref().map_or(0, |c| c.order), &self.path, self.line, self.column)
    }
}

#[derive(Debug, Clone)]
pub struct Finding {
    pub fingerprint: Fingerprint,
    pub rule: Arc<RuleMeta>,
    pub evidence: Evidence,
    /// Sorted: the first is where the secret was first seen.
    pub locations: Vec<Location>,
    /// Locations seen beyond `MAX_LOCATIONS`.
    pub more_locations: usize,
}

impl Finding {
    pub fn first(&self) -> &Location {
        &self.locations[0]
    }

    /// Whether it is about a secret value (rather than a file that must not be committed).
    pub fn is_secret(&self) -> bool {
        matches!(self.evidence, Evidence::Secret { .. })
    }

    pub fn location_count(&self) -> usize {
        self.locations.len() + self.more_locations
    }
}

#[derive(Default)]
pub struct FindingSet {
    by_fingerprint: HashMap<Fingerprint, Finding>,
}

impl FindingSet {
    pub fn add(&mut self, rule: &Arc<RuleMeta>, m: &Match, seen: &Seen) {
        let path = seen.path.as_str();
        let fingerprint = match &m.evidence {
            Evidence::Secret { secret, .. } => Fingerprint::of(&rule.id, secret.bytes()),
            Evidence::File => Fingerprint::of(&rule.id, path.as_bytes()),
        };
        let location = Location {
            path: path.to_string(),
            line: m.line,
            column: m.column,
            commit: seen.commit.clone(),
            blob: seen.blob,
        };
        let finding = self.by_fingerprint.entry(fingerprint.clone()).or_insert_with(|| Finding {
            fingerprint,
            rule: rule.clone(),
            evidence: m.evidence.clone(),
            locations: Vec::new(),
            more_locations: 0,
        });
        if finding.locations.contains(&location) {
            return;
        }
        if finding.locations.len() < MAX_LOCATIONS {
            finding.locations.push(location);
        } else {
            // Keep the earliest places: replace the latest kept one if this one is earlier.
            finding.more_locations += 1;
            let (latest, _) = finding
                .locations
                .iter()
                .enumerate()
                .max_by(|a, b| a.1.sort_key().cmp(&b.1.sort_key()))
                .expect("locations is full");
            if location.sort_key() < finding.locations[latest].sort_key() {
                finding.locations[latest] = location;
            }
        }
    }

    pub fn fingerprints(self) -> impl Iterator<Item = Fingerprint> {
        self.by_fingerprint.into_keys()
    }

    pub fn remove(&mut self, fingerprint: &Fingerprint) {
        self.by_fingerprint.remove(fingerprint);
    }

    /// Findings sorted by where they were first seen, then rule id.
    pub fn into_sorted(self) -> Vec<Finding> {
        let mut findings: Vec<Finding> = self.by_fingerprint.into_values().collect();
        for finding in &mut findings {
            finding.locations.sort_by(|a, b| a.sort_key().cmp(&b.sort_key()));
        }
        findings.sort_by(|a, b| {
            (a.first().sort_key(), &a.rule.id, &a.fingerprint).cmp(&(
                b.first().sort_key(),
                &b.rule.id,
                &b.fingerprint,
            ))
        });
        findings
    }
}
