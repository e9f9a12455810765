//! Content routing and message rewriting for the proxy; pure functions of the request.
//!
//! Rules are tried in order and the first whose conditions all hold picks the pool; a
//! request no rule matches goes to the default pool. Forwarded messages drop the hop-by-hop
//! fields (RFC 9110 §7.6.1: `Connection` and the fields it names, `Keep-Alive`,
//! `Proxy-Connection`, `TE`, `Trailer`, `Transfer-Encoding`, `Upgrade`), are re-framed with
//! `Content-Length`, and gain `X-Forwarded-For`, `X-Forwarded-Proto` and `Via`.

use std::borrow::Cow;
use std::net::Ipv4Addr;

use crate::http::{request_bytes, write_response_to, Headers, Request, Response};
use crate::scenario::{L7Spec, MatchSpec};

/// Where a request goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Route {
    /// Index of the rule that matched, `None` for the default pool.
    pub rule: Option<usize>,
    /// Index of the pool.
    pub pool: usize,
}

/// The compiled routing table.
#[derive(Clone, Debug)]
pub struct Router {
    rules: Vec<(MatchSpec, usize)>,
    default: usize,
}

impl Router {
    /// Compiles `spec`'s rules against pool names (validated: every name exists).
    pub fn new(spec: &L7Spec, pools: &[String]) -> Self {
        let index = |name: &str| pools.iter().position(|p| p == name).unwrap_or(0);
        Router {
            rules: spec
                .rules
                .iter()
                .map(|r| (r.conditions.clone(), index(&r.pool)))
                .collect(),
            default: spec.default_pool.as_deref().map_or(0, index),
        }
    }

    /// The pool for `request`.
    pub fn route(&self, request: &Request) -> Route {
        for (i, (m, pool)) in self.rules.iter().enumerate() {
            if matches(m, request) {
                return Route {
                    rule: Some(i),
                    pool: *pool,
                };
            }
        }
        Route {
            rule: None,
            pool: self.default,
        }
    }
}

/// Whether every condition of `m` holds for `request`.
pub fn matches(m: &MatchSpec, request: &Request) -> bool {
    let path = request.path();
    m.path_prefix
        .as_ref()
        .is_none_or(|p| path.starts_with(p.as_str()))
        && m.path.as_ref().is_none_or(|p| path == p)
        && m.method.as_ref().is_none_or(|x| request.method == *x)
        // The request's host: an absolute-form target's wins over Host (RFC 9112 §3.2.2).
        && m.host
            .as_ref()
            .is_none_or(|h| request.host().is_some_and(|v| v.eq_ignore_ascii_case(h)))
        && m.header.as_ref().is_none_or(|nv| {
            request
                .headers
                .get(&nv.name)
                .is_some_and(|v| nv.value.as_ref().is_none_or(|want| v == want))
        })
        && m.cookie.as_ref().is_none_or(|nv| {
            request
                .headers
                .cookie(&nv.name)
                .is_some_and(|v| nv.value.as_ref().is_none_or(|want| v == want))
        })
}

/// Whether a method may be retried on another backend (RFC 9110 §9.2.2).
pub fn idempotent(method: &str) -> bool {
    matches!(
        method,
        "GET" | "HEAD" | "PUT" | "DELETE" | "OPTIONS" | "TRACE"
    )
}

/// The hop-by-hop fields of every message (lowercase).
const HOP_BY_HOP: [&str; 8] = [
    "connection",
    "keep-alive",
    "proxy-connection",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "content-length",
];

