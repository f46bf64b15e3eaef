//! The state file format (version 1) as serde types: what a user writes, before defaults are filled.
//!
//! Every struct rejects unknown keys, and the same types generate the JSON Schema
//! (`reconcile schema`), so the schema and the parser cannot disagree.

use std::collections::BTreeMap;

use indexmap::IndexMap;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::model::{
    AwsJson, CapacityProvider, DeploymentAlarms, EfsVolume, Firelens, LinuxParameters, MountPoint,
    PortMapping, RuntimePlatform, Ulimit,
};

/// One environment of one application: the whole desired state that `reconcile` makes AWS match.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StateFile {
    /// Format version; this release reads version 1.
    pub version: u32,
    /// Environment name; must match the file name (`staging` for `staging.yaml`).
    pub environment: String,
    /// AWS region, for example `ap-south-1`.
    pub region: String,
    /// Optional guard: the 12-digit AWS account id this environment lives in. Every command refuses
    /// to run against any other account.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account: Option<String>,
    /// Resource name prefix (Kaapi's `AWS_RESOURCE_PREFIX`); every default name derives from it.
    pub prefix: String,
    /// The application image, in this account's ECR. Leave it out when every container names its
    /// own `image:` (images from any registry).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<ImageSpec>,
    /// An environment whose resources this one takes over: resources tagged
    /// `reconcile:environment: NAME` are relabelled to this environment (written by
    /// `reconcile import --take-over`). Without it, a resource another environment's tag claims
    /// stops the plan.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub take_over_from: Option<String>,
    /// ECS cluster name. Default: `{prefix}-cluster` in production, `{prefix}-{environment}-cluster` elsewhere.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster: Option<String>,
    /// Default Fargate network configuration for every service.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub network: Option<NetworkSpec>,
    /// Default IAM roles for every task definition.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub roles: Option<RolesSpec>,
    /// Plain environment variables shared by every container (containers may override them).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    #[schemars(with = "BTreeMap<String, ScalarValue>")]
    pub env: BTreeMap<String, String>,
    /// Secret environment variables shared by every container, as references:
    /// `secretsmanager:NAME[:JSON_KEY]`, `ssm:/PARAMETER/NAME`, or a Secrets Manager or SSM ARN.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub secrets: BTreeMap<String, String>,
    /// Variables every container must receive, plain or secret, at any level. Checked before any
    /// AWS call: an application that refuses to start without them fails here, not in a crash loop.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub required_env: Vec<String>,
    /// Extra tags for every resource `reconcile` creates.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub tags: BTreeMap<String, String>,
    /// Backing services (databases, caches, brokers), keyed by a short logical name that container
    /// variables refer to: `${postgres.address}`. Removing an entry deletes nothing.
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub backing: IndexMap<String, BackingSpec>,
    /// ECS services, each with its own task-definition family. Keys are short logical names.
    pub services: IndexMap<String, ServiceSpec>,
    /// One-off tasks apply runs after the backing services and before any service is updated,
    /// for example database migrations. A migration that fails stops the apply.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub migrations: Vec<MigrationSpec>,
    /// How `reconcile operate` keeps this environment at its git state. Without it: new commits
    /// are applied by themselves, except in an environment named `production`; drift is reported,
    /// not undone; applies may happen at any time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sync: Option<SyncSpec>,
}

/// The operator's policy for one environment. Data stores are never deleted or replaced by the
/// operator, whatever it says.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SyncSpec {
    /// Apply a new commit by itself. Default: true, except for an environment named `production`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auto: Option<bool>,
    /// Undo drift (a change made behind git's back) without waiting for a new commit.
    /// Default: false (drift is reported).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub self_heal: Option<bool>,
    /// The branch whose newest commit is this environment's state. Default: the operator's
    /// `--branch`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub branch: Option<String>,
    /// Only a commit that a tag matching this glob points at is applied, for example `v*` for
    /// production: the branch's newest commit is planned and reported, and applied once such a
    /// tag points at it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tags: Option<String>,
    /// When applies may happen: deny windows block them, and when any allow window is given,
    /// applies happen only inside one. Reporting never stops.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub windows: Vec<SyncWindowSpec>,
}

