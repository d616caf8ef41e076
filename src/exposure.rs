//! Gathers what the repository says about each finding, for the rotation decision: which remotes
//! have a commit that contains it, whether HEAD and the working tree still do, when it was removed.
//! A remote "has" a commit when the commit is reachable from one of its `refs/remotes/*` refs.
//!
//! For a staged scan this stays cheap (it runs at every commit, and only when something was
//! found): a staged secret counts as committed when any file of HEAD already contains it, and as
//! pushed when any file at a remote-tracking branch's tip does, whatever its path. `scan
//! --history` gives the complete picture.

use crate::findings::Finding;
use crate::matcher::{contains, Evidence};
use crate::rotation::{Exposure, Facts};
use crate::source::history::HeadFacts;
use crate::source::CommitInfo;
use crate::source::MAX_TREE_DEPTH;
use git2::{ObjectType, Oid, Repository, Tree};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::Path;
use std::sync::Arc;

/// How far back along HEAD's first-parent line keyrot looks for the commit that removed a secret.
const REMOVAL_SEARCH_LIMIT: usize = 10_000;

/// Facts for findings from a history or range scan (locations carry commits and blob ids), with
/// what a whole history's walk learnt of HEAD's history (`walked`).
pub fn for_history(repo: &Repository, findings: &[Finding], walked: Option<&HeadFacts>) -> Vec<Facts> {
    if findings.is_empty() {
        return Vec::new();
    }
    let remotes = remote_commits(repo);
    let head = repo.head().ok().and_then(|h| h.peel_to_tree().ok());
    let head_blobs = head.as_ref().map(|tree| all_blobs(repo, tree)).unwrap_or_default();
    let mut facts: Vec<Facts> = findings
        .iter()
        .map(|f| {
            let commits: HashSet<Oid> = f
                .locations
                .iter()
                .filter_map(|l| l.commit.as_ref())
                .filter_map(|c| Oid::from_str(&c.id).ok())
                .collect();
            let pushed: Vec<String> = remotes
                .iter()
                .filter(|(_, reachable)| commits.iter().any(|c| reachable.contains(c)))
                .map(|(name, _)| name.clone())
                .collect();
            let in_head = head.as_ref().map(|tree| match f.evidence {
                Evidence::Secret { .. } => {
                    f.locations.iter().any(|l| l.blob.is_some_and(|b| head_blobs.contains(&b)))
                }
                Evidence::File => f.locations.iter().any(|l| tree.get_path(Path::new(&l.path)).is_ok()),
            });
            Facts {
                exposure: Some(if pushed.is_empty() { Exposure::Local } else { Exposure::Pushed(pushed) }),
                first_seen: f.locations.first().and_then(|l| l.commit.clone()),
                in_head,
                in_worktree: (in_head == Some(true)).then(|| in_worktree(repo, f)),
                removed_in: None,
            }
        })
        .collect();
    find_removals(repo, findings, walked, &mut facts);
    facts
}

/// Facts for findings from a staged scan.
pub fn for_staged(repo: &Repository, findings: &[Finding]) -> Vec<Facts> {
    if findings.is_empty() {
        return Vec::new();
    }
    let head = repo.head().ok().and_then(|h| h.peel_to_tree().ok());
    let remote_tips = remote_tip_trees(repo);
    findings
        .iter()
        .map(|f| {
            let mut seen = HashMap::new();
            let committed = head.as_ref().is_some_and(|tree| holds(repo, tree, f, &mut seen));
            let mut pushed: Vec<String> = remote_tips
                .iter()
                .filter(|(_, tree)| holds(repo, tree, f, &mut seen))
                .map(|(name, _)| name.clone())
                .collect();
            pushed.dedup();
            let committed = committed || !pushed.is_empty();
            let exposure = match (committed, pushed.is_empty()) {
                (false, _) => Exposure::Staged,
                (true, true) => Exposure::Local,
                (true, false) => Exposure::Pushed(pushed),
            };
            Facts { exposure: Some(exposure), in_head: head.as_ref().map(|_| committed), ..Facts::default() }
        })
        .collect()
}

/// Whether `tree` holds the finding: for a secret, anywhere in the tree (a staged copy of a key
/// that HEAD already has under another name is not a new key); for a file rule, at its path.
/// `seen` remembers, per blob, whether it holds the secret, so each blob is read once.
fn holds(repo: &Repository, tree: &Tree, finding: &Finding, seen: &mut HashMap<Oid, bool>) -> bool {
    let Evidence::Secret { secret, .. } = &finding.evidence else {
        return finding.locations.iter().any(|l| tree.get_path(Path::new(&l.path)).is_ok());
    };
    let mut found = false;
    each_blob(repo, tree, |id| {
        found = *seen
            .entry(id)
            .or_insert_with(|| repo.find_blob(id).is_ok_and(|blob| contains(blob.content(), secret.bytes())));
        !found
    });
    found
}

