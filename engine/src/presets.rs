//! The playground's lessons: ready scenarios, each with the question it answers, what to
//! watch, sometimes a quiz, and sometimes a variant to compare it with.
//!
//! Presets live as JSON files in `engine/presets/` (compiled in). A variant is an RFC 7386
//! merge patch over the preset's scenario: objects merge field by field, anything else
//! (arrays included) is replaced, `null` removes.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::scenario::{LoadError, Scenario};
use crate::time::Duration;

/// A question with choices, asked before the scenario runs.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Quiz {
    /// The question.
    pub question: String,
    /// The choices.
    pub choices: Vec<String>,
    /// Index of the right choice.
    pub answer: u32,
    /// Why, shown after the answer.
    pub explanation: String,
}

/// A variant of a preset's scenario that differs in one setting.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Compare {
    /// What the variant is, in a few words ("Least connections").
    pub label: String,
    /// RFC 7386 merge patch over the preset's scenario.
    pub patch: Value,
}

/// A teaching moment of a lesson: at this time, this caption; playing slows down around it
/// and, for the lesson's point, pauses there.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Moment {
    /// Simulated time of the moment.
    pub at: Duration,
    /// What to watch then.
    pub caption: String,
    /// Whether playing pauses there (the teaching point).
    #[serde(default)]
    pub pause: bool,
}

/// A figure that proves a lesson's point, shown beside its canvas as the run goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Figure {
    /// Requests answered OK, of those ended.
    Requests,
    /// Requests that failed (any outcome but OK).
    Errors,
    /// Responses with a 5xx status.
    ServerErrors,
    /// Requests that timed out.
    Timeouts,
    /// Shopping carts lost.
    LostCarts,
    /// The 99th percentile of latency.
    P99,
    /// From a backend's fault to the checks taking it down.
    Failover,
    /// Health changes (up or down) so far.
    HealthFlips,
    /// Share of time the balancer's CPU was busy.
    BalancerCpu,
    /// Client mappings moved by pool changes.
    MappingsMoved,
    /// Backends ejected by outlier detection.
    Ejections,
    /// Requests the proxy retried on another backend.
    Retries,
    /// Flows in the balancer's connection table now.
    Flows,
    /// What the balancer holds in memory for the connections through it now.
    BalancerMemory,
}

/// The figures a lesson shows when it names none.
pub const DEFAULT_FIGURES: [Figure; 3] = [Figure::Requests, Figure::Errors, Figure::P99];

/// One lesson.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Preset {
    /// Stable name, used in links and on the command line.
    pub name: String,
    /// Title.
    pub title: String,
    /// One paragraph: what happens and why.
    pub explanation: String,
    /// The question the lesson answers.
    pub question: String,
    /// What to watch while it runs.
    pub watch: String,
    /// A quiz, for lessons that pose a question to answer first.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quiz: Option<Quiz>,
    /// A variant to run side by side.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compare: Option<Compare>,
    /// The speed the lesson plays at (simulated seconds per wall second).
    pub speed: f64,
    /// Its teaching moments, in time order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub moments: Vec<Moment>,
    /// The figures that prove its point.
    pub figures: Vec<Figure>,
    /// The scenario.
    pub scenario: Scenario,
}

/// A preset file as written. The scenario is read by [`Scenario::parse_json`], the one
/// deserialiser of scenarios in the crate: a second instantiation of serde's scenario code
/// would cost the browser bundle tens of kilobytes.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PresetFile {
    title: String,
    explanation: String,
    question: String,
    watch: String,
    #[serde(default)]
    quiz: Option<Quiz>,
    #[serde(default)]
    compare: Option<Compare>,
    #[serde(default = "one")]
    speed: f64,
    #[serde(default)]
    moments: Vec<Moment>,
    #[serde(default)]
    figures: Vec<Figure>,
    scenario: Value,
}

fn one() -> f64 {
    1.0
}

