//! `--format sarif`: SARIF 2.1.0 for GitHub code scanning. One result per location; each result
//! carries the finding's content fingerprint in `partialFingerprints`, so an alert survives line
//! shifts and file moves. Rule metadata (description, provider, rotation URL and steps) comes from
//! the rules file; only the rules that produced results are listed. Secrets are always masked.

use super::stream::{self, Part};
use super::{shown_secret, Report, Reveal, Scope};
use crate::config::Text;
use crate::findings::{Finding, Location};
use serde_json::{json, Value};
use std::io::Write;

/// Writes the report; results are made and written one at a time (`stream.rs`).
pub fn render(report: &Report, out: &mut dyn Write) -> std::io::Result<()> {
    let mut rule_ids: Vec<&str> = report.reported().map(|r| r.finding.rule.id.as_ref()).collect();
    rule_ids.sort_unstable();
    rule_ids.dedup();
    let rules: Vec<Value> = rule_ids
        .iter()
        .filter_map(|id| report.rules.iter().find(|r| r.id == *id))
        .map(|r| {
            let mut help = r.description.to_string();
            if let Some(rotate) = &r.rotate {
                help.push_str(&format!("\n\nRotate it at {}", rotate.url));
                for (i, step) in rotate.steps.iter().enumerate() {
                    help.push_str(&format!("\n{}. {step}", i + 1));
                }
            }
            let mut rule = json!({
                "id": r.id,
                "name": r.id,
                "shortDescription": { "text": r.description },
                "help": { "text": help },
                "defaultConfiguration": { "level": "error" },
                "properties": {
                    "tags": tags(&r.tags),
                    "security-severity": "9.0",
                    "confidence": r.confidence,
                },
            });
            if let Some(rotate) = &r.rotate {
                rule["helpUri"] = json!(rotate.url);
            }
            if let Some(provider) = &r.provider {
                rule["properties"]["provider"] = json!(provider);
            }
            rule
        })
        .collect();
    let rule_ids = &rule_ids;
    let results =
        report.reported().flat_map(|r| r.finding.locations.iter().map(move |l| (r, l))).map(move |(r, l)| {
            let mut result = result(&r.finding, l, rule_ids, &report.scope);
            if report.verified {
                result["properties"]["verification"] = super::json::verification(r.verification.as_ref());
            }
            result
        });
    let driver = json!({ "driver": {
        "name": "keyrot",
        "semanticVersion": env!("CARGO_PKG_VERSION"),
        "informationUri": "https://github.com/keyrot/keyrot",
        "rules": rules,
    }});
    stream::write(
        out,
        Part::Object(vec![
            ("$schema", Part::Value(json!("https://json.schemastore.org/sarif-2.1.0.json"))),
            (
                "runs",
                Part::Array(vec![Part::Object(vec![
                    ("invocations", Part::Value(json!([invocation(report)]))),
                    ("results", Part::Items(Box::new(results))),
                    ("tool", Part::Value(driver)),
                ])]),
            ),
            ("version", Part::Value(json!("2.1.0"))),
        ]),
    )
}

fn tags(tags: &[Text]) -> Vec<String> {
    let mut all = vec!["security".to_string(), "secret".to_string()];
    all.extend(tags.iter().map(|t| t.to_string()));
    all
}

fn result(f: &Finding, l: &Location, rule_ids: &[&str], scope: &Scope) -> Value {
    let what = match shown_secret(f, Reveal::Masked) {
        Some(masked) => format!("{} ({masked}) found in {}", f.rule.description, l.path),
        None => format!("{} committed: {}", f.rule.description, l.path),
    };
    let message = match (&l.commit, scope) {
        (Some(commit), _) => format!("{what} at commit {}.", commit.id),
        (None, Scope::Staged) => format!("{what} (staged)."),
        (None, _) => format!("{what}."),
    };
    let mut physical = json!({ "artifactLocation": { "uri": uri(&l.path), "uriBaseId": "%SRCROOT%" } });
    if l.line > 0 {
        physical["region"] = json!({ "startLine": l.line, "startColumn": l.column.max(1) });
    }
    let mut result = json!({
        "ruleId": f.rule.id,
        "ruleIndex": rule_ids.iter().position(|id| *id == f.rule.id).unwrap_or(0),
        "level": "error",
        "message": { "text": message },
        "locations": [{ "physicalLocation": physical }],
        "partialFingerprints": { "keyrotSecret/v2": f.fingerprint.as_str() },
    });
    if let Some(commit) = &l.commit {
        result["properties"] = json!({
            "commit": commit.id,
            "author": commit.author,
            "date": crate::time::iso8601(commit.time, commit.offset_minutes),
        });
    }
    result
}

/// A relative URI reference for a repository path: `/`-separated, everything outside RFC 3986's
/// unreserved set percent-encoded.
fn uri(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for b in path.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~/".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Whether the scan read everything (`executionSuccessful`), with its errors and the range
/// notices as notifications, so that code scanning shows them beside the results.
fn invocation(report: &Report) -> Value {
    let notify = |level: &str, text: &String| json!({ "level": level, "message": { "text": text } });
    let notifications: Vec<Value> = report
        .errors
        .iter()
        .map(|e| notify("error", e))
        .chain(report.notices.iter().map(|n| notify("warning", n)))
        .collect();
    json!({
        "executionSuccessful": report.errors.is_empty(),
        "toolExecutionNotifications": notifications,
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn uri_encodes_spaces_and_unicode() {
        assert_eq!(super::uri("a b/é.txt"), "a%20b/%C3%A9.txt");
    }
}
