//! The one error type of keyrot. Each variant carries the context a user needs to act on it
//! (file, rule id, object id); `Display` renders it as a single line. Whether an error stops the
//! run or only turns the exit code to 2 is decided by the caller, never here.

use std::fmt;
use std::path::PathBuf;

#[derive(Debug)]
pub enum Error {
    /// A rules or config file that cannot be read or parsed.
    Config { file: String, message: String },
    /// A rule whose regex (or path / allowlist pattern) does not compile.
    Rule { rule: String, message: String },
    /// A file on disk that cannot be read.
    Read { path: PathBuf, message: String },
    /// Anything git reports: not a repository, a missing or corrupt object, a bad revision.
    Git { context: String, message: String },
    /// Writing output or a file keyrot owns failed.
    Io { context: String, message: String },
    /// The command line asks for something that cannot be done.
    Usage(String),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Config { file, message } => write!(f, "{file}: {message}"),
            Error::Rule { rule, message } => write!(f, "rule '{rule}': {message}"),
            Error::Read { path, message } => write!(f, "cannot read {}: {message}", path.display()),
            Error::Git { context, message } => write!(f, "{context}: {message}"),
            Error::Io { context, message } => write!(f, "{context}: {message}"),
            Error::Usage(message) => write!(f, "{message}"),
        }
    }
}

impl std::error::Error for Error {}

impl Error {
    pub fn git(context: impl Into<String>, err: git2::Error) -> Self {
        Error::Git { context: context.into(), message: one_line(err.message()) }
    }

    pub fn io(context: impl Into<String>, err: std::io::Error) -> Self {
        Error::Io { context: context.into(), message: err.to_string() }
    }
}

/// Collapses a multi-line message (toml and regex errors draw carets over several lines) into
/// one line, so every error keyrot prints stays a single line.
pub fn one_line(message: &str) -> String {
    message.split_whitespace().collect::<Vec<_>>().join(" ")
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
