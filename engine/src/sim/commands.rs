//! Commands: changes to a running world, from its timeline or made live (the UI, a test).
//!
//! A live command is judged once, by the same rules as the timeline
//! ([`crate::scenario::command_problems`], through [`Scenario::validate`] of the scenario the
//! command would record), and only then carried out and recorded in the world's timeline at
//! the current time. So whatever is accepted live leaves a scenario that validates, and
//! replaying it gives the same event log: a timeline entry at `t` runs after everything else at
//! `t`, which is where a live change at `t` happens.

use core::fmt;

use crate::lb::{Balancer, PoolEdit};
use crate::net::{Link, Side};
use crate::scenario::{Command, Fault, HealthSpec, LinkSpec, Problem, Scenario, TimelineEntry};
use crate::time::{Duration, Instant};
use crate::trace::{Event as TraceEvent, SettingChange};

use super::build::pool_entry;
use super::host::App;
use super::traffic::works;
use super::{World, BALANCER};

/// Why a live command was refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CommandError {
    /// One of the command's fields is out of bounds or names nothing.
    Field {
        /// The field, as in the command's JSON (`weight`, `backend`, `link.loss`).
        field: String,
        /// What is wrong with it ("must be at least 1 and at most 1000").
        message: String,
    },
    /// The scenario's traffic has stopped: a change now would land after its end.
    AfterEnd {
        /// The scenario's duration.
        duration: Duration,
    },
    /// The command is fine by itself, but the scenario with it would not be (a later timeline
    /// entry names the backend it removes, a new backend would outgrow the Maglev table).
    Breaks(Problem),
}

impl fmt::Display for CommandError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CommandError::Field { field, message } => write!(f, "{field} {message}"),
            CommandError::AfterEnd { duration } => write!(
                f,
                "the scenario's traffic stopped at {duration}: restart to change the run"
            ),
            CommandError::Breaks(p) => write!(f, "this change would make {p}"),
        }
    }
}

impl std::error::Error for CommandError {}

impl World {
    /// The scenario as recorded so far: the one the world was built from, with every command
    /// applied live in its timeline. It validates, and replays to the same event log.
    pub fn scenario(&self) -> &Scenario {
        &self.recorded
    }

    /// The settings in force now: the scenario with the live changes and the timeline's
    /// changes so far (links, health checks, rates and mixes) applied.
    pub fn settings(&self) -> &Scenario {
        &self.settings
    }

    /// Whether `command` would be accepted now, and the scenario it would record.
    pub fn check(&self, command: &Command) -> Result<Scenario, CommandError> {
        let at = self.now - Instant::ZERO;
        let mut candidate = self.recorded.clone();
        let pos = candidate.timeline.partition_point(|e| e.at <= at);
        candidate.timeline.insert(
            pos,
            TimelineEntry {
                at,
                action: command.clone(),
            },
        );
        let problems = candidate.validate();
        let Some(first) = problems.first() else {
            return Ok(candidate);
        };
        // The new entry's own problems first; then whatever else it breaks.
        let own = format!("timeline[{pos}].");
        let kind = format!("{own}action.{}.", command.kind());
        let mine = problems.iter().find(|p| p.path.starts_with(&own));
        Err(match mine {
            Some(p) if p.path == format!("{own}at") => CommandError::AfterEnd {
                duration: self.recorded.duration,
            },
            Some(p) => CommandError::Field {
                field: p.path.strip_prefix(&kind).unwrap_or(&p.path).to_string(),
                message: p.message.clone(),
            },
            None => CommandError::Breaks(first.clone()),
        })
    }

    /// Changes the world at the current time, if the command is accepted ([`World::check`]),
    /// and records it in the timeline. Events still due at the current instant run first, as
    /// they will before the recorded entry when the scenario is replayed.
    pub fn apply(&mut self, command: Command) -> Result<(), CommandError> {
        self.run_until(self.now);
        let recorded = self.check(&command)?;
        // The composer's host is not in the scenario: its address is taken all the same.
        if let Command::AddBackend { backend } = &command {
            if self.by_address.contains_key(&backend.address) {
                return Err(CommandError::Field {
                    field: "backend.address".into(),
                    message: "is already used by another host".into(),
                });
            }
        }
        self.recorded = recorded;
        self.execute(command);
        Ok(())
    }

