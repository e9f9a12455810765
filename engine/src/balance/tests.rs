use super::maglev::is_prime;
use super::*;

fn backends(spec: &[(&str, u32)]) -> Vec<Candidate> {
    spec.iter()
        .map(|&(name, weight)| Candidate {
            name: name.into(),
            weight,
            member: true,
            ready: true,
            active: 0,
        })
        .collect()
}

fn names(b: &[Candidate], picks: impl IntoIterator<Item = Decision>) -> String {
    picks
        .into_iter()
        .map(|d| b[d.chosen.unwrap()].name.clone())
        .collect::<Vec<_>>()
        .join(" ")
}

fn selector(alg: Algorithm, b: &[Candidate]) -> Selector {
    Selector::new(alg, b, DEFAULT_TABLE_SIZE, Stream::new(1, "test"))
}

const CLIENT: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 1);

#[test]
fn smooth_round_robin_matches_nginx() {
    let b = backends(&[("a", 5), ("b", 1), ("c", 1)]);
    let mut s = selector(Algorithm::RoundRobin, &b);
    let seq: Vec<Decision> = (0..7).map(|_| s.pick(CLIENT, &b)).collect();
    assert_eq!(names(&b, seq.clone()), "a a b a c a a");
    assert_eq!(
        seq[0].why.to_string(),
        "current weights a=5 b=1 c=1 → a (then −7)"
    );
    // The cycle repeats.
    assert_eq!(
        names(&b, (0..7).map(|_| s.pick(CLIENT, &b))),
        "a a b a c a a"
    );
}

#[test]
fn round_robin_skips_backends_that_are_not_ready() {
    let mut b = backends(&[("a", 1), ("b", 1), ("c", 1)]);
    b[1].ready = false;
    let mut s = selector(Algorithm::RoundRobin, &b);
    assert_eq!(names(&b, (0..4).map(|_| s.pick(CLIENT, &b))), "a c a c");
    for x in &mut b {
        x.ready = false;
    }
    assert_eq!(s.pick(CLIENT, &b).chosen, None);
}

#[test]
fn explanations_name_the_backends_ready_at_each_pick() {
    // A selector keeps the ready names between picks: the list must follow readiness and
    // renames, for every algorithm that lists the backends.
    let mut b = backends(&[("a", 1), ("b", 1), ("c", 1)]);
    for (alg, before, after, renamed) in [
        (
            Algorithm::RoundRobin,
            "current weights a=1 b=1 c=1 → a (then −3)",
            "current weights a=-1 c=2 → c (then −2)",
            "current weights a=0 z=2 c=1 → z (then −3)",
        ),
        (
            Algorithm::LeastConnections,
            "active a=0 b=0 c=0; tied, current weights a=1 b=1 c=1 → a (then −3)",
            "active a=0 c=0; tied, current weights a=-1 c=2 → c (then −2)",
            "active a=0 z=0 c=0; tied, current weights a=0 z=2 c=1 → z (then −3)",
        ),
        (
            Algorithm::HaproxyLeastconn,
            "active a=0 b=0 c=0 → a (tied with b c: it has been at this load longest)",
            "active a=0 c=0 → c (tied with a: it has been at this load longest)",
            "active a=0 z=0 c=0 → a (tied with z c: it has been at this load longest)",
        ),
    ] {
        for x in &mut b {
            x.ready = true;
        }
        b[1].name = "b".into();
        let mut s = selector(alg, &b);
        assert_eq!(s.pick(CLIENT, &b).why.to_string(), before, "{alg:?}");
        b[1].ready = false;
        assert_eq!(s.pick(CLIENT, &b).why.to_string(), after, "{alg:?}");
        b[1].ready = true;
        b[1].name = "z".into();
        assert_eq!(s.pick(CLIENT, &b).why.to_string(), renamed, "{alg:?}");
    }
}

