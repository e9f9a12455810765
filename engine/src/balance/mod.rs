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
//! | least connections, weighted, ties by smooth weighted round robin (nginx `least_conn`) | current weights | none |
//! | least connections, weighted, ties to the longest at that load (HAProxy `leastconn`) | when each reached its load | none |
//! | IP hash (whole address, or nginx's first three octets) | none | client address, modulo the total weight |
//! | Maglev consistent hashing (Eisenbud et al., NSDI 2016) | lookup table | client address, minimal disruption |
//! | power of two random choices, least request | random stream | none |

mod hash;
pub(crate) mod maglev;

use std::net::Ipv4Addr;
use std::rc::Rc;

use core::fmt;

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
    /// nginx's `least_conn`: fewest active connections (or requests) per unit of weight; when
    /// several tie, smooth weighted round robin among the tied decides, and its current weights
    /// move only on such tied picks.
    LeastConnections,
    /// HAProxy's `leastconn`: the lowest key `(active + 1) × 4096 ÷ (16 × weight)` (0 when
    /// idle), HAProxy's integer arithmetic; among equal keys, the backend that has had its key
    /// longest (HAProxy's tree keeps equal keys in arrival order).
    HaproxyLeastconn,
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
            Algorithm::HaproxyLeastconn => "haproxy_leastconn",
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

/// A backend's name, shared by its candidate and every explanation that names it: a decision
/// names each ready backend, and sharing keeps that from allocating per name.
pub type Name = Rc<str>;

/// What a selector needs to know of a backend.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Candidate {
    /// Name, for explanations.
    pub name: Name,
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
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Decision {
    /// Index of the chosen backend, or `None` when no backend is ready.
    pub chosen: Option<usize>,
    /// The algorithm that chose.
    pub algorithm: &'static str,
    /// What it weighed; in words by `Display`, in one line: "active A=2 B=0 C=1 → B".
    pub why: Why,
}

/// The ready backends' names in backend order, kept by a selector from pick to pick and
/// shared by the explanations that list them.
///
/// An explanation over 64 backends used to clone 64 names (each a count in a memory line of
/// its own, counted up at the pick and down when the trace forgot the record) into 1.5 KB of
/// its own; now it holds one reference and its numbers.
#[derive(Clone, Debug, Default)]
pub struct ReadyNames(Rc<[Name]>);

impl ReadyNames {
    /// The names of `backends` that are ready, in order: the kept list while it is still the
    /// same names (the same shared strings), else a new one, kept.
    fn of(&mut self, backends: &[Candidate]) -> Rc<[Name]> {
        let mut ready = backends.iter().filter(|b| b.ready).map(|b| &b.name);
        let same = self
            .0
            .iter()
            .all(|kept| ready.next().is_some_and(|n| Rc::ptr_eq(kept, n)))
            && ready.next().is_none();
        if !same {
            self.0 = backends
                .iter()
                .filter(|b| b.ready)
                .map(|b| b.name.clone())
                .collect();
        }
        Rc::clone(&self.0)
    }
}

/// The ready backends' loads as an algorithm saw them: names, and (in flight, weight) of each.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Loads {
    /// The ready backends, in order.
    pub names: Rc<[Name]>,
    /// In flight and weight of each.
    pub values: Vec<(u32, u32)>,
}

impl Loads {
    /// The ready candidates' loads.
    fn of(names: &mut ReadyNames, backends: &[Candidate]) -> Loads {
        let names = names.of(backends);
        let values = of_ready(names.len(), backends, |_, b| (b.active, b.weight));
        Loads { names, values }
    }
}

impl fmt::Display for Loads {
    /// `A=2`, or `A=2/3` for a weight other than 1, space-separated.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, (name, (active, weight))) in self.names.iter().zip(&self.values).enumerate() {
            if i > 0 {
                f.write_str(" ")?;
            }
            if *weight == 1 {
                write!(f, "{name}={active}")?;
            } else {
                write!(f, "{name}={active}/{weight}")?;
            }
        }
        Ok(())
    }
}

/// Current weights of smooth weighted round robin, `A=1 B=-2`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Weights {
    /// The backends weighed, in order.
    pub names: Rc<[Name]>,
    /// The current weight of each.
    pub values: Vec<i64>,
}

impl fmt::Display for Weights {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, (name, w)) in self.names.iter().zip(&self.values).enumerate() {
            if i > 0 {
                f.write_str(" ")?;
            }
            write!(f, "{name}={w}")?;
        }
        Ok(())
    }
}

