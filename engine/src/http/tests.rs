use super::*;

const CURL_GET: &[u8] =
    b"GET /api/items?id=3 HTTP/1.1\r\nHost: 203.0.113.10\r\nUser-Agent: curl/8.5.0\r\nAccept: */*\r\n\r\n";

const BROWSER_GET: &[u8] = b"GET /video/intro.mp4 HTTP/1.1\r\n\
Host: shop.example\r\n\
Connection: keep-alive\r\n\
sec-ch-ua: \"Chromium\";v=\"156\", \"Not)A;Brand\";v=\"24\"\r\n\
sec-ch-ua-mobile: ?0\r\n\
sec-ch-ua-platform: \"Linux\"\r\n\
Upgrade-Insecure-Requests: 1\r\n\
User-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0.0.0 Safari/537.36\r\n\
Accept: text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8\r\n\
Sec-Fetch-Site: none\r\n\
Sec-Fetch-Mode: navigate\r\n\
Accept-Encoding: gzip, deflate, br, zstd\r\n\
Accept-Language: en-GB,en;q=0.9\r\n\
Cookie: session=4f2a; theme=dark\r\n\r\n";

fn parse_all(bytes: &[u8]) -> Result<Progress<Request>, HttpError> {
    RequestParser::new(Limits::default()).feed(bytes)
}

fn complete(bytes: &[u8]) -> (Request, usize) {
    match parse_all(bytes) {
        Ok(Progress::Complete(r, n)) => (r, n),
        other => panic!("expected a complete request, got {other:?}"),
    }
}

#[test]
fn parses_what_curl_and_browsers_send() {
    let (req, used) = complete(CURL_GET);
    assert_eq!(used, CURL_GET.len());
    assert_eq!(req.method, "GET");
    assert_eq!(req.path(), "/api/items");
    assert_eq!(req.headers.get("host"), Some("203.0.113.10"));
    assert!(req.keep_alive());

    let (req, _) = complete(BROWSER_GET);
    assert_eq!(req.path(), "/video/intro.mp4");
    assert_eq!(req.headers.cookie("session"), Some("4f2a"));
    assert_eq!(req.headers.cookie("theme"), Some("dark"));
    assert_eq!(req.headers.cookie("missing"), None);
}

#[test]
fn every_prefix_is_partial_never_an_error() {
    for msg in [CURL_GET, BROWSER_GET] {
        for cut in 0..msg.len() {
            assert_eq!(
                parse_all(&msg[..cut]),
                Ok(Progress::Partial),
                "cut at {cut}"
            );
        }
    }
}

#[test]
fn byte_by_byte_feeding_gives_the_same_request() {
    let body = b"7\r\nMozilla\r\n9\r\nDeveloper\r\n0\r\nX-Trailer: 1\r\n\r\n";
    let mut msg =
        b"POST /upload HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n".to_vec();
    msg.extend_from_slice(body);
    msg.extend_from_slice(CURL_GET); // a pipelined second request
    let mut parser = RequestParser::new(Limits::default());
    let mut got = None;
    for end in 1..=msg.len() {
        match parser.feed(&msg[..end]).unwrap() {
            Progress::Partial => {}
            Progress::Complete(r, n) => {
                got = Some((r, n));
                break;
            }
        }
    }
    let (req, used) = got.expect("request completes");
    assert_eq!(req.body, b"MozillaDeveloper");
    assert_eq!(
        &msg[used..],
        CURL_GET,
        "the next request starts right after"
    );
    // The same parser then reads the pipelined request.
    let (next, _) = match parser.feed(&msg[used..]).unwrap() {
        Progress::Complete(r, n) => (r, n),
        Progress::Partial => panic!("second request is whole"),
    };
    assert_eq!(next.path(), "/api/items");
}

#[test]
fn content_length_body() {
    let msg = b"POST /cart/add HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhelloEXTRA";
    let (req, used) = complete(msg);
    assert_eq!(req.body, b"hello");
    assert_eq!(&msg[used..], b"EXTRA");
}