/// A recurring window, opened by a cron schedule and lasting `duration`.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SyncWindowSpec {
    /// `allow` or `deny`.
    pub kind: WindowKind,
    /// When the window opens: a cron schedule `MINUTE HOUR DAY MONTH WEEKDAY`, for example
    /// `0 16 * * FRI` (Friday 16:00).
    pub schedule: String,
    /// How long it stays open, for example `64h` (Friday 16:00 to Monday 08:00).
    pub duration: String,
    /// The IANA time zone of the schedule, for example `Asia/Kolkata`. Default: `UTC`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timezone: Option<String>,
}

/// Whether a window allows or denies applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum WindowKind {
    Allow,
    Deny,
}

/// A one-off task run from a service's new task definition with one container's command replaced.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MigrationSpec {
    /// The key under `services:` whose task definition and network the task uses.
    pub service: String,
    /// The container whose command is replaced. Default: the service's first container.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub container: Option<String>,
    /// The command to run, for example `[uv, run, alembic, upgrade, head]`.
    pub command: Vec<String>,
    /// How long the task may take, for example `10m`. Default: `15m`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<String>,
    /// `image_changes` (default: when the service's image changes to a revision newer than the
    /// running one, so a revert to an earlier revision runs nothing), `always` (whenever the
    /// service is deployed), or `never`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub when: Option<MigrationWhen>,
}

/// When a migration runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum MigrationWhen {
    /// When the service's image changes to a task-definition revision newer than the running one.
    ImageChanges,
    /// Whenever the service is deployed (its task definition or settings change).
    Always,
    /// Never (kept in the file, switched off).
    Never,
}

/// The image every container runs unless it names its own.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ImageSpec {
    /// ECR repository name. Default: `{prefix}-repo` in production, `{prefix}-{environment}-repo` elsewhere.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repository: Option<String>,
    /// Image tag, for example `v1.8.0`. Exactly one of `tag` and `digest`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tag: Option<String>,
    /// Image digest, `sha256:` followed by 64 hex digits. Exactly one of `tag` and `digest`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub digest: Option<String>,
}

/// Fargate `awsvpc` network configuration.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NetworkSpec {
    /// Subnet ids (`subnet-...`).
    pub subnets: Vec<String>,
    /// Security group ids (`sg-...`).
    #[serde(default)]
    pub security_groups: Vec<String>,
    /// Give tasks a public IP. Default: false.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub assign_public_ip: Option<bool>,
}

/// IAM roles of a task definition.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RolesSpec {
    /// Role ECS uses to pull the image, read secrets and write logs (required on Fargate with awslogs).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub execution_role_arn: Option<String>,
    /// Role the application's code runs as.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task_role_arn: Option<String>,
}

