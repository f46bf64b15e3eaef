//! The resource model both sides are compared in: task definitions, services, clusters and images,
//! shaped like AWS's own objects but free of any SDK type.
//!
//! The AWS layer converts SDK responses into these types; the state layer builds the desired ones.
//! `normalize` turns either into a canonical form before they are compared.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

mod aws_json;
mod ecs;
pub use aws_json::{AwsJson, merge as merge_aws_json, task_paths as aws_task_paths};
pub use ecs::{
    Capabilities, ContainerSettings, DependsOn, EfsVolume, Firelens, LinuxParameters, MountPoint,
    RuntimePlatform, TaskSettings, Ulimit, Volume,
};

/// An ECS task definition's content: everything that makes two revisions equal or different.
/// Optional fields are `None` where AWS may leave them out; `normalize` fills AWS's defaults.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct TaskDefinition {
    pub family: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cpu: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub memory: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub network_mode: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub requires_compatibilities: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub execution_role_arn: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub task_role_arn: Option<String>,
    pub containers: Vec<ContainerDefinition>,
    /// Platform, storage, volumes and process settings.
    #[serde(flatten)]
    pub settings: TaskSettings,
    /// Task-level settings the typed fields do not hold, in AWS's JSON names (`ipcMode`,
    /// `proxyConfiguration`, ...): the service's `aws:` block on the desired side, everything
    /// else a live revision holds on the other. Compared as written; sent as written.
    #[serde(skip_serializing_if = "AwsJson::is_empty")]
    pub aws: AwsJson,
}

impl TaskDefinition {
    /// Its settings in AWS's names by path (`containerDefinitions.web.privileged`).
    pub fn aws_paths(&self) -> BTreeMap<String, serde_json::Value> {
        aws_task_paths(
            &self.aws,
            self.containers.iter().map(|c| (c.name.as_str(), &c.aws)),
            self.settings
                .volumes
                .iter()
                .map(|v| (v.name.as_str(), &v.aws)),
        )
    }
}

/// One container definition.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ContainerDefinition {
    pub name: String,
    pub image: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub essential: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cpu: Option<i32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub memory: Option<i32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub memory_reservation: Option<i32>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub command: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub entry_point: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub port_mappings: Vec<PortMapping>,
    /// Plain variables by name. AWS keeps a list; a name listed twice keeps its last value, as in ECS.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub environment: BTreeMap<String, String>,
    /// Secret variables: name to `valueFrom` (an ARN). Values never pass through this tool.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub secrets: BTreeMap<String, String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub health_check: Option<HealthCheck>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub log_configuration: Option<LogConfiguration>,
    /// Working directory, user, timeouts, limits, labels, dependencies, mounts, Linux options,
    /// FireLens and environment files.
    #[serde(flatten)]
    pub settings: ContainerSettings,
    /// The container's settings the typed fields do not hold, in AWS's JSON names
    /// (`privileged`, `linuxParameters.tmpfs`, ...): its `aws:` block, or what a live revision
    /// holds beyond the typed fields.
    #[serde(skip_serializing_if = "AwsJson::is_empty")]
    pub aws: AwsJson,
}

/// A container port mapping, as the state file writes it (`port_mappings:`) and the model holds it.
#[derive(
    Debug,
    Clone,
    Default,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    schemars::JsonSchema,
)]
#[serde(default, deny_unknown_fields)]
pub struct PortMapping {
    /// The port the container listens on (0: none, with `container_port_range`).
    #[serde(skip_serializing_if = "is_zero")]
    pub container_port: i32,
    /// The port on the host: under `awsvpc` and `host` it is the container port; under `bridge`
    /// absent or 0 lets Docker pick one (a dynamic port).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub host_port: Option<i32>,
    /// `tcp` (AWS's default) or `udp`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub protocol: Option<String>,
    /// The mapping's name (Service Connect refers to it; the console always sets one).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// `http`, `http2` or `grpc` (Service Connect).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub app_protocol: Option<String>,
    /// A range of container ports, `FIRST-LAST`, in place of `container_port` (Fargate and
    /// `awsvpc`/`host` EC2 tasks).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub container_port_range: Option<String>,
}

