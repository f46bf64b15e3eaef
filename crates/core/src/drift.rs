//! Drift reports: every difference between an environment's state file and live AWS, told apart
//! as *drift* (live changed behind git's back: the state is what was last applied) or *pending*
//! (the state file changed and was not applied yet), from the record apply leaves on services.

use serde::Serialize;

use crate::plan::{Action, Change, Operation, Plan, ResourceKind};
use crate::state::desired::FINGERPRINT_TAG;

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
    pub reason: String,
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

/// Whether a service change comes from the state (its content record differs, or it does not
/// exist) or from live AWS (the record matches what the state asks for now).
fn service_kind(change: &Change) -> Kind {
    match &change.operation {
        Operation::UpdateService { tags, .. } if !tags.contains_key(FINGERPRINT_TAG) => Kind::Drift,
        _ => Kind::Pending,
    }
}

/// Classifies every difference of `plan`.
pub fn classify(plan: &Plan) -> Report {
    let services: Vec<&Change> = plan
        .changes
        .iter()
        .filter(|c| c.resource.kind == ResourceKind::Service && c.action != Action::NoOp)
        .collect();
    let differences = plan
        .changes
        .iter()
        .filter(|c| c.action != Action::NoOp && c.resource.kind != ResourceKind::Migration)
        .map(|change| {
            let kind = match change.resource.kind {
                ResourceKind::Service => service_kind(change),
                // RDS and Amazon MQ report their tags, so their record is read with them.
                ResourceKind::RdsInstance | ResourceKind::MqBroker => match &change.operation {
                    Operation::ModifyBacking { record, .. }
                        if !record.contains_key(FINGERPRINT_TAG) =>
                    {
                        Kind::Drift
                    }
                    _ => Kind::Pending,
                },
                // A task definition changes with its service: the same kind.
                ResourceKind::TaskDefinition => services
                    .iter()
                    .find(|s| match &s.operation {
                        Operation::UpdateService {
                            task_definition: Some(target),
                            ..
                        }
                        | Operation::CreateService {
                            task_definition: target,
                            ..
                        } => target
                            .display()
                            .starts_with(&format!("{}:", change.resource.name)),
                        _ => false,
                    })
                    .map_or(Kind::Pending, |s| service_kind(s)),
                _ => Kind::Unrecorded,
            };
            Difference {
                kind,
                resource: change.resource.clone(),
                action: change.action,
                fields: change.fields.iter().map(|f| f.path.clone()).collect(),
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