#[test]
fn refusals_map_to_their_status() {
    let big_header = format!(
        "GET / HTTP/1.1\r\nHost: a\r\nX-Big: {}\r\n\r\n",
        "a".repeat(9000)
    );
    let many_headers = format!(
        "GET / HTTP/1.1\r\nHost: a\r\n{}\r\n",
        (0..70).map(|i| format!("X-{i}: v\r\n")).collect::<String>()
    );
    let cases: Vec<(&str, Vec<u8>, HttpError, u16)> = vec![
        ("garbage", b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03".to_vec(), HttpError::Malformed, 400),
        ("space in name", b"GET / HTTP/1.1\r\nHost : a\r\n\r\n".to_vec(), HttpError::Malformed, 400),
        ("bad version", b"GET / HTTP/2.0\r\nHost: a\r\n\r\n".to_vec(), HttpError::Malformed, 400),
        ("head too large", big_header.into_bytes(), HttpError::HeadTooLarge, 431),
        ("too many headers", many_headers.into_bytes(), HttpError::HeadTooLarge, 431),
        (
            "body too large",
            b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 2000000\r\n\r\n".to_vec(),
            HttpError::BodyTooLarge,
            413,
        ),
        (
            "gzip coding",
            b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n".to_vec(),
            HttpError::UnsupportedTransferCoding,
            501,
        ),
        (
            "unknown coding alone",
            b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: identity\r\n\r\n".to_vec(),
            HttpError::UnsupportedTransferCoding,
            501,
        ),
        (
            "chunked not final",
            b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, gzip\r\n\r\n".to_vec(),
            HttpError::BadTransferEncoding,
            400,
        ),
        (
            "CL and TE",
            b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n"
                .to_vec(),
            HttpError::LengthAndChunked,
            400,
        ),
        (
            "two lengths",
            b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\nContent-Length: 5\r\n\r\n".to_vec(),
            HttpError::ConflictingLengths,
            400,
        ),
        (
            "length list differs",
            b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 4, 5\r\n\r\n".to_vec(),
            HttpError::ConflictingLengths,
            400,
        ),
        (
            "signed length",
            b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: +4\r\n\r\n".to_vec(),
            HttpError::InvalidLength,
            400,
        ),
        (
            "bad chunk size",
            b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n".to_vec(),
            HttpError::InvalidChunk,
            400,
        ),
        (
            "chunk without CRLF",
            b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabXY".to_vec(),
            HttpError::InvalidChunk,
            400,
        ),
        (
            "same length twice",
            b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\nok".to_vec(),
            HttpError::ConflictingLengths,
            400,
        ),
        ("no host", b"GET / HTTP/1.1\r\n\r\n".to_vec(), HttpError::BadHost, 400),
        (
            "two hosts",
            b"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n".to_vec(),
            HttpError::BadHost,
            400,
        ),
    ];
    for (name, bytes, error, status) in cases {
        assert_eq!(parse_all(&bytes), Err(error), "{name}");
        assert_eq!(error.status(), status, "{name}");
        assert!(!error.message().is_empty());
    }
}

#[test]
fn chunked_body_over_the_limit_is_refused() {
    let limits = Limits {
        max_body_bytes: 8,
        ..Limits::default()
    };
    let msg = b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n5\r\nworld\r\n0\r\n\r\n";
    assert_eq!(
        RequestParser::new(limits).feed(msg),
        Err(HttpError::BodyTooLarge)
    );
}

#[test]
fn http10_defaults_to_close() {
    let (req, _) = complete(b"GET / HTTP/1.0\r\n\r\n");
    assert!(!req.keep_alive());
    let (req, _) = complete(b"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
    assert!(req.keep_alive());
    let (req, _) = complete(b"GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n");
    assert!(!req.keep_alive());
}

#[test]
fn written_messages_parse_back() {
    let req = RequestBuilder::new("POST", "/cart/add", "shop.example")
        .header("Cookie", "session=s1")
        .body(b"item=7".to_vec());
    let (parsed, used) = complete(&req.to_bytes());
    assert_eq!(used, req.to_bytes().len());
    assert_eq!(parsed.method, "POST");
    assert_eq!(parsed.body, b"item=7");
    assert_eq!(parsed.headers.cookie("session"), Some("s1"));

    let resp = ResponseBuilder::new(503)
        .header("Retry-After", "1")
        .body(b"no healthy backend".to_vec());
    let bytes = resp.to_bytes();
    let mut parser = ResponseParser::new(Limits::default(), false);
    match parser.feed(&bytes).unwrap() {
        Progress::Complete(r, n) => {
            assert_eq!(n, bytes.len());
            assert_eq!(r.status, 503);
            assert_eq!(r.reason, "Service Unavailable");
            assert_eq!(r.body, b"no healthy backend");
        }
        Progress::Partial => panic!("response is whole"),
    }
}

#[test]
fn response_framing_rules() {
    // HEAD responses and 204/304 have no body whatever Content-Length says.
    let head = b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n";
    let mut p = ResponseParser::new(Limits::default(), true);
    assert!(matches!(p.feed(head), Ok(Progress::Complete(_, n)) if n == head.len()));
    let no_content = b"HTTP/1.1 204 No Content\r\nContent-Length: 100\r\n\r\n";
    let mut p = ResponseParser::new(Limits::default(), false);
    assert!(matches!(p.feed(no_content), Ok(Progress::Complete(_, _))));

    // No length: the body runs until the connection closes.
    let close = b"HTTP/1.0 200 OK\r\n\r\nstreamed";
    let mut p = ResponseParser::new(Limits::default(), false);
    assert_eq!(p.feed(close), Ok(Progress::Partial));
    match p.feed_eof(close).unwrap() {
        Progress::Complete(r, _) => assert_eq!(r.body, b"streamed"),
        Progress::Partial => panic!("close completes the body"),
    }

    // A length-framed body cut short by a close stays incomplete.
    let short = b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc";
    let mut p = ResponseParser::new(Limits::default(), false);
    assert_eq!(p.feed_eof(short), Ok(Progress::Partial));
}

/// What a request must become.
enum Want {
    /// Parsed, with this method, path, minor version, and host for routing.
    Accept(&'static str, &'static str, u8, Option<&'static str>),
    /// Refused with this error.
    Refuse(HttpError),
}

/// RFC 9110 / 9112 rules the parser enforces beyond httparse, one row per rule with its
/// section. Each row is a whole message: a refusal must come from these bytes alone (an
/// answer, never a wait), and an acceptance must read the request as the RFC says.
#[test]
fn rfc_rules_beyond_httparse() {
    use HttpError::*;
    use Want::*;
    let te = |chunks: &str| {
        format!("POST /up HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n{chunks}")
    };
    let long_target = format!("GET /{} HTTP/1.1\r\nHost: a\r\n\r\n", "a".repeat(100_000));
    let cases: Vec<(&str, &str, String, Want)> = vec![
        // Versions.
        ("RFC 9110 §2.5", "HTTP/1.2 is handled as 1.1", "GET / HTTP/1.2\r\nHost: a\r\n\r\n".into(), Accept("GET", "/", 1, Some("a"))),
        ("RFC 9110 §2.5", "HTTP/1.9 is handled as 1.1", "GET / HTTP/1.9\r\nHost: a\r\n\r\n".into(), Accept("GET", "/", 1, Some("a"))),
        ("RFC 9112 §2.3", "HTTP/1.10 is not a version", "GET / HTTP/1.10\r\nHost: a\r\n\r\n".into(), Refuse(Malformed)),
        ("RFC 9112 §2.3", "HTTP/2.0 is not HTTP/1.x", "GET / HTTP/2.0\r\nHost: a\r\n\r\n".into(), Refuse(Malformed)),
        // Line endings.
        ("RFC 9112 §2.2", "bare LF ends the request line", "GET / HTTP/1.1\nHost: a\r\n\r\n".into(), Refuse(BareLineFeed)),
        ("RFC 9112 §2.2", "bare LF ends a field line", "GET / HTTP/1.1\r\nHost: a\nX: 1\r\n\r\n".into(), Refuse(BareLineFeed)),
        ("RFC 9112 §2.2", "bare LF ends the head", "GET / HTTP/1.1\r\nHost: a\r\n\n".into(), Refuse(BareLineFeed)),
        ("RFC 9112 §2.2", "bare LF before the request line", "\nGET / HTTP/1.1\r\nHost: a\r\n\r\n".into(), Refuse(BareLineFeed)),
        ("RFC 9112 §2.2", "an empty line before the request line", "\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n".into(), Accept("GET", "/", 1, Some("a"))),
        ("RFC 9112 §5", "whitespace after a field value", "GET / HTTP/1.1\r\nHost: a  \r\nX:\t\r\n\r\n".into(), Accept("GET", "/", 1, Some("a"))),
        ("RFC 9112 §2.2", "bare LF hides Transfer-Encoding", "POST / HTTP/1.1\r\nHost: a\r\nx:x\nTransfer-Encoding: chunked\r\n\r\n1\r\nA\r\n0\r\n\r\n".into(), Refuse(BareLineFeed)),
        // Request-target.
        ("RFC 9112 §3.2, RFC 3986 §2", "raw UTF-8 in the target", "GET /caf\u{e9} HTTP/1.1\r\nHost: a\r\n\r\n".into(), Refuse(InvalidTarget)),
        ("RFC 9112 §3.2", "a fragment is not part of a target", "GET /p#frag HTTP/1.1\r\nHost: a\r\n\r\n".into(), Refuse(InvalidTarget)),
        ("RFC 3986 §3.4", "| is not a URI character", "GET /t?q=| HTTP/1.1\r\nHost: a\r\n\r\n".into(), Refuse(InvalidTarget)),
        ("RFC 3986 §3.3", "quotes are not URI characters", "GET /with_\"q\" HTTP/1.1\r\nHost: a\r\n\r\n".into(), Refuse(InvalidTarget)),
        ("RFC 3986 §2.1", "% starts two hex digits", "GET /%zz HTTP/1.1\r\nHost: a\r\n\r\n".into(), Refuse(InvalidTarget)),
        ("RFC 3986 §2.1", "percent-encoding is fine", "GET /caf%C3%A9?a=b&c=d HTTP/1.1\r\nHost: a\r\n\r\n".into(), Accept("GET", "/caf%C3%A9", 1, Some("a"))),
        ("RFC 9112 §3.2.4", "* is for OPTIONS", "OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n".into(), Accept("OPTIONS", "*", 1, Some("a"))),
        ("RFC 9112 §3.2.4", "* is only for OPTIONS", "GET * HTTP/1.1\r\nHost: a\r\n\r\n".into(), Refuse(InvalidTarget)),
        ("RFC 9112 §3.2.3", "authority form is for CONNECT", "GET a.example:443 HTTP/1.1\r\nHost: a\r\n\r\n".into(), Refuse(InvalidTarget)),
        ("RFC 9112 §3.2.3", "CONNECT takes host:port", "CONNECT a.example:443 HTTP/1.1\r\nHost: a.example:443\r\n\r\n".into(), Accept("CONNECT", "a.example:443", 1, Some("a.example"))),
        ("RFC 9112 §3.2.2", "absolute form: the URL's host wins", "GET http://a.example/x?y HTTP/1.1\r\nHost: b.example\r\n\r\n".into(), Accept("GET", "/x", 1, Some("a.example"))),
        ("RFC 9112 §3.2.2", "absolute form with an empty path", "GET http://a.example?q=1 HTTP/1.1\r\nHost: a.example\r\n\r\n".into(), Accept("GET", "/", 1, Some("a.example"))),
        ("RFC 9112 §3.2.2", "absolute form still needs Host", "GET http://a.example/ HTTP/1.1\r\n\r\n".into(), Refuse(BadHost)),
        ("RFC 9110 §4.2.4", "userinfo in an absolute form", "GET http://u:p@a.example/ HTTP/1.1\r\nHost: a.example\r\n\r\n".into(), Refuse(InvalidTarget)),
        ("RFC 9110 §4.2.1", "an http URI needs a host", "GET http:///x HTTP/1.1\r\nHost: a\r\n\r\n".into(), Refuse(InvalidTarget)),
        ("RFC 9112 §3", "a 100 KB target is too long", long_target, Refuse(TargetTooLong)),
        // Host.
        ("RFC 9110 §7.2", "Host holding a list", "GET / HTTP/1.1\r\nHost: a, b.example\r\n\r\n".into(), Refuse(InvalidHost)),
        ("RFC 9110 §7.2", "Host holding userinfo", "GET / HTTP/1.1\r\nHost: user@a\r\n\r\n".into(), Refuse(InvalidHost)),
        ("RFC 9110 §7.2", "Host with a bad port", "GET / HTTP/1.1\r\nHost: a:8x\r\n\r\n".into(), Refuse(InvalidHost)),
        ("RFC 9110 §7.2", "Host as an IPv6 literal", "GET / HTTP/1.1\r\nHost: [2001:db8::1]:8080\r\n\r\n".into(), Accept("GET", "/", 1, Some("2001:db8::1"))),
        ("RFC 3986 §3.2.2", "= is a reg-name character", "GET / HTTP/1.1\r\nHost: 0.0.0.0=5000\r\n\r\n".into(), Accept("GET", "/", 1, Some("0.0.0.0=5000"))),
        ("RFC 9112 §3.2", "HTTP/1.0 with two Hosts", "GET / HTTP/1.0\r\nHost: a\r\nHost: a\r\n\r\n".into(), Refuse(BadHost)),
        // Content-Length.
        ("RFC 9110 §8.6", "a list of the same length", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5, 5\r\n\r\nhello".into(), Refuse(ConflictingLengths)),
        // Chunk lines.
        ("RFC 9112 §7.1.1", "chunk extensions are ignored", te("5;name=value;flag\r\nhello\r\n0\r\n\r\n"), Accept("POST", "/up", 1, Some("a"))),
        ("RFC 9112 §7.1.1", "BWS before ; and =", te("5 ; name = \"quoted \\\" value\"\r\nhello\r\n0\r\n\r\n"), Accept("POST", "/up", 1, Some("a"))),
        ("RFC 9112 §7.1.1", "a bare ; in a chunk line", te("5;\r\nhello\r\n0\r\n\r\n"), Refuse(InvalidChunk)),
        ("RFC 9112 §7.1.1", "an extension name that is no token", te("5;bad[=x\r\nhello\r\n0\r\n\r\n"), Refuse(InvalidChunk)),
        ("RFC 9112 §7.1.1", "an unbalanced quote", te("5;a=\"def; ghi\r\nhello\r\n0\r\n\r\n"), Refuse(InvalidChunk)),
        ("RFC 9112 §7.1.1", "a bare LF inside an extension", te("5;\nhello\r\n0\r\n\r\n"), Refuse(InvalidChunk)),
        ("RFC 9112 §7.1", "whitespace after the size", te("5 \r\nhello\r\n0\r\n\r\n"), Refuse(InvalidChunk)),
        ("RFC 9112 §7.1", "whitespace after an extension", te("5;a \r\nhello\r\n0\r\n\r\n"), Refuse(InvalidChunk)),
        ("RFC 9112 §7.1", "a bare LF after the size", te("5\nhello\r\n0\r\n\r\n"), Refuse(InvalidChunk)),
        ("RFC 9112 §7.1", "a bare LF after chunk data", te("5\r\nhello\n0\r\n\r\n"), Refuse(InvalidChunk)),
        ("RFC 9112 §7.1", "a last chunk of zeros", te("000\r\n\r\n"), Accept("POST", "/up", 1, Some("a"))),
        // Trailers.
        ("RFC 9112 §7.1.2", "trailer fields are read", te("0\r\nX-Sum: 1\r\n\r\n"), Accept("POST", "/up", 1, Some("a"))),
        ("RFC 9112 §7.1.2", "trailers ended by a bare LF", te("5\r\nhello\r\n0\r\n\n"), Refuse(InvalidChunk)),
        ("RFC 9112 §7.1.2", "a trailer line ended by a bare LF", te("0\r\nX: 1\n\r\n"), Refuse(InvalidChunk)),
        ("RFC 9112 §7.1.2", "a trailer line without a colon", te("0\r\nnot a field\r\n\r\n"), Refuse(InvalidChunk)),
    ];
    for (rule, name, bytes, want) in cases {
        let got = parse_all(bytes.as_bytes());
        match want {
            Accept(method, path, version, host) => match got {
                Ok(Progress::Complete(r, used)) => {
                    assert_eq!(used, bytes.len(), "{rule}: {name}");
                    assert_eq!(
                        (r.method.as_str(), r.path(), r.version, r.host()),
                        (method, path, version, host),
                        "{rule}: {name}"
                    );
                }
                other => panic!("{rule}: {name}: expected a request, got {other:?}"),
            },
            Refuse(error) => {
                assert_eq!(got, Err(error), "{rule}: {name}");
                // Fed as it arrives, the refusal comes at the latest with the last byte.
                let mut parser = RequestParser::new(Limits::default());
                let whole = bytes.as_bytes();
                let step = (whole.len() / 64).max(1);
                let mut end = 0;
                let refused = loop {
                    end = (end + step).min(whole.len());
                    match parser.feed(&whole[..end]) {
                        Err(e) => break e,
                        Ok(Progress::Partial) if end < whole.len() => {}
                        other => panic!("{rule}: {name}: fed in pieces, got {other:?}"),
                    }
                };
                assert_eq!(refused.status(), error.status(), "{rule}: {name}");
            }
        }
    }
}

#[test]
fn absolute_form_is_sent_on_in_origin_form() {
    let (req, _) = complete(b"GET http://a.example:8080?q=1 HTTP/1.1\r\nHost: b.example\r\n\r\n");
    assert!(req.is_absolute_form());
    assert_eq!(req.authority(), Some("a.example:8080"));
    assert_eq!(req.host(), Some("a.example"));
    assert_eq!(req.origin_form(), "/?q=1");
    let (req, _) = complete(CURL_GET);
    assert!(!req.is_absolute_form());
    assert_eq!(req.origin_form(), "/api/items?id=3");
    assert_eq!(req.authority(), Some("203.0.113.10"));
}

#[test]
fn limits_tell_a_long_target_from_large_headers() {
    // 7,900 bytes of target fit; a 9,000-byte header section is 431, not 414.
    let fits = format!("GET /{} HTTP/1.1\r\nHost: a\r\n\r\n", "a".repeat(7_900));
    assert!(matches!(
        parse_all(fits.as_bytes()),
        Ok(Progress::Complete(..))
    ));
    let headers = format!(
        "GET / HTTP/1.1\r\nHost: a\r\nX: {}\r\n\r\n",
        "a".repeat(9_000)
    );
    assert_eq!(parse_all(headers.as_bytes()), Err(HttpError::HeadTooLarge));
    // A request line still arriving past the limit is 414 before its end is seen.
    let arriving = format!("GET /{}", "a".repeat(9_000));
    assert_eq!(
        parse_all(arriving.as_bytes()),
        Err(HttpError::TargetTooLong)
    );
    assert_eq!(HttpError::TargetTooLong.status(), 414);
}
