//! A blob built from another by a pack's delta, and the keyword occurrences it inherits. Most of
//! a history's blobs are a few lines changed in the version before them: on cargo's history 96%
//! of blob bytes are stored as deltas whose own data is 7% of their size. A keyword occurrence
//! that lies inside a piece the delta copied from the base is one of the base's, moved; only
//! around the inserted bytes and the joins between pieces must the text be read again. The
//! keyword pass of a history then reads a blob's changes rather than the whole blob.
//!
//! So do the rules' regexes. Whether a match starts at a place, and which, is decided by the
//! bytes from the one before it to the one after the longest match it could be, which a bound
//! on the regex's length or line breaks confines; where those lie inside one copied piece (away
//! from either end of the text), the regex decides as it did in the base. Every match the base's
//! search chose is kept, so the blob is searched only where the base tells nothing: at the
//! seams, and where a chosen match of the base covered the place (what starts there was not
//! looked for).

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
/// what the matcher finds in it is worth keeping.
#[derive(Clone, Copy, Debug, Default)]
pub struct Lineage<'a> {
    pub base: Option<(&'a Kept, &'a [Copy])>,
    pub is_base: bool,
}

/// A match's groups: group 0 (the whole match), then each capture group, where it matched.
pub type MatchGroups = Vec<Option<Range<usize>>>;

/// What the matcher keeps of a blob for the blobs built from it.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Kept {
    pub occurrences: Occurrences,
    /// For each rule whose regex searched the blob (or was shown to have no match in it), by
    /// rule index, every match it chose, in order, before any filter. A rule the blob did not
    /// run, or that chose an empty match, is absent; so is every rule when the blob's matches
    /// were cut short.
    pub matches: Vec<(usize, Vec<MatchGroups>)>,
}

impl Kept {
    pub fn matches_of(&self, rule: usize) -> Option<&[MatchGroups]> {
        let at = self.matches.binary_search_by_key(&rule, |&(r, _)| r).ok()?;
        Some(&self.matches[at].1)
    }
}

/// Every keyword occurrence of a text, by start: `start << 16 | keyword`. (A large workload's
/// keyword pass has at most `MAX_DFA_KEYWORDS` keywords, well under 65,536.)
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Occurrences(Vec<u64>);

impl Occurrences {
    /// How many there are.
    pub fn len(&self) -> usize {
        self.0.len()
    }

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

/// A copied piece shorter than this is read as if its bytes were inserted. Git's deltas build
/// new lines out of fragments of the base: on cargo's history four pieces in five are shorter.
/// The keyword pass reads such a piece whole with the seams around it, and a rule's matches
/// are decided inside it only if they are shorter still; yet every rule's plan looked at each
/// one (dropping them took 6% off that scan).
pub const SHORTEST_PIECE: usize = 64;

/// Drops the pieces shorter than `SHORTEST_PIECE` from `copies` (in blob order still).
pub fn long_pieces(copies: &mut Vec<Copy>) {
    copies.retain(|copy| copy.len >= SHORTEST_PIECE);
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
    join(gaps, 0)
}

/// Ranges sorted by start, with those that overlap or lie at most `apart` bytes from each other
/// made one.
pub fn join(ranges: impl IntoIterator<Item = Range<usize>>, apart: usize) -> Vec<Range<usize>> {
    let mut joined: Vec<Range<usize>> = Vec::new();
    for range in ranges {
        match joined.last_mut() {
            Some(last) if range.start <= last.end + apart => last.end = last.end.max(range.end),
            _ => joined.push(range),
        }
    }
    joined
}

/// Matches this much apart or less are looked for in one search rather than two: a search has a
/// cost of its own, and searching where the base already tells costs only time.
const ONE_SEARCH: usize = 256;

/// How far a regex's matches reach: at most `bytes` long, or holding at most `lines` line
/// breaks (at least one of them known).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Bound {
    pub bytes: Option<usize>,
    pub lines: Option<usize>,
}

/// A bound of more line breaks than this is not used: finding them in every piece and region,
/// for every rule, cost more than it saved (on cargo's history).
const MOST_LINES: usize = 2;

impl Bound {
    /// The bound of a regex's matches, if they have one.
    pub fn of(tree: &regex_syntax::hir::Hir) -> Option<Bound> {
        let bytes = tree.properties().maximum_len();
        let lines = crate::reach::line_breaks(tree).filter(|&lines| lines <= MOST_LINES);
        (bytes.is_some() || lines.is_some()).then_some(Bound { bytes, lines })
    }

