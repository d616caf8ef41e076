//! Pack files written by hand, for the hostile-input tests: every object of a real repository
//! re-packed as full objects, with chosen objects turned into hostile deltas or broken headers,
//! and checksums that agree (so a reader cannot reject the pack on its trailer alone).
#![allow(dead_code)]

use sha1::{Digest, Sha1};
use std::io::Write;
use std::path::{Path, PathBuf};

pub const COMMIT: u8 = 1;
pub const TREE: u8 = 2;
pub const BLOB: u8 = 3;
pub const OFS_DELTA: u8 = 6;
pub const REF_DELTA: u8 = 7;

/// One object as it goes into the pack.
#[derive(Clone)]
pub struct Object {
    pub id: [u8; 20],
    pub kind: u8,
    /// The inflated payload (for deltas, the delta instructions).
    pub data: Vec<u8>,
    /// For OFS_DELTA: the distance back in bytes; for REF_DELTA: the base's id.
    pub base: Base,
    /// Overrides the size written in the header.
    pub size: Option<u64>,
}

#[derive(Clone)]
pub enum Base {
    None,
    Offset(u64),
    Id([u8; 20]),
}

pub fn hex(id: &[u8; 20]) -> String {
    id.iter().map(|b| format!("{b:02x}")).collect()
}

/// Every object of the repository at `dir`, as full objects.
pub fn objects(dir: &Path) -> Vec<Object> {
    let out = std::process::Command::new("git")
        .args(["cat-file", "--batch-all-objects", "--batch"])
        .current_dir(dir)
        .output()
        .expect("git runs");
    let mut objects = Vec::new();
    let mut rest = &out.stdout[..];
    while let Some(end) = rest.iter().position(|&b| b == b'\n') {
        let header = String::from_utf8_lossy(&rest[..end]).into_owned();
        let fields: Vec<&str> = header.split(' ').collect();
        let size: usize = fields[2].parse().unwrap();
        let data = rest[end + 1..end + 1 + size].to_vec();
        rest = &rest[end + 1 + size + 1..];
        let kind = match fields[1] {
            "commit" => COMMIT,
            "tree" => TREE,
            "blob" => BLOB,
            _ => 4,
        };
        let mut id = [0u8; 20];
        for (i, byte) in id.iter_mut().enumerate() {
            *byte = u8::from_str_radix(&fields[0][2 * i..2 * i + 2], 16).unwrap();
        }
        objects.push(Object { id, kind, data, base: Base::None, size: None });
    }
    objects
}

/// A delta that rebuilds `target` from a base of `base_len` bytes by inserting it whole.
pub fn insert_delta(base_len: usize, target: &[u8]) -> Vec<u8> {
    let mut delta = Vec::new();
    varint(&mut delta, base_len as u64);
    varint(&mut delta, target.len() as u64);
    for chunk in target.chunks(127) {
        delta.push(chunk.len() as u8);
        delta.extend_from_slice(chunk);
    }
    delta
}

fn varint(out: &mut Vec<u8>, mut n: u64) {
    loop {
        let byte = (n & 0x7f) as u8;
        n >>= 7;
        if n == 0 {
            out.push(byte);
            return;
        }
        out.push(byte | 0x80);
    }
}

/// Replaces every pack and loose object of the repository at `dir` with one pack of
/// `objects`, in the given order. Returns the pack's path.
pub fn repack(dir: &Path, objects: &[Object]) -> PathBuf {
    let objects_dir = dir.join(".git/objects");
    for entry in std::fs::read_dir(&objects_dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if name.len() == 2 || name == "pack" {
            std::fs::remove_dir_all(&path).unwrap();
        }
    }
    std::fs::create_dir_all(objects_dir.join("pack")).unwrap();
    let mut pack = b"PACK\0\0\0\x02".to_vec();
    pack.extend((objects.len() as u32).to_be_bytes());
    let mut index: Vec<([u8; 20], u64, u32)> = Vec::new();
    for object in objects {
        let offset = pack.len() as u64;
        let start = pack.len();
        let size = object.size.unwrap_or(object.data.len() as u64);
        let mut byte = (object.kind << 4) | (size & 0x0f) as u8;
        let mut rest = size >> 4;
        while rest != 0 {
            pack.push(byte | 0x80);
            byte = (rest & 0x7f) as u8;
            rest >>= 7;
        }
        pack.push(byte);
        match &object.base {
            Base::None => {}
            Base::Id(id) => pack.extend_from_slice(id),
            Base::Offset(distance) => {
                let mut bytes = vec![(distance & 0x7f) as u8];
                let mut d = distance >> 7;
                while d != 0 {
                    d -= 1;
                    bytes.push(0x80 | (d & 0x7f) as u8);
                    d >>= 7;
                }
                bytes.reverse();
                pack.extend(bytes);
            }
        }
        let mut encoder = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
        encoder.write_all(&object.data).unwrap();
        pack.extend(encoder.finish().unwrap());
        let mut crc = flate2::Crc::new();
        crc.update(&pack[start..]);
        index.push((object.id, offset, crc.sum()));
    }
    let checksum: [u8; 20] = Sha1::digest(&pack).into();
    pack.extend_from_slice(&checksum);
    index.sort_by_key(|(id, _, _)| *id);
    let mut idx = b"\xfftOc\0\0\0\x02".to_vec();
    for first in 0..256usize {
        let count = index.iter().filter(|(id, _, _)| usize::from(id[0]) <= first).count() as u32;
        idx.extend(count.to_be_bytes());
    }
    for (id, _, _) in &index {
        idx.extend_from_slice(id);
    }
    for (_, _, crc) in &index {
        idx.extend(crc.to_be_bytes());
    }
    for (_, offset, _) in &index {
        idx.extend((*offset as u32).to_be_bytes());
    }
    idx.extend_from_slice(&checksum);
    let idx_checksum: [u8; 20] = Sha1::digest(&idx).into();
    idx.extend_from_slice(&idx_checksum);
    let base = objects_dir.join(format!("pack/pack-{}", hex(&checksum)));
    std::fs::write(base.with_extension("pack"), pack).unwrap();
    std::fs::write(base.with_extension("idx"), idx).unwrap();
    base.with_extension("pack")
}

/// Recomputes the pack's trailer and the index's copy of it and its own trailer, after bytes
/// of either were changed.
pub fn fix_checksums(pack_path: &Path) {
    let idx_path = pack_path.with_extension("idx");
    let mut pack = std::fs::read(pack_path).unwrap();
    let mut idx = std::fs::read(&idx_path).unwrap();
    if pack.len() < 20 || idx.len() < 40 {
        return;
    }
    let body = pack.len() - 20;
    let checksum: [u8; 20] = Sha1::digest(&pack[..body]).into();
    pack[body..].copy_from_slice(&checksum);
    let at = idx.len() - 40;
    idx[at..at + 20].copy_from_slice(&checksum);
    let trailer: [u8; 20] = Sha1::digest(&idx[..idx.len() - 20]).into();
    let end = idx.len() - 20;
    idx[end..].copy_from_slice(&trailer);
    std::fs::write(pack_path, pack).unwrap();
    std::fs::write(idx_path, idx).unwrap();
}
