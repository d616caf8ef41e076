//! AWS Signature Version 4, only as far as `sts:GetCallerIdentity` needs it: one request, headers
//! `content-type`, `host` and `x-amz-date`, a body, no query string. Written here with `sha2` and
//! a small HMAC rather than pulling in an SDK; the test pins AWS's own published example.

use sha2::{Digest, Sha256};

/// What is signed: the request as it will be sent.
pub struct Signable<'a> {
    pub method: &'a str,
    pub host: &'a str,
    pub path: &'a str,
    pub query: &'a str,
    pub content_type: &'a str,
    pub body: &'a [u8],
    /// `YYYYMMDDTHHMMSSZ`
    pub amz_date: &'a str,
    pub region: &'a str,
    pub service: &'a str,
}

/// The `Authorization` header value for `request`, signed with the key id and secret.
pub fn authorization(request: &Signable, key_id: &str, secret: &[u8]) -> String {
    let signed_headers = "content-type;host;x-amz-date";
    let canonical = format!(
        "{}\n{}\n{}\ncontent-type:{}\nhost:{}\nx-amz-date:{}\n\n{signed_headers}\n{}",
        request.method,
        request.path,
        request.query,
        request.content_type,
        request.host,
        request.amz_date,
        hex(&Sha256::digest(request.body))
    );
    let day = &request.amz_date[..8];
    let scope = format!("{day}/{}/{}/aws4_request", request.region, request.service);
    let to_sign =
        format!("AWS4-HMAC-SHA256\n{}\n{scope}\n{}", request.amz_date, hex(&Sha256::digest(canonical)));
    let key = signing_key(secret, day, request.region, request.service);
    let signature = hex(&hmac_sha256(&key, to_sign.as_bytes()));
    format!(
        "AWS4-HMAC-SHA256 Credential={key_id}/{scope}, SignedHeaders={signed_headers}, Signature={signature}"
    )
}

fn signing_key(secret: &[u8], day: &str, region: &str, service: &str) -> [u8; 32] {
    let start = [b"AWS4".as_slice(), secret].concat();
    let key = hmac_sha256(&start, day.as_bytes());
    let key = hmac_sha256(&key, region.as_bytes());
    let key = hmac_sha256(&key, service.as_bytes());
    hmac_sha256(&key, b"aws4_request")
}

/// HMAC-SHA256 (RFC 2104).
fn hmac_sha256(key: &[u8], message: &[u8]) -> [u8; 32] {
    let mut block = [0u8; 64];
    if key.len() > block.len() {
        block[..32].copy_from_slice(&Sha256::digest(key));
    } else {
        block[..key.len()].copy_from_slice(key);
    }
    let inner = Sha256::new().chain_update(block.map(|b| b ^ 0x36)).chain_update(message).finalize();
    Sha256::new().chain_update(block.map(|b| b ^ 0x5c)).chain_update(inner).finalize().into()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// `YYYYMMDDTHHMMSSZ` for seconds since the epoch.
pub fn amz_date(seconds: i64) -> String {
    let iso = crate::time::iso8601(seconds, 0); // 2015-08-30T12:36:00+00:00
    format!("{}{}{}T{}{}{}Z", &iso[0..4], &iso[5..7], &iso[8..10], &iso[11..13], &iso[14..16], &iso[17..19])
}

#[cfg(test)]
mod tests {
    use super::*;

    /// AWS's worked example of the whole signing process (IAM `ListUsers`, 2015-08-30): its
    /// signing key and signature are published with the example.
    #[test]
    fn matches_the_published_example() {
        let secret = b"wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
        assert_eq!(
            hex(&signing_key(secret, "20150830", "us-east-1", "iam")),
            "c4afb1cc5771d871763a393e44b703571b55cc28424d1a5e86da6ed3c154a4b9"
        );
        let request = Signable {
            method: "GET",
            host: "iam.amazonaws.com",
            path: "/",
            query: "Action=ListUsers&Version=2010-05-08",
            content_type: "application/x-www-form-urlencoded; charset=utf-8",
            body: b"",
            amz_date: "20150830T123600Z",
            region: "us-east-1",
            service: "iam",
        };
        assert_eq!(
            authorization(&request, "AKIDEXAMPLE", secret),
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/iam/aws4_request, \
             SignedHeaders=content-type;host;x-amz-date, \
             Signature=5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7"
        );
    }

    #[test]
    fn hmac_matches_rfc_4231() {
        // Test case 2: key "Jefe".
        assert_eq!(
            hex(&hmac_sha256(b"Jefe", b"what do ya want for nothing?")),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn dates_are_compact_utc() {
        assert_eq!(amz_date(1_440_938_160), "20150830T123600Z");
    }
}
