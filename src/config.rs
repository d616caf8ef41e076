//! Rules files as written: the plain serde structs of `rules.toml`, `.keyrot.toml` and
//! `.gitleaks.toml`, and how they combine (`[extend]`, rule overrides, disabled rules). This file
//! only reads and merges TOML; compiling patterns into rules is `rules.rs`'s job.
//!
//! The schema is a superset of gitleaks': every gitleaks field is accepted by name; the few that
//! keyrot does not implement are reported as unsupported instead of being silently ignored.

use crate::error::{one_line, without_values, Error, Result};
use crate::textfile;
use serde::Deserialize;
use std::borrow::Cow;
use std::collections::{HashMap, HashSet};
use std::path::Path;

use crate::text::{List, Tabled};
pub use crate::text::{Text, Texts};

/// The built-in rules as written, examples included (for the tests of the rules themselves).
#[cfg(test)]
pub const BUILTIN_RULES: &str = include_str!("../rules.toml");
pub const BUILTIN_NAME: &str = "built-in rules.toml";

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RawConfig {
    pub title: Option<String>,
    pub min_version: Option<String>,
    pub extend: Option<RawExtend>,
    #[serde(default)]
    pub rules: Vec<RawRule>,
    #[serde(default)]
    pub allowlists: Vec<RawAllowlist>,
    /// The older single global allowlist (`[allowlist]`).
    pub allowlist: Option<RawAllowlist>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RawExtend {
    pub use_default: Option<bool>,
    pub path: Option<String>,
    pub url: Option<String>,
    #[serde(default)]
    pub disabled_rules: Vec<String>,
}

#[derive(Debug, Default, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RawRule {
    pub id: Text,
    pub description: Option<Text>,
    pub regex: Option<Text>,
    pub secret_group: Option<usize>,
    pub entropy: Option<f64>,
    pub path: Option<Text>,
    #[serde(default)]
    pub keywords: Texts,
    #[serde(default)]
    pub tags: Texts,
    pub skip_report: Option<bool>,
    #[serde(default)]
    pub allowlists: List<RawAllowlist>,
    /// Boxed: the built-in rules have none, and they are a thousand in the binary.
    pub allowlist: Option<Box<RawAllowlist>>,
    pub required: Option<toml::Value>,
    // keyrot's own fields.
    pub provider: Option<Text>,
    /// Capture group naming the key's public identifier (a FAL key id, an AWS access key id).
    pub public_group: Option<usize>,
    /// A keyword must occur within this many bytes of a match (before, inside or after it): for
    /// keys with no prefix, recognised by the provider's name nearby.
    pub near: Option<usize>,
    /// How sure a match of this rule is to be a secret: high, medium or low.
    pub confidence: Option<Text>,
    /// For a rule restricted by `path`: the path its examples are checked at.
    pub example_path: Option<String>,
    pub rotate: Option<RawRotate>,
    #[serde(default)]
    pub examples: Vec<String>,
    #[serde(default, rename = "negative_examples")]
    pub negative_examples: Vec<String>,
    /// The file this rule was read from (set when merging, not a field of the file).
    #[serde(skip)]
    pub origin: Text,
    /// One of the built-in rules, which the build and the tests check (not a field of the file).
    #[serde(skip)]
    pub builtin: bool,
    /// For a built-in rule, where the build put what its regex tells the matcher: an index in
    /// `builtin::ANALYSES` (not a field of the file).
    #[serde(skip)]
    pub analysis: Option<u32>,
}

/// What a built-in rule's regex and keywords tell the matcher, worked out by `build.rs` with
/// `reach.rs` and `pins.rs` as a run would, so that a run does not parse the regex for it.
#[derive(Debug, Clone, PartialEq)]
pub struct Analysis {
    pub reach: Option<crate::reach::Reach>,
    pub pins: Option<crate::pins::Pins>,
    pub before: Option<crate::reach::Before>,
    pub after: Option<crate::reach::After<Texts>>,
    /// Every match starts at the start of the text (`\A`): the regex is tried there alone.
    pub at_start: bool,
}

