//! One scan from start to end: picks the source the command line asked for, feeds each blob to
//! the matcher and merges the matches into findings. This is the `Sink` the sources push to; it
//! collects errors and warnings instead of printing them, so `main` decides what the user sees
//! and which exit code wins.

use crate::error::{Error, Result};
use crate::findings::{Finding, FindingSet};
use crate::matcher::{Evidence, Matcher};
use crate::progress::Progress;
use crate::source::history::{self, Sinks, Walk};
use crate::source::{dir, staged, Blob, Limits, Sink};
use git2::Repository;
use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::Mutex;

/// What to scan.
#[derive(Debug, Clone)]
pub enum Target {
    /// The index: what the next commit will contain (all changes, or the given paths).
    Staged(Vec<PathBuf>),
    /// Files and directories on disk.
    Dir(Vec<PathBuf>, dir::IgnoreFiles),
    /// Commits: all of history, or a range.
    History(Walk),
}

pub struct Outcome {
    pub findings: Vec<Finding>,
    pub errors: Vec<Error>,
    pub warnings: Vec<String>,
}

/// Matches blobs and keeps what they found. One per scan (and one for a range's "before" blobs).
pub struct Collect<'m> {
    matcher: &'m Matcher,
    progress: &'m Progress,
    findings: Mutex<FindingSet>,
    errors: Mutex<Vec<Error>>,
    warnings: Mutex<Vec<String>>,
}

impl<'m> Collect<'m> {
    pub fn new(matcher: &'m Matcher, progress: &'m Progress) -> Self {
        Collect {
            matcher,
            progress,
            findings: Mutex::default(),
            errors: Mutex::default(),
            warnings: Mutex::default(),
        }
    }

    fn finish(self) -> (FindingSet, Vec<Error>, Vec<String>) {
        (
            self.findings.into_inner().expect("no worker panicked"),
            self.errors.into_inner().expect("no worker panicked"),
            self.warnings.into_inner().expect("no worker panicked"),
        )
    }
}

impl Sink for Collect<'_> {
    fn blob(&self, blob: Blob) {
        let Some(first) = blob.seen.first() else {
            return;
        };
        let commit = first.commit.as_ref().map(|c| c.id.as_str());
        let content = match self.matcher.scan_content(&first.path, commit, blob.bytes) {
            Ok(matches) => matches,
            Err(e) => return self.error(e),
        };
        let mut by_path = Vec::with_capacity(blob.seen.len());
        for seen in blob.seen {
            match self.matcher.scan_path(&seen.path, seen.commit.as_ref().map(|c| c.id.as_str())) {
                Ok(matches) => by_path.push(matches),
                Err(e) => return self.error(e),
            }
        }
        self.progress.found(content.len() + by_path.iter().map(Vec::len).sum::<usize>());
        if content.is_empty() && by_path.iter().all(Vec::is_empty) {
            return;
        }
        let rules = &self.matcher.rules.rules;
        let mut findings = self.findings.lock().expect("no worker panicked");
        for (seen, path_matches) in blob.seen.iter().zip(&by_path) {
            for m in content.iter().chain(path_matches) {
                findings.add(&rules[m.rule].meta, m, seen);
            }
        }
    }

    fn error(&self, error: Error) {
        self.errors.lock().expect("no worker panicked").push(error);
    }

    fn warn(&self, message: String) {
        self.warnings.lock().expect("no worker panicked").push(message);
    }
}

pub struct Options {
    pub limits: Limits,
    pub threads: usize,
}

pub fn run(matcher: &Matcher, target: &Target, options: &Options, progress: &Progress) -> Result<Outcome> {
    let collect = Collect::new(matcher, progress);
    let mut before_fingerprints = HashSet::new();
    match target {
        Target::Staged(paths) => {
            let repo = open_repo()?;
            staged::scan(&repo, paths, options.limits, &collect)?;
        }
        Target::Dir(paths, ignore_files) => {
            dir::scan(paths, *ignore_files, options.limits, options.threads, &collect);
        }
        Target::History(walk) => {
            let repo = open_repo()?;
            let quiet = Progress::hidden();
            let before = Collect::new(matcher, &quiet);
            let sinks = Sinks { introduced: &collect, before: &before };
            history::scan(&repo, walk, options.limits, options.threads, progress, &sinks)?;
            let (found_before, errors, _) = before.finish();
            before_fingerprints.extend(found_before.fingerprints());
            collect.errors.lock().expect("no worker panicked").extend(errors);
        }
    }
    progress.finish();
    let (mut findings, errors, mut warnings) = collect.finish();
    for fingerprint in &before_fingerprints {
        findings.remove(fingerprint);
    }
    warnings.sort();
    warnings.dedup();
    Ok(Outcome { findings: findings.into_sorted(), errors, warnings })
}

/// The repository around the current directory.
pub fn open_repo() -> Result<Repository> {
    Repository::open_from_env().map_err(|e| match e.code() {
        git2::ErrorCode::NotFound => Error::Usage(
            "not inside a git repository (run keyrot from a repository, or `keyrot scan PATH` for plain files)".into(),
        ),
        _ => Error::git("cannot open the git repository", e),
    })
}

/// Whether the finding is about a secret value (rather than a file that must not be committed).
pub fn is_secret(finding: &Finding) -> bool {
    matches!(finding.evidence, Evidence::Secret { .. })
}
