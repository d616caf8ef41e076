//! The real pre-commit framework running keyrot's hook from this repository with
//! `pre-commit try-repo`: a staged secret fails the hook with keyrot's message, a clean change
//! passes, staged files named like options (`--reveal`) are scanned as files, and
//! `--all-files` scans committed files too; the commit-msg hook scans the message file the
//! framework passes, and the pre-push hook the range it gives. `.ci/run` installs pre-commit into a
//! throwaway virtual environment and names it in `KEYROT_TEST_PRE_COMMIT`; elsewhere the test
//! finds or installs it, and is skipped, with a printed reason, only where Python is missing.

mod common;
use common::*;
use std::path::Path;
use std::process::Command;

/// The pre-commit executable: `KEYROT_TEST_PRE_COMMIT`, else one on PATH, else one installed
/// from PyPI into a virtual environment under the test target directory. None without Python.
fn pre_commit() -> Option<String> {
    if let Ok(path) = std::env::var("KEYROT_TEST_PRE_COMMIT") {
        return Some(path);
    }
    if Command::new("pre-commit").arg("--version").output().is_ok_and(|o| o.status.success()) {
        return Some("pre-commit".into());
    }
    if !Command::new("python3").arg("--version").output().is_ok_and(|o| o.status.success()) {
        return None;
    }
    let venv = Path::new(env!("CARGO_TARGET_TMPDIR")).join("pre-commit-venv");
    let bin = venv.join("bin/pre-commit");
    if !bin.exists() {
        let made = Command::new("python3").args(["-m", "venv"]).arg(&venv).status().expect("python3 runs");
        assert!(made.success(), "python3 -m venv failed");
        let pip = venv.join("bin/pip");
        let installed =
            Command::new(pip).args(["install", "--quiet", "pre-commit"]).status().expect("pip runs");
        assert!(installed.success(), "pip install pre-commit failed");
    }
    Some(bin.display().to_string())
}

fn try_repo(pre_commit: &str, repo: &Path, extra: &[&str]) -> Run {
    try_hook(pre_commit, repo, "keyrot", extra)
}

fn try_hook(pre_commit: &str, repo: &Path, hook: &str, extra: &[&str]) -> Run {
    let project = env!("CARGO_MANIFEST_DIR");
    let cache = Path::new(env!("CARGO_TARGET_TMPDIR")).join("pre-commit");
    let output = Command::new(pre_commit)
        .args(["try-repo", project, hook, "--color", "never"])
        .args(extra)
        .current_dir(repo)
        .env("PRE_COMMIT_HOME", cache.join("home"))
        .env("CARGO_TARGET_DIR", cache.join("cargo-target"))
        // The framework builds keyrot with `cargo install` (a release build): this test checks
        // the hook's wiring, not the binary's speed, so a quick optimisation level will do.
        .env("CARGO_PROFILE_RELEASE_LTO", "false")
        .env("CARGO_PROFILE_RELEASE_OPT_LEVEL", "1")
        .env("CARGO_PROFILE_RELEASE_CODEGEN_UNITS", "16")
        .env("CARGO_PROFILE_RELEASE_DEBUG", "false")
        .env("GIT_CONFIG_GLOBAL", NO_GLOBAL_CONFIG)
        .env_remove("GIT_DIR")
        .env_remove("GIT_INDEX_FILE")
        .output()
        .expect("pre-commit runs");
    Run::from(output)
}

