//! git's index file read directly, for the pre-commit path: its stage-0 entries and its cache
//! tree (the tree ids git keeps for directories no `git add` has touched since the last commit).
//! With the cache tree, the paths a commit changes are found by reading only the directories that
//! changed, as `git diff --cached` does; libgit2 reads every tree of HEAD and verifies the file's
//! checksum, which on a large repository costs more than the rest of a pre-commit run.
//!
//! A sparse index (`git sparse-checkout --sparse-index`) is read with its directory entries: a
//! directory outside the sparse cone stands as one entry, `dir/` with mode 040000 and the id of
//! its tree (`staged.rs` reads the tree when it must). A split index (`core.splitIndex`) is
//! read with its shared part (`split_index.rs`). Formats this reader does not handle (a required
//! extension it does not know, a version other than 2 to 4, anything malformed) return `None`,
//! and the caller uses libgit2, which reads them or says why it cannot.

use crate::error::Result;
use crate::textfile;
use git2::Oid;
use std::collections::HashMap;
use std::path::Path;

/// The largest index read into memory here; libgit2 reads larger ones its own way.
pub(super) const MAX_BYTES: u64 = 1 << 30;
const ID_LEN: usize = 20;
/// ctime, mtime, dev, ino, mode, uid, gid, size: ten 32-bit fields.
const STAT_LEN: usize = 40;
const MODE_OFFSET: usize = 24;
const EXTENDED: u16 = 0x4000;
const STAGE_MASK: u16 = 0x3000;
/// How deep a cache tree is read (recursively, so a damaged one cannot exhaust the stack);
/// an index with deeper directories is left to libgit2.
const MAX_DEPTH: usize = 256;
/// The mode of a sparse index's directory entry.
pub const SPARSE_DIR_MODE: u32 = 0o040000;

/// One stage-0 path of the index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry<'a> {
    pub path: &'a str,
    pub id: Oid,
    pub mode: u32,
}

/// The stage-0 entries of an index, their paths in one string: git/git's index has 4,800
/// paths, and a string for each was a sixth of the allocations of a pre-commit run.
#[derive(Debug, Default)]
pub struct Index {
    paths: String,
    /// Each entry's path (where it ends in `paths`; it starts where the one before ends), id
    /// and mode, in the index's order (sorted by path bytes).
    rows: Vec<(usize, Oid, u32)>,
    /// Valid cache-tree nodes: a directory (`""` for the top, else `dir/`) and its tree id.
    pub trees: HashMap<String, Oid>,
}

impl Index {
    pub fn push(&mut self, path: &str, id: Oid, mode: u32) {
        self.paths.push_str(path);
        self.rows.push((self.paths.len(), id, mode));
    }

    /// The entries, in the order they were pushed.
    pub fn entries(&self) -> Vec<Entry<'_>> {
        let mut start = 0;
        let entries = self.rows.iter().map(|&(end, id, mode)| {
            let path = &self.paths[start..end];
            start = end;
            Entry { path, id, mode }
        });
        entries.collect()
    }
}

/// Reads the index file at `path` (of the repository whose git directory is `git_dir`, where
/// a split index's shared part is); `None` when this reader leaves it to libgit2 (no index
/// yet, one too large to hold, or a format it does not read). Anything there that is not a
/// regular file (a FIFO would block git's reader and this one) is an error naming it.
pub fn read(path: &Path, git_dir: &Path) -> Result<Option<Index>> {
    match std::fs::metadata(path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Ok(metadata) if metadata.is_file() && metadata.len() > MAX_BYTES => return Ok(None),
        _ => {}
    }
    let bytes = textfile::map(path, MAX_BYTES)?;
    let Some((index, link)) = parse(&bytes) else { return Ok(None) };
    match link {
        None => Ok(Some(index)),
        Some(link) => super::split_index::read(&bytes, link, index.trees, git_dir),
    }
}