fn is_zero(value: &i32) -> bool {
    *value == 0
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct HealthCheck {
    pub command: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub interval: Option<i32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timeout: Option<i32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retries: Option<i32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub start_period: Option<i32>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct LogConfiguration {
    pub log_driver: String,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub options: BTreeMap<String, String>,
    /// Log options whose values ECS reads from a secret: name to `valueFrom` (an ARN).
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub secret_options: BTreeMap<String, String>,
}

/// A task definition as it exists in AWS: its identity plus its content.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Revision {
    pub arn: String,
    pub revision: i32,
    pub status: String,
    pub content: TaskDefinition,
}

impl Revision {
    /// `family:revision`, the short form people recognise.
    pub fn short_name(&self) -> String {
        format!("{}:{}", self.content.family, self.revision)
    }
}

/// Fargate `awsvpc` network configuration of a service.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Network {
    pub subnets: Vec<String>,
    pub security_groups: Vec<String>,
    pub assign_public_ip: bool,
}

/// Rolling-deployment settings of a service.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Deployment {
    pub circuit_breaker_enable: bool,
    pub circuit_breaker_rollback: bool,
    pub min_healthy_percent: i32,
    pub max_percent: i32,
    /// CloudWatch alarms that fail a deployment; `None` when alarms are off.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alarms: Option<DeploymentAlarms>,
}

/// CloudWatch alarms watched during a deployment.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DeploymentAlarms {
    /// Alarm names, in the service's region.
    pub names: Vec<String>,
    /// Roll back to the last completed deployment when one goes into ALARM. Default: false.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub rollback: bool,
}

/// Whether a service launched this way runs on Fargate: the FARGATE launch type (the format's
/// default), or a strategy of Fargate capacity providers only (`FARGATE`, `FARGATE_SPOT`).
pub fn on_fargate(launch_type: Option<&str>, strategy: Option<&[CapacityProvider]>) -> bool {
    match strategy {
        Some(list) if !list.is_empty() => list
            .iter()
            .all(|p| matches!(p.capacity_provider.as_str(), "FARGATE" | "FARGATE_SPOT")),
        _ => launch_type.unwrap_or("FARGATE") == "FARGATE",
    }
}

/// One capacity provider of a service's strategy.
#[derive(
    Debug,
    Clone,
    Default,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    schemars::JsonSchema,
)]
#[serde(deny_unknown_fields)]
pub struct CapacityProvider {
    /// `FARGATE`, `FARGATE_SPOT`, or the name of one of the cluster's Auto Scaling group
    /// capacity providers.
    pub capacity_provider: String,
    /// Relative share of the tasks beyond the base (0 to 1000).
    #[serde(default)]
    pub weight: i32,
    /// Tasks placed here first, before weights apply (0 to 100000; only one provider may
    /// have a base). Default: 0.
    #[serde(default)]
    pub base: i32,
}

impl Default for Deployment {
    /// AWS's defaults for a REPLICA service with the ECS deployment controller.
    fn default() -> Self {
        Deployment {
            circuit_breaker_enable: false,
            circuit_breaker_rollback: false,
            min_healthy_percent: 100,
            max_percent: 200,
            alarms: None,
        }
    }
}

/// The settings of an ECS service that the state file manages.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServiceSettings {
    pub desired_count: Option<i32>,
    pub launch_type: Option<String>,
    pub platform_version: Option<String>,
    pub network: Option<Network>,
    pub deployment: Option<Deployment>,
    /// `None` on the desired side: not managed (whatever is live stays).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub load_balancers: Option<Vec<LoadBalancer>>,
    /// `None` on the desired side: not managed. AWS reports 0 when none was set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub health_check_grace_period: Option<i32>,
    /// ECS Exec. Written only when on, so records made before the setting existed stay valid.
    #[serde(default, skip_serializing_if = "is_off")]
    pub enable_execute_command: Option<bool>,
    /// Where tasks get the service's tags: `SERVICE`, `TASK_DEFINITION` or `NONE` (AWS's
    /// default, left out of records).
    #[serde(default, skip_serializing_if = "is_none_value")]
    pub propagate_tags: Option<String>,
    /// ECS-managed tags on tasks (`aws:ecs:clusterName`, ...). Written only when on.
    #[serde(default, skip_serializing_if = "is_off")]
    pub enable_ecs_managed_tags: Option<bool>,
    /// Capacity providers in place of a launch type; `None` on the desired side: the launch type.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub capacity_provider_strategy: Option<Vec<CapacityProvider>>,
    /// `ENABLED` or `DISABLED`; `None` on the desired side: not managed (AWS's default depends on
    /// when the service was created).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub availability_zone_rebalancing: Option<String>,
}

fn is_off(value: &Option<bool>) -> bool {
    *value != Some(true)
}

