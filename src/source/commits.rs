//! The commits a history scan walks, in the order it walks them: parents before children, the
//! oldest first among those ready. keyrot walks the commit graph itself rather than through
//! libgit2's revwalk, because a revwalk stops at the first commit it cannot read (and silently
//! skips a ref whose object is not a commit), which would turn a damaged or hostile repository
//! into a clean report. Here every unreadable commit is named, the walk goes on around it, and
//! the caller turns those errors into exit 2 after scanning everything readable.
//!
//! Tips are every ref and HEAD (`--history`), the right side of `A..B` minus everything
//! reachable from the left side, or the tips of a push minus what the other side already has. A tag that points at a tree or a blob hands that object back
//! to be scanned on its own. Only ids, parents and times are kept, never commit objects.

use crate::error::{Error, Result};
use git2::{ObjectType, Oid, Repository};
use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, HashSet};

/// What the walk starts from.
pub enum Tips {
    All,
    /// `A..B`: what B reaches and A does not.
    Range(String),
    /// What these objects reach (through tags) and none of the hidden ones does: the commits a
    /// push sends, or a server receives. Hidden objects that are not commits hide nothing.
    Between {
        starts: Vec<Tip>,
        hidden: Vec<Oid>,
    },
}

/// The commits to scan, ordered, and the trees and blobs that only a tag points at.
#[derive(Default)]
pub struct Walked {
    pub commits: Vec<Oid>,
    /// (object, kind, ref name) for tags pointing at a tree or a blob.
    pub loose_objects: Vec<(Oid, ObjectType, String)>,
    /// HEAD's history, when the walk read all of it (every ref's history, nothing unreadable).
    pub head: Option<Head>,
}

/// HEAD's history as the walk found it.
pub struct Head {
    /// Every commit HEAD reaches.
    pub reaches: HashSet<Oid>,
    /// HEAD and its first parents, newest first.
    pub line: Vec<Oid>,
}

/// Walks the graph. Errors that make the walk meaningless (a bad range) are returned; anything
/// unreadable along the way goes to `report` and the walk goes on.
pub fn walk(repo: &Repository, tips: &Tips, report: &mut dyn FnMut(Error)) -> Result<Walked> {
    let mut walked = Walked::default();
    let (starts, hidden) = match tips {
        Tips::All => (ref_tips(repo, &mut walked.loose_objects, report)?, HashSet::new()),
        Tips::Range(range) => {
            let (from, to) = split_range(repo, range)?;
            let mut ignore = |_: Error| {};
            let hidden = reachable(repo, &from, &HashSet::new(), &mut ignore).into_keys().collect();
            (to, hidden)
        }
        Tips::Between { starts, hidden } => {
            let hidden: Vec<Tip> = hidden
                .iter()
                .filter_map(|&id| peel(repo, id).ok().filter(|(_, kind)| *kind == ObjectType::Commit))
                .map(|(id, _)| (id, "hidden".to_string()))
                .collect();
            let mut ignore = |_: Error| {};
            let hidden = reachable(repo, &hidden, &HashSet::new(), &mut ignore).into_keys().collect();
            (peeled_starts(repo, starts, &mut walked.loose_objects, report), hidden)
        }
    };
    let mut unread = 0;
    let graph = reachable(repo, &starts, &hidden, &mut |e| {
        unread += 1;
        report(e)
    });
    if matches!(tips, Tips::All) && unread == 0 {
        walked.head = head(repo, &graph);
    }
    walked.commits = order(&graph);
    Ok(walked)
}

/// HEAD's history in `graph`; `None` without a HEAD commit, or if a commit it reaches is not in
/// the graph.
fn head(repo: &Repository, graph: &HashMap<Oid, Node>) -> Option<Head> {
    let head = repo.head().ok()?.peel_to_commit().ok()?.id();
    let mut reaches = HashSet::new();
    let mut stack = vec![head];
    while let Some(id) = stack.pop() {
        if reaches.insert(id) {
            stack.extend(&graph.get(&id)?.parents);
        }
    }
    let line = std::iter::successors(Some(head), |id| graph.get(id)?.parents.first().copied()).collect();
    Some(Head { reaches, line })
}

/// A commit to start from, and what named it (for errors).
pub type Tip = (Oid, String);

/// One read commit: its parents that the walk reached, and its committer time.
struct Node {
    parents: Vec<Oid>,
    time: i64,
}

/// Every commit reachable from `starts` and not in `hidden`, read once each.
fn reachable(
    repo: &Repository,
    starts: &[Tip],
    hidden: &HashSet<Oid>,
    report: &mut dyn FnMut(Error),
) -> HashMap<Oid, Node> {
    let mut nodes: HashMap<Oid, Node> = HashMap::new();
    let mut failed: HashSet<Oid> = HashSet::new();
    let mut stack: Vec<Tip> = starts.iter().filter(|(id, _)| !hidden.contains(id)).cloned().collect();
    while let Some((id, from)) = stack.pop() {
        if nodes.contains_key(&id) || failed.contains(&id) {
            continue;
        }
        let commit = match repo.find_commit(id) {
            Ok(commit) => commit,
            Err(e) => {
                failed.insert(id);
                report(Error::git(format!("cannot read commit {id} ({from})"), e));
                continue;
            }
        };
        let parents: Vec<Oid> = commit.parent_ids().filter(|p| !hidden.contains(p)).collect();
        for parent in &parents {
            stack.push((*parent, format!("parent of {id}")));
        }
        nodes.insert(id, Node { parents, time: commit.time().seconds() });
    }
    for node in nodes.values_mut() {
        node.parents.retain(|p| !failed.contains(p));
    }
    nodes
}

