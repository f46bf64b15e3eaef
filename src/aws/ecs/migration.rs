//! A migration run as a one-off Fargate task from the service's task definition, one container's
//! command overridden, and followed to STOPPED: exit 0 is success; the task's last log lines are
//! shown either way.

use std::time::{Duration, Instant};

use aws_sdk_ecs::types::{ContainerOverride, DesiredStatus, LaunchType, Task, TaskOverride};

use super::convert::{capacity_providers_to_sdk, network_to_sdk};
use crate::aws::{Aws, AwsError, Backoff, logs};
use crate::plan::{MigrationTask, short_revision};

/// What migration tasks are started by, to find one still running.
const STARTED_BY: &str = "reconcile-migration";

fn fail(subject: &str, message: String) -> AwsError {
    AwsError::Migration {
        subject: subject.to_string(),
        message,
    }
}

/// Runs the migration to its end. `Ok` with its log lines when the container exited 0.
pub async fn run_migration(
    aws: &Aws,
    migration: &MigrationTask,
    task_definition: &str,
    progress: &mut dyn FnMut(String),
) -> Result<String, AwsError> {
    let subject = format!("{} ({})", migration.command.join(" "), migration.container);
    // Never two migrations at once: one an earlier apply started (and then died) is followed
    // to its end when it runs this revision, and stops the apply when it runs another.
    let (task_arn, note) = match still_running(aws, migration, task_definition).await? {
        Some((arn, running)) if running == task_definition => (
            arn,
            "; it was started by an earlier apply and still running, so it was followed instead of starting another",
        ),
        Some((arn, running)) => {
            return Err(fail(
                &subject,
                format!(
                    "task {} of {} that an earlier apply started is still running, and two migrations must never run at once; wait until it stops (or stop it), then apply again",
                    arn.rsplit('/').next().unwrap_or(&arn),
                    short_revision(&running)
                ),
            ));
        }
        None => (start(aws, migration, task_definition, &subject).await?, ""),
    };
    let task_id = task_arn.rsplit('/').next().unwrap_or(&task_arn).to_string();
    let task = wait_stopped(aws, migration, &task_arn, &subject, progress).await?;
    let lines = match (&migration.log_group, &migration.log_stream_prefix) {
        (Some(group), Some(prefix)) => {
            let stream = format!("{prefix}/{}/{task_id}", migration.container);
            logs::last_lines(aws, group, &stream).await
        }
        _ => String::new(),
    };
    let container = task
        .containers()
        .iter()
        .find(|c| c.name() == Some(migration.container.as_str()));
    match container.and_then(|c| c.exit_code()) {
        Some(0) => Ok(format!("task {task_id} exited 0{note}{lines}")),
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

/// A migration task of this family that is still running: `(task ARN, its task definition)`.
async fn still_running(
    aws: &Aws,
    migration: &MigrationTask,
    task_definition: &str,
) -> Result<Option<(String, String)>, AwsError> {
    let listed = aws
        .ecs
        .list_tasks()
        .cluster(&migration.cluster)
        .started_by(STARTED_BY)
        .desired_status(DesiredStatus::Running)
        .send()
        .await
        .map_err(|e| AwsError::call("ListTasks", STARTED_BY, e))?;
    if listed.task_arns().is_empty() {
        return Ok(None);
    }
    let described = aws
        .ecs
        .describe_tasks()
        .cluster(&migration.cluster)
        .set_tasks(Some(listed.task_arns().to_vec()))
        .send()
        .await
        .map_err(|e| AwsError::call("DescribeTasks", STARTED_BY, e))?;
    let family = |arn: &str| {
        short_revision(arn)
            .rsplit_once(':')
            .map(|(family, _)| family.to_string())
    };
    Ok(described.tasks().iter().find_map(|task| {
        let running = task.task_definition_arn()?;
        (task.last_status() != Some("STOPPED") && family(running) == family(task_definition)).then(
            || {
                (
                    task.task_arn().unwrap_or_default().to_string(),
                    running.to_string(),
                )
            },
        )
    }))
}

/// RunTask: one task launched as the service launches its own (launch type or capacity
/// providers, network configuration in `awsvpc` mode), with the container's command
/// overridden; its ARN.
async fn start(
    aws: &Aws,
    migration: &MigrationTask,
    task_definition: &str,
    subject: &str,
) -> Result<String, AwsError> {
    let output = aws
        .ecs
        .run_task()
        .cluster(&migration.cluster)
        .task_definition(task_definition)
        .set_launch_type(migration.launch_type.as_deref().map(LaunchType::from))
        .set_capacity_provider_strategy(
            migration
                .capacity_provider_strategy
                .as_deref()
                .map(capacity_providers_to_sdk),
        )
        .set_platform_version(migration.platform_version.clone())
        .set_network_configuration(migration.network.as_ref().map(network_to_sdk))
        .overrides(
            TaskOverride::builder()
                .container_overrides(
                    ContainerOverride::builder()
                        .name(&migration.container)
                        .set_command(Some(migration.command.to_vec()))
                        .build(),
                )
                .build(),
        )
        .started_by(STARTED_BY)
        .count(1)
        .send()
        .await
        .map_err(|e| AwsError::call("RunTask", subject, e))?;
    match output.tasks().first().and_then(|t| t.task_arn()) {
        Some(arn) => Ok(arn.to_string()),
        None => {
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
            Err(fail(
                subject,
                format!("the task was not started: {}", reasons.join("; ")),
            ))
        }
    }
}

/// Reads the task until it is STOPPED, reporting each status; stops it after the time limit.
async fn wait_stopped(
    aws: &Aws,
    migration: &MigrationTask,
    task_arn: &str,
    subject: &str,
    progress: &mut dyn FnMut(String),
) -> Result<Task, AwsError> {
    let task_id = task_arn.rsplit('/').next().unwrap_or(task_arn);
    let limit = Duration::from_secs(migration.timeout_seconds);
    let started = Instant::now();
    let mut backoff = Backoff::new(&aws.stop);
    let mut last = String::new();
    loop {
        let described = aws
            .ecs
            .describe_tasks()
            .cluster(&migration.cluster)
            .tasks(task_arn)
            .send()
            .await
            .map_err(|e| AwsError::call("DescribeTasks", task_id, e))?;
        let task = described.tasks().first().cloned();
        let status = task
            .as_ref()
            .and_then(Task::last_status)
            .unwrap_or("unknown")
            .to_string();
        if status == "STOPPED" {
            return Ok(task.unwrap_or_else(|| Task::builder().build()));
        }
        if status != last {
            progress(format!("task {task_id}: {status}"));
            last = status;
        }
        if started.elapsed() >= limit {
            let _ = aws
                .ecs
                .stop_task()
                .cluster(&migration.cluster)
                .task(task_arn)
                .reason("reconcile: the migration exceeded its time limit")
                .send()
                .await;
            return Err(fail(
                subject,
                format!(
                    "still running after {}; the task was stopped",
                    humantime::format_duration(limit)
                ),
            ));
        }
        backoff.wait().await.map_err(|interrupted| {
            fail(
                subject,
                format!(
                    "{interrupted} while task {task_id} ran: it goes on in ECS, and the next apply follows it to its end instead of starting another (or stop it: aws ecs stop-task --cluster {} --task {task_id})",
                    migration.cluster
                ),
            )
        })?;
    }
}
