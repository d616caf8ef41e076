//! Compiles the built-in rules into the binary as static data: `rules.toml` minus its examples,
//! written out as the `RawRule` values a rules file parses to (`src/builtin.rs` includes them).
//! Their texts are spans of one string and their lists spans of tables (`src/text.rs`), so the
//! data holds no pointer and the loader has nothing to relocate. A run parses no TOML at start
//! and copies no rule (keyrot runs at every commit). The examples stay in `rules.toml`, where
//! the tests read them. A field this generator does not know fails the build, so nothing in
//! `rules.toml` is silently left out of the binary; so does a rule id used twice. Keywords are
//! written lower-case, as the matcher uses them. Each rule also carries what its regex tells
//! the matcher (its reach and pins), the relaxed syntax tree its precheck is built from and
//! its path pattern's syntax tree (`src/treecode.rs`, in `trees.bin`), worked out here by the
//! same code as at run time, so that a run parses a rule's regex only to search with it.

#[allow(dead_code)]
#[path = "src/pins.rs"]
mod pins;
#[allow(dead_code)]
#[path = "src/reach.rs"]
mod reach;
#[path = "src/syntax.rs"]
mod syntax;
#[allow(dead_code)]
#[path = "src/treecode.rs"]
mod treecode;

use regex_syntax::hir::Hir;
use std::collections::{HashMap, HashSet};
use std::fmt::Write;
use std::path::PathBuf;
use toml::Value;

const RULE_FIELDS: [&str; 14] = [
    "id",
    "description",
    "regex",
    "secretGroup",
    "entropy",
    "path",
    "keywords",
    "tags",
    "allowlists",
    "provider",
    "publicGroup",
    "near",
    "confidence",
    "rotate",
];
/// Read by the tests from `rules.toml` itself; not part of a rule at run time.
const EXAMPLE_FIELDS: [&str; 3] = ["examples", "negative_examples", "examplePath"];
const ALLOWLIST_FIELDS: [&str; 8] =
    ["description", "condition", "commits", "paths", "globs", "regexTarget", "regexes", "stopwords"];

