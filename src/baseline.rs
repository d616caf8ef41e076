//! The baseline: `.keyrot-baseline.json`, the secrets a team has reviewed and accepted, by content
//! fingerprint. Because the fingerprint is the secret itself (hashed), moving a file, shifting
//! lines or squashing commits never invalidates an entry. The file is sorted, carries no
//! timestamp, and is written atomically (temporary file, then rename), so re-running
//! `keyrot baseline` on an unchanged repository rewrites it byte for byte.

use crate::error::{without_values, Error, Result};
use crate::findings::Finding;
use crate::report::{shown_secret, Reveal};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;

pub const FILE_NAME: &str = ".keyrot-baseline.json";
const VERSION: u32 = 1;

#[derive(Debug, Default, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Baseline {
    pub keyrot_baseline: u32,
    pub findings: Vec<Entry>,
}

/// One accepted secret. Everything but `fingerprint` and `rotated` is there for the reviewer.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Entry {
    pub fingerprint: String,
    pub rule: String,
    pub masked: Option<String>,
    pub path: String,
    pub line: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub commit: Option<String>,
    /// Set by hand once the key has been rotated: it then leaves the rotation report too.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub rotated: bool,
}

impl Baseline {
    pub fn load(path: &Path) -> Result<Baseline> {
        let name = path.display().to_string();
        let text = crate::textfile::read(path, crate::textfile::BASELINE_LIMIT)?;
        let baseline: Baseline = serde_json::from_str(&text).map_err(|e| Error::Config {
            file: format!("{name}:{}", e.line()),
            message: format!("not a keyrot baseline: {}", without_values(&e.to_string())),
        })?;
        if baseline.keyrot_baseline != VERSION {
            return Err(Error::Config {
                file: name,
                message: format!("baseline version {} is not {VERSION}", baseline.keyrot_baseline),
            });
        }
        Ok(baseline)
    }

    /// The baseline at `path`, or an empty one if there is no file there.
    pub fn load_if_present(path: &Path) -> Result<Baseline> {
        if path.is_file() {
            Baseline::load(path)
        } else {
            Ok(Baseline::default())
        }
    }

    pub fn get(&self, fingerprint: &str) -> Option<&Entry> {
        self.findings.iter().find(|e| e.fingerprint == fingerprint)
    }

    /// This baseline plus today's findings (kept entries keep their review marks); with
    /// `prune`, entries not found today are dropped.
    pub fn updated(&self, findings: &[Finding], prune: bool) -> Baseline {
        let mut entries: BTreeMap<String, Entry> = BTreeMap::new();
        if !prune {
            entries.extend(self.findings.iter().map(|e| (e.fingerprint.clone(), e.clone())));
        }
        for finding in findings {
            let fingerprint = finding.fingerprint.as_str().to_string();
            let old = self.get(&fingerprint);
            let first = finding.first();
            entries.insert(
                fingerprint.clone(),
                Entry {
                    fingerprint,
                    rule: finding.rule.id.clone(),
                    masked: shown_secret(finding, Reveal::Masked),
                    path: first.path.clone(),
                    line: first.line,
                    commit: first.commit.as_ref().map(|c| c.id.clone()),
                    rotated: old.is_some_and(|e| e.rotated),
                },
            );
        }
        Baseline { keyrot_baseline: VERSION, findings: entries.into_values().collect() }
    }

    /// Writes to a temporary file beside `path`, then renames it over `path`.
    pub fn write(&self, path: &Path) -> Result<()> {
        let mut text = serde_json::to_string_pretty(self).expect("baseline entries serialize");
        text.push('\n');
        let temporary = path.with_extension(format!("json.tmp-{}", std::process::id()));
        let context = || format!("cannot write {}", path.display());
        std::fs::write(&temporary, text).map_err(|e| Error::io(context(), e))?;
        std::fs::rename(&temporary, path).map_err(|e| {
            let _ = std::fs::remove_file(&temporary);
            Error::io(context(), e)
        })
    }
}
