//! One scan from start to end: picks the source the command line asked for, feeds each blob to
//! the matcher and merges the matches into findings. This is the `Sink` the sources push to; it
//! collects errors and warnings instead of printing them, so `main` decides what the user sees
//! and which exit code wins. For a range it also notices changes that could silence the scanner
//! (its config, baseline or ignore files, and new allow markers), for reviewers to see.

use crate::error::{Error, Result};
use crate::findings::{Finding, FindingSet, MAX_FINDINGS};
use crate::lineage::{Kept, Lineage};
use crate::matcher::{count_allow_markers, Content, Matcher, Place, MAX_MATCHES};
use crate::progress::Progress;
use crate::source::history::{self, Sinks, Walk};
use crate::source::{dir, staged, Blob, Limits, Seen, Sink};
use git2::{Oid, Repository};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Mutex;

/// Files whose change in a pull request changes what keyrot reports.
const CONFIG_FILES: [&str; 6] = [
    ".keyrot.toml",
    ".keyrot-baseline.json",
    ".keyrotignore",
    ".gitleaks.toml",
    ".gitleaksignore",
    ".betterleaksignore",
];

/// What to scan.
#[derive(Debug, Clone)]
pub enum Target {
    /// The index entries the next commit will contain (see `staged::entries`).
    Staged(staged::Selection),
    /// Files and directories on disk.
    Dir(Vec<PathBuf>, dir::IgnoreFiles),
    /// Commits: all of history, a range, or what a push sends.
    History(Walk),
    /// One piece of text that is not a file, such as a commit message, named by `path`.
    Text { path: String, bytes: Vec<u8> },
}

pub struct Outcome {
    pub findings: Vec<Finding>,
    pub errors: Vec<Error>,
    pub warnings: Vec<String>,
    /// Changes in a range that affect what keyrot reports.
    pub notices: Vec<String>,
    /// How much content was handed to the matcher.
    pub scanned: Scanned,
    /// Over a whole history: what the walk learnt of HEAD's history (`history::scan`).
    pub head: Option<history::HeadFacts>,
}

/// What a scan checked: pieces of content (files, blobs, messages) and their bytes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Scanned {
    pub files: u64,
    pub bytes: u64,
}

#[derive(Default)]
struct Collected {
    findings: FindingSet,
    errors: Vec<Error>,
    warnings: Vec<String>,
    /// With `watch`: allow markers per path (the most in any version of it).
    markers: BTreeMap<String, usize>,
}

/// Matches blobs and keeps what they found. One per scan (and one for a range's "before" blobs).
struct Collect<'m> {
    matcher: &'m Matcher,
    progress: &'m Progress,
    /// Count allow markers per path (range scans).
    watch: bool,
    collected: Mutex<Collected>,
    /// Pieces of content matched, and their bytes.
    files: AtomicU64,
    bytes: AtomicU64,
    /// What `prepare` kept, by blob id, until the blob's places are known.
    prepared: Mutex<HashMap<Oid, Prepared>>,
    /// The matches `prepare` keeps, in bytes (`Content::held_bytes`), and the most it may keep.
    held: AtomicUsize,
    hold_limit: usize,
}

/// What `prepare` keeps of the matches of blobs whose places are not known yet: a history whose
/// blobs each hold a thousand matches on long lines would otherwise keep gigabytes until its
/// walk ends. Past it a blob keeps nothing and is matched again with its places.
const HOLD_LIMIT: usize = 64 << 20;

/// A blob's content stage and what its places are judged with.
struct Prepared {
    content: Content,
    size: usize,
    /// With `watch`: how many allow markers it holds.
    markers: usize,
}

/// Where each of `seen` is, as the matcher judges places.
fn places(seen: &[Seen]) -> Vec<Place<'_>> {
    seen.iter()
        .map(|seen| Place { path: &seen.path, commit: seen.commit.as_ref().map(|c| c.id.as_str()) })
        .collect()
}

