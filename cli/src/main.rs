//! `lbsim`: runs Traffic Cop scenarios headless.
//!
//! ```text
//! lbsim run <scenario.json> [--until <dur>] [--pcap <file>] [--capture client|server|both]
//!                           [--report <file>] [--requests <file>] [--har <file>] [--quiet]
//! lbsim send <scenario.json> --request-file <file> [--at <dur>]
//! lbsim validate <scenario.json>
//! lbsim presets
//! ```
//!
//! Wherever a scenario file is accepted, a share link (`tc1....`) or `--preset <name>` is too.
//!
//! `run` prints a summary (requests by outcome, latency percentiles, per-backend counts,
//! packets) and can write the same figures as JSON, a pcap of the chosen links, every request
//! as a JSON line (`--requests`) and the run as a HAR 1.2 file (`--har`). Runs that take
//! longer than a second of wall time show a progress bar on stderr.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};
use indicatif::{ProgressBar, ProgressStyle};
use lbsim::ids::HostId;
use lbsim::records::{self, RequestLog};
use lbsim::report::Report;
use lbsim::scenario::{link, Scenario};
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
        #[command(flatten)]
        scenario: ScenarioArg,
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
        /// Writes every request as one line of JSON: client address and port, backend, the
        /// balancer's decision and why, rule, timings, outcome.
        #[arg(long)]
        requests: Option<PathBuf>,
        /// Writes the run as an HTTP Archive (HAR 1.2), one entry per request; simulated time
        /// counts from 1970-01-01T00:00:00Z.
        #[arg(long)]
        har: Option<PathBuf>,
        /// Prints nothing on stdout.
        #[arg(long)]
        quiet: bool,
    },
    /// Sends one raw HTTP request through the scenario's balancer and shows what happened.
    Send {
        #[command(flatten)]
        scenario: ScenarioArg,
        /// The request bytes, sent exactly as written (`-` reads standard input).
        #[arg(long)]
        request_file: PathBuf,
        /// Simulated time at which to send it, after the scenario has warmed up.
        #[arg(long, value_parser = parse_duration, default_value = "1s")]
        at: Duration,
    },
    /// Lists the presets: name, title and share link.
    Presets,
    /// Checks a scenario and prints every problem found.
    Validate {
        #[command(flatten)]
        scenario: ScenarioArg,
    },
}

/// Where a scenario comes from: a file, a share link, or a preset.
#[derive(clap::Args)]
#[group(required = true, multiple = false)]
struct ScenarioArg {
    /// Scenario file (JSON), or a share link (`tc1....`, with or without the page's address).
    scenario: Option<String>,
    /// A preset, by name (`lbsim presets` lists them).
    #[arg(long)]
    preset: Option<String>,
}

impl ScenarioArg {
    fn describe(&self) -> String {
        match (&self.scenario, &self.preset) {
            (_, Some(p)) => format!("preset {p}"),
            (Some(s), None) if is_link(s) => "the link".to_string(),
            (Some(s), None) => s.clone(),
            (None, None) => unreachable!("clap requires one"),
        }
    }
}

fn is_link(text: &str) -> bool {
    let fragment = text.rsplit_once('#').map_or(text, |(_, f)| f);
    fragment.starts_with("tc") && fragment.contains('.') && !std::path::Path::new(text).exists()
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

/// Writes a line to standard output, like `println!`, but ends the program quietly (success)
/// when the reader has gone away (`lbsim presets | head`): there is no one left to tell.
macro_rules! say {
    ($($arg:tt)*) => {
        say_raw(format_args!("{}\n", format_args!($($arg)*)))
    };
}

/// Writes to standard output; see [`say!`].
fn say_raw(args: std::fmt::Arguments<'_>) {
    let mut out = std::io::stdout().lock();
    match out.write_fmt(args).and_then(|()| out.flush()) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => std::process::exit(0),
        Err(e) => {
            eprintln!("lbsim: cannot write to standard output: {e}");
            std::process::exit(1)
        }
    }
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
            requests,
            har,
            quiet,
        } => run(
            &scenario,
            until,
            Outputs {
                pcap: pcap.as_deref(),
                capture: capture.into(),
                report: report.as_deref(),
                requests: requests.as_deref(),
                har: har.as_deref(),
            },
            quiet,
        ),
        Command::Validate { scenario } => validate(&scenario),
        Command::Presets => {
            presets();
            Ok(())
        }
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

