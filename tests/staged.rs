//! `keyrot scan --staged`, the pre-commit scan, against real repositories: it reads what the
//! index holds (never the working tree), blocks secret files and key patterns, lets
//! placeholders, allow markers and binaries through, and fails closed outside a repository.

mod common;
use common::*;

#[test]
fn dotenv_with_replicate_token_is_blocked_on_the_first_commit() {
    let repo = Repo::new();
    repo.write(".env", format!("REPLICATE_API_TOKEN={REPLICATE}\n"));
    repo.git(&["add", ".env"]);
    let run = repo.keyrot(&["scan", "--staged"]);
    assert_eq!(run.code, 1, "{}", run.all());
    assert!(run.stdout.contains(".env"), "{}", run.stdout);
    assert!(run.stdout.contains("replicate-api-token"));
    assert!(run.stdout.contains("dotenv-file"));
    assert!(run.stdout.contains("r8_qk9AA..."), "masked prefix shown: {}", run.stdout);
    assert!(run.stdout.contains("commit blocked"));
    assert_not_revealed(&run, &[REPLICATE]);
}

#[test]
fn fal_key_in_python_is_identified_as_fal_in_json() {
    let repo = Repo::new();
    repo.write("README.md", "hello\n");
    repo.commit("init");
    repo.write("app.py", format!("import fal_client\nfal_client.api_key = \"{FAL}\"\n"));
    repo.git(&["add", "app.py"]);
    let run = repo.keyrot(&["scan", "--staged", "--format", "json"]);
    assert_eq!(run.code, 1, "{}", run.all());
    let json = run.json();
    let finding = &json["findings"][0];
    assert_eq!(finding["rule"], "fal-api-key");
    assert_eq!(finding["provider"], "FAL");
    assert_eq!(finding["locations"][0]["path"], "app.py");
    assert_eq!(finding["locations"][0]["line"], 2);
    assert_eq!(finding["masked"], "db47e838...");
    let fingerprint = finding["fingerprint"].as_str().unwrap();
    assert!(fingerprint.starts_with("v2:") && fingerprint.len() == 35, "{fingerprint}");
    assert_not_revealed(&run, &[FAL]);
}

#[test]
fn the_staged_version_is_scanned_not_the_working_tree() {
    let repo = Repo::new();
    repo.write("config.py", "x = 1\n");
    repo.commit("init");
    repo.write("config.py", format!("TOKEN = \"{GITHUB}\"\n"));
    repo.git(&["add", "config.py"]);
    repo.write("config.py", "x = 2\n");
    let run = repo.keyrot(&["scan", "--staged"]);
    assert_eq!(run.code, 1, "key in the index must block: {}", run.all());
    assert!(run.stdout.contains("github-classic-token"));
}

#[test]
fn a_key_only_in_the_unstaged_working_tree_passes() {
    let repo = Repo::new();
    repo.write("config.py", "x = 1\n");
    repo.write("other.py", "y = 1\n");
    repo.commit("init");
    repo.write("other.py", "y = 2\n");
    repo.git(&["add", "other.py"]);
    repo.write("config.py", format!("TOKEN = \"{GITHUB}\"\n"));
    let run = repo.keyrot(&["scan", "--staged"]);
    assert_eq!(run.code, 0, "{}", run.all());
    assert!(run.stderr.contains("keyrot: 1 staged file (6 bytes) checked against"), "{}", run.all());
    assert!(run.stdout.is_empty(), "the stderr line is the whole report: {}", run.stdout);
}

#[test]
fn env_example_with_placeholders_passes() {
    let repo = Repo::new();
    repo.write(
        ".env.example",
        "FAL_KEY=your_new_key_here\nFAL_API_KEY=your_new_key_here\nREPLICATE_API_TOKEN=r8_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\nDB_PASSWORD=changeme\nAPI_TOKEN=${API_TOKEN}\nSECRET=<token>\n",
    );
    repo.git(&["add", "."]);
    let run = repo.keyrot(&["scan", "--staged"]);
    assert_eq!(run.code, 0, "{}", run.all());
}

