use std::net::Ipv4Addr;

use super::*;

const MINIMAL: &str =
    r#"{"version": 1, "duration": "10s", "backends": [{"name": "A", "address": "10.0.0.11"}]}"#;

#[test]
fn the_smallest_scenario_takes_every_default() {
    let s = Scenario::from_json(MINIMAL).expect("valid");
    assert_eq!(s.backends[0].port, 80);
    assert_eq!(s.backends[0].workers, 4);
    assert_eq!(s.balancer.vip, Ipv4Addr::new(203, 0, 113, 10));
    assert_eq!(s.network.client_link.latency, Duration::from_millis(10));
}

#[test]
fn json_round_trips() {
    let text = include_str!("../../scenarios/standard.json");
    let s = Scenario::from_json(text).expect("standard scenario is valid");
    let again = Scenario::from_json(&s.to_json()).expect("re-serialised scenario is valid");
    assert_eq!(s, again);
}

#[test]
fn type_errors_name_their_field() {
    let text = r#"{"version": 1, "duration": "10s", "backends": [{"name": "A", "address": "10.0.0.11", "workers": "four"}]}"#;
    match Scenario::from_json(text) {
        Err(LoadError::Syntax { path, .. }) => assert_eq!(path, "backends[0].workers"),
        other => panic!("expected a syntax error, got {other:?}"),
    }
    let typo = r#"{"version": 1, "duration": "10s", "backend": []}"#;
    assert!(matches!(
        Scenario::from_json(typo),
        Err(LoadError::Syntax { .. })
    ));
    let bad_duration = r#"{"version": 1, "duration": "10 parsecs", "backends": []}"#;
    match Scenario::from_json(bad_duration) {
        Err(LoadError::Syntax { path, message }) => {
            assert_eq!(path, "duration");
            assert!(message.contains("unit"), "{message}");
        }
        other => panic!("expected a syntax error, got {other:?}"),
    }
}

#[test]
fn validation_reports_every_problem_with_its_path() {
    let text = r#"{
        "version": 2, "duration": "0s",
        "backends": [
            {"name": "A", "address": "10.0.0.11", "workers": 0},
            {"name": "A", "address": "10.0.0.11", "fault": {"flaky": {"probability": 1.5}}}
        ],
        "clients": [{"name": "web", "rate": -1, "mix": [{"weight": 1}]}],
        "timeline": [{"at": "1s", "action": {"set_fault": {"backend": "Z", "fault": "crash"}}}]
    }"#;
    let problems = match Scenario::from_json(text) {
        Err(LoadError::Invalid(p)) => p,
        other => panic!("expected problems, got {other:?}"),
    };
    let paths: Vec<&str> = problems.iter().map(|p| p.path.as_str()).collect();
    for expected in [
        "version",
        "duration",
        "backends[0].workers",
        "backends[1].name",
        "backends[1].address",
        "backends[1].fault.flaky.probability",
        "clients[0].rate",
        "clients[0].mix[0]",
        "timeline[0].action.set_fault.backend",
    ] {
        assert!(
            paths.contains(&expected),
            "{expected} missing from {paths:?}"
        );
    }
    let text = LoadError::Invalid(problems).to_string();
    assert!(
        text.contains("backends[0].workers must be between 1 and 1024"),
        "{text}"
    );
}

#[test]
fn clients_get_distinct_documentation_addresses() {
    let text = r#"{"version": 1, "duration": "1s",
        "backends": [{"name": "A", "address": "10.0.0.11"}],
        "clients": [{"name": "a", "count": 300, "rate": 1}, {"name": "b", "count": 5, "rate": 1, "first_address": "192.0.2.1"}]}"#;
    let s = Scenario::from_json(text).expect("valid");
    let groups = s.endpoint_addresses().unwrap();
    let mut all: Vec<Ipv4Addr> = groups.iter().flat_map(|(_, a)| a.clone()).collect();
    assert_eq!(all.len(), 305);
    assert_eq!(groups[1].1[0], Ipv4Addr::new(192, 0, 2, 1));
    // The automatic group skips the explicitly placed addresses and the VIP.
    assert_eq!(groups[0].1[0], Ipv4Addr::new(192, 0, 2, 6));
    assert!(!all.contains(&s.balancer.vip));
    all.sort();
    all.dedup();
    assert_eq!(all.len(), 305, "no address is used twice");
}

#[test]
fn every_shipped_scenario_is_valid() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios");
    let mut n = 0;
    for entry in std::fs::read_dir(&dir).expect("scenarios folder") {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "json") {
            let text = std::fs::read_to_string(&path).unwrap();
            Scenario::from_json(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            n += 1;
        }
    }
    assert!(n >= 2, "found {n} scenario files");
}

#[test]
fn syntax_errors_name_the_field_being_read() {
    let cases = [
        (
            r#"{"version": 1, "duration": "10s", "backends": [{"name": "A", "address": "10.0.0.11", "port": 99999}]}"#,
            "backends[0].port",
        ),
        (
            r#"{"version": 1, "duration": "10s", "backends": [{"name": "A", "address": "10.0.0.11"}, {"name": "B"}]}"#,
            "backends[1]",
        ),
        (
            r#"{"version": 1, "duration": "10s", "backends": [{"name": "A", "address": "10.0.0.11", "colour": 1}]}"#,
            "backends[0].colour",
        ),
        (
            "{\"version\": 1,\n \"duration\": \"10s\",\n \"backends\": [],\n \"balancer\": {\"algorithm\": \"fastest\"}}",
            "balancer.algorithm",
        ),
        (r#"{"version": 1, "duration": "10s", "backends": [}"#, "backends"),
    ];
    for (text, expected) in cases {
        match Scenario::parse_json(text) {
            Err(LoadError::Syntax { path, message }) => {
                assert_eq!(path, expected, "{message}");
                assert!(message.contains("line"), "{message}");
            }
            other => panic!("expected a syntax error at {expected}, got {other:?}"),
        }
    }
}

#[test]
fn a_refused_client_range_names_the_rule_it_breaks() {
    let problems = |first: &str, count: u32| {
        let text = format!(
            r#"{{"version": 1, "duration": "1s",
                "backends": [{{"name": "A", "address": "10.0.0.11"}}],
                "clients": [{{"name": "a", "count": {count}, "rate": 1, "first_address": "{first}"}}]}}"#
        );
        match Scenario::from_json(&text) {
            Err(e) => e.to_string(),
            Ok(_) => panic!("{first} × {count} should be refused"),
        }
    };
    let loopback = problems("127.0.0.1", 1);
    assert!(
        loopback.contains("clients[0].first_address")
            && loopback.contains("127.0.0.1 is a loopback address (127.0.0.0/8)"),
        "{loopback}"
    );
    assert!(!loopback.contains("leaves no room"), "{loopback}");
    let into_multicast = problems("223.255.255.254", 4);
    assert!(
        into_multicast.contains("host 3 of 4 would get 224.0.0.0, which is a multicast address"),
        "{into_multicast}"
    );
    assert!(problems("0.0.0.0", 1).contains("the unspecified address"));
    let vip = Scenario::from_json(
        r#"{"version": 1, "duration": "1s", "balancer": {"vip": "127.0.0.1"},
            "backends": [{"name": "A", "address": "10.0.0.11"}]}"#,
    )
    .unwrap_err()
    .to_string();
    assert!(
        vip.contains("balancer.vip must be a unicast address: 127.0.0.1 is a loopback address"),
        "{vip}"
    );
}
