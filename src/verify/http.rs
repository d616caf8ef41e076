//! The one way keyrot talks to the network: HTTPS requests to a provider, no redirects followed,
//! no proxy from the environment, one time limit for the whole request, and no connection to a
//! private, loopback or link-local address unless the user named that endpoint. The addresses are
//! checked after resolution, in the resolver ureq connects with, so a public name that resolves
//! to an internal address (or rebinds to one) is refused too.
//!
//! Nothing here formats a URL, a header or a transport error into text: a Telegram key travels in
//! the URL path, and ureq's error messages quote the URL. Failures become a `Reason` only.

use super::Reason;
use std::collections::HashSet;
use std::io::{self, Read};
use std::net::{IpAddr, Ipv4Addr, SocketAddr, ToSocketAddrs};
use std::time::Duration;

/// The most of an answer read: enough for a Slack `auth.test` body, no more.
const MAX_BODY: u64 = 64 * 1024;

/// A request ready to send. It holds the key (in a header, the body or the URL), so it has no
/// `Debug` and is never printed.
pub struct Request {
    pub method: &'static str,
    pub url: String,
    pub headers: Vec<(&'static str, String)>,
    pub body: Option<Vec<u8>>,
}

/// A provider's answer: the status and the start of the body.
pub struct Answer {
    pub status: u16,
    pub body: Vec<u8>,
}

pub struct Client {
    agent: ureq::Agent,
}

impl Client {
    /// `trusted`: the `host:port` of endpoints the user configured, which may be internal.
    pub fn new(timeout: Duration, trusted: HashSet<String>) -> Client {
        let agent = ureq::AgentBuilder::new()
            .timeout(timeout)
            .redirects(0)
            .try_proxy_from_env(false)
            .user_agent(concat!("keyrot/", env!("CARGO_PKG_VERSION")))
            .resolver(move |netloc: &str| resolve(netloc, trusted.contains(&netloc.to_ascii_lowercase())))
            .build();
        Client { agent }
    }

    pub fn send(&self, request: &Request) -> Result<Answer, Reason> {
        let mut call = self.agent.request(request.method, &request.url);
        for (name, value) in &request.headers {
            call = call.set(name, value);
        }
        let result = match &request.body {
            Some(body) => call.send_bytes(body),
            None => call.call(),
        };
        let response = match result {
            Ok(response) => response,
            Err(ureq::Error::Status(_, response)) => response,
            Err(ureq::Error::Transport(transport)) => return Err(reason(&transport)),
        };
        let status = response.status();
        let mut body = Vec::new();
        // A body cut short by the time limit still leaves the status, which decides.
        let _ = response.into_reader().take(MAX_BODY).read_to_end(&mut body);
        Ok(Answer { status, body })
    }
}

/// What went wrong, from the error's kinds only (never its text, which quotes the URL).
fn reason(transport: &ureq::Transport) -> Reason {
    let mut source: Option<&(dyn std::error::Error + 'static)> = std::error::Error::source(transport);
    while let Some(error) = source {
        if let Some(io) = error.downcast_ref::<io::Error>() {
            match io.kind() {
                io::ErrorKind::PermissionDenied if transport.kind() == ureq::ErrorKind::Dns => {
                    return Reason::RefusedAddress
                }
                io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock => return Reason::Timeout,
                _ => {}
            }
        }
        source = error.source();
    }
    match transport.kind() {
        ureq::ErrorKind::Dns => Reason::Unreachable("cannot resolve the host"),
        ureq::ErrorKind::ConnectionFailed => Reason::Unreachable("cannot connect"),
        _ => Reason::Unreachable("the connection failed"),
    }
}

/// The addresses to connect to for `netloc`: all of them for an endpoint the user configured,
/// else only public ones; none left is a refusal (`PermissionDenied`).
fn resolve(netloc: &str, trusted: bool) -> io::Result<Vec<SocketAddr>> {
    let addresses: Vec<SocketAddr> = netloc.to_socket_addrs()?.collect();
    if trusted {
        return Ok(addresses);
    }
    let public: Vec<SocketAddr> = addresses.into_iter().filter(|a| !is_internal(a.ip())).collect();
    if public.is_empty() {
        return Err(io::Error::new(io::ErrorKind::PermissionDenied, "refused address"));
    }
    Ok(public)
}

/// Private, loopback, link-local, shared, unspecified, multicast, documentation and other
/// special-purpose ranges: nowhere a provider's public API lives.
pub fn is_internal(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_internal_v4(v4),
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_internal_v4(v4);
            }
            let s = v6.segments();
            v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (s[0] & 0xfe00) == 0xfc00 // unique local fc00::/7
                || (s[0] & 0xffc0) == 0xfe80 // link-local fe80::/10
                || (s[0] & 0xffc0) == 0xfec0 // site-local fec0::/10
                || (s[0] == 0x2001 && s[1] == 0x0db8) // documentation
                || (s[0] == 0x64 && s[1] == 0xff9b) // NAT64: an IPv4 address behind it
                || (s[..6] == [0; 6]) // IPv4-compatible ::a.b.c.d
        }
    }
}

