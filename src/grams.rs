//! Where keywords occur in a small text, without building an automaton. Keywords are grouped by
//! a 16-bit hash of their first four bytes (three for keywords of three, two for keywords of
//! two); a 64 Kbit table per length says which hashes begin a keyword, and only where one does
//! are that hash's keywords compared. A pre-commit run checks a few files against 1,700
//! keywords; this answers in one pass over each file, where one search per keyword took longer
//! than the rest of the run. Over a whole history the Aho-Corasick DFA stays: on cargo's 1.4 GB
//! of blobs this pass took 10.9 s of CPU to the DFA's 4.4 s.

use crate::config::Text;

/// Keywords of two bytes or more, lower-case, in three tables: by their first four bytes,
/// three and two. (Keywords of three grouped by two bytes made every `re`, `st` and `lo` of a C
/// file a candidate.) One load of four bytes at each place of the text serves all three, and
/// the hash of three bytes, which every keyword of three or more begins with (`lead`), is
/// asked first: in C code it rules out nine places in ten.
pub struct Grams {
    keywords: Vec<Vec<u8>>,
    lead: Bits,
    four: Table,
    three: Table,
    two: Table,
}

/// A set of 16-bit hashes.
struct Bits(Vec<u64>);

impl Bits {
    fn new(hashes: impl Iterator<Item = u16>) -> Bits {
        let mut bits = vec![0; 1 << 10];
        for h in hashes {
            bits[usize::from(h >> 6)] |= 1 << (h & 63);
        }
        Bits(bits)
    }

    fn holds(&self, h: u16) -> bool {
        self.0[usize::from(h >> 6)] & (1 << (h & 63)) != 0
    }
}

/// Keywords whose first bytes hash to a value.
struct Table {
    /// The hashes some keyword's first bytes have.
    bits: Bits,
    /// (hash, keyword index), ordered by the hash's top 12 bits.
    by_hash: Vec<(u16, u32)>,
    /// Where in `by_hash` the entries whose hash has top 12 bits `b` start: `starts[b]`.
    starts: Vec<u32>,
}

/// Bytes folded so that ASCII letters hash the same in either case (other bytes may collide
/// with each other, which only costs a comparison).
const FOLD: u32 = 0x2020_2020;

fn hash(head: u32) -> u16 {
    (head.wrapping_mul(0x9e37_79b1) >> 16) as u16
}

/// The first `width` bytes of `bytes` (at least that long), folded, as a little-endian number.
fn head(bytes: &[u8], width: usize) -> u32 {
    bytes[..width].iter().rev().fold(0, |head, &b| head << 8 | u32::from(b)) | (FOLD >> (32 - 8 * width))
}

impl Table {
    /// The keywords `take` accepts the length of, by the hash of their first `width` bytes:
    /// a counting sort into 4,096 buckets.
    fn new(keywords: &[Vec<u8>], width: usize, take: impl Fn(usize) -> bool) -> Table {
        let hashed: Vec<(u16, u32)> = (keywords.iter().enumerate())
            .filter(|(_, k)| take(k.len()))
            .map(|(index, keyword)| (hash(head(keyword, width)), index as u32))
            .collect();
        let mut starts = vec![0u32; (1 << 12) + 1];
        for &(h, _) in &hashed {
            starts[usize::from(h >> 4) + 1] += 1;
        }
        for b in 1..starts.len() {
            starts[b] += starts[b - 1];
        }
        let mut next = starts.clone();
        let mut by_hash = vec![(0, 0); hashed.len()];
        for &(h, index) in &hashed {
            let slot = &mut next[usize::from(h >> 4)];
            by_hash[*slot as usize] = (h, index);
            *slot += 1;
        }
        Table { bits: Bits::new(hashed.iter().map(|&(h, _)| h)), by_hash, starts }
    }

    /// The keywords whose first bytes may hash to `h` (those of its bucket). Kept out of the
    /// loop over the text, which runs faster without it.
    #[inline(never)]
    fn candidates(&self, h: u16) -> &[(u16, u32)] {
        let bucket = usize::from(h >> 4);
        &self.by_hash[self.starts[bucket] as usize..self.starts[bucket + 1] as usize]
    }
}

