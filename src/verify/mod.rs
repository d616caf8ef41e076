//! `--verify`: asks each key's provider whether the key still works, with the provider's cheapest
//! documented read-only call. The result is one more fact per finding (`Verification`), beside
//! its exposure; a finding that cannot be checked stays, marked unknown with the reason.
//!
//! Safety: nothing here runs without `--verify` (or `keyrot verify`, or `keyrot rotated
//! --verify`). Each verifier is pinned to its provider's https host (`providers.rs`);
//! `--verify-endpoint` replaces it, http only on loopback. `http.rs` follows no redirect, refuses
//! internal addresses the user did not configure, and limits each request's time. Each distinct
//! key is sent once, at most `CONCURRENCY` at a time, and only to its own provider.

mod http;
mod providers;
mod sigv4;

use crate::error::{Error, Result};
use crate::findings::Finding;
use crate::matcher::Evidence;
use crate::secret::Secret;
use std::collections::{HashMap, HashSet};
use std::fmt;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

pub use providers::{Provider, PROVIDERS};

/// Requests in flight at once.
const CONCURRENCY: usize = 4;
/// The default time limit of one request (connect, send, answer).
pub const DEFAULT_TIMEOUT_SECS: f64 = 5.0;

/// What the provider said about a key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verification {
    /// The provider accepted the key.
    Live,
    /// The provider refused it: revoked, deleted or never valid.
    Dead,
    /// Not known, and why.
    Unknown(Reason),
}

impl Verification {
    pub fn name(&self) -> &'static str {
        match self {
            Verification::Live => "live",
            Verification::Dead => "dead",
            Verification::Unknown(_) => "unknown",
        }
    }
}

impl fmt::Display for Verification {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Verification::Unknown(reason) => write!(f, "unknown ({reason})"),
            other => f.write_str(other.name()),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Reason {
    /// keyrot has no verifier for this rule.
    Unsupported,
    /// The check needs another value found with the key (AWS's key id, Twilio's SID).
    Missing(&'static str),
    /// An AWS temporary key (ASIA…) works only with its session token.
    SessionToken,
    RateLimited,
    Timeout,
    /// A redirect, not followed.
    Redirect(u16),
    Unexpected(u16),
    /// The host resolved to a private, loopback or link-local address.
    RefusedAddress,
    Unreachable(&'static str),
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Reason::Unsupported => f.write_str("unsupported: no verifier for this rule"),
            Reason::Missing(what) => write!(f, "needs {what} found with it"),
            Reason::SessionToken => f.write_str("a temporary key needs its session token"),
            Reason::RateLimited => f.write_str("rate limited"),
            Reason::Timeout => f.write_str("timeout"),
            Reason::Redirect(status) => write!(f, "redirect {status} not followed"),
            Reason::Unexpected(status) => write!(f, "unexpected answer {status}"),
            Reason::RefusedAddress => f.write_str("refused address: private, loopback or link-local"),
            Reason::Unreachable(what) => f.write_str(what),
        }
    }
}

/// How to verify: the endpoints the user replaced, and the time limit of one request.
#[derive(Clone, Debug)]
pub struct Options {
    /// Provider name (as in `PROVIDERS`) to base URL.
    endpoints: HashMap<&'static str, String>,
    timeout: Duration,
    /// Seconds since the epoch, for request signatures.
    pub now: i64,
}

impl Options {
    /// From `--verify-endpoint PROVIDER=URL` (repeatable) and `--verify-timeout SECONDS`.
    pub fn new(endpoints: &[String], timeout_secs: f64, now: i64) -> Result<Options> {
        if !(timeout_secs > 0.0 && timeout_secs <= 120.0) {
            return Err(Error::Usage("--verify-timeout takes seconds, more than 0 and at most 120".into()));
        }
        let mut map = HashMap::new();
        for spec in endpoints {
            let (name, url) = spec
                .split_once('=')
                .ok_or_else(|| Error::Usage(format!("--verify-endpoint takes PROVIDER=URL, not '{spec}'")))?;
            let provider = providers::named(name).ok_or_else(|| {
                let names: Vec<&str> = PROVIDERS.iter().map(|p| p.name).collect();
                Error::Usage(format!("no verifier for provider '{name}'; there are: {}", names.join(", ")))
            })?;
            map.insert(provider.name, endpoint(url)?);
        }
        Ok(Options { endpoints: map, timeout: Duration::from_secs_f64(timeout_secs), now })
    }

    fn base(&self, provider: &Provider) -> String {
        self.endpoints.get(provider.name).cloned().unwrap_or_else(|| provider.base.to_string())
    }

