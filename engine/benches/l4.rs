//! The layer-4 balancer's cost.
//!
//! `cargo bench -p lbsim --bench l4`
//!
//! - `fast path`: what the balancer does per packet of a known flow — read the 5-tuple,
//!   look the flow up in a table of 10,000, update its state, rewrite the destination and
//!   both checksums incrementally — on one 60-byte TCP segment, in ns per packet.
//! - `whole world`: `engine/scenarios/l4-nat.json` (50 clients through an L4 NAT balancer to 4
//!   backends, about 10,000 requests) from start until settled, in simulated packets per
//!   wall-clock second (one packet = one transmission over one link).

use std::hint::black_box;
use std::net::{Ipv4Addr, SocketAddrV4};

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use lbsim::lb::l4::{Conntrack, Lookup};
use lbsim::scenario::{ConntrackSpec, Scenario};
use lbsim::sim::World;
use lbsim::time::Instant;
use lbsim::wire::nat::{rewrite, End, Protocol};
use lbsim::wire::{PacketInfo, Transport};

/// A TCP ACK with 20 bytes of payload from 192.0.2.(n) to the VIP, checksums valid.
fn segment(client: SocketAddrV4) -> Vec<u8> {
    use smoltcp::phy::ChecksumCapabilities;
    use smoltcp::wire::{
        IpProtocol, Ipv4Packet, Ipv4Repr, TcpControl, TcpPacket, TcpRepr, TcpSeqNumber,
    };
    let vip = Ipv4Addr::new(203, 0, 113, 10);
    let payload = [7u8; 20];
    let tcp = TcpRepr {
        src_port: client.port(),
        dst_port: 80,
        control: TcpControl::Psh,
        seq_number: TcpSeqNumber(1),
        ack_number: Some(TcpSeqNumber(1)),
        window_len: 1024,
        window_scale: None,
        max_seg_size: None,
        sack_permitted: false,
        sack_ranges: [None, None, None],
        timestamp: None,
        payload: &payload,
    };
    let ip = Ipv4Repr {
        src_addr: *client.ip(),
        dst_addr: vip,
        next_header: IpProtocol::Tcp,
        payload_len: tcp.buffer_len(),
        hop_limit: 64,
    };
    let mut out = vec![0u8; ip.buffer_len() + tcp.buffer_len()];
    let checks = ChecksumCapabilities::default();
    let mut p = Ipv4Packet::new_unchecked(&mut out[..]);
    ip.emit(&mut p, &checks);
    tcp.emit(
        &mut TcpPacket::new_unchecked(p.payload_mut()),
        &(*client.ip()).into(),
        &vip.into(),
        &checks,
    );
    out
}

fn fast_path(c: &mut Criterion) {
    let mut table = Conntrack::new(ConntrackSpec::default());
    let clients: Vec<SocketAddrV4> = (0..10_000u32)
        .map(|i| {
            SocketAddrV4::new(
                Ipv4Addr::from(0xc000_0200 + i / 1000),
                40_000 + (i % 1000) as u16,
            )
        })
        .collect();
    for (i, &cl) in clients.iter().enumerate() {
        let backend = SocketAddrV4::new(Ipv4Addr::new(10, 0, 0, 11 + (i % 4) as u8), 80);
        table.insert(Protocol::Tcp, cl, 80, i % 4, backend, Instant::ZERO);
    }
    let templates: Vec<Vec<u8>> = clients.iter().step_by(97).map(|&cl| segment(cl)).collect();
    let mut group = c.benchmark_group("l4");
    group.throughput(Throughput::Elements(1));
    let mut k = 0usize;
    let mut buf = [0u8; 60];
    group.bench_function("fast path: parse, look up, rewrite (ns per packet)", |b| {
        b.iter(|| {
            let t = &templates[k % templates.len()];
            k += 1;
            buf[..t.len()].copy_from_slice(t);
            let packet = &mut buf[..t.len()];
            let info = PacketInfo::parse(packet).expect("valid");
            let Transport::Tcp {
                src_port, dst_port, ..
            } = info.transport
            else {
                unreachable!()
            };
            let client = SocketAddrV4::new(info.src, src_port);
            let Lookup::Known(slot) = table.lookup_inbound(Protocol::Tcp, client, dst_port, false)
            else {
                unreachable!("every template's flow is in the table")
            };
            table.observe(slot, &info.transport, true, Instant::ZERO);
            let to = table.flow(slot).backend_addr;
            rewrite(packet, End::Destination, *to.ip(), to.port()).expect("rewritable");
            black_box(packet[16]);
        })
    });
    group.finish();
}

fn whole_world(c: &mut Criterion) {
    let s = Scenario::from_json(include_str!("../scenarios/l4-nat.json")).expect("valid");
    let run = |capacity: usize| {
        let mut w = World::with_trace_capacity(&s, capacity);
        let end = w.settle_time();
        w.run_until(end);
        w.metrics().packets.sent
    };
    let packets = run(0);
    let mut group = c.benchmark_group("l4 scenario");
    group.sample_size(10);
    group.throughput(Throughput::Elements(packets));
    group.bench_function("trace ring 50k", |b| b.iter(|| run(50_000)));
    group.finish();
}

criterion_group!(benches, fast_path, whole_world);
criterion_main!(benches);
