//! Git history as a source: the commits reachable from every ref (`--history`) or those of a
//! range (`--range A..B`), or those of a push (`Walk::Between`); commit and tag messages are
//! handed to `messages`. Each commit is compared with *every* parent, and a blob counts as
//! introduced by the commit only if no parent has it at that path: so an evil merge's own content
//! is found and attributed to the merge, and unchanged files are never re-read. Each distinct
//! blob is scanned once, with the list of every (path, commit) that introduced it: packed blobs
//! by `pack`, which resolves each delta chain once, the rest by workers that each open their own
//! repository handle. Over a whole history the packs are read while the commits are walked: a
//! blob read before the walk knows its places is matched then and judged at its places after.
//!
//! Memory grows with the number of objects (ids, paths, commit facts), never with their content:
//! a worker holds the blob it scans and the bases it is building others from.

use super::packed::Packed;
use super::tree::{Kind, Tree};
use super::CommitInfo;
use super::{commits, messages, pack, read_blob, send_built, Content, Limits, Seen, Sink};
use crate::error::{Error, Result};
use crate::findings::MAX_LOCATIONS;
use crate::lineage::{Kept, Lineage};
use crate::progress::Progress;
use git2::{ObjectType, Odb, Oid, Repository};
use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};

/// A range's blobs are read through the packs (`pack.rs`) when they are at least one in this
/// many of the packs' objects, else one by one through libgit2: laying out a pack costs time
/// in proportion to all its objects. On git/git (849,000 objects), both ways took the same
/// for the 4,600 blobs of 300 commits; a push of 10 commits (158 blobs) took 0.74 s one by one
/// and 1.20 s through the packs, 1,000 commits (13,000 blobs) 4.07 s and 3.70 s.
const PACK_SHARE: u64 = 200;

/// The trees one commit read as new that are kept for the next (`Collector::last_read`): a
/// commit that adds a hundred thousand directories must not keep them all in memory.
const MAX_KEPT_TREES: usize = 4096;

/// Which commits to walk.
#[derive(Clone, Debug)]
pub enum Walk {
    /// Every commit reachable from any ref (branches, tags, remotes, stash) and HEAD.
    All,
    /// `A..B`: commits reachable from B and not from A.
    Range(String),
    /// What a push sends or a server receives: the commits these tips reach (through tags,
    /// whose messages are scanned too) and no hidden object does.
    Between { tips: Vec<commits::Tip>, hidden: Vec<Oid> },
}

impl Walk {
    /// Whether only what the walk's commits introduced is reported (not what existed before).
    pub fn is_range(&self) -> bool {
        !matches!(self, Walk::All)
    }
}

/// Why a blob is scanned.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Role {
    /// A commit of the walk introduced it.
    Introduced,
    /// The version a range commit replaced: secrets found there existed before the range.
    Before,
}

/// One distinct blob to scan, with where the walk introduced it and (for ranges) where it is
/// the version a change replaced.
struct Pending {
    id: Oid,
    introduced: Vec<Seen>,
    before: Vec<Seen>,
    /// Introduced by a commit HEAD reaches (so a commit HEAD reaches holds it).
    on_head: bool,
    /// Delivered (or judged from what the sink prepared).
    done: AtomicBool,
}

impl Pending {
    /// Its places, each with the sink they go to; a blob can be both introduced and replaced.
    fn places<'s, 'a>(
        &'s self,
        sinks: &'s Sinks<'a>,
    ) -> impl Iterator<Item = (&'s [Seen], &'a dyn Sink)> + 's {
        [(&self.introduced, sinks.introduced), (&self.before, sinks.before)]
            .into_iter()
            .filter(|(seen, _)| !seen.is_empty())
            .map(|(seen, sink)| (seen.as_slice(), sink))
    }
}

/// Where blobs go: what the walk introduced, and (for ranges) what those changes replaced.
pub struct Sinks<'a> {
    pub introduced: &'a dyn Sink,
    pub before: &'a dyn Sink,
}

