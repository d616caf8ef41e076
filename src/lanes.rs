//! The keyword pass of a large workload: one Aho-Corasick DFA (`Lanes`) walked over several
//! parts of a text at once. Each step of a DFA walk loads the next state from where the last
//! one pointed, so a single walk waits on memory at every byte: on real code it reads ~375 MB/s
//! whatever the automaton's size. Eight walks over the eight parts of a text, advanced in
//! lockstep, keep eight loads in flight: on cargo's source tree (3.9 MB, 1,750 keywords) two
//! walks read 610 MB/s, four 940, six 1,160, eight 1,200, twelve 1,200 and sixteen 1,120 (with
//! the aho-corasick crate's DFA; with this one, four and eight read alike in keyrot).
//!
//! A lane starts reading the longest keyword's length before its part: by the first byte of
//! its part it is in the state a walk from the start of the text would be in (a DFA state
//! stands for the last few bytes read, never more than the longest keyword). It reports only
//! the occurrences that end inside its part, so each occurrence is reported once, as an
//! overlapping search of the whole text reports it. A text too short for eight parts worth the
//! overlap is walked in four, or in one.

use std::ops::Range;

/// A text whose parts would be shorter than this many times the longest keyword is walked in
/// fewer lanes: the lanes' overlap would cost more than they save.
const MIN_PART: usize = 8;

/// ASCII case-insensitive keywords, found wherever they occur (overlapping ones included).
///
/// The automaton is an Aho-Corasick DFA of its own layout: bytes in classes by what they do
/// (an upper-case letter is its lower-case one; every byte no keyword holds is one class), a
/// row of `1 << shift` next states per state, and each state's number premultiplied by the
/// row's length, so that a step is one load of `table[state + class]`. States where a keyword
/// ends are marked by a bit above every index (`ENDS`): whether any lane is in one is a
/// comparison of their states or-ed together. The aho-corasick crate's DFA kept upper- and
/// lower-case letters apart: 128 columns where 64 do (5.1 MB for the built-in keywords, 2.5 MB
/// so). Walked over the corpus's files, this table read 960 MB/s against the crate's 850, and
/// it builds in a few milliseconds where the crate's took 12 at every start of a directory or
/// history scan.
pub struct Lanes {
    table: Vec<u32>,
    classes: [u8; 256],
    shift: u32,
    /// The keywords that end at each state, by state number: `ends[starts[s]..starts[s + 1]]`.
    starts: Vec<u32>,
    ends: Vec<u32>,
    lens: Vec<usize>,
    longest: usize,
    /// A byte no keyword holds (in either case): reading it takes the walk back to its start.
    separator: Option<u8>,
}

/// The most next states a table may hold, and the most states; past either, `new` says no (a
/// rules file with 300,000 keywords would have made it gigabytes, and one long keyword over a
/// few bytes millions of states, each with its list of keywords). The built-in keywords make
/// 635,000 next states and 9,900 states.
const MAX_TABLE: usize = 16 << 20;
/// The mark of a state where a keyword ends: a bit above any table index, which the walk's
/// mask of the table's length takes off.
const ENDS: u32 = 1 << 31;
const _: () = assert!(MAX_TABLE.next_power_of_two() <= ENDS as usize);
const MAX_STATES: usize = 1 << 18;

