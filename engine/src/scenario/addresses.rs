//! Where the hosts are: the addresses of client and player groups, and the ranges no host
//! may take.

use std::collections::BTreeSet;
use std::net::Ipv4Addr;

use super::{Problem, Scenario};

/// The documentation address ranges clients are drawn from (RFC 5737).
const CLIENT_RANGES: [[u8; 3]; 3] = [[192, 0, 2], [198, 51, 100], [203, 0, 113]];

impl Scenario {
    /// The addresses of every client and player host, group by group, as `(path, addresses)`.
    /// Groups without `first_address` take the next free documentation addresses, skipping the
    /// virtual IP and every explicitly placed host.
    pub fn endpoint_addresses(&self) -> Result<Vec<(String, Vec<Ipv4Addr>)>, Problem> {
        let groups = self
            .clients
            .iter()
            .enumerate()
            .map(|(i, g)| (format!("clients[{i}]"), g.count, g.first_address))
            .chain(
                self.players
                    .iter()
                    .enumerate()
                    .map(|(i, g)| (format!("players[{i}]"), g.count, g.first_address)),
            );
        let mut taken: BTreeSet<Ipv4Addr> = self.backends.iter().map(|b| b.address).collect();
        taken.insert(self.balancer.vip);
        taken.insert(self.balancer.inner);
        for (_, count, first) in groups.clone() {
            if let Some(first) = first {
                taken.extend((0..count).filter_map(|k| offset(first, k)));
            }
        }
        let mut pool = CLIENT_RANGES
            .iter()
            .flat_map(|[a, b, c]| (1..=254u8).map(move |d| Ipv4Addr::new(*a, *b, *c, d)))
            .filter(|a| !taken.contains(a));
        let mut out = Vec::new();
        for (path, count, first) in groups {
            let addrs: Vec<Ipv4Addr> = match first {
                Some(first) => {
                    let addrs: Vec<Ipv4Addr> =
                        (0..count).filter_map(|k| offset(first, k)).collect();
                    let fail = |message: String| Problem {
                        path: format!("{path}.first_address"),
                        message,
                    };
                    // Name the rule the range breaks, and where.
                    if let Some((k, a, range)) = addrs
                        .iter()
                        .enumerate()
                        .find_map(|(k, &a)| refused_range(a).map(|r| (k, a, r)))
                    {
                        return Err(fail(if k == 0 {
                            format!("{a} is {range}; hosts need unicast addresses")
                        } else {
                            format!(
                                "host {} of {count} would get {a}, which is {range}; start the range elsewhere",
                                k + 1
                            )
                        }));
                    }
                    if addrs.len() != count as usize {
                        return Err(fail(format!(
                            "{count} hosts from {first} run past 255.255.255.255 after {}",
                            addrs.len()
                        )));
                    }
                    addrs
                }
                None => {
                    let addrs: Vec<Ipv4Addr> = pool.by_ref().take(count as usize).collect();
                    if addrs.len() != count as usize {
                        return Err(Problem {
                            path: format!("{path}.count"),
                            message: "runs out of documentation addresses (762 in all); give first_address".to_string(),
                        });
                    }
                    addrs
                }
            };
            out.push((path, addrs));
        }
        Ok(out)
    }
}

pub(super) fn offset(first: Ipv4Addr, k: u32) -> Option<Ipv4Addr> {
    u32::from(first).checked_add(k).map(Ipv4Addr::from)
}

/// Which range of addresses the engine refuses for a host `a` falls in, in words, if any:
/// a host needs a unicast address a packet can be routed to.
pub(super) fn refused_range(a: Ipv4Addr) -> Option<&'static str> {
    if a.is_unspecified() {
        Some("the unspecified address (0.0.0.0)")
    } else if a.is_broadcast() {
        Some("the limited broadcast address (255.255.255.255)")
    } else if a.is_multicast() {
        Some("a multicast address (224.0.0.0/4)")
    } else if a.is_loopback() {
        Some("a loopback address (127.0.0.0/8)")
    } else {
        None
    }
}
