//! The request composer: type a raw HTTP request, send it through the balancer at the current
//! time, and see how it parses, which rule and backend it gets, and the answer (or the 4xx it
//! earns and why).

use lbsim::http::{Limits, Progress, RequestParser};
use lbsim::ids::{HostId, RequestId};
use lbsim::time::Duration;
use web_sys::HtmlTextAreaElement;
use yew::prelude::*;

use crate::hooks::use_simulation::SimHandle;
use crate::state::{Action, Selection, UiState};

/// Props of [`Composer`].
#[derive(Properties, PartialEq)]
pub struct ComposerProps {
    /// The simulation.
    pub sim: SimHandle,
    /// The UI state.
    pub ui: UseReducerHandle<UiState>,
    /// Re-renders after a change.
    pub refresh: Callback<()>,
}

/// What the composer starts with.
pub const EXAMPLE: &str =
    "GET /api/items?page=2 HTTP/1.1\nHost: shop.example\nUser-Agent: traffic-cop\nAccept: */*\n\n";

/// The typed text as wire bytes: lines end in CRLF, as HTTP requires (a lone LF is what a
/// text box gives).
pub fn to_wire(text: &str) -> Vec<u8> {
    text.replace("\r\n", "\n")
        .replace('\n', "\r\n")
        .into_bytes()
}

/// How the engine's parser reads the bytes, in words.
pub fn parse_preview(bytes: &[u8]) -> Result<String, String> {
    let mut p = RequestParser::new(Limits::default());
    match p.feed(bytes) {
        Ok(Progress::Complete(r, used)) => Ok(format!(
            "{} {} HTTP/1.{} · {} header fields · {} body bytes{}",
            r.method,
            r.target,
            r.version,
            r.headers.len(),
            r.body.len(),
            if used < bytes.len() {
                format!(" · {} bytes after it", bytes.len() - used)
            } else {
                String::new()
            }
        )),
        Ok(Progress::Partial) => Err(
            "incomplete: the head must end with an empty line (and the body match Content-Length)"
                .into(),
        ),
        Err(e) => Err(format!("{e}")),
    }
}

/// The composer.
#[function_component(Composer)]
pub fn composer(props: &ComposerProps) -> Html {
    let text = use_state(|| EXAMPLE.to_string());
    let sent = use_state(|| None::<(HostId, RequestId)>);
    let bytes = to_wire(&text);
    let preview = parse_preview(&bytes);
    let oninput = {
        let text = text.clone();
        Callback::from(move |e: InputEvent| {
            text.set(e.target_unchecked_into::<HtmlTextAreaElement>().value())
        })
    };
    let send = {
        let sim = props.sim.clone();
        let sent = sent.clone();
        let ui = props.ui.clone();
        let refresh = props.refresh.clone();
        let bytes = bytes.clone();
        Callback::from(move |_: MouseEvent| {
            if bytes.is_empty() {
                return;
            }
            let (host, id) = {
                let mut guard = sim.borrow_mut();
                let s = &mut *guard;
                let (host, id) = s.world.send_raw(bytes.clone());
                // Run until it ends (at most the composer's 10 s timeout and a little), so
                // the answer shows at once even while paused.
                let deadline = s.world.now() + Duration::from_secs(12);
                while s.world.raw_result(host, id).is_none() && s.world.now() < deadline {
                    let next = s.world.now() + Duration::from_millis(5);
                    s.world.run_until(next);
                }
                s.caught_up();
                (host, id)
            };
            sent.set(Some((host, id)));
            ui.dispatch(Action::Select(Selection::None));
            refresh.emit(());
        })
    };
    let result = sent.and_then(|(host, id)| {
        let s = props.sim.borrow();
        let r = s.world.raw_result(host, id)?.clone();
        Some((id, r))
    });
    let show_story = {
        let ui = props.ui.clone();
        let id = result.as_ref().map(|(id, _)| *id);
        Callback::from(move |_: MouseEvent| {
            if let Some(id) = id {
                ui.dispatch(Action::Select(Selection::Request(id)));
            }
        })
    };
    html! {
        <div class="tc-composer tc-pad" data-testid="composer">
            <h2 class="tc-h2">{ "Send a request" }</h2>
            <p class="tc-muted">{ "Sent exactly as typed (lines end in CRLF), from a new client, to the virtual IP." }</p>
            <textarea rows="8" spellcheck="false" value={(*text).clone()} {oninput} data-testid="compose-text"
                aria-label="Raw HTTP request" aria-invalid={preview.is_err().to_string()} />
            <p class={if preview.is_ok() { "tc-parse ok" } else { "tc-parse bad" }} data-testid="compose-parse">
                { match &preview { Ok(t) => format!("Parses: {t}"), Err(e) => format!("The balancer's parser will reject this: {e}") } }
            </p>
            <button onclick={send} disabled={bytes.is_empty()} data-testid="compose-send">{ "Send through the balancer" }</button>
            if let Some((id, r)) = result {
                <section class="tc-compose-result" data-testid="compose-result">
                    <h3 class="tc-h3">{ format!("Request {id}: {}", r.outcome.name()) }</h3>
                    if let Some(resp) = &r.response {
                        <p data-testid="compose-status"><strong>{ format!("{} {}", resp.status, resp.reason) }</strong>
                            { format!(" after {}", r.latency) }</p>
                        if let Some(b) = resp.headers.get("x-backend") {
                            <p>{ "Served by " }<strong>{ b }</strong></p>
                        }
                        <pre class="tc-body">{ String::from_utf8_lossy(&resp.body[..resp.body.len().min(600)]).into_owned() }</pre>
                    } else {
                        <p>{ format!("No response: {} after {}", r.outcome.name(), r.latency) }</p>
                    }
                    <button onclick={show_story}>{ "Show its waterfall" }</button>
                </section>
            }
        </div>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typed_lines_become_crlf_and_the_preview_reads_them() {
        assert_eq!(
            to_wire("GET / HTTP/1.1\nHost: a\n\n"),
            b"GET / HTTP/1.1\r\nHost: a\r\n\r\n"
        );
        assert!(parse_preview(&to_wire(EXAMPLE))
            .unwrap()
            .starts_with("GET /api/items?page=2 HTTP/1.1"));
        assert!(
            parse_preview(b"GET / HTTP/1.1\r\nHost: a\r\n").is_err(),
            "no blank line"
        );
        let bad = parse_preview(&to_wire("GET /\x01 HTTP/1.1\n\n")).unwrap_err();
        assert!(bad.contains("400"), "{bad}");
    }
}
