//! Every git hook point, through real git: `keyrot install --hook KIND` in fresh repositories,
//! then `git commit` and `git push` to a local bare repository whose own pre-receive hook is
//! keyrot's. A clean commit says what it checked; a token in a commit message, in a pushed
//! commit (caught by pre-push, and with `--no-verify` by the server) is refused; a clean push
//! and a branch deletion pass; history and range scans read commit and tag messages.

mod common;
use common::*;
use std::path::Path;

const DATE: &str = "2026-01-05T12:00:00Z";

fn git_run(dir: &Path, args: &[&str]) -> Run {
    Run::from(git_output(dir, args, DATE))
}

#[test]
fn a_clean_commit_says_what_the_pre_commit_hook_checked() {
    let repo = Repo::new();
    repo.write("README.md", "hello\n");
    repo.commit("init");
    assert_eq!(repo.keyrot(&["install"]).code, 0);
    repo.write("a.py", "print('a')\n"); // 11 bytes
    repo.write("b.py", "print('bb')\n"); // 12 bytes
    repo.write("docs/c.md", "# c\n"); // 4 bytes
    repo.git(&["add", "-A"]);
    let json = repo.keyrot(&["scan", "--staged", "--format", "json"]).json();
    assert_eq!(json["scanned"]["files"], 3, "{json}");
    assert_eq!(json["scanned"]["bytes"], 27, "{json}");
    let rules = json["scanned"]["rules"].as_u64().unwrap();
    assert!(rules > 100, "{json}");

    let commit = git_run(repo.path(), &["commit", "-q", "-m", "add three files"]);
    assert_eq!(commit.code, 0, "{}", commit.all());
    let line = format!("keyrot: 3 staged files (27 bytes) checked against {rules} rules: no secrets");
    assert!(commit.stderr.contains(&line), "expected {line:?} in:\n{}", commit.all());

    repo.write("d.py", "print('d')\n");
    repo.git(&["add", "-A"]);
    let quiet = repo.keyrot(&["scan", "--staged", "--quiet"]);
    assert_eq!(quiet.code, 0);
    assert!(quiet.stderr.is_empty() && quiet.stdout.is_empty(), "{}", quiet.all());
}

/// `git commit -a` and `git commit PATH` stage into a temporary index that git names in
/// `GIT_INDEX_FILE`: the pre-commit hook reads that one, not `.git/index`.
#[test]
fn commit_all_and_commit_path_are_checked_in_the_index_git_will_commit() {
    let repo = Repo::new();
    repo.write("lib/config.py", "x = 1\n");
    repo.write("README.md", "hello\n");
    let head = repo.commit("init");
    assert_eq!(repo.keyrot(&["install"]).code, 0);
    repo.write("lib/config.py", format!("TOKEN = \"{GITHUB}\"\n"));

    let all = git_run(repo.path(), &["commit", "-q", "-a", "-m", "all"]);
    assert_ne!(all.code, 0, "commit -a must be refused:\n{}", all.all());
    assert!(all.all().contains("lib/config.py"), "{}", all.all());
    let path = git_run(repo.path(), &["commit", "-q", "-m", "one path", "lib/config.py"]);
    assert_ne!(path.code, 0, "commit PATH must be refused:\n{}", path.all());
    assert_eq!(repo.git(&["rev-parse", "HEAD"]).trim(), head, "nothing was committed");

    repo.write("lib/config.py", "x = 2\n");
    let clean = git_run(repo.path(), &["commit", "-q", "-a", "-m", "clean"]);
    assert_eq!(clean.code, 0, "{}", clean.all());
    assert!(clean.stderr.contains("keyrot: 1 staged file (6 bytes) checked against"), "{}", clean.all());
}

#[test]
fn the_commit_msg_hook_refuses_a_token_in_the_message() {
    let repo = Repo::new();
    repo.write("README.md", "hello\n");
    let head = repo.commit("init");
    let installed = repo.keyrot(&["install", "--hook", "commit-msg"]);
    assert_eq!(installed.code, 0, "{}", installed.all());
    assert!(repo.path().join(".git/hooks/commit-msg").exists());

    repo.write("app.py", "print('hi')\n");
    repo.git(&["add", "app.py"]);
    let message = format!("deploy\n\nused {GITHUB} to test\n");
    let refused = git_run(repo.path(), &["commit", "-q", "-m", &message]);
    assert_ne!(refused.code, 0, "the commit must be refused:\n{}", refused.all());
    assert!(refused.all().contains("in the commit message: commit blocked"), "{}", refused.all());
    assert!(refused.all().contains("(commit message):3:6"), "{}", refused.all());
    assert_not_revealed(&refused, &[GITHUB]);
    assert_eq!(repo.git(&["rev-parse", "HEAD"]).trim(), head, "nothing was committed");

    let clean = git_run(repo.path(), &["commit", "-q", "-m", "deploy"]);
    assert_eq!(clean.code, 0, "{}", clean.all());
    assert!(clean.stderr.contains("keyrot: the commit message (7 bytes) checked against"), "{}", clean.all());

    let removed = repo.keyrot(&["uninstall", "--hook", "commit-msg"]);
    assert_eq!(removed.code, 0, "{}", removed.all());
    assert!(!repo.path().join(".git/hooks/commit-msg").exists());
}

