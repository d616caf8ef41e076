//! The pre-commit source: exactly what the next commit will contain. It reads the *index*
//! version of each added, modified, renamed, copied or retyped path compared with HEAD (or with
//! the empty tree before the first commit), never the working tree, so `git add -p` is honoured.
//! Given paths (as the pre-commit framework passes them), it reads the index version of those
//! paths whether or not they changed, so `pre-commit run --all-files` scans every tracked file;
//! a directory (`.` included) stands for every entry under it, and a path with nothing in the
//! index is named back to the caller rather than passed over in silence.

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
    let index = repo.index().map_err(|e| Error::git("cannot read the index", e))?;
    if paths.is_empty() {
        let entries = changed_entries(repo, &index)?.into_iter().map(|(path, id)| Entry { path, id });
        return Ok(Selection { entries: entries.collect(), missing: Vec::new() });
    }
    named_entries(repo, &index, paths)
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

/// Index entries for the given paths (relative to the current directory): a file's own entry,
/// or every entry under a directory. Gitlinks and intent-to-add entries hold nothing to scan.
fn named_entries(repo: &Repository, index: &git2::Index, paths: &[PathBuf]) -> Result<Selection> {
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
        let file = (!relative.is_empty()).then(|| index.get_path(Path::new(&relative), 0)).flatten();
        let found: Vec<git2::IndexEntry> = match file {
            Some(entry) => vec![entry],
            None => {
                let under = if relative.is_empty() { String::new() } else { format!("{relative}/") };
                index.iter().filter(|e| e.path.starts_with(under.as_bytes())).collect()
            }
        };
        if found.is_empty() {
            selection.missing.push(path.clone());
        }
        for entry in found {
            let name = String::from_utf8_lossy(&entry.path).into_owned();
            let scannable = entry.mode != u32::from(FileMode::Commit) && !entry.id.is_zero();
            if scannable && taken.insert(name.clone()) {
                selection.entries.push(Entry { path: name, id: entry.id });
            }
        }
    }
    Ok(selection)
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
