//! Where everything sits on the canvas, in pixels: clients on the left (one by one up to 64,
//! else one node per group), the balancer in the middle, the backends on the right. The same
//! function lays out both sides of compare mode, so they share layout and scale; the DOM
//! overlay of hit targets reads the same positions.

use lbsim::ids::HostId;
use lbsim::view::Frame;

/// Clients drawn one by one up to this many; beyond, one node per group.
pub const INDIVIDUAL_UP_TO: usize = 64;

/// A rectangle: centre and size.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Rect {
    /// Centre x.
    pub x: f64,
    /// Centre y.
    pub y: f64,
    /// Width.
    pub w: f64,
    /// Height.
    pub h: f64,
}

impl Rect {
    /// Left edge.
    pub fn left(&self) -> f64 {
        self.x - self.w / 2.0
    }
    /// Right edge.
    pub fn right(&self) -> f64 {
        self.x + self.w / 2.0
    }
    /// Top edge.
    pub fn top(&self) -> f64 {
        self.y - self.h / 2.0
    }
    /// Bottom edge.
    pub fn bottom(&self) -> f64 {
        self.y + self.h / 2.0
    }
}

/// A client group drawn as one node.
#[derive(Clone, Debug, PartialEq)]
pub struct GroupSpot {
    /// The group's name.
    pub name: String,
    /// Where.
    pub rect: Rect,
    /// Its hosts.
    pub members: Vec<HostId>,
}

/// The whole layout.
#[derive(Clone, Debug, PartialEq)]
pub struct Layout {
    /// Canvas width and height, in CSS pixels.
    pub size: (f64, f64),
    /// The balancer position's host.
    pub hub: HostId,
    /// The balancer's box.
    pub balancer: Rect,
    /// Each backend's box, in pool order, with its host.
    pub backends: Vec<(HostId, Rect)>,
    /// Clients drawn one by one: host, centre and radius.
    pub clients: Vec<(HostId, (f64, f64), f64)>,
    /// Client groups drawn as nodes (when there are more than 64 clients).
    pub groups: Vec<GroupSpot>,
    /// Where each host's link ends, by host id: its own spot, or its group's.
    anchors: Vec<(f64, f64)>,
    /// Reduced motion (`prefers-reduced-motion`): what travels on a link is drawn at its
    /// middle, so it jumps from hop to hop instead of sliding.
    pub snap: bool,
}