impl<'m> Collect<'m> {
    fn new(matcher: &'m Matcher, progress: &'m Progress, watch: bool) -> Self {
        Collect {
            matcher,
            progress,
            watch,
            collected: Mutex::default(),
            files: AtomicU64::new(0),
            bytes: AtomicU64::new(0),
            prepared: Mutex::default(),
            held: AtomicUsize::new(0),
            hold_limit: HOLD_LIMIT,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Collected> {
        self.collected.lock().expect("no worker panicked")
    }

    fn scanned(&self) -> Scanned {
        Scanned { files: self.files.load(Ordering::Relaxed), bytes: self.bytes.load(Ordering::Relaxed) }
    }

    fn prepared_lock(&self) -> std::sync::MutexGuard<'_, HashMap<Oid, Prepared>> {
        self.prepared.lock().expect("no worker panicked")
    }

    /// The place stage: each place of `seen` judged on its own, and the findings kept.
    fn judge(&self, prepared: &Prepared, seen: &[Seen], places: &[Place]) {
        let Some(first) = seen.first() else { return };
        let content = &prepared.content;
        if content.truncated {
            self.warn(format!(
                "{}: stopped after {MAX_MATCHES} matches; the rest of it was not scanned",
                first.path
            ));
        }
        let mut by_place = Vec::with_capacity(places.len());
        for &place in places {
            let judged = self.matcher.scan_path(place.path, place.commit).and_then(|mut matches| {
                if !content.is_empty() {
                    matches.extend(self.matcher.judge(content, place)?);
                }
                Ok(matches)
            });
            match judged {
                Ok(matches) => by_place.push(matches),
                Err(e) => return self.error(e),
            }
        }
        self.progress.found(by_place.iter().map(Vec::len).sum::<usize>());
        self.files.fetch_add(1, Ordering::Relaxed);
        self.bytes.fetch_add(prepared.size as u64, Ordering::Relaxed);
        if by_place.iter().all(Vec::is_empty) && !self.watch {
            return;
        }
        let rules = &self.matcher.rules.rules;
        let mut collected = self.lock();
        for (seen, matches) in seen.iter().zip(&by_place) {
            for m in matches {
                collected.findings.add(&rules[m.rule].meta, m, seen);
            }
            if self.watch {
                let count = collected.markers.entry(seen.path.clone()).or_default();
                *count = (*count).max(prepared.markers);
            }
        }
    }

    fn finish(self) -> Collected {
        self.collected.into_inner().expect("no worker panicked")
    }
}

impl Sink for Collect<'_> {
    /// Matches the content once, then judges each place it was seen at on its own: a rule's
    /// path condition and the path, glob and commit allowlists depend on the place.
    fn blob(&self, blob: Blob) -> Option<Kept> {
        let places = places(blob.seen);
        match self.matcher.content_built(blob.bytes, &places, blob.lineage) {
            Ok((content, kept)) => {
                let markers = if self.watch { count_allow_markers(blob.bytes) } else { 0 };
                self.judge(&Prepared { content, size: blob.size, markers }, blob.seen, &places);
                kept
            }
            Err(e) => {
                self.error(e);
                None
            }
        }
    }

    /// The content stage without places: rules limited to some paths wait for `blob`.
    fn prepare(&self, id: Oid, bytes: &[u8], lineage: Lineage) -> Option<Kept> {
        // What is not kept (an error, or matches past the limit) comes again as a `blob`.
        let (content, kept) = self.matcher.content_built(bytes, &[], lineage).ok()?;
        let held = content.held_bytes();
        if self.held.fetch_add(held, Ordering::Relaxed) + held > self.hold_limit {
            self.held.fetch_sub(held, Ordering::Relaxed);
            return kept;
        }
        let markers = if self.watch { count_allow_markers(bytes) } else { 0 };
        if let Some(replaced) =
            self.prepared_lock().insert(id, Prepared { content, size: bytes.len(), markers })
        {
            self.held.fetch_sub(replaced.content.held_bytes(), Ordering::Relaxed);
        }
        kept
    }

    fn prepared(&self, id: Oid, seen: &[Seen]) -> Option<usize> {
        let places = places(seen);
        // A rule limited to one of these paths did not run without them: match again.
        if self.matcher.gated_at(&places).unwrap_or(true) {
            return None;
        }
        let prepared = self.prepared_lock().remove(&id)?;
        self.held.fetch_sub(prepared.content.held_bytes(), Ordering::Relaxed);
        self.judge(&prepared, seen, &places);
        Some(prepared.size)
    }

    fn error(&self, error: Error) {
        self.lock().errors.push(error);
    }

    fn warn(&self, message: String) {
        self.lock().warnings.push(message);
    }
}

pub struct Options {
    pub limits: Limits,
    /// Worker threads the user asked for, if any.
    pub threads: Option<usize>,
}

impl Options {
    /// Worker threads: as asked, else one per core (asked of the system only by the scans that
    /// use threads: it reads cgroup files, a pre-commit run does not need to).
    fn threads(&self) -> usize {
        self.threads.unwrap_or_else(|| std::thread::available_parallelism().map_or(2, |n| n.get()))
    }
}

