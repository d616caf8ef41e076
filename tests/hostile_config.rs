//! Hostile and odd rules files and baselines, as a repository can ship them: FIFOs, devices and
//! huge files where a config or baseline should be, rules that would silently do nothing, rule
//! text with terminal escapes or Markdown, values that are secrets. Each must end in a one-line
//! error naming the file (exit 2) or in inert output, never a hang, a panic or a silent pass.

mod common;
use common::*;
use std::path::Path;
use std::time::Duration;

/// Runs keyrot in `dir`, failing the test if it has not finished within ten seconds (a FIFO
/// read would block it for good).
fn keyrot_bounded(dir: &Path, args: &[&str]) -> Run {
    keyrot_within(dir, args, Duration::from_secs(10))
}

fn assert_one_line_error(run: &Run, naming: &str) {
    assert_eq!(run.code, 2, "{}", run.all());
    let lines: Vec<&str> = run.stderr.lines().collect();
    assert_eq!(lines.len(), 1, "{}", run.stderr);
    assert!(lines[0].starts_with("keyrot: error: ") && lines[0].contains(naming), "{}", run.stderr);
}

#[test]
fn a_fifo_as_keyrot_toml_is_an_error_not_a_hang() {
    let dir = plain_dir();
    mkfifo(&dir.path().join(".keyrot.toml"));
    let run = keyrot_bounded(dir.path(), &["scan"]);
    assert_one_line_error(&run, ".keyrot.toml: not a regular file");
}

#[test]
fn a_device_as_config_is_refused() {
    let dir = plain_dir();
    let run = keyrot_bounded(dir.path(), &["scan", "--config", "/dev/zero"]);
    assert_one_line_error(&run, "/dev/zero: not a regular file");
}

#[test]
fn an_extend_path_to_a_fifo_is_refused() {
    let dir = plain_dir();
    mkfifo(&dir.path().join("parent.toml"));
    std::fs::write(dir.path().join(".keyrot.toml"), "[extend]\npath = \"parent.toml\"\n").unwrap();
    let run = keyrot_bounded(dir.path(), &["scan"]);
    assert_one_line_error(&run, "parent.toml: not a regular file");
}

#[test]
fn a_huge_config_is_refused_naming_it() {
    let dir = plain_dir();
    let mut text = String::from("title = \"big\"\n");
    text.push_str(&"# padding padding padding padding padding padding padding padding\n".repeat(300_000));
    std::fs::write(dir.path().join("big.toml"), text).unwrap();
    let run = keyrot_bounded(dir.path(), &["scan", "--config", "big.toml"]);
    assert_one_line_error(&run, "big.toml: larger than 16 MiB");
}

#[test]
fn a_config_with_too_many_keywords_is_refused_naming_file_and_rule() {
    let dir = plain_dir();
    // 300,000 keywords once built a 1.6 GB automaton; a million fit in the size limit.
    let keywords: Vec<String> = (0..100_000).map(|n| format!("\"kw{n:08}\"")).collect();
    let config = format!(
        "[[rules]]\nid = \"crowded\"\nregex = '''zz[0-9]{{20}}'''\nkeywords = [{}]\n",
        keywords.join(",")
    );
    std::fs::write(dir.path().join(".keyrot.toml"), config).unwrap();
    std::fs::write(dir.path().join("a.txt"), "nothing\n").unwrap();
    let run = keyrot_bounded(dir.path(), &["scan", "a.txt"]);
    assert_one_line_error(&run, ".keyrot.toml: rule 'crowded': more than 100000 keywords");
}

