//! Where content comes from. A source finds the blobs to scan (staged index entries, files on
//! disk, blobs introduced by commits) and pushes each to a `Sink` with where it was found. Sources
//! know nothing about rules, findings or output; they report what they cannot read to the sink
//! and carry on, so one bad object fails the run (exit 2) without hiding the rest.

mod checked;
mod commits;
pub mod dir;
pub mod history;
mod index;
mod messages;
mod pack;
mod packed;
mod split_index;
pub mod staged;
mod tree;

pub use messages::COMMIT_MESSAGE;

use crate::error::Error;
use crate::lineage::{Kept, Lineage};
use git2::{Odb, Oid};
use std::path::Path;
use std::sync::Arc;

/// How deep trees are entered: git itself refuses trees nested deeper (`core.maxTreeDepth`).
/// A walk deeper than this is refused with an error rather than followed: a crafted tree nested
/// 100,000 deep overflowed the stack of the commit walk.
pub const MAX_TREE_DEPTH: usize = 4096;

/// The commit a location was seen in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommitInfo {
    pub id: String,
    pub author: String,
    pub email: String,
    /// Author time, seconds since the epoch, and the author's UTC offset in minutes.
    pub time: i64,
    pub offset_minutes: i32,
    pub summary: String,
    /// Position in the walk, parents before children: the smallest is where a secret entered.
    pub order: usize,
}

impl CommitInfo {
    pub fn of(commit: &git2::Commit, order: usize) -> CommitInfo {
        let author = commit.author();
        CommitInfo {
            id: commit.id().to_string(),
            author: String::from_utf8_lossy(author.name_bytes()).into_owned(),
            email: String::from_utf8_lossy(author.email_bytes()).into_owned(),
            time: author.when().seconds(),
            offset_minutes: author.when().offset_minutes(),
            summary: String::from_utf8_lossy(commit.summary_bytes().unwrap_or_default()).into_owned(),
            order,
        }
    }
}

/// One place a blob was found: a path, and the commit that introduced it there (if any).
#[derive(Clone, Debug)]
pub struct Seen {
    /// Repository-relative (or as walked) path with `/` separators.
    pub path: String,
    pub commit: Option<Arc<CommitInfo>>,
    /// The git object id of the content, when it came from git.
    pub blob: Option<git2::Oid>,
}

/// One piece of content and every place it was found. The content is matched once; each place
/// is judged on its own (a rule's path condition, path and commit allowlists).
pub struct Blob<'a> {
    pub bytes: &'a [u8],
    /// The content's size: more than `bytes` holds where only its start was read, because the
    /// rest could not matter (`matcher::holds_no_text`).
    pub size: usize,
    pub seen: &'a [Seen],
    /// What it was built from, when a pack's delta built it (`lineage.rs`).
    pub lineage: Lineage<'a>,
}

impl<'a> Blob<'a> {
    /// All of a content's bytes, built from no base.
    pub fn whole(bytes: &'a [u8], seen: &'a [Seen]) -> Blob<'a> {
        Blob { bytes, size: bytes.len(), seen, lineage: Lineage::default() }
    }
}

/// Receives what a source finds. Implementations are shared across worker threads.
/// `blob` and `prepare` answer with what the matcher kept of the blob when its lineage asks for
/// it (`is_base`): the source hands it back with the blobs built from that one.
pub trait Sink: Sync {
    fn blob(&self, blob: Blob) -> Option<Kept>;
    /// Content whose places are not known yet (a history's packs are read while its commits are
    /// walked): the sink may match it now and keep what it needs to judge places later.
    fn prepare(&self, id: Oid, bytes: &[u8], lineage: Lineage) -> Option<Kept>;
    /// Judges `seen` from what `prepare` kept for blob `id`, and returns the content's size; or
    /// `None` if it kept nothing usable for these places, and the blob must come as a `blob`.
    fn prepared(&self, id: Oid, seen: &[Seen]) -> Option<usize>;
    fn error(&self, error: Error);
    fn warn(&self, message: String);
}

/// What a source has for one blob: its bytes, or, over the size limit, only its size.
pub enum Content<'a> {
    Bytes(&'a [u8]),
    TooLarge(u64),
}

/// Hands content to the sink. Content over the limit is not scanned: the sink gets a warning and
/// an empty blob, so path rules still apply.
pub fn send(sink: &dyn Sink, content: &Content, seen: &[Seen], limits: Limits) {
    send_built(sink, content, seen, limits, Lineage::default());
}

/// `send` for content a pack's delta built, answering as the sink does.
pub fn send_built(
    sink: &dyn Sink,
    content: &Content,
    seen: &[Seen],
    limits: Limits,
    lineage: Lineage,
) -> Option<Kept> {
    match *content {
        Content::Bytes(bytes) => sink.blob(Blob { lineage, ..Blob::whole(bytes, seen) }),
        Content::TooLarge(size) => {
            sink.warn(too_large(&seen[0].path, size, limits));
            sink.blob(Blob::whole(&[], seen))
        }
    }
}

