//! Living with keyrot: the baseline (content fingerprints, stable across renames and re-runs),
//! `.keyrotignore`, repository configuration (`.keyrot.toml`, an unchanged `.gitleaks.toml`),
//! notices when a range touches what silences the scanner, and the native hook installer.

mod common;
use common::*;

fn two_leaks() -> Repo {
    let repo = Repo::new();
    repo.write("deploy.sh", format!("export GITHUB_TOKEN={GITHUB}\n"));
    repo.write("server/settings.py", format!("FAL_KEY = \"{FAL}\"\n"));
    repo.commit("old leaks");
    repo
}

#[test]
fn a_baseline_accepts_todays_secrets_and_reports_only_new_ones() {
    let repo = two_leaks();
    let made = repo.keyrot(&["baseline"]);
    assert_eq!(made.code, 0, "{}", made.all());
    let first = std::fs::read(repo.path().join(".keyrot-baseline.json")).unwrap();
    assert!(!String::from_utf8_lossy(&first).contains(GITHUB), "no raw secret in the baseline");
    assert_eq!(repo.keyrot(&["scan", "--history"]).code, 0);

    let again = repo.keyrot(&["baseline"]);
    assert_eq!(again.code, 0);
    assert_eq!(std::fs::read(repo.path().join(".keyrot-baseline.json")).unwrap(), first, "byte-identical");

    repo.git(&["mv", "deploy.sh", "scripts-deploy.sh"]);
    repo.commit("rename");
    assert_eq!(repo.keyrot(&["scan", "--history"]).code, 0, "a rename keeps the entry");

    repo.write("worker.py", format!("TOKEN = \"{REPLICATE}\"\n"));
    repo.commit("new leak");
    let run = repo.keyrot(&["scan", "--history", "--format", "json"]);
    assert_eq!(run.code, 1, "{}", run.all());
    assert_eq!(rule_ids(&run), vec!["replicate-api-token"]);
    assert_eq!(run.json()["summary"]["baselined"], 2);
}

fn baseline_paths(path: &std::path::Path) -> Vec<String> {
    let baseline: serde_json::Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    baseline["findings"].as_array().unwrap().iter().map(|e| e["path"].as_str().unwrap().to_string()).collect()
}

#[test]
fn a_baseline_before_the_first_commit_scans_the_work_tree_with_relative_paths() {
    let repo = Repo::new();
    repo.write("sub/a.py", format!("T = \"{GITHUB}\"\n"));
    let run = keyrot_in(&repo.path().join("sub"), &["baseline"]);
    assert_eq!(run.code, 0, "{}", run.all());
    assert_eq!(baseline_paths(&repo.path().join(".keyrot-baseline.json")), vec!["sub/a.py"]);
}

#[test]
fn a_baseline_outside_any_repository_scans_the_directory_with_relative_paths() {
    let dir = plain_dir();
    std::fs::create_dir(dir.path().join("sub")).unwrap();
    std::fs::write(dir.path().join("sub/a.py"), format!("T = \"{GITHUB}\"\n")).unwrap();
    let run = keyrot_in(dir.path(), &["baseline"]);
    assert_eq!(run.code, 0, "{}", run.all());
    assert_eq!(baseline_paths(&dir.path().join(".keyrot-baseline.json")), vec!["sub/a.py"]);
}

#[test]
fn a_repository_that_cannot_be_read_is_an_error_not_a_file_scan() {
    type Breakage = fn(&std::path::Path);
    let breakages: [(&str, Breakage); 3] = [
        ("corrupt HEAD", |git| std::fs::write(git.join("HEAD"), "garbage\n").unwrap()),
        ("corrupt config", |git| std::fs::write(git.join("config"), "[core\n").unwrap()),
        ("dangling .git file", |git| {
            std::fs::remove_dir_all(git).unwrap();
            std::fs::write(git, "gitdir: /nonexistent/keyrot-test\n").unwrap();
        }),
    ];
    for (what, breakage) in breakages {
        let repo = Repo::new();
        repo.write("a.py", format!("T = \"{GITHUB}\"\n"));
        breakage(&repo.path().join(".git"));
        let run = repo.keyrot(&["baseline"]);
        assert_eq!(run.code, 2, "{what}: {}", run.all());
        assert_eq!(run.stderr.lines().count(), 1, "{what}: one line: {}", run.stderr);
        assert!(!repo.path().join(".keyrot-baseline.json").exists(), "{what}: nothing written");
    }
}

