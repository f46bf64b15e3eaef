//! Saved plans (`plan --out FILE`, `apply FILE`): the plan together with fingerprints of the state
//! it was made from and of every live resource it observed, so that apply can refuse a plan that
//! is no longer true and say what changed. A saved plan holds references, never secret values.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::fingerprint::fingerprint;
use crate::model::LiveEnvironment;
use crate::plan::Plan;
use crate::state::DesiredState;

/// Version of the saved-plan file; bumped on any incompatible change.
pub const SAVED_PLAN_VERSION: u32 = 2;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SavedPlan {
    pub saved_plan_version: u32,
    pub plan: Plan,
    /// SHA-256 of the resolved desired state the plan was made from.
    pub state: String,
    /// SHA-256 of each live resource the plan observed, by resource key.
    pub observed: BTreeMap<String, String>,
}

/// Every live resource a plan depends on, fingerprinted, keyed as `kind name`.
pub fn observed(live: &LiveEnvironment) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    out.insert("account".to_string(), fingerprint(&live.account));
    out.insert("image".to_string(), fingerprint(&live.image));
    out.insert("cluster".to_string(), fingerprint(&live.cluster));
    // Task counts and statuses move on their own (a deployment in progress, a backup): only what
    // a plan decides on counts.
    for (name, service) in &live.services {
        let decided = (
            &service.status,
            &service.task_definition_arn,
            &service.settings,
            &service.tags,
        );
        out.insert(format!("service {name}"), fingerprint(&decided));
    }
    for (arn, revision) in &live.task_definitions {
        out.insert(
            format!("task definition {}", crate::plan::short_revision(arn)),
            fingerprint(revision),
        );
    }
    for (family, revisions) in &live.candidates {
        out.insert(
            format!("recent revisions of {family}"),
            fingerprint(revisions),
        );
    }
    for (key, backing) in &live.backing {
        let decided = (
            &backing.id,
            &backing.settings,
            &backing.pending,
            &backing.outputs,
        );
        out.insert(format!("backing service {key}"), fingerprint(&decided));
    }
    for (group, exists) in &live.log_groups {
        out.insert(format!("log group {group}"), fingerprint(exists));
    }
    for (id, status) in &live.secrets {
        out.insert(format!("{id}"), fingerprint(status));
    }
    out
}

impl SavedPlan {
    pub fn new(plan: Plan, desired: &DesiredState, live: &LiveEnvironment) -> SavedPlan {
        SavedPlan {
            saved_plan_version: SAVED_PLAN_VERSION,
            plan,
            state: fingerprint(desired),
            observed: observed(live),
        }
    }

    /// What makes this plan stale: a changed state file, or live resources that changed,
    /// appeared or disappeared since it was made. Empty when it still holds.
    pub fn stale(&self, desired: &DesiredState, live: &LiveEnvironment) -> Vec<String> {
        let mut reasons = Vec::new();
        if fingerprint(desired) != self.state {
            reasons.push(format!(
                "the state file {} changed since the plan was made",
                desired.file.display()
            ));
        }
        let now = observed(live);
        for (key, before) in &self.observed {
            match now.get(key) {
                None => reasons.push(format!("{key} is gone")),
                Some(after) if after != before => reasons.push(format!("{key} changed")),
                Some(_) => {}
            }
        }
        for key in now.keys().filter(|key| !self.observed.contains_key(*key)) {
            reasons.push(format!("{key} appeared"));
        }
        reasons
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{LiveCluster, LiveEnvironment};

    fn live() -> LiveEnvironment {
        LiveEnvironment {
            account: "024209611402".into(),
            cluster: Some(LiveCluster {
                name: "kaapi-cluster".into(),
                arn: "arn:aws:ecs:ap-south-1:024209611402:cluster/kaapi-cluster".into(),
                status: "ACTIVE".into(),
                tags: BTreeMap::new(),
                capacity_providers: Vec::new(),
            }),
            ..LiveEnvironment::default()
        }
    }

    #[test]
    fn a_plan_is_stale_when_what_it_observed_changed() {
        let before = live();
        let observed_before = observed(&before);
        let mut after = live();
        assert!(observed(&after) == observed_before);
        after.cluster.as_mut().unwrap().status = "INACTIVE".into();
        let now = observed(&after);
        assert_ne!(now["cluster"], observed_before["cluster"]);
        assert_eq!(now["account"], observed_before["account"]);
    }
}
