//! Serialising requests and responses to HTTP/1.1 bytes.
//!
//! Bodies are always framed with `Content-Length`, so that what the simulation sends is
//! unambiguous to every parser on the path, Wireshark's included.

/// The reason phrase conventionally sent with `status`.
pub fn reason_phrase(status: u16) -> &'static str {
    match status {
        100 => "Continue",
        200 => "OK",
        201 => "Created",
        204 => "No Content",
        301 => "Moved Permanently",
        302 => "Found",
        304 => "Not Modified",
        400 => "Bad Request",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        409 => "Conflict",
        413 => "Content Too Large",
        414 => "URI Too Long",
        429 => "Too Many Requests",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        501 => "Not Implemented",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        _ => "Unknown",
    }
}

/// A response under construction.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ResponseBuilder {
    /// Status code.
    pub status: u16,
    /// Extra header fields (Content-Length is added by [`write_response`]).
    pub headers: Vec<(String, String)>,
    /// Body bytes.
    pub body: Vec<u8>,
}

impl ResponseBuilder {
    /// A response with `status` and no body.
    pub fn new(status: u16) -> Self {
        ResponseBuilder {
            status,
            headers: Vec::new(),
            body: Vec::new(),
        }
    }

    /// Adds a header field.
    pub fn header(mut self, name: &str, value: impl Into<String>) -> Self {
        self.headers.push((name.to_string(), value.into()));
        self
    }

    /// Sets the body.
    pub fn body(mut self, body: impl Into<Vec<u8>>) -> Self {
        self.body = body.into();
        self
    }

    /// The bytes on the wire.
    pub fn to_bytes(&self) -> Vec<u8> {
        write_response(self)
    }

    /// Appends the bytes on the wire to `out`.
    pub fn write_to(&self, out: &mut Vec<u8>) {
        let fields = self.headers.iter().map(|(n, v)| (n.as_str(), v.as_str()));
        write_response_to(out, self.status, fields, &self.body);
    }
}

/// Appends a response with `status`, the header `fields` in order and `body` to `out`,
/// framed as [`write_response`] frames it; for senders that hold no [`ResponseBuilder`].
pub fn write_response_to<'a>(
    out: &mut Vec<u8>,
    status: u16,
    fields: impl IntoIterator<Item = (&'a str, &'a str)>,
    body: &[u8],
) {
    out.reserve(128 + body.len());
    write_response_head(out, status, fields, body.len());
    out.extend_from_slice(body);
}

/// Appends the head of a response with `status`, the header `fields` in order and a body of
/// `body_len` bytes (its `Content-Length`) to `out`; the body is the caller's to append.
pub fn write_response_head<'a>(
    out: &mut Vec<u8>,
    status: u16,
    fields: impl IntoIterator<Item = (&'a str, &'a str)>,
    body_len: usize,
) {
    out.extend_from_slice(b"HTTP/1.1 ");
    push_decimal(out, status.into());
    out.push(b' ');
    out.extend_from_slice(reason_phrase(status).as_bytes());
    out.extend_from_slice(b"\r\n");
    write_fields(out, fields, body_len);
}

/// Serialises a response with a `Content-Length` header.
pub fn write_response(r: &ResponseBuilder) -> Vec<u8> {
    let mut out = Vec::new();
    r.write_to(&mut out);
    out
}

/// A request under construction.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RequestBuilder {
    /// Method token.
    pub method: String,
    /// Request target.
    pub target: String,
    /// Header fields, Host first (Content-Length is added by [`write_request`] when there is a
    /// body).
    pub headers: Vec<(String, String)>,
    /// Body bytes.
    pub body: Vec<u8>,
}

impl RequestBuilder {
    /// A request for `target` on `host`.
    pub fn new(method: &str, target: &str, host: &str) -> Self {
        RequestBuilder {
            method: method.to_string(),
            target: target.to_string(),
            headers: vec![("Host".to_string(), host.to_string())],
            body: Vec::new(),
        }
    }

    /// Adds a header field.
    pub fn header(mut self, name: &str, value: impl Into<String>) -> Self {
        self.headers.push((name.to_string(), value.into()));
        self
    }

    /// Sets the body.
    pub fn body(mut self, body: impl Into<Vec<u8>>) -> Self {
        self.body = body.into();
        self
    }

    /// The bytes on the wire.
    pub fn to_bytes(&self) -> Vec<u8> {
        write_request(self)
    }
}

/// Serialises a request; a body gets a `Content-Length` header, as do methods that usually
/// carry one (POST, PUT, PATCH) even when it is empty.
pub fn write_request(r: &RequestBuilder) -> Vec<u8> {
    let fields = r.headers.iter().map(|(n, v)| (n.as_str(), v.as_str()));
    request_bytes(&r.method, &r.target, fields, &r.body)
}

/// The bytes of a request with `method`, `target`, the header `fields` in order and `body`,
/// framed as [`write_request`] frames them; for senders that hold no [`RequestBuilder`].
pub fn request_bytes<'a>(
    method: &str,
    target: &str,
    fields: impl IntoIterator<Item = (&'a str, &'a str)>,
    body: &[u8],
) -> Vec<u8> {
    let mut out = Vec::with_capacity(128 + body.len());
    for part in [method, " ", target, " HTTP/1.1\r\n"] {
        out.extend_from_slice(part.as_bytes());
    }
    if !body.is_empty() || matches!(method, "POST" | "PUT" | "PATCH") {
        write_fields(&mut out, fields, body.len());
    } else {
        for (name, value) in fields {
            push_field(&mut out, name, value);
        }
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(body);
    out
}

/// The header fields, then `Content-Length: body_len`, then the empty line.
fn write_fields<'a>(
    out: &mut Vec<u8>,
    fields: impl IntoIterator<Item = (&'a str, &'a str)>,
    body_len: usize,
) {
    for (name, value) in fields {
        push_field(out, name, value);
    }
    out.extend_from_slice(b"Content-Length: ");
    push_decimal(out, body_len as u64);
    out.extend_from_slice(b"\r\n\r\n");
}

/// Appends `n` in decimal digits.
fn push_decimal(out: &mut Vec<u8>, mut n: u64) {
    let mut digits = [0u8; 20];
    let mut at = digits.len();
    loop {
        at -= 1;
        digits[at] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(&digits[at..]);
}

fn push_field(out: &mut Vec<u8>, name: &str, value: &str) {
    out.extend_from_slice(name.as_bytes());
    out.extend_from_slice(b": ");
    out.extend_from_slice(value.as_bytes());
    out.extend_from_slice(b"\r\n");
}
