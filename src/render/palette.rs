//! Colours and the page theme. Okabe–Ito's colour-blind-safe palette; every colour that carries
//! meaning also comes with a shape or a word.

use lbsim::trace::Outcome;
use lbsim::wire::dissect::PacketKind;

/// Backends' colours, by pool order (then again): red and green are kept for health and
/// failure, so a backend never wears them.
pub const BACKENDS: [&str; 6] = [
    "#0072b2", "#e69f00", "#cc79a7", "#56b4e9", "#f0e442", "#8e6c3e",
];

/// Health: up.
pub const UP: &str = "#009e73";
/// Health: down; failures.
pub const DOWN: &str = "#d55e00";
/// Health: a change under way (falling or rising).
pub const TREND: &str = "#e69f00";

/// The colour of backend number `i` in pool order.
pub fn backend(i: usize) -> &'static str {
    BACKENDS[i % BACKENDS.len()]
}

/// Colour of a packet kind; each kind also has its own shape.
pub fn packet(kind: PacketKind) -> &'static str {
    match kind {
        PacketKind::Control => "#56b4e9",
        PacketKind::Data => "#0072b2",
        PacketKind::Datagram => "#009e73",
        PacketKind::Probe => "#cc79a7",
        PacketKind::Rewritten => "#e69f00",
        PacketKind::Lost => "#d55e00",
    }
}

/// Colour of a request's outcome; each outcome also has its own mark.
pub fn outcome(o: Outcome) -> &'static str {
    match o {
        Outcome::Ok => UP,
        Outcome::HttpError => DOWN,
        Outcome::Refused => "#cc79a7",
        Outcome::Reset => "#e69f00",
        Outcome::Timeout => "#8c8c8c",
    }
}

/// The page's colours for drawing: ink, a muted ink, and the panel behind.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Theme {
    /// Text and outlines.
    pub ink: &'static str,
    /// Links and secondary text.
    pub muted: &'static str,
    /// Node fill.
    pub panel: &'static str,
    /// Reduced motion asked for (`prefers-reduced-motion`).
    pub reduced_motion: bool,
}

impl Theme {
    /// The light theme.
    pub const LIGHT: Theme = Theme {
        ink: "#1d1d1f",
        muted: "#6e6e73",
        panel: "#ffffff",
        reduced_motion: false,
    };
    /// The dark theme.
    pub const DARK: Theme = Theme {
        ink: "#e8eaed",
        muted: "#9aa0a6",
        panel: "#202124",
        reduced_motion: false,
    };

    /// The theme the page shows: `data-theme` on the root element if set, else the system's.
    pub fn current() -> Theme {
        let window = web_sys::window();
        let chosen = window
            .as_ref()
            .and_then(|w| w.document())
            .and_then(|d| d.document_element())
            .and_then(|e| e.get_attribute("data-theme"));
        let dark = match chosen.as_deref() {
            Some("dark") => true,
            Some("light") => false,
            _ => window
                .as_ref()
                .and_then(|w| w.match_media("(prefers-color-scheme: dark)").ok().flatten())
                .is_some_and(|m| m.matches()),
        };
        let theme = if dark { Theme::DARK } else { Theme::LIGHT };
        Theme {
            reduced_motion: super::reduced_motion(),
            ..theme
        }
    }
}
