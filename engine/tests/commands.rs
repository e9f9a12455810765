//! Commands are judged once: whatever the world accepts live leaves a scenario that validates
//! and replays to the same event log, and what it refuses names the field and the bound.

mod common;

use std::net::Ipv4Addr;

use lbsim::balance::Algorithm;
use lbsim::scenario::{
    BackendSpec, Command, Fault, HealthKind, HealthSpec, LinkSpec, MixEntry, RequestSpec, Scenario,
    Side,
};
use lbsim::sim::{CommandError, World};
use lbsim::time::{Duration, Instant};
use proptest::prelude::*;

/// Two backends A and B behind an L4 balancer with TCP checks, one client group "web".
fn base() -> Scenario {
    common::scenario(
        r#"{
        "version": 1, "duration": "4s", "seed": 3,
        "balancer": {"mode": "l4_nat", "maglev_table_size": 211,
                     "health": {"kind": "tcp", "interval": "500ms", "timeout": "200ms"}},
        "backends": [{"name": "A", "address": "10.0.0.11"}, {"name": "B", "address": "10.0.0.12"}],
        "clients": [{"name": "web", "count": 4, "rate": 20}],
        "timeline": [{"at": "3s", "action": {"set_fault": {"backend": "B", "fault": "crash"}}}]
    }"#,
    )
}

/// A backend called `name` at 10.0.0.`last`.
fn backend(name: &str, last: u8) -> BackendSpec {
    let mut s = base();
    let mut b = s.backends.remove(0);
    b.name = name.into();
    b.address = Ipv4Addr::new(10, 0, 0, last);
    b
}

fn weight(backend: &str, weight: u32) -> Command {
    Command::SetWeight {
        backend: backend.into(),
        weight,
    }
}

fn link(latency_ms: u64, jitter_ms: u64, loss: f64) -> Command {
    Command::SetLink {
        side: Side::Client,
        link: LinkSpec {
            latency: Duration::from_millis(latency_ms),
            jitter: Duration::from_millis(jitter_ms),
            loss,
            ..LinkSpec::default()
        },
    }
}

fn health(interval_ms: u64, timeout_ms: u64, rise: u32) -> Command {
    Command::SetHealth {
        health: Some(HealthSpec {
            kind: HealthKind::Tcp,
            interval: Duration::from_millis(interval_ms),
            timeout: Some(Duration::from_millis(timeout_ms)),
            rise,
            fall: 2,
        }),
    }
}

fn rate(group: &str, rate: f64) -> Command {
    Command::SetRate {
        group: group.into(),
        rate,
    }
}

fn mix(group: &str, weight: u32, path: &str) -> Command {
    Command::SetMix {
        group: group.into(),
        mix: vec![MixEntry {
            weight,
            request: Some(RequestSpec {
                method: "GET".into(),
                path: path.into(),
                body_bytes: 0,
            }),
            cart: None,
        }],
    }
}

fn fault(backend: &str, fault: Fault) -> Command {
    Command::SetFault {
        backend: backend.into(),
        fault,
    }
}

