//! Files and directories on disk, walked in parallel with the `ignore` crate: `.gitignore`,
//! `.ignore` and git's excludes are honoured unless `--no-ignore`; hidden files are scanned
//! (`.env` is exactly what we look for) and `.git` directories are not entered. `-` is standard
//! input; a pipe or device named on the command line is read as a stream, up to the size limit.
//! Inside a walked directory, anything that is not a regular file is skipped with a warning.

use super::{send, slash_path, Blob, Content, Limits, Seen, Sink};
use crate::error::Error;
use crate::matcher::{holds_no_text, BINARY_PROBE};
use ignore::{WalkBuilder, WalkState};
use std::io::Read;
use std::path::{Path, PathBuf};

/// How standard input (`-`) is named in reports.
const STDIN: &str = "stdin";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IgnoreFiles {
    Respect,
    Disregard,
}

pub fn scan(paths: &[PathBuf], ignore_files: IgnoreFiles, limits: Limits, threads: usize, sink: &dyn Sink) {
    let mut roots = Vec::new();
    for path in paths {
        if path.as_os_str() == "-" {
            scan_stream(STDIN, std::io::stdin().lock(), limits, sink);
            continue;
        }
        match std::fs::metadata(path) {
            Ok(meta) if !meta.is_file() && !meta.is_dir() => match std::fs::File::open(path) {
                Ok(file) => scan_stream(&display_path(path), file, limits, sink),
                Err(e) => sink.error(Error::Read { path: path.clone(), message: e.to_string() }),
            },
            _ => roots.push(path),
        }
    }
    let mut roots = roots.into_iter();
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
                Ok(entry) if !entry.file_type().is_some_and(|t| t.is_dir() || t.is_symlink()) => {
                    sink.warn(format!("skipped {}: not a regular file", display_path(entry.path())))
                }
                Ok(_) => {}
                Err(e) => sink.error(Error::Read { path: error_path(&e), message: e.to_string() }),
            }
            WalkState::Continue
        })
    });
}

/// Content that is not a file on disk (standard input, a pipe, a device named on the command
/// line): read once, up to the size limit and one byte more, so that `/dev/zero` ends too.
fn scan_stream(name: &str, stream: impl Read, limits: Limits, sink: &dyn Sink) {
    let seen = [Seen { path: name.to_string(), commit: None, blob: None }];
    let mut bytes = Vec::new();
    match stream.take(limits.max_file_bytes.saturating_add(1)).read_to_end(&mut bytes) {
        Ok(n) if n as u64 > limits.max_file_bytes => send(sink, &Content::TooLarge(n as u64), &seen, limits),
        Ok(_) => send(sink, &Content::Bytes(&bytes), &seen, limits),
        Err(e) => sink.error(Error::Read { path: PathBuf::from(name), message: e.to_string() }),
    }
}

fn scan_file(path: &Path, limits: Limits, sink: &dyn Sink) {
    let display = display_path(path);
    let seen = [Seen { path: display.clone(), commit: None, blob: None }];
    // The size from the open file, not the path: one lookup of the path per file fewer.
    let read = || -> std::io::Result<Result<(Vec<u8>, usize), u64>> {
        // A regular file when the walk saw it, but it may have been replaced since.
        let (mut file, metadata) = crate::textfile::open_regular(path)?;
        let size = metadata.len();
        if size > limits.max_file_bytes {
            return Ok(Err(size));
        }
        // As std::fs::read: a size no allocation can hold is an error, not an abort.
        let mut bytes = Vec::new();
        let room = |bytes: &mut Vec<u8>, len: u64| {
            let more = usize::try_from(len).unwrap_or(usize::MAX).saturating_sub(bytes.len());
            bytes.try_reserve_exact(more.saturating_add(1)).map_err(std::io::Error::other)
        };
        // Its start says whether the rest can hold anything for the content rules: binary
        // content that is not UTF-16 has nothing, and is not read further (the libraries and
        // objects of a Python tree, a third of its bytes, took 7% of a scan's time to read).
        room(&mut bytes, size.min(BINARY_PROBE as u64))?;
        (&mut file).take(BINARY_PROBE as u64).read_to_end(&mut bytes)?;
        if holds_no_text(&bytes) {
            return Ok(Ok((bytes, usize::try_from(size).unwrap_or(usize::MAX))));
        }
        room(&mut bytes, size)?;
        file.read_to_end(&mut bytes)?;
        let size = bytes.len();
        Ok(Ok((bytes, size)))
    };
    match read() {
        Ok(Ok((bytes, size))) => {
            sink.blob(Blob { size, ..Blob::whole(&bytes, &seen) });
        }
        Ok(Err(size)) => send(sink, &Content::TooLarge(size), &seen, limits),
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
