//! A part every match of a regex holds, found by a regex of its own: where a rule's keywords and
//! pins prove nothing (its keyword is only context, or occurs all over the text), its regex runs
//! only in windows around that part's occurrences. A context rule of the form `NAME … KEY …
//! SECRET | … SECRET … NAME` holds its secret's shape in every branch (`sk_…`, or 32 letters and
//! digits): that shape is searched alone, by a small automaton, and the rule's regex, whose
//! bounded repetitions make a lazy DFA build new states at nearly every byte near each NAME,
//! only where a secret could be (libgit2's `checkout.c` took 25 ms for one such rule). Like
//! `reach.rs` and `pins.rs`, nothing here approximates: the part must be an item of every
//! branch, and a match bounded in bytes around it or in lines. A regex whose matches all start
//! with a literal, or that has no wide gap, is left whole: its own search is as fast.

use regex_automata::meta::{self, Regex};
use regex_automata::nfa::thompson::WhichCaptures;
use regex_syntax::hir::literal::{ExtractKind, Extractor};
use regex_syntax::hir::{Class, Hir, HirKind};
use std::ops::Range;

/// Parts shorter than this are not worth a search of their own: they occur everywhere.
const MIN_PART: usize = 3;
/// A regex whose matches start with at most this many literals is searched whole (`prefixed`).
const MAX_PREFIXES: usize = 64;
/// What makes a gap wide (`gapped`): a class of this many bytes, repeated up to this many times.
const WIDE_CLASS: usize = 64;
const WIDE_GAP: u32 = 16;
/// Regexes with more top-level branches, or a branch of more items, than this are not analysed
/// (`common_part`); a context rule has a few of each.
const MAX_ANALYSED: usize = 64;

pub struct Inner {
    /// The part, without capture groups.
    part: Regex,
    /// How far a match reaches around its part, in bytes: the part starts at least `lo` and at
    /// most `hi` bytes into a match, which is at most `longest` long.
    bytes: Option<Bytes>,
    /// The most line breaks a match holds.
    lines: Option<usize>,
}

#[derive(Debug, PartialEq, Eq)]
struct Bytes {
    lo: usize,
    hi: usize,
    longest: usize,
}

impl Inner {
    /// The part of `hir` (a rule's regex, `syntax::tree`) to search for, if every match holds
    /// one and matches are bounded in bytes or in lines.
    pub fn of_tree(hir: &Hir) -> Option<Inner> {
        let (part, bytes, lines) = analyse(hir)?;
        let part = meta::Builder::new()
            .configure(meta::Config::new().which_captures(WhichCaptures::Implicit).utf8_empty(false))
            .build_from_hir(&part)
            .ok()?;
        Some(Inner { part, bytes, lines })
    }

    /// Windows (merged, in order) that hold every match of the regex in `text`; `None` once
    /// they cover `most` bytes.
    pub fn windows(&self, text: &[u8], most: usize) -> Option<Vec<Range<usize>>> {
        let mut windows: Vec<Range<usize>> = Vec::new();
        let mut covered = 0;
        // Where the line of the last part found ends, when only lines bound a match: a part on
        // that line has the same window.
        let mut line_end = None;
        // A search for the part from `at` that finds it at `a..b` proves that it starts nowhere
        // in `at..a`; it may start anywhere in `a..b` (overlapping), and the next search goes on
        // from `b`.
        for found in self.part.find_iter(text) {
            let (first, last) = (found.start(), found.end().max(found.start() + 1) - 1);
            if line_end.is_some_and(|end| last < end) {
                continue;
            }
            if self.bytes.is_none() {
                line_end = Some(memchr::memchr(b'\n', &text[last..]).map_or(text.len(), |n| last + n));
            }
            let window = self.window(text, first, last);
            match windows.last_mut() {
                Some(previous) if window.start <= previous.end => {
                    covered += window.end.saturating_sub(previous.end);
                    previous.end = previous.end.max(window.end);
                }
                _ => {
                    covered += window.len();
                    windows.push(window);
                }
            }
            if covered >= most {
                return None;
            }
        }
        Some(windows)
    }

    /// The part of `text` that holds every match whose part starts between `first` and `last`.
    fn window(&self, text: &[u8], first: usize, last: usize) -> Range<usize> {
        let (mut start, mut end) = match &self.bytes {
            Some(Bytes { lo, hi, longest }) => {
                (first.saturating_sub(*hi), last.saturating_sub(*lo).saturating_add(*longest).min(text.len()))
            }
            None => (0, text.len()),
        };
        if let Some(lines) = self.lines {
            (start, end) = crate::reach::lines_around(text, start..end, first..last, lines);
        }
        start..end.max(last + 1)
    }
}

/// What `keyrot rules --reach` says of a regex's part, if it has one.
pub fn explain(regex: &str) -> Option<String> {
    let (part, bytes, lines) = analyse(&crate::syntax::tree(regex)?)?;
    let reach = match (bytes, lines) {
        (Some(Bytes { longest, .. }), _) => format!("matches of at most {longest} bytes"),
        (None, Some(lines)) => crate::reach::spanned(lines),
        (None, None) => unreachable!("`analyse` asks for a bound"),
    };
    Some(format!("around `{part}` where it occurs ({reach})"))
}

