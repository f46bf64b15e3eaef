//! What a task needs before it can start and ECS does not check at deploy time: its secrets must
//! exist and its awslogs group too. Only what no running task already uses is looked up.

use std::collections::BTreeSet;

use super::change::{Action, Change, Operation, Resource, ResourceKind};
use super::preconditions::PlanError;
use crate::model::{LiveEnvironment, SecretId, SecretStatus};
use crate::state::DesiredState;

/// Every secret reference of the desired containers, with the variable and container using it,
/// and those of backing services still to be created (read by apply to create them).
fn secret_uses<'a>(
    state: &'a DesiredState,
    live: &'a LiveEnvironment,
) -> impl Iterator<Item = (String, Option<SecretId>, String)> + 'a {
    let account = live.account.as_str();
    let backing = state
        .backing
        .iter()
        .filter(|backing| !live.backing.contains_key(&backing.key))
        .filter_map(move |backing| {
            let reference = backing.secret.as_ref()?;
            let field = match backing.kind {
                crate::model::BackingKind::Redis => "auth_token",
                _ => "admin_password",
            };
            Some((
                reference.value_from(&state.region, account),
                reference.lookup_id(&state.region, account),
                format!("{field} of backing service {}", backing.key),
            ))
        });
    let containers = state.services.iter().flat_map(move |service| {
        service.containers.iter().flat_map(move |container| {
            let variables = container
                .secrets
                .iter()
                .map(|(variable, reference)| (variable.clone(), reference));
            // Secret log options (a Splunk token, ...) are read by ECS at task start too.
            let log_options = container
                .logs
                .secret_options
                .iter()
                .map(|(option, reference)| (format!("log option {option}"), reference));
            variables.chain(log_options).map(move |(what, reference)| {
                (
                    reference.value_from(&state.region, account),
                    reference.lookup_id(&state.region, account),
                    format!(
                        "{what} in container {} of {}",
                        container.name, service.family
                    ),
                )
            })
        })
    });
    containers.chain(backing)
}

/// Secrets whose existence the observer should check: those referenced by the state but by no
/// task definition the services run now. A reference that running tasks already use has been
/// resolved by ECS; a new one would only fail when tasks start, long after the apply said "done".
pub fn secrets_to_check(state: &DesiredState, live: &LiveEnvironment) -> BTreeSet<SecretId> {
    let in_use: BTreeSet<&str> = live
        .task_definitions
        .values()
        .flat_map(|revision| revision.content.containers.iter())
        .flat_map(|container| {
            let options = container
                .log_configuration
                .iter()
                .flat_map(|logs| logs.secret_options.values());
            container.secrets.values().chain(options)
        })
        .map(String::as_str)
        .collect();
    secret_uses(state, live)
        .filter(|(value_from, ..)| !in_use.contains(value_from.as_str()))
        .filter_map(|(_, id, _)| id)
        .collect()
}

/// Missing secrets stop the plan; secrets that could not be checked become warnings.
pub(super) fn check_secrets(
    state: &DesiredState,
    live: &LiveEnvironment,
) -> Result<Vec<String>, PlanError> {
    let mut missing = BTreeSet::new();
    let mut warnings = BTreeSet::new();
    for (_, id, used_by) in secret_uses(state, live) {
        match id
            .as_ref()
            .and_then(|id| live.secrets.get(id).map(|s| (id, s)))
        {
            Some((id, SecretStatus::Missing { reason })) => {
                missing.insert(format!("{used_by}: {id} {reason}"));
            }
            Some((id, SecretStatus::Unchecked { reason })) => {
                warnings.insert(format!(
                    "could not check that {id} exists ({reason}); tasks will not start if it does not"
                ));
            }
            Some((_, SecretStatus::Exists)) | None => {}
        }
    }
    if !missing.is_empty() {
        return Err(PlanError::SecretsMissing {
            missing: missing.into_iter().collect(),
            account: live.account.clone(),
            region: state.region.clone(),
        });
    }
    Ok(warnings.into_iter().collect())
}

/// The awslogs groups the desired containers write to, each once, in order of first use.
fn desired_log_groups(state: &DesiredState) -> Vec<&str> {
    let mut groups: Vec<&str> = Vec::new();
    let awslogs = state
        .services
        .iter()
        .flat_map(|s| &s.containers)
        .filter_map(|container| container.logs.awslogs.as_ref());
    for logs in awslogs {
        if !groups.contains(&logs.group.as_str()) {
            groups.push(&logs.group);
        }
    }
    groups
}

/// Log groups whose existence the observer checks: every group a desired container writes to.
/// Running tasks writing to a group prove nothing: a group deleted after they started stays
/// "in use" by them while the next deployment's tasks could not start.
pub fn log_groups_to_check(state: &DesiredState) -> BTreeSet<String> {
    desired_log_groups(state)
        .into_iter()
        .map(str::to_string)
        .collect()
}

/// A task whose awslogs group does not exist fails to start, so a missing group is created first.
pub(super) fn log_group_changes(state: &DesiredState, live: &LiveEnvironment) -> Vec<Change> {
    desired_log_groups(state)
        .into_iter()
        .map(|group| {
            let resource = Resource {
                kind: ResourceKind::LogGroup,
                name: group.to_string(),
            };
            let exists = |reason: &str| Change {
                resource: resource.clone(),
                action: Action::NoOp,
                reason: reason.to_string(),
                fields: Vec::new(),
                content: None,
                record: None,
                operation: Operation::None,
            };
            match live.log_groups.get(group) {
                Some(true) => exists("exists"),
                _ => Change {
                    resource,
                    action: Action::Create,
                    reason: "does not exist: tasks cannot start without their awslogs group".into(),
                    fields: Vec::new(),
                    content: None,
                    record: None,
                    operation: Operation::CreateLogGroup {
                        name: group.to_string(),
                        tags: state.tags.clone(),
                    },
                },
            }
        })
        .collect()
}
