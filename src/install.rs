//! `keyrot install` / `keyrot uninstall [--hook KIND]`: keyrot as one of the repository's native
//! hooks (pre-commit, commit-msg, pre-push, pre-receive), in the hooks directory git actually
//! uses (`core.hooksPath`, else the repository's `hooks`). An existing hook is never overwritten:
//! it is moved aside to `<hook>.keyrot-chained` (a symbolic link is moved as a link, never
//! written through) and keyrot's hook runs it first, with the same arguments and input, so it
//! keeps working; `uninstall` puts it back. keyrot's hook ends with a checksum of itself: one the
//! user has edited is theirs, and neither command touches it. Every change is reported.

use crate::cli::HookKind;
use crate::error::{Error, Result};
use git2::Repository;
use sha2::{Digest, Sha256};
use std::io::Write;
use std::path::{Path, PathBuf};

const MARKER: &str = "# installed by keyrot";
const CHECKSUM: &str = "# keyrot hook checksum: ";

/// How one kind of hook is written and described.
struct Spec {
    /// The hook's file name, as git looks it up.
    name: &'static str,
    /// What it does, for the script's header line.
    purpose: &'static str,
    /// What it runs, for the message `install` prints.
    runs: &'static str,
    /// keyrot's arguments; everything git passes comes after `--`, quoted.
    command: &'static str,
    /// Whether git writes the hook's input on stdin (which the chained hook needs too).
    reads_stdin: bool,
}

fn spec(kind: HookKind) -> Spec {
    match kind {
        HookKind::PreCommit => Spec {
            name: "pre-commit",
            purpose: "blocks commits that contain secrets",
            runs: "`keyrot scan --staged` before each commit",
            command: "scan --staged --",
            reads_stdin: false,
        },
        HookKind::CommitMsg => Spec {
            name: "commit-msg",
            purpose: "blocks commit messages that contain secrets",
            runs: "`keyrot scan --commit-msg` on each commit message",
            command: r#"scan --commit-msg -- "$1""#,
            reads_stdin: false,
        },
        HookKind::PrePush => Spec {
            name: "pre-push",
            purpose: "blocks pushes of commits that contain secrets",
            runs: "`keyrot scan --pre-push` on the commits each push sends",
            command: r#"scan --pre-push -- "$@""#,
            reads_stdin: true,
        },
        HookKind::PreReceive => Spec {
            name: "pre-receive",
            purpose: "rejects pushed commits that contain secrets",
            runs: "`keyrot scan --pre-receive` on the commits each push brings",
            command: "scan --pre-receive --",
            reads_stdin: true,
        },
    }
}

fn chained_name(kind: HookKind) -> String {
    format!("{}.keyrot-chained", spec(kind).name)
}

/// `--hook KIND` as the user would type it, empty for the default.
fn hook_option(kind: HookKind) -> String {
    match kind {
        HookKind::PreCommit => String::new(),
        _ => format!(" --hook {}", spec(kind).name),
    }
}

/// What is at the hook's path.
#[derive(Debug, PartialEq, Eq)]
enum State {
    Absent,
    /// A hook keyrot wrote, unchanged since.
    Ours,
    /// A hook keyrot wrote that the user has edited.
    Edited,
    /// Anything else, including any symbolic link.
    Theirs,
}

pub fn install(repo: &Repository, kind: HookKind) -> Result<String> {
    let dir = hooks_dir(repo)?;
    let hook = dir.join(spec(kind).name);
    let chained = dir.join(chained_name(kind));
    std::fs::create_dir_all(&dir).map_err(|e| Error::io(format!("cannot create {}", dir.display()), e))?;
    let mut message = String::new();
    let state = state(&hook)?;
    match state {
        State::Edited => return Err(edited(&hook, &format!("install{}", hook_option(kind)))),
        State::Theirs => {
            if exists(&chained) {
                return Err(Error::Usage(format!(
                    "{} exists and is not keyrot's, and {} is taken too: move one of them away first",
                    hook.display(),
                    chained.display()
                )));
            }
            std::fs::rename(&hook, &chained)
                .map_err(|e| Error::io(format!("cannot move {}", hook.display()), e))?;
            message.push_str(&format!(
                "keyrot: moved your existing hook to {}; keyrot's hook runs it first, so it keeps working\n",
                chained.display()
            ));
        }
        State::Ours => std::fs::remove_file(&hook)
            .map_err(|e| Error::io(format!("cannot replace {}", hook.display()), e))?,
        State::Absent => {}
    }
    write_new_executable(&hook, &script(kind))?;
    let verb = if state == State::Ours { "updated" } else { "installed" };
    message.push_str(&format!(
        "keyrot: {verb} {} (runs {}; undo with `keyrot uninstall{}`)\n",
        hook.display(),
        spec(kind).runs,
        hook_option(kind)
    ));
    Ok(message)
}

