//! Shared helpers for the integration tests: real git repositories in temporary directories,
//! built with the git CLI under a fixed author, committer and date so commit ids are stable, and
//! a runner for the real keyrot binary that captures exit code, stdout and stderr.
#![allow(dead_code)]

pub mod packs;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// Tokens used across tests: made up, well-formed, never real.
pub const REPLICATE: &str = "r8_qk9AAUgJcHecOBLMIvJw08QiT6FBHgIVwXDg6";
pub const FAL: &str = "db47e838-3a87-4094-91f3-dcad76306282:c8ddf1549e6a1c92b93050f90f8aca83";
pub const GITHUB: &str = "ghp_a1ckGTKUDvQtiV4P3JNByrZjFHh5nLrNuEbw";
pub const GITHUB2: &str = "ghp_Zr7mQ2xLp9WvK4nT8bYc3HdF6gJ1sA5eU0oR";
pub const GITHUB3: &str = "ghp_Mn3bV8cX1zL5kJ7hG2fD9sA4pO6iU0yT3rEw";

/// An empty global git config for every git and keyrot the tests run. Not /dev/null: a program
/// that writes its global config atomically would replace /dev/null with a regular file.
pub const NO_GLOBAL_CONFIG: &str = concat!(env!("CARGO_TARGET_TMPDIR"), "/no-global-gitconfig");

pub struct Repo {
    pub dir: tempfile::TempDir,
}

pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl From<Output> for Run {
    fn from(output: Output) -> Run {
        Run {
            code: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }
}

impl Run {
    pub fn all(&self) -> String {
        format!("{}{}", self.stdout, self.stderr)
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.stdout))
    }
}

