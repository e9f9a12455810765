//! IP hash, as nginx's `ip_hash` computes it.
//!
//! nginx starts from 89 and folds in the client's address bytes with
//! `hash = (hash * 113 + byte) % 6271`, then walks the backends by weight to
//! `hash % total_weight` (the total over the configured backends, up or down). When that backend is not
//! ready it folds the same bytes in again and retries, up to 20 times. In nginx mode only the
//! first three octets count, so a whole /24 lands on one backend (192.168.1.10 and
//! 192.168.1.200 together); in address mode all four do. After 20 misses nginx falls back to
//! round robin; here the fallback is the next ready backend after the last miss, which keeps
//! the choice a pure function of the address.

use std::net::Ipv4Addr;

use serde::{Deserialize, Serialize};

use super::{Candidate, Decision, Why};

/// Which bytes of the client address are hashed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IpHashKey {
    /// All four octets.
    #[default]
    Address,
    /// The first three octets, as nginx's `ip_hash` does for IPv4.
    Nginx,
}

/// nginx's address fold, starting from `hash`.
pub fn nginx_ip_hash(mut hash: u32, bytes: &[u8]) -> u32 {
    for &b in bytes {
        hash = (hash * 113 + u32::from(b)) % 6271;
    }
    hash
}

/// The member at `w` in weight order (w < total weight of members).
fn by_weight(backends: &[Candidate], mut w: u64) -> usize {
    for (i, b) in backends.iter().enumerate().filter(|(_, b)| b.member) {
        let weight = u64::from(b.weight);
        if w < weight {
            return i;
        }
        w -= weight;
    }
    backends.len() - 1
}

/// Picks for `client`; a pure function of the address and the backends' readiness.
pub fn pick(key: IpHashKey, client: Ipv4Addr, backends: &[Candidate]) -> Decision {
    let octets = client.octets();
    let bytes = match key {
        IpHashKey::Address => &octets[..],
        IpHashKey::Nginx => &octets[..3],
    };
    let algorithm = match key {
        IpHashKey::Address => "ip_hash",
        IpHashKey::Nginx => "ip_hash_nginx",
    };
    let shown = match key {
        IpHashKey::Address => client.to_string(),
        IpHashKey::Nginx => format!("{}.{}.{}.x", octets[0], octets[1], octets[2]),
    };
    let total: u64 = backends
        .iter()
        .filter(|b| b.member)
        .map(|b| u64::from(b.weight))
        .sum();
    if total == 0 || !backends.iter().any(|b| b.ready) {
        return Decision {
            chosen: None,
            algorithm,
            why: Why::NoneReady,
        };
    }
    let mut hash = 89;
    let mut missed = Vec::new();
    for _ in 0..=20 {
        hash = nginx_ip_hash(hash, bytes);
        let w = u64::from(hash) % total;
        let i = by_weight(backends, w);
        if backends[i].ready {
            return Decision {
                chosen: Some(i),
                algorithm,
                why: Why::IpHash {
                    key: shown,
                    hash,
                    total,
                    slot: w,
                    missed,
                    to: backends[i].name.clone(),
                },
            };
        }
        missed.push(backends[i].name.clone());
    }
    let start = by_weight(backends, u64::from(hash) % total);
    let n = backends.len();
    let i = (1..=n)
        .map(|k| (start + k) % n)
        .find(|&i| backends[i].ready)
        .expect("some backend is ready");
    Decision {
        chosen: Some(i),
        algorithm,
        why: Why::IpHashFallback {
            key: shown,
            to: backends[i].name.clone(),
        },
    }
}
