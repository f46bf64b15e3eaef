//! What makes a release tell the truth: a migration run as a one-off Fargate task and followed
//! to STOPPED with its log lines, and each service's new deployment followed until ECS reports it
//! completed, failed or rolled back.

use std::time::{Duration, Instant};

use aws_sdk_ecs::types::{
    ContainerOverride, DesiredStatus, LaunchType, Service, Task, TaskOverride,
};

use super::convert::network_to_sdk;
use super::{Aws, AwsError, Backoff};
use crate::model::Network;
use crate::rollout::{DeploymentState, Progress, ServiceRollout};

/// How many log lines of a migration are shown.
const LOG_LINES: i32 = 20;

/// A migration to run: the task definition, the container and its command, where it runs.
#[derive(Debug)]
pub struct Migration<'a> {
    pub cluster: &'a str,
    pub task_definition: &'a str,
    pub container: &'a str,
    pub command: &'a [String],
    pub network: &'a Network,
    pub platform_version: &'a str,
    pub time_limit: Duration,
    pub log_group: &'a str,
    pub log_stream_prefix: &'a str,
}

fn fail(subject: &str, message: String) -> AwsError {
    AwsError {
        operation: "migration",
        subject: subject.to_string(),
        message,
    }
}

/// Runs the migration to its end. `Ok` with its log lines when the container exited 0.
pub async fn run_migration(
    aws: &Aws,
    migration: &Migration<'_>,
    progress: &mut dyn FnMut(String),
) -> Result<String, AwsError> {
    let subject = format!("{} ({})", migration.command.join(" "), migration.container);
    let output = aws
        .ecs
        .run_task()
        .cluster(migration.cluster)
        .task_definition(migration.task_definition)
        .launch_type(LaunchType::Fargate)
        .platform_version(migration.platform_version)
        .network_configuration(network_to_sdk(migration.network))
        .overrides(
            TaskOverride::builder()
                .container_overrides(
                    ContainerOverride::builder()
                        .name(migration.container)
                        .set_command(Some(migration.command.to_vec()))
                        .build(),
                )
                .build(),
        )
        .started_by("reconcile-migration")
        .count(1)
        .send()
        .await
        .map_err(|e| AwsError::new("RunTask", subject.clone(), e))?;
    let Some(task_arn) = output.tasks().first().and_then(|t| t.task_arn()) else {
        let reasons: Vec<String> = output
            .failures()
            .iter()
            .map(|f| {
                format!(
                    "{} {}",
                    f.reason().unwrap_or("failed"),
                    f.detail().unwrap_or("")
                )
            })
            .collect();
        return Err(fail(
            &subject,
            format!("the task was not started: {}", reasons.join("; ")),
        ));
    };
    let task_arn = task_arn.to_string();
    let task_id = task_arn.rsplit('/').next().unwrap_or(&task_arn).to_string();
    let started = Instant::now();
    let mut backoff = Backoff::new();
    let mut last = String::new();
    let task = loop {
        let described = aws
            .ecs
            .describe_tasks()
            .cluster(migration.cluster)
            .tasks(&task_arn)
            .send()
            .await
            .map_err(|e| AwsError::new("DescribeTasks", task_id.clone(), e))?;
        let task = described.tasks().first().cloned();
        let status = task
            .as_ref()
            .and_then(Task::last_status)
            .unwrap_or("unknown")
            .to_string();
        if status == "STOPPED" {
            break task.unwrap_or_else(|| Task::builder().build());
        }
        if status != last {
            progress(format!("migration task {task_id}: {status}"));
            last = status;
        }
        if started.elapsed() >= migration.time_limit {
            let _ = aws
                .ecs
                .stop_task()
                .cluster(migration.cluster)
                .task(&task_arn)
                .reason("reconcile: the migration exceeded its time limit")
                .send()
                .await;
            return Err(fail(
                &subject,
                format!(
                    "still running after {}; the task was stopped",
                    humantime::format_duration(migration.time_limit)
                ),
            ));
        }
        backoff.wait().await;
    };
    let lines = log_lines(aws, migration, &task_id).await;
    let container = task
        .containers()
        .iter()
        .find(|c| c.name() == Some(migration.container));
    match container.and_then(|c| c.exit_code()) {
        Some(0) => Ok(format!("task {task_id} exited 0{lines}")),
        Some(code) => Err(fail(
            &subject,
            format!("task {task_id} exited with code {code}{lines}"),
        )),
        None => Err(fail(
            &subject,
            format!(
                "task {task_id} never ran its command: {}{}{lines}",
                task.stopped_reason().unwrap_or("stopped without a reason"),
                task.stop_code()
                    .map(|code| format!(" ({})", code.as_str()))
                    .unwrap_or_default()
            ),
        )),
    }
}

/// The last log lines of the migration's container, indented for the report; empty when there
/// are none or they cannot be read.
async fn log_lines(aws: &Aws, migration: &Migration<'_>, task_id: &str) -> String {
    let stream = format!(
        "{}/{}/{task_id}",
        migration.log_stream_prefix, migration.container
    );
    let result = aws
        .logs
        .get_log_events()
        .log_group_name(migration.log_group)
        .log_stream_name(&stream)
        .start_from_head(false)
        .limit(LOG_LINES)
        .send()
        .await;
    match result {
        Ok(output) => {
            let lines: Vec<String> = output
                .events()
                .iter()
                .filter_map(|event| event.message())
                .map(|line| format!("\n      | {}", line.trim_end()))
                .collect();
            if lines.is_empty() {
                String::new()
            } else {
                format!(
                    "; last log lines ({} {stream}):{}",
                    migration.log_group,
                    lines.concat()
                )
            }
        }
        // No stream: the container wrote nothing (or never ran).
        Err(error)
            if error
                .as_service_error()
                .is_some_and(|e| e.is_resource_not_found_exception()) =>
        {
            String::new()
        }
        Err(error) => format!(
            "; its log lines could not be read ({}: {})",
            stream,
            AwsError::summary(&error)
        ),
    }
}