/// What a decision weighed: the numbers each algorithm decided on. These are data in the
/// trace; `Display` says them in one line, the same words as ever.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Why {
    /// No backend was ready.
    NoneReady,
    /// Only one backend was ready.
    OnlyReady {
        /// It.
        to: Name,
    },
    /// Smooth weighted round robin: the current weights after each gained its weight; the
    /// chosen one then pays back the total.
    RoundRobin {
        /// Current weights of the ready backends.
        current: Weights,
        /// The chosen backend.
        to: Name,
        /// The total of the ready weights.
        total: i64,
    },
    /// Least connections (nginx): the loads; when several tie, smooth weighted round robin
    /// among the tied ones (their current weights and total).
    LeastConnections {
        /// The ready backends' loads.
        loads: Loads,
        /// The tie, if there was one.
        tie: Option<(Weights, i64)>,
        /// The chosen backend.
        to: Name,
    },
    /// Least connections (HAProxy): the loads, and the backends tied with the chosen one.
    HaproxyLeastconn {
        /// The ready backends' loads.
        loads: Loads,
        /// Backends tied with the chosen one (it has been at its load longest).
        tied: Vec<Name>,
        /// The chosen backend.
        to: Name,
    },
    /// IP hash: the hashed key, its hash, the total weight, the slot it fell on, and the
    /// backends that were not ready on the way.
    IpHash {
        /// The key as hashed (`192.0.2.7`, or nginx's `192.0.2.x`).
        key: String,
        /// The hash.
        hash: u32,
        /// The total weight of the configured servers.
        total: u64,
        /// `hash % total`.
        slot: u64,
        /// Backends the hash fell on that were not ready.
        missed: Vec<Name>,
        /// The chosen backend.
        to: Name,
    },
    /// IP hash missed ready backends 21 times and took the next ready one.
    IpHashFallback {
        /// The key as hashed.
        key: String,
        /// The chosen backend.
        to: Name,
    },
    /// Maglev: the client's slot of the lookup table.
    Maglev {
        /// The client.
        client: Ipv4Addr,
        /// Its slot.
        slot: u64,
        /// The table's size.
        size: u64,
        /// The chosen backend.
        to: Name,
    },
    /// Power of two choices: the two drawn, with their loads.
    PowerOfTwo {
        /// The first drawn, and its requests in flight.
        a: (Name, u32),
        /// The second drawn, and its requests in flight.
        b: (Name, u32),
        /// The chosen backend.
        to: Name,
    },
    /// The proxy's sticky cookie named a ready backend.
    StickyCookie {
        /// The backend it named.
        to: Name,
    },
}

impl fmt::Display for Why {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Why::NoneReady => f.write_str("no backend is ready"),
            Why::OnlyReady { to } => write!(f, "only {to} is ready"),
            Why::RoundRobin { current, to, total } => {
                write!(f, "current weights {current} → {to} (then −{total})")
            }
            Why::LeastConnections {
                loads,
                tie: None,
                to,
            } => write!(f, "active {loads} → {to}"),
            Why::LeastConnections {
                loads,
                tie: Some((weights, total)),
                to,
            } => write!(
                f,
                "active {loads}; tied, current weights {weights} → {to} (then −{total})"
            ),
            Why::HaproxyLeastconn { loads, tied, to } => {
                write!(f, "active {loads} → {to}")?;
                if !tied.is_empty() {
                    write!(
                        f,
                        " (tied with {}: it has been at this load longest)",
                        tied.join(" ")
                    )?;
                }
                Ok(())
            }
            Why::IpHash {
                key,
                hash,
                total,
                slot,
                missed,
                to,
            } => {
                write!(
                    f,
                    "{key}: hash {hash} % total weight {total} = {slot} → {to}"
                )?;
                if !missed.is_empty() {
                    write!(f, " (after {} not ready)", missed.join(", "))?;
                }
                Ok(())
            }
            Why::IpHashFallback { key, to } => {
                write!(
                    f,
                    "{key}: 21 hashes missed ready backends → next ready {to}"
                )
            }
            Why::Maglev {
                client,
                slot,
                size,
                to,
            } => write!(f, "{client}: slot {slot} of {size} → {to}"),
            Why::PowerOfTwo { a, b, to } => write!(
                f,
                "{} ({} active) vs {} ({} active) → {to}",
                a.0, a.1, b.0, b.1
            ),
            Why::StickyCookie { to } => write!(f, "sticky cookie names {to} (ready)"),
        }
    }
}

