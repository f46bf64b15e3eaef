//! The planner: desired state plus observed live state in, typed plan out. Pure and deterministic.
//! This file holds the entry point and the environment-wide resources (image, cluster); task
//! definitions, services and what a task needs to start have their own modules.

use std::collections::BTreeMap;

use super::backing::backing_changes;
use super::change::{
    Action, Change, Operation, PLAN_FORMAT_VERSION, Plan, RecordStatus, Resource, ResourceKind,
    TagApi,
};
use super::migration::migration_changes;
use super::preconditions::{PlanError, check_preconditions};
use super::service::service_change;
use super::startup::{check_secrets, log_group_changes};
use super::tags::tag_changes;
use super::task_definition::{
    check_unmanaged, desired_task_definition, image_moved, known_outputs, running_as_pinned,
    task_definition_change,
};
use crate::model::LiveEnvironment;
use crate::normalize;
use crate::state::DesiredState;

/// Computes the plan that makes `live` match `state`.
pub fn plan(state: &DesiredState, live: &LiveEnvironment) -> Result<Plan, PlanError> {
    let image = check_preconditions(state, live)?;
    let mut warnings = check_secrets(state, live)?;
    warnings.extend(super::ownership::check_ownership(state, live)?);
    warnings.extend(check_unmanaged(state, live)?);
    warnings.extend(super::image::check_named_images(state, live)?);
    let mut changes = Vec::new();

    let digest = live
        .image
        .as_ref()
        .map(|image| image.digest.clone())
        .unwrap_or_default();
    if let Some(wanted) = &state.image {
        changes.push(Change::new(
            Resource {
                kind: ResourceKind::Image,
                name: wanted.display(),
            },
            Action::NoOp,
            format!("exists in ECR ({digest})"),
            Operation::None,
        ));
    }
    changes.push(cluster_change(state, live));
    let (backing, mut refusals, notes) = backing_changes(state, &live.backing);
    refusals.extend(capacity_provider_refusals(state, live));
    if !refusals.is_empty() {
        return Err(PlanError::NotAllowed { refusals });
    }
    changes.extend(backing);
    changes.extend(log_group_changes(state, live));
    warnings.extend(notes);
    if !state.left_out.is_empty() {
        let mut parts = Vec::new();
        if !state.left_out.services.is_empty() {
            parts.push(format!("services {}", state.left_out.services.join(", ")));
        }
        if !state.left_out.backing.is_empty() {
            parts.push(format!(
                "backing services {}",
                state.left_out.backing.join(", ")
            ));
        }
        warnings.push(format!(
            "--service: this plan covers {} only; it leaves out {} (plan without --service for them)",
            state.services.iter().map(|s| s.name.as_str()).collect::<Vec<_>>().join(", "),
            parts.join(" and ")
        ));
    }
    warnings.extend(live.unmanaged_backing.iter().filter(|(_, name)| !state.left_out.backing.contains(name)).map(|(kind, name)| {
        format!(
            "{} {name} is tagged as this environment's but no entry under `backing:` names it: it is no longer managed, and reconcile deletes nothing (delete it by hand if it is not needed)",
            kind.label()
        )
    }));

    warnings.extend(kept_strategies(state, live));
    warnings.extend(undeclared_services(state, live));
    let known = known_outputs(state, live);
    let mut definition_changes = Vec::new();
    let mut service_changes = Vec::new();
    let mut targets = Vec::new();
    for service in &state.services {
        let (mut definition_change, target) =
            task_definition_change(state, live, service, image.as_ref(), &known);
        targets.push(target.clone());
        // The record describes the state file: the image as it names it, not the digest a tag
        // resolved to today (a tag moved in ECR is then drift, not pending work).
        let fingerprint = service_fingerprint(
            state,
            service,
            &live.account,
            image.as_ref().map(|image| image.named.as_str()),
        );
        let service_change = service_change(
            state,
            live.services.get(&service.name),
            service,
            target,
            &fingerprint,
        );
        // A task definition changes with its service, and is recorded on it: the same status.
        if definition_change.action != Action::NoOp {
            definition_change.record = match service_change.action {
                Action::NoOp => Some(RecordStatus::Stale),
                _ => service_change.record,
            };
        }
        // The state asks for what was applied, yet its tag names other bytes: the tag moved.
        if definition_change.action == Action::Create
            && definition_change.record == Some(RecordStatus::Matches)
            && let Some(image) = &image
            && let Some(note) = image_moved(
                state,
                running_as_pinned(live, service, Some(image)).as_ref(),
                &image.pinned,
            )
        {
            definition_change.reason = format!("{}; {note}", definition_change.reason);
        }
        definition_changes.push(definition_change);
        service_changes.push(service_change);
    }
    let per_service: Vec<_> = targets
        .into_iter()
        .zip(definition_changes.iter().zip(&service_changes))
        .map(|(target, (definition, service))| (target, definition, service))
        .collect();
    let migrations = migration_changes(state, live, &per_service);
    changes.extend(definition_changes);
    changes.extend(migrations);
    changes.extend(service_changes);

    Ok(Plan {
        format_version: PLAN_FORMAT_VERSION,
        environment: state.environment.clone(),
        region: state.region.clone(),
        account: live.account.clone(),
        state_file: state.file.display().to_string(),
        image_digest: image
            .as_ref()
            .filter(|image| !image.digest.is_empty())
            .map(|image| image.digest.clone()),
        running_images: image
            .as_ref()
            .map(|image| super::image::running_images(live, image))
            .unwrap_or_default(),
        image: image.map(|image| image.named),
        warnings,
        changes,
    })
}

