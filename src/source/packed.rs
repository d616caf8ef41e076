//! Objects read by id straight from the pack files, for the commit walk's trees.
//!
//! libgit2 reads a tree through windows it maps over the pack (32 MB of them at most, to keep
//! memory to the number of objects): on git/git, whose trees lie all over a 500 MB pack, its
//! walk spent a tenth of its time unmapping and mapping windows again, and libgit2's zlib
//! inflated each step of a tree's delta chain. Here the pack's index is mapped (a twentieth of
//! the pack), an entry's header and stream are read with `pread` (nothing of the pack stays
//! mapped), the stream inflated whole by libdeflate, and the objects of delta chains kept in a
//! small cache: a walk reads the versions of a tree one after another, and they are built from
//! each other.
//!
//! Like `pack.rs` this is an accelerator: an object it cannot find or read (loose, in an
//! alternate, larger than `MAX_OBJECT`, damaged) is `None`, and the caller asks libgit2, which
//! names the object if it is really broken.

use super::pack::{
    apply_delta, be32, delta_target_size, index_count, index_offset, inflate_whole, read_header,
};
use super::pack::{read_offset, INDEX_IDS, OFS_DELTA, REF_DELTA};
use git2::Oid;
use std::cell::RefCell;
use std::collections::{HashMap, VecDeque};
use std::fs::File;
use std::hash::{BuildHasherDefault, Hasher};
use std::os::unix::fs::FileExt;
use std::path::Path;
use std::rc::Rc;

/// Objects (and the deltas of one chain together) larger than this are left to libgit2: a
/// tree or commit never comes near it.
const MAX_OBJECT: u64 = 16 << 20;
/// Bytes of inflated objects kept as bases for the next reads.
const CACHE_BYTES: usize = 16 << 20;
/// A delta chain longer than this is left to libgit2 (git writes at most 4,095 deep).
const MAX_CHAIN: usize = 10_000;
/// Bytes read at an entry's offset at first: its header, and the stream of most trees.
const FIRST_READ: u64 = 4096;

/// An object's type (git's number: 1 commit, 2 tree, 3 blob, 4 tag) and content.
pub type Object = (u8, Rc<Vec<u8>>);

/// The packs of one object directory, and the bases read lately.
pub struct Packed {
    packs: Vec<PackFile>,
    cache: RefCell<Cache>,
    /// The inflater, and a buffer for compressed bytes, reused from entry to entry.
    reading: RefCell<(libdeflater::Decompressor, Vec<u8>)>,
}

/// One pack: its mapped index and the pack's file.
struct PackFile {
    index: memmap2::Mmap,
    count: usize,
    file: File,
    len: u64,
}

/// Inflated objects by pack and offset, the oldest dropped first once they pass `CACHE_BYTES`.
#[derive(Default)]
struct Cache {
    objects: HashMap<(usize, u64), Object, BuildHasherDefault<PlaceHasher>>,
    order: VecDeque<(usize, u64)>,
    bytes: usize,
}

/// Hashes a place (pack, offset) by multiplying: offsets are already spread, and SipHash's
/// rounds were most of a lookup.
#[derive(Default)]
struct PlaceHasher(u64);

impl Hasher for PlaceHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &byte in bytes {
            self.write_u64(u64::from(byte));
        }
    }

    fn write_u64(&mut self, value: u64) {
        self.0 = (self.0.rotate_left(5) ^ value).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    }

    fn write_usize(&mut self, value: usize) {
        self.write_u64(value as u64);
    }
}

impl Cache {
    fn get(&self, key: (usize, u64)) -> Option<Object> {
        self.objects.get(&key).cloned()
    }

