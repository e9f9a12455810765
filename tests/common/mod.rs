//! Helpers shared by the browser suites: mount the real app, drive it as a user would (clicks,
//! inputs, keys) and wait for what it shows.
#![allow(dead_code)]

use wasm_bindgen::JsCast;
use web_sys::{Element, HtmlElement, HtmlInputElement};

/// A mounted app; unmounted when dropped so that suites do not leave clocks running.
pub struct Mounted {
    /// The element the app renders into.
    pub root: Element,
    handle: Option<yew::AppHandle<traffic_cop::App>>,
}

impl Drop for Mounted {
    fn drop(&mut self) {
        if let Some(h) = self.handle.take() {
            h.destroy();
        }
        self.root.remove();
    }
}

/// Forgets the address bar's fragment and the saved work: a first visit.
pub fn fresh_visit() {
    set_fragment("");
    storage().remove_item(traffic_cop::WORK_KEY).unwrap();
}

/// The page's local storage.
pub fn storage() -> web_sys::Storage {
    web_sys::window().unwrap().local_storage().unwrap().unwrap()
}

/// Sets the address bar's fragment without reloading (empty: none).
pub fn set_fragment(fragment: &str) {
    let w = web_sys::window().unwrap();
    let path = w.location().pathname().unwrap();
    let url = if fragment.is_empty() {
        path
    } else {
        format!("{path}#{fragment}")
    };
    w.history()
        .unwrap()
        .replace_state_with_url(&wasm_bindgen::JsValue::NULL, "", Some(&url))
        .unwrap();
}

/// Mounts a fresh `App` as on a first visit and waits until it rendered.
pub async fn mount_app() -> Mounted {
    fresh_visit();
    mount_as_is().await
}

/// Mounts an `App` with whatever fragment and saved work the page has now.
pub async fn mount_as_is() -> Mounted {
    mount_in("").await
}

/// Mounts an `App` in a frame of `width` × `height` CSS pixels, as a phone's or a laptop's
/// screen gives it (the layout follows the space the app has).
pub async fn mount_sized(width: u32, height: u32) -> Mounted {
    mount_in(&format!(
        "position:relative;width:{width}px;height:{height}px;overflow:auto"
    ))
    .await
}

/// The page's stylesheet, as Trunk links it in the real page: the suites lay the app out as
/// users see it.
const STYLESHEET: &str = include_str!("../../static/style.css");

/// Puts the page's stylesheet in the test page once.
fn with_stylesheet(document: &web_sys::Document) {
    if document.get_element_by_id("tc-test-style").is_none() {
        let style = document.create_element("style").unwrap();
        style.set_id("tc-test-style");
        style.set_text_content(Some(STYLESHEET));
        document.head().unwrap().append_child(&style).unwrap();
    }
}

async fn mount_in(style: &str) -> Mounted {
    let document = web_sys::window().unwrap().document().unwrap();
    with_stylesheet(&document);
    let root = document.create_element("div").unwrap();
    if !style.is_empty() {
        root.set_attribute("style", style).unwrap();
    }
    document.body().unwrap().append_child(&root).unwrap();
    let handle = yew::Renderer::<traffic_cop::App>::with_root(root.clone()).render();
    settle().await;
    Mounted {
        root,
        handle: Some(handle),
    }
}

/// Lets Yew's scheduler and the browser run pending work.
pub async fn settle() {
    sleep_ms(0).await;
    sleep_ms(20).await;
}

/// Waits `ms` milliseconds of wall time on the browser's event loop.
pub async fn sleep_ms(ms: u32) {
    gloo_timers::future::TimeoutFuture::new(ms).await;
}

/// Waits until `cond` holds, checking every 25 ms, for at most `ms`; panics with `what`.
pub async fn wait_for(what: &str, ms: u32, mut cond: impl FnMut() -> bool) {
    let mut waited = 0;
    while !cond() {
        assert!(waited < ms, "gave up after {ms} ms waiting for {what}");
        sleep_ms(25).await;
        waited += 25;
    }
}

/// The element matching `selector` under `root`.
pub fn find(root: &Element, selector: &str) -> Element {
    root.query_selector(selector)
        .unwrap()
        .unwrap_or_else(|| panic!("nothing matches {selector}"))
}

/// Whether something matches `selector` under `root`.
pub fn exists(root: &Element, selector: &str) -> bool {
    root.query_selector(selector).unwrap().is_some()
}

/// Every element matching `selector` under `root`.
pub fn find_all(root: &Element, selector: &str) -> Vec<Element> {
    let list = root.query_selector_all(selector).unwrap();
    (0..list.length())
        .filter_map(|i| list.item(i))
        .filter_map(|n| n.dyn_into::<Element>().ok())
        .collect()
}

/// The text of the element matching `selector`.
pub fn text(root: &Element, selector: &str) -> String {
    find(root, selector).text_content().unwrap_or_default()
}