impl Lanes {
    /// The automaton of `keywords` (empty ones are never found), or `None` if its table would
    /// hold more than `MAX_TABLE` next states or `MAX_STATES` states, or its keywords more than
    /// 255 distinct bytes.
    pub fn new<K: AsRef<[u8]>>(keywords: &[K]) -> Option<Lanes> {
        let keywords: Vec<Vec<u8>> = keywords.iter().map(|k| k.as_ref().to_ascii_lowercase()).collect();
        // Class 0 is every byte no keyword holds.
        let mut classes = [0u8; 256];
        let mut count = 1usize;
        for &byte in keywords.iter().flatten() {
            if classes[usize::from(byte)] == 0 {
                if count == 256 {
                    return None;
                }
                classes[usize::from(byte)] = count as u8;
                count += 1;
            }
        }
        for upper in b'A'..=b'Z' {
            classes[usize::from(upper)] = classes[usize::from(upper.to_ascii_lowercase())];
        }
        let shift = count.next_power_of_two().trailing_zeros();
        let stride = 1usize << shift;
        // The trie: its transitions in rows (0: none yet; the root is state 0, so no transition
        // leads back to it) and the keywords that end at each node. Room is made for the most
        // states the keywords could make, a power of two of next states, in memory mapped only
        // where written: the rows become the table in place.
        let most = 1 + keywords.iter().map(Vec::len).sum::<usize>();
        let mut rows: Vec<u32> = vec![0; most.saturating_mul(stride).min(MAX_TABLE).next_power_of_two()];
        let mut ending: Vec<Vec<u32>> = vec![Vec::new()];
        for (index, keyword) in keywords.iter().enumerate() {
            if keyword.is_empty() {
                continue;
            }
            let mut state = 0usize;
            for &byte in keyword {
                let cell = state * stride + usize::from(classes[usize::from(byte)]);
                if rows[cell] == 0 {
                    if ending.len() == MAX_STATES || (ending.len() + 1) * stride > MAX_TABLE {
                        return None;
                    }
                    rows[cell] = ending.len() as u32;
                    ending.push(Vec::new());
                }
                state = rows[cell] as usize;
            }
            ending[state].push(index as u32);
        }
        // Breadth first, each state's missing transitions are its failure state's, and the
        // keywords that end there include its failure state's: the failure state is nearer the
        // root, so it is complete already.
        let mut fail = vec![0u32; ending.len()];
        let mut queue = std::collections::VecDeque::from([0usize]);
        while let Some(state) = queue.pop_front() {
            for class in 0..stride {
                let cell = state * stride + class;
                let child = rows[cell] as usize;
                let through = if state == 0 { 0 } else { rows[fail[state] as usize * stride + class] };
                if child == 0 {
                    rows[cell] = through;
                    continue;
                }
                fail[child] = through;
                let inherited = ending[through as usize].clone();
                ending[child].extend(inherited);
                queue.push_back(child);
            }
        }
        // Numbers premultiplied, and marked where a keyword ends.
        for next in &mut rows[..ending.len() * stride] {
            let marked = if ending[*next as usize].is_empty() { 0 } else { ENDS };
            *next = (*next * stride as u32) | marked;
        }
        let (mut starts, mut ends) = (Vec::with_capacity(ending.len() + 1), Vec::new());
        for ending in &ending {
            starts.push(ends.len() as u32);
            ends.extend_from_slice(ending);
        }
        starts.push(ends.len() as u32);
        let separator = (0..=255).find(|&byte| classes[usize::from(byte)] == 0);
        Some(Lanes {
            table: rows,
            classes,
            shift,
            starts,
            ends,
            lens: keywords.iter().map(Vec::len).collect(),
            longest: keywords.iter().map(Vec::len).max().unwrap_or(0),
            separator,
        })
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
            let mut state = 0;
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
        let mut state = [0; LANES];
        let report = |state: [usize; LANES], at: usize, found: &mut _| {
            for j in 0..LANES {
                let end = from[j] + at + 1;
                if state[j] >= ENDS as usize && end > own[j] {
                    self.report(state[j], end, found);
                }
            }
        };
        // Eight steps at a time, each lane's next eight bytes copied first: read at fixed
        // offsets from one place, they leave the registers to the lanes' states. Read from
        // the lanes' own slices, eight pointers took eight registers and the states went to
        // memory and back at every step: the walk ran 12 instructions a byte, now 8.
        let blocks = steps / 8;
        for block in 0..blocks {
            let at = block * 8;
            let bytes: [[u8; 8]; LANES] =
                std::array::from_fn(|j| lanes[j][at..at + 8].try_into().expect("8 bytes"));
            for i in 0..8 {
                for (state, bytes) in state.iter_mut().zip(&bytes) {
                    *state = self.next(*state, bytes[i]);
                }
                if state.iter().fold(0, |any, &s| any | s) >= ENDS as usize {
                    report(state, at + i, found);
                }
            }
        }
        for at in blocks * 8..steps {
            for (state, lane) in state.iter_mut().zip(lanes) {
                *state = self.next(*state, lane[at]);
            }
            if state.iter().fold(0, |any, &s| any | s) >= ENDS as usize {
                report(state, at, found);
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

    fn next(&self, state: usize, byte: u8) -> usize {
        // The table's length is a power of two and every state's row lies inside it: the mask
        // changes no index, and lets the compiler drop the bounds check (15% of a walk).
        let index = state + usize::from(self.classes[usize::from(byte)]);
        self.table[index & (self.table.len() - 1)] as usize
    }

    fn step(&self, state: usize, byte: u8, at: usize, found: &mut impl FnMut(usize, Range<usize>)) -> usize {
        let next = self.next(state, byte);
        // Asked here, inline: `report` is not, and most bytes end no keyword.
        if next >= ENDS as usize {
            self.report(next, at + 1, found);
        }
        next
    }

    /// The keywords that end at `end` when the walk is in `state`. Kept out of the walk's loops
    /// (like `each` out of its callers): inlined, with its callback, the loops ran slower.
    #[inline(never)]
    fn report(&self, state: usize, end: usize, found: &mut impl FnMut(usize, Range<usize>)) {
        let Some(number) = state.checked_sub(ENDS as usize) else { return };
        let number = number >> self.shift;
        for &keyword in &self.ends[self.starts[number] as usize..self.starts[number + 1] as usize] {
            let keyword = keyword as usize;
            found(keyword, end - self.lens[keyword]..end);
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
        Lanes::new(keywords).expect("a small table").each(text, |k, span| all.push((k, span)));
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

    /// Keywords over a few letters in either case (and a letter past ASCII, which has none), so
    /// that they overlap, end inside each other and share every prefix and suffix (the failure
    /// links and the keywords each state inherits), some twice, against texts over the same
    /// letters and a byte none holds.
    #[test]
    fn random_overlapping_keywords_are_found_as_the_aho_corasick_crate_finds_them() {
        let mut next = crate::random::below(11);
        let letters = b"abAB-c\xc3";
        let word = |next: &mut dyn FnMut(usize) -> usize, most: usize| -> String {
            (0..1 + next(most)).map(|_| char::from(letters[next(letters.len())])).collect()
        };
        for round in 0..200 {
            let mut keywords: Vec<String> = (0..1 + next(12)).map(|_| word(&mut next, 6)).collect();
            if round % 3 == 0 {
                keywords.push(keywords[0].to_ascii_uppercase());
            }
            let keywords: Vec<&str> = keywords.iter().map(String::as_str).collect();
            for _ in 0..5 {
                let mut text = word(&mut next, 2000).into_bytes();
                let at = next(text.len());
                text.insert(at, b' ');
                assert_eq!(found(&keywords, &text), expected(&keywords, &text), "{keywords:?}");
            }
        }
    }

    #[test]
    fn keywords_whose_table_would_be_too_large_build_none() {
        // 2,400 keywords of 30 bytes drawn from 200 byte values: 256 columns, about 72,000
        // states, 18 million next states.
        let mut next = crate::random::below(5);
        let keywords: Vec<Vec<u8>> =
            (0..2400).map(|_| (0..30).map(|_| 40 + next(200) as u8).collect()).collect();
        assert!(Lanes::new(&keywords).is_none());
        assert!(Lanes::new(&keywords[..100]).is_some());
        // One keyword of one byte over and over: two columns, but a state per byte.
        assert!(Lanes::new(&[vec![b'a'; MAX_STATES]]).is_none());
        assert!(Lanes::new(&[vec![b'a'; 1000]]).is_some());
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