thread_local! {
    /// Set while a git2 call that panics on damaged objects runs under `catch_unwind`.
    static GIT2_MAY_PANIC: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Whether the panic in progress on this thread is git2's, on a damaged object, and is caught.
pub fn panic_is_caught() -> bool {
    GIT2_MAY_PANIC.get()
}

/// Reads a blob through libgit2; a blob over the limit has only its header read.
pub fn read_blob(
    odb: &Odb,
    id: Oid,
    limits: Limits,
    use_content: impl FnOnce(&Content),
) -> Result<(), git2::Error> {
    // git2 panics on an object type it does not know; that is a damaged object, not a bug.
    GIT2_MAY_PANIC.set(true);
    let header = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| odb.read_header(id)));
    GIT2_MAY_PANIC.set(false);
    let (size, _) = header.unwrap_or_else(|_| Err(git2::Error::from_str("object of an unknown type")))?;
    if size as u64 > limits.max_file_bytes {
        use_content(&Content::TooLarge(size as u64));
        return Ok(());
    }
    let object = odb.read(id)?;
    use_content(&Content::Bytes(object.data()));
    Ok(())
}

/// Refuses a repository with a pack that libgit2 could not read safely: an object whose delta
/// chain loops would hang it, and a reserved object type would make it panic. Runs before any
/// object is read; every object directory libgit2 would use is checked (the repository's own,
/// its alternates, and those the environment names, as in a pre-receive hook's quarantine).
pub fn check_packs(repo: &git2::Repository) -> Result<(), Error> {
    let mut dirs = vec![repo.commondir().join("objects")];
    dirs.extend(env_object_dirs());
    let mut checked = checked::Checked::load();
    for dir in dirs {
        pack::check(&dir, &mut checked).map_err(|problem| match problem {
            pack::Unsafe::Pack(hazard) => Error::Git {
                context: match hazard.object {
                    Some(object) => format!("object {object} in {}", hazard.pack.display()),
                    None => format!("{} (its index or object headers are damaged)", hazard.pack.display()),
                },
                message: "its delta chain loops or ends at a corrupt header, so git's reader would hang \
                          or fail on it: the pack is damaged or was made to do that, and nothing was \
                          scanned (`git fsck` tells more)"
                    .into(),
            },
            pack::Unsafe::File { file, message } => Error::Git {
                context: file.display().to_string(),
                message: format!(
                    "{message}: git's reader would block or fail on it, and nothing was scanned"
                ),
            },
        })?;
    }
    checked.save();
    Ok(())
}

/// The object directories the environment names: a pre-receive hook's quarantine
/// (`GIT_OBJECT_DIRECTORY`) and the repository's own objects beside it.
fn env_object_dirs() -> Vec<std::path::PathBuf> {
    let mut dirs = Vec::new();
    for var in ["GIT_OBJECT_DIRECTORY", "GIT_ALTERNATE_OBJECT_DIRECTORIES"] {
        if let Some(value) = std::env::var_os(var) {
            dirs.extend(std::env::split_paths(&value).filter(|dir| !dir.as_os_str().is_empty()));
        }
    }
    dirs
}

/// The object database of a repository handle opened by path, which (unlike one opened from the
/// environment) does not see the object directories the environment names: they are added, so
/// a worker reads a pushed object still in quarantine.
pub fn odb_with_env(repo: &git2::Repository) -> Result<Odb<'_>, git2::Error> {
    let odb = repo.odb()?;
    for dir in env_object_dirs() {
        if let Some(dir) = dir.to_str() {
            odb.add_disk_alternate(dir)?;
        }
    }
    Ok(odb)
}

/// A path with `/` separators, as git writes them.
pub fn slash_path(path: &Path) -> String {
    path.to_string_lossy().replace('\\', "/")
}

/// Size limits shared by every source.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// Content larger than this is skipped with a warning (path rules still apply).
    pub max_file_bytes: u64,
}

/// git run in `dir` for a unit test, with a fixed identity and no user configuration: its
/// output (the test fails if git does).
#[cfg(test)]
pub fn test_git(dir: &Path, args: &[&str]) -> String {
    let out = std::process::Command::new("git")
        .args(["-c", "user.name=t", "-c", "user.email=t@example.com"])
        .args(args)
        .current_dir(dir)
        .env("GIT_CONFIG_GLOBAL", concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.toml.missing"))
        .output()
        .expect("git runs");
    assert!(out.status.success(), "git {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).expect("utf-8")
}

fn too_large(path: &str, size: u64, limits: Limits) -> String {
    format!(
        "skipped {path}: {} MB is over the {} MB limit (raise it with --max-file-size)",
        size / (1 << 20),
        limits.max_file_bytes / (1 << 20)
    )
}