/// Parents before children; among commits ready at once, the oldest (then the smallest id).
fn order(graph: &HashMap<Oid, Node>) -> Vec<Oid> {
    let mut waiting: HashMap<Oid, usize> = HashMap::with_capacity(graph.len());
    let mut children: HashMap<Oid, Vec<Oid>> = HashMap::new();
    for (&id, node) in graph {
        waiting.insert(id, node.parents.len());
        for parent in &node.parents {
            children.entry(*parent).or_default().push(id);
        }
    }
    let mut ready: BinaryHeap<Reverse<(i64, Oid)>> =
        waiting.iter().filter(|(_, &n)| n == 0).map(|(&id, _)| Reverse((graph[&id].time, id))).collect();
    let mut out = Vec::with_capacity(graph.len());
    while let Some(Reverse((_, id))) = ready.pop() {
        out.push(id);
        for child in children.get(&id).into_iter().flatten() {
            let count = waiting.get_mut(child).expect("every child was read");
            *count -= 1;
            if *count == 0 {
                ready.push(Reverse((graph[child].time, *child)));
            }
        }
    }
    out
}

/// The commit every ref and HEAD point at (through tags). A ref whose object cannot be read, or
/// a branch that does not point at a commit, is reported: its history would otherwise be lost
/// without a word. Tags pointing at trees or blobs are collected for the caller.
fn ref_tips(
    repo: &Repository,
    loose: &mut Vec<(Oid, ObjectType, String)>,
    report: &mut dyn FnMut(Error),
) -> Result<Vec<Tip>> {
    let references = repo.references().map_err(|e| Error::git("cannot read the repository's refs", e))?;
    let mut targets: Vec<(String, Oid)> = Vec::new();
    for reference in references {
        let reference = match reference {
            Ok(reference) => reference,
            Err(e) => {
                report(Error::git("cannot read a ref", e));
                continue;
            }
        };
        let name = String::from_utf8_lossy(reference.name_bytes()).into_owned();
        match reference.resolve() {
            Ok(resolved) => targets.extend(resolved.target().map(|id| (name, id))),
            Err(e) => report(Error::git(format!("cannot resolve {name}"), e)),
        }
    }
    if repo.head_detached().unwrap_or(false) {
        if let Ok(head) = repo.head() {
            targets.extend(head.target().map(|id| ("HEAD".to_string(), id)));
        }
    }
    let mut tips = Vec::new();
    for (name, id) in targets {
        match peel(repo, id) {
            Ok((id, ObjectType::Commit)) => tips.push((id, name)),
            Ok((id, kind)) if name.starts_with("refs/tags/") => loose.push((id, kind, name)),
            Ok((id, kind)) => report(Error::Git {
                context: format!("{name} points at {kind} {id}"),
                message: "a branch must point at a commit; its history was not scanned".into(),
            }),
            Err(e) => report(Error::git(format!("cannot read {name} (object {id})"), e)),
        }
    }
    Ok(tips)
}

/// The commits `starts` name through tags; a tag of a tree or blob hands it back in `loose`.
fn peeled_starts(
    repo: &Repository,
    starts: &[Tip],
    loose: &mut Vec<(Oid, ObjectType, String)>,
    report: &mut dyn FnMut(Error),
) -> Vec<Tip> {
    let mut tips = Vec::new();
    for (id, name) in starts {
        match peel(repo, *id) {
            Ok((id, ObjectType::Commit)) => tips.push((id, name.clone())),
            Ok((id, kind)) => loose.push((id, kind, name.clone())),
            Err(e) => report(Error::git(format!("cannot read {name} (object {id})"), e)),
        }
    }
    tips
}

/// Follows annotated tags to the object they finally name, and that object's kind.
pub fn peel(repo: &Repository, mut id: Oid) -> Result<(Oid, ObjectType), git2::Error> {
    for _ in 0..64 {
        let object = repo.find_object(id, None)?;
        match object.kind() {
            Some(ObjectType::Tag) => {
                id = object.as_tag().map(|t| t.target_id()).ok_or_else(|| git2::Error::from_str("bad tag"))?
            }
            Some(kind) => return Ok((id, kind)),
            None => return Err(git2::Error::from_str("object of an unknown type")),
        }
    }
    Err(git2::Error::from_str("tags nested more than 64 deep"))
}

/// The two sides of `A..B`, each resolved to the commit it names.
fn split_range(repo: &Repository, range: &str) -> Result<(Vec<Tip>, Vec<Tip>)> {
    let spec = repo.revparse(range).map_err(|e| Error::git(format!("bad range '{range}'"), e))?;
    if spec.mode().contains(git2::RevparseMode::MERGE_BASE) {
        return Err(Error::Usage(format!("--range takes A..B, not A...B ('{range}')")));
    }
    let side = |object: Option<&git2::Object>| -> Result<Vec<Tip>> {
        let Some(object) = object else { return Ok(Vec::new()) };
        let commit = object.peel_to_commit().map_err(|e| Error::git(format!("bad range '{range}'"), e))?;
        Ok(vec![(commit.id(), range.to_string())])
    };
    Ok((side(spec.from())?, side(spec.to())?))
}
