//! How a rule's regex is parsed into the syntax tree that `reach.rs`, `pins.rs` and
//! `precheck.rs` read: as rules' regexes compile (ASCII classes and case folding, on bytes);
//! and the relaxed tree a precheck is built from. `build.rs` includes this file, with `reach.rs`,
//! `pins.rs` and `treecode.rs`, to work out the built-in rules' reach, pins and relaxed trees
//! when keyrot is built, from the same parse as at run time.

use regex_syntax::hir::{Hir, HirKind, Repetition};

/// Repetition bounds up to this are kept as written by `relaxed`; larger ones are relaxed to it.
const BOUND: u32 = 8;

/// The syntax tree of `regex`, or `None` if it does not parse.
pub fn tree(regex: &str) -> Option<Hir> {
    regex_syntax::ParserBuilder::new().unicode(false).utf8(false).build().parse(regex).ok()
}

/// `hir` with its large repetition bounds relaxed and its groups plain: a language that holds
/// every match of `hir`, at the same place and with the same look-around. Repetitions bounded
/// above by more than `BOUND` become unbounded, their minimum at most `BOUND`; the tree is then
/// far cheaper to compile (`precheck.rs`).
pub fn relaxed(hir: &Hir) -> Hir {
    match hir.kind() {
        HirKind::Repetition(rep) => {
            let max = rep.max.filter(|&max| max <= BOUND);
            Hir::repetition(Repetition {
                min: rep.min.min(BOUND),
                max,
                greedy: rep.greedy,
                sub: Box::new(relaxed(&rep.sub)),
            })
        }
        HirKind::Capture(group) => relaxed(&group.sub),
        HirKind::Concat(items) => Hir::concat(items.iter().map(relaxed).collect()),
        HirKind::Alternation(items) => Hir::alternation(items.iter().map(relaxed).collect()),
        _ => hir.clone(),
    }
}