/// The deployment a CreateService / UpdateService answer shows as PRIMARY, when it still has to
/// roll out: `(id, task definition)`.
pub fn new_deployment(service: Option<&Service>) -> Option<(String, String)> {
    let primary = service?
        .deployments()
        .iter()
        .find(|d| d.status() == Some("PRIMARY"))?;
    if primary.rollout_state().map(|s| s.as_str()) == Some("COMPLETED") {
        return None;
    }
    Some((
        primary.id()?.to_string(),
        primary.task_definition()?.to_string(),
    ))
}

/// The model of what DescribeServices says about a service's deployments.
pub fn rollout_from_sdk(service: &Service) -> ServiceRollout {
    ServiceRollout {
        deployments: service
            .deployments()
            .iter()
            .map(|d| DeploymentState {
                id: d.id().unwrap_or_default().to_string(),
                status: d.status().unwrap_or_default().to_string(),
                task_definition: d.task_definition().unwrap_or_default().to_string(),
                rollout_state: d.rollout_state().map(|s| s.as_str().to_string()),
                rollout_state_reason: d.rollout_state_reason().map(str::to_string),
                desired: d.desired_count(),
                running: d.running_count(),
                pending: d.pending_count(),
                failed: d.failed_tasks(),
            })
            .collect(),
        events: service
            .events()
            .iter()
            .map(|e| {
                (
                    e.created_at().map_or(0, |t| t.secs()),
                    e.message().unwrap_or_default().to_string(),
                )
            })
            .collect(),
    }
}

/// A deployment to follow.
#[derive(Debug, Clone)]
pub struct Rollout {
    pub cluster: String,
    pub service: String,
    pub deployment: String,
    pub task_definition: String,
    /// Seconds since the epoch when apply updated the service: older events are not reasons.
    pub since: i64,
}

/// Follows a deployment until it completes (`Ok` with the task counts) or fails, is rolled back,
/// or outlasts `time_limit` (`Err` with the reasons ECS gives).
pub async fn follow(
    aws: &Aws,
    rollout: &Rollout,
    time_limit: Duration,
    progress: &mut dyn FnMut(String),
) -> Result<String, AwsError> {
    let fail = |message: String| AwsError {
        operation: "rollout",
        subject: rollout.service.clone(),
        message,
    };
    let started = Instant::now();
    let mut backoff = Backoff::new();
    let mut last = None;
    loop {
        let output = aws
            .ecs
            .describe_services()
            .cluster(&rollout.cluster)
            .services(&rollout.service)
            .send()
            .await
            .map_err(|e| AwsError::new("DescribeServices", rollout.service.clone(), e))?;
        let Some(service) = output.services().first() else {
            return Err(fail("the service no longer exists".into()));
        };
        let state = rollout_from_sdk(service);
        match crate::rollout::progress(&rollout.deployment, &rollout.task_definition, &state) {
            Progress::Completed { running, desired } => {
                return Ok(format!(
                    "deployment completed: {running} of {desired} tasks running {}",
                    crate::plan::short_revision(&rollout.task_definition)
                ));
            }
            Progress::Failed { reason } => {
                let reasons = reasons(aws, rollout, &state).await;
                return Err(fail(format!("{reason}{reasons}")));
            }
            Progress::InProgress {
                running,
                desired,
                pending,
                failed,
            } => {
                let now = (running, desired, pending, failed);
                if last != Some(now) {
                    progress(format!(
                        "rollout of {}: {running}/{desired} running, {pending} pending, {failed} failed",
                        rollout.service
                    ));
                    last = Some(now);
                }
                if started.elapsed() >= time_limit {
                    let reasons = reasons(aws, rollout, &state).await;
                    return Err(fail(format!(
                        "not completed after {} ({running} of {desired} running, {failed} failed); ECS goes on deploying{reasons}",
                        humantime::format_duration(time_limit)
                    )));
                }
            }
        }
        backoff.wait().await;
    }
}

/// Why a deployment failed, in ECS's words: the stopped tasks it started and the service's events
/// since the update.
async fn reasons(aws: &Aws, rollout: &Rollout, state: &ServiceRollout) -> String {
    let mut out = String::new();
    let stopped = aws
        .ecs
        .list_tasks()
        .cluster(&rollout.cluster)
        .started_by(&rollout.deployment)
        .desired_status(DesiredStatus::Stopped)
        .send()
        .await;
    if let Ok(listed) = stopped
        && !listed.task_arns().is_empty()
        && let Ok(described) = aws
            .ecs
            .describe_tasks()
            .cluster(&rollout.cluster)
            .set_tasks(Some(listed.task_arns().iter().take(3).cloned().collect()))
            .send()
            .await
    {
        for task in described.tasks() {
            let exits: Vec<String> = task
                .containers()
                .iter()
                .filter_map(|c| Some(format!("{} exit {}", c.name()?, c.exit_code()?)))
                .collect();
            out.push_str(&format!(
                "\n      stopped task {}: {}{}",
                task.task_arn()
                    .and_then(|a| a.rsplit('/').next())
                    .unwrap_or("?"),
                task.stopped_reason().unwrap_or("no reason given"),
                if exits.is_empty() {
                    String::new()
                } else {
                    format!(" ({})", exits.join(", "))
                }
            ));
        }
    }
    for (_, message) in state
        .events
        .iter()
        .filter(|(at, _)| *at >= rollout.since)
        .take(5)
    {
        out.push_str(&format!("\n      event: {message}"));
    }
    out
}
