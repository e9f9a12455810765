//! The layer-7 proxy's cost.
//!
//! `cargo bench -p lbsim --bench l7`
//!
//! - `parse and route`: a typical 500-byte browser request (Chrome's headers) parsed with the
//!   engine's parser and routed through a four-rule table, in requests per second.
//! - `whole world`: `engine/scenarios/l7.json` (50 clients, a fifth of them over TLS 1.3,
//!   through the proxy to two pools) from start until settled, in requests per second.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use lbsim::http::{Limits, Progress, RequestParser};
use lbsim::lb::l7::routing::Router;
use lbsim::scenario::{L7Spec, MatchSpec, NameValue, RuleSpec, Scenario};
use lbsim::sim::World;

const BROWSER: &[u8] = b"GET /api/catalogue/items?page=2&sort=price HTTP/1.1\r\n\
Host: shop.example\r\n\
Connection: keep-alive\r\n\
sec-ch-ua: \"Chromium\";v=\"156\", \"Not)A;Brand\";v=\"24\"\r\n\
sec-ch-ua-mobile: ?0\r\n\
sec-ch-ua-platform: \"Linux\"\r\n\
User-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0.0.0 Safari/537.36\r\n\
Accept: application/json\r\n\
Sec-Fetch-Site: same-origin\r\n\
Sec-Fetch-Mode: cors\r\n\
Accept-Encoding: gzip, deflate, br, zstd\r\n\
Accept-Language: en-GB,en;q=0.9\r\n\
Cookie: session=4f2a9c; lb=B\r\n\r\n";

fn router() -> Router {
    let rule = |conditions: MatchSpec, pool: &str| RuleSpec {
        conditions,
        pool: pool.to_string(),
    };
    let spec = L7Spec {
        rules: vec![
            rule(
                MatchSpec {
                    host: Some("video.example".into()),
                    ..MatchSpec::default()
                },
                "video",
            ),
            rule(
                MatchSpec {
                    cookie: Some(NameValue {
                        name: "beta".into(),
                        value: Some("1".into()),
                    }),
                    ..MatchSpec::default()
                },
                "beta",
            ),
            rule(
                MatchSpec {
                    path_prefix: Some("/api".into()),
                    method: Some("POST".into()),
                    ..MatchSpec::default()
                },
                "writes",
            ),
            rule(
                MatchSpec {
                    path_prefix: Some("/api".into()),
                    ..MatchSpec::default()
                },
                "api",
            ),
        ],
        default_pool: Some("web".into()),
        ..L7Spec::default()
    };
    let pools: Vec<String> = ["web", "video", "beta", "writes", "api"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    Router::new(&spec, &pools)
}

fn parse_and_route(c: &mut Criterion) {
    assert!(
        (450..550).contains(&BROWSER.len()),
        "a typical request: {} bytes",
        BROWSER.len()
    );
    let router = router();
    let mut group = c.benchmark_group("l7");
    group.throughput(Throughput::Elements(1));
    group.bench_function("parse and route a 500-byte browser request", |b| {
        b.iter(|| {
            let mut parser = RequestParser::new(Limits::default());
            let Ok(Progress::Complete(request, _)) = parser.feed(black_box(BROWSER)) else {
                unreachable!("a valid request")
            };
            black_box(router.route(&request))
        })
    });
    group.finish();
}

fn whole_world(c: &mut Criterion) {
    let s = Scenario::from_json(include_str!("../scenarios/l7.json")).expect("valid");
    let run = || {
        let mut w = World::with_trace_capacity(&s, 50_000);
        let end = w.settle_time();
        w.run_until(end);
        w.metrics().requests.started
    };
    let requests = run();
    let mut group = c.benchmark_group("l7 scenario");
    group.sample_size(10);
    group.throughput(Throughput::Elements(requests));
    group.bench_function("requests (trace ring 50k)", |b| b.iter(run));
    group.finish();
}

criterion_group!(benches, parse_and_route, whole_world);
criterion_main!(benches);
