//! Random valid scenarios for property tests: routers, L4 and L7 balancers, faults, carts,
//! game players, TLS; small enough to run by the hundred.
#![allow(dead_code)]

use std::net::{Ipv4Addr, SocketAddrV4};

use lbsim::balance::{Algorithm, IpHashKey};
use lbsim::scenario::{
    BackendSpec, BalancerSpec, Buffers, CartSpec, ClientGroupSpec, Command, ConntrackSpec, CpuSpec,
    Fault, HealthKind, HealthSpec, L7Spec, LinkSpec, MixEntry, Mode, Network, OnBackendDown,
    OutlierSpec, PlayerGroupSpec, RequestSpec, Scenario, ServiceTime, Side, TimelineEntry, TlsSpec,
    UnknownSegment,
};
use lbsim::time::Duration;
use proptest::prelude::*;

fn link() -> impl Strategy<Value = LinkSpec> {
    (
        0u64..20_000,
        0u64..100,
        prop_oneof![Just(0.0), 0.05f64..50.0],
        prop_oneof![3 => Just(0.0), 1 => 0.0f64..0.3],
        1u32..40,
    )
        .prop_map(
            |(latency_us, jitter_pct, bandwidth_mbps, loss, queue_packets)| LinkSpec {
                latency: Duration::from_micros(latency_us),
                jitter: Duration::from_micros(latency_us * jitter_pct / 100),
                bandwidth_mbps,
                loss,
                queue_packets,
            },
        )
}

fn health() -> impl Strategy<Value = HealthSpec> {
    (any::<bool>(), 50u64..1_000, 1u32..4, 1u32..4).prop_map(|(http, interval_ms, rise, fall)| {
        HealthSpec {
            kind: if http {
                HealthKind::Http(Default::default())
            } else {
                HealthKind::Tcp
            },
            interval: Duration::from_millis(interval_ms),
            // Unset (the interval) for a third of them.
            timeout: (interval_ms % 3 != 0).then(|| Duration::from_millis(interval_ms / 2 + 1)),
            rise,
            fall,
        }
    })
}

fn fault() -> impl Strategy<Value = Fault> {
    prop_oneof![
        4 => Just(Fault::None),
        1 => Just(Fault::Crash),
        1 => Just(Fault::PortClosed),
        1 => Just(Fault::AppErrors),
        1 => (1.0f64..20.0).prop_map(|factor| Fault::Slow { factor }),
        1 => Just(Fault::Hang),
        1 => (0.0f64..1.0).prop_map(|probability| Fault::Flaky { probability }),
    ]
}

fn backend(i: usize) -> impl Strategy<Value = BackendSpec> {
    (fault(), 1u32..4, 0u32..4, 1u32..6, 0u64..30, 0u32..4000).prop_map(
        move |(fault, workers, queue_limit, max_connections, service_ms, response_bytes)| {
            BackendSpec {
                name: format!("b{i}"),
                address: Ipv4Addr::new(10, 0, 0, 11 + i as u8),
                port: 80,
                weight: 1,
                workers,
                queue_limit,
                max_connections,
                backlog: 1,
                service: ServiceTime::Exponential(Duration::from_millis(service_ms)),
                response_bytes,
                routes: vec![],
                fault,
                link: None,
                game_port: Some(7777),
                // Small buffers for a third of them: windows smaller than a segment.
                buffers: (response_bytes % 3 == 0).then_some(Buffers {
                    receive: 512 + response_bytes % 1500,
                    send: 512 + service_ms as u32 * 40,
                }),
            }
        },
    )
}

fn balancer() -> impl Strategy<Value = BalancerSpec> {
    let algorithm = prop_oneof![
        Just(Algorithm::RoundRobin),
        Just(Algorithm::LeastConnections),
        Just(Algorithm::HaproxyLeastconn),
        Just(Algorithm::IpHash(IpHashKey::Nginx)),
        Just(Algorithm::IpHash(IpHashKey::Address)),
        Just(Algorithm::Maglev),
        Just(Algorithm::PowerOfTwo),
    ];
    let mode = prop_oneof![
        Just(Mode::Router),
        Just(Mode::L4Nat),
        Just(Mode::L4Dsr),
        Just(Mode::L7)
    ];
    let l7 = (any::<bool>(), any::<bool>(), any::<bool>(), 0u64..3_000).prop_map(
        |(tls, outlier, keep_alive, timeout_ms)| L7Spec {
            tls: tls.then(TlsSpec::default),
            outlier: outlier.then_some(OutlierSpec {
                consecutive_5xx: 2,
                ejection: Duration::from_millis(500),
            }),
            upstream_keep_alive: keep_alive,
            upstream_timeout: Duration::from_millis(timeout_ms + 1),
            ..L7Spec::default()
        },
    );
    (
        mode,
        algorithm,
        prop::option::of(health()),
        1u32..50,
        any::<bool>(),
        any::<bool>(),
        0u64..200,
        1u32..50,
        l7,
    )
        .prop_map(
            |(
                mode,
                algorithm,
                health,
                max_flows,
                reset,
                remove,
                per_packet_us,
                queue_packets,
                l7,
            )| {
                BalancerSpec {
                    l7,
                    mode,
                    algorithm,
                    maglev_table_size: 1009,
                    health,
                    on_backend_down: if remove {
                        OnBackendDown::Remove
                    } else {
                        OnBackendDown::Keep
                    },
                    conntrack: ConntrackSpec {
                        max_flows,
                        tcp_closed_timeout: Duration::from_millis(500),
                        unknown_segment: if reset {
                            UnknownSegment::Reset
                        } else {
                            UnknownSegment::Drop
                        },
                        ..ConntrackSpec::default()
                    },
                    cpu: CpuSpec {
                        per_packet: Duration::from_micros(per_packet_us),
                        queue_packets,
                    },
                    ..BalancerSpec::default()
                }
            },
        )
}

