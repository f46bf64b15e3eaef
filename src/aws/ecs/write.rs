//! ECS writes a plan holds: clusters, tags, task-definition revisions, and services created or
//! updated with their settings. Each function makes exactly the calls its operation names.

use std::collections::BTreeMap;

use aws_sdk_ecs::operation::create_service::builders::CreateServiceFluentBuilder;
use aws_sdk_ecs::operation::update_service::builders::UpdateServiceFluentBuilder;
use aws_sdk_ecs::types::{
    AvailabilityZoneRebalancing, Compatibility, LaunchType, NetworkMode, PropagateTags,
};

use super::aws_json::MergeAwsJson;
use super::convert::{
    capacity_providers_to_sdk, deployment_to_sdk, load_balancers_to_sdk, network_to_sdk,
    tags_to_sdk,
};
use super::revision::{containers_to_sdk, task_settings_to_sdk};
use super::rollout::{self, Rollout};
use crate::aws::{Aws, AwsError, epoch_seconds, unique_token};
use crate::model::{ServiceSetting, TaskDefinition};
use crate::plan::{ServiceCreate, ServiceUpdate};

/// Writes one service setting into a CreateService or UpdateService request: the one place where
/// a setting meets its SDK field, for both calls.
macro_rules! setting_writer {
    ($name:ident, $builder:ty, launch_type: $launch_type:expr) => {
        fn $name(builder: $builder, setting: &ServiceSetting) -> $builder {
            match setting {
                ServiceSetting::DesiredCount(count) => builder.desired_count(*count),
                ServiceSetting::LaunchType(launch_type) => $launch_type(builder, launch_type),
                ServiceSetting::PlatformVersion(version) => builder.platform_version(version),
                ServiceSetting::Network(network) => {
                    builder.network_configuration(network_to_sdk(network))
                }
                ServiceSetting::Deployment(deployment) => {
                    builder.deployment_configuration(deployment_to_sdk(deployment))
                }
                ServiceSetting::LoadBalancers(balancers) => {
                    builder.set_load_balancers(Some(load_balancers_to_sdk(balancers)))
                }
                ServiceSetting::HealthCheckGracePeriod(seconds) => {
                    builder.health_check_grace_period_seconds(*seconds)
                }
                ServiceSetting::EnableExecuteCommand(on) => builder.enable_execute_command(*on),
                ServiceSetting::PropagateTags(from) => {
                    builder.propagate_tags(PropagateTags::from(from.as_str()))
                }
                ServiceSetting::EnableEcsManagedTags(on) => builder.enable_ecs_managed_tags(*on),
                ServiceSetting::CapacityProviderStrategy(strategy) => builder
                    .set_capacity_provider_strategy(Some(capacity_providers_to_sdk(strategy))),
                ServiceSetting::AvailabilityZoneRebalancing(mode) => builder
                    .availability_zone_rebalancing(AvailabilityZoneRebalancing::from(
                        mode.as_str(),
                    )),
            }
        }
    };
}

setting_writer!(
    create_setting,
    CreateServiceFluentBuilder,
    launch_type: |builder: CreateServiceFluentBuilder, launch_type: &String| {
        builder.launch_type(LaunchType::from(launch_type.as_str()))
    }
);
// The launch type is fixed at creation: a patch never holds one (`ServiceSetting::updatable`).
setting_writer!(
    update_setting,
    UpdateServiceFluentBuilder,
    launch_type: |builder: UpdateServiceFluentBuilder, _: &String| builder
);

pub async fn create_cluster(
    aws: &Aws,
    name: &str,
    tags: &BTreeMap<String, String>,
    capacity_providers: &[String],
) -> Result<String, AwsError> {
    aws.ecs
        .create_cluster()
        .cluster_name(name)
        .set_tags(Some(tags_to_sdk(tags)))
        .set_capacity_providers(
            (!capacity_providers.is_empty()).then(|| capacity_providers.to_vec()),
        )
        .send()
        .await
        .map_err(|e| AwsError::call("CreateCluster", name, e))?;
    Ok(format!("created cluster {name}"))
}

