//! `--verify`, the rotation ledger and `keyrot verify --env`, against a mock provider: a plain
//! HTTP server on 127.0.0.1 in a thread of the test, named with `--verify-endpoint`, that
//! records every request and answers as a provider would (a live key, a revoked one, a rate
//! limit, a 5xx, a redirect, a server too slow to answer). No test reaches the internet.

mod common;
use common::*;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// One request as the mock received it.
#[derive(Clone, Debug)]
struct Seen {
    method: String,
    path: String,
    /// Header names in lower case.
    headers: Vec<(String, String)>,
    body: Vec<u8>,
    /// The whole request as bytes, head and body.
    raw: Vec<u8>,
}

impl Seen {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }

    /// How many times `text` occurs anywhere in the request.
    fn count(&self, text: &str) -> usize {
        String::from_utf8_lossy(&self.raw).matches(text).count()
    }
}

enum Reply {
    Status(u16, &'static str),
    Redirect(&'static str),
    /// Waits this long before answering 200.
    Slow(Duration),
}

struct Mock {
    url: String,
    seen: Arc<Mutex<Vec<Seen>>>,
}

impl Mock {
    /// A server that answers each request with `reply(request)`.
    fn start(reply: impl Fn(&Seen) -> Reply + Send + Sync + 'static) -> Mock {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let seen = Arc::new(Mutex::new(Vec::new()));
        let (record, reply) = (seen.clone(), Arc::new(reply));
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let (record, reply) = (record.clone(), reply.clone());
                std::thread::spawn(move || {
                    let Some(request) = read_request(&stream) else { return };
                    record.lock().unwrap().push(request.clone());
                    let (status, extra, body) = match reply(&request) {
                        Reply::Status(status, body) => (status, String::new(), body),
                        Reply::Redirect(to) => (302, format!("Location: {to}\r\n"), ""),
                        Reply::Slow(wait) => {
                            std::thread::sleep(wait);
                            (200, String::new(), "{}")
                        }
                    };
                    let mut stream = stream;
                    let _ = write!(
                        stream,
                        "HTTP/1.1 {status} Mock\r\n{extra}Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                        body.len()
                    );
                });
            }
        });
        Mock { url, seen }
    }

    fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }

    /// `--verify-endpoint NAME=URL` for each provider name.
    fn endpoints(&self, providers: &[&str]) -> Vec<String> {
        providers
            .iter()
            .flat_map(|p| ["--verify-endpoint".to_string(), format!("{p}={}", self.url)])
            .collect()
    }
}

fn read_request(stream: &std::net::TcpStream) -> Option<Seen> {
    stream.set_read_timeout(Some(Duration::from_secs(10))).ok()?;
    let mut reader = BufReader::new(stream);
    let mut raw = Vec::new();
    let mut line = String::new();
    reader.read_line(&mut line).ok()?;
    raw.extend_from_slice(line.as_bytes());
    let mut parts = line.split_whitespace();
    let (method, path) = (parts.next()?.to_string(), parts.next()?.to_string());
    let mut headers = Vec::new();
    loop {
        let mut line = String::new();
        reader.read_line(&mut line).ok()?;
        raw.extend_from_slice(line.as_bytes());
        let trimmed = line.trim_end();
        if trimmed.is_empty() {
            break;
        }
        let (name, value) = trimmed.split_once(':')?;
        headers.push((name.trim().to_ascii_lowercase(), value.trim().to_string()));
    }
    let length =
        headers.iter().find(|(n, _)| n == "content-length").map_or(0, |(_, v)| v.parse().unwrap_or(0));
    let mut body = vec![0; length];
    reader.read_exact(&mut body).ok()?;
    raw.extend_from_slice(&body);
    Some(Seen { method, path, headers, body, raw })
}

fn args<'a>(fixed: &[&'a str], more: &'a [String]) -> Vec<&'a str> {
    fixed.iter().copied().chain(more.iter().map(String::as_str)).collect()
}

fn finding<'a>(json: &'a serde_json::Value, rule: &str) -> &'a serde_json::Value {
    json["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["rule"] == rule)
        .unwrap_or_else(|| panic!("{rule}: {json}"))
}