impl Layout {
    /// Lays out `frame`'s hosts on a `w` × `h` canvas.
    pub fn of(frame: &Frame, w: f64, h: f64) -> Layout {
        let hub = frame.balancer.host;
        let mut anchors = vec![(w / 2.0, h / 2.0); frame.hosts.len()];
        let bw = (w * 0.17).clamp(120.0, 200.0);
        let balancer = Rect {
            x: w * 0.47,
            y: h * 0.5,
            w: bw,
            h: 62.0,
        };
        if let Some(a) = anchors.get_mut(hub.index()) {
            *a = (balancer.x, balancer.y);
        }
        // Backends: a column on the right.
        let n = frame.backends.len().max(1);
        let band = h * 0.9;
        let pitch = band / n as f64;
        let box_h = (pitch - 6.0).clamp(14.0, 46.0);
        let box_w = (w * 0.13).clamp(92.0, 140.0);
        let x = w - box_w / 2.0 - (w * 0.03).max(8.0);
        let backends = frame
            .backends
            .iter()
            .enumerate()
            .map(|(i, b)| {
                let r = Rect {
                    x,
                    y: h * 0.05 + pitch * (i as f64 + 0.5),
                    w: box_w,
                    h: box_h,
                };
                if let Some(a) = anchors.get_mut(b.host.index()) {
                    *a = (r.left(), r.y);
                }
                (b.host, r)
            })
            .collect();
        // Clients: a column (or a few) on the left, or one node per group.
        let clients_hosts: Vec<&lbsim::view::ClientView> = frame.clients.iter().collect();
        let x0 = (w * 0.05).max(16.0);
        let mut clients = Vec::new();
        let mut groups = Vec::new();
        if clients_hosts.len() <= INDIVIDUAL_UP_TO {
            let n = clients_hosts.len().max(1);
            let (mut cols, mut cell, mut r) = (1usize, 0.0, 0.0);
            for k in 1..=4usize {
                let rows = n.div_ceil(k);
                cell = (h * 0.88) / rows as f64;
                r = (cell * 0.4).min(9.0);
                cols = k;
                if r >= 5.0 {
                    break;
                }
            }
            let rows = n.div_ceil(cols);
            let col_gap = (2.8 * r + 4.0).max(12.0);
            for (i, c) in clients_hosts.iter().enumerate() {
                let (col, row) = (i / rows, i % rows);
                let pos = (
                    x0 + col as f64 * col_gap,
                    h * 0.06 + cell * (row as f64 + 0.5),
                );
                clients.push((c.host, pos, r.max(2.5)));
                if let Some(a) = anchors.get_mut(c.host.index()) {
                    *a = pos;
                }
            }
        } else {
            let mut names: Vec<&str> = Vec::new();
            for c in &clients_hosts {
                if !names.contains(&c.group.as_str()) {
                    names.push(&c.group);
                }
            }
            let g = names.len().max(1);
            let pitch = (h * 0.9) / g as f64;
            let gw = (w * 0.11).clamp(72.0, 120.0);
            for (i, name) in names.iter().enumerate() {
                let rect = Rect {
                    x: x0 + gw / 2.0 - 6.0,
                    y: h * 0.05 + pitch * (i as f64 + 0.5),
                    w: gw,
                    h: (pitch - 10.0).clamp(20.0, 44.0),
                };
                let members: Vec<HostId> = clients_hosts
                    .iter()
                    .filter(|c| c.group == *name)
                    .map(|c| c.host)
                    .collect();
                for m in &members {
                    if let Some(a) = anchors.get_mut(m.index()) {
                        *a = (rect.right(), rect.y);
                    }
                }
                groups.push(GroupSpot {
                    name: name.to_string(),
                    rect,
                    members,
                });
            }
        }
        Layout {
            size: (w, h),
            hub,
            balancer,
            backends,
            clients,
            groups,
            anchors,
            snap: false,
        }
    }

    /// Where host `h`'s link ends on its side.
    pub fn anchor(&self, h: HostId) -> (f64, f64) {
        self.anchors
            .get(h.index())
            .copied()
            .unwrap_or((self.size.0 / 2.0, self.size.1 / 2.0))
    }

    /// The balancer's side of host `h`'s link: its left edge for clients, its right for
    /// backends.
    pub fn hub_side(&self, h: HostId) -> (f64, f64) {
        let (x, _) = self.anchor(h);
        let b = &self.balancer;
        if x < b.x {
            (b.left(), b.y)
        } else {
            (b.right(), b.y)
        }
    }

    /// The point `p` of the way along host `h`'s link, going towards the balancer when
    /// `up`, nudged to its side of the line so the two directions do not overlap.
    pub fn along(&self, h: HostId, p: f64, up: bool) -> (f64, f64) {
        let p = if self.snap { 0.5 } else { p };
        let (x0, y0) = self.anchor(h);
        let (x1, y1) = self.hub_side(h);
        let (ax, ay, bx, by) = if up {
            (x0, y0, x1, y1)
        } else {
            (x1, y1, x0, y0)
        };
        let (dx, dy) = (bx - ax, by - ay);
        let len = (dx * dx + dy * dy).sqrt().max(1.0);
        let side = if up { 4.0 } else { -4.0 };
        let (nx, ny) = (-dy / len * side, dx / len * side);
        (ax + dx * p + nx, ay + dy * p + ny)
    }

    /// A backend's box.
    pub fn backend(&self, h: HostId) -> Option<Rect> {
        self.backends.iter().find(|(b, _)| *b == h).map(|(_, r)| *r)
    }

    /// Backend `h`'s colour index (its pool position).
    pub fn backend_index(&self, h: HostId) -> Option<usize> {
        self.backends.iter().position(|(b, _)| *b == h)
    }
}