#[test]
fn accepted_secrets_stay_in_the_rotation_report_until_marked_rotated() {
    let repo = two_leaks();
    repo.keyrot(&["baseline"]);
    let run = repo.keyrot(&["scan", "--history"]);
    assert_eq!(run.code, 0);
    assert!(run.stdout.contains("accepted in the baseline"), "{}", run.stdout);
    let path = repo.path().join(".keyrot-baseline.json");
    let mut baseline: serde_json::Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    for entry in baseline["findings"].as_array_mut().unwrap() {
        entry["rotated"] = serde_json::json!(true);
    }
    std::fs::write(&path, serde_json::to_string_pretty(&baseline).unwrap()).unwrap();
    let run = repo.keyrot(&["scan", "--history"]);
    assert!(!run.stdout.contains("Keys to rotate"), "{}", run.stdout);
}

#[test]
fn prune_drops_entries_no_longer_found() {
    let repo = Repo::new();
    repo.write("a.py", format!("T = \"{GITHUB}\"\n"));
    repo.keyrot(&["baseline", "--output", "base.json"]);
    let dir = plain_dir();
    let out = dir.path().join("b.json");
    std::fs::copy(repo.path().join("base.json"), &out).unwrap();
    std::fs::remove_file(repo.path().join("a.py")).unwrap();
    let run = repo.keyrot(&["baseline", "--output", out.to_str().unwrap()]);
    assert!(run.stdout.contains("1 accepted"), "{}", run.stdout);
    let run = repo.keyrot(&["baseline", "--prune", "--output", out.to_str().unwrap()]);
    assert!(run.stdout.contains("0 accepted") && run.stdout.contains("1 dropped"), "{}", run.stdout);
}

#[test]
fn keyrotignore_drops_by_fingerprint_and_reports_unused_entries() {
    let repo = two_leaks();
    let json = repo.keyrot(&["scan", "--history", "--format", "json"]).json();
    let github =
        json["findings"].as_array().unwrap().iter().find(|f| f["rule"] == "github-classic-token").unwrap();
    let fingerprint = github["fingerprint"].as_str().unwrap();
    repo.write(
        ".keyrotignore",
        format!("# reviewed: a revoked test token\n{fingerprint}  revoked in March\nffffffffffffffffffffffffffffffff\n"),
    );
    let run = repo.keyrot(&["scan", "--history", "--format", "json", "--report-unused-ignores"]);
    assert_eq!(rule_ids(&run), vec!["fal-api-key"]);
    assert!(run.stderr.contains("unused ignore entry: .keyrotignore:3"), "{}", run.stderr);
    assert!(!run.stderr.contains(".keyrotignore:2"), "{}", run.stderr);
}

#[test]
fn betterleaksignore_drops_a_secret_by_its_sha256() {
    let repo = two_leaks();
    let sha256: String = {
        use sha2::Digest;
        sha2::Sha256::digest(GITHUB).iter().map(|b| format!("{b:02X}")).collect()
    };
    repo.write(".betterleaksignore", format!("# migrated from betterleaks\n{sha256}\n{}\n", "0".repeat(64)));
    let run = repo.keyrot(&["scan", "--history", "--format", "json", "--report-unused-ignores"]);
    assert_eq!(rule_ids(&run), vec!["fal-api-key"]);
    assert!(run.stderr.contains("unused ignore entry: .betterleaksignore:3"), "{}", run.stderr);
    assert!(!run.stderr.contains(".betterleaksignore:2"), "{}", run.stderr);

    repo.write(".betterleaksignore", "v2:0123456789abcdef0123456789abcdef\n");
    let bad = repo.keyrot(&["scan", "--history"]);
    assert_eq!(bad.code, 2, "{}", bad.all());
    assert!(bad.stderr.contains(".betterleaksignore:1"), "{}", bad.all());
}

/// The fingerprint keyrot wrote before `v2:`: sha256(rule, NUL, secret), 32 hex digits.
fn legacy_fingerprint(rule: &str, secret: &str) -> String {
    use sha2::Digest;
    let digest = sha2::Sha256::new().chain_update(rule).chain_update([0]).chain_update(secret).finalize();
    digest[..16].iter().map(|b| format!("{b:02x}")).collect()
}

