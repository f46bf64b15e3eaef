//! Services: created when missing, otherwise one UpdateService carrying only the settings that
//! differ (and tags added where missing).

use serde_json::{Value, json};

use super::change::{
    Action, Change, Operation, RecordStatus, Resource, ResourceKind, ServiceCreate, ServiceUpdate,
    TagApi, TaskDefinitionRef, short_revision,
};
use super::fields::{FieldChange, field_changes};
use super::tags::tag_changes;
use crate::model::{LiveService, ServiceSetting, ServiceSettings};
use crate::normalize;
use std::collections::BTreeMap;

use crate::state::DesiredState;
use crate::state::desired::{COMMIT_TAG, DesiredService, FINGERPRINT_TAG};

pub(super) fn desired_settings(service: &DesiredService) -> ServiceSettings {
    ServiceSettings {
        desired_count: service.desired_count.map(|count| count as i32),
        // A capacity provider strategy takes the launch type's place.
        launch_type: service.launch_type.clone(),
        platform_version: service.platform_version.clone(),
        network: service.network.clone(),
        deployment: Some(service.deployment.clone()),
        load_balancers: service.load_balancers.clone(),
        health_check_grace_period: service.health_check_grace_period.map(|s| s as i32),
        enable_execute_command: Some(service.enable_execute_command),
        propagate_tags: Some(service.propagate_tags.clone()),
        enable_ecs_managed_tags: Some(service.enable_ecs_managed_tags),
        capacity_provider_strategy: service.capacity_provider_strategy.clone(),
        availability_zone_rebalancing: service.availability_zone_rebalancing.clone(),
    }
}

pub(super) fn service_change(
    state: &DesiredState,
    live: Option<&LiveService>,
    service: &DesiredService,
    target: TaskDefinitionRef,
    fingerprint: &str,
) -> Change {
    // The service also records which content was applied (compared), and from which commit
    // (written with any other change, never a change by itself).
    let mut wanted_tags = state.tags.clone();
    wanted_tags.insert(FINGERPRINT_TAG.to_string(), fingerprint.to_string());
    let with_commit = |mut tags: BTreeMap<String, String>| {
        if let Some(commit) = &state.commit {
            tags.insert(COMMIT_TAG.to_string(), commit.clone());
        }
        tags
    };
    let resource = Resource {
        kind: ResourceKind::Service,
        name: service.name.clone(),
    };
    let desired = normalize::service_settings(&desired_settings(service));
    let Some(live) = live else {
        let mut settings = desired.clone();
        settings.desired_count = Some(settings.desired_count.unwrap_or(1));
        // A new service shows every setting it is created with.
        let mut fields = vec![FieldChange::new(
            "task_definition",
            None,
            Some(Value::String(target.display())),
        )];
        for setting in settings.each() {
            fields.extend(field_changes(
                &json!({}),
                &json!({ setting.name(): setting.value() }),
            ));
        }
        return Change {
            resource,
            action: Action::Create,
            reason: "does not exist".into(),
            fields,
            content: None,
            // Never applied: whatever the state says is still to do.
            record: Some(RecordStatus::Stale),
            operation: Operation::CreateService(ServiceCreate {
                cluster: state.cluster.clone(),
                name: service.name.clone(),
                task_definition: target,
                settings,
                tags: with_commit(wanted_tags),
            }),
        };
    };
    let current = normalize::service_settings(&live.settings);
    let record_status = if live.tags.get(FINGERPRINT_TAG).map(String::as_str) == Some(fingerprint) {
        RecordStatus::Matches
    } else {
        RecordStatus::Stale
    };
    let mut fields = Vec::new();
    let task_definition = match &target {
        TaskDefinitionRef::Existing { arn } if *arn == live.task_definition_arn => None,
        other => {
            fields.push(FieldChange::new(
                "task_definition",
                Some(json!(short_revision(&live.task_definition_arn))),
                Some(json!(other.display())),
            ));
            Some(other.clone())
        }
    };
    // Every setting the state manages, compared the same way: what differs goes into the patch.
    let live_settings = current.each();
    let mut patch = Vec::new();
    for wanted in desired.each().into_iter().filter(ServiceSetting::updatable) {
        let live_value = live_settings
            .iter()
            .find(|setting| setting.name() == wanted.name())
            .cloned()
            .or_else(|| wanted.live_default());
        if live_value.as_ref() != Some(&wanted) {
            fields.extend(setting_fields(
                wanted.name(),
                live_value.as_ref().map(ServiceSetting::value),
                wanted.value(),
            ));
            patch.push(wanted);
        }
    }
    let (tag_fields, tags) = tag_changes(&live.tags, &wanted_tags);
    // The record is bookkeeping, not a setting: written, but not listed as a difference.
    let record = format!("tags.{FINGERPRINT_TAG}");
    fields.extend(tag_fields.into_iter().filter(|field| field.path != record));
    // Every setting that differs, and every missing tag, added its field above; the record alone
    // is written too (after an upgrade, or an apply that stopped before tagging).
    if fields.is_empty() && !tags.contains_key(FINGERPRINT_TAG) {
        return Change {
            resource,
            action: Action::NoOp,
            reason: format!(
                "runs {} as the state says",
                short_revision(&live.task_definition_arn)
            ),
            fields,
            content: None,
            record: None,
            operation: Operation::None,
        };
    }
    let what: Vec<&str> = fields
        .iter()
        .map(|field| field.path.split('.').next().unwrap_or_default())
        .fold(Vec::new(), |mut acc, head| {
            if !acc.contains(&head) {
                acc.push(head);
            }
            acc
        });
    let tags = with_commit(tags);
    // Only tags to write (the record alone, or tags someone removed): a tag call, no update.
    let operation = if task_definition.is_none() && patch.is_empty() {
        Operation::TagResource {
            api: TagApi::Ecs,
            arn: live.arn.clone(),
            tags,
        }
    } else {
        Operation::UpdateService(ServiceUpdate {
            cluster: state.cluster.clone(),
            name: service.name.clone(),
            arn: live.arn.clone(),
            force_new_deployment: task_definition.is_none()
                && patch.iter().any(ServiceSetting::needs_new_tasks),
            task_definition,
            patch,
            tags,
        })
    };
    let replaces_tasks = matches!(
        &operation,
        Operation::UpdateService(update) if update.force_new_deployment
    );
    Change {
        reason: if what.is_empty() {
            "record the applied content (tag reconcile:fingerprint)".to_string()
        } else {
            format!(
                "update in place: {}{}",
                what.join(", "),
                if replaces_tasks {
                    "; a new deployment replaces the running tasks, which take it only when started"
                } else {
                    ""
                }
            )
        },
        fields,
        record: Some(record_status),
        ..Change::new(resource, Action::Update, "", operation)
    }
}

/// The field changes of one setting: one per leaf for a setting made of parts (`network.subnets`,
/// `deployment.max_percent`), one for the whole value otherwise.
fn setting_fields(name: &str, before: Option<Value>, after: Value) -> Vec<FieldChange> {
    if after.is_object() {
        nested(name, &before, &Some(after))
    } else {
        vec![FieldChange::new(name, before, Some(after))]
    }
}

/// Field changes of a nested setting, with paths under `prefix` (`network.subnets`, ...).
fn nested<T: serde::Serialize>(prefix: &str, before: &T, after: &T) -> Vec<FieldChange> {
    let mut fields = field_changes(before, after);
    for field in &mut fields {
        field.path = format!("{prefix}.{}", field.path)
            .trim_end_matches('.')
            .to_string();
    }
    fields
}
