//! The rotation report end to end: a repository with a bare `origin`, a FAL key that was pushed,
//! a Replicate token committed but not pushed, and a key that is only staged. Exposure, first
//! commit and date, rotation URLs, the human "Keys to rotate" section and the Markdown checklist.

mod common;
use common::*;

const FAL_URL: &str = "https://fal.ai/dashboard/keys";
const REPLICATE_URL: &str = "https://replicate.com/account/api-tokens";

/// A work repository whose `origin` (a bare repository beside it) has the FAL commit only.
fn leaked_repo() -> (Repo, tempfile::TempDir) {
    let origin = plain_dir();
    git_in(origin.path(), &["init", "-q", "--bare", "-b", "main"], "2026-01-05T09:00:00Z");
    let repo = Repo::new();
    repo.write("server/settings.py", format!("FAL_KEY = \"{FAL}\"\n"));
    repo.commit_at("configure fal", "2026-01-05T09:30:00Z");
    let url = origin.path().display().to_string();
    repo.git(&["remote", "add", "origin", &url]);
    repo.git(&["push", "-q", "origin", "main"]);
    repo.write("worker.py", format!("REPLICATE_API_TOKEN = \"{REPLICATE}\"\n"));
    repo.commit_at("add worker", "2026-02-10T08:00:00Z");
    (repo, origin)
}

fn finding<'a>(json: &'a serde_json::Value, rule: &str) -> &'a serde_json::Value {
    json["findings"].as_array().unwrap().iter().find(|f| f["rule"] == rule).expect(rule)
}

#[test]
fn pushed_and_local_keys_carry_exposure_first_commit_and_rotation_url() {
    let (repo, _origin) = leaked_repo();
    let run = repo.keyrot(&["scan", "--history", "--format", "json"]);
    assert_eq!(run.code, 1, "{}", run.all());
    let json = run.json();
    let fal = finding(&json, "fal-api-key");
    assert_eq!(fal["exposure"], "pushed");
    assert_eq!(fal["remotes"], serde_json::json!(["origin"]));
    assert_eq!(fal["first_seen"]["date"], "2026-01-05T09:30:00+00:00");
    assert_eq!(fal["first_seen"]["author"], "Ada Lovelace");
    assert_eq!(fal["in_head"], true);
    assert_eq!(fal["rotation"]["url"], FAL_URL);
    assert_eq!(fal["key_id"], "db47e838-3a87-4094-91f3-dcad76306282");
    let replicate = finding(&json, "replicate-api-token");
    assert_eq!(replicate["exposure"], "local");
    assert_eq!(replicate["first_seen"]["date"], "2026-02-10T08:00:00+00:00");
    assert_eq!(replicate["rotation"]["url"], REPLICATE_URL);
    assert_not_revealed(&run, &[FAL, REPLICATE]);
}

#[test]
fn the_human_report_lists_keys_to_rotate_most_urgent_first() {
    let (repo, _origin) = leaked_repo();
    let run = repo.keyrot(&["scan", "--history"]);
    assert_eq!(run.code, 1);
    let section = run.stdout.split("Keys to rotate").nth(1).expect("a rotation section");
    let fal = section.find("FAL API key").expect("FAL row");
    let replicate = section.find("Replicate API token").expect("Replicate row");
    assert!(fal < replicate, "pushed before local:\n{section}");
    assert!(section.contains("ROTATE NOW"));
    assert!(section.contains(FAL_URL) && section.contains(REPLICATE_URL));
    assert!(section.contains("2026-01-05"));
    assert_not_revealed(&run, &[FAL, REPLICATE]);
}

#[test]
fn the_checklist_has_an_item_per_key_with_its_url() {
    let (repo, _origin) = leaked_repo();
    let run = repo.keyrot(&["scan", "--history", "--format", "checklist"]);
    assert_eq!(run.code, 1);
    let items: Vec<&str> = run.stdout.lines().filter(|l| l.starts_with("- [ ] Rotate")).collect();
    assert_eq!(items.len(), 2, "{}", run.stdout);
    assert!(items[0].contains("FAL") && items[0].contains("pushed"));
    assert!(items[1].contains("Replicate"));
    assert!(run.stdout.contains(&format!("  - [ ] Open <{FAL_URL}>")));
    assert!(run.stdout.contains(&format!("  - [ ] Open <{REPLICATE_URL}>")));
    assert!(run.stdout.contains("  - [ ] Revoke the old key"));
    assert_not_revealed(&run, &[FAL, REPLICATE]);
}

