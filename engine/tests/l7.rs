//! The layer-7 proxy: real requests routed by path and host, every error a real proxy gives,
//! health checks that read HTTP, stickiness, TLS termination, and the lessons they teach.

mod common;

use std::net::Ipv4Addr;

use lbsim::health::HealthState;
use lbsim::ids::HostId;
use lbsim::report::Report;
use lbsim::scenario::Scenario;
use lbsim::sim::{StepKind, World};
use lbsim::time::Instant;
use lbsim::trace::{Event, Outcome};

/// Three pools: /api → A, B; host video.example → V; the rest → W.
const ROUTED: &str = r#"{"version": 1, "duration": "2s", "seed": 1,
    "balancer": {"mode": "l7", "l7": {
        "pools": [{"name": "web", "backends": ["W"]},
                  {"name": "api", "backends": ["A", "B"]},
                  {"name": "video", "backends": ["V"]}],
        "rules": [{"match": {"host": "video.example"}, "pool": "video"},
                  {"match": {"path_prefix": "/api"}, "pool": "api"}],
        "default_pool": "web"}},
    "backends": [{"name": "W", "address": "10.0.0.11"}, {"name": "A", "address": "10.0.0.12"},
                 {"name": "B", "address": "10.0.0.13"}, {"name": "V", "address": "10.0.0.14"}]}"#;

const CURL: &[u8] = b"GET /api/items?page=2 HTTP/1.1\r\nHost: shop.example\r\nUser-Agent: curl/8.5.0\r\nAccept: */*\r\n\r\n";

const BROWSER: &[u8] = b"GET /intro.mp4 HTTP/1.1\r\n\
Host: video.example\r\n\
Connection: keep-alive\r\n\
sec-ch-ua: \"Chromium\";v=\"156\", \"Not)A;Brand\";v=\"24\"\r\n\
sec-ch-ua-mobile: ?0\r\n\
sec-ch-ua-platform: \"Linux\"\r\n\
Upgrade-Insecure-Requests: 1\r\n\
User-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0.0.0 Safari/537.36\r\n\
Accept: text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8\r\n\
Accept-Encoding: gzip, deflate, br, zstd\r\n\
Accept-Language: en-GB,en;q=0.9\r\n\r\n";

/// Sends `bytes` at 1 s into `scenario` and returns (status, backend name, reason body).
fn send(scenario: &Scenario, bytes: &[u8]) -> (u16, Option<String>, String) {
    let mut w = World::new(scenario);
    w.run_until(Instant::from_secs(1));
    let (composer, id) = w.send_raw(bytes.to_vec());
    w.run_until(Instant::from_secs(14));
    let r = w.raw_result(composer, id).expect("the request ended");
    let resp = r
        .response
        .as_ref()
        .unwrap_or_else(|| panic!("a response, not {:?}", r.outcome));
    (
        resp.status,
        resp.headers.get("x-backend").map(str::to_string),
        String::from_utf8_lossy(&resp.body).into_owned(),
    )
}

#[test]
fn real_requests_are_parsed_and_routed_by_path_and_host() {
    let s = common::scenario(ROUTED);
    let (status, backend, _) = send(&s, CURL);
    assert_eq!(status, 200);
    assert!(
        matches!(backend.as_deref(), Some("A" | "B")),
        "/api goes to the api pool: {backend:?}"
    );
    let (status, backend, _) = send(&s, BROWSER);
    assert_eq!(
        (status, backend.as_deref()),
        (200, Some("V")),
        "the video host goes to V"
    );
    let (status, backend, _) = send(&s, b"GET / HTTP/1.1\r\nHost: shop.example\r\n\r\n");
    assert_eq!(
        (status, backend.as_deref()),
        (200, Some("W")),
        "the rest goes to W"
    );
}

