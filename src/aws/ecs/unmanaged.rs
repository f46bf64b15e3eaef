//! The settings of a live task definition that the typed format has no key for, in AWS's JSON
//! names and values (what an `aws:` block holds), so that a plan compares them and import writes
//! them instead of dropping them.
//!
//! Every field of the SDK's `TaskDefinition`, `ContainerDefinition`, `Volume`, `PortMapping` and
//! `LinuxParameters` is either read into the model (`revision`) or recorded here; the test at the
//! end fails when an SDK upgrade brings a field that is neither.

use aws_sdk_ecs::types as ecs;
use serde_json::{Value, json};

use crate::model::AwsJson;

/// A GPU's sharing strategy in AWS's JSON (a union: NVIDIA MPS allocations).
fn sharing_strategy(strategy: &ecs::SharingStrategy) -> Value {
    match strategy {
        ecs::SharingStrategy::NvidiaMps(mps) => json!({"nvidiaMps": {
            "memory": mps.memory(),
            "maxComputePercent": mps.max_compute_percent(),
        }}),
        _ => json!({}),
    }
}

fn strings(items: &[String]) -> Value {
    json!(items)
}

fn pairs(pairs: &[ecs::KeyValuePair]) -> Value {
    pairs
        .iter()
        .map(|pair| json!({"name": pair.name(), "value": pair.value()}))
        .collect()
}

