//! What a layer-4 balancer does to packets: NAT rewrites, IP-in-IP encapsulation, resets.
//!
//! Rewrites change addresses and ports in place and update the IPv4 header checksum and the
//! TCP or UDP checksum *incrementally* (RFC 1624 eqn. 3), as real NATs do: the transport
//! checksum covers a pseudo-header with both addresses, so an address change updates it too.
//! A UDP checksum of zero means "none" (RFC 768) and stays zero; a computed zero is sent as
//! 0xFFFF.
//!
//! IP-in-IP (RFC 2003, protocol 4) carries the client's packet unchanged inside an outer
//! header to the backend, which is what direct server return (IPVS tunnelling, Katran) needs.

use std::net::Ipv4Addr;

use smoltcp::phy::ChecksumCapabilities;
use smoltcp::wire::{
    IpProtocol, Ipv4Packet, Ipv4Repr, TcpControl, TcpPacket, TcpRepr, TcpSeqNumber,
};

use super::checksum::{update16, update32};

/// IP protocol number 4, IPv4 encapsulated in IPv4 (RFC 2003).
pub const IP_IN_IP: IpProtocol = IpProtocol::Unknown(4);

/// Why a packet could not be rewritten.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NatError {
    /// Not a whole, unfragmented IPv4 packet with a TCP or UDP header.
    NotTransport,
}

/// The transport protocols a balancer forwards.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Protocol {
    /// TCP.
    Tcp,
    /// UDP.
    Udp,
}

/// Byte offsets of the fields a rewrite touches.
struct Layout {
    ihl: usize,
    protocol: Protocol,
}

fn layout(packet: &[u8]) -> Result<Layout, NatError> {
    if packet.len() < 20 || packet[0] >> 4 != 4 {
        return Err(NatError::NotTransport);
    }
    let ihl = usize::from(packet[0] & 0x0f) * 4;
    // Fragments other than the first carry no transport header; we never see any, refuse them.
    let frag = u16::from_be_bytes([packet[6], packet[7]]);
    if ihl < 20 || frag & 0x3fff != 0 {
        return Err(NatError::NotTransport);
    }
    let (protocol, header) = match packet[9] {
        6 => (Protocol::Tcp, 20),
        17 => (Protocol::Udp, 8),
        _ => return Err(NatError::NotTransport),
    };
    if packet.len() < ihl + header {
        return Err(NatError::NotTransport);
    }
    Ok(Layout { ihl, protocol })
}

impl Layout {
    fn checksum_at(&self) -> usize {
        match self.protocol {
            Protocol::Tcp => self.ihl + 16,
            Protocol::Udp => self.ihl + 6,
        }
    }
}

fn read16(p: &[u8], at: usize) -> u16 {
    u16::from_be_bytes([p[at], p[at + 1]])
}

fn write16(p: &mut [u8], at: usize, v: u16) {
    p[at..at + 2].copy_from_slice(&v.to_be_bytes());
}

/// Which end of the packet a rewrite changes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum End {
    /// Source address and port.
    Source,
    /// Destination address and port.
    Destination,
}

/// Rewrites one end's address and port in place, updating both checksums incrementally.
pub fn rewrite(packet: &mut [u8], end: End, addr: Ipv4Addr, port: u16) -> Result<(), NatError> {
    let l = layout(packet)?;
    let (addr_at, port_at) = match end {
        End::Source => (12, l.ihl),
        End::Destination => (16, l.ihl + 2),
    };
    let old_addr = u32::from_be_bytes(packet[addr_at..addr_at + 4].try_into().expect("4 bytes"));
    let new_addr = u32::from(addr);
    let old_port = read16(packet, port_at);

    // IPv4 header checksum: the address words.
    let hc = read16(packet, 10);
    write16(packet, 10, update32(hc, old_addr, new_addr));
    packet[addr_at..addr_at + 4].copy_from_slice(&new_addr.to_be_bytes());

    // Transport checksum: the pseudo-header's address and the port.
    let at = l.checksum_at();
    let tc = read16(packet, at);
    if l.protocol == Protocol::Udp && tc == 0 {
        // No UDP checksum was sent; none is owed.
    } else {
        let mut c = update32(tc, old_addr, new_addr);
        c = update16(c, old_port, port);
        if l.protocol == Protocol::Udp && c == 0 {
            c = 0xffff;
        }
        write16(packet, at, c);
    }
    write16(packet, port_at, port);
    Ok(())
}

