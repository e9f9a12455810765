//! The page frame's header: the product name, the notice line and the share button.

use yew::prelude::*;

use crate::state::Notice;

/// Props of [`Header`].
#[derive(Properties, PartialEq)]
pub struct HeaderProps {
    /// The message to show, if any.
    pub notice: Option<Notice>,
    /// Copies the share link.
    pub on_share: Callback<()>,
    /// Dismisses the notice.
    pub on_dismiss: Callback<()>,
    /// Restores the work saved in this browser.
    pub on_restore: Callback<()>,
    /// Switches between light and dark.
    pub on_theme: Callback<()>,
    /// More tools for the bar (downloads).
    #[prop_or_default]
    pub children: Html,
}

/// The top bar.
#[function_component(Header)]
pub fn header(props: &HeaderProps) -> Html {
    let share = props.on_share.reform(|_: MouseEvent| ());
    let dismiss = props.on_dismiss.reform(|_: MouseEvent| ());
    let restore = props.on_restore.reform(|_: MouseEvent| ());
    let theme = props.on_theme.reform(|_: MouseEvent| ());
    let dark = crate::app_theme_is_dark();
    html! {
        <header class="tc-header" role="banner">
            <h1 class="tc-title">{ "Traffic Cop" }</h1>
            <p class="tc-tagline">{ "A load-balancer playground on real packets" }</p>
            if let Some(n) = &props.notice {
                <div class="tc-notice" role="status" data-testid="notice">
                    <span>{ &n.text }</span>
                    if n.can_restore {
                        <button onclick={restore} data-testid="restore">{ "Restore my previous work" }</button>
                    }
                    <button onclick={dismiss} aria-label="Dismiss">{ "×" }</button>
                </div>
            }
            <div class="tc-header-tools">{ props.children.clone() }</div>
            <button class="tc-theme" onclick={theme} data-testid="theme"
                aria-label={ if dark { "Switch to the light theme" } else { "Switch to the dark theme" } }
                title={ if dark { "Light theme" } else { "Dark theme" } }>
                { if dark { "☀" } else { "☾" } }
            </button>
            <button class="tc-share" onclick={share} data-testid="share"
                title="Copy a link to this scenario, its time position and selection">
                { "Share" }
            </button>
        </header>
    }
}
