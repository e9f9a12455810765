//! `lbsim`: runs Traffic Cop scenarios headless.
//!
//! ```text
//! lbsim run <scenario.json> [--until <dur>] [--pcap <file>] [--capture client|server|both]
//!                           [--report <file>] [--quiet]
//! lbsim send <scenario.json> --request-file <file> [--at <dur>]
//! lbsim validate <scenario.json>
//! ```
//!
//! `run` prints a summary (requests by outcome, latency percentiles, per-backend counts,
//! packets) and can write the same figures as JSON and a pcap of the chosen links. Runs that
//! take longer than a second of wall time show a progress bar on stderr.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};
use indicatif::{ProgressBar, ProgressStyle};
use lbsim::ids::HostId;
use lbsim::report::Report;
use lbsim::scenario::Scenario;
use lbsim::sim::World;
use lbsim::time::{Duration, Instant};
use lbsim::trace::{CapturePoint, Event};

#[derive(Parser)]
#[command(
    name = "lbsim",
    version,
    about = "Runs Traffic Cop load-balancer scenarios headless"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Runs a scenario and reports what happened.
    Run {
        /// Scenario file (JSON).
        scenario: PathBuf,
        /// Simulated time to run to, such as 30s (default: the scenario's duration plus time
        /// for requests in flight to end).
        #[arg(long, value_parser = parse_duration)]
        until: Option<Duration>,
        /// Writes a pcap (link type raw IPv4) of the captured links.
        #[arg(long)]
        pcap: Option<PathBuf>,
        /// Which links the pcap taps.
        #[arg(long, value_enum, default_value_t = Capture::Both)]
        capture: Capture,
        /// Writes the report as JSON.
        #[arg(long)]
        report: Option<PathBuf>,
        /// Prints nothing on stdout.
        #[arg(long)]
        quiet: bool,
    },
    /// Sends one raw HTTP request through the scenario's balancer and shows what happened.
    Send {
        /// Scenario file (JSON).
        scenario: PathBuf,
        /// The request bytes, sent exactly as written (`-` reads standard input).
        #[arg(long)]
        request_file: PathBuf,
        /// Simulated time at which to send it, after the scenario has warmed up.
        #[arg(long, value_parser = parse_duration, default_value = "1s")]
        at: Duration,
    },
    /// Checks a scenario and prints every problem found.
    Validate {
        /// Scenario file (JSON).
        scenario: PathBuf,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum Capture {
    /// Links between clients and the balancer.
    Client,
    /// Links between the balancer and the backends.
    Server,
    /// Every link.
    Both,
}

impl From<Capture> for CapturePoint {
    fn from(c: Capture) -> Self {
        match c {
            Capture::Client => CapturePoint::ClientSide,
            Capture::Server => CapturePoint::ServerSide,
            Capture::Both => CapturePoint::Both,
        }
    }
}

fn parse_duration(text: &str) -> Result<Duration, String> {
    Duration::parse(text).map_err(|e| e.to_string())
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Run {
            scenario,
            until,
            pcap,
            capture,
            report,
            quiet,
        } => run(
            &scenario,
            until,
            pcap.as_deref(),
            capture.into(),
            report.as_deref(),
            quiet,
        ),
        Command::Validate { scenario } => validate(&scenario),
        Command::Send {
            scenario,
            request_file,
            at,
        } => send(&scenario, &request_file, at),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("lbsim: {message}");
            ExitCode::FAILURE
        }
    }
}

fn load(path: &Path) -> Result<Scenario, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    Scenario::from_json(&text)
        .map_err(|e| format!("{} is not a valid scenario:\n{e}", path.display()))
}

fn validate(path: &Path) -> Result<(), String> {
    let scenario = load(path)?;
    println!(
        "{}: valid ({} backends, {} client groups, {} player groups, {} simulated)",
        path.display(),
        scenario.backends.len(),
        scenario.clients.len(),
        scenario.players.len(),
        scenario.duration
    );
    Ok(())
}

