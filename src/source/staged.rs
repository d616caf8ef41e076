//! The pre-commit source: exactly what the next commit will contain. It reads the *index*
//! version of each added, modified, renamed, copied or retyped path compared with HEAD (or with
//! the empty tree before the first commit), never the working tree, so `git add -p` is honoured.
//! Given paths (as the pre-commit framework passes them), it reads the index version of those
//! paths whether or not they changed, so `pre-commit run --all-files` scans every tracked file;
//! a directory (`.` included) stands for every entry under it, and a path with nothing in the
//! index is named back to the caller rather than passed over in silence. In a sparse index a
//! directory outside the cone is one entry holding its tree: what it holds is read from that
//! tree (only where it differs from HEAD's, for the staged change).

use super::{index, read_blob, send, slash_path, Limits, Seen, Sink};
use crate::error::{Error, Result};
use git2::{ErrorCode, FileMode, ObjectType, Odb, Oid, Repository};
use std::collections::HashMap;
use std::path::{Component, Path, PathBuf};

/// Directories compared level by level, at most: see `changed`.
const MAX_DEPTH: usize = 256;

/// A path the next commit will contain, and the blob the index holds for it.
#[derive(Clone, Debug)]
pub struct Entry {
    pub path: String,
    pub id: Oid,
}

/// What the next commit holds for the paths asked about.
#[derive(Clone, Debug, Default)]
pub struct Selection {
    pub entries: Vec<Entry>,
    /// Paths named on the command line that have nothing in the index.
    pub missing: Vec<PathBuf>,
}

/// The entries to scan: those that differ from HEAD, or those of the given paths.
pub fn entries(repo: &Repository, paths: &[PathBuf]) -> Result<Selection> {
    super::check_packs(repo)?;
    let index = read_index(repo)?;
    let all = index.entries();
    if paths.is_empty() {
        let head = head_tree(repo)?;
        let mut entries = Vec::new();
        changed(repo, "", head, &all, &index.trees, &mut entries)?;
        return Ok(Selection { entries, missing: Vec::new() });
    }
    named_entries(repo, &all, paths)
}

pub fn scan(repo: &Repository, entries: &[Entry], limits: Limits, sink: &dyn Sink) {
    let odb = match repo.odb() {
        Ok(odb) => odb,
        Err(e) => return sink.error(Error::git("cannot open the object database", e)),
    };
    for entry in entries {
        read_and_send(&odb, &entry.path, entry.id, limits, sink);
    }
}

/// The index git will commit: the file `GIT_INDEX_FILE` names (git sets it for `commit -a` and
/// `commit PATH`), else the repository's own. Read directly when its format allows (see
/// `index.rs`), else through libgit2, without the cache tree.
fn read_index(repo: &Repository) -> Result<index::Index> {
    let path =
        std::env::var_os("GIT_INDEX_FILE").map(PathBuf::from).unwrap_or_else(|| repo.path().join("index"));
    if let Some(index) = index::read(&path, repo.path())? {
        return Ok(index);
    }
    let index = repo.index().map_err(|e| Error::git("cannot read the index", e))?;
    let mut entries: Vec<(String, Oid, u32)> = index
        .iter()
        .filter(|e| (e.flags >> 12) & 3 == 0)
        .map(|e| (String::from_utf8_lossy(&e.path).into_owned(), e.id, e.mode))
        .collect();
    // In git's order (libgit2 folds case where the file system does), which the walks rely on.
    entries.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
    let mut read = index::Index::default();
    for (path, id, mode) in entries {
        read.push(&path, id, mode);
    }
    Ok(read)
}

/// The id of HEAD's tree (read by `changed`, once), or None before the first commit.
fn head_tree(repo: &Repository) -> Result<Option<Oid>> {
    match repo.head() {
        Ok(head) => {
            Ok(Some(head.peel_to_commit().map_err(|e| Error::git("cannot read HEAD's commit", e))?.tree_id()))
        }
        Err(e) if matches!(e.code(), ErrorCode::UnbornBranch | ErrorCode::NotFound) => Ok(None),
        Err(e) => Err(Error::git("cannot resolve HEAD", e)),
    }
}

