//! The path patterns of the rules limited to some paths (`.netrc`, `.pgpass`, a kubeconfig, a
//! rule that looks at the path alone), asked of a place all at once. A history or directory
//! scan asks them of every place of every blob: there, one automaton whose patterns are theirs
//! reads each path once for all of them, where a search per rule cost 1.7% of cargo's history
//! scan and 2.5% of a directory scan. A small workload (a pre-commit run) asks each rule's
//! pattern on its own, which builds nothing it does not need.

use crate::error::Result;
use crate::rules::{Rule, Rules};
use regex_automata::{meta, Input, MatchKind, PatternSet};
use std::sync::OnceLock;

pub struct PathSet {
    /// The rules limited to paths, in rule order: the set's patterns are theirs, in this order.
    rules: Vec<usize>,
    /// Whether to build the set (a large workload) or to ask each rule's pattern.
    together: bool,
    /// Built on first use; `None` if a pattern has no syntax tree or the set does not build:
    /// each rule's pattern is then asked on its own.
    set: OnceLock<Option<meta::Regex>>,
}

impl PathSet {
    pub fn new(rules: &Rules, together: bool) -> PathSet {
        let limited = rules.rules.iter().enumerate().filter(|(_, rule)| rule.path.is_some());
        PathSet { rules: limited.map(|(index, _)| index).collect(), together, set: OnceLock::new() }
    }

    /// Appends to `out` the rules limited to paths that are `wanted` and whose pattern matches
    /// `path`, in rule order. Asked alone, only the wanted rules' patterns are asked.
    pub fn matching(
        &self,
        rules: &Rules,
        path: &str,
        wanted: impl Fn(&Rule) -> bool,
        out: &mut Vec<usize>,
    ) -> Result<()> {
        let rule = |index: usize| &rules.rules[index];
        match self.set(rules) {
            Some(set) => {
                let mut matched = PatternSet::new(set.pattern_len());
                set.which_overlapping_matches(&Input::new(path), &mut matched);
                out.extend(matched.iter().map(|p| self.rules[p.as_usize()]).filter(|&i| wanted(rule(i))));
            }
            None => {
                for &index in self.rules.iter().filter(|&&i| wanted(rule(i))) {
                    let pattern = rule(index).path.as_ref().expect("only rules limited to paths");
                    if pattern.is_match(path.as_bytes())? {
                        out.push(index);
                    }
                }
            }
        }
        Ok(())
    }

    fn set(&self, rules: &Rules) -> Option<&meta::Regex> {
        if !self.together || self.rules.is_empty() {
            return None;
        }
        let build = || {
            let trees = self.rules.iter().map(|&i| rules.rules[i].path.as_ref()?.syntax_tree());
            let trees = trees.collect::<Option<Vec<_>>>()?;
            // The syntax trees are those each rule's pattern is tested with before it compiles
            // (`Pattern::is_match`); every pattern that matches is reported.
            let config = meta::Config::new().match_kind(MatchKind::All).utf8_empty(false);
            meta::Builder::new().configure(config).build_many_from_hir(&trees).ok()
        };
        self.set.get_or_init(build).as_ref()
    }
}

#[cfg(test)]
mod tests {
    use super::PathSet;
    use crate::config;
    use crate::rules::Rules;

    /// Each rule's pattern asked on its own, and the set, agree on every path.
    #[test]
    fn the_set_answers_as_each_rules_pattern_does() {
        let rules = Rules::build(&config::builtin().expect("built-in rules")).expect("rules");
        let (alone, together) = (PathSet::new(&rules, false), PathSet::new(&rules, true));
        assert!(together.set(&rules).is_some(), "the built-in rules' patterns build as a set");
        let paths = [
            ".netrc",
            "home/me/.netrc",
            "a.netrc.txt",
            ".pgpass",
            "deploy/.kube/config",
            "terraform.tfstate",
            "infra/prod.tfstate.backup",
            "config/master.key",
            "config/credentials/production.key",
            ".git-credentials",
            ".s3cfg",
            "id_rsa",
            ".ssh/id_ed25519",
            "keystore.jks",
            "src/main.rs",
            "(commit message)",
            "",
        ];
        let mut matched_any = 0;
        for path in paths {
            let (mut one, mut all) = (Vec::new(), Vec::new());
            alone.matching(&rules, path, |_| true, &mut one).expect("patterns compile");
            together.matching(&rules, path, |_| true, &mut all).expect("patterns compile");
            assert_eq!(one, all, "{path}");
            matched_any += usize::from(!all.is_empty());
        }
        assert!(matched_any >= 10, "the paths reach the rules: {matched_any}");
    }
}
