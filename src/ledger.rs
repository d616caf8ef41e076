//! The rotation ledger's command. `keyrot rotated FINGERPRINT` records in the baseline file that
//! a key was rotated: when, by whom (git's user.name and user.email), a note, and with `--verify`
//! what the provider said about the old key then. The file format is `baseline.rs`'s; the checks
//! are `verify`'s.

use crate::baseline::{self, Baseline, Rotated};
use crate::cli::{Cli, RotatedArgs};
use crate::error::{Error, Result};
use crate::findings::Finding;
use crate::matcher::Workload;
use crate::report::{escape, shown_secret, Reveal};
use crate::verify::{self, Verification};
use crate::{Project, CLEAN, FOUND};

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
