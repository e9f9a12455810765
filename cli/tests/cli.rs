//! The `lbsim` binary, run as users run it; its pcap read by a real `tshark`.
//!
//! The tshark check is not optional: without tshark on PATH it fails, it does not skip.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const STANDARD: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../engine/scenarios/standard.json"
);

fn lbsim(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_lbsim"))
        .args(args)
        .output()
        .expect("lbsim runs")
}

/// Runs lbsim and asserts it succeeded, showing its arguments and error output otherwise.
fn lbsim_ok(args: &[&str]) -> Output {
    let out = lbsim(args);
    assert!(
        out.status.success(),
        "lbsim {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// A fresh temporary directory for one test.
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("lbsim-cli-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

fn tshark(pcap: &Path, fields: &[&str]) -> String {
    let mut cmd = Command::new("tshark");
    cmd.arg("-r").arg(pcap);
    for proto in ["ip", "tcp", "udp"] {
        cmd.args(["-o", &format!("{proto}.check_checksum:TRUE")]);
    }
    cmd.args(["-T", "fields", "-E", "separator=,"]);
    for f in fields {
        cmd.args(["-e", f]);
    }
    let out = cmd.output().unwrap_or_else(|e| {
        panic!("tshark must be installed for this check (scripts/test.sh installs it): {e}")
    });
    assert!(
        out.status.success(),
        "tshark failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("tshark prints text")
}

fn report(path: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(path).expect("report written"))
        .expect("report is JSON")
}

#[test]
fn tshark_reads_the_standard_pcap_with_no_malformed_packet_and_no_bad_checksum() {
    let dir = scratch("tshark");
    let pcap = dir.join("standard.pcap");
    let json = dir.join("report.json");
    lbsim_ok(&[
        "run",
        STANDARD,
        "--pcap",
        pcap.to_str().unwrap(),
        "--report",
        json.to_str().unwrap(),
        "--quiet",
    ]);
    let r = report(&json);
    let sent = r["packets"]["sent"].as_u64().unwrap();
    let queue_drops = r["packets"]["dropped_by_reason"]["queue_full"]
        .as_u64()
        .unwrap_or(0);

    let packets = tshark_reads_cleanly(&pcap, "standard");
    // Every packet put on a link is in the capture (a packet the queue refused never left).
    assert_eq!(packets, sent - queue_drops);
    assert!(packets > 100_000);
}

/// Asserts that tshark decodes every packet of `pcap` with good checksums and none malformed;
/// how many packets it read.
fn tshark_reads_cleanly(pcap: &Path, what: &str) -> u64 {
    let lines = tshark(
        pcap,
        &[
            "ip.checksum.status",
            "tcp.checksum.status",
            "udp.checksum.status",
            "_ws.malformed",
        ],
    );
    let mut packets = 0;
    for line in lines.lines() {
        packets += 1;
        let cols: Vec<&str> = line.split(',').collect();
        assert!(
            cols[0].split(';').all(|c| c == "1"),
            "{what}: IPv4 checksum: {line}"
        );
        assert!(
            cols[1] == "1" || (cols[1].is_empty() && cols[2] == "1"),
            "{what}: TCP or UDP checksum: {line}"
        );
        assert!(cols[3].is_empty(), "{what}: malformed: {line}");
    }
    packets
}

#[test]
fn tshark_reads_every_presets_pcap_with_no_malformed_packet() {
    let dir = scratch("presets-pcap");
    for (name, _) in preset_links() {
        let pcap = dir.join(format!("{name}.pcap"));
        lbsim_ok(&[
            "run",
            "--preset",
            &name,
            "--pcap",
            pcap.to_str().unwrap(),
            "--quiet",
        ]);
        assert!(tshark_reads_cleanly(&pcap, &name) > 10, "{name}");
    }
}

#[test]
fn run_writes_one_request_record_per_request_and_a_har_file() {
    let dir = scratch("records");
    let (jsonl, har, json) = (dir.join("r.jsonl"), dir.join("r.har"), dir.join("r.json"));
    lbsim_ok(&[
        "run",
        "--preset",
        "path-routing",
        "--requests",
        jsonl.to_str().unwrap(),
        "--har",
        har.to_str().unwrap(),
        "--report",
        json.to_str().unwrap(),
        "--quiet",
    ]);
    let r = report(&json);
    let text = std::fs::read_to_string(&jsonl).expect("records written");
    let lines: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).expect("each line is JSON"))
        .collect();
    assert_eq!(
        lines.len() as u64,
        r["requests"]["started"].as_u64().unwrap()
    );
    for l in &lines {
        assert!(
            l["client_address"].is_string() && l["client_port"].is_u64(),
            "{l}"
        );
        assert!(l["outcome"].is_string() && l["total_ms"].is_f64(), "{l}");
    }
    // The routed ones name their rule, backend and the decision's reasons.
    let routed = lines.iter().filter(|l| l["served"].is_object()).count();
    assert!(routed * 10 > lines.len() * 9, "{routed} of {}", lines.len());
    assert!(lines
        .iter()
        .filter(|l| l["served"].is_object())
        .all(|l| l["rule"].is_string()
            && l["backend"].is_string()
            && l["decision"]["explanation"].is_string()));
    let har: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&har).expect("HAR written")).expect("JSON");
    assert_eq!(har["log"]["version"], "1.2");
    assert_eq!(har["log"]["entries"].as_array().unwrap().len(), lines.len());
}