/// Picks `n` times with `alg` over `weights`; each pick's connection stays open when `held`,
/// else it ends before the next pick. The backends' names, in pick order.
fn least_sequence(alg: Algorithm, weights: &[u32], n: usize, held: bool) -> String {
    let names = ["A", "B", "C"];
    let spec: Vec<(&str, u32)> = weights
        .iter()
        .enumerate()
        .map(|(i, &w)| (names[i], w))
        .collect();
    let mut b = backends(&spec);
    let mut s = selector(alg, &b);
    let mut picks = Vec::new();
    for _ in 0..n {
        let d = s.pick(CLIENT, &b);
        let i = d.chosen.unwrap();
        if held {
            b[i].active += 1;
        }
        picks.push(b[i].name.clone());
    }
    picks.join(" ")
}

#[test]
fn least_connections_follows_nginx_least_conn() {
    // nginx's ngx_http_upstream_least_conn_module: fewest conns/weight; only when several tie
    // does smooth weighted round robin run over the tied ones (and move their weights).
    let nginx = Algorithm::LeastConnections;
    // Weights 1, 1, every connection kept open: 0/0 tie → A; B is alone at 0 → B (no weight
    // moves); 1/1 tie, B's current weight is now ahead → B; A alone at 1 → A; 2/2 tie → A.
    assert_eq!(least_sequence(nginx, &[1, 1], 6, true), "A B B A A B");
    // Weights 3, 1: A gets three connections for B's one, the ties (0/0, 3/1) going by
    // smooth weighted round robin.
    assert_eq!(least_sequence(nginx, &[3, 1], 8, true), "A B A A A B A A");
    // Every connection closed before the next pick: always a tie, so it is smooth weighted
    // round robin itself.
    assert_eq!(least_sequence(nginx, &[1, 1], 6, false), "A B A B A B");
    assert_eq!(least_sequence(nginx, &[3, 1], 8, false), "A A B A A A B A");

    let mut b = backends(&[("a", 1), ("b", 1), ("c", 1)]);
    b[0].active = 2;
    b[2].active = 1;
    let mut s = selector(nginx, &b);
    assert_eq!(s.pick(CLIENT, &b).why.to_string(), "active a=2 b=0 c=1 → b");
    // Weighted: 4 active on weight 4 beats 2 active on weight 1.
    let mut b = backends(&[("big", 4), ("small", 1)]);
    b[0].active = 4;
    b[1].active = 2;
    let mut s = selector(nginx, &b);
    let d = s.pick(CLIENT, &b);
    assert_eq!(b[d.chosen.unwrap()].name.as_ref(), "big");
    assert_eq!(d.why.to_string(), "active big=4/4 small=2 → big");
    // A tie says how it was broken.
    let b = backends(&[("a", 1), ("b", 1)]);
    let mut s = selector(nginx, &b);
    assert_eq!(
        s.pick(CLIENT, &b).why.to_string(),
        "active a=0 b=0; tied, current weights a=1 b=1 → a (then −2)"
    );
}

#[test]
fn haproxy_leastconn_keeps_its_arithmetic_and_queue_order() {
    let haproxy = Algorithm::HaproxyLeastconn;
    // Equal keys go to the backend that has had its key longest: with weights 1, 1 it
    // alternates, held or not.
    assert_eq!(least_sequence(haproxy, &[1, 1], 6, true), "A B A B A B");
    assert_eq!(least_sequence(haproxy, &[1, 1], 6, false), "A B A B A B");
    // Weights 3, 1, held: the key is (active + 1) × 4096 / (16 × weight), so B with one
    // connection (512) waits until A has five (5 × 4096 / 48 = 512, queued after B's): A takes
    // four in a row where nginx's active/weight gives B its turn after three.
    assert_eq!(least_sequence(haproxy, &[3, 1], 8, true), "A B A A A A B A");
    assert_eq!(haproxy_key(0, 1), 0);
    assert_eq!(haproxy_key(1, 1), 512);
    assert_eq!(haproxy_key(5, 3), 512);
    // A backend that was not ready re-joins behind the others at its key: b and c got a
    // connection each while a was down; a, back, takes the next (0 beats 512), and then
    // waits behind b and c at 512.
    let mut b = backends(&[("a", 1), ("b", 1), ("c", 1)]);
    let mut s = selector(haproxy, &b);
    b[0].ready = false;
    let mut picks = Vec::new();
    for k in 0..6 {
        if k == 2 {
            b[0].ready = true;
        }
        let d = s.pick(CLIENT, &b);
        let i = d.chosen.unwrap();
        b[i].active += 1;
        picks.push(b[i].name.clone());
    }
    assert_eq!(picks.join(" "), "b c a b c a");
    let b = backends(&[("a", 1), ("b", 1)]);
    let mut s = selector(haproxy, &b);
    assert_eq!(
        s.pick(CLIENT, &b).why.to_string(),
        "active a=0 b=0 → a (tied with b: it has been at this load longest)"
    );
}

