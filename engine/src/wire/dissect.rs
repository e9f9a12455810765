//! The packet inspector's dissector: Wireshark-style layers, each field with the bytes it
//! occupies, so that the view can highlight a field's bytes in the hex pane.
//!
//! Layers: IPv4 (and the inner IPv4 of an IP-in-IP tunnel), TCP or UDP, then HTTP/1.1, TLS
//! records, a game update, or plain data. Checksums are verified and the verdict shown, as
//! Wireshark does with checksum validation on. Any bytes are accepted: what cannot be read is
//! shown as a malformed layer, never a panic.

use std::fmt::Write as _;
use std::ops::Range;

use super::checksum::{fold, ones_sum};
use super::PacketInfo;
use super::PROBE_PORTS;

/// One field of a layer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Field {
    /// Name, as Wireshark names it where it has a name for it.
    pub name: String,
    /// Value, formatted for reading.
    pub value: String,
    /// The bytes it occupies in the packet.
    pub range: Range<usize>,
}

/// One protocol layer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Layer {
    /// Protocol name ("Internet Protocol Version 4").
    pub name: String,
    /// One-line summary ("Src: 192.0.2.1, Dst: 203.0.113.10").
    pub summary: String,
    /// The bytes of the layer, header and what it carries.
    pub range: Range<usize>,
    /// Its fields, in wire order.
    pub fields: Vec<Field>,
}

impl Layer {
    fn new(name: &str, range: Range<usize>) -> Self {
        Layer {
            name: name.to_string(),
            summary: String::new(),
            range,
            fields: Vec::new(),
        }
    }

    fn field(&mut self, name: &str, value: impl Into<String>, range: Range<usize>) {
        self.fields.push(Field {
            name: name.to_string(),
            value: value.into(),
            range,
        });
    }
}

/// What a packet is, for colouring it on the topology.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum PacketKind {
    /// Opens or closes a TCP connection: SYN, FIN or RST.
    Control,
    /// Carries TCP payload (or acknowledges it).
    Data,
    /// A UDP datagram.
    Datagram,
    /// A health probe or its answer.
    Probe,
    /// Forwarded by the balancer with its addresses rewritten or encapsulated.
    Rewritten,
    /// Lost on its link.
    Lost,
}

impl PacketKind {
    /// Every kind, in legend order.
    pub const ALL: [PacketKind; 6] = [
        PacketKind::Control,
        PacketKind::Data,
        PacketKind::Datagram,
        PacketKind::Probe,
        PacketKind::Rewritten,
        PacketKind::Lost,
    ];

    /// Its name in the legend.
    pub fn label(self) -> &'static str {
        match self {
            PacketKind::Control => "handshake / close",
            PacketKind::Data => "data",
            PacketKind::Datagram => "UDP",
            PacketKind::Probe => "health probe",
            PacketKind::Rewritten => "rewritten by the balancer",
            PacketKind::Lost => "lost",
        }
    }

    /// Classifies a packet on a link; `forwarded_by_balancer` when the balancer rewrote or
    /// tunnelled it, `lost` when the link loses it.
    pub fn of(bytes: &[u8], forwarded_by_balancer: bool, lost: bool) -> PacketKind {
        if lost {
            return PacketKind::Lost;
        }
        let Some(info) = PacketInfo::parse(bytes) else {
            return PacketKind::Data;
        };
        match info.transport {
            super::Transport::Tcp {
                src_port,
                dst_port,
                flags,
                ..
            } => {
                if PROBE_PORTS.contains(&src_port) || PROBE_PORTS.contains(&dst_port) {
                    PacketKind::Probe
                } else if forwarded_by_balancer {
                    PacketKind::Rewritten
                } else if flags.syn || flags.fin || flags.rst {
                    PacketKind::Control
                } else {
                    PacketKind::Data
                }
            }
            _ if forwarded_by_balancer => PacketKind::Rewritten,
            super::Transport::Udp { .. } => PacketKind::Datagram,
            super::Transport::Other(_) => PacketKind::Data,
        }
    }
}

