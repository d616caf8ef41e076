//! Blobs read straight from the repository's pack files, each object inflated exactly once.
//!
//! A pack stores most versions of a file as deltas against another object, in chains up to
//! about 50 deep. Reading objects one by one (as libgit2 does) rebuilds a chain for every object
//! that needs it, so a history scan would re-inflate the same bases over and over. Instead this
//! module reads each pack's index, lays its objects out as the delta forest they form, and walks
//! each tree depth first from its base: every object is inflated once and every delta applied
//! once, and a base is freed as soon as its last child is built. Trees are shared out to worker
//! threads, largest first.
//!
//! Only the objects the caller wants, and the bases they are built from, are read. This is an
//! accelerator: anything it cannot read (loose objects, alternates, an unfamiliar or damaged
//! pack, a base stored elsewhere) is simply not delivered, and the caller reads it through
//! libgit2, which names the object if it is really broken.

use super::checked::Checked;
use super::Content;
use crate::lineage::{Copy, Kept, Lineage};
use flate2::{Decompress, FlushDecompress, Status};
use git2::Oid;
use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

const BLOB: u8 = 3;
pub(super) const OFS_DELTA: u8 = 6;
pub(super) const REF_DELTA: u8 = 7;
/// Marks an object with no base in this pack (a full object, or a delta we cannot resolve).
const NO_BASE: u32 = u32::MAX;
/// A type no git writes (0 and 5 are reserved), or a header that contradicts the pack.
const BROKEN: u8 = 0;
/// The first bytes of a version 2 pack index.
pub(super) const V2_INDEX: &[u8; 8] = b"\xfftOc\x00\x00\x00\x02";
/// zlib cannot expand a stream by more than about 1032 to 1.
const MAX_ZLIB_RATIO: u64 = 1032;
/// Buffers are never allocated larger than this up front on the word of a size field.
const MAX_PREALLOC: usize = 64 << 20;

/// What a walk hands each wanted object to: its slot, its content and lineage; it answers with
/// what it keeps of the object for the objects built from it.
trait Each: Fn(usize, Content, Lineage) -> Option<Kept> {}
impl<E: Fn(usize, Content, Lineage) -> Option<Kept>> Each for E {}

/// Reads every wanted blob found in `objects_dir/pack`. `want` maps an object id to the
/// caller's slot while the object is still wanted; `each` receives each slot once, on one of
/// `threads` worker threads. Packs are read one after another, so an object stored in two packs
/// is delivered from the first only if `want` forgets slots once they are delivered.
pub fn read_blobs<W, E>(objects_dir: &Path, want: W, max_bytes: u64, threads: usize, each: E)
where
    W: Fn(&Oid) -> Option<usize> + Sync,
    E: Fn(usize, Content) + Sync,
{
    for idx in pack_indexes(objects_dir) {
        let Some(mut layout) = Layout::read(&idx) else { continue };
        let ids = std::mem::take(&mut layout.ids);
        let pack = Pack::open(layout, |i| Oid::from_bytes(&ids[i]).ok().and_then(|id| want(&id)));
        drop(ids);
        if let Some(pack) = pack {
            pack.read(max_bytes, threads, &|slot, content, _| {
                each(slot, content);
                None
            });
        }
    }
}

/// Every blob of every pack in `objects_dir/pack`, read before anyone asked for it by the
/// threads that call `work`, which can join at any time. Blobs over the size limit, and
/// anything that cannot be read, are not delivered; an object stored in two packs may be
/// delivered twice.
pub struct EveryBlob {
    /// Each pack's plan, the ids of its blobs by slot, and the next delta tree to take.
    packs: Vec<(Pack, Vec<Oid>, AtomicUsize)>,
    max_bytes: u64,
}

impl EveryBlob {
    pub fn open(objects_dir: &Path, max_bytes: u64) -> EveryBlob {
        let mut packs = Vec::new();
        for idx in pack_indexes(objects_dir) {
            let Some(mut layout) = Layout::read(&idx) else { continue };
            let all_ids = std::mem::take(&mut layout.ids);
            // Every object is wanted; the plan keeps the blobs, whose slots then become their
            // places in `ids`.
            let Some(mut pack) = Pack::open(layout, Some) else { continue };
            let mut ids = Vec::with_capacity(pack.entries.len());
            for entry in &mut pack.entries {
                entry.slot = entry.slot.map(|position| {
                    ids.push(Oid::from_bytes(&all_ids[position]).expect("an id is 20 bytes"));
                    ids.len() - 1
                });
            }
            packs.push((pack, ids, AtomicUsize::new(0)));
        }
        EveryBlob { packs, max_bytes }
    }

    /// One worker: reads delta trees no other worker took until none is left, handing `each`
    /// every blob's id, content and lineage; what `each` answers is handed back with the blobs
    /// built from that one.
    pub fn work(&self, each: impl Fn(Oid, &[u8], Lineage) -> Option<Kept>) {
        for (pack, ids, next) in &self.packs {
            pack.work(next, self.max_bytes, &|slot, content, lineage| match content {
                Content::Bytes(bytes) => each(ids[slot], bytes, lineage),
                Content::TooLarge(_) => None,
            });
        }
    }
}

