//! What the classification rows share: the fixture's desired entries, the row type and helpers.

use serde_json::Value;

use crate::model::{BackingKind, LiveBacking};
use crate::plan::ChangeClass;
use crate::state::desired::DesiredBacking;

pub(super) const SG: &str = "sg-0fedcba9876543210";

/// The fixture environment's entries (tests/fixtures/aws/state/production.yaml).
pub(super) fn desired(kind: BackingKind) -> DesiredBacking {
    let state = crate::state::load_str(
        std::path::Path::new("production.yaml"),
        include_str!("../../../../tests/fixtures/aws/state/production.yaml"),
        &|_| None,
    )
    .unwrap();
    state
        .backing
        .into_iter()
        .find(|backing| backing.kind == kind)
        .unwrap()
}

/// One row: what differs from the fixture, and the class each field change gets.
pub(super) struct Row {
    pub(super) kind: BackingKind,
    pub(super) what: &'static str,
    pub(super) desired: Vec<(&'static str, Value)>,
    pub(super) apply_immediately: bool,
    pub(super) live: fn() -> LiveBacking,
    pub(super) expected: &'static [(&'static str, ChangeClass)],
}

pub(super) fn same<T>(builder: T) -> T {
    builder
}

/// A row with nothing changed on the desired side.
pub(super) fn row(
    kind: BackingKind,
    what: &'static str,
    live: fn() -> LiveBacking,
    expected: &'static [(&'static str, ChangeClass)],
) -> Row {
    Row {
        kind,
        what,
        desired: Vec::new(),
        apply_immediately: false,
        live,
        expected,
    }
}
