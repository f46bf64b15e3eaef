//! Task definitions: the content a service should run, and whether to keep the running revision,
//! reuse an older one with exactly that content, or register a new one.

use std::collections::BTreeMap;

use serde_json::json;

use super::change::{
    Action, Change, Content, KnownAfterApply, Operation, Resource, ResourceKind, TaskDefinitionRef,
};
use super::fields::field_changes;
use super::preconditions::{ImageUris, PlanError, UnmanagedHolder, check_preconditions};
use crate::model::{
    ContainerDefinition, HealthCheck, LiveEnvironment, LogConfiguration, Revision, TaskDefinition,
};
use crate::normalize;
use crate::state::DesiredState;
use crate::state::desired::{COMMIT_TAG, DesiredLogs, DesiredService};
use crate::state::template::Template;

/// Backing-service outputs known now, as `(key, output)` to value. Outputs of a service that does
/// not exist yet or is to be replaced are unknown until apply.
pub fn known_outputs(
    state: &DesiredState,
    live: &LiveEnvironment,
) -> BTreeMap<(String, String), String> {
    let mut known = BTreeMap::new();
    for backing in &state.backing {
        let Some(current) = live.backing.get(&backing.key) else {
            continue;
        };
        if super::backing::assess(backing, current).replace {
            continue;
        }
        for (output, value) in &current.outputs {
            known.insert((backing.key.clone(), output.clone()), value.clone());
        }
    }
    known
}

/// What a variable shows until its backing service's output is known.
fn placeholder(template: &Template) -> String {
    format!("(known after apply: {template})")
}

fn render(template: &Template, known: &BTreeMap<(String, String), String>) -> String {
    template
        .render(|key, output| known.get(&(key.to_string(), output.to_string())).cloned())
        .unwrap_or_else(|| placeholder(template))
}

/// The variables of `service` whose values wait for backing-service outputs.
fn known_after_apply(
    state: &DesiredState,
    service: &DesiredService,
    known: &BTreeMap<(String, String), String>,
) -> Vec<KnownAfterApply> {
    let mut out = Vec::new();
    for container in &service.containers {
        let variables = container
            .env_outputs
            .iter()
            .map(|(name, template)| (name, template, false))
            .chain(
                container
                    .secret_outputs
                    .iter()
                    .map(|(name, template)| (name, template, true)),
            );
        for (variable, template, secret) in variables {
            let unknown = template
                .references()
                .any(|(key, output)| !known.contains_key(&(key.to_string(), output.to_string())));
            if !unknown {
                continue;
            }
            let mut needs: Vec<_> = template
                .references()
                .filter_map(|(key, _)| state.backing.iter().find(|b| b.key == key))
                .map(|b| (b.key.clone(), b.kind, b.name.clone()))
                .collect();
            needs.dedup();
            out.push(KnownAfterApply {
                container: container.name.clone(),
                variable: variable.clone(),
                secret,
                value: template.clone(),
                needs,
            });
        }
    }
    out
}

