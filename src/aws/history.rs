//! `reconcile history`'s reads: each service's deployment records and revisions from ECS, and
//! ECR's tags of the digests they ran.

use std::collections::{BTreeMap, BTreeSet};

use super::{Aws, AwsError, ecr, ecs};
use crate::history::{Entry, ServiceRecords, entries};
use crate::state::DesiredState;
use crate::state::desired::{DesiredService, ImageRef};

/// The `limit` newest deployments of each of `services`, newest first, by service name.
pub async fn history(
    aws: &Aws,
    state: &DesiredState,
    services: &[&DesiredService],
    limit: usize,
) -> Result<Vec<(String, Vec<Entry>)>, AwsError> {
    let reads = services.iter().map(|service| async move {
        let deployments =
            ecs::history::deployments(aws, &state.cluster, &service.name, limit).await?;
        let revision_arns: BTreeSet<String> = deployments
            .iter()
            .flat_map(|d| std::iter::once(d.target_revision.clone()).chain(d.rollback_to.clone()))
            .filter(|arn| !arn.is_empty())
            .collect();
        let revisions =
            ecs::history::revisions(aws, &revision_arns.into_iter().collect::<Vec<_>>()).await?;
        let task_definitions: BTreeSet<String> = revisions
            .values()
            .map(|r| r.task_definition.clone())
            .collect();
        let commits =
            ecs::history::commits(aws, &task_definitions.into_iter().collect::<Vec<_>>()).await?;
        Ok::<_, AwsError>(ServiceRecords {
            deployments,
            revisions,
            commits,
            tags: BTreeMap::new(),
        })
    });
    let mut records: Vec<ServiceRecords> = futures::future::try_join_all(reads).await?;

    // ECR's tags of every digest of the application's repository, once each (none when the
    // containers each name their own image).
    let repository = state.image.as_ref().map(|image| image.repository.as_str());
    let digests: BTreeSet<String> = records
        .iter()
        .flat_map(|r| r.revisions.values())
        .flat_map(|r| &r.images)
        .filter_map(|(image, digest)| {
            let (_, reference) = ImageRef::parse_uri(image)?;
            (Some(reference.repository.as_str()) == repository)
                .then(|| digest.clone().or(reference.digest))?
        })
        .collect();
    let lookups = digests.into_iter().map(|digest| async move {
        let found = ecr::image_by(aws, state, None, Some(digest.clone())).await?;
        Ok::<_, AwsError>((digest, found.map(|image| image.tags).unwrap_or_default()))
    });
    let tags: BTreeMap<String, Vec<String>> = futures::future::try_join_all(lookups)
        .await?
        .into_iter()
        .collect();
    for record in &mut records {
        record.tags = tags.clone();
    }
    Ok(services
        .iter()
        .zip(&records)
        .map(|(service, records)| {
            (
                service.name.clone(),
                entries(
                    &service.name,
                    repository.unwrap_or_default(),
                    records,
                    limit,
                ),
            )
        })
        .collect())
}
