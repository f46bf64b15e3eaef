//! Task definitions between aws-sdk-rust and the model, both ways. Faithful: defaults are not
//! filled here (that is `normalize`'s job), so what AWS left out stays `None`; what the model has
//! no field for is recorded as unmanaged (`unmanaged`), never dropped.

use std::collections::BTreeMap;

use aws_sdk_ecs::types as ecs;

use super::unmanaged;
use crate::model::{
    Capabilities, ContainerDefinition, ContainerSettings, DependsOn, EfsVolume, Firelens,
    HealthCheck, LinuxParameters, LogConfiguration, MountPoint, PortMapping, Revision,
    RuntimePlatform, TaskDefinition, TaskSettings, Ulimit, Volume,
};

fn map(options: Option<&std::collections::HashMap<String, String>>) -> BTreeMap<String, String> {
    options
        .map(|options| {
            options
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect()
        })
        .unwrap_or_default()
}

fn secrets(secrets: &[ecs::Secret]) -> BTreeMap<String, String> {
    secrets
        .iter()
        .map(|secret| (secret.name().to_string(), secret.value_from().to_string()))
        .collect()
}

fn settings_from_sdk(container: &ecs::ContainerDefinition) -> ContainerSettings {
    ContainerSettings {
        working_directory: container.working_directory().map(str::to_string),
        user: container.user().map(str::to_string),
        readonly_root_filesystem: container.readonly_root_filesystem() == Some(true),
        start_timeout: container.start_timeout(),
        stop_timeout: container.stop_timeout(),
        ulimits: container
            .ulimits()
            .iter()
            .map(|ulimit| Ulimit {
                name: ulimit.name().as_str().to_string(),
                soft_limit: ulimit.soft_limit(),
                hard_limit: ulimit.hard_limit(),
            })
            .collect(),
        docker_labels: map(container.docker_labels()),
        depends_on: container
            .depends_on()
            .iter()
            .map(|dependency| DependsOn {
                container_name: dependency.container_name().to_string(),
                condition: dependency.condition().as_str().to_string(),
            })
            .collect(),
        mount_points: container
            .mount_points()
            .iter()
            .map(|mount| MountPoint {
                source_volume: mount.source_volume().unwrap_or_default().to_string(),
                container_path: mount.container_path().unwrap_or_default().to_string(),
                read_only: mount.read_only() == Some(true),
            })
            .collect(),
        linux_parameters: container.linux_parameters().map(|linux| LinuxParameters {
            init_process_enabled: linux.init_process_enabled() == Some(true),
            capabilities: linux.capabilities().map(|capabilities| Capabilities {
                add: capabilities.add().to_vec(),
                drop: capabilities.drop().to_vec(),
            }),
        }),
        firelens: container.firelens_configuration().map(|firelens| Firelens {
            kind: firelens.r#type().as_str().to_string(),
            options: map(firelens.options()),
        }),
        environment_files: container
            .environment_files()
            .iter()
            .map(|file| file.value().to_string())
            .collect(),
    }
}

fn container_from_sdk(container: &ecs::ContainerDefinition) -> ContainerDefinition {
    ContainerDefinition {
        name: container.name().unwrap_or_default().to_string(),
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
                name: mapping.name().map(str::to_string),
                app_protocol: mapping.app_protocol().map(|p| p.as_str().to_string()),
                container_port_range: mapping.container_port_range().map(str::to_string),
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
        secrets: secrets(container.secrets()),
        health_check: container.health_check().map(|health| HealthCheck {
            command: health.command().to_vec(),
            interval: health.interval(),
            timeout: health.timeout(),
            retries: health.retries(),
            start_period: health.start_period(),
        }),
        log_configuration: container.log_configuration().map(|log| LogConfiguration {
            log_driver: log.log_driver().as_str().to_string(),
            options: map(log.options()),
            secret_options: secrets(log.secret_options()),
        }),
        settings: settings_from_sdk(container),
        aws: unmanaged::container(container),
    }
}

fn task_settings_from_sdk(definition: &ecs::TaskDefinition) -> TaskSettings {
    TaskSettings {
        runtime_platform: definition
            .runtime_platform()
            .map(|platform| RuntimePlatform {
                cpu_architecture: platform.cpu_architecture().map(|a| a.as_str().to_string()),
                operating_system_family: platform
                    .operating_system_family()
                    .map(|os| os.as_str().to_string()),
            }),
        ephemeral_storage_gib: definition.ephemeral_storage().map(|s| s.size_in_gib()),
        volumes: definition
            .volumes()
            .iter()
            .map(|volume| Volume {
                name: volume.name().unwrap_or_default().to_string(),
                efs: volume.efs_volume_configuration().map(|efs| {
                    let auth = efs.authorization_config();
                    EfsVolume {
                        file_system_id: efs.file_system_id().to_string(),
                        root_directory: efs.root_directory().map(str::to_string),
                        access_point_id: auth.and_then(|a| a.access_point_id()).map(str::to_string),
                        iam: auth
                            .and_then(|a| a.iam())
                            .map(|iam| iam.as_str() == "ENABLED"),
                        transit_encryption: efs
                            .transit_encryption()
                            .map(|tls| tls.as_str() == "ENABLED"),
                        transit_encryption_port: efs.transit_encryption_port(),
                    }
                }),
                aws: unmanaged::volume(volume),
            })
            .collect(),
        pid_mode: definition.pid_mode().map(|mode| mode.as_str().to_string()),
    }
}

