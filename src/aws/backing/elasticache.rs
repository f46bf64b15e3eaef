//! ElastiCache for Redis: replication groups (with their primary member cluster, which carries the
//! engine version, network and pending node changes) read into the model, and the writes.

use std::collections::BTreeMap;

use aws_sdk_elasticache::operation::create_replication_group::builders::CreateReplicationGroupFluentBuilder;
use aws_sdk_elasticache::operation::modify_replication_group::builders::ModifyReplicationGroupFluentBuilder;
use aws_sdk_elasticache::types::{
    AuthTokenUpdateStrategyType, AutomaticFailoverStatus, CacheCluster, MultiAzStatus,
    PendingAutomaticFailoverStatus, ReplicationGroup, Tag,
};
use serde_json::json;

use super::settings::{
    Field, as_bool, as_int, as_list, as_text, create_with, from_text, modifies, modify_with,
    read_all, sorted_ids,
};
use crate::aws::{Aws, AwsError, SharedReads};
use crate::model::{BackingKind, LiveBacking};
use crate::plan::{BackingModify, BackingWrite, ReplicaChange};

/// Every replication group of the region (paged).
pub(super) async fn list(aws: &Aws) -> Result<Vec<ReplicationGroup>, AwsError> {
    SharedReads::once(aws, |shared| &shared.elasticache, || list_region(aws)).await
}

async fn list_region(aws: &Aws) -> Result<Vec<ReplicationGroup>, AwsError> {
    aws.elasticache
        .describe_replication_groups()
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .map_err(|e| AwsError::call("DescribeReplicationGroups", "in the region", e))
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
        Err(error) => Err(AwsError::call(
            "DescribeCacheClusters",
            member.clone(),
            error,
        )),
    }
}

/// One replication group by id (without its member's details), or `None`.
/// The group with every setting, its primary member's included (engine version, network,
/// parameter group).
pub(super) async fn describe_whole(aws: &Aws, name: &str) -> Result<Option<LiveBacking>, AwsError> {
    let Some(group) = group(aws, name).await? else {
        return Ok(None);
    };
    let member = primary_member(aws, &group).await?;
    Ok(Some(from_sdk(&group, member.as_ref())))
}

async fn group(aws: &Aws, name: &str) -> Result<Option<ReplicationGroup>, AwsError> {
    let result = aws
        .elasticache
        .describe_replication_groups()
        .replication_group_id(name)
        .send()
        .await;
    match result {
        Ok(output) => Ok(output.replication_groups().first().cloned()),
        Err(error)
            if error
                .as_service_error()
                .is_some_and(|e| e.is_replication_group_not_found_fault()) =>
        {
            Ok(None)
        }
        Err(error) => Err(AwsError::call(
            "DescribeReplicationGroups",
            format!("replication group {name}"),
            error,
        )),
    }
}

/// The group's own settings (for waiting on its status; `describe_whole` adds the member's).
pub(super) async fn describe(aws: &Aws, name: &str) -> Result<Option<LiveBacking>, AwsError> {
    Ok(group(aws, name).await?.map(|group| from_sdk(&group, None)))
}

/// What the describe calls answer for a replication group: the group, and its primary member
/// cluster (engine version, network, parameter group and pending node changes live there).
pub struct Described {
    pub group: ReplicationGroup,
    pub member: Option<CacheCluster>,
}

type RedisField =
    Field<Described, CreateReplicationGroupFluentBuilder, ModifyReplicationGroupFluentBuilder>;

