//! Reads the live state of one environment, concurrently and with as few calls as possible:
//! caller identity, the image, the cluster, all services and the backing services at once; then
//! the task definitions the services run (and the backing services' details); then, only for families whose content changed, their recent ACTIVE revisions, and
//! only for secrets and log groups no running task uses yet, whether they exist (metadata, never
//! values).

use std::collections::{BTreeMap, BTreeSet};

use aws_sdk_ecs::types::{ClusterField, ServiceField, TaskDefinitionStatus};
use futures::{StreamExt, TryStreamExt, stream};

use super::convert::{revision_from_sdk, service_from_sdk, tags_from_sdk};
use super::{Aws, AwsError};
use crate::model::{LiveCluster, LiveEnvironment, LiveImage, Revision, SecretId, SecretStatus};
use crate::plan::{families_needing_candidates, log_groups_to_check, secrets_to_check};
use crate::state::DesiredState;

/// How many of a family's most recent ACTIVE revisions are searched for one to reuse.
pub const CANDIDATE_REVISIONS: usize = 10;
/// Parallel describe calls when fetching candidate revisions.
const DESCRIBE_CONCURRENCY: usize = 4;

/// Everything the planner needs to know about the environment's live state.
pub async fn observe(aws: &Aws, state: &DesiredState) -> Result<LiveEnvironment, AwsError> {
    // ECS in two waves (everything by name, then the running task definitions), and beside it
    // the backing services in two waves (one list per API, then the named ones' details).
    let ecs = async {
        let (account, image, cluster, services) = tokio::try_join!(
            account(aws),
            image(aws, state),
            cluster(aws, &state.cluster),
            services(aws, state),
        )?;
        let running: BTreeSet<String> = services
            .values()
            .map(|service| service.task_definition_arn.clone())
            .filter(|arn| !arn.is_empty())
            .collect();
        let task_definitions = describe_revisions(aws, running.into_iter()).await?;
        Ok::<_, AwsError>((account, image, cluster, services, task_definitions))
    };
    let ((account, image, cluster, services, task_definitions), (backing, unmanaged_backing)) =
        tokio::try_join!(ecs, super::backing::observe(aws, state))?;
    let mut live = LiveEnvironment {
        account,
        image,
        cluster,
        services,
        task_definitions,
        candidates: BTreeMap::new(),
        secrets: BTreeMap::new(),
        log_groups: BTreeMap::new(),
        backing,
        unmanaged_backing,
    };
    // When the preconditions fail (no image, wrong account) the planner reports it; nothing more to read.
    if let Ok(families) = families_needing_candidates(state, &live) {
        let known = &live.task_definitions;
        let revisions = futures::future::try_join_all(families.into_iter().map(|family| async {
            let revisions = candidates(aws, &family, known).await?;
            Ok::<_, AwsError>((family, revisions))
        }));
        let (revisions, secrets, log_groups) = tokio::join!(
            revisions,
            check_secrets(aws, secrets_to_check(state, &live)),
            check_log_groups(aws, log_groups_to_check(state, &live)),
        );
        live.candidates.extend(revisions?);
        live.secrets = secrets;
        live.log_groups = log_groups?;
    }
    Ok(live)
}

/// Whether each log group exists: one DescribeLogGroups by name prefix per group, concurrently.
async fn check_log_groups(
    aws: &Aws,
    names: BTreeSet<String>,
) -> Result<BTreeMap<String, bool>, AwsError> {
    stream::iter(names.into_iter().map(|name| async move {
        let output = aws
            .logs
            .describe_log_groups()
            .log_group_name_prefix(&name)
            .limit(50)
            .send()
            .await
            .map_err(|e| AwsError::new("DescribeLogGroups", name.clone(), e))?;
        let exists = output
            .log_groups()
            .iter()
            .any(|group| group.log_group_name() == Some(name.as_str()));
        Ok::<_, AwsError>((name, exists))
    }))
    .buffer_unordered(DESCRIBE_CONCURRENCY)
    .try_collect()
    .await
}