/// The ranges of bytes that differ between two versions of a packet (a rewrite's before and
/// after); bytes beyond the shorter one count as changed.
pub fn changed(a: &[u8], b: &[u8]) -> Vec<Range<usize>> {
    let mut out: Vec<Range<usize>> = Vec::new();
    let n = a.len().max(b.len());
    for i in 0..n {
        if a.get(i) != b.get(i) {
            match out.last_mut() {
                Some(r) if r.end == i => r.end = i + 1,
                _ => out.push(i..i + 1),
            }
        }
    }
    out
}

/// Dissects an IPv4 packet into layers.
pub fn dissect(bytes: &[u8]) -> Vec<Layer> {
    let mut layers = Vec::new();
    ipv4(bytes, 0, &mut layers);
    layers
}

fn be16(b: &[u8], at: usize) -> u16 {
    u16::from_be_bytes([b[at], b[at + 1]])
}

fn be32(b: &[u8], at: usize) -> u32 {
    u32::from_be_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

fn addr(b: &[u8], at: usize) -> std::net::Ipv4Addr {
    std::net::Ipv4Addr::new(b[at], b[at + 1], b[at + 2], b[at + 3])
}

fn malformed(layers: &mut Vec<Layer>, what: &str, range: Range<usize>) {
    let mut l = Layer::new("Malformed", range.clone());
    l.summary = what.to_string();
    l.field("Problem", what, range);
    layers.push(l);
}

fn checksum_verdict(stored: u16, computed_sum: u32) -> String {
    // A correct checksum makes the one's-complement sum over the covered bytes 0xffff.
    if fold(computed_sum) == 0xffff {
        format!("0x{stored:04x} [correct]")
    } else {
        let without = fold(computed_sum + u32::from(!stored));
        format!("0x{stored:04x} [incorrect, should be 0x{:04x}]", !without)
    }
}

/// `p` is the whole packet; the IPv4 header starts at `o`.
fn ipv4(p: &[u8], o: usize, layers: &mut Vec<Layer>) {
    let b = &p[o..];
    if b.len() < 20 || b[0] >> 4 != 4 {
        malformed(layers, "not an IPv4 header", o..p.len());
        return;
    }
    let ihl = usize::from(b[0] & 0x0f) * 4;
    let total = usize::from(be16(b, 2));
    if ihl < 20 || b.len() < ihl {
        malformed(layers, "IPv4 header length out of range", o..p.len());
        return;
    }
    let end = o + total.clamp(ihl, b.len());
    let mut l = Layer::new("Internet Protocol Version 4", o..end);
    let (src, dst, proto) = (addr(b, 12), addr(b, 16), b[9]);
    l.summary = format!("Src: {src}, Dst: {dst}");
    l.field("Version", "4", o..o + 1);
    l.field(
        "Header Length",
        format!("{ihl} bytes ({})", ihl / 4),
        o..o + 1,
    );
    l.field(
        "Differentiated Services",
        format!("0x{:02x} (DSCP {}, ECN {})", b[1], b[1] >> 2, b[1] & 3),
        o + 1..o + 2,
    );
    l.field("Total Length", total.to_string(), o + 2..o + 4);
    l.field(
        "Identification",
        format!("0x{0:04x} ({0})", be16(b, 4)),
        o + 4..o + 6,
    );
    let ff = be16(b, 6);
    let mut flags = Vec::new();
    if ff & 0x4000 != 0 {
        flags.push("Don't fragment");
    }
    if ff & 0x2000 != 0 {
        flags.push("More fragments");
    }
    l.field(
        "Flags, Fragment Offset",
        format!(
            "0x{ff:04x} ({}), offset {}",
            if flags.is_empty() {
                "none".to_string()
            } else {
                flags.join(", ")
            },
            ff & 0x1fff
        ),
        o + 6..o + 8,
    );
    l.field("Time to Live", b[8].to_string(), o + 8..o + 9);
    let proto_name = match proto {
        4 => "IPIP",
        6 => "TCP",
        17 => "UDP",
        _ => "other",
    };
    l.field("Protocol", format!("{proto_name} ({proto})"), o + 9..o + 10);
    l.field(
        "Header Checksum",
        checksum_verdict(be16(b, 10), ones_sum(&b[..ihl])),
        o + 10..o + 12,
    );
    l.field("Source Address", src.to_string(), o + 12..o + 16);
    l.field("Destination Address", dst.to_string(), o + 16..o + 20);
    if ihl > 20 {
        l.field("Options", format!("{} bytes", ihl - 20), o + 20..o + ihl);
    }
    layers.push(l);
    let payload = o + ihl..end;
    match proto {
        4 => ipv4(&p[..end], o + ihl, layers),
        6 => tcp(p, payload, src, dst, layers),
        17 => udp(p, payload, src, dst, layers),
        _ => data(p, payload, layers),
    }
}

fn pseudo_header_sum(
    src: std::net::Ipv4Addr,
    dst: std::net::Ipv4Addr,
    proto: u8,
    len: usize,
) -> u32 {
    let mut sum = ones_sum(&src.octets()) + ones_sum(&dst.octets());
    sum += u32::from(proto);
    sum + len as u32
}

fn tcp(
    p: &[u8],
    r: Range<usize>,
    src: std::net::Ipv4Addr,
    dst: std::net::Ipv4Addr,
    layers: &mut Vec<Layer>,
) {
    let o = r.start;
    let b = &p[r.clone()];
    if b.len() < 20 {
        malformed(layers, "TCP header truncated", r);
        return;
    }
    let hl = usize::from(b[12] >> 4) * 4;
    if hl < 20 || hl > b.len() {
        malformed(layers, "TCP header length out of range", r);
        return;
    }
    let (sp, dp, seq, ack) = (be16(b, 0), be16(b, 2), be32(b, 4), be32(b, 8));
    let flags = b[13];
    let names: Vec<&str> = [
        (0x80, "CWR"),
        (0x40, "ECE"),
        (0x20, "URG"),
        (0x10, "ACK"),
        (0x08, "PSH"),
        (0x04, "RST"),
        (0x02, "SYN"),
        (0x01, "FIN"),
    ]
    .iter()
    .filter(|(bit, _)| flags & bit != 0)
    .map(|(_, n)| *n)
    .collect();
    let mut l = Layer::new("Transmission Control Protocol", r.clone());
    let len = b.len() - hl;
    l.summary = format!(
        "Src Port: {sp}, Dst Port: {dp}, Seq: {seq}, Len: {len} [{}]",
        names.join(", ")
    );
    l.field("Source Port", sp.to_string(), o..o + 2);
    l.field("Destination Port", dp.to_string(), o + 2..o + 4);
    l.field("Sequence Number", seq.to_string(), o + 4..o + 8);
    l.field("Acknowledgment Number", ack.to_string(), o + 8..o + 12);
    l.field("Header Length", format!("{hl} bytes"), o + 12..o + 13);
    l.field(
        "Flags",
        format!("0x{flags:03x} ({})", names.join(", ")),
        o + 12..o + 14,
    );
    l.field("Window", be16(b, 14).to_string(), o + 14..o + 16);
    let sum = pseudo_header_sum(src, dst, 6, b.len()) + ones_sum(b);
    l.field(
        "Checksum",
        checksum_verdict(be16(b, 16), sum),
        o + 16..o + 18,
    );
    l.field("Urgent Pointer", be16(b, 18).to_string(), o + 18..o + 20);
    if hl > 20 {
        l.field("Options", tcp_options(&b[20..hl]), o + 20..o + hl);
    }
    layers.push(l);
    if len > 0 {
        application(p, o + hl..r.end, layers);
    }
}

fn tcp_options(b: &[u8]) -> String {
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            0 => break,
            1 => {
                out.push("NOP".to_string());
                i += 1;
                continue;
            }
            kind => {
                let Some(&len) = b.get(i + 1) else { break };
                let len = usize::from(len).max(2);
                let body = b.get(i + 2..i + len).unwrap_or(&[]);
                out.push(match (kind, body.len()) {
                    (2, 2) => format!("MSS {}", be16(body, 0)),
                    (3, 1) => format!("Window scale {}", body[0]),
                    (4, _) => "SACK permitted".to_string(),
                    (8, 8) => format!("Timestamps {} {}", be32(body, 0), be32(body, 4)),
                    _ => format!("kind {kind} ({len} bytes)"),
                });
                i += len;
            }
        }
    }
    out.join(", ")
}

