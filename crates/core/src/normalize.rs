//! Canonical forms of task definitions and service settings, so that what AWS fills in or reorders
//! never shows up as a difference.
//!
//! Rules (each applied to both sides): containers, port mappings, variables and secrets are compared
//! as sorted sets; empty and absent are the same; AWS defaults are filled in (`essential: true`,
//! container `cpu: 0`, `protocol: tcp`, `hostPort = containerPort` under awsvpc, health-check
//! interval 30 / timeout 5 / retries 3 / start period 0, network mode `bridge` when unset, Fargate
//! `platformVersion: LATEST`, `assignPublicIp: DISABLED`, circuit breaker off with 100/200 percent,
//! runtime platform `LINUX`/`X86_64`, EFS root directory `/` without TLS or IAM, read-only flags
//! off); settings in AWS's names (`aws:`) without their unset members (null, false, `[]`,
//! `{}`: what AWS reports for what nobody set); volumes, ulimits, dependencies, mount points
//! and capabilities are sets; task CPU and memory written as `1 vCPU` / `2 GB` become units
//! and MiB; `aws:*` tags are ignored.

use std::collections::BTreeMap;

use crate::model::{
    Capabilities, ContainerSettings, Deployment, HealthCheck, LinuxParameters, Network,
    RuntimePlatform, ServiceSettings, TaskDefinition, TaskSettings, on_fargate,
};

/// Task CPU as AWS reports it for registration: units, accepting `1 vCPU` / `0.25 vcpu`.
fn cpu_units(value: &str) -> String {
    let lower = value.trim().to_ascii_lowercase();
    match lower.strip_suffix("vcpu") {
        Some(number) => number
            .trim()
            .parse::<f64>()
            .map(|vcpus| ((vcpus * 1024.0).round() as i64).to_string())
            .unwrap_or(lower),
        None => lower,
    }
}

/// Task memory in MiB, accepting `2 GB` / `0.5gb`.
fn memory_mib(value: &str) -> String {
    let lower = value.trim().to_ascii_lowercase();
    match lower.strip_suffix("gb") {
        Some(number) => number
            .trim()
            .parse::<f64>()
            .map(|gb| ((gb * 1024.0).round() as i64).to_string())
            .unwrap_or(lower),
        None => lower
            .trim_end_matches("mib")
            .trim_end_matches("mb")
            .trim()
            .to_string(),
    }
}

/// The canonical form of a task definition's content.
pub fn task_definition(definition: &TaskDefinition) -> TaskDefinition {
    let mut out = definition.clone();
    out.cpu = out.cpu.as_deref().map(cpu_units);
    out.memory = out.memory.as_deref().map(memory_mib);
    // AWS's default network mode on Linux is bridge (RegisterTaskDefinition API reference).
    let network_mode = out.network_mode.get_or_insert_with(|| "bridge".to_string());
    // awsvpc and host tasks bind the container port on the host: a mapping without a host
    // port reports it as the container port. In bridge mode no host port (or 0) is a dynamic
    // one (PortMapping, ECS API reference).
    let host_is_container = network_mode == "awsvpc" || network_mode == "host";
    out.requires_compatibilities.sort();
    out.requires_compatibilities.dedup();
    task_settings(&mut out.settings);
    out.aws = out.aws.normalized();
    for container in &mut out.containers {
        container_settings(&mut container.settings);
        container.aws = container.aws.normalized();
        container.essential.get_or_insert(true);
        container.cpu.get_or_insert(0);
        for mapping in &mut container.port_mappings {
            let protocol = mapping.protocol.take().unwrap_or_else(|| "tcp".into());
            mapping.protocol = Some(protocol.to_ascii_lowercase());
            if mapping.container_port != 0 {
                if host_is_container && mapping.host_port.unwrap_or(0) == 0 {
                    mapping.host_port = Some(mapping.container_port);
                } else if mapping.host_port.is_none() {
                    mapping.host_port = Some(0);
                }
            }
        }
        container.port_mappings.sort();
        container.port_mappings.dedup();
        if let Some(health) = &mut container.health_check {
            *health = HealthCheck {
                command: health.command.clone(),
                interval: Some(health.interval.unwrap_or(30)),
                timeout: Some(health.timeout.unwrap_or(5)),
                retries: Some(health.retries.unwrap_or(3)),
                start_period: Some(health.start_period.unwrap_or(0)),
            };
        }
    }
    out.containers.sort_by(|a, b| a.name.cmp(&b.name));
    out
}

