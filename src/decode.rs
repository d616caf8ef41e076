//! Secrets behind an encoding: values in a Kubernetes `Secret` manifest's `data:` (base64) and
//! HTTP Basic credentials (`Authorization: Basic <base64 of user:password>`). Each is decoded and
//! handed back with the span of its encoded form, so the matcher can run the rules on the decoded
//! text and report what it finds at the encoded location. A Kubernetes value comes back as
//! `key: value`, so that name-based rules see the key's name too.
//! Decoding is one level deep and only of printable text; nothing else is decoded.

use regex::bytes::Regex;
use regex_automata::{meta, Anchored, Input};
use std::sync::OnceLock;

/// Decoded text, and the byte span of its encoded form in the content.
#[derive(Debug, PartialEq, Eq)]
pub struct Decoded {
    pub start: usize,
    pub end: usize,
    pub text: Vec<u8>,
}

/// The words (lower-case, matched in any case) without one of which a text holds no value
/// `decode_all` decodes: the matcher's keyword search finds them.
pub const WORDS: [&str; 2] = ["basic", "kind:"];

/// Where the matcher's keyword search found `WORDS` in a text.
#[derive(Debug, PartialEq, Eq)]
pub struct Words {
    /// Where `basic` starts, in order; `None` if its occurrences were not kept (anywhere, then).
    pub basic: Option<Vec<usize>>,
    /// Whether `kind:` occurs.
    pub kind: bool,
}

/// Every decodable value in `bytes`, looked for where `words` says they can be. An HTTP Basic
/// value follows its `basic`: it is tried there, anchored, rather than searched for over the
/// whole text (every version of cargo's test files, which call `basic_manifest`, was searched
/// so: 5% of the instructions of a history scan).
pub fn decode_all(bytes: &[u8], words: &Words) -> Vec<Decoded> {
    let mut out = Vec::new();
    let mut basic = |value: std::ops::Range<usize>| {
        if let Some(text) = base64_text(&bytes[value.clone()]).filter(|t| t.contains(&b':')) {
            out.push(Decoded { start: value.start, end: value.end, text });
        }
    };
    let value = |caps: &regex_automata::util::captures::Captures| {
        caps.get_group(1).expect("group 1 is not optional").range()
    };
    // Each regex is compiled only for a text holding the word it needs.
    match &words.basic {
        Some(starts) if !starts.is_empty() => {
            let regex = basic_auth();
            let mut caps = regex.create_captures();
            let mut resume = 0;
            for &at in starts {
                if at < resume {
                    continue;
                }
                regex.search_captures(&Input::new(bytes).range(at..).anchored(Anchored::Yes), &mut caps);
                if let Some(found) = caps.get_match() {
                    resume = found.end();
                    basic(value(&caps));
                }
            }
        }
        None if holds_ignoring_case(bytes, b"basic") => {
            for caps in basic_auth().captures_iter(bytes) {
                basic(value(&caps));
            }
        }
        _ => {}
    }
    if words.kind && secret_kind().is_match(bytes) {
        for caps in secret_data().captures_iter(bytes) {
            let (key, value) = (caps.get(1).expect("group 1"), caps.get(2).expect("group 2"));
            if let Some(decoded) = base64_text(value.as_bytes()) {
                let mut text = key.as_bytes().to_vec();
                text.extend_from_slice(b": ");
                text.extend_from_slice(&decoded);
                out.push(Decoded { start: value.start(), end: value.end(), text });
            }
        }
    }
    out
}

/// Whether `bytes` holds `word` in any ASCII case.
fn holds_ignoring_case(bytes: &[u8], word: &[u8]) -> bool {
    memchr::memchr2_iter(word[0].to_ascii_lowercase(), word[0].to_ascii_uppercase(), bytes)
        .any(|at| bytes[at..].get(..word.len()).is_some_and(|w| w.eq_ignore_ascii_case(word)))
}

/// Every match starts with `basic`: searches may be anchored at its occurrences.
fn basic_auth() -> &'static meta::Regex {
    static RE: OnceLock<meta::Regex> = OnceLock::new();
    RE.get_or_init(|| {
        meta::Regex::new(r"(?i-u)\bbasic[ \t]+([A-Za-z0-9+/]{8,}={0,2})").expect("static regex")
    })
}