impl Repo {
    /// A new repository with a `main` branch and no commits.
    pub fn new() -> Repo {
        let repo = Repo { dir: tempfile::tempdir().expect("temp dir") };
        repo.git(&["init", "-q", "-b", "main"]);
        repo
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn write(&self, path: &str, content: impl AsRef<[u8]>) {
        let full = self.path().join(path);
        std::fs::create_dir_all(full.parent().unwrap()).unwrap();
        std::fs::write(full, content).unwrap();
    }

    pub fn git(&self, args: &[&str]) -> String {
        git_in(self.path(), args, "2026-01-05T12:00:00Z")
    }

    /// Stages everything and commits with the given date (ISO 8601).
    pub fn commit_at(&self, message: &str, date: &str) -> String {
        git_in(self.path(), &["add", "-A"], date);
        git_in(self.path(), &["commit", "-q", "--allow-empty", "-m", message], date);
        self.git(&["rev-parse", "HEAD"]).trim().to_string()
    }

    pub fn commit(&self, message: &str) -> String {
        self.commit_at(message, "2026-01-05T12:00:00Z")
    }

    pub fn keyrot(&self, args: &[&str]) -> Run {
        keyrot_in(self.path(), args)
    }
}

pub fn git_in(dir: &Path, args: &[&str], date: &str) -> String {
    let output = git_output(dir, args, date);
    assert!(output.status.success(), "git {args:?} failed: {}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// Runs git with the fixed identity and dates, whatever its exit status.
pub fn git_output(dir: &Path, args: &[&str], date: &str) -> Output {
    Command::new("git")
        .args(args)
        .current_dir(dir)
        .env("GIT_AUTHOR_NAME", "Ada Lovelace")
        .env("GIT_AUTHOR_EMAIL", "ada@example.org")
        .env("GIT_COMMITTER_NAME", "Ada Lovelace")
        .env("GIT_COMMITTER_EMAIL", "ada@example.org")
        .env("GIT_AUTHOR_DATE", date)
        .env("GIT_COMMITTER_DATE", date)
        .env("GIT_CONFIG_GLOBAL", NO_GLOBAL_CONFIG)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env_remove("GIT_DIR")
        .env_remove("GIT_INDEX_FILE")
        .output()
        .expect("git runs")
}

/// The keyrot under test, run in `dir` with the tests' environment.
fn keyrot_command(dir: &Path, args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_keyrot"));
    command.args(args);
    with_test_env(command, dir)
}

fn with_test_env(mut command: Command, dir: &Path) -> Command {
    command
        .current_dir(dir)
        .env_remove("KEYROT_CONFIG")
        .env_remove("GIT_DIR")
        .env_remove("GIT_INDEX_FILE")
        .env("GIT_CONFIG_GLOBAL", NO_GLOBAL_CONFIG)
        .env("XDG_CACHE_HOME", cache_home())
        .env("NO_COLOR", "1");
    command
}

/// The cache directory the tests' keyrot uses (for the packs it has checked), not the user's.
fn cache_home() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join("keyrot-cache")
}

/// `keyrot_in`, its main thread's stack limited to `kilobytes` (`ulimit -s`).
pub fn keyrot_with_stack(dir: &Path, args: &[&str], kilobytes: usize) -> Run {
    let mut command = Command::new("sh");
    command
        .arg("-c")
        .arg(format!("ulimit -s {kilobytes} && exec \"$0\" \"$@\""))
        .arg(env!("CARGO_BIN_EXE_keyrot"))
        .args(args);
    with_test_env(command, dir).output().expect("keyrot runs").into()
}

pub fn keyrot_in(dir: &Path, args: &[&str]) -> Run {
    let output = keyrot_command(dir, args).output().expect("keyrot runs");
    Run::from(output)
}

/// Makes a named pipe at `path`.
pub fn mkfifo(path: &Path) {
    let status = Command::new("mkfifo").arg(path).status().expect("mkfifo runs");
    assert!(status.success());
}

/// A temporary directory that is not a git repository.
pub fn plain_dir() -> tempfile::TempDir {
    tempfile::tempdir().expect("temp dir")
}

pub fn rule_ids(run: &Run) -> Vec<String> {
    let json = run.json();
    let mut ids: Vec<String> = json["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["rule"].as_str().unwrap().to_string())
        .collect();
    ids.sort();
    ids
}

pub fn assert_not_revealed(run: &Run, secrets: &[&str]) {
    for secret in secrets {
        assert!(!run.all().contains(secret), "secret printed in full:\n{}", run.all());
    }
}

pub fn fixture(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests").join(path)
}

/// Runs keyrot like `keyrot_in`, but kills it and fails the test if it runs past `limit`.
pub fn keyrot_within(dir: &Path, args: &[&str], limit: std::time::Duration) -> Run {
    wait_within(keyrot_command(dir, args), args, dir, limit, None)
}

/// Runs keyrot like `keyrot_within`, with its own cache directory `cache` rather than the
/// one the tests share (whose file of checked packs other tests' runs rewrite meanwhile).
pub fn keyrot_within_cache(dir: &Path, args: &[&str], limit: std::time::Duration, cache: &Path) -> Run {
    let mut command = keyrot_command(dir, args);
    command.env("XDG_CACHE_HOME", cache);
    wait_within(command, args, dir, limit, None)
}

/// Runs keyrot like `keyrot_within`, with `input` on its standard input (a hook's lines).
pub fn keyrot_within_input(dir: &Path, args: &[&str], input: &str, limit: std::time::Duration) -> Run {
    wait_within(keyrot_command(dir, args), args, dir, limit, Some(input.as_bytes().to_vec()))
}

/// Runs keyrot like `keyrot_within`, its address space limited to `megabytes` (`ulimit -v`):
/// an allocation past the limit aborts it.
pub fn keyrot_within_memory(dir: &Path, args: &[&str], limit: std::time::Duration, megabytes: u64) -> Run {
    let mut command = Command::new("sh");
    command
        .arg("-c")
        .arg(format!("ulimit -v {}; exec \"$0\" \"$@\"", megabytes * 1024))
        .arg(env!("CARGO_BIN_EXE_keyrot"))
        .args(args);
    wait_within(with_test_env(command, dir), args, dir, limit, None)
}

fn wait_within(
    mut command: Command,
    args: &[&str],
    dir: &Path,
    limit: std::time::Duration,
    input: Option<Vec<u8>>,
) -> Run {
    let stdin = if input.is_some() { std::process::Stdio::piped() } else { std::process::Stdio::null() };
    let mut child = command
        .stdin(stdin)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("keyrot runs");
    if let (Some(input), Some(mut pipe)) = (input, child.stdin.take()) {
        // Written on a thread of its own: keyrot may not read it all, or not at once.
        std::thread::spawn(move || std::io::Write::write_all(&mut pipe, &input));
    }
    // Drain both pipes while waiting: a report larger than a pipe's buffer would block keyrot.
    let mut stdout = child.stdout.take().expect("piped");
    let mut stderr = child.stderr.take().expect("piped");
    let out = std::thread::spawn(move || read_all(&mut stdout));
    let err = std::thread::spawn(move || read_all(&mut stderr));
    let started = std::time::Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("keyrot can be waited for") {
            break status;
        }
        if started.elapsed() > limit {
            child.kill().ok();
            child.wait().ok();
            panic!("keyrot {args:?} in {} ran for more than {limit:?}", dir.display());
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    };
    Run::from(Output { status, stdout: out.join().unwrap(), stderr: err.join().unwrap() })
}

fn read_all(pipe: &mut impl std::io::Read) -> Vec<u8> {
    let mut bytes = Vec::new();
    pipe.read_to_end(&mut bytes).expect("a pipe reads");
    bytes
}