#[test]
fn a_key_only_staged_is_staged_and_one_already_pushed_must_be_rotated() {
    let (repo, _origin) = leaked_repo();
    repo.write("deploy.sh", format!("export GITHUB_TOKEN={GITHUB}\n"));
    repo.write("server/settings.py", format!("FAL_KEY = \"{FAL}\"\nDEBUG = False\n"));
    repo.git(&["add", "."]);
    let run = repo.keyrot(&["scan", "--staged", "--format", "json"]);
    assert_eq!(run.code, 1, "{}", run.all());
    let json = run.json();
    assert_eq!(finding(&json, "github-classic-token")["exposure"], "staged");
    assert_eq!(finding(&json, "fal-api-key")["exposure"], "pushed");
    let human = repo.keyrot(&["scan", "--staged"]);
    assert!(human.stdout.contains("no rotation is needed"), "{}", human.stdout);
    assert!(human.stdout.contains("Rotate now: it was pushed to origin"), "{}", human.stdout);
}

#[test]
fn a_key_removed_deep_in_the_tree_says_which_commit_removed_it() {
    let repo = Repo::new();
    repo.write("config/prod/settings.py", format!("T = \"{GITHUB}\"\n"));
    repo.write("docs/notes.md", "first\n");
    repo.commit_at("leak", "2026-03-01T10:00:00Z");
    // Later commits that leave `config/` as it was, then one that removes the key, then more.
    repo.write("docs/notes.md", "second\n");
    repo.commit_at("docs", "2026-03-02T10:00:00Z");
    repo.write("config/prod/settings.py", "T = os.environ['T']\n");
    let removal = repo.commit_at("remove it", "2026-03-03T10:00:00Z");
    repo.write("docs/notes.md", "third\n");
    repo.commit_at("more docs", "2026-03-04T10:00:00Z");
    repo.write("config/prod/other.py", "X = 1\n");
    repo.commit_at("another config file", "2026-03-05T10:00:00Z");
    let json = repo.keyrot(&["scan", "--history", "--format", "json"]).json();
    let f = finding(&json, "github-classic-token");
    assert_eq!(f["in_head"], false);
    assert_eq!(f["removed_in"]["commit"], removal.as_str());
}

#[test]
fn a_removed_key_says_when_it_left_head() {
    let repo = Repo::new();
    repo.write("a.py", format!("T = \"{GITHUB}\"\n"));
    repo.commit_at("leak", "2026-03-01T10:00:00Z");
    repo.write("a.py", "T = os.environ['T']\n");
    let removal = repo.commit_at("remove it", "2026-03-02T10:00:00Z");
    let run = repo.keyrot(&["scan", "--history", "--format", "json"]);
    let json = run.json();
    let f = finding(&json, "github-classic-token");
    assert_eq!(f["in_head"], false);
    assert_eq!(f["removed_in"]["commit"], removal.as_str());
    assert_eq!(f["exposure"], "local");
}

/// The removal search looks only along HEAD's first-parent line, and passes over a key no
/// commit HEAD reaches ever held. A key merged in from a branch (its commit reaches HEAD only
/// through the merge's second parent) is still looked for, and its removal found; a key left
/// on a branch that was never merged has no removal.
#[test]
fn a_key_merged_from_a_branch_and_removed_says_which_commit_removed_it() {
    let repo = Repo::new();
    repo.write("README.md", "start\n");
    repo.commit_at("start", "2026-03-01T10:00:00Z");
    repo.git(&["checkout", "-q", "-b", "side"]);
    repo.write("ci/deploy.sh", format!("export GITHUB_TOKEN={GITHUB}\n"));
    repo.commit_at("leak on a branch", "2026-03-02T10:00:00Z");
    repo.git(&["checkout", "-q", "-b", "abandoned", "main"]);
    repo.write("tools/upload.py", format!("FAL_KEY = \"{FAL}\"\n"));
    repo.commit_at("leak on a branch never merged", "2026-03-02T11:00:00Z");
    repo.git(&["checkout", "-q", "main"]);
    repo.write("README.md", "main moves on\n");
    repo.commit_at("main", "2026-03-03T10:00:00Z");
    git_in(repo.path(), &["merge", "-q", "--no-ff", "-m", "merge side", "side"], "2026-03-04T10:00:00Z");
    repo.write("ci/deploy.sh", "export GITHUB_TOKEN=\"$TOKEN\"\n");
    let removal = repo.commit_at("remove it", "2026-03-05T10:00:00Z");
    let json = repo.keyrot(&["scan", "--history", "--format", "json"]).json();
    let merged = finding(&json, "github-classic-token");
    assert_eq!(merged["in_head"], false);
    assert_eq!(merged["removed_in"]["commit"], removal.as_str());
    let abandoned = finding(&json, "fal-api-key");
    assert_eq!(abandoned["in_head"], false);
    assert_eq!(abandoned["removed_in"], serde_json::Value::Null, "{abandoned}");
}
