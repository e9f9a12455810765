//! Incremental request and response parsers.
//!
//! A parser is fed the connection's unconsumed bytes each time more arrive (the same buffer,
//! grown). It remembers how far it got, so a body arriving in many segments is decoded once, not
//! once per segment. On `Complete(message, used)` the caller drops `used` bytes from the front of
//! its buffer; the parser is then ready for the next message on the connection. After an error
//! the connection's framing is lost: the caller answers (or not) and closes.

use core::mem::MaybeUninit;

use super::{syntax, Headers, HttpError, Limits, Progress, Request, Response};

/// How the body of a message is delimited (RFC 9112 §6.3).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Framing {
    Length(u64),
    Chunked,
    /// Until the connection closes (responses only).
    Close,
}

/// Where a chunked body decoder stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Chunk {
    Size,
    Data { remaining: u64 },
    DataEnd,
    Trailers { bytes: usize },
}

/// Decodes a body that starts at `start` in the caller's buffer.
#[derive(Debug)]
struct Body {
    framing: Framing,
    start: usize,
    /// Offset in the caller's buffer up to which bytes were decoded.
    pos: usize,
    decoded: Vec<u8>,
    chunk: Chunk,
}

/// The longest chunk-size line accepted (hex digits plus extensions).
const MAX_CHUNK_LINE: usize = 1024;

impl Body {
    fn new(framing: Framing, start: usize) -> Self {
        Body {
            framing,
            start,
            pos: start,
            decoded: Vec::new(),
            chunk: Chunk::Size,
        }
    }

    /// Decodes what `buf` holds past `pos`; `Some(end)` once the body is whole.
    fn advance(&mut self, buf: &[u8], limits: &Limits) -> Result<Option<usize>, HttpError> {
        match self.framing {
            Framing::Length(n) => {
                // n <= max_body_bytes was checked with the head, so it fits in usize.
                let end = self.start + n as usize;
                if buf.len() >= end {
                    self.decoded.extend_from_slice(&buf[self.start..end]);
                    self.pos = end;
                    Ok(Some(end))
                } else {
                    Ok(None)
                }
            }
            Framing::Close => {
                let add = &buf[self.pos..];
                if (self.decoded.len() + add.len()) as u64 > limits.max_body_bytes {
                    return Err(HttpError::BodyTooLarge);
                }
                self.decoded.extend_from_slice(add);
                self.pos = buf.len();
                Ok(None)
            }
            Framing::Chunked => self.advance_chunked(buf, limits),
        }
    }

    fn advance_chunked(&mut self, buf: &[u8], limits: &Limits) -> Result<Option<usize>, HttpError> {
        loop {
            let rest = &buf[self.pos..];
            match self.chunk {
                Chunk::Size => match syntax::chunk_size_line(rest, MAX_CHUNK_LINE)? {
                    None => return Ok(None),
                    Some((used, size)) => {
                        self.pos += used;
                        if size == 0 {
                            self.chunk = Chunk::Trailers { bytes: 0 };
                        } else {
                            if (self.decoded.len() as u64).saturating_add(size)
                                > limits.max_body_bytes
                            {
                                return Err(HttpError::BodyTooLarge);
                            }
                            self.chunk = Chunk::Data { remaining: size };
                        }
                    }
                },
                Chunk::Data { remaining } => {
                    if rest.is_empty() {
                        return Ok(None);
                    }
                    let take = rest.len().min(remaining.min(usize::MAX as u64) as usize);
                    self.decoded.extend_from_slice(&rest[..take]);
                    self.pos += take;
                    let remaining = remaining - take as u64;
                    self.chunk = if remaining == 0 {
                        Chunk::DataEnd
                    } else {
                        Chunk::Data { remaining }
                    };
                }
                Chunk::DataEnd => {
                    if rest.len() < 2 {
                        return match rest {
                            [] | [b'\r'] => Ok(None),
                            _ => Err(HttpError::InvalidChunk),
                        };
                    }
                    if &rest[..2] != b"\r\n" {
                        return Err(HttpError::InvalidChunk);
                    }
                    self.pos += 2;
                    self.chunk = Chunk::Size;
                }
                Chunk::Trailers { bytes } => match syntax::trailer_line(rest)? {
                    None => {
                        if bytes + rest.len() > limits.max_head_bytes {
                            return Err(HttpError::HeadTooLarge);
                        }
                        return Ok(None);
                    }
                    Some((used, true)) => {
                        self.pos += used;
                        return Ok(Some(self.pos));
                    }
                    Some((used, false)) => {
                        let bytes = bytes + used;
                        if bytes > limits.max_head_bytes {
                            return Err(HttpError::HeadTooLarge);
                        }
                        // Trailer fields are read and dropped: nothing here acts on them.
                        self.pos += used;
                        self.chunk = Chunk::Trailers { bytes };
                    }
                },
            }
        }
    }
}

