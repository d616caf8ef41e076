//! Compiles the built-in rules into the binary as static data: `rules.toml` minus its examples,
//! written out as the `RawRule` values a rules file parses to, every text borrowed from the
//! binary (`src/builtin.rs` includes them). A run parses no TOML at start and copies no rule
//! (keyrot runs at every commit). The examples stay in `rules.toml`, where the tests read them.
//! A field this generator does not know fails the build, so nothing in `rules.toml` is silently
//! left out of the binary. Keywords are written lower-case, as the matcher uses them.

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
    let mut out = String::new();
    for key in rules.keys() {
        assert!(
            ["title", "rules", "allowlists"].contains(&key.as_str()),
            "rules.toml: unknown top-level {key}"
        );
    }
    let title = rules.get("title").map(|t| t.as_str().expect("title is a string"));
    writeln!(out, "pub static TITLE: Option<&str> = {title:?};").unwrap();
    writeln!(out, "pub static ALLOWLISTS: &[RawAllowlist] = &[").unwrap();
    for allowlist in list(rules.get("allowlists")) {
        allowlist_literal(&mut out, allowlist, true);
    }
    writeln!(out, "];\npub static RULES: &[RawRule] = &[").unwrap();
    for rule in list(rules.get("rules")) {
        let rule = rule.as_table().expect("a rule is a table");
        let id = rule.get("id").and_then(Value::as_str).unwrap_or("?");
        for key in rule.keys() {
            let known = RULE_FIELDS.contains(&key.as_str()) || EXAMPLE_FIELDS.contains(&key.as_str());
            assert!(known, "rules.toml: rule {id}: field {key} is not compiled into the binary");
        }
        for keyword in list(rule.get("keywords")) {
            let keyword = keyword.as_str().expect("a keyword is a string");
            assert!(!keyword.is_empty(), "rules.toml: rule {id}: empty keyword");
        }
        let rotate = match rule.get("rotate").and_then(Value::as_table) {
            Some(rotate) => format!(
                "Some(RawRotate {{ url: Cow::Borrowed({:?}), steps: {} }})",
                rotate.get("url").and_then(Value::as_str).expect("rotate has a url"),
                strs(rotate.get("steps"))
            ),
            None => "None".into(),
        };
        writeln!(
            out,
            "RawRule {{ id: Cow::Borrowed({:?}), description: {}, regex: {}, secret_group: {}, entropy: {}, \
             path: {}, keywords: {}, tags: {}, provider: {}, public_group: {}, near: {}, confidence: {}, \
             rotate: {rotate}, skip_report: None, allowlist: None, required: None, example_path: None, \
             examples: Vec::new(), negative_examples: Vec::new(), origin: Cow::Borrowed(BUILTIN_NAME), \
             builtin: true, allowlists: Cow::Borrowed(&[",
            id,
            opt_str(rule.get("description")),
            opt_str(rule.get("regex")),
            opt_int(rule.get("secretGroup")),
            opt_float(rule.get("entropy")),
            opt_str(rule.get("path")),
            strs(Some(&Value::Array(
                list(rule.get("keywords"))
                    .iter()
                    .map(|k| Value::String(k.as_str().unwrap().to_lowercase()))
                    .collect()
            ))),
            strs(rule.get("tags")),
            opt_str(rule.get("provider")),
            opt_int(rule.get("publicGroup")),
            opt_int(rule.get("near")),
            opt_str(rule.get("confidence")),
        )
        .unwrap();
        for allowlist in list(rule.get("allowlists")) {
            allowlist_literal(&mut out, allowlist, false);
        }
        writeln!(out, "]) }},").unwrap();
    }
    writeln!(out, "];").unwrap();
    let path = PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR")).join("rules.rs");
    std::fs::write(path, out).expect("OUT_DIR is writable");
}

fn allowlist_literal(out: &mut String, allowlist: &Value, global: bool) {
    let table = allowlist.as_table().expect("an allowlist is a table");
    for key in table.keys() {
        let known = ALLOWLIST_FIELDS.contains(&key.as_str()) || (global && key == "targetRules");
        assert!(known, "rules.toml: allowlist field {key} is not compiled into the binary");
    }
    writeln!(
        out,
        "RawAllowlist {{ description: None, condition: {}, commits: {}, paths: {}, globs: {}, regex_target: {}, \
         regexes: {}, stopwords: {}, target_rules: {} }},",
        opt_str(table.get("condition")),
        strs(table.get("commits")),
        strs(table.get("paths")),
        strs(table.get("globs")),
        opt_str(table.get("regexTarget")),
        strs(table.get("regexes")),
        strs(table.get("stopwords")),
        strs(table.get("targetRules")),
    )
    .unwrap();
}

fn list(value: Option<&Value>) -> &[Value] {
    value.map_or(&[], |v| v.as_array().expect("an array"))
}

fn opt_str(value: Option<&Value>) -> String {
    value.map_or("None".into(), |v| format!("Some(Cow::Borrowed({:?}))", v.as_str().expect("a string")))
}

fn opt_int(value: Option<&Value>) -> String {
    value.map_or("None".into(), |v| format!("Some({})", v.as_integer().expect("an integer")))
}

fn opt_float(value: Option<&Value>) -> String {
    let float = |v: &Value| v.as_float().or(v.as_integer().map(|i| i as f64)).expect("a number");
    value.map_or("None".into(), |v| format!("Some({:?})", float(v)))
}

fn strs(value: Option<&Value>) -> String {
    let items: Vec<String> =
        list(value).iter().map(|v| format!("Cow::Borrowed({:?})", v.as_str().expect("a string"))).collect();
    format!("Cow::Borrowed(&[{}])", items.join(", "))
}