#[test]
fn allow_markers_pass() {
    let repo = Repo::new();
    repo.write(
        "tests/fixtures.py",
        format!(
            "A = \"{GITHUB}\"  # keyrot:allow\nB = \"{GITHUB2}\"  # gitleaks:allow\nC = \"{GITHUB3}\"  # pragma: allowlist secret\n"
        ),
    );
    repo.git(&["add", "."]);
    let run = repo.keyrot(&["scan", "--staged"]);
    assert_eq!(run.code, 0, "{}", run.all());
}

#[test]
fn binary_content_is_skipped_and_a_clean_file_passes() {
    let repo = Repo::new();
    let mut binary: Vec<u8> = (0..4096u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect();
    binary[10] = 0;
    binary.extend_from_slice(GITHUB.as_bytes());
    repo.write("image.bin", &binary);
    repo.write("main.rs", "fn main() { println!(\"hello\"); }\n");
    repo.git(&["add", "."]);
    let run = repo.keyrot(&["scan", "--staged"]);
    assert_eq!(run.code, 0, "{}", run.all());
}

#[test]
fn deletions_scan_nothing() {
    let repo = Repo::new();
    repo.write("leak.py", format!("T = \"{GITHUB}\"\n"));
    repo.commit("leak");
    repo.git(&["rm", "-q", "leak.py"]);
    let run = repo.keyrot(&["scan", "--staged"]);
    assert_eq!(run.code, 0, "{}", run.all());
}

#[test]
fn named_paths_scan_their_index_version_even_when_unchanged() {
    // `pre-commit run --all-files` passes every tracked file: they must be scanned.
    let repo = Repo::new();
    repo.write("src/leak.py", format!("T = \"{GITHUB}\"\n"));
    repo.write("src/ok.py", "x = 1\n");
    repo.commit("old leak");
    let run = repo.keyrot(&["scan", "--staged", "src/leak.py", "src/ok.py", "gone.py"]);
    assert_eq!(run.code, 1, "{}", run.all());
    assert!(run.stdout.contains("src/leak.py:1:6"), "{}", run.stdout);
    let clean = repo.keyrot(&["scan", "--staged", "src/ok.py"]);
    assert_eq!(clean.code, 0, "{}", clean.all());
}

#[test]
fn named_paths_are_relative_to_the_current_directory() {
    let repo = Repo::new();
    repo.write("src/leak.py", format!("T = \"{GITHUB}\"\n"));
    repo.git(&["add", "."]);
    let run = keyrot_in(&repo.path().join("src"), &["scan", "--staged", "leak.py"]);
    assert_eq!(run.code, 1, "{}", run.all());
    assert!(run.stdout.contains("src/leak.py"));
}

#[test]
fn reveal_prints_the_secret() {
    let repo = Repo::new();
    repo.write("a.py", format!("T = \"{GITHUB}\"\n"));
    repo.git(&["add", "."]);
    let run = repo.keyrot(&["scan", "--staged", "--reveal"]);
    assert_eq!(run.code, 1);
    assert!(run.stdout.contains(GITHUB));
}

#[test]
fn staged_outside_a_repository_is_an_error() {
    let dir = plain_dir();
    let run = keyrot_in(dir.path(), &["scan", "--staged"]);
    assert_eq!(run.code, 2, "{}", run.all());
    assert!(run.stderr.contains("not inside a git repository"), "{}", run.stderr);
    assert_eq!(run.stderr.lines().count(), 1, "one line: {}", run.stderr);
}

#[test]
fn one_secret_in_two_files_is_one_finding_with_two_locations() {
    let repo = Repo::new();
    repo.write("a.py", format!("T = \"{GITHUB}\"\n"));
    repo.write("b/c.yaml", format!("token: {GITHUB}\n"));
    repo.git(&["add", "."]);
    let run = repo.keyrot(&["scan", "--staged", "--format", "json"]);
    let json = run.json();
    assert_eq!(json["findings"].as_array().unwrap().len(), 1, "{}", run.stdout);
    assert_eq!(json["findings"][0]["locations"].as_array().unwrap().len(), 2);
}

/// The changed paths come from the index file and its cache tree (the tree ids git keeps for
/// directories no `git add` has touched): whatever the index's format, exactly the next commit's
/// changes are scanned, and a key committed earlier in an untouched directory is not. A split
/// index (`core.splitIndex`) is read with its shared part: its changed, added and deleted
/// entries are the main part's, marked in bitmaps.
#[test]
fn exactly_the_staged_changes_are_scanned_whatever_the_index_format() {
    for format in ["2", "3", "4", "split"] {
        let repo = Repo::new();
        repo.write("old/deep/committed.py", format!("TOKEN = \"{GITHUB}\"\n"));
        repo.write("src/lib/a.py", "x = 1\n");
        repo.write("src/lib/b.py", "y = 1\n");
        repo.write("tool.sh", "echo hi\n");
        repo.write("gone.py", "z = 1\n");
        repo.commit("init");
        match format {
            "split" => repo.git(&["update-index", "--split-index"]),
            version => repo.git(&["update-index", "--index-version", version]),
        };
        repo.write("src/lib/b.py", format!("KEY = \"{FAL}\"\n"));
        repo.write("new/dir/settings.py", format!("REPLICATE_API_TOKEN = \"{REPLICATE}\"\n"));
        repo.git(&["add", "-A"]);
        repo.git(&["update-index", "--chmod=+x", "tool.sh"]);
        repo.git(&["rm", "-q", "gone.py"]);
        // Intent to add: an entry (with extended flags) whose staged content is empty.
        repo.write("later.py", format!("TOKEN = \"{GITHUB2}\"\n"));
        repo.git(&["add", "-N", "later.py"]);

        let run = repo.keyrot(&["scan", "--staged", "--format", "json"]);
        assert_eq!(run.code, 1, "index {format}: {}", run.all());
        let json = run.json();
        let mut paths: Vec<&str> = json["findings"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|f| f["locations"].as_array().unwrap())
            .map(|l| l["path"].as_str().unwrap())
            .collect();
        paths.sort_unstable();
        assert_eq!(paths, ["new/dir/settings.py", "src/lib/b.py"], "index {format}: {}", run.stdout);
        // b.py, settings.py, tool.sh (its mode changed) and later.py (empty as staged).
        assert_eq!(json["scanned"]["files"], 4, "index {format}: {}", run.stdout);
    }
}

/// After `git reset --soft`, the index's cache tree is valid but describes the undone commit:
/// its directories differ from HEAD's and are read, so the key that commit added is found.
#[test]
fn a_soft_reset_stages_the_undone_commit_again() {
    let repo = Repo::new();
    repo.write("lib/a.py", "x = 1\n");
    repo.commit("init");
    repo.write("lib/deep/keys.py", format!("TOKEN = \"{GITHUB}\"\n"));
    repo.commit("add keys");
    repo.git(&["reset", "-q", "--soft", "HEAD~1"]);
    let run = repo.keyrot(&["scan", "--staged"]);
    assert_eq!(run.code, 1, "{}", run.all());
    assert!(run.stdout.contains("lib/deep/keys.py"), "{}", run.stdout);
}

/// Directories nested deeper than keyrot compares level by level are scanned whole.
#[test]
fn a_key_three_hundred_directories_deep_is_found() {
    let repo = Repo::new();
    let deep = "d/".repeat(300);
    repo.write(&format!("{deep}old.py"), "x = 1\n");
    repo.commit("init");
    repo.write(&format!("{deep}keys.py"), format!("TOKEN = \"{GITHUB}\"\n"));
    repo.git(&["add", "-A"]);
    let run = repo.keyrot(&["scan", "--staged", "--format", "json"]);
    assert_eq!(run.code, 1, "{}", run.all());
    let json = run.json();
    assert_eq!(json["findings"][0]["locations"][0]["path"], format!("{deep}keys.py"));
}

/// A repository whose index is sparse (`git sparse-checkout --sparse-index`): `app/` is in
/// the cone, `vendor/` stands in the index as one directory entry.
fn sparse_repo() -> Repo {
    let repo = Repo::new();
    repo.write("app/main.py", "x = 1\n");
    repo.write("vendor/lib/config.py", "y = 2\n");
    repo.commit("init");
    repo.git(&["sparse-checkout", "set", "--cone", "--sparse-index", "app"]);
    let ls = repo.git(&["ls-files", "--sparse"]);
    assert!(ls.contains("vendor/\n"), "the index holds vendor/ as a directory entry: {ls}");
    repo
}

#[test]
fn a_sparse_index_is_read_and_its_directories_are_compared_with_head() {
    let repo = sparse_repo();
    let clean = repo.keyrot(&["scan", "--staged"]);
    assert_eq!(clean.code, 0, "{}", clean.all());
    assert!(clean.stderr.contains("0 staged files"), "{}", clean.stderr);

    repo.write("app/main.py", format!("TOKEN = \"{GITHUB}\"\n"));
    repo.git(&["add", "app/main.py"]);
    let run = repo.keyrot(&["scan", "--staged"]);
    assert_eq!(run.code, 1, "a change in the cone is scanned: {}", run.all());
    assert!(run.stdout.contains("app/main.py"), "{}", run.stdout);

    // A commit that changed vendor/, undone with reset --soft: the index's vendor/ entry is
    // the changed tree, HEAD's is the old one, and the change is staged.
    repo.git(&["reset", "-q", "--hard"]);
    repo.git(&["sparse-checkout", "disable"]);
    repo.write("vendor/lib/config.py", format!("TOKEN = \"{GITHUB2}\"\n"));
    repo.commit("vendor change");
    repo.git(&["sparse-checkout", "set", "--cone", "--sparse-index", "app"]);
    repo.git(&["reset", "-q", "--soft", "HEAD~1"]);
    assert!(repo.git(&["ls-files", "--sparse"]).contains("vendor/\n"));
    let run = repo.keyrot(&["scan", "--staged"]);
    assert_eq!(run.code, 1, "a change inside a sparse directory is scanned: {}", run.all());
    assert!(run.stdout.contains("vendor/lib/config.py"), "{}", run.stdout);
    assert!(!run.stderr.contains("error"), "{}", run.stderr);
}

#[test]
fn named_paths_inside_a_sparse_directory_are_read_from_its_tree() {
    let repo = sparse_repo();
    repo.git(&["sparse-checkout", "disable"]);
    repo.write("vendor/lib/config.py", format!("TOKEN = \"{GITHUB2}\"\n"));
    repo.commit("vendor key");
    repo.git(&["sparse-checkout", "set", "--cone", "--sparse-index", "app"]);
    for args in [
        &["scan", "--staged", "."][..],
        &["scan", "--staged", "vendor"],
        &["scan", "--staged", "vendor/lib/config.py"],
    ] {
        let run = repo.keyrot(args);
        assert_eq!(run.code, 1, "{args:?}: {}", run.all());
        assert!(run.stdout.contains("vendor/lib/config.py"), "{args:?}: {}", run.stdout);
        assert!(!run.stderr.contains("not in the index"), "{args:?}: {}", run.stderr);
    }
    let missing = repo.keyrot(&["scan", "--staged", "vendor/nothing.py"]);
    assert_eq!(missing.code, 2, "{}", missing.all());
}

/// A staged path that is not UTF-8 in a split index is not dropped: the index is left to
/// libgit2, which does not read split indexes, and the run fails closed.
#[test]
fn a_split_index_with_a_path_that_is_not_utf8_fails_closed() {
    use std::os::unix::ffi::OsStrExt;
    let repo = Repo::new();
    repo.git(&["config", "core.splitIndex", "true"]);
    repo.write("a.py", "x = 1\n");
    repo.commit("init");
    repo.git(&["update-index", "--split-index"]);
    let name = std::ffi::OsStr::from_bytes(b"key\xff.py");
    std::fs::write(repo.path().join(name), format!("TOKEN = \"{GITHUB}\"\n")).unwrap();
    repo.git(&["add", "-A"]);
    let run = repo.keyrot(&["scan", "--staged"]);
    assert_eq!(run.code, 2, "{}", run.all());
}
