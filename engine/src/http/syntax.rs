//! The grammar httparse leaves to its caller: request-target forms and characters (RFC 9112
//! §3.2, RFC 3986), the `Host` value (RFC 9110 §7.2), chunk-size lines with their extensions
//! and trailer lines (RFC 9112 §7.1), and line endings (RFC 9112 §2.2).
//!
//! Every check is a pure function of bytes. Chunk and trailer lines may be incomplete: those
//! return `Ok(None)` until their CRLF has arrived, and an error as soon as a byte is wrong, so
//! a malformed body is refused when its bad byte arrives rather than waited on.

use super::HttpError;

/// `tchar` (RFC 9110 §5.6.2): the characters of a token.
pub(super) fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// Character classes of RFC 3986, one bit each, looked up per byte.
const UNRESERVED: u8 = 1;
const SUB_DELIM: u8 = 2;
/// `:` and `@`, which `pchar` adds.
const PCHAR_EXTRA: u8 = 4;
/// `/` and `?`, which a path and query add to `pchar`.
const PATH_EXTRA: u8 = 8;

const CLASSES: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        if c.is_ascii_alphanumeric() || c == b'-' || c == b'.' || c == b'_' || c == b'~' {
            t[b] |= UNRESERVED;
        }
        let delims = b"!$&'()*+,;=";
        let mut k = 0;
        while k < delims.len() {
            if delims[k] == c {
                t[b] |= SUB_DELIM;
            }
            k += 1;
        }
        if c == b':' || c == b'@' {
            t[b] |= PCHAR_EXTRA;
        }
        if c == b'/' || c == b'?' {
            t[b] |= PATH_EXTRA;
        }
        b += 1;
    }
    t
};

/// `unreserved` (RFC 3986 §2.3).
fn is_unreserved(b: u8) -> bool {
    CLASSES[usize::from(b)] & UNRESERVED != 0
}

/// `sub-delims` (RFC 3986 §2.2).
fn is_sub_delim(b: u8) -> bool {
    CLASSES[usize::from(b)] & SUB_DELIM != 0
}

/// `pchar`, `/` or `?`: a character of a path and query, `pct-encoded` aside (RFC 3986
/// §3.3, §3.4).
fn is_path_char(b: u8) -> bool {
    CLASSES[usize::from(b)] != 0
}

/// Whether every byte of `s` is `allowed` or starts a `pct-encoded` triplet (RFC 3986 §2.1).
fn uri_chars(s: &[u8], allowed: impl Fn(u8) -> bool) -> bool {
    let mut i = 0;
    while i < s.len() {
        if s[i] == b'%' {
            let hex = |k: usize| s.get(k).is_some_and(u8::is_ascii_hexdigit);
            if !(hex(i + 1) && hex(i + 2)) {
                return false;
            }
            i += 3;
        } else if allowed(s[i]) {
            i += 1;
        } else {
            return false;
        }
    }
    true
}

/// Path and query of a target: `path-abempty [ "?" query ]`, both made of `pchar`, `/` and
/// (in the query) `?`. A `#` fragment is not part of a request-target (RFC 9112 §3.2).
fn path_and_query_ok(s: &[u8]) -> bool {
    uri_chars(s, is_path_char)
}

/// The form of a request-target (RFC 9112 §3.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TargetForm {
    /// `/path?query`, the form sent to origin servers.
    Origin,
    /// `http://host/path`: the target's authority is the request's host (§3.2.2).
    Absolute,
    /// `host:port`, for `CONNECT` only (§3.2.3).
    Authority,
    /// `*`, for `OPTIONS` only (§3.2.4).
    Asterisk,
}

/// Which form `target` has, given its method, or why it is not a request-target.
pub fn target_form(method: &str, target: &str) -> Result<TargetForm, HttpError> {
    let t = target.as_bytes();
    if method == "CONNECT" {
        // authority-form = uri-host ":" port, with a port.
        return match target.rsplit_once(':') {
            Some((_, port)) if !port.is_empty() && host_ok(t) => Ok(TargetForm::Authority),
            _ => Err(HttpError::InvalidTarget),
        };
    }
    if target == "*" {
        return if method == "OPTIONS" {
            Ok(TargetForm::Asterisk)
        } else {
            Err(HttpError::InvalidTarget)
        };
    }
    if t.first() == Some(&b'/') {
        return if path_and_query_ok(t) {
            Ok(TargetForm::Origin)
        } else {
            Err(HttpError::InvalidTarget)
        };
    }
    let (authority, rest) = split_absolute(target).ok_or(HttpError::InvalidTarget)?;
    // userinfo is deprecated in http(s) URIs; a recipient treats it as an error (RFC 9110
    // §4.2.4), and an empty host is invalid for them (§4.2.1).
    if authority.is_empty() || authority.contains('@') || !host_ok(authority.as_bytes()) {
        return Err(HttpError::InvalidTarget);
    }
    if !(rest.is_empty() || rest.starts_with('/') || rest.starts_with('?'))
        || !path_and_query_ok(rest.as_bytes())
    {
        return Err(HttpError::InvalidTarget);
    }
    Ok(TargetForm::Absolute)
}

