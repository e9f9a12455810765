//! A TCP handshake, one request and its response appear in the trace as real packets: their
//! bytes parse back, with checksums verified, into the same fields the simulation reported.

mod common;

use std::net::SocketAddrV4;

use lbsim::http::{Limits, Progress, RequestParser, ResponseParser};
use lbsim::ids::HostId;
use lbsim::trace::{Bytes, Event, Outcome};
use smoltcp::phy::ChecksumCapabilities;
use smoltcp::wire::{IpAddress, Ipv4Packet, Ipv4Repr, TcpControl, TcpPacket, TcpRepr};

const ONE_REQUEST: &str = r#"{
    "version": 1, "duration": "150ms",
    "backends": [{"name": "A", "address": "10.0.0.11"}],
    "clients": [{"name": "c", "count": 1, "target": "10.0.0.11:80", "rate": 10, "arrivals": "constant"}]
}"#;

/// A TCP segment as smoltcp reads it, with the IP and TCP checksums verified.
struct Segment {
    src: SocketAddrV4,
    dst: SocketAddrV4,
    control: TcpControl,
    seq: i32,
    ack: Option<i32>,
    payload: Vec<u8>,
}

fn parse(bytes: &Bytes) -> Segment {
    let ip = Ipv4Packet::new_checked(&bytes[..]).expect("well-formed IPv4");
    assert!(ip.verify_checksum(), "IPv4 header checksum");
    let checks = ChecksumCapabilities::default();
    let ip_repr = Ipv4Repr::parse(&ip, &checks).expect("valid IPv4 header");
    let tcp = TcpPacket::new_checked(ip.payload()).expect("well-formed TCP");
    let (src, dst) = (
        IpAddress::Ipv4(ip_repr.src_addr),
        IpAddress::Ipv4(ip_repr.dst_addr),
    );
    assert!(tcp.verify_checksum(&src, &dst), "TCP checksum");
    let repr = TcpRepr::parse(&tcp, &src, &dst, &checks).expect("valid TCP header");
    Segment {
        src: SocketAddrV4::new(ip_repr.src_addr, repr.src_port),
        dst: SocketAddrV4::new(ip_repr.dst_addr, repr.dst_port),
        control: repr.control,
        seq: repr.seq_number.0,
        ack: repr.ack_number.map(|a| a.0),
        payload: repr.payload.to_vec(),
    }
}

#[test]
fn handshake_request_and_response_are_real_packets() {
    let s = common::scenario(ONE_REQUEST);
    let w = common::run(&s);
    let client = HostId(2);
    let backend = HostId(1);

    // What the simulation says happened.
    let started = common::events(&w, |e| match e {
        Event::RequestStarted { line, target, .. } => {
            Some((line.method.clone(), line.path.clone(), *target))
        }
        _ => None,
    });
    assert_eq!(started.len(), 1, "one request");
    let (method, path, target) = started[0].clone();
    let ended = common::events(&w, |e| match e {
        Event::RequestEnded {
            outcome, status, ..
        } => Some((*outcome, *status)),
        _ => None,
    });
    assert_eq!(ended, vec![(Outcome::Ok, Some(200))]);

    // The packets the two hosts sent, in order, read back from their bytes.
    let sent: Vec<(HostId, Segment)> = common::events(&w, |e| match e {
        Event::PacketSent {
            from,
            bytes,
            cause: None,
            ..
        } => Some((*from, parse(bytes))),
        _ => None,
    });
    let [(h1, syn), (h2, syn_ack), (h3, ack), ..] = &sent[..] else {
        panic!("at least a handshake, got {} packets", sent.len());
    };
    assert_eq!((*h1, *h2, *h3), (client, backend, client));
    assert_eq!(syn.control, TcpControl::Syn);
    assert_eq!(syn.ack, None);
    assert_eq!(syn.dst, target);
    assert_eq!(syn_ack.control, TcpControl::Syn);
    assert_eq!(
        syn_ack.ack,
        Some(syn.seq.wrapping_add(1)),
        "SYN-ACK acknowledges the SYN"
    );
    assert_eq!((syn_ack.src, syn_ack.dst), (syn.dst, syn.src));
    assert_eq!(ack.control, TcpControl::None);
    assert_eq!(
        ack.ack,
        Some(syn_ack.seq.wrapping_add(1)),
        "ACK acknowledges the SYN-ACK"
    );

    // The request's bytes parse into the request the client reported.
    let request_bytes: Vec<u8> = sent
        .iter()
        .filter(|(h, seg)| *h == client && !seg.payload.is_empty())
        .flat_map(|(_, seg)| seg.payload.clone())
        .collect();
    let Ok(Progress::Complete(request, used)) =
        RequestParser::new(Limits::default()).feed(&request_bytes)
    else {
        panic!("the client's payload is one whole HTTP request");
    };
    assert_eq!(used, request_bytes.len());
    assert_eq!((request.method, request.target), (method, path));
    assert_eq!(request.headers.get("host"), Some("10.0.0.11"));

    // The response's bytes parse into the status the client reported.
    let response_bytes: Vec<u8> = sent
        .iter()
        .filter(|(h, seg)| *h == backend && !seg.payload.is_empty())
        .flat_map(|(_, seg)| seg.payload.clone())
        .collect();
    let Ok(Progress::Complete(response, _)) =
        ResponseParser::new(Limits::default(), false).feed(&response_bytes)
    else {
        panic!("the server's payload is one whole HTTP response");
    };
    assert_eq!(response.status, 200);
    assert_eq!(response.headers.get("x-backend"), Some("A"));

    // The connection closes with FINs both ways.
    let fins = sent
        .iter()
        .filter(|(_, s)| s.control == TcpControl::Fin)
        .count();
    assert_eq!(fins, 2, "an orderly close");
}

#[test]
fn the_router_forwards_the_same_packet_with_ttl_decremented() {
    let s = common::scenario(ONE_REQUEST);
    let w = common::run(&s);
    let originals: std::collections::BTreeMap<_, _> = common::events(&w, |e| match e {
        Event::PacketSent {
            packet,
            bytes,
            cause: None,
            ..
        } => Some((*packet, bytes.clone())),
        _ => None,
    })
    .into_iter()
    .collect();
    let forwarded = common::events(&w, |e| match e {
        Event::PacketSent {
            bytes,
            cause: Some(c),
            ..
        } => Some((*c, bytes.clone())),
        _ => None,
    });
    assert_eq!(
        forwarded.len(),
        originals.len(),
        "every packet crosses the router once"
    );
    for (cause, out) in forwarded {
        let inp = &originals[&cause];
        assert_eq!(out[8], inp[8] - 1, "TTL decremented");
        assert!(Ipv4Packet::new_checked(&out[..]).unwrap().verify_checksum());
        // Nothing else changed but the TTL and the header checksum.
        for (i, (a, b)) in inp.iter().zip(out.iter()).enumerate() {
            if ![8, 10, 11].contains(&i) {
                assert_eq!(a, b, "byte {i}");
            }
        }
    }
}
