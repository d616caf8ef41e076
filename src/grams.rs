//! Where keywords occur in a small text, without building an automaton. Keywords of four bytes
//! or more are grouped by a 16-bit hash of their first four bytes, shorter ones by their first
//! two; a 64 Kbit table per group size says which values begin a keyword, and only where one does
//! are that value's keywords compared. A pre-commit run checks a few files against 1,700
//! keywords; this answers in one pass over each file, where one search per keyword took longer
//! than the rest of the run. Over a whole history the Aho-Corasick DFA stays: on cargo's 1.4 GB
//! of blobs this pass took 10.9 s of CPU to the DFA's 4.4 s.

use crate::config::Text;

/// Keywords of two bytes or more, lower-case, in two tables: by four bytes, and by two.
pub struct Grams {
    keywords: Vec<Vec<u8>>,
    long: Table,
    short: Table,
}

/// Keywords whose first `width` bytes hash to a value.
struct Table {
    width: usize,
    /// Bit `h` is set when some keyword's first bytes hash to `h`.
    bits: Vec<u64>,
    /// (hash, keyword index), sorted.
    by_hash: Vec<(u16, usize)>,
}

/// Bytes folded so that ASCII letters hash the same in either case (other bytes may collide
/// with each other, which only costs a comparison).
const FOLD: u32 = 0x2020_2020;

impl Table {
    fn new(width: usize, keywords: &[Vec<u8>], take: impl Fn(usize) -> bool) -> Table {
        let mut table = Table { width, bits: vec![0; 1 << 10], by_hash: Vec::new() };
        for (index, keyword) in keywords.iter().enumerate().filter(|(_, k)| take(k.len())) {
            let h = table.hash(keyword);
            table.bits[usize::from(h >> 6)] |= 1 << (h & 63);
            table.by_hash.push((h, index));
        }
        table.by_hash.sort_unstable();
        table
    }

    fn hash(&self, bytes: &[u8]) -> u16 {
        match self.width {
            2 => u16::from_be_bytes([bytes[0], bytes[1]]) | FOLD as u16,
            _ => {
                let four = u32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]) | FOLD;
                (four.wrapping_mul(0x9e37_79b1) >> 16) as u16
            }
        }
    }

    /// The keywords that may start at the beginning of `rest` (at least `width` bytes long).
    fn candidates(&self, rest: &[u8]) -> &[(u16, usize)] {
        let h = self.hash(rest);
        if self.bits[usize::from(h >> 6)] & (1 << (h & 63)) == 0 {
            return &[];
        }
        let first = self.by_hash.partition_point(|&(other, _)| other < h);
        let len = self.by_hash[first..].iter().take_while(|&&(other, _)| other == h).count();
        &self.by_hash[first..first + len]
    }
}

impl Grams {
    /// Keywords shorter than two bytes are left out: the caller looks for those itself.
    pub fn new(keywords: &[Text]) -> Grams {
        let keywords: Vec<Vec<u8>> = keywords.iter().map(|k| k.as_bytes().to_ascii_lowercase()).collect();
        let long = Table::new(4, &keywords, |len| len >= 4);
        let short = Table::new(2, &keywords, |len| (2..4).contains(&len));
        Grams { keywords, long, short }
    }

    /// Calls `found(keyword, span)` for every occurrence of a keyword in `text`, ignoring ASCII
    /// case, in order of start, overlapping ones included.
    pub fn each(&self, text: &[u8], mut found: impl FnMut(usize, std::ops::Range<usize>)) {
        for at in 0..text.len() {
            let rest = &text[at..];
            for table in [&self.long, &self.short] {
                if rest.len() < table.width {
                    continue;
                }
                for &(_, index) in table.candidates(rest) {
                    let keyword = &self.keywords[index];
                    if rest.len() >= keyword.len() && rest[..keyword.len()].eq_ignore_ascii_case(keyword) {
                        found(index, at..at + keyword.len());
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