#[test]
fn nginx_ip_hash_uses_the_first_three_octets() {
    let b = backends(&[("A", 1), ("B", 1), ("C", 1)]);
    let mut s = selector(Algorithm::IpHash(IpHashKey::Nginx), &b);
    // By hand: ((89·113 + 192) mod 6271 = 3978; (3978·113 + 168) mod 6271 = 4441;
    // (4441·113 + 1) mod 6271 = 154; 154 mod 3 = 1 → B.
    assert_eq!(nginx_ip_hash(89, &[192, 168, 1]), 154);
    let d10 = s.pick(Ipv4Addr::new(192, 168, 1, 10), &b);
    let d200 = s.pick(Ipv4Addr::new(192, 168, 1, 200), &b);
    assert_eq!(d10.chosen, Some(1));
    assert_eq!(d200.chosen, Some(1), "the same /24 lands together");
    assert_eq!(
        d10.why.to_string(),
        "192.168.1.x: hash 154 % total weight 3 = 1 → B"
    );
    // The whole-address mode tells them apart.
    let mut whole = selector(Algorithm::IpHash(IpHashKey::Address), &b);
    let spread: std::collections::BTreeSet<_> = (1..=20u8)
        .map(|d| whole.pick(Ipv4Addr::new(192, 168, 1, d), &b).chosen)
        .collect();
    assert!(
        spread.len() > 1,
        "whole addresses of one /24 spread over backends"
    );
}

#[test]
fn ip_hash_rehashes_past_a_backend_that_is_down() {
    let mut b = backends(&[("A", 1), ("B", 1), ("C", 1)]);
    b[1].ready = false;
    let mut s = selector(Algorithm::IpHash(IpHashKey::Nginx), &b);
    let d = s.pick(Ipv4Addr::new(192, 168, 1, 10), &b);
    // The first fold gives 154 → B, which is down; folding the same octets again from 154:
    // (154·113 + 192) mod 6271 = 5052; (5052·113 + 168) mod 6271 = 383;
    // (383·113 + 1) mod 6271 = 5654; 5654 mod 3 = 2 → C.
    assert_eq!(nginx_ip_hash(154, &[192, 168, 1]), 5654);
    assert_eq!(d.chosen, Some(2));
    assert!(
        d.why.to_string().contains("after B not ready"),
        "{}",
        d.why.to_string()
    );
}

fn maglev_names(m: &Maglev, b: &[Candidate]) -> String {
    m.table()
        .map(|i| b[i.unwrap()].name.clone())
        .collect::<Vec<_>>()
        .join(" ")
}

#[test]
fn maglev_reproduces_the_papers_example() {
    // NSDI 2016, Table 1: M = 7; (offset, skip) = B0 (3, 4), B1 (0, 2), B2 (3, 1).
    let mut b = backends(&[("B0", 1), ("B1", 1), ("B2", 1)]);
    let perms = vec![(3, 4), (0, 2), (3, 1)];
    let mut m = Maglev::with_permutations(&b, 7, perms);
    assert_eq!(maglev_names(&m, &b), "B1 B0 B1 B0 B2 B2 B0");
    b[1].ready = false;
    m.rebuild(&b);
    assert_eq!(maglev_names(&m, &b), "B0 B0 B0 B0 B2 B2 B2");
}

