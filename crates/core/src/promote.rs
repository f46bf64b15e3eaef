//! `reconcile promote`, pure: the one image digest an environment's services run (read from the
//! task definitions they run, not from its state file), and the blobs and child manifests an
//! image manifest names, which a copy into another repository must carry first.

use crate::model::Revision;
use crate::state::DesiredState;
use crate::state::desired::ImageRef;

/// Why the source environment has no single digest to promote.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PromoteError {
    #[error(
        "{environment} runs none of its services ({services}) in cluster {cluster}: nothing to promote"
    )]
    NotRunning {
        environment: String,
        cluster: String,
        services: String,
    },
    #[error(
        "{environment} names no image of its own (`image:`; each container names one): promote copies an environment's image\n  help: edit the containers' `image:` in each state file"
    )]
    NoEnvironmentImage { environment: String },
    #[error("{environment}'s services run no image of repository {repository}: nothing to promote")]
    NoImage {
        environment: String,
        repository: String,
    },
    #[error(
        "{service} in {environment} runs {image} ({revision}), named by a tag: the bytes its tasks run are not fixed by it\n  help: apply {environment} (reconcile registers task definitions by digest), then promote"
    )]
    ByTag {
        environment: String,
        service: String,
        revision: String,
        image: String,
    },
    #[error(
        "{environment}'s services run different images: {images}\n  help: wait until its rollouts finish, or promote after the next apply of {environment}"
    )]
    Disagree { environment: String, images: String },
}

/// The digest every application container of `source`'s running services names (containers of
/// another repository, sidecars, are not the release). `running` is each service's name and the
/// revision it runs.
pub fn running_digest(
    source: &DesiredState,
    running: &[(String, Revision)],
) -> Result<String, PromoteError> {
    if running.is_empty() {
        return Err(PromoteError::NotRunning {
            environment: source.environment.clone(),
            cluster: source.cluster.clone(),
            services: source
                .services
                .iter()
                .map(|s| s.name.as_str())
                .collect::<Vec<_>>()
                .join(", "),
        });
    }
    let Some(wanted) = &source.image else {
        return Err(PromoteError::NoEnvironmentImage {
            environment: source.environment.clone(),
        });
    };
    let mut seen: Vec<(String, String)> = Vec::new();
    for (service, revision) in running {
        for container in &revision.content.containers {
            let Some((_, image)) = ImageRef::parse_uri(&container.image) else {
                continue;
            };
            if image.repository != wanted.repository {
                continue;
            }
            let Some(digest) = image.digest else {
                return Err(PromoteError::ByTag {
                    environment: source.environment.clone(),
                    service: service.clone(),
                    revision: revision.short_name(),
                    image: image.display(),
                });
            };
            seen.push((service.clone(), digest));
        }
    }
    let Some((_, first)) = seen.first() else {
        return Err(PromoteError::NoImage {
            environment: source.environment.clone(),
            repository: wanted.repository.clone(),
        });
    };
    if seen.iter().any(|(_, digest)| digest != first) {
        seen.dedup();
        return Err(PromoteError::Disagree {
            environment: source.environment.clone(),
            images: seen
                .iter()
                .map(|(service, digest)| format!("{service} {digest}"))
                .collect::<Vec<_>>()
                .join(", "),
        });
    }
    Ok(first.clone())
}

/// What an image manifest refers to: the blobs (config and layers) of an image manifest, or the
/// manifests of a manifest list / image index (a multi-platform build, or buildx's attestations).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ManifestRefs {
    pub blobs: Vec<String>,
    pub manifests: Vec<String>,
}

#[derive(serde::Deserialize)]
struct Descriptor {
    digest: String,
}

#[derive(serde::Deserialize)]
struct Manifest {
    #[serde(default)]
    config: Option<Descriptor>,
    #[serde(default)]
    layers: Vec<Descriptor>,
    #[serde(default)]
    manifests: Vec<Descriptor>,
}