/// The task definition a service should run, in model form (not yet normalized). Variables that
/// refer to backing-service outputs take their values from `known`, or a placeholder.
pub fn desired_task_definition(
    state: &DesiredState,
    service: &DesiredService,
    account: &str,
    image_uri: Option<&str>,
    known: &BTreeMap<(String, String), String>,
) -> TaskDefinition {
    let containers = service
        .containers
        .iter()
        .map(|container| ContainerDefinition {
            name: container.name.clone(),
            image: container
                .image
                .clone()
                .or_else(|| image_uri.map(str::to_string))
                .unwrap_or_default(),
            essential: Some(container.essential),
            cpu: Some(container.cpu as i32),
            memory: container.memory.map(|m| m as i32),
            memory_reservation: container.memory_reservation.map(|m| m as i32),
            command: container.command.clone().unwrap_or_default(),
            entry_point: container.entry_point.clone().unwrap_or_default(),
            port_mappings: container.port_mappings.clone(),
            environment: container
                .env
                .clone()
                .into_iter()
                .chain(
                    container
                        .env_outputs
                        .iter()
                        .map(|(name, template)| (name.clone(), render(template, known))),
                )
                .collect(),
            secrets: container
                .secrets
                .iter()
                .map(|(name, reference)| {
                    (name.clone(), reference.value_from(&state.region, account))
                })
                .chain(
                    container
                        .secret_outputs
                        .iter()
                        .map(|(name, template)| (name.clone(), render(template, known))),
                )
                .collect(),
            health_check: container.health_check.as_ref().map(|health| HealthCheck {
                command: health.command.clone(),
                interval: Some(health.interval as i32),
                timeout: Some(health.timeout as i32),
                retries: Some(health.retries as i32),
                start_period: Some(health.start_period as i32),
            }),
            log_configuration: (container.logs.driver != crate::state::validate::NO_LOGS)
                .then(|| log_configuration(state, account, &container.logs)),
            settings: container.settings.clone(),
            aws: container.aws.clone(),
        })
        .collect();
    TaskDefinition {
        family: service.family.clone(),
        cpu: service.cpu.map(|cpu| cpu.to_string()),
        memory: service.memory.map(|memory| memory.to_string()),
        network_mode: Some(service.network_mode.clone()),
        requires_compatibilities: service.requires_compatibilities.clone(),
        execution_role_arn: service.execution_role_arn.clone(),
        task_role_arn: service.task_role_arn.clone(),
        containers,
        settings: service.task.clone(),
        aws: service.aws.clone(),
    }
}

/// A container's log configuration: awslogs writes to its group in the environment's region.
fn log_configuration(state: &DesiredState, account: &str, logs: &DesiredLogs) -> LogConfiguration {
    let mut options = logs.options.clone();
    if let Some(awslogs) = &logs.awslogs {
        options.insert("awslogs-group".to_string(), awslogs.group.clone());
        options.insert("awslogs-region".to_string(), state.region.clone());
        options.insert(
            "awslogs-stream-prefix".to_string(),
            awslogs.stream_prefix.clone(),
        );
    }
    LogConfiguration {
        log_driver: logs.driver.clone(),
        options,
        secret_options: logs
            .secret_options
            .iter()
            .map(|(name, reference)| (name.clone(), reference.value_from(&state.region, account)))
            .collect(),
    }
}

/// When the state's tag names other bytes than the running revision's application image: what
/// a person must see before the new bytes deploy when the state did not change (a tag moved in
/// ECR). A new tag is the headline's `from -> to`.
pub(super) fn image_moved(
    state: &DesiredState,
    current: Option<&Revision>,
    pinned: &str,
) -> Option<String> {
    let tag = state.image.as_ref()?.tag.as_ref()?;
    let (base, digest) = pinned.split_once('@')?;
    let running = current?
        .content
        .containers
        .iter()
        .find_map(|container| container.image.strip_prefix(&format!("{base}@")))?;
    (running != digest).then(|| {
        format!(
            "{tag} names {digest}, not the {running} that {} runs",
            current.map(Revision::short_name).unwrap_or_default()
        )
    })
}

/// The running revision, its application image read as the digest the state's tag names when it
/// names the image by that tag: a revision registered by hand (or before pinning) with
/// `REPO:TAG` is kept while the tag is the state's; only revisions reconcile registers name the
/// digest. (What a tag named when ECS resolved it is not in the revision: running tasks alone
/// know.)
pub(super) fn running_as_pinned(
    live: &LiveEnvironment,
    service: &DesiredService,
    image: Option<&ImageUris>,
) -> Option<Revision> {
    let mut running = current_revision(live, service)?.clone();
    if let Some(image) = image
        && image.named != image.pinned
    {
        for container in &mut running.content.containers {
            if container.image == image.named {
                container.image = image.pinned.clone();
            }
        }
    }
    Some(running)
}

fn current_revision<'a>(
    live: &'a LiveEnvironment,
    service: &DesiredService,
) -> Option<&'a Revision> {
    live.services
        .get(&service.name)
        .and_then(|running| live.task_definitions.get(&running.task_definition_arn))
}

/// Whether a `drop_unmanaged` entry names `path` or an object above it.
fn covers(listed: &str, path: &str) -> bool {
    path == listed
        || path
            .strip_prefix(listed)
            .is_some_and(|rest| rest.starts_with(['.', '[']))
}

