//! Backend cards: each backend's health, probes, fault, load and rates, in words and marks.

use lbsim::health::HealthState;
use lbsim::view::Frame;

/// A backend's card.
#[derive(Clone, Debug, PartialEq)]
pub struct BackendCard {
    /// Name.
    pub name: String,
    /// Address.
    pub address: String,
    /// Health state, when checks run.
    pub health: Option<HealthState>,
    /// The newest probes, oldest first: (passed, description).
    pub probes: Vec<(bool, String)>,
    /// Fault now.
    pub fault: &'static str,
    /// Weight.
    pub weight: u32,
    /// Drained.
    pub drained: bool,
    /// Removed.
    pub removed: bool,
    /// Open connections on the server.
    pub connections: usize,
    /// Carts held in its memory.
    pub sessions: usize,
    /// Requests served in the last simulated second.
    pub per_second: u32,
    /// Of which errors (5xx).
    pub errors: u32,
}

/// Every backend's card, in pool order.
pub fn backend_cards(frame: &Frame) -> Vec<BackendCard> {
    frame
        .backends
        .iter()
        .map(|b| BackendCard {
            name: b.name.clone(),
            address: b.address.to_string(),
            health: b.health,
            probes: b
                .probes
                .iter()
                .map(|(at, r)| (r.ok(), format!("{at}: {r}")))
                .collect(),
            fault: b.fault.name(),
            weight: b.weight,
            drained: b.drained,
            removed: b.removed,
            connections: b.connections,
            sessions: b.sessions,
            per_second: b.per_second,
            errors: b.errors_per_second,
        })
        .collect()
}
