//! Packets on the canvas: each packet in flight with where it is and a short label.

use lbsim::ids::{HostId, PacketId};
use lbsim::view::Frame;
use lbsim::wire::dissect::PacketKind;
use lbsim::wire::{PacketInfo, Transport};

/// Below this many packets in view, each gets its label.
pub const LABEL_UP_TO: usize = 12;

/// A packet on a link, placed for drawing.
#[derive(Clone, Debug, PartialEq)]
pub struct PacketDot {
    /// The transmission.
    pub id: PacketId,
    /// Sender and receiver.
    pub from: HostId,
    /// Receiver.
    pub to: HostId,
    /// How far along its link, 0 to 1.
    pub progress: f64,
    /// What it is.
    pub kind: PacketKind,
    /// A few characters naming it ("SYN", "GET /", "200").
    pub label: String,
}

/// Every packet on a link now, from the frame.
pub fn packet_dots(frame: &Frame) -> Vec<PacketDot> {
    // Labels are drawn only when few packets are in view: name them only then.
    let labels = frame.packets.len() <= LABEL_UP_TO;
    frame
        .packets
        .iter()
        .map(|p| PacketDot {
            id: p.id,
            from: p.from,
            to: p.to,
            progress: p.progress,
            kind: p.kind,
            label: if labels {
                short_label(&p.bytes)
            } else {
                String::new()
            },
        })
        .collect()
}

/// A packet's name in a few characters, as a label beside it.
pub fn short_label(bytes: &[u8]) -> String {
    let Some(info) = PacketInfo::parse(bytes) else {
        return "?".into();
    };
    match info.transport {
        Transport::Tcp { flags, .. } => {
            let payload = &bytes[info.payload_offset.min(bytes.len())..];
            if flags.rst {
                "RST".into()
            } else if flags.syn && flags.ack {
                "SYN-ACK".into()
            } else if flags.syn {
                "SYN".into()
            } else if flags.fin {
                "FIN".into()
            } else if payload.is_empty() {
                "ACK".into()
            } else if payload.starts_with(b"HTTP/1.") && payload.len() >= 12 {
                String::from_utf8_lossy(&payload[9..12]).into_owned()
            } else if (20..=23).contains(&payload[0]) && payload.get(1) == Some(&3) {
                "TLS".into()
            } else {
                let line = payload.split(|&b| b == b'\r').next().unwrap_or_default();
                let mut words = line.split(|&b| b == b' ');
                match (words.next(), words.next()) {
                    (Some(m), Some(p)) if m.iter().all(u8::is_ascii_uppercase) => {
                        let text = format!(
                            "{} {}",
                            String::from_utf8_lossy(m),
                            String::from_utf8_lossy(p)
                        );
                        text.chars().take(18).collect()
                    }
                    _ => format!("{} B", payload.len()),
                }
            }
        }
        Transport::Udp { .. } => "UDP".into(),
        Transport::Other(4) => "IPIP".into(),
        Transport::Other(p) => format!("IP {p}"),
    }
}