/// A Kubernetes Secret manifest.
fn secret_kind() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| Regex::new(r#"(?m-u)^kind:[ \t]*["']?Secret\b"#).expect("static regex"))
}

/// An indented `key: base64` line, as under a Secret's `data:`.
fn secret_data() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        Regex::new(r#"(?m-u)^[ \t]+([A-Za-z0-9_.-]+):[ \t]+["']?([A-Za-z0-9+/]{8,}={0,2})["']?[ \t]*\r?$"#)
            .expect("static regex")
    })
}

/// Standard base64 (padding optional) that decodes to printable ASCII text.
fn base64_text(encoded: &[u8]) -> Option<Vec<u8>> {
    let trimmed: Vec<u8> = encoded.iter().copied().filter(|&b| b != b'=').collect();
    if trimmed.len() % 4 == 1 {
        return None;
    }
    let mut out = Vec::with_capacity(trimmed.len() * 3 / 4);
    let mut buffer = 0u32;
    let mut bits = 0;
    for &b in &trimmed {
        let value = match b {
            b'A'..=b'Z' => b - b'A',
            b'a'..=b'z' => b - b'a' + 26,
            b'0'..=b'9' => b - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        };
        buffer = (buffer << 6) | u32::from(value);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((buffer >> bits) as u8);
        }
    }
    out.iter().all(|&b| b.is_ascii_graphic() || b == b' ').then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    impl Words {
        /// Nothing known: both words are looked for everywhere.
        fn unknown() -> Words {
            Words { basic: None, kind: true }
        }
    }

    #[test]
    fn decodes_standard_base64_text_only() {
        assert_eq!(base64_text(b"YWRtaW46czNjcjN0"), Some(b"admin:s3cr3t".to_vec()));
        assert_eq!(base64_text(b"aGk="), Some(b"hi".to_vec()));
        assert_eq!(base64_text(b"AAECAw=="), None, "binary is not text");
        assert_eq!(base64_text(b"abc*"), None);
    }

    #[test]
    fn finds_basic_auth_and_secret_data_with_encoded_spans() {
        let text = b"curl -H 'Authorization: Basic YWRtaW46czNjcjN0' x\n";
        let found = decode_all(text, &Words::unknown());
        assert_eq!(found.len(), 1);
        assert_eq!(&text[found[0].start..found[0].end], b"YWRtaW46czNjcjN0");
        assert_eq!(found[0].text, b"admin:s3cr3t");

        let shouted = decode_all(b"AUTHORIZATION: BASIC YWRtaW46czNjcjN0", &Words::unknown());
        assert_eq!(shouted.len(), 1, "the word is looked for in any case");
        assert!(holds_ignoring_case(b"x BaSiC", b"basic"));
        assert!(!holds_ignoring_case(b"x basi", b"basic"));

        let manifest = b"kind: Secret\ndata:\n  api_token: Z2hwX2FiYw==\n";
        let found = decode_all(manifest, &Words::unknown());
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].text, b"api_token: ghp_abc");
        let kind = Words { basic: Some(Vec::new()), kind: false };
        assert!(decode_all(manifest, &kind).is_empty(), "no `kind:` found, no manifest looked for");
    }

    /// Where `basic` occurs, values are tried there alone, and what they find is what a search
    /// of the whole text finds.
    #[test]
    fn basic_values_are_tried_where_the_word_occurs() {
        let text = b"basic basic; Basic aGk6dGhlcmU= Basic YWRtaW46czNjcjN0 basic";
        let starts = |text: &[u8]| {
            (0..text.len())
                .filter(|&at| text[at..].get(..5).is_some_and(|w| w.eq_ignore_ascii_case(b"basic")))
                .collect()
        };
        let at = |starts: Vec<usize>| decode_all(text, &Words { basic: Some(starts), kind: false });
        let whole = decode_all(text, &Words::unknown());
        assert_eq!(whole.len(), 2);
        assert_eq!(at(starts(text)), whole);
        assert_eq!(at(vec![13]), whole[..1], "only the value after the `basic` given");
        assert!(at(Vec::new()).is_empty());
    }
}