#[test]
fn every_error_comes_from_a_request_that_causes_it() {
    let s = common::scenario(ROUTED);
    let big_head = format!(
        "GET / HTTP/1.1\r\nHost: a\r\nX-Big: {}\r\n\r\n",
        "x".repeat(9000)
    );
    let cases: Vec<(&str, Vec<u8>, u16, &str)> = vec![
        ("malformed", b"GET / HTTP/1.1\r\nHost a\r\n\r\n".to_vec(), 400, "not a valid"),
        ("head too large", big_head.into_bytes(), 431, "too large"),
        (
            "body too large",
            b"POST /api/x HTTP/1.1\r\nHost: a\r\nContent-Length: 2000000\r\n\r\n".to_vec(),
            413,
            "larger than the limit",
        ),
        (
            "unknown coding",
            b"POST /api/x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n".to_vec(),
            501,
            "transfer coding",
        ),
        (
            "length and chunked",
            b"POST /api/x HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"
                .to_vec(),
            400,
            "smuggling",
        ),
    ];
    for (name, bytes, status, why) in cases {
        let (got, backend, body) = send(&s, &bytes);
        assert_eq!(got, status, "{name}");
        assert_eq!(backend, None, "{name}: answered by the balancer");
        assert!(body.contains(why), "{name}: {body}");
    }
}

/// The proxy's own answers to requests RFC 9110/9112 say a reverse proxy must not pass on,
/// and the ones it must read as the RFC says: one row per rule, with its section.
#[test]
fn the_proxy_answers_as_rfc_9112_says() {
    let s = common::scenario(ROUTED);
    let chunked = |line: &str| {
        format!("POST /api/x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n{line}\r\nhello\r\n0\r\n\r\n")
            .into_bytes()
    };
    let long = format!("GET /{} HTTP/1.1\r\nHost: a\r\n\r\n", "a".repeat(100_000));
    // (rule, case, request, status, backend that serves it, or None for the balancer)
    type Case = (
        &'static str,
        &'static str,
        Vec<u8>,
        u16,
        Option<&'static str>,
    );
    let cases: Vec<Case> = vec![
        (
            "RFC 9110 §9.3.6",
            "CONNECT opens no tunnel",
            b"CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n".to_vec(),
            501,
            None,
        ),
        (
            "RFC 9112 §3.2.2",
            "the absolute form's host routes",
            b"GET http://video.example/ HTTP/1.1\r\nHost: shop.example\r\n\r\n".to_vec(),
            200,
            Some("V"),
        ),
        (
            "RFC 9112 §3.2.2",
            "the absolute form's path routes",
            b"GET http://shop.example/api/x HTTP/1.1\r\nHost: video.example\r\n\r\n".to_vec(),
            200,
            Some("A"),
        ),
        (
            "RFC 9110 §2.5",
            "HTTP/1.2 is served as 1.1",
            b"GET / HTTP/1.2\r\nHost: shop.example\r\n\r\n".to_vec(),
            200,
            Some("W"),
        ),
        (
            "RFC 9110 §7.2",
            "a Host list",
            b"GET / HTTP/1.1\r\nHost: a, b\r\n\r\n".to_vec(),
            400,
            None,
        ),
        (
            "RFC 9110 §7.2",
            "a Host with userinfo",
            b"GET / HTTP/1.1\r\nHost: user@a\r\n\r\n".to_vec(),
            400,
            None,
        ),
        (
            "RFC 9112 §3.2",
            "raw UTF-8 in the target",
            "GET /caf\u{e9} HTTP/1.1\r\nHost: a\r\n\r\n"
                .as_bytes()
                .to_vec(),
            400,
            None,
        ),
        (
            "RFC 9112 §3",
            "a 100 KB target",
            long.into_bytes(),
            414,
            None,
        ),
        (
            "RFC 9112 §7.1.1",
            "a bare LF in a chunk extension",
            chunked("5;\n"),
            400,
            None,
        ),
        (
            "RFC 9112 §7.1.1",
            "an unbalanced quote",
            chunked("5;a=\"b"),
            400,
            None,
        ),
        (
            "RFC 9112 §7.1",
            "whitespace after the chunk size",
            chunked("5 "),
            400,
            None,
        ),
        (
            "RFC 9112 §7.1.2",
            "trailers ended by a bare LF",
            b"POST /api/x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\n"
                .to_vec(),
            400,
            None,
        ),
    ];
    for (rule, name, bytes, status, backend) in cases {
        let (got, from, body) = send(&s, &bytes);
        assert_eq!(
            (got, from.as_deref()),
            (status, backend),
            "{rule}: {name}: {body}"
        );
    }
}

