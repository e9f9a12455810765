//! The keyboard help.

use yew::prelude::*;

/// Every shortcut, with what it does.
pub const SHORTCUTS: [(&str, &str); 13] = [
    ("Space", "play or pause"),
    (".", "process exactly one event"),
    (",", "go back one event"),
    ("n", "run to the next packet"),
    ("r", "run to the next request"),
    ("+ / -", "faster / slower"),
    ("v", "draw packets, requests, or choose by speed (auto)"),
    ("← / →", "on the time bar: move back / forward in time"),
    ("0", "restart from time zero"),
    ("l", "open the lessons"),
    (
        "1–9, Enter",
        "in a lesson's quiz: choose an answer, then answer",
    ),
    ("?", "show this help"),
    ("Esc", "close this help, clear the selection"),
];

/// Props of [`Help`].
#[derive(Properties, PartialEq)]
pub struct HelpProps {
    /// Closes the help.
    pub on_close: Callback<()>,
}

/// The help dialog.
#[function_component(Help)]
pub fn help(props: &HelpProps) -> Html {
    let close = props.on_close.reform(|_: MouseEvent| ());
    html! {
        <div class="tc-dialog" role="dialog" aria-modal="true" aria-label="Keyboard shortcuts" data-testid="help">
            <h2 class="tc-h2">{ "Keyboard shortcuts" }</h2>
            <dl class="tc-keys">
                { for SHORTCUTS.iter().map(|(k, what)| html! { <><dt><kbd>{ *k }</kbd></dt><dd>{ *what }</dd></> }) }
            </dl>
            <p class="tc-muted">{ "Packets: ◆ handshake/close, ● data, ▲ UDP, ■ health probe, ◎ rewritten by the balancer, ✕ lost. \
                A crowded link shows a stream with its count." }</p>
            <button onclick={close} autofocus=true>{ "Close" }</button>
        </div>
    }
}