    /// The end of what decides whether a match starts at `at`, and which (every byte of a match
    /// and the one after it); `None` if that may run to the end of the text.
    fn context_end(&self, text: &[u8], at: usize) -> Option<usize> {
        let by_bytes = self.bytes.map(|bytes| at + bytes + 1);
        let by_lines = self.lines.and_then(|lines| {
            let mut end = at;
            for _ in 0..=lines {
                end += memchr::memchr(b'\n', &text[end..])? + 1;
            }
            Some(end)
        });
        let end = match (by_bytes, by_lines) {
            (Some(a), Some(b)) => a.min(b),
            (a, b) => a.or(b)?,
        };
        (end <= text.len()).then_some(end)
    }

    /// The places in piece `i` whose context (`context_end`, and the byte before them) lies
    /// inside it: from its second byte to where a match could reach past its end (empty if
    /// none).
    fn known(&self, pieces: &Pieces, i: usize) -> Range<usize> {
        let copy = pieces.copies[i];
        let end = copy.to + copy.len;
        let by_bytes = self.bytes.map_or(0, |bytes| end.saturating_sub(bytes));
        let by_lines = self.lines.map_or(0, |lines| pieces.breaks(i).last[lines]);
        copy.to + 1..by_bytes.max(by_lines)
    }
}

/// The pieces a blob copied, and where in each its first and last line breaks are: found once
/// per blob, when a rule first asks (none may: no rule the blob runs may have a base to answer
/// from).
pub struct Pieces<'a> {
    copies: &'a [Copy],
    blob: &'a [u8],
    breaks: std::cell::OnceCell<Vec<Breaks>>,
}

/// Where a piece's line breaks are, as far as a bound's lines and a window's lines ask.
struct Breaks {
    /// Its first line break, its second, ... (`usize::MAX`: none).
    first: [usize; MOST_LINES + 1],
    /// One past its last line break, its second last, ... (0: none).
    last: [usize; 2 * MOST_LINES + 1],
}

impl<'a> Pieces<'a> {
    pub fn of(copies: &'a [Copy], blob: &'a [u8]) -> Pieces<'a> {
        Pieces { copies, blob, breaks: std::cell::OnceCell::new() }
    }

    fn breaks(&self, i: usize) -> &Breaks {
        let breaks = self.breaks.get_or_init(|| {
            self.copies
                .iter()
                .map(|copy| {
                    let piece = &self.blob[copy.to..copy.to + copy.len];
                    let mut breaks =
                        Breaks { first: [usize::MAX; MOST_LINES + 1], last: [0; 2 * MOST_LINES + 1] };
                    for (found, at) in breaks.first.iter_mut().zip(memchr::memchr_iter(b'\n', piece)) {
                        *found = copy.to + at;
                    }
                    for (found, at) in breaks.last.iter_mut().zip(memchr::memrchr_iter(b'\n', piece)) {
                        *found = copy.to + at + 1;
                    }
                    breaks
                })
                .collect()
        });
        &breaks[i]
    }
}

/// The places of a blob built from a base that the base does not decide for a rule of bound
/// `bound` (sorted, apart): the seams, and where a chosen match of the base covered the place.
/// The base's matches at known places are moved to `carried`.
fn unknown_places(
    pieces: &Pieces,
    bound: Bound,
    base: &[MatchGroups],
    carried: &mut Vec<MatchGroups>,
) -> Vec<Range<usize>> {
    let whole = |g: &MatchGroups| g[0].clone().expect("group 0 always matches");
    let mut unknown: Vec<Range<usize>> = Vec::with_capacity(pieces.copies.len() + 1);
    let mut known_to = 0;
    for (i, copy) in pieces.copies.iter().enumerate() {
        let known = bound.known(pieces, i);
        if known.is_empty() {
            continue;
        }
        unknown.push(known_to..known.start);
        known_to = known.end;
        // Base positions `lo..hi` are this piece's known ones.
        let (lo, hi) = (known.start - copy.to + copy.from, known.end - copy.to + copy.from);
        let moved = |r: &Range<usize>| r.start - copy.from + copy.to..r.end - copy.from + copy.to;
        let first = base.partition_point(|g| whole(g).end <= lo);
        for groups in &base[first..] {
            let span = whole(groups);
            if span.start >= hi {
                break;
            }
            if span.start >= lo {
                carried.push(groups.iter().map(|g| g.as_ref().map(moved)).collect());
            }
            // A match of the base covers these places: what starts there was not looked for.
            let covered = (span.start + 1).max(lo)..span.end.min(hi);
            if covered.start < covered.end {
                unknown.push(moved(&covered));
            }
        }
    }
    unknown.push(known_to..pieces.blob.len());
    if !base.is_empty() {
        unknown.sort_unstable_by_key(|r| r.start);
    }
    join(unknown.into_iter().filter(|r| r.start < r.end), 0)
}

