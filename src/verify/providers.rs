//! The verifiers: for each provider, the rules whose keys it checks, its documented API host and
//! the cheapest read-only call that needs the key, where the key goes, and how to read the
//! answer. Provider names are those of `rules.toml` (what `keyrot rules` prints), so that
//! `--verify-endpoint PROVIDER=URL` uses the names the user sees.

use super::http::{Answer, Request};
use super::sigv4;
use super::{Reason, Verification};

/// Where the key goes in the request.
#[derive(Clone, Copy)]
pub enum Auth {
    /// `Authorization: Bearer KEY`
    Bearer,
    /// `Authorization: PREFIX KEY` (`Key`, `Bot`)
    Scheme(&'static str),
    /// `HEADER: KEY`
    Header(&'static str),
    /// HTTP Basic with a fixed user name and the key as password (Mailgun's `api`).
    BasicUser(&'static str),
    /// HTTP Basic with the partner (an account SID) as user name and the key as password.
    BasicPartner,
    /// In the URL path, where `{key}` stands (Telegram's bot API).
    Path,
    /// AWS Signature Version 4 with the partner as key id.
    SigV4,
}

/// How a 200 is read.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Body {
    /// The status alone decides.
    Ignored,
    /// Slack answers 200 to everything: `"ok": true` is live, an auth error is dead.
    SlackOk,
}

/// A value found beside the key that the check needs (AWS's key id, Twilio's account SID).
#[derive(Clone, Copy)]
pub struct Partner {
    /// What it is, for "needs … found with it".
    pub what: &'static str,
    /// Pattern of the partner in the same content; group 1 is the value.
    pub pattern: &'static str,
}

pub struct Provider {
    /// As rules.toml names it.
    pub name: &'static str,
    pub rules: &'static [&'static str],
    /// Scheme and host (and a path prefix) the call goes to unless `--verify-endpoint` says.
    pub base: &'static str,
    pub method: &'static str,
    /// Path and query after the base; `{key}` and `{partner}` are filled in.
    pub path: &'static str,
    pub auth: Auth,
    pub headers: &'static [(&'static str, &'static str)],
    pub body: Body,
    /// Statuses that say the key is not accepted (revoked, deleted, malformed).
    pub dead: &'static [u16],
    pub partner: Option<Partner>,
}

const AWS_KEY_ID: Partner =
    Partner { what: "its access key id", pattern: r"\b((?:AKIA|ASIA)[A-Z2-7]{16})\b" };
const AWS_SECRET: Partner = Partner {
    what: "its secret access key",
    pattern: r#"(?i)secret_?(?:access)?_?key["']?\s*(?:[:=]|=>)\s*["']?([A-Za-z0-9/+]{40})(?:[^A-Za-z0-9/+=]|$)"#,
};
const TWILIO_SID: Partner = Partner { what: "its account SID", pattern: r"\b(AC[a-f0-9]{32})\b" };

const fn get(
    name: &'static str,
    rules: &'static [&'static str],
    base: &'static str,
    path: &'static str,
    auth: Auth,
) -> Provider {
    Provider {
        name,
        rules,
        base,
        method: "GET",
        path,
        auth,
        headers: &[],
        body: Body::Ignored,
        dead: &[401],
        partner: None,
    }
}

