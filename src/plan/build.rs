//! The planner: desired state plus observed live state in, typed plan out. Pure and deterministic.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Value, json};

use super::fields::{FieldChange, field_changes, unified_diff};
use super::{
    Action, Change, Operation, PLAN_FORMAT_VERSION, Plan, Resource, ResourceKind,
    TaskDefinitionRef, short_revision,
};
use crate::model::{
    ContainerDefinition, HealthCheck, LiveEnvironment, LiveService, LogConfiguration, PortMapping,
    Revision, SecretId, SecretStatus, ServiceSettings, TaskDefinition,
};
use crate::normalize;
use crate::state::DesiredState;
use crate::state::desired::DesiredService;

/// Why no plan could be made. Nothing has been written when one of these is returned.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlanError {
    #[error(
        "image {image} not found in ECR (account {account}, region {region}): push it before deploying, or fix image.tag in the state file"
    )]
    ImageMissing {
        image: String,
        account: String,
        region: String,
    },
    #[error(
        "the AWS credentials belong to account {actual}, but the state file is for account {expected}: refusing to touch another account"
    )]
    AccountMismatch { expected: String, actual: String },
    #[error(
        "secrets referenced by the state file do not exist (account {account}, region {region}), so tasks could not start:\n{}\ncreate them before deploying, or fix the references under `secrets:`",
        missing.iter().map(|m| format!("  - {m}")).collect::<Vec<_>>().join("\n")
    )]
    SecretsMissing {
        missing: Vec<String>,
        account: String,
        region: String,
    },
}

fn check_preconditions(state: &DesiredState, live: &LiveEnvironment) -> Result<String, PlanError> {
    if let Some(expected) = &state.account
        && expected != &live.account
    {
        return Err(PlanError::AccountMismatch {
            expected: expected.clone(),
            actual: live.account.clone(),
        });
    }
    match &live.image {
        Some(image) => Ok(state.image.uri(&image.registry_id, &state.region)),
        None => Err(PlanError::ImageMissing {
            image: state.image.display(),
            account: live.account.clone(),
            region: state.region.clone(),
        }),
    }
}

/// The task definition a service should run, in model form (not yet normalized).
pub fn desired_task_definition(
    state: &DesiredState,
    service: &DesiredService,
    account: &str,
    image_uri: &str,
) -> TaskDefinition {
    let containers = service
        .containers
        .iter()
        .map(|container| ContainerDefinition {
            name: container.name.clone(),
            image: container
                .image
                .clone()
                .unwrap_or_else(|| image_uri.to_string()),
            essential: Some(container.essential),
            cpu: Some(container.cpu as i32),
            memory: container.memory.map(|m| m as i32),
            memory_reservation: container.memory_reservation.map(|m| m as i32),
            command: container.command.clone().unwrap_or_default(),
            entry_point: container.entry_point.clone().unwrap_or_default(),
            port_mappings: container
                .port
                .map(|port| PortMapping {
                    container_port: i32::from(port),
                    host_port: Some(i32::from(port)),
                    protocol: Some("tcp".into()),
                })
                .into_iter()
                .collect(),
            environment: container.env.clone(),
            secrets: container
                .secrets
                .iter()
                .map(|(name, reference)| {
                    (name.clone(), reference.value_from(&state.region, account))
                })
                .collect(),
            health_check: container.health_check.as_ref().map(|health| HealthCheck {
                command: health.command.clone(),
                interval: Some(health.interval as i32),
                timeout: Some(health.timeout as i32),
                retries: Some(health.retries as i32),
                start_period: Some(health.start_period as i32),
            }),
            log_configuration: Some(LogConfiguration {
                log_driver: "awslogs".into(),
                options: BTreeMap::from([
                    ("awslogs-group".to_string(), container.logs.group.clone()),
                    ("awslogs-region".to_string(), state.region.clone()),
                    (
                        "awslogs-stream-prefix".to_string(),
                        container.logs.stream_prefix.clone(),
                    ),
                ]),
            }),
        })
        .collect();
    TaskDefinition {
        family: service.family.clone(),
        cpu: Some(service.cpu.to_string()),
        memory: Some(service.memory.to_string()),
        network_mode: Some("awsvpc".into()),
        requires_compatibilities: vec!["FARGATE".into()],
        execution_role_arn: service.execution_role_arn.clone(),
        task_role_arn: service.task_role_arn.clone(),
        containers,
        unmanaged: BTreeMap::new(),
    }
}