#[test]
fn legacy_fingerprints_in_baselines_and_ignores_still_match_and_baseline_rewrites_them() {
    let repo = two_leaks();
    let revealed = repo.keyrot(&["scan", "--history", "--format", "json", "--reveal"]).json();
    let legacy = |rule: &str| {
        let finding = revealed["findings"].as_array().unwrap().iter().find(|f| f["rule"] == rule).unwrap();
        legacy_fingerprint(rule, finding["secret"].as_str().unwrap())
    };
    let (github, fal) = (legacy("github-classic-token"), legacy("fal-api-key"));
    let baseline = serde_json::json!({
        "keyrot_baseline": 1,
        "findings": [{
            "fingerprint": github, "rule": "github-classic-token", "masked": "ghp_a1ck...",
            "path": "deploy.sh", "line": 1, "rotated": true
        }]
    });
    let path = repo.path().join(".keyrot-baseline.json");
    std::fs::write(&path, serde_json::to_string_pretty(&baseline).unwrap()).unwrap();
    repo.write(".keyrotignore", format!("{fal}  accepted before v2\n"));

    let run = repo.keyrot(&["scan", "--history", "--format", "json", "--report-unused-ignores"]);
    assert_eq!(run.code, 0, "both still accepted: {}", run.all());
    assert_eq!(run.json()["summary"]["findings"], 0, "{}", run.stdout);
    assert!(!run.stderr.contains("unused"), "{}", run.stderr);
    assert!(!run.all().contains(&github) && !run.all().contains(&fal), "legacy form never printed");

    let made = repo.keyrot(&["baseline"]);
    assert_eq!(made.code, 0, "{}", made.all());
    assert!(
        made.stdout.contains("(0 new, 0 dropped, 1 rewritten with the new fingerprint)"),
        "{}",
        made.stdout
    );
    let text = std::fs::read_to_string(&path).unwrap();
    let rewritten: serde_json::Value = serde_json::from_str(&text).unwrap();
    let entries = rewritten["findings"].as_array().unwrap();
    assert_eq!(entries.len(), 1, "{text}");
    assert!(entries[0]["fingerprint"].as_str().unwrap().starts_with("v2:"), "{text}");
    assert_eq!(entries[0]["rotated"], true, "review marks survive the rewrite");
    assert!(!text.contains(&github), "{text}");
    assert_eq!(repo.keyrot(&["scan", "--history"]).code, 0);
}

#[test]
fn a_weak_password_shows_none_of_its_characters_when_masked() {
    let repo = Repo::new();
    repo.write("settings.py", "DB_PASSWORD = \"Sunshine!2024\"\n");
    repo.commit("password");
    let run = repo.keyrot(&["scan", "--history", "--format", "json"]);
    assert_eq!(run.code, 1, "{}", run.all());
    assert_eq!(run.json()["findings"][0]["masked"], "...");
    let human = repo.keyrot(&["scan", "--history"]);
    assert!(!human.stdout.contains("Suns"), "{}", human.stdout);
    assert_eq!(repo.keyrot(&["baseline"]).code, 0);
    let text = std::fs::read_to_string(repo.path().join(".keyrot-baseline.json")).unwrap();
    assert!(text.contains("\"masked\": \"...\""), "{text}");
}

#[test]
fn a_gitleaks_config_with_a_custom_rule_and_allowlist_loads_unchanged() {
    let repo = Repo::new();
    repo.write(
        ".gitleaks.toml",
        r#"title = "acme gitleaks config"

[extend]
useDefault = true

[[rules]]
id = "acme-internal-token"
description = "Acme internal service token"
regex = '''\b(acme_[a-z0-9]{24})\b'''
secretGroup = 1
keywords = ["acme_"]

[allowlist]
description = "vendored code"
paths = ['''^vendor/''']
"#,
    );
    repo.write("src/client.py", "TOKEN = 'acme_k3j9x0q2m8v7c4n1b5z6l0p2'\n");
    repo.write("vendor/lib/conf.py", format!("T = \"{GITHUB}\"\n"));
    repo.write("src/deploy.sh", format!("export T={GITHUB2}\n"));
    repo.commit("config");
    let run = repo.keyrot(&["scan", "--history", "--format", "json"]);
    assert_eq!(run.code, 1, "{}", run.all());
    assert_eq!(rule_ids(&run), vec!["acme-internal-token", "github-classic-token"]);
    let shown = repo.keyrot(&["config", "show"]);
    assert!(
        shown.stdout.contains(".gitleaks.toml") && shown.stdout.contains("acme gitleaks config"),
        "{}",
        shown.stdout
    );
}

