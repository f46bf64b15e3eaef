//! Conversion between aws-sdk-rust types and the model. Faithful in both directions: defaults are
//! not filled here (that is `normalize`'s job), so what AWS left out stays `None`.

use std::collections::BTreeMap;

use aws_sdk_ecs::types as ecs;
use serde_json::Value;

use crate::model::{
    ContainerDefinition, Deployment, HealthCheck, LiveService, LoadBalancer, LogConfiguration,
    Network, PortMapping, Revision, ServiceSettings, TaskDefinition,
};

pub fn tags_from_sdk(tags: &[ecs::Tag]) -> BTreeMap<String, String> {
    tags.iter()
        .filter_map(|tag| {
            Some((
                tag.key()?.to_string(),
                tag.value().unwrap_or_default().to_string(),
            ))
        })
        .collect()
}

pub fn tags_to_sdk(tags: &BTreeMap<String, String>) -> Vec<ecs::Tag> {
    tags.iter()
        .map(|(key, value)| ecs::Tag::builder().key(key).value(value).build())
        .collect()
}

fn non_empty<T: std::fmt::Debug>(out: &mut BTreeMap<String, Value>, key: String, items: &[T]) {
    if !items.is_empty() {
        out.insert(key, Value::String(format!("{items:?}")));
    }
}

fn present<T: std::fmt::Debug>(out: &mut BTreeMap<String, Value>, key: String, item: Option<T>) {
    if let Some(item) = item {
        out.insert(key, Value::String(format!("{item:?}")));
    }
}

fn container_from_sdk(
    container: &ecs::ContainerDefinition,
    unmanaged: &mut BTreeMap<String, Value>,
) -> ContainerDefinition {
    let name = container.name().unwrap_or_default().to_string();
    let at = |field: &str| format!("containerDefinitions.{name}.{field}");
    non_empty(unmanaged, at("mountPoints"), container.mount_points());
    non_empty(unmanaged, at("volumesFrom"), container.volumes_from());
    non_empty(unmanaged, at("dependsOn"), container.depends_on());
    non_empty(unmanaged, at("ulimits"), container.ulimits());
    non_empty(
        unmanaged,
        at("environmentFiles"),
        container.environment_files(),
    );
    non_empty(unmanaged, at("links"), container.links());
    present(
        unmanaged,
        at("workingDirectory"),
        container.working_directory(),
    );
    present(unmanaged, at("user"), container.user());
    present(
        unmanaged,
        at("linuxParameters"),
        container.linux_parameters(),
    );
    present(
        unmanaged,
        at("firelensConfiguration"),
        container.firelens_configuration(),
    );
    present(
        unmanaged,
        at("repositoryCredentials"),
        container.repository_credentials(),
    );
    present(unmanaged, at("stopTimeout"), container.stop_timeout());
    present(unmanaged, at("startTimeout"), container.start_timeout());
    if container.readonly_root_filesystem() == Some(true) {
        unmanaged.insert(at("readonlyRootFilesystem"), Value::Bool(true));
    }
    if container
        .docker_labels()
        .is_some_and(|labels| !labels.is_empty())
    {
        present(unmanaged, at("dockerLabels"), container.docker_labels());
    }
    ContainerDefinition {
        image: container.image().unwrap_or_default().to_string(),
        essential: container.essential(),
        cpu: Some(container.cpu()),
        memory: container.memory(),
        memory_reservation: container.memory_reservation(),
        command: container.command().to_vec(),
        entry_point: container.entry_point().to_vec(),
        port_mappings: container
            .port_mappings()
            .iter()
            .map(|mapping| PortMapping {
                container_port: mapping.container_port().unwrap_or(0),
                host_port: mapping.host_port(),
                protocol: mapping.protocol().map(|p| p.as_str().to_string()),
            })
            .collect(),
        environment: container
            .environment()
            .iter()
            .filter_map(|pair| {
                Some((
                    pair.name()?.to_string(),
                    pair.value().unwrap_or_default().to_string(),
                ))
            })
            .collect(),
        secrets: container
            .secrets()
            .iter()
            .map(|secret| (secret.name().to_string(), secret.value_from().to_string()))
            .collect(),
        health_check: container.health_check().map(|health| HealthCheck {
            command: health.command().to_vec(),
            interval: health.interval(),
            timeout: health.timeout(),
            retries: health.retries(),
            start_period: health.start_period(),
        }),
        log_configuration: container.log_configuration().map(|log| LogConfiguration {
            log_driver: log.log_driver().as_str().to_string(),
            options: log
                .options()
                .map(|options| {
                    options
                        .iter()
                        .map(|(k, v)| (k.clone(), v.clone()))
                        .collect()
                })
                .unwrap_or_default(),
        }),
        name,
    }
}

