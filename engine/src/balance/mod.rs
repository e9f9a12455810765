//! Choosing a backend: the algorithms shared by the L4 balancer and the L7 proxy.
//!
//! A [`Selector`] is built from the backend set and answers "who next for this client". The
//! caller describes each backend as a [`Candidate`] (weight, whether it is *ready* — healthy
//! and not drained — and how many connections or requests it has in flight); a selector never
//! picks a candidate that is not ready, and bounds its search. Every pick returns a
//! [`Decision`] that explains itself, so the view can say *why* a packet went where it went.
//!
//! | algorithm | state | affinity |
//! |---|---|---|
//! | smooth weighted round robin (nginx) | current weights | none |
//! | least connections, weighted | counts from the caller | none |
//! | IP hash (whole address, or nginx's first three octets) | none | client address, modulo the total weight |
//! | Maglev consistent hashing (Eisenbud et al., NSDI 2016) | lookup table | client address, minimal disruption |
//! | power of two random choices, least request | random stream | none |

mod hash;
pub(crate) mod maglev;

use std::net::Ipv4Addr;

use serde::{Deserialize, Serialize};

pub use hash::{nginx_ip_hash, IpHashKey};
pub use maglev::{Maglev, DEFAULT_TABLE_SIZE};

use crate::rng::Stream;

/// Which algorithm a balancer uses.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Algorithm {
    /// Smooth weighted round robin, as nginx does it.
    #[default]
    RoundRobin,
    /// Fewest active connections (or requests) per unit of weight; ties in round-robin order.
    LeastConnections,
    /// A hash of the client address, modulo the total weight.
    IpHash(IpHashKey),
    /// Maglev consistent hashing of the client address.
    Maglev,
    /// Two backends drawn at random; the one with fewer active requests wins.
    PowerOfTwo,
}

impl Algorithm {
    /// A stable short name.
    pub fn name(&self) -> &'static str {
        match self {
            Algorithm::RoundRobin => "round_robin",
            Algorithm::LeastConnections => "least_connections",
            Algorithm::IpHash(IpHashKey::Address) => "ip_hash",
            Algorithm::IpHash(IpHashKey::Nginx) => "ip_hash_nginx",
            Algorithm::Maglev => "maglev",
            Algorithm::PowerOfTwo => "power_of_two",
        }
    }

    /// Whether the algorithm maps each client to a backend by hashing its address.
    pub fn is_hash(&self) -> bool {
        matches!(self, Algorithm::IpHash(_) | Algorithm::Maglev)
    }
}

/// What a selector needs to know of a backend.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Candidate {
    /// Name, for explanations.
    pub name: String,
    /// Weight, at least 1.
    pub weight: u32,
    /// In the configured pool (a removed backend is not; a down or drained one still is).
    /// Hashing takes its modulus over members, as nginx does over its configured servers.
    pub member: bool,
    /// A member that is healthy and not drained: may receive new connections.
    pub ready: bool,
    /// Connections (L4) or requests (L7) in flight.
    pub active: u32,
}

/// A pick, with its reasons.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Decision {
    /// Index of the chosen backend, or `None` when no backend is ready.
    pub chosen: Option<usize>,
    /// The algorithm that chose.
    pub algorithm: &'static str,
    /// Why, in one line: "conns A=2 B=0 C=1 → B".
    pub explanation: String,
}

/// A backend-choosing algorithm with its state.
#[derive(Clone, Debug)]
pub enum Selector {
    /// See [`Algorithm::RoundRobin`].
    RoundRobin {
        /// nginx's `current_weight` per backend.
        current: Vec<i64>,
    },
    /// See [`Algorithm::LeastConnections`].
    LeastConnections {
        /// Where the round-robin order for ties resumes.
        cursor: usize,
    },
    /// See [`Algorithm::IpHash`].
    IpHash(IpHashKey),
    /// See [`Algorithm::Maglev`].
    Maglev(Box<Maglev>),
    /// See [`Algorithm::PowerOfTwo`].
    PowerOfTwo(Box<Stream>),
}

fn none_ready(algorithm: &'static str) -> Decision {
    Decision {
        chosen: None,
        algorithm,
        explanation: "no backend is ready".to_string(),
    }
}

impl Selector {
    /// A selector for `backends`; `table_size` is Maglev's (a prime), `rng` P2C's stream.
    pub fn new(algorithm: Algorithm, backends: &[Candidate], table_size: u64, rng: Stream) -> Self {
        match algorithm {
            Algorithm::RoundRobin => Selector::RoundRobin {
                current: vec![0; backends.len()],
            },
            Algorithm::LeastConnections => Selector::LeastConnections { cursor: 0 },
            Algorithm::IpHash(key) => Selector::IpHash(key),
            Algorithm::Maglev => Selector::Maglev(Box::new(Maglev::new(backends, table_size))),
            Algorithm::PowerOfTwo => Selector::PowerOfTwo(Box::new(rng)),
        }
    }

    /// The algorithm.
    pub fn algorithm(&self) -> Algorithm {
        match self {
            Selector::RoundRobin { .. } => Algorithm::RoundRobin,
            Selector::LeastConnections { .. } => Algorithm::LeastConnections,
            Selector::IpHash(key) => Algorithm::IpHash(*key),
            Selector::Maglev(_) => Algorithm::Maglev,
            Selector::PowerOfTwo(_) => Algorithm::PowerOfTwo,
        }
    }

