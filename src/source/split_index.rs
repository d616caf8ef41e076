//! A split index (`core.splitIndex`, `git update-index --split-index`): the index file holds
//! only what changed since its shared part, `sharedindex.<id>` in the git directory, was
//! written. Its `link` extension names the shared part and carries two EWAH bitmaps of the
//! shared part's entries: those deleted, and those replaced. The file's first entries replace
//! the marked ones, in order, and have empty paths (the path is the replaced entry's); the rest
//! are added. This merges them as git does, then keeps the stage-0 entries. Anything that does
//! not fit together (a bit past the shared entries, too few replacing entries, a shared part
//! that is itself split or missing) leaves the index to libgit2, which refuses it by name.

use super::index::{walk, Index, MAX_BYTES};
use crate::error::Result;
use crate::textfile;
use git2::Oid;
use std::collections::HashMap;
use std::path::Path;

/// One entry of either part, as read.
struct Raw {
    path: Vec<u8>,
    id: Oid,
    mode: u32,
    stage: u16,
}

/// The index whose main part is `main`, with link extension `link` and cache tree `trees`.
pub fn read(main: &[u8], link: &[u8], trees: HashMap<String, Oid>, git_dir: &Path) -> Result<Option<Index>> {
    let Some(shared_id) = link.get(..20).and_then(|id| Oid::from_bytes(id).ok()) else { return Ok(None) };
    let shared_path = git_dir.join(format!("sharedindex.{shared_id}"));
    if !shared_path.is_file() {
        return Ok(None);
    }
    let shared = textfile::map(&shared_path, MAX_BYTES)?;
    let Some(entries) = merge(main, &link[20..], &shared) else { return Ok(None) };
    let mut index = Index::default();
    index.trees = trees;
    for entry in entries.iter().filter(|e| e.stage == 0) {
        // A path that is not UTF-8 is left to libgit2, as in an index that is not split.
        let Ok(path) = std::str::from_utf8(&entry.path) else { return Ok(None) };
        index.push(path, entry.id, entry.mode);
    }
    Ok(Some(index))
}

/// Every entry of a split index, from its main part, the bitmaps of its link extension and
/// its shared part.
fn merge(main: &[u8], bitmaps: &[u8], shared: &[u8]) -> Option<Vec<Raw>> {
    let (mut base, None) = raw_entries(shared)? else { return None };
    let (main, _) = raw_entries(main)?;
    let (deleted, replaced) = if bitmaps.is_empty() {
        (Vec::new(), Vec::new())
    } else {
        let (deleted, used) = ewah_bits(bitmaps, base.len())?;
        let (replaced, rest) = ewah_bits(&bitmaps[used..], base.len())?;
        if used + rest != bitmaps.len() {
            return None;
        }
        (deleted, replaced)
    };
    if replaced.len() > main.len() {
        return None;
    }
    let mut main = main.into_iter();
    for &at in &replaced {
        let by = main.next()?;
        if !by.path.is_empty() {
            return None;
        }
        let old = &mut base[at];
        *old = Raw { path: std::mem::take(&mut old.path), ..by };
    }
    let mut keep = vec![true; base.len()];
    for &at in &deleted {
        keep[at] = false;
    }
    let mut keep = keep.into_iter();
    base.retain(|_| keep.next().unwrap_or(true));
    // The rest are added in order of path and stage, as git keeps an index; one that has the
    // path and stage of another replaces it (the later of two added ones wins).
    let mut added: Vec<Raw> = main.collect();
    if added.iter().any(|e| e.path.is_empty()) {
        return None;
    }
    added.sort_by(|a, b| key(a).cmp(&key(b)));
    let mut unique: Vec<Raw> = Vec::with_capacity(added.len());
    for entry in added {
        match unique.last_mut() {
            Some(last) if key(last) == key(&entry) => *last = entry,
            _ => unique.push(entry),
        }
    }
    let mut merged = Vec::with_capacity(base.len() + unique.len());
    let mut added = unique.into_iter().peekable();
    for entry in base {
        while let Some(next) = added.next_if(|a| key(a) < key(&entry)) {
            merged.push(next);
        }
        match added.next_if(|a| key(a) == key(&entry)) {
            Some(replacing) => merged.push(replacing),
            None => merged.push(entry),
        }
    }
    merged.extend(added);
    Some(merged)
}

