//! Where content comes from. A source finds the blobs to scan (staged index entries, files on
//! disk, blobs introduced by commits) and pushes each to a `Sink` with where it was found. Sources
//! know nothing about rules, findings or output; they report what they cannot read to the sink
//! and carry on, so one bad object fails the run (exit 2) without hiding the rest.

pub mod dir;
pub mod history;
mod pack;
pub mod staged;

use crate::error::Error;
use crate::findings::CommitInfo;
use std::sync::Arc;

/// One place a blob was found: a path, and the commit that introduced it there (if any).
#[derive(Clone, Debug)]
pub struct Seen {
    /// Repository-relative (or as walked) path with `/` separators.
    pub path: String,
    pub commit: Option<Arc<CommitInfo>>,
    /// The git object id of the content, when it came from git.
    pub blob: Option<git2::Oid>,
}

/// One piece of content and every place it was found; the first is where it is scanned.
pub struct Blob<'a> {
    pub bytes: &'a [u8],
    pub seen: &'a [Seen],
}

/// Receives what a source finds. Implementations are shared across worker threads.
pub trait Sink: Sync {
    fn blob(&self, blob: Blob);
    fn error(&self, error: Error);
    fn warn(&self, message: String);
}

/// Size limits shared by every source.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// Content larger than this is skipped with a warning (path rules still apply).
    pub max_file_bytes: u64,
}

pub fn too_large(path: &str, size: u64, limits: Limits) -> String {
    format!(
        "skipped {path}: {} MB is over the {} MB limit (raise it with --max-file-size)",
        size / (1 << 20),
        limits.max_file_bytes / (1 << 20)
    )
}