    /// Carries out a command that was judged already (a timeline entry, or a live command
    /// [`World::apply`] accepted).
    pub(super) fn execute(&mut self, command: Command) {
        let edit = match command {
            Command::SetFault { backend, fault } => {
                let h = self
                    .backend_by_name(&backend)
                    .expect("validated commands name backends");
                self.set_fault(h, fault);
                return;
            }
            Command::SetWeight { backend, weight } => {
                PoolEdit::Weight(self.pool_index(&backend), weight)
            }
            Command::SetDrain { backend, drained } => {
                PoolEdit::Drain(self.pool_index(&backend), drained)
            }
            Command::RemoveBackend { backend } => PoolEdit::Remove(self.pool_index(&backend)),
            Command::SetAlgorithm { algorithm } => {
                self.settings.balancer.algorithm = algorithm;
                PoolEdit::Algorithm(algorithm)
            }
            Command::SetLink { side, link } => return self.set_link(side, link),
            Command::SetHealth { health } => return self.set_health(health),
            Command::SetRate { group, rate } => {
                let gi = self.group_index(&group);
                return self.set_rate(gi, rate);
            }
            Command::SetMix { group, mix } => {
                let gi = self.group_index(&group);
                self.groups[gi].works = works(&mix);
                let change = SettingChange::Mix {
                    kinds: mix.len().max(1),
                    group,
                };
                self.settings.clients[gi].mix = mix;
                self.record_setting(change);
                return;
            }
            Command::AddBackend { backend } => {
                let index = self.metrics.backends.len();
                let link = Link::new(
                    Side::Server,
                    backend.link,
                    self.settings.network.server_link,
                    self.settings.seed,
                    &backend.name,
                );
                let h = self.add_backend_host(&backend, index, link);
                self.metrics.backends.push(Default::default());
                self.service(h);
                PoolEdit::Add(pool_entry(&backend, h))
            }
        };
        self.with_balancer(|b, ctx| b.change(edit, ctx));
    }

    /// The pool index of the backend called `name`, which is in the pool.
    fn pool_index(&self, name: &str) -> usize {
        self.balancer()
            .pool
            .iter()
            .position(|e| *e.name == *name && !e.removed)
            .expect("validated commands name backends in the pool")
    }

    /// The index of the client group called `name`, which exists.
    fn group_index(&self, name: &str) -> usize {
        self.settings
            .clients
            .iter()
            .position(|g| g.name == name)
            .expect("validated commands name client groups")
    }

    /// Runs `f` on the balancer at the current time, then services its host (what `f` changed
    /// may send packets).
    pub(super) fn with_balancer(
        &mut self,
        f: impl FnOnce(&mut Balancer, &mut crate::apps::Ctx<'_>),
    ) {
        self.with_ctx(BALANCER, |host, ctx| match &mut host.app {
            App::Balancer(b) => f(b, ctx),
            _ => unreachable!("the balancer position has a balancer"),
        });
        self.service(BALANCER);
    }

    /// Gives every host of `side` that follows its network's link properties `link`, and makes
    /// them the network's (a backend added later takes them).
    fn set_link(&mut self, side: Side, link: LinkSpec) {
        for host in &mut self.hosts {
            if let Some(l) = host.link.as_mut().filter(|l| l.side == side && !l.own) {
                l.set_spec(link);
            }
        }
        let network = &mut self.settings.network;
        match side {
            Side::Client => network.client_link = link,
            Side::Server => network.server_link = link,
        }
        let change = SettingChange::Links { side, link };
        self.record_setting(change);
    }

    /// Records a setting changed live.
    fn record_setting(&mut self, change: SettingChange) {
        let change = Box::new(change);
        self.trace
            .push(self.now, TraceEvent::SettingChanged { change });
    }

    /// Gives the balancer new health-check settings (or none) and makes them the scenario's.
    fn set_health(&mut self, health: Option<HealthSpec>) {
        let change = SettingChange::Health(health.clone());
        self.record_setting(change);
        self.settings.balancer.health = health.clone();
        self.with_balancer(|b, ctx| b.set_health(health, ctx));
    }

    /// Sets group `gi`'s rate and draws its next arrival afresh from now (or from its start, if
    /// it has not started), so that a change from a trickle to a flood shows at once.
    fn set_rate(&mut self, gi: usize, rate: f64) {
        let now = self.now;
        let group = &mut self.groups[gi];
        group.rate = rate;
        group.epoch += 1;
        let from = now.max(group.start);
        group.schedule_next(gi, from, &mut self.queue);
        let group = &mut self.settings.clients[gi];
        group.rate = rate;
        let change = SettingChange::Rate {
            group: group.name.clone(),
            rate,
        };
        self.record_setting(change);
    }

    /// Sets a backend's fault: a crash loses everything in memory and takes the host down; any
    /// other fault on a crashed host reboots it first.
    pub(super) fn set_fault(&mut self, h: crate::ids::HostId, fault: Fault) {
        let now = self.now;
        let host = &mut self.hosts[h.index()];
        let was = host.fault;
        host.fault = fault;
        if fault == Fault::Crash {
            if was != Fault::Crash {
                // Down, and everything in memory is gone.
                host.up = false;
                host.stack = host.fresh_stack(now);
                host.scheduled_poll = None;
                host.reset_apps();
            }
        } else {
            if was == Fault::Crash {
                // Rebooted: a fresh stack and an empty application.
                host.up = true;
                host.stack = host.fresh_stack(now);
                host.reset_apps();
            }
            if let App::Backend { server, .. } = &mut host.app {
                server.set_fault(fault, &mut host.stack);
            }
        }
        self.trace
            .push(now, TraceEvent::FaultSet { host: h, fault });
        self.service(h);
    }
}