/// A repository whose `origin` (a bare repository beside it) has both commits: a Replicate token
/// committed first, then a GitHub token.
fn pushed_repo() -> (Repo, tempfile::TempDir) {
    let origin = plain_dir();
    git_in(origin.path(), &["init", "-q", "--bare", "-b", "main"], "2026-01-05T09:00:00Z");
    let repo = Repo::new();
    repo.write("worker.py", format!("REPLICATE_API_TOKEN = \"{REPLICATE}\"\n"));
    repo.commit_at("add worker", "2026-01-05T09:30:00Z");
    repo.write("deploy.sh", format!("export GITHUB_TOKEN={GITHUB}\n"));
    repo.commit_at("deploy script", "2026-02-10T08:00:00Z");
    repo.git(&["remote", "add", "origin", &origin.path().display().to_string()]);
    repo.git(&["push", "-q", "origin", "main"]);
    (repo, origin)
}

/// GitHub's `/user` accepts `GITHUB`; Replicate's `/v1/account` refuses everything.
fn github_live_replicate_revoked() -> Mock {
    Mock::start(|r| match r.path.as_str() {
        "/user" if r.header("authorization") == Some(&format!("Bearer {GITHUB}")) => Reply::Status(200, "{}"),
        _ => Reply::Status(401, r#"{"message":"Bad credentials"}"#),
    })
}

#[test]
fn a_live_github_token_and_a_revoked_replicate_token_in_history() {
    let (repo, _origin) = pushed_repo();
    let mock = github_live_replicate_revoked();
    let endpoints = mock.endpoints(&["github", "Replicate"]);
    let run = repo.keyrot(&args(&["scan", "--history", "--verify", "--format", "json"], &endpoints));
    assert_eq!(run.code, 1, "{}", run.all());
    let json = run.json();
    assert_eq!(finding(&json, "github-classic-token")["verification"], serde_json::json!({"state": "live"}));
    assert_eq!(finding(&json, "replicate-api-token")["verification"], serde_json::json!({"state": "dead"}));

    let seen = mock.seen();
    assert_eq!(seen.len(), 2, "one request per key: {seen:?}");
    let github = seen.iter().find(|r| r.path == "/user").expect("GitHub was asked");
    assert_eq!(github.method, "GET");
    assert_eq!(github.header("authorization"), Some(format!("Bearer {GITHUB}").as_str()));
    assert_eq!(
        github.count(GITHUB),
        1,
        "the token only in its header: {:?}",
        String::from_utf8_lossy(&github.raw)
    );
    assert!(github.body.is_empty());
    let replicate = seen.iter().find(|r| r.path == "/v1/account").expect("Replicate was asked");
    assert_eq!(replicate.method, "GET");
    assert_eq!(replicate.header("authorization"), Some(format!("Bearer {REPLICATE}").as_str()));
    assert_eq!(replicate.count(REPLICATE), 1);
    assert_eq!(replicate.count(GITHUB), 0, "each key only to its own provider");
    assert_not_revealed(&run, &[GITHUB, REPLICATE]);

    // The human report: the live key comes first under Keys to rotate, though committed later.
    let human = repo.keyrot(&args(&["scan", "--history", "--verify"], &endpoints));
    let section = human.stdout.split("Keys to rotate").nth(1).expect("a rotation section");
    let (github_row, replicate_row) = (section.find("GitHub").unwrap(), section.find("Replicate").unwrap());
    assert!(github_row < replicate_row, "the live key first:\n{section}");
    assert!(human.stdout.contains("verified live: the key still works"), "{}", human.stdout);
    assert!(human.stdout.contains("verified dead: the provider refused the key"), "{}", human.stdout);
    assert_not_revealed(&human, &[GITHUB, REPLICATE]);

    let sarif =
        repo.keyrot(&args(&["scan", "--history", "--verify", "--format", "sarif"], &endpoints)).json();
    let results = sarif["runs"][0]["results"].as_array().unwrap();
    let github = results.iter().find(|r| r["ruleId"] == "github-classic-token").unwrap();
    assert_eq!(github["properties"]["verification"]["state"], "live");
    let checklist =
        repo.keyrot(&args(&["scan", "--history", "--verify", "--format", "checklist"], &endpoints));
    let items: Vec<&str> = checklist.stdout.lines().filter(|l| l.starts_with("- [ ] Rotate")).collect();
    assert!(items[0].contains("GitHub") && items[0].contains("the key still works"), "{items:?}");
    assert!(items[1].contains("Replicate") && items[1].contains("the provider refuses the key"), "{items:?}");
}

#[test]
fn no_request_is_made_without_verify() {
    let (repo, _origin) = pushed_repo();
    let mock = github_live_replicate_revoked();
    let endpoints = mock.endpoints(&["GitHub", "Replicate"]);
    for format in ["human", "json", "sarif", "checklist"] {
        let run = repo.keyrot(&args(&["scan", "--history", "--format", format], &endpoints));
        assert_eq!(run.code, 1, "{}", run.all());
        assert!(!run.stdout.contains("verification") && !run.stdout.contains("verified"), "{}", run.stdout);
    }
    repo.write("later.sh", format!("T={GITHUB2}\n"));
    repo.git(&["add", "later.sh"]);
    assert_eq!(repo.keyrot(&args(&["scan", "--staged"], &endpoints)).code, 1);
    // The pre-commit hook keyrot installs runs `scan --staged`, without --verify.
    assert_eq!(repo.keyrot(&["install"]).code, 0);
    let hook = std::fs::read_to_string(repo.path().join(".git/hooks/pre-commit")).unwrap();
    assert!(hook.contains("scan --staged") && !hook.contains("--verify"), "{hook}");
    assert!(mock.seen().is_empty(), "{:?}", mock.seen());
}

#[test]
fn rate_limits_errors_redirects_and_timeouts_are_unknown_and_the_findings_stay() {
    let repo = Repo::new();
    repo.write(
        "a.env.txt",
        format!("GITHUB_TOKEN={GITHUB}\nREPLICATE_API_TOKEN={REPLICATE}\nFAL_KEY={FAL}\n"),
    );
    repo.write("b.txt", "GITLAB_TOKEN=glpat-4dr6eGznYwcYUmi5c78Q\n");
    repo.commit("keys");
    let mock = Mock::start(|r| match r.path.as_str() {
        "/user" => Reply::Status(429, r#"{"message":"rate limited"}"#),
        "/v1/account" => Reply::Status(503, "unavailable"),
        "/v1/models?limit=1" => Reply::Redirect("/elsewhere"),
        "/api/v4/user" => Reply::Slow(Duration::from_secs(4)),
        _ => Reply::Status(200, "{}"),
    });
    let endpoints = mock.endpoints(&["GitHub", "Replicate", "FAL", "GitLab"]);
    let started = std::time::Instant::now();
    let run = keyrot_within(
        repo.path(),
        &args(&["scan", "--history", "--verify", "--verify-timeout", "1", "--format", "json"], &endpoints),
        Duration::from_secs(30),
    );
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "the slow check was cut at 1 s: {:?}",
        started.elapsed()
    );
    assert_eq!(run.code, 1, "{}", run.all());
    let json = run.json();
    let reason = |rule| finding(&json, rule)["verification"].clone();
    let unknown = |why: &str| serde_json::json!({"state": "unknown", "reason": why});
    assert_eq!(reason("github-classic-token"), unknown("rate limited"));
    assert_eq!(reason("replicate-api-token"), unknown("unexpected answer 503"));
    assert_eq!(reason("fal-api-key"), unknown("redirect 302 not followed"));
    assert_eq!(reason("gitlab-personal-access-token"), unknown("timeout"));
    assert_eq!(json["summary"]["findings"], 4, "every finding is still reported");
    let paths: Vec<String> = mock.seen().iter().map(|r| r.path.clone()).collect();
    assert!(!paths.contains(&"/elsewhere".to_string()), "the redirect was not followed: {paths:?}");
    assert_eq!(paths.len(), 4, "{paths:?}");
    let gitlab = mock.seen().into_iter().find(|r| r.path == "/api/v4/user").unwrap();
    assert_eq!(gitlab.header("private-token"), Some("glpat-4dr6eGznYwcYUmi5c78Q"));
    assert_eq!(gitlab.header("authorization"), None);
    let fal = mock.seen().into_iter().find(|r| r.path.starts_with("/v1/models")).unwrap();
    assert_eq!(fal.header("authorization"), Some(format!("Key {FAL}").as_str()));
    assert!(!run.stderr.contains(FAL) && !run.stderr.contains("glpat-4dr6"), "{}", run.stderr);
}

/// A key per verifier, each with what its rule needs around it; the mock accepts them all.
const KEYS: &str = "\
FAL_KEY=db47e838-3a87-4094-91f3-dcad76306282:c8ddf1549e6a1c92b93050f90f8aca83
REPLICATE_API_TOKEN=r8_qk9AAUgJcHecOBLMIvJw08QiT6FBHgIVwXDg6
GITHUB_TOKEN=ghp_a1ckGTKUDvQtiV4P3JNByrZjFHh5nLrNuEbw
GITLAB_TOKEN=glpat-4dr6eGznYwcYUmi5c78Q
SLACK_BOT_TOKEN=xoxb-583644095349-1641589848299-y2lhuQBwIPiEhGuIvrEBUpD6
STRIPE_SECRET_KEY=sk_live_zsKUJ6ytR19hQYzQpAZvRfni
client = OpenAI(api_key=\"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\")
ANTHROPIC_API_KEY=sk-ant-api03-N-ifErwNrYf4fggg2oZLgMEOrduq3J1TuYlswpnJP_dkHRXYjJzgcqQkBsKyOCjxEVq7b8xyfBe9O64i1n8Cha72cpNgRAA
HF_TOKEN=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
NPM_TOKEN=npm_3IVqvCZKKWnjF8MnrcrBNcTbic9XB2ZFNaBO
SENDGRID_API_KEY=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
TWILIO_ACCOUNT_SID=ACe3b0c44298fc1c149afbf4c8996fb924
TWILIO_AUTH_TOKEN=7154ee2f75f3fd7ff4af5374a4de7a74
MAILGUN_API_KEY=key-6eaad326c2302ec1818ef727e04377ca
DIGITALOCEAN_TOKEN=dop_v1_ad7e671eea3b42f0d236e672b5af32c6419baa93039a58ff6f8318a927c9019e
HEROKU_API_KEY=HRKU-AA6kWl1R_wY5eY5WcxyOZj9G2v7eQkwy8sHbCGGPJ7kNhtnVqNeH8OjEF5qR
DD_API_KEY=45e2daa70591a6e9eecf6110eebb5ea3
DISCORD_TOKEN=MTg3Nzg5MzI4NzkyMTc0MjE4.GM2C4U.zNmwGkKHTlPlhVqa9L0mR-gsDaP0uH7m2oiWi_
TELEGRAM_BOT_TOKEN=5674983316:AATCIYVAzvaiX-FOmjSKC66dcJ7V4f8Pu_6
NOTION_API_KEY=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
AWS_ACCESS_KEY_ID=AKIAZCEYYKC33JDNH5OY
aws_secret_access_key = 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
";

/// (provider, method, path, header carrying the key, its exact value; None: the key is in the path)
fn expected() -> Vec<(&'static str, &'static str, String, &'static str, Option<String>)> {
    let basic =
        |user: &str, password: &str| format!("Basic {}", base64(format!("{user}:{password}").as_bytes()));
    vec![
        ("FAL", "GET", "/v1/models?limit=1".into(), "authorization", Some(format!("Key {FAL}"))),
        ("Replicate", "GET", "/v1/account".into(), "authorization", Some(format!("Bearer {REPLICATE}"))),
        ("GitHub", "GET", "/user".into(), "authorization", Some(format!("Bearer {GITHUB}"))),
        ("GitLab", "GET", "/api/v4/user".into(), "private-token", Some("glpat-4dr6eGznYwcYUmi5c78Q".into())),
        ("Slack", "POST", "/api/auth.test".into(), "authorization",
            Some("Bearer xoxb-583644095349-1641589848299-y2lhuQBwIPiEhGuIvrEBUpD6".into())),
        ("Stripe", "GET", "/v1/balance".into(), "authorization", Some("Bearer sk_live_zsKUJ6ytR19hQYzQpAZvRfni".into())),
        ("OpenAI", "GET", "/v1/models".into(), "authorization",
            Some("Bearer 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".into())),
        ("Anthropic", "GET", "/v1/models?limit=1".into(), "x-api-key", Some("sk-ant-api03-N-ifErwNrYf4fggg2oZLgMEOrduq3J1TuYlswpnJP_dkHRXYjJzgcqQkBsKyOCjxEVq7b8xyfBe9O64i1n8Cha72cpNgRAA".into())),
        ("Hugging Face", "GET", "/api/whoami-v2".into(), "authorization", Some("Bearer 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".into())),
        ("npm", "GET", "/-/whoami".into(), "authorization", Some("Bearer npm_3IVqvCZKKWnjF8MnrcrBNcTbic9XB2ZFNaBO".into())),
        ("SendGrid", "GET", "/v3/scopes".into(), "authorization",
            Some("Bearer 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".into())),
        ("Twilio", "GET", "/2010-04-01/Accounts/ACe3b0c44298fc1c149afbf4c8996fb924.json".into(), "authorization",
            Some(basic("ACe3b0c44298fc1c149afbf4c8996fb924", "7154ee2f75f3fd7ff4af5374a4de7a74"))),
        ("Mailgun", "GET", "/v3/domains?limit=1".into(), "authorization", Some(basic("api", "key-6eaad326c2302ec1818ef727e04377ca"))),
        ("DigitalOcean", "GET", "/v2/account".into(), "authorization",
            Some("Bearer dop_v1_ad7e671eea3b42f0d236e672b5af32c6419baa93039a58ff6f8318a927c9019e".into())),
        ("Heroku", "GET", "/account".into(), "authorization",
            Some("Bearer HRKU-AA6kWl1R_wY5eY5WcxyOZj9G2v7eQkwy8sHbCGGPJ7kNhtnVqNeH8OjEF5qR".into())),
        ("Datadog", "GET", "/api/v1/validate".into(), "dd-api-key", Some("45e2daa70591a6e9eecf6110eebb5ea3".into())),
        ("Discord", "GET", "/api/v10/users/@me".into(), "authorization",
            Some("Bot MTg3Nzg5MzI4NzkyMTc0MjE4.GM2C4U.zNmwGkKHTlPlhVqa9L0mR-gsDaP0uH7m2oiWi_".into())),
        ("Telegram", "GET", "/bot5674983316:AATCIYVAzvaiX-FOmjSKC66dcJ7V4f8Pu_6/getMe".into(), "", None),
        ("Notion", "GET", "/v1/users/me".into(), "authorization",
            Some("Bearer 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".into())),
    ]
}

fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let b = [chunk[0], *chunk.get(1).unwrap_or(&0), *chunk.get(2).unwrap_or(&0)];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            out.push(if i <= chunk.len() {
                ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char
            } else {
                '='
            });
        }
    }
    out
}

