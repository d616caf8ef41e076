//! keyrot: blocks commits that contain secrets, audits git history, and says which keys to
//! rotate. This file is the table of contents: parse the command line, load the rules, run the
//! command, print, and choose the exit code (0 clean, 1 findings, 2 error; an error wins). It is
//! the only place that decides an exit code.

mod baseline;
mod builtin;
mod cli;
mod config;
mod decode;
mod error;
mod exposure;
mod findings;
mod grams;
mod hooks;
mod ignores;
mod inner;
mod install;
mod lanes;
mod lazy;
mod ledger;
mod lineage;
mod matcher;
mod pathset;
mod pins;
mod pipeline;
mod precheck;
mod progress;
#[cfg(test)]
mod random;
mod reach;
mod report;
mod rotation;
mod rulecheck;
mod rules;
mod scan;
mod secret;
mod source;
mod syntax;
mod text;
mod textfile;
mod time;
mod treecode;
mod utf16;
mod verify;

use clap::Parser;
use cli::{Cli, ColorChoice, Command, ConfigCommand, RulesCommand, ScanArgs};
use error::{Error, Result};
use matcher::{Matcher, Workload};
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

const CLEAN: u8 = 0;
const FOUND: u8 = 1;
const FAILED: u8 = 2;

fn main() -> ExitCode {
    let cli = Cli::parse();
    // keyrot only reads objects: like git itself, it does not re-hash every object it inflates
    // (a corrupt object still fails to inflate or parse). This saves a tenth of a pre-commit run.
    git2::opts::strict_hash_verification(false);
    // libgit2 would keep every tree it reads, up to 256 MB: a history walk reads each tree once
    // or twice, so the cache costs more memory than the re-reads it saves (about 8% of a walk).
    // It would also map whole pack files into memory, so peak memory would grow with the
    // repository's size. Eight windows of 4 MB: the commit walk reads trees from all over the
    // pack, and two windows of 28 MB were unmapped and mapped again so often that unmapping
    // (and the other cores' TLB flushes it forces) took a tenth of a history scan. On cargo's
    // history: 28 MB windows in 56 MB 3.45 s, 4 MB windows in 32 MB 3.13 s at the same peak
    // memory (133 MB; 64 MB of 32 MB windows had put it at 160 MB); git/git 23.2 -> 22.0 s.
    git2::opts::enable_caching(false);
    // SAFETY: these set libgit2 globals, here before any thread exists.
    unsafe {
        git2::opts::set_mwindow_size(4 << 20).expect("a valid libgit2 option");
        git2::opts::set_mwindow_mapped_limit(32 << 20).expect("a valid libgit2 option");
    }
    set_color(cli.color);
    // A panic is a bug, but a hook must still fail closed: one line, and exit 2, not 101.
    std::panic::set_hook(Box::new(|info| {
        if !source::panic_is_caught() {
            eprintln!(
                "keyrot: error: internal error (please report it): {}",
                report::escape(&info.to_string())
            );
        }
    }));
    match std::panic::catch_unwind(|| run(&cli)) {
        Ok(Ok(code)) => ExitCode::from(code),
        Ok(Err(error)) => {
            eprintln!("keyrot: error: {error}");
            ExitCode::from(FAILED)
        }
        Err(_) => ExitCode::from(FAILED),
    }
}

fn run(cli: &Cli) -> Result<u8> {
    match &cli.command {
        Command::Scan(args) => scan_command(cli, args),
        Command::Rules(args) => match &args.command {
            None | Some(RulesCommand::List) => list_rules(cli, args.reach),
            Some(RulesCommand::Check { file }) => check_rules(file),
        },
        Command::Config { command: ConfigCommand::Show } => show_config(cli),
        Command::Baseline { prune, output } => baseline_command(cli, *prune, output.as_deref()),
        Command::Install { hook } => hook_command(*hook, install::install),
        Command::Uninstall { hook } => hook_command(*hook, install::uninstall),
        Command::Rotated(args) => ledger::rotated(cli, args),
        Command::Verify { env, options } => ledger::verify_env(cli, env, options),
    }
}