/// A live task definition in model form.
pub fn revision_from_sdk(definition: &ecs::TaskDefinition) -> Revision {
    let mut unmanaged = BTreeMap::new();
    non_empty(&mut unmanaged, "volumes".into(), definition.volumes());
    non_empty(
        &mut unmanaged,
        "placementConstraints".into(),
        definition.placement_constraints(),
    );
    non_empty(
        &mut unmanaged,
        "inferenceAccelerators".into(),
        definition.inference_accelerators(),
    );
    present(&mut unmanaged, "pidMode".into(), definition.pid_mode());
    present(&mut unmanaged, "ipcMode".into(), definition.ipc_mode());
    present(
        &mut unmanaged,
        "proxyConfiguration".into(),
        definition.proxy_configuration(),
    );
    present(
        &mut unmanaged,
        "ephemeralStorage".into(),
        definition.ephemeral_storage(),
    );
    // The console writes LINUX/X86_64 explicitly; it is also what an absent runtimePlatform means.
    if let Some(platform) = definition.runtime_platform() {
        let default_arch = platform
            .cpu_architecture()
            .is_none_or(|arch| arch.as_str() == "X86_64");
        let default_os = platform
            .operating_system_family()
            .is_none_or(|os| os.as_str() == "LINUX");
        if !(default_arch && default_os) {
            present(&mut unmanaged, "runtimePlatform".into(), Some(platform));
        }
    }
    let containers = definition
        .container_definitions()
        .iter()
        .map(|container| container_from_sdk(container, &mut unmanaged))
        .collect();
    Revision {
        arn: definition
            .task_definition_arn()
            .unwrap_or_default()
            .to_string(),
        revision: definition.revision(),
        status: definition
            .status()
            .map(|status| status.as_str().to_string())
            .unwrap_or_default(),
        content: TaskDefinition {
            family: definition.family().unwrap_or_default().to_string(),
            cpu: definition.cpu().map(str::to_string),
            memory: definition.memory().map(str::to_string),
            network_mode: definition
                .network_mode()
                .map(|mode| mode.as_str().to_string()),
            requires_compatibilities: definition
                .requires_compatibilities()
                .iter()
                .map(|c| c.as_str().to_string())
                .collect(),
            execution_role_arn: definition.execution_role_arn().map(str::to_string),
            task_role_arn: definition.task_role_arn().map(str::to_string),
            containers,
            unmanaged,
        },
    }
}

/// Container definitions for RegisterTaskDefinition.
pub fn containers_to_sdk(definition: &TaskDefinition) -> Vec<ecs::ContainerDefinition> {
    definition
        .containers
        .iter()
        .map(|container| {
            let mut builder = ecs::ContainerDefinition::builder()
                .name(&container.name)
                .image(&container.image)
                .set_essential(container.essential)
                .set_cpu(container.cpu)
                .set_memory(container.memory)
                .set_memory_reservation(container.memory_reservation)
                .set_command((!container.command.is_empty()).then(|| container.command.clone()))
                .set_entry_point(
                    (!container.entry_point.is_empty()).then(|| container.entry_point.clone()),
                );
            for mapping in &container.port_mappings {
                builder = builder.port_mappings(
                    ecs::PortMapping::builder()
                        .container_port(mapping.container_port)
                        .set_host_port(mapping.host_port)
                        .set_protocol(
                            mapping
                                .protocol
                                .as_deref()
                                .map(ecs::TransportProtocol::from),
                        )
                        .build(),
                );
            }
            for (name, value) in &container.environment {
                builder = builder
                    .environment(ecs::KeyValuePair::builder().name(name).value(value).build());
            }
            for (name, value_from) in &container.secrets {
                if let Ok(secret) = ecs::Secret::builder()
                    .name(name)
                    .value_from(value_from)
                    .build()
                {
                    builder = builder.secrets(secret);
                }
            }
            if let Some(health) = &container.health_check {
                let health = ecs::HealthCheck::builder()
                    .set_command(Some(health.command.clone()))
                    .set_interval(health.interval)
                    .set_timeout(health.timeout)
                    .set_retries(health.retries)
                    .set_start_period(health.start_period)
                    .build();
                builder = builder.set_health_check(health.ok());
            }
            if let Some(log) = &container.log_configuration {
                let log = ecs::LogConfiguration::builder()
                    .log_driver(ecs::LogDriver::from(log.log_driver.as_str()))
                    .set_options(Some(log.options.clone().into_iter().collect()))
                    .build();
                builder = builder.set_log_configuration(log.ok());
            }
            builder.build()
        })
        .collect()
}