/// A work repository with keyrot's pre-push hook, and a bare server with its pre-receive hook
/// (keeping even small pushes as a pack in quarantine).
fn pushing_pair() -> (Repo, tempfile::TempDir) {
    let server = tempfile::tempdir().unwrap();
    git_in(server.path(), &["init", "-q", "--bare", "-b", "main"], DATE);
    git_in(server.path(), &["config", "receive.unpackLimit", "1"], DATE);
    let installed = keyrot_in(server.path(), &["install", "--hook", "pre-receive"]);
    assert_eq!(installed.code, 0, "{}", installed.all());
    assert!(server.path().join("hooks/pre-receive").exists());

    let repo = Repo::new();
    let installed = repo.keyrot(&["install", "--hook", "pre-push"]);
    assert_eq!(installed.code, 0, "{}", installed.all());
    repo.git(&["remote", "add", "origin", &server.path().display().to_string()]);
    (repo, server)
}

fn server_tip(server: &Path, branch: &str) -> String {
    git_run(server, &["rev-parse", "--verify", "-q", branch]).stdout.trim().to_string()
}

#[test]
fn pushes_of_a_token_are_refused_by_pre_push_and_by_the_server() {
    let (repo, server) = pushing_pair();
    repo.write("app.py", "print('hi')\n");
    let clean = repo.commit("init");
    let pushed = git_run(repo.path(), &["push", "-q", "origin", "main"]);
    assert_eq!(pushed.code, 0, "a clean push passes:\n{}", pushed.all());
    assert_eq!(server_tip(server.path(), "main"), clean);
    assert!(pushed.all().contains("in the commits to push to origin checked against"), "{}", pushed.all());

    // A new branch whose commits the remote already has, then its deletion.
    repo.git(&["branch", "topic"]);
    let topic = git_run(repo.path(), &["push", "-q", "origin", "topic"]);
    assert_eq!(topic.code, 0, "{}", topic.all());
    let deleted = git_run(repo.path(), &["push", "-q", "origin", "--delete", "topic"]);
    assert_eq!(deleted.code, 0, "a deletion passes:\n{}", deleted.all());
    assert_eq!(server_tip(server.path(), "topic"), "");

    repo.write("config.py", format!("TOKEN = \"{GITHUB}\"\n"));
    repo.commit("add config");
    repo.write("app.py", "print('bye')\n");
    repo.commit("later change");
    let blocked = git_run(repo.path(), &["push", "origin", "main"]);
    assert_ne!(blocked.code, 0, "pre-push must refuse:\n{}", blocked.all());
    assert!(blocked.all().contains("in the commits to push to origin: push blocked"), "{}", blocked.all());
    assert!(blocked.all().contains("config.py:1:"), "{}", blocked.all());
    assert!(blocked.all().contains("not pushed yet"), "{}", blocked.all());
    assert!(blocked.all().contains("git rebase -i"), "{}", blocked.all());
    assert_not_revealed(&blocked, &[GITHUB]);
    assert_eq!(server_tip(server.path(), "main"), clean);

    let forced = git_run(repo.path(), &["push", "--no-verify", "origin", "main"]);
    assert_ne!(forced.code, 0, "the server must refuse:\n{}", forced.all());
    assert!(forced.stderr.contains("remote: keyrot: 1 finding in the pushed commits"), "{}", forced.all());
    assert!(forced.stderr.contains("push rejected"), "{}", forced.all());
    assert!(forced.stderr.contains("config.py:1:"), "{}", forced.all());
    assert!(forced.stderr.contains("pre-receive hook declined"), "{}", forced.all());
    assert_not_revealed(&forced, &[GITHUB]);
    assert_eq!(server_tip(server.path(), "main"), clean);

    // A new branch carrying the token is refused by both as well.
    repo.git(&["branch", "leak"]);
    let branch = git_run(repo.path(), &["push", "--no-verify", "origin", "leak"]);
    assert_ne!(branch.code, 0, "{}", branch.all());
    assert_eq!(server_tip(server.path(), "leak"), "");
}

