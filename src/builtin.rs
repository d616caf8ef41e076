//! The built-in rules, compiled into the binary by `build.rs` as static data, and turned into
//! the same raw config a rules file parses to. Nothing is parsed at start: a pre-commit run
//! pays only for copying what it uses.

use crate::config::{RawAllowlist, RawConfig, RawRotate, RawRule};

pub struct StaticRule {
    id: &'static str,
    description: Option<&'static str>,
    regex: Option<&'static str>,
    secret_group: Option<usize>,
    entropy: Option<f64>,
    path: Option<&'static str>,
    keywords: &'static [&'static str],
    tags: &'static [&'static str],
    allowlists: &'static [StaticAllowlist],
    provider: Option<&'static str>,
    public_group: Option<usize>,
    near: Option<usize>,
    confidence: Option<&'static str>,
    rotate: Option<StaticRotate>,
}

pub struct StaticRotate {
    url: &'static str,
    steps: &'static [&'static str],
}

pub struct StaticAllowlist {
    condition: Option<&'static str>,
    commits: &'static [&'static str],
    paths: &'static [&'static str],
    globs: &'static [&'static str],
    regex_target: Option<&'static str>,
    regexes: &'static [&'static str],
    stopwords: &'static [&'static str],
    target_rules: &'static [&'static str],
}

include!(concat!(env!("OUT_DIR"), "/rules.rs"));

/// The built-in rules as a rules file would give them (without their examples).
pub fn raw() -> RawConfig {
    RawConfig {
        title: TITLE.map(String::from),
        rules: RULES.iter().map(StaticRule::raw).collect(),
        allowlists: ALLOWLISTS.iter().map(StaticAllowlist::raw).collect(),
        ..RawConfig::default()
    }
}

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| s.to_string()).collect()
}

impl StaticRule {
    fn raw(&self) -> RawRule {
        RawRule {
            id: self.id.into(),
            description: self.description.map(String::from),
            regex: self.regex.map(String::from),
            secret_group: self.secret_group,
            entropy: self.entropy,
            path: self.path.map(String::from),
            keywords: strings(self.keywords),
            tags: strings(self.tags),
            allowlists: self.allowlists.iter().map(StaticAllowlist::raw).collect(),
            provider: self.provider.map(String::from),
            public_group: self.public_group,
            near: self.near,
            confidence: self.confidence.map(String::from),
            rotate: self.rotate.as_ref().map(|r| RawRotate { url: r.url.into(), steps: strings(r.steps) }),
            origin: crate::config::BUILTIN_NAME.into(),
            builtin: true,
            ..RawRule::default()
        }
    }
}

impl StaticAllowlist {
    fn raw(&self) -> RawAllowlist {
        RawAllowlist {
            description: None,
            condition: self.condition.map(String::from),
            commits: strings(self.commits),
            paths: strings(self.paths),
            globs: strings(self.globs),
            regex_target: self.regex_target.map(String::from),
            regexes: strings(self.regexes),
            stopwords: strings(self.stopwords),
            target_rules: strings(self.target_rules),
        }
    }
}
