//! `keyrot scan [PATH...]` on plain files and directories, and the errors a user can provoke:
//! missing paths, broken rules files and bad regexes, each one line on stderr with exit 2.

mod common;
use common::*;

#[test]
fn directory_scan_outside_git_finds_an_ssh_key_file() {
    let dir = plain_dir();
    std::fs::create_dir_all(dir.path().join("home/.ssh")).unwrap();
    std::fs::write(dir.path().join("home/.ssh/id_rsa"), "not really a key\n").unwrap();
    std::fs::write(dir.path().join("home/.ssh/id_rsa.pub"), "ssh-rsa AAAA\n").unwrap();
    let run = keyrot_in(dir.path(), &["scan", "--format", "json"]);
    assert_eq!(run.code, 1, "{}", run.all());
    assert_eq!(rule_ids(&run), vec!["ssh-private-key-file"]);
    assert_eq!(run.json()["findings"][0]["locations"][0]["path"], "home/.ssh/id_rsa");
}

#[test]
fn gitignored_files_are_skipped_unless_no_ignore() {
    let repo = Repo::new();
    repo.write(".gitignore", "secrets/\n");
    repo.write("secrets/token.txt", format!("token = {GITHUB}\n"));
    let run = repo.keyrot(&["scan"]);
    assert_eq!(run.code, 0, "{}", run.all());
    let run = repo.keyrot(&["scan", "--no-ignore"]);
    assert_eq!(run.code, 1, "{}", run.all());
}

#[test]
fn a_missing_path_is_an_error_but_the_rest_is_scanned() {
    let dir = plain_dir();
    std::fs::write(dir.path().join("leak.py"), format!("T = \"{GITHUB}\"\n")).unwrap();
    let run = keyrot_in(dir.path(), &["scan", "missing.txt", "leak.py"]);
    assert_eq!(run.code, 2, "an error wins over findings: {}", run.all());
    assert!(run.stdout.contains("leak.py"), "{}", run.stdout);
    assert!(run.stderr.contains("missing.txt"), "{}", run.stderr);
}

#[test]
fn non_utf8_text_is_scanned_as_bytes() {
    let dir = plain_dir();
    let mut content = b"caf\xe9 = 1\n".to_vec();
    content.extend_from_slice(format!("T = \"{GITHUB}\"\n").as_bytes());
    std::fs::write(dir.path().join("latin1.py"), content).unwrap();
    let run = keyrot_in(dir.path(), &["scan"]);
    assert_eq!(run.code, 1, "{}", run.all());
}

#[test]
fn a_file_over_the_size_limit_is_skipped_with_a_warning() {
    let dir = plain_dir();
    let mut big = vec![b'a'; 2 << 20];
    big.extend_from_slice(format!("\nT = \"{GITHUB}\"\n").as_bytes());
    std::fs::write(dir.path().join("big.txt"), big).unwrap();
    let run = keyrot_in(dir.path(), &["scan", "--max-file-size", "1"]);
    assert_eq!(run.code, 0, "{}", run.all());
    assert!(run.stderr.contains("skipped big.txt"), "{}", run.stderr);
    let run = keyrot_in(dir.path(), &["scan", "--max-file-size", "5"]);
    assert_eq!(run.code, 1, "{}", run.all());
}

/// A scan of a directory holding `a.txt` and a rules file `name` whose one rule, keyed on
/// `keyword`, has a regex that does not compile; it must exit 2 naming the rule.
fn scan_with_a_broken_rule(name: &str, keyword: &str, paths: &[&str]) -> Run {
    let dir = plain_dir();
    let rule = format!("[[rules]]\nid = \"broken-rule\"\nregex = '''([a-z'''\nkeywords = [\"{keyword}\"]\n");
    std::fs::write(dir.path().join(name), rule).unwrap();
    std::fs::write(dir.path().join("a.txt"), "hello\n").unwrap();
    let mut args = vec!["scan", "--config", name];
    args.extend(paths);
    let run = keyrot_in(dir.path(), &args);
    assert_eq!(run.code, 2, "{}", run.all());
    assert!(run.stderr.contains("rule 'broken-rule'"), "{}", run.stderr);
    run
}

#[test]
fn a_bad_regex_exits_2_naming_the_rule() {
    let run = scan_with_a_broken_rule("rules.toml", "x", &["."]);
    assert_eq!(run.stderr.lines().count(), 1, "one line: {}", run.stderr);
}

/// Built-in rules are told apart by what they are, not by their file's name: a rules file named
/// like the built-in one is checked up front too, even if its keywords never occur.
#[test]
fn a_bad_regex_in_a_file_named_like_the_built_in_rules_exits_2() {
    scan_with_a_broken_rule("built-in rules.toml", "zzqq", &["a.txt"]);
}