/// The children of each entry among those `counted`, as ranges into one list.
fn children_of(entries: &[Entry], counted: &[bool]) -> (Vec<u32>, Vec<u32>) {
    let mut child_start = vec![0u32; entries.len() + 1];
    for (n, entry) in entries.iter().enumerate() {
        if counted[n] && entry.base != NO_BASE {
            child_start[entry.base as usize + 1] += 1;
        }
    }
    for n in 0..entries.len() {
        child_start[n + 1] += child_start[n];
    }
    let mut fill = child_start.clone();
    let mut child_list = vec![0u32; child_start[entries.len()] as usize];
    for (n, entry) in entries.iter().enumerate() {
        if counted[n] && entry.base != NO_BASE {
            let at = &mut fill[entry.base as usize];
            child_list[*at as usize] = n as u32;
            *at += 1;
        }
    }
    (child_start, child_list)
}

/// One object of a pack, in offset order.
struct Entry {
    offset: u64,
    /// Where its zlib stream starts (after the header) and where the next object starts.
    data: u64,
    end: u64,
    /// Inflated size of the stream: the object, or the delta.
    size: u64,
    /// The object's type for a full object; the delta type otherwise.
    kind: u8,
    /// Index of the base entry for deltas whose base is in this pack.
    base: u32,
    /// The caller's slot, when the object is wanted.
    slot: Option<usize>,
}

struct Pack {
    path: PathBuf,
    entries: Vec<Entry>,
    /// Children of each entry that lead to a wanted object, as ranges into `child_list`.
    child_start: Vec<u32>,
    child_list: Vec<u32>,
    /// Full blobs with a wanted object in their tree, the heaviest tree first.
    roots: Vec<u32>,
}

/// A pack's index and object headers, read before anything is inflated.
struct Layout {
    path: PathBuf,
    /// Object ids in the index's (sorted) order.
    ids: Vec<[u8; 20]>,
    /// Objects in offset order.
    entries: Vec<Entry>,
    /// For each entry, its position in `ids`.
    order: Vec<u32>,
}

impl Layout {
    /// Reads the index and every object header. `None` if the pack is not one this reader knows;
    /// objects whose header makes no sense (a reserved type, an offset base that is not the start
    /// of an object, a size no zlib stream of that length can hold) are kept, of kind `BROKEN`.
    fn read(idx_path: &Path) -> Option<Layout> {
        let path = idx_path.with_extension("pack");
        let index = std::fs::read(idx_path).ok()?;
        let (ids, offsets) = parse_index(&index)?;
        let mut order: Vec<u32> = (0..ids.len() as u32).collect();
        order.sort_unstable_by_key(|&i| offsets[i as usize]);

        let file = File::open(&path).ok()?;
        let pack_len = file.metadata().ok()?.len();
        let mut pack = Headers { file: &file, len: pack_len, start: 0, map: None };
        let head = pack.get(0, 12)?;
        let count = u32::from_be_bytes(head[8..12].try_into().ok()?) as usize;
        if &head[..4] != b"PACK" || !matches!(head[7], 2 | 3) || head[4..7] != [0; 3] || count != ids.len() {
            return None;
        }
        let mut position = 12u64;
        let mut entries: Vec<Entry> = Vec::with_capacity(count);
        let mut ref_bases = Vec::new();
        for (n, &i) in order.iter().enumerate() {
            let offset = offsets[i as usize];
            let end = order.get(n + 1).map_or(pack_len.checked_sub(20)?, |&j| offsets[j as usize]);
            if offset < position || end <= offset {
                return None;
            }
            let mut reader = pack.get(offset, end.min(offset + MAX_HEADER))?;
            let (mut kind, size, header) = read_header(&mut reader)?;
            let mut base = NO_BASE;
            let mut header_len = header;
            match kind {
                OFS_DELTA => {
                    let (distance, len) = read_offset(&mut reader)?;
                    header_len += len;
                    let found = offset
                        .checked_sub(distance)
                        .and_then(|target| entries.binary_search_by_key(&target, |e: &Entry| e.offset).ok());
                    match found {
                        Some(found) => base = found as u32,
                        None => kind = BROKEN,
                    }
                }
                REF_DELTA => {
                    let mut id = [0u8; 20];
                    reader.read_exact(&mut id).ok()?;
                    header_len += 20;
                    ref_bases.push((entries.len(), id));
                }
                1..=4 => {}
                _ => kind = BROKEN,
            }
            position = offset + header_len;
            let data = position;
            if data > end {
                return None;
            }
            if size > (end - data).saturating_mul(MAX_ZLIB_RATIO).saturating_add(64) {
                kind = BROKEN;
            }
            entries.push(Entry { offset, data, end, size, kind, base, slot: None });
        }
        if !ref_bases.is_empty() {
            // The index lists ids in sorted order; `order` maps entries back to that order.
            let mut entry_of = vec![0u32; count];
            for (n, &i) in order.iter().enumerate() {
                entry_of[i as usize] = n as u32;
            }
            for (entry, id) in ref_bases {
                if let Ok(i) = ids.binary_search(&id) {
                    entries[entry].base = entry_of[i];
                }
            }
        }
        Some(Layout { path, ids, entries, order })
    }

    /// The first object whose delta chain never reaches a readable full object in this pack:
    /// it loops, or ends at a broken entry. A delta whose base is named by id and stored
    /// elsewhere is fine (git reports it missing). Each entry is settled once.
    fn hazard(&self) -> Option<Hazard> {
        const UNKNOWN: u8 = 0;
        const VISITING: u8 = 1;
        const FINE: u8 = 2;
        const BAD: u8 = 3;
        let mut state = vec![UNKNOWN; self.entries.len()];
        let mut chain = Vec::new();
        for start in 0..self.entries.len() {
            let mut at = start;
            let verdict = loop {
                match state[at] {
                    FINE => break FINE,
                    BAD | VISITING => break BAD,
                    _ => {}
                }
                state[at] = VISITING;
                chain.push(at);
                let entry = &self.entries[at];
                if entry.kind == BROKEN {
                    break BAD;
                }
                if entry.base == NO_BASE {
                    break FINE;
                }
                at = entry.base as usize;
            };
            for &n in &chain {
                state[n] = verdict;
            }
            chain.clear();
            if verdict == BAD {
                let id = Oid::from_bytes(&self.ids[self.order[start] as usize]).ok()?;
                return Some(Hazard { pack: self.path.clone(), object: Some(id) });
            }
        }
        None
    }
}

