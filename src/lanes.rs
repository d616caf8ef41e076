//! The keyword pass of a large workload: one Aho-Corasick DFA walked over several parts of a
//! text at once. Each step of a DFA walk loads the next state from where the last one pointed,
//! so a single walk waits on memory at every byte: on real code it reads ~375 MB/s whatever the
//! automaton's size. Eight walks over the eight parts of a text, advanced in lockstep, keep
//! eight loads in flight: on cargo's source tree (3.9 MB, 1,750 keywords) two walks read 610
//! MB/s, four 940, six 1,160, eight 1,200, twelve 1,200 and sixteen 1,120.
//!
//! A lane starts reading the longest keyword's length before its part: by the first byte of
//! its part it is in the state a walk from the start of the text would be in (a DFA state
//! stands for the last few bytes read, never more than the longest keyword). It reports only
//! the occurrences that end inside its part, so each occurrence is reported once, as an
//! overlapping search of the whole text reports it. A text too short for eight parts worth the
//! overlap is walked in four, or in one.

use aho_corasick::automaton::{Automaton, StateID};
use aho_corasick::dfa::{Builder, DFA};
use aho_corasick::{Anchored, MatchKind, StartKind};
use std::ops::Range;

/// A text whose parts would be shorter than this many times the longest keyword is walked in
/// fewer lanes: the lanes' overlap would cost more than they save.
const MIN_PART: usize = 8;

/// ASCII case-insensitive keywords, found wherever they occur (overlapping ones included).
pub struct Lanes {
    dfa: DFA,
    longest: usize,
    /// A byte no keyword holds (in either case): reading it takes the walk back to its start.
    separator: Option<u8>,
}

impl Lanes {
    pub fn new<K: AsRef<[u8]>>(keywords: &[K]) -> Lanes {
        let dfa = Builder::new()
            .match_kind(MatchKind::Standard)
            .start_kind(StartKind::Unanchored)
            .ascii_case_insensitive(true)
            .build(keywords)
            .expect("keywords are plain literals, fewer than the automaton's limits");
        let longest = keywords.iter().map(|k| k.as_ref().len()).max().unwrap_or(0);
        let mut held = [false; 256];
        for &byte in keywords.iter().flat_map(|k| k.as_ref()) {
            held[usize::from(byte.to_ascii_lowercase())] = true;
            held[usize::from(byte.to_ascii_uppercase())] = true;
        }
        let separator = (0..=255).find(|&byte| !held[usize::from(byte)]);
        Lanes { dfa, longest, separator }
    }

    /// The longest keyword's length.
    pub fn longest(&self) -> usize {
        self.longest
    }

    /// Calls `found(keyword, span)` for each occurrence of each keyword in `text`, by keyword
    /// index in the list given to `new`; not in text order. Never inlined: inlined into the
    /// matcher's keyword pass, its loops ran 15-20% slower over cargo's history.
    #[inline(never)]
    pub fn each(&self, text: &[u8], mut found: impl FnMut(usize, Range<usize>)) {
        let fits = |lanes: usize| text.len() / lanes >= MIN_PART * self.longest.max(1);
        if fits(8) {
            self.lanes::<8>(text, &mut found);
        } else if fits(4) {
            self.lanes::<4>(text, &mut found);
        } else {
            let mut state = self.start();
            for (at, &byte) in text.iter().enumerate() {
                state = self.step(state, byte, at, &mut found);
            }
        }
    }

    /// `each` for the occurrences that lie wholly inside one of `pieces` of `text`. Pieces are
    /// often short (the seams of a delta), too short for lanes of their own: they are read as
    /// one text, joined by a byte no keyword holds, so that no occurrence spans two.
    pub fn each_in(&self, text: &[u8], pieces: &[Range<usize>], mut found: impl FnMut(usize, Range<usize>)) {
        let Some(separator) = self.separator else {
            for piece in pieces {
                self.each(&text[piece.clone()], |k, span| {
                    found(k, piece.start + span.start..piece.start + span.end)
                });
            }
            return;
        };
        let mut joined = Vec::with_capacity(pieces.iter().map(|p| p.len() + 1).sum());
        // Where each piece starts in `joined`.
        let mut starts = Vec::with_capacity(pieces.len());
        for piece in pieces {
            starts.push(joined.len());
            joined.extend_from_slice(&text[piece.clone()]);
            joined.push(separator);
        }
        self.each(&joined, |k, span| {
            let i = starts.partition_point(|&start| start <= span.start) - 1;
            let shift = pieces[i].start;
            found(k, span.start - starts[i] + shift..span.end - starts[i] + shift);
        });
    }

