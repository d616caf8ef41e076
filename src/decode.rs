//! Secrets behind an encoding: values in a Kubernetes `Secret` manifest's `data:` (base64) and
//! HTTP Basic credentials (`Authorization: Basic <base64 of user:password>`). Each is decoded and
//! handed back with the span of its encoded form, so the matcher can run the rules on the decoded
//! text and report what it finds at the encoded location. A Kubernetes value comes back as
//! `key: value`, so that name-based rules see the key's name too.
//! Decoding is one level deep and only of printable text; nothing else is decoded.

use regex::bytes::Regex;
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

/// Every decodable value in `bytes`.
pub fn decode_all(bytes: &[u8]) -> Vec<Decoded> {
    let mut out = Vec::new();
    // Each regex is compiled only for a text holding the word it needs.
    if holds_ignoring_case(bytes, b"basic") {
        for caps in basic_auth().captures_iter(bytes) {
            let value = caps.get(1).expect("group 1 is not optional");
            if let Some(text) = base64_text(value.as_bytes()).filter(|t| t.contains(&b':')) {
                out.push(Decoded { start: value.start(), end: value.end(), text });
            }
        }
    }
    if memchr::memmem::find(bytes, b"kind:").is_some() && secret_kind().is_match(bytes) {
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

fn basic_auth() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| Regex::new(r"(?i-u)\bbasic[ \t]+([A-Za-z0-9+/]{8,}={0,2})").expect("static regex"))
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
        let found = decode_all(text);
        assert_eq!(found.len(), 1);
        assert_eq!(&text[found[0].start..found[0].end], b"YWRtaW46czNjcjN0");
        assert_eq!(found[0].text, b"admin:s3cr3t");

        let shouted = decode_all(b"AUTHORIZATION: BASIC YWRtaW46czNjcjN0");
        assert_eq!(shouted.len(), 1, "the word is looked for in any case");
        assert!(holds_ignoring_case(b"x BaSiC", b"basic"));
        assert!(!holds_ignoring_case(b"x basi", b"basic"));

        let manifest = b"kind: Secret\ndata:\n  api_token: Z2hwX2FiYw==\n";
        let found = decode_all(manifest);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].text, b"api_token: ghp_abc");
    }
}