/// Runs the scan; `repo` is the repository around the current directory, needed for staged and
/// history targets.
pub fn run(
    matcher: &Matcher,
    target: &Target,
    options: &Options,
    progress: &Progress,
    repo: Option<&Repository>,
) -> Result<Outcome> {
    let repo = || repo.ok_or_else(|| open_repo().err().unwrap_or_else(not_a_repository));
    let is_range = matches!(target, Target::History(walk) if walk.is_range());
    let collect = Collect::new(matcher, progress, is_range);
    let mut before = Collected::default();
    let mut head = None;
    match target {
        Target::Staged(selection) => {
            for path in &selection.missing {
                collect.warn(format!("{} is not in the index: nothing is staged there", path.display()));
            }
            if selection.entries.is_empty() && !selection.missing.is_empty() {
                collect.error(Error::Usage(
                    "none of the paths named is in the index: nothing was checked".into(),
                ));
            }
            staged::scan(repo()?, &selection.entries, options.limits, &collect);
        }
        Target::Dir(paths, ignore_files) => {
            dir::scan(paths, *ignore_files, options.limits, options.threads(), &collect);
        }
        Target::History(walk) => {
            let quiet = Progress::hidden();
            let before_collect = Collect::new(matcher, &quiet, is_range);
            let sinks = Sinks { introduced: &collect, before: &before_collect };
            head = history::scan(repo()?, walk, options.limits, options.threads(), progress, &sinks)?;
            before = before_collect.finish();
        }
        Target::Text { path, bytes } => {
            let seen = [crate::source::Seen { path: path.clone(), commit: None, blob: None }];
            collect.blob(Blob::whole(bytes, &seen));
        }
    }
    progress.finish();
    let scanned = collect.scanned();
    let mut found = collect.finish();
    let existed: HashSet<_> = before.findings.identities().collect();
    for fingerprint in &existed {
        found.findings.remove(fingerprint);
    }
    found.errors.append(&mut before.errors);
    if found.findings.dropped() > 0 {
        found.warnings.push(format!(
            "more than {MAX_FINDINGS} distinct secrets: {} more matches were not recorded",
            found.findings.dropped()
        ));
    }
    found.warnings.sort();
    found.warnings.dedup();
    let notices = if is_range { notices(&found.markers, &before.markers) } else { Vec::new() };
    Ok(Outcome {
        findings: found.findings.into_sorted(),
        errors: found.errors,
        warnings: found.warnings,
        notices,
        scanned,
        head,
    })
}

/// What a range changed that affects keyrot's own verdict.
fn notices(introduced: &BTreeMap<String, usize>, before: &BTreeMap<String, usize>) -> Vec<String> {
    let mut notices = Vec::new();
    for (path, &count) in introduced {
        let name = path.rsplit('/').next().unwrap_or(path);
        if CONFIG_FILES.contains(&name) {
            notices.push(format!("this range changes {path}, which decides what keyrot reports"));
        }
        let had = before.get(path).copied().unwrap_or(0);
        if count > had {
            notices.push(format!("this range adds {} allow marker(s) in {path}", count - had));
        }
    }
    notices
}

/// The repository around the current directory.
pub fn open_repo() -> Result<Repository> {
    Repository::open_from_env().map_err(|e| match e.code() {
        git2::ErrorCode::NotFound => not_a_repository(),
        _ => Error::git("cannot open the git repository", e),
    })
}