    /// `host:port` of every endpoint the user configured, as the resolver sees them.
    fn trusted(&self) -> HashSet<String> {
        self.endpoints.values().map(|url| netloc(url)).collect()
    }
}

/// Checks a `--verify-endpoint` URL: https, or http on loopback; a host; no user name, query or
/// fragment. Returns it without a trailing slash.
fn endpoint(url: &str) -> Result<String> {
    let bad = |why: &str| Error::Usage(format!("--verify-endpoint URL '{url}': {why}"));
    let (scheme, rest) = url.split_once("://").ok_or_else(|| bad("not an http(s) URL"))?;
    let host = host_only(rest.split('/').next().unwrap_or_default());
    if host.is_empty() {
        return Err(bad("no host"));
    }
    if rest.contains(['@', '?', '#']) || rest.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(bad("no user name, query or fragment"));
    }
    match scheme.to_ascii_lowercase().as_str() {
        "https" => {}
        "http" if http::is_loopback_host(host) => {}
        "http" => return Err(bad("http is allowed only for loopback (127.0.0.1, ::1, localhost)")),
        _ => return Err(bad("not an http(s) URL")),
    }
    Ok(url.trim_end_matches('/').to_string())
}

/// `example.com` from `example.com:8443`, `[::1]` from `[::1]:80`.
fn host_only(authority: &str) -> &str {
    match authority.rfind(':') {
        Some(i) if !authority[i..].contains(']') => &authority[..i],
        _ => authority,
    }
}

/// `host:port` of a URL, the form ureq hands its resolver.
fn netloc(url: &str) -> String {
    let https = url.to_ascii_lowercase().starts_with("https://");
    let authority = providers::host_of(url).to_ascii_lowercase();
    if host_only(&authority).len() == authority.len() {
        format!("{authority}:{}", if https { 443 } else { 80 })
    } else {
        authority
    }
}

/// One distinct check: provider, key and partner. Holds the key, so no `Debug` beyond `Secret`'s.
#[derive(Clone, PartialEq, Eq, Hash)]
struct Check {
    provider: &'static str,
    key: Secret,
    partner: Option<String>,
}

/// What to do for one finding: a check to run, or an answer known without one.
enum Plan {
    Run(Check),
    Known(Verification),
    /// Not a key (a file that must not be committed).
    Nothing,
}

/// Checks every finding; `context` gives the content a finding was found in (for a partner
/// value found beside it). The result has one entry per finding, in order; None for findings
/// that are not keys.
pub fn check_all(
    findings: &[&Finding],
    context: &dyn Fn(&Finding) -> Option<Vec<u8>>,
    options: &Options,
) -> Vec<Option<Verification>> {
    let plans: Vec<Plan> = findings.iter().map(|f| plan(f, context)).collect();
    let mut checks: Vec<Check> = Vec::new();
    let mut index: HashMap<Check, usize> = HashMap::new();
    for plan in &plans {
        if let Plan::Run(check) = plan {
            index.entry(check.clone()).or_insert_with(|| {
                checks.push(check.clone());
                checks.len() - 1
            });
        }
    }
    let answers = run(&checks, options);
    plans
        .into_iter()
        .map(|plan| match plan {
            Plan::Run(check) => Some(answers[index[&check]].clone()),
            Plan::Known(verification) => Some(verification),
            Plan::Nothing => None,
        })
        .collect()
}

fn plan(finding: &Finding, context: &dyn Fn(&Finding) -> Option<Vec<u8>>) -> Plan {
    let Evidence::Secret { secret, .. } = &finding.evidence else { return Plan::Nothing };
    let Some(provider) = providers::for_rule(&finding.rule.id) else {
        return Plan::Known(Verification::Unknown(Reason::Unsupported));
    };
    let mut check = Check { provider: provider.name, key: secret.clone(), partner: None };
    if let Some(partner) = provider.partner_for(&finding.rule.id) {
        let found = context(finding).and_then(|content| nearest(&content, partner.pattern, secret.bytes()));
        let Some(found) = found else {
            return Plan::Known(Verification::Unknown(Reason::Missing(partner.what)));
        };
        check.partner = Some(found);
        if finding.rule.id == "aws-access-key-id" {
            // The same pair as the secret's own finding: one request for both.
            let id = String::from_utf8_lossy(secret.bytes()).into_owned();
            let key = check.partner.take().expect("just set");
            check.key = Secret::with_public_prefix(key.as_bytes(), 0);
            check.partner = Some(id);
        }
    }
    if provider.name == "AWS" && check.partner.as_deref().is_some_and(|id| id.starts_with("ASIA")) {
        return Plan::Known(Verification::Unknown(Reason::SessionToken));
    }
    Plan::Run(check)
}