/// Task-level settings outside the format.
pub fn task(definition: &ecs::TaskDefinition) -> AwsJson {
    let mut at = AwsJson::default();
    at.set(
        "placementConstraints",
        definition
            .placement_constraints()
            .iter()
            .map(|c| json!({"type": c.r#type().map(|t| t.as_str()), "expression": c.expression()}))
            .collect(),
    );
    at.set(
        "inferenceAccelerators",
        definition
            .inference_accelerators()
            .iter()
            .map(|a| json!({"deviceName": a.device_name(), "deviceType": a.device_type()}))
            .collect(),
    );
    at.set("ipcMode", json!(definition.ipc_mode().map(|m| m.as_str())));
    at.set(
        "proxyConfiguration",
        definition
            .proxy_configuration()
            .map_or(Value::Null, |proxy| {
                json!({
                    "type": proxy.r#type().map(|t| t.as_str()),
                    "containerName": proxy.container_name(),
                    "properties": pairs(proxy.properties()),
                })
            }),
    );
    at.set(
        "enableFaultInjection",
        json!(definition.enable_fault_injection()),
    );
    at
}

/// A volume's settings outside the format (everything but its name and EFS configuration).
pub fn volume(volume: &ecs::Volume) -> AwsJson {
    let mut at = AwsJson::default();
    at.set(
        "host.sourcePath",
        json!(volume.host().and_then(|host| host.source_path())),
    );
    at.set(
        "dockerVolumeConfiguration",
        volume
            .docker_volume_configuration()
            .map_or(Value::Null, |docker| {
                json!({
                    "scope": docker.scope().map(|s| s.as_str()),
                    "autoprovision": docker.autoprovision(),
                    "driver": docker.driver(),
                    "driverOpts": docker.driver_opts(),
                    "labels": docker.labels(),
                })
            }),
    );
    at.set(
        "fsxWindowsFileServerVolumeConfiguration",
        volume
            .fsx_windows_file_server_volume_configuration()
            .map_or(Value::Null, |fsx| {
                json!({
                    "fileSystemId": fsx.file_system_id(),
                    "rootDirectory": fsx.root_directory(),
                    "authorizationConfig": fsx.authorization_config().map(|auth| json!({
                        "credentialsParameter": auth.credentials_parameter(),
                        "domain": auth.domain(),
                    })),
                })
            }),
    );
    at.set(
        "s3filesVolumeConfiguration",
        volume
            .s3files_volume_configuration()
            .map_or(Value::Null, |s3| {
                json!({
                    "fileSystemArn": s3.file_system_arn(),
                    "rootDirectory": s3.root_directory(),
                    "transitEncryptionPort": s3.transit_encryption_port(),
                    "accessPointArn": s3.access_point_arn(),
                })
            }),
    );
    at.set("configuredAtLaunch", json!(volume.configured_at_launch()));
    at
}

/// A container's settings outside the format.
pub fn container(container: &ecs::ContainerDefinition) -> AwsJson {
    let mut at = AwsJson::default();
    at.set(
        "repositoryCredentials",
        container.repository_credentials().map_or(
            Value::Null,
            |credentials| json!({"credentialsParameter": credentials.credentials_parameter()}),
        ),
    );
    at.set("links", strings(container.links()));
    // A disabled restart policy is AWS's default (and what the console may write out).
    at.set(
        "restartPolicy",
        container
            .restart_policy()
            .filter(|policy| policy.enabled())
            .map_or(Value::Null, |policy| {
                json!({
                "enabled": policy.enabled(),
                "ignoredExitCodes": policy.ignored_exit_codes(),
                    "restartAttemptPeriod": policy.restart_attempt_period(),
                })
            }),
    );
    at.set(
        "volumesFrom",
        container
            .volumes_from()
            .iter()
            .map(|from| json!({"sourceContainer": from.source_container(), "readOnly": from.read_only()}))
            .collect(),
    );
    // ECS resolves the image to a digest unless told not to (`enabled`, the default).
    if let Some(consistency) = container.version_consistency()
        && consistency.as_str() != "enabled"
    {
        at.set("versionConsistency", json!(consistency.as_str()));
    }
    at.set("hostname", json!(container.hostname()));
    at.set("disableNetworking", json!(container.disable_networking()));
    at.set("privileged", json!(container.privileged()));
    at.set("dnsServers", strings(container.dns_servers()));
    at.set("dnsSearchDomains", strings(container.dns_search_domains()));
    at.set(
        "extraHosts",
        container
            .extra_hosts()
            .iter()
            .map(|host| json!({"hostname": host.hostname(), "ipAddress": host.ip_address()}))
            .collect(),
    );
    at.set(
        "dockerSecurityOptions",
        strings(container.docker_security_options()),
    );
    at.set("interactive", json!(container.interactive()));
    at.set("pseudoTerminal", json!(container.pseudo_terminal()));
    at.set(
        "systemControls",
        container
            .system_controls()
            .iter()
            .map(|control| json!({"namespace": control.namespace(), "value": control.value()}))
            .collect(),
    );
    at.set(
        "resourceRequirements",
        container
            .resource_requirements()
            .iter()
            .map(|requirement| {
                json!({
                    "type": requirement.r#type().as_str(),
                    "value": requirement.value(),
                    "sharingStrategy": requirement.sharing_strategy().map(sharing_strategy),
                })
            })
            .collect(),
    );
    at.set("credentialSpecs", strings(container.credential_specs()));
    if let Some(linux) = container.linux_parameters() {
        at.set(
            "linuxParameters.devices",
            linux
                .devices()
                .iter()
                .map(|device| {
                    json!({
                        "hostPath": device.host_path(),
                        "containerPath": device.container_path(),
                        "permissions": device.permissions().iter().map(|p| p.as_str()).collect::<Vec<_>>(),
                    })
                })
                .collect(),
        );
        at.set(
            "linuxParameters.sharedMemorySize",
            json!(linux.shared_memory_size()),
        );
        at.set(
            "linuxParameters.tmpfs",
            linux
                .tmpfs()
                .iter()
                .map(|tmpfs| {
                    json!({
                        "containerPath": tmpfs.container_path(),
                        "size": tmpfs.size(),
                        "mountOptions": tmpfs.mount_options(),
                    })
                })
                .collect(),
        );
        at.set("linuxParameters.maxSwap", json!(linux.max_swap()));
        at.set("linuxParameters.swappiness", json!(linux.swappiness()));
    }
    at
}

#[cfg(test)]
mod tests {
    //! Every SDK field is accounted for: read into the model, recorded as unmanaged, or AWS's
    //! own bookkeeping. The field lists come from the SDK types' Debug output, which names every
    //! field, so a field added by an SDK upgrade fails here until it is placed.

    use aws_sdk_ecs::types as ecs;

    fn fields(debug: String) -> Vec<String> {
        let body = debug
            .split_once('{')
            .map(|(_, rest)| rest)
            .unwrap_or_default();
        body.split(", ")
            .filter_map(|part| {
                part.trim()
                    .split_once(':')
                    .map(|(name, _)| name.to_string())
            })
            .collect()
    }

    fn check(kind: &str, debug: String, managed: &[&str], unmanaged: &[&str], aws: &[&str]) {
        for field in fields(debug) {
            assert!(
                managed.contains(&field.as_str())
                    || unmanaged.contains(&field.as_str())
                    || aws.contains(&field.as_str()),
                "{kind}.{field} is neither read into the model nor reported as unmanaged"
            );
        }
    }

    #[test]
    fn every_task_definition_field_is_read_or_reported() {
        check(
            "TaskDefinition",
            format!("{:?}", ecs::TaskDefinition::builder().build()),
            &[
                "container_definitions",
                "family",
                "task_role_arn",
                "execution_role_arn",
                "network_mode",
                "runtime_platform",
                "requires_compatibilities",
                "cpu",
                "memory",
                "pid_mode",
                "ephemeral_storage",
                "volumes",
            ],
            &[
                "placement_constraints",
                "inference_accelerators",
                "ipc_mode",
                "proxy_configuration",
                "enable_fault_injection",
            ],
            // Identity and what AWS derives from the rest.
            &[
                "task_definition_arn",
                "revision",
                "status",
                "requires_attributes",
                "compatibilities",
                "registered_at",
                "deregistered_at",
                "delete_requested_at",
                "registered_by",
            ],
        );
        check(
            "Volume",
            format!("{:?}", ecs::Volume::builder().build()),
            &["name", "efs_volume_configuration"],
            &[
                "host",
                "docker_volume_configuration",
                "fsx_windows_file_server_volume_configuration",
                "s3files_volume_configuration",
                "configured_at_launch",
            ],
            &[],
        );
    }

    #[test]
    fn every_container_field_is_read_or_reported() {
        check(
            "ContainerDefinition",
            format!("{:?}", ecs::ContainerDefinition::builder().build()),
            &[
                "name",
                "image",
                "cpu",
                "memory",
                "memory_reservation",
                "port_mappings",
                "essential",
                "entry_point",
                "command",
                "environment",
                "environment_files",
                "mount_points",
                "linux_parameters",
                "secrets",
                "depends_on",
                "start_timeout",
                "stop_timeout",
                "user",
                "working_directory",
                "readonly_root_filesystem",
                "docker_labels",
                "ulimits",
                "log_configuration",
                "health_check",
                "firelens_configuration",
            ],
            &[
                "repository_credentials",
                "links",
                "restart_policy",
                "volumes_from",
                "version_consistency",
                "hostname",
                "disable_networking",
                "privileged",
                "dns_servers",
                "dns_search_domains",
                "extra_hosts",
                "docker_security_options",
                "interactive",
                "pseudo_terminal",
                "system_controls",
                "resource_requirements",
                "credential_specs",
            ],
            &[],
        );
        check(
            "PortMapping",
            format!("{:?}", ecs::PortMapping::builder().build()),
            &[
                "container_port",
                "host_port",
                "protocol",
                "name",
                "app_protocol",
                "container_port_range",
            ],
            &[],
            &[],
        );
        check(
            "LinuxParameters",
            format!("{:?}", ecs::LinuxParameters::builder().build()),
            &["capabilities", "init_process_enabled"],
            &[
                "devices",
                "shared_memory_size",
                "tmpfs",
                "max_swap",
                "swappiness",
            ],
            &[],
        );
        check(
            "HealthCheck",
            format!(
                "{:?}",
                ecs::HealthCheck::builder()
                    .set_command(Some(vec![]))
                    .build()
            ),
            &["command", "interval", "timeout", "retries", "start_period"],
            &[],
            &[],
        );
    }
}