/// The places a base does not decide for one rule (`unknown_places`), listed or asked of one
/// range at a time. Where the base had no match (on cargo's history, 403,007 of 405,706 times)
/// nothing covers a place, so a range is answered from the pieces it lies across alone: a rule
/// whose plan looks at a few places near its keywords does not go through every piece of a
/// delta of thousands.
pub struct Unknown<'a> {
    pieces: &'a Pieces<'a>,
    bound: Bound,
    /// Worked out up front when the base had matches, else when first asked for. Once there,
    /// ranges are answered from it.
    list: std::cell::OnceCell<Vec<Range<usize>>>,
}

impl Unknown<'_> {
    /// Every unknown place, sorted and apart.
    pub fn list(&self) -> &[Range<usize>] {
        self.list.get_or_init(|| unknown_places(self.pieces, self.bound, &[], &mut Vec::new()))
    }

    /// The unknown parts of `range`, in order, appended to `out` (one that starts where the
    /// last in `out` ends extends it).
    pub fn within(&self, range: Range<usize>, out: &mut Vec<Range<usize>>) {
        self.parts(range, |part| {
            match out.last_mut() {
                Some(last) if last.end == part.start => last.end = part.end,
                _ => out.push(part),
            }
            true
        });
    }

    /// Whether some place in `range` is unknown.
    pub fn touches(&self, range: Range<usize>) -> bool {
        let mut touches = false;
        self.parts(range, |_| {
            touches = true;
            false
        });
        touches
    }

    /// Whether every place from `lines` lines above the one `span` starts on to `lines` lines
    /// below the one it ends on is known, as the pieces alone tell (a base's match may have
    /// covered one, or the lines are more than `MOST_LINES`: then this says no). Yes only when
    /// those lines lie inside one piece, after its first `lines + 1` line breaks and before the
    /// places a match could reach past its end from (`Bound::known`).
    pub fn known_lines_around(&self, span: Range<usize>, lines: usize) -> bool {
        let plain = |&bound: &usize| bound.max(lines) <= MOST_LINES && self.list.get().is_none();
        let Some(bound) = self.bound.lines.filter(plain) else {
            return false;
        };
        let copies = self.pieces.copies;
        let i = copies.partition_point(|copy| copy.to + copy.len <= span.start);
        if i == copies.len() {
            return false;
        }
        let breaks = self.pieces.breaks(i);
        breaks.first[lines] < span.start && span.end < breaks.last[bound + lines]
    }

    /// Hands each unknown part of `range` to `each`, in order, until it says to stop.
    fn parts(&self, range: Range<usize>, mut each: impl FnMut(Range<usize>) -> bool) {
        if let Some(list) = self.list.get() {
            let first = list.partition_point(|place| place.end <= range.start);
            for place in list[first..].iter().take_while(|place| place.start < range.end) {
                if !each(place.start.max(range.start)..place.end.min(range.end)) {
                    return;
                }
            }
            return;
        }
        // What is not known from the pieces that `range` lies across (each piece's known
        // places lie inside it, after its first byte, which is never known). A piece that
        // knows nothing hands out its first byte too, so that `touches` answers from the first
        // piece or two, even across thousands of one-byte pieces.
        let copies = self.pieces.copies;
        let mut at = range.start;
        let first = copies.partition_point(|copy| copy.to + copy.len <= range.start);
        for i in (first..copies.len()).take_while(|&i| copies[i].to < range.end) {
            let known = self.bound.known(self.pieces, i);
            let known = known.start..known.end.max(known.start);
            if at < known.start.min(range.end) && !each(at..known.start.min(range.end)) {
                return;
            }
            at = at.max(known.end);
            if at >= range.end {
                return;
            }
        }
        if at < range.end {
            each(at..range.end);
        }
    }
}