#[test]
fn rules_whose_regexes_compile_too_large_together_are_refused_naming_file_and_rule() {
    let dir = plain_dir();
    // Forty rules like these (at a quarter of the size) once took 1.1 GB; a thousand fit in the
    // file size limit. Each here compiles to about 23 MB; the third crosses the 64 MB budget.
    let rules: Vec<String> = (0..3)
        .map(|n| format!("[[rules]]\nid = \"big{n}\"\nregex = '''(?:(?:[a-f]|[0-9]|x{n}){{300}}){{600}}'''\nkeywords = [\"zz{n}\"]\n"))
        .collect();
    std::fs::write(dir.path().join(".keyrot.toml"), rules.join("\n")).unwrap();
    std::fs::write(dir.path().join("a.txt"), "nothing\n").unwrap();
    let run = keyrot_within(dir.path(), &["scan", "a.txt"], Duration::from_secs(60));
    assert_one_line_error(&run, ".keyrot.toml: rule 'big2': the rules' patterns take more than 64 MB");
}

#[test]
fn rules_whose_path_and_allowlist_patterns_compile_too_large_together_are_refused() {
    let dir = plain_dir();
    // The same patterns as paths and as an allowlist's regex: they compile as regexes do.
    let big = |n: usize| format!("(?:(?:[a-f]|[0-9]|x{n}){{300}}){{600}}");
    let rules = format!(
        "[[rules]]\nid = \"p0\"\npath = '''{}'''\n\n[[rules]]\nid = \"p1\"\npath = '''{}'''\n\n\
         [[rules]]\nid = \"a2\"\nregex = '''zz2[0-9]{{8}}'''\nkeywords = [\"zz2\"]\n\
         [[rules.allowlists]]\nregexes = ['''{}''']\n",
        big(0),
        big(1),
        big(2)
    );
    std::fs::write(dir.path().join(".keyrot.toml"), rules).unwrap();
    std::fs::write(dir.path().join("a.txt"), "nothing\n").unwrap();
    let run = keyrot_within(dir.path(), &["scan", "a.txt"], Duration::from_secs(60));
    assert_one_line_error(&run, ".keyrot.toml: rule 'a2': the rules' patterns take more than 64 MB");
    let global =
        format!("[[allowlists]]\nregexes = ['''{}''', '''{}''', '''{}''']\n", big(0), big(1), big(2));
    std::fs::write(dir.path().join(".keyrot.toml"), global).unwrap();
    let run = keyrot_within(dir.path(), &["scan", "a.txt"], Duration::from_secs(60));
    assert_one_line_error(&run, "global allowlist': the rules' patterns take more than 64 MB");
}

#[test]
fn a_fifo_or_device_as_baseline_is_refused() {
    let dir = plain_dir();
    mkfifo(&dir.path().join("baseline.json"));
    let run = keyrot_bounded(dir.path(), &["scan", "--baseline", "baseline.json"]);
    assert_one_line_error(&run, "baseline.json: not a regular file");
    let run = keyrot_bounded(dir.path(), &["scan", "--baseline", "/dev/zero"]);
    assert_one_line_error(&run, "/dev/zero: not a regular file");
}

#[test]
fn a_secret_group_beyond_the_regex_groups_is_an_error_naming_file_and_rule() {
    let dir = plain_dir();
    let rule = "[[rules]]\nid = \"tok\"\nregex = '''tok_([a-z]{8})'''\nsecretGroup = 2\n";
    std::fs::write(dir.path().join(".keyrot.toml"), rule).unwrap();
    let run = keyrot_bounded(dir.path(), &["scan"]);
    assert_one_line_error(
        &run,
        ".keyrot.toml: rule 'tok': secretGroup = 2, but the regex has 1 capture groups",
    );
}

#[test]
fn an_empty_regex_is_an_error_naming_file_and_rule() {
    let dir = plain_dir();
    std::fs::write(dir.path().join("rules.toml"), "[[rules]]\nid = \"nothing\"\nregex = ''\n").unwrap();
    let run = keyrot_bounded(dir.path(), &["scan", "--config", "rules.toml"]);
    assert_one_line_error(&run, "rules.toml: rule 'nothing': empty regex");
}

