//! Turns a validated state file into a `DesiredState`: default names, merged variables, health-check
//! commands and log settings. Runs only after `validate::check` found nothing.

use std::collections::BTreeMap;
use std::path::Path;

use super::desired::{
    DesiredContainer, DesiredHealthCheck, DesiredLogs, DesiredService, DesiredState,
    ENVIRONMENT_TAG, ImageRef, MANAGED_BY_TAG, MANAGED_BY_VALUE, SecretRef,
};
use super::naming::Names;
use super::schema::{CircuitBreakerMode, ContainerSpec, NetworkSpec, ServiceSpec, StateFile};
use crate::model::{Deployment, LoadBalancer, Network};

pub fn resolve(file: &Path, state: &StateFile) -> DesiredState {
    let names = Names::new(&state.prefix, &state.environment);
    let cluster = state.cluster.clone().unwrap_or_else(|| names.cluster());
    let mut tags = state.tags.clone();
    tags.insert(MANAGED_BY_TAG.to_string(), MANAGED_BY_VALUE.to_string());
    tags.insert(ENVIRONMENT_TAG.to_string(), state.environment.clone());
    let services = state
        .services
        .iter()
        .map(|(key, service)| resolve_service(state, &names, &cluster, key, service))
        .collect();
    DesiredState {
        file: file.to_path_buf(),
        environment: state.environment.clone(),
        region: state.region.clone(),
        account: state.account.clone(),
        prefix: state.prefix.clone(),
        image: ImageRef {
            repository: state
                .image
                .repository
                .clone()
                .unwrap_or_else(|| names.repository()),
            tag: state.image.tag.clone(),
            digest: state.image.digest.clone(),
        },
        cluster,
        tags,
        services,
    }
}

fn network(spec: &NetworkSpec) -> Network {
    Network {
        subnets: spec.subnets.clone(),
        security_groups: spec.security_groups.clone(),
        assign_public_ip: spec.assign_public_ip.unwrap_or(false),
    }
}

fn resolve_service(
    state: &StateFile,
    names: &Names,
    cluster: &str,
    key: &str,
    service: &ServiceSpec,
) -> DesiredService {
    let name = service.name.clone().unwrap_or_else(|| names.service(key));
    let role = |pick: fn(&super::schema::RolesSpec) -> &Option<String>| {
        service
            .roles
            .as_ref()
            .and_then(|roles| pick(roles).clone())
            .or_else(|| state.roles.as_ref().and_then(|roles| pick(roles).clone()))
    };
    let deployment = service.deployment.clone().unwrap_or_default();
    let circuit_breaker = deployment
        .circuit_breaker
        .unwrap_or(CircuitBreakerMode::Disabled);
    let network_spec = service
        .network
        .as_ref()
        .or(state.network.as_ref())
        .map(network)
        .unwrap_or_default();
    let containers = service
        .containers
        .iter()
        .map(|(container_name, container)| {
            resolve_container(state, service, cluster, &name, container_name, container)
        })
        .collect();
    DesiredService {
        key: key.to_string(),
        family: service.family.clone().unwrap_or_else(|| names.family(key)),
        desired_count: service.desired_count,
        cpu: service.cpu,
        memory: service.memory,
        execution_role_arn: role(|roles| &roles.execution_role_arn),
        task_role_arn: role(|roles| &roles.task_role_arn),
        network: network_spec,
        deployment: Deployment {
            circuit_breaker_enable: circuit_breaker != CircuitBreakerMode::Disabled,
            circuit_breaker_rollback: circuit_breaker == CircuitBreakerMode::Rollback,
            min_healthy_percent: deployment.min_healthy_percent.unwrap_or(100) as i32,
            max_percent: deployment.max_percent.unwrap_or(200) as i32,
        },
        platform_version: service
            .platform_version
            .clone()
            .unwrap_or_else(|| "LATEST".to_string()),
        load_balancers: service.load_balancers.as_ref().map(|list| {
            list.iter()
                .map(|balancer| {
                    // Validation guarantees the container exists and has a port when defaults apply.
                    let (container_name, port) = target_container(service, balancer);
                    LoadBalancer {
                        target_group_arn: balancer.target_group_arn.clone(),
                        container_name: container_name.to_string(),
                        container_port: port.unwrap_or_default() as i32,
                    }
                })
                .collect()
        }),
        health_check_grace_period: service.health_check_grace_period,
        containers,
        name,
    }
}

fn merged(levels: [&BTreeMap<String, String>; 3]) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for level in levels {
        out.extend(level.iter().map(|(k, v)| (k.clone(), v.clone())));
    }
    out
}

fn resolve_container(
    state: &StateFile,
    service: &ServiceSpec,
    cluster: &str,
    service_name: &str,
    name: &str,
    container: &ContainerSpec,
) -> DesiredContainer {
    let env = merged([&state.env, &service.env, &container.env])
        .into_iter()
        .map(|(key, value)| (key, value.replace("$${", "${")))
        .collect();
    let secrets = merged([&state.secrets, &service.secrets, &container.secrets])
        .into_iter()
        .filter_map(|(key, reference)| SecretRef::parse(&reference).map(|r| (key, r)))
        .collect();
    let port = container.port.and_then(|port| u16::try_from(port).ok());
    let health_check = container.health_check.as_ref().map(|health| {
        let command = match (&health.command, &health.path) {
            (Some(command), _) => command.clone(),
            (None, path) => vec![
                "CMD-SHELL".to_string(),
                format!(
                    "curl -fsS http://localhost:{}{} || exit 1",
                    port.unwrap_or(80),
                    path.as_deref().unwrap_or("/")
                ),
            ],
        };
        DesiredHealthCheck {
            command,
            interval: health.interval.unwrap_or(30),
            timeout: health.timeout.unwrap_or(5),
            retries: health.retries.unwrap_or(3),
            start_period: health.start_period.unwrap_or(0),
        }
    });
    let logs = container.logs.clone().unwrap_or_default();
    DesiredContainer {
        name: name.to_string(),
        image: container.image.clone(),
        command: container.command.clone(),
        entry_point: container.entry_point.clone(),
        port,
        cpu: container.cpu.unwrap_or(0),
        memory: container.memory,
        memory_reservation: container.memory_reservation,
        essential: container.essential.unwrap_or(true),
        env,
        secrets,
        health_check,
        logs: DesiredLogs {
            group: logs
                .group
                .unwrap_or_else(|| Names::log_group(cluster, service_name)),
            stream_prefix: logs.stream_prefix.unwrap_or_else(|| "ecs".to_string()),
        },
    }
}

/// The container and port a load balancer sends traffic to, defaults applied: the named container
/// (or the first one with a port) and the given port (or that container's).
pub fn target_container<'a>(
    service: &'a super::schema::ServiceSpec,
    balancer: &'a super::schema::LoadBalancerSpec,
) -> (&'a str, Option<u32>) {
    let container = match &balancer.container {
        Some(name) => Some((name.as_str(), service.containers.get(name))),
        None => service
            .containers
            .iter()
            .find(|(_, container)| container.port.is_some())
            .map(|(name, container)| (name.as_str(), Some(container))),
    };
    match container {
        Some((name, spec)) => (name, balancer.port.or(spec.and_then(|c| c.port))),
        None => ("", balancer.port),
    }
}