fn main() {
    println!("cargo:rerun-if-changed=rules.toml");
    let text = std::fs::read_to_string("rules.toml").expect("rules.toml is readable");
    let rules: toml::Table = match toml::from_str(&text) {
        Ok(value) => value,
        Err(e) => panic!("rules.toml does not parse: {e}"),
    };
    for key in rules.keys() {
        assert!(
            ["title", "rules", "allowlists"].contains(&key.as_str()),
            "rules.toml: unknown top-level {key}"
        );
    }
    let mut tables = Tables::default();
    let global: Vec<String> =
        list(rules.get("allowlists")).iter().map(|a| tables.allowlist(a, true)).collect();
    let mut ids = HashSet::new();
    let mut literals = Vec::new();
    let mut analyses = Vec::new();
    let mut trees = Vec::new();
    let mut path_trees = Vec::new();
    let mut tree_code = Vec::new();
    for rule in list(rules.get("rules")) {
        let rule = rule.as_table().expect("a rule is a table");
        let id = rule.get("id").and_then(Value::as_str).unwrap_or("?");
        assert!(ids.insert(id), "rules.toml: rule id {id} is used twice");
        for key in rule.keys() {
            let known = RULE_FIELDS.contains(&key.as_str()) || EXAMPLE_FIELDS.contains(&key.as_str());
            assert!(known, "rules.toml: rule {id}: field {key} is not compiled into the binary");
        }
        let keywords: Vec<String> = list(rule.get("keywords"))
            .iter()
            .map(|keyword| {
                let keyword = keyword.as_str().expect("a keyword is a string");
                assert!(!keyword.is_empty(), "rules.toml: rule {id}: empty keyword");
                keyword.to_lowercase()
            })
            .collect();
        let near = rule
            .get("near")
            .map(|n| usize::try_from(n.as_integer().expect("an integer")).expect("near >= 0"));
        let tree = rule.get("regex").and_then(|r| syntax::tree(r.as_str().expect("a string")));
        analyses.push(tables.analysis(tree.as_ref(), &keywords, near));
        trees.push(tree_span(tree.as_ref().map(syntax::relaxed), &mut tree_code));
        let path = rule.get("path").map(|p| p.as_str().expect("a string"));
        path_trees.push(tree_span(path.and_then(syntax::tree), &mut tree_code));
        let analysis = format!("Some({})", analyses.len() - 1);
        let keywords = Value::Array(keywords.into_iter().map(Value::String).collect());
        let rotate = match rule.get("rotate").and_then(Value::as_table) {
            Some(rotate) => format!(
                "Some(RawRotate {{ url: {}, steps: {} }})",
                tables.text(rotate.get("url").and_then(Value::as_str).expect("rotate has a url")),
                tables.texts(rotate.get("steps"))
            ),
            None => "None".into(),
        };
        let allowlists: Vec<String> =
            list(rule.get("allowlists")).iter().map(|a| tables.allowlist(a, false)).collect();
        let allowlists = span("List", &mut tables.rule_allowlists, allowlists);
        literals.push(format!(
            "RawRule {{ id: {}, description: {}, regex: {}, secret_group: {}, entropy: {}, path: {}, \
             keywords: {}, tags: {}, provider: {}, public_group: {}, near: {}, confidence: {}, \
             rotate: {rotate}, skip_report: None, allowlist: None, required: None, example_path: None, \
             examples: Vec::new(), negative_examples: Vec::new(), origin: {}, builtin: true, \
             allowlists: {allowlists}, analysis: {analysis} }}",
            tables.text(id),
            tables.opt_text(rule.get("description")),
            tables.opt_text(rule.get("regex")),
            opt_int(rule.get("secretGroup")),
            opt_float(rule.get("entropy")),
            tables.opt_text(rule.get("path")),
            tables.texts(Some(&keywords)),
            tables.texts(rule.get("tags")),
            tables.opt_text(rule.get("provider")),
            opt_int(rule.get("publicGroup")),
            opt_int(rule.get("near")),
            tables.opt_text(rule.get("confidence")),
            tables.text("built-in rules.toml"),
        ));
    }
    let mut out = String::new();
    let title = rules.get("title").map(|t| t.as_str().expect("title is a string"));
    writeln!(out, "pub static TITLE: Option<&str> = {title:?};").unwrap();
    writeln!(out, "pub static STRINGS: &str = {:?};", tables.strings).unwrap();
    array(&mut out, "TEXTS", "Text", &tables.texts);
    array(&mut out, "RULE_ALLOWLISTS", "RawAllowlist", &tables.rule_allowlists);
    array(&mut out, "ALLOWLISTS", "RawAllowlist", &global);
    array(&mut out, "RULES", "RawRule", &literals);
    array(&mut out, "ANALYSES", "Analysis", &analyses);
    array(&mut out, "PRECHECK_TREES", "(u32, u32)", &trees);
    array(&mut out, "PATH_TREES", "(u32, u32)", &path_trees);
    writeln!(
        out,
        "pub static TREE_CODE: &[u8] = include_bytes!(concat!(env!(\"OUT_DIR\"), \"/trees.bin\"));"
    )
    .unwrap();
    let dir = PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    std::fs::write(dir.join("rules.rs"), out).expect("OUT_DIR is writable");
    std::fs::write(dir.join("trees.bin"), tree_code).expect("OUT_DIR is writable");
}

/// The span of `code` that holds `tree` (`treecode.rs`), appended there; an empty span when
/// there is none, or the code cannot hold it.
fn tree_span(tree: Option<Hir>, code: &mut Vec<u8>) -> String {
    let start = code.len();
    if let Some(tree) = tree {
        treecode::write(&tree, code);
    }
    format!("({start}, {})", code.len() - start)
}

/// The tables the rules' texts and lists are spans of: every text once in one string, the
/// items of each list in a row, each rule's allowlists in a row.
#[derive(Default)]
struct Tables {
    strings: String,
    spans: HashMap<String, String>,
    texts: Vec<String>,
    rule_allowlists: Vec<String>,
}

