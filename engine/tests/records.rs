//! Request records and the HAR export: one record per request, read whole from a small trace
//! ring as the world runs, agreeing with the report's counts; and a HAR 1.2 document that
//! developer tools can import.

mod common;

use std::collections::BTreeMap;

use lbsim::records::{self, har, RequestLog, RequestRecord};
use lbsim::scenario::{HealthKind, Mode, Scenario};
use lbsim::sim::World;
use lbsim::time::{Duration, Instant};
use lbsim::trace::{Event, Outcome};

/// Runs `s` to its settle time with a trace ring far smaller than the run, recording.
fn recorded(s: &Scenario) -> (World, Vec<RequestRecord>, RequestLog) {
    let mut w = World::with_trace_capacity(s, 4096);
    let mut log = RequestLog::new();
    let end = w.settle_time();
    records::run_until(&mut w, end, &mut log);
    let recs = log.records(&w);
    (w, recs, log)
}

/// Every preset's scenario and its compare variant, by name.
fn scenarios() -> Vec<(String, Scenario)> {
    let mut out = Vec::new();
    for p in lbsim::presets::all() {
        if let Some(Ok(v)) = p.compare_scenario() {
            out.push((format!("{} (compare)", p.name), v));
        }
        out.push((p.name.clone(), p.scenario));
    }
    out
}

#[test]
fn every_request_of_every_preset_is_one_record_agreeing_with_the_report() {
    for (name, s) in scenarios() {
        // Backends also answer requests that are not a client's: the balancer's HTTP health
        // checks, and the game players' updates (which the report does not count as requests
        // either). Count those answers, to compare the rest.
        let check_path = match s.balancer.health.as_ref().map(|h| &h.kind) {
            Some(HealthKind::Http(c)) => Some(c.path.clone()),
            _ => None,
        };
        let mut w = World::with_trace_capacity(&s, 4096);
        let mut log = RequestLog::new();
        let mut other: BTreeMap<String, u64> = BTreeMap::new();
        let mut seen = 0;
        let end = w.settle_time();
        let mut t = Instant::ZERO;
        while t < end {
            t = (t + Duration::from_millis(5)).min(end);
            records::run_until(&mut w, t, &mut log);
            let hosts = w.hosts();
            for r in w.trace().since(seen) {
                if let Event::RequestServed {
                    host, peer, line, ..
                } = &r.event
                {
                    let path = &line.path;
                    let check =
                        *peer.ip() == s.balancer.inner && check_path.as_deref() == Some(path);
                    if check || path == "/game/update" {
                        *other.entry(hosts[host.index()].name.clone()).or_default() += 1;
                    }
                }
            }
            seen = w.trace().next_seq();
        }
        assert_eq!(log.missed(), 0, "{name}: the ring dropped records unread");
        let recs = log.records(&w);
        let r = common::report(&w);
        assert_eq!(recs.len() as u64, r.requests.started, "{name}");
        // Per backend, the records count exactly the answers the report counts.
        let mut served: BTreeMap<String, u64> = BTreeMap::new();
        for rec in &recs {
            if let Some(s) = &rec.served {
                *served.entry(s.backend.clone()).or_default() += 1;
            }
        }
        let reported: BTreeMap<String, u64> = r
            .backends
            .iter()
            .map(|b| {
                (
                    b.name.clone(),
                    b.requests - other.get(&b.name).copied().unwrap_or(0),
                )
            })
            .filter(|(_, n)| *n > 0)
            .collect();
        assert_eq!(served, reported, "{name}");
        // And by outcome, what the report counts.
        for o in Outcome::ALL {
            let n = recs.iter().filter(|x| x.outcome == Some(o)).count() as u64;
            assert_eq!(n, r.requests.outcomes[o.name()], "{name}: {}", o.name());
        }
        // Each record says who sent it from where, and (behind a balancer) what was decided.
        for rec in &recs {
            assert!(rec.client_port >= 1024, "{name}: {rec:?}");
            if rec.served.is_some() && s.balancer.mode != Mode::Router {
                let d = rec
                    .decision
                    .as_ref()
                    .unwrap_or_else(|| panic!("{name}: {rec:?}"));
                assert!(!d.explanation.is_empty());
                assert_eq!(
                    rec.backend.as_ref(),
                    rec.served.as_ref().map(|s| &s.backend)
                );
            }
            if s.balancer.mode == Mode::L7 && rec.served.is_some() {
                assert!(rec.rule.is_some() && rec.pool.is_some(), "{name}: {rec:?}");
            }
        }
    }
}