/// A backend-choosing algorithm with its state.
#[derive(Clone, Debug)]
pub enum Selector {
    /// See [`Algorithm::RoundRobin`].
    RoundRobin {
        /// nginx's `current_weight` per backend.
        current: Vec<i64>,
        /// The ready backends' names, for the explanations.
        names: ReadyNames,
    },
    /// See [`Algorithm::LeastConnections`].
    LeastConnections {
        /// nginx's `current_weight` per backend, moved only by tied picks.
        current: Vec<i64>,
        /// The ready backends' names, for the explanations.
        names: ReadyNames,
    },
    /// See [`Algorithm::HaproxyLeastconn`].
    HaproxyLeastconn {
        /// Per backend: its key when last seen ready, and when it got that key.
        keys: Vec<Option<(u64, u64)>>,
        /// The clock for "when": bumped by every key change seen.
        stamp: u64,
        /// The ready backends' names, for the explanations.
        names: ReadyNames,
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
        why: Why::NoneReady,
    }
}

impl Selector {
    /// A selector for `backends`; `table_size` is Maglev's (a prime), `rng` P2C's stream.
    pub fn new(algorithm: Algorithm, backends: &[Candidate], table_size: u64, rng: Stream) -> Self {
        match algorithm {
            Algorithm::RoundRobin => Selector::RoundRobin {
                current: vec![0; backends.len()],
                names: ReadyNames::default(),
            },
            Algorithm::LeastConnections => Selector::LeastConnections {
                current: vec![0; backends.len()],
                names: ReadyNames::default(),
            },
            Algorithm::HaproxyLeastconn => Selector::HaproxyLeastconn {
                keys: vec![None; backends.len()],
                stamp: 0,
                names: ReadyNames::default(),
            },
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
            Selector::HaproxyLeastconn { .. } => Algorithm::HaproxyLeastconn,
            Selector::IpHash(key) => Algorithm::IpHash(*key),
            Selector::Maglev(_) => Algorithm::Maglev,
            Selector::PowerOfTwo(_) => Algorithm::PowerOfTwo,
        }
    }

