//! The plan's types: a `Plan` of `Change`s, each with its resource, action, the fields that differ
//! and the exact `Operation` apply performs.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::fields::FieldChange;
use crate::model::{
    BackingKind, Deployment, LoadBalancer, Network, ServiceSettings, TaskDefinition,
};
use crate::state::template::Template;

/// Version of the plan document (`--output json`); bumped on any incompatible change.
pub const PLAN_FORMAT_VERSION: u32 = 1;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    pub format_version: u32,
    pub environment: String,
    pub region: String,
    pub account: String,
    pub state_file: String,
    /// The image reference the environment's containers run.
    pub image: String,
    /// Things worth knowing that do not stop the plan (a secret that could not be checked, ...).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
    /// In dependency order: image, cluster, backing services, log groups, task definitions,
    /// migrations, services.
    pub changes: Vec<Change>,
}

impl Plan {
    /// Whether applying the plan would change anything.
    pub fn has_changes(&self) -> bool {
        self.changes
            .iter()
            .any(|change| change.action != Action::NoOp)
    }

    /// Count of changes per action.
    pub fn summary(&self) -> BTreeMap<Action, usize> {
        let mut counts = BTreeMap::new();
        for change in &self.changes {
            *counts.entry(change.action).or_insert(0) += 1;
        }
        counts
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Change {
    pub resource: Resource,
    pub action: Action,
    /// Why, for people. Apply never reads it.
    pub reason: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fields: Vec<FieldChange>,
    /// Unified diff of the task-definition content, for task-definition changes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub diff: Option<String>,
    pub operation: Operation,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Resource {
    pub kind: ResourceKind,
    pub name: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ResourceKind {
    Image,
    Cluster,
    RdsInstance,
    ElasticacheReplicationGroup,
    MqBroker,
    LogGroup,
    TaskDefinition,
    Migration,
    Service,
    /// A service's deployment as apply follows it (apply reports only, never in a plan).
    Rollout,
}

impl ResourceKind {
    pub fn label(self) -> &'static str {
        match self {
            ResourceKind::Image => "image",
            ResourceKind::Cluster => "cluster",
            ResourceKind::RdsInstance => BackingKind::Postgres.label(),
            ResourceKind::ElasticacheReplicationGroup => BackingKind::Redis.label(),
            ResourceKind::MqBroker => BackingKind::Rabbitmq.label(),
            ResourceKind::LogGroup => "log group",
            ResourceKind::TaskDefinition => "task definition",
            ResourceKind::Migration => "migration",
            ResourceKind::Service => "service",
            ResourceKind::Rollout => "rollout",
        }
    }
}

impl From<BackingKind> for ResourceKind {
    fn from(kind: BackingKind) -> Self {
        match kind {
            BackingKind::Postgres => ResourceKind::RdsInstance,
            BackingKind::Redis => ResourceKind::ElasticacheReplicationGroup,
            BackingKind::Rabbitmq => ResourceKind::MqBroker,
        }
    }
}

/// Everything needed to create a backing service.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BackingWrite {
    /// The key under `backing:`.
    pub key: String,
    pub kind: BackingKind,
    pub name: String,
    /// Settings by state-file field name.
    pub settings: BTreeMap<String, serde_json::Value>,
    /// Reference to the Redis AUTH token or the RabbitMQ admin password (never the value).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
    pub tags: BTreeMap<String, String>,
    /// Description where the API has one (ElastiCache): marks whose resource it is.
    pub description: String,
}

/// A container variable whose value is a backing service's output not known at plan time.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KnownAfterApply {
    pub container: String,
    pub variable: String,
    /// Whether it is a secret (`valueFrom`) rather than a plain value.
    pub secret: bool,
    pub value: Template,
    /// The backing services (keys, kinds and names) whose outputs it needs.
    pub needs: Vec<(String, BackingKind, String)>,
}

/// What happens to a resource. A closed set, as in Terraform.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    NoOp,
    Create,
    Update,
    /// Delete and create again: only with `--allow-replace KEY`.
    Replace,
    /// Run a one-off task (a migration).
    Run,
}

/// The AWS writes a change consists of.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Operation {
    None,
    CreateCluster {
        name: String,
        tags: BTreeMap<String, String>,
    },
    CreateLogGroup {
        name: String,
        tags: BTreeMap<String, String>,
    },
    TagResource {
        arn: String,
        tags: BTreeMap<String, String>,
    },
    RegisterTaskDefinition {
        definition: TaskDefinition,
        tags: BTreeMap<String, String>,
        /// Variables apply fills in once the backing services they refer to are available.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        known_after_apply: Vec<KnownAfterApply>,
    },
    CreateBacking {
        backing: BackingWrite,
    },
    ModifyBacking {
        key: String,
        kind: BackingKind,
        name: String,
        id: String,
        /// Fields to change, with their new values.
        changes: BTreeMap<String, serde_json::Value>,
        /// Their live values.
        before: BTreeMap<String, serde_json::Value>,
        apply_immediately: bool,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        secret: Option<String>,
        /// The resource's ARN, and the record tags to write (`reconcile:fingerprint` when the
        /// applied settings change, `reconcile:commit`); empty: none.
        #[serde(default)]
        arn: String,
        #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
        record: BTreeMap<String, String>,
    },
    /// RunTask from the service's task definition with one container's command replaced, then
    /// follow it to STOPPED: a non-zero exit or a task that never started stops the apply.
    RunMigration {
        cluster: String,
        task_definition: TaskDefinitionRef,
        container: String,
        command: Vec<String>,
        network: Network,
        platform_version: String,
        timeout_seconds: u64,
        /// Where its awslogs lines go: group and stream prefix.
        log_group: String,
        log_stream_prefix: String,
    },
    /// Delete (RDS: after a final snapshot) and create again.
    ReplaceBacking {
        id: String,
        backing: BackingWrite,
        /// Deletion protection is on and must be turned off first.
        deletion_protected: bool,
    },
    CreateService {
        cluster: String,
        name: String,
        task_definition: TaskDefinitionRef,
        settings: ServiceSettings,
        tags: BTreeMap<String, String>,
    },
    UpdateService {
        cluster: String,
        name: String,
        arn: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        task_definition: Option<TaskDefinitionRef>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        desired_count: Option<i32>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        network: Option<Network>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        deployment: Option<Deployment>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        platform_version: Option<String>,
        /// The complete new list (`[]` detaches every target group).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        load_balancers: Option<Vec<LoadBalancer>>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        health_check_grace_period: Option<i32>,
        /// Tags to add or correct (never removes tags someone else set).
        #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
        tags: BTreeMap<String, String>,
    },
}

/// The task definition a service should run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum TaskDefinitionRef {
    /// An existing revision, by ARN.
    Existing { arn: String },
    /// The revision this plan registers for the family.
    Registered { family: String },
}

impl TaskDefinitionRef {
    pub fn display(&self) -> String {
        match self {
            TaskDefinitionRef::Existing { arn } => short_revision(arn),
            TaskDefinitionRef::Registered { family } => format!("{family}:(new revision)"),
        }
    }
}

/// The revision number of a task-definition ARN (`...:task-definition/family:7` -> 7; 0 if none).
pub fn revision_number(arn: &str) -> i32 {
    arn.rsplit(':')
        .next()
        .and_then(|revision| revision.parse().ok())
        .unwrap_or(0)
}

/// `family:revision` from a task-definition ARN.
pub fn short_revision(arn: &str) -> String {
    arn.rsplit('/').next().unwrap_or(arn).to_string()
}
