//! Share links: a whole scenario, and optionally the view, in a URL fragment.
//!
//! A link reads `tc1.<name>.<data>.<check>`:
//!
//! - `tc1`: the format version, visible so that a reader can say at once which format a link
//!   is in; a later format keeps reading this one through [`migrate`];
//! - `<name>`: the preset the scenario came from, or `custom` — readable, and the fallback
//!   when the rest of the link is damaged;
//! - `<data>`: the scenario (and view) as compact JSON with every default left out, raw
//!   DEFLATE-compressed (RFC 1951), in base64url without padding (RFC 4648 §5);
//! - `<check>`: the CRC-32 (IEEE) of that JSON, in hex, so that a damaged link is noticed
//!   rather than half-loaded.
//!
//! Decoding never panics and never trusts sizes: the decompressed JSON is bounded.

use core::fmt;

use base64::Engine as _;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::{LoadError, Scenario};
use crate::presets::Preset;

/// The format this engine writes.
pub const FORMAT: u32 = 1;

/// The most bytes a link's JSON may decompress to.
pub const MAX_JSON: usize = 256 * 1024;

/// The view state a link may carry.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct View {
    /// Simulated time to show, in microseconds.
    #[serde(default, rename = "t", skip_serializing_if = "Option::is_none")]
    pub time_us: Option<u64>,
    /// The selected packet.
    #[serde(default, rename = "p", skip_serializing_if = "Option::is_none")]
    pub packet: Option<u64>,
    /// The selected request.
    #[serde(default, rename = "r", skip_serializing_if = "Option::is_none")]
    pub request: Option<u64>,
    /// The open lesson.
    #[serde(default, rename = "l", skip_serializing_if = "Option::is_none")]
    pub lesson: Option<String>,
}

/// What a link carries.
#[derive(Clone, Debug, PartialEq)]
pub struct Shared {
    /// The scenario.
    pub scenario: Scenario,
    /// The view, if it was shared.
    pub view: Option<View>,
}

/// What is wrong with a link.
#[derive(Clone, Debug, PartialEq)]
pub enum LinkError {
    /// Nothing to read.
    Empty,
    /// Not `tc<n>.<name>.<data>.<check>`.
    NotALink,
    /// A format this engine does not know.
    UnknownFormat(String),
    /// Parts are missing: the link was cut short.
    Truncated,
    /// The data part is not base64url.
    BadEncoding,
    /// The data does not decompress (damaged), or decompresses to too much.
    Corrupt,
    /// The checksum does not match the data.
    ChecksumMismatch {
        /// In the link.
        expected: String,
        /// Of the data.
        actual: String,
    },
    /// The data is not a valid scenario.
    BadScenario(LoadError),
}

impl fmt::Display for LinkError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LinkError::Empty => f.write_str("the link is empty"),
            LinkError::NotALink => f.write_str(
                "this is not a Traffic Cop link (expected tc1.<name>.<data>.<checksum>)",
            ),
            LinkError::UnknownFormat(v) => write!(
                f,
                "this link is in format {v:?}, which this version of Traffic Cop does not read (it reads tc1; the link may come from a newer version)"
            ),
            LinkError::Truncated => f.write_str("the link is cut short: parts of it are missing"),
            LinkError::BadEncoding => {
                f.write_str("the link's data has characters a link cannot contain (it was damaged)")
            }
            LinkError::Corrupt => f.write_str("the link's data is damaged: it does not decompress"),
            LinkError::ChecksumMismatch { expected, actual } => write!(
                f,
                "the link's checksum does not match its data (link says {expected}, data gives {actual}): it was changed or damaged"
            ),
            LinkError::BadScenario(e) => write!(f, "the link's scenario is not valid: {e}"),
        }
    }
}

impl std::error::Error for LinkError {}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Envelope {
    s: Value,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    v: Option<View>,
}

fn b64() -> base64::engine::GeneralPurpose {
    base64::engine::general_purpose::URL_SAFE_NO_PAD
}

impl Preset {
    /// The preset's share link fragment (without `#`).
    pub fn link(&self) -> String {
        encode(
            &Shared {
                scenario: self.scenario.clone(),
                view: None,
            },
            Some(&self.name),
        )
    }
}

