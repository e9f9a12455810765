//! HTTP/1.1 framing on top of `httparse` (RFC 9112), shared by the servers, the clients and the
//! L7 proxy.
//!
//! Parsing is incremental: feed the bytes received so far; an incomplete message is
//! [`Progress::Partial`], never an error. Every limit is explicit ([`Limits`]), and every refusal
//! is a small [`HttpError`] that knows the status a server answers with (400, 413, 431, 501).
//!
//! Request smuggling guards (RFC 9112 §6.3): a message with both `Content-Length` and
//! `Transfer-Encoding`, with more than one `Content-Length` value, or with a transfer coding
//! other than `chunked` is refused rather than guessed at. So is what RFC 9112 lets a
//! recipient either accept or refuse where accepting could frame a message differently from
//! the next hop: a bare LF ending a line (§2.2), a chunk extension or trailer that breaks the
//! grammar (§7.1). The request-target must be one of the four forms of §3.2 and contain only
//! URI characters (RFC 3986); `Host` must be one `host[:port]` (RFC 9110 §7.2). An
//! `HTTP/1.x` request with a minor version above 1 is read as HTTP/1.1 (RFC 9110 §2.5).

mod parse;
mod syntax;
mod write;

pub use parse::{RequestParser, ResponseParser};
pub use syntax::{host_ok, target_form, TargetForm};
pub use write::{
    reason_phrase, request_bytes, write_request, write_response, write_response_head,
    write_response_to, RequestBuilder, ResponseBuilder,
};

use core::fmt;

/// Explicit bounds on what a parser accepts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Bytes of request line plus header section, including the blank line (431 beyond).
    pub max_head_bytes: usize,
    /// Number of header fields (431 beyond).
    pub max_headers: usize,
    /// Bytes of decoded body (413 beyond).
    pub max_body_bytes: u64,
}

impl Default for Limits {
    /// 8 KiB of head (nginx's `large_client_header_buffers` order of size), 64 fields, 1 MiB body.
    fn default() -> Self {
        Limits {
            max_head_bytes: 8 * 1024,
            max_headers: 64,
            max_body_bytes: 1024 * 1024,
        }
    }
}

/// Why a message was refused. Each maps to the status a server answers with.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum HttpError {
    /// The bytes are not an HTTP/1.x message (bad request line, header syntax, version).
    Malformed,
    /// The request line and headers exceed [`Limits::max_head_bytes`] or [`Limits::max_headers`].
    HeadTooLarge,
    /// The request line alone exceeds [`Limits::max_head_bytes`] (RFC 9110 §15.5.15: 414).
    TargetTooLong,
    /// A line of the head ends in a bare LF instead of CRLF (RFC 9112 §2.2).
    BareLineFeed,
    /// The request-target is none of the forms of RFC 9112 §3.2 for its method, or holds a
    /// character that is not a URI character (RFC 3986), a fragment or userinfo.
    InvalidTarget,
    /// The `Host` value is not one `host[:port]`: a list, userinfo or a bad character
    /// (RFC 9110 §7.2, RFC 9112 §3.2).
    InvalidHost,
    /// The body exceeds [`Limits::max_body_bytes`].
    BodyTooLarge,
    /// A transfer coding this parser does not implement (anything but `chunked`).
    UnsupportedTransferCoding,
    /// `chunked` is missing as the final coding, or applied twice (RFC 9112 §6.1).
    BadTransferEncoding,
    /// Both `Content-Length` and `Transfer-Encoding`: a smuggling vector.
    LengthAndChunked,
    /// More than one `Content-Length` value (two lines, or a list such as `5, 5`): a smuggling
    /// vector. RFC 9110 §8.6 lets a recipient refuse or collapse identical values; a proxy
    /// that collapses them forwards a message its next hop may frame otherwise.
    ConflictingLengths,
    /// A `Content-Length` that is not a decimal number.
    InvalidLength,
    /// A chunk size line or chunk terminator that does not parse.
    InvalidChunk,
    /// An HTTP/1.1 request without exactly one `Host` header, or any request with two.
    BadHost,
}

impl HttpError {
    /// The status a server answers with.
    pub fn status(self) -> u16 {
        match self {
            HttpError::HeadTooLarge => 431,
            HttpError::TargetTooLong => 414,
            HttpError::BodyTooLarge => 413,
            HttpError::UnsupportedTransferCoding => 501,
            HttpError::Malformed
            | HttpError::BareLineFeed
            | HttpError::InvalidTarget
            | HttpError::InvalidHost
            | HttpError::LengthAndChunked
            | HttpError::ConflictingLengths
            | HttpError::InvalidLength
            | HttpError::InvalidChunk
            | HttpError::BadTransferEncoding
            | HttpError::BadHost => 400,
        }
    }