fn load(arg: &ScenarioArg) -> Result<Scenario, String> {
    if let Some(name) = &arg.preset {
        return lbsim::presets::get(name)
            .map(|p| p.scenario)
            .ok_or_else(|| {
                let names: Vec<&str> = lbsim::presets::names().collect();
                format!(
                    "no preset is called {name:?}; the presets are {}",
                    names.join(", ")
                )
            });
    }
    let text = arg
        .scenario
        .as_deref()
        .expect("clap requires a scenario or a preset");
    if is_link(text) {
        return link::decode(text).map(|s| s.scenario).map_err(|e| {
            let fallback = match link::preset_name(text).and_then(|n| lbsim::presets::get(&n)) {
                Some(p) => format!(
                    " It names the preset {:?}: `--preset {}` runs that.",
                    p.name, p.name
                ),
                None => String::new(),
            };
            format!("cannot open the link: {e}.{fallback}")
        });
    }
    let path = Path::new(text);
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    Scenario::from_json(&text)
        .map_err(|e| format!("{} is not a valid scenario:\n{e}", path.display()))
}

fn presets() {
    for p in lbsim::presets::all() {
        let link = p.link();
        say!(
            "{}\n  {}\n  {} characters: #{link}\n",
            p.name,
            p.title,
            link.len()
        );
    }
}

fn validate(arg: &ScenarioArg) -> Result<(), String> {
    let scenario = load(arg)?;
    say!(
        "{}: valid ({} backends, {} client groups, {} player groups, {} simulated)",
        arg.describe(),
        scenario.backends.len(),
        scenario.clients.len(),
        scenario.players.len(),
        scenario.duration
    );
    Ok(())
}

fn send(path: &ScenarioArg, request_file: &Path, at: Duration) -> Result<(), String> {
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
    say!(
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
                say!("decision: {explanation} (backend {chosen})");
            }
            Event::ProxyRequest { client, route, .. } if *client.ip() == address => {
                let pool = &route.pool;
                let rule = route
                    .rule
                    .map_or("no rule (default pool)".to_string(), |r| {
                        format!("rule {r}")
                    });
                say!("route:    {rule} → pool {pool}");
            }
            _ => {}
        }
    }
    match world.raw_result(composer, id) {
        None => say!("response: none within 15 s"),
        Some(r) => match &r.response {
            Some(resp) => {
                let from = resp
                    .headers
                    .get("x-backend")
                    .map_or("the balancer itself".to_string(), |b| {
                        format!("backend {b}")
                    });
                say!(
                    "response: HTTP/1.{} {} {} — from {from}, after {}",
                    resp.version,
                    resp.status,
                    resp.reason,
                    r.latency
                );
                let body = String::from_utf8_lossy(&resp.body);
                if resp.status >= 400 && !body.trim().is_empty() {
                    say!("          {}", body.trim());
                }
            }
            None => say!("response: none ({}) after {}", r.outcome.name(), r.latency),
        },
    }
    Ok(())
}

fn create(path: &Path) -> Result<BufWriter<File>, String> {
    File::create(path)
        .map(BufWriter::new)
        .map_err(|e| format!("cannot create {}: {e}", path.display()))
}

/// What `run` writes besides its summary.
struct Outputs<'a> {
    pcap: Option<&'a Path>,
    capture: CapturePoint,
    report: Option<&'a Path>,
    requests: Option<&'a Path>,
    har: Option<&'a Path>,
}

fn write_file(path: &Path, bytes: &[u8]) -> Result<(), String> {
    let mut out = create(path)?;
    out.write_all(bytes)
        .and_then(|()| out.flush())
        .map_err(|e| format!("cannot write {}: {e}", path.display()))
}

fn run(
    path: &ScenarioArg,
    until: Option<Duration>,
    outputs: Outputs<'_>,
    quiet: bool,
) -> Result<(), String> {
    let scenario = load(path)?;
    // The CLI keeps a small ring: it reports from metrics, not from the event list. Request
    // records are read from the ring as the world runs, before it drops anything.
    let mut log = (outputs.requests.is_some() || outputs.har.is_some()).then(RequestLog::new);
    let capacity = if log.is_some() { 65_536 } else { 1024 };
    let mut world = World::with_trace_capacity(&scenario, capacity);
    let end = until.map_or(world.settle_time(), |d| Instant::ZERO + d);
    let mut pcap_out = match outputs.pcap {
        Some(p) => {
            world.start_capture(outputs.capture);
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
        match log.as_mut() {
            Some(log) => records::run_until(&mut world, Instant::from_micros(t), log),
            None => world.run_until(Instant::from_micros(t)),
        }
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
    if let Some(p) = outputs.report {
        write_file(p, format!("{}\n", report.to_json()).as_bytes())?;
    }
    if let Some(log) = &log {
        if log.missed() > 0 {
            eprintln!(
                "lbsim: {} trace records were dropped before they were read; some request records lack steps",
                log.missed()
            );
        }
        let recs = log.records(&world);
        if let Some(p) = outputs.requests {
            let mut text = String::new();
            for r in &recs {
                text.push_str(&r.to_line());
                text.push('\n');
            }
            write_file(p, text.as_bytes())?;
        }
        if let Some(p) = outputs.har {
            write_file(
                p,
                format!("{}\n", records::har::to_har(&recs, 0)).as_bytes(),
            )?;
        }
    }
    if !quiet {
        say_raw(format_args!("{}", report.to_text()));
    }
    Ok(())
}
