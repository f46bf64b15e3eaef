//! Who owns what the state names: a resource carrying another environment's
//! `reconcile:environment` tag is that environment's, and the plan stops rather than relabel it,
//! unless the state takes it over from exactly that environment (`take_over_from:`); then the
//! plan says so for each resource it relabels.

use super::preconditions::PlanError;
use crate::model::LiveEnvironment;
use crate::state::DesiredState;
use crate::state::desired::ENVIRONMENT_TAG;

/// Each named resource another environment's tag claims: `(what, owner)`.
pub fn claimed_elsewhere(state: &DesiredState, live: &LiveEnvironment) -> Vec<(String, String)> {
    let other = |tags: &std::collections::BTreeMap<String, String>| {
        tags.get(ENVIRONMENT_TAG)
            .filter(|owner| **owner != state.environment)
            .cloned()
    };
    let mut claimed = Vec::new();
    if let Some(cluster) = &live.cluster
        && let Some(owner) = other(&cluster.tags)
    {
        claimed.push((format!("cluster {}", cluster.name), owner));
    }
    for service in &state.services {
        if let Some(owner) = live
            .services
            .get(&service.name)
            .and_then(|s| other(&s.tags))
        {
            claimed.push((format!("service {}", service.name), owner));
        }
    }
    for (key, backing) in &live.backing {
        if let Some(owner) = backing.tags.as_ref().and_then(other) {
            let kind = backing.kind.map_or("backing service", |kind| kind.label());
            claimed.push((format!("{kind} {} (backing.{key})", backing.name), owner));
        }
    }
    claimed
}

/// Stops the plan on resources another environment owns; notes those taken over.
pub(super) fn check_ownership(
    state: &DesiredState,
    live: &LiveEnvironment,
) -> Result<Vec<String>, PlanError> {
    let mut owned = Vec::new();
    let mut notes = Vec::new();
    for (what, owner) in claimed_elsewhere(state, live) {
        if state.take_over_from.as_deref() == Some(owner.as_str()) {
            notes.push(format!(
                "{what} is taken over from environment `{owner}`: its tag {ENVIRONMENT_TAG} becomes `{}`",
                state.environment
            ));
        } else {
            owned.push(format!("{what} is environment `{owner}`'s"));
        }
    }
    if owned.is_empty() {
        Ok(notes)
    } else {
        Err(PlanError::OwnedElsewhere { owned })
    }
}
