//! The command line: every subcommand, flag and default, and nothing else. `main.rs` turns these
//! into work; clap prints help and usage errors (exit 2).

use crate::rules::Confidence;
use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

/// Content larger than this many megabytes is skipped with a warning.
pub const DEFAULT_MAX_FILE_MB: u64 = 50;

/// The most worker threads `--threads` accepts: more only costs memory and start-up time.
pub const MAX_THREADS: i64 = 256;

#[derive(Parser, Debug)]
#[command(
    name = "keyrot",
    version,
    about = "Blocks commits that contain secrets, audits git history, and tells you which keys to rotate.",
    after_help = "Exit codes: 0 no findings, 1 findings, 2 error (an error wins over findings)."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,

    /// Rules file to use (default: .keyrot.toml or .gitleaks.toml at the repository root, then the built-in rules)
    #[arg(long, short = 'c', global = true, value_name = "FILE", env = "KEYROT_CONFIG")]
    pub config: Option<PathBuf>,

    /// Use only rules at least this sure of their matches: high (a provider's prefixed format),
    /// medium (a key known by a provider's name nearby), low (a generic assignment)
    #[arg(long, global = true, value_enum, default_value_t = Confidence::Low, value_name = "LEVEL")]
    pub confidence: Confidence,

    /// When to color human output
    #[arg(long, global = true, value_enum, default_value_t = ColorChoice::Auto)]
    pub color: ColorChoice,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Scan staged changes, files on disk, or git history for secrets
    Scan(ScanArgs),
    /// List the rules in use, or check a rules file
    Rules(RulesArgs),
    /// Show where the configuration in effect comes from
    Config {
        #[command(subcommand)]
        command: ConfigCommand,
    },
    /// Accept the secrets found today: write their fingerprints to .keyrot-baseline.json
    Baseline {
        /// Drop entries that are no longer found
        #[arg(long)]
        prune: bool,
        /// Where to write (default: .keyrot-baseline.json at the repository root)
        #[arg(long, value_name = "FILE")]
        output: Option<PathBuf>,
    },
    /// Install keyrot as one of this repository's git hooks (an existing hook keeps running)
    Install {
        /// Which hook: pre-commit (staged changes), commit-msg (the message), pre-push (the
        /// commits a push sends) or pre-receive (on a server, the commits it receives)
        #[arg(long, value_enum, default_value_t = HookKind::PreCommit)]
        hook: HookKind,
    },
    /// Remove one of keyrot's hooks and restore the hook it replaced
    Uninstall {
        /// Which hook to remove
        #[arg(long, value_enum, default_value_t = HookKind::PreCommit)]
        hook: HookKind,
    },
    /// Record in the rotation ledger (.keyrot-baseline.json) that a key was rotated
    Rotated(RotatedArgs),
    /// Check the keys in a .env file with their providers: one line per key, live, dead or unknown
    Verify {
        /// The .env file (only its keys are checked: no history, no report of the file itself)
        #[arg(long, value_name = "FILE")]
        env: PathBuf,
        #[command(flatten)]
        options: VerifyOptions,
    },
}

/// How keys are checked with their providers (`--verify`, `keyrot verify`).
#[derive(Args, Debug, Clone)]
pub struct VerifyOptions {
    /// Send PROVIDER's check to another base URL (a self-hosted GitLab, GitHub Enterprise, a
    /// mock); PROVIDER as `keyrot rules` names it, any case; https, or http on loopback only.
    /// An endpoint named here may be a private or loopback address. Repeatable.
    #[arg(long, value_name = "PROVIDER=URL")]
    pub verify_endpoint: Vec<String>,

    /// Time limit of one check, in seconds
    #[arg(long, value_name = "SECONDS", default_value_t = crate::verify::DEFAULT_TIMEOUT_SECS)]
    pub verify_timeout: f64,
}

#[derive(Args, Debug)]
pub struct RotatedArgs {
    /// The finding's fingerprint (`v2:…`, the `id` line of a report)
    pub fingerprint: String,

    /// Why, or where: a ticket, a change
    #[arg(long, value_name = "TEXT")]
    pub note: Option<String>,

    /// Also ask the provider whether the old key still works, and record the answer
    #[arg(long)]
    pub verify: bool,

    #[command(flatten)]
    pub options: VerifyOptions,

    /// Baseline file holding the ledger (default: .keyrot-baseline.json at the repository root)
    #[arg(long, value_name = "FILE")]
    pub baseline: Option<PathBuf>,
}

/// The git hooks keyrot can be installed as.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum HookKind {
    PreCommit,
    CommitMsg,
    PrePush,
    PreReceive,
}

#[derive(Subcommand, Debug)]
pub enum ConfigCommand {
    /// Print the files the rules come from and how many rules are in use
    Show,
}

