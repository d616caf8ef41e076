//! The baseline: `.keyrot-baseline.json`, the secrets a team has reviewed and accepted, by content
//! fingerprint. Because the fingerprint is the secret itself (hashed), moving a file, shifting
//! lines or squashing commits never invalidates an entry. Entries with a legacy fingerprint
//! (before `v2:`) still match their secret, and `keyrot baseline` rewrites them in the new form. The file is sorted, carries no
//! timestamp, and is written atomically (temporary file, then rename), so re-running
//! `keyrot baseline` on an unchanged repository rewrites it byte for byte.

use crate::error::{without_values, Error, Result};
use crate::findings::Finding;
use crate::report::{shown_secret, Reveal};
use crate::secret::Fingerprint;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::io::Write;
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
    /// The rotation ledger's record (`keyrot rotated`): the key leaves the rotation report, and
    /// `scan --verify` checks that the old key no longer works. Older files have `"rotated": true`.
    #[serde(default, skip_serializing_if = "Option::is_none", with = "rotated_field")]
    pub rotated: Option<Rotated>,
}

/// A rotation recorded in the ledger. The bare `"rotated": true` of older files reads as one
/// with nothing known, and is written back the same way.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Rotated {
    /// When it was recorded (ISO 8601, UTC).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub date: Option<String>,
    /// Who recorded it: git's `user.name <user.email>`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub by: Option<String>,
    /// A ticket, a change, a reason.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// What the provider said about the old key then (`live`, `dead`, `unknown (…)`), when
    /// it was asked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub old_key: Option<String>,
}

