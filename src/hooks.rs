//! What git hands each hook, turned into what to scan. `commit-msg` gets the message file
//! (`scan --commit-msg -- FILE`); `pre-push` gets the remote on its command line and one
//! `<local ref> <local sha> <remote ref> <remote sha>` line per ref on stdin
//! (`scan --pre-push -- REMOTE URL`); `pre-receive`, on a server, gets `<old> <new> <ref>` lines
//! (`scan --pre-receive`). A push scans exactly what it sends: the commits the pushed tips reach
//! and the other side does not have, with their messages and those of pushed tags. A deletion
//! sends nothing and passes.
//!
//! Under the pre-commit framework a pre-push hook does not get git's input: the framework gives
//! the range in `PRE_COMMIT_FROM_REF` and `PRE_COMMIT_TO_REF` (or, for a branch whose history is
//! all new, only `PRE_COMMIT_LOCAL_BRANCH` and `PRE_COMMIT_REMOTE_NAME`), and that is scanned.

use crate::error::{Error, Result};
use crate::source::history::Walk;
use git2::{Oid, Repository};
use std::io::BufRead;
use std::path::Path;

/// The most a commit message file may hold.
const MESSAGE_LIMIT: u64 = 16 << 20;

/// What a push or a receive asks keyrot to scan, and how the report names it.
pub struct Pushed {
    /// No tips when the push only deletes refs: nothing is sent.
    pub walk: Walk,
    /// "origin", or the refs a server is receiving.
    pub name: String,
}

/// The message of the commit being made, as git will record it: comment lines (blanked, so that
/// line numbers stay true) and everything below the scissors line of `git commit -v` are not
/// part of it, unless `commit.cleanup` keeps them.
pub fn commit_message(repo: Option<&Repository>, file: &Path) -> Result<Vec<u8>> {
    let bytes = crate::textfile::read_bytes(file, MESSAGE_LIMIT)?;
    let config = repo.and_then(|r| r.config().ok());
    let get = |key: &str| config.as_ref().and_then(|c| c.get_string(key).ok());
    if matches!(get("commit.cleanup").as_deref(), Some("verbatim" | "whitespace")) {
        return Ok(bytes);
    }
    let comment = match get("core.commentChar").or_else(|| get("core.commentString")) {
        Some(c) if !c.is_empty() && c != "auto" => c.into_bytes(),
        _ => b"#".to_vec(),
    };
    Ok(strip_comments(&bytes, &comment))
}

fn strip_comments(message: &[u8], comment: &[u8]) -> Vec<u8> {
    let scissors = [comment, b" ------------------------ >8 ------------------------"].concat();
    let mut out = Vec::with_capacity(message.len());
    for line in message.split_inclusive(|&b| b == b'\n') {
        let text = line.strip_suffix(b"\n").unwrap_or(line);
        let text = text.strip_suffix(b"\r").unwrap_or(text);
        if text == scissors.as_slice() {
            break;
        }
        if line.starts_with(comment) {
            out.push(b'\n');
        } else {
            out.extend_from_slice(line);
        }
    }
    out
}

/// The pre-push input: `args` are the remote's name and URL as git passes them (the name is
/// the URL when the push names no remote), `input` git's lines.
pub fn push(repo: &Repository, args: &[String], input: &mut dyn BufRead) -> Result<Pushed> {
    if let Some(pushed) = framework_push(repo)? {
        return Ok(pushed);
    }
    let remote = args.first().cloned().unwrap_or_default();
    let mut tips = Vec::new();
    let mut hidden = Vec::new();
    for line in lines(input)? {
        let [local_ref, local, _remote_ref, remote_sha] = fields::<4>(&line, "pre-push")?;
        let (local, remote_sha) = (oid(local)?, oid(remote_sha)?);
        if !local.is_zero() {
            tips.push((local, local_ref.to_string()));
        }
        // The other side's tip: hidden if this repository has it (a forced push may not).
        if !remote_sha.is_zero() && repo.find_object(remote_sha, None).is_ok() {
            hidden.push(remote_sha);
        }
    }
    if !tips.is_empty() {
        hidden.extend(tracking_tips(repo, &remote)?);
    }
    let walk = Walk::Between { tips, hidden };
    let name = if remote.is_empty() { "the remote".into() } else { remote };
    Ok(Pushed { walk, name })
}