#[test]
fn maglev_shares_are_within_one_percent() {
    assert!(is_prime(DEFAULT_TABLE_SIZE));
    for n in 2..=12usize {
        let specs: Vec<(String, u32)> = (0..n).map(|i| (format!("backend-{i}"), 1)).collect();
        let b: Vec<Candidate> = specs
            .iter()
            .map(|(name, w)| Candidate {
                name: name.as_str().into(),
                weight: *w,
                member: true,
                ready: true,
                active: 0,
            })
            .collect();
        let m = Maglev::new(&b, DEFAULT_TABLE_SIZE);
        let mut counts = vec![0u64; n];
        for i in m.table() {
            counts[i.unwrap()] += 1;
        }
        let ideal = DEFAULT_TABLE_SIZE as f64 / n as f64;
        for c in &counts {
            assert!(
                (*c as f64 - ideal).abs() / ideal <= 0.01,
                "n={n}: {counts:?}"
            );
        }
    }
}

#[test]
fn maglev_weights_scale_shares() {
    let b = backends(&[("heavy", 3), ("light", 1)]);
    let m = Maglev::new(&b, DEFAULT_TABLE_SIZE);
    let heavy = m.table().filter(|i| *i == Some(0)).count() as f64;
    let share = heavy / DEFAULT_TABLE_SIZE as f64;
    assert!((share - 0.75).abs() < 0.01, "heavy share {share}");
}

/// Share of `clients` whose backend changes when the last of five backends leaves.
fn moved_when_one_leaves(alg: Algorithm) -> f64 {
    let mut b = backends(&[("A", 1), ("B", 1), ("C", 1), ("D", 1), ("E", 1)]);
    let mut s = selector(alg, &b);
    let clients: Vec<Ipv4Addr> = (0..2000u32)
        .map(|i| Ipv4Addr::from(0xc000_0200 + i * 7919))
        .collect();
    let before: Vec<_> = clients.iter().map(|&c| s.mapping(c, &b)).collect();
    b.pop();
    s.rebuild(&b);
    let moved = clients
        .iter()
        .zip(&before)
        .filter(|&(&c, &was)| s.mapping(c, &b) != was)
        .count();
    moved as f64 / clients.len() as f64
}

#[test]
fn maglev_moves_few_mappings_where_modulo_moves_most() {
    let maglev = moved_when_one_leaves(Algorithm::Maglev);
    let modulo = moved_when_one_leaves(Algorithm::IpHash(IpHashKey::Address));
    // Ideal for consistent hashing: only the leaving backend's fifth.
    assert!((0.15..0.30).contains(&maglev), "maglev moved {maglev}");
    assert!(modulo > 0.6, "modulo moved {modulo}");
}

#[test]
fn power_of_two_takes_the_less_loaded_of_two() {
    let mut b = backends(&[("A", 1), ("B", 1), ("C", 1)]);
    b[0].active = 10;
    b[1].active = 0;
    b[2].active = 5;
    let mut s = selector(Algorithm::PowerOfTwo, &b);
    let mut counts = [0u32; 3];
    for _ in 0..3000 {
        let d = s.pick(CLIENT, &b);
        counts[d.chosen.unwrap()] += 1;
    }
    // A is never the less loaded of two distinct backends; B wins whenever drawn (2/3).
    assert_eq!(counts[0], 0, "{counts:?}");
    assert!((1900..2100).contains(&counts[1]), "{counts:?}");
    b[1].ready = false;
    b[2].ready = false;
    let d = s.pick(CLIENT, &b);
    assert_eq!(d.chosen, Some(0));
    assert_eq!(d.why.to_string(), "only A is ready");
}