#[derive(Args, Debug)]
pub struct ScanArgs {
    /// Scan what the next commit will contain (the index), for a pre-commit hook
    #[arg(long, conflicts_with_all = ["history", "range", "since", "no_ignore"])]
    pub staged: bool,

    /// Scan the commit message in the file named after `--`, for a commit-msg hook
    #[arg(long, conflicts_with_all = ["staged", "history", "range", "since", "no_ignore", "pre_push", "pre_receive"])]
    pub commit_msg: bool,

    /// Scan the commits a push sends, from git's pre-push input on stdin (the remote's name and
    /// URL after `--`), or the pre-commit framework's PRE_COMMIT_FROM_REF..PRE_COMMIT_TO_REF
    #[arg(long, conflicts_with_all = ["staged", "history", "range", "since", "no_ignore", "pre_receive"])]
    pub pre_push: bool,

    /// On a server: scan the commits a push brings, from git's pre-receive input on stdin
    #[arg(long, conflicts_with_all = ["staged", "history", "range", "since", "no_ignore"])]
    pub pre_receive: bool,

    /// Scan every commit reachable from any ref, each file version once
    #[arg(long, conflicts_with_all = ["range", "since"])]
    pub history: bool,

    /// Scan only what the commits in A..B introduced (for CI on a pull request)
    #[arg(long, value_name = "A..B", conflicts_with = "since")]
    pub range: Option<String>,

    /// Same as --range REF..HEAD
    #[arg(long, value_name = "REF")]
    pub since: Option<String>,

    /// Files or directories to scan (default: the current directory); with --staged, the
    /// paths whose staged version to scan; with --commit-msg, the message file; with
    /// --pre-push, the remote's name and URL
    pub paths: Vec<PathBuf>,

    /// Output format
    #[arg(long, short = 'f', value_enum, default_value_t = Format::Human)]
    pub format: Format,

    /// Print secrets in full instead of masked
    #[arg(long)]
    pub reveal: bool,

    /// Also scan files that .gitignore and other ignore files exclude
    #[arg(long)]
    pub no_ignore: bool,

    /// Skip content larger than this many megabytes (path rules still apply)
    #[arg(long, value_name = "MB", default_value_t = DEFAULT_MAX_FILE_MB)]
    pub max_file_size: u64,

    /// Worker threads, 1 to 256 (default: the number of cores)
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..=MAX_THREADS))]
    pub threads: Option<u16>,

    /// No progress bar and no warnings on stderr (errors are still printed)
    #[arg(long, short = 'q')]
    pub quiet: bool,

    /// Baseline of accepted secrets (default: .keyrot-baseline.json at the repository root)
    #[arg(long, value_name = "FILE", conflicts_with = "no_baseline")]
    pub baseline: Option<PathBuf>,

    /// Report every secret, even those in the baseline
    #[arg(long)]
    pub no_baseline: bool,

    /// List .keyrotignore / .gitleaksignore entries that matched nothing in this scan
    #[arg(long)]
    pub report_unused_ignores: bool,

    /// Ask each key's provider whether the key still works (network; never without this flag)
    #[arg(long)]
    pub verify: bool,

    #[command(flatten)]
    pub verify_options: VerifyOptions,

    /// Fail (exit 1) when a pushed secret has no entry in the rotation ledger
    #[arg(long)]
    pub require_rotated: bool,
}

#[derive(Args, Debug)]
pub struct RulesArgs {
    #[command(subcommand)]
    pub command: Option<RulesCommand>,

    /// Also say whether each rule's regex runs only near its keywords in history and tree
    /// scans (and why not, when it runs on the whole text)
    #[arg(long)]
    pub reach: bool,
}

#[derive(Subcommand, Debug)]
pub enum RulesCommand {
    /// List the rules in use: id, provider, description
    List,
    /// Check a rules file: it parses, its regexes compile, its examples match and its
    /// negative examples do not
    Check {
        /// The rules file (a .keyrot.toml, .gitleaks.toml or rules.toml)
        file: PathBuf,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Human,
    Json,
    Sarif,
    /// The rotation plan as a Markdown checklist
    Checklist,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn threads(value: &str) -> Result<Option<u16>, clap::Error> {
        let cli = Cli::try_parse_from(["keyrot", "scan", "--threads", value])?;
        match cli.command {
            Command::Scan(args) => Ok(args.threads),
            _ => unreachable!("parsed a scan"),
        }
    }

    #[test]
    fn threads_are_bounded() {
        assert_eq!(threads("1").unwrap(), Some(1));
        assert_eq!(threads("256").unwrap(), Some(256));
        for bad in ["0", "257", "100000", "18446744073709551615"] {
            let error = threads(bad).unwrap_err();
            assert_eq!(error.kind(), clap::error::ErrorKind::ValueValidation, "{bad}");
        }
    }
}
