//! A cheap proof that a rule's regex has no match in part of a text, so that a small workload (a
//! pre-commit run) compiles a rule's regex only where it may match, and no workload searches a
//! window where it cannot. Compiling is most of a pre-commit run: the generic rules' bounded
//! repetitions (`{8,200}`, `{0,30}`) each build hundreds of NFA states, and a rule compiles the
//! first time its keyword occurs, which in code is nearly always. The same repetitions make the
//! regex's lazy DFA outgrow its cache on real code, so that it rebuilds states over and over.
//!
//! The precheck is the regex relaxed (`syntax::relaxed`): large repetition bounds made
//! unbounded, capture groups plain. Every match of the regex is then a match of the relaxed one
//! (at the same place, with the same look-around), so where the relaxed one finds nothing the
//! regex finds nothing. It runs as a forward lazy DFA (`lazy.rs`), which compiles in a fraction
//! of the time and keeps what it learnt for the next file. A built-in rule's relaxed tree is
//! written by `build.rs` (`treecode.rs`), so its regex is not even parsed (another rule's is
//! worked out from its regex). Nothing here decides a finding: when the precheck cannot be
//! built or gives up, the text may match and the regex itself is run.

use crate::lazy::LazyDfa;
use regex_automata::{Anchored, Input};
use regex_syntax::hir::Hir;
use std::ops::Range;

pub struct Precheck {
    dfa: LazyDfa,
}

impl Precheck {
    /// The precheck of a regex given by its relaxed syntax tree (`syntax::relaxed`), or `None`
    /// when it cannot be built.
    pub fn of(relaxed: &Hir) -> Option<Precheck> {
        Some(Precheck { dfa: LazyDfa::new(relaxed)? })
    }

    /// Whether the regex may have a match inside one of `windows` of `text`, searched as the
    /// matcher searches windows: the text cut one byte past each.
    pub fn may_match_within(&self, text: &[u8], windows: &[Range<usize>]) -> bool {
        windows.iter().any(|w| {
            let input = Input::new(&text[..(w.end + 1).min(text.len())]).range(w.start..);
            self.dfa.is_match(input).unwrap_or(true)
        })
    }

    /// Whether the regex may have a match starting at one of the positions of `starts`.
    pub fn may_match_from(&self, text: &[u8], starts: &[Range<usize>]) -> bool {
        starts.iter().flat_map(|r| r.clone()).any(|at| {
            let input = Input::new(text).range(at..).anchored(Anchored::Yes);
            self.dfa.is_match(input).unwrap_or(true)
        })
    }

    /// Whether the regex may match anywhere in `text`.
    pub fn may_match(&self, text: &[u8]) -> bool {
        let whole = 0..text.len();
        self.may_match_within(text, std::slice::from_ref(&whole))
    }
}

#[cfg(test)]
mod tests {
    use super::Precheck;

    fn may(regex: &str, text: &str) -> bool {
        build(regex).may_match(text.as_bytes())
    }

    fn build(regex: &str) -> Precheck {
        let tree = crate::syntax::tree(regex).expect("parses");
        Precheck::of(&crate::syntax::relaxed(&tree)).expect("builds")
    }

    #[test]
    fn rejects_only_what_the_regex_cannot_match() {
        let generic = r#"(?i)[a-z_]{0,30}token[a-z_]{0,20}[ \t]*=[ \t]*"([A-Za-z0-9]{8,200})""#;
        assert!(may(generic, r#"API_TOKEN = "a1b2c3d4e5f6""#));
        assert!(!may(generic, "token = get_token(request)"), "no quoted value");
        assert!(!may(generic, r#"token = "short""#), "a minimum up to the bound is kept");
        assert!(may(r"\bghp_[A-Za-z0-9]{36}\b", &format!("x ghp_{} y", "a".repeat(36))));
        assert!(
            !may(r"\bghp_[A-Za-z0-9]{36}\b", "xghp_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"),
            "look-around kept"
        );
        assert!(!may(r"\bghp_[A-Za-z0-9]{36}", "ghp_abc"));
    }

    #[test]
    fn is_a_superset_past_the_bound() {
        // 40 characters are too many for the regex, not for its relaxed form: a precheck may
        // pass what the regex then rejects, never the reverse.
        assert!(may(r"^k=[a-z]{20,30}$", &format!("k={}", "a".repeat(40))));
        assert!(may(r"^k=(?:ab){3,40}$", "k=abababab"));
    }

    #[test]
    fn looks_only_inside_windows_and_from_starts() {
        let check = build(r"\bkey=[0-9]{4}\b");
        let text = b"key=12 and key=1234";
        let within = |window: std::ops::Range<usize>| check.may_match_within(text, &[window, 0..0]);
        assert!(within(11..19));
        assert!(!within(0..10));
        assert!(within(11..18), "a window sees the byte after it");
        assert!(check.may_match_from(text, &[11..12, 0..0]));
        assert!(!check.may_match_from(text, &[0..1, 12..14]));
    }
}