/// The link for `shared`; `preset` names the preset it came from.
pub fn encode(shared: &Shared, preset: Option<&str>) -> String {
    let value = compact(&shared.scenario);
    let json = serde_json::to_string(&Envelope {
        s: value,
        v: shared.view.clone(),
    })
    .expect("envelopes serialise");
    let data = miniz_oxide::deflate::compress_to_vec(json.as_bytes(), 10);
    let name = preset
        .filter(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'))
        .unwrap_or("custom");
    format!(
        "tc{FORMAT}.{name}.{}.{:08x}",
        b64().encode(data),
        crc32(json.as_bytes())
    )
}

/// CRC-32 (the IEEE polynomial of zip and PNG, reflected; `crc32(b"123456789")` is
/// `cbf43926`). Bit by bit: links are short, and a lookup table would be bytes in the bundle.
fn crc32(data: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &byte in data {
        crc ^= u32::from(byte);
        for _ in 0..8 {
            let mask = (crc & 1).wrapping_neg();
            crc = (crc >> 1) ^ (0xEDB8_8320 & mask);
        }
    }
    !crc
}

/// A link split at its dots; the later parts are missing from a truncated link.
struct Parts<'a> {
    version: &'a str,
    name: &'a str,
    data: Option<&'a str>,
    check: Option<&'a str>,
}

/// The parts of a link, from a bare link, a `#fragment` or a whole URL.
fn parts(link: &str) -> Result<Parts<'_>, LinkError> {
    let link = link.trim();
    let link = link.rsplit_once('#').map_or(link, |(_, f)| f);
    if link.is_empty() {
        return Err(LinkError::Empty);
    }
    let mut it = link.split('.');
    let version = it.next().unwrap_or("");
    if !version.starts_with("tc") {
        return Err(LinkError::NotALink);
    }
    let name = it.next().ok_or(LinkError::Truncated)?;
    Ok(Parts {
        version,
        name,
        data: it.next(),
        check: it.next(),
    })
}

/// The preset name a link claims, if its prefix is readable.
pub fn preset_name(link: &str) -> Option<String> {
    parts(link)
        .ok()
        .map(|p| p.name.to_string())
        .filter(|n| n != "custom")
}

/// Decodes a link strictly.
pub fn decode(link: &str) -> Result<Shared, LinkError> {
    let Parts {
        version,
        data,
        check,
        ..
    } = parts(link)?;
    let format: u32 = version[2..]
        .parse()
        .map_err(|_| LinkError::UnknownFormat(version.to_string()))?;
    if format != FORMAT {
        return Err(LinkError::UnknownFormat(version.to_string()));
    }
    let (data, check) = match (data, check) {
        (Some(d), Some(c)) if !d.is_empty() && c.len() == 8 => (d, c),
        _ => return Err(LinkError::Truncated),
    };
    let compressed = b64().decode(data).map_err(|_| LinkError::BadEncoding)?;
    let json = miniz_oxide::inflate::decompress_to_vec_with_limit(&compressed, MAX_JSON)
        .map_err(|_| LinkError::Corrupt)?;
    let actual = format!("{:08x}", crc32(&json));
    if !actual.eq_ignore_ascii_case(check) {
        return Err(LinkError::ChecksumMismatch {
            expected: check.to_string(),
            actual,
        });
    }
    read(format, &json)
}

/// Reads an envelope's JSON, migrating older formats.
fn read(format: u32, json: &[u8]) -> Result<Shared, LinkError> {
    let text = std::str::from_utf8(json).map_err(|_| LinkError::Corrupt)?;
    let value: Value = serde_json::from_str(text).map_err(|e| {
        LinkError::BadScenario(LoadError::Syntax {
            path: String::new(),
            message: e.to_string(),
        })
    })?;
    let value = migrate(format, value);
    let envelope: Envelope = serde_json::from_value(value).map_err(|e| {
        LinkError::BadScenario(LoadError::Syntax {
            path: String::new(),
            message: e.to_string(),
        })
    })?;
    let scenario = Scenario::from_json(&envelope.s.to_string()).map_err(LinkError::BadScenario)?;
    Ok(Shared {
        scenario,
        view: envelope.v,
    })
}

/// Brings an envelope of format `format` to the current one. Format 1 is current; a format 2
/// decoder adds its step here, so that every link ever shared keeps opening.
pub fn migrate(format: u32, envelope: Value) -> Value {
    debug_assert_eq!(format, FORMAT, "only format 1 exists so far");
    envelope
}

/// Where an opened scenario came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Source {
    /// Exactly what the link says.
    Link,
    /// The link's data, although its checksum did not match.
    LinkDespiteChecksum,
    /// The link was unreadable; its preset, named in its readable prefix.
    Preset(String),
    /// The link was unreadable and named no known preset; the default preset.
    Default,
}

/// A link opened leniently.
#[derive(Clone, Debug, PartialEq)]
pub struct Opened {
    /// What to load.
    pub shared: Shared,
    /// What was wrong with the link, if anything.
    pub error: Option<LinkError>,
    /// Where the scenario came from.
    pub source: Source,
}