/// The match of `pattern` (group 1) nearest to where `key` occurs in `content`.
fn nearest(content: &[u8], pattern: &str, key: &[u8]) -> Option<String> {
    let regex = regex::bytes::Regex::new(pattern).expect("partner patterns compile");
    let at = memchr::memmem::find(content, key).unwrap_or(0);
    regex
        .captures_iter(content)
        .filter_map(|c| c.get(1))
        .filter(|m| m.as_bytes() != key)
        .min_by_key(|m| m.start().abs_diff(at))
        .map(|m| String::from_utf8_lossy(m.as_bytes()).into_owned())
}

/// Runs the distinct checks, `CONCURRENCY` at a time.
fn run(checks: &[Check], options: &Options) -> Vec<Verification> {
    if checks.is_empty() {
        return Vec::new();
    }
    let client = http::Client::new(options.timeout, options.trusted());
    let next = AtomicUsize::new(0);
    let mut answers: Vec<Option<Verification>> = vec![None; checks.len()];
    std::thread::scope(|s| {
        let workers: Vec<_> = (0..CONCURRENCY.min(checks.len()))
            .map(|_| {
                s.spawn(|| {
                    let mut done = Vec::new();
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let Some(check) = checks.get(i) else { break };
                        done.push((i, one(&client, check, options)));
                    }
                    done
                })
            })
            .collect();
        for worker in workers {
            for (i, answer) in worker.join().expect("a verifier does not panic") {
                answers[i] = Some(answer);
            }
        }
    });
    answers.into_iter().map(|a| a.expect("every check ran")).collect()
}

fn one(client: &http::Client, check: &Check, options: &Options) -> Verification {
    let provider = providers::named(check.provider).expect("checks name known providers");
    let request =
        provider.request(&options.base(provider), check.key.bytes(), check.partner.as_deref(), options.now);
    match client.send(&request) {
        Ok(answer) => provider.judge(&answer),
        Err(reason) => Verification::Unknown(reason),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_are_https_or_loopback_http() {
        assert_eq!(endpoint("https://ghe.example.com/api/v3/").unwrap(), "https://ghe.example.com/api/v3");
        assert!(endpoint("http://127.0.0.1:8080").is_ok());
        assert!(endpoint("http://localhost:1").is_ok());
        assert!(endpoint("http://[::1]:8080").is_ok());
        for bad in [
            "http://gitlab.example.com",
            "http://10.0.0.1",
            "ftp://127.0.0.1",
            "127.0.0.1:80",
            "https://user:pw@example.com",
            "https://example.com/?x=1",
            "https://",
        ] {
            assert!(endpoint(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn provider_names_are_case_insensitive_and_must_have_a_verifier() {
        let options = Options::new(&["github=https://ghe.example.com/api/v3".into()], 5.0, 0).unwrap();
        assert_eq!(options.base(providers::named("GitHub").unwrap()), "https://ghe.example.com/api/v3");
        assert_eq!(options.base(providers::named("GitLab").unwrap()), "https://gitlab.com");
        assert!(Options::new(&["hugging face=http://127.0.0.1:9".into()], 5.0, 0).is_ok());
        assert!(Options::new(&["nobody=https://x.example".into()], 5.0, 0).is_err());
        assert!(Options::new(&["github".into()], 5.0, 0).is_err());
        assert!(Options::new(&[], 0.0, 0).is_err());
    }

    #[test]
    fn netlocs_match_what_the_resolver_is_given() {
        assert_eq!(netloc("http://127.0.0.1:8080/x"), "127.0.0.1:8080");
        assert_eq!(netloc("https://GHE.example.com/api"), "ghe.example.com:443");
        assert_eq!(netloc("http://localhost"), "localhost:80");
    }

    #[test]
    fn the_partner_nearest_the_key_is_chosen() {
        let text = b"a = AKIAAAAAAAAAAAAAAAAA\n\nid = AKIABBBBBBBBBBBBBBBB\nsecret = KEY\n";
        assert_eq!(nearest(text, providers_aws_id(), b"KEY").as_deref(), Some("AKIABBBBBBBBBBBBBBBB"));
        assert_eq!(nearest(b"nothing here", providers_aws_id(), b"KEY"), None);
    }

    fn providers_aws_id() -> &'static str {
        providers::named("AWS").unwrap().partner_for("aws-secret-access-key").unwrap().pattern
    }

    #[test]
    fn debug_of_a_verification_holds_no_key() {
        let v = Verification::Unknown(Reason::Unexpected(500));
        assert_eq!(format!("{v}"), "unknown (unexpected answer 500)");
    }
}
