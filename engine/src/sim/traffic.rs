//! Client traffic: each client group's arrivals (Poisson or constant, at its rate) and what
//! each arrival does (a request or a shopping session, drawn from the group's weighted mix).

use crate::apps::client::Work;
use crate::ids::HostId;
use crate::rng::Stream;
use crate::scenario::{Arrivals, MixEntry, RequestSpec};
use crate::time::{Duration, Instant};

use super::host::App;
use super::{Event, Queue, World};

/// One client group's arrivals.
pub(super) struct Group {
    pub(super) hosts: Vec<HostId>,
    pub(super) works: Vec<(u64, Work)>,
    pub(super) rate: f64,
    /// Bumped by each rate change, so that the arrival drawn at the old rate is skipped.
    pub(super) epoch: u32,
    pub(super) arrivals: Arrivals,
    pub(super) start: Instant,
    pub(super) stop: Instant,
    pub(super) rng: Stream,
}

impl Group {
    /// Draws the arrival after `from` and queues it (as group `gi`, in the current rate
    /// epoch), unless the group has stopped by then.
    pub(super) fn schedule_next(&mut self, gi: usize, from: Instant, queue: &mut Queue) {
        let next = from + self.gap();
        if next < self.stop {
            let epoch = self.epoch;
            queue.push(
                next,
                Event::Arrival {
                    group: gi as u32,
                    epoch,
                },
            );
        }
    }

    /// Time to the next arrival.
    fn gap(&mut self) -> Duration {
        let mean = Duration::from_secs_f64(1.0 / self.rate);
        match self.arrivals {
            Arrivals::Poisson => self.rng.exponential(mean).max(Duration::from_micros(1)),
            Arrivals::Constant => mean.max(Duration::from_micros(1)),
        }
    }
}

impl World {
    /// A client of group `gi` starts what the group's mix draws, and the next arrival is drawn.
    pub(super) fn arrival(&mut self, gi: usize) {
        let now = self.now;
        let group = &mut self.groups[gi];
        let h = group.hosts[group.rng.below(group.hosts.len() as u64) as usize];
        let pick = group
            .rng
            .weighted(group.works.iter().map(|(w, _)| *w))
            .expect("mixes have positive weights");
        let work = group.works[pick].1.clone();
        group.schedule_next(gi, now, &mut self.queue);
        self.with_ctx(h, |host, ctx| match &mut host.app {
            App::Client(c) => c.start(&work, &mut host.stack, ctx),
            _ => unreachable!("client groups hold clients"),
        });
        self.service(h);
    }
}

/// What a client group's arrivals do, weighted, from its mix (empty: `GET /`).
pub(super) fn works(mix: &[MixEntry]) -> Vec<(u64, Work)> {
    if mix.is_empty() {
        return vec![(
            1,
            Work::Request(RequestSpec {
                method: "GET".into(),
                path: "/".into(),
                body_bytes: 0,
            }),
        )];
    }
    mix.iter()
        .map(|m| {
            let work = match (&m.request, &m.cart) {
                (Some(r), _) => Work::Request(r.clone()),
                (None, Some(c)) => Work::Cart(*c),
                (None, None) => unreachable!("validated"),
            };
            (u64::from(m.weight), work)
        })
        .collect()
}
