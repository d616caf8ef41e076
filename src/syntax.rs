//! How a rule's regex is parsed into the syntax tree that `reach.rs`, `pins.rs` and
//! `precheck.rs` read: as rules' regexes compile (ASCII classes and case folding, on bytes).
//! `build.rs` includes this file, with `reach.rs` and `pins.rs`, to work out the built-in rules'
//! reach and pins when keyrot is built, from the same parse as at run time.

use regex_syntax::hir::Hir;

/// The syntax tree of `regex`, or `None` if it does not parse.
pub fn tree(regex: &str) -> Option<Hir> {
    regex_syntax::ParserBuilder::new().unicode(false).utf8(false).build().parse(regex).ok()
}
