//! Reading packets: smoltcp's `wire` views plus what the simulation and its inspector need.
//!
//! [`PacketInfo::parse`] validates an IPv4 packet once (checked constructors, RFC 791 / 793 /
//! 768 header rules) and extracts the fields the fabric routes on; it never panics, whatever
//! the bytes. [`summary`] renders the one-line form the event list shows.

pub mod checksum;
pub mod dissect;
pub mod nat;

use std::fmt::Write as _;
use std::net::Ipv4Addr;

use smoltcp::wire::{IpProtocol, Ipv4Packet, TcpPacket, UdpPacket};

/// RFC 6335's dynamic range: the source ports of every connection but health probes.
pub const EPHEMERAL_PORTS: core::ops::RangeInclusive<u16> = 49152..=65535;

/// Source ports of health probes: apart from the proxy's connections, which leave the same
/// address, so that the two never collide and a probe is known by its port.
pub const PROBE_PORTS: core::ops::RangeInclusive<u16> = 40000..=49151;

/// Transport protocol of a packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Transport {
    /// TCP with its flags.
    Tcp {
        /// Source port.
        src_port: u16,
        /// Destination port.
        dst_port: u16,
        /// Flags.
        flags: TcpFlags,
        /// Sequence number.
        seq: u32,
        /// Acknowledgement number.
        ack: u32,
    },
    /// UDP.
    Udp {
        /// Source port.
        src_port: u16,
        /// Destination port.
        dst_port: u16,
    },
    /// Anything else (by IP protocol number).
    Other(u8),
}

/// TCP control flags.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TcpFlags {
    /// SYN.
    pub syn: bool,
    /// ACK.
    pub ack: bool,
    /// FIN.
    pub fin: bool,
    /// RST.
    pub rst: bool,
    /// PSH.
    pub psh: bool,
}

impl TcpFlags {
    /// A bare SYN: the first packet of a connection.
    pub fn is_initial_syn(&self) -> bool {
        self.syn && !self.ack && !self.rst
    }

    /// tcpdump-style flag letters, such as `SYN, ACK`.
    pub fn names(&self) -> String {
        let mut names = Vec::new();
        for (on, name) in [
            (self.syn, "SYN"),
            (self.fin, "FIN"),
            (self.rst, "RST"),
            (self.psh, "PSH"),
            (self.ack, "ACK"),
        ] {
            if on {
                names.push(name);
            }
        }
        names.join(", ")
    }
}

/// The fields of an IPv4 packet the fabric and the views use.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PacketInfo {
    /// Source address.
    pub src: Ipv4Addr,
    /// Destination address.
    pub dst: Ipv4Addr,
    /// Transport header.
    pub transport: Transport,
    /// Transport payload length in bytes.
    pub payload_len: usize,
    /// Offset of the transport payload in the packet.
    pub payload_offset: usize,
}

impl PacketInfo {
    /// Parses an IPv4 packet; `None` when the bytes are not a well-formed IPv4 packet (a
    /// truncated transport header is tolerated as `Other`).
    pub fn parse(bytes: &[u8]) -> Option<PacketInfo> {
        let ip = Ipv4Packet::new_checked(bytes).ok()?;
        if ip.version() != 4 {
            return None;
        }
        let header_len = usize::from(ip.header_len());
        let total = usize::from(ip.total_len()).min(bytes.len());
        let payload = bytes.get(header_len..total)?;
        let (transport, header) = match ip.next_header() {
            IpProtocol::Tcp => match TcpPacket::new_checked(payload) {
                Ok(tcp) => (
                    Transport::Tcp {
                        src_port: tcp.src_port(),
                        dst_port: tcp.dst_port(),
                        flags: TcpFlags {
                            syn: tcp.syn(),
                            ack: tcp.ack(),
                            fin: tcp.fin(),
                            rst: tcp.rst(),
                            psh: tcp.psh(),
                        },
                        seq: tcp.seq_number().0 as u32,
                        ack: tcp.ack_number().0 as u32,
                    },
                    usize::from(tcp.header_len()),
                ),
                Err(_) => (Transport::Other(6), 0),
            },
            IpProtocol::Udp => match UdpPacket::new_checked(payload) {
                Ok(udp) => (
                    Transport::Udp {
                        src_port: udp.src_port(),
                        dst_port: udp.dst_port(),
                    },
                    8,
                ),
                Err(_) => (Transport::Other(17), 0),
            },
            other => (Transport::Other(u8::from(other)), 0),
        };
        Some(PacketInfo {
            src: ip.src_addr(),
            dst: ip.dst_addr(),
            transport,
            payload_len: payload.len().saturating_sub(header),
            payload_offset: header_len + header,
        })
    }