fn set_color(choice: ColorChoice) {
    let on = match choice {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none(),
    };
    colored::control::set_override(on);
}

/// The rules for this run, compiled. User-supplied rules compile up front so that a bad regex
/// fails the run even if it would never have been reached.
fn load_matcher(cli: &Cli, root: &Path, workload: Workload) -> Result<Matcher> {
    let config = config::resolve(cli.config.as_deref(), root)?;
    for field in &config.unsupported {
        eprintln!("keyrot: warning: unsupported and ignored: {field}");
    }
    let mut rules = rules::Rules::build(&config)?;
    if config.origins.len() > usize::from(config.includes_builtin) {
        rules.validate()?;
    }
    rules.rules.retain(|rule| rule.meta.confidence >= cli.confidence);
    Ok(Matcher::new(rules, workload))
}

/// The repository around the current directory, opened once per run, and the directory where
/// keyrot looks for its config, baseline and ignore files: the repository's top level, or the
/// current directory outside a repository.
struct Project {
    repo: Result<git2::Repository>,
    root: PathBuf,
}

impl Project {
    fn open() -> Project {
        let repo = scan::open_repo();
        let root =
            repo.as_ref().ok().and_then(|r| r.workdir().map(Path::to_path_buf)).unwrap_or_else(|| ".".into());
        Project { repo, root }
    }

    fn repo(&self) -> Result<&git2::Repository> {
        self.repo.as_ref().map_err(|e| Error::Usage(e.to_string()))
    }
}

fn scan_command(cli: &Cli, args: &ScanArgs) -> Result<u8> {
    let project = Project::open();
    let (target, scope, matcher) = prepare(cli, args, &project)?;
    let progress = progress::Progress::new(args.quiet || matches!(target, scan::Target::Staged(_)));
    let repo = project.repo.as_ref().ok();
    let outcome =
        scan::run(&matcher, &target, &scan_options(args.max_file_size, args.threads), &progress, repo)?;
    let rules = matcher.rules.rules.iter().map(|r| r.meta.clone()).collect();
    // The process is about to exit: freeing a thousand compiled rules would only cost a
    // pre-commit run time.
    std::mem::forget(matcher);
    let context = pipeline::Context { repo, root: &project.root, rules, now: now() };
    let done = pipeline::judge(outcome, scope, args, &context)?;
    done.print(args)?;
    let code = if !done.errors.is_empty() {
        FAILED
    } else if done.report.reported_count() > 0 || done.ledger_failed() {
        FOUND
    } else {
        CLEAN
    };
    // Nor is closing the repository's packs and maps worth the time.
    std::mem::forget(project);
    Ok(code)
}

/// What to scan, and the rules to scan it with.
fn prepare(cli: &Cli, args: &ScanArgs, project: &Project) -> Result<(scan::Target, report::Scope, Matcher)> {
    if args.staged {
        let entries = source::staged::entries(project.repo()?, &args.paths)?;
        let matcher = load_matcher(cli, &project.root, Workload::Small)?;
        return Ok((scan::Target::Staged(entries), report::Scope::Staged, matcher));
    }
    if args.commit_msg || args.pre_push || args.pre_receive {
        let (target, scope) = hook_target(args, project)?;
        return Ok((target, scope, load_matcher(cli, &project.root, Workload::Small)?));
    }
    let (target, scope) = scan_target(args)?;
    Ok((target, scope, load_matcher(cli, &project.root, Workload::Large)?))
}