/// An object that git's own reader must never be asked for: reading it would loop forever or
/// trip over a header no git writes.
#[derive(Debug)]
pub struct Hazard {
    pub pack: PathBuf,
    /// The object, when the pack could be laid out; `None` when its index or headers are damaged.
    pub object: Option<Oid>,
}

/// Why a repository's objects cannot be read safely.
#[derive(Debug)]
pub enum Unsafe {
    Pack(Hazard),
    /// A file libgit2 opens to find objects (an `info/alternates`, a pack, its index, the
    /// multi-pack index) that is not a regular file it can read: libgit2 opens a FIFO there and
    /// waits for a writer forever.
    File {
        file: PathBuf,
        message: String,
    },
}

/// Checks every pack of `objects_dir` and of its alternates before libgit2 reads any object
/// (but those `checked` remembers, unchanged since they passed), and that the files libgit2
/// opens to find objects are regular files.
pub fn check(objects_dir: &Path, checked: &mut Checked) -> Result<(), Unsafe> {
    for dir in object_dirs(objects_dir)? {
        regular_or_absent(&dir.join("pack/multi-pack-index"))?;
        for idx in pack_indexes(&dir) {
            regular_or_absent(&idx)?;
            regular_or_absent(&idx.with_extension("pack"))?;
            let key = Checked::key(&idx);
            if key.as_deref().is_some_and(|key| checked.contains(key)) {
                continue;
            }
            match Layout::read(&idx) {
                Some(layout) => {
                    layout.hazard().map_or(Ok(()), |hazard| Err(Unsafe::Pack(hazard)))?;
                    if let Some(key) = key {
                        checked.remember(key);
                    }
                }
                // An index of the version this reader knows whose pack cannot be laid out is
                // damaged; another version (or hash) is left to libgit2.
                None if is_v2_index(&idx) => {
                    return Err(Unsafe::Pack(Hazard { pack: idx.with_extension("pack"), object: None }))
                }
                None => {}
            }
        }
    }
    Ok(())
}

/// `Err` naming `file` if it is there (symlinks followed) and not a regular file.
fn regular_or_absent(file: &Path) -> Result<(), Unsafe> {
    match std::fs::metadata(file) {
        Ok(metadata) if !metadata.is_file() => {
            Err(Unsafe::File { file: file.to_path_buf(), message: "not a regular file".into() })
        }
        _ => Ok(()),
    }
}

/// `objects_dir` and the alternates it names, as git follows them (at most 5 deep). An
/// alternates file there that cannot be read is refused (a FIFO would block libgit2).
fn object_dirs(objects_dir: &Path) -> Result<Vec<PathBuf>, Unsafe> {
    let mut dirs = vec![objects_dir.to_path_buf()];
    let mut next = 0;
    while next < dirs.len() && dirs.len() < 64 {
        let dir = dirs[next].clone();
        next += 1;
        let file = dir.join("info/alternates");
        match std::fs::symlink_metadata(&file) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(Unsafe::File { file, message: e.to_string() }),
            Ok(_) => {}
        }
        let text = crate::textfile::read(&file, 1 << 16).map_err(|e| Unsafe::File {
            file: file.clone(),
            message: match e {
                crate::error::Error::Config { message, .. } => message,
                other => other.to_string(),
            },
        })?;
        for line in text.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with('#')) {
            let alternate = dir.join(line);
            if !dirs.contains(&alternate) && next <= 5 {
                dirs.push(alternate);
            }
        }
    }
    Ok(dirs)
}

fn is_v2_index(idx: &Path) -> bool {
    let mut head = [0u8; 8];
    File::open(idx).and_then(|mut f| f.read_exact(&mut head)).is_ok() && &head == V2_INDEX
}

/// How many objects the packs in `objects_dir/pack` hold, from their indexes' headers (an index
/// that cannot be read counts none).
pub fn object_count(objects_dir: &Path) -> u64 {
    let count = |idx: &Path| -> Option<u64> {
        std::fs::symlink_metadata(idx).ok().filter(|m| m.is_file())?;
        let mut header = [0u8; INDEX_IDS];
        File::open(idx).ok()?.read_exact(&mut header).ok()?;
        (header[..8] == *V2_INDEX)
            .then(|| u64::from(u32::from_be_bytes(header[8 + 255 * 4..].try_into().unwrap())))
    };
    pack_indexes(objects_dir).iter().filter_map(|idx| count(idx)).sum()
}

pub(super) fn pack_indexes(objects_dir: &Path) -> Vec<PathBuf> {
    let Ok(dir) = std::fs::read_dir(objects_dir.join("pack")) else { return Vec::new() };
    let mut packs: Vec<PathBuf> = dir
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|path| path.extension().is_some_and(|ext| ext == "idx"))
        .collect();
    packs.sort();
    packs
}

impl Pack {
    /// The pack `layout` describes, with the objects `want` gives a slot (`want` gets each
    /// object's position in the index). `None` if nothing in it is wanted.
    fn open(layout: Layout, want: impl Fn(usize) -> Option<usize>) -> Option<Pack> {
        let Layout { path, mut entries, order, .. } = layout;
        for (entry, &i) in entries.iter_mut().zip(&order) {
            entry.slot = want(i as usize);
        }
        Pack::plan(path, entries)
    }

