//! Rules that test themselves: every rule's `examples` must produce a finding of that rule and its
//! `negative_examples` must not, run through the whole matcher (keywords, regex, secret group,
//! entropy, allowlists, markers, overlap resolution) with every other rule loaded. For a rule that
//! matches by path alone, the examples are paths. Used by `keyrot rules check` and by the test of
//! the built-in rules.

use crate::matcher::Matcher;
use crate::rules::Rule;

/// Where an example snippet is pretended to live when the rule does not restrict paths.
const EXAMPLE_PATH: &str = "snippet.txt";

#[derive(Debug, PartialEq, Eq)]
pub struct Failure {
    pub rule: String,
    pub message: String,
}

/// Checks the rules accepted by `select`; returns every failure (empty when all pass).
pub fn check(matcher: &Matcher, select: &dyn Fn(&Rule) -> bool) -> Vec<Failure> {
    let mut failures = Vec::new();
    for (index, rule) in matcher.rules.rules.iter().enumerate() {
        if !select(rule) {
            continue;
        }
        let fail = |message: String| Failure { rule: rule.meta.id.to_string(), message };
        let fires = |sample: &str| -> Result<bool, String> {
            let matches = match &rule.regex {
                None => matcher.scan_path(sample, None),
                Some(_) => matcher.scan(example_path(rule), None, sample.as_bytes()),
            };
            matches.map(|ms| ms.iter().any(|m| m.rule == index)).map_err(|e| e.to_string())
        };
        for (i, example) in rule.examples.iter().enumerate() {
            match fires(example) {
                Ok(true) => {}
                Ok(false) => failures.push(fail(format!(
                    "example {} does not produce a finding: {}",
                    i + 1,
                    preview(example)
                ))),
                Err(e) => failures.push(fail(e)),
            }
        }
        for (i, example) in rule.negative_examples.iter().enumerate() {
            match fires(example) {
                Ok(false) => {}
                Ok(true) => failures.push(fail(format!(
                    "negative example {} produces a finding: {}",
                    i + 1,
                    preview(example)
                ))),
                Err(e) => failures.push(fail(e)),
            }
        }
    }
    failures
}

/// The path a content example is scanned at: for a path-restricted rule, its `examplePath`.
fn example_path(rule: &Rule) -> &str {
    rule.example_path.as_deref().unwrap_or(EXAMPLE_PATH)
}

