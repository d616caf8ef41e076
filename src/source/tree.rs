//! A git tree object as its bytes, read from the object database and checked as libgit2's
//! parser checks it. The history walk compares every tree a commit changed with its parents'
//! entry by entry; reading the entries from the bytes spares libgit2's parse (an allocation per
//! entry) and a call into libgit2 for each entry's name, id and kind. A tree read beside its
//! parent's version (`Tree::read` with `like`) takes the entries of their common start and end
//! from it, unparsed: on git/git, whose trees add up to 5.8 GB, most of a changed tree's
//! entries are its parent's, byte for byte.

use super::packed::Packed;
use git2::{ObjectType, Odb, Oid};
use std::cmp::Ordering;
use std::ops::Range;
use std::rc::Rc;

/// What an entry is, told by its mode as git tells it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// A file or a symbolic link.
    Blob,
    Tree,
    /// A submodule's commit, which lives in another repository.
    Commit,
}

/// One entry of a tree.
#[derive(Clone, Copy, Debug)]
pub struct Entry<'t> {
    pub name: &'t [u8],
    id: &'t [u8],
    pub kind: Kind,
}

impl Entry<'_> {
    pub fn id(&self) -> Oid {
        Oid::from_bytes(self.id).expect("a checked tree's ids are 20 bytes")
    }

    /// Whether it names the same object as `other`.
    pub fn same_object(&self, other: &Entry) -> bool {
        self.id == other.id
    }
}

/// Where an entry is in a tree's bytes: it starts at `start`, its name `name` bytes later
/// (after the mode and a space) and runs `len` bytes to a NUL, then 20 bytes of id.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Slot {
    start: u32,
    name: u32,
    len: u32,
    kind: Kind,
}

impl Slot {
    fn end(&self) -> usize {
        (self.start + self.name + self.len) as usize + 21
    }

    fn moved(&self, by: isize) -> Slot {
        Slot { start: (self.start as isize + by) as u32, ..*self }
    }
}

/// A tree's bytes (as the object database read them: not copied) and where its entries are,
/// every entry checked. Cheap to clone.
#[derive(Clone)]
pub struct Tree<'o> {
    id: Oid,
    inner: Rc<Inner<'o>>,
}

struct Inner<'o> {
    object: Bytes<'o>,
    slots: Vec<Slot>,
    /// Read beside this tree: the entries outside this range are its entries, byte for byte.
    beside: Option<(Oid, Range<usize>)>,
}

/// A tree's bytes: read from the packs by keyrot (`packed.rs`), or by libgit2.
enum Bytes<'o> {
    Packed(Rc<Vec<u8>>),
    Odb(git2::OdbObject<'o>),
}

impl Bytes<'_> {
    fn data(&self) -> &[u8] {
        match self {
            Bytes::Packed(bytes) => bytes,
            Bytes::Odb(object) => object.data(),
        }
    }
}

