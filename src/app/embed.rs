//! Embed mode, for a blog post or a course page: one lesson or scenario, read-only, with play,
//! step and scrub. The engine starts only once the embed is on screen, and the page tells its
//! parent how tall it is (a `{"type": "traffic-cop:height", "height": …}` message) so that the
//! `<iframe>` can fit it.

use std::cell::RefCell;
use std::rc::Rc;

use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use yew::prelude::*;

use crate::hooks::use_simulation::Simulation;

/// The message type the parent page listens for.
pub const HEIGHT_MESSAGE: &str = "traffic-cop:height";

/// An intersection observer and the callback it calls, kept alive together.
type Watch = (
    web_sys::IntersectionObserver,
    Closure<dyn FnMut(js_sys::Array)>,
);

/// Starts the clock the first time `target` is on screen (and not before).
#[hook]
pub fn use_start_when_visible(active: bool, target: NodeRef, sim: Rc<RefCell<Simulation>>) {
    use_effect_with(active, move |active| {
        let mut keep: Option<Watch> = None;
        if *active {
            let started = Rc::new(std::cell::Cell::new(false));
            let callback =
                Closure::<dyn FnMut(js_sys::Array)>::new(move |entries: js_sys::Array| {
                    let seen = entries.iter().any(|e| {
                        e.dyn_into::<web_sys::IntersectionObserverEntry>()
                            .is_ok_and(|e| e.is_intersecting())
                    });
                    if seen && !started.get() {
                        started.set(true);
                        let mut s = sim.borrow_mut();
                        s.playing = true;
                        s.version += 1;
                    }
                });
            if let (Ok(observer), Some(el)) = (
                web_sys::IntersectionObserver::new(callback.as_ref().unchecked_ref()),
                target.cast::<web_sys::Element>(),
            ) {
                observer.observe(&el);
                keep = Some((observer, callback));
            }
        }
        move || {
            if let Some((observer, _callback)) = keep {
                observer.disconnect();
            }
        }
    });
}

/// Posts the page's height to its parent whenever `version` changes and the height did.
#[hook]
pub fn use_post_height(active: bool, version: u64) {
    let last = use_mut_ref(|| 0i32);
    use_effect_with((active, version), move |(active, _)| {
        if *active {
            post_height(&mut last.borrow_mut());
        }
    });
}

fn post_height(last: &mut i32) -> Option<()> {
    let window = web_sys::window()?;
    let height = window.document()?.document_element()?.scroll_height();
    if height == *last {
        return Some(());
    }
    *last = height;
    let message = js_sys::Object::new();
    js_sys::Reflect::set(&message, &"type".into(), &HEIGHT_MESSAGE.into()).ok()?;
    js_sys::Reflect::set(&message, &"height".into(), &height.into()).ok()?;
    // The parent is the page itself when the embed link is opened directly: harmless.
    let parent = window.parent().ok()??;
    parent.post_message(&message, "*").ok()
}