#[test]
fn the_server_refuses_a_token_in_a_pushed_tag_message() {
    let (repo, server) = pushing_pair();
    repo.write("app.py", "print('hi')\n");
    repo.commit("init");
    assert_eq!(git_run(repo.path(), &["push", "-q", "origin", "main"]).code, 0);
    repo.git(&["tag", "-a", "v1", "-m", &format!("release\n\nkey {GITHUB2}\n")]);
    let local = git_run(repo.path(), &["push", "origin", "v1"]);
    assert_ne!(local.code, 0, "{}", local.all());
    assert!(local.all().contains("(tag message: v1):3:5"), "{}", local.all());
    let remote = git_run(repo.path(), &["push", "--no-verify", "origin", "v1"]);
    assert_ne!(remote.code, 0, "{}", remote.all());
    assert!(remote.stderr.contains("remote:       at       (tag message: v1)"), "{}", remote.all());
    assert_eq!(server_tip(server.path(), "refs/tags/v1"), "");
}

#[test]
fn the_pre_push_hook_chains_the_users_hook_with_its_input() {
    let (repo, _server) = pushing_pair();
    let hooks = repo.path().join(".git/hooks");
    assert_eq!(repo.keyrot(&["uninstall", "--hook", "pre-push"]).code, 0);
    let log = repo.path().join("seen.txt");
    std::fs::write(
        hooks.join("pre-push"),
        format!("#!/bin/sh\necho \"$1\" >> '{}'\ncat >> '{}'\n", log.display(), log.display()),
    )
    .unwrap();
    set_executable(&hooks.join("pre-push"));
    let installed = repo.keyrot(&["install", "--hook", "pre-push"]);
    assert_eq!(installed.code, 0, "{}", installed.all());
    assert!(installed.stdout.contains("pre-push.keyrot-chained"), "{}", installed.all());

    repo.write("app.py", "print('hi')\n");
    let head = repo.commit("init");
    let pushed = git_run(repo.path(), &["push", "-q", "origin", "main"]);
    assert_eq!(pushed.code, 0, "{}", pushed.all());
    let seen = std::fs::read_to_string(&log).unwrap();
    assert!(seen.starts_with("origin\nrefs/heads/main "), "{seen}");
    assert!(seen.contains(&head), "{seen}");

    let removed = repo.keyrot(&["uninstall", "--hook", "pre-push"]);
    assert_eq!(removed.code, 0, "{}", removed.all());
    assert!(removed.stdout.contains("restored"), "{}", removed.all());
    assert!(std::fs::read_to_string(hooks.join("pre-push")).unwrap().contains("seen.txt"));
    assert!(!hooks.join("pre-push.keyrot-chained").exists());
}

#[cfg(unix)]
fn set_executable(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

#[test]
fn history_and_range_scans_read_commit_and_tag_messages() {
    let repo = Repo::new();
    repo.write("README.md", "hello\n");
    let base = repo.commit("init");
    repo.write("app.py", "print('hi')\n");
    let leaky = repo.commit(&format!("wire the client\n\ntoken: {GITHUB}\n"));
    repo.write("app.py", "print('bye')\n");
    repo.commit(&format!("again\n\ntoken: {GITHUB}\n")); // the same token, a new message
    repo.commit(&format!("wire the client\n\ntoken: {GITHUB}\n")); // the same message again
    repo.git(&["tag", "-a", "v1", "-m", &format!("release\n\nkey {GITHUB2}\n")]);
    let tag = repo.git(&["rev-parse", "v1"]).trim().to_string();

    for args in [vec!["scan", "--history"], vec!["scan", "--range", &format!("{base}..HEAD")]] {
        let mut args = args.clone();
        args.extend(["--format", "json"]);
        let run = repo.keyrot(&args);
        assert_eq!(run.code, 1, "{args:?}: {}", run.all());
        let json = run.json();
        let findings = json["findings"].as_array().unwrap();
        assert_eq!(findings.len(), 2, "{args:?}: {json}");
        let at = |rule_secret: &str| -> Vec<(String, String, u64)> {
            let finding =
                findings.iter().find(|f| f["masked"].as_str().unwrap().starts_with(rule_secret)).unwrap();
            finding["locations"]
                .as_array()
                .unwrap()
                .iter()
                .map(|l| {
                    (
                        l["path"].as_str().unwrap().into(),
                        l["commit"].as_str().unwrap().into(),
                        l["line"].as_u64().unwrap(),
                    )
                })
                .collect()
        };
        let commit_places = at(&GITHUB[..8]);
        assert_eq!(commit_places.len(), 2, "each distinct message once: {commit_places:?}");
        assert_eq!(commit_places[0], ("(commit message)".into(), leaky.clone(), 3));
        assert_eq!(at(&GITHUB2[..8]), vec![("(tag message: v1)".into(), tag.clone(), 3)]);
    }
}
