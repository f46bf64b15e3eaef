//! Executes a plan's operations in order and reports each step. It decides nothing: every write
//! is the one the plan shows. On the first failure it stops; later steps are reported as not attempted.

use std::collections::BTreeMap;

use aws_sdk_ecs::types::{Compatibility, LaunchType, NetworkMode};
use serde::Serialize;

use super::ecs::convert::{
    containers_to_sdk, deployment_to_sdk, load_balancers_to_sdk, network_to_sdk, tags_to_sdk,
};
use super::ecs::{migration, rollout};
use super::{Aws, AwsError, backing};
use crate::model::BackingKind;
use crate::plan::{
    Action, Change, KnownAfterApply, Operation, Plan, Resource, ResourceKind, TaskDefinitionRef,
    short_revision,
};

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum StepStatus {
    Done { detail: String },
    Failed { error: String },
    NotAttempted { why: String },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StepOutcome {
    pub resource: Resource,
    pub action: Action,
    #[serde(flatten)]
    pub status: StepStatus,
}

/// What an apply did, step by step.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ApplyReport {
    pub steps: Vec<StepOutcome>,
}

impl ApplyReport {
    pub fn succeeded(&self) -> bool {
        self.steps
            .iter()
            .all(|step| matches!(step.status, StepStatus::Done { .. }))
    }
}

/// The backing-service replacements a plan holds that `allow_replace` does not name, as keys.
pub fn unallowed_replacements(plan: &Plan, allow_replace: &[String]) -> Vec<String> {
    plan.changes
        .iter()
        .filter_map(|change| match &change.operation {
            Operation::ReplaceBacking { backing, .. } if !allow_replace.contains(&backing.key) => {
                Some(backing.key.clone())
            }
            _ => None,
        })
        .collect()
}

/// What apply needs besides the plan.
pub struct Options<'a> {
    /// Keys of backing services that may be replaced (`--allow-replace`).
    pub allow_replace: &'a [String],
    /// Called as each step ends.
    pub on_step: &'a mut dyn FnMut(&StepOutcome),
    /// Called with progress while waiting for AWS.
    pub progress: &'a mut dyn FnMut(String),
    /// Follow each service's new deployment until it completes, for at most this long each;
    /// `None` returns once the services are updated (`--no-wait`).
    pub wait: Option<std::time::Duration>,
}

/// What earlier steps learned that later ones need.
#[derive(Default)]
struct Context {
    /// New task-definition revisions by family.
    registered: BTreeMap<String, String>,
    /// Backing services known to be available, by key.
    available: BTreeMap<String, crate::model::LiveBacking>,
    /// Deployments the service writes started, to follow.
    rollouts: Vec<rollout::Rollout>,
}

/// Applies every change of `plan` that has an operation, reporting each one as it ends.
pub async fn apply(aws: &Aws, plan: &Plan, options: Options<'_>) -> ApplyReport {
    let Options {
        allow_replace,
        on_step,
        progress,
        wait,
    } = options;
    let mut report = ApplyReport::default();
    let mut context = Context::default();
    let mut failure: Option<String> = None;
    for change in plan
        .changes
        .iter()
        .filter(|c| !matches!(c.operation, Operation::None))
    {
        let status = match &failure {
            Some(failed) => StepStatus::NotAttempted {
                why: format!("stopped after {failed} failed"),
            },
            None => match execute(aws, change, &mut context, allow_replace, progress).await {
                Ok(detail) => StepStatus::Done { detail },
                Err(error) => {
                    failure = Some(format!(
                        "{} {}",
                        change.resource.kind.label(),
                        change.resource.name
                    ));
                    StepStatus::Failed {
                        error: error.to_string(),
                    }
                }
            },
        };
        let outcome = StepOutcome {
            resource: change.resource.clone(),
            action: change.action,
            status,
        };
        on_step(&outcome);
        report.steps.push(outcome);
    }
    // Every deployment that was started is followed, even after a failure: the report says what
    // ECS did with each, not only what was asked of it.
    if let Some(limit) = wait
        && !context.rollouts.is_empty()
    {
        let progress = std::sync::Mutex::new(progress);
        let followed = futures::future::join_all(context.rollouts.iter().map(|rollout| {
            let progress = &progress;
            async move {
                let mut report = |line: String| {
                    if let Ok(mut progress) = progress.lock() {
                        (*progress)(line);
                    }
                };
                (
                    rollout,
                    rollout::follow(aws, rollout, limit, &mut report).await,
                )
            }
        }))
        .await;
        for (rollout, result) in followed {
            let outcome = StepOutcome {
                resource: Resource {
                    kind: ResourceKind::Rollout,
                    name: rollout.service.clone(),
                },
                action: Action::Update,
                status: match result {
                    Ok(detail) => StepStatus::Done { detail },
                    Err(error) => StepStatus::Failed {
                        error: error.to_string(),
                    },
                },
            };
            on_step(&outcome);
            report.steps.push(outcome);
        }
    }
    report
}

