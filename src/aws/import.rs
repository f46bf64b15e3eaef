//! What `reconcile import` reads of a live environment: the caller's account, the cluster's
//! services (all ACTIVE ones, or those named) with the revisions they run, the backing services
//! named by the convention or on the command line, and the digest behind a `:latest` image.
//! Read-only, like `observe`, and like it the one place here that calls across APIs.

use std::collections::{BTreeMap, BTreeSet};

use super::ecs::read::{describe_revisions, describe_services, service_names};
use super::{Aws, AwsError, backing, sts};
use crate::import::{EcrImage, ImportInput};
use crate::model::BackingKind;
use crate::state::naming::Names;

/// What to import.
#[derive(Debug, Clone)]
pub struct Request {
    pub environment: String,
    pub region: String,
    pub prefix: String,
    pub cluster: String,
    /// Service names; empty: every ACTIVE service of the cluster.
    pub services: Vec<String>,
    /// Backing services by key and id, beside the conventional `{base}-postgres`, `-redis` and
    /// `-rabbitmq` ones.
    pub backing: Vec<(String, String)>,
}

/// A backing service given on the command line, by key and id: whichever kind has that id.
async fn named_backing(
    aws: &Aws,
    key: &str,
    id: &str,
) -> Result<Option<crate::model::LiveBacking>, AwsError> {
    let kinds = [
        BackingKind::Postgres,
        BackingKind::Redis,
        BackingKind::Rabbitmq,
    ];
    let found = futures::future::try_join_all(
        kinds.map(|kind| async move { backing::describe_whole(aws, kind, id).await }),
    )
    .await?;
    let mut found: Vec<_> = found.into_iter().flatten().collect();
    match found.len() {
        0 => Err(AwsError::Missing {
            operation: "import",
            subject: format!("backing service {key}={id}"),
            message: "no RDS instance, ElastiCache replication group or MQ broker has that id in this region".into(),
        }),
        _ => Ok(found.pop()),
    }
}

/// What ECR holds for an image reference (`REGISTRY/REPO:TAG` or `REGISTRY/REPO@DIGEST`): its
/// digest and tags, or `None` when it is not an ECR reference or ECR no longer has it.
async fn describe_image(aws: &Aws, image: &str) -> Result<Option<(String, Vec<String>)>, AwsError> {
    let Some((host, path)) = image.split_once('/') else {
        return Ok(None);
    };
    let id = aws_sdk_ecr::types::ImageIdentifier::builder();
    let (repository, id) = match path.split_once('@') {
        Some((repository, digest)) => (repository, id.image_digest(digest)),
        None => match path.rsplit_once(':') {
            Some((repository, tag)) => (repository, id.image_tag(tag)),
            None => return Ok(None),
        },
    };
    let result = aws
        .ecr
        .describe_images()
        .registry_id(host.split('.').next().unwrap_or_default())
        .repository_name(repository)
        .image_ids(id.build())
        .send()
        .await;
    match result {
        Ok(output) => Ok(output.image_details().first().map(|detail| {
            (
                detail.image_digest().unwrap_or_default().to_string(),
                detail.image_tags().to_vec(),
            )
        })),
        Err(error)
            if error
                .as_service_error()
                .is_some_and(|e| e.is_image_not_found_exception()) =>
        {
            Ok(None)
        }
        Err(error) => Err(AwsError::call(
            "DescribeImages",
            format!("image {image}"),
            error,
        )),
    }
}

/// Reads everything `import` writes from.
pub async fn read(aws: &Aws, request: &Request) -> Result<ImportInput, AwsError> {
    let account = sts::account(aws).await?;
    let names = if request.services.is_empty() {
        service_names(aws, &request.cluster).await?
    } else {
        request.services.clone()
    };
    let services = describe_services(aws, &request.cluster, &names).await?;
    // A listed service on its way out (DRAINING) is left out; a named one must be ACTIVE.
    if let Some(missing) = request
        .services
        .iter()
        .find(|name| !services.contains_key(*name))
    {
        return Err(AwsError::Missing {
            operation: "DescribeServices",
            subject: format!("service {missing}"),
            message: format!(
                "no ACTIVE service of that name in cluster {}",
                request.cluster
            ),
        });
    }
    let running: BTreeSet<String> = services
        .values()
        .map(|service| service.task_definition_arn.clone())
        .collect();
    let revisions = describe_revisions(aws, running.into_iter()).await?;
    let conventional = Names::new(&request.prefix, &request.environment);
    let by_convention = [
        ("postgres", BackingKind::Postgres),
        ("redis", BackingKind::Redis),
        ("rabbitmq", BackingKind::Rabbitmq),
    ]
    .into_iter()
    .filter(|(key, _)| !request.backing.iter().any(|(given, _)| given == key));
    let conventional_reads = futures::future::try_join_all(by_convention.map(|(key, kind)| {
        let name = conventional.backing(key);
        async move {
            let found = backing::describe_whole(aws, kind, &name).await?;
            Ok::<_, AwsError>(found.map(|live| (key.to_string(), live)))
        }
    }));
    let named_reads =
        futures::future::try_join_all(request.backing.iter().map(|(key, id)| async {
            let found = named_backing(aws, key, id).await?;
            Ok::<_, AwsError>(found.map(|live| (key.clone(), live)))
        }));
    let (conventional_found, named_found) = tokio::try_join!(conventional_reads, named_reads)?;
    let mut backing: Vec<_> = conventional_found.into_iter().flatten().collect();
    backing.extend(named_found.into_iter().flatten());
    // Services in name order, the conventional main service first.
    let mut ordered: Vec<_> = services.into_values().collect();
    ordered.sort_by_key(|service| {
        (
            service.name != conventional.service("api"),
            service.name.clone(),
        )
    });
    let mut pairs = Vec::new();
    for service in ordered {
        let Some(revision) = revisions.get(&service.task_definition_arn).cloned() else {
            return Err(AwsError::Missing {
                operation: "DescribeTaskDefinition",
                subject: service.task_definition_arn.clone(),
                message: format!(
                    "the task definition service {} runs cannot be read",
                    service.name
                ),
            });
        };
        pairs.push((service, revision));
    }
    // The images of this account's ECR a revision names by digest: the tags naming it, so the
    // state can name the tag (images elsewhere are kept exactly as written).
    let registry = format!("{account}.dkr.ecr.{}.amazonaws.com/", request.region);
    let described: BTreeSet<String> = pairs
        .iter()
        .flat_map(|(_, revision)| &revision.content.containers)
        .map(|container| container.image.clone())
        .filter(|image| image.starts_with(&registry) && image.contains("@sha256:"))
        .collect();
    let mut images = BTreeMap::new();
    for image in described {
        if let Some((digest, tags)) = describe_image(aws, &image).await? {
            images.insert(image, EcrImage { digest, tags });
        }
    }
    Ok(ImportInput {
        environment: request.environment.clone(),
        region: request.region.clone(),
        account,
        prefix: request.prefix.clone(),
        cluster: request.cluster.clone(),
        services: pairs,
        backing,
        images,
        cluster_tags: super::ecs::read::cluster(aws, &request.cluster)
            .await?
            .map(|cluster| cluster.tags)
            .unwrap_or_default(),
        take_over: false,
    })
}