/// One ECS service and the task-definition family it runs.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ServiceSpec {
    /// ECS service name. Default for key `api`: `{base}-service`; for any other key K: `{base}-K-service`,
    /// where base is `{prefix}` in production and `{prefix}-{environment}` elsewhere.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Task-definition family. Default for key `api`: `{base}-task`; otherwise `{base}-K-task`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub family: Option<String>,
    /// Number of tasks. When absent, a new service starts with 1 and the live count is never changed
    /// (leave it out when an autoscaler owns the count).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub desired_count: Option<u32>,
    /// Task CPU units. On Fargate required, one of its sizes (256, 512, 1024, 2048, 4096, 8192,
    /// 16384); elsewhere optional (containers then take what they say).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu: Option<u32>,
    /// Task memory in MiB. On Fargate required and valid for the CPU size; elsewhere optional
    /// when every container sets `memory` or `memory_reservation`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory: Option<u32>,
    /// How tasks are launched: `FARGATE` (default), `EC2`, or `EXTERNAL` (ECS Anywhere). Leave it
    /// out with `capacity_provider_strategy`. Fixed when the service is created.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub launch_type: Option<String>,
    /// Task networking: `awsvpc` (default; the only mode on Fargate), `bridge`, `host` or `none`.
    /// Only `awsvpc` takes `network:`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub network_mode: Option<String>,
    /// The launch types AWS checks the task definition against when it is registered (`EC2`,
    /// `FARGATE`, `EXTERNAL`, `MANAGED_INSTANCES`). Default: the service's launch type; `[]` for
    /// none, as a definition registered without the field has.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requires_compatibilities: Option<Vec<String>>,
    /// Overrides the environment's roles for this service.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub roles: Option<RolesSpec>,
    /// Overrides the environment's network for this service.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub network: Option<NetworkSpec>,
    /// Rolling-deployment settings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deployment: Option<DeploymentSpec>,
    /// Fargate platform version. Default on Fargate: `LATEST`; none elsewhere.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform_version: Option<String>,
    /// Target groups the service registers its tasks in. When absent, the service's load balancers
    /// are left as they are; `[]` detaches them all.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub load_balancers: Option<Vec<LoadBalancerSpec>>,
    /// Seconds during which failing load-balancer and container health checks are ignored after a
    /// task starts. When absent, the live value is left as it is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub health_check_grace_period: Option<u32>,
    /// ECS Exec (`aws ecs execute-command` into the service's tasks). Default: `false`, as in
    /// AWS, so a switch made in the console shows in plan and drift.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enable_execute_command: Option<bool>,
    /// Where tasks get their tags from: `SERVICE`, `TASK_DEFINITION` or `NONE`. Default: `NONE`,
    /// as in AWS.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub propagate_tags: Option<String>,
    /// ECS-managed tags (`aws:ecs:clusterName`, `aws:ecs:serviceName`) on the service's tasks.
    /// Default: false, as in AWS.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enable_ecs_managed_tags: Option<bool>,
    /// Run on capacity providers instead of the FARGATE launch type, for example
    /// `[{capacity_provider: FARGATE, base: 1, weight: 1}, {capacity_provider: FARGATE_SPOT,
    /// weight: 3}]`. The cluster must have them. Default: the FARGATE launch type.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub capacity_provider_strategy: Option<Vec<CapacityProvider>>,
    /// Let ECS move tasks to even out Availability Zones: `ENABLED` or `DISABLED`. When absent,
    /// the live value is left as it is (AWS's default depends on when the service was created).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub availability_zone_rebalancing: Option<String>,
    /// Plain environment variables for every container of this service (over the environment's).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    #[schemars(with = "BTreeMap<String, ScalarValue>")]
    pub env: BTreeMap<String, String>,
    /// Secret references for every container of this service (over the environment's).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub secrets: BTreeMap<String, String>,
    /// CPU architecture and operating system of the tasks. Default: `X86_64` on `LINUX`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub runtime_platform: Option<RuntimePlatform>,
    /// Fargate ephemeral storage in GiB (21 to 200). Default: AWS's 20.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ephemeral_storage_gib: Option<u32>,
    /// Task volumes by name: an EFS file system (`efs:`), or `{}` for task storage the
    /// containers share (a bind mount).
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub volumes: IndexMap<String, VolumeSpec>,
    /// Process namespace: `task` shares one among the task's containers (Fargate allows only
    /// `task`). Default: each container has its own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pid_mode: Option<String>,
    /// Settings of the running task definition that this format cannot express, by the AWS JSON
    /// path a plan names (`containerDefinitions.backend.privileged`): listing one lets reconcile
    /// register a revision without it. Without it, the plan stops rather than drop the setting.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub drop_unmanaged: Vec<String>,
    /// Task-definition settings this format has no key for, in AWS's own JSON names as a
    /// task-definition file writes them (RegisterTaskDefinition's request), for example
    /// `{ipcMode: host, proxyConfiguration: {type: APPMESH, containerName: envoy, properties:
    /// [...]}}`: sent as written, compared as written. A key the format types is refused here
    /// (write it with its own key).
    #[serde(default, skip_serializing_if = "AwsJson::is_empty")]
    pub aws: AwsJson,
    /// Containers, in task-definition order (the first one is the main container).
    pub containers: IndexMap<String, ContainerSpec>,
}

/// A task volume.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct VolumeSpec {
    /// The EFS file system to mount. Absent: task storage shared by the containers that mount it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub efs: Option<EfsVolume>,
    /// The volume's settings in AWS's own JSON names, for what this format has no key for:
    /// `{host: {sourcePath: /var/run/docker.sock}}`, `{dockerVolumeConfiguration: {...}}`,
    /// `{configuredAtLaunch: true}`. Sent and compared as written.
    #[serde(default, skip_serializing_if = "AwsJson::is_empty")]
    pub aws: AwsJson,
}