fn is_none_value(value: &Option<String>) -> bool {
    value.as_deref().is_none_or(|v| v == "NONE")
}

/// One managed setting of an ECS service with its value: what CreateService is given and what an
/// UpdateService patch carries.
///
/// The one list of service settings: adding one is a field of `ServiceSettings`, a variant here,
/// a line in `ServiceSettings::each`, a read in the SDK conversion and an arm in the request
/// builder (`aws::ecs::write`); the planner compares and shows every setting the same way.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "field", content = "value", rename_all = "snake_case")]
pub enum ServiceSetting {
    DesiredCount(i32),
    LaunchType(String),
    PlatformVersion(String),
    Network(Network),
    Deployment(Deployment),
    /// The complete list (`[]` detaches every target group).
    LoadBalancers(Vec<LoadBalancer>),
    HealthCheckGracePeriod(i32),
    EnableExecuteCommand(bool),
    PropagateTags(String),
    EnableEcsManagedTags(bool),
    /// The complete strategy.
    CapacityProviderStrategy(Vec<CapacityProvider>),
    AvailabilityZoneRebalancing(String),
}

impl ServiceSetting {
    /// The setting's name in the state file and the plan (`desired_count`, `network`, ...).
    pub fn name(&self) -> &'static str {
        match self {
            ServiceSetting::DesiredCount(_) => "desired_count",
            ServiceSetting::LaunchType(_) => "launch_type",
            ServiceSetting::PlatformVersion(_) => "platform_version",
            ServiceSetting::Network(_) => "network",
            ServiceSetting::Deployment(_) => "deployment",
            ServiceSetting::LoadBalancers(_) => "load_balancers",
            ServiceSetting::HealthCheckGracePeriod(_) => "health_check_grace_period",
            ServiceSetting::EnableExecuteCommand(_) => "enable_execute_command",
            ServiceSetting::PropagateTags(_) => "propagate_tags",
            ServiceSetting::EnableEcsManagedTags(_) => "enable_ecs_managed_tags",
            ServiceSetting::CapacityProviderStrategy(_) => "capacity_provider_strategy",
            ServiceSetting::AvailabilityZoneRebalancing(_) => "availability_zone_rebalancing",
        }
    }

    /// Whether UpdateService can change it (the launch type is fixed at creation).
    pub fn updatable(&self) -> bool {
        !matches!(self, ServiceSetting::LaunchType(_))
    }

    /// Whether running tasks take the new value only when they are replaced: UpdateService then
    /// has to force a new deployment (ECS Exec: "update-service --enable-execute-command
    /// --force-new-deployment", ECS Developer Guide, "Using ECS Exec"; tags reach only tasks
    /// started after the change; a new capacity provider strategy places only new tasks, and
    /// moving off a launch type requires forceNewDeployment, UpdateService API reference).
    pub fn needs_new_tasks(&self) -> bool {
        matches!(
            self,
            ServiceSetting::EnableExecuteCommand(_)
                | ServiceSetting::PropagateTags(_)
                | ServiceSetting::EnableEcsManagedTags(_)
                | ServiceSetting::CapacityProviderStrategy(_)
        )
    }

    /// The value AWS means when it reports none, where that is a value.
    pub fn live_default(&self) -> Option<ServiceSetting> {
        match self {
            // AWS reports no grace period where none was ever set: 0.
            ServiceSetting::HealthCheckGracePeriod(_) => {
                Some(ServiceSetting::HealthCheckGracePeriod(0))
            }
            // Off unless turned on (and left out of records and saved plans while off).
            ServiceSetting::EnableExecuteCommand(_) => {
                Some(ServiceSetting::EnableExecuteCommand(false))
            }
            ServiceSetting::PropagateTags(_) => Some(ServiceSetting::PropagateTags("NONE".into())),
            ServiceSetting::EnableEcsManagedTags(_) => {
                Some(ServiceSetting::EnableEcsManagedTags(false))
            }
            // "If the service never had an AvailabilityZoneRebalancing value set, Amazon ECS
            // treats this as DISABLED" (UpdateService API reference).
            ServiceSetting::AvailabilityZoneRebalancing(_) => Some(
                ServiceSetting::AvailabilityZoneRebalancing("DISABLED".into()),
            ),
            _ => None,
        }
    }

    /// The value alone, as JSON (for field diffs).
    pub fn value(&self) -> serde_json::Value {
        match serde_json::to_value(self) {
            Ok(serde_json::Value::Object(mut map)) => {
                map.remove("value").unwrap_or(serde_json::Value::Null)
            }
            _ => serde_json::Value::Null,
        }
    }
}