/// The pre-receive input, on the server: what each update introduces, that is what the new tips
/// reach and neither the old tips nor any existing ref does (refs are not updated yet).
pub fn receive(repo: &Repository, input: &mut dyn BufRead) -> Result<Pushed> {
    let mut tips = Vec::new();
    let mut hidden = Vec::new();
    let mut names = Vec::new();
    for line in lines(input)? {
        let [old, new, name] = fields::<3>(&line, "pre-receive")?;
        let (old, new) = (oid(old)?, oid(new)?);
        if !old.is_zero() {
            hidden.push(old);
        }
        if !new.is_zero() {
            tips.push((new, name.to_string()));
            names.push(name.to_string());
        }
    }
    if !tips.is_empty() {
        let references = repo.references().map_err(|e| Error::git("cannot read the repository's refs", e))?;
        for reference in references {
            let reference = reference.map_err(|e| Error::git("cannot read a ref", e))?;
            hidden.extend(reference.resolve().ok().and_then(|r| r.target()));
        }
    }
    let walk = Walk::Between { tips, hidden };
    Ok(Pushed { walk, name: names.join(", ") })
}

/// The pre-commit framework's pre-push environment, when it is there.
fn framework_push(repo: &Repository) -> Result<Option<Pushed>> {
    let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    let remote = var("PRE_COMMIT_REMOTE_NAME");
    let name = remote.clone().unwrap_or_else(|| "the remote".into());
    let resolve = |spec: &str| {
        repo.revparse_single(spec)
            .map(|o| o.id())
            .map_err(|e| Error::git(format!("cannot resolve {spec}"), e))
    };
    if let (Some(from), Some(to)) = (var("PRE_COMMIT_FROM_REF"), var("PRE_COMMIT_TO_REF")) {
        let walk = Walk::Between { tips: vec![(resolve(&to)?, to)], hidden: vec![resolve(&from)?] };
        return Ok(Some(Pushed { walk, name }));
    }
    let (Some(remote), Some(branch)) = (remote, var("PRE_COMMIT_LOCAL_BRANCH")) else {
        // Under the framework git's input is gone: reading it would scan nothing and pass.
        if var("PRE_COMMIT").as_deref() == Some("1") {
            return Err(Error::Usage(
                "the pre-commit framework did not say what is pushed (no PRE_COMMIT_FROM_REF and \
                 PRE_COMMIT_TO_REF): run this hook at the pre-push stage of pre-commit 2.x or later"
                    .into(),
            ));
        }
        return Ok(None);
    };
    let walk =
        Walk::Between { tips: vec![(resolve(&branch)?, branch)], hidden: tracking_tips(repo, &remote)? };
    Ok(Some(Pushed { walk, name }))
}

/// What the remote is known to have: the tips of its remote-tracking refs, or of every remote's
/// when it has none (a push to a URL, or to a remote never fetched).
fn tracking_tips(repo: &Repository, remote: &str) -> Result<Vec<Oid>> {
    let tips = |glob: &str| -> Result<Vec<Oid>> {
        let references =
            repo.references_glob(glob).map_err(|e| Error::git("cannot read remote-tracking refs", e))?;
        Ok(references.flatten().filter_map(|r| r.resolve().ok()?.target()).collect())
    };
    let own = match repo.find_remote(remote) {
        Ok(_) if !remote.contains(['*', '?', '[']) => tips(&format!("refs/remotes/{remote}/*"))?,
        _ => Vec::new(),
    };
    if own.is_empty() {
        return tips("refs/remotes/*");
    }
    Ok(own)
}

/// The non-empty lines of a hook's input.
fn lines(input: &mut dyn BufRead) -> Result<Vec<String>> {
    let mut lines = Vec::new();
    for line in input.lines() {
        let line = line.map_err(|e| Error::io("cannot read the hook's input", e))?;
        if !line.trim().is_empty() {
            lines.push(line);
        }
    }
    Ok(lines)
}

fn fields<'a, const N: usize>(line: &'a str, hook: &str) -> Result<[&'a str; N]> {
    let parts: Vec<&str> = line.split(' ').collect();
    parts.try_into().map_err(|_| {
        Error::Usage(format!(
            "unexpected {hook} input line (expected {N} fields): {}",
            crate::report::escape(line)
        ))
    })
}

fn oid(text: &str) -> Result<Oid> {
    Oid::from_str(text)
        .map_err(|_| Error::Usage(format!("not an object id: {}", crate::report::escape(text))))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn comments_are_blanked_and_the_verbose_diff_is_cut() {
        let message =
            b"fix\n# Please enter\nbody\r\n# ------------------------ >8 ------------------------\n+TOKEN\n";
        assert_eq!(strip_comments(message, b"#"), b"fix\n\nbody\r\n");
        assert_eq!(strip_comments(b"; note\nkept # not a comment\n", b";"), b"\nkept # not a comment\n");
    }

    #[test]
    fn input_lines_have_a_fixed_number_of_fields() {
        assert!(fields::<3>("a b c", "pre-receive").is_ok());
        assert!(fields::<3>("a b", "pre-receive").is_err());
        assert!(fields::<4>("a b c d e", "pre-push").is_err());
    }
}
