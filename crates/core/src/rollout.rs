//! Whether an ECS deployment has finished: decided from what DescribeServices reports, one
//! answer at a time. Pure, so the decisions are tested on sequences shaped like AWS's answers.

use serde::Serialize;

use crate::plan::short_revision;

/// One deployment of a service, as DescribeServices lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DeploymentState {
    pub id: String,
    /// `PRIMARY` (the newest), `ACTIVE` (older ones still running tasks), `INACTIVE`.
    pub status: String,
    pub task_definition: String,
    /// `IN_PROGRESS`, `COMPLETED`, `FAILED` (absent for other deployment controllers).
    pub rollout_state: Option<String>,
    pub rollout_state_reason: Option<String>,
    pub desired: i32,
    pub running: i32,
    pub pending: i32,
    pub failed: i32,
}

/// What DescribeServices says about a service's deployments and recent events.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ServiceRollout {
    pub deployments: Vec<DeploymentState>,
    /// Newest first, as ECS lists them: `(seconds since the epoch, message)`.
    pub events: Vec<(i64, String)>,
}

/// Where a deployment stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Progress {
    InProgress {
        running: i32,
        desired: i32,
        pending: i32,
        failed: i32,
    },
    Completed {
        running: i32,
        desired: i32,
    },
    Failed {
        reason: String,
    },
}

