//! Drift reports: every difference between an environment's state file and live AWS, told apart
//! as *drift* (live changed behind git's back: the state is what was last applied) or *pending*
//! (the state file changed and was not applied yet), from the record apply leaves on services.

use serde::Serialize;

use crate::plan::{Action, Plan, RecordStatus, ResourceKind};

/// What kind of difference.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// Live AWS changed since the last apply of the same state.
    Drift,
    /// The state file changed since the last apply (or was never applied).
    Pending,
    /// No record tells (ElastiCache, clusters, log groups): applying fixes it either way.
    Unrecorded,
}

impl Kind {
    pub fn label(self) -> &'static str {
        match self {
            Kind::Drift => "drift",
            Kind::Pending => "pending",
            Kind::Unrecorded => "unrecorded",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Difference {
    pub kind: Kind,
    pub resource: crate::plan::Resource,
    pub action: Action,
    /// The differing fields' paths.
    pub fields: Vec<String>,
    /// Each differing field with its live value and the value the state file asks for.
    pub values: Vec<FieldValues>,
    pub reason: String,
}

/// One differing field: what live AWS holds and what the state file asks for (`None`: absent).
/// Secrets appear only as their references, as everywhere in a plan.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FieldValues {
    pub path: String,
    pub live: Option<serde_json::Value>,
    pub state: Option<serde_json::Value>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    pub environment: String,
    pub account: String,
    pub region: String,
    pub differences: Vec<Difference>,
}

impl Report {
    pub fn clean(&self) -> bool {
        self.differences.is_empty()
    }

    pub fn count(&self, kind: Kind) -> usize {
        self.differences.iter().filter(|d| d.kind == kind).count()
    }

    /// One line: `production: 1 drift, 2 pending, 0 unrecorded` or `production: clean`.
    pub fn summary(&self) -> String {
        if self.clean() {
            format!("{}: clean", self.environment)
        } else {
            format!(
                "{}: {} drift, {} pending, {} unrecorded",
                self.environment,
                self.count(Kind::Drift),
                self.count(Kind::Pending),
                self.count(Kind::Unrecorded)
            )
        }
    }
}

/// Classifies every difference of `plan`.
pub fn classify(plan: &Plan) -> Report {
    let differences = plan
        .changes
        .iter()
        .filter(|c| c.action != Action::NoOp && c.resource.kind != ResourceKind::Migration)
        .map(|change| {
            // The planner read the record: drift where it matches the state, pending where not.
            let kind = match change.record {
                Some(RecordStatus::Matches) => Kind::Drift,
                Some(RecordStatus::Stale) => Kind::Pending,
                Some(RecordStatus::Unrecorded) | None => Kind::Unrecorded,
            };
            Difference {
                kind,
                resource: change.resource.clone(),
                action: change.action,
                fields: change.fields.iter().map(|f| f.path.clone()).collect(),
                values: change
                    .fields
                    .iter()
                    .map(|f| FieldValues {
                        path: f.path.clone(),
                        live: f.before.clone(),
                        state: f.after.clone(),
                    })
                    .collect(),
                reason: change.reason.clone(),
            }
        })
        .collect();
    Report {
        environment: plan.environment.clone(),
        account: plan.account.clone(),
        region: plan.region.clone(),
        differences,
    }
}
