//! Whether the images containers name for themselves exist, and the digest a tag names now, asked
//! of each image's own registry: ECR (any account, any region) by DescribeImages with the
//! caller's credentials; any other registry (ECR Public, Docker Hub, GHCR, Quay, a private one)
//! by the OCI distribution API with an anonymous pull token, as `docker pull` would ask. A
//! registry that cannot be asked (offline, private, refusing) leaves the image as written, and
//! the plan says so: this never fails a plan.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use oci_client::client::{ClientConfig, ClientProtocol};
use oci_client::errors::{OciDistributionError, OciErrorCode};
use oci_client::secrets::RegistryAuth;
use oci_client::{Client, Reference};

use super::{Aws, AwsError};
use crate::model::ImageLookup;

/// Registry hosts Docker itself reaches over plain HTTP: the loopback network, which the Docker
/// daemon trusts as an insecure registry by default (`127.0.0.0/8`, "Test an insecure
/// registry", Docker documentation), and `localhost`.
fn plain_http(host: &str) -> bool {
    let name = host
        .rsplit_once(':')
        .filter(|(_, port)| port.bytes().all(|b| b.is_ascii_digit()))
        .map_or(host, |(name, _)| name);
    name == "localhost" || name.starts_with("127.") || name == "[::1]"
}

/// `ACCOUNT.dkr.ecr.REGION.amazonaws.com/REPO[:TAG|@DIGEST]` as its account, region, repository
/// and tag or digest.
fn ecr_parts(reference: &Reference) -> Option<(String, String)> {
    let host = reference.registry();
    let (account, rest) = host.split_once(".dkr.ecr.")?;
    let region = rest
        .strip_suffix(".amazonaws.com")
        .or_else(|| rest.strip_suffix(".amazonaws.com.cn"))?;
    (account.len() == 12 && account.bytes().all(|b| b.is_ascii_digit()))
        .then(|| (account.to_string(), region.to_string()))
}

/// What each image's registry says of it, by the reference as written; registries asked at once.
/// `own_account` is the state's account, whose missing ECR repositories are known to be missing.
pub async fn lookup(
    aws: &Aws,
    own_account: Option<&str>,
    images: BTreeSet<String>,
) -> BTreeMap<String, ImageLookup> {
    if images.is_empty() {
        return BTreeMap::new();
    }
    let parsed: Vec<(String, Result<Reference, String>)> = images
        .into_iter()
        .map(|image| {
            let reference = image.parse::<Reference>().map_err(|e| e.to_string());
            (image, reference)
        })
        .collect();
    let insecure: Vec<String> = parsed
        .iter()
        .filter_map(|(_, reference)| reference.as_ref().ok())
        .map(|reference| reference.registry().to_string())
        .filter(|host| plain_http(host))
        .collect();
    let oci = Client::new(ClientConfig {
        protocol: ClientProtocol::HttpsExcept(insecure),
        connect_timeout: Some(Duration::from_secs(5)),
        read_timeout: Some(Duration::from_secs(10)),
        ..ClientConfig::default()
    });
    let asks = parsed.into_iter().map(|(image, reference)| {
        let oci = &oci;
        async move {
            let answer = match reference {
                Err(error) => ImageLookup::Unasked {
                    reason: format!(
                        "not an image reference its registry can be asked about: {error}"
                    ),
                },
                Ok(reference) => match ecr_parts(&reference) {
                    Some((account, region)) => {
                        ecr(aws, own_account, &reference, &account, &region).await
                    }
                    None => distribution(oci, &reference).await,
                },
            };
            (image, answer)
        }
    });
    futures::future::join_all(asks).await.into_iter().collect()
}

