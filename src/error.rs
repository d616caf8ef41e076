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
            // A repository's own rules file names the rule: no terminal escapes from it.
            Error::Rule { rule, message } => write!(f, "rule '{}': {message}", crate::report::escape(rule)),
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

/// Longer backquoted names than this are shortened: no field of the schema comes close.
const NAME_SHOWN: usize = 24;
/// How much of a double-quoted value stays: enough to recognise it, too little to use it.
const VALUE_SHOWN: usize = 4;

/// A parser's message with the values it quotes shortened. A misconfigured file may hold a
/// secret where something else was expected, and `invalid type: string "ghp_…"` must not print
/// it: double-quoted values (serde's) keep their first characters, and backquoted names (fields,
/// keys) stay whole unless longer than any real field name.
pub fn without_values(message: &str) -> String {
    let mut out = String::with_capacity(message.len());
    let mut chars = message.chars();
    while let Some(c) = chars.next() {
        out.push(c);
        let (shown, escapes) = match c {
            '"' => (VALUE_SHOWN, true),
            '`' => (NAME_SHOWN, false),
            _ => continue,
        };
        let mut quoted = String::new();
        while let Some(q) = chars.next() {
            match q {
                '\\' if escapes => quoted.extend(std::iter::once(q).chain(chars.next())),
                _ if q == c => break,
                _ => quoted.push(q),
            }
        }
        if quoted.chars().count() > shown {
            out.extend(quoted.chars().take(VALUE_SHOWN));
            out.push('…');
        } else {
            out.push_str(&quoted);
        }
        out.push(c);
    }
    out
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::without_values;

    #[test]
    fn quoted_values_are_shortened_and_short_names_kept() {
        let message = r#"invalid type: string "ghp_a1ckGTKUDvQtiV4P3JNByrZjFHh5nLrNuEbw", expected usize"#;
        assert_eq!(without_values(message), r#"invalid type: string "ghp_…", expected usize"#);
        assert_eq!(
            without_values("unknown field `regexx`, expected `id`"),
            "unknown field `regexx`, expected `id`"
        );
        assert_eq!(
            without_values("unknown field `ghp_a1ckGTKUDvQtiV4P3JNByrZjFHh5nLrNuEbw`"),
            "unknown field `ghp_…`"
        );
        assert_eq!(without_values(r#"string "a\"bcdef" at line 2"#), r#"string "a\"b…" at line 2"#);
        assert_eq!(without_values(r#"string "abc""#), r#"string "abc""#);
        assert_eq!(without_values(r#"unterminated "secretvalue"#), r#"unterminated "secr…""#);
    }
}