/// Walks the commits and scans the blobs they introduced (over a whole history, both at once).
/// Errors that stop the walk itself (a bad revision) are returned; per-object errors go to the
/// sinks and the scan goes on. Over a whole history, answers with what it learnt of HEAD's
/// history (when it could read all of it), for the search for the commit that removed a secret
/// from HEAD's line.
pub fn scan(
    repo: &Repository,
    walk: &Walk,
    limits: Limits,
    threads: usize,
    progress: &Progress,
    sinks: &Sinks,
) -> Result<Option<HeadFacts>> {
    if repo.is_shallow() {
        sinks.introduced.warn(
            "this repository is a shallow clone: commits before the shallow boundary were not scanned \
             (fetch more history with `git fetch --unshallow`)"
                .into(),
        );
    }
    super::check_packs(repo)?;
    if !walk.is_range() {
        return whole_history(repo, walk, limits, threads, progress, sinks);
    }
    let Collected { pending, index, .. } = collect(repo, walk, progress, sinks)?;
    progress.scanning(pending.len() as u64);
    if pending.len() as u64 * PACK_SHARE >= pack::object_count(&repo.commondir().join("objects")) {
        from_packs(repo, &pending, &index, limits, threads, progress, sinks);
    }
    through_libgit2(repo, &pending, limits, threads, progress, sinks);
    Ok(None)
}

/// Over a whole history every blob of the packs is introduced somewhere, so the packs are read
/// while this thread walks the commits. A blob read before the walk has found its places is
/// matched then and its places judged after the walk (`Sink::prepare`); once the walk is done
/// this thread joins the readers, and blobs go to the sink with their places. What the packs
/// did not hold is read afterwards through libgit2.
fn whole_history(
    repo: &Repository,
    walk: &Walk,
    limits: Limits,
    threads: usize,
    progress: &Progress,
    sinks: &Sinks,
) -> Result<Option<HeadFacts>> {
    // Planning the packs' reading takes a while (cargo's: 60 ms): the first reader does it while
    // this thread walks the commits.
    let objects = repo.commondir().join("objects");
    let packs = OnceLock::new();
    let every = || packs.get_or_init(|| pack::EveryBlob::open(&objects, limits.max_file_bytes));
    let walked: OnceLock<Collected> = OnceLock::new();
    let each = |id: Oid, bytes: &[u8], lineage: Lineage| match walked.get() {
        None => sinks.introduced.prepare(id, bytes, lineage),
        Some(Collected { pending, index, .. }) => {
            // A blob no commit introduced (unreachable, or already delivered) is passed over.
            let item = index.get(&id).map(|&slot| &pending[slot])?;
            if item.done.swap(true, Ordering::Relaxed) {
                return None;
            }
            deliver(item, &Content::Bytes(bytes), lineage, limits, progress, sinks)
        }
    };
    std::thread::scope(|scope| {
        for _ in 1..threads {
            scope.spawn(|| every().work(each));
        }
        let collected = collect(repo, walk, progress, sinks)?;
        progress.scanning(collected.pending.len() as u64);
        walked.set(collected).unwrap_or_else(|_| unreachable!("set once, here"));
        every().work(each);
        Ok::<(), Error>(())
    })?;
    let Collected { pending, index, head_line } = walked.into_inner().expect("set after the walk");
    for item in pending.iter().filter(|item| !item.done.load(Ordering::Relaxed)) {
        if let Some(size) = sinks.introduced.prepared(item.id, &item.introduced) {
            item.done.store(true, Ordering::Relaxed);
            progress.scanned(size);
        }
    }
    through_libgit2(repo, &pending, limits, threads, progress, sinks);
    let head = head_line.map(|line| HeadFacts {
        off_head: pending.iter().filter(|item| !item.on_head).map(|item| item.id).collect(),
        line,
    });
    // Freeing the walk's lists and the packs' plans (millions of small allocations: 40 ms on
    // cargo's history) is left to a thread of its own, while the findings are reported.
    let garbage = (pending, index, packs.into_inner());
    let _ = std::thread::Builder::new().spawn(move || drop(garbage));
    Ok(head)
}

/// What a whole history's walk learnt of HEAD's history.
pub struct HeadFacts {
    /// The blobs no commit HEAD reaches holds.
    pub off_head: HashSet<Oid>,
    /// HEAD and its first parents, newest first, each with its root tree (up to the first
    /// whose tree could not be read).
    pub line: Vec<(Oid, Oid)>,
}

/// What a walk collected: every blob its commits introduced (and, for a range, replaced), in
/// walk order; where each is in that list; if it knows which a commit HEAD reaches holds,
/// HEAD's first-parent line with each commit's root tree.
struct Collected {
    pending: Vec<Pending>,
    index: HashMap<Oid, usize>,
    head_line: Option<Vec<(Oid, Oid)>>,
}

