//! `--format json`: `{"findings": [...], "summary": {...}}`, one entry per distinct secret with
//! its rule, provider, fingerprint, masked value (the raw value only with `--reveal`), every
//! location and the rule's rotation advice; `scanned` says how many pieces of content (files,
//! blobs, messages) and bytes were checked against how many rules. Keys are stable; consumers
//! may rely on them.

use super::stream::{self, Part};
use super::{public_id, shown_secret, Report, Reveal};
use crate::findings::{Finding, Location};
use crate::rotation::{days_exposed, Exposure, Facts};
use crate::source::CommitInfo;
use crate::verify::Verification;
use serde_json::{json, Map, Value};
use std::io::Write;

/// Writes the report; findings are made and written one at a time (`stream.rs`).
pub fn render(report: &Report, out: &mut dyn Write) -> std::io::Result<()> {
    let findings = report.reported().map(|row| {
        let mut entry = finding(&row.finding, report.reveal);
        if let Value::Object(map) = &mut entry {
            if let Some(facts) = &row.facts {
                add_facts(map, facts, report.now);
            }
            if report.verified {
                map.insert("verification".into(), verification(row.verification.as_ref()));
            }
        }
        entry
    });
    stream::write(
        out,
        Part::Object(
            vec![
                ("complete", Part::Value(json!(report.errors.is_empty()))),
                ("errors", Part::Value(json!(report.errors))),
                ("findings", Part::Items(Box::new(findings))),
                ("notices", Part::Value(json!(report.notices))),
                ("rotation_failed", Part::Value(rotation_failed(report))),
                (
                    "scanned",
                    Part::Value(json!({
                        "files": report.scanned.files,
                        "bytes": report.scanned.bytes,
                        "rules": report.rules.len(),
                    })),
                ),
                (
                    "summary",
                    Part::Value(json!({
                        "findings": report.reported_count(),
                        "baselined": report.accepted_count(),
                    })),
                ),
            ]
            .into_iter()
            .filter(|(key, _)| *key != "rotation_failed" || report.verified)
            .collect(),
        ),
    )
}

/// With `--verify`: the keys the ledger records as rotated that still work, by fingerprint.
fn rotation_failed(report: &Report) -> Value {
    let failed: Vec<Value> = report
        .rotation_failures()
        .map(|row| {
            json!({
                "rule": row.finding.rule.id,
                "provider": row.finding.rule.provider,
                "fingerprint": row.finding.fingerprint.as_str(),
                "masked": shown_secret(&row.finding, Reveal::Masked),
            })
        })
        .collect();
    Value::Array(failed)
}

fn finding(f: &Finding, reveal: Reveal) -> Value {
    let mut entry = Map::new();
    entry.insert("rule".into(), json!(f.rule.id));
    entry.insert("description".into(), json!(f.rule.description));
    entry.insert("provider".into(), json!(f.rule.provider));
    entry.insert("confidence".into(), json!(f.rule.confidence));
    entry.insert("kind".into(), json!(if shown_secret(f, reveal).is_some() { "secret" } else { "file" }));
    entry.insert("fingerprint".into(), json!(f.fingerprint.as_str()));
    entry.insert("masked".into(), json!(shown_secret(f, Reveal::Masked)));
    if reveal == Reveal::Full {
        entry.insert("secret".into(), json!(shown_secret(f, Reveal::Full)));
    }
    entry.insert("key_id".into(), json!(public_id(f)));
    entry.insert("locations".into(), Value::Array(f.locations.iter().map(location).collect()));
    entry.insert("location_count".into(), json!(f.location_count()));
    entry.insert(
        "rotation".into(),
        match &f.rule.rotate {
            Some(r) => json!({ "url": r.url, "steps": r.steps }),
            None => Value::Null,
        },
    );
    Value::Object(entry)
}

fn add_facts(entry: &mut Map<String, Value>, facts: &Facts, now: i64) {
    let exposure = facts.exposure.as_ref();
    entry.insert("exposure".into(), json!(exposure.map(Exposure::name)));
    let remotes: &[String] = match exposure {
        Some(Exposure::Pushed(remotes)) => remotes,
        _ => &[],
    };
    entry.insert("remotes".into(), json!(remotes));
    entry.insert("first_seen".into(), facts.first_seen.as_deref().map_or(Value::Null, commit));
    entry.insert("days_exposed".into(), json!(facts.first_seen.as_ref().map(|c| days_exposed(c.time, now))));
    entry.insert("in_head".into(), json!(facts.in_head));
    entry.insert("in_worktree".into(), json!(facts.in_worktree));
    entry.insert("removed_in".into(), facts.removed_in.as_deref().map_or(Value::Null, commit));
}

/// `{"state": "live"}`, `{"state": "unknown", "reason": "rate limited"}`; null for a finding
/// that is not a key (a file that must not be committed).
pub fn verification(verification: Option<&Verification>) -> Value {
    match verification {
        None => Value::Null,
        Some(Verification::Unknown(reason)) => json!({ "state": "unknown", "reason": reason.to_string() }),
        Some(v) => json!({ "state": v.name() }),
    }
}

fn commit(c: &CommitInfo) -> Value {
    json!({
        "commit": c.id,
        "author": c.author,
        "email": c.email,
        "date": crate::time::iso8601(c.time, c.offset_minutes),
    })
}

pub fn location(l: &Location) -> Value {
    let mut entry = Map::new();
    entry.insert("path".into(), json!(l.path));
    entry.insert("line".into(), json!(l.line));
    entry.insert("column".into(), json!(l.column));
    if let Some(commit) = &l.commit {
        entry.insert("commit".into(), json!(commit.id));
        entry.insert("author".into(), json!(commit.author));
        entry.insert("email".into(), json!(commit.email));
        entry.insert("date".into(), json!(crate::time::iso8601(commit.time, commit.offset_minutes)));
    }
    Value::Object(entry)
}