/// An image of an ECR registry, by DescribeImages in its account and region. Another account's
/// repository that these credentials cannot see answers RepositoryNotFound as a missing one
/// would: only an answer about an image of a visible repository says it does not exist.
async fn ecr(
    aws: &Aws,
    own_account: Option<&str>,
    reference: &Reference,
    account: &str,
    region: &str,
) -> ImageLookup {
    let elsewhere;
    let client = if aws.config.region().map(|r| r.as_ref()) == Some(region) {
        &aws.ecr
    } else {
        elsewhere = aws_sdk_ecr::Client::from_conf(
            aws_sdk_ecr::config::Builder::from(&aws.config)
                .region(aws_config::Region::new(region.to_string()))
                .build(),
        );
        &elsewhere
    };
    let id = aws_sdk_ecr::types::ImageIdentifier::builder()
        .set_image_tag(reference.tag().map(str::to_string))
        .set_image_digest(reference.digest().map(str::to_string))
        .build();
    let result = client
        .describe_images()
        .registry_id(account)
        .repository_name(reference.repository())
        .image_ids(id)
        .send()
        .await;
    match result {
        Ok(output) => match output
            .image_details()
            .first()
            .and_then(|d| d.image_digest())
        {
            Some(digest) => ImageLookup::Yes {
                digest: digest.to_string(),
            },
            None => ImageLookup::No {
                answer: "ECR lists no such image".into(),
            },
        },
        Err(error) => {
            let service = error.as_service_error();
            if service.is_some_and(|e| e.is_image_not_found_exception()) {
                ImageLookup::No {
                    answer: format!(
                        "ECR: repository {} holds no such tag or digest",
                        reference.repository()
                    ),
                }
            } else if service.is_some_and(|e| e.is_repository_not_found_exception())
                && own_account == Some(account)
            {
                ImageLookup::No {
                    answer: format!(
                        "ECR: no repository {} in account {account}, region {region}",
                        reference.repository()
                    ),
                }
            } else if service.is_some_and(|e| e.is_repository_not_found_exception()) {
                ImageLookup::Unasked {
                    reason: format!(
                        "ECR of account {account} shows these credentials no repository {} (another account's, not shared with them)",
                        reference.repository()
                    ),
                }
            } else {
                ImageLookup::Unasked {
                    reason: format!(
                        "ECR of account {account} in {region} did not answer DescribeImages: {}",
                        AwsError::summary(&error)
                    ),
                }
            }
        }
    }
}

/// An image of any other registry, by the OCI distribution API (HEAD of its manifest), with the
/// anonymous token the registry offers for pulls.
async fn distribution(oci: &Client, reference: &Reference) -> ImageLookup {
    match oci
        .fetch_manifest_digest(reference, &RegistryAuth::Anonymous)
        .await
    {
        Ok(digest) => ImageLookup::Yes { digest },
        Err(error) => {
            let registry = reference.resolve_registry();
            match &error {
                OciDistributionError::ImageManifestNotFoundError(_) => ImageLookup::No {
                    answer: format!("{registry} has no such manifest"),
                },
                OciDistributionError::RegistryError { envelope, .. }
                    if envelope.errors.iter().any(|e| {
                        matches!(
                            e.code,
                            OciErrorCode::ManifestUnknown | OciErrorCode::NameUnknown
                        )
                    }) =>
                {
                    ImageLookup::No {
                        answer: format!(
                            "{registry} answered {}",
                            envelope
                                .errors
                                .iter()
                                .map(|e| {
                                    let code = serde_json::to_value(&e.code)
                                        .ok()
                                        .and_then(|code| code.as_str().map(str::to_string))
                                        .unwrap_or_else(|| format!("{:?}", e.code));
                                    format!("{code}: {}", e.message)
                                })
                                .collect::<Vec<_>>()
                                .join("; ")
                        ),
                    }
                }
                OciDistributionError::ServerError { code: 404, .. } => ImageLookup::No {
                    answer: format!("{registry} answered 404 for its manifest"),
                },
                OciDistributionError::UnauthorizedError { .. }
                | OciDistributionError::AuthenticationFailure(_) => ImageLookup::Unasked {
                    reason: format!(
                        "{registry} gives no anonymous pull of {} (a private image: ECS pulls it with the task's credentials)",
                        reference.repository()
                    ),
                },
                OciDistributionError::RequestError(request) => ImageLookup::Unasked {
                    reason: format!(
                        "{registry} could not be reached: {}",
                        request_cause(request)
                    ),
                },
                other => ImageLookup::Unasked {
                    reason: format!("{registry} did not answer as a registry: {other}"),
                },
            }
        }
    }
}

/// The innermost cause of a failed request (connection refused, name not resolved, timed out).
fn request_cause(error: &reqwest::Error) -> String {
    let mut cause: &dyn std::error::Error = error;
    while let Some(inner) = cause.source() {
        cause = inner;
    }
    if error.is_timeout() {
        "timed out".to_string()
    } else {
        cause.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_registries_are_plain_http_as_docker_reads_them() {
        assert!(plain_http("localhost:5000"));
        assert!(plain_http("127.0.0.1:41234"));
        assert!(plain_http("[::1]:5000"));
        assert!(!plain_http("ghcr.io"));
        assert!(!plain_http("registry.example.com:5000"));
    }

    #[test]
    fn ecr_hosts_in_any_account_and_region_are_asked_of_ecr() {
        let parts = |image: &str| ecr_parts(&image.parse::<Reference>().unwrap());
        assert_eq!(
            parts("602401143452.dkr.ecr.us-west-2.amazonaws.com/eks/pause:3.9"),
            Some(("602401143452".into(), "us-west-2".into()))
        );
        assert_eq!(
            parts("public.ecr.aws/aws-observability/aws-for-fluent-bit:stable"),
            None
        );
        assert_eq!(parts("datadog/agent:7"), None);
    }
}