impl Tables {
    /// `text` as a span of the string of texts.
    fn text(&mut self, text: &str) -> String {
        if let Some(span) = self.spans.get(text) {
            return span.clone();
        }
        let span = format!("Text::builtin({}, {})", self.strings.len(), text.len());
        self.strings.push_str(text);
        self.spans.insert(text.to_string(), span.clone());
        span
    }

    fn opt_text(&mut self, value: Option<&Value>) -> String {
        value.map_or("None".into(), |v| format!("Some({})", self.text(v.as_str().expect("a string"))))
    }

    /// A list of texts as a span of the table of texts.
    fn texts(&mut self, value: Option<&Value>) -> String {
        let items = list(value).iter().map(|v| self.text(v.as_str().expect("a string"))).collect();
        span("List", &mut self.texts, items)
    }

    /// What a rule's regex tells the matcher (`config::Analysis`), as Rust: `reach.rs` and
    /// `pins.rs` derive `Debug`, which writes their plain values as the expressions that build
    /// them; an `After`'s strings go in the tables.
    fn analysis(&mut self, tree: Option<&Hir>, keywords: &[String], near: Option<usize>) -> String {
        let Some(tree) = tree else {
            return "Analysis { reach: None, pins: None, before: None, after: None, at_start: false }".into();
        };
        let after = match reach::after(tree, keywords) {
            Some(after) => {
                let strings = after.strings.iter().map(|s| Value::String(s.clone())).collect();
                let strings = self.texts(Some(&Value::Array(strings)));
                format!("Some(After {{ min: {}, max: {}, strings: {strings} }})", after.min, after.max)
            }
            None => "None".into(),
        };
        format!(
            "Analysis {{ reach: {:?}, pins: {:?}, before: {:?}, after: {after}, at_start: {} }}",
            reach::of_tree(tree, keywords, near),
            pins::of_tree(tree),
            reach::before(tree, keywords),
            reach::at_start(tree)
        )
    }

    fn allowlist(&mut self, allowlist: &Value, global: bool) -> String {
        let table = allowlist.as_table().expect("an allowlist is a table");
        for key in table.keys() {
            let known = ALLOWLIST_FIELDS.contains(&key.as_str()) || (global && key == "targetRules");
            assert!(known, "rules.toml: allowlist field {key} is not compiled into the binary");
        }
        format!(
            "RawAllowlist {{ description: None, condition: {}, commits: {}, paths: {}, globs: {}, \
             regex_target: {}, regexes: {}, stopwords: {}, target_rules: {} }}",
            self.opt_text(table.get("condition")),
            self.texts(table.get("commits")),
            self.texts(table.get("paths")),
            self.texts(table.get("globs")),
            self.opt_text(table.get("regexTarget")),
            self.texts(table.get("regexes")),
            self.texts(table.get("stopwords")),
            self.texts(table.get("targetRules")),
        )
    }
}

/// `items` appended to `table`, as the `kind` that spans them there.
fn span(kind: &str, table: &mut Vec<String>, items: Vec<String>) -> String {
    let span = format!("{kind}::builtin({}, {})", table.len(), items.len());
    table.extend(items);
    span
}

fn array(out: &mut String, name: &str, item: &str, items: &[String]) {
    writeln!(out, "pub static {name}: [{item}; {}] = [", items.len()).unwrap();
    for literal in items {
        writeln!(out, "{literal},").unwrap();
    }
    writeln!(out, "];").unwrap();
}

fn list(value: Option<&Value>) -> &[Value] {
    value.map_or(&[], |v| v.as_array().expect("an array"))
}

fn opt_int(value: Option<&Value>) -> String {
    value.map_or("None".into(), |v| format!("Some({})", v.as_integer().expect("an integer")))
}

fn opt_float(value: Option<&Value>) -> String {
    let float = |v: &Value| v.as_float().or(v.as_integer().map(|i| i as f64)).expect("a number");
    value.map_or("None".into(), |v| format!("Some({:?})", float(v)))
}