/// Task-level settings: LINUX on X86_64 is what no runtime platform means; volumes are a set by
/// name; EFS mounts the root directory without TLS or IAM unless told otherwise.
fn task_settings(settings: &mut TaskSettings) {
    settings.runtime_platform = settings.runtime_platform.take().and_then(|platform| {
        let platform = RuntimePlatform {
            cpu_architecture: Some(platform.cpu_architecture.unwrap_or_else(|| "X86_64".into())),
            operating_system_family: Some(
                platform
                    .operating_system_family
                    .unwrap_or_else(|| "LINUX".into()),
            ),
        };
        let default = platform.cpu_architecture.as_deref() == Some("X86_64")
            && platform.operating_system_family.as_deref() == Some("LINUX");
        (!default).then_some(platform)
    });
    for volume in &mut settings.volumes {
        volume.aws = volume.aws.normalized();
        if let Some(efs) = &mut volume.efs {
            efs.root_directory.get_or_insert_with(|| "/".into());
            efs.iam.get_or_insert(false);
            efs.transit_encryption.get_or_insert(false);
        }
    }
    settings.volumes.sort();
    settings.volumes.dedup();
}

/// Container settings: limits, dependencies, mounts and capabilities are sets; Linux parameters
/// that set nothing are none.
fn container_settings(settings: &mut ContainerSettings) {
    settings.ulimits.sort();
    settings.depends_on.sort();
    settings.mount_points.sort();
    settings.linux_parameters = settings.linux_parameters.take().and_then(|mut linux| {
        linux.capabilities = linux.capabilities.take().and_then(|mut capabilities| {
            capabilities.add.sort();
            capabilities.add.dedup();
            capabilities.drop.sort();
            capabilities.drop.dedup();
            (capabilities != Capabilities::default()).then_some(capabilities)
        });
        (linux != LinuxParameters::default()).then_some(linux)
    });
}

/// The canonical form of a service's managed settings.
pub fn service_settings(settings: &ServiceSettings) -> ServiceSettings {
    let network = settings.network.clone().map(|mut network: Network| {
        network.subnets.sort();
        network.subnets.dedup();
        network.security_groups.sort();
        network.security_groups.dedup();
        network
    });
    ServiceSettings {
        desired_count: settings.desired_count,
        launch_type: settings.launch_type.clone(),
        // Fargate services always have a platform version (LATEST when none was named); other
        // launch types have none.
        platform_version: settings.platform_version.clone().or_else(|| {
            on_fargate(
                settings.launch_type.as_deref(),
                settings.capacity_provider_strategy.as_deref(),
            )
            .then(|| "LATEST".into())
        }),
        network,
        load_balancers: settings.load_balancers.clone().map(|mut balancers| {
            balancers.sort();
            balancers.dedup();
            balancers
        }),
        health_check_grace_period: settings.health_check_grace_period,
        enable_execute_command: settings.enable_execute_command,
        propagate_tags: settings.propagate_tags.clone(),
        enable_ecs_managed_tags: settings.enable_ecs_managed_tags,
        // Weights and bases are per provider: the order does not matter.
        capacity_provider_strategy: settings.capacity_provider_strategy.clone().map(|mut list| {
            list.sort();
            list
        }),
        availability_zone_rebalancing: settings.availability_zone_rebalancing.clone(),
        deployment: Some(settings.deployment.clone().unwrap_or_default()).map(|deployment| {
            Deployment {
                // AWS ignores `rollback` while the breaker is off; so does the comparison.
                circuit_breaker_rollback: deployment.circuit_breaker_enable
                    && deployment.circuit_breaker_rollback,
                // Alarm names are a set; alarms without names watch nothing.
                alarms: deployment.alarms.clone().and_then(|mut alarms| {
                    alarms.names.sort();
                    alarms.names.dedup();
                    (!alarms.names.is_empty()).then_some(alarms)
                }),
                ..deployment
            }
        }),
    }
}

/// Tags that matter for comparison: everything but AWS's own `aws:*` keys.
pub fn tags(tags: &BTreeMap<String, String>) -> BTreeMap<String, String> {
    tags.iter()
        .filter(|(key, _)| !key.starts_with("aws:"))
        .map(|(key, value)| (key.clone(), value.clone()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_written_in_words_become_numbers() {
        assert_eq!(cpu_units("1 vCPU"), "1024");
        assert_eq!(cpu_units(".25 vcpu"), "256");
        assert_eq!(cpu_units("512"), "512");
        assert_eq!(memory_mib("2 GB"), "2048");
        assert_eq!(memory_mib("0.5GB"), "512");
        assert_eq!(memory_mib("1024"), "1024");
    }
}