/// The part of `hir` and how far a match reaches around it: `None` if its matches start with
/// literals, it has no wide gap, it has no part, or its matches are bounded neither in bytes
/// nor in lines.
fn analyse(hir: &Hir) -> Option<(Hir, Option<Bytes>, Option<usize>)> {
    if prefixed(hir) || !gapped(hir) {
        return None;
    }
    let (part, offsets) = common_part(hir)?;
    let bytes =
        offsets.zip(hir.properties().maximum_len()).map(|((lo, hi), longest)| Bytes { lo, hi, longest });
    let lines = crate::reach::line_breaks(hir);
    (bytes.is_some() || lines.is_some()).then_some((part, bytes, lines))
}

/// Whether `hir` has a wide gap: a class of at least `WIDE_CLASS` bytes repeated up to
/// `WIDE_GAP` times or more (`[\t -~]{0,60}`). A lazy DFA tracks how far into each such gap
/// every start it is following has gone, and builds a new state at nearly every byte after
/// the gap opens; a regex without one searches a whole text at the DFA's speed, which a
/// search for its part and windows around it would not beat.
fn gapped(hir: &Hir) -> bool {
    match hir.kind() {
        HirKind::Repetition(rep) => {
            let wide = match rep.sub.kind() {
                HirKind::Class(Class::Bytes(class)) => {
                    class.ranges().iter().map(|r| usize::from(r.end() - r.start()) + 1).sum::<usize>()
                        >= WIDE_CLASS
                }
                HirKind::Class(Class::Unicode(class)) => {
                    class.ranges().iter().map(|r| r.end() as usize - r.start() as usize + 1).sum::<usize>()
                        >= WIDE_CLASS
                }
                _ => false,
            };
            (wide && rep.max.is_some_and(|max| max >= WIDE_GAP)) || gapped(&rep.sub)
        }
        HirKind::Capture(group) => gapped(&group.sub),
        HirKind::Concat(items) | HirKind::Alternation(items) => items.iter().any(gapped),
        _ => false,
    }
}

/// Whether every match of `hir` starts with one of a few literals of at least `MIN_PART` bytes:
/// the regex's own search then skips to them, and a whole text costs less than a search for a
/// part and windows around it.
fn prefixed(hir: &Hir) -> bool {
    let prefixes = Extractor::new().kind(ExtractKind::Prefix).extract(hir);
    prefixes.literals().is_some_and(|literals| {
        !literals.is_empty() && literals.len() <= MAX_PREFIXES && literals.iter().all(|l| l.len() >= MIN_PART)
    })
}

/// An item of every branch of `hir` (one branch if it is no alternation), the same in each but
/// for the capture group around it, at least `MIN_PART` bytes long; with the bounds of its
/// offset from the start of a match over all branches, if each branch bounds it.
fn common_part(hir: &Hir) -> Option<(Hir, Option<(usize, usize)>)> {
    let branches: Vec<&Hir> = match hir.kind() {
        HirKind::Alternation(branches) => branches.iter().collect(),
        _ => vec![hir],
    };
    let placed: Vec<Vec<Placed>> = branches.iter().map(|branch| items(branch)).collect();
    // Each item of the first branch is looked for in every other: a rules file a pull request
    // can change must not make that quadratic in a huge regex.
    if placed.len() > MAX_ANALYSED || placed.iter().any(|items| items.len() > MAX_ANALYSED) {
        return None;
    }
    let (first, rest) = placed.split_first()?;
    first
        .iter()
        .filter(|(_, part)| part.properties().minimum_len().is_some_and(|len| len >= MIN_PART))
        .filter_map(|(offsets, part)| {
            let mut offsets = *offsets;
            for branch in rest {
                let (other, _) = branch.iter().find(|(_, other)| other == part)?;
                offsets = offsets
                    .zip(*other)
                    .map(|((lo, hi), (other_lo, other_hi))| (lo.min(other_lo), hi.max(other_hi)));
            }
            Some((part.clone(), offsets))
        })
        // The longest part is the rarest, as a rule.
        .max_by_key(|(part, _)| part.properties().minimum_len())
}

/// An item of a branch, and the bounds of its offset from the branch's start, if bounded.
type Placed = (Option<(usize, usize)>, Hir);

/// The items of a branch (a concatenation, or the branch alone), capture groups taken off, each
/// with the bounds of its offset from the branch's start, if bounded.
fn items(branch: &Hir) -> Vec<Placed> {
    let items = match branch.kind() {
        HirKind::Concat(items) => items.as_slice(),
        _ => std::slice::from_ref(branch),
    };
    let mut placed = Vec::new();
    let (mut lo, mut hi) = (0usize, Some(0usize));
    for item in items {
        placed.push((hi.map(|hi| (lo, hi)), without_group(item).clone()));
        lo += item.properties().minimum_len().unwrap_or(0);
        hi = hi.zip(item.properties().maximum_len()).and_then(|(hi, len)| hi.checked_add(len));
    }
    placed
}

