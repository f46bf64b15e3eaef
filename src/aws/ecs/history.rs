//! ECS's records of what a service ran: its service deployments (ListServiceDeployments, paged;
//! DescribeServiceDeployments, 20 at a time), the service revisions they deployed
//! (DescribeServiceRevisions, 20 at a time) and the commit tag of each task definition.

use std::collections::BTreeMap;

use aws_sdk_ecs::types::TaskDefinitionField;
use futures::{StreamExt, TryStreamExt, stream};

use crate::aws::{Aws, AwsError};
use crate::history::{DeploymentRecord, ServiceRevision};
use crate::state::desired::COMMIT_TAG;

/// The most ARNs DescribeServiceDeployments and DescribeServiceRevisions take at once.
const DESCRIBE_BATCH: usize = 20;

fn seconds(time: Option<&aws_smithy_types::DateTime>) -> Option<i64> {
    time.map(|t| t.secs())
}

/// The `limit` newest service deployments of `service` (none when the service or the cluster does
/// not exist).
pub async fn deployments(
    aws: &Aws,
    cluster: &str,
    service: &str,
    limit: usize,
) -> Result<Vec<DeploymentRecord>, AwsError> {
    // ListServiceDeployments has no paginator in the SDK: nextToken by hand.
    let mut briefs: Vec<(i64, String)> = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let page = match aws
            .ecs
            .list_service_deployments()
            .cluster(cluster)
            .service(service)
            .max_results(100)
            .set_next_token(token.take())
            .send()
            .await
        {
            Ok(page) => page,
            Err(error)
                if error.as_service_error().is_some_and(|e| {
                    e.is_service_not_found_exception() || e.is_cluster_not_found_exception()
                }) =>
            {
                return Ok(Vec::new());
            }
            Err(error) => {
                return Err(AwsError::call(
                    "ListServiceDeployments",
                    format!("of {service} in cluster {cluster}"),
                    error,
                ));
            }
        };
        briefs.extend(page.service_deployments().iter().filter_map(|brief| {
            Some((
                seconds(brief.created_at()).unwrap_or_default(),
                brief.service_deployment_arn()?.to_string(),
            ))
        }));
        match page.next_token() {
            Some(next) if !next.is_empty() => token = Some(next.to_string()),
            _ => break,
        }
    }
    briefs.sort_by(|a, b| b.cmp(a));
    briefs.truncate(limit);
    let arns: Vec<String> = briefs.into_iter().map(|(_, arn)| arn).collect();
    let mut out = Vec::new();
    for chunk in arns.chunks(DESCRIBE_BATCH) {
        let output = aws
            .ecs
            .describe_service_deployments()
            .set_service_deployment_arns(Some(chunk.to_vec()))
            .send()
            .await
            .map_err(|e| {
                AwsError::call("DescribeServiceDeployments", format!("of {service}"), e)
            })?;
        out.extend(output.service_deployments().iter().map(|d| {
            DeploymentRecord {
                arn: d.service_deployment_arn().unwrap_or_default().to_string(),
                status: d
                    .status()
                    .map(|s| s.as_str().to_string())
                    .unwrap_or_default(),
                status_reason: d.status_reason().map(str::to_string),
                created_at: seconds(d.created_at()).unwrap_or_default(),
                finished_at: seconds(d.finished_at()),
                target_revision: d
                    .target_service_revision()
                    .and_then(|r| r.arn())
                    .unwrap_or_default()
                    .to_string(),
                rollback_to: d
                    .rollback()
                    .and_then(|r| r.service_revision_arn())
                    .map(str::to_string),
            }
        }));
    }
    Ok(out)
}

/// The service revisions of `arns`, by ARN.
pub async fn revisions(
    aws: &Aws,
    arns: &[String],
) -> Result<BTreeMap<String, ServiceRevision>, AwsError> {
    let mut out = BTreeMap::new();
    for chunk in arns.chunks(DESCRIBE_BATCH) {
        let output = aws
            .ecs
            .describe_service_revisions()
            .set_service_revision_arns(Some(chunk.to_vec()))
            .send()
            .await
            .map_err(|e| {
                AwsError::call(
                    "DescribeServiceRevisions",
                    format!("{} revisions", chunk.len()),
                    e,
                )
            })?;
        for revision in output.service_revisions() {
            let arn = revision
                .service_revision_arn()
                .unwrap_or_default()
                .to_string();
            out.insert(
                arn.clone(),
                ServiceRevision {
                    arn,
                    task_definition: revision.task_definition().unwrap_or_default().to_string(),
                    images: revision
                        .container_images()
                        .iter()
                        .map(|image| {
                            (
                                image.image().unwrap_or_default().to_string(),
                                image.image_digest().map(str::to_string),
                            )
                        })
                        .collect(),
                },
            );
        }
    }
    Ok(out)
}

/// The `reconcile:commit` tag of each task definition of `arns` that has one. A revision ECS
/// cannot describe any more (deleted) has none.
pub async fn commits(aws: &Aws, arns: &[String]) -> Result<BTreeMap<String, String>, AwsError> {
    let found: Vec<Option<(String, String)>> = stream::iter(arns.iter().map(|arn| async move {
        let output = match aws
            .ecs
            .describe_task_definition()
            .task_definition(arn)
            .include(TaskDefinitionField::Tags)
            .send()
            .await
        {
            Ok(output) => output,
            Err(error)
                if error
                    .as_service_error()
                    .is_some_and(|e| e.is_client_exception()) =>
            {
                return Ok(None);
            }
            Err(error) => return Err(AwsError::call("DescribeTaskDefinition", arn.clone(), error)),
        };
        Ok(output
            .tags()
            .iter()
            .find(|tag| tag.key() == Some(COMMIT_TAG))
            .and_then(|tag| tag.value())
            .map(|commit| (arn.clone(), commit.to_string())))
    }))
    .buffer_unordered(4)
    .try_collect()
    .await?;
    Ok(found.into_iter().flatten().collect())
}