fn task_definition_arn(
    reference: &TaskDefinitionRef,
    registered: &BTreeMap<String, String>,
) -> Result<String, AwsError> {
    match reference {
        TaskDefinitionRef::Existing { arn } => Ok(arn.clone()),
        TaskDefinitionRef::Registered { family } => {
            registered.get(family).cloned().ok_or_else(|| AwsError {
                operation: "UpdateService",
                subject: family.clone(),
                message: "the new revision was not registered".into(),
            })
        }
    }
}

/// Fills in the variables that wait for backing-service outputs, waiting until each service they
/// need is available.
async fn fill_outputs(
    aws: &Aws,
    definition: &mut crate::model::TaskDefinition,
    values: &[KnownAfterApply],
    context: &mut Context,
    progress: &mut dyn FnMut(String),
) -> Result<(), AwsError> {
    for value in values {
        for (key, kind, name) in &value.needs {
            if !context.available.contains_key(key) {
                let live = backing::wait_ready(aws, *kind, name, progress).await?;
                context.available.insert(key.clone(), live);
            }
        }
        let rendered = value
            .value
            .render(|key, output| context.available.get(key)?.outputs.get(output).cloned())
            .ok_or_else(|| AwsError {
                operation: "RegisterTaskDefinition",
                subject: format!("{} in container {}", value.variable, value.container),
                message: format!("{} has no such output once available", value.value),
            })?;
        if let Some(container) = definition
            .containers
            .iter_mut()
            .find(|container| container.name == value.container)
        {
            let target = if value.secret {
                &mut container.secrets
            } else {
                &mut container.environment
            };
            target.insert(value.variable.clone(), rendered);
        }
    }
    Ok(())
}

fn backing_resource(kind: BackingKind, name: &str) -> String {
    format!("{} {name}", kind.label())
}

