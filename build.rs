//! Embeds the built-in rules compactly: `rules.toml` minus its examples, as JSON, which parses
//! several times faster than the TOML at every start (keyrot runs at every commit). The examples
//! stay in `rules.toml`, where the tests read them.

use std::path::PathBuf;

fn main() {
    println!("cargo:rerun-if-changed=rules.toml");
    let text = std::fs::read_to_string("rules.toml").expect("rules.toml is readable");
    let mut rules: toml::Value = match toml::from_str(&text) {
        Ok(value) => value,
        Err(e) => panic!("rules.toml does not parse: {e}"),
    };
    if let Some(list) = rules.get_mut("rules").and_then(toml::Value::as_array_mut) {
        for rule in list.iter_mut().filter_map(toml::Value::as_table_mut) {
            rule.remove("examples");
            rule.remove("negative_examples");
            rule.remove("examplePath");
        }
    }
    let json = serde_json::to_string(&rules).expect("TOML values serialize as JSON");
    let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR")).join("rules.json");
    std::fs::write(out, json).expect("OUT_DIR is writable");
}