#[test]
fn a_bad_near_or_confidence_is_an_error_naming_file_and_rule() {
    let dir = plain_dir();
    let cases = [
        ("near = 0\nkeywords = [\"tok\"]", "near must be between 1 and 1000 bytes"),
        ("near = 5000\nkeywords = [\"tok\"]", "near must be between 1 and 1000 bytes"),
        ("near = 10", "near needs a regex and keywords"),
        ("confidence = \"certain\"", "confidence \"certain\" is not high, medium or low"),
    ];
    for (field, message) in cases {
        let rule = format!("[[rules]]\nid = \"tok\"\nregex = '''tok_([a-z]{{8}})'''\n{field}\n");
        std::fs::write(dir.path().join("rules.toml"), rule).unwrap();
        let run = keyrot_bounded(dir.path(), &["scan", "--config", "rules.toml"]);
        assert_one_line_error(&run, &format!("rules.toml: rule 'tok': {message}"));
    }
}

#[test]
fn user_rules_beside_the_built_in_ones_still_load_and_find() {
    let dir = plain_dir();
    let rule =
        "[[rules]]\nid = \"tok\"\nregex = '''tok_([a-z]{8})'''\nsecretGroup = 1\nkeywords = [\"tok_\"]\n";
    std::fs::write(dir.path().join(".keyrot.toml"), rule).unwrap();
    std::fs::write(dir.path().join("a.txt"), format!("x = tok_qzmwkvtr\nT = \"{GITHUB}\"\n")).unwrap();
    let run = keyrot_bounded(dir.path(), &["scan", "--format", "json"]);
    assert_eq!(run.code, 1, "{}", run.all());
    assert_eq!(rule_ids(&run), vec!["github-classic-token", "tok"]);
}

#[test]
fn a_secret_in_the_wrong_place_of_a_config_is_not_echoed() {
    let dir = plain_dir();
    let rule = format!("[[rules]]\nid = \"x\"\nregex = 'a'\nsecretGroup = \"{GITHUB}\"\n");
    std::fs::write(dir.path().join(".keyrot.toml"), rule).unwrap();
    let run = keyrot_bounded(dir.path(), &["scan"]);
    assert_one_line_error(&run, ".keyrot.toml:4: invalid type: string \"ghp_…\", expected usize");
    assert_not_revealed(&run, &[GITHUB]);
}

#[test]
fn a_secret_as_a_key_of_a_config_is_not_echoed() {
    let dir = plain_dir();
    std::fs::write(dir.path().join(".gitleaks.toml"), format!("title = \"t\"\n{GITHUB} = 1\n")).unwrap();
    let run = keyrot_bounded(dir.path(), &["scan"]);
    assert_one_line_error(&run, ".gitleaks.toml:2: unknown field `ghp_…`");
    assert_not_revealed(&run, &[GITHUB]);
}

#[test]
fn a_secret_in_the_wrong_place_of_a_baseline_is_not_echoed() {
    let dir = plain_dir();
    let baseline = format!("{{\n  \"keyrot_baseline\": 1,\n  \"findings\": [\"{GITHUB}\"]\n}}\n");
    std::fs::write(dir.path().join(".keyrot-baseline.json"), baseline).unwrap();
    let run = keyrot_bounded(dir.path(), &["scan"]);
    assert_one_line_error(
        &run,
        ".keyrot-baseline.json:3: not a keyrot baseline: invalid type: string \"ghp_…\"",
    );
    assert_not_revealed(&run, &[GITHUB]);
}

/// A repository whose own rule is written to attack the terminal and the Markdown checklist,
/// with a committed secret of that rule in a file whose name has a backtick.
fn repo_with_hostile_rule_text() -> Repo {
    let repo = Repo::new();
    repo.write(
        ".keyrot.toml",
        r#"[[rules]]
id = "acme\u001b[2J"
description = "Acme \u001b]0;owned\u0007 token \u202e<img src=x onerror=alert(1)>"
provider = "Acme\u009b31m\u2066"
regex = '''acme_[a-z0-9]{16}'''
keywords = ["acme_"]
rotate = { url = "https://acme.example/\u001b[5m", steps = ["Revoke \u200f it", "[click](https://e.vil) **now**"] }
"#,
    );
    repo.write("we`ird.txt", "key = acme_q8w7e6r5t4y3u2i1\n");
    repo.commit("add");
    repo
}

