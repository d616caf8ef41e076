//! Git history as a source: the commits reachable from every ref (`--history`) or those of a
//! range (`--range A..B`). Each commit is compared with *every* parent, and a blob counts as
//! introduced by the commit only if no parent has it at that path: so an evil merge's own content
//! is found and attributed to the merge, and unchanged files are never re-read. Each distinct
//! blob is then scanned once, with the list of every (path, commit) that introduced it: packed
//! blobs by `pack`, which resolves each delta chain once, the rest by workers that each open
//! their own repository handle.
//!
//! Memory grows with the number of objects (ids, paths, commit facts), never with their content:
//! a worker holds the blob it scans and the bases it is building others from.

use super::pack::{self, Content};
use super::{too_large, Blob, Limits, Seen, Sink};
use crate::error::{Error, Result};
use crate::findings::{CommitInfo, MAX_LOCATIONS};
use crate::progress::Progress;
use git2::{ObjectType, Oid, Repository, Sort, Tree};
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;

/// Which commits to walk.
#[derive(Clone, Debug)]
pub enum Walk {
    /// Every commit reachable from any ref (branches, tags, remotes, stash) and HEAD.
    All,
    /// `A..B`: commits reachable from B and not from A.
    Range(String),
}

/// Why a blob is scanned.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Role {
    /// A commit of the walk introduced it.
    Introduced,
    /// The version a range commit replaced: secrets found there existed before the range.
    Before,
}

struct Pending {
    id: Oid,
    role: Role,
    seen: Vec<Seen>,
}

/// Where blobs go: what the walk introduced, and (for ranges) what those changes replaced.
pub struct Sinks<'a> {
    pub introduced: &'a dyn Sink,
    pub before: &'a dyn Sink,
}

/// Walks the commits, then scans the blobs they introduced. Errors that stop the walk itself
/// (a bad revision) are returned; per-object errors go to the sinks and the scan goes on.
pub fn scan(
    repo: &Repository,
    walk: &Walk,
    limits: Limits,
    threads: usize,
    progress: &Progress,
    sinks: &Sinks,
) -> Result<()> {
    if repo.is_shallow() {
        sinks.introduced.warn(
            "this repository is a shallow clone: commits before the shallow boundary were not scanned \
             (fetch more history with `git fetch --unshallow`)"
                .into(),
        );
    }
    let mut revwalk = repo.revwalk().map_err(|e| Error::git("cannot walk history", e))?;
    revwalk
        .set_sorting(Sort::TOPOLOGICAL | Sort::REVERSE)
        .map_err(|e| Error::git("cannot walk history", e))?;
    match walk {
        Walk::All => {
            revwalk.push_glob("*").map_err(|e| Error::git("cannot read the repository's refs", e))?;
            if repo.head_detached().unwrap_or(false) {
                revwalk.push_head().map_err(|e| Error::git("cannot read HEAD", e))?;
            }
        }
        Walk::Range(range) => {
            revwalk.push_range(range).map_err(|e| Error::git(format!("bad range '{range}'"), e))?;
        }
    }
    let mut collector = Collector {
        repo,
        walk_range: matches!(walk, Walk::Range(_)),
        index: HashMap::new(),
        pending: Vec::new(),
    };
    for (order, id) in revwalk.enumerate() {
        let commit = match id.and_then(|id| repo.find_commit(id)) {
            Ok(commit) => commit,
            Err(e) => {
                sinks.introduced.error(Error::git("cannot walk history", e));
                break;
            }
        };
        let info = Arc::new(CommitInfo::of(&commit, order));
        collector.commit(&commit, &info, sinks.introduced);
        progress.walking(order as u64 + 1);
    }
    let pending = collector.pending;
    progress.scanning(pending.len() as u64);
    scan_blobs(repo, &pending, limits, threads, progress, sinks);
    Ok(())
}

/// Collects, in walk order, every blob introduced by the walked commits.
struct Collector<'r> {
    repo: &'r Repository,
    walk_range: bool,
    index: HashMap<(Oid, Role), usize>,
    pending: Vec<Pending>,
}

impl<'r> Collector<'r> {
    fn commit(&mut self, commit: &git2::Commit, info: &Arc<CommitInfo>, sink: &dyn Sink) {
        let tree = match commit.tree() {
            Ok(tree) => tree,
            Err(e) => {
                return sink.error(Error::git(format!("commit {}: cannot read its tree", commit.id()), e))
            }
        };
        let mut parents = Vec::new();
        for parent_id in commit.parent_ids() {
            match self.repo.find_commit(parent_id).and_then(|p| p.tree()) {
                Ok(tree) => parents.push(tree),
                Err(e) => sink
                    .error(Error::git(format!("commit {}: cannot read parent {parent_id}", commit.id()), e)),
            }
        }
        self.tree(&tree, &parents, "", info, sink);
    }