/// Where the deployment `id`, which deploys `task_definition`, stands in `service`.
pub fn progress(id: &str, task_definition: &str, service: &ServiceRollout) -> Progress {
    let primary = service.deployments.iter().find(|d| d.status == "PRIMARY");
    let rolled_back = |mine: &str| match primary {
        Some(primary) if primary.task_definition != mine => format!(
            "; the service went back to {} (circuit breaker rollback)",
            short_revision(&primary.task_definition)
        ),
        _ => String::new(),
    };
    let Some(deployment) = service.deployments.iter().find(|d| d.id == id) else {
        return match primary {
            Some(primary)
                if primary.task_definition == task_definition
                    && primary.rollout_state.as_deref() == Some("COMPLETED") =>
            {
                Progress::Completed {
                    running: primary.running,
                    desired: primary.desired,
                }
            }
            Some(primary) => Progress::Failed {
                reason: format!(
                    "deployment {id} is gone and the service runs {} instead of {}",
                    short_revision(&primary.task_definition),
                    short_revision(task_definition)
                ),
            },
            None => Progress::Failed {
                reason: format!("deployment {id} is gone and the service has no deployment"),
            },
        };
    };
    match deployment.rollout_state.as_deref() {
        Some("COMPLETED") => Progress::Completed {
            running: deployment.running,
            desired: deployment.desired,
        },
        Some("FAILED") => Progress::Failed {
            reason: format!(
                "{}{}",
                deployment
                    .rollout_state_reason
                    .clone()
                    .unwrap_or_else(|| format!("deployment {id} failed")),
                rolled_back(&deployment.task_definition)
            ),
        },
        // A newer deployment of other content took over: this one will never complete.
        _ if deployment.status != "PRIMARY"
            && primary.is_some_and(|p| p.task_definition != deployment.task_definition) =>
        {
            Progress::Failed {
                reason: format!(
                    "another deployment took over: the service now deploys {}",
                    primary.map_or(String::new(), |p| short_revision(&p.task_definition))
                ),
            }
        }
        // Without rollout states (other deployment controllers), done when it alone runs in full.
        None if deployment.running >= deployment.desired && service.deployments.len() == 1 => {
            Progress::Completed {
                running: deployment.running,
                desired: deployment.desired,
            }
        }
        _ => Progress::InProgress {
            running: deployment.running,
            desired: deployment.desired,
            pending: deployment.pending,
            failed: deployment.failed,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const OLD: &str = "arn:aws:ecs:ap-south-1:024209611402:task-definition/kaapi-task:7";
    const NEW: &str = "arn:aws:ecs:ap-south-1:024209611402:task-definition/kaapi-task:8";
    const ID: &str = "ecs-svc/5193835716264361830";

    fn deployment(
        id: &str,
        status: &str,
        td: &str,
        state: &str,
        counts: [i32; 4],
    ) -> DeploymentState {
        DeploymentState {
            id: id.into(),
            status: status.into(),
            task_definition: td.into(),
            rollout_state: Some(state.into()),
            rollout_state_reason: Some(match state {
                "COMPLETED" => format!("ECS deployment {id} completed."),
                "FAILED" => "ECS deployment circuit breaker: tasks failed to start.".into(),
                _ => format!("ECS deployment {id} in progress."),
            }),
            desired: counts[0],
            running: counts[1],
            pending: counts[2],
            failed: counts[3],
        }
    }

    fn answer(deployments: Vec<DeploymentState>) -> ServiceRollout {
        ServiceRollout {
            deployments,
            events: Vec::new(),
        }
    }

    #[test]
    fn a_rolling_update_that_completes() {
        let sequence = [
            // Right after UpdateService: the new PRIMARY starts, the old one still serves.
            answer(vec![
                deployment(ID, "PRIMARY", NEW, "IN_PROGRESS", [2, 0, 2, 0]),
                deployment("ecs-svc/1", "ACTIVE", OLD, "COMPLETED", [2, 2, 0, 0]),
            ]),
            answer(vec![
                deployment(ID, "PRIMARY", NEW, "IN_PROGRESS", [2, 2, 0, 0]),
                deployment("ecs-svc/1", "ACTIVE", OLD, "COMPLETED", [0, 0, 0, 0]),
            ]),
            answer(vec![deployment(
                ID,
                "PRIMARY",
                NEW,
                "COMPLETED",
                [2, 2, 0, 0],
            )]),
        ];
        let seen: Vec<Progress> = sequence.iter().map(|a| progress(ID, NEW, a)).collect();
        assert_eq!(
            seen,
            [
                Progress::InProgress {
                    running: 0,
                    desired: 2,
                    pending: 2,
                    failed: 0
                },
                Progress::InProgress {
                    running: 2,
                    desired: 2,
                    pending: 0,
                    failed: 0
                },
                Progress::Completed {
                    running: 2,
                    desired: 2
                },
            ]
        );
    }

    #[test]
    fn a_circuit_breaker_rollback_is_a_failure_naming_the_revision_left_running() {
        let sequence = [
            answer(vec![
                deployment(ID, "PRIMARY", NEW, "IN_PROGRESS", [2, 0, 1, 3]),
                deployment("ecs-svc/1", "ACTIVE", OLD, "COMPLETED", [2, 2, 0, 0]),
            ]),
            // The breaker trips: the failed deployment stays listed, a rollback becomes PRIMARY.
            answer(vec![
                deployment("ecs-svc/9", "PRIMARY", OLD, "IN_PROGRESS", [2, 2, 0, 0]),
                deployment(ID, "ACTIVE", NEW, "FAILED", [0, 0, 0, 6]),
            ]),
        ];
        assert!(matches!(
            progress(ID, NEW, &sequence[0]),
            Progress::InProgress { failed: 3, .. }
        ));
        assert_eq!(
            progress(ID, NEW, &sequence[1]),
            Progress::Failed {
                reason: "ECS deployment circuit breaker: tasks failed to start.; the service went back to kaapi-task:7 (circuit breaker rollback)".into()
            }
        );
        // Later answers no longer list the failed deployment: still a failure, never success.
        let later = answer(vec![deployment(
            "ecs-svc/9",
            "PRIMARY",
            OLD,
            "COMPLETED",
            [2, 2, 0, 0],
        )]);
        assert_eq!(
            progress(ID, NEW, &later),
            Progress::Failed {
                reason: format!(
                    "deployment {ID} is gone and the service runs kaapi-task:7 instead of kaapi-task:8"
                )
            }
        );
    }

    #[test]
    fn a_newer_deployment_of_other_content_ends_the_wait() {
        let third = "arn:aws:ecs:ap-south-1:024209611402:task-definition/kaapi-task:9";
        let answer = answer(vec![
            deployment("ecs-svc/10", "PRIMARY", third, "IN_PROGRESS", [2, 0, 2, 0]),
            deployment(ID, "ACTIVE", NEW, "IN_PROGRESS", [2, 1, 0, 0]),
        ]);
        assert_eq!(
            progress(ID, NEW, &answer),
            Progress::Failed {
                reason: "another deployment took over: the service now deploys kaapi-task:9".into()
            }
        );
    }

    #[test]
    fn a_deployment_replaced_by_an_equal_completed_one_is_done() {
        let answer = answer(vec![deployment(
            "ecs-svc/11",
            "PRIMARY",
            NEW,
            "COMPLETED",
            [1, 1, 0, 0],
        )]);
        assert_eq!(
            progress(ID, NEW, &answer),
            Progress::Completed {
                running: 1,
                desired: 1
            }
        );
    }
}
