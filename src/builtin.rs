//! The built-in rules, compiled into the binary by `build.rs` as the raw config a rules file
//! parses to: their texts spans of `STRINGS`, their lists spans of `TEXTS` and
//! `RULE_ALLOWLISTS`. Nothing is parsed, copied or relocated at start.

use crate::config::{Analysis, RawAllowlist, RawRotate, RawRule};
use crate::pins::Pins;
use crate::reach::{After, Before, Reach};
use crate::text::{List, Text};

include!(concat!(env!("OUT_DIR"), "/rules.rs"));