fn desired_settings(service: &DesiredService) -> ServiceSettings {
    ServiceSettings {
        desired_count: service.desired_count.map(|count| count as i32),
        launch_type: Some("FARGATE".into()),
        platform_version: Some(service.platform_version.clone()),
        network: Some(service.network.clone()),
        deployment: Some(service.deployment),
        load_balancers: service.load_balancers.clone(),
        health_check_grace_period: service.health_check_grace_period.map(|s| s as i32),
    }
}

fn current_revision<'a>(
    live: &'a LiveEnvironment,
    service: &DesiredService,
) -> Option<&'a Revision> {
    live.services
        .get(&service.name)
        .and_then(|running| live.task_definitions.get(&running.task_definition_arn))
}

/// Families whose running revision differs from the desired content: the observer then fetches
/// their recent ACTIVE revisions so the plan can reuse a matching one instead of registering.
pub fn families_needing_candidates(
    state: &DesiredState,
    live: &LiveEnvironment,
) -> Result<Vec<String>, PlanError> {
    let image_uri = check_preconditions(state, live)?;
    Ok(state
        .services
        .iter()
        .filter(|service| {
            let desired = normalize::task_definition(&desired_task_definition(
                state,
                service,
                &live.account,
                &image_uri,
            ));
            current_revision(live, service)
                .is_none_or(|current| normalize::task_definition(&current.content) != desired)
        })
        .map(|service| service.family.clone())
        .collect())
}

/// Every secret reference of the desired containers, with the variable and container using it.
fn secret_uses<'a>(
    state: &'a DesiredState,
    account: &'a str,
) -> impl Iterator<Item = (String, Option<SecretId>, String)> + 'a {
    state.services.iter().flat_map(move |service| {
        service.containers.iter().flat_map(move |container| {
            container.secrets.iter().map(move |(variable, reference)| {
                (
                    reference.value_from(&state.region, account),
                    reference.lookup_id(&state.region, account),
                    format!(
                        "{variable} in container {} of {}",
                        container.name, service.family
                    ),
                )
            })
        })
    })
}

/// Secrets whose existence the observer should check: those referenced by the state but by no
/// task definition the services run now. A reference that running tasks already use has been
/// resolved by ECS; a new one would only fail when tasks start, long after the apply said "done".
pub fn secrets_to_check(state: &DesiredState, live: &LiveEnvironment) -> BTreeSet<SecretId> {
    let in_use: BTreeSet<&str> = live
        .task_definitions
        .values()
        .flat_map(|revision| revision.content.containers.iter())
        .flat_map(|container| container.secrets.values())
        .map(String::as_str)
        .collect();
    secret_uses(state, &live.account)
        .filter(|(value_from, ..)| !in_use.contains(value_from.as_str()))
        .filter_map(|(_, id, _)| id)
        .collect()
}

