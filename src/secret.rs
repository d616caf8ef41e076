//! Sensitive values and their identity. `Secret` never shows its bytes through `Debug` or
//! `Display`; the raw value takes an explicit `expose()` call, made only by reporters when the
//! user passed `--reveal`, and its masked form shows nothing of a short or low-entropy value
//! beyond the provider's public prefix. `Fingerprint` is the stable, content-based identity of a
//! finding, so moving, renaming or re-committing a secret keeps it. It is published (baselines,
//! reports), so it is deliberately slow to compute: PBKDF2-HMAC-SHA256 with a fixed salt and the
//! rule id, so that guessing a weak secret from it costs milliseconds per guess, not nanoseconds,
//! while every machine still computes the same value. Callers compute it once per distinct
//! (rule, secret) in a run.

use sha2::{Digest, Sha256};
use std::fmt;

#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Secret {
    bytes: Vec<u8>,
    /// Length in bytes of a provider's public prefix (`ghp_`, `r8_`, `AKIA`) it starts with.
    public_prefix: usize,
}

/// A value shorter than this (past its public prefix) shows nothing more when masked.
const MASK_MIN_CHARS: usize = 20;
/// Nor does one whose entropy is below this many bits per byte: a word, a phrase, a pattern.
const MASK_MIN_ENTROPY: f64 = 3.5;

impl Secret {
    #[cfg(test)]
    pub fn new(bytes: &[u8]) -> Self {
        Secret::with_public_prefix(bytes, 0)
    }

    /// A secret whose first `public_prefix` bytes are a provider's public prefix.
    pub fn with_public_prefix(bytes: &[u8], public_prefix: usize) -> Self {
        Secret { bytes: bytes.to_vec(), public_prefix: public_prefix.min(bytes.len()) }
    }

    /// The raw value. Callers must only print it when the user asked for it.
    pub fn expose(&self) -> String {
        String::from_utf8_lossy(&self.bytes).into_owned()
    }

    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// The public prefix, then `...`. A long, high-entropy value that mixes character classes
    /// (a generated key) shows up to 8 characters, never more than a quarter of it, so reviewers
    /// can tell keys apart; anything else (a password, a phrase, a short value) shows nothing
    /// beyond the prefix, since even a few characters help guess it.
    pub fn masked(&self) -> String {
        let prefix = String::from_utf8_lossy(&self.bytes[..self.public_prefix]).chars().count();
        let text = String::from_utf8_lossy(&self.bytes);
        let shown = if looks_generated(&self.bytes[self.public_prefix..]) {
            prefix.max((text.chars().count() / 4).min(8))
        } else {
            prefix
        };
        let shown: String = text.chars().take(shown).collect();
        format!("{shown}...")
    }
}

/// Whether a value looks machine-generated: long, high-entropy, and mixing at least two of
/// lower case, upper case and digits.
fn looks_generated(bytes: &[u8]) -> bool {
    let classes = [u8::is_ascii_lowercase, u8::is_ascii_uppercase, u8::is_ascii_digit]
        .iter()
        .filter(|class| bytes.iter().any(class))
        .count();
    bytes.len() >= MASK_MIN_CHARS && classes >= 2 && entropy(bytes) >= MASK_MIN_ENTROPY
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Secret({})", self.masked())
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.masked())
    }
}

/// Marks the current fingerprint form, so that it can never be mistaken for the legacy one.
pub const FINGERPRINT_PREFIX: &str = "v2:";
/// PBKDF2 rounds, chosen by measurement: about 2 ms per distinct secret on a core with SHA
/// instructions (an x86-64 of 2020 or later), a few more without.
const FINGERPRINT_ROUNDS: u32 = 10_000;
/// Fixed, so that every machine computes the same fingerprint; the rule id follows it.
const FINGERPRINT_SALT: &[u8] = b"keyrot fingerprint v2\0";

/// Content fingerprint: `v2:` and 32 hex digits of PBKDF2-HMAC-SHA256(secret, salt and rule id).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Fingerprint(String);

