//! Hostile and odd input, as an attacker or a clumsy user would give it: packs whose deltas
//! loop or whose headers lie, branch tips that cannot be read, paths that name the whole tree
//! or nothing, standard input and devices, UTF-16 text, and a file with a million matches.
//! Each must end in a finding or exit 2, never in a panic, a hang or a clean exit 0.

mod common;
use common::packs::{self, Base, Object};
use common::*;
use sha1::{Digest, Sha1};
use std::time::Duration;

const LIMIT: Duration = Duration::from_secs(30);

/// A repository with two commits: the first adds `app.py` with a token, the second a note.
fn two_commits() -> Repo {
    let repo = Repo::new();
    repo.write("app.py", format!("TOKEN = \"{GITHUB}\"\n"));
    repo.commit("add app");
    repo.write("notes.txt", "nothing to see\n");
    repo.commit("add notes");
    repo
}

fn id_of(repo: &Repo, rev: &str) -> [u8; 20] {
    let hex = repo.git(&["rev-parse", rev]);
    let mut id = [0u8; 20];
    for (i, byte) in id.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&hex.trim()[2 * i..2 * i + 2], 16).unwrap();
    }
    id
}

/// Repacks the repository with `change` applied to its objects, then checks that both a
/// history scan and a staged scan stop with exit 2, in time, naming `culprit`.
fn assert_refused(repo: &Repo, culprit: &str, change: impl FnOnce(&mut Vec<Object>)) {
    let mut objects = packs::objects(repo.path());
    change(&mut objects);
    packs::repack(repo.path(), &objects);
    repo.write("staged.txt", "a staged change\n");
    repo.git(&["add", "staged.txt"]);
    for args in [&["scan", "--history"][..], &["scan", "--staged"]] {
        let run = keyrot_within(repo.path(), args, LIMIT);
        assert_eq!(run.code, 2, "{args:?} must fail closed:\n{}", run.all());
        assert!(run.stderr.contains(culprit), "{args:?} names the object {culprit}:\n{}", run.all());
        assert!(!run.all().contains("panicked"), "{}", run.all());
    }
}

/// An object of `kind` (`name` in its header) with its real id.
fn object(kind: u8, name: &str, data: Vec<u8>) -> Object {
    let id = Sha1::new().chain_update(format!("{name} {}\0", data.len())).chain_update(&data).finalize();
    Object { id: id.into(), kind, data, base: Base::None, size: None }
}

fn tree_entry(mode: &str, name: &str, id: &[u8; 20]) -> Vec<u8> {
    [format!("{mode} {name}\0").as_bytes(), id].concat()
}

/// A commit of `tree` after `parent` (if any), by a fixed author at a fixed time.
fn commit_object(tree: &Object, parent: Option<&Object>, message: &str) -> Object {
    let stamp = "a <a@example.com> 1767614400 +0000";
    let parent = parent.map_or(String::new(), |p| format!("parent {}\n", packs::hex(&p.id)));
    let text =
        format!("tree {}\n{parent}author {stamp}\ncommitter {stamp}\n\n{message}\n", packs::hex(&tree.id));
    object(packs::COMMIT, "commit", text.into_bytes())
}

/// `deepest.py` holding `key` under `depth` trees named `d`: the trees, the outermost last.
fn nested_in_trees(key: &Object, depth: usize) -> Vec<Object> {
    let mut trees = vec![object(packs::TREE, "tree", tree_entry("100644", "deepest.py", &key.id))];
    for _ in 0..depth {
        let above = object(packs::TREE, "tree", tree_entry("40000", "d", &trees[trees.len() - 1].id));
        trees.push(above);
    }
    trees
}

/// Packs `objects` into the repository, with `main` at `commit`.
fn publish(repo: &Repo, objects: &[Object], commit: &Object) {
    packs::repack(repo.path(), objects);
    repo.git(&["update-ref", "refs/heads/main", &packs::hex(&commit.id)]);
}