    fn put(&mut self, key: (usize, u64), kind: u8, bytes: Rc<Vec<u8>>) {
        if bytes.len() > CACHE_BYTES / 4 {
            return;
        }
        self.bytes += bytes.len();
        match self.objects.insert(key, (kind, bytes)) {
            Some((_, old)) => self.bytes -= old.len(),
            None => self.order.push_back(key),
        }
        while self.bytes > CACHE_BYTES {
            let Some(old) = self.order.pop_front() else { break };
            if let Some((_, bytes)) = self.objects.remove(&old) {
                self.bytes -= bytes.len();
            }
        }
    }
}

impl Packed {
    /// The packs in `objects_dir/pack` whose index is one this reader knows (version 2).
    pub fn open(objects_dir: &Path) -> Packed {
        let packs =
            super::pack::pack_indexes(objects_dir).iter().filter_map(|idx| PackFile::open(idx)).collect();
        Packed {
            packs,
            cache: RefCell::default(),
            reading: RefCell::new((libdeflater::Decompressor::new(), Vec::new())),
        }
    }

    /// Object `id`, if a pack holds it and it reads cleanly.
    pub fn read(&self, id: &Oid) -> Option<Object> {
        let (pack, offset) = self.find(id)?;
        self.read_at(pack, offset)
    }

    fn find(&self, id: &Oid) -> Option<(usize, u64)> {
        self.packs.iter().enumerate().find_map(|(n, pack)| Some((n, pack.offset_of(id.as_bytes())?)))
    }

    /// The object at `offset` in pack `pack`: the delta chain is followed down to a full object
    /// or a cached one, then built up again, every object on the way cached.
    fn read_at(&self, pack: usize, offset: u64) -> Option<Object> {
        let mut deltas = Vec::new();
        // The deltas of a chain are held until its base is read: a crafted chain of large ones
        // is left to libgit2 rather than held here.
        let mut held = 0;
        let mut at = (pack, offset);
        let (kind, mut bytes) = loop {
            if let Some(hit) = self.cache.borrow().get(at) {
                break hit;
            }
            if deltas.len() > MAX_CHAIN || held > MAX_OBJECT as usize {
                return None;
            }
            let (kind, data, base) = self.packs[at.0].entry(at.1, &mut self.reading.borrow_mut())?;
            held += data.len();
            match base {
                Base::None => {
                    let bytes = Rc::new(data);
                    self.cache.borrow_mut().put(at, kind, bytes.clone());
                    break (kind, bytes);
                }
                Base::Offset(base) => {
                    deltas.push((at, data));
                    at = (at.0, base);
                }
                Base::Id(id) => {
                    deltas.push((at, data));
                    at = self.find(&id)?;
                }
            }
        };
        let mut copies = Vec::new();
        while let Some((key, delta)) = deltas.pop() {
            // A few bytes of delta can say to copy a base over and over: its size is checked
            // before it is built, as an entry's is.
            if delta_target_size(&delta)? > MAX_OBJECT {
                return None;
            }
            bytes = Rc::new(apply_delta(&bytes, &delta, &mut copies)?);
            self.cache.borrow_mut().put(key, kind, bytes.clone());
        }
        Some((kind, bytes))
    }
}

/// What an entry is built from.
enum Base {
    None,
    Offset(u64),
    Id(Oid),
}

impl PackFile {
    fn open(idx: &Path) -> Option<PackFile> {
        let index_file = File::open(idx).ok()?;
        // SAFETY: git never rewrites an index in place (it writes a new one and renames it).
        let index = unsafe { memmap2::Mmap::map(&index_file) }.ok()?;
        let count = index_count(&index)?;
        let file = File::open(idx.with_extension("pack")).ok()?;
        let len = file.metadata().ok()?.len();
        Some(PackFile { index, count, file, len })
    }