/// An absolute-form target as (authority, path and query): `scheme "://" authority rest`.
/// `None` when it is not of that shape.
pub(super) fn split_absolute(target: &str) -> Option<(&str, &str)> {
    let (scheme, after) = target.split_once("://")?;
    let mut s = scheme.bytes();
    let scheme_ok = s.next().is_some_and(|b| b.is_ascii_alphabetic())
        && s.all(|b| b.is_ascii_alphanumeric() || b"+-.".contains(&b));
    if !scheme_ok {
        return None;
    }
    let end = after.find(['/', '?']).unwrap_or(after.len());
    Some(after.split_at(end))
}

/// Whether `value` is a valid `Host` value: `uri-host [ ":" port ]` (RFC 9110 §7.2, RFC 3986
/// §3.2.2), possibly empty. A comma (the sign of several Host lines combined into a list) and
/// userinfo (`user@host`) are refused, as RFC 9112 §3.2 requires for an invalid Host.
pub fn host_ok(value: &[u8]) -> bool {
    let v = value.trim_ascii();
    let (host, port) = if v.first() == Some(&b'[') {
        // IP-literal: "[" ( IPv6address / IPvFuture ) "]".
        let Some(close) = v.iter().position(|&b| b == b']') else {
            return false;
        };
        let inner = &v[1..close];
        if inner.is_empty()
            || !inner
                .iter()
                .all(|&b| is_unreserved(b) || is_sub_delim(b) || b == b':')
        {
            return false;
        }
        match &v[close + 1..] {
            [] => (&v[..0], None),
            [b':', port @ ..] => (&v[..0], Some(port)),
            _ => return false,
        }
    } else {
        match v.iter().position(|&b| b == b':') {
            Some(colon) => (&v[..colon], Some(&v[colon + 1..])),
            None => (v, None),
        }
    };
    let reg_name = uri_chars(host, |b| (is_unreserved(b) || is_sub_delim(b)) && b != b',');
    reg_name && port.is_none_or(|p| p.iter().all(u8::is_ascii_digit))
}

/// Whether `head`, a head httparse accepted, has a line feed not preceded by a carriage
/// return. RFC 9112 §2.2 lets a recipient accept a bare LF as a line end; a proxy that does
/// while the next hop does not frames the message differently from it, so this one refuses.
///
/// httparse refuses a CR that is not followed by an LF, so in what it accepted every CR starts
/// a CRLF, and there is a bare LF exactly when there are more LFs than CRs: two counts, which
/// the compiler vectorises, instead of a look-behind at every byte.
pub(super) fn has_bare_lf(head: &[u8]) -> bool {
    let count = |c: u8| head.iter().filter(|&&b| b == c).count();
    count(b'\n') != count(b'\r')
}

/// Whether a head httparse accepted ends every line in CRLF (RFC 9112 §2.2), given where its
/// request line starts (`start`: only empty lines come before it) and where each line's
/// content ends (`line_ends`; spaces or tabs may follow before the CR).
pub(super) fn lines_end_in_crlf(
    head: &[u8],
    start: usize,
    line_ends: impl IntoIterator<Item = usize>,
) -> bool {
    let crlf_at = |i: usize| head.get(i..i.saturating_add(2)) == Some(b"\r\n".as_slice());
    let leading = start.is_multiple_of(2) && head[..start].chunks(2).all(|c| c == b"\r\n");
    leading
        && line_ends.into_iter().all(|mut e| {
            while matches!(head.get(e), Some(b' ' | b'\t')) {
                e += 1;
            }
            crlf_at(e)
        })
        // The empty line that ends the head.
        && head.ends_with(b"\r\n")
}

/// Skips `BWS` (spaces and tabs) from `i`.
fn skip_ws(s: &[u8], mut i: usize) -> usize {
    while s.get(i).is_some_and(|&b| b == b' ' || b == b'\t') {
        i += 1;
    }
    i
}

/// Skips a `token` from `i`; `None` when there is none.
fn skip_token(s: &[u8], i: usize) -> Option<usize> {
    let end = i + s[i..].iter().take_while(|&&b| is_tchar(b)).count();
    (end > i).then_some(end)
}

/// What a line scan found.
enum Scan {
    /// Complete: the bytes it used, CRLF included.
    Done(usize),
    /// The line has not ended yet.
    More,
}

/// Skips a `quoted-string` starting at the `"` at `i` (RFC 9110 §5.6.4).
fn skip_quoted(s: &[u8], mut i: usize) -> Result<Option<usize>, HttpError> {
    i += 1;
    loop {
        match s.get(i) {
            None => return Ok(None),
            Some(b'"') => return Ok(Some(i + 1)),
            Some(b'\\') => match s.get(i + 1) {
                None => return Ok(None),
                Some(&b) if b == b'\t' || b == b' ' || (b >= 0x21 && b != 0x7f) => i += 2,
                Some(_) => return Err(HttpError::InvalidChunk),
            },
            // qdtext = HTAB / SP / %x21 / %x23-5B / %x5D-7E / obs-text
            Some(&b) if b == b'\t' || b == b' ' || (0x21..=0x7e).contains(&b) || b >= 0x80 => {
                i += 1
            }
            Some(_) => return Err(HttpError::InvalidChunk),
        }
    }
}