/// Where an entry stands in an index: by path, then stage.
fn key(entry: &Raw) -> (&[u8], u16) {
    (&entry.path, entry.stage)
}

/// Every entry of one index file, stages included, in order, and its link extension; `None`
/// for a file this reader does not read.
fn raw_entries(bytes: &[u8]) -> Option<(Vec<Raw>, Option<&[u8]>)> {
    let mut entries = Vec::new();
    let link = walk(bytes, &mut HashMap::new(), |path, id, mode, stage| {
        entries.push(Raw { path: path.to_vec(), id, mode, stage });
        Some(())
    })?;
    Some((entries, link))
}

/// The positions set in the EWAH bitmap at the start of `bytes`, each below `limit` (else
/// `None`), and the bitmap's length in bytes. The bitmap is a bit count, a word count, that
/// many 64-bit words and the position of the last run word; each run word says how many
/// all-zero or all-one words come next, then how many literal words follow it.
fn ewah_bits(bytes: &[u8], limit: usize) -> Option<(Vec<usize>, usize)> {
    let u32_at = |at: usize| Some(u32::from_be_bytes(bytes.get(at..at + 4)?.try_into().ok()?));
    let words = u32_at(4)? as usize;
    let len = 8usize.checked_add(words.checked_mul(8)?)?.checked_add(4)?;
    let word = |n: usize| Some(u64::from_be_bytes(bytes.get(8 + n * 8..16 + n * 8)?.try_into().ok()?));
    bytes.get(..len)?;
    let mut bits = Vec::new();
    // The position of the next bit, in bits; runs may pass `limit` only as zeros.
    let mut at: u64 = 0;
    let mut n = 0;
    while n < words {
        let run = word(n)?;
        n += 1;
        let (ones, run_words, literals) = (run & 1 == 1, (run >> 1) & 0xffff_ffff, run >> 33);
        let run_bits = run_words.checked_mul(64)?;
        if ones && run_bits > 0 {
            let end = at.checked_add(run_bits)?;
            if end > limit as u64 {
                return None;
            }
            bits.extend(at as usize..end as usize);
        }
        at = at.checked_add(run_bits)?;
        for _ in 0..literals {
            if n >= words {
                return None;
            }
            let mut literal = word(n)?;
            n += 1;
            while literal != 0 {
                let bit = at + u64::from(literal.trailing_zeros());
                if bit >= limit as u64 {
                    return None;
                }
                bits.push(bit as usize);
                literal &= literal - 1;
            }
            at = at.checked_add(64)?;
        }
    }
    Some((bits, len))
}

#[cfg(test)]
mod tests {
    use super::super::test_git as git;
    use super::ewah_bits;
    use std::path::Path;

    /// The stage-0 entries as keyrot reads them and as `git ls-files` lists them.
    fn both(dir: &Path) -> (Vec<String>, Vec<String>) {
        let git_dir = dir.join(".git");
        let index = super::super::index::read(&git_dir.join("index"), &git_dir).unwrap().expect("read here");
        let ours = index.entries().iter().map(|e| format!("{:o} {} 0\t{}", e.mode, e.id, e.path)).collect();
        let theirs = git(dir, &["ls-files", "--stage"]).lines().map(String::from).collect();
        (ours, theirs)
    }