fn with(balancer_extra: &str, backends: &str, timeline: &str) -> Scenario {
    common::scenario(&format!(
        r#"{{"version": 1, "duration": "3s", "seed": 2,
            "balancer": {{"mode": "l7" {balancer_extra}}},
            "backends": [{backends}]
            {timeline}}}"#
    ))
}

#[test]
fn no_ready_backend_is_503() {
    let s = with(
        "",
        r#"{"name": "A", "address": "10.0.0.11"}"#,
        r#", "timeline": [{"at": "500ms", "action": {"set_drain": {"backend": "A", "drained": true}}}]"#,
    );
    let (status, backend, body) = send(&s, CURL);
    assert_eq!((status, backend), (503, None));
    assert!(body.contains("no backend is ready"), "{body}");
}

#[test]
fn a_refused_upstream_is_retried_once_for_idempotent_requests_then_502() {
    // A refuses (port closed); B is fine. A GET meets A first, is retried on B and succeeds.
    let s = with(
        "",
        r#"{"name": "A", "address": "10.0.0.11", "fault": "port_closed"}, {"name": "B", "address": "10.0.0.12"}"#,
        "",
    );
    let mut w = World::new(&s);
    w.run_until(Instant::from_secs(1));
    let (c, get) = w.send_raw(CURL.to_vec());
    w.run_until(Instant::from_secs(2));
    let (_, post) =
        w.send_raw(b"POST /api/orders HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\n\r\nhi".to_vec());
    w.run_until(Instant::from_secs(3));
    let (_, post2) =
        w.send_raw(b"POST /api/orders HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\n\r\nhi".to_vec());
    w.run_until(Instant::from_secs(5));
    let status = |id| {
        w.raw_result(c, id)
            .unwrap()
            .response
            .as_ref()
            .unwrap()
            .status
    };
    assert_eq!(status(get), 200, "retried on B");
    // Round robin alternates: one of the two POSTs meets A and is not retried.
    let mut posts = [status(post), status(post2)];
    posts.sort();
    assert_eq!(posts, [200, 502], "a POST is not retried");
    let r = common::report(&w);
    let p = r.balancer.unwrap().proxy.unwrap();
    assert_eq!(p.retries, 1);
    assert_eq!(p.errors.get("502 UpstreamRefused"), Some(&1));
}

#[test]
fn a_backend_that_hangs_is_504_and_one_that_resets_is_502() {
    let s = with(
        r#", "l7": {"upstream_timeout": "1s"}"#,
        r#"{"name": "A", "address": "10.0.0.11", "fault": "hang"}"#,
        "",
    );
    let (status, _, body) = send(&s, CURL);
    assert_eq!(status, 504);
    assert!(body.contains("did not answer in time"), "{body}");

    // The request hangs, then the port closes: the upstream connection is reset. A POST is not
    // retried: 502.
    let s = with(
        r#", "l7": {"upstream_timeout": "5s"}"#,
        r#"{"name": "A", "address": "10.0.0.11", "fault": "hang"}"#,
        r#", "timeline": [{"at": "1500ms", "action": {"set_fault": {"backend": "A", "fault": "port_closed"}}}]"#,
    );
    let (status, _, body) = send(
        &s,
        b"POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n",
    );
    assert_eq!(status, 502);
    assert!(body.contains("closed the connection"), "{body}");
}

/// When a backend changed health, if it did.
fn went_down(w: &World, backend: HostId) -> Option<Instant> {
    w.trace().records().find_map(|r| match r.event {
        Event::HealthChanged {
            backend: b,
            state: HealthState::Down,
        } if b == backend => Some(r.at),
        _ => None,
    })
}