/// The stage-0 entries and cache tree of an index file, and its `link` extension's body if it
/// is the main part of a split index (whose entries are then only what `split_index.rs`
/// merges).
fn parse(bytes: &[u8]) -> Option<(Index, Option<&[u8]>)> {
    let mut index = Index {
        paths: String::with_capacity(bytes.len() / 2),
        rows: Vec::with_capacity(bytes.len() / 62),
        trees: HashMap::new(),
    };
    let mut trees = HashMap::new();
    let link = walk(bytes, &mut trees, |path, id, mode, stage| {
        if stage == 0 {
            index.push(std::str::from_utf8(path).ok()?, id, mode);
        }
        Some(())
    })?;
    index.trees = trees;
    Some((index, link))
}

/// Hands each entry of an index file to `each` (path, id, mode, stage), in order, reads its
/// cache tree into `trees`, and gives back its `link` extension's body, if any.
pub(super) fn walk<'a>(
    bytes: &'a [u8],
    trees: &mut HashMap<String, Oid>,
    mut each: impl FnMut(&[u8], Oid, u32, u16) -> Option<()>,
) -> Option<Option<&'a [u8]>> {
    let mut r = Reader { bytes, at: 0 };
    if r.take(4)? != b"DIRC" {
        return None;
    }
    let version = r.u32()?;
    if !(2..=4).contains(&version) {
        return None;
    }
    let count = r.u32()?;
    let mut previous: Vec<u8> = Vec::new();
    for _ in 0..count {
        let start = r.at;
        let mode =
            u32::from_be_bytes(r.bytes.get(start + MODE_OFFSET..start + MODE_OFFSET + 4)?.try_into().ok()?);
        r.take(STAT_LEN)?;
        let id = Oid::from_bytes(r.take(ID_LEN)?).ok()?;
        let flags = u16::from_be_bytes(r.take(2)?.try_into().ok()?);
        if version >= 3 && flags & EXTENDED != 0 {
            r.take(2)?;
        }
        let path = if version == 4 {
            let strip = r.varint()?;
            let keep = previous.len().checked_sub(strip)?;
            previous.truncate(keep);
            previous.extend_from_slice(r.until_nul()?);
            &previous[..]
        } else {
            let path = r.until_nul()?;
            // Entries are padded with 1 to 8 NULs to a multiple of 8 bytes; one was read.
            let len = r.at - start;
            r.take((8 - len % 8) % 8)?;
            path
        };
        if mode == SPARSE_DIR_MODE && path.last() != Some(&b'/') {
            return None;
        }
        each(path, id, mode, (flags & STAGE_MASK) >> 12)?;
    }
    let mut link = None;
    let end = bytes.len().checked_sub(ID_LEN)?;
    while r.at < end {
        let signature = r.take(4)?;
        let size = r.u32()? as usize;
        let body = r.take(size)?;
        match signature {
            b"TREE" => cache_tree(body, trees)?,
            // The index may hold directory entries: they are read as such above.
            b"sdir" => {}
            b"link" => link = Some(body),
            // Required extensions (lower-case first letter) this reader does not know.
            [first, ..] if first.is_ascii_lowercase() => return None,
            _ => {}
        }
    }
    (r.at == end).then_some(link)
}

/// The cache-tree extension: nodes in pre-order, each `name NUL count SP subtrees LF [id]`,
/// with no id when `count` is -1 (the directory changed since its tree was written).
fn cache_tree(body: &[u8], trees: &mut HashMap<String, Oid>) -> Option<()> {
    let mut r = Reader { bytes: body, at: 0 };
    node(&mut r, "", 0, trees)?;
    (r.at == body.len()).then_some(())
}

fn node(r: &mut Reader, parent: &str, depth: usize, trees: &mut HashMap<String, Oid>) -> Option<()> {
    if depth > MAX_DEPTH {
        return None;
    }
    let name = std::str::from_utf8(r.until_nul()?).ok()?;
    let dir = if name.is_empty() { String::new() } else { format!("{parent}{name}/") };
    let count: i64 = std::str::from_utf8(r.until(b' ')?).ok()?.parse().ok()?;
    let subtrees: usize = std::str::from_utf8(r.until(b'\n')?).ok()?.parse().ok()?;
    if count >= 0 {
        trees.insert(dir.clone(), Oid::from_bytes(r.take(ID_LEN)?).ok()?);
    }
    for _ in 0..subtrees {
        node(r, &dir, depth + 1, trees)?;
    }
    Some(())
}

struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let taken = self.bytes.get(self.at..self.at.checked_add(n)?)?;
        self.at += n;
        Some(taken)
    }

    fn u32(&mut self) -> Option<u32> {
        Some(u32::from_be_bytes(self.take(4)?.try_into().ok()?))
    }

    /// The bytes up to `end`, which is consumed but not returned.
    fn until(&mut self, end: u8) -> Option<&'a [u8]> {
        let rest = self.bytes.get(self.at..)?;
        let len = memchr::memchr(end, rest)?;
        self.at += len + 1;
        Some(&rest[..len])
    }

    fn until_nul(&mut self) -> Option<&'a [u8]> {
        self.until(0)
    }

    /// git's offset varint: seven bits a byte, high bit set on all but the last, plus one per
    /// continuation.
    fn varint(&mut self) -> Option<usize> {
        let mut byte = *self.take(1)?.first()?;
        let mut value = usize::from(byte & 0x7f);
        while byte & 0x80 != 0 {
            byte = *self.take(1)?.first()?;
            value = value.checked_add(1)?.checked_mul(128)? | usize::from(byte & 0x7f);
        }
        Some(value)
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_git as git;
    use super::*;

    /// An index written by git, version 4 (prefix-compressed paths) with a cache tree.
    fn index_v4() -> Vec<u8> {
        let dir = tempfile::tempdir().unwrap();
        git(dir.path(), &["init", "-q"]);
        for path in ["a/b/one.txt", "a/b/two.txt", "a/c.txt", "z.txt"] {
            let full = dir.path().join(path);
            std::fs::create_dir_all(full.parent().unwrap()).unwrap();
            std::fs::write(full, path).unwrap();
        }
        git(dir.path(), &["add", "."]);
        git(dir.path(), &["update-index", "--index-version", "4"]);
        git(dir.path(), &["write-tree"]);
        std::fs::read(dir.path().join(".git/index")).unwrap()
    }

    #[test]
    fn reads_paths_and_the_cache_tree() {
        let bytes = index_v4();
        let (index, link) = parse(&bytes).expect("a version 4 index parses");
        assert!(link.is_none());
        let paths: Vec<&str> = index.entries().iter().map(|e| e.path).collect();
        assert_eq!(paths, ["a/b/one.txt", "a/b/two.txt", "a/c.txt", "z.txt"]);
        assert!(index.entries().iter().all(|e| e.mode == 0o100644));
        let mut dirs: Vec<&str> = index.trees.keys().map(String::as_str).collect();
        dirs.sort_unstable();
        assert_eq!(dirs, ["", "a/", "a/b/"]);
    }

    #[test]
    fn a_cut_or_damaged_index_is_left_to_libgit2() {
        let bytes = index_v4();
        let (whole, _) = parse(&bytes).unwrap();
        // A cut that happens to end 20 bytes after a whole extension reads as an index without
        // it (the checksum is not verified, as git does not): its entries are still all there.
        for len in 0..bytes.len() {
            if let Some((cut, _)) = parse(&bytes[..len]) {
                assert_eq!(cut.entries(), whole.entries(), "cut at {len}");
            }
        }
        let mut wrong_count = bytes.clone();
        wrong_count[11] += 1;
        assert!(parse(&wrong_count).is_none());
    }

    #[test]
    fn a_cache_tree_nested_beyond_any_path_is_refused_without_recursing_into_it() {
        let mut body = Vec::new();
        for _ in 0..100_000 {
            body.extend_from_slice(b"d\0-1 1\n");
        }
        assert!(cache_tree(&body, &mut HashMap::new()).is_none());
    }
}