    /// Whether this is the SYN that opens a TCP connection to `port`.
    pub fn is_syn_to(&self, port: u16) -> bool {
        matches!(self.transport, Transport::Tcp { dst_port, flags, .. }
            if dst_port == port && flags.is_initial_syn())
    }
}

/// A one-line description: `192.0.2.1:49152 → 10.0.0.11:80 TCP [SYN] seq=… len=0`.
pub fn summary(bytes: &[u8]) -> String {
    let Some(info) = PacketInfo::parse(bytes) else {
        return format!("malformed packet ({} bytes)", bytes.len());
    };
    let mut out = String::new();
    match info.transport {
        Transport::Tcp {
            src_port,
            dst_port,
            flags,
            seq,
            ack,
        } => {
            let _ = write!(
                out,
                "{}:{} → {}:{} TCP [{}] seq={} ",
                info.src,
                src_port,
                info.dst,
                dst_port,
                flags.names(),
                seq
            );
            if flags.ack {
                let _ = write!(out, "ack={ack} ");
            }
            let _ = write!(out, "len={}", info.payload_len);
        }
        Transport::Udp { src_port, dst_port } => {
            let _ = write!(
                out,
                "{}:{} → {}:{} UDP len={}",
                info.src, src_port, info.dst, dst_port, info.payload_len
            );
        }
        Transport::Other(proto) => {
            let _ = write!(out, "{} → {} IP proto {}", info.src, info.dst, proto);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A SYN from 192.0.2.1:49152 to 10.0.0.11:80, laid out by hand from RFC 791 / 793
    /// (checksums left zero: parsing does not verify them).
    pub(crate) const SYN: [u8; 40] = [
        0x45, 0x00, 0x00, 0x28, 0x00, 0x01, 0x00, 0x00, 0x40, 0x06, 0x00, 0x00, 192, 0, 2, 1, 10,
        0, 0, 11, // IPv4
        0xc0, 0x00, 0x00, 0x50, 0x00, 0x00, 0x03, 0xe8, 0x00, 0x00, 0x00, 0x00, 0x50, 0x02, 0x40,
        0x00, 0x00, 0x00, 0x00, 0x00, // TCP: seq 1000, SYN, window 16384
    ];

    #[test]
    fn parses_a_syn() {
        let info = PacketInfo::parse(&SYN).expect("valid IPv4");
        assert_eq!(info.src, Ipv4Addr::new(192, 0, 2, 1));
        assert_eq!(info.dst, Ipv4Addr::new(10, 0, 0, 11));
        assert!(info.is_syn_to(80));
        assert!(!info.is_syn_to(443));
        assert_eq!(info.payload_len, 0);
        assert_eq!(
            summary(&SYN),
            "192.0.2.1:49152 → 10.0.0.11:80 TCP [SYN] seq=1000 len=0"
        );
    }

    #[test]
    fn never_panics_on_garbage() {
        for len in 0..SYN.len() {
            let _ = PacketInfo::parse(&SYN[..len]);
            let _ = summary(&SYN[..len]);
        }
        assert_eq!(PacketInfo::parse(b"hello"), None);
        let mut bad = SYN;
        bad[0] = 0x65; // version 6
        assert_eq!(PacketInfo::parse(&bad), None);
    }
}