/// Opens a link, always giving a sensible scenario: the link's own when it decodes, its data
/// when only the checksum is off but the scenario is valid, else the preset its prefix names,
/// else the default preset. The error says what was wrong.
pub fn open(link: &str) -> Opened {
    match decode(link) {
        Ok(shared) => Opened {
            shared,
            error: None,
            source: Source::Link,
        },
        Err(error) => {
            if let LinkError::ChecksumMismatch { .. } = &error {
                if let Some(shared) = decode_ignoring_checksum(link) {
                    return Opened {
                        shared,
                        error: Some(error),
                        source: Source::LinkDespiteChecksum,
                    };
                }
            }
            let named = preset_name(link).and_then(|n| crate::presets::get(&n));
            let (preset, source) = match named {
                Some(p) => {
                    let name = p.name.clone();
                    (p, Source::Preset(name))
                }
                None => (
                    crate::presets::get(crate::presets::DEFAULT)
                        .expect("the default preset exists"),
                    Source::Default,
                ),
            };
            Opened {
                shared: Shared {
                    scenario: preset.scenario,
                    view: None,
                },
                error: Some(error),
                source,
            }
        }
    }
}

fn decode_ignoring_checksum(link: &str) -> Option<Shared> {
    let compressed = b64().decode(parts(link).ok()?.data?).ok()?;
    let json = miniz_oxide::inflate::decompress_to_vec_with_limit(&compressed, MAX_JSON).ok()?;
    read(FORMAT, &json).ok()
}

