//! Two bytes every match of a regex holds at a fixed distance from each other, the first at a
//! bounded offset from the match's start: read from the regex's syntax tree, for rules that
//! search whole texts because their keyword is only context. A FAL key is `UUID:hex`, so every
//! match has `-` at offset 8 and another 5 bytes after it; the matcher then tries the regex only
//! where such a pair occurs (and up to three more of the match's bytes at a fixed distance: two
//! more dashes and the `:`), anchored at the starts it allows, instead of running it over every
//! text whose keyword (`key`) occurs. Like `reach.rs`, nothing here approximates: a byte counts
//! only when every match has it at that place, and a regex without such a pair keeps whole-text
//! matching.

use regex_syntax::hir::{Class, Hir, HirKind};
use std::ops::Range;

/// Every match has byte `anchor` at an offset from its start between `lo` and `hi`, and byte
/// `other` at `distance` bytes from the anchor (negative: before it); and each byte of `also`
/// at its distance from the anchor (a slot with nothing to add holds the anchor itself).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Pins {
    pub anchor: u8,
    pub other: u8,
    pub distance: isize,
    pub lo: usize,
    pub hi: usize,
    pub also: [(isize, u8); ALSO],
}

/// How many more bytes at a fixed distance from the anchor are checked. Where the pair is
/// common (a FAL key's two dashes are in every `------` rule of a comment), the rest of the
/// match's fixed bytes (two more dashes, the `:` 28 bytes on) rule out nearly every place.
pub const ALSO: usize = 3;

/// How far apart the possible offsets of the anchor may be: each occurrence of the pair is
/// tried at that many starts.
const MAX_SPREAD: usize = 16;

/// Each known byte is paired with at most this many of the next ones: a rule's regex comes from
/// a config a pull request can change, and a long literal must not make the pairing quadratic.
const MAX_PAIRED: usize = 32;

/// Punctuation in code, most frequent first (letters, digits and white space are commoner
/// still): the anchor is the rarer byte of a pair, so fewer places are looked at.
const COMMON: &[u8] = b" /.()_:\"-,`=>;[]{}<#&!|'*?\\+$@^~%";

/// A part of a match: one known byte, or something of `min` to `max` bytes.
enum Piece {
    Byte(u8),
    Span { min: usize, max: Option<usize> },
}

pub fn of(regex: &str) -> Option<Pins> {
    of_tree(&crate::syntax::tree(regex)?)
}

