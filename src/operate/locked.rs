//! One environment applied under its DynamoDB lease, as CI applies it: the account checked, the
//! lock taken (or held by someone else), the plan made again under it, applied with every step
//! logged, a data store never replaced, the lock released whatever happened.

use super::context::Context;
use crate::aws::apply::{StepStatus, unallowed_replacements};
use crate::aws::lock::{self, LockError, Release};
use crate::aws::{Aws, sts};
use crate::state::DesiredState;

/// How an apply under the lock ended.
pub(super) enum Applied {
    /// Every step done: how many changes.
    Done(usize),
    /// A step failed (or the stop interrupted it): the first failure.
    Failed(String),
    /// Someone else holds the environment's lock.
    Locked(String),
}

/// Applies `desired` under its lock, planning afresh once the lock is held.
pub(super) async fn apply_locked(
    context: &Context,
    desired: &DesiredState,
) -> anyhow::Result<Applied> {
    let aws = context.aws(&desired.region).await;
    if let Ok(mut fences) = context.fences.lock() {
        fences.push(aws.fence.clone());
    }
    let result = apply_with(context, &aws, desired).await;
    if let Ok(mut fences) = context.fences.lock() {
        fences.retain(|fence| !fence.same(&aws.fence));
    }
    context.shared.count_calls(&aws.calls);
    result
}

async fn apply_with(
    context: &Context,
    aws: &Aws,
    desired: &DesiredState,
) -> anyhow::Result<Applied> {
    let options = &context.options;
    let account = sts::account(aws).await?;
    if let Some(expected) = &desired.account
        && *expected != account
    {
        anyhow::bail!("the credentials are for account {account}, not {expected}");
    }
    let (table, key) = lock::key_of(desired);
    let lock =
        match lock::acquire(aws, &table, &key, &desired.environment, options.lock_lease).await {
            Ok(lock) => lock,
            Err(LockError::Held { holder, .. }) => return Ok(Applied::Locked(holder)),
            Err(error) => return Err(error.into()),
        };
    let environment = desired.environment.clone();
    let renewal = lock.keep_alive(aws, move |warning| {
        tracing::warn!(environment = %environment, %warning, "lock renewal");
    });
    let outcome = async {
        let (plan, _) = crate::engine::plan_environment(aws, desired).await?;
        if !plan.has_changes() {
            return Ok(Applied::Done(0));
        }
        let refused = unallowed_replacements(&plan, &[]);
        if !refused.is_empty() {
            return Ok(Applied::Failed(format!(
                "the plan replaces {}: the operator never replaces a data store",
                refused.join(", ")
            )));
        }
        let environment = desired.environment.as_str();
        let mut on_step = |step: &crate::aws::apply::StepOutcome| {
            tracing::info!(environment, step = %format!("{} {}", step.resource.kind.label(), step.resource.name), status = ?step.status, "step");
        };
        let mut progress = |resource: &crate::plan::Resource, line: String| {
            tracing::debug!(environment, step = %format!("{} {}", resource.kind.label(), resource.name), %line, "progress");
        };
        let report = crate::aws::apply::apply(
            aws,
            &plan,
            crate::aws::apply::Options {
                allow_replace: &[],
                on_step: &mut on_step,
                progress: &mut progress,
                wait: Some(options.rollout_timeout),
            },
        )
        .await;
        if report.succeeded() {
            return Ok(Applied::Done(
                report
                    .steps
                    .iter()
                    .filter(|s| s.resource.kind != crate::plan::ResourceKind::Rollout)
                    .count(),
            ));
        }
        let failure = report
            .steps
            .iter()
            .find_map(|step| match &step.status {
                StepStatus::Failed { error } => Some(format!(
                    "{} {}: {error}",
                    step.resource.kind.label(),
                    step.resource.name
                )),
                _ => None,
            })
            .or_else(|| {
                report.steps.iter().find_map(|step| match &step.status {
                    StepStatus::NotAttempted { why } => Some(why.clone()),
                    _ => None,
                })
            })
            .unwrap_or_else(|| "the apply did not complete".into());
        Ok::<_, anyhow::Error>(Applied::Failed(failure))
    }
    .await;
    renewal.abort();
    match lock.release(aws).await {
        Release::Released => {}
        Release::TakenOver { holder } => {
            tracing::warn!(holder = %holder, "the lock had been taken over before it was released")
        }
        Release::Failed(reason) => {
            tracing::warn!(%reason, "the lock could not be released; it expires with its lease")
        }
    }
    outcome
}
