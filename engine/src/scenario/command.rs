//! The timeline and the commands that change a running world.

use serde::{Deserialize, Serialize};

use super::{BackendSpec, Fault, HealthSpec, LinkSpec, MixEntry, Side};
use crate::balance::Algorithm;
use crate::time::Duration;

/// An action at a time.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TimelineEntry {
    /// Simulated time of the action.
    pub at: Duration,
    /// What happens.
    pub action: Command,
}

/// Something that changes the world while it runs: from the timeline, the UI or a test.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Command {
    /// Sets a backend's fault; `none` recovers it.
    SetFault {
        /// Backend name.
        backend: String,
        /// The new fault.
        fault: Fault,
    },
    /// Changes a backend's weight.
    SetWeight {
        /// Backend name.
        backend: String,
        /// New weight, at least 1.
        weight: u32,
    },
    /// Drains a backend (no new flows; existing ones go on) or returns it to service.
    SetDrain {
        /// Backend name.
        backend: String,
        /// Whether it is drained.
        drained: bool,
    },
    /// Adds a backend to the world and the pool.
    AddBackend {
        /// The new backend.
        backend: BackendSpec,
    },
    /// Takes a backend out of the pool for good (the host stays up).
    RemoveBackend {
        /// Backend name.
        backend: String,
    },
    /// Switches the balancing algorithm.
    SetAlgorithm {
        /// The new algorithm.
        algorithm: Algorithm,
    },
    /// Changes the links of one network for packets sent from then on; hosts with a link of
    /// their own keep it. Packets already on a link arrive as they were going to.
    SetLink {
        /// Which network.
        side: Side,
        /// The new properties, both ways.
        link: LinkSpec,
    },
    /// Changes the health checks (or turns them off): a fresh round of probes starts at once
    /// under the new settings; without checks every backend counts as up.
    SetHealth {
        /// The new settings; none turns the checks off.
        health: Option<HealthSpec>,
    },
    /// Changes a client group's request mix, for arrivals from then on.
    SetMix {
        /// Client group name.
        group: String,
        /// The new mix (empty: `GET /`).
        mix: Vec<MixEntry>,
    },
    /// Changes a client group's arrival rate: the next arrival is drawn afresh at the new rate.
    SetRate {
        /// Client group name.
        group: String,
        /// Arrivals per second.
        rate: f64,
    },
}

impl Command {
    /// The command's name, as in JSON (`set_weight`).
    pub fn kind(&self) -> &'static str {
        match self {
            Command::SetFault { .. } => "set_fault",
            Command::SetWeight { .. } => "set_weight",
            Command::SetDrain { .. } => "set_drain",
            Command::AddBackend { .. } => "add_backend",
            Command::RemoveBackend { .. } => "remove_backend",
            Command::SetAlgorithm { .. } => "set_algorithm",
            Command::SetLink { .. } => "set_link",
            Command::SetHealth { .. } => "set_health",
            Command::SetMix { .. } => "set_mix",
            Command::SetRate { .. } => "set_rate",
        }
    }

    /// The backend a command names, if any.
    pub fn backend(&self) -> Option<&str> {
        match self {
            Command::SetFault { backend, .. }
            | Command::SetWeight { backend, .. }
            | Command::SetDrain { backend, .. }
            | Command::RemoveBackend { backend } => Some(backend),
            Command::AddBackend { backend } => Some(&backend.name),
            Command::SetAlgorithm { .. }
            | Command::SetLink { .. }
            | Command::SetHealth { .. }
            | Command::SetMix { .. }
            | Command::SetRate { .. } => None,
        }
    }
}
