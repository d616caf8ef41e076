//! The pre-commit source: exactly what the next commit will contain. It reads the *index*
//! version of each added, modified, renamed, copied or retyped path compared with HEAD (or with
//! the empty tree before the first commit), never the working tree, so `git add -p` is honoured.
//! Given paths (as the pre-commit framework passes them), it reads the index version of those
//! paths whether or not they changed, so `pre-commit run --all-files` scans every tracked file.

use super::{read_blob, send, slash_path, Limits, Seen, Sink};
use crate::error::{Error, Result};
use git2::{Delta, DiffOptions, ErrorCode, FileMode, Odb, Oid, Repository};
use std::path::{Component, Path, PathBuf};

/// A path the next commit will contain, and the blob the index holds for it.
#[derive(Clone, Debug)]
pub struct Entry {
    pub path: String,
    pub id: Oid,
}

/// The entries to scan: those that differ from HEAD, or those of the given paths.
pub fn entries(repo: &Repository, paths: &[PathBuf]) -> Result<Vec<Entry>> {
    let index = repo.index().map_err(|e| Error::git("cannot read the index", e))?;
    let pairs =
        if paths.is_empty() { changed_entries(repo, &index)? } else { named_entries(repo, &index, paths)? };
    Ok(pairs.into_iter().map(|(path, id)| Entry { path, id }).collect())
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

/// Index entries that differ from HEAD, as (path, blob id).
fn changed_entries(repo: &Repository, index: &git2::Index) -> Result<Vec<(String, Oid)>> {
    let head_tree = match repo.head() {
        Ok(head) => Some(head.peel_to_tree().map_err(|e| Error::git("cannot read HEAD's tree", e))?),
        Err(e) if matches!(e.code(), ErrorCode::UnbornBranch | ErrorCode::NotFound) => None,
        Err(e) => return Err(Error::git("cannot resolve HEAD", e)),
    };
    let mut options = DiffOptions::new();
    options.ignore_submodules(true);
    let diff = repo
        .diff_tree_to_index(head_tree.as_ref(), Some(index), Some(&mut options))
        .map_err(|e| Error::git("cannot compare the index with HEAD", e))?;
    let mut entries = Vec::new();
    for delta in diff.deltas() {
        let added = matches!(
            delta.status(),
            Delta::Added | Delta::Modified | Delta::Renamed | Delta::Copied | Delta::Typechange
        );
        let file = delta.new_file();
        if !added || file.id().is_zero() || file.mode() == FileMode::Commit {
            continue;
        }
        if let Some(path) = file.path() {
            entries.push((slash_path(path), file.id()));
        }
    }
    Ok(entries)
}

/// Index entries for the given paths (relative to the current directory); paths that are not in
/// the index (deleted, untracked, directories) have nothing to commit and are passed over.
fn named_entries(repo: &Repository, index: &git2::Index, paths: &[PathBuf]) -> Result<Vec<(String, Oid)>> {
    let workdir = repo.workdir().ok_or_else(|| {
        Error::Usage("--staged needs a repository with a working tree (this one is bare)".into())
    })?;
    let workdir = workdir.canonicalize().map_err(|e| Error::io(workdir.display().to_string(), e))?;
    let cwd = std::env::current_dir()
        .and_then(|d| d.canonicalize())
        .map_err(|e| Error::io("cannot read the current directory", e))?;
    let mut entries = Vec::new();
    for path in paths {
        let absolute = normalize(&cwd.join(path));
        let Ok(relative) = absolute.strip_prefix(&workdir) else {
            return Err(Error::Usage(format!("{} is outside the repository", path.display())));
        };
        let relative = slash_path(relative);
        if let Some(entry) = index.get_path(Path::new(&relative), 0) {
            if entry.mode != u32::from(FileMode::Commit) && !entry.id.is_zero() {
                entries.push((relative, entry.id));
            }
        }
    }
    Ok(entries)
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