/// Looks each secret up by its metadata: Secrets Manager one DescribeSecret per secret, SSM one
/// DescribeParameters per 50 names. A lookup that fails (no permission, ...) is reported as
/// unchecked rather than failing the plan: the execution role, not the deployer, reads secrets.
async fn check_secrets(aws: &Aws, ids: BTreeSet<SecretId>) -> BTreeMap<SecretId, SecretStatus> {
    let mut parameters = Vec::new();
    let mut lookups = Vec::new();
    for id in ids {
        match id {
            SecretId::SecretsManager(secret) => lookups.push(secret),
            SecretId::Ssm(name) => parameters.push(name),
        }
    }
    let secrets = stream::iter(lookups.into_iter().map(|secret| async move {
        let result = aws
            .secretsmanager
            .describe_secret()
            .secret_id(&secret)
            .send()
            .await;
        let status = match result {
            Ok(described) => match described.deleted_date() {
                Some(date) => SecretStatus::Missing {
                    reason: format!("is scheduled for deletion ({date})"),
                },
                None => SecretStatus::Exists,
            },
            Err(error)
                if error
                    .as_service_error()
                    .is_some_and(|e| e.is_resource_not_found_exception()) =>
            {
                SecretStatus::Missing {
                    reason: "not found".into(),
                }
            }
            Err(error) => SecretStatus::Unchecked {
                reason: format!("DescribeSecret: {}", AwsError::summary(&error)),
            },
        };
        (SecretId::SecretsManager(secret), status)
    }))
    .buffer_unordered(DESCRIBE_CONCURRENCY)
    .collect::<Vec<_>>();
    let parameters = futures::future::join_all(parameters.chunks(50).map(|chunk| async move {
        // The names found, or why the lookup failed.
        let found = async {
            let filter = aws_sdk_ssm::types::ParameterStringFilter::builder()
                .key("Name")
                .option("Equals")
                .set_values(Some(chunk.to_vec()))
                .build()
                .map_err(|error| error.to_string())?;
            let output = aws
                .ssm
                .describe_parameters()
                .parameter_filters(filter)
                .max_results(50)
                .send()
                .await
                .map_err(|error| AwsError::summary(&error))?;
            Ok::<_, String>(
                output
                    .parameters()
                    .iter()
                    .filter_map(|p| p.name().map(str::to_string))
                    .collect::<BTreeSet<_>>(),
            )
        }
        .await;
        chunk
            .iter()
            .map(|name| {
                let status = match &found {
                    Ok(names) if names.contains(name) => SecretStatus::Exists,
                    Ok(_) => SecretStatus::Missing {
                        reason: "not found".into(),
                    },
                    Err(reason) => SecretStatus::Unchecked {
                        reason: format!("DescribeParameters: {reason}"),
                    },
                };
                (SecretId::Ssm(name.clone()), status)
            })
            .collect::<Vec<_>>()
    }));
    let (secrets, parameters) = tokio::join!(secrets, parameters);
    secrets
        .into_iter()
        .chain(parameters.into_iter().flatten())
        .collect()
}

async fn account(aws: &Aws) -> Result<String, AwsError> {
    let identity = aws
        .sts
        .get_caller_identity()
        .send()
        .await
        .map_err(|e| AwsError::new("GetCallerIdentity", "for the current credentials", e))?;
    Ok(identity.account().unwrap_or_default().to_string())
}

async fn image(aws: &Aws, state: &DesiredState) -> Result<Option<LiveImage>, AwsError> {
    let id = aws_sdk_ecr::types::ImageIdentifier::builder()
        .set_image_tag(state.image.tag.clone())
        .set_image_digest(state.image.digest.clone())
        .build();
    let result = aws
        .ecr
        .describe_images()
        .repository_name(&state.image.repository)
        .image_ids(id)
        .send()
        .await;
    match result {
        Ok(output) => Ok(output.image_details().first().map(|detail| LiveImage {
            registry_id: detail.registry_id().unwrap_or_default().to_string(),
            repository: detail.repository_name().unwrap_or_default().to_string(),
            digest: detail.image_digest().unwrap_or_default().to_string(),
            tags: detail.image_tags().to_vec(),
        })),
        Err(error)
            if error
                .as_service_error()
                .is_some_and(|e| e.is_image_not_found_exception()) =>
        {
            Ok(None)
        }
        Err(error) => Err(AwsError::new(
            "DescribeImages",
            format!("in ECR repository {}", state.image.repository),
            error,
        )),
    }
}

async fn cluster(aws: &Aws, name: &str) -> Result<Option<LiveCluster>, AwsError> {
    let output = aws
        .ecs
        .describe_clusters()
        .clusters(name)
        .include(ClusterField::Tags)
        .send()
        .await
        .map_err(|e| AwsError::new("DescribeClusters", format!("cluster {name}"), e))?;
    Ok(output.clusters().first().map(|cluster| LiveCluster {
        name: cluster.cluster_name().unwrap_or_default().to_string(),
        arn: cluster.cluster_arn().unwrap_or_default().to_string(),
        status: cluster.status().unwrap_or_default().to_string(),
        tags: tags_from_sdk(cluster.tags()),
    }))
}

async fn services(
    aws: &Aws,
    state: &DesiredState,
) -> Result<BTreeMap<String, crate::model::LiveService>, AwsError> {
    let names: Vec<String> = state.services.iter().map(|s| s.name.clone()).collect();
    let calls = names.chunks(10).map(|chunk| {
        aws.ecs
            .describe_services()
            .cluster(&state.cluster)
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
                return Err(AwsError::new(
                    "DescribeServices",
                    format!("in cluster {}", state.cluster),
                    error,
                ));
            }
        }
    }
    Ok(out)
}

async fn describe_revisions(
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
            .map_err(|e| AwsError::new("DescribeTaskDefinition", arn.clone(), e))?;
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
async fn candidates(
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
        .map_err(|e| AwsError::new("ListTaskDefinitions", format!("family {family}"), e))?;
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