impl<'o> Tree<'o> {
    /// Reads tree `id`; an object of another kind, or a tree libgit2 would not parse, is an
    /// error. Beside `like` (its parent's version), the entries of their common start and end
    /// are taken from it: a run of bytes the two share from the start holds the same entries;
    /// at the end, only from where an entry of `like` starts too (a name may hold what looks
    /// like an entry, so bytes in common are not enough).
    /// The packs are asked first (`packed`), then libgit2 (`odb`).
    pub fn read(
        odb: &'o Odb,
        packed: Option<&Packed>,
        id: Oid,
        like: Option<&Tree>,
    ) -> Result<Tree<'o>, git2::Error> {
        let (kind, object) = match packed.and_then(|packed| packed.read(&id)) {
            Some((kind, bytes)) => (ObjectType::from_raw(i32::from(kind)), Bytes::Packed(bytes)),
            None => {
                let object = odb.read(id)?;
                (Some(object.kind()), Bytes::Odb(object))
            }
        };
        if kind != Some(ObjectType::Tree) {
            let kind = kind.map_or("object of an unknown type".to_string(), |kind| kind.to_string());
            return Err(git2::Error::from_str(&format!("object {id} is a {kind}, not a tree")));
        }
        let bytes = object.data();
        let problem = |problem: &str| git2::Error::from_str(&format!("failed to parse tree {id}: {problem}"));
        if u32::try_from(bytes.len()).is_err() {
            return Err(problem("larger than 4 GB"));
        }
        let mut slots = Vec::new();
        let mut at = 0;
        // Where the bytes in common at the end start, and how far `like`'s are from them.
        let mut end = (bytes.len(), 0);
        if let Some(like) = like {
            let old = &like.inner;
            let start = common_start(bytes, old.object.data());
            let tail = common_end(&bytes[start..], &old.object.data()[start..]);
            slots.extend(old.slots.iter().take_while(|slot| slot.end() <= start));
            at = slots.last().map_or(0, Slot::end);
            end = (bytes.len() - tail, old.object.data().len() as isize - bytes.len() as isize);
        }
        let first = slots.len();
        let mut changed = first..usize::MAX;
        while at < bytes.len() {
            if let (Some(like), true) = (like, at >= end.0) {
                let old = &like.inner.slots;
                let there = (at as isize + end.1) as u32;
                if let Ok(k) = old.binary_search_by_key(&there, |slot| slot.start) {
                    changed.end = slots.len();
                    slots.extend(old[k..].iter().map(|slot| slot.moved(-end.1)));
                    break;
                }
            }
            let slot = entry(bytes, at).map_err(problem)?;
            at = slot.end();
            slots.push(slot);
        }
        changed.end = changed.end.min(slots.len());
        let beside = like.map(|like| (like.id, changed));
        Ok(Tree { id, inner: Rc::new(Inner { object, slots, beside }) })
    }

    pub fn id(&self) -> Oid {
        self.id
    }

    /// How many entries it has.
    pub fn len(&self) -> usize {
        self.inner.slots.len()
    }

    /// The entries that may differ from `parent`'s, by index: those outside are its entries,
    /// if this tree was read beside it; else all.
    pub fn changed_from(&self, parent: &Tree) -> Range<usize> {
        match &self.inner.beside {
            Some((id, changed)) if *id == parent.id => changed.clone(),
            _ => 0..self.len(),
        }
    }

    /// The entry named `name` (a tree, if `is_tree`), reading on from index `at`, which is left
    /// past every entry before it in git's order. In a tree whose entries are out of order
    /// (git never writes one) an entry may not be found: its content is then taken as new, and
    /// scanned.
    pub fn find_from(&self, at: &mut usize, name: &[u8], is_tree: bool) -> Option<Entry<'_>> {
        while *at < self.len() {
            let entry = self.entry(*at);
            match git_order(entry.name, entry.kind == Kind::Tree, name, is_tree) {
                Ordering::Less => *at += 1,
                Ordering::Equal => {
                    *at += 1;
                    return Some(entry);
                }
                Ordering::Greater => return None,
            }
        }
        None
    }

    pub fn entry(&self, i: usize) -> Entry<'_> {
        let slot = self.inner.slots[i];
        let name = (slot.start + slot.name) as usize;
        let (name, id) = self.inner.object.data()[name..].split_at(slot.len as usize);
        Entry { name, id: &id[1..21], kind: slot.kind }
    }
}

/// Git's order of tree entries: by name, a tree's as if it ended in `/`.
pub fn git_order(a: &[u8], a_is_tree: bool, b: &[u8], b_is_tree: bool) -> Ordering {
    let common = a.len().min(b.len());
    let after = |name: &[u8], is_tree: bool| name.get(common).copied().or(is_tree.then_some(b'/'));
    a[..common].cmp(&b[..common]).then_with(|| after(a, a_is_tree).cmp(&after(b, b_is_tree)))
}

/// How many bytes `a` and `b` have in common from the start.
fn common_start(a: &[u8], b: &[u8]) -> usize {
    let (chunks_a, chunks_b) = (a.chunks_exact(32), b.chunks_exact(32));
    let whole = chunks_a.zip(chunks_b).take_while(|(x, y)| x == y).count() * 32;
    whole + a[whole..].iter().zip(&b[whole..]).take_while(|(x, y)| x == y).count()
}

/// How many bytes `a` and `b` have in common at the end.
fn common_end(a: &[u8], b: &[u8]) -> usize {
    let (chunks_a, chunks_b) = (a.rchunks_exact(32), b.rchunks_exact(32));
    let whole = chunks_a.zip(chunks_b).take_while(|(x, y)| x == y).count() * 32;
    let (a, b) = (&a[..a.len() - whole], &b[..b.len() - whole]);
    whole + a.iter().rev().zip(b.iter().rev()).take_while(|(x, y)| x == y).count()
}

