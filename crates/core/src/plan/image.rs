//! The image the services run now beside the one the state names: the "from" of a plan's
//! headline (`v1.8.0 -> v1.9.0`), by the tags ECR gives the running digests.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use super::preconditions::{ImageUris, PlanError, check_preconditions};
use crate::model::{ImageLookup, LiveEnvironment};
use crate::state::DesiredState;

/// One image of the state's repository that a running revision names and the state does not.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct RunningImage {
    /// As the revision names it: `REGISTRY/REPO@DIGEST` or `REGISTRY/REPO:TAG`.
    pub reference: String,
    /// ECR's tags of its digest now (for a reference by tag, that tag). Empty when ECR no longer
    /// holds the digest or it has no tag.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
}

impl RunningImage {
    /// The digest it names, when it names one.
    pub fn digest(&self) -> Option<&str> {
        self.reference.split_once('@').map(|(_, digest)| digest)
    }
}

/// `REGISTRY/REPO` of the state's image, without its tag or digest.
fn repository_base(image: &ImageUris) -> &str {
    match image.pinned.split_once('@') {
        Some((base, _)) => base,
        None => image
            .pinned
            .rsplit_once(':')
            .map_or(image.pinned.as_str(), |(base, _)| base),
    }
}

/// Every image of the state's repository the services' running revisions name, other than the
/// state's own (named or pinned), each once.
fn running_references(live: &LiveEnvironment, image: &ImageUris) -> BTreeSet<String> {
    let base = repository_base(image);
    live.services
        .values()
        .filter_map(|service| live.task_definitions.get(&service.task_definition_arn))
        .flat_map(|revision| revision.content.containers.iter())
        .map(|container| container.image.as_str())
        .filter(|reference| {
            reference
                .strip_prefix(base)
                .is_some_and(|rest| rest.starts_with('@') || rest.starts_with(':'))
        })
        .filter(|reference| *reference != image.pinned && *reference != image.named)
        .map(str::to_string)
        .collect()
}

/// The digests whose ECR tags the observer reads (one DescribeImages each), so the plan can say
/// what runs now by its tag. Empty when the services run the state's image, or the plan cannot
/// be made (its preconditions fail).
pub fn running_digests_to_name(state: &DesiredState, live: &LiveEnvironment) -> BTreeSet<String> {
    let Ok(Some(image)) = check_preconditions(state, live) else {
        return BTreeSet::new();
    };
    running_references(live, &image)
        .into_iter()
        .filter_map(|reference| {
            reference
                .split_once('@')
                .map(|(_, digest)| digest.to_string())
        })
        .collect()
}

/// What the services run now where it is not the state's image, with the tags it goes by.
pub(super) fn running_images(live: &LiveEnvironment, image: &ImageUris) -> Vec<RunningImage> {
    running_references(live, image)
        .into_iter()
        .map(|reference| {
            let tags = match reference.split_once('@') {
                Some((_, digest)) => live
                    .running_image_tags
                    .get(digest)
                    .cloned()
                    .unwrap_or_default(),
                None => reference
                    .rsplit_once(':')
                    .map(|(_, tag)| vec![tag.to_string()])
                    .unwrap_or_default(),
            };
            RunningImage { reference, tags }
        })
        .collect()
}

/// The images containers name for themselves (sidecars, images of any registry), each once: the
/// observer asks each one's registry whether it exists and what its tag names now.
pub fn images_to_check(state: &DesiredState) -> BTreeSet<String> {
    state
        .services
        .iter()
        .flat_map(|service| &service.containers)
        .filter_map(|container| container.image.clone())
        .collect()
}

/// Whether a reference names its image by a tag that moves with every push: `latest`, or no tag
/// nor digest at all (which Docker and ECS read as `latest`).
fn moving(reference: &str) -> bool {
    let last = reference.rsplit('/').next().unwrap_or(reference);
    !last.contains('@') && last.split_once(':').is_none_or(|(_, tag)| tag == "latest")
}

/// What the registries said of the images containers name: those that do not exist stop the
/// plan (no task could start); those that could not be asked, and moving tags, are warnings.
pub(super) fn check_named_images(
    state: &DesiredState,
    live: &LiveEnvironment,
) -> Result<Vec<String>, PlanError> {
    let mut warnings = Vec::new();
    let mut missing = Vec::new();
    if let Some(image) = &state.image
        && image.tag.as_deref() == Some("latest")
    {
        warnings.push(format!(
            "image tag `latest` moves with every push, so a revert cannot bring back what runs now: pin it with `reconcile image set --env {} --digest sha256:...`",
            state.environment
        ));
    }
    let users = |image: &str| -> String {
        let mut names: Vec<String> = Vec::new();
        for service in &state.services {
            for container in &service.containers {
                if container.image.as_deref() == Some(image) {
                    names.push(format!(
                        "services.{}.containers.{}",
                        service.key, container.name
                    ));
                }
            }
        }
        names.join(", ")
    };
    for image in images_to_check(state) {
        match live.named_images.get(&image) {
            Some(ImageLookup::No { answer }) => {
                missing.push(format!("{image} ({}): {answer}", users(&image)));
            }
            Some(ImageLookup::Unasked { reason }) => warnings.push(format!(
                "{image} ({}) is kept as written, unchecked: {reason}",
                users(&image)
            )),
            Some(ImageLookup::Yes { digest }) if moving(&image) => warnings.push(format!(
                "{image} ({}) names {digest} today; a tag can move: write `@{digest}` in place of its tag to pin it",
                users(&image)
            )),
            _ => {}
        }
    }
    if missing.is_empty() {
        Ok(warnings)
    } else {
        Err(PlanError::NamedImagesMissing { missing })
    }
}

#[cfg(test)]
mod tests {
    use super::moving;

    #[test]
    fn latest_and_untagged_references_move_versions_and_digests_do_not() {
        assert!(moving("nginx"));
        assert!(moving("public.ecr.aws/nginx/nginx:latest"));
        assert!(moving("localhost:5000/app"));
        assert!(!moving("localhost:5000/app:1.2"));
        assert!(!moving("amazon/aws-for-fluent-bit:2.32.0"));
        assert!(!moving("datadog/agent@sha256:0123"));
    }
}
