//! The Internet checksum (RFC 1071) and its incremental update (RFC 1624).
//!
//! A router or NAT that changes a few header words need not re-add the whole packet: with
//! `HC` the old checksum, `m` an old 16-bit word and `m'` its new value, RFC 1624 eqn. 3 gives
//! `HC' = ~(~HC + ~m + m')` in one's-complement arithmetic. Unlike RFC 1141's form it never
//! produces 0x0000 for a nonzero sum.

/// One's-complement sum of `data` as big-endian 16-bit words (odd length padded with zero).
pub fn ones_sum(data: &[u8]) -> u32 {
    let mut sum: u32 = 0;
    let mut chunks = data.chunks_exact(2);
    for c in &mut chunks {
        sum += u32::from(u16::from_be_bytes([c[0], c[1]]));
    }
    if let [last] = chunks.remainder() {
        sum += u32::from(*last) << 8;
    }
    sum
}

/// Folds a 32-bit one's-complement sum to 16 bits.
pub fn fold(mut sum: u32) -> u16 {
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    sum as u16
}

/// The checksum of `data`: the complement of its folded one's-complement sum.
pub fn checksum(data: &[u8]) -> u16 {
    !fold(ones_sum(data))
}

/// RFC 1624 eqn. 3: the checksum after one 16-bit word changed from `old` to `new`.
pub fn update16(hc: u16, old: u16, new: u16) -> u16 {
    !fold(u32::from(!hc) + u32::from(!old) + u32::from(new))
}

/// The checksum after a 32-bit field (an IPv4 address) changed: two word updates.
pub fn update32(hc: u16, old: u32, new: u32) -> u16 {
    let hc = update16(hc, (old >> 16) as u16, (new >> 16) as u16);
    update16(hc, old as u16, new as u16)
}

/// Decrements an IPv4 packet's TTL in place and updates its header checksum incrementally, as
/// a router does. Returns the new TTL, or `None` when the packet is too short or its TTL is
/// already 0 or 1 (the router must drop it).
pub fn decrement_ttl(packet: &mut [u8]) -> Option<u8> {
    if packet.len() < 20 || packet[8] <= 1 {
        return None;
    }
    let old = u16::from_be_bytes([packet[8], packet[9]]);
    packet[8] -= 1;
    let new = u16::from_be_bytes([packet[8], packet[9]]);
    let hc = u16::from_be_bytes([packet[10], packet[11]]);
    packet[10..12].copy_from_slice(&update16(hc, old, new).to_be_bytes());
    Some(packet[8])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc1624_example() {
        // RFC 1624 §4: HC = 0xDD2F, m = 0x5555 -> m' = 0x3285 gives HC' = 0x0000.
        assert_eq!(update16(0xdd2f, 0x5555, 0x3285), 0x0000);
    }

    #[test]
    fn rfc1071_example() {
        // RFC 1071 §3: the words 0001 f203 f4f5 f6f7 sum to 0xddf2.
        let data = [0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7];
        assert_eq!(fold(ones_sum(&data)), 0xddf2);
        assert_eq!(checksum(&data), !0xddf2);
    }

    #[test]
    fn ttl_decrement_keeps_the_header_valid() {
        let mut header = [
            0x45, 0x00, 0x00, 0x28, 0x12, 0x34, 0x40, 0x00, 0x40, 0x06, 0, 0, 192, 0, 2, 1, 10, 0,
            0, 11,
        ];
        let c = checksum(&header);
        header[10..12].copy_from_slice(&c.to_be_bytes());
        assert_eq!(checksum(&header), 0, "valid before");
        assert_eq!(decrement_ttl(&mut header), Some(63));
        assert_eq!(checksum(&header), 0, "valid after");
        header[8] = 1;
        assert_eq!(decrement_ttl(&mut header), None);
    }
}