pub fn uninstall(repo: &Repository, kind: HookKind) -> Result<String> {
    let dir = hooks_dir(repo)?;
    let hook = dir.join(spec(kind).name);
    let chained = dir.join(chained_name(kind));
    let mut message = String::new();
    match state(&hook)? {
        State::Ours => {
            std::fs::remove_file(&hook)
                .map_err(|e| Error::io(format!("cannot remove {}", hook.display()), e))?;
            message.push_str(&format!("keyrot: removed {}\n", hook.display()));
        }
        State::Edited => return Err(edited(&hook, &format!("uninstall{}", hook_option(kind)))),
        State::Absent if exists(&chained) => {}
        State::Absent | State::Theirs => {
            return Err(Error::Usage(format!(
                "{} is not keyrot's hook: nothing to uninstall",
                hook.display()
            )))
        }
    }
    if exists(&chained) {
        std::fs::rename(&chained, &hook)
            .map_err(|e| Error::io(format!("cannot restore {}", hook.display()), e))?;
        message.push_str(&format!("keyrot: restored your previous hook to {}\n", hook.display()));
    }
    Ok(message)
}

fn hooks_dir(repo: &Repository) -> Result<PathBuf> {
    let config = repo.config().map_err(|e| Error::git("cannot read the repository's config", e))?;
    match config.get_path("core.hooksPath") {
        Ok(path) if path.is_absolute() => Ok(path),
        Ok(path) => Ok(repo.workdir().unwrap_or_else(|| repo.path()).join(path)),
        Err(_) => Ok(repo.commondir().join("hooks")),
    }
}

/// Whether anything, even a dangling link, is at `path`.
fn exists(path: &Path) -> bool {
    path.symlink_metadata().is_ok()
}

fn state(hook: &Path) -> Result<State> {
    let context = || format!("cannot read {}", hook.display());
    let meta = match hook.symlink_metadata() {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(State::Absent),
        Err(e) => return Err(Error::io(context(), e)),
        Ok(meta) => meta,
    };
    if !meta.is_file() {
        return Ok(State::Theirs);
    }
    let text = std::fs::read(hook).map_err(|e| Error::io(context(), e))?;
    let text = String::from_utf8_lossy(&text);
    Ok(if !text.contains(MARKER) {
        State::Theirs
    } else if unchanged(&text) {
        State::Ours
    } else {
        State::Edited
    })
}

fn edited(hook: &Path, command: &str) -> Error {
    Error::Usage(format!(
        "{} was installed by keyrot but has been edited since, so keyrot leaves it alone: \
         undo your edits or remove the file yourself, then run `keyrot {command}` again",
        hook.display()
    ))
}

/// Whether a hook that carries keyrot's marker is exactly as keyrot wrote it: its checksum
/// line matches the rest, or it is the script keyrot wrote before hooks had a checksum.
fn unchanged(text: &str) -> bool {
    let (body, sums): (Vec<&str>, Vec<&str>) =
        text.split_inclusive('\n').partition(|l| !l.starts_with(CHECKSUM));
    match sums.as_slice() {
        [sum] => sum[CHECKSUM.len()..].trim_end() == checksum(&body.concat()),
        [] => text.lines().find_map(|l| l.strip_prefix("keyrot='")?.strip_suffix('\'')).is_some_and(|exe| {
            text == format!(
                "{}exec \"$keyrot\" scan --staged\n",
                script_body(HookKind::PreCommit, &format!("'{exe}'"))
            )
        }),
        _ => false,
    }
}

