//! Light and dark: the page follows the system's `prefers-color-scheme` until the toggle
//! chooses one, which local storage keeps. The choice is the root element's `data-theme`
//! attribute, which the stylesheet and the canvas both read; an embed link may ask for one
//! (`theme=dark`) without storing it.

/// Local-storage key of the chosen theme.
pub const THEME_KEY: &str = "traffic-cop/theme";

fn root() -> Option<web_sys::Element> {
    web_sys::window()?.document()?.document_element()
}

fn storage() -> Option<web_sys::Storage> {
    web_sys::window()?.local_storage().ok()?
}

/// Whether the page is dark now (chosen, or the system's).
pub fn is_dark() -> bool {
    match root()
        .and_then(|r| r.get_attribute("data-theme"))
        .as_deref()
    {
        Some("dark") => true,
        Some("light") => false,
        _ => web_sys::window()
            .and_then(|w| w.match_media("(prefers-color-scheme: dark)").ok().flatten())
            .is_some_and(|m| m.matches()),
    }
}

/// Shows `theme` ("dark" or "light"; anything else: the system's).
pub fn show(theme: Option<&str>) {
    if let Some(r) = root() {
        match theme {
            Some(t @ ("dark" | "light")) => {
                let _ = r.set_attribute("data-theme", t);
            }
            _ => {
                let _ = r.remove_attribute("data-theme");
            }
        }
    }
}

/// Shows the stored choice, if any.
pub fn restore() {
    let stored = storage().and_then(|s| s.get_item(THEME_KEY).ok().flatten());
    show(stored.as_deref());
}

/// Switches between light and dark and keeps the choice.
pub fn toggle() {
    let next = if is_dark() { "light" } else { "dark" };
    show(Some(next));
    if let Some(s) = storage() {
        let _ = s.set_item(THEME_KEY, next);
    }
}