fn send(path: &Path, request_file: &Path, at: Duration) -> Result<(), String> {
    let scenario = load(path)?;
    let bytes = if request_file == Path::new("-") {
        let mut b = Vec::new();
        std::io::Read::read_to_end(&mut std::io::stdin(), &mut b)
            .map_err(|e| format!("cannot read the request from standard input: {e}"))?;
        b
    } else {
        std::fs::read(request_file)
            .map_err(|e| format!("cannot read {}: {e}", request_file.display()))?
    };
    if bytes.is_empty() {
        return Err("the request is empty".to_string());
    }
    let mut world = World::new(&scenario);
    world.run_until(Instant::ZERO + at);
    let since = world.trace().next_seq();
    let (composer, id) = world.send_raw(bytes.clone());
    let address = world.hosts()[composer.index()].address;
    let deadline = world.now() + Duration::from_secs(15);
    while world.raw_result(composer, id).is_none() && world.now() < deadline {
        let next = world.now() + Duration::from_millis(10);
        world.run_until(next);
    }
    let first_line = String::from_utf8_lossy(bytes.split(|&b| b == b'\n').next().unwrap_or(&[]))
        .trim_end()
        .to_string();
    println!(
        "request:  {first_line:?} ({} bytes) from {address} to {}:{}",
        bytes.len(),
        scenario.balancer.vip,
        scenario.balancer.port
    );
    let hosts = world.hosts();
    let name = |h: HostId| hosts[h.index()].name.clone();
    for r in world.trace().since(since) {
        match &r.event {
            Event::Decision {
                client,
                backend,
                explanation,
                ..
            } if *client.ip() == address => {
                let chosen = backend.map_or("none".to_string(), name);
                println!("decision: {explanation} (backend {chosen})");
            }
            Event::ProxyRequest {
                client, rule, pool, ..
            } if *client.ip() == address => {
                let rule = rule.map_or("no rule (default pool)".to_string(), |r| {
                    format!("rule {r}")
                });
                println!("route:    {rule} → pool {pool}");
            }
            _ => {}
        }
    }
    match world.raw_result(composer, id) {
        None => println!("response: none within 15 s"),
        Some(r) => match &r.response {
            Some(resp) => {
                let from = resp
                    .headers
                    .get("x-backend")
                    .map_or("the balancer itself".to_string(), |b| {
                        format!("backend {b}")
                    });
                println!(
                    "response: HTTP/1.{} {} {} — from {from}, after {}",
                    resp.version, resp.status, resp.reason, r.latency
                );
                let body = String::from_utf8_lossy(&resp.body);
                if resp.status >= 400 && !body.trim().is_empty() {
                    println!("          {}", body.trim());
                }
            }
            None => println!("response: none ({}) after {}", r.outcome.name(), r.latency),
        },
    }
    Ok(())
}

fn create(path: &Path) -> Result<BufWriter<File>, String> {
    File::create(path)
        .map(BufWriter::new)
        .map_err(|e| format!("cannot create {}: {e}", path.display()))
}

fn run(
    path: &Path,
    until: Option<Duration>,
    pcap: Option<&Path>,
    capture: CapturePoint,
    report_path: Option<&Path>,
    quiet: bool,
) -> Result<(), String> {
    let scenario = load(path)?;
    // The CLI keeps a small ring: it reports from metrics, not from the event list.
    let mut world = World::with_trace_capacity(&scenario, 1024);
    let end = until.map_or(world.settle_time(), |d| Instant::ZERO + d);
    let mut pcap_out = match pcap {
        Some(p) => {
            world.start_capture(capture);
            Some((create(p)?, p))
        }
        None => None,
    };

    let started = std::time::Instant::now();
    let mut bar: Option<ProgressBar> = None;
    let total = end.as_micros().max(1);
    let chunk = (total / 200).max(1);
    let mut t = 0;
    while t < total {
        t = (t + chunk).min(total);
        world.run_until(Instant::from_micros(t));
        if let Some((out, p)) = pcap_out.as_mut() {
            out.write_all(&world.take_capture_bytes())
                .map_err(|e| format!("cannot write {}: {e}", p.display()))?;
        }
        if bar.is_none() && started.elapsed() > std::time::Duration::from_secs(1) {
            let b = ProgressBar::new(total);
            b.set_style(
                ProgressStyle::with_template(
                    "{bar:40} {percent:>3}% of simulated time, {elapsed} elapsed, {eta} left",
                )
                .expect("valid template"),
            );
            bar = Some(b);
        }
        if let Some(b) = &bar {
            b.set_position(t);
        }
    }
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    if let Some((mut out, p)) = pcap_out {
        out.flush()
            .map_err(|e| format!("cannot write {}: {e}", p.display()))?;
    }

    let report = Report::of(&world);
    if let Some(p) = report_path {
        let mut out = create(p)?;
        out.write_all(report.to_json().as_bytes())
            .and_then(|()| out.write_all(b"\n"))
            .and_then(|()| out.flush())
            .map_err(|e| format!("cannot write {}: {e}", p.display()))?;
    }
    if !quiet {
        print!("{}", report.to_text());
    }
    Ok(())
}
