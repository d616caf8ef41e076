//! The built-in rules, compiled into the binary by `build.rs` as the raw config a rules file
//! parses to, with every text borrowed from the binary: nothing is parsed or copied at start.

use crate::config::{RawAllowlist, RawRotate, RawRule, BUILTIN_NAME};
use std::borrow::Cow;

include!(concat!(env!("OUT_DIR"), "/rules.rs"));