fn group(i: usize, backends: usize) -> impl Strategy<Value = ClientGroupSpec> {
    (
        1u32..5,
        1.0f64..60.0,
        0..backends,
        any::<bool>(),
        1u32..4,
        100u64..2_000,
        0u32..3000,
    )
        .prop_map(
            move |(count, rate, target, keep_alive, adds, timeout_ms, body_bytes)| {
                ClientGroupSpec {
                    name: format!("c{i}"),
                    count,
                    first_address: None,
                    target: Some(std::net::SocketAddrV4::new(
                        Ipv4Addr::new(10, 0, 0, 11 + target as u8),
                        80,
                    )),
                    rate,
                    arrivals: Default::default(),
                    mix: vec![
                        MixEntry {
                            weight: 2,
                            request: Some(RequestSpec {
                                method: "POST".into(),
                                path: "/upload".into(),
                                body_bytes,
                            }),
                            cart: None,
                        },
                        MixEntry {
                            weight: 1,
                            request: None,
                            cart: Some(CartSpec {
                                adds,
                                think: Duration::from_millis(50),
                            }),
                        },
                    ],
                    timeout: Duration::from_millis(timeout_ms),
                    keep_alive,
                    tls: false,
                    start: Duration::ZERO,
                    stop: None,
                    buffers: (body_bytes % 4 == 0).then_some(Buffers {
                        receive: 512 + (timeout_ms as u32 % 2000),
                        send: 512 + body_bytes % 1000,
                    }),
                    link: None,
                }
            },
        )
}

/// A random valid scenario and a stop point (percent of its settle time).
pub fn scenario() -> impl Strategy<Value = (Scenario, u64)> {
    (1usize..=3, 1usize..=2)
        .prop_flat_map(|(nb, ng)| {
            let backends: Vec<_> = (0..nb).map(backend).collect();
            let groups: Vec<_> = (0..ng).map(|i| group(i, nb)).collect();
            let action = prop_oneof![
                3 => (0..nb, fault()).prop_map(|(b, fault)| Command::SetFault {
                    backend: format!("b{b}"),
                    fault,
                }),
                1 => (0..ng, 1.0f64..60.0).prop_map(|(g, rate)| Command::SetRate {
                    group: format!("c{g}"),
                    rate,
                }),
                1 => (any::<bool>(), link()).prop_map(|(client, link)| Command::SetLink {
                    side: if client { Side::Client } else { Side::Server },
                    link,
                }),
                1 => proptest::option::of(health()).prop_map(|health| Command::SetHealth { health }),
                1 => (0..ng, 1u32..4, any::<bool>()).prop_map(|(g, weight, cart)| Command::SetMix {
                    group: format!("c{g}"),
                    mix: vec![MixEntry {
                        weight,
                        request: (!cart).then(|| RequestSpec {
                            method: "GET".into(),
                            path: "/other".into(),
                            body_bytes: 0,
                        }),
                        cart: cart.then(|| CartSpec {
                            adds: 2,
                            think: Duration::from_millis(20),
                        }),
                    }],
                }),
            ];
            let timeline = prop::collection::vec((0u64..2_000, action), 0..3);
            let world = (any::<u64>(), backends, groups, link(), link());
            (world, timeline, 0u64..=100, balancer(), 0u32..3)
        })
        .prop_map(|(world, timeline, stop_pct, balancer, players)| {
            let (seed, backends, mut clients, client_link, server_link) = world;
            // Behind a balancer, clients and players address the virtual IP; with TLS at the
            // proxy, every other client group speaks TLS.
            if balancer.mode != Mode::Router {
                for (i, g) in clients.iter_mut().enumerate() {
                    g.target = Some(SocketAddrV4::new(balancer.vip, balancer.port));
                    if let (Mode::L7, Some(t)) = (balancer.mode, &balancer.l7.tls) {
                        if i % 2 == 0 {
                            g.tls = true;
                            g.target = Some(SocketAddrV4::new(balancer.vip, t.port));
                        }
                    }
                }
            }
            let game_target = if balancer.mode.is_l4() {
                SocketAddrV4::new(balancer.vip, balancer.udp_port)
            } else {
                SocketAddrV4::new(Ipv4Addr::new(10, 0, 0, 11), 7777)
            };
            let players = (players > 0)
                .then(|| PlayerGroupSpec {
                    name: "p".into(),
                    count: players,
                    first_address: None,
                    target: Some(game_target),
                    tick_hz: 30,
                    payload_bytes: 64,
                    transport: Default::default(),
                    start: Duration::ZERO,
                    stop: None,
                    link: None,
                })
                .into_iter()
                .collect();
            let timeline = timeline
                .into_iter()
                .map(|(at, action)| TimelineEntry {
                    at: Duration::from_millis(at),
                    action,
                })
                .collect();
            let s = Scenario {
                version: 1,
                name: "random".into(),
                description: String::new(),
                seed,
                duration: Duration::from_secs(2),
                network: Network {
                    client_link,
                    server_link,
                },
                balancer,
                backends,
                clients,
                players,
                timeline,
            };
            (s, stop_pct)
        })
}
