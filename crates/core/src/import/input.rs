//! What `import` works from: the live environment as the AWS layer read it, and the application
//! image found in it.

use std::collections::BTreeMap;

use crate::model::{LiveBacking, LiveService, Revision};

/// What import reads from AWS for one environment.
#[derive(Debug, Clone, Default)]
pub struct ImportInput {
    pub environment: String,
    pub region: String,
    pub account: String,
    pub prefix: String,
    pub cluster: String,
    /// Each service with the revision it runs, in the order they are written.
    pub services: Vec<(LiveService, Revision)>,
    /// Backing services found, by the key they are written under.
    pub backing: Vec<(String, LiveBacking)>,
    /// What ECR holds for the application's images that a revision names by `:latest` or by
    /// digest, by image reference: the digest and the tags naming it.
    pub images: BTreeMap<String, EcrImage>,
    /// The cluster's tags.
    pub cluster_tags: BTreeMap<String, String>,
    /// Whether resources another environment's tag claims are taken over (`--take-over`).
    pub take_over: bool,
}

/// An image as ECR describes it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EcrImage {
    pub digest: String,
    pub tags: Vec<String>,
}

/// The application image: the ECR repository and its tag or digest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppImage {
    /// `ACCOUNT.dkr.ecr.REGION.amazonaws.com/REPO`.
    pub base: String,
    pub repository: String,
    pub tag: Option<String>,
    pub digest: Option<String>,
    /// The image reference as the task definitions hold it.
    pub live: String,
}

impl AppImage {
    /// Whether a container's image is the application image (and so the state's `image:`).
    pub fn runs(&self, image: &str) -> bool {
        image == self.live
    }
}

/// Whether a container takes the application's place: it runs the application image, or, where
/// the environment has none (each container names its own), any container.
pub fn runs_app(app: Option<&AppImage>, image: &str) -> bool {
    app.is_none_or(|app| app.runs(image))
}