    #[test]
    fn a_split_index_reads_as_git_lists_it() {
        let dir = tempfile::tempdir().unwrap();
        let dir = dir.path();
        git(dir, &["init", "-q"]);
        git(dir, &["config", "core.splitIndex", "true"]);
        for n in 0..40 {
            std::fs::write(dir.join(format!("f{n:02}.txt")), format!("{n}\n")).unwrap();
        }
        git(dir, &["add", "."]);
        git(dir, &["commit", "-qm", "init"]);
        git(dir, &["update-index", "--split-index"]);
        assert!(std::fs::read_dir(dir.join(".git"))
            .unwrap()
            .any(|e| { e.unwrap().file_name().to_string_lossy().starts_with("sharedindex.") }));
        let (ours, theirs) = both(dir);
        assert_eq!(ours, theirs, "just split");
        // Deleted entries, then replaced (changed) and added ones, then a deleted one added back.
        git(dir, &["rm", "-q", "f10.txt", "f11.txt"]);
        let (ours, theirs) = both(dir);
        assert_eq!(ours, theirs, "after deletions");
        assert!(!theirs.iter().any(|l| l.ends_with("\tf10.txt")));
        std::fs::write(dir.join("f03.txt"), "changed\n").unwrap();
        std::fs::write(dir.join("f39.txt"), "changed\n").unwrap();
        std::fs::write(dir.join("e.txt"), "new\n").unwrap();
        std::fs::create_dir(dir.join("g")).unwrap();
        std::fs::write(dir.join("g/h.txt"), "new\n").unwrap();
        git(dir, &["add", "f03.txt", "f39.txt", "e.txt", "g/h.txt"]);
        let (ours, theirs) = both(dir);
        assert_eq!(ours, theirs, "after changes");
        assert!(theirs.iter().any(|l| l.ends_with("\tg/h.txt")));
        std::fs::write(dir.join("f10.txt"), "back\n").unwrap();
        git(dir, &["add", "f10.txt"]);
        let (ours, theirs) = both(dir);
        assert_eq!(ours, theirs, "a deleted entry added back");
    }

    /// A bitmap of `words` as git writes it: bit count, word count, words, last run word.
    fn bitmap(words: &[u64]) -> Vec<u8> {
        let mut out = Vec::new();
        out.extend_from_slice(&(words.len() as u32 * 64).to_be_bytes());
        out.extend_from_slice(&(words.len() as u32).to_be_bytes());
        for word in words {
            out.extend_from_slice(&word.to_be_bytes());
        }
        out.extend_from_slice(&0u32.to_be_bytes());
        out
    }

    #[test]
    fn runs_and_literals_give_their_positions() {
        // Two zero words, then one literal word with bits 1 and 3: positions 129 and 131.
        let zeros_then_literal = bitmap(&[(1 << 33) | (2 << 1), 0b1010]);
        assert_eq!(ewah_bits(&zeros_then_literal, 200), Some((vec![129, 131], zeros_then_literal.len())));
        // One word of ones: positions 0 to 63.
        let ones = bitmap(&[(1 << 1) | 1]);
        assert_eq!(ewah_bits(&ones, 64).map(|(bits, _)| bits), Some((0..64).collect()));
    }

    #[test]
    fn a_position_past_the_entries_or_a_cut_bitmap_is_refused() {
        let zeros_then_literal = bitmap(&[(1 << 33) | (2 << 1), 0b1010]);
        assert_eq!(ewah_bits(&zeros_then_literal, 130), None, "bit 131 of 130 entries");
        assert_eq!(ewah_bits(&bitmap(&[(1 << 1) | 1]), 63), None);
        assert_eq!(ewah_bits(&zeros_then_literal[..zeros_then_literal.len() - 1], 200), None);
        // A run of 2^32 - 1 words of ones is refused at once, not listed.
        let huge = bitmap(&[(0xffff_ffff << 1) | 1]);
        assert_eq!(ewah_bits(&huge, 1000), None);
        // A run word announcing more literal words than the bitmap holds.
        let short = bitmap(&[(2 << 33) | (2 << 1), 0b1010]);
        assert_eq!(ewah_bits(&[short.as_slice(), &[0xff; 16]].concat(), 1000), None);
    }
}