/// Every verifier, the seed's two first.
pub static PROVIDERS: &[Provider] = &[
    Provider {
        dead: &[401, 403],
        ..get("FAL", &["fal-api-key"], "https://api.fal.ai", "/v1/models?limit=1", Auth::Scheme("Key"))
    },
    get("Replicate", &["replicate-api-token"], "https://api.replicate.com", "/v1/account", Auth::Bearer),
    Provider {
        headers: &[("Accept", "application/vnd.github+json"), ("X-GitHub-Api-Version", "2022-11-28")],
        ..get(
            "GitHub",
            &[
                "github-classic-token",
                "github-fine-grained-pat",
                "github-legacy-token",
                "github-legacy-token-url",
            ],
            "https://api.github.com",
            "/user",
            Auth::Bearer,
        )
    },
    get(
        "GitLab",
        &["gitlab-personal-access-token"],
        "https://gitlab.com",
        "/api/v4/user",
        Auth::Header("PRIVATE-TOKEN"),
    ),
    Provider {
        method: "POST",
        body: Body::SlackOk,
        ..get("Slack", &["slack-token"], "https://slack.com", "/api/auth.test", Auth::Bearer)
    },
    get(
        "Stripe",
        &["stripe-live-secret-key", "stripe-restricted-key"],
        "https://api.stripe.com",
        "/v1/balance",
        Auth::Bearer,
    ),
    get("OpenAI", &["openai-api-key"], "https://api.openai.com", "/v1/models", Auth::Bearer),
    Provider {
        headers: &[("anthropic-version", "2023-06-01")],
        ..get(
            "Anthropic",
            &["anthropic-api-key"],
            "https://api.anthropic.com",
            "/v1/models?limit=1",
            Auth::Header("x-api-key"),
        )
    },
    get(
        "Hugging Face",
        &["huggingface-access-token", "huggingface-organization-token"],
        "https://huggingface.co",
        "/api/whoami-v2",
        Auth::Bearer,
    ),
    get("npm", &["npm-access-token"], "https://registry.npmjs.org", "/-/whoami", Auth::Bearer),
    get("SendGrid", &["sendgrid-api-key"], "https://api.sendgrid.com", "/v3/scopes", Auth::Bearer),
    Provider {
        partner: Some(TWILIO_SID),
        ..get(
            "Twilio",
            &["twilio-auth-token"],
            "https://api.twilio.com",
            "/2010-04-01/Accounts/{partner}.json",
            Auth::BasicPartner,
        )
    },
    get(
        "Mailgun",
        &["mailgun-api-key", "mailgun-private-api-key"],
        "https://api.mailgun.net",
        "/v3/domains?limit=1",
        Auth::BasicUser("api"),
    ),
    get(
        "DigitalOcean",
        &["digitalocean-personal-access-token", "digitalocean-oauth-token"],
        "https://api.digitalocean.com",
        "/v2/account",
        Auth::Bearer,
    ),
    Provider {
        headers: &[("Accept", "application/vnd.heroku+json; version=3")],
        ..get(
            "Heroku",
            &["heroku-api-key", "heroku-api-key-legacy"],
            "https://api.heroku.com",
            "/account",
            Auth::Bearer,
        )
    },
    Provider {
        dead: &[401, 403],
        ..get(
            "Datadog",
            &["datadog-api-key"],
            "https://api.datadoghq.com",
            "/api/v1/validate",
            Auth::Header("DD-API-KEY"),
        )
    },
    get("Discord", &["discord-bot-token"], "https://discord.com", "/api/v10/users/@me", Auth::Scheme("Bot")),
    Provider {
        dead: &[401, 404],
        ..get("Telegram", &["telegram-bot-token"], "https://api.telegram.org", "/bot{key}/getMe", Auth::Path)
    },
    Provider {
        headers: &[("Notion-Version", "2022-06-28")],
        ..get(
            "Notion",
            &["notion-integration-token", "notion-api-token"],
            "https://api.notion.com",
            "/v1/users/me",
            Auth::Bearer,
        )
    },
    Provider {
        method: "POST",
        dead: &[401, 403],
        partner: None,
        ..get(
            "AWS",
            &["aws-secret-access-key", "aws-access-key-id"],
            "https://sts.amazonaws.com",
            "/",
            Auth::SigV4,
        )
    },
];

/// The AWS call: `GetCallerIdentity`, which any valid key may make (no IAM permission needed).
const AWS_BODY: &str = "Action=GetCallerIdentity&Version=2011-06-15";
const AWS_CONTENT_TYPE: &str = "application/x-www-form-urlencoded; charset=utf-8";

/// The verifier of a rule, if any.
pub fn for_rule(rule: &str) -> Option<&'static Provider> {
    PROVIDERS.iter().find(|p| p.rules.contains(&rule))
}