/// What a commit-msg, pre-push or pre-receive hook scans: the message file, or the commits a
/// push sends or brings (git writes which on stdin). A push that only deletes refs scans nothing.
fn hook_target(args: &ScanArgs, project: &Project) -> Result<(scan::Target, report::Scope)> {
    let words: Vec<String> = args.paths.iter().map(|p| p.to_string_lossy().into_owned()).collect();
    if args.commit_msg {
        let [file] = args.paths.as_slice() else {
            return Err(Error::Usage("--commit-msg takes one file: the commit message git passes".into()));
        };
        let bytes = hooks::commit_message(project.repo.as_ref().ok(), file)?;
        let target = scan::Target::Text { path: source::COMMIT_MESSAGE.into(), bytes };
        return Ok((target, report::Scope::Message));
    }
    if args.pre_receive && !words.is_empty() {
        return Err(Error::Usage("--pre-receive takes no arguments: git writes its input on stdin".into()));
    }
    if args.pre_push && words.len() > 2 {
        return Err(Error::Usage("--pre-push takes the remote's name and URL, as git passes them".into()));
    }
    let repo = project.repo()?;
    let stdin = std::io::stdin();
    let framework = std::env::var_os("PRE_COMMIT_FROM_REF").is_some()
        || std::env::var_os("PRE_COMMIT_LOCAL_BRANCH").is_some();
    if stdin.is_terminal() && !framework {
        return Err(Error::Usage("--pre-push and --pre-receive read git's hook input on stdin".into()));
    }
    let mut input = stdin.lock();
    let (pushed, scope) = if args.pre_push {
        let pushed = hooks::push(repo, &words, &mut input)?;
        let scope = report::Scope::Push(pushed.name.clone());
        (pushed, scope)
    } else {
        let pushed = hooks::receive(repo, &mut input)?;
        let scope = report::Scope::Receive(pushed.name.clone());
        (pushed, scope)
    };
    Ok((scan::Target::History(pushed.walk), scope))
}

fn scan_options(max_file_mb: u64, threads: Option<u16>) -> scan::Options {
    scan::Options {
        limits: source::Limits { max_file_bytes: max_file_mb.saturating_mul(1 << 20) },
        threads: threads.map(usize::from),
    }
}

/// `keyrot baseline`: accepts what a history scan (a scan of the files, outside git or before
/// the first commit) finds today. Nothing is written if any part of the scan failed: a baseline
/// must not hide what was not read.
fn baseline_command(cli: &Cli, prune: bool, output: Option<&Path>) -> Result<u8> {
    let project = Project::open();
    // Resolved now: a file scan runs from the project root (see `baseline_target`).
    let output = output.map(std::path::absolute).transpose().map_err(|e| Error::io("--output", e))?;
    let matcher = load_matcher(cli, &project.root, Workload::Large)?;
    let root = project.root.clone();
    let repo = project.repo.as_ref().ok();
    let target = baseline_target(&project)?;
    let options = scan_options(cli::DEFAULT_MAX_FILE_MB, None);
    let outcome = scan::run(&matcher, &target, &options, &progress::Progress::new(false), repo)?;
    if !outcome.errors.is_empty() {
        for error in &outcome.errors {
            eprintln!("keyrot: error: {}", report::escape(&error.to_string()));
        }
        eprintln!("keyrot: error: the baseline was not written because the scan was incomplete");
        return Ok(FAILED);
    }
    let mut findings = outcome.findings;
    ignores::Ignore::load(&root)?.apply(&mut findings);
    let path = output.unwrap_or_else(|| root.join(baseline::FILE_NAME));
    let old = baseline::Baseline::load_if_present(&path)?;
    let new = old.updated(&findings, prune);
    new.write(&path)?;
    let matched: Vec<_> = findings.iter().filter_map(|f| old.entry_for(f)).collect();
    let added = findings.len() - matched.len();
    let dropped = (old.findings.len() + added).saturating_sub(new.findings.len());
    let upgraded = matched.iter().filter(|e| secret::Fingerprint::is_legacy(&e.fingerprint)).count();
    let upgraded = match upgraded {
        0 => String::new(),
        n => format!(", {n} rewritten with the new fingerprint"),
    };
    println!(
        "keyrot: wrote {}: {} accepted secrets ({added} new, {dropped} dropped{upgraded}). Review it, then commit it.",
        path.display(),
        new.findings.len()
    );
    Ok(CLEAN)
}

