//! Files and directories on disk, walked in parallel with the `ignore` crate: `.gitignore`,
//! `.ignore` and git's excludes are honoured unless `--no-ignore`; hidden files are scanned
//! (`.env` is exactly what we look for) and `.git` directories are not entered.

use super::{send, slash_path, Content, Limits, Seen, Sink};
use crate::error::Error;
use ignore::{WalkBuilder, WalkState};
use std::path::{Path, PathBuf};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IgnoreFiles {
    Respect,
    Disregard,
}

pub fn scan(paths: &[PathBuf], ignore_files: IgnoreFiles, limits: Limits, threads: usize, sink: &dyn Sink) {
    let mut roots = paths.iter();
    let Some(first) = roots.next() else { return };
    let mut builder = WalkBuilder::new(first);
    for root in roots {
        builder.add(root);
    }
    let respect = ignore_files == IgnoreFiles::Respect;
    builder
        .hidden(false)
        .ignore(respect)
        .git_ignore(respect)
        .git_global(respect)
        .git_exclude(respect)
        .parents(respect)
        .threads(threads)
        .filter_entry(|entry| entry.file_name() != ".git");
    builder.build_parallel().run(|| {
        Box::new(|entry| {
            match entry {
                Ok(entry) if entry.file_type().is_some_and(|t| t.is_file()) => {
                    scan_file(entry.path(), limits, sink)
                }
                Ok(_) => {}
                Err(e) => sink.error(Error::Read { path: error_path(&e), message: e.to_string() }),
            }
            WalkState::Continue
        })
    });
}

fn scan_file(path: &Path, limits: Limits, sink: &dyn Sink) {
    let display = display_path(path);
    let seen = [Seen { path: display.clone(), commit: None, blob: None }];
    let size = match path.metadata() {
        Ok(meta) => meta.len(),
        Err(e) => return sink.error(Error::Read { path: path.to_path_buf(), message: e.to_string() }),
    };
    if size > limits.max_file_bytes {
        return send(sink, &Content::TooLarge(size), &seen, limits);
    }
    match std::fs::read(path) {
        Ok(bytes) => send(sink, &Content::Bytes(&bytes), &seen, limits),
        Err(e) => sink.error(Error::Read { path: path.to_path_buf(), message: e.to_string() }),
    }
}

/// The path as the user would type it: `/` separators, no leading `./`.
fn display_path(path: &Path) -> String {
    let text = slash_path(path);
    text.strip_prefix("./").map(str::to_string).unwrap_or(text)
}

fn error_path(error: &ignore::Error) -> PathBuf {
    match error {
        ignore::Error::WithPath { path, .. } => path.clone(),
        ignore::Error::WithDepth { err, .. } | ignore::Error::WithLineNumber { err, .. } => error_path(err),
        _ => PathBuf::from("."),
    }
}
