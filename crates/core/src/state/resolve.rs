//! Turns a validated state file into a `DesiredState`: default names, merged variables, health-check
//! commands and log settings. Runs only after `validate::check` found nothing.

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::{Value, json};

use super::desired::{
    AwsLogs, DesiredBacking, DesiredContainer, DesiredHealthCheck, DesiredLogs, DesiredMigration,
    DesiredService, DesiredState, ENVIRONMENT_TAG, ImageRef, MANAGED_BY_TAG, MANAGED_BY_VALUE,
    SecretRef,
};
use super::naming::Names;
use super::schema::{
    BackingSpec, CircuitBreakerMode, ContainerSpec, DeploymentMode, MigrationWhen, NetworkSpec,
    ServiceSpec, StateFile,
};
use super::template::Template;
use crate::model::{
    BackingKind, ContainerSettings, DependsOn, Deployment, LoadBalancer, Network, PortMapping,
    TaskSettings, Volume, on_fargate,
};

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
        image: state.image.as_ref().map(|image| ImageRef {
            repository: image
                .repository
                .clone()
                .unwrap_or_else(|| names.repository()),
            tag: image.tag.clone(),
            digest: image.digest.clone(),
        }),
        cluster,
        tags,
        sync: crate::sync::SyncPolicy::of(state),
        left_out: Default::default(),
        take_over_from: state.take_over_from.clone(),
        backing: state
            .backing
            .iter()
            .map(|(key, spec)| resolve_backing(state, &names, key, spec))
            .collect(),
        services,
        migrations: state
            .migrations
            .iter()
            .map(|migration| DesiredMigration {
                service: migration.service.clone(),
                // Validation guarantees the service exists and has a container.
                container: migration.container.clone().unwrap_or_else(|| {
                    state
                        .services
                        .get(&migration.service)
                        .and_then(|s| s.containers.keys().next().cloned())
                        .unwrap_or_default()
                }),
                command: migration.command.clone(),
                timeout_seconds: migration
                    .timeout
                    .as_deref()
                    .and_then(|t| humantime::parse_duration(t).ok())
                    .map_or(15 * 60, |d| d.as_secs()),
                when: migration.when.unwrap_or(MigrationWhen::ImageChanges),
            })
            .collect(),
        commit: None,
    }
}

