//! The plan's types: a `Plan` of `Change`s, each with its resource, action, the fields that differ
//! and the exact `Operation` apply performs.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::fields::FieldChange;
use crate::model::{
    BackingKind, CapacityProvider, Network, ServiceSetting, ServiceSettings, TaskDefinition,
};
use crate::state::template::Template;

/// Version of the plan document (`--output json`); bumped on any incompatible change.
pub const PLAN_FORMAT_VERSION: u32 = 2;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    pub format_version: u32,
    pub environment: String,
    pub region: String,
    pub account: String,
    pub state_file: String,
    /// The environment's image as the state names it (`REPO:TAG`, or `REPO@DIGEST`); `None`
    /// when every container names its own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
    /// The digest it names in ECR: what the registered task definitions run (`REPO@DIGEST`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image_digest: Option<String>,
    /// What the services run now where it is not that image: the headline's "from".
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub running_images: Vec<super::image::RunningImage>,
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
    /// The whole content on both sides (task definitions), for renderers to diff.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content: Option<Content>,
    /// Whether the record apply leaves on the resource matches what the state asks for now: what
    /// tells drift from pending work. `None` where nothing differs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub record: Option<RecordStatus>,
    pub operation: Operation,
}

impl Change {
    /// A change with no field list, content or record (the common case; set them after).
    pub fn new(
        resource: Resource,
        action: Action,
        reason: impl Into<String>,
        operation: Operation,
    ) -> Self {
        Change {
            resource,
            action,
            reason: reason.into(),
            fields: Vec::new(),
            content: None,
            record: None,
            operation,
        }
    }
}

/// A document's content before and after (normalized), each under a label such as
/// `kaapi-task:7 (running)`; `before` is `{}` when nothing exists yet.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Content {
    pub before_label: String,
    pub before: serde_json::Value,
    pub after_label: String,
    pub after: serde_json::Value,
}

/// The record a resource carries of what was last applied to it, against what the state asks now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RecordStatus {
    /// The record equals the state's fingerprint: the state did not change since it was applied,
    /// so a difference was made in AWS (drift).
    Matches,
    /// The record is another fingerprint, or there is none yet: the state changed (pending).
    Stale,
    /// No record is kept for this kind of resource (ElastiCache, clusters, log groups).
    Unrecorded,
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
        /// Capacity providers the services' strategies name, associated at creation.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        capacity_providers: Vec<String>,
    },
    CreateLogGroup {
        name: String,
        tags: BTreeMap<String, String>,
    },
    /// Adds or corrects tags (never removes any): a tag-only change, or a record written alone.
    TagResource {
        #[serde(default)]
        api: TagApi,
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
    /// Modifies the fields that differ, once the resource is available.
    ModifyBacking(BackingModify),
    /// RunTask from the service's task definition with one container's command replaced, then
    /// follow it to STOPPED: a non-zero exit or a task that never started stops the apply.
    RunMigration(MigrationTask),
    /// Delete (RDS: after a final snapshot) and create again.
    ReplaceBacking {
        id: String,
        backing: BackingWrite,
        /// Deletion protection is on and must be turned off first.
        deletion_protected: bool,
    },
    CreateService(ServiceCreate),
    UpdateService(ServiceUpdate),
}

/// Which API a `TagResource` goes to.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TagApi {
    /// ECS TagResource (clusters, services).
    #[default]
    Ecs,
    /// The backing service's own tagging call (RDS and ElastiCache AddTagsToResource, MQ CreateTags).
    Backing(BackingKind),
}

/// Replicas added (IncreaseReplicaCount) or removed (DecreaseReplicaCount), to this many.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReplicaChange {
    Increase(i32),
    Decrease(i32),
}

/// A service to create: where, the task definition it runs, every setting, its tags.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ServiceCreate {
    pub cluster: String,
    pub name: String,
    pub task_definition: TaskDefinitionRef,
    pub settings: ServiceSettings,
    pub tags: BTreeMap<String, String>,
}

/// A service update: the settings that change, and the task definition when it moves.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ServiceUpdate {
    pub cluster: String,
    pub name: String,
    pub arn: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task_definition: Option<TaskDefinitionRef>,
    /// The settings that change, each with its new value.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub patch: Vec<ServiceSetting>,
    /// Start a new deployment although the task definition stays: a setting of the patch
    /// reaches running tasks only when they are replaced.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub force_new_deployment: bool,
    /// Tags to add or correct with the update (never removes tags someone else set).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub tags: BTreeMap<String, String>,
}

/// A backing service's modification: the fields to write and every choice the API needs, made.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BackingModify {
    pub key: String,
    pub kind: BackingKind,
    pub name: String,
    pub id: String,
    /// Fields to change, with their new values.
    pub changes: BTreeMap<String, serde_json::Value>,
    /// Their live values.
    pub before: BTreeMap<String, serde_json::Value>,
    pub apply_immediately: bool,
    /// RDS: the version change crosses a major version (AllowMajorVersionUpgrade).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub allow_major_version_upgrade: bool,
    /// ElastiCache: replicas are added or removed (a call of their own).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replicas: Option<ReplicaChange>,
    /// A secret whose value the modify call takes (the Redis AUTH token being turned on);
    /// a reference, never the value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
    /// When AWS carries the writes out, for the report (`; what AWS defers waits for the
    /// maintenance window`); empty when at once.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub takes_effect: String,
    /// The resource's ARN, and the record tags to write with the change
    /// (`reconcile:fingerprint` when the applied settings change, `reconcile:commit`).
    #[serde(default)]
    pub arn: String,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub record: BTreeMap<String, String>,
}

/// A migration: RunTask of the service's task definition with one container's command replaced.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MigrationTask {
    pub cluster: String,
    pub task_definition: TaskDefinitionRef,
    pub container: String,
    pub command: Vec<String>,
    /// The service's launch type; `None` with a capacity provider strategy.
    #[serde(default = "fargate", skip_serializing_if = "Option::is_none")]
    pub launch_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub capacity_provider_strategy: Option<Vec<CapacityProvider>>,
    /// `awsvpc` only; other network modes take none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub network: Option<Network>,
    /// Fargate only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform_version: Option<String>,
    pub timeout_seconds: u64,
    /// Where its awslogs lines go: group and stream prefix; none when the container logs
    /// through another driver.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub log_group: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub log_stream_prefix: Option<String>,
}

/// Plans saved before migrations carried a launch type ran them on Fargate.
fn fargate() -> Option<String> {
    Some("FARGATE".into())
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