#[test]
fn a_record_reads_the_route_the_decision_and_the_timings_of_its_request() {
    let p = lbsim::presets::get("path-routing").expect("preset");
    let (_, recs, _) = recorded(&p.scenario);
    let video = recs
        .iter()
        .find(|r| r.target.starts_with("/video") && r.outcome == Some(Outcome::Ok))
        .expect("a video request");
    assert!(
        video
            .rule
            .as_deref()
            .is_some_and(|r| r.contains("path starts with /video")),
        "{video:?}"
    );
    assert_eq!(video.pool.as_deref(), Some("video"));
    let served = video.served.as_ref().expect("served");
    let total = video.total_ms.expect("ended");
    // The steps are in order: decided, then served, within the request's time.
    let decided = video.decision.as_ref().expect("decided").at_ms;
    assert!(decided >= 0.0 && decided <= served.start_ms, "{video:?}");
    assert!(served.start_ms + served.service_ms <= total, "{video:?}");
    let line: serde_json::Value = serde_json::from_str(&video.to_line()).expect("JSON");
    for field in [
        "client_address",
        "client_port",
        "backend",
        "decision",
        "rule",
        "served",
        "outcome",
        "total_ms",
    ] {
        assert!(!line[field].is_null(), "{field} in {line}");
    }
    let explanation = &video.decision.as_ref().expect("decided").explanation;
    assert_eq!(
        line["decision"]["explanation"].as_str(),
        Some(explanation.as_str())
    );
}

#[test]
fn the_har_export_is_har_1_2_with_one_entry_per_request() {
    // The cart lesson with its sticky cookie.
    let p = lbsim::presets::get("cart").expect("preset");
    let sticky = p.compare_scenario().expect("a variant").expect("valid");
    let (_, recs, _) = recorded(&sticky);
    let text = har::to_har(&recs, 1_700_000_000_000);
    let doc: serde_json::Value = serde_json::from_str(&text).expect("valid JSON");
    let log = &doc["log"];
    assert_eq!(log["version"], "1.2");
    assert!(log["creator"]["name"].is_string() && log["creator"]["version"].is_string());
    let entries = log["entries"].as_array().expect("entries");
    assert_eq!(entries.len(), recs.len());
    let iso = |s: &str| {
        s.len() == 24
            && s.as_bytes()[4] == b'-'
            && s.as_bytes()[10] == b'T'
            && s.ends_with('Z')
            && s.starts_with("2023-11-14T")
    };
    for (e, r) in entries.iter().zip(&recs) {
        let started = e["startedDateTime"].as_str().expect("startedDateTime");
        assert!(iso(started), "{started}");
        // `time` is the sum of the timings that apply (HAR 1.2: -1 does not apply).
        let t = &e["timings"];
        let sum: f64 = ["blocked", "dns", "connect", "send", "wait", "receive"]
            .iter()
            .filter_map(|k| t[k].as_f64())
            .filter(|v| *v >= 0.0)
            .sum();
        assert!((e["time"].as_f64().unwrap() - sum).abs() < 0.002, "{e}");
        for k in ["send", "wait", "receive"] {
            assert!(t[k].as_f64().is_some_and(|v| v >= 0.0), "{k} in {e}");
        }
        let req = &e["request"];
        assert_eq!(req["method"], r.method.as_str());
        assert!(req["url"]
            .as_str()
            .unwrap()
            .starts_with("http://203.0.113.10/"));
        for k in ["cookies", "headers", "queryString"] {
            assert!(
                req[k].is_array()
                    && e["response"][k.replace("queryString", "cookies").as_str()].is_array()
            );
        }
        assert!(req["headersSize"].is_i64() && req["bodySize"].is_i64());
        let resp = &e["response"];
        assert_eq!(
            resp["status"].as_u64().unwrap(),
            u64::from(r.status.unwrap_or(0))
        );
        assert!(resp["statusText"].is_string() && resp["redirectURL"].is_string());
        assert!(resp["content"]["size"].is_number() && resp["content"]["mimeType"].is_string());
        assert!(e["cache"].is_object());
        assert_eq!(e["_balancer"]["backend"].as_str(), r.backend.as_deref());
    }
    // The cart lesson's sticky cookie shows up as the decision that chose.
    assert!(
        entries
            .iter()
            .any(|e| e["_balancer"]["decision"]["algorithm"] == "sticky_cookie"),
        "some request is routed by its cookie"
    );
}