/// Every field of an ElastiCache for Redis replication group (cluster mode off), by state-file
/// name: read from DescribeReplicationGroups and the primary's DescribeCacheClusters, set on
/// CreateReplicationGroup and ModifyReplicationGroup. Replicas change through
/// Increase/DecreaseReplicaCount and the AUTH token's value is sent beside its strategy (`modify`).
pub(super) const FIELDS: &[RedisField] = &[
    RedisField::read("engine", |d| {
        from_text(
            d.group
                .engine()
                .or(d.member.as_ref().and_then(|m| m.engine())),
        )
    }),
    RedisField::read("version", |d| {
        from_text(d.member.as_ref()?.engine_version())
    })
    .pending(|d| {
        from_text(
            d.member
                .as_ref()?
                .pending_modified_values()?
                .engine_version(),
        )
    })
    .create(|r, v| r.set_engine_version(as_text(v)))
    .modify(|r, v| r.set_engine_version(as_text(v))),
    RedisField::read("node_type", |d| {
        from_text(
            d.group
                .cache_node_type()
                .or(d.member.as_ref().and_then(|m| m.cache_node_type())),
        )
    })
    .pending(|d| {
        from_text(
            d.member
                .as_ref()?
                .pending_modified_values()?
                .cache_node_type(),
        )
    })
    .create(|r, v| r.set_cache_node_type(as_text(v)))
    .modify(|r, v| r.set_cache_node_type(as_text(v))),
    RedisField::read("replicas", |d| {
        Some(json!(d.group.member_clusters().len().saturating_sub(1)))
    })
    .create(|r, v| r.num_cache_clusters(as_int(v).unwrap_or(0) + 1)),
    RedisField::read("automatic_failover", |d| {
        d.group.automatic_failover().map(|status| {
            json!(matches!(
                status,
                AutomaticFailoverStatus::Enabled | AutomaticFailoverStatus::Enabling
            ))
        })
    })
    .pending(|d| {
        let status = d
            .group
            .pending_modified_values()?
            .automatic_failover_status()?;
        Some(json!(*status == PendingAutomaticFailoverStatus::Enabled))
    })
    .create(|r, v| r.set_automatic_failover_enabled(as_bool(v)))
    .modify(|r, v| r.set_automatic_failover_enabled(as_bool(v))),
    RedisField::read("multi_az", |d| {
        d.group
            .multi_az()
            .map(|status| json!(*status == MultiAzStatus::Enabled))
    })
    .create(|r, v| r.set_multi_az_enabled(as_bool(v)))
    .modify(|r, v| r.set_multi_az_enabled(as_bool(v))),
    RedisField::read("transit_encryption", |d| {
        Some(json!(d.group.transit_encryption_enabled().unwrap_or(false)))
    })
    .create(|r, v| r.set_transit_encryption_enabled(as_bool(v))),
    RedisField::read("at_rest_encryption", |d| {
        Some(json!(d.group.at_rest_encryption_enabled().unwrap_or(false)))
    })
    .create(|r, v| r.set_at_rest_encryption_enabled(as_bool(v))),
    // The token's value itself is read from its secret and sent beside (`create`, `modify`).
    RedisField::read("auth_token", |d| {
        Some(json!(d.group.auth_token_enabled().unwrap_or(false)))
    })
    .modify(|r, v| {
        r.set_auth_token_update_strategy(as_bool(v).map(|on| {
            if on {
                AuthTokenUpdateStrategyType::Set
            } else {
                AuthTokenUpdateStrategyType::Delete
            }
        }))
    }),
    RedisField::read("parameter_group", |d| {
        from_text(
            d.member
                .as_ref()?
                .cache_parameter_group()?
                .cache_parameter_group_name(),
        )
    })
    .create(|r, v| r.set_cache_parameter_group_name(as_text(v)))
    .modify(|r, v| r.set_cache_parameter_group_name(as_text(v))),
    RedisField::read("subnet_group", |d| {
        from_text(d.member.as_ref()?.cache_subnet_group_name())
    })
    .create(|r, v| r.set_cache_subnet_group_name(as_text(v))),
    RedisField::read("security_groups", |d| {
        Some(sorted_ids(
            d.member
                .as_ref()?
                .security_groups()
                .iter()
                .filter_map(|group| group.security_group_id()),
        ))
    })
    .create(|r, v| r.set_security_group_ids(as_list(v)))
    .modify(|r, v| r.set_security_group_ids(as_list(v))),
    RedisField::read("maintenance_window", |d| {
        from_text(d.member.as_ref()?.preferred_maintenance_window())
    })
    .create(|r, v| r.set_preferred_maintenance_window(as_text(v)))
    .modify(|r, v| r.set_preferred_maintenance_window(as_text(v))),
];

