//! Matches merged into findings: one per distinct (rule, secret), with every place it was seen.
//! Each gets its content fingerprint once, at the end and on every core, because the fingerprint
//! is slow by design (see `secret.rs`); merging uses the rule and secret themselves. Locations
//! are capped per finding (a key committed ten thousand times keeps the first few hundred places
//! and a count of the rest), findings per scan are capped too (a hostile repository full of
//! distinct values must not cost an hour of fingerprints), and both are sorted so that output is
//! identical from run to run whatever order parallel workers reported in.

use crate::matcher::{Evidence, Match};
use crate::rules::RuleMeta;
use crate::secret::Fingerprint;
use crate::source::{CommitInfo, Seen};
use std::collections::HashMap;
use std::sync::Arc;

/// Locations kept per finding; past this only a count grows.
pub const MAX_LOCATIONS: usize = 200;
/// Distinct findings kept per scan; past this new ones are only counted (`FindingSet::dropped`).
pub const MAX_FINDINGS: usize = 10_000;

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

impl Finding {
    /// The fingerprint keyrot wrote before `v2:`, to match entries of existing baselines and
    /// ignore files; never printed.
    pub fn legacy_fingerprint(&self) -> Fingerprint {
        let value = match &self.evidence {
            Evidence::Secret { secret, .. } => secret.bytes(),
            Evidence::File => self.first().path.as_bytes(),
        };
        Fingerprint::legacy(&self.rule.id, value)
    }
}

/// What a fingerprint is computed from: the rule id and the secret (for a file rule, the path).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Identity {
    rule: String,
    value: Vec<u8>,
}

/// A finding before its fingerprint is computed.
struct Pending {
    rule: Arc<RuleMeta>,
    evidence: Evidence,
    locations: Vec<Location>,
    more_locations: usize,
}

impl Pending {
    fn add(&mut self, location: Location) {
        if self.locations.contains(&location) {
            return;
        }
        if self.locations.len() < MAX_LOCATIONS {
            self.locations.push(location);
        } else {
            // Keep the earliest places: replace the latest kept one if this one is earlier.
            self.more_locations += 1;
            let (latest, _) = self
                .locations
                .iter()
                .enumerate()
                .max_by(|a, b| a.1.sort_key().cmp(&b.1.sort_key()))
                .expect("locations is full");
            if location.sort_key() < self.locations[latest].sort_key() {
                self.locations[latest] = location;
            }
        }
    }
}

#[derive(Default)]
pub struct FindingSet {
    by_identity: HashMap<Identity, Pending>,
    /// Distinct findings not kept because the set was full.
    dropped: usize,
}

impl FindingSet {
    pub fn add(&mut self, rule: &Arc<RuleMeta>, m: &Match, seen: &Seen) {
        let path = seen.path.as_str();
        let value = match &m.evidence {
            Evidence::Secret { secret, .. } => secret.bytes(),
            Evidence::File => path.as_bytes(),
        };
        let identity = Identity { rule: rule.id.to_string(), value: value.to_vec() };
        let location = Location {
            path: path.to_string(),
            line: m.line,
            column: m.column,
            commit: seen.commit.clone(),
            blob: seen.blob,
        };
        if self.by_identity.len() >= MAX_FINDINGS && !self.by_identity.contains_key(&identity) {
            self.dropped += 1;
            return;
        }
        let pending = self.by_identity.entry(identity).or_insert_with(|| Pending {
            rule: rule.clone(),
            evidence: m.evidence.clone(),
            locations: Vec::new(),
            more_locations: 0,
        });
        pending.add(location);
    }

    /// Matches of distinct findings that were not kept because `MAX_FINDINGS` were.
    pub fn dropped(&self) -> usize {
        self.dropped
    }

    /// What each finding's fingerprint would be computed from (cheap to compare).
    pub fn identities(self) -> impl Iterator<Item = Identity> {
        self.by_identity.into_keys()
    }

    pub fn remove(&mut self, identity: &Identity) {
        self.by_identity.remove(identity);
    }

    /// Findings with their fingerprints, sorted by where they were first seen, then rule id.
    pub fn into_sorted(self) -> Vec<Finding> {
        let (identities, pending): (Vec<Identity>, Vec<Pending>) = self.by_identity.into_iter().unzip();
        let fingerprints = fingerprint_all(&identities);
        let mut findings: Vec<Finding> = pending
            .into_iter()
            .zip(fingerprints)
            .map(|(mut p, fingerprint)| {
                p.locations.sort_by(|a, b| a.sort_key().cmp(&b.sort_key()));
                Finding {
                    fingerprint,
                    rule: p.rule,
                    evidence: p.evidence,
                    locations: p.locations,
                    more_locations: p.more_locations,
                }
            })
            .collect();
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

/// The fingerprint of each identity, in order, computed on every core: at a few milliseconds
/// each, hundreds of distinct secrets would otherwise add a second to a history scan.
fn fingerprint_all(identities: &[Identity]) -> Vec<Fingerprint> {
    // A clean pre-commit run has none: no thread, and no asking how many cores there are (std
    // reads cgroup files for that).
    if identities.len() <= 1 {
        return identities.iter().map(|i| Fingerprint::of(&i.rule, &i.value)).collect();
    }
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let chunk = identities.len().div_ceil(cores).max(1);
    std::thread::scope(|s| {
        let workers: Vec<_> = identities
            .chunks(chunk)
            .map(|part| {
                s.spawn(move || part.iter().map(|i| Fingerprint::of(&i.rule, &i.value)).collect::<Vec<_>>())
            })
            .collect();
        workers.into_iter().flat_map(|w| w.join().expect("fingerprinting does not panic")).collect()
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secret::Secret;

    #[test]
    fn past_the_cap_new_findings_are_counted_not_kept() {
        let rule = Arc::new(RuleMeta {
            id: "generic".into(),
            description: "d".into(),
            provider: None,
            tags: Default::default(),
            rotate: None,
            confidence: crate::rules::Confidence::High,
        });
        let seen = Seen { path: "dump.txt".into(), commit: None, blob: None };
        let mut set = FindingSet::default();
        for n in 0..MAX_FINDINGS + 3 {
            let secret = Secret::new(format!("value-{n}").as_bytes());
            let m = Match {
                rule: 0,
                evidence: Evidence::Secret { secret, public: None },
                line: n + 1,
                column: 1,
            };
            set.add(&rule, &m, &seen);
        }
        let again = Match {
            rule: 0,
            evidence: Evidence::Secret { secret: Secret::new(b"value-0"), public: None },
            line: 1,
            column: 9,
        };
        set.add(&rule, &again, &seen);
        assert_eq!(set.dropped(), 3, "three new values past the cap; a known one is still merged");
        assert_eq!(set.identities().count(), MAX_FINDINGS);
    }
}
