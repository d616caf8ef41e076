//! Sensitive values and their identity. `Secret` never shows its bytes through `Debug` or
//! `Display`; the raw value takes an explicit `expose()` call, made only by reporters when the
//! user passed `--reveal`. `Fingerprint` is the stable, content-based identity of a finding
//! (SHA-256 of rule id and secret), so moving, renaming or re-committing a secret keeps it.

use sha2::{Digest, Sha256};
use std::fmt;

#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Secret(Vec<u8>);

impl Secret {
    pub fn new(bytes: &[u8]) -> Self {
        Secret(bytes.to_vec())
    }

    /// The raw value. Callers must only print it when the user asked for it.
    pub fn expose(&self) -> String {
        String::from_utf8_lossy(&self.0).into_owned()
    }

    pub fn bytes(&self) -> &[u8] {
        &self.0
    }

    /// At most 8 characters and never more than a quarter of the secret, then `...`.
    pub fn masked(&self) -> String {
        let text = String::from_utf8_lossy(&self.0);
        let chars = text.chars().count();
        let shown = (chars / 4).min(8);
        let prefix: String = text.chars().take(shown).collect();
        format!("{prefix}...")
    }
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

/// Content fingerprint: `sha256(rule id, NUL, secret)` in hex, truncated to 32 digits.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Fingerprint(String);

impl Fingerprint {
    pub fn of(rule_id: &str, secret: &[u8]) -> Self {
        let mut hasher = Sha256::new();
        hasher.update(rule_id.as_bytes());
        hasher.update([0u8]);
        hasher.update(secret);
        let digest = hasher.finalize();
        let hex: String = digest[..16].iter().map(|b| format!("{b:02x}")).collect();
        Fingerprint(hex)
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
    fn masks_to_a_quarter_and_at_most_eight() {
        assert_eq!(Secret::new(b"r8_abcdefghijklmnopqrstuvwxyz0123456789A").masked(), "r8_abcde...");
        assert_eq!(Secret::new(b"AKIAABCDEFGHIJKLMNOP").masked(), "AKIAA...");
        assert_eq!(Secret::new(b"abc").masked(), "...");
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
        assert_eq!(a.as_str().len(), 32);
    }

    #[test]
    fn entropy_of_uniform_and_constant() {
        assert_eq!(entropy(b"aaaa"), 0.0);
        assert!((entropy(b"abcd") - 2.0).abs() < 1e-9);
    }
}