/// The matches a regex chooses in the blob `pieces` were copied into (leftmost first, each
/// search resuming where the last match ended), from those it chose in the base (`base`, in
/// order, none empty), its matches reaching no further than `bound`. `starts(unknown)` are the
/// places the base does not decide (`Unknown`) where a match can start, sorted and apart: asked
/// only of those, so that a rule's plan is worked out only there.
/// `search(from, end)` is the regex's first match at or after `from` in the blob cut at `end`.
/// `None` if the blob's search finds an empty match, if it chooses more than `most` matches, or
/// once its searches add up to more than the blob's length: one search of the whole blob then
/// costs less (a regex whose matches may be long reads that far past each of many seams).
///
/// A place whose context (`Bound::context_end`, and the byte before it) lies inside one copied
/// piece is known: a match starts there only if the base chose one at the same place, since a
/// search of the base that resumed at or before it, with nothing chosen over it, would have
/// found it. Everywhere else, and where a chosen match of the base covered the place, the blob
/// is searched.
pub fn matches_built(
    pieces: &Pieces,
    bound: Bound,
    base: &[MatchGroups],
    starts: impl FnOnce(&Unknown) -> Vec<Range<usize>>,
    most: usize,
    search: impl FnMut(usize, usize) -> Option<MatchGroups>,
) -> Option<Vec<MatchGroups>> {
    matches_built_apart::<ONE_SEARCH>(pieces, bound, base, starts, most, search)
}