    /// Where object `id` is in the pack: the index's fan-out table narrows the search to the
    /// ids that start with its first byte.
    fn offset_of(&self, id: &[u8]) -> Option<u64> {
        let first = usize::from(id[0]);
        let lo = if first == 0 { 0 } else { be32(&self.index, 8 + (first - 1) * 4)? as usize };
        let hi = (be32(&self.index, 8 + first * 4)? as usize).min(self.count);
        let ids = INDEX_IDS;
        // Ids compared by their first eight bytes as a number, the rest only where those agree.
        let head = |id: &[u8]| u64::from_be_bytes(id[..8].try_into().expect("ids are 20 bytes"));
        let (wanted, mut lo, mut hi) = (head(id), lo, hi);
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            let there = self.index.get(ids + mid * 20..ids + mid * 20 + 20)?;
            match head(there).cmp(&wanted).then_with(|| there[8..].cmp(&id[8..])) {
                std::cmp::Ordering::Less => lo = mid + 1,
                std::cmp::Ordering::Greater => hi = mid,
                std::cmp::Ordering::Equal => return index_offset(&self.index, self.count, mid),
            }
        }
        None
    }

    /// The entry at `offset`: its type, its inflated data (a delta, for a delta) and its base.
    /// The index does not say where an entry ends: as much is read as a zlib stream of its
    /// size can take (stored blocks, 5 bytes a block of 65,535, and 6 more); a stream that
    /// takes more does not inflate, and the object is left to libgit2.
    fn entry(
        &self,
        offset: u64,
        reading: &mut (libdeflater::Decompressor, Vec<u8>),
    ) -> Option<(u8, Vec<u8>, Base)> {
        let (inflater, bytes) = reading;
        let left = self.len.checked_sub(20)?.checked_sub(offset)?;
        // One read mostly does: the header and, for most trees, their whole stream.
        bytes.resize(left.min(FIRST_READ) as usize, 0);
        self.file.read_exact_at(bytes, offset).ok()?;
        let mut reader = &bytes[..];
        let (kind, size, _) = read_header(&mut reader)?;
        if size > MAX_OBJECT {
            return None;
        }
        let base = match kind {
            OFS_DELTA => Base::Offset(offset.checked_sub(read_offset(&mut reader)?.0)?),
            REF_DELTA => {
                let mut id = [0u8; 20];
                std::io::Read::read_exact(&mut reader, &mut id).ok()?;
                Base::Id(Oid::from_bytes(&id).ok()?)
            }
            1..=4 => Base::None,
            _ => return None,
        };
        let header = bytes.len() - reader.len();
        let most = size + size / 65_535 * 5 + 5 + 6;
        let wanted = (header as u64 + most).min(left) as usize;
        if wanted > bytes.len() {
            let got = bytes.len();
            bytes.resize(wanted, 0);
            self.file.read_exact_at(&mut bytes[got..], offset + got as u64).ok()?;
        }
        let data = inflate_whole(inflater, &bytes[header..wanted], usize::try_from(size).ok()?)?;
        Some((kind, data, base))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::pack::tests::packed_repo;
    use crate::source::pack::V2_INDEX;

    /// Every object of packs whose deltas name their bases by offset, or by id, reads as
    /// libgit2 reads it, whichever order it is asked for in (the cache must not answer for
    /// another object).
    #[test]
    fn every_object_reads_as_libgit2_reads_it() {
        for by_id in [false, true] {
            let dir = packed_repo(by_id);
            let repo = git2::Repository::open(dir.path()).unwrap();
            let odb = repo.odb().unwrap();
            let packed = Packed::open(&dir.path().join(".git/objects"));
            let mut ids = Vec::new();
            odb.foreach(|id| {
                ids.push(*id);
                true
            })
            .unwrap();
            assert!(ids.len() > 200, "the fixture has {} objects", ids.len());
            for order in [ids.clone(), ids.iter().rev().copied().collect()] {
                for id in &order {
                    let (kind, bytes) = packed.read(id).unwrap_or_else(|| panic!("{id} is packed"));
                    let object = odb.read(*id).unwrap();
                    assert_eq!(&*bytes, object.data(), "{id}");
                    assert_eq!(git2::ObjectType::from_raw(i32::from(kind)), Some(object.kind()), "{id}");
                }
            }
        }
    }

    /// A stream that does not inflate to its size (or whose checksum fails) is no object: the
    /// walk then asks libgit2, which names it.
    #[test]
    fn a_damaged_entry_is_none() {
        let dir = packed_repo(false);
        let repo = git2::Repository::open(dir.path()).unwrap();
        let root = repo.head().unwrap().peel_to_tree().unwrap().id();
        let objects = dir.path().join(".git/objects");
        let (pack, offset) = Packed::open(&objects).find(&root).expect("the root tree is packed");
        assert!(Packed::open(&objects).read(&root).is_some());
        let path = super::super::pack::pack_indexes(&objects)[pack].with_extension("pack");
        let mut bytes = std::fs::read(&path).unwrap();
        bytes[offset as usize + 8] ^= 0x55;
        std::fs::remove_file(&path).unwrap();
        std::fs::write(&path, bytes).unwrap();
        assert!(Packed::open(&objects).read(&root).is_none());
    }

    /// A pack written by hand: a 64 KB blob, and a delta of a few bytes that copies it 512
    /// times (32 MB). The delta is left to libgit2 rather than built.
    #[test]
    fn a_delta_that_would_build_an_object_too_large_is_none() {
        use std::io::Write;
        let zlib = |data: &[u8]| {
            let mut encoder = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
            encoder.write_all(data).unwrap();
            encoder.finish().unwrap()
        };
        let header = |kind: u8, mut size: usize| {
            let mut bytes = vec![kind << 4 | (size & 0x0f) as u8];
            size >>= 4;
            while size > 0 {
                *bytes.last_mut().unwrap() |= 0x80;
                bytes.push((size & 0x7f) as u8);
                size >>= 7;
            }
            bytes
        };
        let varint = |mut value: usize, out: &mut Vec<u8>| loop {
            let byte = (value & 0x7f) as u8;
            value >>= 7;
            out.push(if value > 0 { byte | 0x80 } else { byte });
            if value == 0 {
                break;
            }
        };
        let mut delta = Vec::new();
        varint(1 << 16, &mut delta);
        varint(512 << 16, &mut delta);
        delta.extend([0x80; 512]);
        let mut pack = b"PACK\0\0\0\x02\0\0\0\x02".to_vec();
        let base_at = pack.len();
        pack.extend(header(3, 1 << 16));
        pack.extend(zlib(&[b'x'; 1 << 16]));
        let delta_at = pack.len();
        pack.extend(header(OFS_DELTA, delta.len()));
        pack.push((delta_at - base_at) as u8);
        pack.extend(zlib(&delta));
        pack.extend([0; 20]);
        let mut index = V2_INDEX.to_vec();
        for first in 0..256 {
            index.extend(u32::to_be_bytes(u32::from(first >= 0x11) + u32::from(first >= 0x22)));
        }
        index.extend([0x11; 20]);
        index.extend([0x22; 20]);
        index.extend([0; 8]);
        for at in [base_at, delta_at] {
            index.extend(u32::to_be_bytes(at as u32));
        }
        index.extend([0; 40]);
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("pack")).unwrap();
        std::fs::write(dir.path().join("pack/pack-1.pack"), pack).unwrap();
        std::fs::write(dir.path().join("pack/pack-1.idx"), index).unwrap();
        let packed = Packed::open(dir.path());
        let base = packed.read(&Oid::from_bytes(&[0x11; 20]).unwrap()).expect("the base reads");
        assert_eq!(base.1.len(), 1 << 16);
        assert!(packed.read(&Oid::from_bytes(&[0x22; 20]).unwrap()).is_none());
    }

    #[test]
    fn an_object_no_pack_holds_is_none() {
        let dir = packed_repo(false);
        let packed = Packed::open(&dir.path().join(".git/objects"));
        assert!(packed.read(&Oid::from_bytes(&[0xab; 20]).unwrap()).is_none());
        assert!(Packed::open(&dir.path().join("nowhere")).read(&Oid::zero()).is_none());
    }
}