    /// Keeps the entries on the way from each wanted blob to its base, and orders the trees to
    /// walk. Commits, trees and unwanted delta trees are dropped: a history's pack is mostly
    /// those, and the plan is held while the whole pack is read.
    fn plan(path: PathBuf, entries: Vec<Entry>) -> Option<Pack> {
        let mut needed = vec![false; entries.len()];
        for (n, entry) in entries.iter().enumerate() {
            if entry.slot.is_none() {
                continue;
            }
            let mut at = n as u32;
            while at != NO_BASE && !needed[at as usize] {
                needed[at as usize] = true;
                at = entries[at as usize].base;
            }
        }
        let (child_start, child_list) = children_of(&entries, &needed);
        // What a walk from a full blob reaches: other roots (a wanted tree or commit) are not read.
        let mut keep = vec![false; entries.len()];
        let mut stack: Vec<u32> = (0..entries.len() as u32)
            .filter(|&n| needed[n as usize] && entries[n as usize].kind == BLOB)
            .collect();
        while let Some(n) = stack.pop() {
            keep[n as usize] = true;
            stack.extend(&child_list[child_start[n as usize] as usize..child_start[n as usize + 1] as usize]);
        }
        let mut new_index = vec![NO_BASE; entries.len()];
        let mut kept: Vec<Entry> = Vec::with_capacity(keep.iter().filter(|&&k| k).count());
        for (n, entry) in entries.into_iter().enumerate() {
            if keep[n] {
                new_index[n] = kept.len() as u32;
                kept.push(entry);
            }
        }
        for entry in &mut kept {
            if entry.base != NO_BASE {
                entry.base = new_index[entry.base as usize];
            }
        }
        let entries = kept;
        let (child_start, child_list) = children_of(&entries, &vec![true; entries.len()]);
        let mut weight: Vec<u64> = entries.iter().map(|e| e.size).collect();
        for n in (0..entries.len()).rev() {
            let base = entries[n].base;
            if base != NO_BASE {
                weight[base as usize] += weight[n];
            }
        }
        let mut roots: Vec<u32> =
            (0..entries.len() as u32).filter(|&n| entries[n as usize].base == NO_BASE).collect();
        if roots.is_empty() {
            return None;
        }
        roots.sort_by_key(|&n| std::cmp::Reverse(weight[n as usize]));
        Some(Pack { path, entries, child_start, child_list, roots })
    }

    fn children(&self, n: u32) -> &[u32] {
        &self.child_list[self.child_start[n as usize] as usize..self.child_start[n as usize + 1] as usize]
    }

    /// Walks the trees on `threads` workers, each with its own file handle, taking the next tree
    /// from a shared counter.
    fn read<E: Each + Sync>(&self, max_bytes: u64, threads: usize, each: &E) {
        let next = AtomicUsize::new(0);
        std::thread::scope(|scope| {
            for _ in 0..threads.max(1) {
                scope.spawn(|| self.work(&next, max_bytes, each));
            }
        });
    }

    /// One worker with its own file handle: walks the trees whose index `next` hands out.
    fn work<E: Each>(&self, next: &AtomicUsize, max_bytes: u64, each: &E) {
        let Ok(file) = File::open(&self.path) else { return };
        let mut worker = Worker {
            file,
            compressed: Vec::new(),
            whole: libdeflater::Decompressor::new(),
            inflater: Decompress::new(true),
        };
        while let Some(&root) = self.roots.get(next.fetch_add(1, Ordering::Relaxed)) {
            // An object that cannot be read is left to the caller's fallback, and so is what
            // remains of its tree.
            let _ = self.walk(root, &mut worker, max_bytes, each);
        }
    }

    /// Builds every needed object of one delta tree, depth first, delivering the wanted ones.
    /// Each is delivered with its lineage: the pieces it copied from its base, and what `each`
    /// kept of that base.
    fn walk<E: Each>(&self, root: u32, worker: &mut Worker, max_bytes: u64, each: &E) -> Option<()> {
        let entry = &self.entries[root as usize];
        let children = self.children(root);
        if children.is_empty() && entry.size > max_bytes {
            self.deliver_too_large(root, entry.size, each);
            return Some(());
        }
        let bytes = worker.inflate(entry)?;
        let kept = self.deliver(
            root,
            &bytes,
            max_bytes,
            Lineage { base: None, is_base: !children.is_empty() },
            each,
        );
        let mut stack = vec![(bytes, children, 0usize, kept)];
        let mut copies = Vec::new();
        while let Some((base, children, next, kept)) = stack.last_mut() {
            let Some(&child) = children.get(*next) else {
                stack.pop();
                continue;
            };
            *next += 1;
            let last = *next == children.len();
            let entry = &self.entries[child as usize];
            let delta = worker.inflate(entry)?;
            let grandchildren = self.children(child);
            let target = delta_target_size(&delta)?;
            if grandchildren.is_empty() && target > max_bytes {
                self.deliver_too_large(child, target, each);
                continue;
            }
            let bytes = apply_delta(base, &delta, &mut copies)?;
            crate::lineage::long_pieces(&mut copies);
            let lineage = Lineage {
                base: kept.as_ref().map(|kept| (kept, copies.as_slice())),
                is_base: !grandchildren.is_empty(),
            };
            let child_kept = self.deliver(child, &bytes, max_bytes, lineage, each);
            if last {
                stack.pop();
            }
            if !grandchildren.is_empty() {
                stack.push((bytes, grandchildren, 0, child_kept));
            }
        }
        Some(())
    }