#[test]
fn the_http_check_catches_the_500_the_tcp_check_misses() {
    let run = |kind: &str| {
        let s = common::scenario(&format!(
            r#"{{"version": 1, "duration": "20s", "seed": 3,
                "balancer": {{"mode": "l7", "health": {{"kind": {kind}, "interval": "1s", "fall": 3}}}},
                "backends": [{{"name": "A", "address": "10.0.0.11"}},
                             {{"name": "B", "address": "10.0.0.12", "fault": "app_errors"}}],
                "clients": [{{"name": "web", "count": 10, "rate": 40}}]}}"#
        ));
        common::run(&s)
    };
    let tcp = run(r#""tcp""#);
    let http = run(r#"{"http": {}}"#);
    assert_eq!(went_down(&tcp, HostId(2)), None, "the TCP check keeps B up");
    let down = went_down(&http, HostId(2)).expect("the HTTP check takes B down");
    assert!(
        down <= Instant::from_secs(4),
        "after three failed checks: {down}"
    );
    let errors = |w: &World| {
        common::report(w)
            .requests
            .statuses
            .get(&500)
            .copied()
            .unwrap_or(0)
    };
    assert!(
        errors(&tcp) > 300,
        "clients keep getting B's 500s: {}",
        errors(&tcp)
    );
    // B's probes run at 0.5 s, 1.5 s and 2.5 s: about 2.5 s of half of 40 requests a second.
    assert!(
        errors(&http) < 80,
        "only until B is marked down: {}",
        errors(&http)
    );
}

/// Shoppers adding 3 items then checking out, through an L7 balancer with `balancer`.
fn shop(balancer: &str, timeline: &str) -> Report {
    shop_thinking(balancer, timeline, "200ms")
}

/// Like [`shop`], with `think` between a response and the next request.
fn shop_thinking(balancer: &str, timeline: &str, think: &str) -> Report {
    let s = common::scenario(&format!(
        r#"{{"version": 1, "duration": "20s", "seed": 5,
            "balancer": {balancer},
            "backends": [{{"name": "A", "address": "10.0.0.11"}}, {{"name": "B", "address": "10.0.0.12"}},
                         {{"name": "C", "address": "10.0.0.13"}}],
            "clients": [{{"name": "shoppers", "count": 40, "rate": 4, "stop": "12s",
                          "mix": [{{"cart": {{"adds": 3, "think": "{think}"}}}}]}}]
            {timeline}}}"#
    ));
    common::report(&common::run(&s))
}