/// One target group of an Application or Network Load Balancer.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LoadBalancerSpec {
    /// `arn:aws:elasticloadbalancing:REGION:ACCOUNT:targetgroup/NAME/ID` (target type `ip`).
    pub target_group_arn: String,
    /// The container that receives the traffic. Default: the first container with a `port`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub container: Option<String>,
    /// The container port. Default: that container's `port`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<u32>,
}

/// ECS deployment configuration of a service.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DeploymentSpec {
    /// Deployment circuit breaker: `disabled` (AWS's default), `enabled`, or `rollback`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub circuit_breaker: Option<CircuitBreakerMode>,
    /// Lower limit of running tasks during a deployment, in percent of the desired count. Default: 100.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_healthy_percent: Option<u32>,
    /// Upper limit of tasks during a deployment, in percent of the desired count. Default: 200.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_percent: Option<u32>,
    /// CloudWatch alarms that fail a deployment when they go into ALARM. Default: none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alarms: Option<DeploymentAlarms>,
}

/// What the ECS deployment circuit breaker does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum CircuitBreakerMode {
    /// No circuit breaker.
    Disabled,
    /// Stop a failing deployment, leaving it failed.
    Enabled,
    /// Stop a failing deployment and roll back to the last completed one.
    Rollback,
}

/// One container of a task definition.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ContainerSpec {
    /// A full image reference for this container only; default: the environment's image.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
    /// Overrides the image's command (CMD).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command: Option<Vec<String>>,
    /// Overrides the image's entry point.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entry_point: Option<Vec<String>>,
    /// TCP port the container listens on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<u32>,
    /// The port mapping's name, for Service Connect (the console writes `NAME-PORT-tcp`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port_name: Option<String>,
    /// The port's application protocol for Service Connect: `http`, `http2` or `grpc`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub app_protocol: Option<String>,
    /// Every port mapping, for a container with more than one (or with a host port, a UDP port
    /// or a port range), in place of `port`, `port_name` and `app_protocol`: for example
    /// `[{container_port: 8080, name: web}, {container_port: 9090, protocol: udp}]`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub port_mappings: Vec<PortMapping>,
    /// CPU units reserved for this container. Default: 0 (share the task's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu: Option<u32>,
    /// Hard memory limit in MiB.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory: Option<u32>,
    /// Soft memory limit in MiB.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory_reservation: Option<u32>,
    /// Whether the task stops when this container stops. Default: true.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub essential: Option<bool>,
    /// Whether the container receives the environment's and the service's `env:` and `secrets:`
    /// (a sidecar such as a log router runs another program and needs none of them; `required_env`
    /// then does not apply to it). Default: true.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inherit_variables: Option<bool>,
    /// Plain environment variables for this container (over the service's and environment's).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    #[schemars(with = "BTreeMap<String, ScalarValue>")]
    pub env: BTreeMap<String, String>,
    /// Secret references for this container (over the service's and environment's).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub secrets: BTreeMap<String, String>,
    /// Container health check.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub health_check: Option<HealthCheckSpec>,
    /// Log routing. Default: CloudWatch Logs (awslogs), group `/ecs/{cluster}/{service}`,
    /// stream prefix `ecs`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub logs: Option<LogsSpec>,
    /// The directory the command runs in, an absolute path. Default: the image's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub working_directory: Option<String>,
    /// The user the command runs as (`name`, `uid`, `uid:gid`, ...). Default: the image's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// Mount the container's root file system read-only. Default: false.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub readonly_root_filesystem: Option<bool>,
    /// Seconds ECS waits for the container's dependencies before giving up on it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_timeout: Option<u32>,
    /// Seconds between SIGTERM and SIGKILL when the task stops (2 to 120 on Fargate).
    /// Default: 30.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stop_timeout: Option<u32>,
    /// Resource limits, for example `[{name: nofile, soft_limit: 65536, hard_limit: 65536}]`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ulimits: Vec<Ulimit>,
    /// Docker labels on the container.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub docker_labels: BTreeMap<String, String>,
    /// Containers of this task to wait for, with the condition: `START`, `COMPLETE`, `SUCCESS`
    /// or `HEALTHY`, for example `{log-router: START}`.
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub depends_on: IndexMap<String, String>,
    /// Task volumes mounted into the container.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub mount_points: Vec<MountPoint>,
    /// Linux options: an init process, kernel capabilities.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub linux_parameters: Option<LinuxParameters>,
    /// Make this container the task's FireLens log router.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub firelens: Option<Firelens>,
    /// `.env` files in S3 (`arn:aws:s3:::BUCKET/KEY.env`), read at task start in this order;
    /// `env:` and `secrets:` win over them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub environment_files: Vec<String>,
    /// Container settings this format has no key for, in AWS's own JSON names as a
    /// task-definition file writes them, for example `{privileged: true, systemControls:
    /// [{namespace: net.core.somaxconn, value: "1024"}], linuxParameters: {tmpfs: [...]}}`: sent
    /// as written, compared as written. A key the format types is refused here (write it with
    /// its own key).
    #[serde(default, skip_serializing_if = "AwsJson::is_empty")]
    pub aws: AwsJson,
}

