//! Executes a plan's operations in order and reports each step. It decides nothing: every write
//! is the one the plan shows. On the first failure it stops; later steps are reported as not attempted.

use std::collections::BTreeMap;

use serde::Serialize;

use super::ecs::rollout;
use super::{Aws, AwsError, backing, ecs, logs};
use crate::model::{LiveBacking, TaskDefinition};
use crate::plan::{
    Action, Change, KnownAfterApply, Operation, Plan, Resource, ResourceKind, ServiceCreate,
    ServiceUpdate, TagApi, TaskDefinitionRef, short_revision,
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
    /// Called as a step starts (with what it does) and with its live numbers while it waits for
    /// AWS; several steps (the rollouts) may be under way at once, each under its resource.
    pub progress: &'a mut dyn FnMut(&Resource, String),
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
    available: BTreeMap<String, LiveBacking>,
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
    // Why the remaining steps are not attempted, once one failed or the fence closed.
    let mut stopped: Option<String> = None;
    for change in plan
        .changes
        .iter()
        .filter(|c| !matches!(c.operation, Operation::None))
    {
        if stopped.is_none() {
            if let Some(signal) = aws.stop.requested() {
                stopped = Some(format!("stopped: interrupted by {signal}"));
            } else if let Err(reason) = aws.fence.check() {
                stopped = Some(format!("stopped: {reason}"));
            }
        }
        let status = match &stopped {
            Some(why) => StepStatus::NotAttempted { why: why.clone() },
            None => match step(aws, change, &mut context, allow_replace, progress).await {
                Ok(detail) => StepStatus::Done { detail },
                Err(error) => {
                    stopped = Some(match aws.stop.requested() {
                        Some(signal) => format!("stopped: interrupted by {signal}"),
                        None => format!(
                            "stopped after {} {} failed",
                            change.resource.kind.label(),
                            change.resource.name
                        ),
                    });
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
    if let Some(limit) = wait {
        let outcomes = follow_rollouts(aws, &context.rollouts, limit, progress, on_step).await;
        report.steps.extend(outcomes);
    }
    report
}

/// One step, its progress told under its resource: first what it does, then what it waits for.
async fn step(
    aws: &Aws,
    change: &Change,
    context: &mut Context,
    allow_replace: &[String],
    progress: &mut dyn FnMut(&Resource, String),
) -> Result<String, AwsError> {
    progress(&change.resource, starting(change.action).to_string());
    let mut report = |line: String| progress(&change.resource, line);
    execute(aws, change, context, allow_replace, &mut report).await
}

/// What a step does, for the line that shows it under way.
fn starting(action: Action) -> &'static str {
    match action {
        Action::Create => "creating",
        Action::Update => "updating",
        Action::Replace => "replacing",
        Action::Run => "starting the task",
        Action::NoOp => "checking",
    }
}

/// Follows each deployment to its end, concurrently; one outcome per deployment, in the order
/// of `rollouts`, each told to `on_step` as it ends.
async fn follow_rollouts(
    aws: &Aws,
    rollouts: &[rollout::Rollout],
    limit: std::time::Duration,
    progress: &mut dyn FnMut(&Resource, String),
    on_step: &mut dyn FnMut(&StepOutcome),
) -> Vec<StepOutcome> {
    let progress = std::sync::Mutex::new(progress);
    let on_step = std::sync::Mutex::new(on_step);
    futures::future::join_all(rollouts.iter().map(|rollout| {
        let (progress, on_step) = (&progress, &on_step);
        async move {
            let resource = Resource {
                kind: ResourceKind::Rollout,
                name: rollout.service.clone(),
            };
            let mut report = |line: String| {
                if let Ok(mut progress) = progress.lock() {
                    (*progress)(&resource, line);
                }
            };
            report("waiting for ECS".to_string());
            let result = rollout::follow(aws, rollout, limit, &mut report).await;
            let outcome = StepOutcome {
                resource: resource.clone(),
                action: Action::Update,
                status: match result {
                    Ok(detail) => StepStatus::Done { detail },
                    Err(error) => StepStatus::Failed {
                        error: error.to_string(),
                    },
                },
            };
            if let Ok(mut on_step) = on_step.lock() {
                (*on_step)(&outcome);
            }
            outcome
        }
    }))
    .await
}

fn task_definition_arn(
    reference: &TaskDefinitionRef,
    registered: &BTreeMap<String, String>,
) -> Result<String, AwsError> {
    match reference {
        TaskDefinitionRef::Existing { arn } => Ok(arn.clone()),
        TaskDefinitionRef::Registered { family } => {
            registered
                .get(family)
                .cloned()
                .ok_or_else(|| AwsError::Missing {
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
    definition: &mut TaskDefinition,
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
            .ok_or_else(|| AwsError::Missing {
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

/// Carries out one operation: a short dispatch, each arm a call into the API module that owns it.
async fn execute(
    aws: &Aws,
    change: &Change,
    context: &mut Context,
    allow_replace: &[String],
    progress: &mut dyn FnMut(String),
) -> Result<String, AwsError> {
    let resource = &change.resource;
    match &change.operation {
        Operation::None => Ok(String::new()),
        Operation::CreateCluster {
            name,
            tags,
            capacity_providers,
        } => ecs::write::create_cluster(aws, name, tags, capacity_providers).await,
        Operation::CreateLogGroup { name, tags } => logs::create_log_group(aws, name, tags).await,
        Operation::TagResource { api, arn, tags } => {
            match api {
                TagApi::Ecs => ecs::write::tag(aws, arn, tags, &resource.name).await?,
                TagApi::Backing(kind) => backing::tag(aws, *kind, arn, tags).await?,
            }
            Ok(format!(
                "tagged {} {}",
                resource.kind.label(),
                resource.name
            ))
        }
        Operation::RunMigration(migration) => {
            let arn = task_definition_arn(&migration.task_definition, &context.registered)?;
            ecs::migration::run_migration(aws, migration, &arn, progress).await
        }
        Operation::CreateBacking { backing } => {
            backing::create(aws, backing, super::unique_token()).await
        }
        Operation::ModifyBacking(modify) => backing::modify(aws, modify, progress).await,
        Operation::ReplaceBacking {
            id,
            backing,
            deletion_protected,
        } => {
            if !allow_replace.contains(&backing.key) {
                return Err(AwsError::Refused {
                    step: "replace",
                    subject: format!("{} {}", backing.kind.label(), backing.name),
                    reason: format!(
                        "replacing deletes its data; run apply with `--allow-replace {}` to allow it",
                        backing.key
                    ),
                });
            }
            backing::replace(aws, id, backing, *deletion_protected, progress).await
        }
        Operation::RegisterTaskDefinition {
            definition,
            tags,
            known_after_apply,
        } => {
            let mut definition = definition.clone();
            fill_outputs(aws, &mut definition, known_after_apply, context, progress).await?;
            let arn = ecs::write::register_task_definition(aws, &definition, tags).await?;
            context.registered.insert(definition.family, arn.clone());
            Ok(format!("registered {}", short_revision(&arn)))
        }
        Operation::CreateService(service) => create_service(aws, service, context).await,
        Operation::UpdateService(update) => update_service(aws, update, context).await,
    }
}

/// CreateService, keeping the deployment it started.
async fn create_service(
    aws: &Aws,
    service: &ServiceCreate,
    context: &mut Context,
) -> Result<String, AwsError> {
    let arn = task_definition_arn(&service.task_definition, &context.registered)?;
    let rollout = ecs::write::create_service(aws, service, &arn).await?;
    context.rollouts.extend(rollout);
    Ok(format!(
        "created service {} running {}",
        service.name,
        short_revision(&arn)
    ))
}

/// UpdateService, then the service's tags, keeping the deployment it started.
async fn update_service(
    aws: &Aws,
    update: &ServiceUpdate,
    context: &mut Context,
) -> Result<String, AwsError> {
    let definition = update
        .task_definition
        .as_ref()
        .map(|reference| task_definition_arn(reference, &context.registered))
        .transpose()?;
    let rollout = ecs::write::update_service(aws, update, definition.as_deref()).await?;
    context.rollouts.extend(rollout);
    if !update.tags.is_empty() {
        ecs::write::tag(aws, &update.arn, &update.tags, &update.name).await?;
    }
    let name = &update.name;
    Ok(match definition {
        Some(definition) => format!(
            "updated service {name}, now running {}",
            short_revision(&definition)
        ),
        None => format!("updated service {name}"),
    })
}