fn is_internal_v4(ip: Ipv4Addr) -> bool {
    let [a, b, ..] = ip.octets();
    ip.is_private()
        || ip.is_loopback()
        || ip.is_link_local()
        || ip.is_unspecified()
        || ip.is_broadcast()
        || ip.is_multicast()
        || ip.is_documentation()
        || a == 0
        || (a == 100 && (64..128).contains(&b)) // shared address space (carrier NAT)
        || (a == 192 && b == 0 && ip.octets()[2] == 0) // IETF protocol assignments
        || (a == 198 && (b == 18 || b == 19)) // benchmarking
        || a >= 240 // reserved
}

/// Whether `host` (from a URL) names the loopback interface: `localhost` or a loopback literal.
pub fn is_loopback_host(host: &str) -> bool {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost") || bare.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn internal_ranges_are_refused_and_public_ones_allowed() {
        for internal in [
            "10.1.2.3",
            "172.16.0.1",
            "172.31.255.255",
            "192.168.1.1",
            "127.0.0.1",
            "127.9.9.9",
            "169.254.169.254",
            "0.0.0.0",
            "100.64.0.1",
            "255.255.255.255",
            "224.0.0.1",
            "::1",
            "::",
            "fc00::1",
            "fd12:3456::1",
            "fe80::1",
            "::ffff:127.0.0.1",
            "::ffff:169.254.169.254",
            "::ffff:10.0.0.1",
            "::127.0.0.1",
            "64:ff9b::a9fe:a9fe",
        ] {
            assert!(is_internal(ip(internal)), "{internal} must be refused");
        }
        for public in
            ["8.8.8.8", "140.82.112.5", "172.32.0.1", "100.128.0.1", "2606:4700::1111", "::ffff:1.1.1.1"]
        {
            assert!(!is_internal(ip(public)), "{public} is public");
        }
    }

    #[test]
    fn resolution_refuses_an_internal_address_unless_the_user_configured_it() {
        let refused = resolve("127.0.0.1:443", false).unwrap_err();
        assert_eq!(refused.kind(), io::ErrorKind::PermissionDenied);
        let refused = resolve("localhost:443", false).unwrap_err();
        assert_eq!(refused.kind(), io::ErrorKind::PermissionDenied);
        assert_eq!(resolve("127.0.0.1:8080", true).unwrap(), vec!["127.0.0.1:8080".parse().unwrap()]);
        assert_eq!(resolve("8.8.8.8:443", false).unwrap(), vec!["8.8.8.8:443".parse().unwrap()]);
    }

    #[test]
    fn a_refused_address_is_never_connected_to() {
        // Something listens on loopback; the client, not told to trust it, must not connect.
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let port = listener.local_addr().unwrap().port();
        let client = Client::new(Duration::from_secs(2), HashSet::new());
        let request = Request {
            method: "GET",
            url: format!("http://127.0.0.1:{port}/user"),
            headers: Vec::new(),
            body: None,
        };
        assert!(matches!(client.send(&request), Err(Reason::RefusedAddress)));
        assert!(listener.accept().is_err(), "no connection was made");
    }

    #[test]
    fn loopback_hosts() {
        assert!(is_loopback_host("127.0.0.1") && is_loopback_host("localhost") && is_loopback_host("[::1]"));
        assert!(!is_loopback_host("example.com") && !is_loopback_host("10.0.0.1"));
    }
}