/// The presets' files, in the order the playground lists them.
const FILES: [(&str, &str); 16] = [
    ("playground", include_str!("../presets/playground.json")),
    ("l4-vs-l7", include_str!("../presets/l4-vs-l7.json")),
    (
        "nat-slow-motion",
        include_str!("../presets/nat-slow-motion.json"),
    ),
    (
        "tcp-check-crash",
        include_str!("../presets/tcp-check-crash.json"),
    ),
    ("app-500", include_str!("../presets/app-500.json")),
    ("path-routing", include_str!("../presets/path-routing.json")),
    ("tls-offload", include_str!("../presets/tls-offload.json")),
    ("game", include_str!("../presets/game.json")),
    ("uneven-costs", include_str!("../presets/uneven-costs.json")),
    ("cart", include_str!("../presets/cart.json")),
    (
        "consistent-hashing",
        include_str!("../presets/consistent-hashing.json"),
    ),
    (
        "health-check-tuning",
        include_str!("../presets/health-check-tuning.json"),
    ),
    (
        "l7-costs-more",
        include_str!("../presets/l7-costs-more.json"),
    ),
    (
        "connection-draining",
        include_str!("../presets/connection-draining.json"),
    ),
    (
        "retries-and-outliers",
        include_str!("../presets/retries-and-outliers.json"),
    ),
    (
        "many-connections",
        include_str!("../presets/many-connections.json"),
    ),
];

/// The preset the playground opens with.
pub const DEFAULT: &str = "playground";

fn parse(name: &str, text: &str) -> Preset {
    let f: PresetFile =
        serde_json::from_str(text).unwrap_or_else(|e| panic!("preset {name} does not parse: {e}"));
    let scenario = Scenario::from_json(&f.scenario.to_string())
        .unwrap_or_else(|e| panic!("preset {name} is invalid: {e}"));
    Preset {
        name: name.to_string(),
        title: f.title,
        explanation: f.explanation,
        question: f.question,
        watch: f.watch,
        quiz: f.quiz,
        compare: f.compare,
        speed: f.speed,
        moments: f.moments,
        figures: if f.figures.is_empty() {
            DEFAULT_FIGURES.to_vec()
        } else {
            f.figures
        },
        scenario,
    }
}

/// Every preset, in order.
pub fn all() -> Vec<Preset> {
    FILES.iter().map(|(name, text)| parse(name, text)).collect()
}

/// Preset names, in order.
pub fn names() -> impl Iterator<Item = &'static str> {
    FILES.iter().map(|(name, _)| *name)
}

/// The preset called `name`.
pub fn get(name: &str) -> Option<Preset> {
    FILES
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(n, text)| parse(n, text))
}

impl Preset {
    /// The compare variant's scenario, if the preset has one.
    pub fn compare_scenario(&self) -> Option<Result<Scenario, LoadError>> {
        let compare = self.compare.as_ref()?;
        Some(apply_patch(&self.scenario, &compare.patch))
    }
}

/// `scenario` with an RFC 7386 merge patch applied, validated.
pub fn apply_patch(scenario: &Scenario, patch: &Value) -> Result<Scenario, LoadError> {
    let mut value = serde_json::to_value(scenario).expect("scenarios serialise");
    merge_patch(&mut value, patch);
    Scenario::from_json(&value.to_string())
}

/// RFC 7386 JSON merge patch.
pub fn merge_patch(target: &mut Value, patch: &Value) {
    let Value::Object(patch) = patch else {
        *target = patch.clone();
        return;
    };
    if !target.is_object() {
        *target = Value::Object(Default::default());
    }
    let map = target.as_object_mut().expect("made an object");
    for (key, value) in patch {
        if value.is_null() {
            map.remove(key);
        } else {
            merge_patch(map.entry(key.clone()).or_insert(Value::Null), value);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn every_preset_parses_validates_and_has_a_valid_variant() {
        let all = all();
        assert_eq!(all.len(), 16);
        for p in &all {
            assert!(!p.title.is_empty() && !p.explanation.is_empty() && !p.question.is_empty());
            if let Some(q) = &p.quiz {
                assert!((q.answer as usize) < q.choices.len(), "{}", p.name);
            }
            if let Some(v) = p.compare_scenario() {
                let v = v.unwrap_or_else(|e| panic!("{}'s variant: {e}", p.name));
                assert_ne!(v, p.scenario, "{}'s variant differs", p.name);
            }
        }
        assert!(get(DEFAULT).is_some());
        assert!(get("nonexistent").is_none());
    }

    #[test]
    fn merge_patch_follows_rfc_7386() {
        // RFC 7386 §3's example.
        let mut target = json!({"a": "b", "c": {"d": "e", "f": "g"}});
        merge_patch(&mut target, &json!({"a": "z", "c": {"f": null}}));
        assert_eq!(target, json!({"a": "z", "c": {"d": "e"}}));
        let mut target = json!({"a": [1, 2]});
        merge_patch(&mut target, &json!({"a": [3]}));
        assert_eq!(target, json!({"a": [3]}), "arrays are replaced");
    }
}