fn in_worktree(repo: &Repository, finding: &Finding) -> bool {
    let Some(workdir) = repo.workdir() else { return false };
    finding.locations.iter().any(|l| {
        let path = workdir.join(&l.path);
        match &finding.evidence {
            Evidence::File => path.is_file(),
            Evidence::Secret { secret, .. } => {
                std::fs::read(&path).is_ok_and(|bytes| contains(&bytes, secret.bytes()))
            }
        }
    })
}

/// For each remote, every commit reachable from its tracking refs.
fn remote_commits(repo: &Repository) -> Vec<(String, HashSet<Oid>)> {
    let mut tips: BTreeMap<String, Vec<Oid>> = BTreeMap::new();
    for (remote, _, target) in remote_refs(repo) {
        tips.entry(remote).or_default().push(target);
    }
    tips.into_iter()
        .filter_map(|(remote, tips)| {
            let mut walk = repo.revwalk().ok()?;
            for tip in tips {
                walk.push(tip).ok()?;
            }
            Some((remote, walk.filter_map(Result::ok).collect()))
        })
        .collect()
}

/// The tree at the tip of each remote-tracking branch, with the remote's name.
fn remote_tip_trees(repo: &Repository) -> Vec<(String, Tree<'_>)> {
    remote_refs(repo)
        .into_iter()
        .filter_map(|(remote, _, target)| Some((remote, repo.find_commit(target).ok()?.tree().ok()?)))
        .collect()
}

/// (remote, branch ref name, commit) for every direct ref under `refs/remotes/`.
fn remote_refs(repo: &Repository) -> Vec<(String, String, Oid)> {
    let Ok(refs) = repo.references_glob("refs/remotes/*") else { return Vec::new() };
    let mut out = Vec::new();
    for reference in refs.flatten() {
        if reference.symbolic_target().is_some() {
            continue; // refs/remotes/origin/HEAD points at a branch listed anyway
        }
        let Some(name) = reference.name() else { continue };
        let Some(rest) = name.strip_prefix("refs/remotes/") else { continue };
        let remote = rest.split('/').next().unwrap_or(rest).to_string();
        if let Ok(commit) = reference.peel_to_commit() {
            out.push((remote, name.to_string(), commit.id()));
        }
    }
    out.sort();
    out
}

fn all_blobs(repo: &Repository, tree: &Tree) -> HashSet<Oid> {
    let mut blobs = HashSet::new();
    each_blob(repo, tree, |id| {
        blobs.insert(id);
        true
    });
    blobs
}

/// Hands `each` the id of every blob in `tree` (in no set order) until it answers `false`.
/// Trees nested deeper than `MAX_TREE_DEPTH` are not entered; the walk keeps its own stack of
/// trees, so a crafted tree nested 100,000 deep cannot overflow the thread's (libgit2's tree
/// walk recurses).
fn each_blob(repo: &Repository, tree: &Tree, mut each: impl FnMut(Oid) -> bool) {
    let mut trees = vec![(tree.clone(), 0)];
    while let Some((tree, depth)) = trees.pop() {
        for entry in tree.iter() {
            match entry.kind() {
                Some(ObjectType::Blob) if !each(entry.id()) => return,
                Some(ObjectType::Tree) if depth < MAX_TREE_DEPTH => {
                    if let Ok(subtree) = repo.find_tree(entry.id()) {
                        trees.push((subtree, depth + 1));
                    }
                }
                _ => {}
            }
        }
    }
}

/// Walks HEAD's first-parent line back from HEAD; for each finding no longer in HEAD, the
/// removal is the child of the newest commit that still had it at one of its paths. After a
/// whole history's walk (`head`), the line and its root trees are the walk's, not read again,
/// and a secret whose every blob no commit HEAD reaches holds (on other branches only) is not
/// looked for: it was never on the line. On cargo's history, 17 such keys made the search read
/// all 7,419 commits of the line, 150 ms once the rest of the scan was done.
fn find_removals(repo: &Repository, findings: &[Finding], head: Option<&HeadFacts>, facts: &mut [Facts]) {
    let never_on_head = |f: &Finding| {
        f.is_secret()
            && head.is_some_and(|head| {
                f.locations.iter().all(|l| l.blob.map_or(true, |b| head.off_head.contains(&b)))
            })
    };
    let mut open: Vec<usize> = (0..findings.len())
        .filter(|&i| facts[i].in_head == Some(false) && !never_on_head(&findings[i]))
        .collect();
    if open.is_empty() {
        return;
    }
    // Each commit of the line with its root tree, newest first.
    let line: Box<dyn Iterator<Item = (Oid, Oid)>> = match head {
        Some(head) => Box::new(head.line.iter().copied()),
        None => {
            let mut next = repo.head().and_then(|h| h.peel_to_commit()).ok();
            Box::new(std::iter::from_fn(move || {
                let commit = next.take()?;
                next = commit.parent(0).ok();
                Some((commit.id(), commit.tree_id()))
            }))
        }
    };
    let mut child: Option<Oid> = None;
    let mut paths = Paths::new(repo);
    for (commit, tree) in line.take(REMOVAL_SEARCH_LIMIT) {
        let Ok(tree) = repo.find_tree(tree) else { return };
        let mut removal: Option<Option<Arc<CommitInfo>>> = None;
        open.retain(|&i| {
            let f = &findings[i];
            let still_there = f.locations.iter().any(|l| {
                paths.entry(&tree, &l.path).is_some_and(|id| match f.evidence {
                    Evidence::File => true,
                    Evidence::Secret { .. } => l.blob == Some(id),
                })
            });
            if still_there {
                let info = |id| repo.find_commit(id).ok().map(|c| Arc::new(CommitInfo::of(&c, 0)));
                facts[i].removed_in = removal.get_or_insert_with(|| child.and_then(info)).clone();
            }
            !still_there
        });
        if open.is_empty() {
            return;
        }
        child = Some(commit);
    }
}

