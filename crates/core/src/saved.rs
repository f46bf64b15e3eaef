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
    /// `fresh` is the plan made now, from `live`: it says which fields moved, and their values.
    pub fn stale(
        &self,
        desired: &DesiredState,
        live: &LiveEnvironment,
        fresh: &Plan,
    ) -> Vec<String> {
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
                Some(after) if after != before => {
                    let moved = moved_fields(&self.plan, fresh, key);
                    reasons.push(if moved.is_empty() {
                        format!("{key} changed")
                    } else {
                        format!("{key} changed: {}", moved.join("; "))
                    })
                }
                Some(_) => {}
            }
        }
        for key in now.keys().filter(|key| !self.observed.contains_key(*key)) {
            reasons.push(format!("{key} appeared"));
        }
        reasons
    }
}

/// What moved in the resource `key` (`service NAME`, `image`, ...) between the plan saved and
/// the plan made now, field by field with the value then and now. A field that a plan does not
/// list matched the state file when that plan was made, so its value then is the state's.
fn moved_fields(saved: &Plan, fresh: &Plan, key: &str) -> Vec<String> {
    use crate::plan::{Change, FieldChange};
    let show = |value: &Option<serde_json::Value>| match value {
        None => "absent".to_string(),
        Some(value) => value.to_string(),
    };
    if key == "image" {
        return match (&saved.image_digest, &fresh.image_digest) {
            (then, now) if then != now => vec![format!(
                "{} named {} when the plan was made, {} now",
                fresh.image.as_deref().unwrap_or("the image"),
                then.as_deref().unwrap_or("nothing"),
                now.as_deref().unwrap_or("nothing")
            )],
            _ => Vec::new(),
        };
    }
    let fields = |plan: &Plan| -> Vec<FieldChange> {
        plan.changes
            .iter()
            .find(|c: &&Change| format!("{} {}", c.resource.kind.label(), c.resource.name) == key)
            .map(|c| c.fields.clone())
            .unwrap_or_default()
    };
    let (then, now) = (fields(saved), fields(fresh));
    let mut paths: Vec<&String> = then.iter().chain(&now).map(|f| &f.path).collect();
    paths.sort();
    paths.dedup();
    paths
        .into_iter()
        .filter_map(|path| {
            let find = |list: &[FieldChange]| list.iter().find(|f| &f.path == path).cloned();
            let (was, is) = match (find(&then), find(&now)) {
                (Some(t), Some(n)) => (t.before, n.before),
                (None, Some(n)) => (n.after, n.before),
                (Some(t), None) => (t.before, t.after),
                (None, None) => return None,
            };
            (was != is).then(|| {
                format!(
                    "{path} was {} when the plan was made, {} now",
                    show(&was),
                    show(&is)
                )
            })
        })
        .collect()
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