/// What `keyrot baseline` scans: the history of a repository; the files of its work tree when
/// nothing is committed yet; the current directory when it is genuinely not inside a repository.
/// A repository that exists but cannot be read is an error, never a reason to scan something
/// else. A file scan runs from the project root, so that paths are relative to it.
fn baseline_target(project: &Project) -> Result<scan::Target> {
    let files = |root: &Path| -> Result<scan::Target> {
        std::env::set_current_dir(root)
            .map_err(|e| Error::io(format!("cannot enter {}", root.display()), e))?;
        Ok(scan::Target::Dir(vec![PathBuf::from(".")], source::dir::IgnoreFiles::Respect))
    };
    let repo = match &project.repo {
        Ok(repo) => repo,
        // `open_repo` says "not a repository" as a usage error; any other failure is git's.
        Err(Error::Usage(_)) => {
            return match unreadable_repository() {
                Some(error) => Err(error),
                None => files(&project.root),
            }
        }
        Err(e) => return Err(Error::Usage(e.to_string())),
    };
    let committed = match repo.head() {
        Ok(_) => true,
        Err(e) if e.code() == git2::ErrorCode::UnbornBranch => {
            let mut refs = repo.references().map_err(|e| Error::git("cannot list references", e))?;
            refs.next().is_some()
        }
        Err(e) => return Err(Error::git("cannot resolve HEAD", e)),
    };
    if committed {
        return Ok(scan::Target::History(source::history::Walk::All));
    }
    match repo.workdir() {
        Some(workdir) => files(workdir),
        None => Err(Error::Usage("the repository has no commits and no work tree: nothing to accept".into())),
    }
}

/// Outside any repository git can open: the `.git` (or `GIT_DIR`) that says a repository should
/// be here, as an error, or None when the directory is genuinely not in a repository.
fn unreadable_repository() -> Option<Error> {
    if let Some(dir) = std::env::var_os("GIT_DIR") {
        return Some(Error::Usage(format!("GIT_DIR={} is not a git repository", Path::new(&dir).display())));
    }
    let cwd = std::env::current_dir().ok()?;
    let marker = cwd.ancestors().map(|dir| dir.join(".git")).find(|git| git.symlink_metadata().is_ok())?;
    Some(Error::Usage(format!("{} is not a git repository keyrot can open", marker.display())))
}

/// `keyrot install` or `keyrot uninstall`: `action` changes the hook and says what it did.
fn hook_command(
    kind: cli::HookKind,
    action: fn(&git2::Repository, cli::HookKind) -> Result<String>,
) -> Result<u8> {
    let project = Project::open();
    print(&action(project.repo()?, kind)?)?;
    Ok(CLEAN)
}

/// Now, in seconds since the epoch; `SOURCE_DATE_EPOCH` overrides it for reproducible output.
fn now() -> i64 {
    std::env::var("SOURCE_DATE_EPOCH").ok().and_then(|s| s.parse().ok()).unwrap_or_else(|| {
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64)
    })
}

fn scan_target(args: &ScanArgs) -> Result<(scan::Target, report::Scope)> {
    use scan::Target;
    use source::history::Walk;
    let range = match (&args.range, &args.since) {
        (Some(range), _) => Some(range.clone()),
        (None, Some(since)) => Some(format!("{since}..HEAD")),
        (None, None) => None,
    };
    if (args.history || range.is_some()) && !args.paths.is_empty() {
        return Err(Error::Usage("paths cannot be combined with --history or --range".into()));
    }
    if let Some(range) = range {
        if !range.contains("..") {
            return Err(Error::Usage(format!("--range takes A..B, not '{range}'")));
        }
        return Ok((Target::History(Walk::Range(range.clone())), report::Scope::Range(range)));
    }
    if args.history {
        return Ok((Target::History(Walk::All), report::Scope::History));
    }
    let paths = if args.paths.is_empty() { vec![PathBuf::from(".")] } else { args.paths.clone() };
    let ignore_files =
        if args.no_ignore { source::dir::IgnoreFiles::Disregard } else { source::dir::IgnoreFiles::Respect };
    Ok((Target::Dir(paths, ignore_files), report::Scope::Files))
}