/// git refuses trees nested past a few thousand levels; a crafted pack can still hold one. Its
/// commit walk (and the walk of HEAD's tree for a finding's exposure) must refuse it, not
/// overflow the stack: 100,000 levels did.
#[test]
fn a_tree_nested_deeper_than_git_allows_is_an_error_not_a_crash() {
    let repo = Repo::new();
    let key = object(packs::BLOB, "blob", format!("TOKEN = \"{GITHUB}\"\n").into_bytes());
    let mut objects = nested_in_trees(&key, 100_000);
    let root = object(
        packs::TREE,
        "tree",
        [tree_entry("100644", "app.py", &key.id), tree_entry("40000", "d", &objects[objects.len() - 1].id)]
            .concat(),
    );
    let commit = commit_object(&root, None, "deep");
    objects.extend([key, root, commit.clone()]);
    publish(&repo, &objects, &commit);

    let run = keyrot_within(repo.path(), &["scan", "--history"], LIMIT);
    assert_eq!(run.code, 2, "{}", run.all());
    assert!(run.stderr.contains("nested deeper than 4096 trees"), "{}", run.stderr);
    assert!(run.stdout.contains("app.py"), "the rest is scanned: {}", run.stdout);
    repo.write("staged.py", format!("TOKEN = \"{GITHUB2}\"\n"));
    repo.git(&["add", "staged.py"]);
    let run = keyrot_within(repo.path(), &["scan", "--staged"], LIMIT);
    assert_eq!(run.code, 1, "{}", run.all());
}

/// A tree nested 4,000 deep is one git reads: it is scanned on a 2 MB stack, its key found
/// and its path looked up in HEAD (the walks keep stacks of their own: the commit walk's
/// recursion took 16 MB of a debug build's stack for 4,096 levels).
#[test]
fn a_tree_nested_as_deep_as_git_allows_is_scanned_on_a_small_stack() {
    let repo = Repo::new();
    let key = object(packs::BLOB, "blob", format!("TOKEN = \"{GITHUB}\"\n").into_bytes());
    let mut objects = nested_in_trees(&key, 4000);
    let commit = commit_object(&objects[objects.len() - 1], None, "deep");
    objects.extend([key, commit.clone()]);
    publish(&repo, &objects, &commit);

    let run = keyrot_with_stack(repo.path(), &["scan", "--history", "--format", "json"], 2048);
    assert_eq!(run.code, 1, "{}", run.stderr);
    let finding = &run.json()["findings"][0];
    assert_eq!(finding["locations"][0]["path"], format!("{}deepest.py", "d/".repeat(4000)));
    assert_eq!(finding["in_head"], true, "{finding}");
}

/// A tree entry's name can hold what reads as a whole entry. Here a parent's one entry is a
/// submodule named `z100644 m`, whose bytes end in `100644 m`, a NUL and an id: the very bytes
/// of its child's entry `m`, a file with that id. The walk takes a changed tree's entries from
/// its parent's version where their bytes are the same, at the end only from where an entry of
/// the parent starts too: else `m` would pass as unchanged and its key would never be read
/// (the submodule's id is not).
#[test]
fn a_file_whose_entry_hides_in_its_parents_submodule_name_is_scanned() {
    let repo = Repo::new();
    let key = object(packs::BLOB, "blob", format!("TOKEN = \"{GITHUB}\"\n").into_bytes());
    let other = object(packs::BLOB, "blob", b"nothing here\n".to_vec());
    let parent = object(packs::TREE, "tree", tree_entry("160000", "z100644 m", &key.id));
    let child = object(
        packs::TREE,
        "tree",
        [tree_entry("100644", "b", &other.id), tree_entry("100644", "m", &key.id)].concat(),
    );
    let first = commit_object(&parent, None, "submodule");
    let second = commit_object(&child, Some(&first), "files");
    publish(&repo, &[key, other, parent, child, first, second.clone()], &second);

    let run = keyrot_within(repo.path(), &["scan", "--history", "--format", "json"], LIMIT);
    assert_eq!(run.code, 1, "{}", run.all());
    let places: Vec<String> = run.json()["findings"][0]["locations"]
        .as_array()
        .map(|all| all.iter().map(|l| l["path"].as_str().unwrap_or_default().to_string()).collect())
        .unwrap_or_default();
    assert_eq!(places, ["m"], "{}", run.stdout);
}