impl Analysis {
    /// What a run works out of a regex's syntax tree (`None`: it does not parse) and a rule's
    /// lower-case keywords.
    pub fn of(
        tree: Option<&regex_syntax::hir::Hir>,
        keywords: &[impl AsRef<str>],
        near: Option<usize>,
    ) -> Analysis {
        Analysis {
            reach: tree.and_then(|tree| crate::reach::of_tree(tree, keywords, near)),
            pins: tree.and_then(crate::pins::of_tree),
            before: tree.and_then(|tree| crate::reach::before(tree, keywords)),
            after: tree
                .and_then(|tree| crate::reach::after(tree, keywords))
                .map(|after| after.with_strings(|strings| strings.into_iter().map(Text::from).collect())),
            at_start: tree.is_some_and(crate::reach::at_start),
        }
    }
}

#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRotate {
    pub url: Text,
    #[serde(default)]
    pub steps: Texts,
}

#[derive(Debug, Default, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RawAllowlist {
    /// Documentation only.
    #[allow(dead_code)]
    pub description: Option<Text>,
    pub condition: Option<Text>,
    #[serde(default)]
    pub commits: Texts,
    #[serde(default)]
    pub paths: Texts,
    /// keyrot: path globs, as an alternative to `paths` regexes.
    #[serde(default)]
    pub globs: Texts,
    pub regex_target: Option<Text>,
    #[serde(default)]
    pub regexes: Texts,
    #[serde(default)]
    pub stopwords: Texts,
    #[serde(default)]
    pub target_rules: Texts,
}

impl Tabled for RawAllowlist {
    fn table() -> &'static [RawAllowlist] {
        &crate::builtin::RULE_ALLOWLISTS
    }
}

/// Whether a user file adds to the built-in rules or replaces them when it has no `[extend]`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DefaultBase {
    /// `.keyrot.toml`: extends the built-in rules unless `useDefault = false`.
    Extend,
    /// `.gitleaks.toml` / `--config`: as gitleaks, replaces them unless `useDefault = true`.
    Replace,
}

/// A parsed and merged configuration, with the name of every file it came from.
#[derive(Debug, Default)]
pub struct Config {
    /// Borrowed from the binary while they are the built-in rules alone.
    pub rules: Cow<'static, [RawRule]>,
    pub allowlists: Cow<'static, [RawAllowlist]>,
    /// Files the rules came from, outermost last, for `keyrot config show`.
    pub origins: Vec<String>,
    /// The `title` of the outermost file that has one.
    pub title: Option<String>,
    /// Whether the built-in rules file is part of this configuration (its regexes are tested,
    /// so they may compile lazily; user rules are compiled up front).
    pub includes_builtin: bool,
    /// Names of fields that were accepted but are not implemented (warned about once).
    pub unsupported: Vec<String>,
}

pub fn parse(text: &str, name: &str) -> Result<RawConfig> {
    toml::from_str(text).map_err(|e| {
        let location = e.span().map(|span| line_of(text, span.start));
        let file = match location {
            Some(line) => format!("{name}:{line}"),
            None => name.to_string(),
        };
        Error::Config { file, message: without_values(&one_line(e.message())) }
    })
}

fn line_of(text: &str, offset: usize) -> usize {
    text[..offset.min(text.len())].bytes().filter(|&b| b == b'\n').count() + 1
}

/// The built-in rules alone: borrowed as they are, without the merge a file goes through (their
/// ids are unique, which `Rules::build` checks, and they use no unsupported field).
pub fn builtin() -> Result<Config> {
    Ok(Config {
        rules: Cow::Borrowed(&crate::builtin::RULES),
        allowlists: Cow::Borrowed(&crate::builtin::ALLOWLISTS),
        origins: vec![BUILTIN_NAME.to_string()],
        title: crate::builtin::TITLE.map(String::from),
        includes_builtin: true,
        unsupported: Vec::new(),
    })
}

/// Loads a user rules file and resolves its `[extend]` chain (at most two levels, as gitleaks).
pub fn load_file(path: &Path, base: DefaultBase) -> Result<Config> {
    load_with_depth(path, base, 0)
}

