//! pcap export (libpcap format, link type 228: raw IPv4), written with the `pcap-file` crate.
//!
//! A capture taps the links of one side of the balancer, or both, and records every packet put
//! on a tapped link at the time it was sent. Timestamps are simulated time from the Unix epoch,
//! so Wireshark's "seconds since beginning of capture" is the world's clock.

use std::cell::RefCell;
use std::io::Write;
use std::rc::Rc;

use pcap_file::pcap::{PcapHeader, PcapPacket, PcapWriter};
use pcap_file::{DataLink, TsResolution};
use serde::{Deserialize, Serialize};

use crate::net::Side;
use crate::time::Instant;

/// Which links a capture taps.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CapturePoint {
    /// Links between clients and the balancer: what the internet sees.
    ClientSide,
    /// Links between the balancer and the backends: what the data centre sees.
    ServerSide,
    /// Every link; a forwarded packet appears once per link it crosses.
    Both,
}

impl CapturePoint {
    /// Whether a link on `side` is tapped.
    pub fn taps(self, side: Side) -> bool {
        matches!(
            (self, side),
            (CapturePoint::Both, _)
                | (CapturePoint::ClientSide, Side::Client)
                | (CapturePoint::ServerSide, Side::Server)
        )
    }
}

/// Bytes written so far, shared with the pcap writer so they can be drained while it writes.
#[derive(Clone, Default)]
struct SharedBuffer(Rc<RefCell<Vec<u8>>>);

impl Write for SharedBuffer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.borrow_mut().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// A capture in progress.
pub struct PcapCapture {
    point: CapturePoint,
    writer: PcapWriter<SharedBuffer>,
    buffer: SharedBuffer,
    packets: u64,
}

impl core::fmt::Debug for PcapCapture {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("PcapCapture")
            .field("point", &self.point)
            .field("packets", &self.packets)
            .finish()
    }
}

impl PcapCapture {
    /// Starts a capture; the pcap file header is the first bytes [`PcapCapture::take_bytes`]
    /// returns.
    pub fn new(point: CapturePoint) -> Self {
        let buffer = SharedBuffer::default();
        let header = PcapHeader {
            datalink: DataLink::IPV4,
            ts_resolution: TsResolution::MicroSecond,
            snaplen: 65_535,
            ..PcapHeader::default()
        };
        let writer =
            PcapWriter::with_header(buffer.clone(), header).expect("writing to memory cannot fail");
        PcapCapture {
            point,
            writer,
            buffer,
            packets: 0,
        }
    }

    /// What this capture taps.
    pub fn point(&self) -> CapturePoint {
        self.point
    }

    /// Packets recorded so far.
    pub fn packets(&self) -> u64 {
        self.packets
    }

    /// Records a packet sent at `at` on a link of `side`, if that side is tapped.
    pub fn record(&mut self, at: Instant, side: Side, bytes: &[u8]) {
        if !self.point.taps(side) {
            return;
        }
        let ts = std::time::Duration::from_micros(at.as_micros());
        let packet = PcapPacket::new(ts, bytes.len() as u32, bytes);
        self.writer
            .write_packet(&packet)
            .expect("writing to memory cannot fail");
        self.packets += 1;
    }

    /// The pcap bytes written since the last call (the file header first).
    pub fn take_bytes(&mut self) -> Vec<u8> {
        std::mem::take(&mut *self.buffer.0.borrow_mut())
    }
}
