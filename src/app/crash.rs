//! When the app hits a bug anyway: a message with a reload button instead of a silent dead
//! page. The work is safe: only valid scenarios are ever saved (see `persistence`), so
//! reloading opens the last valid work.

/// Installs a panic hook that logs the panic and shows a message with a reload button: the
/// work is in local storage, so reloading loses nothing.
///
/// Through Yew's `set_custom_panic_hook`: a hook set with `std::panic::set_hook` alone is
/// replaced by Yew's default (console only) as soon as the app renders, which is why a bug once
/// left a dead page without a word.
pub fn install_panic_hook() {
    yew::set_custom_panic_hook(Box::new(|info| {
        console_error_panic_hook::hook(info);
        let Some(doc) = web_sys::window().and_then(|w| w.document()) else {
            return;
        };
        if doc.get_element_by_id("tc-crash").is_some() {
            return;
        }
        if let (Ok(el), Some(body)) = (doc.create_element("div"), doc.body()) {
            el.set_id("tc-crash");
            el.set_attribute("role", "alert").ok();
            el.set_class_name("tc-crash");
            el.set_inner_html(
                "<h2>Traffic Cop hit a bug and stopped.</h2>\
                 <p>Your scenario is saved in this browser. Reloading the page restores it.</p>\
                 <button onclick=\"location.reload()\">Reload</button>",
            );
            let text = doc.create_element("pre").ok();
            if let Some(t) = text {
                t.set_text_content(Some(&info.to_string()));
                el.append_child(&t).ok();
            }
            body.append_child(&el).ok();
        }
    }));
}
