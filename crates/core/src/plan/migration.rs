//! Migrations: whether each one runs in this apply, and the one-off task it is. By default a
//! migration runs when its service's image changes to a revision newer than the running one, so a
//! revert to an earlier revision (whose migrations already ran) runs nothing, while a rerun after
//! an apply that stopped before the services runs it again.

use super::change::{
    Action, Change, MigrationTask, Operation, Resource, ResourceKind, TaskDefinitionRef,
};
use crate::model::{LiveEnvironment, TaskDefinition};
use crate::state::DesiredState;
use crate::state::schema::MigrationWhen;

/// The image of `container` in a task definition.
fn image_of<'a>(definition: &'a TaskDefinition, container: &str) -> Option<&'a str> {
    definition
        .containers
        .iter()
        .find(|c| c.name == container)
        .map(|c| c.image.as_str())
}

/// One change per migration, given each service's target revision and its planned change.
pub(super) fn migration_changes(
    state: &DesiredState,
    live: &LiveEnvironment,
    targets: &[(TaskDefinitionRef, &Change, &Change)],
) -> Vec<Change> {
    state
        .migrations
        .iter()
        .filter_map(|migration| {
            let index = state
                .services
                .iter()
                .position(|s| s.key == migration.service)?;
            let service = &state.services[index];
            let (target, definition_change, service_change) = &targets[index];
            let container = service
                .containers
                .iter()
                .find(|c| c.name == migration.container)?;
            let running = live
                .services
                .get(&service.name)
                .and_then(|s| live.task_definitions.get(&s.task_definition_arn));
            // The image the target revision runs: the one this plan registers, or an existing one.
            let desired_image = match (&definition_change.operation, target) {
                (Operation::RegisterTaskDefinition { definition, .. }, _) => {
                    image_of(definition, &container.name).map(str::to_string)
                }
                (_, TaskDefinitionRef::Existing { arn }) => live
                    .candidates
                    .values()
                    .flatten()
                    .chain(live.task_definitions.values())
                    .find(|r| &r.arn == arn)
                    .and_then(|r| image_of(&r.content, &container.name))
                    .map(str::to_string),
                _ => None,
            };
            let running_image = running.and_then(|r| image_of(&r.content, &container.name));
            // Revisions only grow: a target older than what runs is a rollback, whose migrations
            // ran when it was first deployed; a newer one (new, or registered by an apply that
            // stopped before the services) still needs them.
            let older = match (target, running) {
                (TaskDefinitionRef::Existing { arn }, Some(running)) => {
                    super::change::revision_number(arn) < running.revision
                }
                _ => false,
            };
            let deploys = service_change.action != Action::NoOp
                && match &service_change.operation {
                    Operation::CreateService(_) => true,
                    Operation::UpdateService(update) => update.task_definition.is_some(),
                    _ => false,
                };
            let (run, reason) = match migration.when {
                MigrationWhen::Never => (false, "`when: never`".to_string()),
                MigrationWhen::Always if deploys => (true, "`when: always` and the service is deployed".to_string()),
                MigrationWhen::Always => (false, "the service is not deployed".to_string()),
                MigrationWhen::ImageChanges => match desired_image.as_deref() {
                    Some(image) if Some(image) != running_image && older => (
                        false,
                        format!(
                            "the service goes back to {}, an earlier revision: its migrations ran when it was first deployed",
                            target.display()
                        ),
                    ),
                    Some(image) if Some(image) != running_image => (
                        true,
                        match running_image {
                            Some(before) => format!(
                                "the image changes from {before} to {}",
                                as_named(state, image)
                            ),
                            None => format!("first deployment of {}", as_named(state, image)),
                        },
                    ),
                    _ => (false, "the image does not change".to_string()),
                },
            };
            let resource = Resource {
                kind: ResourceKind::Migration,
                name: format!("{}: {}", service.family, migration.command.join(" ")),
            };
            Some(if run {
                Change {
                    resource,
                    action: Action::Run,
                    reason: format!("runs before {} is updated: {reason}", service.name),
                    fields: Vec::new(),
                    content: None,
                    record: None,
                    operation: Operation::RunMigration(MigrationTask {
                        cluster: state.cluster.clone(),
                        task_definition: target.clone(),
                        container: container.name.clone(),
                        command: migration.command.clone(),
                        launch_type: service.launch_type.clone(),
                        capacity_provider_strategy: service.capacity_provider_strategy.clone(),
                        network: service.network.clone(),
                        platform_version: service.platform_version.clone(),
                        timeout_seconds: migration.timeout_seconds,
                        log_group: container.logs.awslogs.as_ref().map(|l| l.group.clone()),
                        log_stream_prefix: container
                            .logs
                            .awslogs
                            .as_ref()
                            .map(|l| l.stream_prefix.clone()),
                    }),
                }
            } else {
                Change {
                    resource,
                    action: Action::NoOp,
                    reason: format!("does not run: {reason}"),
                    fields: Vec::new(),
                    content: None,
                    record: None,
                    operation: Operation::None,
                }
            })
        })
        .collect()
}

/// The state's image as a person reads it: `REPO:TAG (sha256:...)` for the digest its tag names.
fn as_named(state: &DesiredState, image: &str) -> String {
    let Some(wanted) = &state.image else {
        return image.to_string();
    };
    match (&wanted.tag, image.split_once('@')) {
        (Some(tag), Some((base, digest))) if base.ends_with(&format!("/{}", wanted.repository)) => {
            format!("{base}:{tag} ({digest})")
        }
        _ => image.to_string(),
    }
}
