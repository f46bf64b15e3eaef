//! ElastiCache for Redis: replication groups (with their primary member cluster, which carries the
//! engine version, network and pending node changes) read into the model, and the writes.

use std::collections::BTreeMap;

use aws_sdk_elasticache::types::{
    AuthTokenUpdateStrategyType, AutomaticFailoverStatus, CacheCluster, MultiAzStatus,
    PendingAutomaticFailoverStatus, ReplicationGroup, Tag,
};
use serde_json::{Value, json};

use super::settings::{Fields, Setting, sorted_ids, text};
use crate::aws::{Aws, AwsError};
use crate::model::{BackingKind, LiveBacking};

/// Every replication group of the region (paged).
pub(super) async fn list(aws: &Aws) -> Result<Vec<ReplicationGroup>, AwsError> {
    aws.elasticache
        .describe_replication_groups()
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .map_err(|e| AwsError::new("DescribeReplicationGroups", "in the region", e))
}

/// The group's first member cluster: engine version, network, parameter group, pending node type.
pub(super) async fn primary_member(
    aws: &Aws,
    group: &ReplicationGroup,
) -> Result<Option<CacheCluster>, AwsError> {
    let Some(member) = group.member_clusters().first() else {
        return Ok(None);
    };
    let result = aws
        .elasticache
        .describe_cache_clusters()
        .cache_cluster_id(member)
        .send()
        .await;
    match result {
        Ok(output) => Ok(output.cache_clusters().first().cloned()),
        Err(error)
            if error
                .as_service_error()
                .is_some_and(|e| e.is_cache_cluster_not_found_fault()) =>
        {
            Ok(None)
        }
        Err(error) => Err(AwsError::new(
            "DescribeCacheClusters",
            member.clone(),
            error,
        )),
    }
}

/// One replication group by id (without its member's details), or `None`.
pub(super) async fn describe(aws: &Aws, name: &str) -> Result<Option<LiveBacking>, AwsError> {
    let result = aws
        .elasticache
        .describe_replication_groups()
        .replication_group_id(name)
        .send()
        .await;
    match result {
        Ok(output) => Ok(output
            .replication_groups()
            .first()
            .map(|group| from_sdk(group, None))),
        Err(error)
            if error
                .as_service_error()
                .is_some_and(|e| e.is_replication_group_not_found_fault()) =>
        {
            Ok(None)
        }
        Err(error) => Err(AwsError::new(
            "DescribeReplicationGroups",
            name.to_string(),
            error,
        )),
    }
}

/// The model of a replication group and, when read, its primary member cluster.
pub fn from_sdk(group: &ReplicationGroup, member: Option<&CacheCluster>) -> LiveBacking {
    let mut fields = Fields::default();
    let mut set = |field: &str, value: Option<Value>| fields.set(field, value);
    set(
        "engine",
        text(group.engine().or(member.and_then(|m| m.engine()))),
    );
    set(
        "node_type",
        text(
            group
                .cache_node_type()
                .or(member.and_then(|m| m.cache_node_type())),
        ),
    );
    set(
        "replicas",
        Some(json!(group.member_clusters().len().saturating_sub(1))),
    );
    set(
        "automatic_failover",
        group.automatic_failover().map(|status| {
            json!(matches!(
                status,
                AutomaticFailoverStatus::Enabled | AutomaticFailoverStatus::Enabling
            ))
        }),
    );
    set(
        "multi_az",
        group
            .multi_az()
            .map(|status| json!(*status == MultiAzStatus::Enabled)),
    );
    set(
        "transit_encryption",
        Some(json!(group.transit_encryption_enabled().unwrap_or(false))),
    );
    set(
        "at_rest_encryption",
        Some(json!(group.at_rest_encryption_enabled().unwrap_or(false))),
    );
    set(
        "auth_token",
        Some(json!(group.auth_token_enabled().unwrap_or(false))),
    );
    if let Some(member) = member {
        set("version", text(member.engine_version()));
        set(
            "parameter_group",
            text(
                member
                    .cache_parameter_group()
                    .and_then(|group| group.cache_parameter_group_name()),
            ),
        );
        set("subnet_group", text(member.cache_subnet_group_name()));
        set(
            "security_groups",
            Some(sorted_ids(
                member
                    .security_groups()
                    .iter()
                    .filter_map(|group| group.security_group_id()),
            )),
        );
        set(
            "maintenance_window",
            text(member.preferred_maintenance_window()),
        );
    }

    let mut pending = Fields::default();
    pending.set(
        "automatic_failover",
        group
            .pending_modified_values()
            .and_then(|values| values.automatic_failover_status())
            .map(|status| json!(*status == PendingAutomaticFailoverStatus::Enabled)),
    );
    if let Some(values) = member.and_then(|m| m.pending_modified_values()) {
        pending.set("node_type", text(values.cache_node_type()));
        pending.set("version", text(values.engine_version()));
    }

    let mut outputs = BTreeMap::new();
    if let Some(endpoint) = group
        .node_groups()
        .first()
        .and_then(|node_group| node_group.primary_endpoint())
    {
        if let Some(address) = endpoint.address() {
            outputs.insert("address".to_string(), address.to_string());
        }
        if let Some(port) = endpoint.port() {
            outputs.insert("port".to_string(), port.to_string());
        }
    }
    let name = group.replication_group_id().unwrap_or_default().to_string();
    LiveBacking {
        kind: Some(BackingKind::Redis),
        id: name.clone(),
        name,
        arn: group.arn().unwrap_or_default().to_string(),
        status: group.status().unwrap_or_default().to_string(),
        settings: fields.0,
        pending: pending.0,
        outputs,
        tags: None,
    }
}