    fn deliver<E: Each>(
        &self,
        n: u32,
        bytes: &[u8],
        max_bytes: u64,
        lineage: Lineage,
        each: &E,
    ) -> Option<Kept> {
        let size = bytes.len() as u64;
        if size > max_bytes {
            self.deliver_too_large(n, size, each);
            None
        } else {
            each(self.entries[n as usize].slot?, Content::Bytes(bytes), lineage)
        }
    }

    fn deliver_too_large<E: Each>(&self, n: u32, size: u64, each: &E) {
        if let Some(slot) = self.entries[n as usize].slot {
            each(slot, Content::TooLarge(size), Lineage::default());
        }
    }
}

/// The longest an object's header can be: type and size, then a base's offset or id.
const MAX_HEADER: u64 = 64;
/// How much of a pack is mapped at once while its headers are read.
const HEADER_WINDOW: u64 = 4 << 20;

/// A pack's bytes through a window mapped over it and moved forward as headers are read in
/// offset order: a check of a large pack touches only the pages its headers are on, without
/// copying the file or holding all of it mapped at once.
struct Headers<'f> {
    file: &'f File,
    len: u64,
    /// Where the mapped window starts (a multiple of 64 KiB, as mapping offsets must be).
    start: u64,
    map: Option<memmap2::Mmap>,
}

impl Headers<'_> {
    /// Bytes `from..to` of the pack (`to - from` at most `MAX_HEADER`).
    fn get(&mut self, from: u64, to: u64) -> Option<&[u8]> {
        if to > self.len || from > to {
            return None;
        }
        let mapped_to = self.start + self.map.as_ref().map_or(0, |m| m.len() as u64);
        if self.map.is_none() || from < self.start || to > mapped_to {
            let start = from & !0xffff;
            let len = HEADER_WINDOW.min(self.len - start);
            // SAFETY: git never rewrites a pack in place (it writes a new one and renames it);
            // were one truncated under us, reading it would fault, not return wrong bytes.
            let map = unsafe { memmap2::MmapOptions::new().offset(start).len(len as usize).map(self.file) };
            self.map = Some(map.ok()?);
            self.start = start;
        }
        let map = self.map.as_ref()?;
        map.get((from - self.start) as usize..(to - self.start) as usize)
    }
}

/// One worker's file handle and buffers.
struct Worker {
    file: File,
    compressed: Vec<u8>,
    /// Inflates a stream of a known size up to `MAX_PREALLOC` in one call.
    whole: libdeflater::Decompressor,
    /// Inflates a larger one as it comes (a size field is not trusted with a larger buffer).
    inflater: Decompress,
}

impl Worker {
    /// The inflated stream of one entry, checked against the size its header gives.
    fn inflate(&mut self, entry: &Entry) -> Option<Vec<u8>> {
        let len = usize::try_from(entry.end - entry.data).ok()?;
        self.compressed.resize(len, 0);
        self.file.seek(SeekFrom::Start(entry.data)).ok()?;
        self.file.read_exact(&mut self.compressed).ok()?;
        let size = usize::try_from(entry.size).ok()?;
        if size <= MAX_PREALLOC {
            return inflate_whole(&mut self.whole, &self.compressed, size);
        }
        let mut out = Vec::with_capacity(size.min(MAX_PREALLOC));
        self.inflater.reset(true);
        loop {
            if out.len() == out.capacity() {
                out.reserve((size - out.len()).clamp(1, MAX_PREALLOC));
            }
            let consumed = self.inflater.total_in() as usize;
            match self.inflater.decompress_vec(
                &self.compressed[consumed..],
                &mut out,
                FlushDecompress::Finish,
            ) {
                Ok(Status::StreamEnd) => break,
                Ok(Status::Ok) if out.len() <= size => {}
                _ => return None,
            }
        }
        (out.len() == size).then_some(out)
    }
}

/// A zlib stream of `size` bytes inflated in one call (`size` at most `MAX_PREALLOC`); `None`
/// unless it inflates to exactly that. Bytes after the stream are left alone.
pub(super) fn inflate_whole(
    inflater: &mut libdeflater::Decompressor,
    stream: &[u8],
    size: usize,
) -> Option<Vec<u8>> {
    if size > MAX_PREALLOC {
        return None;
    }
    let mut out = vec![0; size];
    (inflater.zlib_decompress(stream, &mut out) == Ok(size)).then_some(out)
}

/// Where a version 2 pack index's object ids start: after its header and fan-out table.
pub(super) const INDEX_IDS: usize = 8 + 256 * 4;

/// How many objects a version 2 pack index lists, if its header and its length agree.
pub(super) fn index_count(index: &[u8]) -> Option<usize> {
    if index.get(..8)? != V2_INDEX {
        return None;
    }
    let count = be32(index, 8 + 255 * 4)? as usize;
    // Ids, checksums and offsets, then 8 bytes per large offset, then two checksums.
    let rest = index.len().checked_sub(INDEX_IDS + count * 28 + 40)?;
    (rest % 8 == 0).then_some(count)
}

/// The offset in the pack of the `n`th object of an index listing `count` (`index_count`).
pub(super) fn index_offset(index: &[u8], count: usize, n: usize) -> Option<u64> {
    let offsets_at = INDEX_IDS + count * 24;
    let offset = be32(index, offsets_at + n * 4)?;
    if offset & 0x8000_0000 == 0 {
        return Some(u64::from(offset));
    }
    let at = offsets_at + count * 4 + (offset & 0x7fff_ffff) as usize * 8;
    Some(u64::from_be_bytes(index.get(at..at + 8)?.try_into().ok()?))
}