fn udp(
    p: &[u8],
    r: Range<usize>,
    src: std::net::Ipv4Addr,
    dst: std::net::Ipv4Addr,
    layers: &mut Vec<Layer>,
) {
    let o = r.start;
    let b = &p[r.clone()];
    if b.len() < 8 {
        malformed(layers, "UDP header truncated", r);
        return;
    }
    let (sp, dp, len, stored) = (be16(b, 0), be16(b, 2), be16(b, 4), be16(b, 6));
    let mut l = Layer::new("User Datagram Protocol", r.clone());
    l.summary = format!("Src Port: {sp}, Dst Port: {dp}, Len: {}", b.len() - 8);
    l.field("Source Port", sp.to_string(), o..o + 2);
    l.field("Destination Port", dp.to_string(), o + 2..o + 4);
    l.field("Length", len.to_string(), o + 4..o + 6);
    let verdict = if stored == 0 {
        "0x0000 [not computed]".to_string()
    } else {
        checksum_verdict(
            stored,
            pseudo_header_sum(src, dst, 17, b.len()) + ones_sum(b),
        )
    };
    l.field("Checksum", verdict, o + 6..o + 8);
    layers.push(l);
    let payload = o + 8..r.end;
    if payload.len() >= 12 {
        let d = &p[payload.clone()];
        let mut g = Layer::new("Game update", payload.clone());
        let (seq, sent) = (
            be32(d, 0),
            u64::from_be_bytes(d[4..12].try_into().unwrap_or([0; 8])),
        );
        g.summary = format!("Seq: {seq}, sent at {} µs", sent);
        g.field(
            "Sequence",
            seq.to_string(),
            payload.start..payload.start + 4,
        );
        g.field(
            "Send time (µs)",
            sent.to_string(),
            payload.start + 4..payload.start + 12,
        );
        if payload.len() > 12 {
            g.field(
                "Padding",
                format!("{} bytes", payload.len() - 12),
                payload.start + 12..payload.end,
            );
        }
        layers.push(g);
    } else if !payload.is_empty() {
        data(p, payload, layers);
    }
}