/// `rotated`: `true` / `false` (the old form) or a `Rotated` record.
mod rotated_field {
    use super::Rotated;
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Form {
        Flag(bool),
        Record(Rotated),
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<Rotated>, D::Error> {
        Ok(match Form::deserialize(deserializer)? {
            Form::Flag(true) => Some(Rotated::default()),
            Form::Flag(false) => None,
            Form::Record(record) => Some(record),
        })
    }

    pub fn serialize<S: Serializer>(rotated: &Option<Rotated>, serializer: S) -> Result<S::Ok, S::Error> {
        match rotated {
            Some(record) if *record != Rotated::default() => record.serialize(serializer),
            Some(_) => serializer.serialize_bool(true),
            None => serializer.serialize_none(),
        }
    }
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

    fn get(&self, fingerprint: &str) -> Option<&Entry> {
        self.findings.iter().find(|e| e.fingerprint == fingerprint)
    }

    /// The entry that accepts `finding`: by its fingerprint, else by its legacy fingerprint
    /// (computed only when this baseline has legacy entries).
    pub fn entry_for(&self, finding: &Finding) -> Option<&Entry> {
        self.get(finding.fingerprint.as_str()).or_else(|| {
            let legacy = self.findings.iter().any(|e| Fingerprint::is_legacy(&e.fingerprint));
            legacy.then(|| self.get(finding.legacy_fingerprint().as_str())).flatten()
        })
    }

    /// This baseline plus today's findings (kept entries keep their review marks, and a legacy
    /// entry is rewritten with the new fingerprint); with `prune`, entries not found today are
    /// dropped.
    pub fn updated(&self, findings: &[Finding], prune: bool) -> Baseline {
        let mut entries: BTreeMap<String, Entry> = BTreeMap::new();
        if !prune {
            entries.extend(self.findings.iter().map(|e| (e.fingerprint.clone(), e.clone())));
        }
        for finding in findings {
            let fingerprint = finding.fingerprint.as_str().to_string();
            let old = self.entry_for(finding);
            if let Some(old) = old {
                entries.remove(&old.fingerprint);
            }
            let first = finding.first();
            entries.insert(
                fingerprint.clone(),
                Entry {
                    fingerprint,
                    rule: finding.rule.id.to_string(),
                    masked: shown_secret(finding, Reveal::Masked),
                    path: first.path.clone(),
                    line: first.line,
                    commit: first.commit.as_ref().map(|c| c.id.clone()),
                    rotated: old.and_then(|e| e.rotated.clone()),
                },
            );
        }
        Baseline { keyrot_baseline: VERSION, findings: entries.into_values().collect() }
    }

    /// The ledger entry for `finding` after recording a rotation: its existing entry (a legacy
    /// fingerprint rewritten) or a new one, with `record`. One entry per fingerprint, sorted.
    pub fn with_rotation(&self, finding: &Finding, record: Rotated) -> Baseline {
        let mut updated = self.updated(std::slice::from_ref(finding), false);
        let entry = updated
            .findings
            .iter_mut()
            .find(|e| e.fingerprint == finding.fingerprint.as_str())
            .expect("updated() holds every finding given");
        entry.rotated = Some(record);
        updated
    }

    /// The entry whose fingerprint is `fingerprint`.
    pub fn find(&self, fingerprint: &str) -> Option<&Entry> {
        self.get(fingerprint)
    }

    /// Writes to a new temporary file beside `path` (created exclusively under a random name,
    /// so nothing planted there is followed), syncs it, then renames it over `path`. On any
    /// failure the temporary file is removed (dropping it deletes it) and `path` is untouched.
    pub fn write(&self, path: &Path) -> Result<()> {
        let mut text = serde_json::to_string_pretty(self).expect("baseline entries serialize");
        text.push('\n');
        let context = || format!("cannot write {}", path.display());
        let dir = match path.parent() {
            Some(parent) if !parent.as_os_str().is_empty() => parent,
            _ => Path::new("."),
        };
        let mut builder = tempfile::Builder::new();
        builder.prefix(".keyrot-baseline.").suffix(".tmp");
        #[cfg(unix)]
        {
            // As a plain create would: readable by all unless the umask says otherwise.
            use std::os::unix::fs::PermissionsExt;
            builder.permissions(std::fs::Permissions::from_mode(0o666));
        }
        let mut temporary = builder.tempfile_in(dir).map_err(|e| Error::io(context(), e))?;
        temporary
            .write_all(text.as_bytes())
            .and_then(|()| temporary.as_file().sync_all())
            .map_err(|e| Error::io(context(), e))?;
        temporary.persist(path).map_err(|e| Error::io(context(), e.error))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry_names(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn the_bare_rotated_flag_reads_and_writes_back_unchanged() {
        let text = r#"{"keyrot_baseline": 1, "findings": [
            {"fingerprint": "v2:a", "rule": "r", "masked": null, "path": "p", "line": 1, "rotated": true},
            {"fingerprint": "v2:b", "rule": "r", "masked": null, "path": "p", "line": 2, "rotated": false},
            {"fingerprint": "v2:c", "rule": "r", "masked": null, "path": "p", "line": 3,
             "rotated": {"date": "2026-01-05T12:00:00+00:00", "by": "Ada <ada@example.org>", "old_key": "dead"}}
        ]}"#;
        let baseline: Baseline = serde_json::from_str(text).unwrap();
        assert_eq!(baseline.findings[0].rotated, Some(Rotated::default()));
        assert_eq!(baseline.findings[1].rotated, None);
        let record = baseline.findings[2].rotated.as_ref().unwrap();
        assert_eq!(
            (record.by.as_deref(), record.old_key.as_deref()),
            (Some("Ada <ada@example.org>"), Some("dead"))
        );
        let written = serde_json::to_value(&baseline).unwrap();
        assert_eq!(written["findings"][0]["rotated"], true);
        assert!(written["findings"][1].get("rotated").is_none());
        assert_eq!(written["findings"][2]["rotated"]["old_key"], "dead");
        assert!(written["findings"][2]["rotated"].get("note").is_none());
        let unknown = r#"{"keyrot_baseline": 1, "findings": [{"fingerprint": "v2:a", "rule": "r",
            "masked": null, "path": "p", "line": 1, "rotated": {"when": "x"}}]}"#;
        assert!(serde_json::from_str::<Baseline>(unknown).is_err(), "unknown ledger fields are refused");
    }

    #[test]
    fn write_replaces_the_file_and_leaves_nothing_behind() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(FILE_NAME);
        std::fs::write(&path, "old").unwrap();
        let empty = Baseline::default().updated(&[], false);
        empty.write(&path).unwrap();
        assert_eq!(Baseline::load(&path).unwrap(), empty);
        assert_eq!(entry_names(dir.path()), vec![FILE_NAME.to_string()]);
    }

    #[test]
    fn a_failed_write_leaves_no_temporary_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("taken");
        std::fs::create_dir(&path).unwrap();
        std::fs::write(path.join("inside"), "x").unwrap();
        assert!(Baseline::default().write(&path).is_err(), "cannot rename over a non-empty directory");
        assert_eq!(entry_names(dir.path()), vec!["taken".to_string()]);
    }

    #[cfg(unix)]
    #[test]
    fn write_does_not_follow_a_link_planted_at_a_predictable_name() {
        let dir = tempfile::tempdir().unwrap();
        let victim = dir.path().join("victim");
        std::fs::write(&victim, "precious").unwrap();
        let path = dir.path().join(FILE_NAME);
        let predictable = path.with_extension(format!("json.tmp-{}", std::process::id()));
        std::os::unix::fs::symlink(&victim, &predictable).unwrap();
        Baseline::default().write(&path).unwrap();
        assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious");
        assert!(std::fs::symlink_metadata(&path).unwrap().file_type().is_file());
    }
}