fn checksum(body: &str) -> String {
    Sha256::digest(body.as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
}

/// The hook: runs the hook it replaced (if any) with the same arguments and input, then keyrot
/// on what git hands the hook. `--` ends keyrot's options before anything git supplies.
fn script(kind: HookKind) -> String {
    let exe = std::env::current_exe().map(|p| p.display().to_string()).unwrap_or_else(|_| "keyrot".into());
    let spec = spec(kind);
    let run = if spec.reads_stdin {
        format!("printf '%s\\n' \"$input\" | \"$keyrot\" {}\n", spec.command)
    } else {
        format!("exec \"$keyrot\" {}\n", spec.command)
    };
    let body = format!("{}{run}", script_body(kind, &sh_quote(&exe)));
    let sum = checksum(&body);
    format!("{body}{CHECKSUM}{sum}\n")
}

/// Everything but the last command; `exe` is already quoted for sh. A hook that reads stdin
/// keeps it, so that the chained hook and keyrot both get git's input.
fn script_body(kind: HookKind, exe: &str) -> String {
    let spec = spec(kind);
    let (purpose, option, chained) = (spec.purpose, hook_option(kind), chained_name(kind));
    let (save, feed) =
        if spec.reads_stdin { ("input=\"$(cat)\"\n", "printf '%s\\n' \"$input\" | ") } else { ("", "") };
    format!(
        r#"#!/bin/sh
{MARKER}: {purpose}. `keyrot uninstall{option}` removes it.
{save}chained="$(dirname "$0")/{chained}"
if [ -x "$chained" ]; then
  {feed}"$chained" "$@" || exit $?
fi
keyrot={exe}
[ -x "$keyrot" ] || keyrot=keyrot
"#
    )
}

/// `text` as one sh word, whatever it holds: single quotes, each `'` written as `'\''`.
fn sh_quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', r"'\''"))
}

/// Creates `path`, which must not exist (so no link there is ever followed), executable.
fn write_new_executable(path: &Path, text: &str) -> Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o755);
    }
    options
        .open(path)
        .and_then(|mut file| file.write_all(text.as_bytes()))
        .map_err(|e| Error::io(format!("cannot write {}", path.display()), e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_script_checks_out_and_any_edit_is_seen() {
        let text = script(HookKind::PreCommit);
        assert!(unchanged(&text));
        assert!(!unchanged(&text.replace("scan --staged", "scan --staged --no-baseline")));
        assert!(!unchanged(&format!("{text}echo extra\n")));
        assert!(!unchanged(&text.replace(CHECKSUM, "# ")));
    }

    #[test]
    fn a_hook_from_before_checksums_is_still_recognised() {
        let legacy = format!(
            "{}exec \"$keyrot\" scan --staged\n",
            script_body(HookKind::PreCommit, "'/opt/keyrot/bin/keyrot'")
        );
        assert!(unchanged(&legacy));
        assert!(!unchanged(&legacy.replace("exec", "echo hi\nexec")));
    }

    #[test]
    fn keyrot_runs_with_options_ended() {
        assert!(script(HookKind::PreCommit).contains("exec \"$keyrot\" scan --staged --\n"));
        assert!(script(HookKind::CommitMsg).contains("scan --commit-msg -- \"$1\"\n"));
        assert!(script(HookKind::PrePush).contains("| \"$keyrot\" scan --pre-push -- \"$@\"\n"));
        assert!(script(HookKind::PreReceive).contains("| \"$keyrot\" scan --pre-receive --\n"));
    }

    #[test]
    fn every_kind_checks_out() {
        for kind in [HookKind::PreCommit, HookKind::CommitMsg, HookKind::PrePush, HookKind::PreReceive] {
            assert!(unchanged(&script(kind)), "{kind:?}");
        }
    }

    #[test]
    fn quotes_any_path_for_sh() {
        assert_eq!(sh_quote("/opt/it's/keyrot"), r"'/opt/it'\''s/keyrot'");
        let quoted = sh_quote("/a b/'$(touch x)'\n/keyrot");
        let output = std::process::Command::new("sh")
            .arg("-c")
            .arg(format!("printf %s {quoted}"))
            .output()
            .expect("sh runs");
        assert_eq!(String::from_utf8_lossy(&output.stdout), "/a b/'$(touch x)'\n/keyrot");
    }
}
