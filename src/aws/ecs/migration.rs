//! A migration run as a one-off Fargate task from the service's task definition, one container's
//! command overridden, and followed to STOPPED: exit 0 is success; the task's last log lines are
//! shown either way.

use std::time::{Duration, Instant};

use aws_sdk_ecs::types::{ContainerOverride, LaunchType, Task, TaskOverride};

use super::convert::network_to_sdk;
use crate::aws::{Aws, AwsError, Backoff, logs};
use crate::plan::MigrationTask;

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
    let task_arn = start(aws, migration, task_definition, &subject).await?;
    let task_id = task_arn.rsplit('/').next().unwrap_or(&task_arn).to_string();
    let task = wait_stopped(aws, migration, &task_arn, &subject, progress).await?;
    let stream = format!(
        "{}/{}/{task_id}",
        migration.log_stream_prefix, migration.container
    );
    let lines = logs::last_lines(aws, &migration.log_group, &stream).await;
    let container = task
        .containers()
        .iter()
        .find(|c| c.name() == Some(migration.container.as_str()));
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

/// RunTask: one Fargate task with the container's command overridden; its ARN.
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
        .launch_type(LaunchType::Fargate)
        .platform_version(&migration.platform_version)
        .network_configuration(network_to_sdk(&migration.network))
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
        .started_by("reconcile-migration")
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
    let mut backoff = Backoff::new();
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
            progress(format!("migration task {task_id}: {status}"));
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
        backoff.wait().await;
    }
}