fn load_with_depth(path: &Path, base: DefaultBase, depth: usize) -> Result<Config> {
    let name = path.display().to_string();
    let text = textfile::read(path, textfile::CONFIG_LIMIT)?;
    let raw = parse(&text, &name)?;
    let extend = raw.extend.as_ref();
    let use_default = extend
        .and_then(|e| e.use_default)
        .unwrap_or(base == DefaultBase::Extend && extend.and_then(|e| e.path.as_ref()).is_none());
    let mut config = if let Some(parent) = extend.and_then(|e| e.path.as_ref()) {
        if depth >= 2 {
            return Err(Error::Config {
                file: name,
                message: "[extend] chains deeper than two files are not supported".into(),
            });
        }
        let parent_path = path.parent().unwrap_or(Path::new(".")).join(parent);
        load_with_depth(&parent_path, DefaultBase::Replace, depth + 1)?
    } else if use_default {
        builtin()?
    } else {
        Config::default()
    };
    if let Some(url) = extend.and_then(|e| e.url.as_ref()) {
        config.unsupported.push(format!("{name}: [extend] url = {url:?} (not fetched)"));
    }
    if let Some(disabled) =
        extend.map(|e| e.disabled_rules.iter().map(String::as_str).collect::<HashSet<_>>())
    {
        config.rules.to_mut().retain(|r| !disabled.contains(r.id.as_ref()));
    }
    config.merge(raw, &name);
    Ok(config)
}

impl Config {
    /// Adds a file's rules and allowlists; a rule whose id already exists replaces the old one
    /// in place, keeping rule order stable.
    fn merge(&mut self, raw: RawConfig, name: &str) {
        if raw.min_version.is_some() {
            self.unsupported.push(format!("{name}: minVersion (ignored)"));
        }
        let mut index: HashMap<Text, usize> =
            self.rules.iter().enumerate().map(|(i, r)| (r.id.clone(), i)).collect();
        let rules = self.rules.to_mut();
        rules.reserve(raw.rules.len());
        for mut rule in raw.rules {
            rule.origin = name.to_string().into();
            let id = || crate::report::escape(&rule.id);
            if rule.required.is_some() {
                self.unsupported
                    .push(format!("{name}: rule '{}': [[rules.required]] (composite rules)", id()));
            }
            if rule.skip_report == Some(true) {
                self.unsupported.push(format!("{name}: rule '{}': skipReport", id()));
            }
            match index.get(&rule.id) {
                Some(&i) => rules[i] = rule,
                None => {
                    index.insert(rule.id.clone(), rules.len());
                    rules.push(rule);
                }
            }
        }
        self.title = raw.title.or(self.title.take());
        self.allowlists.to_mut().extend(raw.allowlist);
        self.allowlists.to_mut().extend(raw.allowlists);
        self.origins.push(name.to_string());
    }
}

/// The configuration for a run: `--config FILE` (or `KEYROT_CONFIG`), else `.keyrot.toml`, else
/// `.gitleaks.toml` in `root`, else the built-in rules. A file whose name mentions gitleaks keeps
/// gitleaks' meaning of a missing `[extend]` (replace the defaults); keyrot files extend them.
pub fn resolve(explicit: Option<&Path>, root: &Path) -> Result<Config> {
    let chosen = match explicit {
        Some(path) => Some(path.to_path_buf()),
        // Anything there counts, not only files: a FIFO or a directory is refused with an error
        // rather than silently passed over for the next candidate.
        None => [".keyrot.toml", ".gitleaks.toml"].iter().map(|name| root.join(name)).find(|p| p.exists()),
    };
    match chosen {
        Some(path) => {
            let base = if path.file_name().is_some_and(|n| n.to_string_lossy().contains("gitleaks")) {
                DefaultBase::Replace
            } else {
                DefaultBase::Extend
            };
            load_file(&path, base)
        }
        None => builtin(),
    }
}