pub fn network_to_sdk(network: &Network) -> ecs::NetworkConfiguration {
    let vpc = ecs::AwsVpcConfiguration::builder()
        .set_subnets(Some(network.subnets.clone()))
        .set_security_groups(Some(network.security_groups.clone()))
        .assign_public_ip(if network.assign_public_ip {
            ecs::AssignPublicIp::Enabled
        } else {
            ecs::AssignPublicIp::Disabled
        })
        .build()
        .ok();
    ecs::NetworkConfiguration::builder()
        .set_awsvpc_configuration(vpc)
        .build()
}

pub fn deployment_to_sdk(deployment: &Deployment) -> ecs::DeploymentConfiguration {
    ecs::DeploymentConfiguration::builder()
        .deployment_circuit_breaker(
            ecs::DeploymentCircuitBreaker::builder()
                .enable(deployment.circuit_breaker_enable)
                .rollback(deployment.circuit_breaker_rollback)
                .build(),
        )
        .minimum_healthy_percent(deployment.min_healthy_percent)
        .maximum_percent(deployment.max_percent)
        .build()
}

/// A live service in model form.
pub fn service_from_sdk(service: &ecs::Service) -> LiveService {
    let network = service
        .network_configuration()
        .and_then(|config| config.awsvpc_configuration())
        .map(|vpc| Network {
            subnets: vpc.subnets().to_vec(),
            security_groups: vpc.security_groups().to_vec(),
            assign_public_ip: vpc.assign_public_ip() == Some(&ecs::AssignPublicIp::Enabled),
        });
    let deployment = service.deployment_configuration().map(|config| {
        let defaults = Deployment::default();
        let breaker = config.deployment_circuit_breaker();
        Deployment {
            circuit_breaker_enable: breaker.is_some_and(|b| b.enable()),
            circuit_breaker_rollback: breaker.is_some_and(|b| b.rollback()),
            min_healthy_percent: config
                .minimum_healthy_percent()
                .unwrap_or(defaults.min_healthy_percent),
            max_percent: config.maximum_percent().unwrap_or(defaults.max_percent),
        }
    });
    LiveService {
        name: service.service_name().unwrap_or_default().to_string(),
        arn: service.service_arn().unwrap_or_default().to_string(),
        status: service.status().unwrap_or_default().to_string(),
        task_definition_arn: service.task_definition().unwrap_or_default().to_string(),
        settings: ServiceSettings {
            desired_count: Some(service.desired_count()),
            launch_type: service.launch_type().map(|t| t.as_str().to_string()),
            platform_version: service.platform_version().map(str::to_string),
            network,
            deployment,
            load_balancers: Some(
                service
                    .load_balancers()
                    .iter()
                    .map(|balancer| LoadBalancer {
                        target_group_arn: balancer.target_group_arn().unwrap_or_default().into(),
                        container_name: balancer.container_name().unwrap_or_default().into(),
                        container_port: balancer.container_port().unwrap_or_default(),
                    })
                    .collect(),
            ),
            health_check_grace_period: service.health_check_grace_period_seconds(),
            enable_execute_command: Some(service.enable_execute_command()),
        },
        running_count: service.running_count(),
        pending_count: service.pending_count(),
        tags: tags_from_sdk(service.tags()),
    }
}

pub fn load_balancers_to_sdk(balancers: &[LoadBalancer]) -> Vec<ecs::LoadBalancer> {
    balancers
        .iter()
        .map(|balancer| {
            ecs::LoadBalancer::builder()
                .target_group_arn(&balancer.target_group_arn)
                .container_name(&balancer.container_name)
                .container_port(balancer.container_port)
                .build()
        })
        .collect()
}