#[test]
fn a_checked_pack_rewritten_in_place_is_checked_again() {
    let repo = two_commits();
    let head = id_of(&repo, "HEAD");
    let mut objects = packs::objects(repo.path());
    let good = objects.clone();
    let commit = objects.iter_mut().find(|o| o.id == head).unwrap();
    commit.data = packs::insert_delta(commit.data.len(), &commit.data);
    commit.kind = packs::REF_DELTA;
    commit.base = Base::Id(head);
    let hostile = packs::repack(repo.path(), &objects);
    let hostile_bytes =
        (std::fs::read(&hostile).unwrap(), std::fs::read(hostile.with_extension("idx")).unwrap());
    let pack = packs::repack(repo.path(), &good);
    repo.write("staged.txt", "a staged change\n");
    repo.git(&["add", "staged.txt"]);
    let cache = tempfile::tempdir().unwrap();
    let run = keyrot_within_cache(repo.path(), &["scan", "--staged"], LIMIT, cache.path());
    assert_eq!(run.code, 0, "{}", run.all());
    let remembered = std::fs::read_to_string(cache.path().join("keyrot/checked-packs")).unwrap();
    let idx = pack.with_extension("idx");
    assert!(remembered.contains(&idx.display().to_string()), "the pack that passed is remembered");

    std::fs::write(&pack, &hostile_bytes.0).unwrap();
    std::fs::write(&idx, &hostile_bytes.1).unwrap();
    let run = keyrot_within_cache(repo.path(), &["scan", "--staged"], LIMIT, cache.path());
    assert_eq!(run.code, 2, "the same files with new content are checked again:\n{}", run.all());
    assert!(run.stderr.contains(&packs::hex(&head)), "{}", run.all());
}

#[test]
fn a_delta_based_on_itself_is_refused_not_looped_on() {
    let repo = two_commits();
    let head = id_of(&repo, "HEAD");
    assert_refused(&repo, &packs::hex(&head), |objects| {
        let commit = objects.iter_mut().find(|o| o.id == head).unwrap();
        commit.data = packs::insert_delta(commit.data.len(), &commit.data);
        commit.kind = packs::REF_DELTA;
        commit.base = Base::Id(head);
    });
}

#[test]
fn two_deltas_based_on_each_other_are_refused() {
    let repo = two_commits();
    let (first, second) = (id_of(&repo, "HEAD~1"), id_of(&repo, "HEAD"));
    assert_refused(&repo, "", |objects| {
        for (this, other) in [(first, second), (second, first)] {
            let object = objects.iter_mut().find(|o| o.id == this).unwrap();
            object.data = packs::insert_delta(100, &object.data);
            object.kind = packs::REF_DELTA;
            object.base = Base::Id(other);
        }
    });
}

#[test]
fn an_object_of_reserved_type_is_refused_not_panicked_on() {
    let repo = two_commits();
    let tree = id_of(&repo, "HEAD^{tree}");
    assert_refused(&repo, &packs::hex(&tree), |objects| {
        objects.iter_mut().find(|o| o.id == tree).unwrap().kind = 5;
    });
}

#[test]
fn an_offset_delta_into_the_middle_of_an_object_is_refused() {
    let repo = two_commits();
    let head = id_of(&repo, "HEAD");
    assert_refused(&repo, &packs::hex(&head), |objects| {
        let at = objects.iter().position(|o| o.id == head).unwrap();
        let mut commit = objects.remove(at);
        commit.data = packs::insert_delta(10, &commit.data);
        commit.kind = packs::OFS_DELTA;
        // The object before it is at least a few bytes long: 3 bytes back is inside it.
        commit.base = Base::Offset(3);
        objects.push(commit);
    });
}

#[test]
fn a_size_no_zlib_stream_can_hold_is_an_error_not_a_large_file() {
    let repo = two_commits();
    let blob = id_of(&repo, "HEAD:app.py");
    assert_refused(&repo, &packs::hex(&blob), |objects| {
        objects.iter_mut().find(|o| o.id == blob).unwrap().size = Some(1 << 45);
    });
}