impl ServiceSpec {
    /// Whether the service runs on Fargate (its launch type, or Fargate capacity providers).
    pub fn on_fargate(&self) -> bool {
        crate::model::on_fargate(
            self.launch_type.as_deref(),
            self.capacity_provider_strategy.as_deref(),
        )
    }

    /// Whether AWS checks the task definition against Fargate's rules when it is registered:
    /// the service runs on Fargate, or `requires_compatibilities` names FARGATE.
    pub fn fargate_definition(&self) -> bool {
        match &self.requires_compatibilities {
            Some(list) => list.iter().any(|c| c == "FARGATE"),
            None => self.on_fargate(),
        }
    }

    /// The task's network mode (default `awsvpc`).
    pub fn network_mode(&self) -> &str {
        self.network_mode.as_deref().unwrap_or("awsvpc")
    }
}

impl ContainerSpec {
    /// The ports the container listens on: `port`, or each mapping's container port.
    pub fn ports(&self) -> Vec<u32> {
        match self.port {
            Some(port) => vec![port],
            None => self
                .port_mappings
                .iter()
                .filter_map(|m| u32::try_from(m.container_port).ok().filter(|p| *p > 0))
                .collect(),
        }
    }

    /// The port a health check's `path` and a load balancer reach by default: the first one.
    pub fn first_port(&self) -> Option<u32> {
        self.ports().first().copied()
    }
}

/// A container health check: either an HTTP `path` probed with curl on the container's port, or a
/// `command` in ECS's form (`["CMD-SHELL", "..."]` or `["CMD", ...]`).
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct HealthCheckSpec {
    /// HTTP path, for example `/api/v1/utils/health/`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// Explicit health-check command.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command: Option<Vec<String>>,
    /// Seconds between checks (5 to 300). Default: 30.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interval: Option<u32>,
    /// Seconds before a check fails (2 to 120). Default: 5.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<u32>,
    /// Failures before the container is unhealthy (1 to 10). Default: 3.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retries: Option<u32>,
    /// Grace period in seconds (0 to 300). Default: 0.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_period: Option<u32>,
}

/// A container's log configuration.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LogsSpec {
    /// The log driver: `awslogs` (default), `awsfirelens` (through the task's FireLens router),
    /// `splunk`, off Fargate also `json-file`, `syslog`, `journald`, `gelf`, `fluentd`; `none`: no
    /// log configuration at all.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub driver: Option<String>,
    /// awslogs only: the CloudWatch Logs group. Default: `/ecs/{cluster}/{service}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    /// awslogs only: the stream prefix. Default: `ecs`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stream_prefix: Option<String>,
    /// Further driver options, as the driver names them (`mode: non-blocking`,
    /// `max-buffer-size: 25m`; for awsfirelens `Name: cloudwatch_logs`, ...).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    #[schemars(with = "BTreeMap<String, ScalarValue>")]
    pub options: BTreeMap<String, String>,
    /// Driver options whose values are secrets, as references (`secretsmanager:NAME[:KEY]`,
    /// `ssm:/NAME` or an ARN), for example a Splunk token.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub secret_options: BTreeMap<String, String>,
}