/// A live task definition in model form.
pub fn revision_from_sdk(definition: &ecs::TaskDefinition) -> Revision {
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
            containers: definition
                .container_definitions()
                .iter()
                .map(container_from_sdk)
                .collect(),
            settings: task_settings_from_sdk(definition),
            aws: unmanaged::task(definition),
        },
    }
}

fn non_empty<T: Clone>(items: &[T]) -> Option<Vec<T>> {
    (!items.is_empty()).then(|| items.to_vec())
}

fn secrets_to_sdk(secrets: &BTreeMap<String, String>) -> Option<Vec<ecs::Secret>> {
    let list: Vec<ecs::Secret> = secrets
        .iter()
        .filter_map(|(name, value_from)| {
            ecs::Secret::builder()
                .name(name)
                .value_from(value_from)
                .build()
                .ok()
        })
        .collect();
    (!list.is_empty()).then_some(list)
}

fn settings_to_sdk(
    builder: ecs::builders::ContainerDefinitionBuilder,
    settings: &ContainerSettings,
) -> ecs::builders::ContainerDefinitionBuilder {
    let labels = (!settings.docker_labels.is_empty())
        .then(|| settings.docker_labels.clone().into_iter().collect());
    builder
        .set_working_directory(settings.working_directory.clone())
        .set_user(settings.user.clone())
        .set_readonly_root_filesystem(settings.readonly_root_filesystem.then_some(true))
        .set_start_timeout(settings.start_timeout)
        .set_stop_timeout(settings.stop_timeout)
        .set_ulimits(non_empty(
            &settings
                .ulimits
                .iter()
                .filter_map(|ulimit| {
                    ecs::Ulimit::builder()
                        .name(ecs::UlimitName::from(ulimit.name.as_str()))
                        .soft_limit(ulimit.soft_limit)
                        .hard_limit(ulimit.hard_limit)
                        .build()
                        .ok()
                })
                .collect::<Vec<_>>(),
        ))
        .set_docker_labels(labels)
        .set_depends_on(non_empty(
            &settings
                .depends_on
                .iter()
                .filter_map(|dependency| {
                    ecs::ContainerDependency::builder()
                        .container_name(&dependency.container_name)
                        .condition(ecs::ContainerCondition::from(dependency.condition.as_str()))
                        .build()
                        .ok()
                })
                .collect::<Vec<_>>(),
        ))
        .set_mount_points(non_empty(
            &settings
                .mount_points
                .iter()
                .map(|mount| {
                    ecs::MountPoint::builder()
                        .source_volume(&mount.source_volume)
                        .container_path(&mount.container_path)
                        .read_only(mount.read_only)
                        .build()
                })
                .collect::<Vec<_>>(),
        ))
        .set_linux_parameters(settings.linux_parameters.as_ref().map(|linux| {
            ecs::LinuxParameters::builder()
                .set_init_process_enabled(linux.init_process_enabled.then_some(true))
                .set_capabilities(linux.capabilities.as_ref().map(|capabilities| {
                    ecs::KernelCapabilities::builder()
                        .set_add(non_empty(&capabilities.add))
                        .set_drop(non_empty(&capabilities.drop))
                        .build()
                }))
                .build()
        }))
        .set_firelens_configuration(settings.firelens.as_ref().and_then(|firelens| {
            ecs::FirelensConfiguration::builder()
                .r#type(ecs::FirelensConfigurationType::from(firelens.kind.as_str()))
                .set_options(
                    (!firelens.options.is_empty())
                        .then(|| firelens.options.clone().into_iter().collect()),
                )
                .build()
                .ok()
        }))
        .set_environment_files(non_empty(
            &settings
                .environment_files
                .iter()
                .filter_map(|arn| {
                    ecs::EnvironmentFile::builder()
                        .value(arn)
                        .r#type(ecs::EnvironmentFileType::S3)
                        .build()
                        .ok()
                })
                .collect::<Vec<_>>(),
        ))
}

