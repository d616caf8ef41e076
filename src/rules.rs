//! Rules ready to run: patterns, allowlists and the metadata reporters need. Built from the raw
//! config ("raw, then resolved"). Regexes compile lazily, on the first content whose keywords hit
//! the rule, so a pre-commit run pays only for the rules it needs; user-supplied files are
//! compiled up front by `Rules::validate` so a bad regex is reported even if it never runs.

use crate::config::{Config, RawAllowlist, RawRule, Text, Texts};
use crate::error::{one_line, Error, Result};
use crate::lazy::LazyDfa;
use regex_automata::nfa::thompson;
use regex_automata::{meta, util::syntax, Input, MatchKind};
use regex_syntax::hir::Hir;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, OnceLock};

/// The farthest `near` can ask a keyword to be from a match, in bytes.
pub const MAX_NEAR: usize = 1000;
/// Keywords of all rules together: the built-in rules have about 1,700; 100,000 of them take the
/// keyword automaton 2 s and 200 MB to build, 300,000 took 9 s and 1.6 GB.
const MAX_KEYWORDS: usize = 100_000;
/// The compiled NFAs of a rules file's patterns together (regexes, paths, allowlists): the
/// built-in rules' regexes take 19 MB. Forty rules of `(?:(?:[a-f]|[0-9]){300}){250}` (10 MB
/// each, 27 MB as a whole regex) took 1.1 GB; 3,000 rules of a path pattern of 65 KB each,
/// 924 MB.
const MAX_COMPILED: usize = 64 << 20;

/// What a report needs to know about the rule behind a finding.
#[derive(Debug, Clone, PartialEq)]
pub struct RuleMeta {
    pub id: Text,
    pub description: Text,
    pub provider: Option<Text>,
    pub tags: Texts,
    pub rotate: Option<Rotation>,
    pub confidence: Confidence,
}

/// How sure a rule's match is to be a secret: high for a provider's prefixed format, lower for
/// keys recognised by a name nearby or by an assignment's shape. Users can report only the
/// surer ones (`scan --confidence`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, clap::ValueEnum, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Confidence {
    Low,
    Medium,
    High,
}

