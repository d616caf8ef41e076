//! Packs this machine's keyrot has already checked. Checking a pack reads the header of every
//! object in it (70 ms for the 233k objects of cargo's history): too much for a pre-commit hook
//! that runs at every commit, over packs that never change once written. A pack that passed is
//! remembered by the identity of its two files (device, inode, size, modification and change
//! times to the nanosecond) in `$XDG_CACHE_HOME/keyrot/checked-packs` (or `~/.cache/…`). A pack
//! rewritten in place, or another file at the same path, has a new change time, which no user
//! can set, and is checked again; a damaged pack is never remembered. Nothing is written inside
//! the repository, and without a cache directory every pack is checked every time.

use std::io::Write;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

/// At most this many packs are remembered (the most recent ones).
const MAX_ENTRIES: usize = 4096;

pub struct Checked {
    file: Option<PathBuf>,
    /// The file as read: one pack per line, oldest first. Searched line by line: a run asks
    /// about a pack or two, and a set of the lines cost more to build than the searches.
    text: String,
    /// Packs that passed in this run.
    learnt: Vec<String>,
}

impl Checked {
    /// What the cache file holds, or nothing when there is no cache directory or no such file.
    pub fn load() -> Checked {
        let file = cache_dir().map(|dir| dir.join("keyrot/checked-packs"));
        let text = file
            .as_deref()
            .and_then(|f| crate::textfile::read(f, (MAX_ENTRIES as u64) * 128).ok())
            .unwrap_or_default();
        Checked { file, text, learnt: Vec::new() }
    }

    /// The identity of the pack whose index is `idx`, or `None` when either file cannot be
    /// looked at (then it is never taken as checked).
    pub fn key(idx: &Path) -> Option<String> {
        let mut key = String::new();
        for path in [idx.to_path_buf(), idx.with_extension("pack")] {
            let m = std::fs::symlink_metadata(&path).ok().filter(|m| m.is_file())?;
            key.push_str(&format!(
                "{}:{}:{}:{}.{}:{}.{} ",
                m.dev(),
                m.ino(),
                m.size(),
                m.mtime(),
                m.mtime_nsec(),
                m.ctime(),
                m.ctime_nsec()
            ));
        }
        key.push_str(&idx.display().to_string().replace('\n', "?"));
        Some(key)
    }

    pub fn contains(&self, key: &str) -> bool {
        self.text.lines().chain(self.learnt.iter().map(String::as_str)).any(|line| line == key)
    }

    pub fn remember(&mut self, key: String) {
        if !self.contains(&key) {
            self.learnt.push(key);
        }
    }

    /// Writes what was learnt (best effort: a cache that cannot be written only costs time).
    pub fn save(self) {
        let Some(file) = self.file.filter(|_| !self.learnt.is_empty()) else { return };
        let Some(dir) = file.parent() else { return };
        let mut lines: Vec<&str> = self.text.lines().chain(self.learnt.iter().map(String::as_str)).collect();
        lines.drain(..lines.len().saturating_sub(MAX_ENTRIES));
        let write = || -> std::io::Result<()> {
            std::fs::create_dir_all(dir)?;
            let mut temp = tempfile::NamedTempFile::new_in(dir)?;
            temp.write_all(lines.join("\n").as_bytes())?;
            temp.write_all(b"\n")?;
            temp.persist(&file)?;
            Ok(())
        };
        let _ = write();
    }
}

fn cache_dir() -> Option<PathBuf> {
    let absolute = |v: std::ffi::OsString| Some(PathBuf::from(v)).filter(|p| p.is_absolute());
    std::env::var_os("XDG_CACHE_HOME")
        .and_then(absolute)
        .or_else(|| std::env::var_os("HOME").and_then(absolute).map(|home| home.join(".cache")))
}
