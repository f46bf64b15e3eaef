//! ECS reads for a plan: the cluster, the services (ten per DescribeServices), the task definitions
//! they run, and a family's recent ACTIVE revisions.

use std::collections::{BTreeMap, BTreeSet};

use aws_sdk_ecs::types::{ClusterField, ServiceField, TaskDefinitionStatus};
use futures::{StreamExt, TryStreamExt, stream};

use super::convert::{service_from_sdk, tags_from_sdk};
use super::revision::revision_from_sdk;
use crate::aws::{Aws, AwsError};
use crate::model::{LiveCluster, LiveService, Revision};
use crate::state::DesiredState;

/// How many of a family's most recent ACTIVE revisions are searched for one to reuse.
pub const CANDIDATE_REVISIONS: usize = 10;
/// Parallel DescribeTaskDefinition calls.
const DESCRIBE_CONCURRENCY: usize = 4;

pub async fn cluster(aws: &Aws, name: &str) -> Result<Option<LiveCluster>, AwsError> {
    let output = aws
        .ecs
        .describe_clusters()
        .clusters(name)
        .include(ClusterField::Tags)
        .send()
        .await
        .map_err(|e| AwsError::call("DescribeClusters", format!("cluster {name}"), e))?;
    Ok(output.clusters().first().map(|cluster| LiveCluster {
        name: cluster.cluster_name().unwrap_or_default().to_string(),
        arn: cluster.cluster_arn().unwrap_or_default().to_string(),
        status: cluster.status().unwrap_or_default().to_string(),
        tags: tags_from_sdk(cluster.tags()),
        capacity_providers: cluster.capacity_providers().to_vec(),
    }))
}

pub async fn services(
    aws: &Aws,
    state: &DesiredState,
) -> Result<BTreeMap<String, LiveService>, AwsError> {
    let names: Vec<String> = state.services.iter().map(|s| s.name.clone()).collect();
    describe_services(aws, &state.cluster, &names).await
}

/// The ACTIVE services of `cluster` among `names`, with their tags: DescribeServices ten at a
/// time, concurrently. A cluster that does not exist has none.
pub async fn describe_services(
    aws: &Aws,
    cluster: &str,
    names: &[String],
) -> Result<BTreeMap<String, LiveService>, AwsError> {
    let calls = names.chunks(10).map(|chunk| {
        aws.ecs
            .describe_services()
            .cluster(cluster)
            .set_services(Some(chunk.to_vec()))
            .include(ServiceField::Tags)
            .send()
    });
    let mut out = BTreeMap::new();
    for result in futures::future::join_all(calls).await {
        match result {
            Ok(output) => {
                for service in output.services() {
                    let live = service_from_sdk(service);
                    // A deleted service lingers as INACTIVE or DRAINING; it is gone for planning.
                    if live.status == "ACTIVE" {
                        out.insert(live.name.clone(), live);
                    }
                }
            }
            Err(error)
                if error
                    .as_service_error()
                    .is_some_and(|e| e.is_cluster_not_found_exception()) => {}
            Err(error) => {
                return Err(AwsError::call(
                    "DescribeServices",
                    format!("in cluster {cluster}"),
                    error,
                ));
            }
        }
    }
    Ok(out)
}

/// The names of the services of `cluster` (ListServices, paged). A cluster that does not exist
/// has none.
pub async fn service_names(aws: &Aws, cluster: &str) -> Result<Vec<String>, AwsError> {
    let mut pages = aws
        .ecs
        .list_services()
        .cluster(cluster)
        .max_results(100)
        .into_paginator()
        .send();
    let mut names = Vec::new();
    while let Some(page) = pages.next().await {
        let page = match page {
            Ok(page) => page,
            Err(error)
                if error
                    .as_service_error()
                    .is_some_and(|e| e.is_cluster_not_found_exception()) =>
            {
                return Ok(Vec::new());
            }
            Err(error) => {
                return Err(AwsError::call(
                    "ListServices",
                    format!("in cluster {cluster}"),
                    error,
                ));
            }
        };
        names.extend(
            page.service_arns()
                .iter()
                .map(|arn| arn.rsplit('/').next().unwrap_or(arn).to_string()),
        );
    }
    Ok(names)
}

/// The ACTIVE services of `cluster` whose names are not in `declared`, with the task definition
/// each runs: ListServices, then DescribeServices of those alone (none when every listed service
/// is declared).
pub async fn undeclared_services(
    aws: &Aws,
    cluster: &str,
    declared: &BTreeSet<String>,
) -> Result<BTreeMap<String, String>, AwsError> {
    let undeclared: Vec<String> = service_names(aws, cluster)
        .await?
        .into_iter()
        .filter(|name| !declared.contains(name))
        .collect();
    Ok(describe_services(aws, cluster, &undeclared)
        .await?
        .into_values()
        .map(|service| (service.name, service.task_definition_arn))
        .collect())
}

pub async fn describe_revisions(
    aws: &Aws,
    arns: impl Iterator<Item = String>,
) -> Result<BTreeMap<String, Revision>, AwsError> {
    stream::iter(arns.map(|arn| async move {
        let output = aws
            .ecs
            .describe_task_definition()
            .task_definition(&arn)
            .send()
            .await
            .map_err(|e| AwsError::call("DescribeTaskDefinition", arn.clone(), e))?;
        Ok::<_, AwsError>(
            output
                .task_definition()
                .map(|definition| (arn, revision_from_sdk(definition))),
        )
    }))
    .buffer_unordered(DESCRIBE_CONCURRENCY.max(1))
    .try_filter_map(|found| async move { Ok(found) })
    .try_collect()
    .await
}

/// The family's most recent ACTIVE revisions, newest first; reuses descriptions already fetched.
pub async fn candidates(
    aws: &Aws,
    family: &str,
    known: &BTreeMap<String, Revision>,
) -> Result<Vec<Revision>, AwsError> {
    let listed = aws
        .ecs
        .list_task_definitions()
        .family_prefix(family)
        .status(TaskDefinitionStatus::Active)
        .sort(aws_sdk_ecs::types::SortOrder::Desc)
        .max_results(CANDIDATE_REVISIONS as i32)
        .send()
        .await
        .map_err(|e| AwsError::call("ListTaskDefinitions", format!("family {family}"), e))?;
    // familyPrefix matches by prefix on AWS; keep this family only, newest first.
    let mut arns: Vec<String> = listed
        .task_definition_arns()
        .iter()
        .filter(|arn| {
            crate::plan::short_revision(arn)
                .rsplit_once(':')
                .map(|(f, _)| f)
                == Some(family)
        })
        .cloned()
        .collect();
    arns.sort_by_key(|arn| std::cmp::Reverse(crate::plan::revision_number(arn)));
    arns.truncate(CANDIDATE_REVISIONS);
    let missing: Vec<String> = arns
        .iter()
        .filter(|arn| !known.contains_key(*arn))
        .cloned()
        .collect();
    let mut fetched = describe_revisions(aws, missing.into_iter()).await?;
    Ok(arns
        .iter()
        .filter_map(|arn| fetched.remove(arn).or_else(|| known.get(arn).cloned()))
        .collect())
}