/// Encapsulates `inner` in an outer IPv4 header from `src` to `dst` (IP-in-IP, protocol 4),
/// with the given identification. The outer TTL is 64.
pub fn encapsulate(inner: &[u8], src: Ipv4Addr, dst: Ipv4Addr, ident: u16) -> Vec<u8> {
    let repr = Ipv4Repr {
        src_addr: src,
        dst_addr: dst,
        next_header: IP_IN_IP,
        payload_len: inner.len(),
        hop_limit: 64,
    };
    let mut out = vec![0u8; repr.buffer_len() + inner.len()];
    let mut outer = Ipv4Packet::new_unchecked(&mut out[..]);
    repr.emit(&mut outer, &ChecksumCapabilities::default());
    outer.set_ident(ident);
    outer.fill_checksum();
    out[repr.buffer_len()..].copy_from_slice(inner);
    out
}

/// The inner packet of an IP-in-IP packet addressed to `to`, if that is what `packet` is.
pub fn decapsulate(packet: &[u8], to: Ipv4Addr) -> Option<&[u8]> {
    let outer = Ipv4Packet::new_checked(packet).ok()?;
    if outer.next_header() != IP_IN_IP || outer.dst_addr() != to || !outer.verify_checksum() {
        return None;
    }
    let start = usize::from(outer.header_len());
    let end = usize::from(outer.total_len()).min(packet.len());
    packet.get(start..end)
}