/// The first line of an example, short, so a failure stays on one line.
fn preview(example: &str) -> String {
    let line = example.trim().lines().next().unwrap_or("");
    let short: String = line.chars().take(60).collect();
    crate::report::escape(&short)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::matcher::Workload;
    use crate::{config, rules::Rules};

    #[test]
    fn builtin_rules_pass_their_examples() {
        let matcher =
            Matcher::new(Rules::build(&config::builtin_with_examples().unwrap()).unwrap(), Workload::Small);
        matcher.rules.validate_where(|_| true).unwrap();
        let failures = check(&matcher, &|_| true);
        assert!(failures.is_empty(), "{} failures:\n{failures:#?}", failures.len());
    }

    /// The keyword search of a blob a delta built reads each seam widened by the longest
    /// keyword less one byte on either side: one 58-byte keyword had made it read 2x28 bytes
    /// more around every seam of every delta (3% of a history scan's CPU on cargo).
    #[test]
    fn builtin_keywords_are_short() {
        let config = config::builtin().unwrap();
        let rules = Rules::build(&config).unwrap();
        for rule in &rules.rules {
            for keyword in rule.keywords.iter() {
                assert!(keyword.len() <= 32, "{}: keyword {keyword:?} is longer than 32 bytes", rule.meta.id);
            }
        }
    }

    /// Whether the whole matcher finds rule `index` in `text`, at the path its examples are at.
    fn found_by_its_rule(matcher: &Matcher, index: usize, text: &str) -> bool {
        let rule = &matcher.rules.rules[index];
        matcher.scan(example_path(rule), None, text.as_bytes()).unwrap().iter().any(|m| m.rule == index)
    }

    /// Each example of each rule with a keyword that `keep` takes, respelled by `respell(rule,
    /// example, where the keyword lies in it)` where it gives a text: how many were tried, and
    /// a line for each that the rule's regex still matches but `missed(rule index, text)`.
    fn respelling_gaps(
        rules: &Rules,
        keep: impl Fn(&str) -> bool,
        respell: impl Fn(&Rule, &str, std::ops::Range<usize>) -> Option<String>,
        missed: impl Fn(usize, &str) -> bool,
    ) -> (usize, Vec<String>) {
        let (mut tried, mut gaps) = (0, Vec::new());
        for (index, rule) in rules.rules.iter().enumerate() {
            let Some(regex) = &rule.regex else { continue };
            let regex = regex.get().unwrap();
            for keyword in rule.keywords.iter().map(|k| k.to_ascii_lowercase()).filter(|k| keep(k)) {
                for example in rule.examples.iter() {
                    let Some(at) = example.to_ascii_lowercase().find(&keyword) else { continue };
                    let Some(text) = respell(rule, example, at..at + keyword.len()) else { continue };
                    tried += 1;
                    if regex.is_match(text.as_bytes()) && missed(index, &text) {
                        gaps.push(format!("{} ({keyword}): {}", rule.meta.id, preview(&text)));
                    }
                }
            }
        }
        (tried, gaps)
    }

    /// A rule runs only where one of its keywords occurs, so a spelling its regex takes that no
    /// keyword covers is never found (stability-api-key took `stablediffusion` with keywords for
    /// `stable_diffusion` and `stable-diffusion` only). A keyword of words joined by `_` is
    /// written with `-` in each example that holds it (`nrel-api-key:` in YAML): where the
    /// regex still matches, a keyword must occur.
    #[test]
    fn a_keyword_written_with_dashes_still_selects_its_rule() {
        let rules = Rules::build(&config::builtin_with_examples().unwrap()).unwrap();
        let words =
            |k: &str| k.split('_').all(|w| w.len() >= 3 && w.bytes().all(|b| b.is_ascii_alphabetic()));
        let dashed = |_: &Rule, example: &str, span: std::ops::Range<usize>| {
            let dashed =
                example.char_indices().map(|(i, c)| if c == '_' && span.contains(&i) { '-' } else { c });
            Some(dashed.collect())
        };
        let unselected = |index: usize, text: &str| {
            let keywords = &rules.rules[index].keywords;
            !keywords.iter().any(|k| crate::matcher::contains_ignoring_case(text.as_bytes(), k.as_bytes()))
        };
        let (tried, gaps) = respelling_gaps(&rules, |k| k.contains('_') && words(k), dashed, unselected);
        assert!(tried > 100, "{tried} examples respelled");
        assert!(gaps.is_empty(), "{} spellings no keyword selects:\n{}", gaps.len(), gaps.join("\n"));
    }

    /// The same, for a name run together (`guardianApiKey`, `PDAPIKEY`, as JavaScript, Java or
    /// Go code writes it): each example whose keyword lies in a name that is assigned (a `=` or
    /// `:` follows it) has the name's `_` and `-` dropped; where the regex still matches, the
    /// whole matcher must find the rule there.
    #[test]
    fn a_keyword_in_a_name_run_together_still_selects_its_rule() {
        let matcher =
            Matcher::new(Rules::build(&config::builtin_with_examples().unwrap()).unwrap(), Workload::Small);
        let joined = |rule: &Rule, example: &str, span: std::ops::Range<usize>| {
            let in_name = |b: u8| b.is_ascii_alphanumeric() || b == b'_' || b == b'-';
            let bytes = example.as_bytes();
            let start = bytes[..span.start].iter().rposition(|&b| !in_name(b)).map_or(0, |i| i + 1);
            let end =
                bytes[span.start..].iter().position(|&b| !in_name(b)).map_or(bytes.len(), |i| span.start + i);
            let after = example[end..].trim_start_matches(['"', '\'']).trim_start();
            // A `near` keyword counts only at the edge of a word (`X-OTX-API-KEY` run together
            // holds `otxapi` inside one).
            if !after.starts_with(['=', ':']) || (rule.near.is_some() && start != span.start) {
                return None;
            }
            Some(format!(
                "{}{}{}",
                &example[..start],
                example[start..end].replace(['_', '-'], ""),
                &example[end..]
            ))
        };
        let unfound = |index: usize, text: &str| !found_by_its_rule(&matcher, index, text);
        let (tried, gaps) = respelling_gaps(&matcher.rules, |k| k.contains(['_', '-']), joined, unfound);
        assert!(tried > 100, "{tried} examples respelled");
        assert!(gaps.is_empty(), "{} spellings the rule does not find:\n{}", gaps.len(), gaps.join("\n"));
    }

    /// Go and make assign with `:=`: each example that assigns a name with `=` (`NAME = value`,
    /// `NAME=value`), written with `:=` instead, is still found by its rule (the AWS secret
    /// key's `\s*(?:[:=]|=>)` took the `:` and then wanted the key where the `=` is). Rules for
    /// a file that never assigns so (`.npmrc`, Gradle properties, Django and Rails settings, a
    /// Python tuple) are left out.
    #[test]
    fn an_assignment_written_as_go_writes_it_is_still_found() {
        let matcher =
            Matcher::new(Rules::build(&config::builtin_with_examples().unwrap()).unwrap(), Workload::Small);
        let formats = [
            "npmrc-auth-token",
            "npmrc-basic-auth",
            "sonatype-ossrh-password",
            "django-secret-key",
            "rails-secret-key-base",
            "generic-credential-pair",
        ];
        let (mut tried, mut gaps) = (0, Vec::new());
        for (index, rule) in matcher.rules.rules.iter().enumerate() {
            if formats.contains(&rule.meta.id.as_ref()) {
                continue;
            }
            for example in rule.examples.iter() {
                let Some(eq) = example.find('=') else { continue };
                let name = example[..eq].trim_end();
                let in_name = |b: u8| b.is_ascii_alphanumeric() || b == b'_' || b == b'.';
                let is_name = name.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
                    && name.bytes().all(in_name);
                if !is_name || example[eq + 1..].starts_with('=') {
                    continue;
                }
                let text = format!("{name} := {}", example[eq + 1..].trim_start());
                tried += 1;
                if !found_by_its_rule(&matcher, index, &text) {
                    gaps.push(format!("{}: {}", rule.meta.id, preview(&text)));
                }
            }
        }
        assert!(tried > 1000, "{tried} examples respelled");
        assert!(gaps.is_empty(), "{} assignments the rule does not find:\n{}", gaps.len(), gaps.join("\n"));
    }

    /// Every example and negative example, set in the middle of a larger file (with lines of
    /// unrelated text, and lines dense with keywords, around it), gives the same matches when
    /// the regexes run only in windows around keyword hits as when they run on the whole text.
    #[test]
    fn windows_around_keywords_find_what_whole_texts_find() {
        let build = |workload| {
            Matcher::new(Rules::build(&config::builtin_with_examples().unwrap()).unwrap(), workload)
        };
        let (whole, windowed) = (build(Workload::Small), build(Workload::Large));
        let plain = "let value = compute(42); // nothing to see here\n".repeat(60);
        let dense = "api_key = get_key(); token = next_token(secret_name, password_field)\n".repeat(3);
        let mut checked = 0;
        for rule in &whole.rules.rules {
            for sample in rule.examples.iter().chain(&rule.negative_examples) {
                for text in [
                    format!("{plain}{sample}\n{plain}"),
                    format!("{sample}{plain}{dense}"),
                    format!("{plain}{dense}{sample}"),
                    format!("{plain}{sample}{dense}{sample} {plain}"),
                ] {
                    let path = example_path(rule);
                    let expected = whole.scan(path, None, text.as_bytes()).unwrap();
                    let got = windowed.scan(path, None, text.as_bytes()).unwrap();
                    assert_eq!(got, expected, "rule {}: {}", rule.meta.id, preview(sample));
                    checked += 1;
                }
            }
        }
        assert!(checked > 4000, "{checked} texts checked");
    }

    #[test]
    fn builtin_rules_are_complete() {
        let matcher =
            Matcher::new(Rules::build(&config::builtin_with_examples().unwrap()).unwrap(), Workload::Small);
        for rule in &matcher.rules.rules {
            let id = &rule.meta.id;
            assert!(rule.examples.len() >= 2, "{id}: needs at least two examples");
            assert!(!rule.negative_examples.is_empty(), "{id}: needs a negative example");
            if rule.meta.provider.is_some() {
                assert!(rule.meta.rotate.is_some(), "{id}: a provider rule needs rotate.url");
            }
            if rule.regex.is_some() && rule.path.is_none() {
                assert!(!rule.keywords.is_empty(), "{id}: a content rule needs keywords or a path");
            }
        }
    }

    #[test]
    fn a_broken_example_is_reported_by_rule() {
        let toml = r#"
[[rules]]
id = "demo"
regex = '''demo_([a-z0-9]{12})'''
keywords = ["demo_"]
examples = ["x = demo_abc"]
negative_examples = ["x = demo_a1b2c3d4e5f6"]
"#;
        let cfg = config::Config {
            rules: config::parse(toml, "t.toml").unwrap().rules.into(),
            ..Default::default()
        };
        let matcher = Matcher::new(Rules::build(&cfg).unwrap(), Workload::Small);
        let failures = check(&matcher, &|_| true);
        assert_eq!(failures.len(), 2, "{failures:?}");
        assert!(failures.iter().all(|f| f.rule == "demo"));
    }
}
