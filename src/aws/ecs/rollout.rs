//! A service's new deployment followed until ECS reports it completed, failed or rolled back, with
//! the reasons ECS gives (the tasks it stopped, the service's events).

use std::time::{Duration, Instant};

use aws_sdk_ecs::types::{DesiredStatus, Service};

use crate::aws::{Aws, AwsError, Backoff};
use crate::rollout::{DeploymentState, Progress, ServiceRollout};

/// The deployment a CreateService / UpdateService answer shows as PRIMARY, when it still has to
/// roll out: `(id, task definition)`.
fn new_deployment(service: Option<&Service>) -> Option<(String, String)> {
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

/// The deployment to follow from a CreateService / UpdateService answer made at `since`.
pub fn started(
    cluster: &str,
    service: &str,
    answer: Option<&Service>,
    since: i64,
) -> Option<Rollout> {
    let (deployment, task_definition) = new_deployment(answer)?;
    Some(Rollout {
        cluster: cluster.to_string(),
        service: service.to_string(),
        deployment,
        task_definition,
        since,
    })
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
    let fail = |message: String| AwsError::Rollout {
        service: rollout.service.clone(),
        message,
    };
    let started = Instant::now();
    let mut backoff = Backoff::new(&aws.stop);
    let mut last = None;
    loop {
        let output = aws
            .ecs
            .describe_services()
            .cluster(&rollout.cluster)
            .services(&rollout.service)
            .send()
            .await
            .map_err(|e| AwsError::call("DescribeServices", rollout.service.clone(), e))?;
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
                        "{running}/{desired} running, {pending} pending, {failed} failed"
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
        backoff.wait().await.map_err(|interrupted| {
            fail(format!(
                "{interrupted}: deployment {} goes on in ECS; follow it with `reconcile status`, or aws ecs describe-services --cluster {} --services {}",
                rollout.deployment, rollout.cluster, rollout.service
            ))
        })?;
    }
}

/// Why a deployment failed, in ECS's words: the stopped tasks it started (with the last log lines
/// of the first one's failed container, as migrations show theirs) and the service's events since
/// the update.
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
        let failed = described.tasks().iter().find_map(|task| {
            let container = task
                .containers()
                .iter()
                .find(|c| c.exit_code().is_some_and(|code| code != 0))
                .or_else(|| task.containers().first())?;
            Some((
                task.task_definition_arn()?.to_string(),
                container.name()?.to_string(),
                task.task_arn()?.rsplit('/').next()?.to_string(),
            ))
        });
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
        if let Some((task_definition, container, task_id)) = failed {
            out.push_str(&task_log_lines(aws, &task_definition, &container, &task_id).await);
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

/// The last lines a stopped task's container wrote, when it logs with awslogs: its group and
/// stream prefix from the task definition, the stream `PREFIX/CONTAINER/TASK_ID`.
async fn task_log_lines(
    aws: &Aws,
    task_definition: &str,
    container: &str,
    task_id: &str,
) -> String {
    let Ok(described) = aws
        .ecs
        .describe_task_definition()
        .task_definition(task_definition)
        .send()
        .await
    else {
        return String::new();
    };
    let options = described
        .task_definition()
        .and_then(|td| {
            td.container_definitions()
                .iter()
                .find(|c| c.name() == Some(container))
        })
        .and_then(|c| c.log_configuration())
        .filter(|log| log.log_driver().as_str() == "awslogs")
        .and_then(|log| log.options());
    let (Some(group), Some(prefix)) = (
        options.and_then(|o| o.get("awslogs-group")),
        options.and_then(|o| o.get("awslogs-stream-prefix")),
    ) else {
        return String::new();
    };
    let stream = format!("{prefix}/{container}/{task_id}");
    crate::aws::logs::last_lines(aws, group, &stream)
        .await
        .replace("\n      | ", "\n        | ")
}
