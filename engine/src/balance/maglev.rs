//! Maglev consistent hashing (Eisenbud et al., "Maglev: A Fast and Reliable Software Network
//! Load Balancer", NSDI 2016, §3.4).
//!
//! Each backend has a preference list over the `M` slots of a lookup table, the permutation
//! `(offset + j × skip) mod M`, with `offset` and `skip` from two hashes of its name (`M` prime,
//! so every skip visits every slot). Backends take turns claiming their next preferred free
//! slot until the table is full — each backend of weight `w` takes `w` turns per round — so
//! shares differ by at most a slot per turn, and when a backend leaves, only the slots it held
//! (and few others) change hands. A client maps to `table[hash(address) mod M]`.
//!
//! Only ready backends get slots: a backend that fails its health checks leaves the table.

use std::net::Ipv4Addr;

use super::{Candidate, Decision, Why};
use crate::rng::fnv1a64;

/// Katran's default table size: a prime, 1,000 times the 64 backends a scenario may have.
pub const DEFAULT_TABLE_SIZE: u64 = 65_537;

/// The lookup table and the permutations that built it.
#[derive(Clone, Debug)]
pub struct Maglev {
    size: u64,
    /// `(offset, skip)` per backend, by backend index.
    permutations: Vec<(u64, u64)>,
    /// Backend index per slot; `u16::MAX` when no backend is ready.
    table: Vec<u16>,
}

const EMPTY: u16 = u16::MAX;

/// A well-mixed 64-bit hash of a client address (SplitMix64's finaliser).
fn mix(address: Ipv4Addr) -> u64 {
    let mut z = u64::from(u32::from(address)).wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

impl Maglev {
    /// A table of `size` slots (a prime) for `backends`, permutations from their names.
    pub fn new(backends: &[Candidate], size: u64) -> Self {
        let permutations = backends
            .iter()
            .map(|b| Self::permutation_for(&b.name, size))
            .collect();
        Self::with_permutations(backends, size, permutations)
    }

    /// A table with given `(offset, skip)` pairs, as the paper's worked example states them.
    pub fn with_permutations(
        backends: &[Candidate],
        size: u64,
        permutations: Vec<(u64, u64)>,
    ) -> Self {
        let mut m = Maglev {
            size,
            permutations,
            table: Vec::new(),
        };
        m.rebuild(backends);
        m
    }

    fn permutation_for(name: &str, size: u64) -> (u64, u64) {
        let offset = fnv1a64(format!("maglev-offset/{name}").as_bytes()) % size;
        let skip = fnv1a64(format!("maglev-skip/{name}").as_bytes()) % (size - 1) + 1;
        (offset, skip)
    }

    /// Refills the table for the current backends (names, weights, readiness).
    pub fn rebuild(&mut self, backends: &[Candidate]) {
        while self.permutations.len() < backends.len() {
            let b = &backends[self.permutations.len()];
            self.permutations
                .push(Self::permutation_for(&b.name, self.size));
        }
        self.permutations.truncate(backends.len());
        let m = self.size as usize;
        self.table.clear();
        self.table.resize(m, EMPTY);
        let ready: Vec<usize> = (0..backends.len()).filter(|&i| backends[i].ready).collect();
        if ready.is_empty() {
            return;
        }
        let mut next = vec![0u64; backends.len()];
        let mut filled = 0usize;
        'fill: loop {
            for &i in &ready {
                for _ in 0..backends[i].weight.max(1) {
                    let (offset, skip) = self.permutations[i];
                    let slot = loop {
                        let c = ((offset + next[i] * skip) % self.size) as usize;
                        next[i] += 1;
                        if self.table[c] == EMPTY {
                            break c;
                        }
                    };
                    self.table[slot] = i as u16;
                    filled += 1;
                    if filled == m {
                        break 'fill;
                    }
                }
            }
        }
    }

    /// The backend index of each slot (`None` when no backend is ready).
    pub fn table(&self) -> impl Iterator<Item = Option<usize>> + '_ {
        self.table
            .iter()
            .map(|&b| (b != EMPTY).then_some(usize::from(b)))
    }

    /// The slot a client hashes to.
    pub fn slot(&self, client: Ipv4Addr) -> u64 {
        mix(client) % self.size
    }

    /// The backend a client maps to.
    pub fn lookup(&self, client: Ipv4Addr) -> Option<usize> {
        let b = self.table[self.slot(client) as usize];
        (b != EMPTY).then_some(usize::from(b))
    }

    /// Picks for `client`.
    pub fn pick(&self, client: Ipv4Addr, backends: &[Candidate]) -> Decision {
        let slot = self.slot(client);
        match self.lookup(client) {
            Some(i) => Decision {
                chosen: Some(i),
                algorithm: "maglev",
                why: Why::Maglev {
                    client,
                    slot,
                    size: self.size,
                    to: backends[i].name.clone(),
                },
            },
            None => Decision {
                chosen: None,
                algorithm: "maglev",
                why: Why::NoneReady,
            },
        }
    }
}

/// Whether `n` is prime (trial division; table sizes are small).
pub fn is_prime(n: u64) -> bool {
    if n < 2 {
        return false;
    }
    let mut d = 2;
    while d * d <= n {
        if n.is_multiple_of(d) {
            return false;
        }
        d += 1;
    }
    true
}