#[test]
fn a_rules_file_that_does_not_parse_exits_2_naming_file_and_line() {
    let dir = plain_dir();
    std::fs::write(dir.path().join("rules.toml"), "[[rules]]\nid = \"a\"\nregex = \n").unwrap();
    let run = keyrot_in(dir.path(), &["scan", "--config", "rules.toml"]);
    assert_eq!(run.code, 2, "{}", run.all());
    assert!(run.stderr.contains("rules.toml:3"), "{}", run.stderr);
    assert_eq!(run.stderr.lines().count(), 1, "one line: {}", run.stderr);
}

#[test]
fn rules_check_names_failing_examples() {
    let dir = plain_dir();
    std::fs::write(
        dir.path().join("mine.toml"),
        "[[rules]]\nid = \"acme-token\"\nprovider = \"Acme\"\nregex = '''\\b(acme_[a-z0-9]{16})\\b'''\nkeywords = [\"acme_\"]\nexamples = [\"t = acme_0123456789abcdef\", \"t = acme_short\"]\nnegative_examples = [\"t = acme_0123456789abcdef\"]\n",
    )
    .unwrap();
    let run = keyrot_in(dir.path(), &["rules", "check", "mine.toml"]);
    assert_eq!(run.code, 1, "{}", run.all());
    assert!(run.stderr.contains("rule 'acme-token': example 2"), "{}", run.stderr);
    assert!(run.stderr.contains("rule 'acme-token': negative example 1"), "{}", run.stderr);
}

#[test]
fn rules_lists_the_built_in_rules() {
    let dir = plain_dir();
    let run = keyrot_in(dir.path(), &["rules"]);
    assert_eq!(run.code, 0);
    assert!(run.stdout.contains("replicate-api-token"));
    assert!(run.stdout.contains("FAL"));
}

#[test]
fn rules_reach_says_where_each_regex_runs() {
    let dir = plain_dir();
    let run = keyrot_in(dir.path(), &["rules", "--reach"]);
    assert_eq!(run.code, 0, "{}", run.all());
    let after = |id: &str| {
        let at = run.stdout.find(&format!("{id} ")).unwrap_or_else(|| panic!("{id} listed"));
        run.stdout[at..].lines().nth(1).unwrap().to_string()
    };
    assert!(after("generic-credential").contains("near keywords (matches span at most 2 lines)"));
    assert!(after("generic-credential-xml").contains("near keywords (matches lie on one line)"));
    assert!(after("github-classic-token").contains("near keywords (matches of at most"));
    assert!(after("fal-api-key").contains("whole text (a match need not contain a keyword"));
}

#[test]
fn encoded_secrets_are_decoded_and_reported_where_they_are_encoded() {
    let dir = plain_dir();
    // base64 of GITHUB, in a Kubernetes Secret.
    let manifest = "apiVersion: v1\nkind: Secret\nmetadata:\n  name: ci\ntype: Opaque\ndata:\n  token: Z2hwX2ExY2tHVEtVRHZRdGlWNFAzSk5CeXJaakZIaDVuTHJOdUVidw==\n";
    std::fs::write(dir.path().join("secret.yaml"), manifest).unwrap();
    std::fs::write(
        dir.path().join("deploy.sh"),
        "curl -H 'Authorization: Basic ZGVwbG95OlhrOSNtUTJ2TDdwUjR0Vzg=' https://ci.acme.io/api\n",
    )
    .unwrap();
    let run = keyrot_in(dir.path(), &["scan", "--format", "json"]);
    assert_eq!(run.code, 1, "{}", run.all());
    let json = run.json();
    let by_rule = |id: &str| json["findings"].as_array().unwrap().iter().find(|f| f["rule"] == id).cloned();
    let github = by_rule("github-classic-token").expect("the decoded GitHub token");
    assert_eq!(github["locations"][0]["path"], "secret.yaml");
    assert_eq!(github["locations"][0]["line"], 7);
    assert_eq!(github["locations"][0]["column"], 10);
    let basic = by_rule("http-basic-credentials").expect("the decoded Basic credentials");
    assert_eq!(basic["locations"][0]["line"], 1);
    assert_not_revealed(&run, &[GITHUB, "Xk9#mQ2vL7pR4tW8"]);
}

#[test]
fn confidence_is_reported_and_chooses_the_rules() {
    let dir = plain_dir();
    std::fs::write(
        dir.path().join("keys.toml"),
        r#"
[[rules]]
id = "demo-nearby-key"
regex = '''\b([a-f0-9]{32})\b'''
keywords = ["demoprovider"]
near = 30
"#,
    )
    .unwrap();
    std::fs::write(dir.path().join("app.env"), "DEMOPROVIDER_KEY=5f1c0e9a7b3d2486c0ffee1234abcd99\n")
        .unwrap();
    let run = keyrot_in(dir.path(), &["scan", "--config", "keys.toml", "--format", "json", "app.env"]);
    assert_eq!(run.code, 1, "{}", run.all());
    assert_eq!(run.json()["findings"][0]["confidence"], "medium", "a rule with near is medium by default");
    let run = keyrot_in(dir.path(), &["scan", "--config", "keys.toml", "--confidence", "high", "app.env"]);
    assert_eq!(run.code, 0, "only high-confidence rules run: {}", run.all());
}