/// Stops the plan when a running revision holds settings in AWS's names (beyond the typed
/// fields) that the state neither writes in its `aws:` blocks nor lets go of
/// (`drop_unmanaged`): registering any other revision would drop them. Paths listed to drop that
/// the revision does not hold are warnings (the list outlived its use).
pub(super) fn check_unmanaged(
    state: &DesiredState,
    live: &LiveEnvironment,
) -> Result<Vec<String>, PlanError> {
    let mut holders = Vec::new();
    let mut warnings = Vec::new();
    for service in &state.services {
        let Some(current) = current_revision(live, service) else {
            continue;
        };
        let wanted = crate::model::aws_task_paths(
            &service.aws,
            service.containers.iter().map(|c| (c.name.as_str(), &c.aws)),
            service
                .task
                .volumes
                .iter()
                .map(|v| (v.name.as_str(), &v.aws)),
        );
        let containers: Vec<&str> = service.containers.iter().map(|c| c.name.as_str()).collect();
        let volumes: Vec<&str> = service
            .task
            .volumes
            .iter()
            .map(|v| v.name.as_str())
            .collect();
        // What goes with a container or volume the state removes is shown with it.
        let kept_by_state = |path: &str| {
            let mut parts = path.splitn(3, '.');
            match (parts.next(), parts.next()) {
                (Some("containerDefinitions"), Some(name)) => containers.contains(&name),
                (Some("volumes"), Some(name)) => volumes.contains(&name),
                _ => true,
            }
        };
        let held = current.content.aws_paths();
        let kept: Vec<(String, String)> = held
            .iter()
            .filter(|(path, _)| {
                kept_by_state(path)
                    && !wanted.contains_key(*path)
                    && !service
                        .drop_unmanaged
                        .iter()
                        .any(|listed| covers(listed, path))
            })
            .map(|(path, value)| (path.clone(), value.to_string()))
            .collect();
        for listed in &service.drop_unmanaged {
            if !held.keys().any(|path| covers(listed, path)) {
                warnings.push(format!(
                    "services.{}.drop_unmanaged lists `{listed}`, which {} does not hold: remove it from the state file",
                    service.key,
                    current.short_name()
                ));
            }
        }
        if !kept.is_empty() {
            holders.push(UnmanagedHolder {
                service: service.key.clone(),
                service_name: service.name.clone(),
                revision: current.short_name(),
                settings: kept,
            });
        }
    }
    if holders.is_empty() {
        Ok(warnings)
    } else {
        Err(PlanError::UnmanagedSettings {
            file: state.file.display().to_string(),
            holders,
        })
    }
}

/// Families whose running revision differs from the desired content, or was deregistered
/// (INACTIVE): the observer then fetches their recent ACTIVE revisions so the plan can reuse a
/// matching one instead of registering.
pub fn families_needing_candidates(
    state: &DesiredState,
    live: &LiveEnvironment,
) -> Result<Vec<String>, PlanError> {
    let image = check_preconditions(state, live)?;
    let known = known_outputs(state, live);
    Ok(state
        .services
        .iter()
        .filter(|service| {
            let desired = normalize::task_definition(&desired_task_definition(
                state,
                service,
                &live.account,
                image.as_ref().map(|image| image.pinned.as_str()),
                &known,
            ));
            running_as_pinned(live, service, image.as_ref()).is_none_or(|current| {
                current.status != "ACTIVE"
                    || normalize::task_definition(&current.content) != desired
            })
        })
        .map(|service| service.family.clone())
        .collect())
}

