//! Downloads: the JSON report of the run so far, pcaps of either side of the balancer, and
//! every request of the run as an HTTP Archive (HAR 1.2, which browsers' developer tools
//! import). A pcap or a HAR is computed ahead: the scenario is replayed from zero with capture
//! or request records on (the engine is deterministic, so the replay is the same run), in
//! slices that yield to the page, with a progress bar.

use lbsim::records::{self, RequestLog};
use lbsim::report::Report;
use lbsim::rng::fnv1a64;
use lbsim::sim::World;
use lbsim::time::{Duration, Instant};
use lbsim::trace::CapturePoint;
use wasm_bindgen::JsCast;
use yew::prelude::*;

use crate::hooks::use_simulation::SimHandle;

/// Props of [`Downloads`].
#[derive(Properties, PartialEq)]
pub struct DownloadsProps {
    /// The simulation.
    pub sim: SimHandle,
}

/// Offers `bytes` to the user as a file.
pub fn save(name: &str, mime: &str, bytes: &[u8]) -> Result<(), String> {
    let fail = |e: wasm_bindgen::JsValue| format!("the browser refused the download: {e:?}");
    let array = js_sys::Uint8Array::from(bytes);
    let parts = js_sys::Array::of1(&array);
    let options = web_sys::BlobPropertyBag::new();
    options.set_type(mime);
    let blob =
        web_sys::Blob::new_with_u8_array_sequence_and_options(&parts, &options).map_err(fail)?;
    let url = web_sys::Url::create_object_url_with_blob(&blob).map_err(fail)?;
    let doc = web_sys::window()
        .and_then(|w| w.document())
        .ok_or("no document")?;
    let a: web_sys::HtmlAnchorElement = doc
        .create_element("a")
        .map_err(fail)?
        .dyn_into()
        .map_err(|_| "not an anchor".to_string())?;
    a.set_href(&url);
    a.set_download(name);
    a.click();
    web_sys::Url::revoke_object_url(&url).map_err(fail)?;
    Ok(())
}

/// What a replay computes.
#[derive(Clone, Copy)]
enum Replay {
    /// A pcap at this capture point (named by its side).
    Pcap(CapturePoint, &'static str),
    /// The HAR of every request.
    Har,
}

impl Replay {
    fn name(self) -> &'static str {
        match self {
            Replay::Pcap(_, "client") => "client-side capture",
            Replay::Pcap(..) => "server-side capture",
            Replay::Har => "HAR of every request",
        }
    }
}

/// The download buttons and the progress of a capture being computed.
#[function_component(Downloads)]
pub fn downloads(props: &DownloadsProps) -> Html {
    let progress = use_state(|| None::<(String, f64)>);
    let error = use_state(|| None::<String>);
    // The last file offered, as `name:bytes:FNV-1a hash` (the browser suites read it).
    let last = use_state(String::new);
    let report = {
        let sim = props.sim.clone();
        let error = error.clone();
        let last = last.clone();
        Callback::from(move |_: MouseEvent| {
            let json = Report::of(&sim.borrow().world).to_json();
            let name = "traffic-cop-report.json";
            error.set(save(name, "application/json", json.as_bytes()).err());
            last.set(format!(
                "{name}:{}:{:016x}",
                json.len(),
                fnv1a64(json.as_bytes())
            ));
        })
    };
    // A pcap of one side, or the HAR of every request: replayed to the time shown.
    let replay = |what: Replay| {
        let sim = props.sim.clone();
        let progress = progress.clone();
        let error = error.clone();
        let last = last.clone();
        Callback::from(move |_: MouseEvent| {
            if progress.is_some() {
                return;
            }
            let (scenario, until) = {
                let s = sim.borrow();
                (s.scenario().clone(), s.world.now())
            };
            let progress = progress.clone();
            let error = error.clone();
            let last = last.clone();
            yew::platform::spawn_local(async move {
                let mut w = World::with_trace_capacity(&scenario, 65_536);
                let mut log = RequestLog::new();
                if let Replay::Pcap(point, _) = what {
                    w.start_capture(point);
                }
                let perf = web_sys::window().and_then(|w| w.performance());
                let clock = || perf.as_ref().map_or(0.0, |p| p.now());
                let label = format!("Computing the {} to {until}", what.name());
                while w.now() < until {
                    let started = clock();
                    while w.now() < until && clock() - started < 30.0 {
                        let next = (w.now() + Duration::from_millis(10)).min(until);
                        match what {
                            Replay::Pcap(..) => w.run_until(next),
                            Replay::Har => records::run_until(&mut w, next, &mut log),
                        }
                    }
                    let done = w.now().as_micros() as f64 / until.as_micros().max(1) as f64;
                    progress.set(Some((label.clone(), done)));
                    gloo_timers::future::TimeoutFuture::new(0).await;
                }
                let (name, mime, bytes) = match what {
                    Replay::Pcap(_, side) => (
                        format!("traffic-cop-{side}.pcap"),
                        "application/vnd.tcpdump.pcap",
                        w.take_capture_bytes(),
                    ),
                    Replay::Har => {
                        // The run is dated as if it ended now.
                        let now_ms = js_sys::Date::now() as u64;
                        let epoch = now_ms.saturating_sub(until.as_micros() / 1000);
                        let har = records::har::to_har(&log.records(&w), epoch);
                        (
                            "traffic-cop.har".to_string(),
                            "application/json",
                            har.into_bytes(),
                        )
                    }
                };
                error.set(save(&name, mime, &bytes).err());
                last.set(format!("{name}:{}:{:016x}", bytes.len(), fnv1a64(&bytes)));
                progress.set(None);
            });
        })
    };
    let at_zero = props.sim.borrow().world.now() == Instant::ZERO;
    html! {
        <div class="tc-downloads" data-testid="downloads" data-last={(*last).clone()}>
            <span class="tc-muted">{ "Download:" }</span>
            <button onclick={report} data-testid="download-report" title="The report of the run so far, as JSON">{ "Report" }</button>
            <button onclick={replay(Replay::Pcap(CapturePoint::ClientSide, "client"))} disabled={at_zero || progress.is_some()}
                data-testid="download-pcap-client" title="Packets between the clients and the balancer, for Wireshark">{ "pcap: client side" }</button>
            <button onclick={replay(Replay::Pcap(CapturePoint::ServerSide, "server"))} disabled={at_zero || progress.is_some()}
                data-testid="download-pcap-server" title="Packets between the balancer and the backends, for Wireshark">{ "pcap: server side" }</button>
            <button onclick={replay(Replay::Har)} disabled={at_zero || progress.is_some()}
                data-testid="download-har" title="Every request of the run as an HTTP Archive (HAR 1.2), for the browser's developer tools">{ "HAR" }</button>
            if let Some((label, done)) = &*progress {
                <span role="status" data-testid="download-progress">
                    { label }{ " " }<progress max="1" value={done.to_string()}></progress>
                    { format!(" {:.0} %", done * 100.0) }
                </span>
            }
            if let Some(e) = &*error {
                <span class="tc-field-error" role="alert">{ e }</span>
            }
        </div>
    }
}
