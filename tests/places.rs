//! Content once, places each: a blob's content is matched once, but whether a match counts is
//! decided at every path and commit where that content was committed. A rule's path condition
//! (`.netrc`) and path allowlists (`vendor/`) must give the same answer whichever place came
//! first in history.

mod common;
use common::*;

const NETRC: &str = "machine git.acme.io login deploy password Vq8zL2mK9xR4tP7wN3bY\n";

fn paths_of(run: &Run, rule: &str) -> Vec<String> {
    let json = run.json();
    let mut paths: Vec<String> = json["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["rule"] == rule)
        .flat_map(|f| {
            f["locations"].as_array().unwrap().iter().map(|l| l["path"].as_str().unwrap().to_string())
        })
        .collect();
    paths.sort();
    paths.dedup();
    paths
}

/// Commits the same content at `first`, then at `second`, and scans the history.
fn same_content_at(first: &str, second: &str, content: &str, config: Option<&str>) -> Run {
    let repo = Repo::new();
    if let Some(config) = config {
        repo.write(".keyrot.toml", config);
    }
    repo.write(first, content);
    repo.commit("first place");
    repo.write(second, content);
    repo.commit("second place");
    repo.keyrot(&["scan", "--history", "--format", "json"])
}

#[test]
fn a_netrc_whose_content_was_first_committed_under_another_name_is_found() {
    let run = same_content_at("notes.txt", ".netrc", NETRC, None);
    assert_eq!(run.code, 1, "{}", run.all());
    assert_eq!(paths_of(&run, "netrc-password"), [".netrc"]);
}

#[test]
fn a_netrc_committed_first_is_not_reported_at_a_later_copy_with_another_name() {
    let run = same_content_at(".netrc", "notes.txt", NETRC, None);
    assert_eq!(run.code, 1, "{}", run.all());
    assert_eq!(paths_of(&run, "netrc-password"), [".netrc"]);
}

const VENDOR_ALLOWED: &str = "[extend]\nuseDefault = true\n\n[[allowlists]]\npaths = ['''^vendor/''']\n";

#[test]
fn a_secret_first_committed_under_an_allowlisted_path_is_still_found_elsewhere() {
    let token = format!("TOKEN = \"{GITHUB}\"\n");
    let run = same_content_at("vendor/lib/config.py", "src/config.py", &token, Some(VENDOR_ALLOWED));
    assert_eq!(run.code, 1, "{}", run.all());
    assert_eq!(paths_of(&run, "github-classic-token"), ["src/config.py"]);
    assert_not_revealed(&run, &[GITHUB]);
}

#[test]
fn a_secret_first_committed_elsewhere_is_not_reported_under_an_allowlisted_path() {
    let token = format!("TOKEN = \"{GITHUB}\"\n");
    let run = same_content_at("src/config.py", "vendor/lib/config.py", &token, Some(VENDOR_ALLOWED));
    assert_eq!(run.code, 1, "{}", run.all());
    assert_eq!(paths_of(&run, "github-classic-token"), ["src/config.py"]);
}