/// The verifier for a provider name, case-insensitive (`github`, `Hugging Face`).
pub fn named(name: &str) -> Option<&'static Provider> {
    PROVIDERS.iter().find(|p| p.name.eq_ignore_ascii_case(name.trim()))
}

impl Provider {
    /// What else the check needs for a finding of `rule`: AWS pairs a key id with its secret.
    pub fn partner_for(&self, rule: &str) -> Option<Partner> {
        match (self.name, rule) {
            ("AWS", "aws-access-key-id") => Some(AWS_SECRET),
            ("AWS", _) => Some(AWS_KEY_ID),
            _ => self.partner,
        }
    }

    /// The request that checks `key`, sent to `base` (the documented host, or the user's).
    /// `partner` is the key id or account SID when the provider needs one; `now` is for SigV4.
    pub fn request(&self, base: &str, key: &[u8], partner: Option<&str>, now: i64) -> Request {
        let key_text = String::from_utf8_lossy(key);
        let path = self.path.replace("{partner}", partner.unwrap_or_default());
        let path = match self.auth {
            Auth::Path => path.replace("{key}", &key_text),
            _ => path,
        };
        let mut headers: Vec<(&'static str, String)> =
            self.headers.iter().map(|(name, value)| (*name, value.to_string())).collect();
        let mut body = None;
        match self.auth {
            Auth::Bearer => headers.push(("Authorization", format!("Bearer {key_text}"))),
            Auth::Scheme(scheme) => headers.push(("Authorization", format!("{scheme} {key_text}"))),
            Auth::Header(name) => headers.push((name, key_text.to_string())),
            Auth::BasicUser(user) => headers.push(("Authorization", basic(user, &key_text))),
            Auth::BasicPartner => {
                headers.push(("Authorization", basic(partner.unwrap_or_default(), &key_text)))
            }
            Auth::Path => {}
            Auth::SigV4 => {
                let amz_date = sigv4::amz_date(now);
                let host = host_of(base);
                let signable = sigv4::Signable {
                    method: self.method,
                    host: &host,
                    path: "/",
                    query: "",
                    content_type: AWS_CONTENT_TYPE,
                    body: AWS_BODY.as_bytes(),
                    amz_date: &amz_date,
                    region: "us-east-1",
                    service: "sts",
                };
                let authorization = sigv4::authorization(&signable, partner.unwrap_or_default(), key);
                headers.push(("Content-Type", AWS_CONTENT_TYPE.to_string()));
                headers.push(("X-Amz-Date", amz_date));
                headers.push(("Authorization", authorization));
                body = Some(AWS_BODY.as_bytes().to_vec());
            }
        }
        if self.method == "POST" && body.is_none() {
            body = Some(Vec::new());
        }
        Request { method: self.method, url: format!("{}{path}", base.trim_end_matches('/')), headers, body }
    }

    /// What an answer says about the key.
    pub fn judge(&self, answer: &Answer) -> Verification {
        match answer.status {
            200..=299 if self.body == Body::SlackOk => slack(&answer.body),
            200..=299 => Verification::Live,
            status if self.dead.contains(&status) => Verification::Dead,
            429 => Verification::Unknown(Reason::RateLimited),
            status @ 300..=399 => Verification::Unknown(Reason::Redirect(status)),
            status => Verification::Unknown(Reason::Unexpected(status)),
        }
    }
}

fn slack(body: &[u8]) -> Verification {
    let Ok(value) = serde_json::from_slice::<serde_json::Value>(body) else {
        return Verification::Unknown(Reason::Unexpected(200));
    };
    if value["ok"] == true {
        return Verification::Live;
    }
    let dead = ["invalid_auth", "not_authed", "account_inactive", "token_revoked", "token_expired"];
    match value["error"].as_str() {
        Some(error) if dead.contains(&error) => Verification::Dead,
        Some("ratelimited") => Verification::Unknown(Reason::RateLimited),
        _ => Verification::Unknown(Reason::Unexpected(200)),
    }
}

fn basic(user: &str, password: &str) -> String {
    format!("Basic {}", base64(format!("{user}:{password}").as_bytes()))
}

/// The host (and port) of a base URL, as the `Host` header carries it.
pub fn host_of(base: &str) -> String {
    let rest = base.split_once("://").map_or(base, |(_, rest)| rest);
    rest.split('/').next().unwrap_or(rest).to_string()
}

fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let n = chunk.iter().enumerate().fold(0u32, |n, (i, &b)| n | u32::from(b) << (16 - 8 * i));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn at_least_twenty_providers_each_for_rules_that_exist() {
        assert!(PROVIDERS.len() >= 20, "{}", PROVIDERS.len());
        assert_eq!(PROVIDERS[0].name, "FAL");
        assert_eq!(PROVIDERS[1].name, "Replicate");
        let config = crate::config::resolve(None, std::path::Path::new("/nonexistent")).unwrap();
        let rules = crate::rules::Rules::build(&config).unwrap();
        for provider in PROVIDERS {
            assert!(provider.base.starts_with("https://"), "{}", provider.name);
            for id in provider.rules {
                let rule =
                    rules.rules.iter().find(|r| r.meta.id == *id).unwrap_or_else(|| panic!("no rule {id}"));
                assert_eq!(rule.meta.provider.as_deref(), Some(provider.name), "{id}");
            }
        }
    }