pub(super) fn task_definition_change(
    state: &DesiredState,
    live: &LiveEnvironment,
    service: &DesiredService,
    image: Option<&ImageUris>,
    known: &BTreeMap<(String, String), String>,
) -> (Change, TaskDefinitionRef) {
    let definition = desired_task_definition(
        state,
        service,
        &live.account,
        image.map(|image| image.pinned.as_str()),
        known,
    );
    let desired = normalize::task_definition(&definition);
    let resource = Resource {
        kind: ResourceKind::TaskDefinition,
        name: service.family.clone(),
    };
    let running = running_as_pinned(live, service, image);
    let current = running.as_ref();
    // A deregistered (INACTIVE) revision keeps running, but ECS cannot start new tasks of it
    // for a new deployment: the service moves to an ACTIVE revision of the same content.
    let inactive = current.filter(|current| current.status != "ACTIVE");
    if let Some(current) = current
        && current.status == "ACTIVE"
        && normalize::task_definition(&current.content) == desired
    {
        return (
            Change {
                resource,
                action: Action::NoOp,
                reason: format!("{} matches the state", current.short_name()),
                fields: Vec::new(),
                content: None,
                record: None,
                operation: Operation::None,
            },
            TaskDefinitionRef::Existing {
                arn: current.arn.clone(),
            },
        );
    }
    // What differs from the running revision, shown whether a new revision is registered or an older one reused.
    let after = serde_json::to_value(&desired).unwrap_or_default();
    let after_label = format!("{} (desired)", service.family);
    let (fields, content) = match current {
        Some(current) => {
            let before = normalize::task_definition(&current.content);
            (
                field_changes(&before, &desired),
                Content {
                    before_label: format!("{} (running)", current.short_name()),
                    before: serde_json::to_value(&before).unwrap_or_default(),
                    after_label,
                    after,
                },
            )
        }
        // A first revision shows its whole content, as Terraform shows every attribute on create.
        None => (
            Vec::new(),
            Content {
                before_label: "(no revision running)".into(),
                before: json!({}),
                after_label,
                after,
            },
        ),
    };
    let content = Some(content);
    let candidates = live
        .candidates
        .get(&service.family)
        .map(Vec::as_slice)
        .unwrap_or(&[]);
    if let Some(matching) = candidates.iter().find(|revision| {
        revision.status == "ACTIVE" && normalize::task_definition(&revision.content) == desired
    }) {
        return (
            Change {
                resource,
                action: Action::NoOp,
                reason: format!(
                    "{}reuses {}: an existing revision with exactly this content",
                    inactive
                        .map(|current| format!(
                            "{} runs but is INACTIVE (deregistered), so ECS cannot start it again; ",
                            current.short_name()
                        ))
                        .unwrap_or_default(),
                    matching.short_name()
                ),
                fields,
                content,
                record: None,
                operation: Operation::None,
            },
            TaskDefinitionRef::Existing {
                arn: matching.arn.clone(),
            },
        );
    }
    let checked = |count: usize| match count {
        1 => "the family's only recent ACTIVE revision".to_string(),
        count => format!("each of the family's {count} most recent ACTIVE revisions"),
    };
    let same_as_inactive =
        inactive.is_some_and(|current| normalize::task_definition(&current.content) == desired);
    let reason = match (current, candidates.len()) {
        (Some(current), count) if same_as_inactive => format!(
            "{} runs but is INACTIVE (deregistered), so ECS cannot start it again, and {}",
            current.short_name(),
            match count {
                0 => "no ACTIVE revision of the family was found".to_string(),
                count => format!("its content differs from {}", checked(count)),
            }
        ),
        (Some(current), 0) => format!("content differs from {}", current.short_name()),
        (Some(current), count) => format!(
            "content differs from {} and from {}",
            current.short_name(),
            checked(count)
        ),
        (None, 0) => "no ACTIVE revision of the family exists".to_string(),
        (None, count) => format!("content differs from {}", checked(count)),
    };
    (
        Change {
            resource,
            action: Action::Create,
            reason: format!("register a new revision: {reason}"),
            fields,
            content,
            record: None,
            operation: Operation::RegisterTaskDefinition {
                definition,
                // The commit the revision comes from, for `history` (tags are not content).
                tags: state
                    .tags
                    .clone()
                    .into_iter()
                    .chain(
                        state
                            .commit
                            .clone()
                            .map(|commit| (COMMIT_TAG.to_string(), commit)),
                    )
                    .collect(),
                known_after_apply: known_after_apply(state, service, known),
            },
        },
        TaskDefinitionRef::Registered {
            family: service.family.clone(),
        },
    )
}