/// What a variable's value may be written as in YAML; numbers and booleans are kept as written.
#[derive(JsonSchema)]
#[serde(untagged)]
#[allow(dead_code)]
enum ScalarValue {
    Text(String),
    Integer(i64),
    Boolean(bool),
}

/// One backing service; `engine` says which kind.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "engine", rename_all = "lowercase")]
pub enum BackingSpec {
    /// An RDS for PostgreSQL DB instance. Outputs: `address`, `port`, `master_password` (secrets only).
    Postgres(PostgresSpec),
    /// An ElastiCache for Redis replication group (cluster mode disabled). Outputs: `address`, `port`.
    Redis(RedisSpec),
    /// An Amazon MQ for RabbitMQ broker. Outputs: `endpoint` (amqps URL), `address`, `port`.
    Rabbitmq(RabbitmqSpec),
}

/// RDS for PostgreSQL. The master password is created and rotated by RDS in Secrets Manager.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PostgresSpec {
    /// DB instance identifier. Default: `{base}-{key}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Engine version, major (`"16"`) or exact (`"16.4"`); a partial version matches any patch
    /// release AWS moves to. Quote it.
    #[serde(deserialize_with = "version")]
    #[schemars(with = "VersionValue")]
    pub version: String,
    /// Instance class, for example `db.t4g.medium`.
    pub instance_class: String,
    /// Allocated storage in GiB (20 to 65536).
    pub storage_gb: u32,
    /// Storage autoscaling limit in GiB; growth up to it is not a difference. Default: no autoscaling.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_storage_gb: Option<u32>,
    /// `gp3` (default), `gp2`, `io1`, `io2`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub storage_type: Option<String>,
    /// A standby in another Availability Zone. Default: false.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub multi_az: Option<bool>,
    /// Days automated backups are kept (0 to 35). Default: 7.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backup_retention_days: Option<u32>,
    /// Daily backup window in UTC, `hh:mm-hh:mm`. When absent, AWS's choice is kept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backup_window: Option<String>,
    /// Weekly maintenance window in UTC, `ddd:hh:mm-ddd:hh:mm`. When absent, AWS's choice is kept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub maintenance_window: Option<String>,
    /// Refuse deletion in AWS itself. Default: true.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deletion_protection: Option<bool>,
    /// Storage encryption at rest (set at creation only). Default: true.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub storage_encrypted: Option<bool>,
    /// DB parameter group name. When absent, the live one is kept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parameter_group: Option<String>,
    /// DB subnet group name. When absent, the live one (AWS's `default` on creation) is kept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subnet_group: Option<String>,
    /// VPC security group ids. When absent, the live ones are kept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub security_groups: Option<Vec<String>>,
    /// Master user name (set at creation only). Default: `postgres`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub master_username: Option<String>,
    /// Database created with the instance (set at creation only). When absent, none is created.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub database: Option<String>,
    /// RDS keeps the master password in Secrets Manager and rotates it
    /// (`${postgres.master_password}`). Default: true. `false` describes an instance whose
    /// password someone else set and keeps: reconcile never reads or changes it, and cannot
    /// create such an instance.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub managed_master_password: Option<bool>,
    /// Apply changes now instead of in the next maintenance window. Default: false.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub apply_immediately: Option<bool>,
}