/// The pins of a regex's syntax tree (`syntax::tree`).
pub fn of_tree(hir: &Hir) -> Option<Pins> {
    let mut pieces = Vec::new();
    flatten(hir, &mut pieces);
    // Each known byte with the range of its offset from the match's start.
    let mut bytes: Vec<(usize, u8, usize, Option<usize>)> = Vec::new();
    let (mut lo, mut hi) = (0usize, Some(0usize));
    for (i, piece) in pieces.iter().enumerate() {
        match *piece {
            Piece::Byte(b) => {
                bytes.push((i, b, lo, hi));
                lo += 1;
                hi = hi.map(|h| h + 1);
            }
            Piece::Span { min, max } => {
                lo += min;
                hi = hi.zip(max).map(|(h, m)| h + m);
            }
        }
    }
    // How many pieces of varying length come before each piece.
    let mut varying_before = Vec::with_capacity(pieces.len() + 1);
    let mut varying = 0;
    for piece in &pieces {
        varying_before.push(varying);
        if let Piece::Span { min, max } = *piece {
            varying += usize::from(max != Some(min));
        }
    }
    varying_before.push(varying);
    // Two bytes are at a fixed distance when no piece of varying length lies between them.
    let fixed = |a: usize, b: usize| {
        let (i, j) = (bytes[a.min(b)].0, bytes[a.max(b)].0);
        varying_before[j] == varying_before[i + 1]
    };
    let mut best: Option<(usize, Pins, usize, usize)> = None;
    for (a, &(_, first, first_lo, first_hi)) in bytes.iter().enumerate() {
        for (b, &(_, second, second_lo, second_hi)) in bytes.iter().enumerate().skip(a + 1).take(MAX_PAIRED) {
            if !fixed(a, b) {
                break;
            }
            let distance = (second_lo - first_lo) as isize;
            for (anchor, other, distance, lo, hi, at, paired) in [
                (first, second, distance, first_lo, first_hi, a, b),
                (second, first, -distance, second_lo, second_hi, b, a),
            ] {
                let Some(hi) = hi.filter(|&hi| hi - lo <= MAX_SPREAD) else { continue };
                let score = commonness(anchor) * 2 + commonness(other);
                if best.map_or(true, |(s, ..)| score < s) {
                    let pins = Pins { anchor, other, distance, lo, hi, also: [(0, anchor); ALSO] };
                    best = Some((score, pins, at, paired));
                }
            }
        }
    }
    let (_, mut pins, at, paired) = best?;
    // The rarest of the other bytes at a fixed distance from the anchor, near ones first.
    let mut also: Vec<(usize, isize, u8)> = (at.saturating_sub(MAX_PAIRED)
        ..(at + MAX_PAIRED).min(bytes.len()))
        .filter(|&k| k != at && k != paired && fixed(at, k))
        .map(|k| (commonness(bytes[k].1), bytes[k].2 as isize - bytes[at].2 as isize, bytes[k].1))
        .collect();
    also.sort_by_key(|&(commonness, distance, _)| (commonness, distance.unsigned_abs()));
    for (slot, &(_, distance, byte)) in pins.also.iter_mut().zip(&also) {
        *slot = (distance, byte);
    }
    Some(pins)
}

/// Lower is rarer in code.
fn commonness(b: u8) -> usize {
    if b.is_ascii_alphanumeric() || b.is_ascii_whitespace() {
        return COMMON.len() + 1;
    }
    COMMON.iter().position(|&c| c == b).map_or(0, |at| COMMON.len() - at)
}

/// The match as a sequence of pieces: concatenations and capture groups opened up, anything
/// else (classes, alternations, repetitions, look-arounds) kept whole with its length range.
fn flatten(hir: &Hir, out: &mut Vec<Piece>) {
    match hir.kind() {
        HirKind::Concat(children) => children.iter().for_each(|c| flatten(c, out)),
        HirKind::Capture(capture) => flatten(&capture.sub, out),
        HirKind::Literal(literal) => out.extend(literal.0.iter().map(|&b| Piece::Byte(b))),
        HirKind::Class(Class::Bytes(class)) if class.ranges().len() == 1 && class.ranges()[0].len() == 1 => {
            out.push(Piece::Byte(class.ranges()[0].start()))
        }
        _ => {
            let properties = hir.properties();
            out.push(Piece::Span {
                min: properties.minimum_len().unwrap_or(0),
                max: properties.maximum_len(),
            })
        }
    }
}

/// How `keyrot rules --reach` says where a rule with pins runs.
impl std::fmt::Display for Pins {
    fn fmt(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        let (anchor, other) = (self.anchor.escape_ascii(), self.other.escape_ascii());
        let (distance, side) =
            (self.distance.unsigned_abs(), if self.distance < 0 { "before" } else { "after" });
        let offset =
            if self.lo == self.hi { self.lo.to_string() } else { format!("{} to {}", self.lo, self.hi) };
        write!(
            f,
            "`{anchor}` occurs with `{other}` {distance} bytes {side} it, {offset} bytes into a match"
        )?;
        match self.also.iter().filter(|&&(distance, _)| distance != 0).count() {
            0 => Ok(()),
            1 => write!(f, " (and one more byte in place)"),
            more => write!(f, " (and {more} more bytes in place)"),
        }
    }
}

impl Pins {
    /// Positions where a match can start: `lo` to `hi` before each anchor whose other byte is
    /// in place, merged, in order.
    pub fn starts(&self, text: &[u8]) -> Vec<Range<usize>> {
        self.starts_within(text, std::slice::from_ref(&(0..text.len())))
    }