#[test]
fn a_ram_cart_is_lost_under_round_robin_and_kept_under_ip_hash_and_stickiness() {
    let rr = shop(r#"{"mode": "l7", "algorithm": "round_robin"}"#, "");
    let hash = shop(r#"{"mode": "l7", "algorithm": {"ip_hash": "address"}}"#, "");
    let sticky = shop(
        r#"{"mode": "l7", "l7": {"pools": [{"name": "shop", "backends": ["A", "B", "C"], "sticky": {"cookie": "lb"}}]}}"#,
        "",
    );
    let carts = |r: &Report| r.sessions.clone().expect("sessions ran");
    assert!(
        carts(&rr).lost_carts > 20,
        "round robin loses carts: {:?}",
        carts(&rr)
    );
    assert_eq!(carts(&hash).lost_carts, 0, "{:?}", carts(&hash));
    assert_eq!(carts(&sticky).lost_carts, 0, "{:?}", carts(&sticky));
    assert!(carts(&sticky).kept > 30);
    // Each session's first request has no cookie yet (a miss, which sets it); its next three
    // carry it (hits).
    let p = sticky.balancer.unwrap().proxy.unwrap();
    assert_eq!(p.sticky_hits, 3 * p.sticky_misses, "{p:?}");
}

#[test]
fn when_the_sticky_server_dies_its_carts_are_lost_and_the_report_says_so() {
    // Shoppers think for 2 s between requests: most of B's are thinking when it dies, and
    // come back after it is marked down.
    let sticky = shop_thinking(
        r#"{"mode": "l7", "health": {"kind": {"http": {}}, "interval": "500ms", "timeout": "250ms", "fall": 2},
            "l7": {"pools": [{"name": "shop", "backends": ["A", "B", "C"], "sticky": {"cookie": "lb"}}]}}"#,
        r#", "timeline": [{"at": "6s", "action": {"set_fault": {"backend": "B", "fault": "crash"}}}]"#,
        "2s",
    );
    let carts = sticky.sessions.clone().unwrap();
    assert!(carts.lost_carts + carts.abandoned > 0, "{carts:?}");
    assert!(
        carts.lost_carts > 0,
        "shoppers redispatched from B find an empty cart: {carts:?}"
    );
    let p = sticky.balancer.as_ref().unwrap().proxy.clone().unwrap();
    // A miss for every session's first request, and for each redispatched from B.
    assert!(
        p.sticky_misses > carts.started,
        "cookies naming B miss after it is down: {p:?}"
    );
    let b = sticky.balancer.unwrap();
    assert!(b
        .health_transitions
        .iter()
        .any(|t| t.backend == "B" && t.state == HealthState::Down));
}

#[test]
fn game_updates_over_l7_http_lag_l4_udp_at_p50_and_far_more_at_p99() {
    let game = |balancer: &str, transport: &str| {
        let s = common::scenario(&format!(
            r#"{{"version": 1, "duration": "20s", "seed": 4,
                "network": {{"client_link": {{"latency": "15ms", "jitter": "2ms", "loss": 0.01}}}},
                "balancer": {{"mode": "{balancer}"}},
                "backends": [{{"name": "G", "address": "10.0.0.11", "game_port": 7777}}],
                "players": [{{"name": "p", "count": 8, "tick_hz": 60, "transport": "{transport}"}}]}}"#
        ));
        common::report(&common::run(&s)).game.unwrap()
    };
    let udp = game("l4_nat", "udp");
    let http = game("l7", "http");
    let (u50, u99) = (udp.rtt.p50_ms.unwrap(), udp.rtt.p99_ms.unwrap());
    let (h50, h99) = (http.rtt.p50_ms.unwrap(), http.rtt.p99_ms.unwrap());
    assert!(h50 > u50, "p50: HTTP {h50} ms vs UDP {u50} ms");
    // A lost datagram is just lost; a lost TCP segment holds up its connection until the
    // retransmission (smoltcp's minimum RTO is RFC 6298's 1 s).
    assert!(h99 > 10.0 * u99, "p99: HTTP {h99} ms vs UDP {u99} ms");
    assert!(
        udp.lost > 0 && http.lost < udp.lost,
        "UDP loses updates, TCP delays them"
    );
}