/// `matches_built`, searching places at most `APART` bytes apart in one search.
fn matches_built_apart<const APART: usize>(
    pieces: &Pieces,
    bound: Bound,
    base: &[MatchGroups],
    starts: impl FnOnce(&Unknown) -> Vec<Range<usize>>,
    most: usize,
    mut search: impl FnMut(usize, usize) -> Option<MatchGroups>,
) -> Option<Vec<MatchGroups>> {
    let (whole, blob) = (|g: &MatchGroups| g[0].clone().expect("group 0 always matches"), pieces.blob);
    // The base's matches at known places, moved; and the places that are not known.
    let mut carried = Vec::new();
    let list = match base {
        [] => std::cell::OnceCell::new(),
        _ => std::cell::OnceCell::from(unknown_places(pieces, bound, base, &mut carried)),
    };
    let unknown = Unknown { pieces, bound, list };
    // Where to search: unknown places a match can start at, near ones together.
    let regions = join(starts(&unknown), APART);
    // The search of the blob: the first match at or after `at`, known or found.
    let mut chosen = Vec::new();
    let (mut at, mut c, mut r, mut searched) = (0, 0, 0, 0);
    loop {
        while c < carried.len() && whole(&carried[c]).start < at {
            c += 1;
        }
        let next_known = carried.get(c).map_or(blob.len(), |g| whole(g).start);
        while r < regions.len() && regions[r].end <= at {
            r += 1;
        }
        let mut found = None;
        for region in regions[r..].iter().take_while(|region| region.start < next_known) {
            let end = region.end.min(next_known);
            let (from, cut) = (region.start.max(at), bound.context_end(blob, end - 1).unwrap_or(blob.len()));
            searched += cut - from;
            if searched > blob.len() {
                return None;
            }
            if let Some(groups) = search(from, cut) {
                if whole(&groups).start < end {
                    found = Some(groups);
                    break;
                }
            }
        }
        let groups = match found {
            Some(groups) => groups,
            None if c < carried.len() => carried[c].clone(),
            None => return Some(chosen),
        };
        let span = whole(&groups);
        if span.is_empty() || chosen.len() == most {
            return None;
        }
        at = span.end;
        chosen.push(groups);
    }
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
    fn pieces_shorter_than_the_shortest_are_read_as_inserted() {
        let mut copies = vec![copy(0, 0, 64), copy(64, 200, 63), copy(130, 70, 1), copy(131, 300, 500)];
        long_pieces(&mut copies);
        assert_eq!(copies, [copy(0, 0, 64), copy(131, 300, 500)]);
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

    /// Every match a regex chooses in the blob read whole, for random blobs built from random
    /// bases, with regexes whose matches interfere (one takes the byte the next needs), anchor
    /// at line and text ends, and overlap their own candidates.
    #[test]
    fn a_blob_built_from_a_base_has_the_matches_of_one_searched_whole() {
        let patterns = [
            r"\b(tok_[a-z0-9]{2,6})\b",
            r"(?:^|[^a-z])(ab|abc|abcd)(?:[^a-z]|$)",
            r"a{2,5}",
            r"(?m)^key=([0-9]{1,4})$",
            r"x[0-9]?y|xy[0-9]",
            r"(?m)^key=([^\n]*)$",
            r"tok_[a-z]+(?:\n[a-z0-9]+)?",
        ];
        let pieces = ["ab", "abc", " ", "tok_", "a1", "key=", "12", "\n", "x", "y", "aaa", "d", "_"];
        let mut next = crate::random::below(5);
        let (mut checked, mut carried, mut answered) = (0, 0, 0);
        for pattern in patterns {
            let regex = regex::bytes::Regex::new(pattern).unwrap();
            let tree = crate::syntax::tree(pattern).unwrap();
            let bound =
                Bound { bytes: tree.properties().maximum_len(), lines: crate::reach::line_breaks(&tree) };
            let all = |text: &[u8]| -> Vec<MatchGroups> {
                regex.captures_iter(text).map(|c| c.iter().map(|m| m.map(|m| m.range())).collect()).collect()
            };
            for _ in 0..600 {
                let base: Vec<u8> =
                    (0..20 + next(60)).flat_map(|_| pieces[next(pieces.len())].bytes()).collect();
                // Pieces start and end anywhere, or at a byte or two from where a match of the
                // base starts or ends, where what decides a match is cut.
                let edges: Vec<usize> = all(&base)
                    .iter()
                    .flat_map(|g| [g[0].clone().unwrap().start, g[0].clone().unwrap().end])
                    .collect();
                let cut = |next: &mut dyn FnMut(usize) -> usize, limit: usize| match edges.len() {
                    0 => next(limit),
                    n if next(2) == 0 => (edges[next(n)] + next(5)).saturating_sub(2).min(limit - 1),
                    _ => next(limit),
                };
                let (mut blob, mut copies) = (Vec::new(), Vec::<Copy>::new());
                for _ in 0..1 + next(5) {
                    if next(2) == 0 {
                        blob.extend(pieces[next(pieces.len())].bytes());
                    }
                    let from = cut(&mut next, base.len());
                    let len = (cut(&mut next, base.len() + 1).max(from + 1) - from).min(base.len() - from);
                    copies.push(Copy { to: blob.len(), from, len });
                    blob.extend_from_slice(&base[from..from + len]);
                }
                let search = |from: usize, end: usize| {
                    regex
                        .captures_at(&blob[..end], from)
                        .map(|c| c.iter().map(|m| m.map(|m| m.range())).collect())
                };
                let whole = Some(all(&blob));
                let pieces = Pieces::of(&copies, &blob);
                let base_matches = all(&base);
                // The unknown places listed, or asked of as one range.
                let listed = |unknown: &Unknown| unknown.list().to_vec();
                let asked = |unknown: &Unknown| {
                    let mut parts = Vec::new();
                    unknown.within(0..blob.len(), &mut parts);
                    parts
                };
                let chosen = &base_matches[..];
                let built = [
                    matches_built_apart::<0>(&pieces, bound, chosen, listed, usize::MAX, search),
                    matches_built_apart::<1>(&pieces, bound, chosen, asked, usize::MAX, search),
                    matches_built_apart::<ONE_SEARCH>(&pieces, bound, chosen, listed, usize::MAX, search),
                ];
                for built in built {
                    // `None`: the searches passed the blob's length, and a whole search is due.
                    if built.is_some() {
                        assert_eq!(built, whole, "{pattern} in {:?}", String::from_utf8_lossy(&blob));
                        answered += 1;
                    }
                }
                // Where the base had no match, a range's unknown places are found from the
                // pieces it lies across: those of the list, inside the range.
                let listed = unknown_places(&pieces, bound, &[], &mut Vec::new());
                let unknown = Unknown { pieces: &pieces, bound, list: std::cell::OnceCell::new() };
                for _ in 0..8 {
                    let (a, b) = (next(blob.len() + 1), next(blob.len() + 1));
                    let range = a.min(b)..a.max(b);
                    let mut parts = Vec::new();
                    unknown.within(range.clone(), &mut parts);
                    let inside: Vec<Range<usize>> = listed
                        .iter()
                        .map(|place| place.start.max(range.start)..place.end.min(range.end))
                        .filter(|part| part.start < part.end)
                        .collect();
                    assert_eq!(parts, inside, "{range:?} of {listed:?}");
                    assert_eq!(unknown.touches(range), !inside.is_empty());
                }
                checked += 1;
                carried += (0..copies.len()).filter(|&i| !bound.known(&pieces, i).is_empty()).count();
            }
        }
        assert!(checked == 4200 && carried > 1000, "{carried} pieces long enough to carry a match");
        assert!(answered > 3 * checked * 3 / 4, "{answered} of {} searches within their budget", 3 * checked);
    }

    /// A match of the base that took the byte the next one needed: in the blob the first is
    /// gone, and the second, which the base never looked for, is found.
    #[test]
    fn a_place_a_match_of_the_base_covered_is_searched() {
        let regex = regex::bytes::Regex::new(r"(?:^|[^a-z])(ab|abc|abcd)(?:[^a-z]|$)").unwrap();
        let bound = Bound { bytes: Some(6), lines: None };
        let base = b" ab ab dddddddddd";
        let blob = b"xab ab dddddddddd";
        let base_matches = vec![vec![Some(0..4), Some(1..3)]];
        let search = |from: usize, end: usize| {
            regex.captures_at(&blob[..end], from).map(|c| c.iter().map(|m| m.map(|m| m.range())).collect())
        };
        let copies = [Copy { to: 1, from: 1, len: base.len() - 1 }];
        let pieces = Pieces::of(&copies, blob);
        let built = matches_built_apart::<0>(
            &pieces,
            bound,
            &base_matches,
            |u| u.list().to_vec(),
            usize::MAX,
            search,
        );
        assert_eq!(built, Some(vec![vec![Some(3..7), Some(4..6)]]));
    }

    /// Lines of many lengths, copied in three pieces with bytes inserted between: a span's line
    /// window is all known exactly when the pieces say so, for every bound and window of up to
    /// two lines.
    #[test]
    fn lines_around_a_span_are_known_where_no_unknown_place_is_among_them() {
        let mut blob = Vec::new();
        let mut seed = 11u32;
        while blob.len() < 3000 {
            seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12_345);
            blob.extend(std::iter::repeat(b'x').take((seed >> 16) as usize % 90));
            blob.push(b'\n');
        }
        let copies = [copy(0, 0, 700), copy(703, 0, 797), copy(1500, 0, 1400)];
        let pieces = Pieces::of(&copies, &blob);
        let window = |span: Range<usize>, lines: usize| {
            let (start, end) = crate::reach::lines_around(&blob, 0..blob.len(), span, lines);
            start..end
        };
        let mut known = 0;
        for bound in 0..=MOST_LINES {
            let unknown = Unknown {
                pieces: &pieces,
                bound: Bound { bytes: None, lines: Some(bound) },
                list: Default::default(),
            };
            for lines in 0..=MOST_LINES {
                for start in 0..blob.len() - 3 {
                    let span = start..start + 3;
                    let said = unknown.known_lines_around(span.clone(), lines);
                    assert_eq!(
                        said,
                        !unknown.touches(window(span.clone(), lines)),
                        "{span:?}, {lines} lines, bound {bound}"
                    );
                    known += usize::from(said);
                }
            }
        }
        assert!(known > 10_000, "{known} spans known");
    }

    /// A regex whose matches may be long, in a blob of many seams: each search would read as far
    /// as the longest match past its region, much of it twice. The searches stop once they add
    /// up to the blob's length.
    #[test]
    fn searches_stop_once_they_add_up_to_the_blobs_length() {
        let regex = regex::bytes::Regex::new(r"tok_[a-z]{0,5000}").unwrap();
        let bound = Bound { bytes: Some(5004), lines: None };
        let base = vec![b'x'; 6000];
        let (mut blob, mut copies) = (Vec::new(), Vec::new());
        for _ in 0..200 {
            blob.push(b'-');
            copies.push(Copy { to: blob.len(), from: 0, len: base.len() });
            blob.extend_from_slice(&base);
        }
        let searched = std::cell::Cell::new(0);
        let search = |from: usize, end: usize| {
            searched.set(searched.get() + end - from);
            regex.captures_at(&blob[..end], from).map(|c| c.iter().map(|m| m.map(|m| m.range())).collect())
        };
        let pieces = Pieces::of(&copies, &blob);
        let built = matches_built(&pieces, bound, &[], |u| u.list().to_vec(), usize::MAX, search);
        assert_eq!(built, None, "a whole search is due");
        assert!(searched.get() <= blob.len(), "{} bytes searched of {}", searched.get(), blob.len());
    }
}