/// The header fields of `headers` that go on: all but the hop-by-hop ones, the fixed list and
/// those its `Connection` fields name. Values are read as UTF-8 (lossily), borrowed when they
/// are (as they nearly always are).
fn end_to_end(headers: &Headers) -> impl Iterator<Item = (&str, Cow<'_, str>)> + '_ {
    let mut named: Vec<String> = Vec::new();
    for v in headers.get_all("connection") {
        for token in String::from_utf8_lossy(v).split(',') {
            named.push(token.trim().to_ascii_lowercase());
        }
    }
    headers
        .iter()
        .filter(move |(name, _)| {
            !HOP_BY_HOP.iter().any(|s| s.eq_ignore_ascii_case(name))
                && !named.iter().any(|s| s.eq_ignore_ascii_case(name))
        })
        .map(|(name, value)| (name, String::from_utf8_lossy(value)))
}

/// The `Via` value this proxy adds.
pub const VIA: &str = "1.1 traffic-cop";

/// The request as the proxy sends it upstream.
pub fn forward_request(
    request: &Request,
    client: Ipv4Addr,
    https: bool,
    keep_alive: bool,
) -> Vec<u8> {
    // Origin form upstream; an absolute-form target's authority becomes the Host sent on, in
    // place of the received one (RFC 9112 §3.2.2).
    let mut fields: Vec<(&str, Cow<'_, str>)> = Vec::with_capacity(request.headers.len() + 5);
    let absolute = request.is_absolute_form();
    if absolute {
        let authority = request.authority().unwrap_or_default();
        fields.push(("Host", authority.into()));
    }
    let mut forwarded_for = None;
    for (name, value) in end_to_end(&request.headers) {
        if absolute && name.eq_ignore_ascii_case("host") {
            continue;
        }
        if name.eq_ignore_ascii_case("x-forwarded-for") {
            forwarded_for = Some(value);
        } else if !name.eq_ignore_ascii_case("x-forwarded-proto") {
            fields.push((name, value));
        }
    }
    if request.authority().is_none() {
        // HTTP/1.0 requests may lack Host; the upstream gets one.
        fields.insert(0, ("Host", client.to_string().into()));
    }
    let xff = match forwarded_for {
        Some(prior) => format!("{prior}, {client}"),
        None => client.to_string(),
    };
    fields.push(("X-Forwarded-For", xff.into()));
    let proto = if https { "https" } else { "http" };
    fields.push(("X-Forwarded-Proto", proto.into()));
    fields.push(("Via", VIA.into()));
    if !keep_alive {
        fields.push(("Connection", "close".into()));
    }
    let fields = fields.iter().map(|(n, v)| (*n, v.as_ref()));
    request_bytes(
        &request.method,
        &request.origin_form(),
        fields,
        &request.body,
    )
}

/// The response as the proxy relays it to the client, with `set_cookie` added.
pub fn forward_response(
    response: &Response,
    set_cookie: Option<&str>,
    keep_alive: bool,
) -> Vec<u8> {
    // Collected so that the writer can borrow each value (a lossily decoded one is owned).
    let relayed: Vec<(&str, Cow<'_, str>)> = end_to_end(&response.headers).collect();
    let added = [
        set_cookie.map(|c| ("Set-Cookie", c)),
        Some(("Via", VIA)),
        (!keep_alive).then_some(("Connection", "close")),
    ];
    let mut out = Vec::new();
    let fields = relayed
        .iter()
        .map(|(n, v)| (*n, v.as_ref()))
        .chain(added.into_iter().flatten());
    write_response_to(&mut out, response.status, fields, &response.body);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::{Limits, Progress, RequestParser, ResponseBuilder, ResponseParser};
    use crate::scenario::{NameValue, RuleSpec};

    fn request(bytes: &[u8]) -> Request {
        match RequestParser::new(Limits::default()).feed(bytes) {
            Ok(Progress::Complete(r, _)) => r,
            other => panic!("{other:?}"),
        }
    }

    fn router() -> Router {
        let rule = |conditions: MatchSpec, pool: &str| RuleSpec {
            conditions,
            pool: pool.to_string(),
        };
        let spec = L7Spec {
            rules: vec![
                rule(
                    MatchSpec {
                        host: Some("video.example".into()),
                        ..MatchSpec::default()
                    },
                    "video",
                ),
                rule(
                    MatchSpec {
                        path_prefix: Some("/api".into()),
                        method: Some("POST".into()),
                        ..MatchSpec::default()
                    },
                    "writes",
                ),
                rule(
                    MatchSpec {
                        path_prefix: Some("/api".into()),
                        ..MatchSpec::default()
                    },
                    "api",
                ),
                rule(
                    MatchSpec {
                        cookie: Some(NameValue {
                            name: "beta".into(),
                            value: Some("1".into()),
                        }),
                        ..MatchSpec::default()
                    },
                    "beta",
                ),
            ],
            default_pool: Some("web".into()),
            ..L7Spec::default()
        };
        let pools: Vec<String> = ["web", "video", "writes", "api", "beta"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        Router::new(&spec, &pools)
    }

    #[test]
    fn first_matching_rule_wins() {
        let r = router();
        let cases: [(&[u8], Option<usize>, usize); 5] = [
            (b"GET /api/items HTTP/1.1\r\nHost: shop\r\n\r\n", Some(2), 3),
            (
                b"POST /api/orders HTTP/1.1\r\nHost: shop\r\nContent-Length: 0\r\n\r\n",
                Some(1),
                2,
            ),
            (
                b"GET /api/items HTTP/1.1\r\nHost: VIDEO.example:80\r\n\r\n",
                Some(0),
                1,
            ),
            (
                b"GET / HTTP/1.1\r\nHost: shop\r\nCookie: a=b; beta=1\r\n\r\n",
                Some(3),
                4,
            ),
            (b"GET / HTTP/1.1\r\nHost: shop\r\n\r\n", None, 0),
        ];
        for (bytes, rule, pool) in cases {
            assert_eq!(
                r.route(&request(bytes)),
                Route { rule, pool },
                "{}",
                String::from_utf8_lossy(bytes)
            );
        }
    }

    #[test]
    fn an_absolute_form_target_routes_and_forwards_by_its_own_host() {
        // RFC 9112 §3.2.2: the target's authority wins over Host, for routing and upstream.
        let r = router();
        let req = request(b"GET http://video.example/api/x HTTP/1.1\r\nHost: shop\r\n\r\n");
        assert_eq!(
            r.route(&req),
            Route {
                rule: Some(0),
                pool: 1
            }
        );
        let req =
            request(b"GET http://shop/api/items?id=1 HTTP/1.1\r\nHost: video.example\r\n\r\n");
        assert_eq!(
            r.route(&req),
            Route {
                rule: Some(2),
                pool: 3
            },
            "path rules see the path, host rules the URL's host"
        );
        let fwd = request(&forward_request(
            &req,
            Ipv4Addr::new(192, 0, 2, 9),
            false,
            true,
        ));
        assert_eq!(fwd.target, "/api/items?id=1");
        assert_eq!(fwd.headers.get_all("host").count(), 1);
        assert_eq!(fwd.headers.get("host"), Some("shop"));
    }

    #[test]
    fn forwarding_adds_proxy_headers_and_drops_hop_by_hop() {
        let req = request(
            b"POST /cart/add HTTP/1.1\r\nHost: shop\r\nConnection: keep-alive, X-Secret\r\nX-Secret: 1\r\n\
              X-Forwarded-For: 198.51.100.7\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
        );
        let out = forward_request(&req, Ipv4Addr::new(192, 0, 2, 9), true, false);
        let fwd = request(&out);
        assert_eq!(fwd.body, b"abc", "re-framed with Content-Length");
        assert_eq!(fwd.headers.get("content-length"), Some("3"));
        assert_eq!(fwd.headers.get("transfer-encoding"), None);
        assert_eq!(
            fwd.headers.get("x-secret"),
            None,
            "named by Connection: hop-by-hop"
        );
        assert_eq!(
            fwd.headers.get("x-forwarded-for"),
            Some("198.51.100.7, 192.0.2.9")
        );
        assert_eq!(fwd.headers.get("x-forwarded-proto"), Some("https"));
        assert_eq!(fwd.headers.get("via"), Some(VIA));
        assert_eq!(fwd.headers.get("connection"), Some("close"));
        assert_eq!(fwd.headers.get("host"), Some("shop"));

        let resp_bytes = ResponseBuilder::new(200)
            .header("X-Backend", "B")
            .header("Keep-Alive", "timeout=5")
            .body(b"{}".to_vec())
            .to_bytes();
        let resp = match ResponseParser::new(Limits::default(), false).feed(&resp_bytes) {
            Ok(Progress::Complete(r, _)) => r,
            other => panic!("{other:?}"),
        };
        let relayed = forward_response(&resp, Some("lb=B; Path=/"), true);
        let back = match ResponseParser::new(Limits::default(), false).feed(&relayed) {
            Ok(Progress::Complete(r, _)) => r,
            other => panic!("{other:?}"),
        };
        assert_eq!(back.headers.get("x-backend"), Some("B"));
        assert_eq!(back.headers.get("keep-alive"), None);
        assert_eq!(back.headers.get("set-cookie"), Some("lb=B; Path=/"));
        assert_eq!(back.body, b"{}");
    }
}