/// The model of a replication group and, when read, its primary member cluster.
pub fn from_sdk(group: &ReplicationGroup, member: Option<&CacheCluster>) -> LiveBacking {
    let described = Described {
        group: group.clone(),
        member: member.cloned(),
    };
    let (settings, pending) = read_all(FIELDS, &described);
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
        settings,
        pending,
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
        .map_err(|e| AwsError::call("AddTagsToResource", arn.to_string(), e))?;
    Ok(())
}

/// CreateReplicationGroup: one shard, a primary and `replicas` replicas. `Ok(false)` when the
/// group exists already with this entry's description (`reconcile ENV/KEY`): a retried create
/// whose first answer was lost (ElastiCache takes no client token).
pub(super) async fn create(
    aws: &Aws,
    backing: &BackingWrite,
    auth_token: Option<String>,
) -> Result<bool, AwsError> {
    let request = aws
        .elasticache
        .create_replication_group()
        .replication_group_id(&backing.name)
        .replication_group_description(&backing.description)
        .engine("redis")
        .num_cache_clusters(1)
        .set_auth_token(auth_token)
        .set_tags(Some(sdk_tags(&backing.tags)));
    match create_with(FIELDS, request, &backing.settings).send().await {
        Ok(_) => Ok(true),
        Err(error)
            if error
                .as_service_error()
                .is_some_and(|e| e.is_replication_group_already_exists_fault()) =>
        {
            let existing = aws
                .elasticache
                .describe_replication_groups()
                .replication_group_id(&backing.name)
                .send()
                .await
                .map_err(|e| AwsError::call("DescribeReplicationGroups", &backing.name, e))?;
            let ours = existing
                .replication_groups()
                .first()
                .and_then(|group| group.description())
                == Some(backing.description.as_str());
            if ours {
                Ok(false)
            } else {
                Err(AwsError::call(
                    "CreateReplicationGroup",
                    &backing.name,
                    error,
                ))
            }
        }
        Err(error) => Err(AwsError::call(
            "CreateReplicationGroup",
            &backing.name,
            error,
        )),
    }
}

/// ModifyReplicationGroup for the settings it takes; Increase/DecreaseReplicaCount for replicas,
/// as the plan decided.
pub(super) async fn modify(
    aws: &Aws,
    modify: &BackingModify,
    auth_token: Option<String>,
) -> Result<(), AwsError> {
    let name = &modify.name;
    if modifies(FIELDS, &modify.changes) {
        let request = aws
            .elasticache
            .modify_replication_group()
            .replication_group_id(name)
            .apply_immediately(modify.apply_immediately)
            .set_auth_token(auth_token);
        modify_with(FIELDS, request, &modify.changes)
            .send()
            .await
            .map_err(|e| AwsError::call("ModifyReplicationGroup", name, e))?;
    }
    match modify.replicas {
        Some(ReplicaChange::Increase(replicas)) => {
            aws.elasticache
                .increase_replica_count()
                .replication_group_id(name)
                .new_replica_count(replicas)
                .apply_immediately(true)
                .send()
                .await
                .map_err(|e| AwsError::call("IncreaseReplicaCount", name, e))?;
        }
        Some(ReplicaChange::Decrease(replicas)) => {
            aws.elasticache
                .decrease_replica_count()
                .replication_group_id(name)
                .new_replica_count(replicas)
                .apply_immediately(true)
                .send()
                .await
                .map_err(|e| AwsError::call("DecreaseReplicaCount", name, e))?;
        }
        None => {}
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
        .map_err(|e| AwsError::call("DeleteReplicationGroup", name.to_string(), e))?;
    Ok(format!("final snapshot {snapshot}"))
}
