//! The task-definition and container settings beyond the basics (platform, storage, volumes,
//! process and logging options), as one set of types that both the state file and the model use:
//! what a user writes is what AWS is compared with, field for field.
//!
//! Each type rejects unknown keys, so the state file's JSON Schema comes from these definitions.
//! AWS's defaults are filled by `normalize`, never here.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::aws_json::AwsJson;

/// The CPU architecture and operating system a task runs on.
#[derive(
    Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(deny_unknown_fields)]
pub struct RuntimePlatform {
    /// `X86_64` (AWS's default) or `ARM64` (Graviton). The image must be built for it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu_architecture: Option<String>,
    /// `LINUX` (AWS's default) or a Windows Server family such as `WINDOWS_SERVER_2022_CORE`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operating_system_family: Option<String>,
}

/// An Amazon EFS file system mounted as a task volume.
#[derive(
    Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(deny_unknown_fields)]
pub struct EfsVolume {
    /// The file system id, `fs-...`.
    pub file_system_id: String,
    /// The directory of the file system to mount. Default: `/` (and it must be `/` with an
    /// access point, which sets its own).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub root_directory: Option<String>,
    /// An EFS access point, `fsap-...`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_point_id: Option<String>,
    /// Mount with the task role's IAM identity (needs transit encryption). Default: false.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iam: Option<bool>,
    /// Encrypt traffic to EFS. Default: true with an access point or IAM (which need it), else
    /// false (AWS's default).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transit_encryption: Option<bool>,
    /// The port encrypted traffic uses. Default: chosen by the EFS mount helper.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transit_encryption_port: Option<i32>,
}

/// A task volume: an EFS file system, or (without `efs`) task storage shared by its containers.
#[derive(
    Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(deny_unknown_fields)]
pub struct Volume {
    /// The name containers mount it by (`mount_points[].source_volume`).
    pub name: String,
    /// The EFS file system; absent, a bind mount of the task's own storage.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub efs: Option<EfsVolume>,
    /// The volume's settings in AWS's JSON names beyond the typed ones (`host.sourcePath`,
    /// `dockerVolumeConfiguration`, `configuredAtLaunch`, ...).
    #[serde(default, skip_serializing_if = "AwsJson::is_empty")]
    pub aws: AwsJson,
}

/// A volume mounted into a container.
#[derive(
    Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(deny_unknown_fields)]
pub struct MountPoint {
    /// The task volume's name (under the service's `volumes:`).
    pub source_volume: String,
    /// Where it appears in the container, an absolute path.
    pub container_path: String,
    /// Mount read-only. Default: false.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub read_only: bool,
}

/// A resource limit of the container's processes.
#[derive(
    Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(deny_unknown_fields)]
pub struct Ulimit {
    /// The limit's name: `nofile`, `nproc`, `core`, `memlock`, `stack`, ...
    pub name: String,
    /// The soft limit.
    pub soft_limit: i32,
    /// The hard limit (at least the soft one).
    pub hard_limit: i32,
}

/// A container this one waits for before it starts.
#[derive(
    Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(deny_unknown_fields)]
pub struct DependsOn {
    /// The other container of the same task.
    pub container_name: String,
    /// `START`, `COMPLETE`, `SUCCESS` or `HEALTHY`.
    pub condition: String,
}

/// Linux kernel capabilities added to or dropped from Docker's default set.
#[derive(
    Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(deny_unknown_fields)]
pub struct Capabilities {
    /// Added capabilities (Fargate allows only `SYS_PTRACE`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub add: Vec<String>,
    /// Dropped capabilities, as AWS names them (`ALL`, `NET_RAW`, `SYS_ADMIN`, ...).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub drop: Vec<String>,
}

/// Linux-specific options of a container.
#[derive(
    Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(deny_unknown_fields)]
pub struct LinuxParameters {
    /// Run an init process as PID 1 that reaps zombies and forwards signals. Default: false.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub init_process_enabled: bool,
    /// Kernel capabilities added or dropped.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub capabilities: Option<Capabilities>,
}

/// A FireLens log router (Fluent Bit or Fluentd) other containers send their logs through.
#[derive(
    Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(deny_unknown_fields)]
pub struct Firelens {
    /// `fluentbit` or `fluentd`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Router options, for example `enable-ecs-log-metadata`, `config-file-type`,
    /// `config-file-value`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub options: BTreeMap<String, String>,
}

/// Task-level settings beyond size, network mode and roles.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct TaskSettings {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub runtime_platform: Option<RuntimePlatform>,
    /// Fargate ephemeral storage in GiB (`ephemeralStorage.sizeInGiB`); absent is AWS's 20.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ephemeral_storage_gib: Option<i32>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub volumes: Vec<Volume>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pid_mode: Option<String>,
}

/// Container settings beyond image, command, sizes, ports, variables, health check and logs.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ContainerSettings {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub working_directory: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub readonly_root_filesystem: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub start_timeout: Option<i32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stop_timeout: Option<i32>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub ulimits: Vec<Ulimit>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub docker_labels: BTreeMap<String, String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub depends_on: Vec<DependsOn>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub mount_points: Vec<MountPoint>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub linux_parameters: Option<LinuxParameters>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub firelens: Option<Firelens>,
    /// S3 object ARNs of `.env` files, in the order ECS reads them (a later file's variable wins).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub environment_files: Vec<String>,
}