impl Confidence {
    pub fn name(self) -> &'static str {
        match self {
            Confidence::Low => "low",
            Confidence::Medium => "medium",
            Confidence::High => "high",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Rotation {
    pub url: Text,
    pub steps: Texts,
}

/// A regex compiled on first use. The error, if any, names the rule it belongs to.
#[derive(Debug)]
pub struct Pattern {
    rule: Text,
    source: Text,
    /// The code of its syntax tree, written by `build.rs` (`treecode.rs`); empty if not.
    tree: &'static [u8],
    compiled: OnceLock<Result<meta::Regex, String>>,
    /// The same pattern for `is_match` alone (`None` if it cannot be built): a lazy DFA is
    /// built in a tenth of a regex's time (the twelve path patterns of the built-in rules took
    /// 1.4 ms to compile as regexes, 0.14 ms so), and a pre-commit run asks every one of them.
    /// Boxed: a thousand rules are built at every start, and most never use it.
    tester: OnceLock<Option<Box<LazyDfa>>>,
    /// How many times `is_match` was asked.
    asked: AtomicU32,
}

/// See `Pattern::is_match`.
const TESTS_BEFORE_COMPILING: u32 = 64;

impl Pattern {
    fn new(rule: &Text, source: &Text) -> Self {
        Pattern {
            rule: rule.clone(),
            source: source.clone(),
            tree: &[],
            compiled: OnceLock::new(),
            tester: OnceLock::new(),
            asked: AtomicU32::new(0),
        }
    }

    /// The pattern, whose syntax tree `code` holds (`treecode.rs`).
    fn with_tree(self, code: &'static [u8]) -> Self {
        Pattern { tree: code, ..self }
    }

    /// The pattern as written.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// The pattern's syntax tree (`syntax.rs`; read back from the code `build.rs` wrote, if it
    /// did), for what is read from it (`reach.rs`, `pins.rs`, `precheck.rs`, a path pattern's
    /// lazy DFA); `None` if it does not parse.
    pub fn syntax_tree(&self) -> Option<Hir> {
        crate::treecode::read(self.tree).or_else(|| crate::syntax::tree(&self.source))
    }

    /// The pattern compiled: ASCII classes and case folding, as gitleaks' Go regexes have them
    /// (NFAs thirty times smaller, so compiling on first use stays cheap), bytes, leftmost-first
    /// matches, as the regex crate's `bytes::Regex` would be built; on the engine beneath it,
    /// whose searches can start at a position, anchored or not, while look-around still sees
    /// the text before and after (the regex crate's searches only start unanchored).
    pub fn get(&self) -> Result<&meta::Regex> {
        let compiled = self.compiled.get_or_init(|| {
            meta::Regex::builder()
                .syntax(syntax::Config::new().unicode(false).utf8(false))
                .configure(
                    meta::Regex::config()
                        .match_kind(MatchKind::LeftmostFirst)
                        .utf8_empty(false)
                        .nfa_size_limit(Some(64 << 20)),
                )
                .build(&self.source)
                .map_err(|e| one_line(&e.to_string()))
        });
        compiled.as_ref().map_err(|message| self.error(message))
    }

    /// Whether the pattern matches `haystack`: what path conditions and allowlists ask. The first
    /// `TESTS_BEFORE_COMPILING` times, the pattern's lazy DFA answers if it can; a pattern asked
    /// more often than that (a path pattern over a history) compiles its regex, whose literal
    /// searches answer faster (the DFA alone made a history scan of cargo 9% slower).
    pub fn is_match(&self, haystack: &[u8]) -> Result<bool> {
        if self.compiled.get().is_none()
            && self.asked.fetch_add(1, Ordering::Relaxed) < TESTS_BEFORE_COMPILING
        {
            let tester = self.tester.get_or_init(|| Some(Box::new(LazyDfa::new(&self.syntax_tree()?)?)));
            if let Some(tester) = tester {
                if let Some(found) = tester.is_match(Input::new(haystack)) {
                    return Ok(found);
                }
            }
        }
        Ok(self.get()?.is_match(haystack))
    }

    fn error(&self, message: &str) -> Error {
        self.error_in_rule(format!("bad regex {:?}: {message}", self.source))
    }

    /// An error of the rule (or allowlist) the pattern is part of.
    fn error_in_rule(&self, message: String) -> Error {
        Error::Rule { rule: self.rule.to_string(), message }
    }
}

/// What an allowlist regex is tested against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    Secret,
    Match,
    Line,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Condition {
    Any,
    All,
}

#[derive(Debug)]
pub struct Allowlist {
    pub condition: Condition,
    pub target: Target,
    pub commits: Vec<String>,
    pub paths: Vec<Pattern>,
    /// keyrot's `globs`: git-style path globs (`*` stays within a directory, `**` crosses them).
    pub globs: Option<globset::GlobSet>,
    pub regexes: Vec<Pattern>,
    /// Lower-cased.
    pub stopwords: Vec<String>,
    /// For global allowlists: only these rule ids (empty = all).
    pub target_rules: Texts,
}

#[derive(Debug)]
pub struct Rule {
    pub meta: Arc<RuleMeta>,
    pub regex: Option<Pattern>,
    /// Boxed: few rules have one, and a thousand rules are built at every start.
    pub path: Option<Box<Pattern>>,
    pub secret_group: usize,
    pub public_group: Option<usize>,
    pub entropy: Option<f64>,
    /// Lower-cased.
    pub keywords: Texts,
    /// A keyword must occur within this many bytes of a match.
    pub near: Option<usize>,
    pub allowlists: Vec<Allowlist>,
    pub examples: Vec<String>,
    pub negative_examples: Vec<String>,
    pub example_path: Option<String>,
    /// The file the rule was read from, for errors.
    pub origin: Text,
    /// One of the built-in rules: compiled when its keywords occur, not up front.
    pub builtin: bool,
    /// Where the build put what its regex tells the matcher (`builtin::ANALYSES`).
    pub analysis: Option<u32>,
}

impl Rule {
    /// Any rule but the generic ones (tagged `generic`, or an id starting with `generic`, as
    /// gitleaks' `generic-api-key`): a specific rule wins over a generic one on the same text.
    pub fn is_specific(&self) -> bool {
        !(self.meta.id.starts_with("generic") || self.meta.tags.iter().any(|t| t == "generic"))
    }
}

#[derive(Debug)]
pub struct Rules {
    pub rules: Vec<Rule>,
    pub global: Vec<Allowlist>,
}

impl Rules {
    /// Rule ids are unique: `build.rs` checks the built-in rules', and a rule read from a file
    /// replaces the one of the same id (`Config::merge`).
    pub fn build(config: &Config) -> Result<Rules> {
        let mut rules = Vec::with_capacity(config.rules.len());
        let mut keywords = 0;
        for raw in config.rules.iter() {
            keywords += raw.keywords.len();
            if keywords > MAX_KEYWORDS {
                let message = format!(
                    "more than {MAX_KEYWORDS} keywords in all (the keyword automaton would take gigabytes)"
                );
                return Err(in_file(&raw.origin, Error::Rule { rule: raw.id.to_string(), message }));
            }
            rules.push(build_rule(raw).map_err(|e| in_file(&raw.origin, e))?);
        }
        let global = config
            .allowlists
            .iter()
            .map(|a| build_allowlist(&Text::from("global allowlist"), a))
            .collect::<Result<_>>()?;
        Ok(Rules { rules, global })
    }

    /// Compiles every pattern of a rules file now, so that a bad regex, or a group that is not
    /// in its regex, is reported before scanning. The built-in rules are left to compile when
    /// their keywords occur: the build and the tests check them, and compiling all of them made
    /// every pre-commit run of a repository with a `.keyrot.toml` take 320 ms instead of 20.
    pub fn validate(&self) -> Result<()> {
        self.validate_where(|rule| !rule.builtin)
    }

    /// `validate` for the rules `which` picks (and the global allowlists).
    pub fn validate_where(&self, which: impl Fn(&Rule) -> bool) -> Result<()> {
        // Measured before any regex is compiled for good: rules of large regexes are refused
        // before they have taken the memory.
        let mut compiled = 0;
        let rules = self.rules.iter().filter(|rule| which(rule));
        let patterns = rules.flat_map(|rule| rule.patterns().map(move |pattern| (&*rule.origin, pattern)));
        for (origin, pattern) in
            patterns.chain(self.global.iter().flat_map(Allowlist::patterns).map(|p| ("", p)))
        {
            compiled += nfa_size(pattern.source());
            if compiled > MAX_COMPILED {
                let message =
                    format!("the rules' patterns take more than {} MB compiled together", MAX_COMPILED >> 20);
                return Err(in_file(origin, pattern.error_in_rule(message)));
            }
        }
        for rule in self.rules.iter().filter(|rule| which(rule)) {
            rule.validate().map_err(|e| in_file(&rule.origin, e))?;
        }
        for pattern in self.global.iter().flat_map(Allowlist::patterns) {
            pattern.get()?;
        }
        Ok(())
    }
}

impl Rule {
    /// Its regex, its path pattern and its allowlists' patterns.
    fn patterns(&self) -> impl Iterator<Item = &Pattern> {
        let own = self.regex.iter().chain(self.path.as_deref());
        own.chain(self.allowlists.iter().flat_map(Allowlist::patterns))
    }

    fn validate(&self) -> Result<()> {
        for pattern in self.patterns() {
            pattern.get()?;
        }
        let groups = match &self.regex {
            Some(regex) => regex.get()?.captures_len() - 1,
            None => 0,
        };
        for (field, group) in [("secretGroup", Some(self.secret_group)), ("publicGroup", self.public_group)] {
            if let Some(n) = group.filter(|&n| n > groups) {
                return Err(Error::Rule {
                    rule: self.meta.id.to_string(),
                    message: format!("{field} = {n}, but the regex has {groups} capture groups"),
                });
            }
        }
        Ok(())
    }
}

/// The memory of a regex's compiled NFA, the largest part of a compiled regex (0 if it does
/// not compile: compiling it for good then reports why).
fn nfa_size(source: &str) -> usize {
    thompson::Compiler::new()
        .syntax(syntax::Config::new().unicode(false).utf8(false))
        .configure(thompson::Config::new().utf8(false).nfa_size_limit(Some(MAX_COMPILED)))
        .build(source)
        .map_or(0, |nfa| nfa.memory_usage())
}

/// A rule's error as an error of the file the rule was read from.
fn in_file(origin: &str, err: Error) -> Error {
    if origin.is_empty() {
        return err;
    }
    Error::Config { file: origin.to_string(), message: err.to_string() }
}

impl Allowlist {
    fn patterns(&self) -> impl Iterator<Item = &Pattern> {
        self.paths.iter().chain(&self.regexes)
    }
}

fn build_rule(raw: &RawRule) -> Result<Rule> {
    let fail = |message: &str| Error::Rule { rule: raw.id.to_string(), message: message.into() };
    if raw.id.trim().is_empty() {
        return Err(Error::Rule { rule: "(no id)".into(), message: "a rule needs an id".into() });
    }
    if raw.regex.is_none() && raw.path.is_none() {
        return Err(fail("a rule needs a regex, a path, or both"));
    }
    if raw.regex.as_deref() == Some("") {
        return Err(fail("empty regex (leave regex out for a rule that matches by path alone)"));
    }
    if raw.entropy.is_some_and(|e| !(0.0..=8.0).contains(&e)) {
        return Err(fail("entropy must be between 0 and 8"));
    }
    if raw.near.is_some_and(|n| !(1..=MAX_NEAR).contains(&n)) {
        return Err(fail(&format!("near must be between 1 and {MAX_NEAR} bytes")));
    }
    if raw.near.is_some() && (raw.regex.is_none() || raw.keywords.iter().all(|k| k.is_empty())) {
        return Err(fail("near needs a regex and keywords (the words that must occur near a match)"));
    }
    let confidence = match raw.confidence.as_deref() {
        Some(c) if c.eq_ignore_ascii_case("high") => Confidence::High,
        Some(c) if c.eq_ignore_ascii_case("medium") => Confidence::Medium,
        Some(c) if c.eq_ignore_ascii_case("low") => Confidence::Low,
        Some(other) => {
            let other = other.to_ascii_lowercase();
            return Err(fail(&format!("confidence {other:?} is not high, medium or low")));
        }
        None if raw.id.starts_with("generic") || raw.tags.iter().any(|t| t == "generic") => Confidence::Low,
        None if raw.near.is_some() => Confidence::Medium,
        None => Confidence::High,
    };
    let mut allowlists: Vec<Allowlist> = raw
        .allowlists
        .iter()
        .chain(raw.allowlist.as_deref())
        .map(|a| build_allowlist(&raw.id, a))
        .collect::<Result<_>>()?;
    allowlists.iter_mut().for_each(|a| a.target_rules = Texts::default());
    let rotate = raw.rotate.as_ref().map(|r| Rotation { url: r.url.clone(), steps: r.steps.clone() });
    Ok(Rule {
        meta: Arc::new(RuleMeta {
            id: raw.id.clone(),
            description: raw.description.clone().unwrap_or_else(|| raw.id.clone()),
            provider: raw.provider.clone(),
            tags: raw.tags.clone(),
            rotate,
            confidence,
        }),
        regex: raw.regex.as_ref().map(|s| Pattern::new(&raw.id, s)),
        path: raw.path.as_ref().map(|s| {
            let tree = raw.analysis.map_or(&[][..], crate::builtin::path_tree);
            Box::new(Pattern::new(&raw.id, s).with_tree(tree))
        }),
        secret_group: raw.secret_group.unwrap_or(0),
        public_group: raw.public_group,
        entropy: raw.entropy.filter(|&e| e > 0.0),
        keywords: lower_case(&raw.keywords),
        near: raw.near,
        allowlists,
        examples: raw.examples.clone(),
        negative_examples: raw.negative_examples.clone(),
        example_path: raw.example_path.clone(),
        origin: raw.origin.clone(),
        builtin: raw.builtin,
        analysis: raw.analysis,
    })
}

/// `texts` lower-cased, without empty ones; borrowed as they are when they already are so (the
/// built-in rules' keywords are).
fn lower_case(texts: &Texts) -> Texts {
    if texts.iter().all(|t| !t.is_empty() && !t.bytes().any(|b| b.is_ascii_uppercase())) {
        return texts.clone();
    }
    texts.iter().filter(|t| !t.is_empty()).map(|t| Text::from(t.to_ascii_lowercase())).collect()
}

fn build_allowlist(owner: &Text, raw: &RawAllowlist) -> Result<Allowlist> {
    let fail = |message: String| Error::Rule { rule: owner.to_string(), message };
    let condition = match raw.condition.as_deref().map(str::to_ascii_uppercase).as_deref() {
        None | Some("OR") => Condition::Any,
        Some("AND") => Condition::All,
        Some(other) => return Err(fail(format!("allowlist condition {other:?} is not OR or AND"))),
    };
    let target = match raw.regex_target.as_deref() {
        None | Some("secret") => Target::Secret,
        Some("match") => Target::Match,
        Some("line") => Target::Line,
        Some(other) => return Err(fail(format!("regexTarget {other:?} is not secret, match or line"))),
    };
    let globs = if raw.globs.is_empty() {
        None
    } else {
        let mut set = globset::GlobSetBuilder::new();
        for glob in raw.globs.iter() {
            let glob = globset::GlobBuilder::new(glob)
                .literal_separator(true)
                .build()
                .map_err(|e| fail(format!("bad glob {glob:?}: {e}")))?;
            set.add(glob);
        }
        Some(set.build().map_err(|e| fail(format!("bad globs: {e}")))?)
    };
    Ok(Allowlist {
        condition,
        target,
        commits: raw.commits.iter().map(|c| c.to_ascii_lowercase()).collect(),
        paths: raw.paths.iter().map(|p| Pattern::new(owner, p)).collect(),
        globs,
        regexes: raw.regexes.iter().map(|p| Pattern::new(owner, p)).collect(),
        stopwords: raw.stopwords.iter().map(|s| s.to_ascii_lowercase()).collect(),
        target_rules: raw.target_rules.clone(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn is_match_answers_as_the_regex_does() {
        let patterns = [
            r"(?:^|/)\.env(?:\.[^/]+)?$",
            r"(?i)\.(?:p12|pfx|jks|keystore)$",
            r"\bkey\b",
            r"^(?:a|bc)+$",
            r"[^\x00-\x7f]",
        ];
        let haystacks: [&[u8]; 9] = [
            b".env",
            b"app/.env.local",
            b"app/.env/x",
            b"CERT.PFX",
            b"keys",
            b"a key",
            b"abcbca",
            b"",
            b"\xff",
        ];
        for source in patterns {
            let pattern = Pattern::new(&Text::from("r"), &Text::from(source));
            for haystack in haystacks {
                let expected = pattern.get().unwrap().is_match(haystack);
                assert_eq!(pattern.is_match(haystack).unwrap(), expected, "{source} on {haystack:?}");
            }
        }
        let often = Pattern::new(&Text::from("r"), &Text::from(r"\.env$"));
        for _ in 0..TESTS_BEFORE_COMPILING {
            assert!(often.is_match(b"a/.env").unwrap());
        }
        assert!(often.compiled.get().is_none(), "a pattern asked a few times is not compiled");
        assert!(!often.is_match(b"a/.envy").unwrap());
        assert!(often.compiled.get().is_some(), "one asked often is");
        let bad = Pattern::new(&Text::from("r"), &Text::from("(unclosed"));
        let err = bad.is_match(b"x").unwrap_err().to_string();
        assert!(err.contains("bad regex"), "{err}");
    }
}