#[test]
fn a_branch_tip_that_reads_as_a_blob_is_an_error_not_a_clean_history() {
    let repo = two_commits();
    let head = id_of(&repo, "HEAD");
    let mut objects = packs::objects(repo.path());
    objects.iter_mut().find(|o| o.id == head).unwrap().kind = packs::BLOB;
    packs::repack(repo.path(), &objects);
    let run = keyrot_within(repo.path(), &["scan", "--history"], LIMIT);
    assert_eq!(run.code, 2, "{}", run.all());
    assert!(run.stderr.contains("refs/heads/main"), "names the branch: {}", run.stderr);
    assert!(!run.stdout.contains("no secrets found"), "{}", run.stdout);
}

#[test]
fn an_unreadable_commit_in_the_middle_does_not_hide_the_rest() {
    let repo = Repo::new();
    repo.write("old.txt", "first\n");
    repo.commit("first");
    repo.write("notes.txt", "second\n");
    repo.commit("second");
    repo.write("app.py", format!("TOKEN = \"{GITHUB}\"\n"));
    repo.commit("third, with a token");
    repo.git(&["branch", "side", "HEAD~2"]);
    let middle = id_of(&repo, "HEAD~1");
    let mut objects = packs::objects(repo.path());
    objects.iter_mut().find(|o| o.id == middle).unwrap().data = b"not a commit at all".to_vec();
    packs::repack(repo.path(), &objects);
    let run = keyrot_within(repo.path(), &["scan", "--history", "--format", "json"], LIMIT);
    assert_eq!(run.code, 2, "{}", run.all());
    assert!(run.stderr.contains(&packs::hex(&middle)), "names the commit: {}", run.stderr);
    let json = run.json();
    assert_eq!(json["findings"][0]["rule"], "github-classic-token", "the tip's token is still found");
    assert_not_revealed(&run, &[GITHUB]);
}

#[test]
fn a_missing_tip_is_named_and_the_other_branches_are_scanned() {
    let repo = two_commits();
    std::fs::write(repo.path().join(".git/refs/heads/gone"), format!("{}\n", "ab".repeat(20))).unwrap();
    let run = keyrot_within(repo.path(), &["scan", "--history"], LIMIT);
    assert_eq!(run.code, 2, "{}", run.all());
    assert!(run.stderr.contains("refs/heads/gone"), "{}", run.stderr);
    assert!(run.stdout.contains("github-classic-token"), "main is still scanned: {}", run.stdout);
}