fn show_config(cli: &Cli) -> Result<u8> {
    let config = config::resolve(cli.config.as_deref(), &Project::open().root)?;
    let rules = rules::Rules::build(&config)?;
    rules.validate()?;
    let mut text = String::new();
    if let Some(title) = &config.title {
        text.push_str(&format!("title:      {title}\n"));
    }
    text.push_str(&format!("from:       {}\n", config.origins.join(" + ")));
    text.push_str(&format!("rules:      {}\n", rules.rules.len()));
    text.push_str(&format!("allowlists: {} global\n", rules.global.len()));
    for field in &config.unsupported {
        text.push_str(&format!("unsupported: {field}\n"));
    }
    print(&text)?;
    Ok(CLEAN)
}

fn list_rules(cli: &Cli, show_reach: bool) -> Result<u8> {
    let matcher = load_matcher(cli, &Project::open().root, Workload::Small)?;
    let mut text = String::new();
    for rule in &matcher.rules.rules {
        // A repository's .keyrot.toml writes these: no terminal escapes reach the screen.
        let meta = &rule.meta;
        text.push_str(&format!(
            "{:<40} {:<20} {}",
            report::escape(&meta.id),
            meta.provider.as_deref().map_or_else(|| "-".into(), report::escape),
            report::escape(&meta.description)
        ));
        if let (true, Some(regex)) = (show_reach, &rule.regex) {
            let mut runs = reach::explain(regex.source(), &rule.keywords, rule.near);
            let whole = reach::of(regex.source(), &rule.keywords, rule.near).is_none();
            if let Some(part) = inner::explain(regex.source()).filter(|_| whole) {
                runs = format!("{part}, else {runs}");
            }
            if let Some(pins) = pins::of(regex.source()).filter(|_| whole) {
                runs = format!("where {pins}, else {runs}");
            }
            text.push_str(&format!("\n    regex runs {runs}"));
        }
        text.push('\n');
    }
    print(&text)?;
    Ok(CLEAN)
}

fn check_rules(file: &Path) -> Result<u8> {
    let config = config::load_file(file, config::DefaultBase::Extend)?;
    let own: std::collections::HashSet<String> = {
        let text = std::fs::read_to_string(file).map_err(|e| Error::io(file.display().to_string(), e))?;
        config::parse(&text, &file.display().to_string())?
            .rules
            .into_iter()
            .map(|r| r.id.into_owned())
            .collect()
    };
    let rules = rules::Rules::build(&config)?;
    rules.validate()?;
    let matcher = Matcher::new(rules, Workload::Small);
    let failures = rulecheck::check(&matcher, &|rule| own.contains(rule.meta.id.as_ref()));
    for failure in &failures {
        eprintln!("{}: rule '{}': {}", file.display(), failure.rule, failure.message);
    }
    let examples: usize = matcher
        .rules
        .rules
        .iter()
        .filter(|r| own.contains(r.meta.id.as_ref()))
        .map(|r| r.examples.len() + r.negative_examples.len())
        .sum();
    if failures.is_empty() {
        println!("{}: {} rules, {examples} examples: all pass", file.display(), own.len());
        Ok(CLEAN)
    } else {
        println!("{}: {} of {examples} examples fail", file.display(), failures.len());
        Ok(FOUND)
    }
}

/// Writes to stdout; a closed pipe (`keyrot … | head`) is not an error worth a trace.
fn print(text: &str) -> Result<()> {
    write_out(|out| out.write_all(text.as_bytes()))
}

/// Runs a writer on buffered stdout, as `print` does for text already made.
fn write_out(write: impl FnOnce(&mut dyn Write) -> std::io::Result<()>) -> Result<()> {
    let mut stdout = std::io::BufWriter::new(std::io::stdout().lock());
    match write(&mut stdout).and_then(|()| stdout.flush()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(Error::io("cannot write the report", e)),
        _ => Ok(()),
    }
}