#[test]
fn each_verifier_sends_its_documented_request_and_the_key_nowhere_else() {
    let dir = plain_dir();
    std::fs::write(dir.path().join("settings.txt"), KEYS).unwrap();
    let mock = Mock::start(|r| match r.path.as_str() {
        "/api/auth.test" => Reply::Status(200, r#"{"ok":true}"#),
        _ => Reply::Status(200, "{}"),
    });
    let mut providers: Vec<&str> = expected().iter().map(|e| e.0).collect();
    providers.push("AWS");
    let endpoints = mock.endpoints(&providers);
    let run =
        keyrot_in(dir.path(), &args(&["scan", "settings.txt", "--verify", "--format", "json"], &endpoints));
    assert_eq!(run.code, 1, "{}", run.all());
    let seen = mock.seen();
    for (provider, method, path, header, value) in expected() {
        // FAL and Anthropic share a path: tell them apart by the header that carries the key.
        let request = seen
            .iter()
            .find(|r| r.path == path && (value.is_none() || r.header(header) == value.as_deref()))
            .unwrap_or_else(|| panic!("{provider}: no {path} with its key in {seen:?}"));
        assert_eq!(request.method, method, "{provider}");
        let key = match &value {
            Some(value) => {
                assert_eq!(request.header(header), Some(value.as_str()), "{provider}");
                value.rsplit(' ').next().unwrap().to_string()
            }
            None => path.trim_start_matches("/bot").trim_end_matches("/getMe").to_string(),
        };
        assert_eq!(
            request.count(&key),
            1,
            "{provider}: the key once, where documented: {}",
            String::from_utf8_lossy(&request.raw)
        );
    }
    // AWS: one signed POST for the key id and secret found together (two findings, one request).
    let aws: Vec<&Seen> = seen.iter().filter(|r| r.header("x-amz-date").is_some()).collect();
    assert_eq!(aws.len(), 1, "{seen:?}");
    let aws = aws[0];
    assert_eq!((aws.method.as_str(), aws.path.as_str()), ("POST", "/"));
    assert_eq!(aws.body, b"Action=GetCallerIdentity&Version=2011-06-15");
    let authorization = aws.header("authorization").unwrap();
    assert!(
        authorization.starts_with("AWS4-HMAC-SHA256 Credential=AKIAZCEYYKC33JDNH5OY/"),
        "{authorization}"
    );
    assert!(authorization
        .contains("/us-east-1/sts/aws4_request, SignedHeaders=content-type;host;x-amz-date, Signature="));
    assert_eq!(aws.count("kUVP22zta+c/FhuPlcJiSe7kxEF5TO7O38baSe2T"), 0, "the AWS secret is never sent");
    assert_eq!(seen.len(), expected().len() + 1, "one request per distinct key: {seen:?}");

    let json = run.json();
    for f in json["findings"].as_array().unwrap() {
        let state = f["verification"]["state"].as_str().unwrap();
        let expected_state = if f["provider"].is_null() { "unknown" } else { "live" };
        assert_eq!(state, expected_state, "{f}");
    }
    assert_eq!(finding(&json, "aws-access-key-id")["verification"]["state"], "live");
}

#[test]
fn rotated_then_verify_against_a_provider_that_still_accepts_the_key_says_rotation_failed() {
    let (repo, _origin) = pushed_repo();
    repo.git(&["config", "user.name", "Grace Hopper"]);
    repo.git(&["config", "user.email", "grace@example.org"]);
    let json = repo.keyrot(&["scan", "--history", "--format", "json"]).json();
    let fingerprint = finding(&json, "github-classic-token")["fingerprint"].as_str().unwrap().to_string();

    let recorded = repo.keyrot(&["rotated", &fingerprint, "--note", "SEC-42"]);
    assert_eq!(recorded.code, 0, "{}", recorded.all());
    let baseline: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(repo.path().join(".keyrot-baseline.json")).unwrap())
            .unwrap();
    let entries = baseline["findings"].as_array().unwrap();
    assert_eq!(entries.len(), 1, "{baseline}");
    let rotated = &entries[0]["rotated"];
    assert_eq!(entries[0]["fingerprint"], fingerprint.as_str());
    assert_eq!(rotated["by"], "Grace Hopper <grace@example.org>");
    assert_eq!(rotated["note"], "SEC-42");
    assert!(rotated["date"].as_str().unwrap().ends_with("+00:00"), "{rotated}");
    assert!(rotated.get("old_key").is_none(), "not verified: {rotated}");

    // Still accepted by the provider: the rotation failed.
    let still = Mock::start(|_| Reply::Status(200, "{}"));
    let endpoints = still.endpoints(&["GitHub", "Replicate"]);
    let run = repo.keyrot(&args(&["scan", "--history", "--verify"], &endpoints));
    assert_eq!(run.code, 1, "{}", run.all());
    assert!(run.stdout.contains("ROTATION FAILED: the old key still works"), "{}", run.stdout);
    let json = repo.keyrot(&args(&["scan", "--history", "--verify", "--format", "json"], &endpoints));
    assert!(json.stderr.contains("ROTATION FAILED: the old key still works"), "{}", json.stderr);
    assert_eq!(json.code, 1);
    assert_eq!(json.json()["rotation_failed"][0]["fingerprint"], fingerprint.as_str());
    assert_not_revealed(&run, &[GITHUB]);

    // Revoked: a rotation that worked; with the Replicate key recorded too, the run is clean.
    let revoked = Mock::start(|_| Reply::Status(401, "{}"));
    let endpoints = revoked.endpoints(&["GitHub", "Replicate"]);
    let replicate =
        finding(&repo.keyrot(&["scan", "--history", "--format", "json"]).json(), "replicate-api-token")
            ["fingerprint"]
            .as_str()
            .unwrap()
            .to_string();
    let recorded = repo.keyrot(&args(&["rotated", &replicate, "--verify"], &endpoints));
    assert_eq!(recorded.code, 0, "{}", recorded.all());
    assert!(recorded.stdout.contains("the old key is dead"), "{}", recorded.all());
    let run = repo.keyrot(&args(&["scan", "--history", "--verify"], &endpoints));
    assert_eq!(run.code, 0, "{}", run.all());
    assert!(!run.all().contains("ROTATION FAILED"), "{}", run.all());
    let baseline = std::fs::read_to_string(repo.path().join(".keyrot-baseline.json")).unwrap();
    assert!(baseline.contains("\"old_key\": \"dead\""), "{baseline}");

    // Recording an unknown fingerprint is an error, and changes nothing.
    let unknown = repo.keyrot(&["rotated", "v2:00000000000000000000000000000000"]);
    assert_eq!(unknown.code, 2, "{}", unknown.all());
    assert_eq!(std::fs::read_to_string(repo.path().join(".keyrot-baseline.json")).unwrap(), baseline);
}