/// Walks the commits and collects the blobs they introduced (and, for a range, those they
/// replaced).
fn collect(repo: &Repository, walk: &Walk, progress: &Progress, sinks: &Sinks) -> Result<Collected> {
    let tips = match walk {
        Walk::All => commits::Tips::All,
        Walk::Range(range) => commits::Tips::Range(range.clone()),
        Walk::Between { tips, hidden } => {
            commits::Tips::Between { starts: tips.clone(), hidden: hidden.clone() }
        }
    };
    let mut walked = commits::walk(repo, &tips, &mut |e| sinks.introduced.error(e))?;
    let (head_reaches, line) = match walked.head.take() {
        Some(head) => (Some(head.reaches), Some(head.line)),
        None => (None, None),
    };
    let odb = repo.odb().map_err(|e| Error::git("cannot open the object database".to_string(), e))?;
    let packed = Packed::open(&repo.commondir().join("objects"));
    let mut collector = Collector {
        repo,
        odb: &odb,
        packed: &packed,
        walk_range: walk.is_range(),
        index: HashMap::new(),
        pending: Vec::new(),
        tree_of: HashMap::new(),
        last_read: HashMap::new(),
        read: HashMap::new(),
        head_reaches,
        on_head: false,
    };
    let mut messages = messages::Messages::default();
    for (order, &id) in walked.commits.iter().enumerate() {
        match repo.find_commit(id) {
            Ok(commit) => {
                let info = Arc::new(CommitInfo::of(&commit, order));
                messages.commit(&commit, &info, sinks.introduced);
                collector.commit(&commit, &Some(info), sinks.introduced);
            }
            Err(e) => sinks.introduced.error(Error::git(format!("cannot read commit {id}"), e)),
        }
        progress.walking(order as u64 + 1);
    }
    messages.tags(repo, walk, &walked.commits, sinks.introduced);
    for (id, kind, name) in &walked.loose_objects {
        collector.tagged(*id, *kind, name, sinks.introduced);
    }
    let Collector { pending, index, tree_of, .. } = collector;
    let head_line =
        line.map(|line| line.iter().map_while(|commit| Some((*commit, *tree_of.get(commit)?))).collect());
    Ok(Collected { pending, index, head_line })
}

/// Collects, in walk order, every blob introduced by the walked commits.
struct Collector<'r> {
    repo: &'r Repository,
    /// Trees are read from the packs as bytes (`packed.rs`, `tree.rs`), else from the object
    /// database.
    odb: &'r Odb<'r>,
    packed: &'r Packed,
    walk_range: bool,
    /// Where each blob is in `pending`.
    index: HashMap<Oid, usize>,
    pending: Vec<Pending>,
    /// The root tree of each commit walked so far (parents come before their children).
    tree_of: HashMap<Oid, Oid>,
    /// The trees the last commit walked had that its parents did not: most commits come right
    /// after their parent, whose trees they are compared with (read again, each would cost an
    /// index lookup, inflating and parsing a second time).
    last_read: HashMap<Oid, Tree<'r>>,
    /// The trees this commit has that its parents do not, so far.
    read: HashMap<Oid, Tree<'r>>,
    /// Every commit HEAD reaches, if the walk knows.
    head_reaches: Option<HashSet<Oid>>,
    /// Whether HEAD reaches the commit being walked.
    on_head: bool,
}

impl<'r> Collector<'r> {
    fn commit(&mut self, commit: &git2::Commit<'r>, info: &Option<Arc<CommitInfo>>, sink: &dyn Sink) {
        self.on_head = self.head_reaches.as_ref().is_some_and(|reaches| reaches.contains(&commit.id()));
        let mut parents = Vec::new();
        for parent_id in commit.parent_ids() {
            // A parent the walk has seen: its tree is known without reading the commit again.
            let known = self.tree_of.get(&parent_id).map(|&tree| self.find_tree(tree, None));
            let read = || self.repo.find_commit(parent_id).and_then(|p| self.find_tree(p.tree_id(), None));
            match known.unwrap_or_else(read) {
                Ok(tree) => parents.push(tree),
                Err(e) => sink
                    .error(Error::git(format!("commit {}: cannot read parent {parent_id}", commit.id()), e)),
            }
        }
        let tree = match self.find_tree(commit.tree_id(), parents.first()) {
            Ok(tree) => tree,
            Err(e) => {
                return sink.error(Error::git(format!("commit {}: cannot read its tree", commit.id()), e))
            }
        };
        self.tree_of.insert(commit.id(), tree.id());
        self.keep(&tree);
        self.tree(&tree, &parents, "", info, sink);
        self.last_read = std::mem::take(&mut self.read);
    }

    /// Keeps a tree this commit read as new for the next commit, up to `MAX_KEPT_TREES`.
    fn keep(&mut self, tree: &Tree<'r>) {
        if self.read.len() < MAX_KEPT_TREES {
            self.read.insert(tree.id(), tree.clone());
        }
    }