/// Clicks the element matching `selector`, then lets the app render.
pub async fn click(root: &Element, selector: &str) {
    cast::<HtmlElement>(find(root, selector), selector).click();
    settle().await;
}

/// Fires bubbling events of each kind on `target`, as the browser does for a user's input.
pub fn fire(target: &web_sys::EventTarget, kinds: &[&str]) {
    for kind in kinds {
        let init = web_sys::EventInit::new();
        init.set_bubbles(true);
        let e = web_sys::Event::new_with_event_init_dict(kind, &init).unwrap();
        target.dispatch_event(&e).unwrap();
    }
}

/// Sets an input's value and fires the `input` and `change` events a user's typing would.
pub async fn set_input(root: &Element, selector: &str, value: &str) {
    let input = cast::<HtmlInputElement>(find(root, selector), selector);
    input.set_value(value);
    fire(&input, &["input", "change"]);
    settle().await;
}

/// Presses a key on the document, as the keyboard would.
pub async fn press(key: &str) {
    let init = web_sys::KeyboardEventInit::new();
    init.set_key(key);
    init.set_bubbles(true);
    let e = web_sys::KeyboardEvent::new_with_keyboard_event_init_dict("keydown", &init).unwrap();
    web_sys::window()
        .unwrap()
        .document()
        .unwrap()
        .dispatch_event(&e)
        .unwrap();
    settle().await;
}

/// Casts an element to `T`, panicking with the selector in the message.
pub fn cast<T: JsCast>(el: Element, what: &str) -> T {
    el.dyn_into::<T>()
        .unwrap_or_else(|_| panic!("{what} has an unexpected element type"))
}

/// Events processed by the world so far, as the clock's tooltip says.
pub fn events_processed(root: &Element) -> u64 {
    let title = find(root, "[data-testid='clock']")
        .get_attribute("title")
        .unwrap_or_default();
    title
        .split_whitespace()
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("the clock's title counts events: {title:?}"))
}

/// Pauses the app if it is playing.
pub async fn pause(root: &Element) {
    if text(root, "[data-testid='play']").contains("Pause") {
        click(root, "[data-testid='play']").await;
    }
}

/// Plays the app if it is paused.
pub async fn play(root: &Element) {
    if text(root, "[data-testid='play']").contains("Play") {
        click(root, "[data-testid='play']").await;
    }
}

/// Plays until the clock shows `seconds`, playing on after each pause at a lesson's moment.
pub async fn play_until(root: &Element, seconds: f64, ms: u32) {
    let start = js_sys::Date::now();
    while sim_seconds(root) < seconds {
        assert!(
            js_sys::Date::now() - start < f64::from(ms),
            "gave up after {ms} ms playing to {seconds} simulated seconds"
        );
        play(root).await;
        sleep_ms(50).await;
    }
}

/// Sets the speed slider to 10^`log10` times real time.
pub async fn set_speed(root: &Element, log10: f64) {
    set_input(root, "[data-testid='speed']", &log10.to_string()).await;
}

/// Chooses the option at `index` of a `<select>` and fires `change`.
pub async fn choose(root: &Element, selector: &str, index: u32) {
    let select = cast::<web_sys::HtmlSelectElement>(find(root, selector), selector);
    select.set_selected_index(index as i32);
    fire(&select, &["change"]);
    settle().await;
}

/// The texts of the option elements of a `<select>`.
pub fn options(root: &Element, selector: &str) -> Vec<String> {
    find_all(root, &format!("{selector} option"))
        .iter()
        .map(|o| o.text_content().unwrap_or_default())
        .collect()
}

/// Sets a textarea's value and fires `input` and `change`.
pub async fn set_text(root: &Element, selector: &str, value: &str) {
    let area = cast::<web_sys::HtmlTextAreaElement>(find(root, selector), selector);
    area.set_value(value);
    fire(&area, &["input", "change"]);
    settle().await;
}

/// Seconds of simulated time the clock shows.
pub fn sim_seconds(root: &Element) -> f64 {
    let t = text(root, "[data-testid='clock']");
    t.trim_start_matches("t = ")
        .split('s')
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("clock reads {t:?}"))
}

/// The work the address bar's link carries, if it decodes.
pub fn linked() -> Option<lbsim::scenario::link::Shared> {
    let fragment = web_sys::window()?.location().hash().ok()?;
    lbsim::scenario::link::decode(fragment.trim_start_matches('#')).ok()
}

/// Waits until the address bar's link (which follows edits once they pause) carries a timeline
/// entry matching `f`.
pub async fn linked_timeline_with(what: &str, f: impl Fn(&lbsim::scenario::Command) -> bool) {
    wait_for(what, 5_000, || {
        linked().is_some_and(|shared| shared.scenario.timeline.iter().any(|e| f(&e.action)))
    })
    .await;
}