/// Settings by state-file field name, defaults applied; optional fields left out stay unmanaged.
fn resolve_backing(
    state: &StateFile,
    names: &Names,
    key: &str,
    spec: &BackingSpec,
) -> DesiredBacking {
    let mut settings: BTreeMap<String, Value> = BTreeMap::new();
    let mut set = |field: &str, value: Value| {
        settings.insert(field.to_string(), value);
    };
    let optional = |value: &Option<String>| value.as_ref().map(|v| json!(v));
    let sorted = |list: &Option<Vec<String>>| {
        list.as_ref().map(|list| {
            let mut list = list.clone();
            list.sort();
            json!(list)
        })
    };
    let (kind, name, apply_immediately, secret) = match spec {
        BackingSpec::Postgres(pg) => {
            set("engine", json!("postgres"));
            set("version", json!(pg.version));
            set("instance_class", json!(pg.instance_class));
            set("storage_gb", json!(pg.storage_gb));
            // 0 is how RDS reports "no storage autoscaling".
            set("max_storage_gb", json!(pg.max_storage_gb.unwrap_or(0)));
            set(
                "storage_type",
                json!(pg.storage_type.as_deref().unwrap_or("gp3")),
            );
            set("multi_az", json!(pg.multi_az.unwrap_or(false)));
            set(
                "backup_retention_days",
                json!(pg.backup_retention_days.unwrap_or(7)),
            );
            set(
                "deletion_protection",
                json!(pg.deletion_protection.unwrap_or(true)),
            );
            set(
                "storage_encrypted",
                json!(pg.storage_encrypted.unwrap_or(true)),
            );
            set(
                "master_username",
                json!(pg.master_username.as_deref().unwrap_or("postgres")),
            );
            set(
                "managed_master_password",
                json!(pg.managed_master_password.unwrap_or(true)),
            );
            for (field, value) in [
                ("backup_window", optional(&pg.backup_window)),
                ("maintenance_window", optional(&pg.maintenance_window)),
                ("parameter_group", optional(&pg.parameter_group)),
                ("subnet_group", optional(&pg.subnet_group)),
                ("database", optional(&pg.database)),
                ("security_groups", sorted(&pg.security_groups)),
            ] {
                if let Some(value) = value {
                    set(field, value);
                }
            }
            (
                BackingKind::Postgres,
                pg.name.clone(),
                pg.apply_immediately.unwrap_or(false),
                None,
            )
        }
        BackingSpec::Redis(redis) => {
            let replicas = redis.replicas.unwrap_or(0);
            set("engine", json!("redis"));
            set("version", json!(redis.version));
            set("node_type", json!(redis.node_type));
            set("replicas", json!(replicas));
            set(
                "automatic_failover",
                json!(redis.automatic_failover.unwrap_or(replicas > 0)),
            );
            set("multi_az", json!(redis.multi_az.unwrap_or(false)));
            set(
                "transit_encryption",
                json!(redis.transit_encryption.unwrap_or(true)),
            );
            set(
                "at_rest_encryption",
                json!(redis.at_rest_encryption.unwrap_or(true)),
            );
            set("auth_token", json!(redis.auth_token.is_some()));
            for (field, value) in [
                ("parameter_group", optional(&redis.parameter_group)),
                ("subnet_group", optional(&redis.subnet_group)),
                ("maintenance_window", optional(&redis.maintenance_window)),
                ("security_groups", sorted(&redis.security_groups)),
            ] {
                if let Some(value) = value {
                    set(field, value);
                }
            }
            (
                BackingKind::Redis,
                redis.name.clone(),
                redis.apply_immediately.unwrap_or(false),
                redis.auth_token.as_deref().and_then(SecretRef::parse),
            )
        }
        BackingSpec::Rabbitmq(mq) => {
            let mode = mq.deployment_mode.unwrap_or(DeploymentMode::SingleInstance);
            let environment_network = state.network.as_ref();
            let subnets = mq.subnets.clone().unwrap_or_else(|| {
                let all = environment_network
                    .map(|n| n.subnets.clone())
                    .unwrap_or_default();
                match mode {
                    DeploymentMode::SingleInstance => all.into_iter().take(1).collect(),
                    DeploymentMode::ClusterMultiAz => all,
                }
            });
            let security_groups = mq.security_groups.clone().unwrap_or_else(|| {
                environment_network
                    .map(|n| n.security_groups.clone())
                    .unwrap_or_default()
            });
            set("engine", json!("rabbitmq"));
            set("version", json!(mq.version));
            set("instance_type", json!(mq.instance_type));
            set("deployment_mode", json!(mode.aws()));
            set("admin_user", json!(mq.admin_user));
            set(
                "auto_minor_version_upgrade",
                json!(mq.auto_minor_version_upgrade.unwrap_or(true)),
            );
            set(
                "publicly_accessible",
                json!(mq.publicly_accessible.unwrap_or(false)),
            );
            set("subnets", sorted(&Some(subnets)).unwrap_or_default());
            set(
                "security_groups",
                sorted(&Some(security_groups)).unwrap_or_default(),
            );
            if let Some(window) = optional(&mq.maintenance_window) {
                set("maintenance_window", window);
            }
            (
                BackingKind::Rabbitmq,
                mq.name.clone(),
                false,
                SecretRef::parse(&mq.admin_password),
            )
        }
    };
    DesiredBacking {
        key: key.to_string(),
        kind,
        name: name.unwrap_or_else(|| names.backing(key)),
        settings,
        apply_immediately,
        secret,
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
    let network_mode = service
        .network_mode
        .clone()
        .unwrap_or_else(|| "awsvpc".to_string());
    // Only awsvpc tasks take a network configuration (CreateService API reference).
    let network_spec = (network_mode == "awsvpc").then(|| {
        service
            .network
            .as_ref()
            .or(state.network.as_ref())
            .map(network)
            .unwrap_or_default()
    });
    let launch_type = service.capacity_provider_strategy.is_none().then(|| {
        service
            .launch_type
            .clone()
            .unwrap_or_else(|| "FARGATE".to_string())
    });
    let fargate = on_fargate(
        launch_type.as_deref(),
        service.capacity_provider_strategy.as_deref(),
    );
    let requires_compatibilities = service.requires_compatibilities.clone().unwrap_or_else(|| {
        vec![match (&launch_type, fargate) {
            (Some(launch_type), _) => launch_type.clone(),
            (None, true) => "FARGATE".to_string(),
            (None, false) => "EC2".to_string(),
        }]
    });
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
        launch_type,
        network_mode,
        requires_compatibilities,
        execution_role_arn: role(|roles| &roles.execution_role_arn),
        task_role_arn: role(|roles| &roles.task_role_arn),
        network: network_spec,
        deployment: Deployment {
            circuit_breaker_enable: circuit_breaker != CircuitBreakerMode::Disabled,
            circuit_breaker_rollback: circuit_breaker == CircuitBreakerMode::Rollback,
            min_healthy_percent: deployment.min_healthy_percent.unwrap_or(100) as i32,
            max_percent: deployment.max_percent.unwrap_or(200) as i32,
            alarms: deployment.alarms.clone(),
        },
        // A platform version is Fargate's; AWS refuses one on EC2 (CreateService API reference).
        platform_version: service
            .platform_version
            .clone()
            .or_else(|| fargate.then(|| "LATEST".to_string())),
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
        enable_execute_command: service.enable_execute_command.unwrap_or(false),
        propagate_tags: service
            .propagate_tags
            .clone()
            .unwrap_or_else(|| "NONE".to_string()),
        enable_ecs_managed_tags: service.enable_ecs_managed_tags.unwrap_or(false),
        capacity_provider_strategy: service.capacity_provider_strategy.clone(),
        availability_zone_rebalancing: service.availability_zone_rebalancing.clone(),
        task: TaskSettings {
            runtime_platform: service.runtime_platform.clone(),
            ephemeral_storage_gib: service.ephemeral_storage_gib.map(|gib| gib as i32),
            volumes: service
                .volumes
                .iter()
                .map(|(name, volume)| Volume {
                    name: name.clone(),
                    efs: volume.efs.clone().map(|mut efs| {
                        // Access points and IAM authorization work only over TLS.
                        let needs_tls = efs.iam == Some(true) || efs.access_point_id.is_some();
                        efs.transit_encryption.get_or_insert(needs_tls);
                        efs
                    }),
                    aws: volume.aws.clone(),
                })
                .collect(),
            pid_mode: service.pid_mode.clone(),
        },
        drop_unmanaged: service.drop_unmanaged.clone(),
        aws: service.aws.clone(),
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
    // Validation guarantees every value parses; a value without references is plain text.
    let none = BTreeMap::new();
    let inherit = container.inherit_variables != Some(false);
    let shared = |level| if inherit { level } else { &none };
    let mut env = BTreeMap::new();
    let mut env_outputs = BTreeMap::new();
    for (key, value) in merged([shared(&state.env), shared(&service.env), &container.env]) {
        let Ok(template) = Template::parse(&value) else {
            continue;
        };
        match template.literal() {
            Some(text) => {
                env.insert(key, text);
            }
            None => {
                env_outputs.insert(key, template);
            }
        }
    }
    let mut secrets = BTreeMap::new();
    let mut secret_outputs = BTreeMap::new();
    for (key, reference) in merged([
        shared(&state.secrets),
        shared(&service.secrets),
        &container.secrets,
    ]) {
        if let Some(parsed) = SecretRef::parse(&reference) {
            secrets.insert(key, parsed);
        } else if let Ok(template) = Template::parse(&reference) {
            secret_outputs.insert(key, template);
        }
    }
    let port = container
        .first_port()
        .and_then(|port| u16::try_from(port).ok());
    let port_mappings = match container.port {
        Some(port) => vec![PortMapping {
            container_port: port as i32,
            name: container.port_name.clone(),
            app_protocol: container.app_protocol.clone(),
            ..PortMapping::default()
        }],
        None => container.port_mappings.clone(),
    };
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
    let driver = logs.driver.clone().unwrap_or_else(|| "awslogs".to_string());
    DesiredContainer {
        name: name.to_string(),
        image: container.image.clone(),
        command: container.command.clone(),
        entry_point: container.entry_point.clone(),
        port,
        port_mappings,
        cpu: container.cpu.unwrap_or(0),
        memory: container.memory,
        memory_reservation: container.memory_reservation,
        essential: container.essential.unwrap_or(true),
        env,
        env_outputs,
        secrets,
        secret_outputs,
        health_check,
        logs: DesiredLogs {
            awslogs: (driver == "awslogs").then(|| AwsLogs {
                group: logs
                    .group
                    .clone()
                    .unwrap_or_else(|| Names::log_group(cluster, service_name)),
                stream_prefix: logs
                    .stream_prefix
                    .clone()
                    .unwrap_or_else(|| "ecs".to_string()),
            }),
            driver,
            options: logs.options.clone(),
            secret_options: logs
                .secret_options
                .iter()
                .filter_map(|(name, reference)| Some((name.clone(), SecretRef::parse(reference)?)))
                .collect(),
        },
        settings: ContainerSettings {
            working_directory: container.working_directory.clone(),
            user: container.user.clone(),
            readonly_root_filesystem: container.readonly_root_filesystem.unwrap_or(false),
            start_timeout: container.start_timeout.map(|s| s as i32),
            stop_timeout: container.stop_timeout.map(|s| s as i32),
            ulimits: container.ulimits.clone(),
            docker_labels: container.docker_labels.clone(),
            depends_on: container
                .depends_on
                .iter()
                .map(|(name, condition)| DependsOn {
                    container_name: name.clone(),
                    condition: condition.clone(),
                })
                .collect(),
            mount_points: container.mount_points.clone(),
            linux_parameters: container.linux_parameters.clone(),
            firelens: container.firelens.clone(),
            environment_files: container.environment_files.clone(),
        },
        aws: container.aws.clone(),
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
            .find(|(_, container)| container.first_port().is_some())
            .map(|(name, container)| (name.as_str(), Some(container))),
    };
    match container {
        Some((name, spec)) => (name, balancer.port.or(spec.and_then(|c| c.first_port()))),
        None => ("", balancer.port),
    }
}
