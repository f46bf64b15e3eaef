//! The steps a command strings together: observe an environment and plan it, or apply a plan.
//! Thin glue between the pure core and the AWS layer.

use crate::aws::{Aws, AwsError};
use crate::diagnostic::Diagnostics;
use crate::model::LiveEnvironment;
use crate::plan::{self, Plan, PlanError};
use crate::state::DesiredState;

/// Anything that stops a command.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    State(#[from] Diagnostics),
    #[error(transparent)]
    Aws(#[from] AwsError),
    #[error(transparent)]
    Plan(#[from] PlanError),
}

/// Reads the environment's live state and computes its plan.
pub async fn plan_environment(
    aws: &Aws,
    state: &DesiredState,
) -> Result<(Plan, LiveEnvironment), Error> {
    let live = crate::aws::observe::observe(aws, state).await?;
    let plan = plan::plan(state, &live)?;
    Ok((plan, live))
}