fn data(p: &[u8], r: Range<usize>, layers: &mut Vec<Layer>) {
    if r.is_empty() {
        return;
    }
    let mut l = Layer::new("Data", r.clone());
    l.summary = format!("{} bytes", r.len());
    l.field("Data", preview(&p[r.clone()]), r);
    layers.push(l);
}

fn preview(b: &[u8]) -> String {
    let mut s = String::new();
    for &c in b.iter().take(48) {
        if c.is_ascii_graphic() || c == b' ' {
            s.push(c as char);
        } else {
            s.push('.');
        }
    }
    if b.len() > 48 {
        s.push('…');
    }
    s
}

const METHODS: [&str; 9] = [
    "GET ", "POST ", "PUT ", "DELETE ", "HEAD ", "OPTIONS ", "PATCH ", "CONNECT ", "TRACE ",
];

fn application(p: &[u8], r: Range<usize>, layers: &mut Vec<Layer>) {
    let b = &p[r.clone()];
    if METHODS.iter().any(|m| b.starts_with(m.as_bytes())) || b.starts_with(b"HTTP/1.") {
        http(p, r, layers);
    } else if b.len() >= 5 && (20..=23).contains(&b[0]) && b[1] == 3 {
        tls(p, r, layers);
    } else {
        let mut l = Layer::new("TCP payload", r.clone());
        l.summary = format!("{} bytes (continues an earlier segment)", r.len());
        l.field("Data", preview(b), r);
        layers.push(l);
    }
}

