//! A blob built from another by a pack's delta, and the keyword occurrences it inherits. Most of
//! a history's blobs are a few lines changed in the version before them: on cargo's history 96%
//! of blob bytes are stored as deltas whose own data is 7% of their size. A keyword occurrence
//! that lies inside a piece the delta copied from the base is one of the base's, moved; only
//! around the inserted bytes and the joins between pieces must the text be read again. The
//! keyword pass of a history then reads a blob's changes rather than the whole blob.

use std::ops::Range;

/// A piece of a blob copied from its base: `len` bytes at `to` in the blob, from `from` in the
/// base.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Copy {
    pub to: usize,
    pub from: usize,
    pub len: usize,
}

/// Where a blob came from, for the matcher. `base` is what the matcher kept of the base when it
/// matched it (`None`: nothing, so the blob is read whole); `copies` are in blob order, each
/// ending before the next begins. `is_base` says that other blobs are built from this one, so
/// its own occurrences are worth keeping.
#[derive(Clone, Copy, Debug, Default)]
pub struct Lineage<'a> {
    pub base: Option<(&'a Occurrences, &'a [Copy])>,
    pub is_base: bool,
}

/// Every keyword occurrence of a text, by start: `start << 16 | keyword`. (A large workload's
/// keyword pass has at most `MAX_DFA_KEYWORDS` keywords, well under 65,536.)
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Occurrences(Vec<u64>);

impl Occurrences {
    /// From (keyword, span) pairs in any order.
    pub fn of(spans: impl Iterator<Item = (usize, usize)>) -> Occurrences {
        let mut all: Vec<u64> = spans.map(|(keyword, start)| (start as u64) << 16 | keyword as u64).collect();
        all.sort_unstable();
        Occurrences(all)
    }

    /// Calls `found(keyword, start)` for each occurrence of the base that lies wholly inside a
    /// copied piece, at its place in the blob; `len(keyword)` is a keyword's length.
    pub fn carried(
        &self,
        copies: &[Copy],
        len: impl Fn(usize) -> usize,
        mut found: impl FnMut(usize, usize),
    ) {
        for copy in copies {
            let first = self.0.partition_point(|&o| (o >> 16) < copy.from as u64);
            for &o in &self.0[first..] {
                let (start, keyword) = ((o >> 16) as usize, (o & 0xffff) as usize);
                if start >= copy.from + copy.len {
                    break;
                }
                if start + len(keyword) <= copy.from + copy.len {
                    found(keyword, start - copy.from + copy.to);
                }
            }
        }
    }
}

/// The parts of a blob of `len` bytes that must be read again: every occurrence of a keyword of
/// at most `longest` bytes that does not lie wholly inside one copied piece lies wholly inside
/// one of them. An occurrence that touches inserted bytes starts at most `longest - 1` bytes
/// before them and ends as far after; so does one that spans the join of two pieces.
/// Sorted, and merged where they overlap or touch.
pub fn seams(copies: &[Copy], len: usize, longest: usize) -> Vec<Range<usize>> {
    let reach = longest.saturating_sub(1);
    let around = |gap: Range<usize>| gap.start.saturating_sub(reach)..(gap.end + reach).min(len);
    let mut gaps = Vec::with_capacity(copies.len() + 1);
    let mut at = 0;
    for (i, copy) in copies.iter().enumerate() {
        // Bytes before the piece were inserted; a piece right after another is a join.
        if copy.to > at || (i > 0 && copy.to == at) {
            gaps.push(around(at..copy.to));
        }
        at = copy.to + copy.len;
    }
    if at < len {
        gaps.push(around(at..len));
    }
    let mut merged: Vec<Range<usize>> = Vec::with_capacity(gaps.len());
    for gap in gaps {
        match merged.last_mut() {
            Some(last) if gap.start <= last.end => last.end = last.end.max(gap.end),
            _ => merged.push(gap),
        }
    }
    merged
}

/// Whether `span` lies wholly inside one of `copies` (sorted by `to`).
pub fn inside_a_copy(copies: &[Copy], span: Range<usize>) -> bool {
    let after = copies.partition_point(|c| c.to <= span.start);
    after > 0 && span.end <= copies[after - 1].to + copies[after - 1].len
}

#[cfg(test)]
mod tests {
    use super::*;

    const fn copy(to: usize, from: usize, len: usize) -> Copy {
        Copy { to, from, len }
    }

    #[test]
    fn seams_cover_inserts_and_joins_by_the_longest_keyword() {
        // 0..10 copied, 10..12 inserted, 12..20 and 20..30 copied from apart, 30..32 inserted.
        let copies = [copy(0, 0, 10), copy(12, 40, 8), copy(20, 5, 10)];
        assert_eq!(seams(&copies, 32, 3), vec![8..14, 18..22, 28..32]);
        assert_eq!(seams(&copies, 32, 6), vec![5..32], "seams that overlap are merged");
        assert_eq!(
            seams(&[copy(0, 0, 32)], 32, 8),
            Vec::<Range<usize>>::new(),
            "all copied: nothing to read"
        );
        assert_eq!(seams(&[], 5, 8), vec![0..5], "all inserted: all read");
        assert_eq!(seams(&[copy(4, 0, 4)], 8, 2), vec![0..5], "an insert at the start");
    }

    #[test]
    fn a_span_is_inside_a_copy_only_if_wholly_inside_one() {
        let copies = [copy(0, 0, 10), copy(10, 50, 10)];
        assert!(inside_a_copy(&copies, 2..6));
        assert!(inside_a_copy(&copies, 10..20));
        assert!(!inside_a_copy(&copies, 8..12), "across a join");
        assert!(!inside_a_copy(&copies, 18..21), "past the last");
        assert!(!inside_a_copy(&[copy(5, 0, 5)], 3..6), "before the first");
    }

    #[test]
    fn occurrences_inside_a_copy_are_carried_to_where_it_lands() {
        // Keywords 0 (3 bytes) and 1 (5 bytes) at these starts of the base.
        let base = Occurrences::of([(0, 2), (1, 4), (0, 20), (1, 30)].into_iter());
        let len = |k: usize| [3, 5][k];
        let mut carried = Vec::new();
        base.carried(&[copy(0, 2, 6), copy(100, 18, 40)], len, |k, start| carried.push((k, start)));
        // (1, 4) ends at 9, past the first copy's 8; (0, 20) and (1, 30) land at 102 and 112.
        assert_eq!(carried, vec![(0, 0), (0, 102), (1, 112)]);
    }
}