pub(super) fn be32(bytes: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_be_bytes(bytes.get(at..at + 4)?.try_into().ok()?))
}

/// Parses a version 2 pack index: the object ids and their offsets in the pack.
fn parse_index(index: &[u8]) -> Option<(Vec<[u8; 20]>, Vec<u64>)> {
    let count = index_count(index)?;
    let ids =
        index[INDEX_IDS..INDEX_IDS + count * 20].chunks_exact(20).map(|id| id.try_into().unwrap()).collect();
    let mut offsets = Vec::with_capacity(count);
    for n in 0..count {
        offsets.push(index_offset(index, count, n)?);
    }
    Some((ids, offsets))
}

fn read_byte(reader: &mut impl Read) -> Option<u8> {
    let mut byte = [0u8];
    reader.read_exact(&mut byte).ok()?;
    Some(byte[0])
}

/// An entry header: type, inflated size, and the header's length in bytes.
pub(super) fn read_header(reader: &mut impl Read) -> Option<(u8, u64, u64)> {
    let mut byte = read_byte(reader)?;
    let kind = (byte >> 4) & 7;
    let mut size = u64::from(byte & 0x0f);
    let mut shift = 4;
    let mut len = 1;
    while byte & 0x80 != 0 {
        byte = read_byte(reader)?;
        size |= u64::from(byte & 0x7f).checked_shl(shift).filter(|_| shift < 64)?;
        shift += 7;
        len += 1;
    }
    Some((kind, size, len))
}

/// The distance back to an offset delta's base, and how many bytes encoded it.
pub(super) fn read_offset(reader: &mut impl Read) -> Option<(u64, u64)> {
    let mut byte = read_byte(reader)?;
    let mut distance = u64::from(byte & 0x7f);
    let mut len = 1;
    while byte & 0x80 != 0 {
        byte = read_byte(reader)?;
        distance = distance.checked_add(1)?.checked_mul(128)? | u64::from(byte & 0x7f);
        len += 1;
    }
    Some((distance, len))
}

/// A little-endian base-128 size at the start of `delta[*at..]`.
fn delta_size(delta: &[u8], at: &mut usize) -> Option<u64> {
    let mut size = 0u64;
    let mut shift = 0;
    loop {
        let byte = *delta.get(*at)?;
        *at += 1;
        size |= u64::from(byte & 0x7f).checked_shl(shift).filter(|_| shift < 64)?;
        shift += 7;
        if byte & 0x80 == 0 {
            return Some(size);
        }
    }
}

pub(super) fn delta_target_size(delta: &[u8]) -> Option<u64> {
    let mut at = 0;
    delta_size(delta, &mut at)?;
    delta_size(delta, &mut at)
}

