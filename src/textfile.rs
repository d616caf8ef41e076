//! Reading the small text files keyrot is pointed at (rules files, their `[extend]` parents, the
//! baseline, a commit message file), which a repository controls: a FIFO there would block the
//! run and `/dev/zero` or a huge file would eat memory. So only regular files are read (checked
//! before opening, and opened so that a FIFO put there in between does not block: `open_regular`,
//! which a directory scan uses for every file too), and no more than a size limit; anything else
//! is a one-line error naming the file.

use crate::error::{Error, Result};
use std::io::Read;
use std::path::Path;

/// The most a rules file (or one it extends) may hold.
pub const CONFIG_LIMIT: u64 = 16 << 20;
/// The most a baseline may hold.
pub const BASELINE_LIMIT: u64 = 64 << 20;

/// The text of the regular file at `path` (symlinks followed), if it is at most `limit` bytes.
pub fn read(path: &Path, limit: u64) -> Result<String> {
    String::from_utf8(read_bytes(path, limit)?).map_err(|_| Error::Config {
        file: path.display().to_string(),
        message: "stream did not contain valid UTF-8".into(),
    })
}

/// The bytes of the regular file at `path` (symlinks followed), if it is at most `limit` bytes.
pub fn read_bytes(path: &Path, limit: u64) -> Result<Vec<u8>> {
    let (file, len) = open(path, limit)?;
    // Read in one go when the file is as large as it says (a 460 KB index took 14 reads, each
    // moving what the last ones read).
    let mut bytes = Vec::with_capacity(len as usize + 1);
    file.take(limit + 1).read_to_end(&mut bytes).map_err(|e| fail(path, e.to_string()))?;
    if bytes.len() as u64 > limit {
        return Err(too_large(path, limit));
    }
    Ok(bytes)
}

/// The bytes of the regular file at `path` (symlinks followed), mapped rather than read, if it
/// is at most `limit` bytes: for git's index, which git maps too. Reading it copied 460 KB into
/// fresh memory at every pre-commit run of git/git, a twentieth of the run.
pub fn map(path: &Path, limit: u64) -> Result<Mapped> {
    let (file, len) = open(path, limit)?;
    if len == 0 {
        return Ok(Mapped(None));
    }
    // SAFETY: the map is private and read-only. Another process truncating the file while it
    // is mapped would make reading past its new end fault; git never does (it writes a new
    // index beside the old one and renames it over), which is why git maps the index itself.
    let map = unsafe { memmap2::Mmap::map(&file) }.map_err(|e| fail(path, e.to_string()))?;
    Ok(Mapped(Some(map)))
}

/// The regular file at `path` opened, with its length, if that is at most `limit` bytes. It is
/// looked at before opening (opening a FIFO blocks) and again after (the path may have been
/// replaced in between).
fn open(path: &Path, limit: u64) -> Result<(std::fs::File, u64)> {
    let regular = |metadata: std::fs::Metadata| match metadata.len() {
        _ if !metadata.is_file() => Err(fail(path, "not a regular file".into())),
        len if len > limit => Err(too_large(path, limit)),
        len => Ok(len),
    };
    regular(std::fs::metadata(path).map_err(|e| fail(path, e.to_string()))?)?;
    let (file, metadata) = open_regular(path).map_err(|e| fail(path, e.to_string()))?;
    Ok((file, regular(metadata)?))
}

/// The file at `path` opened for reading, with its metadata, if it is a regular file (symlinks
/// followed), else "not a regular file". What was a regular file when it was looked at may
/// have been replaced since: opening a FIFO waits for a writer, so the file is opened without
/// waiting (`O_NONBLOCK`, which changes nothing for a regular file), and what was opened is
/// checked.
pub fn open_regular(path: &Path) -> std::io::Result<(std::fs::File, std::fs::Metadata)> {
    let mut options = std::fs::OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.custom_flags(libc::O_NONBLOCK);
    }
    let file = options.open(path)?;
    match file.metadata()? {
        metadata if metadata.is_file() => Ok((file, metadata)),
        _ => Err(std::io::Error::other("not a regular file")),
    }
}

fn fail(path: &Path, message: String) -> Error {
    Error::Config { file: path.display().to_string(), message }
}

fn too_large(path: &Path, limit: u64) -> Error {
    fail(path, format!("larger than {} MiB", limit >> 20))
}

/// A mapped file (`map`); an empty one has no mapping.
pub struct Mapped(Option<memmap2::Mmap>);

impl std::ops::Deref for Mapped {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        self.0.as_deref().unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_small_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.toml");
        std::fs::write(&path, "title = \"x\"\n").unwrap();
        assert_eq!(read(&path, 100).unwrap(), "title = \"x\"\n");
    }

    #[test]
    fn refuses_a_file_over_the_limit_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("big.toml");
        std::fs::write(&path, vec![b'#'; 3 << 20]).unwrap();
        let err = read(&path, 2 << 20).unwrap_err().to_string();
        assert!(err.contains("big.toml") && err.contains("larger than 2 MiB"), "{err}");
    }

    #[test]
    fn maps_a_file_and_refuses_what_read_refuses() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("index");
        std::fs::write(&path, b"DIRC").unwrap();
        assert_eq!(&*map(&path, 100).unwrap(), b"DIRC");
        std::fs::write(&path, b"").unwrap();
        assert_eq!(&*map(&path, 100).unwrap(), b"");
        let err = map(&path.with_file_name("none"), 100).err().unwrap().to_string();
        assert!(err.contains("none"), "{err}");
        let err = map(dir.path(), 100).err().unwrap().to_string();
        assert!(err.contains("not a regular file"), "{err}");
        std::fs::write(&path, [0u8; 200]).unwrap();
        let err = map(&path, 100).err().unwrap().to_string();
        assert!(err.contains("larger than"), "{err}");
    }

    #[test]
    fn refuses_a_directory() {
        let dir = tempfile::tempdir().unwrap();
        let err = read(dir.path(), 100).unwrap_err().to_string();
        assert!(err.contains("not a regular file"), "{err}");
    }

    /// A FIFO where a regular file was: refused at once, not waited on for a writer.
    #[cfg(unix)]
    #[test]
    fn a_fifo_is_refused_without_waiting_for_a_writer() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("was-a-file");
        let made = std::process::Command::new("mkfifo").arg(&path).status().unwrap();
        assert!(made.success());
        let (sent, opened) = std::sync::mpsc::channel();
        std::thread::spawn(move || sent.send(open_regular(&path).map(drop).map_err(|e| e.to_string())));
        let opened = opened.recv_timeout(std::time::Duration::from_secs(10)).expect("the open returned");
        assert_eq!(opened, Err("not a regular file".to_string()));
    }

    #[cfg(unix)]
    #[test]
    fn refuses_a_device_without_reading_it() {
        let err = read(Path::new("/dev/zero"), 100).unwrap_err().to_string();
        assert_eq!(err, "/dev/zero: not a regular file");
    }
}