/// The references of a manifest's JSON text (Docker v2 or OCI, image or index).
pub fn manifest_refs(text: &str) -> Result<ManifestRefs, serde_json::Error> {
    let manifest: Manifest = serde_json::from_str(text)?;
    Ok(ManifestRefs {
        blobs: manifest
            .config
            .into_iter()
            .chain(manifest.layers)
            .map(|d| d.digest)
            .collect(),
        manifests: manifest.manifests.into_iter().map(|d| d.digest).collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{ContainerDefinition, TaskDefinition};

    fn state() -> DesiredState {
        let text = include_str!("../../../state/staging.yaml");
        let env = |name: &str| match name {
            "KAAPI_AWS_ACCOUNT_ID" => Some("123456789012".to_string()),
            "KAAPI_SECURITY_GROUP" => Some("sg-0a1b2c3d".to_string()),
            _ => Some(format!("subnet-0{}", name.len())),
        };
        crate::state::load_str(std::path::Path::new("staging.yaml"), text, &env).unwrap()
    }

    fn revision(family: &str, number: i32, images: &[&str]) -> Revision {
        Revision {
            arn: format!("arn:aws:ecs:ap-south-1:123456789012:task-definition/{family}:{number}"),
            revision: number,
            status: "ACTIVE".into(),
            content: TaskDefinition {
                family: family.into(),
                containers: images
                    .iter()
                    .enumerate()
                    .map(|(index, image)| ContainerDefinition {
                        name: format!("c{index}"),
                        image: image.to_string(),
                        ..ContainerDefinition::default()
                    })
                    .collect(),
                ..TaskDefinition::default()
            },
        }
    }

    const REPO: &str = "123456789012.dkr.ecr.ap-south-1.amazonaws.com/kaapi-staging-repo";

    #[test]
    fn the_digest_every_application_container_runs_sidecars_aside() {
        let state = state();
        let digest = format!("sha256:{}", "ab".repeat(32));
        let pinned = format!("{REPO}@{digest}");
        let running = vec![
            (
                "kaapi-staging-service".to_string(),
                revision(
                    "kaapi-staging-task",
                    7,
                    &[
                        &pinned,
                        "public.ecr.aws/aws-observability/aws-otel-collector:v0.40.0",
                    ],
                ),
            ),
            (
                "kaapi-staging-celery-service".to_string(),
                revision("kaapi-staging-celery-task", 3, &[&pinned]),
            ),
        ];
        assert_eq!(running_digest(&state, &running), Ok(digest.clone()));

        // One service still on other bytes (a rollout under way): refused, both named.
        let other = format!("sha256:{}", "cd".repeat(32));
        let mut split = running.clone();
        split[1].1 = revision(
            "kaapi-staging-celery-task",
            2,
            &[&format!("{REPO}@{other}")],
        );
        let error = running_digest(&state, &split).unwrap_err().to_string();
        assert!(
            error.contains(&format!("kaapi-staging-service {digest}"))
                && error.contains(&format!("kaapi-staging-celery-service {other}")),
            "{error}"
        );

        // A revision naming a tag (registered by hand, or adopted): which bytes run is not known.
        let tagged = vec![(
            "kaapi-staging-service".to_string(),
            revision("kaapi-staging-task", 4, &[&format!("{REPO}:v1.8.0-main.3")]),
        )];
        assert!(matches!(
            running_digest(&state, &tagged),
            Err(PromoteError::ByTag { revision, .. }) if revision == "kaapi-staging-task:4"
        ));
        assert!(matches!(
            running_digest(&state, &[]),
            Err(PromoteError::NotRunning { .. })
        ));
    }

    #[test]
    fn an_image_names_its_config_and_layers_an_index_its_manifests() {
        // docker push of a single-platform image (Docker v2 schema 2).
        let image = r#"{
          "schemaVersion": 2,
          "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
          "config": {"mediaType": "application/vnd.docker.container.image.v1+json", "size": 7023,
                     "digest": "sha256:b5b2b2c507a0944348e0303114d8d93aaaa081732b86451d9bce1f432a537bc7"},
          "layers": [
            {"mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip", "size": 32654,
             "digest": "sha256:e692418e4cbaf90ca69d05a66403747baa33ee08806650b51fab815ad7fc331f"},
            {"mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip", "size": 16724,
             "digest": "sha256:3c3a4604a545cdc127456d94e421cd355bca5b528f4a9c1905b15da2eb4a4c6b"}
          ]
        }"#;
        assert_eq!(
            manifest_refs(image).unwrap(),
            ManifestRefs {
                blobs: vec![
                    "sha256:b5b2b2c507a0944348e0303114d8d93aaaa081732b86451d9bce1f432a537bc7"
                        .into(),
                    "sha256:e692418e4cbaf90ca69d05a66403747baa33ee08806650b51fab815ad7fc331f"
                        .into(),
                    "sha256:3c3a4604a545cdc127456d94e421cd355bca5b528f4a9c1905b15da2eb4a4c6b"
                        .into(),
                ],
                manifests: vec![],
            }
        );
        // docker/build-push-action's default: an OCI index of the image and its provenance
        // attestation manifest.
        let index = r#"{
          "schemaVersion": 2,
          "mediaType": "application/vnd.oci.image.index.v1+json",
          "manifests": [
            {"mediaType": "application/vnd.oci.image.manifest.v1+json", "size": 1054,
             "digest": "sha256:9e3a1c2cf4e8a7d6b3e0f1d2c5b4a39876543210fedcba9876543210fedcba98",
             "platform": {"architecture": "amd64", "os": "linux"}},
            {"mediaType": "application/vnd.oci.image.manifest.v1+json", "size": 566,
             "digest": "sha256:0d1e2f3a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f6",
             "annotations": {"vnd.docker.reference.digest": "sha256:9e3a1c2cf4e8a7d6b3e0f1d2c5b4a39876543210fedcba9876543210fedcba98",
                             "vnd.docker.reference.type": "attestation-manifest"},
             "platform": {"architecture": "unknown", "os": "unknown"}}
          ]
        }"#;
        let refs = manifest_refs(index).unwrap();
        assert!(refs.blobs.is_empty());
        assert_eq!(refs.manifests.len(), 2);
        assert!(manifest_refs("not json").is_err());
    }

    #[test]
    fn image_uris_parse_into_registry_and_reference() {
        let (host, image) = ImageRef::parse_uri(&format!("{REPO}@sha256:ab")).unwrap();
        assert_eq!(host, "123456789012.dkr.ecr.ap-south-1.amazonaws.com");
        assert_eq!(image.repository, "kaapi-staging-repo");
        assert_eq!(image.digest.as_deref(), Some("sha256:ab"));
        let (_, image) = ImageRef::parse_uri(&format!("{REPO}:v1")).unwrap();
        assert_eq!(image.tag.as_deref(), Some("v1"));
        let (_, image) = ImageRef::parse_uri("localhost.example:5000/app").unwrap();
        assert_eq!(image.tag.as_deref(), Some("latest"));
        assert_eq!(ImageRef::parse_uri("nginx:1.27"), None);
    }
}