    /// `starts`, only those inside `places` (sorted, apart): only the anchors that allow a
    /// start there are looked for.
    pub fn starts_within(&self, text: &[u8], places: &[Range<usize>]) -> Vec<Range<usize>> {
        let mut starts: Vec<Range<usize>> = Vec::new();
        let pair = Pair::new(self);
        for place in places {
            let (from, to) = (place.start + self.lo, place.end.saturating_add(self.hi).min(text.len()));
            if from >= to {
                continue;
            }
            pair.each(text, from..to, |at| {
                let holds = |(distance, byte): (isize, u8)| {
                    at.checked_add_signed(distance).and_then(|o| text.get(o)) == Some(&byte)
                };
                if !self.also.iter().all(|&pin| holds(pin)) {
                    return;
                }
                let range = at.saturating_sub(self.hi).max(place.start)..(at - self.lo + 1).min(place.end);
                match starts.last_mut() {
                    Some(last) if range.start <= last.end => last.end = last.end.max(range.end),
                    _ => starts.push(range),
                }
            });
        }
        starts
    }
}

/// Where a pins' anchor occurs with its other byte in place: both bytes compared 32 places at a
/// time (memchr's pair search, with AVX2) where the distance allows, else each anchor memchr
/// finds checked for the other byte (in code the anchor, a `-` or `.`, is common: one byte in
/// a hundred; the pair is rare).
struct Pair {
    anchor: u8,
    other: u8,
    distance: isize,
    #[cfg(target_arch = "x86_64")]
    finder: Option<memchr::arch::x86_64::avx2::packedpair::Finder>,
}

impl Pair {
    fn new(pins: &Pins) -> Pair {
        Pair {
            anchor: pins.anchor,
            other: pins.other,
            distance: pins.distance,
            #[cfg(target_arch = "x86_64")]
            finder: Self::finder(pins),
        }
    }

    /// A finder for a "needle" that starts with whichever of the two bytes comes first.
    #[cfg(target_arch = "x86_64")]
    fn finder(pins: &Pins) -> Option<memchr::arch::x86_64::avx2::packedpair::Finder> {
        use memchr::arch::{all::packedpair, x86_64::avx2::packedpair::Finder};
        let far = u8::try_from(pins.distance.unsigned_abs()).ok()?;
        let mut needle = vec![0u8; usize::from(far) + 1];
        let (at_anchor, at_other) = if pins.distance > 0 { (0, far) } else { (far, 0) };
        needle[usize::from(at_anchor)] = pins.anchor;
        needle[usize::from(at_other)] = pins.other;
        Finder::with_pair(&needle, packedpair::Pair::with_indices(&needle, at_anchor, at_other)?)
    }

