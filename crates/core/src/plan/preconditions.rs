//! What must hold before anything is planned: the credentials' account is the state's, and the
//! image exists in ECR. `PlanError` is every reason no plan can be made.

use crate::model::LiveEnvironment;
use crate::state::DesiredState;

/// Why no plan could be made. Nothing has been written when one of these is returned.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlanError {
    #[error(
        "image {image} not found in ECR (account {account}, region {region}): push it before deploying, or fix image.tag in the state file"
    )]
    ImageMissing {
        image: String,
        account: String,
        region: String,
    },
    #[error(
        "images the containers name do not exist, as their registries answered, so tasks could not start:\n{}\npush them, or fix the containers' `image:`",
        missing.iter().map(|m| format!("  - {m}")).collect::<Vec<_>>().join("\n")
    )]
    NamedImagesMissing { missing: Vec<String> },
    #[error(
        "resources the state names belong to another environment (their `reconcile:environment` tag):\n{}\nnothing was changed; check `environment:` and the names, or take them over with `take_over_from: ENVIRONMENT` (`reconcile import --take-over` writes it)",
        owned.iter().map(|o| format!("  - {o}")).collect::<Vec<_>>().join("\n")
    )]
    OwnedElsewhere { owned: Vec<String> },
    #[error(
        "the AWS credentials belong to account {actual}, but the state file is for account {expected}: refusing to touch another account"
    )]
    AccountMismatch { expected: String, actual: String },
    #[error(
        "secrets referenced by the state file do not exist (account {account}, region {region}), so tasks could not start:\n{}\ncreate them before deploying, or fix the references under `secrets:`",
        missing.iter().map(|m| format!("  - {m}")).collect::<Vec<_>>().join("\n")
    )]
    SecretsMissing {
        missing: Vec<String>,
        account: String,
        region: String,
    },
    #[error(
        "the state asks for changes AWS cannot make:\n{}\nnothing was changed; fix the state file",
        refusals.iter().map(|r| format!("  - {r}")).collect::<Vec<_>>().join("\n")
    )]
    NotAllowed { refusals: Vec<String> },
    #[error("{}", unmanaged_text(file, holders))]
    UnmanagedSettings {
        file: String,
        holders: Vec<UnmanagedHolder>,
    },
}

/// A running revision holding settings the state file does not name (typed or under `aws:`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnmanagedHolder {
    /// The key under `services:`.
    pub service: String,
    pub service_name: String,
    /// `family:revision`.
    pub revision: String,
    /// AWS JSON path and value, as compact JSON.
    pub settings: Vec<(String, String)>,
}

fn unmanaged_text(file: &str, holders: &[UnmanagedHolder]) -> String {
    let mut text = String::from(
        "the running task definitions hold settings the state file does not name, and a new revision would drop them:",
    );
    for holder in holders {
        text.push_str(&format!(
            "\n  {} (service {}, key `{}`):",
            holder.revision, holder.service_name, holder.service
        ));
        for (path, value) in &holder.settings {
            text.push_str(&format!("\n    - {path}: {value}"));
        }
    }
    let keys: Vec<String> = holders.iter().map(|h| h.service.clone()).collect();
    let keep: Vec<String> = holders
        .iter()
        .flat_map(|h| {
            h.settings
                .iter()
                .map(|(path, _)| state_path(&h.service, path))
        })
        .collect();
    text.push_str(&format!(
        "\nnothing was changed. Three ways out, for each service:\n  - keep them: write them in AWS's names under `aws:` in {file} ({}); `reconcile import` writes them for you\n  - drop them: list their paths under `services.{}.drop_unmanaged:` in {file}; the next revision is registered without them\n  - leave the service: take it out of {file}; reconcile then leaves it and its task definition as they are",
        keep.join(", "),
        keys.join("`/`services.")
    ));
    text
}

/// Where an AWS JSON path of a service's task definition is written in the state file:
/// `containerDefinitions.C.x` under the container's `aws:`, `volumes.V.x` under the volume's,
/// anything else under the service's.
fn state_path(service: &str, path: &str) -> String {
    let mut parts = path.splitn(3, '.');
    match (parts.next(), parts.next(), parts.next()) {
        (Some("containerDefinitions"), Some(container), Some(rest)) => {
            format!("services.{service}.containers.{container}.aws.{rest}")
        }
        (Some("volumes"), Some(volume), Some(rest)) => {
            format!("services.{service}.volumes.{volume}.aws.{rest}")
        }
        _ => format!("services.{service}.aws.{path}"),
    }
}

/// The environment's image as the state names it, and as task definitions run it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct ImageUris {
    /// `REGISTRY/REPO:TAG` (or `@DIGEST` when the state names a digest): what the state says,
    /// recorded in the fingerprint.
    pub named: String,
    /// `REGISTRY/REPO@DIGEST`: what a registered task definition runs. ECS resolves a tag once
    /// per deployment, so a tag would run whatever it names on the day; the digest is the bytes
    /// the plan saw.
    pub pinned: String,
    pub digest: String,
}

/// The account guard, and the environment's image as the plan uses it: `None` when the state
/// names no environment image (every container names its own).
pub(super) fn check_preconditions(
    state: &DesiredState,
    live: &LiveEnvironment,
) -> Result<Option<ImageUris>, PlanError> {
    if let Some(expected) = &state.account
        && expected != &live.account
    {
        return Err(PlanError::AccountMismatch {
            expected: expected.clone(),
            actual: live.account.clone(),
        });
    }
    let Some(wanted) = &state.image else {
        return Ok(None);
    };
    match &live.image {
        Some(image) => {
            let named = wanted.uri(&image.registry_id, &state.region);
            let pinned = match named.rsplit_once(':') {
                Some((base, _)) if wanted.tag.is_some() && !image.digest.is_empty() => {
                    format!("{base}@{}", image.digest)
                }
                _ => named.clone(),
            };
            Ok(Some(ImageUris {
                named,
                pinned,
                digest: image.digest.clone(),
            }))
        }
        None => Err(PlanError::ImageMissing {
            image: wanted.display(),
            account: live.account.clone(),
            region: state.region.clone(),
        }),
    }
}