fn without_group(hir: &Hir) -> &Hir {
    match hir.kind() {
        HirKind::Capture(group) => without_group(&group.sub),
        _ => hir,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use regex::bytes::Regex as Full;

    fn inner(regex: &str) -> Option<Inner> {
        Inner::of_tree(&crate::syntax::tree(regex).unwrap())
    }

    #[test]
    fn the_part_common_to_every_branch_and_its_offsets() {
        let found =
            inner(r"(?:(?:^|[^a-z\n])name[\t -~]{0,20}=[ \t]{0,3}(sk_[a-z]{4})|(sk_[a-z]{4})[ ]{0,3}#name)")
                .unwrap();
        assert_eq!((found.bytes, found.lines), (Some(Bytes { lo: 0, hi: 29, longest: 36 }), Some(0)));
        // Unbounded blanks: bounded in lines only.
        let found = inner(r"(?:^|[^a-z\n])name[\t -~]{0,30}=[ \t]*(sk_[a-z]{4})").unwrap();
        assert_eq!((found.bytes, found.lines), (None, Some(0)));
        // A part in one branch only, no part, or matches bounded in neither bytes nor lines:
        // nothing to search for.
        assert!(inner(r"[^a-z]name[\t -~]{0,20}=(sk_[a-z]{4})|(pk_[a-z]{4})#name").is_none());
        assert!(inner(r"(?:ab|cd)").is_none());
        // More branches than are analysed: the same part in each is not looked for.
        let many = vec![r"(?:^|[^a-z])name[\t -~]{0,20}(sk_[a-z]{4})"; MAX_ANALYSED + 1].join("|");
        assert!(inner(&many).is_none());
        assert!(inner(&vec![r"(?:^|[^a-z])name[\t -~]{0,20}(sk_[a-z]{4})"; MAX_ANALYSED].join("|")).is_some());
        assert!(inner(r"[^a-z]name[\t -~]{0,20}=\s*(sk_[a-z]{4})").is_none());
        // Every match starts with a literal: the regex's own search is faster.
        assert!(inner(r"(?i:acme)[\t -~]{0,20}_key=([a-z0-9]{32})").is_none());
        // No wide gap: the lazy DFA searches the whole text at its speed.
        assert!(inner(r"(?:^|[^a-z])name[ \t]{0,9}=(sk_[a-z]{4})").is_none());
    }

    #[test]
    fn windows_hold_every_match_of_the_regex() {
        let filler = "lorem ipsum dolor sit amet\n".repeat(2);
        let text = format!(
            "{filler}acme client, key:sk_abcd1234\n{filler}ACME\n  the key:sk_zzzz9999\n{filler}sk_11112222 #acme\n{filler}"
        );
        let text = text.as_bytes();
        for regex in [
            // Bounded in bytes and lines, in bytes only, in lines only.
            r"(?:^|[^A-Za-z])(?i:acme)[\t -~]{0,20}?(?:\n[\t -~]{0,10}?)?(?i:key)[^a-z0-9](sk_[a-z0-9]{8})\b|(sk_[a-z0-9]{8})[ ]{0,5}#(?i:acme)",
            r"(?:^|[^A-Za-z])(?i:acme)[^;]{0,40}?(?i:key)[^a-z0-9](sk_[a-z0-9]{8})\b|(sk_[a-z0-9]{8})[^;]{0,30}(?i:acme)",
            r"(?:^|[^A-Za-z])(?i:acme)[\t -~]{0,30}?(?:\n[\t -~]*?)?(?i:key)[ \t]*[:=]?[ \t]*(sk_[a-z0-9]{8})\b|(sk_[a-z0-9]{8})[ ]*#(?i:acme)",
        ] {
            let windows = inner(regex).expect("a part every match holds").windows(text, usize::MAX).unwrap();
            let matches: Vec<_> = Full::new(regex).unwrap().find_iter(text).map(|m| m.range()).collect();
            assert_eq!(matches.len(), 3, "{regex}: {matches:?}");
            for found in matches {
                assert!(
                    windows.iter().any(|w| w.start <= found.start && found.end <= w.end),
                    "{regex}: match {found:?} outside {windows:?}"
                );
            }
        }
        // Where the part never occurs, there is nowhere to search.
        let regex =
            r"(?:^|[^A-Za-z])(?i:acme)[\t -~]{0,20}(sk_[a-z0-9]{8})|(sk_[a-z0-9]{8})[ ]{0,9}(?i:acme)";
        assert_eq!(inner(regex).unwrap().windows(b"ACME key: pk_abcd1234", usize::MAX), Some(vec![]));
    }

    #[test]
    fn windows_give_up_once_they_cover_enough() {
        let inner = inner(r"[\t -~]{0,20}=(sk_[a-z]{4})").unwrap();
        let text = b"sk_aaaa sk_bbbb sk_cccc sk_dddd";
        assert!(inner.windows(text, text.len() / 2).is_none());
        assert_eq!(inner.windows(text, usize::MAX).map(|w| w.len()), Some(1));
    }
}