/// The capacity providers the services' strategies name, each once, in order of first use.
fn capacity_providers_named(state: &DesiredState) -> Vec<String> {
    let mut providers: Vec<String> = Vec::new();
    let named = state
        .services
        .iter()
        .flat_map(|service| service.capacity_provider_strategy.iter().flatten());
    for item in named {
        if !providers.contains(&item.capacity_provider) {
            providers.push(item.capacity_provider.clone());
        }
    }
    providers
}

/// Live services of the cluster the state does not declare: left alone, and named. When a
/// service the plan would create runs the same family, the state most likely misses its `name:`.
fn undeclared_services(state: &DesiredState, live: &LiveEnvironment) -> Vec<String> {
    live.undeclared_services
        .iter()
        .filter(|(name, _)| !state.left_out.services.contains(name))
        .map(|(name, task_definition)| {
            let running = super::change::short_revision(task_definition);
            let family = running.rsplit_once(':').map_or(running.as_str(), |(f, _)| f);
            let twin = state.services.iter().find(|service| {
                service.family == family && !live.services.contains_key(&service.name)
            });
            let hint = twin
                .map(|service| {
                    format!(
                        "; services.{} runs the same family and would be created beside it as {}: if it is meant to be this service, set `name: {name}` under services.{}",
                        service.key, service.name, service.key
                    )
                })
                .unwrap_or_default();
            format!(
                "service {name} runs {running} in cluster {} and is not in the state: reconcile leaves it as it is{hint}",
                state.cluster
            )
        })
        .collect()
}

/// Services running on a capacity provider strategy the state does not name: ECS cannot move a
/// service back to a launch type, so the strategy stays, and the plan says so.
fn kept_strategies(state: &DesiredState, live: &LiveEnvironment) -> Vec<String> {
    state
        .services
        .iter()
        .filter(|service| service.capacity_provider_strategy.is_none())
        .filter_map(|service| {
            let strategy = live
                .services
                .get(&service.name)?
                .settings
                .capacity_provider_strategy
                .as_ref()?;
            let providers: Vec<String> = strategy
                .iter()
                .map(|item| {
                    format!(
                        "{} weight {} base {}",
                        item.capacity_provider, item.weight, item.base
                    )
                })
                .collect();
            Some(format!(
                "service {} runs on a capacity provider strategy ({}) that services.{}.capacity_provider_strategy does not name; ECS cannot move a service back to a launch type, so it keeps running on it: write the strategy into the state file",
                service.name,
                providers.join(", "),
                service.key
            ))
        })
        .collect()
}

/// Refusals for strategies naming a capacity provider the existing cluster does not have: ECS
/// would refuse the service ("capacity provider ... is not associated with the cluster").
fn capacity_provider_refusals(state: &DesiredState, live: &LiveEnvironment) -> Vec<String> {
    let Some(cluster) = live.cluster.as_ref().filter(|c| c.status == "ACTIVE") else {
        return Vec::new();
    };
    capacity_providers_named(state)
        .into_iter()
        .filter(|provider| !cluster.capacity_providers.contains(provider))
        .map(|provider| {
            format!(
                "cluster {} has no capacity provider {provider}, which a service's capacity_provider_strategy names: associate it first (aws ecs put-cluster-capacity-providers --cluster {} ..., keeping the ones it has: {})",
                cluster.name,
                cluster.name,
                if cluster.capacity_providers.is_empty() {
                    "none".to_string()
                } else {
                    cluster.capacity_providers.join(", ")
                }
            )
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
            content: None,
            record: None,
            operation: Operation::CreateCluster {
                name: state.cluster.clone(),
                tags: state.tags.clone(),
                capacity_providers: capacity_providers_named(state),
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
                    content: None,
                    record: None,
                    operation: Operation::None,
                }
            } else {
                Change {
                    resource,
                    action: Action::Update,
                    reason: "tags differ".into(),
                    fields,
                    content: None,
                    record: None,
                    operation: Operation::TagResource {
                        api: TagApi::Ecs,
                        arn: cluster.arn.clone(),
                        tags: missing,
                    },
                }
            }
        }
    }
}

/// What a service should run, fingerprinted: its normalized task-definition content and settings.
/// Apply records it on the service, so a later difference tells drift (the state did not change
/// since) from pending work (it did).
/// Backing outputs stay in their `${KEY.OUTPUT}` form: the record describes the state file, not
/// the endpoints AWS assigned.
pub fn service_fingerprint(
    state: &DesiredState,
    service: &crate::state::desired::DesiredService,
    account: &str,
    image_uri: Option<&str>,
) -> String {
    let definition = normalize::task_definition(&desired_task_definition(
        state,
        service,
        account,
        image_uri,
        &BTreeMap::new(),
    ));
    let settings = normalize::service_settings(&super::service::desired_settings(service));
    crate::fingerprint::fingerprint(&(definition, settings))
}