/// The `entries` under directory `dir` (`""` or `a/b/`) whose blob or mode differs from HEAD's
/// `tree` for that directory. A directory whose cache-tree id equals HEAD's is unchanged and
/// not read at all; that is what keeps a pre-commit run on a large repository short.
fn changed(
    repo: &Repository,
    dir: &str,
    tree: Option<Oid>,
    entries: &[index::Entry],
    trees: &HashMap<String, Oid>,
    out: &mut Vec<Entry>,
) -> Result<()> {
    if tree.is_some() && trees.get(dir) == tree.as_ref() {
        return Ok(());
    }
    // Deeper than any real tree: everything under it is scanned rather than compared, so that
    // a crafted index cannot exhaust the stack.
    if dir.bytes().filter(|&b| b == b'/').count() >= MAX_DEPTH {
        out.extend(
            entries.iter().filter(|e| scannable(e)).map(|e| Entry { path: e.path.to_string(), id: e.id }),
        );
        return Ok(());
    }
    let head = match tree {
        Some(id) => {
            Some(repo.find_tree(id).map_err(|e| Error::git(format!("cannot read HEAD's tree {id}"), e))?)
        }
        None => None,
    };
    let mut at = 0;
    while at < entries.len() {
        let entry = &entries[at];
        let rest = &entry.path[dir.len()..];
        if entry.mode == index::SPARSE_DIR_MODE {
            let before = head.as_ref().and_then(|h| subtree(h, rest.trim_end_matches('/')));
            tree_changes(repo, entry.path, entry.id, before, out)?;
            at += 1;
            continue;
        }
        let Some(slash) = rest.find('/') else {
            let same = head
                .as_ref()
                .and_then(|h| h.get_name(rest))
                .is_some_and(|h| h.id() == entry.id && u32::try_from(h.filemode()).ok() == Some(entry.mode));
            if !same && scannable(entry) {
                out.push(Entry { path: entry.path.to_string(), id: entry.id });
            }
            at += 1;
            continue;
        };
        let sub = format!("{dir}{}", &rest[..=slash]);
        let len = entries[at..].iter().take_while(|e| e.path.starts_with(&sub)).count();
        let subtree = head.as_ref().and_then(|h| subtree(h, &rest[..slash]));
        changed(repo, &sub, subtree, &entries[at..at + len], trees, out)?;
        at += len;
    }
    Ok(())
}

/// The id of `tree`'s subdirectory `name`, if it has one.
fn subtree(tree: &git2::Tree, name: &str) -> Option<Oid> {
    tree.get_name(name).filter(|e| e.kind() == Some(ObjectType::Tree)).map(|e| e.id())
}

/// The blobs under tree `id`, at `dir` (`a/b/`), whose id or mode differs from tree `before`'s
/// at the same path (every one, with no `before`): what a sparse index's directory entry holds
/// that HEAD does not. Trees that are the same are not read.
fn tree_changes(
    repo: &Repository,
    dir: &str,
    id: Oid,
    before: Option<Oid>,
    out: &mut Vec<Entry>,
) -> Result<()> {
    if before == Some(id) {
        return Ok(());
    }
    if dir.bytes().filter(|&b| b == b'/').count() > MAX_DEPTH {
        return Err(Error::Usage(format!("the index's tree {id} at {dir} is nested too deep to read")));
    }
    let read =
        |id: Oid| repo.find_tree(id).map_err(|e| Error::git(format!("cannot read tree {id} ({dir})"), e));
    let tree = read(id)?;
    let before = before.map(read).transpose()?;
    for entry in tree.iter() {
        let path = format!("{dir}{}", String::from_utf8_lossy(entry.name_bytes()));
        let old = before.as_ref().and_then(|b| b.get_name_bytes(entry.name_bytes()));
        match entry.kind() {
            Some(ObjectType::Blob)
                if old
                    .as_ref()
                    .map_or(true, |old| old.id() != entry.id() || old.filemode() != entry.filemode()) =>
            {
                out.push(Entry { path, id: entry.id() });
            }
            Some(ObjectType::Tree) => {
                let old = old.filter(|old| old.kind() == Some(ObjectType::Tree)).map(|old| old.id());
                tree_changes(repo, &format!("{path}/"), entry.id(), old, out)?;
            }
            _ => {} // submodule commits live in another repository
        }
    }
    Ok(())
}