/// The scenario as JSON with every field at its default left out (what deserialising fills
/// back in), so that links stay short.
pub fn compact(scenario: &Scenario) -> Value {
    let mut value = serde_json::to_value(scenario).expect("scenarios serialise");
    let default_scenario: Value = serde_json::to_value(
        Scenario::parse_json(r#"{"version": 1, "duration": "1s", "backends": []}"#)
            .expect("the minimal scenario parses"),
    )
    .expect("scenarios serialise");
    let Value::Object(map) = &mut value else {
        return value;
    };
    strip(map, &default_scenario, &["version", "duration", "backends"]);
    let element = |text: &str| -> Value {
        let mut v: Value = serde_json::from_str(text).expect("literal");
        // Round-trip through the real types to get every default filled in.
        let s = Scenario::parse_json(&format!(
            r#"{{"version": 1, "duration": "1s", "backends": [{}], "clients": [{}], "players": [{}]}}"#,
            v["b"], v["c"], v["p"]
        ))
        .expect("element defaults parse");
        v = serde_json::to_value(s).expect("scenarios serialise");
        v
    };
    let defaults = element(
        r#"{"b": {"name": "x", "address": "10.0.0.1"}, "c": {"name": "x", "rate": 1}, "p": {"name": "x"}}"#,
    );
    for (key, required) in [
        ("backends", &["name", "address"][..]),
        ("clients", &["name", "rate"][..]),
        ("players", &["name"][..]),
    ] {
        let default = &defaults[key][0];
        if let Some(Value::Array(items)) = map.get_mut(key) {
            for item in items {
                if let Value::Object(obj) = item {
                    strip(obj, default, required);
                }
            }
        }
    }
    value
}

/// Removes from `obj` the fields equal to `default`'s, recursing into nested objects; never
/// the `required` ones. Option-typed objects (absent or null by default) are compared with
/// their type's default when one is known.
fn strip(obj: &mut Map<String, Value>, default: &Value, required: &[&str]) {
    let keys: Vec<String> = obj.keys().cloned().collect();
    for key in keys {
        if required.contains(&key.as_str()) {
            continue;
        }
        let d = default.get(&key).cloned().unwrap_or(Value::Null);
        let v = obj.get_mut(&key).expect("key from the map");
        if *v == d {
            obj.remove(&key);
            continue;
        }
        // A partly given object is filled from its *type's* default when read back (not from
        // the enclosing default: `network.client_link` defaults to 10 ms, a `LinkSpec` to
        // 1 ms), so strip it against that.
        if let (Value::Object(inner), Some(type_default)) = (v, type_default(&key)) {
            strip(inner, &type_default, &[]);
        }
    }
}

/// The serialised `Default` of the struct type a scenario key holds, for keys whose type
/// fills missing fields from its `Default`.
fn type_default(key: &str) -> Option<Value> {
    use super::*;
    let v = match key {
        "network" => serde_json::to_value(Network::default()),
        "client_link" | "server_link" | "link" => serde_json::to_value(LinkSpec::default()),
        "balancer" => serde_json::to_value(BalancerSpec::default()),
        "health" => serde_json::to_value(HealthSpec::default()),
        "conntrack" => serde_json::to_value(ConntrackSpec::default()),
        "cpu" => serde_json::to_value(CpuSpec::default()),
        "l7" => serde_json::to_value(L7Spec::default()),
        "tls" => serde_json::to_value(TlsSpec::default()),
        "outlier" => serde_json::to_value(OutlierSpec::default()),
        _ => return None,
    };
    Some(v.expect("defaults serialise"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::presets;

    #[test]
    fn crc32_matches_the_standard_check_values() {
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
        assert_eq!(crc32(b""), 0);
        assert_eq!(
            crc32(b"The quick brown fox jumps over the lazy dog"),
            0x414F_A339
        );
    }

    #[test]
    fn every_preset_round_trips_in_under_2000_characters() {
        for p in presets::all() {
            let link = p.link();
            assert!(link.len() <= 2000, "{}: {} characters", p.name, link.len());
            assert!(link.starts_with(&format!("tc1.{}.", p.name)));
            let back = decode(&link).unwrap_or_else(|e| panic!("{}: {e}", p.name));
            assert_eq!(back.scenario, p.scenario, "{}", p.name);
            assert_eq!(back.view, None);
        }
    }

    #[test]
    fn links_carry_the_view_and_open_from_urls() {
        let p = presets::get("cart").unwrap();
        let shared = Shared {
            scenario: p.scenario.clone(),
            view: Some(View {
                time_us: Some(12_500_000),
                packet: Some(42),
                request: None,
                lesson: Some("cart".into()),
            }),
        };
        let link = encode(&shared, Some("cart"));
        for form in [
            link.clone(),
            format!("#{link}"),
            format!("http://127.0.0.1:8080/#{link}"),
        ] {
            assert_eq!(decode(&form), Ok(shared.clone()));
        }
    }

    #[test]
    fn damaged_links_say_what_is_wrong_and_open_the_nearest_scenario() {
        let p = presets::get("game").unwrap();
        let link = p.link();
        let (head, check) = link.rsplit_once('.').unwrap();
        let cases: Vec<(String, LinkError)> = vec![
            (String::new(), LinkError::Empty),
            ("hello".into(), LinkError::NotALink),
            (
                link.replacen("tc1.", "tc9.", 1),
                LinkError::UnknownFormat("tc9".into()),
            ),
            (head.to_string(), LinkError::Truncated),
            (link[..link.len() / 2].to_string(), LinkError::Truncated),
            (
                format!("{head}.00000000"),
                LinkError::ChecksumMismatch {
                    expected: "00000000".into(),
                    actual: check.into(),
                },
            ),
        ];
        for (text, error) in cases {
            let opened = open(&text);
            assert_eq!(opened.error, Some(error.clone()), "{text:?}");
            assert!(!error.to_string().is_empty());
            match error {
                LinkError::ChecksumMismatch { .. } => {
                    assert_eq!(opened.source, Source::LinkDespiteChecksum);
                    assert_eq!(opened.shared.scenario, p.scenario);
                }
                LinkError::UnknownFormat(_) | LinkError::Truncated => {
                    // The readable prefix still names the preset: it opens.
                    assert_eq!(opened.source, Source::Preset("game".into()), "{text:?}");
                    assert_eq!(opened.shared.scenario, p.scenario);
                }
                _ => assert_eq!(opened.source, Source::Default),
            }
        }
        // A flipped character in the data: damaged, and the preset opens instead.
        let (prefix, rest) = link.split_at(20);
        let flipped = format!(
            "{prefix}{}{}",
            if rest.starts_with('A') { 'B' } else { 'A' },
            &rest[1..]
        );
        let opened = open(&flipped);
        assert!(opened.error.is_some());
        assert!(matches!(
            opened.source,
            Source::Preset(_) | Source::LinkDespiteChecksum
        ));
    }

    #[test]
    fn compact_json_leaves_out_defaults_only() {
        let s = presets::get("playground").unwrap().scenario;
        let v = compact(&s);
        assert!(v.get("network").is_none(), "default network left out");
        assert_eq!(
            v["backends"][0],
            serde_json::json!({"name": "A", "address": "10.0.0.11"})
        );
        assert_eq!(
            v["balancer"],
            serde_json::json!({"mode": "l4_nat", "health": {}})
        );
        let back = Scenario::from_json(&v.to_string()).unwrap();
        assert_eq!(back, s);
    }
}