    /// Hands `each` every position in `anchors` where the anchor is and the other byte is at its
    /// distance, in order.
    fn each(&self, text: &[u8], anchors: Range<usize>, mut each: impl FnMut(usize)) {
        let holds = |at: usize| {
            text[at] == self.anchor
                && at.checked_add_signed(self.distance).and_then(|o| text.get(o)) == Some(&self.other)
        };
        #[cfg(target_arch = "x86_64")]
        if let Some(finder) = &self.finder {
            // The needle starts at the anchor, or `-distance` before it.
            let back = if self.distance < 0 { self.distance.unsigned_abs() } else { 0 };
            let start = anchors.start.saturating_sub(back);
            let end = (anchors.end + self.distance.unsigned_abs() - back).min(text.len());
            let mut at = start;
            while end - at >= finder.min_haystack_len() {
                let Some(found) = finder.find_prefilter(&text[at..end]) else { return };
                let anchor = at + found + back;
                if anchor >= anchors.end {
                    return;
                }
                if anchor >= anchors.start {
                    each(anchor);
                }
                at += found + 1;
            }
            for anchor in (at + back..anchors.end).filter(|&anchor| holds(anchor)) {
                each(anchor);
            }
            return;
        }
        for anchor in memchr::memchr_iter(self.anchor, &text[anchors.clone()]).map(|at| at + anchors.start) {
            if holds(anchor) {
                each(anchor);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pairs_at_a_fixed_distance_and_a_bounded_offset() {
        let uuid_key = r"\b(([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}):[0-9a-f]{32})\b";
        let also = [(10, b'-'), (15, b'-'), (28, b':')];
        assert_eq!(of(uuid_key), Some(Pins { anchor: b'-', other: b'-', distance: 5, lo: 8, hi: 8, also }));
        let dotted = r"(?:^|[^A-Za-z0-9_\-])([A-Za-z0-9_-]{6}\.[A-Za-z0-9_-]{6}:[A-Za-z0-9_+/=-]{38,48})";
        let also = [(0, b':'); ALSO];
        assert_eq!(of(dotted), Some(Pins { anchor: b':', other: b'.', distance: -7, lo: 13, hi: 14, also }));
        // The rarest bytes beside the pair, nearest first among bytes as common.
        let also = [(3, b'-'), (-1, b'd'), (1, b'e')];
        assert_eq!(
            of("ab-cd=ef-gh"),
            Some(Pins { anchor: b'=', other: b'-', distance: -3, lo: 5, hi: 5, also })
        );
        // Unbounded before the pair: no offset to start from.
        assert_eq!(of(r"[a-z]+\.[a-z]{3}:"), None);
        // A repetition of varying length between the bytes: no fixed distance.
        assert_eq!(of(r"[0-9]-[0-9]{2,3}:"), None);
        assert_eq!(of(r"[0-9]{2,3}:"), None, "one byte is not a pair");
        // Bytes in a branch of an alternation are not in every match.
        assert_eq!(of(r"(?:a:b|c:d)"), None);
        // Case-insensitive letters are classes, not bytes.
        assert_eq!(of(r"(?i)k:"), None);
    }

    #[test]
    fn starts_are_where_the_pair_allows() {
        let pins = Pins { anchor: b':', other: b'-', distance: -2, lo: 3, hi: 4, also: [(0, b':'); ALSO] };
        assert_eq!(pins.starts(b"ab-c:d  x-y:z ::"), vec![0..2, 7..9]);
        // Every byte of `also` in place too.
        let also = [(1, b'd'), (0, b':'), (0, b':')];
        assert_eq!(Pins { also, ..pins }.starts(b"ab-c:d  x-y:z ::"), vec![0..2]);
        assert_eq!(pins.starts(b"-:"), Vec::<std::ops::Range<usize>>::new(), "too close to the start");
    }

    /// The pair search (32 places at a time where the text is long enough) finds every anchor
    /// with its other byte in place that reading every byte finds, for pairs either way round,
    /// near and far apart, in ranges cut anywhere in texts of many lengths.
    #[test]
    fn the_pair_search_finds_what_reading_every_byte_finds() {
        let mut next = crate::random::below(0x2545_f491_4f6c_dd1d);
        for round in 0..3000 {
            let text: Vec<u8> = (0..next(300)).map(|_| b"-:ab"[next(4)]).collect();
            let distance = match round % 3 {
                0 => 1 + next(8) as isize,
                1 => -(1 + next(8) as isize),
                _ => [-300, -255, -40, 40, 255, 300][next(6)],
            };
            let pins = Pins { anchor: b'-', other: b':', distance, lo: 0, hi: 0, also: [(0, b'-'); ALSO] };
            let from = next(text.len() + 1);
            let to = from + next(text.len() + 1 - from);
            let mut found = Vec::new();
            Pair::new(&pins).each(&text, from..to, |at| found.push(at));
            let read: Vec<usize> = (from..to)
                .filter(|&at| {
                    text[at] == b'-'
                        && at.checked_add_signed(distance).and_then(|o| text.get(o)) == Some(&b':')
                })
                .collect();
            assert_eq!(found, read, "distance {distance}, {from}..{to} of {}", text.len());
        }
    }
}
