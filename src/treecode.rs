//! A regex's syntax tree as bytes, so that a run rebuilds a built-in rule's precheck tree
//! without parsing its regex: `build.rs` includes this file and writes each built-in rule's
//! relaxed tree (`syntax::relaxed`) with `write`; a run reads it back with `read`, about six
//! times faster than regex-syntax parses the regex (case folding, classes and nesting are all
//! worked out already). The code is the tree in prefix order: a tag byte, then the node's
//! numbers (LEB128) and bytes, then its children.

use regex_syntax::hir::{Class, ClassBytes, ClassBytesRange, Hir, HirKind, Look, Repetition};

const EMPTY: u8 = 0;
const LITERAL: u8 = 1;
const CLASS: u8 = 2;
/// A class of one ASCII letter in both cases, as `(?i)` makes of a letter: the lower case.
const LETTER: u8 = 3;
const LOOK: u8 = 4;
const REPETITION: u8 = 5;
const CONCAT: u8 = 6;
const ALTERNATION: u8 = 7;

/// Appends the code of `hir` to `out`; `false` (and `out` as it was) for a tree with capture
/// groups or Unicode classes, which the code does not hold. (Used by build.rs and the tests.)
#[allow(dead_code)]
pub fn write(hir: &Hir, out: &mut Vec<u8>) -> bool {
    let start = out.len();
    let written = write_node(hir, out);
    if !written {
        out.truncate(start);
    }
    written
}

fn write_node(hir: &Hir, out: &mut Vec<u8>) -> bool {
    match hir.kind() {
        HirKind::Empty => out.push(EMPTY),
        HirKind::Literal(literal) => {
            out.push(LITERAL);
            number(out, literal.0.len() as u32);
            out.extend_from_slice(&literal.0);
        }
        HirKind::Class(Class::Bytes(class)) => match class.ranges() {
            [upper, lower]
                if upper.start() == upper.end()
                    && lower.start() == lower.end()
                    && upper.start().is_ascii_uppercase()
                    && lower.start() == upper.start().to_ascii_lowercase() =>
            {
                out.extend([LETTER, lower.start()]);
            }
            ranges => {
                out.push(CLASS);
                number(out, ranges.len() as u32);
                for range in ranges {
                    out.extend([range.start(), range.end()]);
                }
            }
        },
        HirKind::Class(Class::Unicode(_)) | HirKind::Capture(_) => return false,
        HirKind::Look(look) => {
            out.push(LOOK);
            number(out, look.as_repr());
        }
        HirKind::Repetition(rep) => {
            out.extend([REPETITION, u8::from(rep.greedy)]);
            number(out, rep.min);
            number(out, rep.max.map_or(0, |max| max + 1));
            return write_node(&rep.sub, out);
        }
        HirKind::Concat(items) | HirKind::Alternation(items) => {
            out.push(if matches!(hir.kind(), HirKind::Concat(_)) { CONCAT } else { ALTERNATION });
            number(out, items.len() as u32);
            return items.iter().all(|item| write_node(item, out));
        }
    }
    true
}

fn number(out: &mut Vec<u8>, mut n: u32) {
    while n >= 0x80 {
        out.push(n as u8 | 0x80);
        n >>= 7;
    }
    out.push(n as u8);
}

/// The tree whose code is `code`, or `None` if `code` is not one tree's code.
pub fn read(code: &[u8]) -> Option<Hir> {
    let mut reader = Reader { code };
    let hir = reader.node()?;
    reader.code.is_empty().then_some(hir)
}

struct Reader<'a> {
    code: &'a [u8],
}

impl Reader<'_> {
    fn byte(&mut self) -> Option<u8> {
        let (&first, rest) = self.code.split_first()?;
        self.code = rest;
        Some(first)
    }

    fn number(&mut self) -> Option<u32> {
        let mut n = 0u32;
        for shift in (0..32).step_by(7) {
            let byte = self.byte()?;
            n |= u32::from(byte & 0x7f).checked_shl(shift)?;
            if byte < 0x80 {
                return Some(n);
            }
        }
        None
    }

    fn bytes(&mut self, len: usize) -> Option<&[u8]> {
        let code = self.code;
        let (taken, rest) = (code.get(..len)?, &code[len..]);
        self.code = rest;
        Some(taken)
    }

    fn node(&mut self) -> Option<Hir> {
        Some(match self.byte()? {
            EMPTY => Hir::empty(),
            LITERAL => {
                let len = self.number()? as usize;
                Hir::literal(self.bytes(len)?)
            }
            CLASS => {
                let count = self.number()?;
                let ranges = (0..count)
                    .map(|_| Some(ClassBytesRange::new(self.byte()?, self.byte()?)))
                    .collect::<Option<Vec<_>>>()?;
                Hir::class(Class::Bytes(ClassBytes::new(ranges)))
            }
            LETTER => {
                let lower = self.byte()?;
                let upper = lower.to_ascii_uppercase();
                let ranges = [ClassBytesRange::new(upper, upper), ClassBytesRange::new(lower, lower)];
                Hir::class(Class::Bytes(ClassBytes::new(ranges)))
            }
            LOOK => Hir::look(Look::from_repr(self.number()?)?),
            REPETITION => {
                let greedy = self.byte()? == 1;
                let min = self.number()?;
                let max = self.number()?.checked_sub(1);
                Hir::repetition(Repetition { min, max, greedy, sub: Box::new(self.node()?) })
            }
            tag @ (CONCAT | ALTERNATION) => {
                let count = self.number()?;
                let items = (0..count).map(|_| self.node()).collect::<Option<Vec<_>>>()?;
                if tag == CONCAT {
                    Hir::concat(items)
                } else {
                    Hir::alternation(items)
                }
            }
            _ => return None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::{read, write};
    use crate::syntax;

    fn code(regex: &str) -> Vec<u8> {
        let mut out = Vec::new();
        assert!(write(&syntax::relaxed(&syntax::tree(regex).expect("parses")), &mut out), "{regex}");
        out
    }

    #[test]
    fn a_tree_reads_back_as_written() {
        for regex in [
            r#"(?i)[a-z0-9_.$-]{0,30}(?:passw(?:or)?d|secret)[ \t]*(?::=|=)[ \t]*"([\x21\x23-\x7e]{8,200})""#,
            r"\bghp_[A-Za-z0-9]{36}\b",
            r"(?m)^[ \t]*-----BEGIN (?:RSA )?PRIVATE KEY-----$",
            r"a*?b+c{2}d{3,}(?s:.)|x\B",
            "",
        ] {
            let tree = syntax::relaxed(&syntax::tree(regex).expect("parses"));
            assert_eq!(read(&code(regex)), Some(tree), "{regex}");
        }
    }

    #[test]
    fn capture_groups_are_not_written() {
        let mut out = vec![9];
        assert!(!write(&syntax::tree("a(b)").expect("parses"), &mut out));
        assert_eq!(out, [9], "nothing appended");
    }

    #[test]
    fn code_that_is_not_a_tree_reads_as_none() {
        let good = code(r"(?i)token[ \t]*=[ \t]*[a-z]{8,20}");
        for cut in 0..good.len() {
            assert_eq!(read(&good[..cut]), None, "cut at {cut}");
        }
        assert_eq!(read(&[good.as_slice(), &[0]].concat()), None, "trailing byte");
        assert_eq!(read(&[42]), None, "unknown tag");
        assert_eq!(read(&[4, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]), None, "number too long");
    }
}
