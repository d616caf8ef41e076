//! UTF-16 text, recognised and turned into UTF-8 so that it is scanned like any other text.
//! Windows tools write it (PowerShell 5's `>` and `Out-File`, regedit exports, some .NET
//! configs); its ASCII characters carry a NUL byte each, so without this step it would look
//! binary and never be read. A byte order mark decides the byte order; without one, text whose
//! high bytes are almost all zero, and whose low bytes are not, is taken as UTF-16 in that order.
//! Anything else (real binaries, UTF-8) is left alone.

/// How many bytes the detector looks at when there is no byte order mark.
pub const PROBE: usize = 4096;

/// The text as UTF-8, when `bytes` is UTF-16; line breaks stay on the same lines.
pub fn decode(bytes: &[u8]) -> Option<String> {
    let (body, little_endian) = match bytes {
        [0xff, 0xfe, rest @ ..] => (rest, true),
        [0xfe, 0xff, rest @ ..] => (rest, false),
        _ => (bytes, guess_little_endian(bytes)?),
    };
    let units = body.chunks_exact(2).map(|pair| {
        let pair = [pair[0], pair[1]];
        if little_endian {
            u16::from_le_bytes(pair)
        } else {
            u16::from_be_bytes(pair)
        }
    });
    Some(char::decode_utf16(units).map(|c| c.unwrap_or(char::REPLACEMENT_CHARACTER)).collect())
}

/// Whether `decode` takes `bytes` as UTF-16; only their first `PROBE` bytes decide.
pub fn is_utf16(bytes: &[u8]) -> bool {
    matches!(bytes, [0xff, 0xfe, ..] | [0xfe, 0xff, ..]) || guess_little_endian(bytes).is_some()
}

/// Without a byte order mark: mostly-ASCII UTF-16 has a zero in nearly every high byte and
/// almost never in a low byte. Returns the byte order, or `None` if the bytes do not look so.
fn guess_little_endian(bytes: &[u8]) -> Option<bool> {
    let probe = &bytes[..bytes.len().min(PROBE) & !1];
    let pairs = probe.len() / 2;
    if pairs < 4 {
        return None;
    }
    let zeros = |parity: usize| probe.iter().skip(parity).step_by(2).filter(|&&b| b == 0).count();
    let (even, odd) = (zeros(0), zeros(1));
    let mostly = |n: usize| n * 10 >= pairs * 9;
    let rarely = |n: usize| n * 20 <= pairs;
    if mostly(odd) && rarely(even) {
        Some(true)
    } else if mostly(even) && rarely(odd) {
        Some(false)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utf16(text: &str, little_endian: bool, bom: bool) -> Vec<u8> {
        let mut out = Vec::new();
        let units = bom.then_some(0xfeff).into_iter().chain(text.encode_utf16());
        for unit in units {
            out.extend(if little_endian { unit.to_le_bytes() } else { unit.to_be_bytes() });
        }
        out
    }

    #[test]
    fn both_byte_orders_with_and_without_a_mark_decode() {
        let text = "TOKEN=abc\r\nsecond line é\n";
        for little_endian in [true, false] {
            for bom in [true, false] {
                let bytes = utf16(text, little_endian, bom);
                assert_eq!(decode(&bytes).as_deref(), Some(text), "le={little_endian} bom={bom}");
                assert!(is_utf16(&bytes));
            }
        }
    }

    #[test]
    fn binaries_and_utf8_are_not_utf16() {
        assert_eq!(decode(b"plain UTF-8 text with no NUL at all"), None);
        let binary: Vec<u8> = (0..2048u32).map(|n| (n * 7 % 251) as u8).collect();
        assert_eq!(decode(&binary), None);
        let sparse_zeros: Vec<u8> = (0..2048u32).map(|n| if n % 3 == 0 { 0 } else { b'a' }).collect();
        assert_eq!(decode(&sparse_zeros), None);
        assert_eq!(decode(b"\0a"), None, "too short to tell");
        for bytes in [&b"plain"[..], &binary, &sparse_zeros, b"\0a"] {
            assert!(!is_utf16(bytes));
        }
    }
}
