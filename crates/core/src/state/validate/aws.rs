//! The `aws:` blocks: settings in AWS's own JSON names, for what the typed format has no key for.
//! Each key must be one RegisterTaskDefinition takes at that level (AWS ignores members it does
//! not know, so a misspelt key would never reach the task definition and differ in every plan),
//! and not one the format types (one setting, one place to write it).
//!
//! Source: Amazon ECS API Reference, RegisterTaskDefinition (request parameters),
//! ContainerDefinition, Volume and LinuxParameters data types.

use super::finding::{Finding, finding};
use crate::model::AwsJson;
use crate::state::schema::ServiceSpec;

/// A key of RegisterTaskDefinition's JSON at one level, and the state file's key for it when the
/// format types it (`None`: only `aws:` can carry it).
type Keys = &'static [(&'static str, Option<&'static str>)];

/// RegisterTaskDefinition's request members.
pub const TASK_KEYS: Keys = &[
    ("family", Some("family")),
    ("taskRoleArn", Some("roles.task_role_arn")),
    ("executionRoleArn", Some("roles.execution_role_arn")),
    ("networkMode", Some("network_mode")),
    ("containerDefinitions", Some("containers")),
    ("volumes", Some("volumes")),
    ("placementConstraints", None),
    ("requiresCompatibilities", Some("requires_compatibilities")),
    ("cpu", Some("cpu")),
    ("memory", Some("memory")),
    ("tags", Some("tags")),
    ("pidMode", Some("pid_mode")),
    ("ipcMode", None),
    ("proxyConfiguration", None),
    ("inferenceAccelerators", None),
    ("ephemeralStorage", Some("ephemeral_storage_gib")),
    ("runtimePlatform", Some("runtime_platform")),
    ("enableFaultInjection", None),
];

/// ContainerDefinition's members.
pub const CONTAINER_KEYS: Keys = &[
    ("name", Some("the container's key")),
    ("image", Some("image")),
    ("repositoryCredentials", None),
    ("cpu", Some("cpu")),
    ("memory", Some("memory")),
    ("memoryReservation", Some("memory_reservation")),
    ("links", None),
    ("portMappings", Some("port")),
    ("essential", Some("essential")),
    ("restartPolicy", None),
    ("entryPoint", Some("entry_point")),
    ("command", Some("command")),
    ("environment", Some("env")),
    ("environmentFiles", Some("environment_files")),
    ("mountPoints", Some("mount_points")),
    ("volumesFrom", None),
    ("linuxParameters", None),
    ("secrets", Some("secrets")),
    ("dependsOn", Some("depends_on")),
    ("startTimeout", Some("start_timeout")),
    ("stopTimeout", Some("stop_timeout")),
    ("versionConsistency", None),
    ("hostname", None),
    ("user", Some("user")),
    ("workingDirectory", Some("working_directory")),
    ("disableNetworking", None),
    ("privileged", None),
    ("readonlyRootFilesystem", Some("readonly_root_filesystem")),
    ("dnsServers", None),
    ("dnsSearchDomains", None),
    ("extraHosts", None),
    ("dockerSecurityOptions", None),
    ("interactive", None),
    ("pseudoTerminal", None),
    ("dockerLabels", Some("docker_labels")),
    ("ulimits", Some("ulimits")),
    ("logConfiguration", Some("logs")),
    ("healthCheck", Some("health_check")),
    ("systemControls", None),
    ("resourceRequirements", None),
    ("firelensConfiguration", Some("firelens")),
    ("credentialSpecs", None),
];

/// LinuxParameters' members: two are typed (`linux_parameters:`), the rest go in `aws:`.
pub const LINUX_KEYS: Keys = &[
    ("capabilities", Some("linux_parameters.capabilities")),
    ("devices", None),
    (
        "initProcessEnabled",
        Some("linux_parameters.init_process_enabled"),
    ),
    ("sharedMemorySize", None),
    ("tmpfs", None),
    ("maxSwap", None),
    ("swappiness", None),
];

/// Volume's members.
pub const VOLUME_KEYS: Keys = &[
    ("name", Some("the volume's key")),
    ("host", None),
    ("dockerVolumeConfiguration", None),
    ("efsVolumeConfiguration", Some("efs")),
    ("fsxWindowsFileServerVolumeConfiguration", None),
    ("s3filesVolumeConfiguration", None),
    ("configuredAtLaunch", None),
];

fn check_keys(aws: &AwsJson, keys: Keys, what: &str, path: &str, out: &mut Vec<Finding>) {
    for (key, value) in &aws.0 {
        let at = format!("{path}.{key}#key");
        match keys.iter().find(|(name, _)| name == key) {
            None => {
                let closest = keys
                    .iter()
                    .map(|(name, _)| (strsim::levenshtein(name, key), *name))
                    .min()
                    .filter(|(distance, _)| *distance <= 3)
                    .map(|(_, name)| format!("did you mean `{name}`? "))
                    .unwrap_or_default();
                out.push(finding(
                    at,
                    format!("`{key}` is not a member of {what} in AWS's JSON"),
                    &format!(
                        "{closest}keys under `aws:` are RegisterTaskDefinition's, spelt as AWS spells them (camelCase)"
                    ),
                ));
            }
            Some((_, Some(typed))) => out.push(finding(
                at,
                format!("`{key}` has its own key in this format"),
                &format!("write it with the format's key `{typed}`, not under `aws:`"),
            )),
            Some((_, None)) if key == "linuxParameters" => match value.as_object() {
                Some(members) => check_keys(
                    &AwsJson(members.clone()),
                    LINUX_KEYS,
                    "linuxParameters",
                    &format!("{path}.linuxParameters"),
                    out,
                ),
                None => out.push(finding(
                    format!("{path}.linuxParameters"),
                    "`linuxParameters` is an object",
                    "write its members, for example `linuxParameters: {sharedMemorySize: 256}`",
                )),
            },
            Some((_, None)) => {}
        }
    }
}

/// The service's, its volumes' and its containers' `aws:` blocks.
pub(super) fn check_aws(service: &ServiceSpec, path: &str, out: &mut Vec<Finding>) {
    check_keys(
        &service.aws,
        TASK_KEYS,
        "a task definition",
        &format!("{path}.aws"),
        out,
    );
    for (name, volume) in &service.volumes {
        check_keys(
            &volume.aws,
            VOLUME_KEYS,
            "a volume",
            &format!("{path}.volumes.{name}.aws"),
            out,
        );
    }
    for (name, container) in &service.containers {
        check_keys(
            &container.aws,
            CONTAINER_KEYS,
            "a container definition",
            &format!("{path}.containers.{name}.aws"),
            out,
        );
    }
}