    #[test]
    fn base64_matches_rfc_4648() {
        for (plain, encoded) in
            [("", ""), ("f", "Zg=="), ("fo", "Zm8="), ("foo", "Zm9v"), ("foobar", "Zm9vYmFy")]
        {
            assert_eq!(base64(plain.as_bytes()), encoded);
        }
    }

    #[test]
    fn the_key_goes_where_the_provider_documents_it() {
        let fal = named("fal").unwrap().request("https://api.fal.ai", b"id:secret", None, 0);
        assert_eq!(fal.url, "https://api.fal.ai/v1/models?limit=1");
        assert_eq!(fal.headers, vec![("Authorization", "Key id:secret".to_string())]);
        let telegram = named("TELEGRAM").unwrap().request("https://api.telegram.org", b"1:AAx", None, 0);
        assert_eq!(telegram.url, "https://api.telegram.org/bot1:AAx/getMe");
        assert!(telegram.headers.is_empty());
        let twilio = named("twilio").unwrap().request("https://api.twilio.com/", b"tok", Some("AC1"), 0);
        assert_eq!(twilio.url, "https://api.twilio.com/2010-04-01/Accounts/AC1.json");
        assert_eq!(twilio.headers, vec![("Authorization", format!("Basic {}", base64(b"AC1:tok")))]);
        let aws =
            named("aws").unwrap().request("https://sts.amazonaws.com", b"s", Some("AKIA"), 1_440_938_160);
        assert_eq!(aws.method, "POST");
        assert_eq!(aws.body.as_deref(), Some(AWS_BODY.as_bytes()));
        let authorization = &aws.headers.iter().find(|(n, _)| *n == "Authorization").unwrap().1;
        assert!(
            authorization.starts_with("AWS4-HMAC-SHA256 Credential=AKIA/20150830/us-east-1/sts/aws4_request")
        );
    }

    #[test]
    fn answers() {
        let github = named("GitHub").unwrap();
        let answer = |status, body: &str| Answer { status, body: body.as_bytes().to_vec() };
        assert_eq!(github.judge(&answer(200, "")), Verification::Live);
        assert_eq!(github.judge(&answer(401, "")), Verification::Dead);
        assert_eq!(github.judge(&answer(429, "")), Verification::Unknown(Reason::RateLimited));
        assert_eq!(github.judge(&answer(302, "")), Verification::Unknown(Reason::Redirect(302)));
        assert_eq!(github.judge(&answer(503, "")), Verification::Unknown(Reason::Unexpected(503)));
        let slack = named("slack").unwrap();
        assert_eq!(slack.judge(&answer(200, r#"{"ok":true}"#)), Verification::Live);
        assert_eq!(slack.judge(&answer(200, r#"{"ok":false,"error":"invalid_auth"}"#)), Verification::Dead);
        assert_eq!(slack.judge(&answer(200, "<html>")), Verification::Unknown(Reason::Unexpected(200)));
    }
}