/// ElastiCache for Redis, one shard with replicas (cluster mode disabled).
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RedisSpec {
    /// Replication group id. Default: `{base}-{key}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Engine version, for example `"7.1"`; a partial version matches any patch release. Quote it.
    #[serde(deserialize_with = "version")]
    #[schemars(with = "VersionValue")]
    pub version: String,
    /// Node type, for example `cache.t4g.small`.
    pub node_type: String,
    /// Read replicas beside the primary (0 to 5). Default: 0.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replicas: Option<u32>,
    /// Promote a replica when the primary fails (needs replicas). Default: true with replicas.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub automatic_failover: Option<bool>,
    /// Place replicas in other Availability Zones (needs automatic failover). Default: false.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub multi_az: Option<bool>,
    /// TLS between clients and nodes (set at creation). Default: true.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transit_encryption: Option<bool>,
    /// Encryption at rest (set at creation only). Default: true.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at_rest_encryption: Option<bool>,
    /// Redis AUTH token, as a secret reference (`secretsmanager:NAME[:KEY]` or `ssm:/NAME`); needs
    /// transit encryption. The value is read only to create the group and never shown.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth_token: Option<String>,
    /// Cache parameter group name. When absent, the live one is kept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parameter_group: Option<String>,
    /// Cache subnet group name (set at creation only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subnet_group: Option<String>,
    /// VPC security group ids. When absent, the live ones are kept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub security_groups: Option<Vec<String>>,
    /// Weekly maintenance window in UTC, `ddd:hh:mm-ddd:hh:mm`. When absent, AWS's choice is kept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub maintenance_window: Option<String>,
    /// Apply changes now instead of in the next maintenance window. Default: false.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub apply_immediately: Option<bool>,
}

/// Amazon MQ for RabbitMQ.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RabbitmqSpec {
    /// Broker name. Default: `{base}-{key}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Engine version, for example `"3.13"`; a partial version matches any patch release. Quote it.
    #[serde(deserialize_with = "version")]
    #[schemars(with = "VersionValue")]
    pub version: String,
    /// Host instance type, for example `mq.m5.large`.
    pub instance_type: String,
    /// `single_instance` (default) or `cluster_multi_az` (set at creation only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deployment_mode: Option<DeploymentMode>,
    /// Administrator user name (set at creation only: RabbitMQ brokers manage users themselves).
    pub admin_user: String,
    /// The administrator's password, as a secret reference (`secretsmanager:NAME[:KEY]` or
    /// `ssm:/NAME`). Read only to create the broker and never shown.
    pub admin_password: String,
    /// Let AWS apply minor engine versions in the maintenance window. Default: true.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auto_minor_version_upgrade: Option<bool>,
    /// Weekly maintenance window start in UTC, `ddd:hh:mm` (for example `sun:03:00`). When absent,
    /// AWS's choice is kept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub maintenance_window: Option<String>,
    /// Reachable from the internet (set at creation only). Default: false.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub publicly_accessible: Option<bool>,
    /// Subnet ids (set at creation only). Default: the environment's first subnet for a single
    /// instance, all of them for a cluster.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subnets: Option<Vec<String>>,
    /// Security group ids. Default: the environment's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub security_groups: Option<Vec<String>>,
}

/// How an Amazon MQ broker is deployed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum DeploymentMode {
    /// One broker in one Availability Zone.
    SingleInstance,
    /// Three nodes across Availability Zones behind one endpoint.
    ClusterMultiAz,
}

impl DeploymentMode {
    /// The Amazon MQ API's name.
    pub fn aws(self) -> &'static str {
        match self {
            DeploymentMode::SingleInstance => "SINGLE_INSTANCE",
            DeploymentMode::ClusterMultiAz => "CLUSTER_MULTI_AZ",
        }
    }
}

/// An engine version as written: a string, or a whole number such as `16`.
#[derive(JsonSchema)]
#[serde(untagged)]
#[allow(dead_code)]
enum VersionValue {
    Text(String),
    Integer(u32),
}

/// Reads a version written as a string or a whole number; a decimal number is refused because YAML
/// turns `3.10` into 3.1.
fn version<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<String, D::Error> {
    struct Visitor;
    impl serde::de::Visitor<'_> for Visitor {
        type Value = String;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("a version in quotes, for example \"16\" or \"7.1\"")
        }
        fn visit_str<E: serde::de::Error>(self, value: &str) -> Result<String, E> {
            Ok(value.to_string())
        }
        fn visit_u64<E: serde::de::Error>(self, value: u64) -> Result<String, E> {
            Ok(value.to_string())
        }
        fn visit_i64<E: serde::de::Error>(self, value: i64) -> Result<String, E> {
            Ok(value.to_string())
        }
        fn visit_f64<E: serde::de::Error>(self, value: f64) -> Result<String, E> {
            Err(E::custom(format!("version written as the number {value}")))
        }
    }
    deserializer.deserialize_any(Visitor)
}
