//! A run as an HTTP Archive (HAR 1.2, the format browsers' developer tools export and import),
//! one entry per request, from the [`RequestRecord`]s of a [`super::RequestLog`].
//!
//! What the trace knows goes in the fields HAR defines: method, URL, status, when the request
//! started (simulated time counted from a wall-clock instant the caller chooses) and how long
//! it took, split into `connect` (when the client opened a connection for it; `-1` on a reused
//! one) and `wait`, so that `time` is the sum of the timings as HAR requires. Header and body
//! sizes are not in the trace: they are `-1` (unknown), as HAR allows. What a balancer adds —
//! the backend, the decision and why, the rule, the backend's service time, the proxy's own
//! answer — goes in `_balancer`, a custom field (HAR reserves names starting `_` for those; tools
//! that do not know it ignore it). A request that got no response has status 0 and says why in
//! `_error`, as browsers export failed requests.

use serde_json::{json, Value};

use super::RequestRecord;
use crate::http::reason_phrase;

/// The HAR 1.2 document of `records`, as JSON text. Simulated time 0 is `epoch_unix_ms`
/// milliseconds after 1970-01-01T00:00:00Z (the CLI uses 0; the page, the time the run began).
pub fn to_har(records: &[RequestRecord], epoch_unix_ms: u64) -> String {
    let entries: Vec<Value> = records.iter().map(|r| entry(r, epoch_unix_ms)).collect();
    let doc = json!({
        "log": {
            "version": "1.2",
            "creator": {
                "name": "Traffic Cop (lbsim)",
                "version": env!("CARGO_PKG_VERSION"),
            },
            "entries": entries,
            "comment": "A simulated run: times are simulated time; _balancer holds what the balancer decided.",
        }
    });
    serde_json::to_string_pretty(&doc).expect("HAR documents serialise")
}

/// Milliseconds rounded to microseconds, as JSON numbers.
fn millis(v: f64) -> Value {
    json!((v * 1000.0).round() / 1000.0)
}

fn entry(r: &RequestRecord, epoch_unix_ms: u64) -> Value {
    let total = r.total_ms.unwrap_or(0.0);
    let connect = r.connect_ms.filter(|&c| c <= total);
    let wait = total - connect.unwrap_or(0.0);
    let (status, status_text, version) = match r.status {
        Some(s) => (s, reason_phrase(s), "HTTP/1.1"),
        None => (0, "", ""),
    };
    let url = if r.target.starts_with("http://") || r.target.starts_with("https://") {
        r.target.clone()
    } else {
        // The port is left out where it is the scheme's default (RFC 9110 §4.2).
        let default = matches!((r.scheme, r.to.port()), ("http", 80) | ("https", 443));
        let authority = if default {
            r.to.ip().to_string()
        } else {
            r.to.to_string()
        };
        format!("{}://{authority}{}", r.scheme, r.target)
    };
    let query: Vec<Value> = r
        .target
        .split_once('?')
        .map(|(_, q)| q)
        .into_iter()
        .flat_map(|q| q.split('&'))
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (name, value) = p.split_once('=').unwrap_or((p, ""));
            json!({"name": name, "value": value})
        })
        .collect();
    let started_us = epoch_unix_ms
        .saturating_mul(1000)
        .saturating_add((r.started_ms * 1000.0).round() as u64);
    let mut e = json!({
        "startedDateTime": iso8601(started_us),
        "time": millis(total),
        "request": {
            "method": r.method,
            "url": url,
            "httpVersion": "HTTP/1.1",
            "cookies": [],
            "headers": [],
            "queryString": query,
            "headersSize": -1,
            "bodySize": -1,
        },
        "response": {
            "status": status,
            "statusText": status_text,
            "httpVersion": version,
            "cookies": [],
            "headers": [],
            "content": {"size": 0, "mimeType": "", "comment": "the body is not recorded"},
            "redirectURL": "",
            "headersSize": -1,
            "bodySize": -1,
        },
        "cache": {},
        "timings": {
            "blocked": -1,
            "dns": -1,
            "connect": connect.map_or(json!(-1), millis),
            "send": 0,
            "wait": millis(wait),
            "receive": 0,
        },
        "serverIPAddress": r.to.ip().to_string(),
        "connection": r.client_port.to_string(),
        "_balancer": {
            "request": r.request,
            "client": r.client,
            "client_address": r.client_address,
            "client_port": r.client_port,
            "backend": r.backend,
            "decision": r.decision,
            "rule": r.rule,
            "pool": r.pool,
            "retries": r.retries,
            "served": r.served,
            "proxy_answer": r.proxy_answer,
            "outcome": r.outcome,
        },
    });
    if r.status.is_none() {
        e["_error"] = json!(r.outcome.map_or("in flight", |o| o.name()));
    }
    e
}

/// `YYYY-MM-DDTHH:MM:SS.mmmZ` for `micros` after the Unix epoch (the proleptic Gregorian
/// calendar, UTC), which is the ISO 8601 form HAR asks for.
pub fn iso8601(micros: u64) -> String {
    let ms = micros / 1000;
    let (days, rest) = (ms / 86_400_000, ms % 86_400_000);
    let (h, m, s, milli) = (
        rest / 3_600_000,
        rest / 60_000 % 60,
        rest / 1000 % 60,
        rest % 1000,
    );
    let (y, mo, d) = civil_from_days(days);
    format!("{y:04}-{mo:02}-{d:02}T{h:02}:{m:02}:{s:02}.{milli:03}Z")
}

/// The calendar date `days` after 1970-01-01: the era arithmetic of the proleptic Gregorian
/// calendar (400-year eras of 146,097 days, years starting in March so leap days come last).
fn civil_from_days(days: u64) -> (u64, u64, u64) {
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z % 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + u64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_iso_8601_in_utc() {
        assert_eq!(iso8601(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(iso8601(1_500), "1970-01-01T00:00:00.001Z");
        // 2000-02-29 (a leap day of a century divisible by 400): 11,016 days after the epoch.
        assert_eq!(
            iso8601((11_016 * 86_400 + 3_723) * 1_000_000 + 45_000),
            "2000-02-29T01:02:03.045Z"
        );
        // 2100 is not a leap year: the day after 2100-02-28 is 2100-03-01.
        assert_eq!(
            iso8601(47_541 * 86_400 * 1_000_000),
            "2100-03-01T00:00:00.000Z"
        );
    }
}