fn not_a_repository() -> Error {
    Error::Usage(
        "not inside a git repository (run keyrot from a repository, or `keyrot scan PATH` for plain files)"
            .into(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::matcher::Workload;
    use crate::rules::Rules;

    const TOKEN: &[u8] = b"GITHUB_TOKEN = \"ghp_Zr7mQ2xLp9WvK4nT8bYc3HdF6gJ1sA5eU0oR\"\n";
    const NETRC: &[u8] = b"machine git.acme.io login deploy password Vq8zL2mK9xR4tP7wN3bY\n";

    fn matcher(extra: &str) -> Matcher {
        let mut config = crate::config::builtin().unwrap();
        if !extra.is_empty() {
            let dir = tempfile::tempdir().unwrap();
            let file = dir.path().join(".keyrot.toml");
            std::fs::write(&file, extra).unwrap();
            config = crate::config::load_file(&file, crate::config::DefaultBase::Extend).unwrap();
        }
        Matcher::new(Rules::build(&config).unwrap(), Workload::Large)
    }

    fn at(paths: &[&str]) -> Vec<Seen> {
        paths.iter().map(|p| Seen { path: p.to_string(), commit: None, blob: None }).collect()
    }

    /// (rule, path) of each finding.
    type Found = Vec<(String, String)>;

    fn found(collect: Collect) -> Found {
        let mut all: Found = collect
            .finish()
            .findings
            .into_sorted()
            .into_iter()
            .flat_map(|f| {
                f.locations.iter().map(|l| (f.rule.id.to_string(), l.path.clone())).collect::<Vec<_>>()
            })
            .collect();
        all.sort();
        all
    }

    /// What `blob` finds, and what `prepare` then `prepared` finds, for the same content and
    /// places; `None` in the second when the sink asked for the content again.
    fn both_ways(matcher: &Matcher, bytes: &[u8], seen: &[Seen]) -> (Found, Option<Found>) {
        let progress = Progress::hidden();
        let direct = Collect::new(matcher, &progress, false);
        direct.blob(Blob::whole(bytes, seen));
        let later = Collect::new(matcher, &progress, false);
        let id = Oid::hash_object(git2::ObjectType::Blob, bytes).unwrap();
        later.prepare(id, bytes, Lineage::default());
        let judged = later.prepared(id, seen);
        (
            found(direct),
            judged.map(|size| {
                assert_eq!(size, bytes.len());
                found(later)
            }),
        )
    }

    #[test]
    fn content_matched_before_its_places_are_known_is_judged_at_each_place() {
        let matcher = matcher("[[allowlists]]\npaths = ['''^vendor/''']\n");
        let (direct, later) = both_ways(&matcher, TOKEN, &at(&["vendor/conf.py", "app/conf.py"]));
        assert_eq!(direct, [("github-classic-token".to_string(), "app/conf.py".to_string())]);
        assert_eq!(later, Some(direct));
    }

    #[test]
    fn content_at_a_path_a_rule_is_limited_to_is_asked_for_again() {
        let matcher = matcher("");
        let (direct, later) = both_ways(&matcher, NETRC, &at(&["notes.txt", ".netrc"]));
        assert!(direct.contains(&("netrc-password".to_string(), ".netrc".to_string())), "{direct:?}");
        assert_eq!(later, None, "the .netrc rule did not run without its path");
        let (direct, later) = both_ways(&matcher, NETRC, &at(&["notes.txt"]));
        assert_eq!(later, Some(direct), "no rule is limited to notes.txt");
    }

    #[test]
    fn content_at_a_path_a_rule_without_keywords_is_limited_to_is_asked_for_again() {
        // rails-master-key has no keywords: it runs on every text, but only at its paths.
        let matcher = matcher("");
        let key = b"9f3c1a7e5b2d4086af1e3c5b7d9f0a2c\n";
        let (direct, later) = both_ways(&matcher, key, &at(&["config/master.key"]));
        assert_eq!(direct, [("rails-master-key".to_string(), "config/master.key".to_string())]);
        assert_eq!(later, None, "the rule did not run without its path");
    }

    #[test]
    fn matches_past_the_hold_limit_are_not_kept_and_the_blob_is_asked_for() {
        let matcher = matcher("");
        let progress = Progress::hidden();
        let mut collect = Collect::new(&matcher, &progress, false);
        collect.hold_limit = 100;
        let clean = b"nothing to see here\n";
        let (clean_id, token_id) = (
            Oid::hash_object(git2::ObjectType::Blob, clean).unwrap(),
            Oid::hash_object(git2::ObjectType::Blob, TOKEN).unwrap(),
        );
        collect.prepare(clean_id, clean, Lineage::default());
        collect.prepare(token_id, TOKEN, Lineage::default());
        assert_eq!(
            collect.prepared(token_id, &at(&["app/conf.py"])),
            None,
            "the token's match was over the limit"
        );
        assert_eq!(collect.prepared(clean_id, &at(&["notes.txt"])), Some(clean.len()), "nothing held, kept");
        assert_eq!(collect.held.load(Ordering::Relaxed), 0);
    }

    #[test]
    fn a_blob_that_was_not_prepared_is_asked_for() {
        let matcher = matcher("");
        let progress = Progress::hidden();
        let collect = Collect::new(&matcher, &progress, false);
        let id = Oid::hash_object(git2::ObjectType::Blob, TOKEN).unwrap();
        assert_eq!(collect.prepared(id, &at(&["app/conf.py"])), None);
    }
}