fn http(p: &[u8], r: Range<usize>, layers: &mut Vec<Layer>) {
    let b = &p[r.clone()];
    let mut l = Layer::new("Hypertext Transfer Protocol", r.clone());
    let mut at = 0;
    let mut first = true;
    while at < b.len() {
        let line_end = b[at..]
            .windows(2)
            .position(|w| w == b"\r\n")
            .map(|i| at + i);
        let Some(end) = line_end else {
            l.field("Unterminated line", preview(&b[at..]), r.start + at..r.end);
            at = b.len();
            break;
        };
        let text = String::from_utf8_lossy(&b[at..end]).into_owned();
        let range = r.start + at..r.start + end + 2;
        at = end + 2;
        if first {
            l.summary = text.clone();
            let name = if text.starts_with("HTTP/") {
                "Status Line"
            } else {
                "Request Line"
            };
            l.field(name, text, range);
            first = false;
        } else if text.is_empty() {
            l.field("End of headers", "\\r\\n", range);
            break;
        } else {
            match text.split_once(':') {
                Some((name, value)) => l.field(name, value.trim(), range),
                None => l.field("Header (no colon)", text, range),
            }
        }
    }
    if at < b.len() {
        let mut body = String::new();
        let _ = write!(body, "{} bytes: {}", b.len() - at, preview(&b[at..]));
        l.field("Body", body, r.start + at..r.end);
    }
    layers.push(l);
}