impl Grams {
    /// Keywords shorter than two bytes are left out: the caller looks for those itself.
    pub fn new(keywords: &[Text]) -> Grams {
        let keywords: Vec<Vec<u8>> = keywords.iter().map(|k| k.as_bytes().to_ascii_lowercase()).collect();
        let lead = Bits::new(keywords.iter().filter(|k| k.len() >= 3).map(|k| hash(head(k, 3))));
        let four = Table::new(&keywords, 4, |len| len >= 4);
        let three = Table::new(&keywords, 3, |len| len == 3);
        let two = Table::new(&keywords, 2, |len| len == 2);
        Grams { keywords, lead, four, three, two }
    }

    /// Calls `found(keyword, span)` for every occurrence of a keyword in `text`, ignoring ASCII
    /// case, in order of start, overlapping ones included.
    pub fn each(&self, text: &[u8], mut found: impl FnMut(usize, std::ops::Range<usize>)) {
        let mut look = |table: &Table, h: u16, at: usize| {
            if !table.bits.holds(h) {
                return;
            }
            for &(other, index) in table.candidates(h) {
                let keyword = &self.keywords[index as usize];
                let rest = &text[at..];
                if other == h
                    && rest.len() >= keyword.len()
                    && rest[..keyword.len()].eq_ignore_ascii_case(keyword)
                {
                    found(index as usize, at..at + keyword.len());
                }
            }
        };
        for at in 0..text.len() {
            let rest = &text[at..];
            if let [a, b, c, d, ..] = *rest {
                let four = u32::from_le_bytes([a, b, c, d]) | FOLD;
                let three = hash(four & 0xff_ffff);
                if self.lead.holds(three) {
                    look(&self.four, hash(four), at);
                    look(&self.three, three, at);
                }
                look(&self.two, hash(four & 0xffff), at);
            } else {
                for (table, width) in [(&self.three, 3), (&self.two, 2)] {
                    if rest.len() >= width {
                        look(table, hash(head(rest, width)), at);
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Grams;
    use crate::config::Text;

    fn present(keywords: &[&str], text: &str) -> Vec<usize> {
        let keywords: Vec<Text> = keywords.iter().map(|k| Text::from(k.to_string())).collect();
        let mut found = Vec::new();
        Grams::new(&keywords).each(text.as_bytes(), |k, _| found.push(k));
        found.sort_unstable();
        found.dedup();
        found
    }

    #[test]
    fn finds_each_keyword_once_wherever_it_is() {
        let keywords = ["key", "kex", "token", "to", "x", "tokens"];
        assert_eq!(present(&keywords, "API_KEY = token; key again"), vec![0, 2, 3]);
        assert_eq!(present(&keywords, "TOKENS"), vec![2, 3, 5]);
        assert_eq!(present(&keywords, "ke"), Vec::<usize>::new(), "a keyword cut off by the end is absent");
        assert_eq!(present(&keywords, "kex"), vec![1], "at the very end");
        assert_eq!(present(&keywords, "a KEX"), vec![1], "three bytes at the very end");
        assert_eq!(present(&keywords, "xTo"), vec![3], "two bytes at the very end");
        assert_eq!(present(&keywords, "tokenkexto"), vec![1, 2, 3], "in one run");
        assert_eq!(present(&keywords, "x marks"), Vec::<usize>::new(), "one-byte keywords are the caller's");
        assert_eq!(present(&keywords, ""), Vec::<usize>::new());
        assert_eq!(present(&["\u{e9}t\u{e9}"], "l'\u{c9}T\u{c9} \u{e9}t\u{e9}"), vec![0]);
        assert_eq!(present(&["a_b"], "A_B a@b"), vec![0]);
        let mut spans = Vec::new();
        Grams::new(&["key".into(), "token".into(), "to".into()])
            .each(b"API_KEY = Token", |k, s| spans.push((k, s)));
        assert_eq!(spans, vec![(0, 4..7), (1, 10..15), (2, 10..12)]);
        assert_eq!(
            present(&["a_bc"], "a\u{7f}bc A`BC"),
            Vec::<usize>::new(),
            "bytes folded alike are still compared"
        );
    }
}