    /// A short explanation for people.
    pub fn message(self) -> &'static str {
        match self {
            HttpError::Malformed => "not a valid HTTP/1.x message",
            HttpError::HeadTooLarge => "request line and headers are too large",
            HttpError::TargetTooLong => "request-target is too long",
            HttpError::BareLineFeed => "a line ends in a bare LF, not CRLF",
            HttpError::InvalidTarget => {
                "request-target is not an origin, absolute, authority or asterisk form of URI characters"
            }
            HttpError::InvalidHost => "Host is not one host[:port] (no list, no userinfo)",
            HttpError::BodyTooLarge => "body is larger than the limit",
            HttpError::UnsupportedTransferCoding => "transfer coding other than chunked",
            HttpError::BadTransferEncoding => "chunked must be the final transfer coding, once",
            HttpError::LengthAndChunked => {
                "both Content-Length and Transfer-Encoding (request smuggling guard)"
            }
            HttpError::ConflictingLengths => {
                "more than one Content-Length value (request smuggling guard)"
            }
            HttpError::InvalidLength => "Content-Length is not a number",
            HttpError::InvalidChunk => "invalid chunked body framing",
            HttpError::BadHost => "needs exactly one Host header (HTTP/1.0: at most one)",
        }
    }

    /// A stable machine name, used in traces and reports.
    pub fn name(self) -> &'static str {
        match self {
            HttpError::Malformed => "malformed",
            HttpError::HeadTooLarge => "head_too_large",
            HttpError::TargetTooLong => "target_too_long",
            HttpError::BareLineFeed => "bare_line_feed",
            HttpError::InvalidTarget => "invalid_target",
            HttpError::InvalidHost => "invalid_host",
            HttpError::BodyTooLarge => "body_too_large",
            HttpError::UnsupportedTransferCoding => "unsupported_transfer_coding",
            HttpError::BadTransferEncoding => "bad_transfer_encoding",
            HttpError::LengthAndChunked => "length_and_chunked",
            HttpError::ConflictingLengths => "conflicting_lengths",
            HttpError::InvalidLength => "invalid_length",
            HttpError::InvalidChunk => "invalid_chunk",
            HttpError::BadHost => "bad_host",
        }
    }
}

impl fmt::Display for HttpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.message(), self.status())
    }
}

impl std::error::Error for HttpError {}

/// The outcome of feeding bytes to a parser.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Progress<T> {
    /// A whole message, and how many bytes of the input it used.
    Complete(T, usize),
    /// More bytes are needed; nothing is wrong yet.
    Partial,
}

/// Header fields in the order they were sent. Names keep their case as sent; look-ups ignore
/// case. All names and values live in one buffer, so a parsed message costs two allocations
/// however many fields it has.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Headers {
    buf: Vec<u8>,
    /// (name start, name end, value end) per field; a value starts where its name ends.
    fields: Vec<(u32, u32, u32)>,
}

impl Headers {
    /// Room for `fields` fields of `bytes` bytes in all.
    pub fn with_capacity(fields: usize, bytes: usize) -> Self {
        Headers {
            buf: Vec::with_capacity(bytes),
            fields: Vec::with_capacity(fields),
        }
    }

    /// Every field as (name, value), in order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &[u8])> + '_ {
        self.fields.iter().map(|&(a, b, c)| {
            let name = core::str::from_utf8(&self.buf[a as usize..b as usize]).unwrap_or("");
            (name, &self.buf[b as usize..c as usize])
        })
    }

    /// Number of fields.
    pub fn len(&self) -> usize {
        self.fields.len()
    }

    /// Whether there are no fields.
    pub fn is_empty(&self) -> bool {
        self.fields.is_empty()
    }

    /// The first value of `name` as text, if present and valid UTF-8.
    pub fn get<'a>(&'a self, name: &'a str) -> Option<&'a str> {
        self.get_all(name)
            .next()
            .and_then(|v| core::str::from_utf8(v).ok())
            .map(str::trim)
    }

    /// Every value of `name`, in order.
    pub fn get_all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a [u8]> + 'a {
        // Names compare as bytes: no UTF-8 check on the look-up path.
        self.fields
            .iter()
            .filter(move |&&(a, b, _)| {
                self.buf[a as usize..b as usize].eq_ignore_ascii_case(name.as_bytes())
            })
            .map(|&(_, b, c)| &self.buf[b as usize..c as usize])
    }

    /// Appends a field.
    pub fn push(&mut self, name: &str, value: impl AsRef<[u8]>) {
        let a = self.buf.len() as u32;
        self.buf.extend_from_slice(name.as_bytes());
        let b = self.buf.len() as u32;
        self.buf.extend_from_slice(value.as_ref());
        self.fields.push((a, b, self.buf.len() as u32));
    }

    /// The value of cookie `name` from any `Cookie` header.
    pub fn cookie(&self, name: &str) -> Option<&str> {
        self.get_all("cookie")
            .filter_map(|v| core::str::from_utf8(v).ok())
            .flat_map(|v| v.split(';'))
            .filter_map(|pair| pair.trim().split_once('='))
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v)
    }
}