/// Missing secrets stop the plan; secrets that could not be checked become warnings.
fn check_secrets(state: &DesiredState, live: &LiveEnvironment) -> Result<Vec<String>, PlanError> {
    let mut missing = BTreeSet::new();
    let mut warnings = BTreeSet::new();
    for (_, id, used_by) in secret_uses(state, &live.account) {
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

/// Computes the plan that makes `live` match `state`.
pub fn plan(state: &DesiredState, live: &LiveEnvironment) -> Result<Plan, PlanError> {
    let image_uri = check_preconditions(state, live)?;
    let warnings = check_secrets(state, live)?;
    let mut changes = Vec::new();

    let digest = live
        .image
        .as_ref()
        .map(|image| image.digest.clone())
        .unwrap_or_default();
    changes.push(Change {
        resource: Resource {
            kind: ResourceKind::Image,
            name: state.image.display(),
        },
        action: Action::NoOp,
        reason: format!("exists in ECR ({digest})"),
        fields: Vec::new(),
        diff: None,
        operation: Operation::None,
    });
    changes.push(cluster_change(state, live));
    changes.extend(log_group_changes(state, live));

    let mut service_changes = Vec::new();
    for service in &state.services {
        let (definition_change, target) = task_definition_change(state, live, service, &image_uri);
        changes.push(definition_change);
        service_changes.push(service_change(
            state,
            live.services.get(&service.name),
            service,
            target,
        ));
    }
    changes.extend(service_changes);

    Ok(Plan {
        format_version: PLAN_FORMAT_VERSION,
        environment: state.environment.clone(),
        region: state.region.clone(),
        account: live.account.clone(),
        state_file: state.file.display().to_string(),
        image: image_uri,
        warnings,
        changes,
    })
}

/// The awslogs groups the desired containers write to, each once, in order of first use.
fn desired_log_groups(state: &DesiredState) -> Vec<&str> {
    let mut groups: Vec<&str> = Vec::new();
    for container in state.services.iter().flat_map(|s| &s.containers) {
        if !groups.contains(&container.logs.group.as_str()) {
            groups.push(&container.logs.group);
        }
    }
    groups
}

/// Log groups the running task definitions write to: those exist, or their tasks could not run.
fn log_groups_in_use(live: &LiveEnvironment) -> BTreeSet<&str> {
    live.task_definitions
        .values()
        .flat_map(|revision| &revision.content.containers)
        .filter_map(|container| container.log_configuration.as_ref())
        .filter_map(|logs| logs.options.get("awslogs-group"))
        .map(String::as_str)
        .collect()
}

/// Log groups whose existence the observer should check: desired ones no running task writes to.
pub fn log_groups_to_check(state: &DesiredState, live: &LiveEnvironment) -> BTreeSet<String> {
    let in_use = log_groups_in_use(live);
    desired_log_groups(state)
        .into_iter()
        .filter(|group| !in_use.contains(group))
        .map(str::to_string)
        .collect()
}

/// A task whose awslogs group does not exist fails to start, so a missing group is created first.
fn log_group_changes(state: &DesiredState, live: &LiveEnvironment) -> Vec<Change> {
    let in_use = log_groups_in_use(live);
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
                diff: None,
                operation: Operation::None,
            };
            if in_use.contains(group) {
                return exists("written to by the running tasks");
            }
            match live.log_groups.get(group) {
                Some(true) => exists("exists"),
                _ => Change {
                    resource,
                    action: Action::Create,
                    reason: "does not exist: tasks cannot start without their awslogs group".into(),
                    fields: Vec::new(),
                    diff: None,
                    operation: Operation::CreateLogGroup {
                        name: group.to_string(),
                        tags: state.tags.clone(),
                    },
                },
            }
        })
        .collect()
}

fn cluster_change(state: &DesiredState, live: &LiveEnvironment) -> Change {
    let resource = Resource {
        kind: ResourceKind::Cluster,
        name: state.cluster.clone(),
    };
    match live
        .cluster
        .as_ref()
        .filter(|cluster| cluster.status == "ACTIVE")
    {
        None => Change {
            resource,
            action: Action::Create,
            reason: "does not exist".into(),
            fields: Vec::new(),
            diff: None,
            operation: Operation::CreateCluster {
                name: state.cluster.clone(),
                tags: state.tags.clone(),
            },
        },
        Some(cluster) => {
            let (fields, missing) = tag_changes(&cluster.tags, &state.tags);
            if missing.is_empty() {
                Change {
                    resource,
                    action: Action::NoOp,
                    reason: "exists".into(),
                    fields,
                    diff: None,
                    operation: Operation::None,
                }
            } else {
                Change {
                    resource,
                    action: Action::Update,
                    reason: "tags differ".into(),
                    fields,
                    diff: None,
                    operation: Operation::TagResource {
                        arn: cluster.arn.clone(),
                        tags: missing,
                    },
                }
            }
        }
    }
}