/// Header fields copied out of httparse's borrowed view.
fn own_headers(raw: &[httparse::Header<'_>]) -> Headers {
    let bytes = raw.iter().map(|h| h.name.len() + h.value.len()).sum();
    let mut headers = Headers::with_capacity(raw.len(), bytes);
    for h in raw {
        headers.push(h.name, h.value);
    }
    headers
}

/// Maps httparse's refusals: too many fields is a size problem (431), the rest is syntax (400).
fn map_parse_error(e: httparse::Error) -> HttpError {
    match e {
        httparse::Error::TooManyHeaders => HttpError::HeadTooLarge,
        _ => HttpError::Malformed,
    }
}

/// Reads `Content-Length` and `Transfer-Encoding` and refuses ambiguous framing.
/// `None` means neither header is present.
fn declared_framing(headers: &Headers, limits: &Limits) -> Result<Option<Framing>, HttpError> {
    let mut length: Option<u64> = None;
    for value in headers.get_all("content-length") {
        // One value only: RFC 9110 §8.6 lets a recipient refuse a list or a repeat even of
        // the same number ("5, 5"), and a proxy that collapses it instead forwards a message
        // that another parser may frame otherwise.
        for part in value.split(|&b| b == b',') {
            let part = part.trim_ascii();
            if part.is_empty() || !part.iter().all(u8::is_ascii_digit) || part.len() > 19 {
                return Err(HttpError::InvalidLength);
            }
            let n: u64 = core::str::from_utf8(part)
                .ok()
                .and_then(|s| s.parse().ok())
                .ok_or(HttpError::InvalidLength)?;
            if length.replace(n).is_some() {
                return Err(HttpError::ConflictingLengths);
            }
        }
    }
    let mut codings: Vec<&[u8]> = Vec::new();
    for value in headers.get_all("transfer-encoding") {
        codings.extend(
            value
                .split(|&b| b == b',')
                .map(<[u8]>::trim_ascii)
                .filter(|c| !c.is_empty()),
        );
    }
    let has_te = headers.get_all("transfer-encoding").next().is_some();
    match (length, has_te) {
        (Some(_), true) => Err(HttpError::LengthAndChunked),
        (Some(n), false) => {
            if n > limits.max_body_bytes {
                Err(HttpError::BodyTooLarge)
            } else {
                Ok(Some(Framing::Length(n)))
            }
        }
        (None, true) => {
            let is_chunked = |c: &[u8]| c.eq_ignore_ascii_case(b"chunked");
            let chunked_count = codings.iter().filter(|c| is_chunked(c)).count();
            match codings.last() {
                Some(last) if is_chunked(last) && chunked_count == 1 => {
                    if codings.len() == 1 {
                        Ok(Some(Framing::Chunked))
                    } else {
                        // e.g. "gzip, chunked": framed correctly, but we do not decode gzip.
                        Err(HttpError::UnsupportedTransferCoding)
                    }
                }
                Some(_) if chunked_count == 0 => Err(HttpError::UnsupportedTransferCoding),
                _ => Err(HttpError::BadTransferEncoding),
            }
        }
        (None, false) => Ok(None),
    }
}

/// Runs httparse over `buf` with a header array bounded by the limits.
fn with_header_slots<'b, R>(
    limits: &Limits,
    f: impl FnOnce(&mut [MaybeUninit<httparse::Header<'b>>]) -> R,
) -> R {
    // Uninitialised slots: httparse writes only those it fills, and nothing is zeroed.
    const STACK_SLOTS: usize = 64;
    if limits.max_headers <= STACK_SLOTS {
        let mut slots = [const { MaybeUninit::<httparse::Header<'b>>::uninit() }; STACK_SLOTS];
        f(&mut slots[..limits.max_headers])
    } else {
        let mut slots: Vec<MaybeUninit<httparse::Header<'b>>> = (0..limits.max_headers)
            .map(|_| MaybeUninit::uninit())
            .collect();
        f(&mut slots)
    }
}

/// A request line and header section, parsed.
struct ParsedHead {
    method: String,
    target: String,
    version: u8,
    headers: Headers,
    /// Bytes of the head, blank line included.
    used: usize,
}

/// What one pass of httparse over a request head found.
enum HeadRead {
    Parsed(ParsedHead),
    Partial,
    /// An `HTTP/x.y` version httparse does not take (anything but 1.0 and 1.1).
    Version,
}

/// Which limit a head over `max` bytes broke: the request line alone (414), or the head as
/// a whole (431).
fn too_large(buf: &[u8], max: usize) -> HttpError {
    // Empty lines before the request line are skipped, as RFC 9112 §2.2 lets a server do.
    let start = buf
        .iter()
        .position(|&b| b != b'\r' && b != b'\n')
        .unwrap_or(buf.len());
    let line = buf[start..]
        .iter()
        .position(|&b| b == b'\n')
        .unwrap_or(buf.len() - start);
    if line > max {
        HttpError::TargetTooLong
    } else {
        HttpError::HeadTooLarge
    }
}

fn parse_request_head(buf: &[u8], limits: &Limits) -> Result<HeadRead, HttpError> {
    with_header_slots(limits, |slots| {
        let mut req = httparse::Request::new(&mut []);
        match req.parse_with_uninit_headers(buf, slots) {
            Ok(httparse::Status::Complete(used)) => {
                if used > limits.max_head_bytes {
                    return Err(too_large(&buf[..used], limits.max_head_bytes));
                }
                if !lines_end_in_crlf(&buf[..used], &req) {
                    return Err(HttpError::BareLineFeed);
                }
                Ok(HeadRead::Parsed(ParsedHead {
                    method: req.method.unwrap_or_default().to_string(),
                    target: req.path.unwrap_or_default().to_string(),
                    version: req.version.unwrap_or(1),
                    headers: own_headers(req.headers),
                    used,
                }))
            }
            Ok(httparse::Status::Partial) => {
                if buf.len() > limits.max_head_bytes {
                    Err(too_large(buf, limits.max_head_bytes))
                } else {
                    Ok(HeadRead::Partial)
                }
            }
            Err(httparse::Error::Version) => Ok(HeadRead::Version),
            Err(e) => Err(map_parse_error(e)),
        }
    })
}

/// Whether every line of `head`, which httparse read into `req`, ends in CRLF. httparse
/// borrows each part from `head`, so a line's content ends where its part ends: the request
/// line 9 bytes (` HTTP/1.x`) after the target, a field line after its value. Checking there
/// costs a few bytes per line instead of a look at every byte.
fn lines_end_in_crlf(head: &[u8], req: &httparse::Request<'_, '_>) -> bool {
    let base = head.as_ptr() as usize;
    let at = |s: &[u8]| {
        let start = (s.as_ptr() as usize).checked_sub(base)?;
        (start + s.len() <= head.len()).then_some(start)
    };
    let method = req.method.unwrap_or_default().as_bytes();
    let target = req.path.unwrap_or_default().as_bytes();
    let located = at(method).zip(at(target));
    match located {
        Some((m, t)) if req.headers.iter().all(|h| at(h.value).is_some()) => {
            let request_line = t + target.len() + b" HTTP/1.1".len();
            let fields = req
                .headers
                .iter()
                .map(|h| at(h.value).map_or(usize::MAX, |v| v + h.value.len()));
            syntax::lines_end_in_crlf(head, m, core::iter::once(request_line).chain(fields))
        }
        // Parts not found where expected: look at every byte instead.
        _ => !syntax::has_bare_lf(head),
    }
}

/// A copy of `buf` whose request line says `HTTP/1.1` where it said `HTTP/1.2` to `HTTP/1.9`;
/// `None` for any other version.
fn read_as_http11(buf: &[u8]) -> Option<Vec<u8>> {
    let start = buf.iter().position(|&b| b != b'\r' && b != b'\n')?;
    // method SP request-target SP HTTP-version: the version follows the second space.
    let mut spaces = buf[start..]
        .iter()
        .enumerate()
        .take_while(|&(_, &b)| b != b'\r' && b != b'\n')
        .filter(|&(_, &b)| b == b' ')
        .map(|(i, _)| start + i);
    let version = spaces.nth(1)? + 1;
    let digit = version + b"HTTP/1.".len();
    let ok = buf.get(version..digit) == Some(b"HTTP/1.")
        && buf.get(digit).is_some_and(|d| (b'2'..=b'9').contains(d))
        && buf.get(digit + 1).is_none_or(|&b| b == b'\r' || b == b'\n');
    ok.then(|| {
        let mut copy = buf.to_vec();
        copy[digit] = b'1';
        copy
    })
}

/// A request head once parsed, waiting for its body.
#[derive(Debug)]
struct RequestHead {
    method: String,
    target: String,
    version: u8,
    headers: Headers,
    body: Body,
}

/// Parses requests on one connection, one after another.
#[derive(Debug)]
pub struct RequestParser {
    limits: Limits,
    head: Option<RequestHead>,
}

impl RequestParser {
    /// A parser with the given limits.
    pub fn new(limits: Limits) -> Self {
        RequestParser { limits, head: None }
    }

    /// The limits in force.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// Whether a request has started arriving (its head is complete but the body is not).
    pub fn in_body(&self) -> bool {
        self.head.is_some()
    }

    /// Feeds the connection's unconsumed bytes (everything received since the last complete
    /// request). Returns the request and how many bytes it used once it is whole.
    pub fn feed(&mut self, buf: &[u8]) -> Result<Progress<Request>, HttpError> {
        let result = self.feed_inner(buf);
        if !matches!(result, Ok(Progress::Partial)) {
            self.head = None;
        }
        result
    }

    fn feed_inner(&mut self, buf: &[u8]) -> Result<Progress<Request>, HttpError> {
        if self.head.is_none() {
            let head = match parse_request_head(buf, &self.limits)? {
                HeadRead::Partial => return Ok(Progress::Partial),
                HeadRead::Version => match read_as_http11(buf) {
                    // RFC 9110 §2.5: a higher minor version is handled as the highest this
                    // recipient knows.
                    Some(copy) => match parse_request_head(&copy, &self.limits)? {
                        HeadRead::Parsed(head) => head,
                        HeadRead::Partial => return Ok(Progress::Partial),
                        HeadRead::Version => return Err(HttpError::Malformed),
                    },
                    None => return Err(HttpError::Malformed),
                },
                HeadRead::Parsed(head) => head,
            };
            let ParsedHead {
                method,
                target,
                version,
                headers,
                used,
            } = head;
            // RFC 9112 §3.2: HTTP/1.1 needs exactly one Host line, any version at most one,
            // and its value must be valid.
            let hosts = headers.get_all("host").count();
            if hosts > 1 || (version == 1 && hosts == 0) {
                return Err(HttpError::BadHost);
            }
            if headers
                .get_all("host")
                .next()
                .is_some_and(|h| !syntax::host_ok(h))
            {
                return Err(HttpError::InvalidHost);
            }
            // A request without Content-Length or Transfer-Encoding has no body. The framing
            // is judged before the target, so that a coding this parser lacks is a 501 even
            // for a target it would refuse.
            let framing = declared_framing(&headers, &self.limits)?.unwrap_or(Framing::Length(0));
            syntax::target_form(&method, &target)?;
            self.head = Some(RequestHead {
                method,
                target,
                version,
                headers,
                body: Body::new(framing, used),
            });
        }
        let limits = self.limits;
        let head = self.head.as_mut().expect("head parsed above");
        match head.body.advance(buf, &limits)? {
            None => Ok(Progress::Partial),
            Some(end) => {
                let head = self.head.take().expect("head parsed above");
                Ok(Progress::Complete(
                    Request {
                        method: head.method,
                        target: head.target,
                        version: head.version,
                        headers: head.headers,
                        body: head.body.decoded,
                    },
                    end,
                ))
            }
        }
    }
}

/// A response head once parsed, waiting for its body.
#[derive(Debug)]
struct ResponseHead {
    status: u16,
    reason: String,
    version: u8,
    headers: Headers,
    body: Body,
}

/// Parses the responses to requests sent on one connection.
#[derive(Debug)]
pub struct ResponseParser {
    limits: Limits,
    head_request: bool,
    head: Option<ResponseHead>,
}

impl ResponseParser {
    /// A parser for the response to a request; `head_request` when that request was `HEAD`
    /// (its response has no body whatever its headers say).
    pub fn new(limits: Limits, head_request: bool) -> Self {
        ResponseParser {
            limits,
            head_request,
            head: None,
        }
    }

    /// Feeds the connection's unconsumed bytes; see [`RequestParser::feed`].
    pub fn feed(&mut self, buf: &[u8]) -> Result<Progress<Response>, HttpError> {
        let result = self.feed_inner(buf);
        if !matches!(result, Ok(Progress::Partial)) {
            self.head = None;
        }
        result
    }

    /// The peer closed the connection: a body delimited by the close is now whole; any other
    /// incomplete message stays incomplete (`Partial`: the caller reports a premature close).
    pub fn feed_eof(&mut self, buf: &[u8]) -> Result<Progress<Response>, HttpError> {
        match self.feed(buf)? {
            Progress::Complete(r, n) => Ok(Progress::Complete(r, n)),
            Progress::Partial => match self.head.take() {
                Some(head) if head.body.framing == Framing::Close => Ok(Progress::Complete(
                    Response {
                        status: head.status,
                        reason: head.reason,
                        version: head.version,
                        headers: head.headers,
                        body: head.body.decoded,
                    },
                    buf.len(),
                )),
                other => {
                    self.head = other;
                    Ok(Progress::Partial)
                }
            },
        }
    }

    fn feed_inner(&mut self, buf: &[u8]) -> Result<Progress<Response>, HttpError> {
        if self.head.is_none() {
            let limits = self.limits;
            let parsed = with_header_slots(&limits, |slots| {
                let mut resp = httparse::Response::new(&mut []);
                match httparse::ParserConfig::default()
                    .parse_response_with_uninit_headers(&mut resp, buf, slots)
                {
                    Ok(httparse::Status::Complete(used)) => {
                        if used > limits.max_head_bytes {
                            return Err(HttpError::HeadTooLarge);
                        }
                        Ok(Some((
                            resp.code.unwrap_or(0),
                            resp.reason.unwrap_or_default().to_string(),
                            resp.version.unwrap_or(1),
                            own_headers(resp.headers),
                            used,
                        )))
                    }
                    Ok(httparse::Status::Partial) => {
                        if buf.len() > limits.max_head_bytes {
                            Err(HttpError::HeadTooLarge)
                        } else {
                            Ok(None)
                        }
                    }
                    Err(e) => Err(map_parse_error(e)),
                }
            })?;
            let Some((status, reason, version, headers, used)) = parsed else {
                return Ok(Progress::Partial);
            };
            let bodiless =
                self.head_request || (100..200).contains(&status) || status == 204 || status == 304;
            let framing = if bodiless {
                Framing::Length(0)
            } else {
                declared_framing(&headers, &self.limits)?.unwrap_or(Framing::Close)
            };
            self.head = Some(ResponseHead {
                status,
                reason,
                version,
                headers,
                body: Body::new(framing, used),
            });
        }
        let limits = self.limits;
        let head = self.head.as_mut().expect("head parsed above");
        match head.body.advance(buf, &limits)? {
            None => Ok(Progress::Partial),
            Some(end) => {
                let head = self.head.take().expect("head parsed above");
                Ok(Progress::Complete(
                    Response {
                        status: head.status,
                        reason: head.reason,
                        version: head.version,
                        headers: head.headers,
                        body: head.body.decoded,
                    },
                    end,
                ))
            }
        }
    }
}