#[test]
fn l7_costs_more_latency_than_l4_and_tls_offload_shows_in_balancer_load() {
    let run = |balancer: &str, tls: bool| {
        let s = common::scenario(&format!(
            r#"{{"version": 1, "duration": "5s", "seed": 6,
                "balancer": {balancer},
                "backends": [{{"name": "A", "address": "10.0.0.11"}}, {{"name": "B", "address": "10.0.0.12"}}],
                "clients": [{{"name": "web", "count": 20, "rate": 100, "tls": {tls}}}]}}"#
        ));
        common::report(&common::run(&s))
    };
    let l4 = run(r#"{"mode": "l4_nat"}"#, false);
    let l7 = run(r#"{"mode": "l7"}"#, false);
    let tls13 = run(r#"{"mode": "l7", "l7": {"tls": {"version": "1.3"}}}"#, true);
    let tls12 = run(r#"{"mode": "l7", "l7": {"tls": {"version": "1.2"}}}"#, true);
    let mean = |r: &Report| r.latency.mean_ms.unwrap();
    // The proxy answers the client's handshake itself, which saves the server-side leg
    // (0.4 ms), then spends it again on its own handshake with the backend; what remains is
    // the parse and routing (20 µs by default).
    let extra = mean(&l7) - mean(&l4);
    assert!(
        (0.01..0.1).contains(&extra),
        "L7 {} vs L4 {}",
        mean(&l7),
        mean(&l4)
    );
    // TLS 1.3 adds one client round trip (20.4 ms), 1.2 two.
    let rtt = 20.4;
    assert!(
        (mean(&tls13) - mean(&l7) - rtt).abs() < 2.0,
        "TLS 1.3 {}",
        mean(&tls13)
    );
    assert!(
        (mean(&tls12) - mean(&l7) - 2.0 * rtt).abs() < 2.0,
        "TLS 1.2 {}",
        mean(&tls12)
    );
    // The balancer pays for the handshakes; the backends see plain HTTP either way.
    let busy = |r: &Report| r.balancer.as_ref().unwrap().cpu_busy;
    assert!(
        busy(&tls13) > 5.0 * busy(&l7),
        "TLS {} vs plain {}",
        busy(&tls13),
        busy(&l7)
    );
    assert_eq!(
        tls13
            .balancer
            .as_ref()
            .unwrap()
            .proxy
            .as_ref()
            .unwrap()
            .tls_handshakes,
        tls13.requests.started
    );
    assert_eq!(tls13.requests.outcomes["ok"], tls13.requests.started);
}

#[test]
fn the_backend_sees_the_client_in_x_forwarded_for() {
    let s = common::scenario(ROUTED);
    let mut w = World::with_trace_capacity(&s, 1_000_000);
    w.run_until(Instant::from_secs(1));
    w.send_raw(CURL.to_vec());
    w.run_until(Instant::from_secs(3));
    let composer = w.hosts().last().unwrap().address;
    let upstream: Vec<String> = common::events(&w, |e| match e {
        Event::PacketSent { from, bytes, .. } if *from == HostId(0) => {
            let text = String::from_utf8_lossy(bytes);
            text.contains("GET /api/items").then(|| text.into_owned())
        }
        _ => None,
    });
    assert_eq!(upstream.len(), 1);
    assert!(
        upstream[0].contains(&format!("X-Forwarded-For: {composer}")),
        "{}",
        upstream[0]
    );
    assert!(upstream[0].contains("Via: 1.1 traffic-cop"));
    assert_eq!(composer, Ipv4Addr::new(198, 51, 100, 254));
}

#[test]
fn outlier_detection_ejects_a_backend_that_keeps_failing() {
    let s = common::scenario(
        r#"{"version": 1, "duration": "10s", "seed": 8,
            "balancer": {"mode": "l7", "l7": {"outlier": {"consecutive_5xx": 3, "ejection": "30s"}}},
            "backends": [{"name": "A", "address": "10.0.0.11"},
                         {"name": "B", "address": "10.0.0.12", "fault": {"flaky": {"probability": 0.9}}}],
            "clients": [{"name": "web", "count": 10, "rate": 50}]}"#,
    );
    let w = common::run(&s);
    let ejected = common::events(&w, |e| match e {
        Event::BackendEjected { backend, until } => Some((*backend, *until)),
        _ => None,
    });
    assert_eq!(ejected.len(), 1);
    assert_eq!(ejected[0].0, HostId(2));
    let r = common::report(&w);
    // After the ejection every request goes to A.
    assert!(
        r.backends[1].requests < 30,
        "B served {}",
        r.backends[1].requests
    );
    assert!(r.requests.outcomes[Outcome::Ok.name()] > 450);
}

#[test]
fn a_request_story_reads_route_backend_and_outcome_back_from_the_trace() {
    let w = common::run(&common::scenario(
        &ROUTED.replace(r#""seed": 1,"#, r#""seed": 1, "clients": [{"name": "c", "count": 2, "rate": 10, "mix": [{"request": {"path": "/api/x"}}]}],"#),
    ));
    let ids = common::events(&w, |e| match e {
        Event::RequestStarted { request, .. } => Some(*request),
        _ => None,
    });
    assert!(ids.len() > 10);
    for id in ids {
        let story = w.request_story(id).expect("the trace holds it");
        let kinds: Vec<StepKind> = story.steps.iter().map(|s| s.kind).collect();
        assert_eq!(
            kinds,
            [
                StepKind::Sent,
                StepKind::Decision,
                StepKind::Routed,
                StepKind::Served,
                StepKind::ProxyAnswered,
                StepKind::Ended
            ],
            "{story:#?}"
        );
        assert_eq!(
            story.rule.as_deref(),
            Some("rule 2 (path starts with /api)")
        );
        let b = story.backend.expect("a backend");
        assert!(["A", "B"].contains(&w.hosts()[b.index()].name.as_str()));
        assert_eq!(story.outcome, Some((Outcome::Ok, Some(200))));
        assert!(story.steps.windows(2).all(|s| s[0].at <= s[1].at));
    }
}