fn assert_no_raw_controls(text: &str) {
    let raw = ['\u{1b}', '\u{7}', '\u{9b}', '\u{202e}', '\u{2066}', '\u{200f}'];
    assert!(!text.contains(raw), "raw control or bidi character in:\n{text:?}");
}

#[test]
fn rule_text_from_the_repository_is_escaped_in_the_human_report_and_rules_list() {
    let repo = repo_with_hostile_rule_text();
    let run = keyrot_bounded(repo.path(), &["scan", "--history"]);
    assert_eq!(run.code, 1, "{}", run.all());
    assert_no_raw_controls(&run.stdout);
    assert!(run.stdout.contains("acme\\u{1b}[2J"), "{}", run.stdout);
    assert!(run.stdout.contains("https://acme.example/\\u{1b}[5m"), "{}", run.stdout);
    let run = keyrot_bounded(repo.path(), &["rules"]);
    assert_eq!(run.code, 0, "{}", run.all());
    assert_no_raw_controls(&run.stdout);
    assert!(run.stdout.contains("Acme\\u{9b}31m\\u{2066}"), "{}", run.stdout);
}

#[test]
fn rule_text_and_paths_are_inert_in_the_checklist() {
    let repo = repo_with_hostile_rule_text();
    let run = keyrot_bounded(repo.path(), &["scan", "--history", "--format", "checklist"]);
    assert_eq!(run.code, 1, "{}", run.all());
    assert_no_raw_controls(&run.stdout);
    let out = &run.stdout;
    assert!(out.contains("(found in ``we`ird.txt:1``)"), "{out}");
    assert!(out.contains("\\<img src=x onerror=alert(1)\\>"), "{out}");
    assert!(out.contains("- [ ] \\[click\\](https://e.vil) \\*\\*now\\*\\*"), "{out}");
    assert!(out.contains("Open `https://acme.example/\\u{1b}[5m`"), "{out}");
}

#[test]
fn a_rule_id_in_an_error_or_warning_is_escaped() {
    let dir = plain_dir();
    let rules = "[[rules]]\nid = \"ok\\u001b[2J\"\nregex = 'a'\nskipReport = true\n\
                 [[rules]]\nid = \"bad\\u001b[2J\"\nregex = ''\n";
    std::fs::write(dir.path().join("rules.toml"), rules).unwrap();
    let run = keyrot_bounded(dir.path(), &["scan", "--config", "rules.toml"]);
    assert_eq!(run.code, 2, "{}", run.all());
    assert!(!run.stderr.contains('\u{1b}'), "{:?}", run.stderr);
    assert!(run.stderr.contains("rule 'ok\\u{1b}[2J': skipReport"), "{}", run.stderr);
    assert!(run.stderr.contains("rule 'bad\\u{1b}[2J': empty regex"), "{}", run.stderr);
}

/// A rule's regex comes from a config a pull request can change: a long literal (no keyword, so
/// it searches whole texts) must not make reading its syntax quadratic.
#[test]
fn a_rule_with_a_long_literal_regex_does_not_hang_the_scan() {
    let dir = plain_dir();
    let literal = "a-".repeat(5000);
    std::fs::write(
        dir.path().join(".keyrot.toml"),
        format!("[[rules]]\nid = \"long\"\nregex = '''{literal}'''\n"),
    )
    .unwrap();
    std::fs::write(dir.path().join("notes.txt"), "hello key\n".repeat(10)).unwrap();
    let run = keyrot_within(dir.path(), &["scan", "notes.txt"], Duration::from_secs(30));
    assert_eq!(run.code, 0, "{}", run.all());
}