    /// The backend set changed (added, removed, re-weighted, readiness): rebuild state.
    pub fn rebuild(&mut self, backends: &[Candidate]) {
        match self {
            Selector::RoundRobin { current } => current.resize(backends.len(), 0),
            Selector::Maglev(m) => m.rebuild(backends),
            _ => {}
        }
    }

    /// Picks a backend for a new connection or request from `client`.
    pub fn pick(&mut self, client: Ipv4Addr, backends: &[Candidate]) -> Decision {
        let name = self.algorithm().name();
        if !backends.iter().any(|b| b.ready) {
            return none_ready(name);
        }
        match self {
            Selector::RoundRobin { current } => smooth_round_robin(current, backends),
            Selector::LeastConnections { cursor } => least_connections(cursor, backends),
            Selector::IpHash(key) => hash::pick(*key, client, backends),
            Selector::Maglev(m) => m.pick(client, backends),
            Selector::PowerOfTwo(rng) => power_of_two(rng, backends),
        }
    }

    /// For hashing algorithms, the backend a client maps to now, without side effects.
    pub fn mapping(&self, client: Ipv4Addr, backends: &[Candidate]) -> Option<usize> {
        match self {
            Selector::IpHash(key) => hash::pick(*key, client, backends).chosen,
            Selector::Maglev(m) => m.lookup(client),
            _ => None,
        }
    }
}

/// nginx's smooth weighted round robin: every ready backend gains its weight; the largest
/// current weight wins and pays back the total. Weights 5, 1, 1 give a a b a c a a.
fn smooth_round_robin(current: &mut [i64], backends: &[Candidate]) -> Decision {
    let mut total = 0i64;
    let mut best: Option<usize> = None;
    for (i, b) in backends.iter().enumerate() {
        if !b.ready {
            continue;
        }
        current[i] += i64::from(b.weight);
        total += i64::from(b.weight);
        if best.is_none_or(|j| current[i] > current[j]) {
            best = Some(i);
        }
    }
    let shown: Vec<String> = backends
        .iter()
        .enumerate()
        .filter(|(_, b)| b.ready)
        .map(|(i, b)| format!("{}={}", b.name, current[i]))
        .collect();
    let chosen = best.expect("some backend is ready");
    current[chosen] -= total;
    Decision {
        chosen: Some(chosen),
        algorithm: "round_robin",
        explanation: format!(
            "current weights {} → {} (then −{total})",
            shown.join(" "),
            backends[chosen].name
        ),
    }
}

/// Fewest active per unit of weight (compared without division); ties go to the first tied
/// backend at or after the cursor, which then moves past it.
fn least_connections(cursor: &mut usize, backends: &[Candidate]) -> Decision {
    let n = backends.len();
    let mut best: Option<usize> = None;
    for k in 0..n {
        let i = (*cursor + k) % n;
        let b = &backends[i];
        if !b.ready {
            continue;
        }
        // b.active / b.weight < best.active / best.weight, cross-multiplied.
        let better = best.is_none_or(|j| {
            let o = &backends[j];
            u64::from(b.active) * u64::from(o.weight) < u64::from(o.active) * u64::from(b.weight)
        });
        if better {
            best = Some(i);
        }
    }
    let chosen = best.expect("some backend is ready");
    *cursor = (chosen + 1) % n;
    let shown: Vec<String> = backends
        .iter()
        .filter(|b| b.ready)
        .map(|b| {
            if b.weight == 1 {
                format!("{}={}", b.name, b.active)
            } else {
                format!("{}={}/{}", b.name, b.active, b.weight)
            }
        })
        .collect();
    Decision {
        chosen: Some(chosen),
        algorithm: "least_connections",
        explanation: format!("active {} → {}", shown.join(" "), backends[chosen].name),
    }
}

/// Two distinct ready backends drawn at random; fewer active wins (the first drawn on a tie).
fn power_of_two(rng: &mut Stream, backends: &[Candidate]) -> Decision {
    let ready: Vec<usize> = (0..backends.len()).filter(|&i| backends[i].ready).collect();
    if ready.len() == 1 {
        let only = ready[0];
        return Decision {
            chosen: Some(only),
            algorithm: "power_of_two",
            explanation: format!("only {} is ready", backends[only].name),
        };
    }
    // Two distinct positions, uniformly: draw the second among the others.
    let n = ready.len() as u64;
    let first = rng.below(n);
    let mut second = rng.below(n - 1);
    if second >= first {
        second += 1;
    }
    let (a, b) = (ready[first as usize], ready[second as usize]);
    let chosen = if backends[b].active < backends[a].active {
        b
    } else {
        a
    };
    Decision {
        chosen: Some(chosen),
        algorithm: "power_of_two",
        explanation: format!(
            "{} ({} active) vs {} ({} active) → {}",
            backends[a].name,
            backends[a].active,
            backends[b].name,
            backends[b].active,
            backends[chosen].name
        ),
    }
}

#[cfg(test)]
mod tests;