/// The entry at `at` in `bytes` (`MODE SP NAME NUL ID`, the mode in octal, at most 16 bits as
/// libgit2 reads it, the id 20 bytes), or what is wrong with it.
fn entry(bytes: &[u8], at: usize) -> Result<Slot, &'static str> {
    let rest = &bytes[at..];
    let space = rest.iter().position(|&b| b == b' ').ok_or("no space after a file mode")?;
    let digits = &rest[..space];
    let mode = digits.iter().try_fold(0u32, |mode, &d| {
        let mode = mode * 8 + u32::from(d.checked_sub(b'0').filter(|&d| d < 8)?);
        (mode <= 0xffff).then_some(mode)
    });
    let mode = mode.filter(|_| !digits.is_empty()).ok_or("cannot parse a file mode")?;
    let name = space + 1;
    let len = memchr::memchr(0, &rest[name..]).ok_or("an entry's name does not end")?;
    if len == 0 {
        return Err("an entry has no name");
    }
    if rest.len() < name + len + 21 {
        return Err("an entry's id is cut short");
    }
    let kind = match mode & 0o170000 {
        0o040000 => Kind::Tree,
        0o160000 => Kind::Commit,
        _ => Kind::Blob,
    };
    // The tree is less than 4 GB long (checked when read).
    Ok(Slot { start: at as u32, name: name as u32, len: len as u32, kind })
}

#[cfg(test)]
mod tests {
    use super::*;
    use git2::Repository;

    /// Names that sort differently as trees and as files (`a` before `a-b` as a file, after it
    /// as a tree), upper case, bytes past ASCII: libgit2 writes them in git's order, and each
    /// is found by reading on from the entry before it, in one pass, as a file or as a tree.
    /// Each entry reads as libgit2 reads it: name, id and kind.
    #[test]
    fn entries_read_as_libgit2_reads_them_and_are_found_in_gits_order() {
        let dir = tempfile::tempdir().unwrap();
        let repo = Repository::init(dir.path()).unwrap();
        let blob = repo.blob(b"x").unwrap();
        let mut sub = repo.treebuilder(None).unwrap();
        sub.insert("f", blob, 0o100644).unwrap();
        let sub = sub.write().unwrap();
        let mut builder = repo.treebuilder(None).unwrap();
        for name in ["a.c", "a-b", "a0", "ab", "A", "\u{e9}", "b", "b.c", "c"] {
            builder.insert(name, blob, 0o100644).unwrap();
        }
        builder.insert("run.sh", blob, 0o100755).unwrap();
        builder.insert("link", blob, 0o120000).unwrap();
        builder.insert("module", repo.blob(b"y").unwrap(), 0o160000).unwrap();
        for name in ["a", "b0", "b-"] {
            builder.insert(name, sub, 0o040000).unwrap();
        }
        let id = builder.write().unwrap();
        let odb = repo.odb().unwrap();
        let tree = Tree::read(&odb, None, id, None).unwrap();
        let theirs: Vec<(Vec<u8>, Oid, Option<ObjectType>)> =
            repo.find_tree(id).unwrap().iter().map(|e| (e.name_bytes().to_vec(), e.id(), e.kind())).collect();
        let kind = |kind: Kind| match kind {
            Kind::Blob => ObjectType::Blob,
            Kind::Tree => ObjectType::Tree,
            Kind::Commit => ObjectType::Commit,
        };
        let ours: Vec<(Vec<u8>, Oid, Option<ObjectType>)> = (0..tree.len())
            .map(|i| tree.entry(i))
            .map(|e| (e.name.to_vec(), e.id(), Some(kind(e.kind))))
            .collect();
        assert_eq!(ours, theirs);
        for pair in ours.windows(2) {
            let ((a, _, a_kind), (b, _, b_kind)) = (&pair[0], &pair[1]);
            let (a_tree, b_tree) = (*a_kind == Some(ObjectType::Tree), *b_kind == Some(ObjectType::Tree));
            assert_eq!(git_order(a, a_tree, b, b_tree), Ordering::Less, "{pair:?}");
        }
        let mut at = 0;
        for entry in (0..tree.len()).map(|i| tree.entry(i)) {
            let is_tree = entry.kind == Kind::Tree;
            let found = tree.find_from(&mut at, entry.name, is_tree).expect("found reading on");
            assert_eq!(found.name, entry.name);
            let alone = tree.find_from(&mut 0, entry.name, is_tree).expect("found from the start");
            assert!(alone.same_object(&found));
            assert!(tree.find_from(&mut 0, entry.name, !is_tree).is_none(), "not as the other kind");
        }
    }

    fn listed(tree: &Tree, range: Range<usize>) -> Vec<(Vec<u8>, Oid, Kind)> {
        range.map(|i| tree.entry(i)).map(|e| (e.name.to_vec(), e.id(), e.kind)).collect()
    }