/// Builds an object from its base and a delta: copy instructions take a range of the base,
/// insert instructions carry literal bytes. Sizes are checked against the delta's header. The
/// copied pieces are recorded in `copies`, those that continue each other as one.
pub(super) fn apply_delta(base: &[u8], delta: &[u8], copies: &mut Vec<Copy>) -> Option<Vec<u8>> {
    copies.clear();
    let mut at = 0;
    if delta_size(delta, &mut at)? != base.len() as u64 {
        return None;
    }
    let target = usize::try_from(delta_size(delta, &mut at)?).ok()?;
    let mut out = Vec::with_capacity(target.min(MAX_PREALLOC));
    while let Some(&op) = delta.get(at) {
        at += 1;
        let piece = if op & 0x80 != 0 {
            let mut field = |bits: u8, bytes: usize| -> Option<usize> {
                let mut value = 0usize;
                for i in 0..bytes {
                    if bits & (1 << i) != 0 {
                        value |= usize::from(*delta.get(at)?) << (8 * i);
                        at += 1;
                    }
                }
                Some(value)
            };
            let offset = field(op & 0x0f, 4)?;
            let size = match field(op >> 4 & 0x07, 3)? {
                0 => 0x10000,
                size => size,
            };
            let piece = base.get(offset..offset.checked_add(size)?)?;
            match copies.last_mut() {
                Some(last) if last.to + last.len == out.len() && last.from + last.len == offset => {
                    last.len += size;
                }
                _ => copies.push(Copy { to: out.len(), from: offset, len: size }),
            }
            piece
        } else if op != 0 {
            let piece = delta.get(at..at + usize::from(op))?;
            at += usize::from(op);
            piece
        } else {
            return None;
        };
        if out.len() + piece.len() > target {
            return None;
        }
        out.extend_from_slice(piece);
    }
    (out.len() == target).then_some(out)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::super::test_git as git;
    use super::*;
    use crate::lineage::Occurrences;

    #[test]
    fn delta_copies_and_inserts() {
        let base = b"hello, world";
        let mut copies = Vec::new();
        // Source 12 bytes, target 9: copy 0..5, insert "!!", copy 10..12.
        let delta = [12, 9, 0x90, 5, 2, b'!', b'!', 0x91, 10, 2];
        assert_eq!(apply_delta(base, &delta, &mut copies).as_deref(), Some(&b"hello!!ld"[..]));
        assert_eq!(copies, [Copy { to: 0, from: 0, len: 5 }, Copy { to: 7, from: 10, len: 2 }]);
        // Source 12, target 12: copy 0..3, copy 3..12 (one piece), copy 0..0x10000 refused.
        let delta = [12, 12, 0x90, 3, 0x91, 3, 9];
        assert_eq!(apply_delta(base, &delta, &mut copies).as_deref(), Some(&base[..]));
        assert_eq!(copies, [Copy { to: 0, from: 0, len: 12 }], "pieces that continue each other are one");
        let delta = [12, 6, 0x91, 6, 3, 0x90, 3];
        assert_eq!(apply_delta(base, &delta, &mut copies).as_deref(), Some(&b" wohel"[..]));
        assert_eq!(copies, [Copy { to: 0, from: 6, len: 3 }, Copy { to: 3, from: 0, len: 3 }]);
    }

    /// A stream is inflated whole in one call, whether it ends where the next object starts or
    /// other bytes follow it; and to nothing when its header's size is not the stream's.
    #[test]
    fn a_stream_inflates_to_the_size_its_header_gives() {
        use std::io::Write;
        let content: Vec<u8> =
            (0..50_000u32).flat_map(|i| format!("line {} {}\n", i, i % 7).into_bytes()).collect();
        let mut encoder = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
        encoder.write_all(&content).unwrap();
        let stream = encoder.finish().unwrap();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("stream");
        let file_with = |tail: &[u8]| {
            std::fs::write(&path, [b"head".as_slice(), &stream, tail].concat()).unwrap();
            File::open(&path).unwrap()
        };
        let inflate = |tail: &[u8], size: usize| {
            let file = file_with(tail);
            let mut worker = Worker {
                file,
                compressed: Vec::new(),
                whole: libdeflater::Decompressor::new(),
                inflater: Decompress::new(true),
            };
            let end = (4 + stream.len() + tail.len()) as u64;
            let entry =
                Entry { offset: 0, data: 4, end, size: size as u64, kind: BLOB, base: NO_BASE, slot: None };
            worker.inflate(&entry)
        };
        assert_eq!(inflate(b"", content.len()).as_deref(), Some(&content[..]));
        assert_eq!(inflate(b"PACK junk", content.len()).as_deref(), Some(&content[..]));
        for tail in [&b""[..], b"junk"] {
            assert_eq!(inflate(tail, content.len() - 1), None);
            assert_eq!(inflate(tail, content.len() + 1), None);
        }
    }

    #[test]
    fn delta_with_wrong_sizes_or_ranges_is_refused() {
        let base = b"hello, world";
        let apply_delta = |base: &[u8], delta: &[u8]| apply_delta(base, delta, &mut Vec::new());
        assert_eq!(apply_delta(base, &[11, 5, 0x90, 5]), None, "source size differs from the base");
        assert_eq!(apply_delta(base, &[12, 6, 0x90, 5]), None, "target shorter than the header says");
        assert_eq!(apply_delta(base, &[12, 5, 0x91, 10, 5]), None, "copy past the end of the base");
        assert_eq!(apply_delta(base, &[12, 1, 0]), None, "reserved instruction");
        assert_eq!(apply_delta(base, &[12, 3, 5, b'a']), None, "insert past the end of the delta");
    }

    /// A repository whose one pack holds long delta chains: a file edited in 60 commits, at
    /// the start, the middle and the end, so later versions are deltas on earlier ones. Bases
    /// are named by offset, or with `by_id` by object id (as older packs and some servers do).
    pub(crate) fn packed_repo(by_id: bool) -> tempfile::TempDir {
        let dir = tempfile::tempdir().expect("temp dir");
        git(dir.path(), &["init", "-q"]);
        let mut lines: Vec<String> =
            (0..4000).map(|n| format!("line {n}: some text that stays put\n")).collect();
        for commit in 0..60 {
            lines.insert(0, format!("head {commit}\n"));
            lines[2000] = format!("middle {commit}\n");
            lines.push(format!("tail {commit}\n"));
            std::fs::write(dir.path().join("notes.txt"), lines.concat()).unwrap();
            std::fs::write(dir.path().join(format!("small-{}.txt", commit % 7)), format!("v{commit}\n"))
                .unwrap();
            git(dir.path(), &["add", "-A"]);
            git(dir.path(), &["commit", "-q", "-m", &format!("c{commit}")]);
        }
        let offsets = format!("repack.useDeltaBaseOffset={}", !by_id);
        git(dir.path(), &["-c", &offsets, "repack", "-adfq", "--depth=50", "--window=50"]);
        dir
    }

    fn blob_ids(dir: &Path) -> Vec<Oid> {
        git(dir, &["cat-file", "--batch-all-objects", "--batch-check=%(objecttype) %(objectname)"])
            .lines()
            .filter_map(|line| line.strip_prefix("blob "))
            .map(|id| Oid::from_str(id).unwrap())
            .collect()
    }

    #[test]
    fn the_packs_object_count_is_their_indexes() {
        let dir = packed_repo(false);
        let all = git(dir.path(), &["cat-file", "--batch-all-objects", "--batch-check"]).lines().count();
        let objects = dir.path().join(".git/objects");
        assert_eq!(object_count(&objects), all as u64);
        std::fs::write(objects.join("pack/pack-0000.idx"), b"not an index").unwrap();
        assert_eq!(object_count(&objects), all as u64, "an index that cannot be read counts none");
    }

    #[test]
    fn every_blob_of_a_deltified_pack_reads_as_libgit2_reads_it() {
        every_blob_reads_as_libgit2_reads_it(false);
    }

    #[test]
    fn every_blob_of_a_pack_with_bases_named_by_id_reads_as_libgit2_reads_it() {
        every_blob_reads_as_libgit2_reads_it(true);
    }

    fn every_blob_reads_as_libgit2_reads_it(by_id: bool) {
        let dir = packed_repo(by_id);
        let ids = blob_ids(dir.path());
        let objects = dir.path().join(".git/objects");
        let idx = std::fs::read_dir(objects.join("pack"))
            .unwrap()
            .map(|e| e.unwrap().path())
            .find(|p| p.extension().is_some_and(|e| e == "idx"))
            .expect("one pack");
        let layout = Layout::read(&idx).expect("a pack this reader knows");
        let layout_ids = layout.ids.clone();
        let pack = Pack::open(layout, |i| ids.iter().position(|x| x.as_bytes() == layout_ids[i]))
            .expect("pack opens");
        let kind = if by_id { REF_DELTA } else { OFS_DELTA };
        let deltas = pack.entries.iter().filter(|e| e.kind == kind && e.base != NO_BASE).count();
        assert!(deltas >= 50, "the fixture has delta chains ({deltas} deltas)");

        let read: Vec<std::sync::Mutex<Vec<Vec<u8>>>> = ids.iter().map(|_| Default::default()).collect();
        read_blobs(
            &objects,
            |id| ids.iter().position(|x| x == id),
            u64::MAX,
            2,
            |slot, content| match content {
                Content::Bytes(bytes) => read[slot].lock().unwrap().push(bytes.to_vec()),
                Content::TooLarge(_) => panic!("no limit was set"),
            },
        );
        let repo = git2::Repository::open(dir.path()).unwrap();
        for (id, got) in ids.iter().zip(read) {
            let got = got.into_inner().unwrap();
            assert_eq!(got.len(), 1, "{id} delivered once");
            assert_eq!(got[0], repo.find_blob(*id).unwrap().content(), "{id} has libgit2's content");
        }
    }

    /// A blob a delta built comes with the pieces it copied, which lie inside its base and
    /// itself, and with what was answered for its base: here the base's id and length.
    #[test]
    fn a_blob_built_from_a_base_comes_with_the_pieces_copied_and_the_bases_answer() {
        let dir = packed_repo(false);
        let repo = git2::Repository::open(dir.path()).unwrap();
        let every = EveryBlob::open(&dir.path().join(".git/objects"), u64::MAX);
        let ids: std::sync::Mutex<Vec<Oid>> = Default::default();
        let built = std::sync::atomic::AtomicUsize::new(0);
        every.work(|id, bytes: &[u8], lineage: Lineage| {
            if let Some((answer, copies)) = lineage.base {
                let (mut base, mut base_len) = (0, 0);
                answer.occurrences.carried(
                    &[Copy { to: 0, from: 0, len: usize::MAX >> 17 }],
                    |_| 0,
                    |k, start| (base, base_len) = (k, start),
                );
                let base = repo.find_blob(ids.lock().unwrap()[base]).unwrap();
                assert_eq!(base.content().len(), base_len);
                for copy in copies {
                    assert_eq!(
                        bytes[copy.to..copy.to + copy.len],
                        base.content()[copy.from..copy.from + copy.len]
                    );
                }
                assert!(copies.windows(2).all(|w| w[0].to + w[0].len <= w[1].to), "in blob order");
                built.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            }
            let mut ids = ids.lock().unwrap();
            ids.push(id);
            lineage.is_base.then(|| Kept {
                occurrences: Occurrences::of(std::iter::once((ids.len() - 1, bytes.len()))),
                matches: Vec::new(),
            })
        });
        assert!(built.into_inner() >= 59, "each version of notes.txt is built from another");
    }

    #[test]
    fn every_blob_of_the_packs_is_delivered_once_by_id_without_being_asked_for() {
        let dir = packed_repo(false);
        let repo = git2::Repository::open(dir.path()).unwrap();
        let every = EveryBlob::open(&dir.path().join(".git/objects"), 1000);
        let read: std::sync::Mutex<Vec<(Oid, Vec<u8>)>> = Default::default();
        let each = |id, bytes: &[u8], _: Lineage| {
            read.lock().unwrap().push((id, bytes.to_vec()));
            None
        };
        // Two workers, one of them joining late, share the work.
        std::thread::scope(|scope| {
            scope.spawn(|| every.work(each));
            std::thread::sleep(std::time::Duration::from_millis(5));
            every.work(each);
        });
        let mut read = read.into_inner().unwrap();
        read.sort();
        let mut small: Vec<Oid> = blob_ids(dir.path())
            .into_iter()
            .filter(|id| repo.find_blob(*id).unwrap().content().len() <= 1000)
            .collect();
        small.sort();
        assert!(small.len() >= 50, "the fixture has small blobs ({})", small.len());
        assert_eq!(read.iter().map(|(id, _)| *id).collect::<Vec<_>>(), small, "each small blob, once");
        for (id, bytes) in read {
            assert_eq!(bytes, repo.find_blob(id).unwrap().content(), "{id} has libgit2's content");
        }
    }

    #[test]
    fn blobs_over_the_limit_are_reported_with_their_size_and_not_delivered() {
        let dir = packed_repo(false);
        let ids = blob_ids(dir.path());
        let repo = git2::Repository::open(dir.path()).unwrap();
        let large: std::sync::Mutex<Vec<(usize, u64)>> = Default::default();
        read_blobs(
            &dir.path().join(".git/objects"),
            |id| ids.iter().position(|x| x == id),
            1000,
            2,
            |slot, c| match c {
                Content::Bytes(bytes) => assert!(bytes.len() <= 1000),
                Content::TooLarge(size) => large.lock().unwrap().push((slot, size)),
            },
        );
        let large = large.into_inner().unwrap();
        assert_eq!(large.len(), 60, "every version of notes.txt is over 1000 bytes");
        for (slot, size) in large {
            assert_eq!(size, repo.find_blob(ids[slot]).unwrap().content().len() as u64);
        }
    }
}