/// A parsed request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Request {
    /// Method token, such as `GET`.
    pub method: String,
    /// Request target as sent, such as `/cart?id=3`.
    pub target: String,
    /// Minor version: 0 for HTTP/1.0, 1 for HTTP/1.1.
    pub version: u8,
    /// Header fields.
    pub headers: Headers,
    /// Decoded body.
    pub body: Vec<u8>,
}

impl Request {
    /// The target's path and query: the target itself in origin form; an absolute-form
    /// target without its scheme and authority (which may leave it empty, or starting `?`).
    fn path_and_query(&self) -> &str {
        if self.target.starts_with('/') {
            return &self.target;
        }
        syntax::split_absolute(&self.target).map_or(&self.target, |(_, rest)| rest)
    }

    /// The target's path without its query string; `/` for an absolute-form target with an
    /// empty path (`http://a.example?q`).
    pub fn path(&self) -> &str {
        let path = self.path_and_query().split('?').next().unwrap_or("");
        if path.is_empty() && self.target != "*" {
            "/"
        } else {
            path
        }
    }

    /// The target as sent to an origin server (origin form, RFC 9112 §3.2.1): an absolute-form
    /// target loses its scheme and authority, and an empty path becomes `/`.
    pub fn origin_form(&self) -> String {
        let rest = self.path_and_query();
        if rest.starts_with('/') || self.target == "*" || !self.is_absolute_form() {
            rest.to_string()
        } else {
            format!("/{rest}")
        }
    }

    /// Whether the target is in absolute form (`http://host/path`).
    pub fn is_absolute_form(&self) -> bool {
        !self.target.starts_with('/') && syntax::split_absolute(&self.target).is_some()
    }

    /// The request's authority, `host[:port]`: an absolute-form target's own, which wins over
    /// any `Host` header (RFC 9112 §3.2.2), else the `Host` header's value.
    pub fn authority(&self) -> Option<&str> {
        match syntax::split_absolute(&self.target) {
            Some((authority, _)) if !self.target.starts_with('/') => Some(authority),
            _ => self.headers.get("host"),
        }
    }

    /// The host the request is for, without its port: what routing by host compares.
    pub fn host(&self) -> Option<&str> {
        let authority = self.authority()?;
        Some(match authority.strip_prefix('[') {
            Some(literal) => literal.split(']').next().unwrap_or(""),
            None => authority.split(':').next().unwrap_or(""),
        })
    }

    /// Whether the connection stays open after this exchange (RFC 9112 §9.3).
    pub fn keep_alive(&self) -> bool {
        keep_alive(self.version, &self.headers)
    }
}

/// A parsed response.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Response {
    /// Status code.
    pub status: u16,
    /// Reason phrase as sent.
    pub reason: String,
    /// Minor version.
    pub version: u8,
    /// Header fields.
    pub headers: Headers,
    /// Decoded body.
    pub body: Vec<u8>,
}

impl Response {
    /// Whether the connection stays open after this exchange.
    pub fn keep_alive(&self) -> bool {
        keep_alive(self.version, &self.headers)
    }
}

fn keep_alive(version: u8, headers: &Headers) -> bool {
    let tokens = || {
        headers
            .get_all("connection")
            .filter_map(|v| core::str::from_utf8(v).ok())
            .flat_map(|v| v.split(','))
            .map(str::trim)
    };
    if version == 0 {
        tokens().any(|t| t.eq_ignore_ascii_case("keep-alive"))
    } else {
        !tokens().any(|t| t.eq_ignore_ascii_case("close"))
    }
}

#[cfg(test)]
mod tests;