impl Fingerprint {
    /// Slow by design: compute it once per distinct (rule, secret).
    pub fn of(rule_id: &str, secret: &[u8]) -> Self {
        let salt = [FINGERPRINT_SALT, rule_id.as_bytes()].concat();
        let key = pbkdf2_sha256(secret, &salt, FINGERPRINT_ROUNDS);
        Fingerprint(format!("{FINGERPRINT_PREFIX}{}", hex(&key[..16])))
    }

    /// The fingerprint keyrot wrote before `v2:` (`sha256(rule id, NUL, secret)`, 32 hex digits).
    /// Only for matching entries of existing baselines and ignore files; never printed.
    pub fn legacy(rule_id: &str, secret: &[u8]) -> Self {
        let digest = Sha256::new().chain_update(rule_id).chain_update([0u8]).chain_update(secret).finalize();
        Fingerprint(hex(&digest[..16]))
    }

    /// Whether `text` has the legacy form: 32 hex digits, no version prefix.
    pub fn is_legacy(text: &str) -> bool {
        text.len() == 32 && text.bytes().all(|b| b.is_ascii_hexdigit())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// SHA-256's initial state (FIPS 180-4, 5.3.3).
const SHA256_START: [u32; 8] =
    [0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19];

/// The first 32-byte block of PBKDF2-HMAC-SHA256 (RFC 8018), which is all a fingerprint uses.
/// HMAC's padded key is one 64-byte block: its inner and outer states are compressed once.
/// Every round after the first hashes 32 bytes after that block, which is one more
/// compression of one padded block: done so, without a hasher's buffering and finishing, the
/// fingerprints of 1,036 secrets took 1.24 s of CPU instead of 1.56 (0.96 s of compressions).
fn pbkdf2_sha256(password: &[u8], salt: &[u8], rounds: u32) -> [u8; 32] {
    let mut key = [0u8; 64];
    if password.len() > key.len() {
        key[..32].copy_from_slice(&Sha256::digest(password));
    } else {
        key[..password.len()].copy_from_slice(password);
    }
    let state_after = |pad: u8| {
        let mut state = SHA256_START;
        sha2::compress256(&mut state, &[key.map(|b| b ^ pad).into()]);
        state
    };
    let (inner, outer) = (state_after(0x36), state_after(0x5c));
    // The first round's message (the salt and the block number) can be any length.
    let padded = |pad: u8| Sha256::new().chain_update(key.map(|b| b ^ pad));
    let inner_hash = padded(0x36).chain_update(salt).chain_update(1u32.to_be_bytes()).finalize();
    let mut block: [u8; 32] = padded(0x5c).chain_update(inner_hash).finalize().into();
    let mut sum = block;
    // 32 bytes of message, the padding's 1 bit, and the length of key block and message in bits.
    let mut message = [0u8; 64];
    message[32] = 0x80;
    message[62..].copy_from_slice(&(((64 + 32) * 8) as u16).to_be_bytes());
    let hash = |start: &[u32; 8], message: &[u8; 64]| -> [u8; 32] {
        let mut state = *start;
        sha2::compress256(&mut state, &[(*message).into()]);
        let mut out = [0u8; 32];
        for (bytes, word) in out.chunks_exact_mut(4).zip(state) {
            bytes.copy_from_slice(&word.to_be_bytes());
        }
        out
    };
    for _ in 1..rounds {
        message[..32].copy_from_slice(&block);
        let inner_hash = hash(&inner, &message);
        message[..32].copy_from_slice(&inner_hash);
        block = hash(&outer, &message);
        sum.iter_mut().zip(block).for_each(|(s, b)| *s ^= b);
    }
    sum
}

/// Shannon entropy of the bytes, in bits per byte.
pub fn entropy(bytes: &[u8]) -> f64 {
    if bytes.is_empty() {
        return 0.0;
    }
    let mut counts = [0usize; 256];
    for &b in bytes {
        counts[b as usize] += 1;
    }
    let len = bytes.len() as f64;
    counts
        .iter()
        .filter(|&&c| c > 0)
        .map(|&c| {
            let p = c as f64 / len;
            -p * p.log2()
        })
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_generated_key_shows_a_quarter_and_at_most_eight() {
        assert_eq!(Secret::new(b"r8_abcdefghijklmnopqrstuvwxyz0123456789A").masked(), "r8_abcde...");
        assert_eq!(Secret::new(b"AKIAIOSFODNN7EXAMPLE").masked(), "AKIAI...");
        let github = b"ghp_a1ckGTKUDvQtiV4P3JNByrZjFHh5nLrNuEbw";
        assert_eq!(Secret::with_public_prefix(github, 4).masked(), "ghp_a1ck...");
    }

    #[test]
    fn a_weak_or_short_value_shows_only_its_public_prefix() {
        assert_eq!(Secret::new(b"abc").masked(), "...");
        assert_eq!(Secret::new(b"Tr0ub4dor&3").masked(), "...", "short");
        assert_eq!(Secret::new(b"correcthorsebatterystaple").masked(), "...", "one class");
        assert_eq!(Secret::new(b"Summer2024Summer2024Summer2024").masked(), "...", "low entropy");
        assert_eq!(
            Secret::with_public_prefix(b"ghp_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", 4).masked(),
            "ghp_..."
        );
        assert_eq!(Secret::with_public_prefix(b"sk_live_1234", 8).masked(), "sk_live_...");
    }

    #[test]
    fn debug_and_display_never_show_the_secret() {
        let s = Secret::new(b"supersecretvalue1234");
        assert!(!format!("{s:?}").contains("supersecretvalue1234"));
        assert!(!format!("{s}").contains("secretvalue"));
    }

    #[test]
    fn fingerprint_depends_on_rule_and_secret_only() {
        let a = Fingerprint::of("r", b"x");
        assert_eq!(a, Fingerprint::of("r", b"x"));
        assert_ne!(a, Fingerprint::of("r2", b"x"));
        assert_ne!(a, Fingerprint::of("r", b"y"));
        assert!(a.as_str().starts_with("v2:") && a.as_str().len() == 35, "{a}");
        assert!(!Fingerprint::is_legacy(a.as_str()));
    }

    #[test]
    fn fingerprints_are_the_same_on_every_machine() {
        // Pinned, from Python's hashlib.pbkdf2_hmac: changing the construction or the rounds
        // would orphan every baseline and ignore file.
        assert_eq!(
            Fingerprint::of("github-classic-token", b"ghp_a1ckGTKUDvQtiV4P3JNByrZjFHh5nLrNuEbw").as_str(),
            "v2:2ea97bbcc46734e80ddbe20cd0a32a05"
        );
        let legacy = Fingerprint::legacy("github-classic-token", b"ghp_a1ckGTKUDvQtiV4P3JNByrZjFHh5nLrNuEbw");
        assert_eq!(legacy.as_str(), "669842c37af10f0219bfe758835707e0");
        assert!(Fingerprint::is_legacy(legacy.as_str()));
    }

    #[test]
    fn pbkdf2_matches_the_published_vectors() {
        // RFC 7914 section 11 and the widely published PBKDF2-HMAC-SHA256 vectors.
        let hex_of = |p: &[u8], s: &[u8], c| hex(&pbkdf2_sha256(p, s, c));
        assert_eq!(
            hex_of(b"password", b"salt", 1),
            "120fb6cffcf8b32c43e7225256c4f837a86548c92ccc35480805987cb70be17b"
        );
        assert_eq!(
            hex_of(b"password", b"salt", 2),
            "ae4d0c95af6b46d32d0adff928f06dd02a303f8ef3c251dfd6e2d85a95474c43"
        );
        assert_eq!(
            hex_of(b"password", b"salt", 4096),
            "c5e478d59288c841aa530db6845c4c8d962893a001ce4e11a4963873aa98134a"
        );
        // A password longer than a SHA-256 block is hashed first (value from Python's hashlib).
        assert_eq!(
            hex(&pbkdf2_sha256(&[b'k'; 100], b"salt", 1)),
            "85cb0af4398ca0237412dfaae8b51458fcf9afff0258d67c750e5d5475c0c29e"
        );
    }

    #[test]
    fn entropy_of_uniform_and_constant() {
        assert_eq!(entropy(b"aaaa"), 0.0);
        assert!((entropy(b"abcd") - 2.0).abs() < 1e-9);
    }
}