/// Reads a chunk-size line (RFC 9112 §7.1, §7.1.1):
///
/// ```text
/// chunk-size [ chunk-ext ] CRLF
/// chunk-ext = *( BWS ";" BWS chunk-ext-name [ BWS "=" BWS chunk-ext-val ] )
/// chunk-ext-val = token / quoted-string
/// ```
///
/// `Ok(Some((used, size)))` once the line is whole, `Ok(None)` while it may still become one
/// (at most `max` bytes), and [`HttpError::InvalidChunk`] at the first byte that breaks the
/// grammar: whitespace after the size or an extension, a bare `;`, a name that is not a
/// token, an unbalanced quote, a CR or LF that is not a CRLF.
pub(super) fn chunk_size_line(s: &[u8], max: usize) -> Result<Option<(usize, u64)>, HttpError> {
    let digits = s.iter().take_while(|b| b.is_ascii_hexdigit()).count();
    if digits == 0 {
        return if s.is_empty() {
            Ok(None)
        } else {
            Err(HttpError::InvalidChunk)
        };
    }
    let mut size: u64 = 0;
    for &b in &s[..digits] {
        let d = (b as char).to_digit(16).expect("a hex digit") as u64;
        size = size
            .checked_mul(16)
            .and_then(|v| v.checked_add(d))
            .ok_or(HttpError::InvalidChunk)?;
    }
    let scan = chunk_ext(s, digits)?;
    match scan {
        Scan::Done(used) => Ok(Some((used, size))),
        Scan::More if s.len() > max => Err(HttpError::InvalidChunk),
        Scan::More => Ok(None),
    }
}

/// The extensions and CRLF after a chunk size ending at `i`.
fn chunk_ext(s: &[u8], mut i: usize) -> Result<Scan, HttpError> {
    loop {
        let after_ws = skip_ws(s, i);
        match s.get(after_ws) {
            None => return Ok(Scan::More),
            // No whitespace may end the line: BWS only comes before ";" or "=".
            Some(b'\r') if after_ws == i => {
                return match s.get(i + 1) {
                    None => Ok(Scan::More),
                    Some(b'\n') => Ok(Scan::Done(i + 2)),
                    Some(_) => Err(HttpError::InvalidChunk),
                }
            }
            Some(b';') => {
                let name = skip_ws(s, after_ws + 1);
                if name == s.len() {
                    return Ok(Scan::More);
                }
                let Some(end) = skip_token(s, name) else {
                    return Err(HttpError::InvalidChunk);
                };
                i = end;
                let eq = skip_ws(s, i);
                match s.get(eq) {
                    None => return Ok(Scan::More),
                    Some(b'=') => {
                        let value = skip_ws(s, eq + 1);
                        match s.get(value) {
                            None => return Ok(Scan::More),
                            Some(b'"') => match skip_quoted(s, value)? {
                                Some(end) => i = end,
                                None => return Ok(Scan::More),
                            },
                            Some(_) => match skip_token(s, value) {
                                Some(end) => i = end,
                                None => return Err(HttpError::InvalidChunk),
                            },
                        }
                    }
                    Some(_) => {}
                }
            }
            Some(_) => return Err(HttpError::InvalidChunk),
        }
    }
}

/// Reads one line of a trailer section (RFC 9112 §7.1.2): `Ok(Some((used, last)))` once it
/// is whole, `last` for the empty line that ends the section; `Ok(None)` while it may still
/// become one. A field line is `field-name ":" OWS field-value OWS` and ends in CRLF; a bare
/// LF or CR, a name that is not a token or a control character in the value is
/// [`HttpError::InvalidChunk`].
pub(super) fn trailer_line(s: &[u8]) -> Result<Option<(usize, bool)>, HttpError> {
    let Some(lf) = s.iter().position(|&b| b == b'\n') else {
        // A CR anywhere but as the last byte received cannot start a CRLF.
        return match s.iter().position(|&b| b == b'\r') {
            Some(cr) if cr + 1 < s.len() => Err(HttpError::InvalidChunk),
            _ => Ok(None),
        };
    };
    if lf == 0 || s[lf - 1] != b'\r' {
        return Err(HttpError::InvalidChunk);
    }
    let line = &s[..lf - 1];
    if line.is_empty() {
        return Ok(Some((2, true)));
    }
    let name = line.iter().take_while(|&&b| is_tchar(b)).count();
    let value_ok = |v: &[u8]| {
        v.iter()
            .all(|&b| b == b'\t' || b == b' ' || (0x21..=0x7e).contains(&b) || b >= 0x80)
    };
    if name == 0 || line.get(name) != Some(&b':') || !value_ok(&line[name + 1..]) {
        return Err(HttpError::InvalidChunk);
    }
    Ok(Some((lf + 1, false)))
}
