//! One request's story, told from the trace: when the client sent it, what the balancer
//! decided and why, which backend served it and how long that took, and how it ended. The
//! request view draws its waterfall from this.
//!
//! The trace ties a request to its connection (the client's local endpoint); the balancer's
//! records name the same endpoint, and the backend's records name the path, so the story is
//! read back exactly, without timing guesses. Records that the trace ring has already dropped
//! leave their step out.

use std::net::SocketAddrV4;

use crate::ids::{HostId, RequestId};
use crate::scenario::{MatchSpec, Mode};
use crate::time::{Duration, Instant};
use crate::trace::{Event, Outcome, Record};

use super::World;

/// What a step of the story is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StepKind {
    /// The client sent the request.
    Sent,
    /// The balancer chose a backend (for the connection at L4, for the request at L7).
    Decision,
    /// The proxy matched a rule and a pool.
    Routed,
    /// The backend served it.
    Served,
    /// The proxy answered the client.
    ProxyAnswered,
    /// The client got its outcome.
    Ended,
}

/// One step.
#[derive(Clone, Debug, PartialEq)]
pub struct Step {
    /// When.
    pub at: Instant,
    /// How long it took, for steps with a duration (service time, the whole request).
    pub took: Option<Duration>,
    /// What it is.
    pub kind: StepKind,
    /// In words.
    pub text: String,
}

/// A request's story.
#[derive(Clone, Debug, PartialEq)]
pub struct RequestStory {
    /// The request.
    pub request: RequestId,
    /// The client host.
    pub client: HostId,
    /// The client's end of the connection.
    pub local: SocketAddrV4,
    /// Method and path.
    pub line: String,
    /// The backend that served it, if one did.
    pub backend: Option<HostId>,
    /// The rule that matched (L7), in words.
    pub rule: Option<String>,
    /// Its steps, in time order.
    pub steps: Vec<Step>,
    /// How it ended, if it has.
    pub outcome: Option<(Outcome, Option<u16>)>,
}

/// A rule's conditions in words: `path starts with /api and host is shop.example`.
pub fn describe_match(m: &MatchSpec) -> String {
    let mut parts = Vec::new();
    if let Some(p) = &m.path_prefix {
        parts.push(format!("path starts with {p}"));
    }
    if let Some(p) = &m.path {
        parts.push(format!("path is {p}"));
    }
    if let Some(h) = &m.host {
        parts.push(format!("host is {h}"));
    }
    if let Some(x) = &m.method {
        parts.push(format!("method is {x}"));
    }
    if let Some(h) = &m.header {
        parts.push(match &h.value {
            Some(v) => format!("header {} is {v}", h.name),
            None => format!("header {} is present", h.name),
        });
    }
    if let Some(c) = &m.cookie {
        parts.push(match &c.value {
            Some(v) => format!("cookie {} is {v}", c.name),
            None => format!("cookie {} is present", c.name),
        });
    }
    parts.join(" and ")
}

impl World {
    /// The story of `request`, if the trace still holds its start.
    pub fn request_story(&self, request: RequestId) -> Option<RequestStory> {
        let records: Vec<&Record> = self.trace.records().collect();
        let start = records.iter().position(
            |r| matches!(&r.event, Event::RequestStarted { request: q, .. } if *q == request),
        )?;
        let Event::RequestStarted {
            client,
            line,
            local,
            ..
        } = &records[start].event
        else {
            unreachable!("found above");
        };
        let (method, path) = (&line.method, &line.path);
        let started = records[start].at;
        let name = |h: HostId| self.hosts[h.index()].name.clone();
        let mut story = RequestStory {
            request,
            client: *client,
            local: *local,
            line: format!("{method} {path}"),
            backend: None,
            rule: None,
            steps: vec![Step {
                at: started,
                took: None,
                kind: StepKind::Sent,
                text: format!("{} sends {method} {path} from {local}", name(*client)),
            }],
            outcome: None,
        };
        let end = records[start..]
            .iter()
            .position(
                |r| matches!(&r.event, Event::RequestEnded { request: q, .. } if *q == request),
            )
            .map(|i| start + i);
        let window = &records[start..end.map_or(records.len(), |e| e + 1)];
        let balancer = &self.settings.balancer;
        let l7 = balancer.mode == Mode::L7;
        if l7 {
            self.l7_steps(&mut story, window, path);
        } else {
            // At L4 the decision was made when the connection opened, which for a reused
            // connection is before this request: the latest decision for this endpoint.
            let decision = records[..end.unwrap_or(records.len())]
                .iter()
                .rev()
                .find(|r| matches!(&r.event, Event::Decision { client: c, .. } if c == local));
            if let Some(Record {
                at,
                event:
                    Event::Decision {
                        backend,
                        algorithm,
                        explanation,
                        ..
                    },
                ..
            }) = decision
            {
                story.backend = *backend;
                let reused = if *at < started {
                    " (when the connection opened; it is reused)"
                } else {
                    ""
                };
                story.steps.push(Step {
                    at: *at,
                    took: None,
                    kind: StepKind::Decision,
                    text: format!(
                        "{algorithm} picks {}{reused}: {explanation}",
                        backend.map_or("no backend".to_string(), name)
                    ),
                });
            }
            if let Some(b) = story.backend {
                // NAT keeps the client's address and port; DSR too.
                if let Some(r) = window.iter().find(|r| {
                    matches!(&r.event, Event::RequestServed { host, peer, line: l, .. }
                        if *host == b && peer == local && l.path == *path)
                }) {
                    push_served(&mut story, r, &name(b));
                }
            }
        }
        if let Some(r) = end.map(|e| records[e]) {
            if let Event::RequestEnded {
                outcome,
                status,
                latency,
                ..
            } = &r.event
            {
                story.outcome = Some((*outcome, *status));
                story.steps.push(Step {
                    at: r.at,
                    took: Some(*latency),
                    kind: StepKind::Ended,
                    text: match status {
                        Some(s) => format!("{} gets {s} ({})", name(*client), outcome.name()),
                        None => format!("{} gives up: {}", name(*client), outcome.name()),
                    },
                });
            }
        }
        story.steps.sort_by_key(|s| s.at);
        Some(story)
    }