    /// A tree read beside its parent's version has the entries it has read alone, and those
    /// outside the range it says may differ are the parent's, from the start and from the end.
    /// Random trees changed a few entries at a time, with names and ids from a few bytes, so
    /// that runs of bytes in common are long, and names that hold a mode and a space.
    #[test]
    fn a_tree_read_beside_its_parent_has_the_entries_it_has_alone() {
        let dir = tempfile::tempdir().unwrap();
        let repo = Repository::init(dir.path()).unwrap();
        let odb = repo.odb().unwrap();
        let mut next = crate::random::below(0x9e37_79b9_7f4a_7c15);
        let modes = ["100644", "100755", "120000", "40000", "160000"];
        let names = ["a", "b", "0 b", "100644 b", "c", "cc", "d e"];
        let write = |entries: &[(usize, usize, u8)]| {
            let bytes: Vec<u8> = entries
                .iter()
                .flat_map(|&(name, mode, id)| {
                    [format!("{} {}\0", modes[mode], names[name]).into_bytes(), vec![id; 20]]
                })
                .flatten()
                .collect();
            let id = odb.write(ObjectType::Tree, &bytes).unwrap();
            (Tree::read(&odb, None, id, None).unwrap(), id)
        };
        let mut beside_some = 0;
        for _ in 0..500 {
            let mut entries: Vec<(usize, usize, u8)> =
                (0..next(8)).map(|_| (next(names.len()), next(modes.len()), b'0' + next(3) as u8)).collect();
            let (parent, _) = write(&entries);
            for _ in 0..=next(2) {
                match (next(3), entries.len()) {
                    (0, n) if n > 0 => entries[next(n)].2 = b' ',
                    (1, n) if n > 0 => drop(entries.remove(next(n))),
                    (_, n) => entries.insert(next(n + 1), (next(names.len()), next(modes.len()), b'0')),
                }
            }
            let (alone, id) = write(&entries);
            let beside = Tree::read(&odb, None, id, Some(&parent)).unwrap();
            assert_eq!(listed(&beside, 0..beside.len()), listed(&alone, 0..alone.len()));
            let changed = beside.changed_from(&parent);
            let shift = parent.len() as isize - beside.len() as isize;
            assert_eq!(listed(&beside, 0..changed.start), listed(&parent, 0..changed.start));
            let end = (changed.end as isize + shift) as usize..parent.len();
            assert_eq!(listed(&beside, changed.end..beside.len()), listed(&parent, end));
            beside_some += usize::from(changed.len() < beside.len());
        }
        assert!(beside_some > 100, "the trees had entries in common: {beside_some}");
    }

    /// A submodule's name whose bytes end as the child's entry `m` does: `m` is read.
    #[test]
    fn an_entry_that_only_looks_like_its_parents_end_is_read() {
        let dir = tempfile::tempdir().unwrap();
        let repo = Repository::init(dir.path()).unwrap();
        let odb = repo.odb().unwrap();
        let id = [b'k'; 20];
        let parent = odb.write(ObjectType::Tree, &[b"160000 z100644 m\0".as_slice(), &id].concat()).unwrap();
        let parent = Tree::read(&odb, None, parent, None).unwrap();
        let child = [b"100644 b\0".as_slice(), &[b'x'; 20], b"100644 m\0", &id].concat();
        let child =
            Tree::read(&odb, None, odb.write(ObjectType::Tree, &child).unwrap(), Some(&parent)).unwrap();
        assert_eq!(child.entry(1).name, b"m");
        assert_eq!(child.changed_from(&parent), 0..2);
    }

    /// A tree whose bytes libgit2 would not parse is an error naming it, and so is another
    /// kind of object.
    #[test]
    fn a_damaged_tree_is_an_error_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        let repo = Repository::init(dir.path()).unwrap();
        let odb = repo.odb().unwrap();
        let id = [7u8; 20];
        let whole = [b"100644 a.txt\0".as_slice(), &id].concat();
        let cut = |n: usize| whole[..n].to_vec();
        let bad: [(Vec<u8>, &str); 6] = [
            (b"10064x a\0".to_vec(), "file mode"),
            (b"100644".to_vec(), "no space"),
            (b"1777777 a\0".to_vec(), "file mode"),
            (cut(10), "name does not end"),
            ([b"100644 \0".as_slice(), &id].concat(), "no name"),
            (cut(whole.len() - 1), "cut short"),
        ];
        for (bytes, problem) in bad {
            let written = odb.write(ObjectType::Tree, &bytes).unwrap();
            let error = Tree::read(&odb, None, written, None).err().expect("an error").message().to_string();
            assert!(error.contains(&written.to_string()) && error.contains(problem), "{error}");
            assert!(repo.find_tree(written).is_err(), "libgit2 refuses it too");
        }
        let written = odb.write(ObjectType::Tree, &whole).unwrap();
        assert_eq!(Tree::read(&odb, None, written, None).unwrap().len(), 1);
        let blob = repo.blob(b"not a tree").unwrap();
        let error = Tree::read(&odb, None, blob, None).err().expect("an error").message().to_string();
        assert!(error.contains("not a tree"), "{error}");
    }
}