/// Tags in `desired` that `live` lacks or holds with another value (extra live tags are left alone).
fn tag_changes(
    live: &BTreeMap<String, String>,
    desired: &BTreeMap<String, String>,
) -> (Vec<FieldChange>, BTreeMap<String, String>) {
    let live = normalize::tags(live);
    let mut fields = Vec::new();
    let mut missing = BTreeMap::new();
    for (key, value) in desired {
        if live.get(key) != Some(value) {
            fields.push(FieldChange::new(
                format!("tags.{key}"),
                live.get(key).map(|v| json!(v)),
                Some(json!(value)),
            ));
            missing.insert(key.clone(), value.clone());
        }
    }
    (fields, missing)
}

fn task_definition_change(
    state: &DesiredState,
    live: &LiveEnvironment,
    service: &DesiredService,
    image_uri: &str,
) -> (Change, TaskDefinitionRef) {
    let definition = desired_task_definition(state, service, &live.account, image_uri);
    let desired = normalize::task_definition(&definition);
    let resource = Resource {
        kind: ResourceKind::TaskDefinition,
        name: service.family.clone(),
    };
    let current = current_revision(live, service);
    if let Some(current) = current
        && normalize::task_definition(&current.content) == desired
    {
        return (
            Change {
                resource,
                action: Action::NoOp,
                reason: format!("{} matches the state", current.short_name()),
                fields: Vec::new(),
                diff: None,
                operation: Operation::None,
            },
            TaskDefinitionRef::Existing {
                arn: current.arn.clone(),
            },
        );
    }
    // What differs from the running revision, shown whether a new revision is registered or an older one reused.
    let (fields, diff) = match current {
        Some(current) => {
            let before = normalize::task_definition(&current.content);
            (
                field_changes(&before, &desired),
                Some(unified_diff(
                    &before,
                    &desired,
                    &format!("{} (running)", current.short_name()),
                    &format!("{} (desired)", service.family),
                )),
            )
        }
        // A first revision shows its whole content, as Terraform shows every attribute on create.
        None => (
            Vec::new(),
            Some(unified_diff(
                &json!({}),
                &serde_json::to_value(&desired).unwrap_or_default(),
                "(no revision running)",
                &format!("{} (desired)", service.family),
            )),
        ),
    };
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
                    "reuses {}: an existing revision with exactly this content",
                    matching.short_name()
                ),
                fields,
                diff,
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
    let reason = match (current, candidates.len()) {
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
            diff,
            operation: Operation::RegisterTaskDefinition {
                definition,
                tags: state.tags.clone(),
            },
        },
        TaskDefinitionRef::Registered {
            family: service.family.clone(),
        },
    )
}