    fn l7_steps(&self, story: &mut RequestStory, window: &[&Record], path: &str) {
        let name = |h: HostId| self.hosts[h.index()].name.clone();
        let local = story.local;
        let mut conn = None;
        let mut after = None;
        for r in window {
            match &r.event {
                Event::Decision {
                    client,
                    backend,
                    algorithm,
                    explanation,
                    ..
                } if *client == local => {
                    story.steps.push(Step {
                        at: r.at,
                        took: None,
                        kind: StepKind::Decision,
                        text: format!(
                            "{algorithm} picks {}: {explanation}",
                            backend.map_or("no backend".to_string(), name)
                        ),
                    });
                }
                Event::ProxyRequest {
                    conn: c,
                    client,
                    route,
                    backend,
                    retry,
                    ..
                } if *client == local && route.path == path && conn.is_none_or(|k| k == *c) => {
                    conn = Some(*c);
                    let (rule, pool) = (route.rule, &route.pool);
                    let rules = &self.settings.balancer.l7.rules;
                    let words = match rule.and_then(|i| rules.get(i as usize).map(|x| (i, x))) {
                        Some((i, x)) => {
                            format!("rule {} ({})", i + 1, describe_match(&x.conditions))
                        }
                        None => "no rule matched: the default pool".to_string(),
                    };
                    story.rule = Some(words.clone());
                    story.backend = *backend;
                    story.steps.push(Step {
                        at: r.at,
                        took: None,
                        kind: StepKind::Routed,
                        text: format!(
                            "{}{words} → pool {pool} → {}",
                            if *retry { "retry: " } else { "" },
                            backend.map_or("no ready backend".to_string(), name)
                        ),
                    });
                    after = Some(r.at);
                }
                Event::RequestServed { host, line: l, .. }
                    if Some(*host) == story.backend
                        && l.path == *path
                        && after.is_some_and(|a| r.at >= a)
                        && !story.steps.iter().any(|s| s.kind == StepKind::Served) =>
                {
                    push_served(story, r, &name(*host));
                }
                Event::ProxyResponse {
                    conn: c,
                    status,
                    error,
                    ..
                } if conn == Some(*c)
                    && !story
                        .steps
                        .iter()
                        .any(|s| s.kind == StepKind::ProxyAnswered) =>
                {
                    story.steps.push(Step {
                        at: r.at,
                        took: None,
                        kind: StepKind::ProxyAnswered,
                        text: match error {
                            Some(e) => format!("the proxy answers {status} itself: {e:?}"),
                            None => format!("the proxy relays the backend's {status}"),
                        },
                    });
                }
                _ => {}
            }
        }
    }
}

fn push_served(story: &mut RequestStory, r: &Record, backend: &str) {
    if let Event::RequestServed {
        status, service, ..
    } = &r.event
    {
        story.steps.push(Step {
            // The record is written when the response goes out; the work began `service`
            // earlier.
            at: Instant::from_micros(r.at.as_micros().saturating_sub(service.as_micros())),
            took: Some(*service),
            kind: StepKind::Served,
            text: format!("{backend} works on it for {service} and answers {status}"),
        });
    }
}