#[test]
fn the_pre_commit_framework_runs_the_keyrot_hook() {
    let Some(pre_commit) = pre_commit() else {
        eprintln!("skipped: python3 is missing, so the pre-commit framework cannot be installed");
        return;
    };
    let repo = Repo::new();
    repo.write("README.md", "hello\n");
    let init = repo.commit("init");

    repo.write(".env", format!("REPLICATE_API_TOKEN={REPLICATE}\n"));
    repo.git(&["add", ".env"]);
    let blocked = try_repo(&pre_commit, repo.path(), &[]);
    assert_ne!(blocked.code, 0, "a staged secret must fail the hook:\n{}", blocked.all());
    assert!(blocked.all().contains("replicate-api-token"), "{}", blocked.all());
    assert!(blocked.all().contains("commit blocked"), "{}", blocked.all());
    assert_not_revealed(&blocked, &[REPLICATE]);

    repo.git(&["rm", "-q", "--cached", ".env"]);
    std::fs::remove_file(repo.path().join(".env")).unwrap();

    // File names the framework appends must stay paths: these would otherwise reveal the
    // secret, or skip every file, or read another config.
    for name in ["--reveal", "--max-file-size=0", "--no-baseline", "--quiet", "--config=x.toml"] {
        repo.write(name, format!("TOKEN = \"{GITHUB}\"\n"));
        repo.git(&["add", "--", name]);
    }
    let hostile = try_repo(&pre_commit, repo.path(), &[]);
    assert_ne!(hostile.code, 0, "secrets in oddly named files must fail the hook:\n{}", hostile.all());
    assert!(hostile.all().contains("github-classic-token"), "{}", hostile.all());
    assert_not_revealed(&hostile, &[GITHUB]);
    repo.git(&["rm", "-q", "--cached", "--", "--reveal", "--max-file-size=0", "--no-baseline", "--quiet"]);
    repo.git(&["rm", "-q", "--cached", "--", "--config=x.toml"]);
    for name in ["--reveal", "--max-file-size=0", "--no-baseline", "--quiet", "--config=x.toml"] {
        std::fs::remove_file(repo.path().join(name)).unwrap();
    }
    repo.write("app.py", "print('hello')\n");
    repo.git(&["add", "app.py"]);
    let clean = try_repo(&pre_commit, repo.path(), &[]);
    assert_eq!(clean.code, 0, "a clean change passes:\n{}", clean.all());

    repo.write("old.py", format!("TOKEN = \"{GITHUB}\"\n"));
    let leaky = repo.commit("committed before the hook was installed");
    let all = try_repo(&pre_commit, repo.path(), &["--all-files"]);
    assert_ne!(all.code, 0, "--all-files scans committed files:\n{}", all.all());
    assert!(all.all().contains("old.py"), "{}", all.all());

    // commit-msg: the framework passes the message file.
    let message = repo.path().join("MSG");
    std::fs::write(&message, format!("deploy\n\nwith {GITHUB2}\n")).unwrap();
    let file = message.to_str().unwrap();
    let stage = ["--hook-stage", "commit-msg", "--commit-msg-filename", file];
    let refused = try_hook(&pre_commit, repo.path(), "keyrot-commit-msg", &stage);
    assert_ne!(refused.code, 0, "a token in the message fails the hook:\n{}", refused.all());
    assert!(refused.all().contains("in the commit message: commit blocked"), "{}", refused.all());
    assert_not_revealed(&refused, &[GITHUB2]);
    std::fs::write(&message, "deploy\n").unwrap();
    let clean = try_hook(&pre_commit, repo.path(), "keyrot-commit-msg", &stage);
    assert_eq!(clean.code, 0, "a clean message passes:\n{}", clean.all());

    // pre-push: the framework gives the range, which is scanned rather than the index.
    let push = |from: &str, to: &str| {
        let stage = ["--hook-stage", "pre-push", "--from-ref", from, "--to-ref", to];
        try_hook(&pre_commit, repo.path(), "keyrot-pre-push", &stage)
    };
    let blocked = push(&init, &leaky);
    assert_ne!(blocked.code, 0, "a pushed token fails the hook:\n{}", blocked.all());
    assert!(blocked.all().contains("push blocked") && blocked.all().contains("old.py"), "{}", blocked.all());
    repo.write("new.py", "print('new')\n");
    let head = repo.commit("clean change");
    let passed = push(&leaky, &head);
    assert_eq!(passed.code, 0, "a clean range passes:\n{}", passed.all());
}
