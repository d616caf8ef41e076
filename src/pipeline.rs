//! What happens to a scan's findings before anything is printed: ignore files, the baseline and
//! its rotation ledger, exposure facts from git, verification with the providers (`--verify`),
//! and the report built from them, one `Row` per finding. Then printing, and the facts `main`
//! turns into an exit code. Nothing here decides an exit code.

use crate::baseline::{self, Baseline};
use crate::cli::{Format, ScanArgs};
use crate::error::{Error, Result};
use crate::findings::Finding;
use crate::ignores::Ignore;
use crate::report::{self, escape, Report, Row, Scope, Status};
use crate::rules::RuleMeta;
use crate::scan::Outcome;
use crate::source::history::HeadFacts;
use crate::verify;
use std::path::Path;
use std::sync::Arc;

/// A scan's findings, judged and ready to print.
pub struct Done {
    pub report: Report,
    /// Ignore entries that matched nothing, named by where they were written.
    pub unused_ignores: Vec<String>,
    pub warnings: Vec<String>,
    pub errors: Vec<Error>,
    /// With `--require-rotated`: indices of rows of pushed secrets the ledger has no entry for.
    pub unrotated: Vec<usize>,
}

pub struct Context<'a> {
    pub repo: Option<&'a git2::Repository>,
    /// Where the baseline and ignore files are looked for.
    pub root: &'a Path,
    pub rules: Vec<Arc<RuleMeta>>,
    pub now: i64,
}

/// Ignores, baseline, exposure, verification: the report of a scan.
pub fn judge(outcome: Outcome, scope: Scope, args: &ScanArgs, context: &Context) -> Result<Done> {
    let verify = match args.verify {
        true => Some(verify::Options::new(
            &args.verify_options.verify_endpoint,
            args.verify_options.verify_timeout,
            context.now,
        )?),
        false => None,
    };
    if args.require_rotated && !matches!(scope, Scope::Staged | Scope::History | Scope::Range(_)) {
        return Err(Error::Usage(
            "--require-rotated needs git's view of what was pushed: use it with --history, --range, --since or --staged"
                .into(),
        ));
    }
    let mut findings = outcome.findings;
    let ignore = Ignore::load(context.root)?;
    let used = ignore.apply(&mut findings);
    let unused_ignores = match args.report_unused_ignores {
        true => ignore
            .entries
            .iter()
            .zip(used)
            .filter(|(_, used)| !used)
            .map(|((_, o), _)| o.to_string())
            .collect(),
        false => Vec::new(),
    };
    let baseline = match (&args.baseline, args.no_baseline) {
        (_, true) => Baseline::default(),
        (Some(file), false) => Baseline::load(file)?,
        (None, false) => Baseline::load_if_present(&context.root.join(baseline::FILE_NAME))?,
    };
    // Reported findings first, then accepted ones that still need rotating, then (only to check
    // that the old key is dead) those the ledger records as rotated.
    let mut rows: Vec<Row> = Vec::new();
    let mut accepted = Vec::new();
    for finding in findings {
        match baseline.entry_for(&finding) {
            None => rows.push(Row::new(finding, Status::Reported)),
            Some(entry) if entry.rotated.is_none() => accepted.push(Row::new(finding, Status::Accepted)),
            Some(_) if verify.is_some() => accepted.push(Row::new(finding, Status::Rotated)),
            Some(_) => {}
        }
    }
    accepted.sort_by_key(|row| row.status == Status::Rotated);
    rows.extend(accepted);
    add_facts(&mut rows, &scope, context.repo, outcome.head.as_ref())?;
    if let Some(options) = &verify {
        add_verification(&mut rows, options, context);
    }
    let unrotated = match args.require_rotated {
        true => (0..rows.len())
            .filter(|&i| {
                let row = &rows[i];
                let pushed = row
                    .facts
                    .as_ref()
                    .is_some_and(|f| matches!(f.exposure, Some(crate::rotation::Exposure::Pushed(_))));
                let recorded = baseline.entry_for(&row.finding).is_some_and(|e| e.rotated.is_some());
                pushed && row.finding.is_secret() && !recorded
            })
            .collect(),
        false => Vec::new(),
    };
    let report = Report {
        rows,
        notices: outcome.notices,
        errors: outcome.errors.iter().map(|e| escape(&e.to_string())).collect(),
        scope,
        reveal: if args.reveal { report::Reveal::Full } else { report::Reveal::Masked },
        rules: context.rules.clone(),
        now: context.now,
        scanned: outcome.scanned,
        verified: verify.is_some(),
    };
    Ok(Done { report, unused_ignores, warnings: outcome.warnings, errors: outcome.errors, unrotated })
}

