//! What the operator learned, for people and machines: each environment's status (served as JSON
//! on `/status`) and the Prometheus metrics (on `/metrics`), shared by the loop and the server.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Mutex;
use std::sync::atomic::AtomicU64;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;
use serde::Serialize;

use crate::sync::{Decision, WindowState};

/// The last apply the operator attempted in an environment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Attempt {
    pub commit: String,
    pub at: jiff::Timestamp,
    /// `succeeded` or `failed`.
    pub outcome: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// One environment as `/status` shows it.
#[derive(Debug, Clone, Serialize)]
pub struct EnvStatus {
    pub environment: String,
    pub branch: String,
    /// The commit the environment's state is read at (its branch's newest).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub commit_wanted: Option<String>,
    /// The commit its services were last applied from (their `reconcile:commit` tag).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub commit_live: Option<String>,
    /// When it was last planned.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_sync: Option<jiff::Timestamp>,
    /// in_sync, applied, held, failed, locked or error.
    pub result: String,
    /// The controller's decision with its reason.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub decision: Option<Decision>,
    pub drift: usize,
    pub pending: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_attempt: Option<Attempt>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_run: Option<jiff::Timestamp>,
    pub window: WindowState,
    /// The error of the last run, when it failed before deciding.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl EnvStatus {
    pub fn new(environment: &str, branch: &str) -> EnvStatus {
        EnvStatus {
            environment: environment.to_string(),
            branch: branch.to_string(),
            commit_wanted: None,
            commit_live: None,
            last_sync: None,
            result: "pending".into(),
            decision: None,
            drift: 0,
            pending: 0,
            last_attempt: None,
            next_run: None,
            window: WindowState::Open,
            error: None,
        }
    }
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct EnvLabel {
    pub environment: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ResultLabel {
    pub environment: String,
    pub result: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct OperationLabel {
    pub operation: String,
}

type Buckets = fn() -> Histogram;

/// The operator's metrics.
#[derive(Debug)]
pub struct Metrics {
    pub last_sync: Family<EnvLabel, Gauge<f64, AtomicU64>>,
    pub last_success: Family<EnvLabel, Gauge>,
    pub syncs: Family<ResultLabel, Counter>,
    pub drift: Family<EnvLabel, Gauge>,
    pub pending: Family<EnvLabel, Gauge>,
    pub apply_seconds: Family<EnvLabel, Histogram, Buckets>,
    pub calls: Family<OperationLabel, Counter>,
    pub errors: Family<OperationLabel, Counter>,
    pub cycles: Counter,
}

/// What the loop and the server share.
#[derive(Debug)]
pub struct Shared {
    pub status: Mutex<BTreeMap<String, EnvStatus>>,
    /// Environments whose failed commit a person asked to try again (`POST /retry/ENV`).
    pub retry: Mutex<BTreeSet<String>>,
    pub metrics: Metrics,
    registry: Registry,
}

fn buckets() -> Histogram {
    // 1 s to about 68 min.
    Histogram::new(exponential_buckets(1.0, 2.0, 13))
}

impl Shared {
    pub fn new() -> Shared {
        let metrics = Metrics {
            last_sync: Family::default(),
            last_success: Family::default(),
            syncs: Family::default(),
            drift: Family::default(),
            pending: Family::default(),
            apply_seconds: Family::new_with_constructor(buckets as Buckets),
            calls: Family::default(),
            errors: Family::default(),
            cycles: Counter::default(),
        };
        let mut registry = Registry::with_prefix("reconcile");
        registry.register(
            "last_sync_timestamp_seconds",
            "When the environment was last planned (Unix time)",
            metrics.last_sync.clone(),
        );
        registry.register(
            "last_sync_success",
            "1 when the environment's last run ended without an error or a failed apply",
            metrics.last_success.clone(),
        );
        registry.register(
            "syncs",
            "Runs per environment by result (in_sync, applied, held, failed, locked, error)",
            metrics.syncs.clone(),
        );
        registry.register(
            "drift",
            "Differences live AWS shows behind git's back",
            metrics.drift.clone(),
        );
        registry.register(
            "pending",
            "Differences the state asks for that are not applied yet",
            metrics.pending.clone(),
        );
        registry.register(
            "apply_duration_seconds",
            "How long applies took, rollouts included",
            metrics.apply_seconds.clone(),
        );
        registry.register(
            "aws_calls",
            "AWS API calls by operation",
            metrics.calls.clone(),
        );
        registry.register(
            "aws_errors",
            "AWS API calls that failed, by operation",
            metrics.errors.clone(),
        );
        registry.register(
            "cycles",
            "Operator cycles (fetch and every environment due)",
            metrics.cycles.clone(),
        );
        Shared {
            status: Mutex::new(BTreeMap::new()),
            retry: Mutex::new(BTreeSet::new()),
            metrics,
            registry,
        }
    }

    /// The metrics in the Prometheus text exposition format.
    pub fn encode_metrics(&self) -> String {
        let mut out = String::new();
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.registry);
        out
    }

    /// Counts what a set of clients called and which calls failed.
    pub fn count_calls(&self, calls: &crate::aws::CallLog) {
        for operation in calls.operations() {
            self.metrics
                .calls
                .get_or_create(&OperationLabel { operation })
                .inc();
        }
        for operation in calls.errors() {
            self.metrics
                .errors
                .get_or_create(&OperationLabel { operation })
                .inc();
        }
    }

    /// Every environment's status, by name.
    pub fn statuses(&self) -> Vec<EnvStatus> {
        self.status
            .lock()
            .map(|s| s.values().cloned().collect())
            .unwrap_or_default()
    }

    pub fn update(&self, environment: &str, change: impl FnOnce(&mut EnvStatus)) {
        if let Ok(mut status) = self.status.lock()
            && let Some(entry) = status.get_mut(environment)
        {
            change(entry);
        }
    }
}