#[test]
fn require_rotated_fails_on_a_pushed_key_with_no_ledger_entry() {
    let (repo, _origin) = pushed_repo();
    assert_eq!(repo.keyrot(&["baseline"]).code, 0);
    // Accepted in the baseline, so a plain scan passes; CI asking for proof of rotation fails.
    assert_eq!(repo.keyrot(&["scan", "--history"]).code, 0);
    let run = repo.keyrot(&["scan", "--history", "--require-rotated"]);
    assert_eq!(run.code, 1, "{}", run.all());
    assert!(run.stderr.contains("pushed secret with no rotation recorded: GitHub"), "{}", run.stderr);
    assert!(run.stderr.contains("pushed secret with no rotation recorded: Replicate"), "{}", run.stderr);
    assert_not_revealed(&run, &[GITHUB, REPLICATE]);

    let json = repo.keyrot(&["scan", "--history", "--format", "json", "--no-baseline"]).json();
    for rule in ["github-classic-token", "replicate-api-token"] {
        let fingerprint = finding(&json, rule)["fingerprint"].as_str().unwrap().to_string();
        assert_eq!(repo.keyrot(&["rotated", &fingerprint]).code, 0);
    }
    let run = repo.keyrot(&["scan", "--history", "--require-rotated"]);
    assert_eq!(run.code, 0, "{}", run.all());

    // A key committed but not pushed is not asked for.
    repo.write("local.sh", format!("T={GITHUB3}\n"));
    repo.commit("local only");
    assert_eq!(repo.keyrot(&["baseline"]).code, 0);
    assert_eq!(repo.keyrot(&["scan", "--history", "--require-rotated"]).code, 0);
    assert_eq!(
        repo.keyrot(&["scan", ".", "--require-rotated"]).code,
        2,
        "a file scan cannot tell what was pushed"
    );
}