#[test]
fn keyrot_toml_extends_the_built_in_rules() {
    let repo = Repo::new();
    repo.write(
        ".keyrot.toml",
        r#"[extend]
disabledRules = ["dotenv-file"]

[[allowlists]]
globs = ["tests/fixtures/**", "*.min.js"]
"#,
    );
    repo.write(".env", "DEBUG=1\n");
    repo.write("tests/fixtures/token.txt", format!("{GITHUB}\n"));
    repo.write("app.min.js", format!("var t=\"{GITHUB}\";\n"));
    repo.write("src/app.min.js", format!("var t=\"{GITHUB3}\";\n"));
    repo.write("app.py", format!("T = \"{GITHUB2}\"\n"));
    repo.git(&["add", "."]);
    let run = repo.keyrot(&["scan", "--staged", "--format", "json"]);
    assert_eq!(rule_ids(&run), vec!["github-classic-token", "github-classic-token"], "{}", run.stdout);
    let paths: Vec<String> = run.json()["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["locations"][0]["path"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(paths, vec!["app.py", "src/app.min.js"], "`*` stays within a directory");
}

#[test]
fn a_range_that_silences_the_scanner_says_so() {
    let repo = Repo::new();
    repo.write("app.py", "x = 1\n");
    repo.commit("init");
    repo.write(".keyrot.toml", "[[allowlists]]\npaths = ['''.*''']\n");
    repo.write("app.py", format!("x = 1\nT = \"{GITHUB}\"  # keyrot:allow\n"));
    repo.commit("quietly");
    let run = repo.keyrot(&["scan", "--range", "HEAD~1..HEAD"]);
    assert!(run.stdout.contains("changes .keyrot.toml"), "{}", run.stdout);
    assert!(run.stdout.contains("adds 1 allow marker(s) in app.py"), "{}", run.stdout);
}

#[test]
fn install_chains_an_existing_hook_and_uninstall_restores_it() {
    let repo = Repo::new();
    repo.write("README.md", "hi\n");
    repo.commit("init");
    let hook = repo.path().join(".git/hooks/pre-commit");
    let original = "#!/bin/sh\necho ran >> \"$(git rev-parse --git-dir)/old-hook-ran\"\n";
    std::fs::write(&hook, original).unwrap();
    make_executable(&hook);
    let run = repo.keyrot(&["install"]);
    assert_eq!(run.code, 0, "{}", run.all());
    assert!(run.stdout.contains("moved your existing hook"), "{}", run.stdout);

    repo.write("leak.py", format!("T = \"{GITHUB}\"\n"));
    repo.git(&["add", "leak.py"]);
    let blocked = git_output(repo.path(), &["commit", "-q", "-m", "leak"], "2026-01-06T00:00:00Z");
    assert!(!blocked.status.success(), "the hook must block the commit");
    let said =
        format!("{}{}", String::from_utf8_lossy(&blocked.stdout), String::from_utf8_lossy(&blocked.stderr));
    assert!(said.contains("commit blocked"), "{said}");
    assert!(repo.path().join(".git/old-hook-ran").exists(), "the old hook still runs");

    repo.git(&["rm", "-q", "--cached", "leak.py"]);
    repo.write("ok.py", "x = 1\n");
    repo.git(&["add", "ok.py"]);
    let ok = git_output(repo.path(), &["commit", "-q", "-m", "ok"], "2026-01-06T00:00:00Z");
    assert!(ok.status.success(), "{}", String::from_utf8_lossy(&ok.stderr));

    let run = repo.keyrot(&["uninstall"]);
    assert_eq!(run.code, 0, "{}", run.all());
    assert_eq!(std::fs::read_to_string(&hook).unwrap(), original);
}

#[test]
fn install_honours_core_hooks_path() {
    let repo = Repo::new();
    repo.git(&["config", "core.hooksPath", ".githooks"]);
    let run = repo.keyrot(&["install"]);
    assert_eq!(run.code, 0, "{}", run.all());
    assert!(repo.path().join(".githooks/pre-commit").is_file());
    assert!(!repo.path().join(".git/hooks/pre-commit").exists());
}

#[test]
fn uninstall_refuses_a_hook_that_is_not_keyrots() {
    let repo = Repo::new();
    let hook = repo.path().join(".git/hooks/pre-commit");
    std::fs::write(&hook, "#!/bin/sh\nexit 0\n").unwrap();
    let run = repo.keyrot(&["uninstall"]);
    assert_eq!(run.code, 2, "{}", run.all());
    assert!(hook.exists());
}

#[test]
fn a_hook_installed_from_a_path_with_a_quote_runs_that_keyrot() {
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("it's \"quoted\" $HOME");
    std::fs::create_dir_all(&dir).unwrap();
    let exe = dir.join("keyrot");
    let _ = std::fs::remove_file(&exe);
    std::fs::copy(env!("CARGO_BIN_EXE_keyrot"), &exe).unwrap();
    let repo = Repo::new();
    repo.write("README.md", "hi\n");
    repo.commit("init");
    let installed = std::process::Command::new(&exe)
        .arg("install")
        .current_dir(repo.path())
        .env("GIT_CONFIG_GLOBAL", NO_GLOBAL_CONFIG)
        .output()
        .unwrap();
    assert!(installed.status.success(), "{}", String::from_utf8_lossy(&installed.stderr));

    repo.write("ok.py", "x = 1\n");
    repo.git(&["add", "ok.py"]);
    let ok = git_output(repo.path(), &["commit", "-q", "-m", "ok"], "2026-01-06T00:00:00Z");
    assert!(ok.status.success(), "the hook runs: {}", String::from_utf8_lossy(&ok.stderr));
    repo.write("leak.py", format!("T = \"{GITHUB}\"\n"));
    repo.git(&["add", "leak.py"]);
    let blocked = git_output(repo.path(), &["commit", "-q", "-m", "leak"], "2026-01-06T00:00:00Z");
    assert!(String::from_utf8_lossy(&blocked.stderr).contains("commit blocked"), "{blocked:?}");
}

#[test]
fn install_moves_a_dangling_hook_link_aside_and_never_writes_through_it() {
    let repo = Repo::new();
    let hook = repo.path().join(".git/hooks/pre-commit");
    let target = repo.path().join("tracked-script.sh");
    std::os::unix::fs::symlink(&target, &hook).unwrap();
    let run = repo.keyrot(&["install"]);
    assert_eq!(run.code, 0, "{}", run.all());
    assert!(!target.exists(), "nothing written through the link");
    assert!(std::fs::symlink_metadata(&hook).unwrap().is_file());
    let chained = repo.path().join(".git/hooks/pre-commit.keyrot-chained");
    assert_eq!(std::fs::read_link(chained).unwrap(), target, "the link itself was moved");

    let run = repo.keyrot(&["uninstall"]);
    assert_eq!(run.code, 0, "{}", run.all());
    assert_eq!(std::fs::read_link(&hook).unwrap(), target, "and put back");
}

#[test]
fn an_edited_keyrot_hook_is_left_alone() {
    let repo = Repo::new();
    assert_eq!(repo.keyrot(&["install"]).code, 0);
    let hook = repo.path().join(".git/hooks/pre-commit");
    let edited = format!("{}echo my own check\n", std::fs::read_to_string(&hook).unwrap());
    std::fs::write(&hook, &edited).unwrap();
    for command in ["install", "uninstall"] {
        let run = repo.keyrot(&[command]);
        assert_eq!(run.code, 2, "{command}: {}", run.all());
        assert!(run.stderr.contains("edited"), "{command}: {}", run.stderr);
        assert_eq!(std::fs::read_to_string(&hook).unwrap(), edited, "{command} kept the edits");
    }
    assert_eq!(repo.keyrot(&["install"]).code, 2);
    std::fs::remove_file(&hook).unwrap();
    assert_eq!(repo.keyrot(&["install"]).code, 0);
    assert_eq!(repo.keyrot(&["install"]).code, 0, "an unchanged hook is updated");
    assert_eq!(repo.keyrot(&["uninstall"]).code, 0);
    assert!(!hook.exists());
}

fn make_executable(path: &std::path::Path) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
}