/// The built-in rules with their examples.
#[cfg(test)]
pub fn builtin_with_examples() -> Result<Config> {
    let mut raw = parse(BUILTIN_RULES, BUILTIN_NAME)?;
    raw.rules.iter_mut().for_each(|rule| rule.builtin = true);
    let mut config = Config { includes_builtin: true, ..Config::default() };
    config.merge(raw, BUILTIN_NAME);
    Ok(config)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_error_names_file_and_line() {
        let err = parse("[[rules]]\nid = \"a\"\nregex = \n", "my.toml").unwrap_err();
        assert!(err.to_string().starts_with("my.toml:3"), "{err}");
    }

    #[test]
    fn unknown_field_is_an_error_naming_it() {
        let err = parse("[[rules]]\nid = \"a\"\nregexx = \"b\"\n", "my.toml").unwrap_err();
        assert!(err.to_string().contains("regexx"), "{err}");
    }

    #[test]
    fn a_later_rule_replaces_an_earlier_one_in_place() {
        let mut config = Config::default();
        config.merge(parse("[[rules]]\nid = \"a\"\n[[rules]]\nid = \"b\"\n", "one").unwrap(), "one");
        let second = "[[rules]]\nid = \"c\"\n[[rules]]\nid = \"a\"\ndescription = \"new\"\n";
        config.merge(parse(second, "two").unwrap(), "two");
        let ids: Vec<&str> = config.rules.iter().map(|r| r.id.as_ref()).collect();
        assert_eq!(ids, ["a", "b", "c"]);
        assert_eq!(config.rules[0].description.as_deref(), Some("new"));
    }

    #[test]
    fn merging_many_rules_takes_linear_time() {
        let rules = |from: usize| RawConfig {
            rules: (from..from + 100_000)
                .map(|i| RawRule { id: format!("rule-{i}").into(), ..RawRule::default() })
                .collect(),
            ..RawConfig::default()
        };
        let start = std::time::Instant::now();
        let mut config = Config::default();
        config.merge(rules(0), "one");
        config.merge(rules(50_000), "two");
        assert_eq!(config.rules.len(), 150_000);
        assert!(start.elapsed().as_secs() < 5, "took {:?}", start.elapsed());
    }

    #[test]
    fn builtin_rules_parse() {
        let config = builtin().unwrap();
        assert!(config.rules.len() > 10);
    }

    /// What build.rs compiled into the binary is rules.toml, field for field, minus examples, with
    /// keywords lower-case.
    #[test]
    fn the_compiled_rules_are_rules_toml() {
        let compiled = builtin().unwrap();
        let mut parsed = builtin_with_examples().unwrap();
        for rule in parsed.rules.to_mut().iter_mut() {
            rule.examples.clear();
            rule.negative_examples.clear();
            rule.example_path = None;
            rule.keywords = rule.keywords.iter().map(|k| Text::from(k.to_lowercase())).collect();
            rule.allowlists.to_mut().iter_mut().for_each(|a| a.description = None);
        }
        parsed.allowlists.to_mut().iter_mut().for_each(|a| a.description = None);
        assert_eq!(compiled.rules.len(), parsed.rules.len());
        for (compiled, parsed) in compiled.rules.iter().zip(parsed.rules.iter()) {
            let compiled = RawRule { analysis: None, ..compiled.clone() };
            assert_eq!(format!("{compiled:?}"), format!("{parsed:?}"));
        }
        assert_eq!(format!("{:?}", compiled.allowlists), format!("{:?}", parsed.allowlists));
        assert_eq!(compiled.title, parsed.title);
    }

    /// What build.rs worked out of each built-in rule's regex is what a run works out of it.
    #[test]
    fn the_built_in_rules_analysis_is_the_one_a_run_makes() {
        for rule in builtin().unwrap().rules.iter() {
            let tree = rule.regex.as_deref().and_then(crate::syntax::tree);
            let keywords: Vec<String> = rule.keywords.iter().map(|k| k.to_lowercase()).collect();
            let made = Analysis::of(tree.as_ref(), &keywords, rule.near);
            let built = rule.analysis.map(|i| &crate::builtin::ANALYSES[i as usize]);
            assert_eq!(built, Some(&made), "rule {}", rule.id);
        }
    }

    /// The trees build.rs wrote for each built-in rule, its precheck's (relaxed) and its path
    /// pattern's, are the ones a run makes; a rule has none only when the code cannot hold it.
    #[test]
    fn the_built_in_rules_trees_are_the_ones_a_run_makes() {
        use crate::{builtin, syntax, treecode};
        let writable =
            |tree: Option<regex_syntax::hir::Hir>| tree.filter(|tree| treecode::write(tree, &mut Vec::new()));
        for rule in builtin().unwrap().rules.iter() {
            let analysis = rule.analysis.expect("a built-in rule's analysis");
            let relaxed = rule.regex.as_deref().and_then(syntax::tree).map(|t| syntax::relaxed(&t));
            let written = treecode::read(builtin::precheck_tree(analysis));
            assert_eq!(written, writable(relaxed), "rule {}: precheck", rule.id);
            let path = rule.path.as_deref().and_then(syntax::tree);
            let written = treecode::read(builtin::path_tree(analysis));
            assert_eq!(written, writable(path), "rule {}: path", rule.id);
        }
    }
}