    fn tree(&mut self, tree: &Tree, parents: &[Tree], prefix: &str, info: &Arc<CommitInfo>, sink: &dyn Sink) {
        for entry in tree.iter() {
            let name = entry.name_bytes();
            let id = entry.id();
            let mut unchanged = false;
            let mut parent_trees = Vec::new();
            let mut replaced = Vec::new();
            for parent in parents {
                let Some(old) = parent.get_name_bytes(name) else {
                    continue;
                };
                if old.id() == id {
                    unchanged = true;
                    break;
                }
                match old.kind() {
                    Some(ObjectType::Tree) => match self.repo.find_tree(old.id()) {
                        Ok(t) => parent_trees.push(t),
                        Err(e) => sink.error(Error::git(format!("cannot read tree {}", old.id()), e)),
                    },
                    Some(ObjectType::Blob) => replaced.push(old.id()),
                    _ => {}
                }
            }
            if unchanged {
                continue;
            }
            let path = format!("{prefix}{}", String::from_utf8_lossy(name));
            match entry.kind() {
                Some(ObjectType::Blob) => {
                    self.add(id, Role::Introduced, &path, info);
                    if self.walk_range {
                        for old in replaced {
                            self.add(old, Role::Before, &path, info);
                        }
                    }
                }
                Some(ObjectType::Tree) => match self.repo.find_tree(id) {
                    Ok(subtree) => self.tree(&subtree, &parent_trees, &format!("{path}/"), info, sink),
                    Err(e) => sink
                        .error(Error::git(format!("commit {}: cannot read tree {id} ({path})", info.id), e)),
                },
                _ => {} // submodule commits live in another repository
            }
        }
    }

    fn add(&mut self, id: Oid, role: Role, path: &str, info: &Arc<CommitInfo>) {
        let next = self.pending.len();
        let slot = *self.index.entry((id, role)).or_insert(next);
        if slot == next {
            self.pending.push(Pending { id, role, seen: Vec::new() });
        }
        let seen = &mut self.pending[slot].seen;
        if seen.len() < MAX_LOCATIONS {
            seen.push(Seen { path: path.to_string(), commit: Some(info.clone()), blob: Some(id) });
        }
    }
}

/// Scans the pending blobs on `threads` workers. Blobs in pack files are read by `pack`, each
/// delta chain resolved once; the rest (loose objects, alternates, anything `pack` could not
/// read) by workers that each open their own repository handle and pull the next blob from a
/// shared counter.
fn scan_blobs(
    repo: &Repository,
    pending: &[Pending],
    limits: Limits,
    threads: usize,
    progress: &Progress,
    sinks: &Sinks,
) {
    let mut slots: HashMap<Oid, usize> = HashMap::with_capacity(pending.len());
    let mut groups: Vec<Vec<&Pending>> = Vec::with_capacity(pending.len());
    for item in pending {
        let slot = *slots.entry(item.id).or_insert_with(|| {
            groups.push(Vec::new());
            groups.len() - 1
        });
        groups[slot].push(item);
    }
    let done: Vec<AtomicBool> = groups.iter().map(|_| AtomicBool::new(false)).collect();
    let want = |id: &Oid| slots.get(id).copied().filter(|&slot| !done[slot].load(Ordering::Relaxed));
    let found = |slot: usize, content: Content| {
        done[slot].store(true, Ordering::Relaxed);
        for item in &groups[slot] {
            deliver(item, &content, limits, progress, sinks);
        }
    };
    pack::read_blobs(&repo.commondir().join("objects"), want, limits.max_file_bytes, threads, found);

    let rest: Vec<&Pending> = groups
        .iter()
        .zip(&done)
        .filter(|(_, done)| !done.load(Ordering::Relaxed))
        .flat_map(|(g, _)| g)
        .copied()
        .collect();
    let git_dir = repo.path();
    let next = AtomicUsize::new(0);
    std::thread::scope(|scope| {
        for _ in 0..threads.max(1).min(rest.len()) {
            scope.spawn(|| {
                let repo = match Repository::open(git_dir) {
                    Ok(repo) => repo,
                    Err(e) => return sinks.introduced.error(Error::git("cannot open the repository", e)),
                };
                let odb = match repo.odb() {
                    Ok(odb) => odb,
                    Err(e) => {
                        return sinks.introduced.error(Error::git("cannot open the object database", e))
                    }
                };
                while let Some(item) = rest.get(next.fetch_add(1, Ordering::Relaxed)) {
                    let result = odb.read_header(item.id).and_then(|(size, _)| {
                        if size as u64 > limits.max_file_bytes {
                            deliver(item, &Content::TooLarge(size as u64), limits, progress, sinks);
                            return Ok(());
                        }
                        let object = odb.read(item.id)?;
                        deliver(item, &Content::Bytes(object.data()), limits, progress, sinks);
                        Ok(())
                    });
                    if let Err(e) = result {
                        let first = &item.seen[0];
                        let commit =
                            first.commit.as_ref().map_or(String::new(), |c| format!(" in commit {}", c.id));
                        sink_for(item, sinks).error(Error::git(
                            format!("cannot read object {} ({}{commit})", item.id, first.path),
                            e,
                        ));
                    }
                }
            });
        }
    });
}

fn sink_for<'a>(item: &Pending, sinks: &Sinks<'a>) -> &'a dyn Sink {
    match item.role {
        Role::Introduced => sinks.introduced,
        Role::Before => sinks.before,
    }
}

fn deliver(item: &Pending, content: &Content, limits: Limits, progress: &Progress, sinks: &Sinks) {
    let sink = sink_for(item, sinks);
    match *content {
        Content::Bytes(bytes) => {
            sink.blob(Blob { bytes, seen: &item.seen });
            progress.scanned(bytes.len());
        }
        Content::TooLarge(size) => {
            sink.warn(too_large(&item.seen[0].path, size, limits));
            sink.blob(Blob { bytes: &[], seen: &item.seen });
            progress.scanned(0);
        }
    }
}
