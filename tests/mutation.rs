//! Bytes and bits flipped across a small packed repository's pack and index, checksums made to
//! agree again, then a history scan and a staged scan of each mutant: every run must end with
//! exit 0, 1 or 2, never a panic, and within a time bound. Seeded, so a failure replays; a few
//! seconds by default, longer with `KEYROT_MUTATIONS=N`.

mod common;
use common::*;
use std::time::Duration;

/// A small deterministic generator (xorshift64*), enough to pick places and bits.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// A repository with a few commits, deltas and a token, packed into one pack.
fn packed() -> Repo {
    let repo = Repo::new();
    let mut text = String::new();
    for n in 0..6 {
        text.push_str(&format!("line {n}: some text that stays and grows\n").repeat(20));
        repo.write("notes.txt", &text);
        repo.write(&format!("dir{}/file.txt", n % 2), format!("version {n}\n"));
        if n == 3 {
            repo.write("app.py", format!("TOKEN = \"{GITHUB}\"\n"));
        }
        repo.commit(&format!("commit {n}"));
    }
    repo.git(&["tag", "-a", "-m", "a tag", "v1"]);
    repo.git(&["repack", "-adfq", "--depth=10"]);
    repo.write("staged.txt", "a staged change\n");
    repo.git(&["add", "staged.txt"]);
    repo
}

#[test]
fn flipped_bytes_in_a_pack_or_its_index_never_panic_or_hang() {
    let count: usize = std::env::var("KEYROT_MUTATIONS").ok().and_then(|n| n.parse().ok()).unwrap_or(40);
    let repo = packed();
    let pack_dir = repo.path().join(".git/objects/pack");
    let pack = std::fs::read_dir(&pack_dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|e| e == "pack"))
        .expect("one pack");
    let idx = pack.with_extension("idx");
    let originals =
        [(pack.clone(), std::fs::read(&pack).unwrap()), (idx.clone(), std::fs::read(&idx).unwrap())];
    let mut rng = Rng(0x6b65_7972_6f74_0001);
    for round in 0..count {
        let (target, original) = &originals[rng.below(2)];
        let mut bytes = original.clone();
        // Leave the trailers alone: they are recomputed so the mutant is not refused on them.
        let at = rng.below(bytes.len().saturating_sub(40).max(1));
        match rng.below(3) {
            0 => bytes[at] ^= 1 << rng.below(8),
            1 => bytes[at] = rng.next() as u8,
            _ => bytes.truncate(at.max(12)),
        }
        for (path, original) in &originals {
            std::fs::write(path, if path == target { &bytes } else { original }).unwrap();
        }
        common::packs::fix_checksums(&pack);
        for args in [&["scan", "--history"][..], &["scan", "--staged"]] {
            let run = keyrot_within(repo.path(), args, Duration::from_secs(20));
            let what = format!("round {round}: {} at {at}, {args:?}", target.display());
            assert!(matches!(run.code, 0..=2), "{what}: exit {}\n{}", run.code, run.all());
            assert!(!run.all().contains("panicked"), "{what}:\n{}", run.all());
            assert_not_revealed(&run, &[GITHUB]);
        }
    }
}