/// What git says about each row, for the scopes whose advice uses it. A hook's own advice
/// covers what it blocks: nothing it finds was pushed.
fn add_facts(
    rows: &mut [Row],
    scope: &Scope,
    repo: Option<&git2::Repository>,
    head: Option<&HeadFacts>,
) -> Result<()> {
    let repo = || repo.ok_or_else(|| Error::Usage("not in a git repository".into()));
    let findings: Vec<Finding> = rows.iter().map(|r| r.finding.clone()).collect();
    let facts = match scope {
        Scope::Staged => crate::exposure::for_staged(repo()?, &findings),
        Scope::History | Scope::Range(_) => crate::exposure::for_history(repo()?, &findings, head),
        _ => Vec::new(),
    };
    for (row, facts) in rows.iter_mut().zip(facts) {
        row.facts = Some(facts);
    }
    Ok(())
}

/// Asks the providers about every row's key (each distinct key once).
fn add_verification(rows: &mut [Row], options: &verify::Options, context: &Context) {
    let findings: Vec<&Finding> = rows.iter().map(|r| &r.finding).collect();
    let content = |finding: &Finding| content_of(finding, context.repo);
    let answers = verify::check_all(&findings, &content, options);
    for (row, answer) in rows.iter_mut().zip(answers) {
        row.verification = answer;
    }
}

/// The content a finding was first found in: its blob when it came from git, else its file.
/// Used only to find a value that belongs with the key (AWS's key id, Twilio's account SID).
pub fn content_of(finding: &Finding, repo: Option<&git2::Repository>) -> Option<Vec<u8>> {
    let location = finding.locations.first()?;
    if let (Some(repo), Some(blob)) = (repo, location.blob) {
        if let Ok(blob) = repo.find_blob(blob) {
            return Some(blob.content().to_vec());
        }
    }
    // A regular file only, and bounded: a finding read from a pipe named on the command line
    // must not make this read block.
    crate::textfile::read_bytes(Path::new(&location.path), crate::textfile::CONFIG_LIMIT).ok()
}

impl Done {
    /// Writes the report in the chosen format, then what stderr should say.
    pub fn print(&self, args: &ScanArgs) -> Result<()> {
        let report = &self.report;
        match args.format {
            Format::Human => crate::print(&report::human::render(report))?,
            Format::Json => crate::write_out(|out| report::json::render(report, out))?,
            Format::Sarif => crate::write_out(|out| report::sarif::render(report, out))?,
            Format::Checklist => crate::print(&report::checklist::render(report))?,
        }
        if args.format != Format::Human {
            for notice in &report.notices {
                eprintln!("keyrot: notice: {}", escape(notice));
            }
        }
        for origin in &self.unused_ignores {
            eprintln!("keyrot: unused ignore entry: {origin}");
        }
        if !args.quiet {
            for warning in &self.warnings {
                eprintln!("keyrot: warning: {}", escape(warning));
            }
        }
        // The human report says it at the top; other formats carry it as data.
        for row in report.rotation_failures().filter(|_| args.format != Format::Human) {
            eprintln!(
                "keyrot: ROTATION FAILED: the old key still works: {} {} ({})",
                row.finding.rule.provider.as_deref().map_or_else(|| "-".into(), escape),
                report::shown_secret(&row.finding, report.reveal).unwrap_or_default(),
                row.finding.fingerprint
            );
        }
        for &i in &self.unrotated {
            let finding = &report.rows[i].finding;
            eprintln!(
                "keyrot: pushed secret with no rotation recorded: {} {} ({}); rotate it, then `keyrot rotated {}`",
                finding.rule.provider.as_deref().map_or_else(|| "-".into(), escape),
                report::shown_secret(finding, report.reveal).unwrap_or_default(),
                finding.fingerprint,
                finding.fingerprint
            );
        }
        for error in &self.errors {
            eprintln!("keyrot: error: {}", escape(&error.to_string()));
        }
        if report.reported_count() == 0 && self.errors.is_empty() && !args.quiet {
            if let Some(line) = report::human::coverage(report) {
                eprintln!("{line}");
            }
        }
        Ok(())
    }

    /// Keys recorded as rotated that still work, or pushed keys the ledger lacks (with
    /// `--require-rotated`): reasons to fail even when nothing new was found.
    pub fn ledger_failed(&self) -> bool {
        self.report.rotation_failures().next().is_some() || !self.unrotated.is_empty()
    }
}