#[test]
fn verify_env_prints_one_line_per_key() {
    let dir = plain_dir();
    std::fs::write(
        dir.path().join(".env"),
        format!("GITHUB_TOKEN={GITHUB}\nREPLICATE_API_TOKEN={REPLICATE}\nDEBUG=true\n"),
    )
    .unwrap();
    let mock = github_live_replicate_revoked();
    let endpoints = mock.endpoints(&["github", "replicate"]);
    let run = keyrot_in(dir.path(), &args(&["verify", "--env", ".env"], &endpoints));
    assert_eq!(run.code, 1, "one key is dead: {}", run.all());
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert_eq!(lines.len(), 2, "{}", run.stdout);
    assert!(
        lines[0].starts_with("GitHub") && lines[0].contains("ghp_a1ck...") && lines[0].ends_with("live"),
        "{lines:?}"
    );
    assert!(
        lines[1].starts_with("Replicate") && lines[1].contains("r8_") && lines[1].ends_with("dead"),
        "{lines:?}"
    );
    assert_not_revealed(&run, &[GITHUB, REPLICATE]);
    assert_eq!(mock.seen().len(), 2);

    std::fs::write(dir.path().join(".env"), format!("GITHUB_TOKEN={GITHUB}\n")).unwrap();
    assert_eq!(keyrot_in(dir.path(), &args(&["verify", "--env", ".env"], &endpoints)).code, 0, "all live");
}

#[test]
fn endpoints_must_be_https_or_loopback_and_name_a_verifier() {
    let dir = plain_dir();
    std::fs::write(dir.path().join("a.txt"), format!("T={GITHUB}\n")).unwrap();
    for bad in ["github=http://gitlab.example.com", "nobody=https://example.com", "github"] {
        let run = keyrot_in(dir.path(), &["scan", "a.txt", "--verify", "--verify-endpoint", bad]);
        assert_eq!(run.code, 2, "{bad}: {}", run.all());
    }
}