fn service_change(
    state: &DesiredState,
    live: Option<&LiveService>,
    service: &DesiredService,
    target: TaskDefinitionRef,
) -> Change {
    let resource = Resource {
        kind: ResourceKind::Service,
        name: service.name.clone(),
    };
    let desired = normalize::service_settings(&desired_settings(service));
    let Some(live) = live else {
        let mut settings = desired.clone();
        settings.desired_count = Some(settings.desired_count.unwrap_or(1));
        return Change {
            resource,
            action: Action::Create,
            reason: "does not exist".into(),
            fields: vec![FieldChange::new(
                "task_definition",
                None,
                Some(Value::String(target.display())),
            )],
            diff: None,
            operation: Operation::CreateService {
                cluster: state.cluster.clone(),
                name: service.name.clone(),
                task_definition: target,
                settings,
                tags: state.tags.clone(),
            },
        };
    };
    let current = normalize::service_settings(&live.settings);
    let mut fields = Vec::new();
    let task_definition = match &target {
        TaskDefinitionRef::Existing { arn } if *arn == live.task_definition_arn => None,
        other => {
            fields.push(FieldChange::new(
                "task_definition",
                Some(json!(short_revision(&live.task_definition_arn))),
                Some(json!(other.display())),
            ));
            Some(other.clone())
        }
    };
    let desired_count = desired
        .desired_count
        .filter(|count| Some(*count) != current.desired_count);
    if let Some(count) = desired_count {
        fields.push(FieldChange::new(
            "desired_count",
            current.desired_count.map(|c| json!(c)),
            Some(json!(count)),
        ));
    }
    let network = (desired.network != current.network)
        .then(|| desired.network.clone())
        .flatten();
    if network.is_some() {
        let mut network_fields = field_changes(&current.network, &desired.network);
        for field in &mut network_fields {
            field.path = format!("network.{}", field.path)
                .trim_end_matches('.')
                .to_string();
        }
        fields.extend(network_fields);
    }
    let deployment = (desired.deployment != current.deployment)
        .then_some(desired.deployment)
        .flatten();
    if deployment.is_some() {
        let mut deployment_fields = field_changes(&current.deployment, &desired.deployment);
        for field in &mut deployment_fields {
            field.path = format!("deployment.{}", field.path)
                .trim_end_matches('.')
                .to_string();
        }
        fields.extend(deployment_fields);
    }
    let platform_version = (desired.platform_version != current.platform_version)
        .then(|| desired.platform_version.clone())
        .flatten();
    if let Some(version) = &platform_version {
        fields.push(FieldChange::new(
            "platform_version",
            current.platform_version.as_ref().map(|v| json!(v)),
            Some(json!(version)),
        ));
    }
    let load_balancers = desired
        .load_balancers
        .clone()
        .filter(|wanted| Some(wanted) != current.load_balancers.as_ref());
    if let Some(wanted) = &load_balancers {
        fields.push(FieldChange::new(
            "load_balancers",
            current.load_balancers.as_ref().map(|l| json!(l)),
            Some(json!(wanted)),
        ));
    }
    // AWS reports 0 for a service where no grace period was ever set.
    let live_grace = current.health_check_grace_period.unwrap_or(0);
    let health_check_grace_period = desired
        .health_check_grace_period
        .filter(|seconds| *seconds != live_grace);
    if let Some(seconds) = health_check_grace_period {
        fields.push(FieldChange::new(
            "health_check_grace_period",
            Some(json!(live_grace)),
            Some(json!(seconds)),
        ));
    }
    let (tag_fields, tags) = tag_changes(&live.tags, &state.tags);
    fields.extend(tag_fields);
    let changed = task_definition.is_some()
        || desired_count.is_some()
        || network.is_some()
        || deployment.is_some()
        || platform_version.is_some()
        || load_balancers.is_some()
        || health_check_grace_period.is_some()
        || !tags.is_empty();
    if !changed {
        return Change {
            resource,
            action: Action::NoOp,
            reason: format!(
                "runs {} as the state says",
                short_revision(&live.task_definition_arn)
            ),
            fields,
            diff: None,
            operation: Operation::None,
        };
    }
    let what: Vec<&str> = fields
        .iter()
        .map(|field| field.path.split('.').next().unwrap_or_default())
        .fold(Vec::new(), |mut acc, head| {
            if !acc.contains(&head) {
                acc.push(head);
            }
            acc
        });
    Change {
        resource,
        action: Action::Update,
        reason: format!("update in place: {}", what.join(", ")),
        fields,
        diff: None,
        operation: Operation::UpdateService {
            cluster: state.cluster.clone(),
            name: service.name.clone(),
            arn: live.arn.clone(),
            task_definition,
            desired_count,
            network,
            deployment,
            platform_version,
            load_balancers,
            health_check_grace_period,
            tags,
        },
    }
}