#[test]
fn tshark_lists_every_http_request() {
    let dir = scratch("http");
    let pcap = dir.join("client-side.pcap");
    let json = dir.join("report.json");
    lbsim_ok(&[
        "run",
        STANDARD,
        "--pcap",
        pcap.to_str().unwrap(),
        "--capture",
        "client",
        "--report",
        json.to_str().unwrap(),
        "--quiet",
    ]);
    let started = report(&json)["requests"]["started"].as_u64().unwrap();
    let listed = tshark(&pcap, &["http.request.method", "http.request.uri"]);
    let requests: Vec<&str> = listed.lines().filter(|l| *l != ",").collect();
    assert_eq!(requests.len() as u64, started);
    assert!(requests
        .iter()
        .all(|r| *r == "GET,/api/items" || *r == "POST,/api/orders"));
}

#[test]
fn run_prints_a_summary_and_the_report_has_the_same_figures() {
    let dir = scratch("summary");
    let json = dir.join("report.json");
    let out = lbsim_ok(&[
        "run",
        STANDARD,
        "--until",
        "3s",
        "--report",
        json.to_str().unwrap(),
    ]);
    let text = String::from_utf8(out.stdout).unwrap();
    let r = report(&json);
    let started = r["requests"]["started"].as_u64().unwrap();
    assert!(
        text.contains(&format!("requests: {started} started")),
        "{text}"
    );
    assert!(text.contains("latency: p50"), "{text}");
    for b in ["A", "B", "C", "D"] {
        assert!(
            text.contains(&format!("\n  {b:<10} 10.0.0.")),
            "backend {b} in {text}"
        );
    }
    assert_eq!(r["simulated"], "3s");
}

#[test]
fn same_run_twice_writes_the_same_report() {
    let dir = scratch("repeat");
    let (a, b) = (dir.join("a.json"), dir.join("b.json"));
    for p in [&a, &b] {
        lbsim_ok(&[
            "run",
            STANDARD,
            "--until",
            "2s",
            "--report",
            p.to_str().unwrap(),
            "--quiet",
        ]);
    }
    assert_eq!(std::fs::read(&a).unwrap(), std::fs::read(&b).unwrap());
}