    /// The backend set changed (added, removed, re-weighted, readiness): rebuild state.
    pub fn rebuild(&mut self, backends: &[Candidate]) {
        match self {
            Selector::RoundRobin { current, .. } | Selector::LeastConnections { current, .. } => {
                current.resize(backends.len(), 0)
            }
            Selector::HaproxyLeastconn { keys, .. } => keys.resize(backends.len(), None),
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
            Selector::RoundRobin { current, names } => smooth_round_robin(current, names, backends),
            Selector::LeastConnections { current, names } => {
                least_connections(current, names, backends)
            }
            Selector::HaproxyLeastconn { keys, stamp, names } => {
                haproxy_leastconn(keys, stamp, names, backends)
            }
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

/// `value` of each ready backend (its index and itself), in backend order, in one allocation
/// for the `ready` of them (a filtered iterator would collect into a vector grown five times
/// over 64 backends).
fn of_ready<T>(
    ready: usize,
    backends: &[Candidate],
    mut value: impl FnMut(usize, &Candidate) -> T,
) -> Vec<T> {
    let mut values = Vec::with_capacity(ready);
    for (i, b) in backends.iter().enumerate() {
        if b.ready {
            values.push(value(i, b));
        }
    }
    values
}

/// nginx's smooth weighted round robin: every ready backend gains its weight; the largest
/// current weight wins and pays back the total. Weights 5, 1, 1 give a a b a c a a.
fn smooth_round_robin(
    current: &mut [i64],
    names: &mut ReadyNames,
    backends: &[Candidate],
) -> Decision {
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
    let names = names.of(backends);
    let values = of_ready(names.len(), backends, |i, _| current[i]);
    let shown = Weights { names, values };
    let chosen = best.expect("some backend is ready");
    current[chosen] -= total;
    Decision {
        chosen: Some(chosen),
        algorithm: "round_robin",
        why: Why::RoundRobin {
            current: shown,
            to: backends[chosen].name.clone(),
            total,
        },
    }
}

/// nginx's `least_conn`: the first ready backend with the fewest active per unit of weight
/// (compared cross-multiplied, as nginx does); if others tie with it, smooth weighted round
/// robin over the tied ones picks, and only then do their current weights change.
fn least_connections(
    current: &mut [i64],
    names: &mut ReadyNames,
    backends: &[Candidate],
) -> Decision {
    // a.active / a.weight compared with b.active / b.weight, without division.
    let load = |i: usize, j: usize| {
        let (a, b) = (&backends[i], &backends[j]);
        (u64::from(a.active) * u64::from(b.weight))
            .cmp(&(u64::from(b.active) * u64::from(a.weight)))
    };
    let mut best: Option<usize> = None;
    let mut many = false;
    for (i, b) in backends.iter().enumerate() {
        if !b.ready {
            continue;
        }
        match best.map(|j| load(i, j)) {
            None | Some(core::cmp::Ordering::Less) => {
                best = Some(i);
                many = false;
            }
            Some(core::cmp::Ordering::Equal) => many = true,
            Some(core::cmp::Ordering::Greater) => {}
        }
    }
    let first = best.expect("some backend is ready");
    let loads = Loads::of(names, backends);
    if !many {
        return Decision {
            chosen: Some(first),
            algorithm: "least_connections",
            why: Why::LeastConnections {
                loads,
                tie: None,
                to: backends[first].name.clone(),
            },
        };
    }
    let tied: Vec<usize> = (first..backends.len())
        .filter(|&i| backends[i].ready && load(i, first).is_eq())
        .collect();
    let mut total = 0i64;
    let mut chosen = first;
    for &i in &tied {
        current[i] += i64::from(backends[i].weight);
        total += i64::from(backends[i].weight);
        if current[i] > current[chosen] {
            chosen = i;
        }
    }
    let weights = Weights {
        names: tied.iter().map(|&i| backends[i].name.clone()).collect(),
        values: tied.iter().map(|&i| current[i]).collect(),
    };
    current[chosen] -= total;
    Decision {
        chosen: Some(chosen),
        algorithm: "least_connections",
        why: Why::LeastConnections {
            loads,
            tie: Some((weights, total)),
            to: backends[chosen].name.clone(),
        },
    }
}

/// HAProxy's `leastconn` key for `active` in flight on `weight`: `SRV_EWGHT_MAX` (4096) per
/// in-flight request plus one, over the effective weight (16 per unit of weight); 0 when idle.
fn haproxy_key(active: u32, weight: u32) -> u64 {
    if active == 0 {
        0
    } else {
        (u64::from(active) + 1) * 4096 / (16 * u64::from(weight.max(1)))
    }
}

/// HAProxy's `leastconn`: the lowest key wins; among equal keys, the backend that has had its
/// key longest, as HAProxy's tree returns equal keys in the order they were queued. A backend
/// is re-queued whenever its load changes; this selector sees the loads at each pick, so
/// several changes between two picks are ordered by position.
fn haproxy_leastconn(
    keys: &mut [Option<(u64, u64)>],
    stamp: &mut u64,
    names: &mut ReadyNames,
    backends: &[Candidate],
) -> Decision {
    for (i, b) in backends.iter().enumerate() {
        if !b.ready {
            keys[i] = None;
            continue;
        }
        let key = haproxy_key(b.active, b.weight);
        if keys[i].is_none_or(|(k, _)| k != key) {
            *stamp += 1;
            keys[i] = Some((key, *stamp));
        }
    }
    let chosen = (0..backends.len())
        .filter_map(|i| keys[i].map(|k| (k, i)))
        .min()
        .map(|(_, i)| i)
        .expect("some backend is ready");
    let (key, _) = keys[chosen].expect("the chosen is ready");
    let tied = backends
        .iter()
        .enumerate()
        .filter(|&(i, _)| i != chosen && keys[i].is_some_and(|(k, _)| k == key))
        .map(|(_, b)| b.name.clone())
        .collect::<Vec<_>>();
    let loads = Loads::of(names, backends);
    // Taking the request re-queues it at once, behind every key already queued.
    let b = &backends[chosen];
    *stamp += 1;
    keys[chosen] = Some((haproxy_key(b.active + 1, b.weight), *stamp));
    Decision {
        chosen: Some(chosen),
        algorithm: "haproxy_leastconn",
        why: Why::HaproxyLeastconn {
            loads,
            tied,
            to: b.name.clone(),
        },
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
            why: Why::OnlyReady {
                to: backends[only].name.clone(),
            },
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
        why: Why::PowerOfTwo {
            a: (backends[a].name.clone(), backends[a].active),
            b: (backends[b].name.clone(), backends[b].active),
            to: backends[chosen].name.clone(),
        },
    }
}

#[cfg(test)]
mod tests;