/// TagResource: adds or corrects tags, never removes any. `subject` names the resource in errors.
pub async fn tag(
    aws: &Aws,
    arn: &str,
    tags: &BTreeMap<String, String>,
    subject: &str,
) -> Result<(), AwsError> {
    aws.ecs
        .tag_resource()
        .resource_arn(arn)
        .set_tags(Some(tags_to_sdk(tags)))
        .send()
        .await
        .map_err(|e| AwsError::call("TagResource", subject, e))?;
    Ok(())
}

/// RegisterTaskDefinition; returns the new revision's ARN.
pub async fn register_task_definition(
    aws: &Aws,
    definition: &TaskDefinition,
    tags: &BTreeMap<String, String>,
) -> Result<String, AwsError> {
    let settings = task_settings_to_sdk(&definition.settings);
    let request = aws
        .ecs
        .register_task_definition()
        .family(&definition.family)
        .set_cpu(definition.cpu.clone())
        .set_memory(definition.memory.clone())
        .set_network_mode(definition.network_mode.as_deref().map(NetworkMode::from))
        .set_requires_compatibilities(Some(
            definition
                .requires_compatibilities
                .iter()
                .map(|c| Compatibility::from(c.as_str()))
                .collect(),
        ))
        .set_execution_role_arn(definition.execution_role_arn.clone())
        .set_task_role_arn(definition.task_role_arn.clone())
        .set_container_definitions(Some(containers_to_sdk(definition)))
        .set_runtime_platform(settings.runtime_platform)
        .set_ephemeral_storage(settings.ephemeral_storage)
        .set_volumes(settings.volumes)
        .set_pid_mode(settings.pid_mode)
        .set_tags(Some(tags_to_sdk(tags)))
        .customize();
    let request = match MergeAwsJson::of(definition) {
        Some(merge) => request.interceptor(merge),
        None => request,
    };
    let output = request
        .send()
        .await
        .map_err(|e| AwsError::call("RegisterTaskDefinition", &definition.family, e))?;
    Ok(output
        .task_definition()
        .and_then(|d| d.task_definition_arn())
        .unwrap_or_default()
        .to_string())
}

/// CreateService with every setting, running `task_definition` (the ARN the plan's reference
/// resolved to); returns the deployment it started, to follow.
pub async fn create_service(
    aws: &Aws,
    service: &ServiceCreate,
    task_definition: &str,
) -> Result<Option<Rollout>, AwsError> {
    let since = epoch_seconds();
    let request = aws
        .ecs
        .create_service()
        // The SDK retries a timed-out request with the same token: ECS then answers with the
        // service the first attempt created instead of "already exists".
        .client_token(unique_token())
        .cluster(&service.cluster)
        .service_name(&service.name)
        .task_definition(task_definition)
        .set_tags(Some(tags_to_sdk(&service.tags)));
    let request = service.settings.each().iter().fold(request, create_setting);
    let output = request
        .send()
        .await
        .map_err(|e| AwsError::call("CreateService", &service.name, e))?;
    Ok(rollout::started(
        &service.cluster,
        &service.name,
        output.service(),
        since,
    ))
}

/// UpdateService with the patch's settings, and `task_definition` (resolved) when it moves;
/// returns the deployment it started, to follow. The tags are the caller's to write after.
pub async fn update_service(
    aws: &Aws,
    update: &ServiceUpdate,
    task_definition: Option<&str>,
) -> Result<Option<Rollout>, AwsError> {
    let since = epoch_seconds();
    let request = aws
        .ecs
        .update_service()
        .cluster(&update.cluster)
        .service(&update.name)
        .set_task_definition(task_definition.map(str::to_string))
        .set_force_new_deployment(update.force_new_deployment.then_some(true));
    let output = update
        .patch
        .iter()
        .fold(request, update_setting)
        .send()
        .await
        .map_err(|e| AwsError::call("UpdateService", &update.name, e))?;
    Ok(rollout::started(
        &update.cluster,
        &update.name,
        output.service(),
        since,
    ))
}