/// The RST a host sends in answer to a TCP segment that belongs to no connection (RFC 9293
/// §3.10.7.1): with the segment's acknowledgement as sequence number if it had one, else
/// acknowledging everything it carried. `None` for a segment that is itself a reset.
pub fn reset_for(segment: &[u8]) -> Option<Vec<u8>> {
    let ip = Ipv4Packet::new_checked(segment).ok()?;
    if ip.next_header() != IpProtocol::Tcp {
        return None;
    }
    let tcp = TcpPacket::new_checked(ip.payload()).ok()?;
    if tcp.rst() {
        return None;
    }
    let (seq, ack) = if tcp.ack() {
        (tcp.ack_number(), None)
    } else {
        let len = tcp.payload().len() + usize::from(tcp.syn()) + usize::from(tcp.fin());
        (TcpSeqNumber(0), Some(tcp.seq_number() + len))
    };
    let repr = TcpRepr {
        src_port: tcp.dst_port(),
        dst_port: tcp.src_port(),
        control: TcpControl::Rst,
        seq_number: seq,
        ack_number: ack,
        window_len: 0,
        window_scale: None,
        max_seg_size: None,
        sack_permitted: false,
        sack_ranges: [None, None, None],
        timestamp: None,
        payload: &[],
    };
    let ip_repr = Ipv4Repr {
        src_addr: ip.dst_addr(),
        dst_addr: ip.src_addr(),
        next_header: IpProtocol::Tcp,
        payload_len: repr.buffer_len(),
        hop_limit: 64,
    };
    let mut out = vec![0u8; ip_repr.buffer_len() + repr.buffer_len()];
    let checks = ChecksumCapabilities::default();
    let mut packet = Ipv4Packet::new_unchecked(&mut out[..]);
    ip_repr.emit(&mut packet, &checks);
    let mut seg = TcpPacket::new_unchecked(packet.payload_mut());
    repr.emit(
        &mut seg,
        &ip_repr.src_addr.into(),
        &ip_repr.dst_addr.into(),
        &checks,
    );
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::checksum::checksum;
    use proptest::prelude::*;
    use smoltcp::wire::{IpAddress, UdpPacket, UdpRepr};

    /// A TCP or UDP packet built by smoltcp, checksums filled.
    fn packet(
        tcp: bool,
        src: Ipv4Addr,
        dst: Ipv4Addr,
        sport: u16,
        dport: u16,
        payload: &[u8],
    ) -> Vec<u8> {
        let checks = ChecksumCapabilities::default();
        let next = if tcp {
            IpProtocol::Tcp
        } else {
            IpProtocol::Udp
        };
        let len = if tcp { 20 } else { 8 } + payload.len();
        let ip = Ipv4Repr {
            src_addr: src,
            dst_addr: dst,
            next_header: next,
            payload_len: len,
            hop_limit: 64,
        };
        let mut out = vec![0u8; 20 + len];
        let mut p = Ipv4Packet::new_unchecked(&mut out[..]);
        ip.emit(&mut p, &checks);
        if tcp {
            let repr = TcpRepr {
                src_port: sport,
                dst_port: dport,
                control: TcpControl::Psh,
                seq_number: TcpSeqNumber(12345),
                ack_number: Some(TcpSeqNumber(999)),
                window_len: 4096,
                window_scale: None,
                max_seg_size: None,
                sack_permitted: false,
                sack_ranges: [None, None, None],
                timestamp: None,
                payload,
            };
            repr.emit(
                &mut TcpPacket::new_unchecked(p.payload_mut()),
                &src.into(),
                &dst.into(),
                &checks,
            );
        } else {
            let repr = UdpRepr {
                src_port: sport,
                dst_port: dport,
            };
            repr.emit(
                &mut UdpPacket::new_unchecked(p.payload_mut()),
                &src.into(),
                &dst.into(),
                payload.len(),
                |b| b.copy_from_slice(payload),
                &checks,
            );
        }
        out
    }

    /// Both checksums recomputed from scratch, as a receiver would.
    fn recomputed(bytes: &[u8]) -> (u16, u16) {
        let mut copy = bytes.to_vec();
        let mut ip = Ipv4Packet::new_unchecked(&mut copy[..]);
        ip.fill_checksum();
        let (src, dst): (IpAddress, IpAddress) = (ip.src_addr().into(), ip.dst_addr().into());
        let ip_sum = ip.checksum();
        let t = if ip.next_header() == IpProtocol::Tcp {
            let mut tcp = TcpPacket::new_unchecked(ip.payload_mut());
            tcp.fill_checksum(&src, &dst);
            tcp.checksum()
        } else {
            let mut udp = UdpPacket::new_unchecked(ip.payload_mut());
            udp.fill_checksum(&src, &dst);
            udp.checksum()
        };
        (ip_sum, t)
    }

    fn fields(bytes: &[u8]) -> (u16, u16) {
        let l = layout(bytes).unwrap();
        (read16(bytes, 10), read16(bytes, l.checksum_at()))
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

        #[test]
        fn incremental_update_equals_full_recompute(
            tcp in any::<bool>(),
            src in any::<u32>(), dst in any::<u32>(),
            sport in 1u16.., dport in 1u16..,
            payload in prop::collection::vec(any::<u8>(), 0..64),
            new_addr in any::<u32>(), new_port in 1u16..,
            to_source in any::<bool>(),
        ) {
            let mut p = packet(tcp, Ipv4Addr::from(src), Ipv4Addr::from(dst), sport, dport, &payload);
            let end = if to_source { End::Source } else { End::Destination };
            rewrite(&mut p, end, Ipv4Addr::from(new_addr), new_port).unwrap();
            prop_assert_eq!(fields(&p), recomputed(&p));
            let ip = Ipv4Packet::new_checked(&p[..]).unwrap();
            prop_assert!(ip.verify_checksum());
            let (s, d): (IpAddress, IpAddress) = (ip.src_addr().into(), ip.dst_addr().into());
            if tcp {
                prop_assert!(TcpPacket::new_checked(ip.payload()).unwrap().verify_checksum(&s, &d));
            } else {
                prop_assert!(UdpPacket::new_checked(ip.payload()).unwrap().verify_checksum(&s, &d));
            }
        }
    }

    #[test]
    fn rewrite_changes_only_address_port_and_checksums() {
        let before = packet(
            true,
            Ipv4Addr::new(192, 0, 2, 1),
            Ipv4Addr::new(203, 0, 113, 10),
            49152,
            80,
            b"GET / HTTP/1.1\r\n\r\n",
        );
        let mut after = before.clone();
        rewrite(
            &mut after,
            End::Destination,
            Ipv4Addr::new(10, 0, 0, 12),
            8080,
        )
        .unwrap();
        let changed: Vec<usize> = (0..before.len())
            .filter(|&i| before[i] != after[i])
            .collect();
        // Header checksum 10-11, destination 16-19, port 22-23, TCP checksum 36-37 (some bytes
        // may coincide).
        assert!(changed
            .iter()
            .all(|i| [10, 11, 16, 17, 18, 19, 22, 23, 36, 37].contains(i)));
        assert_eq!(&after[16..20], &[10, 0, 0, 12]);
        assert_eq!(read16(&after, 22), 8080);
    }

    #[test]
    fn zero_udp_checksum_stays_zero() {
        let mut p = packet(
            false,
            Ipv4Addr::new(1, 2, 3, 4),
            Ipv4Addr::new(5, 6, 7, 8),
            1,
            2,
            b"x",
        );
        write16(&mut p, 26, 0);
        rewrite(&mut p, End::Destination, Ipv4Addr::new(9, 9, 9, 9), 3).unwrap();
        assert_eq!(read16(&p, 26), 0);
    }

    #[test]
    fn ipip_round_trip() {
        let inner = packet(
            true,
            Ipv4Addr::new(192, 0, 2, 1),
            Ipv4Addr::new(203, 0, 113, 10),
            5,
            80,
            b"hi",
        );
        let outer = encapsulate(
            &inner,
            Ipv4Addr::new(10, 0, 0, 1),
            Ipv4Addr::new(10, 0, 0, 11),
            7,
        );
        assert_eq!(outer.len(), inner.len() + 20);
        assert_eq!(outer[9], 4, "protocol IP-in-IP");
        assert_eq!(checksum(&outer[..20]), 0, "outer header checksum valid");
        assert_eq!(
            decapsulate(&outer, Ipv4Addr::new(10, 0, 0, 11)),
            Some(&inner[..])
        );
        assert_eq!(
            decapsulate(&outer, Ipv4Addr::new(10, 0, 0, 12)),
            None,
            "not for us"
        );
        assert_eq!(
            decapsulate(&inner, Ipv4Addr::new(203, 0, 113, 10)),
            None,
            "not IP-in-IP"
        );
    }

    #[test]
    fn resets_answer_stray_segments() {
        let stray = packet(
            true,
            Ipv4Addr::new(192, 0, 2, 1),
            Ipv4Addr::new(203, 0, 113, 10),
            5,
            80,
            b"abc",
        );
        let rst = reset_for(&stray).expect("a reset");
        let ip = Ipv4Packet::new_checked(&rst[..]).unwrap();
        assert!(ip.verify_checksum());
        assert_eq!(ip.src_addr(), Ipv4Addr::new(203, 0, 113, 10));
        let tcp = TcpPacket::new_checked(ip.payload()).unwrap();
        assert!(tcp.rst());
        assert_eq!((tcp.src_port(), tcp.dst_port()), (80, 5));
        assert_eq!(
            tcp.seq_number(),
            TcpSeqNumber(999),
            "the stray segment's ACK"
        );
        assert!(tcp.verify_checksum(&ip.src_addr().into(), &ip.dst_addr().into()));
        assert_eq!(reset_for(&rst), None, "never answer a reset with a reset");
    }
}
