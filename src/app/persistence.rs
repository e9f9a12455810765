//! Keeping and sharing the work: the address bar's fragment follows the scenario as a share
//! link, and the browser's local storage keeps it for the next visit. Only a scenario that
//! validates is ever written, so whatever the page saved opens again.

use lbsim::presets;
use lbsim::scenario::link::{self, Shared, Source, View};
use lbsim::scenario::Scenario;
use wasm_bindgen::JsValue;

use crate::state::Notice;

/// Local-storage key of the current work (a share link of the scenario).
pub const WORK_KEY: &str = "traffic-cop/work";

/// How long the URL and the saved work wait for edits to pause, in ms.
pub const SAVE_DEBOUNCE_MS: u32 = 300;

fn storage() -> Option<web_sys::Storage> {
    web_sys::window()?.local_storage().ok()?
}

/// The work saved in this browser, if any is there and still opens.
pub fn saved_work() -> Option<Scenario> {
    let text = storage()?.get_item(WORK_KEY).ok()??;
    link::decode(&text)
        .ok()
        .map(|s| s.scenario)
        .filter(|s| s.validate().is_empty())
}

/// Saves `scenario` in local storage and puts its link in the address bar; a scenario that
/// does not validate is not saved (the last valid work stays), and the reason is returned.
pub fn save_work(scenario: &Scenario) -> Result<(), String> {
    if let Some(p) = scenario.validate().first() {
        return Err(format!("not saved: {p}"));
    }
    let text = link::encode(
        &Shared {
            scenario: scenario.clone(),
            view: None,
        },
        preset_of(scenario).as_deref(),
    );
    if let Some(s) = storage() {
        let _ = s.set_item(WORK_KEY, &text);
    }
    // The address bar follows the work, so that copying it shares it.
    if let Some(w) = web_sys::window() {
        if let Ok(history) = w.history() {
            let _ = history.replace_state_with_url(&JsValue::NULL, "", Some(&format!("#{text}")));
        }
    }
    Ok(())
}

/// A share link of `scenario` with a view (time position, selection, lesson), as a whole URL.
pub fn share_url(scenario: &Scenario, view: View) -> String {
    let text = link::encode(
        &Shared {
            scenario: scenario.clone(),
            view: Some(view),
        },
        preset_of(scenario).as_deref(),
    );
    web_sys::window()
        .and_then(|w| w.location().href().ok())
        .map(|h| format!("{}#{text}", h.split('#').next().unwrap_or_default()))
        .unwrap_or_else(|| format!("#{text}"))
}

/// The preset a scenario is, if it is one unchanged.
pub fn preset_of(scenario: &Scenario) -> Option<String> {
    presets::all()
        .into_iter()
        .find(|p| &p.scenario == scenario)
        .map(|p| p.name)
}

/// What the page opens with: the link in the address, else the saved work, else the default
/// preset; with a notice when the link was bad.
pub struct Start {
    /// Embed mode (`?embed` in the address), with the theme it asks for.
    pub embed: Option<Embed>,
    /// The scenario to run.
    pub scenario: Scenario,
    /// The link's view (time position, selection, lesson), if it had one.
    pub view: Option<View>,
    /// What to tell the user about the link.
    pub notice: Option<Notice>,
}

/// An embed link's options: `?embed` (and `&theme=dark` or `light`) before the fragment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Embed {
    /// The theme asked for, if any.
    pub theme: Option<String>,
}

/// The embed options in the address's query, if it asks for embed mode.
fn embed() -> Option<Embed> {
    let search = web_sys::window()?.location().search().ok()?;
    let mut embed = false;
    let mut theme = None;
    for pair in search.trim_start_matches('?').split('&') {
        match pair.split_once('=') {
            Some(("theme", t)) => theme = Some(t.to_string()),
            Some(("embed", v)) => embed = v != "0",
            None if pair == "embed" => embed = true,
            _ => {}
        }
    }
    embed.then_some(Embed { theme })
}

fn default_scenario() -> Scenario {
    presets::get(presets::DEFAULT)
        .expect("the default preset exists")
        .scenario
}

/// Reads the address bar and the saved work.
pub fn start() -> Start {
    let hash = web_sys::window()
        .and_then(|w| w.location().hash().ok())
        .unwrap_or_default();
    let fragment = hash.trim_start_matches('#');
    let saved = saved_work();
    if !fragment.is_empty() {
        let opened = link::open(fragment);
        if let Some(error) = opened.error {
            let loaded = match &opened.source {
                Source::LinkDespiteChecksum => {
                    "its data opened anyway; check it is what you expect".to_string()
                }
                Source::Preset(name) => format!("opened the preset it names, \"{name}\", instead"),
                Source::Default | Source::Link => {
                    format!("opened the \"{}\" preset instead", presets::DEFAULT)
                }
            };
            // The saved work is not overwritten until the user acts: it stays restorable.
            return Start {
                embed: embed(),
                scenario: opened.shared.scenario,
                view: None,
                notice: Some(Notice {
                    text: format!("This link could not be opened: {error}. Traffic Cop {loaded}."),
                    can_restore: saved.is_some(),
                }),
            };
        }
        return Start {
            embed: embed(),
            scenario: opened.shared.scenario,
            view: opened.shared.view,
            notice: None,
        };
    }
    Start {
        embed: embed(),
        scenario: saved.unwrap_or_else(default_scenario),
        view: None,
        notice: None,
    }
}
