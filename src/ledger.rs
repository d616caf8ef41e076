//! The rotation ledger's commands. `keyrot rotated FINGERPRINT` records in the baseline file that
//! a key was rotated: when, by whom (git's user.name and user.email), a note, and with `--verify`
//! what the provider said about the old key then. `keyrot verify --env FILE` checks the keys a
//! `.env` file holds (the new keys, after a rotation). The file format is `baseline.rs`'s; the
//! checks are `verify`'s.

use crate::baseline::{self, Baseline, Rotated};
use crate::cli::{Cli, RotatedArgs, VerifyOptions};
use crate::error::{Error, Result};
use crate::findings::Finding;
use crate::matcher::{Evidence, Workload};
use crate::report::{escape, shown_secret, Reveal};
use crate::verify::{self, Verification};
use crate::{Project, CLEAN, FOUND};
use std::path::Path;

/// `keyrot rotated FINGERPRINT [--note TEXT] [--verify]`.
pub fn rotated(cli: &Cli, args: &RotatedArgs) -> Result<u8> {
    let project = Project::open();
    let fingerprint = args.fingerprint.trim();
    let path = args.baseline.clone().unwrap_or_else(|| project.root.join(baseline::FILE_NAME));
    let path = std::path::absolute(&path).map_err(|e| Error::io("--baseline", e))?;
    let options = match args.verify {
        true => Some(verify::Options::new(
            &args.options.verify_endpoint,
            args.options.verify_timeout,
            crate::now(),
        )?),
        false => None,
    };
    let old = Baseline::load_if_present(&path)?;
    // The finding itself is needed for a new entry, and for its key when verifying.
    let finding = match (old.find(fingerprint), &options) {
        (Some(_), None) => None,
        _ => find(cli, &project, fingerprint)?,
    };
    let old_key = match (&finding, &options) {
        (Some(finding), Some(options)) => {
            let repo = project.repo.as_ref().ok();
            let content = |f: &Finding| crate::pipeline::content_of(f, repo);
            verify::check_all(&[finding], &content, options).pop().flatten()
        }
        _ => None,
    };
    if finding.is_none() && options.is_some() {
        eprintln!("keyrot: warning: the key is no longer in this repository: its old state was not checked");
    }
    let record = Rotated {
        date: Some(crate::time::iso8601(crate::now(), 0)),
        by: who(project.repo.as_ref().ok()),
        note: args.note.clone(),
        old_key: old_key.as_ref().map(Verification::to_string),
    };
    let (updated, what) = match (&finding, old.find(fingerprint)) {
        (Some(finding), _) => (old.with_rotation(finding, record), describe(finding)),
        (None, Some(entry)) => {
            let mut updated =
                Baseline { keyrot_baseline: old.keyrot_baseline, findings: old.findings.clone() };
            let what = format!("{} {}", escape(&entry.rule), entry.masked.as_deref().map_or("", |m| m));
            if let Some(e) = updated.findings.iter_mut().find(|e| e.fingerprint == fingerprint) {
                e.rotated = Some(record);
            }
            (updated, what)
        }
        (None, None) => {
            return Err(Error::Usage(format!(
                "no finding has the fingerprint '{}' (the `id` line of `keyrot scan --history`)",
                escape(fingerprint)
            )))
        }
    };
    updated.write(&path)?;
    println!("keyrot: recorded the rotation of {what} ({}) in {}", escape(fingerprint), path.display());
    match old_key {
        Some(Verification::Live) => {
            eprintln!("keyrot: ROTATION FAILED: the old key still works: revoke it at the provider");
            Ok(FOUND)
        }
        Some(state) => {
            println!("keyrot: the old key is {state}");
            Ok(CLEAN)
        }
        None => Ok(CLEAN),
    }
}

/// The finding with this fingerprint (or its legacy form) in what `keyrot baseline` scans.
fn find(cli: &Cli, project: &Project, fingerprint: &str) -> Result<Option<Finding>> {
    let matcher = crate::load_matcher(cli, &project.root, Workload::Large)?;
    let target = crate::baseline_target(project)?;
    let options = crate::scan_options(crate::cli::DEFAULT_MAX_FILE_MB, None);
    let outcome = crate::scan::run(
        &matcher,
        &target,
        &options,
        &crate::progress::Progress::new(true),
        project.repo.as_ref().ok(),
    )?;
    Ok(outcome
        .findings
        .into_iter()
        .find(|f| f.fingerprint.as_str() == fingerprint || f.legacy_fingerprint().as_str() == fingerprint))
}

fn describe(finding: &Finding) -> String {
    let provider = finding.rule.provider.as_deref().map_or_else(|| escape(&finding.rule.id), escape);
    format!("{provider} {}", shown_secret(finding, Reveal::Masked).unwrap_or_default())
}

/// `Name <email>` from git's configuration, as far as it is set.
fn who(repo: Option<&git2::Repository>) -> Option<String> {
    let config = match repo {
        Some(repo) => repo.config().ok()?,
        None => git2::Config::open_default().ok()?,
    };
    let name = config.get_string("user.name").ok();
    let email = config.get_string("user.email").ok();
    match (name, email) {
        (Some(name), Some(email)) => Some(format!("{name} <{email}>")),
        (Some(one), None) | (None, Some(one)) => Some(one),
        (None, None) => None,
    }
}

/// `keyrot verify --env FILE`: one line per key (provider, masked key, live / dead / unknown).
/// Exit 0 when every key works, 1 when one does not or could not be checked.
pub fn verify_env(cli: &Cli, file: &Path, options: &VerifyOptions) -> Result<u8> {
    let options = verify::Options::new(&options.verify_endpoint, options.verify_timeout, crate::now())?;
    let bytes = crate::textfile::read_bytes(file, crate::textfile::CONFIG_LIMIT)?;
    let matcher = crate::load_matcher(cli, &Project::open().root, Workload::Small)?;
    let target = crate::scan::Target::Text { path: file.display().to_string(), bytes: bytes.clone() };
    let scan_options = crate::scan_options(crate::cli::DEFAULT_MAX_FILE_MB, Some(1));
    let outcome =
        crate::scan::run(&matcher, &target, &scan_options, &crate::progress::Progress::new(true), None)?;
    if let Some(error) = outcome.errors.first() {
        return Err(Error::Usage(error.to_string()));
    }
    // Keys only: the file itself being a .env is not news here.
    let keys: Vec<&Finding> =
        outcome.findings.iter().filter(|f| matches!(f.evidence, Evidence::Secret { .. })).collect();
    if keys.is_empty() {
        println!("keyrot: no keys found in {}", escape(&file.display().to_string()));
        return Ok(CLEAN);
    }
    let content = |_: &Finding| Some(bytes.clone());
    let answers = verify::check_all(&keys, &content, &options);
    let mut text = String::new();
    let mut all_live = true;
    for (finding, answer) in keys.iter().zip(&answers) {
        let state = answer.as_ref().map_or_else(|| "unknown".to_string(), Verification::to_string);
        all_live &= matches!(answer, Some(Verification::Live));
        let provider = finding.rule.provider.as_deref().map_or_else(|| escape(&finding.rule.id), escape);
        let masked = shown_secret(finding, Reveal::Masked).unwrap_or_default();
        text.push_str(&format!("{provider:<16} {masked:<20} {state}\n"));
    }
    crate::print(&text)?;
    Ok(if all_live { CLEAN } else { FOUND })
}
