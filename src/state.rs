//! UI state: what is selected, which panels are open, which events are shown. Everything about
//! the simulation itself lives in the engine's `World`; this is only how the page looks at it.

use std::rc::Rc;

use lbsim::ids::{PacketId, RequestId};
use yew::Reducible;

/// What the inspector shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Selection {
    /// Nothing selected.
    None,
    /// A packet on a link (or one the trace still holds).
    Packet(PacketId),
    /// A request and its story.
    Request(RequestId),
}

/// The side panel's tabs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SideTab {
    /// The packet or request inspector.
    Inspect,
    /// The lessons and their quizzes.
    Lessons,
    /// The balancer editor.
    Edit,
    /// The request composer.
    Send,
    /// Live charts.
    Charts,
    /// Compare mode.
    Compare,
}

/// Kinds of row in the event list, each with its own filter.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum EventKind {
    /// Packets sent, delivered and rewritten.
    Packets,
    /// Balancing decisions and routing.
    Decisions,
    /// Health probes and state changes.
    Health,
    /// Faults set and pool changes.
    Faults,
    /// Requests started and ended.
    Requests,
    /// Drops, failed requests, proxy errors.
    Errors,
}

impl EventKind {
    /// Every kind, in the filter bar's order.
    pub const ALL: [EventKind; 6] = [
        EventKind::Packets,
        EventKind::Decisions,
        EventKind::Health,
        EventKind::Faults,
        EventKind::Requests,
        EventKind::Errors,
    ];

    /// Its label.
    pub fn label(self) -> &'static str {
        match self {
            EventKind::Packets => "Packets",
            EventKind::Decisions => "Decisions",
            EventKind::Health => "Health",
            EventKind::Faults => "Faults",
            EventKind::Requests => "Requests",
            EventKind::Errors => "Errors",
        }
    }

    fn bit(self) -> u8 {
        1 << (self as u8)
    }
}

/// A message shown above the topology (a bad link, a failed command).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Notice {
    /// What happened, in words.
    pub text: String,
    /// Whether the previous work can be restored from local storage.
    pub can_restore: bool,
}

/// The whole UI state.
#[derive(Clone, Debug, PartialEq)]
pub struct UiState {
    /// What the inspector shows.
    pub selection: Selection,
    /// The inspector's highlighted field: (layer, field), in the packet shown.
    pub field: Option<(usize, usize)>,
    /// The open tab.
    pub tab: SideTab,
    /// Event kinds shown (a bit per kind).
    filters: u8,
    /// The open lesson, by preset name: the page shows the lesson layout.
    pub lesson: Option<String>,
    /// The canvas is shown as a table too.
    pub table: bool,
    /// The keyboard help is open.
    pub help: bool,
    /// A message for the user.
    pub notice: Option<Notice>,
}

impl Default for UiState {
    fn default() -> Self {
        UiState {
            selection: Selection::None,
            field: None,
            tab: SideTab::Inspect,
            filters: EventKind::ALL
                .iter()
                .filter(|k| **k != EventKind::Packets)
                .fold(0, |acc, k| acc | k.bit()),
            lesson: None,
            table: false,
            help: false,
            notice: None,
        }
    }
}

impl UiState {
    /// Whether rows of `kind` are shown.
    pub fn shows(&self, kind: EventKind) -> bool {
        self.filters & kind.bit() != 0
    }
}

/// Everything that changes the UI state.
#[derive(Clone, Debug, PartialEq)]
pub enum Action {
    /// Selects a packet, a request or nothing; opens the inspector.
    Select(Selection),
    /// Highlights a field of the inspected packet.
    Field(Option<(usize, usize)>),
    /// Opens a tab.
    Tab(SideTab),
    /// Shows or hides an event kind.
    ToggleFilter(EventKind),
    /// Opens a lesson's layout (or goes back to the playground with `None`).
    Lesson(Option<String>),
    /// Shows or hides the table view of the canvas.
    Table(bool),
    /// Opens or closes the keyboard help.
    Help(bool),
    /// Shows a notice, or clears it.
    Notice(Option<Notice>),
}

impl Reducible for UiState {
    type Action = Action;

    fn reduce(self: Rc<Self>, action: Action) -> Rc<Self> {
        let mut s = (*self).clone();
        match action {
            Action::Select(sel) => {
                s.selection = sel;
                s.field = None;
                if sel != Selection::None {
                    s.tab = SideTab::Inspect;
                }
            }
            Action::Field(f) => s.field = f,
            Action::Tab(t) => s.tab = t,
            Action::ToggleFilter(k) => s.filters ^= k.bit(),
            Action::Lesson(l) => s.lesson = l,
            Action::Table(t) => s.table = t,
            Action::Help(h) => s.help = h,
            Action::Notice(n) => s.notice = n,
        }
        if s == *self {
            self
        } else {
            Rc::new(s)
        }
    }
}
