//! Services: created when missing, otherwise one UpdateService carrying only the settings that
//! differ (and tags added where missing).

use serde_json::{Value, json};

use super::change::{
    Action, Change, Operation, Resource, ResourceKind, TaskDefinitionRef, short_revision,
};
use super::fields::{FieldChange, field_changes};
use super::tags::tag_changes;
use crate::model::{LiveService, ServiceSettings};
use crate::normalize;
use std::collections::BTreeMap;

use crate::state::DesiredState;
use crate::state::desired::{COMMIT_TAG, DesiredService, FINGERPRINT_TAG};

pub(super) fn desired_settings(service: &DesiredService) -> ServiceSettings {
    ServiceSettings {
        desired_count: service.desired_count.map(|count| count as i32),
        launch_type: Some("FARGATE".into()),
        platform_version: Some(service.platform_version.clone()),
        network: Some(service.network.clone()),
        deployment: Some(service.deployment),
        load_balancers: service.load_balancers.clone(),
        health_check_grace_period: service.health_check_grace_period.map(|s| s as i32),
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
        return Change {
            resource,
            action: Action::Create,
            reason: "does not exist".into(),
            fields: vec![FieldChange::new(
                "task_definition",
                None,
                Some(Value::String(target.display())),
            )],
            diff: None,
            operation: Operation::CreateService {
                cluster: state.cluster.clone(),
                name: service.name.clone(),
                task_definition: target,
                settings,
                tags: with_commit(wanted_tags),
            },
        };
    };
    let current = normalize::service_settings(&live.settings);
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
    let desired_count = desired
        .desired_count
        .filter(|count| Some(*count) != current.desired_count);
    if let Some(count) = desired_count {
        fields.push(FieldChange::new(
            "desired_count",
            current.desired_count.map(|c| json!(c)),
            Some(json!(count)),
        ));
    }
    let network = (desired.network != current.network)
        .then(|| desired.network.clone())
        .flatten();
    if network.is_some() {
        fields.extend(nested("network", &current.network, &desired.network));
    }
    let deployment = (desired.deployment != current.deployment)
        .then_some(desired.deployment)
        .flatten();
    if deployment.is_some() {
        fields.extend(nested(
            "deployment",
            &current.deployment,
            &desired.deployment,
        ));
    }
    let platform_version = (desired.platform_version != current.platform_version)
        .then(|| desired.platform_version.clone())
        .flatten();
    if let Some(version) = &platform_version {
        fields.push(FieldChange::new(
            "platform_version",
            current.platform_version.as_ref().map(|v| json!(v)),
            Some(json!(version)),
        ));
    }
    let load_balancers = desired
        .load_balancers
        .clone()
        .filter(|wanted| Some(wanted) != current.load_balancers.as_ref());
    if let Some(wanted) = &load_balancers {
        fields.push(FieldChange::new(
            "load_balancers",
            current.load_balancers.as_ref().map(|l| json!(l)),
            Some(json!(wanted)),
        ));
    }
    // AWS's default, 0, where no grace period was ever set.
    let live_grace = current.health_check_grace_period.unwrap_or(0);
    let health_check_grace_period = desired
        .health_check_grace_period
        .filter(|seconds| *seconds != live_grace);
    if let Some(seconds) = health_check_grace_period {
        fields.push(FieldChange::new(
            "health_check_grace_period",
            Some(json!(live_grace)),
            Some(json!(seconds)),
        ));
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
            diff: None,
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
    Change {
        resource,
        action: Action::Update,
        reason: if what.is_empty() {
            "record the applied content (tag reconcile:fingerprint)".to_string()
        } else {
            format!("update in place: {}", what.join(", "))
        },
        fields,
        diff: None,
        operation: Operation::UpdateService {
            cluster: state.cluster.clone(),
            name: service.name.clone(),
            arn: live.arn.clone(),
            task_definition,
            desired_count,
            network,
            deployment,
            platform_version,
            load_balancers,
            health_check_grace_period,
            tags: with_commit(tags),
        },
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
