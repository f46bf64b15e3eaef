//! Conversion between aws-sdk-rust types and the model for services, their settings and tags
//! (task definitions are `revision`'s). Faithful in both directions: defaults are not filled here
//! (that is `normalize`'s job), so what AWS left out stays `None`.

use std::collections::BTreeMap;

use aws_sdk_ecs::types as ecs;

use crate::model::{
    CapacityProvider, Deployment, DeploymentAlarms, LiveService, LoadBalancer, Network,
    ServiceSettings,
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
        // Always written, so that alarms the state no longer names are switched off.
        .set_alarms(
            ecs::DeploymentAlarms::builder()
                .set_alarm_names(Some(
                    deployment
                        .alarms
                        .as_ref()
                        .map(|alarms| alarms.names.clone())
                        .unwrap_or_default(),
                ))
                .enable(deployment.alarms.is_some())
                .rollback(deployment.alarms.as_ref().is_some_and(|a| a.rollback))
                .build()
                .ok(),
        )
        .build()
}

pub fn capacity_providers_to_sdk(
    strategy: &[CapacityProvider],
) -> Vec<ecs::CapacityProviderStrategyItem> {
    strategy
        .iter()
        .filter_map(|item| {
            ecs::CapacityProviderStrategyItem::builder()
                .capacity_provider(&item.capacity_provider)
                .weight(item.weight)
                .base(item.base)
                .build()
                .ok()
        })
        .collect()
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
            alarms: config
                .alarms()
                .filter(|alarms| alarms.enable())
                .map(|alarms| DeploymentAlarms {
                    names: alarms.alarm_names().to_vec(),
                    rollback: alarms.rollback(),
                }),
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
            propagate_tags: Some(
                service
                    .propagate_tags()
                    .map_or("NONE", |p| p.as_str())
                    .to_string(),
            ),
            enable_ecs_managed_tags: Some(service.enable_ecs_managed_tags()),
            capacity_provider_strategy: (!service.capacity_provider_strategy().is_empty()).then(
                || {
                    service
                        .capacity_provider_strategy()
                        .iter()
                        .map(|item| CapacityProvider {
                            capacity_provider: item.capacity_provider().to_string(),
                            weight: item.weight(),
                            base: item.base(),
                        })
                        .collect()
                },
            ),
            availability_zone_rebalancing: service
                .availability_zone_rebalancing()
                .map(|r| r.as_str().to_string()),
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