fn sdk_tags(tags: &BTreeMap<String, String>) -> Vec<Tag> {
    tags.iter()
        .map(|(key, value)| Tag::builder().key(key).value(value).build())
        .collect()
}

/// AddTagsToResource: adds or corrects tags, never removes any.
pub(super) async fn tag(
    aws: &Aws,
    arn: &str,
    tags: &BTreeMap<String, String>,
) -> Result<(), AwsError> {
    aws.elasticache
        .add_tags_to_resource()
        .resource_name(arn)
        .set_tags(Some(sdk_tags(tags)))
        .send()
        .await
        .map_err(|e| AwsError::new("AddTagsToResource", arn.to_string(), e))?;
    Ok(())
}

/// CreateReplicationGroup: one shard, a primary and `replicas` replicas.
pub(super) async fn create(
    aws: &Aws,
    name: &str,
    description: &str,
    settings: &Setting<'_>,
    auth_token: Option<String>,
    tags: &BTreeMap<String, String>,
) -> Result<(), AwsError> {
    let replicas = settings.int("replicas").unwrap_or(0);
    aws.elasticache
        .create_replication_group()
        .replication_group_id(name)
        .replication_group_description(description)
        .engine("redis")
        .set_engine_version(settings.text("version"))
        .set_cache_node_type(settings.text("node_type"))
        .num_cache_clusters(replicas + 1)
        .set_automatic_failover_enabled(settings.bool("automatic_failover"))
        .set_multi_az_enabled(settings.bool("multi_az"))
        .set_transit_encryption_enabled(settings.bool("transit_encryption"))
        .set_at_rest_encryption_enabled(settings.bool("at_rest_encryption"))
        .set_auth_token(auth_token)
        .set_cache_parameter_group_name(settings.text("parameter_group"))
        .set_cache_subnet_group_name(settings.text("subnet_group"))
        .set_security_group_ids(settings.list("security_groups"))
        .set_preferred_maintenance_window(settings.text("maintenance_window"))
        .set_tags(Some(sdk_tags(tags)))
        .send()
        .await
        .map_err(|e| AwsError::new("CreateReplicationGroup", name.to_string(), e))?;
    Ok(())
}

/// ModifyReplicationGroup for the settings it takes; Increase/DecreaseReplicaCount for replicas.
pub(super) async fn modify(
    aws: &Aws,
    name: &str,
    changes: &Setting<'_>,
    before: &Setting<'_>,
    apply_immediately: bool,
    auth_token: Option<String>,
) -> Result<(), AwsError> {
    let auth = changes.bool("auth_token");
    let strategy = match auth {
        Some(true) => Some(AuthTokenUpdateStrategyType::Set),
        Some(false) => Some(AuthTokenUpdateStrategyType::Delete),
        None => None,
    };
    let modifies = changes.has_any(&[
        "version",
        "node_type",
        "automatic_failover",
        "multi_az",
        "auth_token",
        "parameter_group",
        "security_groups",
        "maintenance_window",
    ]);
    if modifies {
        aws.elasticache
            .modify_replication_group()
            .replication_group_id(name)
            .apply_immediately(apply_immediately)
            .set_engine_version(changes.text("version"))
            .set_cache_node_type(changes.text("node_type"))
            .set_automatic_failover_enabled(changes.bool("automatic_failover"))
            .set_multi_az_enabled(changes.bool("multi_az"))
            .set_auth_token(auth_token.filter(|_| auth == Some(true)))
            .set_auth_token_update_strategy(strategy)
            .set_cache_parameter_group_name(changes.text("parameter_group"))
            .set_security_group_ids(changes.list("security_groups"))
            .set_preferred_maintenance_window(changes.text("maintenance_window"))
            .send()
            .await
            .map_err(|e| AwsError::new("ModifyReplicationGroup", name.to_string(), e))?;
    }
    if let Some(replicas) = changes.int("replicas") {
        if before.int("replicas").unwrap_or(0) < replicas {
            aws.elasticache
                .increase_replica_count()
                .replication_group_id(name)
                .new_replica_count(replicas)
                .apply_immediately(true)
                .send()
                .await
                .map_err(|e| AwsError::new("IncreaseReplicaCount", name.to_string(), e))?;
        } else {
            aws.elasticache
                .decrease_replica_count()
                .replication_group_id(name)
                .new_replica_count(replicas)
                .apply_immediately(true)
                .send()
                .await
                .map_err(|e| AwsError::new("DecreaseReplicaCount", name.to_string(), e))?;
        }
    }
    Ok(())
}

/// DeleteReplicationGroup with a final snapshot.
pub(super) async fn delete(aws: &Aws, name: &str, snapshot: &str) -> Result<String, AwsError> {
    aws.elasticache
        .delete_replication_group()
        .replication_group_id(name)
        .final_snapshot_identifier(snapshot)
        .retain_primary_cluster(false)
        .send()
        .await
        .map_err(|e| AwsError::new("DeleteReplicationGroup", name.to_string(), e))?;
    Ok(format!("final snapshot {snapshot}"))
}
