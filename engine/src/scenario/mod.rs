//! The scenario: everything a world is built from, as serde data (schema version 1).
//!
//! A scenario is read from JSON with [`Scenario::from_json`], which reports the first syntax or
//! type error with its field path, then [`Scenario::validate`]s the whole and reports *every*
//! problem, each with its path (`backends[2].workers must be at least 1`). A scenario that
//! validates builds a world that cannot fail to start.
//!
//! Unknown fields are refused, so that a typo is a message rather than a silently ignored
//! setting. Every field but a few has a default; the smallest scenario is
//! `{"version": 1, "duration": "10s", "backends": [{"name": "A", "address": "10.0.0.11"}]}`.

mod addresses;
mod balancer;
mod command;
mod hosts;
pub mod link;
mod locate;
mod validate;

use serde::{Deserialize, Serialize};

use crate::time::Duration;

pub use balancer::*;
pub use command::*;
pub use hosts::*;
pub use validate::{
    command_problems, health_problems, link_problems, mix_problems, rate_ok, Live, MemoryEstimate,
    Problem, CONNECTION_MEMORY, FLOW_MEMORY, HOST_MEMORY, MAX_HOSTS, MAX_RATE, MAX_WEIGHT,
    MEMORY_BUDGET,
};

/// Which network a host is on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Side {
    /// Clients, players and the virtual IP.
    Client,
    /// The balancer's inner address and the backends.
    Server,
}

/// The schema version this engine reads and writes.
pub const SCHEMA_VERSION: u32 = 1;

/// A whole experiment: topology, servers, traffic, a timeline of actions, seed and duration.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    /// Schema version; must be [`SCHEMA_VERSION`].
    pub version: u32,
    /// Short name, shown in reports.
    #[serde(default)]
    pub name: String,
    /// What the scenario shows, for people.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub description: String,
    /// Seed of every random stream in the world.
    #[serde(default)]
    pub seed: u64,
    /// How long clients generate traffic. The world then drains: requests in flight finish or
    /// time out.
    pub duration: Duration,
    /// Link defaults for each side of the balancer.
    #[serde(default)]
    pub network: Network,
    /// The balancer position between the two networks.
    #[serde(default)]
    pub balancer: BalancerSpec,
    /// The servers behind the balancer.
    pub backends: Vec<BackendSpec>,
    /// Groups of HTTP clients.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub clients: Vec<ClientGroupSpec>,
    /// Groups of UDP game players.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub players: Vec<PlayerGroupSpec>,
    /// Actions at given times ("at 5 s crash backend B").
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub timeline: Vec<TimelineEntry>,
}

/// The properties of one direction of a link.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LinkSpec {
    /// One-way propagation delay.
    pub latency: Duration,
    /// Each packet's delay varies uniformly by up to this much either way (packets on a link
    /// stay in order).
    pub jitter: Duration,
    /// Serialisation rate in megabits per second; 0 means unlimited.
    pub bandwidth_mbps: f64,
    /// Probability that a packet is lost in transit, in [0, 1].
    pub loss: f64,
    /// Packets that may wait for the wire before the queue drops new ones (drop-tail).
    pub queue_packets: u32,
}

impl Default for LinkSpec {
    /// A clean 1 Gbit/s link with 1 ms of latency.
    fn default() -> Self {
        LinkSpec {
            latency: Duration::from_millis(1),
            jitter: Duration::ZERO,
            bandwidth_mbps: 1000.0,
            loss: 0.0,
            queue_packets: 1000,
        }
    }
}

/// Link defaults per network; hosts may override theirs.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Network {
    /// Between each client and the balancer (the internet side).
    pub client_link: LinkSpec,
    /// Between the balancer and each backend (the data-centre side).
    pub server_link: LinkSpec,
}

impl Default for Network {
    /// 10 ms to clients over 100 Mbit/s, 200 µs to backends over 10 Gbit/s.
    fn default() -> Self {
        Network {
            client_link: LinkSpec {
                latency: Duration::from_millis(10),
                bandwidth_mbps: 100.0,
                ..LinkSpec::default()
            },
            server_link: LinkSpec {
                latency: Duration::from_micros(200),
                bandwidth_mbps: 10_000.0,
                ..LinkSpec::default()
            },
        }
    }
}

/// Why a scenario could not be read.
#[derive(Clone, Debug, PartialEq)]
pub enum LoadError {
    /// The text is not valid JSON for the schema; the path names the field.
    Syntax {
        /// Field path such as `backends[1].port`, or empty for the whole document.
        path: String,
        /// What serde said.
        message: String,
    },
    /// The JSON is well formed but the scenario is not sensible: every problem found.
    Invalid(Vec<Problem>),
}

impl core::fmt::Display for LoadError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            LoadError::Syntax { path, message } if path.is_empty() || path == "." => {
                write!(f, "{message}")
            }
            LoadError::Syntax { path, message } => write!(f, "{path}: {message}"),
            LoadError::Invalid(problems) => {
                for (i, p) in problems.iter().enumerate() {
                    if i > 0 {
                        writeln!(f)?;
                    }
                    write!(f, "{p}")?;
                }
                Ok(())
            }
        }
    }
}

impl std::error::Error for LoadError {}

impl Scenario {
    /// Reads and validates a scenario from JSON text.
    pub fn from_json(text: &str) -> Result<Scenario, LoadError> {
        let scenario = Self::parse_json(text)?;
        let problems = scenario.validate();
        if problems.is_empty() {
            Ok(scenario)
        } else {
            Err(LoadError::Invalid(problems))
        }
    }

    /// Reads a scenario from JSON text without validating it.
    pub fn parse_json(text: &str) -> Result<Scenario, LoadError> {
        serde_json::from_str(text).map_err(|e| {
            let end = locate::offset_of(text, e.line(), e.column());
            LoadError::Syntax {
                path: locate::path_at(text, end),
                message: e.to_string(),
            }
        })
    }

    /// The scenario as pretty JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("a scenario always serialises")
    }

    /// When a client group stops.
    pub fn group_stop(&self, stop: Option<Duration>) -> Duration {
        stop.unwrap_or(self.duration).min(self.duration)
    }

    /// Time after the traffic stops for requests in flight to finish or time out.
    pub fn drain(&self) -> Duration {
        let longest = self
            .clients
            .iter()
            .map(|c| c.timeout)
            .max()
            .unwrap_or(Duration::ZERO);
        longest + Duration::from_secs(1)
    }
}

#[cfg(test)]
mod tests;