async fn execute(
    aws: &Aws,
    change: &Change,
    context: &mut Context,
    allow_replace: &[String],
    progress: &mut dyn FnMut(String),
) -> Result<String, AwsError> {
    match &change.operation {
        Operation::None => Ok(String::new()),
        Operation::CreateCluster { name, tags } => {
            aws.ecs
                .create_cluster()
                .cluster_name(name)
                .set_tags(Some(tags_to_sdk(tags)))
                .send()
                .await
                .map_err(|e| AwsError::new("CreateCluster", name.clone(), e))?;
            Ok(format!("created cluster {name}"))
        }
        Operation::CreateLogGroup { name, tags } => {
            let result = aws
                .logs
                .create_log_group()
                .log_group_name(name)
                .set_tags(Some(tags.clone().into_iter().collect()))
                .send()
                .await;
            match result {
                Ok(_) => Ok(format!("created log group {name}")),
                // Created since the plan was made (a concurrent or earlier, interrupted run).
                Err(error)
                    if error
                        .as_service_error()
                        .is_some_and(|e| e.is_resource_already_exists_exception()) =>
                {
                    Ok(format!("log group {name} already exists"))
                }
                Err(error) => Err(AwsError::new("CreateLogGroup", name.clone(), error)),
            }
        }
        Operation::TagResource { arn, tags } => {
            aws.ecs
                .tag_resource()
                .resource_arn(arn)
                .set_tags(Some(tags_to_sdk(tags)))
                .send()
                .await
                .map_err(|e| AwsError::new("TagResource", arn.clone(), e))?;
            Ok(format!("tagged {}", change.resource.name))
        }
        Operation::RunMigration {
            cluster,
            task_definition,
            container,
            command,
            network,
            platform_version,
            timeout_seconds,
            log_group,
            log_stream_prefix,
        } => {
            let arn = task_definition_arn(task_definition, &context.registered)?;
            let migration = migration::Migration {
                cluster,
                task_definition: &arn,
                container,
                command,
                network,
                platform_version,
                time_limit: std::time::Duration::from_secs(*timeout_seconds),
                log_group,
                log_stream_prefix,
            };
            migration::run_migration(aws, &migration, progress).await
        }
        Operation::CreateBacking { backing } => {
            backing::create(aws, backing, super::unique_token()).await
        }
        Operation::ModifyBacking {
            key: _,
            kind,
            name,
            id,
            changes,
            before,
            apply_immediately,
            secret,
            arn,
            record,
        } => {
            let mut detail = String::new();
            if !changes.is_empty() {
                let live = backing::wait_ready(aws, *kind, name, progress).await?;
                backing::modify(
                    aws,
                    *kind,
                    name,
                    if live.id.is_empty() { id } else { &live.id },
                    changes,
                    before,
                    *apply_immediately,
                    secret,
                )
                .await?;
                detail = format!(
                    "modified {} ({}){}",
                    backing_resource(*kind, name),
                    changes.keys().cloned().collect::<Vec<_>>().join(", "),
                    match (kind, apply_immediately) {
                        (BackingKind::Rabbitmq, _) =>
                            "; engine version and instance type take effect at the next reboot or maintenance window",
                        (_, false) => "; what AWS defers waits for the maintenance window",
                        (_, true) => "",
                    }
                );
            }
            if !record.is_empty() {
                backing::tag(aws, *kind, arn, record).await?;
                if detail.is_empty() {
                    detail = format!(
                        "recorded the applied settings on {}",
                        backing_resource(*kind, name)
                    );
                }
            }
            Ok(detail)
        }
        Operation::ReplaceBacking {
            id,
            backing,
            deletion_protected,
        } => {
            if !allow_replace.contains(&backing.key) {
                return Err(AwsError {
                    operation: "replace",
                    subject: backing_resource(backing.kind, &backing.name),
                    message: format!(
                        "refused: replacing deletes its data; run apply with `--allow-replace {}` to allow it",
                        backing.key
                    ),
                });
            }
            let deleted = backing::delete(
                aws,
                backing.kind,
                &backing.name,
                id,
                *deletion_protected,
                progress,
            )
            .await?;
            backing::create(aws, backing, super::unique_token()).await?;
            Ok(format!(
                "replaced {} ({deleted})",
                backing_resource(backing.kind, &backing.name)
            ))
        }
        Operation::RegisterTaskDefinition {
            definition,
            tags,
            known_after_apply,
        } => {
            let mut definition = definition.clone();
            fill_outputs(aws, &mut definition, known_after_apply, context, progress).await?;
            let output = aws
                .ecs
                .register_task_definition()
                .family(&definition.family)
                .set_cpu(definition.cpu.clone())
                .set_memory(definition.memory.clone())
                .set_network_mode(definition.network_mode.as_deref().map(NetworkMode::from))
                .set_requires_compatibilities(Some(
                    definition
                        .requires_compatibilities
                        .iter()
                        .map(|c| Compatibility::from(c.as_str()))
                        .collect(),
                ))
                .set_execution_role_arn(definition.execution_role_arn.clone())
                .set_task_role_arn(definition.task_role_arn.clone())
                .set_container_definitions(Some(containers_to_sdk(&definition)))
                .set_tags(Some(tags_to_sdk(tags)))
                .send()
                .await
                .map_err(|e| {
                    AwsError::new("RegisterTaskDefinition", definition.family.clone(), e)
                })?;
            let arn = output
                .task_definition()
                .and_then(|d| d.task_definition_arn())
                .unwrap_or_default()
                .to_string();
            context
                .registered
                .insert(definition.family.clone(), arn.clone());
            Ok(format!("registered {}", short_revision(&arn)))
        }
        Operation::CreateService {
            cluster,
            name,
            task_definition,
            settings,
            tags,
        } => {
            let arn = task_definition_arn(task_definition, &context.registered)?;
            let output = aws
                .ecs
                .create_service()
                // The SDK retries a timed-out request with the same token: ECS then answers with
                // the service the first attempt created instead of "already exists".
                .client_token(super::unique_token())
                .cluster(cluster)
                .service_name(name)
                .task_definition(&arn)
                .set_desired_count(settings.desired_count)
                .set_launch_type(settings.launch_type.as_deref().map(LaunchType::from))
                .set_platform_version(settings.platform_version.clone())
                .set_network_configuration(settings.network.as_ref().map(network_to_sdk))
                .set_deployment_configuration(settings.deployment.as_ref().map(deployment_to_sdk))
                .set_load_balancers(
                    settings
                        .load_balancers
                        .as_deref()
                        .map(load_balancers_to_sdk),
                )
                .set_health_check_grace_period_seconds(settings.health_check_grace_period)
                .set_tags(Some(tags_to_sdk(tags)))
                .send()
                .await
                .map_err(|e| AwsError::new("CreateService", name.clone(), e))?;
            if let Some((deployment, task_definition)) = rollout::new_deployment(output.service()) {
                context.rollouts.push(rollout::Rollout {
                    cluster: cluster.clone(),
                    service: name.clone(),
                    deployment,
                    task_definition,
                    since: super::epoch_seconds(),
                });
            }
            Ok(format!(
                "created service {name} running {}",
                short_revision(&arn)
            ))
        }
        Operation::UpdateService {
            cluster,
            name,
            arn,
            task_definition,
            desired_count,
            network,
            deployment,
            platform_version,
            load_balancers,
            health_check_grace_period,
            tags,
        } => {
            let definition = task_definition
                .as_ref()
                .map(|reference| task_definition_arn(reference, &context.registered))
                .transpose()?;
            let any_setting = definition.is_some()
                || desired_count.is_some()
                || network.is_some()
                || deployment.is_some()
                || platform_version.is_some()
                || load_balancers.is_some()
                || health_check_grace_period.is_some();
            if any_setting {
                let since = super::epoch_seconds();
                let output = aws
                    .ecs
                    .update_service()
                    .cluster(cluster)
                    .service(name)
                    .set_task_definition(definition.clone())
                    .set_desired_count(*desired_count)
                    .set_network_configuration(network.as_ref().map(network_to_sdk))
                    .set_deployment_configuration(deployment.as_ref().map(deployment_to_sdk))
                    .set_platform_version(platform_version.clone())
                    .set_load_balancers(load_balancers.as_deref().map(load_balancers_to_sdk))
                    .set_health_check_grace_period_seconds(*health_check_grace_period)
                    .send()
                    .await
                    .map_err(|e| AwsError::new("UpdateService", name.clone(), e))?;
                if let Some((deployment, task_definition)) =
                    rollout::new_deployment(output.service())
                {
                    context.rollouts.push(rollout::Rollout {
                        cluster: cluster.clone(),
                        service: name.clone(),
                        deployment,
                        task_definition,
                        since,
                    });
                }
            }
            if !tags.is_empty() {
                aws.ecs
                    .tag_resource()
                    .resource_arn(arn)
                    .set_tags(Some(tags_to_sdk(tags)))
                    .send()
                    .await
                    .map_err(|e| AwsError::new("TagResource", name.clone(), e))?;
            }
            Ok(match definition {
                Some(definition) => format!(
                    "updated service {name}, now running {}",
                    short_revision(&definition)
                ),
                None => format!("updated service {name}"),
            })
        }
    }
}