impl ServiceSettings {
    /// Every setting that has a value, in the order plans list them. `None` stays out: on the
    /// desired side it means "not managed".
    pub fn each(&self) -> Vec<ServiceSetting> {
        let ServiceSettings {
            desired_count,
            launch_type,
            platform_version,
            network,
            deployment,
            load_balancers,
            health_check_grace_period,
            enable_execute_command,
            propagate_tags,
            enable_ecs_managed_tags,
            capacity_provider_strategy,
            availability_zone_rebalancing,
        } = self.clone();
        [
            desired_count.map(ServiceSetting::DesiredCount),
            launch_type.map(ServiceSetting::LaunchType),
            network.map(ServiceSetting::Network),
            deployment.map(ServiceSetting::Deployment),
            platform_version.map(ServiceSetting::PlatformVersion),
            load_balancers.map(ServiceSetting::LoadBalancers),
            health_check_grace_period.map(ServiceSetting::HealthCheckGracePeriod),
            enable_execute_command.map(ServiceSetting::EnableExecuteCommand),
            propagate_tags.map(ServiceSetting::PropagateTags),
            enable_ecs_managed_tags.map(ServiceSetting::EnableEcsManagedTags),
            capacity_provider_strategy.map(ServiceSetting::CapacityProviderStrategy),
            availability_zone_rebalancing.map(ServiceSetting::AvailabilityZoneRebalancing),
        ]
        .into_iter()
        .flatten()
        .collect()
    }
}

/// A target group a service registers its tasks in.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct LoadBalancer {
    pub target_group_arn: String,
    pub container_name: String,
    pub container_port: i32,
}

/// An ECS service as observed in AWS.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LiveService {
    pub name: String,
    pub arn: String,
    pub status: String,
    pub task_definition_arn: String,
    pub settings: ServiceSettings,
    pub running_count: i32,
    pub pending_count: i32,
    pub tags: BTreeMap<String, String>,
}

/// An ECS cluster as observed in AWS.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LiveCluster {
    pub name: String,
    pub arn: String,
    pub status: String,
    pub tags: BTreeMap<String, String>,
    /// The capacity providers services of the cluster may use (`FARGATE`, `FARGATE_SPOT`, ...).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub capacity_providers: Vec<String>,
}

/// The ECR image an environment deploys.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LiveImage {
    pub registry_id: String,
    pub repository: String,
    pub digest: String,
    pub tags: Vec<String>,
}

/// Everything observed of one environment in AWS, in model form.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct LiveEnvironment {
    pub account: String,
    pub image: Option<LiveImage>,
    pub cluster: Option<LiveCluster>,
    /// By service name; services that are missing or INACTIVE are absent.
    pub services: BTreeMap<String, LiveService>,
    /// Task definitions the services currently run, by ARN.
    pub task_definitions: BTreeMap<String, Revision>,
    /// Recent ACTIVE revisions of families whose desired content differs from what runs, newest first.
    /// Only filled for families that need a new revision or a matching older one.
    pub candidates: BTreeMap<String, Vec<Revision>>,
    /// Whether the secrets that no running task uses yet exist (metadata only, never values).
    pub secrets: BTreeMap<SecretId, SecretStatus>,
    /// Whether the log groups that no running task writes to yet exist, by name.
    pub log_groups: BTreeMap<String, bool>,
    /// Backing services the state names that exist, by state-file key.
    pub backing: BTreeMap<String, LiveBacking>,
    /// Backing services tagged as this environment's that no entry of the state names.
    pub unmanaged_backing: Vec<(BackingKind, String)>,
    /// ACTIVE services of the state's cluster that the state does not declare, by name, with the
    /// task definition each runs. Never touched; the plan names them.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub undeclared_services: BTreeMap<String, String>,
    /// ECR's tags of each digest of the state's repository that a running revision names and the
    /// state's image is not: what the services run now, by the names people know it by. Read
    /// only when the image changes; a digest ECR no longer holds has no entry.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub running_image_tags: BTreeMap<String, Vec<String>>,
    /// What each image a container names for itself (a sidecar's, any registry's) is, as its
    /// registry answered: by the reference as written.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub named_images: BTreeMap<String, ImageLookup>,
}