    /// `each` with `LANES` walks.
    fn lanes<const LANES: usize>(&self, text: &[u8], found: &mut impl FnMut(usize, Range<usize>)) {
        let part = text.len() / LANES;
        // Lane j reads from `from[j]` and reports occurrences ending after `own[j]`.
        let own: [usize; LANES] = std::array::from_fn(|j| j * part);
        let from: [usize; LANES] = std::array::from_fn(|j| own[j].saturating_sub(self.longest));
        let to: [usize; LANES] =
            std::array::from_fn(|j| if j + 1 == LANES { text.len() } else { own[j + 1] });
        let steps = (0..LANES).map(|j| to[j] - from[j]).min().expect("LANES > 0");
        let lanes: [&[u8]; LANES] = std::array::from_fn(|j| &text[from[j]..from[j] + steps]);
        let mut state = [self.start(); LANES];
        for i in 0..steps {
            for (state, lane) in state.iter_mut().zip(lanes) {
                *state = self.dfa.next_state(Anchored::No, *state, lane[i]);
            }
            if state.iter().any(|&s| self.dfa.is_match(s)) {
                for j in 0..LANES {
                    let end = from[j] + i + 1;
                    if end > own[j] {
                        self.report(state[j], end, found);
                    }
                }
            }
        }
        // The lanes are equally long but for the first (no overlap) and the last (the rest).
        for j in 0..LANES {
            let mut lane = state[j];
            for (at, &byte) in text.iter().enumerate().take(to[j]).skip(from[j] + steps) {
                lane = self.step(lane, byte, at, found);
            }
        }
    }

    fn start(&self) -> StateID {
        self.dfa.start_state(Anchored::No).expect("built with an unanchored start state")
    }

    fn step(
        &self,
        state: StateID,
        byte: u8,
        at: usize,
        found: &mut impl FnMut(usize, Range<usize>),
    ) -> StateID {
        let next = self.dfa.next_state(Anchored::No, state, byte);
        // Asked here, inline: `report` is not, and most bytes end no keyword.
        if self.dfa.is_match(next) {
            self.report(next, at + 1, found);
        }
        next
    }

    /// The keywords that end at `end` when the walk is in `state`. Kept out of the walk's loops
    /// (like `each` out of its callers): inlined, with its callback, the loops ran slower.
    #[inline(never)]
    fn report(&self, state: StateID, end: usize, found: &mut impl FnMut(usize, Range<usize>)) {
        if !self.dfa.is_match(state) {
            return;
        }
        for i in 0..self.dfa.match_len(state) {
            let keyword = self.dfa.match_pattern(state, i);
            found(keyword.as_usize(), end - self.dfa.pattern_len(keyword)..end);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aho_corasick::AhoCorasick;

    /// Every occurrence, as the aho-corasick crate's own overlapping search finds them.
    fn expected(keywords: &[&str], text: &[u8]) -> Vec<(usize, Range<usize>)> {
        let ac = AhoCorasick::builder().ascii_case_insensitive(true).build(keywords).unwrap();
        let mut all: Vec<_> =
            ac.find_overlapping_iter(text).map(|m| (m.pattern().as_usize(), m.range())).collect();
        all.sort_by_key(|(k, r)| (r.start, r.end, *k));
        all
    }

    fn found(keywords: &[&str], text: &[u8]) -> Vec<(usize, Range<usize>)> {
        let mut all = Vec::new();
        Lanes::new(keywords).each(text, |k, span| all.push((k, span)));
        all.sort_by_key(|(k, r)| (r.start, r.end, *k));
        all
    }

    #[test]
    fn every_occurrence_once_at_any_length_and_across_the_parts() {
        let keywords = ["api_key", "key", "token", "secret", "ghp_", "xoxb-", "s3cr3t_token_value"];
        // A deterministic mix of keywords (in both cases) and filler, cut at every length, so
        // that keywords straddle each lane boundary and sit at both ends of the text.
        let pieces: [&[u8]; 9] =
            [b"api_KEY", b"=", b"Token", b" x", b"SECRET", b"ghp_", b"\n", b"s3cr3t_token_value", b"keykey"];
        let mut text = Vec::new();
        let mut seed = 7u32;
        while text.len() < 3000 {
            seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12_345);
            text.extend_from_slice(pieces[(seed >> 16) as usize % pieces.len()]);
        }
        for len in 0..text.len() {
            assert_eq!(
                found(&keywords, &text[..len]),
                expected(&keywords, &text[..len]),
                "text of {len} bytes"
            );
        }
    }

    #[test]
    fn a_keyword_ending_on_a_part_boundary_is_reported_by_one_lane() {
        let keywords = ["password"];
        let mut text = vec![b'.'; 4096];
        for end in [1024, 2048, 3072, 4096] {
            text[end - 8..end].copy_from_slice(b"PassWord");
        }
        assert_eq!(found(&keywords, &text), expected(&keywords, &text));
        assert_eq!(found(&keywords, &text).len(), 4);
    }
}