    /// A tree, from those the last commit read if it is one of them; else read, beside
    /// `like` (its first parent's version) if given.
    fn find_tree(&self, id: Oid, like: Option<&Tree>) -> std::result::Result<Tree<'r>, git2::Error> {
        match self.last_read.get(&id) {
            Some(tree) => Ok(tree.clone()),
            None => Tree::read(self.odb, Some(self.packed), id, like),
        }
    }

    /// Collects what `tree` (at `prefix`) has that `parents` do not, subtrees first where they
    /// come (so a blob's first place is where a recursive walk finds it), with a stack of its
    /// own: a crafted tree thousands deep needs no deep thread stack.
    fn tree(
        &mut self,
        tree: &Tree<'r>,
        parents: &[Tree<'r>],
        prefix: &str,
        info: &Option<Arc<CommitInfo>>,
        sink: &dyn Sink,
    ) {
        let mut stack = vec![Frame::new(tree.clone(), parents.to_vec(), prefix.to_string())];
        while let Some(frame) = stack.last_mut() {
            let Some(i) = frame.next.next() else {
                stack.pop();
                continue;
            };
            let entry = frame.tree.entry(i);
            let is_tree = entry.kind == Kind::Tree;
            let mut unchanged = false;
            let mut parent_trees = Vec::new();
            let mut replaced = Vec::new();
            for (parent, at) in frame.parents.iter().zip(&mut frame.read_to) {
                let Some(old) = parent.find_from(at, entry.name, is_tree) else {
                    continue;
                };
                if old.same_object(&entry) {
                    unchanged = true;
                    break;
                }
                match old.kind {
                    Kind::Tree => match self.find_tree(old.id(), None) {
                        Ok(t) => parent_trees.push(t),
                        Err(e) => sink.error(Error::git(format!("cannot read tree {}", old.id()), e)),
                    },
                    Kind::Blob => replaced.push(old.id()),
                    Kind::Commit => {}
                }
            }
            if unchanged {
                continue;
            }
            let (id, kind) = (entry.id(), entry.kind);
            let path = format!("{}{}", frame.prefix, String::from_utf8_lossy(entry.name));
            match kind {
                Kind::Blob => {
                    self.add(id, Role::Introduced, &path, info);
                    if self.walk_range {
                        for old in replaced {
                            self.add(old, Role::Before, &path, info);
                        }
                    }
                }
                // Its path is thousands of bytes long: its start is shown.
                Kind::Tree if stack.len() > super::MAX_TREE_DEPTH => sink.error(Error::Git {
                    context: format!(
                        "{}: tree {id} ({}...)",
                        place(info),
                        path.chars().take(80).collect::<String>()
                    ),
                    message: format!("nested deeper than {} trees: not read", super::MAX_TREE_DEPTH),
                }),
                Kind::Tree => match self.find_tree(id, parent_trees.first()) {
                    Ok(subtree) => {
                        self.keep(&subtree);
                        stack.push(Frame::new(subtree, parent_trees, format!("{path}/")));
                    }
                    Err(e) => {
                        sink.error(Error::git(format!("{}: cannot read tree {id} ({path})", place(info)), e))
                    }
                },
                Kind::Commit => {} // submodule commits live in another repository
            }
        }
    }

    /// A tree or blob that a tag points at directly, outside any commit: its paths are given
    /// under the tag's name.
    fn tagged(&mut self, id: Oid, kind: ObjectType, name: &str, sink: &dyn Sink) {
        self.on_head = false;
        match kind {
            ObjectType::Blob => self.add(id, Role::Introduced, name, &None),
            ObjectType::Tree => match Tree::read(self.odb, Some(self.packed), id, None) {
                Ok(tree) => self.tree(&tree, &[], &format!("{name}:"), &None, sink),
                Err(e) => sink.error(Error::git(format!("{name}: cannot read tree {id}"), e)),
            },
            _ => {}
        }
    }

    fn add(&mut self, id: Oid, role: Role, path: &str, info: &Option<Arc<CommitInfo>>) {
        let next = self.pending.len();
        let slot = *self.index.entry(id).or_insert(next);
        if slot == next {
            self.pending.push(Pending {
                id,
                introduced: Vec::new(),
                before: Vec::new(),
                on_head: false,
                done: AtomicBool::new(false),
            });
        }
        let pending = &mut self.pending[slot];
        pending.on_head |= role == Role::Introduced && self.on_head;
        let seen = match role {
            Role::Introduced => &mut pending.introduced,
            Role::Before => &mut pending.before,
        };
        if seen.len() < MAX_LOCATIONS {
            seen.push(Seen { path: path.to_string(), commit: info.clone(), blob: Some(id) });
        }
    }
}

