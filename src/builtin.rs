//! The built-in rules, compiled into the binary by `build.rs` as the raw config a rules file
//! parses to: their texts spans of `STRINGS`, their lists spans of `TEXTS` and
//! `RULE_ALLOWLISTS`. Nothing is parsed, copied or relocated at start.

use crate::config::{Analysis, RawAllowlist, RawRotate, RawRule};
use crate::pins::Pins;
use crate::reach::{After, Before, Reach};
use crate::text::{List, Text};

include!(concat!(env!("OUT_DIR"), "/rules.rs"));

/// The code of built-in rule `analysis`'s relaxed syntax tree (`treecode.rs`); empty when it has
/// none.
pub fn precheck_tree(analysis: u32) -> &'static [u8] {
    code(PRECHECK_TREES[analysis as usize])
}

/// The code of built-in rule `analysis`'s path pattern's syntax tree; empty when it has none.
pub fn path_tree(analysis: u32) -> &'static [u8] {
    code(PATH_TREES[analysis as usize])
}

fn code((start, len): (u32, u32)) -> &'static [u8] {
    &TREE_CODE[start as usize..(start + len) as usize]
}