fn container_to_sdk(container: &ContainerDefinition) -> ecs::ContainerDefinition {
    let builder = ecs::ContainerDefinition::builder()
        .name(&container.name)
        .image(&container.image)
        .set_essential(container.essential)
        .set_cpu(container.cpu)
        .set_memory(container.memory)
        .set_memory_reservation(container.memory_reservation)
        .set_command(non_empty(&container.command))
        .set_entry_point(non_empty(&container.entry_point))
        .set_port_mappings(non_empty(
            &container
                .port_mappings
                .iter()
                .map(|mapping| {
                    ecs::PortMapping::builder()
                        .set_container_port(
                            (mapping.container_port != 0).then_some(mapping.container_port),
                        )
                        .set_container_port_range(mapping.container_port_range.clone())
                        .set_host_port(mapping.host_port)
                        .set_protocol(
                            mapping
                                .protocol
                                .as_deref()
                                .map(ecs::TransportProtocol::from),
                        )
                        .set_name(mapping.name.clone())
                        .set_app_protocol(
                            mapping
                                .app_protocol
                                .as_deref()
                                .map(ecs::ApplicationProtocol::from),
                        )
                        .build()
                })
                .collect::<Vec<_>>(),
        ))
        .set_environment(non_empty(
            &container
                .environment
                .iter()
                .map(|(name, value)| ecs::KeyValuePair::builder().name(name).value(value).build())
                .collect::<Vec<_>>(),
        ))
        .set_secrets(secrets_to_sdk(&container.secrets))
        .set_health_check(container.health_check.as_ref().and_then(|health| {
            ecs::HealthCheck::builder()
                .set_command(Some(health.command.clone()))
                .set_interval(health.interval)
                .set_timeout(health.timeout)
                .set_retries(health.retries)
                .set_start_period(health.start_period)
                .build()
                .ok()
        }))
        .set_log_configuration(container.log_configuration.as_ref().and_then(|log| {
            ecs::LogConfiguration::builder()
                .log_driver(ecs::LogDriver::from(log.log_driver.as_str()))
                .set_options(Some(log.options.clone().into_iter().collect()))
                .set_secret_options(secrets_to_sdk(&log.secret_options))
                .build()
                .ok()
        }));
    settings_to_sdk(builder, &container.settings).build()
}

/// Container definitions for RegisterTaskDefinition.
pub fn containers_to_sdk(definition: &TaskDefinition) -> Vec<ecs::ContainerDefinition> {
    definition.containers.iter().map(container_to_sdk).collect()
}

/// The task-level settings of RegisterTaskDefinition, beyond size, network mode and roles.
pub struct TaskSettingsSdk {
    pub runtime_platform: Option<ecs::RuntimePlatform>,
    pub ephemeral_storage: Option<ecs::EphemeralStorage>,
    pub volumes: Option<Vec<ecs::Volume>>,
    pub pid_mode: Option<ecs::PidMode>,
}

pub fn task_settings_to_sdk(settings: &TaskSettings) -> TaskSettingsSdk {
    let enabled = |on: bool| {
        if on {
            ecs::EfsTransitEncryption::Enabled
        } else {
            ecs::EfsTransitEncryption::Disabled
        }
    };
    TaskSettingsSdk {
        runtime_platform: settings.runtime_platform.as_ref().map(|platform| {
            ecs::RuntimePlatform::builder()
                .set_cpu_architecture(
                    platform
                        .cpu_architecture
                        .as_deref()
                        .map(ecs::CpuArchitecture::from),
                )
                .set_operating_system_family(
                    platform
                        .operating_system_family
                        .as_deref()
                        .map(ecs::OsFamily::from),
                )
                .build()
        }),
        ephemeral_storage: settings
            .ephemeral_storage_gib
            .map(|gib| ecs::EphemeralStorage::builder().size_in_gib(gib).build()),
        volumes: non_empty(
            &settings
                .volumes
                .iter()
                .map(|volume| {
                    ecs::Volume::builder()
                        .name(&volume.name)
                        .set_efs_volume_configuration(volume.efs.as_ref().and_then(|efs| {
                            let auth =
                                (efs.access_point_id.is_some() || efs.iam.is_some()).then(|| {
                                    ecs::EfsAuthorizationConfig::builder()
                                        .set_access_point_id(efs.access_point_id.clone())
                                        .set_iam(efs.iam.map(|iam| {
                                            if iam {
                                                ecs::EfsAuthorizationConfigIam::Enabled
                                            } else {
                                                ecs::EfsAuthorizationConfigIam::Disabled
                                            }
                                        }))
                                        .build()
                                });
                            ecs::EfsVolumeConfiguration::builder()
                                .file_system_id(&efs.file_system_id)
                                .set_root_directory(efs.root_directory.clone())
                                .set_transit_encryption(efs.transit_encryption.map(enabled))
                                .set_transit_encryption_port(efs.transit_encryption_port)
                                .set_authorization_config(auth)
                                .build()
                                .ok()
                        }))
                        .build()
                })
                .collect::<Vec<_>>(),
        ),
        pid_mode: settings.pid_mode.as_deref().map(ecs::PidMode::from),
    }
}