/// A tree the walk is in: its parents' versions, how far each is read, the entries left.
struct Frame<'o> {
    tree: Tree<'o>,
    parents: Vec<Tree<'o>>,
    /// Where each parent's entries are read up to: entries are in git's order in both trees,
    /// so each parent's entry of the same name is found by reading on (looking each name up
    /// cost an allocation and a binary search per entry and parent).
    read_to: Vec<usize>,
    /// With one parent, only the entries that may differ from its (the others are its entries,
    /// byte for byte: `Tree::read`).
    next: std::ops::Range<usize>,
    prefix: String,
}

impl<'o> Frame<'o> {
    fn new(tree: Tree<'o>, parents: Vec<Tree<'o>>, prefix: String) -> Frame<'o> {
        let next = match &parents[..] {
            [parent] => tree.changed_from(parent),
            _ => 0..tree.len(),
        };
        Frame { read_to: vec![next.start; parents.len()], tree, parents, next, prefix }
    }
}

/// How an error names where the walk was: the commit, or nothing for a tagged tree.
fn place(info: &Option<Arc<CommitInfo>>) -> String {
    info.as_ref().map_or_else(|| "tagged tree".to_string(), |c| format!("commit {}", c.id))
}

/// Scans the pending blobs that pack files hold, on `threads` workers, each delta chain
/// resolved once (`pack`).
fn from_packs(
    repo: &Repository,
    pending: &[Pending],
    index: &HashMap<Oid, usize>,
    limits: Limits,
    threads: usize,
    progress: &Progress,
    sinks: &Sinks,
) {
    let want = |id: &Oid| index.get(id).copied().filter(|&slot| !pending[slot].done.load(Ordering::Relaxed));
    let found = |slot: usize, content: Content| {
        pending[slot].done.store(true, Ordering::Relaxed);
        deliver(&pending[slot], &content, Lineage::default(), limits, progress, sinks);
    };
    pack::read_blobs(&repo.commondir().join("objects"), want, limits.max_file_bytes, threads, found);
}

/// Scans the pending blobs not yet `done` (loose objects, alternates, anything `pack` could
/// not read) on `threads` workers that each open their own repository handle and pull the
/// next blob from a shared counter. libgit2 names an object that is really broken.
fn through_libgit2(
    repo: &Repository,
    pending: &[Pending],
    limits: Limits,
    threads: usize,
    progress: &Progress,
    sinks: &Sinks,
) {
    let rest: Vec<&Pending> = pending.iter().filter(|p| !p.done.load(Ordering::Relaxed)).collect();
    let git_dir = repo.path();
    let next = AtomicUsize::new(0);
    std::thread::scope(|scope| {
        for _ in 0..threads.max(1).min(rest.len()) {
            scope.spawn(|| {
                let repo = match Repository::open(git_dir) {
                    Ok(repo) => repo,
                    Err(e) => return sinks.introduced.error(Error::git("cannot open the repository", e)),
                };
                let odb = match super::odb_with_env(&repo) {
                    Ok(odb) => odb,
                    Err(e) => {
                        return sinks.introduced.error(Error::git("cannot open the object database", e))
                    }
                };
                while let Some(item) = rest.get(next.fetch_add(1, Ordering::Relaxed)) {
                    let read = read_blob(&odb, item.id, limits, |content| {
                        deliver(item, content, Lineage::default(), limits, progress, sinks);
                    });
                    if let Err(e) = read {
                        let (seen, sink) = item.places(sinks).next().expect("a pending blob has a place");
                        let commit =
                            seen[0].commit.as_ref().map_or(String::new(), |c| format!(" in commit {}", c.id));
                        sink.error(Error::git(
                            format!("cannot read object {} ({}{commit})", item.id, seen[0].path),
                            e,
                        ));
                    }
                }
            });
        }
    });
}

/// Hands a blob to the sinks of its places; answers with what the first sink kept of it, if its
/// lineage asked.
fn deliver(
    item: &Pending,
    content: &Content,
    lineage: Lineage,
    limits: Limits,
    progress: &Progress,
    sinks: &Sinks,
) -> Option<Kept> {
    let mut kept = None;
    for (seen, sink) in item.places(sinks) {
        let answer = send_built(sink, content, seen, limits, lineage);
        kept = kept.or(answer);
    }
    progress.scanned(match content {
        Content::Bytes(bytes) => bytes.len(),
        Content::TooLarge(_) => 0,
    });
    kept
}
