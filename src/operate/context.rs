//! What the operator was asked (`Options`) and what one cycle's environments share
//! (`Context`: the repository, the report, the notifier, the stop, the fences of applies in
//! flight and one SDK configuration per region).

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::git::Repo;
use super::notify::Notifier;
use super::report::Shared;
use crate::aws::Aws;
use crate::aws::fence::Fence;
use crate::aws::stop::Stop;

/// What `reconcile operate` was asked.
#[derive(Debug, Clone)]
pub struct Options {
    /// A URL git can fetch (`${NAME}` replaced by that environment variable) or a local path.
    pub repo: String,
    pub branch: String,
    pub every: Duration,
    pub listen: Option<SocketAddr>,
    /// The state folder inside the repository.
    pub state_path: String,
    /// Where the clone is kept.
    pub workdir: PathBuf,
    /// Environments reconciled at once.
    pub concurrency: usize,
    pub lock_lease: Duration,
    /// How long an apply follows each deployment.
    pub rollout_timeout: Duration,
    pub webhook: Option<String>,
    /// `OWNER/NAME`, API URL and token for commit statuses.
    pub github: Option<(String, String, String)>,
}

/// What the cycle's environments share.
pub(super) struct Context {
    pub(super) options: Options,
    pub(super) repo: Repo,
    pub(super) shared: Arc<Shared>,
    pub(super) notifier: Notifier,
    pub(super) stop: Stop,
    /// Fences of the applies in flight, closed by a signal.
    pub(super) fences: Arc<Mutex<Vec<Fence>>>,
    /// One SDK configuration per region (credentials resolved once, refreshed by the SDK).
    pub(super) configs: tokio::sync::Mutex<HashMap<String, aws_config::SdkConfig>>,
}

impl Context {
    /// Clients of `region` with their own call log and fence.
    pub(super) async fn aws(&self, region: &str) -> Aws {
        let mut configs = self.configs.lock().await;
        if !configs.contains_key(region) {
            let aws = Aws::connect(region).await;
            configs.insert(region.to_string(), aws.config.clone());
        }
        let mut aws = Aws::from_config(&configs[region]);
        aws.stop = self.stop.clone();
        aws
    }
}