/// Gitlinks (submodule commits) and intent-to-add entries hold nothing to scan.
fn scannable(entry: &index::Entry) -> bool {
    entry.mode != u32::from(FileMode::Commit) && !entry.id.is_zero()
}

/// Index entries for the given paths (relative to the current directory): a file's own entry,
/// or every entry under a directory.
fn named_entries(repo: &Repository, index: &[index::Entry], paths: &[PathBuf]) -> Result<Selection> {
    let workdir = repo.workdir().ok_or_else(|| {
        Error::Usage("--staged needs a repository with a working tree (this one is bare)".into())
    })?;
    let workdir = workdir.canonicalize().map_err(|e| Error::io(workdir.display().to_string(), e))?;
    let cwd = std::env::current_dir()
        .and_then(|d| d.canonicalize())
        .map_err(|e| Error::io("cannot read the current directory", e))?;
    let mut selection = Selection::default();
    let mut taken = std::collections::HashSet::new();
    for path in paths {
        let absolute = normalize(&cwd.join(path));
        let Ok(relative) = absolute.strip_prefix(&workdir) else {
            return Err(Error::Usage(format!("{} is outside the repository", path.display())));
        };
        let relative = slash_path(relative);
        let file = (!relative.is_empty())
            .then(|| index.binary_search_by(|e| e.path.as_bytes().cmp(relative.as_bytes())).ok())
            .flatten();
        let under = if relative.is_empty() { String::new() } else { format!("{relative}/") };
        let found: Vec<&index::Entry> = match file {
            Some(at) => vec![&index[at]],
            None => index.iter().filter(|e| e.path.starts_with(&under)).collect(),
        };
        let in_index = !found.is_empty();
        let mut entries = Vec::new();
        for entry in found {
            if entry.mode == index::SPARSE_DIR_MODE {
                tree_changes(repo, entry.path, entry.id, None, &mut entries)?;
            } else if scannable(entry) {
                entries.push(Entry { path: entry.path.to_string(), id: entry.id });
            }
        }
        if entries.is_empty() {
            entries = in_sparse_directory(repo, index, &relative)?;
        }
        if entries.is_empty() && !in_index {
            selection.missing.push(path.clone());
        }
        for entry in entries {
            if taken.insert(entry.path.clone()) {
                selection.entries.push(entry);
            }
        }
    }
    Ok(selection)
}

/// The blobs at `relative` (a file, or everything under a directory) inside one of a sparse
/// index's directory entries, read from that directory's tree.
fn in_sparse_directory(repo: &Repository, index: &[index::Entry], relative: &str) -> Result<Vec<Entry>> {
    let mut out = Vec::new();
    let sparse = index.iter().filter(|e| e.mode == index::SPARSE_DIR_MODE);
    let Some(dir) = sparse.into_iter().find(|e| relative.starts_with(e.path)) else { return Ok(out) };
    let tree = repo
        .find_tree(dir.id)
        .map_err(|e| Error::git(format!("cannot read tree {} ({})", dir.id, dir.path), e))?;
    let Ok(found) = tree.get_path(Path::new(&relative[dir.path.len()..])) else { return Ok(out) };
    match found.kind() {
        Some(ObjectType::Blob) => out.push(Entry { path: relative.to_string(), id: found.id() }),
        Some(ObjectType::Tree) => tree_changes(repo, &format!("{relative}/"), found.id(), None, &mut out)?,
        _ => {}
    }
    Ok(out)
}

fn read_and_send(odb: &Odb, path: &str, id: Oid, limits: Limits, sink: &dyn Sink) {
    let seen = [Seen { path: path.to_string(), commit: None, blob: Some(id) }];
    if let Err(e) = read_blob(odb, id, limits, |content| send(sink, content, &seen, limits)) {
        sink.error(Error::git(format!("cannot read staged {path} (object {id})"), e));
    }
}

/// Removes `.` and resolves `..` without touching the file system (the path may not exist).
fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for component in path.components() {
        match component {
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}