#[test]
fn validate_names_every_problem_and_fails() {
    let dir = scratch("validate");
    let bad = dir.join("bad.json");
    std::fs::write(
        &bad,
        r#"{"version": 1, "duration": "10s",
            "backends": [{"name": "A", "address": "10.0.0.11", "weight": 0}]}"#,
    )
    .unwrap();
    let out = lbsim(&["validate", bad.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(
        err.contains("backends[0]") && err.contains("weight"),
        "{err}"
    );

    std::fs::write(
        &bad,
        r#"{"version": 1, "duration": "10s",
            "backends": [{"name": "A", "address": "10.0.0.11", "workers": 0},
                         {"name": "A", "address": "10.0.0.12"}]}"#,
    )
    .unwrap();
    let out = lbsim(&["validate", bad.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(
        err.contains("backends[0].workers must be between 1 and 1024"),
        "{err}"
    );
    assert!(
        err.contains("backends[1].name \"A\" is used twice"),
        "{err}"
    );

    let out = lbsim_ok(&["validate", STANDARD]);
    assert!(String::from_utf8(out.stdout)
        .unwrap()
        .contains("valid (4 backends"));
}

#[test]
fn a_missing_file_is_a_message_not_a_panic() {
    let out = lbsim(&["run", "/nonexistent/scenario.json"]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(
        err.starts_with("lbsim: cannot read /nonexistent/scenario.json"),
        "{err}"
    );
}

const L4: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../engine/scenarios/l4-nat.json"
);

#[test]
fn a_reader_that_goes_away_ends_the_output_quietly() {
    // `lbsim presets | head -1`: the reader closes the pipe before lbsim is done writing
    // (here before it writes at all, so that every write finds it gone).
    let (reader, writer) = std::io::pipe().expect("a pipe");
    drop(reader);
    let out = Command::new(env!("CARGO_BIN_EXE_lbsim"))
        .arg("presets")
        .stdout(writer)
        .output()
        .expect("lbsim runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "lbsim failed: {stderr}");
    assert!(stderr.is_empty(), "lbsim said: {stderr}");
}

/// (source, destination) of every TCP packet of a capture, with checksums checked.
fn tcp_endpoints(pcap: &Path) -> Vec<(String, String)> {
    tshark(
        pcap,
        &[
            "ip.src",
            "tcp.srcport",
            "ip.dst",
            "tcp.dstport",
            "ip.checksum.status",
            "tcp.checksum.status",
            "_ws.malformed",
        ],
    )
    .lines()
    .map(|line| {
        let c: Vec<&str> = line.split(',').collect();
        assert_eq!(
            (c[4], c[5], c[6]),
            ("1", "1", ""),
            "good checksums, not malformed: {line}"
        );
        (format!("{}:{}", c[0], c[1]), format!("{}:{}", c[2], c[3]))
    })
    .collect()
}

#[test]
fn tshark_sees_the_vip_on_the_client_side_and_backends_on_the_server_side() {
    let dir = scratch("l4");
    let (client_pcap, server_pcap) = (dir.join("client.pcap"), dir.join("server.pcap"));
    for (pcap, side) in [(&client_pcap, "client"), (&server_pcap, "server")] {
        lbsim_ok(&[
            "run",
            L4,
            "--pcap",
            pcap.to_str().unwrap(),
            "--capture",
            side,
            "--quiet",
        ]);
    }
    let vip = "203.0.113.10:80";
    let backends = [
        "10.0.0.11:80",
        "10.0.0.12:80",
        "10.0.0.13:80",
        "10.0.0.14:80",
    ];
    // Client side: every client talks to the VIP, never to a backend.
    let mut client_streams = std::collections::BTreeSet::new();
    for (src, dst) in tcp_endpoints(&client_pcap) {
        let (client, server) = if dst == vip { (src, dst) } else { (dst, src) };
        assert_eq!(server, vip, "client side addresses the VIP");
        client_streams.insert(client);
    }
    // Server side: the same client endpoints, now talking to backends (health probes come
    // from the balancer's inner address).
    let mut server_streams = std::collections::BTreeSet::new();
    for (src, dst) in tcp_endpoints(&server_pcap) {
        let (other, backend) = if backends.contains(&dst.as_str()) {
            (src, dst)
        } else {
            (dst, src)
        };
        assert!(
            backends.contains(&backend.as_str()),
            "server side addresses backends: {backend}"
        );
        if !other.starts_with("10.0.0.1:") {
            server_streams.insert(other);
        }
    }
    assert!(
        client_streams.len() > 9_000,
        "{} streams",
        client_streams.len()
    );
    let only_one_side: Vec<_> = client_streams
        .symmetric_difference(&server_streams)
        .take(10)
        .collect();
    assert!(
        only_one_side.is_empty(),
        "streams seen on one side only: {only_one_side:?}"
    );
}

const L7: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../engine/scenarios/l7.json");

#[test]
fn tshark_sees_two_connections_per_request_and_http_on_both_sides_of_the_proxy() {
    let dir = scratch("l7");
    let (client_pcap, server_pcap, json) = (
        dir.join("client.pcap"),
        dir.join("server.pcap"),
        dir.join("r.json"),
    );
    for (pcap, side) in [(&client_pcap, "client"), (&server_pcap, "server")] {
        lbsim_ok(&[
            "run",
            L7,
            "--until",
            "4s",
            "--pcap",
            pcap.to_str().unwrap(),
            "--capture",
            side,
            "--report",
            json.to_str().unwrap(),
            "--quiet",
        ]);
    }
    let r = report(&json);
    let started = r["requests"]["started"].as_u64().unwrap();
    let in_flight = r["requests"]["in_flight"].as_u64().unwrap();

    // Every packet well formed, on both sides; no expert errors (TLS included).
    for pcap in [&client_pcap, &server_pcap] {
        for line in tshark(
            pcap,
            &["ip.checksum.status", "tcp.checksum.status", "_ws.malformed"],
        )
        .lines()
        {
            assert_eq!(line, "1,1,", "{}: {line}", pcap.display());
        }
        let errors = tshark(pcap, &["_ws.expert.severity"])
            .lines()
            .filter(|l| {
                l.split(',')
                    .any(|s| s.parse::<u32>().is_ok_and(|v| v >= 0x00800000))
            })
            .count();
        assert_eq!(errors, 0, "expert errors in {}", pcap.display());
    }
    // Client side: one connection per request, to the VIP; plain requests decoded as HTTP,
    // the others' TLS handshakes dissected.
    let streams = |pcap: &Path, filter: &dyn Fn(&str) -> bool| {
        tshark(pcap, &["tcp.stream", "ip.src", "ip.dst", "tcp.dstport"])
            .lines()
            .filter(|l| filter(l))
            .map(|l| l.split(',').next().unwrap().to_string())
            .collect::<std::collections::BTreeSet<_>>()
            .len() as u64
    };
    let client_streams = streams(&client_pcap, &|_| true);
    assert!(
        client_streams >= started - in_flight && client_streams <= started,
        "{client_streams} streams for {started} requests"
    );
    let http_client = tshark(&client_pcap, &["http.request.uri"])
        .lines()
        .filter(|l| !l.is_empty())
        .count() as u64;
    let hellos = tshark(&client_pcap, &["tls.handshake.type"])
        .lines()
        .filter(|l| l.split(',').any(|t| t == "1"))
        .count() as u64;
    assert!(http_client > 0 && hellos > 0);
    assert!(http_client + hellos >= started - in_flight && http_client + hellos <= started);
    // Server side: a second connection per request, from the balancer's inner address, in
    // plain HTTP whatever the client spoke (health checks aside).
    let requests: Vec<String> = tshark(&server_pcap, &["ip.src", "http.request.uri"])
        .lines()
        .filter(|l| !l.ends_with(',') && !l.ends_with("/health"))
        .map(str::to_string)
        .collect();
    assert!(
        requests.iter().all(|l| l.starts_with("10.0.0.1,")),
        "from the inner address"
    );
    let proxied = requests.len() as u64;
    assert!(
        proxied >= started - in_flight && proxied <= started,
        "{proxied} of {started}"
    );
    let server_streams = streams(&server_pcap, &|_| true);
    let health = tshark(&server_pcap, &["http.request.uri"])
        .lines()
        .filter(|l| *l == "/health")
        .count() as u64;
    // Upstream connections are not kept alive (nginx's default): one per proxied request and
    // one per health check, give or take requests in flight when the capture stopped.
    assert!(
        server_streams >= proxied + health && server_streams <= proxied + health + in_flight,
        "{server_streams} server-side connections for {proxied} requests and {health} checks"
    );
}

/// `lbsim presets` output: (name, link) pairs.
fn preset_links() -> Vec<(String, String)> {
    let out = lbsim_ok(&["presets"]);
    let text = String::from_utf8(out.stdout).unwrap();
    let mut found = Vec::new();
    let mut name = None;
    for line in text.lines() {
        if !line.starts_with(' ') && !line.is_empty() {
            name = Some(line.to_string());
        } else if let Some((_, link)) = line.split_once("characters: #") {
            found.push((name.take().expect("a name line first"), link.to_string()));
        }
    }
    found
}

#[test]
fn presets_lists_every_preset_with_a_short_link_that_runs_like_the_preset() {
    let links = preset_links();
    assert_eq!(links.len(), 16, "{links:?}");
    for (name, link) in &links {
        assert!(link.len() < 2_000, "{name}'s link is {} long", link.len());
        assert!(link.starts_with(&format!("tc1.{name}.")), "{link}");
    }
    // A link, with the page's address in front, runs exactly like `--preset`.
    let (name, link) = &links[3];
    let dir = scratch("preset-link");
    let (a, b) = (dir.join("a.json"), dir.join("b.json"));
    let url = format!("http://127.0.0.1:8080/#{link}");
    for (source, out) in [(vec![url.as_str()], &a), (vec!["--preset", name], &b)] {
        let mut args = vec!["run", "--quiet", "--report", out.to_str().unwrap()];
        args.extend(source);
        lbsim_ok(&args);
    }
    assert_eq!(report(&a), report(&b));
    assert!(report(&a)["requests"]["started"].as_u64().unwrap() > 100);
}

#[test]
fn a_damaged_link_or_unknown_preset_is_a_clear_message() {
    let (name, link) = preset_links().remove(0);
    let damaged = format!("{}x{}", &link[..40], &link[41..]);
    let truncated = link[..link.len() / 2].to_string();
    let future = link.replacen("tc1.", "tc9.", 1);
    let (body, _) = link.rsplit_once('.').unwrap();
    let wrong_sum = format!("{body}.00000000");
    for (bad, expect) in [
        (damaged.as_str(), "damaged"),
        (wrong_sum.as_str(), "checksum does not match"),
        (truncated.as_str(), "cannot open the link"),
        (future.as_str(), "format \"tc9\""),
    ] {
        let out = lbsim(&["validate", bad]);
        assert!(!out.status.success(), "{bad} was accepted");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(expect), "{expect:?} not in {err}");
        assert!(
            err.contains(&format!("--preset {name}")),
            "the nearest scenario is named: {err}"
        );
        assert!(!err.contains("panicked"), "{err}");
    }
    let out = lbsim(&["validate", "--preset", "nope"]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("no preset is called \"nope\"") && err.contains("cart"),
        "{err}"
    );
}