#[test]
fn blobs_and_trees_only_a_tag_points_at_are_scanned() {
    let repo = Repo::new();
    repo.write("README.md", "hello\n");
    repo.commit("init");
    repo.write("loose.txt", format!("TOKEN = \"{GITHUB}\"\n"));
    let blob = repo.git(&["hash-object", "-w", "loose.txt"]);
    repo.git(&["tag", "-a", "-m", "a tagged blob", "blob-tag", blob.trim()]);
    repo.write("t/key.py", format!("TOKEN = \"{GITHUB2}\"\n"));
    repo.git(&["add", "t"]);
    let tree = repo.git(&["write-tree", "--prefix=t/"]);
    repo.git(&["rm", "-q", "-r", "--cached", "t"]);
    repo.git(&["tag", "tree-tag", tree.trim()]);
    std::fs::remove_file(repo.path().join("loose.txt")).unwrap();
    std::fs::remove_dir_all(repo.path().join("t")).unwrap();
    let run = keyrot_within(repo.path(), &["scan", "--history", "--format", "json"], LIMIT);
    assert_eq!(run.code, 1, "{}", run.all());
    let mut paths: Vec<String> = run.json()["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["locations"][0]["path"].as_str().unwrap().to_string())
        .collect();
    paths.sort();
    assert_eq!(paths, ["refs/tags/blob-tag", "refs/tags/tree-tag:key.py"]);
}

#[test]
fn staged_paths_that_name_the_whole_tree_scan_it() {
    let repo = Repo::new();
    repo.write("sub/app.py", format!("TOKEN = \"{GITHUB}\"\n"));
    repo.git(&["add", "."]);
    let root = repo.path().display().to_string();
    for path in [".", "./", "sub/..", root.as_str(), "sub"] {
        let run = keyrot_within(repo.path(), &["scan", "--staged", "--", path], LIMIT);
        assert_eq!(run.code, 1, "--staged {path}: {}", run.all());
        assert!(run.stdout.contains("sub/app.py"), "{}", run.stdout);
    }
    let run = keyrot_within(&repo.path().join("sub"), &["scan", "--staged", ".."], LIMIT);
    assert_eq!(run.code, 1, "--staged .. from a subdirectory: {}", run.all());
}

#[test]
fn a_staged_path_with_nothing_in_the_index_is_not_a_pass() {
    let repo = Repo::new();
    repo.write("README.md", "hello\n");
    repo.git(&["add", "."]);
    let run = keyrot_within(repo.path(), &["scan", "--staged", "missing.py"], LIMIT);
    assert_eq!(run.code, 2, "{}", run.all());
    assert!(run.stderr.contains("missing.py is not in the index"), "{}", run.stderr);
    let run = keyrot_within(repo.path(), &["scan", "--staged", "README.md", "missing.py"], LIMIT);
    assert_eq!(run.code, 0, "one path read is a scan: {}", run.all());
    assert!(run.stderr.contains("missing.py is not in the index"), "{}", run.stderr);
}

#[test]
fn file_names_after_the_separator_are_paths_not_options() {
    let repo = Repo::new();
    repo.write("README.md", "hello\n");
    repo.commit("init");
    repo.write("--reveal", format!("TOKEN = \"{GITHUB}\"\n"));
    repo.write("--max-file-size=0", format!("TOKEN = \"{GITHUB2}\"\n"));
    repo.git(&["add", "--", "--reveal", "--max-file-size=0"]);
    let run = keyrot_within(repo.path(), &["scan", "--staged", "--", "--reveal", "--max-file-size=0"], LIMIT);
    assert_eq!(run.code, 1, "{}", run.all());
    assert!(run.stdout.contains("2 findings"), "{}", run.stdout);
    assert_not_revealed(&run, &[GITHUB, GITHUB2]);
}

#[test]
fn verifying_a_key_read_from_a_named_pipe_does_not_read_the_pipe_again() {
    // An AWS key needs its partner (the key id) from the content it was found in: a pipe can
    // be read only once, and opening it again would wait for a writer forever.
    let dir = plain_dir();
    let fifo = dir.path().join("fifo");
    mkfifo(&fifo);
    let writer = {
        let fifo = fifo.clone();
        let text = "AWS_ACCESS_KEY_ID=AKIAZCEYYKC33JDNH5OY\naws_secret_access_key = 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\n";
        std::thread::spawn(move || std::fs::write(fifo, text).unwrap())
    };
    let args =
        ["scan", "--verify", "--verify-endpoint", "AWS=http://127.0.0.1:9", "--verify-timeout", "1", "fifo"];
    let run = keyrot_within(dir.path(), &args, LIMIT);
    writer.join().unwrap();
    assert_eq!(run.code, 1, "found, checked or not, and finished: {}", run.all());
    assert!(run.stdout.contains("unknown"), "{}", run.all());
}

#[test]
fn standard_input_pipes_and_devices_are_read_bounded() {
    let dir = plain_dir();
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_keyrot"))
        .args(["scan", "-"])
        .current_dir(dir.path())
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child.stdin.take().unwrap().write_all(format!("TOKEN = \"{GITHUB}\"\n").as_bytes()).unwrap();
    let run = Run::from(child.wait_with_output().unwrap());
    assert_eq!(run.code, 1, "{}", run.all());
    assert!(run.stdout.contains("stdin"), "{}", run.stdout);

    let fifo = dir.path().join("fifo");
    mkfifo(&fifo);
    let writer = {
        let fifo = fifo.clone();
        std::thread::spawn(move || std::fs::write(fifo, format!("TOKEN = \"{GITHUB}\"\n")).unwrap())
    };
    let run = keyrot_within(dir.path(), &["scan", "fifo"], LIMIT);
    writer.join().unwrap();
    assert_eq!(run.code, 1, "a named pipe is read: {}", run.all());

    let run = keyrot_within(dir.path(), &["scan", "--max-file-size", "1", "/dev/zero"], LIMIT);
    assert!(run.stderr.contains("over the 1 MB limit"), "/dev/zero ends: {}", run.all());
}

#[test]
fn utf16_text_is_scanned_whole_and_binary_files_by_their_start() {
    let dir = plain_dir();
    // The token comes past the first 8,000 bytes, which tell binary content from text: a file
    // that turns out to be UTF-16 there is read to its end.
    let text = format!("{}$env:TOKEN = \"{GITHUB}\"\r\n", "# a setting\r\n".repeat(500));
    let with_bom: Vec<u8> =
        [0xff, 0xfe].into_iter().chain(text.encode_utf16().flat_map(u16::to_le_bytes)).collect();
    let big_endian: Vec<u8> = text.encode_utf16().flat_map(u16::to_be_bytes).collect();
    std::fs::write(dir.path().join("powershell.txt"), &with_bom).unwrap();
    std::fs::write(dir.path().join("no-bom.txt"), &big_endian).unwrap();
    // A binary file is read no further than that, and still counted whole; one on a secret
    // file's path is reported for its path.
    let binary: Vec<u8> = (0..100_000u32).map(|i| (i % 7) as u8).collect();
    std::fs::write(dir.path().join("release.p12"), &binary).unwrap();
    let run = keyrot_within(dir.path(), &["scan", ".", "--format", "json"], LIMIT);
    assert_eq!(run.code, 1, "{}", run.all());
    let json = run.json();
    let paths = |finding: &serde_json::Value| -> Vec<String> {
        let locations = finding["locations"].as_array().unwrap();
        let mut paths: Vec<String> = locations.iter().map(|l| l["path"].as_str().unwrap().into()).collect();
        paths.sort();
        paths
    };
    let findings: Vec<Vec<String>> = json["findings"].as_array().unwrap().iter().map(paths).collect();
    assert!(findings.contains(&vec!["no-bom.txt".to_string(), "powershell.txt".to_string()]), "{json}");
    assert!(findings.contains(&vec!["release.p12".to_string()]), "{json}");
    assert_eq!(json["scanned"]["bytes"], with_bom.len() + big_endian.len() + binary.len());
}

#[test]
fn a_long_line_with_many_tokens_is_scanned_in_bounded_memory() {
    let dir = plain_dir();
    // Minified or generated text: one 4 MB line. Each match once kept a copy of its whole line,
    // so this file took 2 GB (a 20 MB one with 1,000 tokens was killed at 24 GB).
    let mut seed = 11u64;
    let tokens: Vec<String> = (0..500)
        .map(|_| {
            let body: String = (0..36)
                .map(|_| {
                    seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
                    char::from(
                        b"abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"
                            [(seed >> 33) as usize % 57],
                    )
                })
                .collect();
            format!("ghp_{body}")
        })
        .collect();
    let line = tokens.join(&format!(" {} ", "x".repeat(8000)));
    std::fs::write(dir.path().join("bundle.min.js"), line).unwrap();
    // The time limit only guards against a hang: in a debug build the 500 secrets' fingerprints
    // (PBKDF2) alone take 30 s of CPU, and the other tests run beside this one.
    let run = keyrot_within_memory(dir.path(), &["scan", ".", "--format", "json"], 4 * LIMIT, 1024);
    assert_eq!(run.code, 1, "{}", run.all());
    assert_eq!(run.json()["findings"].as_array().unwrap().len(), 500, "{}", run.stderr);
}

#[test]
fn a_long_line_dense_with_keywords_is_scanned_in_time() {
    let dir = plain_dir();
    // Each keyword occurrence once looked for the line breaks around it across the whole line:
    // a 4.5 MB line of `password=` ran for more than two minutes. Here a 16 MB line with one
    // occurrence per 111 bytes, not so dense that occurrences stop being recorded.
    let chunk = format!("password=abc123def456 {} ", "x".repeat(88));
    std::fs::write(dir.path().join("dump.txt"), chunk.repeat(150_000)).unwrap();
    let run = keyrot_within(dir.path(), &["scan", "."], LIMIT);
    assert!(run.code <= 1, "{}", run.all());
}

#[test]
fn windows_whose_end_cuts_a_lookalike_are_scanned_in_time() {
    let dir = plain_dir();
    // A rules file from a pull request: a context rule whose secret's shape ends in `\b`. Each
    // unit holds that shape alone (so a window around it), and a name with a look-alike that
    // the window's end cuts right where `\b` would hold. Each cut once sent a search through the
    // rest of the file: this 4 MB file took 46 s, a 50 MB one would have taken hours.
    let rule = r#"
[[rules]]
id = "acme-key"
regex = '''(?:^|[^a-z])(?i:acme)[\t -~]{0,20}(sk_[a-z]{4}\b)'''
keywords = ["acme_config"]
"#;
    std::fs::write(dir.path().join(".keyrot.toml"), rule).unwrap();
    let unit = format!("sk_abcd acme{}sk_wxyzq\n{}\n", " ".repeat(16), "-".repeat(300));
    let text = format!("acme_config\nacme sk_qqqq\n{}acme sk_zzzz\n", unit.repeat(12_000));
    std::fs::write(dir.path().join("units.txt"), text).unwrap();
    let run = keyrot_within(dir.path(), &["scan", ".", "--format", "json"], LIMIT);
    assert_eq!(run.code, 1, "{}", run.all());
    let findings = run.json()["findings"].as_array().unwrap().clone();
    let lines: Vec<_> = findings.iter().map(|f| f["locations"][0]["line"].clone()).collect();
    assert_eq!(lines, [2, 24_003], "{}", run.stderr);
}

#[test]
fn a_keyword_longer_than_its_rules_longest_match_is_not_a_crash() {
    let dir = plain_dir();
    // A rules file from a pull request may list a context keyword longer than any match of its
    // regex: the window around it was cut inside the keyword, and the scan panicked.
    let rule = r#"
[[rules]]
id = "short-token"
regex = '''zz_([a-z0-9]{20})'''
keywords = ["zz_", "a_context_name_longer_than_any_match"]
"#;
    std::fs::write(dir.path().join(".keyrot.toml"), rule).unwrap();
    let text = "a_context_name_longer_than_any_match\nzz_k3j9x7q2m8w4t6v1b5n0\n";
    std::fs::write(dir.path().join("a.txt"), text).unwrap();
    let run = keyrot_within(dir.path(), &["scan", ".", "--format", "json"], LIMIT);
    assert_eq!(run.code, 1, "{}", run.all());
    let findings = run.json()["findings"].as_array().unwrap().clone();
    assert_eq!(findings.len(), 1, "{}", run.stdout);
    assert_eq!(findings[0]["locations"][0]["line"], 2, "{}", run.stdout);
}

#[test]
fn a_file_dense_with_keywords_is_scanned_in_bounded_memory() {
    let dir = plain_dir();
    // Every keyword occurrence was kept for windows: 1.6 million of them here, 9 million (and
    // 624 MB) in a 45 MB file.
    std::fs::write(dir.path().join("keys.txt"), "key=\n".repeat(1_600_000)).unwrap();
    let run = keyrot_within_memory(dir.path(), &["scan", "."], LIMIT, 200);
    assert_eq!(run.code, 0, "{}", run.all());
}

#[test]
fn a_million_matches_are_capped_with_a_warning() {
    let dir = plain_dir();
    // One secret on every line keeps the test fast (a fingerprint is slow on purpose); what is
    // capped is the number of matches, distinct or not.
    let lines = "password = \"Zq8#vL2!mK0000001xR4t\"\n".repeat(3000);
    std::fs::write(dir.path().join("dump.env.txt"), lines).unwrap();
    let run = keyrot_within(dir.path(), &["scan", ".", "--format", "json"], LIMIT);
    assert_eq!(run.code, 1, "{}", run.all());
    assert_eq!(run.json()["findings"][0]["location_count"], 1000);
    assert!(run.stderr.contains("stopped after 1000 matches"), "{}", run.stderr);
}

#[test]
fn a_staged_copy_of_a_pushed_secret_is_pushed_not_staged() {
    let origin = plain_dir();
    git_in(origin.path(), &["init", "-q", "--bare", "-b", "main"], "2026-01-05T09:00:00Z");
    let repo = Repo::new();
    repo.write("config.py", format!("TOKEN = \"{GITHUB}\"\n"));
    repo.commit("config");
    repo.git(&["remote", "add", "origin", &origin.path().display().to_string()]);
    repo.git(&["push", "-q", "origin", "main"]);
    repo.write("copy/of/config.py", format!("TOKEN = \"{GITHUB}\"\n"));
    repo.git(&["add", "copy"]);
    let run = keyrot_within(repo.path(), &["scan", "--staged", "--format", "json"], LIMIT);
    assert_eq!(run.code, 1, "{}", run.all());
    assert_eq!(run.json()["findings"][0]["exposure"], "pushed", "{}", run.stdout);
}

/// git's reader (and a plain read) would wait forever on a FIFO where the index belongs: the
/// pre-commit scan names it and fails instead.
#[test]
fn a_fifo_as_the_index_is_an_error_not_a_hang() {
    let repo = Repo::new();
    repo.write("a.txt", "a\n");
    repo.commit("init");
    let index = repo.path().join(".git/index");
    std::fs::remove_file(&index).unwrap();
    mkfifo(&index);
    let run = keyrot_within(repo.path(), &["scan", "--staged"], std::time::Duration::from_secs(20));
    assert_eq!(run.code, 2, "{}", run.all());
    assert!(run.stderr.contains(".git/index") && run.stderr.contains("not a regular file"), "{}", run.stderr);
}

/// libgit2 opens `objects/info/alternates` to find more objects, and would wait forever on a
/// FIFO there: every scan that reads objects names it and fails instead (a pre-push hook before
/// it reads the commits a push sends).
#[test]
fn a_fifo_as_the_alternates_file_is_an_error_not_a_hang() {
    let repo = Repo::new();
    repo.write("a.txt", "a\n");
    repo.commit("init");
    repo.write("a.txt", "b\n");
    repo.git(&["add", "a.txt"]);
    let head = repo.git(&["rev-parse", "HEAD"]);
    let branch = repo.git(&["symbolic-ref", "HEAD"]);
    let push = format!("{0} {1} {0} {2}\n", branch.trim(), head.trim(), "0".repeat(40));
    mkfifo(&repo.path().join(".git/objects/info/alternates"));
    for args in
        [&["scan", "--staged"][..], &["scan", "--history"], &["scan", "--pre-push", "origin", "/nowhere"]]
    {
        let run = keyrot_within_input(repo.path(), args, &push, std::time::Duration::from_secs(20));
        assert_eq!(run.code, 2, "{args:?}: {}", run.all());
        assert!(
            run.stderr.contains("info/alternates") && run.stderr.contains("not a regular file"),
            "{}",
            run.stderr
        );
    }
}

/// libgit2 opens every pack, its index and the multi-pack index to find objects, and would
/// wait forever on a FIFO at any of them: the scan names it and fails instead.
#[test]
fn a_fifo_among_the_packs_is_an_error_not_a_hang() {
    for name in ["pack-1111111111111111111111111111111111111111.idx", "multi-pack-index", "pack"] {
        let repo = Repo::new();
        repo.write("a.txt", "a\n");
        repo.commit("init");
        repo.git(&["repack", "-adq"]);
        repo.write("a.txt", "b\n");
        repo.git(&["add", "a.txt"]);
        let pack_dir = repo.path().join(".git/objects/pack");
        let fifo = if name == "pack" {
            // The pack beside an index that is there: the pack git wrote, made a FIFO.
            let idx = std::fs::read_dir(&pack_dir)
                .unwrap()
                .map(|e| e.unwrap().path())
                .find(|p| p.extension().is_some_and(|e| e == "idx"))
                .unwrap();
            std::fs::remove_file(idx.with_extension("pack")).unwrap();
            idx.with_extension("pack")
        } else {
            pack_dir.join(name)
        };
        mkfifo(&fifo);
        for args in [&["scan", "--staged"][..], &["scan", "--history"]] {
            let run = keyrot_within(repo.path(), args, LIMIT);
            assert_eq!(run.code, 2, "{name} {args:?}: {}", run.all());
            let named = fifo.file_name().unwrap().to_str().unwrap();
            assert!(
                run.stderr.contains(named) && run.stderr.contains("not a regular file"),
                "{}",
                run.stderr
            );
        }
    }
}
