//! `reconcile promote`'s AWS side: the digest the source environment's services run (ECS), its
//! tags, and the image copied into the target's repository when it is not there (ECR).

use std::collections::BTreeSet;

use super::ecr::{self, Copied, Repository};
use super::{Aws, AwsError, ecs};
use crate::promote::running_digest;
use crate::state::DesiredState;

/// The image a source environment runs: its digest and the source repository's tags of it.
#[derive(Debug, Clone)]
pub struct Running {
    /// The digest every service of the source runs.
    pub digest: String,
    /// The tags of that digest (for people, and for the release script's "built from this
    /// commit" check; the digest is what deploys).
    pub tags: Vec<String>,
}

/// The digest `source`'s declared services run (from the task definitions ECS runs, not the
/// state file), refused while one of them is between deployments.
pub async fn running(source_aws: &Aws, source: &DesiredState) -> Result<Running, AwsError> {
    let refused = |reason: String| AwsError::Refused {
        step: "promote",
        subject: format!("from {}", source.environment),
        reason,
    };
    let services = ecs::read::services(source_aws, source).await?;
    if let Some(moving) = services.values().find(|s| {
        s.pending_count > 0
            || s.settings
                .desired_count
                .is_some_and(|d| d != s.running_count)
    }) {
        return Err(refused(format!(
            "{} is between deployments ({} running, {} pending, {} desired): promote once its rollout has finished",
            moving.name,
            moving.running_count,
            moving.pending_count,
            moving.settings.desired_count.unwrap_or_default()
        )));
    }
    let arns: BTreeSet<String> = services
        .values()
        .map(|s| s.task_definition_arn.clone())
        .collect();
    let revisions = ecs::read::describe_revisions(source_aws, arns.into_iter()).await?;
    let running: Vec<_> = services
        .values()
        .filter_map(|s| {
            let revision = revisions.get(&s.task_definition_arn)?;
            Some((s.name.clone(), revision.clone()))
        })
        .collect();
    let digest = running_digest(source, &running).map_err(|e| refused(e.to_string()))?;
    let Some(image) = ecr::image_by(source_aws, source, None, Some(digest.clone())).await? else {
        return Err(refused(format!(
            "its services run {digest}, which repository {} no longer holds (a lifecycle rule?): nothing to copy",
            ecr::repository(source, "promote")?
        )));
    };
    Ok(Running {
        digest,
        tags: image.tags,
    })
}

/// Makes sure `target`'s repository holds the image `source` runs: nothing when it is the same
/// repository or holds the digest already (`None`), else a copy with the source's tags.
pub async fn copy_to_target(
    source_aws: &Aws,
    source: &DesiredState,
    target_aws: &Aws,
    target: &DesiredState,
    image: &Running,
) -> Result<Option<Copied>, AwsError> {
    let (from, to) = (
        ecr::repository(source, "promote")?,
        ecr::repository(target, "promote into")?,
    );
    let same_repository = source.region == target.region && from == to;
    if same_repository
        || ecr::image_by(target_aws, target, None, Some(image.digest.clone()))
            .await?
            .is_some()
    {
        return Ok(None);
    }
    let copied = ecr::copy(
        Repository {
            aws: source_aws,
            name: from,
        },
        Repository {
            aws: target_aws,
            name: to,
        },
        &image.digest,
        &image.tags,
    )
    .await?;
    Ok(Some(copied))
}