/// What a registry said of an image reference.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "found")]
pub enum ImageLookup {
    /// It exists; the digest its tag names now (its own, for a digest).
    Yes { digest: String },
    /// The registry answered that it holds no such image (`MANIFEST_UNKNOWN`, 404, ECR's
    /// ImageNotFound / RepositoryNotFound).
    No { answer: String },
    /// The registry could not be asked (unreachable, refused the anonymous token, private
    /// without credentials): the image is kept as written.
    Unasked { reason: String },
}

/// Which kind of backing service.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BackingKind {
    /// RDS for PostgreSQL DB instance.
    Postgres,
    /// ElastiCache for Redis replication group.
    Redis,
    /// Amazon MQ for RabbitMQ broker.
    Rabbitmq,
}

impl BackingKind {
    /// The engine name the state file and the AWS APIs use.
    pub fn engine(self) -> &'static str {
        match self {
            BackingKind::Postgres => "postgres",
            BackingKind::Redis => "redis",
            BackingKind::Rabbitmq => "rabbitmq",
        }
    }

    /// What AWS calls the resource.
    pub fn label(self) -> &'static str {
        match self {
            BackingKind::Postgres => "RDS instance",
            BackingKind::Redis => "ElastiCache replication group",
            BackingKind::Rabbitmq => "MQ broker",
        }
    }

    /// The status in which the resource accepts changes and serves clients.
    pub fn ready_status(self) -> &'static str {
        match self {
            BackingKind::Postgres | BackingKind::Redis => "available",
            BackingKind::Rabbitmq => "RUNNING",
        }
    }
}

/// A backing service as observed, its settings keyed by the state file's field names so that both
/// sides compare field by field.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct LiveBacking {
    pub kind: Option<BackingKind>,
    pub name: String,
    /// The id the API addresses it by: the name for RDS and ElastiCache, the broker id for MQ.
    pub id: String,
    pub arn: String,
    pub status: String,
    /// Current settings, by state-file field name (`version`, `instance_class`, ...).
    pub settings: BTreeMap<String, serde_json::Value>,
    /// Changes AWS accepted but has not applied yet (PendingModifiedValues, MQ's pending version
    /// and instance type), by the same field names.
    pub pending: BTreeMap<String, serde_json::Value>,
    /// Outputs container variables can refer to (`address`, `port`, ...), once known.
    pub outputs: BTreeMap<String, String>,
    /// Its tags, where the describe call reports them (RDS, Amazon MQ); `None` where reading them
    /// would cost another call (ElastiCache).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tags: Option<BTreeMap<String, String>>,
}

/// Where a secret lives, as its store looks it up: a Secrets Manager secret id (name or ARN) or an
/// SSM parameter name.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(tag = "store", content = "id", rename_all = "snake_case")]
pub enum SecretId {
    SecretsManager(String),
    Ssm(String),
}

impl std::fmt::Display for SecretId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SecretId::SecretsManager(id) => write!(f, "Secrets Manager secret {id}"),
            SecretId::Ssm(name) => write!(f, "SSM parameter {name}"),
        }
    }
}

/// What a metadata lookup found about a secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SecretStatus {
    Exists,
    /// Not there, or scheduled for deletion: tasks referencing it would fail to start.
    Missing {
        reason: String,
    },
    /// The lookup itself failed (typically no permission to describe it); not a reason to stop.
    Unchecked {
        reason: String,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_service_setting_is_listed_once_under_its_own_name() {
        let settings = ServiceSettings {
            desired_count: Some(2),
            launch_type: Some("FARGATE".into()),
            platform_version: Some("LATEST".into()),
            network: Some(Network::default()),
            deployment: Some(Deployment::default()),
            load_balancers: Some(Vec::new()),
            health_check_grace_period: Some(0),
            enable_execute_command: Some(true),
            propagate_tags: Some("SERVICE".into()),
            enable_ecs_managed_tags: Some(true),
            capacity_provider_strategy: Some(Vec::new()),
            availability_zone_rebalancing: Some("ENABLED".into()),
        };
        let mut listed: Vec<&str> = settings.each().iter().map(ServiceSetting::name).collect();
        let serde_json::Value::Object(fields) = serde_json::to_value(&settings).unwrap() else {
            panic!("settings serialize as an object")
        };
        let mut names: Vec<&str> = fields.keys().map(String::as_str).collect();
        listed.sort_unstable();
        names.sort_unstable();
        assert_eq!(listed, names);
        // The value alone, as the plan shows it.
        assert_eq!(
            ServiceSetting::DesiredCount(2).value(),
            serde_json::json!(2)
        );
    }
}
