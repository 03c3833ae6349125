//! The alert rules' types (issue 22): [`AlertKind`], the one table of kinds and their names,
//! and [`AlertRule`], one `[[alerts.rules]]` entry as the store evaluates it. A leaf: it
//! imports nothing, so the store can hold rules without depending on the rest of the
//! configuration (`alerts.rs` reads them from the file).

/// What a rule watches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum AlertKind {
    /// The implied probability (1 / decimal) at a bookmaker rose by `percent` %.
    PriceShortened,
    /// The implied probability at a bookmaker fell by `percent` %.
    PriceDrifted,
    /// A runner became a non-runner.
    NonRunner,
    /// A race was abandoned.
    Abandoned,
    /// A race's going changed.
    GoingChanged,
    /// A runner's jockey changed.
    JockeyChanged,
}

impl AlertKind {
    /// Every kind with its configuration name (the one table of names).
    pub const ALL: [(AlertKind, &'static str); 6] = [
        (AlertKind::PriceShortened, "price_shortened"),
        (AlertKind::PriceDrifted, "price_drifted"),
        (AlertKind::NonRunner, "non_runner"),
        (AlertKind::Abandoned, "abandoned"),
        (AlertKind::GoingChanged, "going_changed"),
        (AlertKind::JockeyChanged, "jockey_changed"),
    ];

    /// The configuration name (also stored in `paddock_alerts.kind`).
    pub fn name(self) -> &'static str {
        Self::ALL
            .iter()
            .find(|(k, _)| *k == self)
            .map(|(_, n)| *n)
            .unwrap_or("unknown")
    }

    /// The kind of configuration name `name`.
    pub fn from_name(name: &str) -> Option<AlertKind> {
        Self::ALL.iter().find(|(_, n)| *n == name).map(|(k, _)| *k)
    }

    /// Whether the rule is about one bookmaker's prices (it has a percent and a window).
    pub fn is_price(self) -> bool {
        matches!(self, AlertKind::PriceShortened | AlertKind::PriceDrifted)
    }
}

/// One `[[alerts.rules]]` entry.
#[derive(Debug, Clone, PartialEq)]
pub struct AlertRule {
    /// The rule's name: part of each alert's unique key.
    pub name: String,
    pub kind: AlertKind,
    /// Price rules: the move of the implied probability, in percent, that fires the rule.
    pub percent: Option<f64>,
    /// Price rules: the window of stored history (API time) the move is measured against.
    pub within_minutes: u32,
}