/// What a command should meet at 1 s into [`base`]: accepted, or refused at a field with a
/// message containing the given words.
enum Want {
    Ok,
    Field(&'static str, &'static str),
    Breaks(&'static str),
}

#[test]
fn every_command_has_its_bounds_and_names_the_field() {
    use Want::*;
    let table: Vec<(&str, Command, Want)> = vec![
        ("weight 1", weight("A", 1), Ok),
        ("weight 1000", weight("A", 1000), Ok),
        (
            "weight 0",
            weight("A", 0),
            Field("weight", "at least 1 and at most 1000"),
        ),
        (
            "weight 5000",
            weight("A", 5000),
            Field("weight", "at most 1000"),
        ),
        (
            "weight u32::MAX",
            weight("A", u32::MAX),
            Field("weight", "at most 1000"),
        ),
        (
            "weight of nobody",
            weight("Z", 2),
            Field("backend", "\"Z\", which is not in the pool"),
        ),
        ("crash", fault("A", Fault::Crash), Ok),
        (
            "slow by 0.5",
            fault("A", Fault::Slow { factor: 0.5 }),
            Field("fault.slow.factor", "between 1 and 1000"),
        ),
        (
            "flaky 150 %",
            fault("A", Fault::Flaky { probability: 1.5 }),
            Field("fault.flaky.probability", "probability"),
        ),
        (
            "fault of nobody",
            fault("Z", Fault::Hang),
            Field("backend", "not in the pool"),
        ),
        (
            "drain",
            Command::SetDrain {
                backend: "A".into(),
                drained: true,
            },
            Ok,
        ),
        (
            "drain nobody",
            Command::SetDrain {
                backend: "Z".into(),
                drained: true,
            },
            Field("backend", "not in the pool"),
        ),
        (
            "remove A",
            Command::RemoveBackend {
                backend: "A".into(),
            },
            Ok,
        ),
        (
            "remove B, which the timeline crashes at 3 s",
            Command::RemoveBackend {
                backend: "B".into(),
            },
            Breaks("timeline[1].action.set_fault.backend"),
        ),
        (
            "add C",
            Command::AddBackend {
                backend: backend("C", 13),
            },
            Ok,
        ),
        (
            "add a second A",
            Command::AddBackend {
                backend: backend("A", 13),
            },
            Field("backend.name", "used twice"),
        ),
        (
            "add on A's address",
            Command::AddBackend {
                backend: backend("C", 11),
            },
            Field("backend.address", "already used"),
        ),
        (
            "add with weight 0",
            Command::AddBackend {
                backend: BackendSpec {
                    weight: 0,
                    ..backend("C", 13)
                },
            },
            Field("backend.weight", "at least 1"),
        ),
        (
            "least connections",
            Command::SetAlgorithm {
                algorithm: Algorithm::LeastConnections,
            },
            Ok,
        ),
        (
            "Maglev with a 211-slot table for 2 backends",
            Command::SetAlgorithm {
                algorithm: Algorithm::Maglev,
            },
            Ok,
        ),
        ("link 20 ms", link(20, 5, 0.01), Ok),
        (
            "link loss 2",
            link(20, 0, 2.0),
            Field("link.loss", "probability"),
        ),
        (
            "link latency 11 s",
            link(11_000, 0, 0.0),
            Field("link.latency", "at most 10s"),
        ),
        (
            "jitter over latency",
            link(5, 10, 0.0),
            Field("link.jitter", "latency"),
        ),
        ("checks every 1 s", health(1000, 500, 2), Ok),
        (
            "checks every 5 ms",
            health(5, 1, 2),
            Field("health.interval", "between 10ms and 600s"),
        ),
        (
            "timeout over interval",
            health(100, 200, 2),
            Field("health.timeout", "interval"),
        ),
        (
            "rise 0",
            health(1000, 500, 0),
            Field("health.rise", "between 1 and 100"),
        ),
        ("checks off", Command::SetHealth { health: None }, Ok),
        ("rate 50", rate("web", 50.0), Ok),
        ("rate 0", rate("web", 0.0), Field("rate", "more than 0")),
        ("rate -1", rate("web", -1.0), Field("rate", "more than 0")),
        (
            "rate NaN",
            rate("web", f64::NAN),
            Field("rate", "more than 0"),
        ),
        (
            "rate infinite",
            rate("web", f64::INFINITY),
            Field("rate", "at most 100000"),
        ),
        (
            "rate 100001",
            rate("web", 100_001.0),
            Field("rate", "at most 100000"),
        ),
        (
            "rate of nobody",
            rate("mobile", 5.0),
            Field("group", "\"mobile\""),
        ),
        ("mix", mix("web", 2, "/a"), Ok),
        (
            "mix weight 0",
            mix("web", 0, "/a"),
            Field("mix[0].weight", "at least 1"),
        ),
        (
            "mix path",
            mix("web", 1, "a b"),
            Field("mix[0].request.path", "start with /"),
        ),
        (
            "mix of nobody",
            mix("mobile", 1, "/a"),
            Field("group", "\"mobile\""),
        ),
    ];
    for (name, command, want) in table {
        let mut w = World::new(&base());
        w.run_until(Instant::from_secs(1));
        let before = w.scenario().clone();
        let got = w.apply(command.clone());
        match (&want, &got) {
            (Ok, Result::Ok(())) => {
                assert_eq!(
                    w.scenario().timeline.len(),
                    before.timeline.len() + 1,
                    "{name}"
                );
                assert!(
                    w.scenario().validate().is_empty(),
                    "{name}: recorded is valid"
                );
            }
            (Field(field, words), Err(CommandError::Field { field: f, message })) => {
                assert_eq!(f, field, "{name}");
                assert!(message.contains(words), "{name}: {message:?}");
                assert!(got.as_ref().unwrap_err().to_string().starts_with(field));
            }
            (Breaks(path), Err(CommandError::Breaks(p))) => {
                assert_eq!(p.path, *path, "{name}");
            }
            _ => panic!("{name}: got {got:?}"),
        }
        if got.is_err() {
            assert_eq!(w.scenario(), &before, "{name}: a refusal records nothing");
        }
    }
}

#[test]
fn a_change_after_the_traffic_stopped_is_refused_as_such() {
    let mut w = World::new(&base());
    w.run_until(Instant::from_secs(4));
    assert_eq!(w.apply(weight("A", 2)), Ok(()), "at the duration itself");
    w.run_until(Instant::from_millis(4_001));
    let e = w
        .apply(Command::SetDrain {
            backend: "A".into(),
            drained: true,
        })
        .unwrap_err();
    assert_eq!(
        e,
        CommandError::AfterEnd {
            duration: Duration::from_secs(4)
        }
    );
    assert!(e.to_string().contains("restart"), "{e}");
}

/// The case from the issue: weight 5000 typed into a card is refused with its reason, and the
/// scenario the page keeps still opens.
#[test]
fn weight_5000_is_refused_and_the_scenario_still_restarts() {
    let s = lbsim::presets::get("playground").unwrap().scenario;
    let mut w = World::new(&s);
    w.run_until(Instant::from_secs(2));
    let e = w.apply(weight("A", 5000)).unwrap_err();
    assert_eq!(e.to_string(), "weight must be at least 1 and at most 1000");
    assert!(World::try_new(w.scenario(), 0).is_ok());
}

/// One command a user could make at the UI, good or bad.
fn any_command() -> impl Strategy<Value = Command> {
    let backend_name = prop_oneof![Just("b0"), Just("b1"), Just("b2"), Just("n1"), Just("zz")]
        .prop_map(String::from);
    prop_oneof![
        3 => (backend_name.clone(), prop_oneof![
            Just(Fault::None), Just(Fault::Crash), Just(Fault::Hang), Just(Fault::AppErrors),
            (0.0f64..30.0).prop_map(|factor| Fault::Slow { factor }),
        ]).prop_map(|(backend, fault)| Command::SetFault { backend, fault }),
        3 => (backend_name.clone(), prop_oneof![0u32..5, 990u32..1010, Just(u32::MAX)])
            .prop_map(|(backend, weight)| Command::SetWeight { backend, weight }),
        2 => (backend_name.clone(), any::<bool>())
            .prop_map(|(backend, drained)| Command::SetDrain { backend, drained }),
        2 => backend_name.clone().prop_map(|backend| Command::RemoveBackend { backend }),
        2 => (prop_oneof![Just("n1"), Just("n2"), Just("b0")], 11u8..16, 0u32..3).prop_map(
            |(name, last, weight)| Command::AddBackend {
                backend: BackendSpec { weight, ..backend(name, last) },
            },
        ),
        1 => prop_oneof![
            Just(Algorithm::RoundRobin),
            Just(Algorithm::LeastConnections),
            Just(Algorithm::Maglev),
            Just(Algorithm::PowerOfTwo),
        ].prop_map(|algorithm| Command::SetAlgorithm { algorithm }),
        1 => (0u64..12_000, 0u64..30, prop_oneof![0.0f64..0.2, Just(1.5)])
            .prop_map(|(l, j, loss)| link(l, j, loss)),
        1 => prop_oneof![
            Just(Command::SetHealth { health: None }),
            (0u64..1500, 0u64..1500, 0u32..4).prop_map(|(i, t, r)| health(i, t, r)),
        ],
        1 => (prop_oneof![Just("c0"), Just("c1"), Just("mobile")],
              prop_oneof![-1.0f64..80.0, Just(f64::NAN), Just(1e9)])
            .prop_map(|(g, r)| rate(g, r)),
        1 => (prop_oneof![Just("c0"), Just("zz")], 0u32..3).prop_map(|(g, w)| mix(g, w, "/m")),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    /// Random UI commands at random times, after the end too: every accepted one leaves the
    /// recorded scenario valid, and a restart from it replays the same event log.
    #[test]
    fn accepted_commands_record_a_scenario_that_replays(
        (s, _) in common::arbitrary::scenario(),
        commands in prop::collection::vec((0u64..3_000, any_command()), 1..8),
    ) {
        let mut live = World::with_trace_capacity(&s, 0);
        live.trace_mut().enable_digest();
        let mut commands = commands;
        commands.sort_by_key(|c| c.0);
        let mut accepted = 0;
        for (at, command) in commands {
            live.run_until(Instant::from_millis(at));
            let before = live.scenario().clone();
            match live.apply(command) {
                Ok(()) => accepted += 1,
                Err(_) => prop_assert_eq!(live.scenario(), &before),
            }
            prop_assert!(live.scenario().validate().is_empty());
        }
        let end = live.settle_time();
        live.run_until(end);
        let recorded = live.scenario().clone();
        prop_assert_eq!(recorded.timeline.len(), s.timeline.len() + accepted);
        let mut replay = World::try_new(&recorded, 0).expect("the recorded scenario opens");
        replay.trace_mut().enable_digest();
        replay.run_until(end);
        prop_assert_eq!(live.trace().digest(), replay.trace().digest());
        prop_assert_eq!(live.trace().next_seq(), replay.trace().next_seq());
    }
}