fn tls(p: &[u8], r: Range<usize>, layers: &mut Vec<Layer>) {
    let b = &p[r.clone()];
    let mut l = Layer::new("Transport Layer Security", r.clone());
    let mut at = 0;
    let mut kinds = Vec::new();
    while at + 5 <= b.len() {
        let ct = b[at];
        let len = usize::from(be16(b, at + 3));
        let end = (at + 5 + len).min(b.len());
        let mut kind = match ct {
            20 => "Change Cipher Spec".to_string(),
            21 => "Alert".to_string(),
            22 => "Handshake".to_string(),
            23 => "Application Data".to_string(),
            other => format!("content type {other}"),
        };
        if ct == 22 && at + 5 < end {
            let hs = match b[at + 5] {
                1 => "Client Hello",
                2 => "Server Hello",
                4 => "New Session Ticket",
                8 => "Encrypted Extensions",
                11 => "Certificate",
                12 => "Server Key Exchange",
                14 => "Server Hello Done",
                15 => "Certificate Verify",
                16 => "Client Key Exchange",
                20 => "Finished",
                _ => "other",
            };
            kind = format!("Handshake: {hs}");
        }
        l.field(
            "Record",
            format!(
                "{kind}, version 0x{:04x}, length {len}{}",
                be16(b, at + 1),
                if at + 5 + len > b.len() {
                    " (continues in the next segment)"
                } else {
                    ""
                }
            ),
            r.start + at..r.start + end,
        );
        kinds.push(kind);
        at = end;
    }
    if at < b.len() {
        l.field("Partial record", preview(&b[at..]), r.start + at..r.end);
    }
    l.summary = kinds.join(", ");
    layers.push(l);
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A SYN from 192.0.2.1:49152 to 203.0.113.10:80, checksums computed by hand-checked code
    /// (the same packet tshark decodes in the CLI tests), built here from parts.
    fn syn() -> Vec<u8> {
        let mut p = vec![
            0x45, 0x00, 0x00, 0x2c, 0x00, 0x01, 0x40, 0x00, 0x40, 0x06, 0, 0, 192, 0, 2, 1, 203, 0,
            113, 10, // IPv4
            0xc0, 0x00, 0x00, 0x50, 0, 0, 0, 1, 0, 0, 0, 0, 0x60, 0x02, 0xff, 0xff, 0, 0, 0,
            0, // TCP
            2, 4, 0x05, 0xb4, // MSS 1460
        ];
        let ip = super::super::checksum::checksum(&p[..20]);
        p[10..12].copy_from_slice(&ip.to_be_bytes());
        let sum = pseudo_header_sum(
            std::net::Ipv4Addr::new(192, 0, 2, 1),
            std::net::Ipv4Addr::new(203, 0, 113, 10),
            6,
            24,
        ) + ones_sum(&p[20..]);
        p[36..38].copy_from_slice(&(!fold(sum)).to_be_bytes());
        p
    }

    fn field<'a>(layers: &'a [Layer], layer: usize, name: &str) -> &'a Field {
        layers[layer]
            .fields
            .iter()
            .find(|f| f.name == name)
            .unwrap_or_else(|| panic!("no field {name} in {:?}", layers[layer]))
    }

    #[test]
    fn a_syn_dissects_into_ipv4_and_tcp_with_exact_byte_ranges() {
        let p = syn();
        let layers = dissect(&p);
        assert_eq!(layers.len(), 2);
        assert_eq!(field(&layers, 0, "Source Address").value, "192.0.2.1");
        assert_eq!(field(&layers, 0, "Source Address").range, 12..16);
        assert_eq!(field(&layers, 0, "Destination Address").range, 16..20);
        assert!(field(&layers, 0, "Header Checksum")
            .value
            .ends_with("[correct]"));
        assert_eq!(field(&layers, 1, "Destination Port").value, "80");
        assert_eq!(field(&layers, 1, "Destination Port").range, 22..24);
        assert_eq!(field(&layers, 1, "Flags").value, "0x002 (SYN)");
        assert!(field(&layers, 1, "Checksum").value.ends_with("[correct]"));
        assert_eq!(field(&layers, 1, "Options").value, "MSS 1460");
    }

    #[test]
    fn a_wrong_checksum_says_what_it_should_be() {
        let mut p = syn();
        let good = field(&dissect(&p), 1, "Checksum").value.clone();
        p[36] ^= 0x55;
        let bad = field(&dissect(&p), 1, "Checksum").value.clone();
        assert!(bad.contains("incorrect, should be"), "{bad}");
        assert!(bad.contains(&good[..6]), "{bad} names {good}");
    }

    #[test]
    fn http_lines_are_fields_and_tls_records_are_named() {
        let mut p = syn();
        p[33] = 0x18; // PSH, ACK
        let req = b"GET /cart HTTP/1.1\r\nHost: shop.example\r\n\r\n";
        p.truncate(20 + 20);
        p[32] = 0x50;
        p.extend_from_slice(req);
        let total = p.len() as u16;
        p[2..4].copy_from_slice(&total.to_be_bytes());
        let layers = dissect(&p);
        assert_eq!(layers[2].name, "Hypertext Transfer Protocol");
        assert_eq!(layers[2].summary, "GET /cart HTTP/1.1");
        assert_eq!(field(&layers, 2, "Host").value, "shop.example");
        assert_eq!(
            field(&layers, 2, "Host").range,
            60..80,
            "the line and its CRLF"
        );
        p.truncate(40);
        p.extend_from_slice(&[22, 3, 1, 0, 4, 1, 0, 0, 0]);
        p[2..4].copy_from_slice(&49u16.to_be_bytes());
        let layers = dissect(&p);
        assert_eq!(layers[2].summary, "Handshake: Client Hello");
    }

    #[test]
    fn any_bytes_dissect_without_panicking() {
        let p = syn();
        for cut in 0..p.len() {
            let _ = dissect(&p[..cut]);
        }
        for i in 0..p.len() {
            for v in [0u8, 0xff, 0x45, 0x06] {
                let mut q = p.clone();
                q[i] = v;
                let _ = dissect(&q);
            }
        }
    }

    #[test]
    fn changed_ranges_merge_neighbours() {
        assert_eq!(
            changed(&[1, 2, 3, 4, 5], &[1, 9, 9, 4, 6, 7]),
            vec![1..3, 4..6]
        );
        assert!(changed(b"same", b"same").is_empty());
    }

    #[test]
    fn probes_are_known_by_their_source_port() {
        let mut p = syn();
        p[20..22].copy_from_slice(&40000u16.to_be_bytes());
        assert_eq!(PacketKind::of(&p, false, false), PacketKind::Probe);
        let p = syn();
        assert_eq!(PacketKind::of(&p, false, false), PacketKind::Control);
        assert_eq!(PacketKind::of(&p, true, false), PacketKind::Rewritten);
        assert_eq!(PacketKind::of(&p, true, true), PacketKind::Lost);
    }
}