/// Entries looked up by path in the trees of a first-parent line, each subtree's answers kept:
/// from one commit to the next most subtrees are the same, so a path is mostly answered from
/// the root tree's entry and what its subtree answered before. (Looked up afresh, the paths of
/// cargo's findings along its history took 185 ms.)
struct Paths<'r> {
    repo: &'r Repository,
    /// Each path asked about, numbered, so that an answer is keyed by numbers: keyed by the
    /// rest of the path as text, a path thousands of levels deep (a crafted tree) made keys of
    /// megabytes for each lookup.
    numbers: HashMap<String, usize>,
    /// By subtree, path and where in the path the subtree is: the id of the entry there.
    known: HashMap<(Oid, usize, usize), Option<Oid>>,
}

/// Answers kept at most; then they are dropped and found again.
const KNOWN_PATHS: usize = 100_000;

impl<'r> Paths<'r> {
    fn new(repo: &'r Repository) -> Paths<'r> {
        Paths { repo, numbers: HashMap::new(), known: HashMap::new() }
    }

    /// The id of the entry at `path` (`/`-separated) under `tree`, as `Tree::get_path` finds it.
    /// Each subtree on the way is then known to answer the same for the rest of the path.
    fn entry(&mut self, tree: &Tree, path: &str) -> Option<Oid> {
        let number = match self.numbers.get(path) {
            Some(&number) => number,
            None => {
                self.numbers.insert(path.to_string(), self.numbers.len());
                self.numbers.len() - 1
            }
        };
        let mut asked = Vec::new();
        let (mut subtree, mut at): (Option<Tree>, usize) = (None, 0);
        let found = loop {
            let rest = &path[at..];
            let (name, after) = match rest.split_once('/') {
                Some((name, _)) => (name, Some(at + name.len() + 1)),
                None => (rest, None),
            };
            let Some((id, kind)) =
                subtree.as_ref().unwrap_or(tree).get_name(name).map(|e| (e.id(), e.kind()))
            else {
                break None;
            };
            let Some(after) = after else { break Some(id) };
            if kind != Some(ObjectType::Tree) {
                break None;
            }
            let key = (id, number, after);
            if let Some(&known) = self.known.get(&key) {
                break known;
            }
            asked.push(key);
            match self.repo.find_tree(id) {
                Ok(next) => (subtree, at) = (Some(next), after),
                Err(_) => break None,
            }
        };
        for key in asked {
            if self.known.len() >= KNOWN_PATHS {
                self.known.clear();
            }
            self.known.insert(key, found);
        }
        found
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `Paths` answers as libgit2's `get_path` does, across two roots where one subtree sits at
    /// different depths of the same path (and under several names), asked in turn and again.
    #[test]
    fn a_path_is_answered_as_get_path_answers_it() {
        let dir = tempfile::tempdir().unwrap();
        let repo = Repository::init(dir.path()).unwrap();
        let blobs: Vec<Oid> = (0..3).map(|i| repo.blob(format!("{i}").as_bytes()).unwrap()).collect();
        let tree_of = |entries: &[(&str, Oid, i32)]| {
            let mut builder = repo.treebuilder(None).unwrap();
            for &(name, id, mode) in entries {
                builder.insert(name, id, mode).unwrap();
            }
            builder.write().unwrap()
        };
        let (file, dir_mode) = (0o100644, 0o040000);
        let inner = tree_of(&[("c", blobs[2], file)]);
        let moved = tree_of(&[("b", inner, dir_mode), ("c", blobs[1], file)]);
        let above = tree_of(&[("b", moved, dir_mode)]);
        let roots = [
            tree_of(&[("a", moved, dir_mode), ("x", moved, dir_mode), ("f", blobs[0], file)]),
            tree_of(&[("a", above, dir_mode), ("x", inner, dir_mode)]),
        ];
        let roots: Vec<Tree> = roots.iter().map(|&id| repo.find_tree(id).unwrap()).collect();
        let paths = ["a/b/c", "a/c", "x/c", "x/b/c", "a/b", "f", "f/c", "a/d/c", "a/b/c/d", "none"];
        let mut asked = Paths::new(&repo);
        for _ in 0..2 {
            for path in paths {
                for root in &roots {
                    let expected = root.get_path(Path::new(path)).ok().map(|entry| entry.id());
                    assert_eq!(asked.entry(root, path), expected, "{path} in {}", root.id());
                }
            }
        }
    }
}
