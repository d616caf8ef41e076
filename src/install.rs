//! `keyrot install` / `keyrot uninstall`: keyrot as the repository's native pre-commit hook, in
//! the hooks directory git actually uses (`core.hooksPath`, else the repository's `hooks`). An
//! existing hook is never overwritten: it is moved aside and keyrot's hook runs it first, so it
//! keeps working; `uninstall` puts it back. Every change is reported to the user.

use crate::error::{Error, Result};
use git2::Repository;
use std::path::{Path, PathBuf};

const MARKER: &str = "# installed by keyrot";
const HOOK: &str = "pre-commit";
const CHAINED: &str = "pre-commit.keyrot-chained";

pub fn install(repo: &Repository) -> Result<String> {
    let dir = hooks_dir(repo)?;
    let hook = dir.join(HOOK);
    let chained = dir.join(CHAINED);
    std::fs::create_dir_all(&dir).map_err(|e| Error::io(format!("cannot create {}", dir.display()), e))?;
    let mut message = String::new();
    if hook.exists() && !is_ours(&hook) {
        if chained.exists() {
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
    let was_ours = hook.exists();
    write_executable(&hook, &script())?;
    let verb = if was_ours { "updated" } else { "installed" };
    message.push_str(&format!(
        "keyrot: {verb} {} (runs `keyrot scan --staged` before each commit; undo with `keyrot uninstall`)\n",
        hook.display()
    ));
    Ok(message)
}

pub fn uninstall(repo: &Repository) -> Result<String> {
    let dir = hooks_dir(repo)?;
    let hook = dir.join(HOOK);
    let chained = dir.join(CHAINED);
    if !hook.exists() || !is_ours(&hook) {
        return Err(Error::Usage(format!("{} is not keyrot's hook: nothing to uninstall", hook.display())));
    }
    std::fs::remove_file(&hook).map_err(|e| Error::io(format!("cannot remove {}", hook.display()), e))?;
    let mut message = format!("keyrot: removed {}\n", hook.display());
    if chained.exists() {
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

fn is_ours(hook: &Path) -> bool {
    std::fs::read_to_string(hook).is_ok_and(|text| text.contains(MARKER))
}

/// The hook: runs the hook it replaced (if any), then keyrot on what is staged.
fn script() -> String {
    let exe = std::env::current_exe().map(|p| p.display().to_string()).unwrap_or_else(|_| "keyrot".into());
    format!(
        r#"#!/bin/sh
{MARKER}: blocks commits that contain secrets. `keyrot uninstall` removes it.
chained="$(dirname "$0")/{CHAINED}"
if [ -x "$chained" ]; then
  "$chained" "$@" || exit $?
fi
keyrot='{exe}'
[ -x "$keyrot" ] || keyrot=keyrot
exec "$keyrot" scan --staged
"#
    )
}

fn write_executable(path: &Path, text: &str) -> Result<()> {
    std::fs::write(path, text).map_err(|e| Error::io(format!("cannot write {}", path.display()), e))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755))
            .map_err(|e| Error::io(format!("cannot make {} executable", path.display()), e))?;
    }
    Ok(())
}
