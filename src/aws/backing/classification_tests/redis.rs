//! ElastiCache Redis rows: a replication group with its primary member, and every field's classification.

use aws_sdk_elasticache::types as ec;

use super::super::elasticache;
use serde_json::json;

use super::support::{Row, row, same};
use crate::model::BackingKind::Redis;
use crate::model::LiveBacking;
use crate::plan::ChangeClass::{
    Deferred, ForcesReplacement, InPlace, InPlaceReboot, NotAllowed, Pending,
};

const SG: &str = super::support::SG;

type GroupEdit = fn(ec::builders::ReplicationGroupBuilder) -> ec::builders::ReplicationGroupBuilder;
type MemberEdit = fn(ec::builders::CacheClusterBuilder) -> ec::builders::CacheClusterBuilder;

/// DescribeReplicationGroups' group and its primary member, matching the fixture state.
pub(super) fn redis(group_edit: GroupEdit, member_edit: MemberEdit) -> LiveBacking {
    let group = ec::ReplicationGroup::builder()
        .replication_group_id("kaapi-redis")
        .status("available")
        .engine("redis")
        .member_clusters("kaapi-redis-001")
        .member_clusters("kaapi-redis-002")
        .node_groups(
            ec::NodeGroup::builder()
                .node_group_id("0001")
                .primary_endpoint(
                    ec::Endpoint::builder()
                        .address("master.kaapi-redis.x1y2z3.aps1.cache.amazonaws.com")
                        .port(6379)
                        .build(),
                )
                .build(),
        )
        .automatic_failover(ec::AutomaticFailoverStatus::Enabled)
        .multi_az(ec::MultiAzStatus::Enabled)
        .cache_node_type("cache.t4g.small")
        .auth_token_enabled(true)
        .transit_encryption_enabled(true)
        .at_rest_encryption_enabled(true);
    let member = ec::CacheCluster::builder()
        .cache_cluster_id("kaapi-redis-001")
        .engine("redis")
        .engine_version("7.1.0")
        .cache_node_type("cache.t4g.small")
        .cache_cluster_status("available")
        .preferred_maintenance_window("sun:19:00-sun:20:00")
        .cache_parameter_group(
            ec::CacheParameterGroupStatus::builder()
                .cache_parameter_group_name("default.redis7")
                .build(),
        )
        .cache_subnet_group_name("kaapi-cache-subnets")
        .security_groups(
            ec::SecurityGroupMembership::builder()
                .security_group_id(SG)
                .status("active")
                .build(),
        );
    elasticache::from_sdk(
        &group_edit(group).build(),
        Some(&member_edit(member).build()),
    )
}

/// The rows of this kind.
pub(super) fn rows() -> Vec<Row> {
    vec![
        row(
            Redis,
            "fixture as is (7.1.0 for \"7.1\")",
            || redis(same, same),
            &[],
        ),
        row(
            Redis,
            "engine changed",
            || redis(|g| g.engine("valkey"), same),
            &[("engine", NotAllowed)],
        ),
        row(
            Redis,
            "minor upgrade",
            || redis(same, |m| m.engine_version("7.0.7")),
            &[("version", Deferred)],
        ),
        row(
            Redis,
            "downgrade refused",
            || redis(same, |m| m.engine_version("7.2.4")),
            &[("version", NotAllowed)],
        ),
        row(
            Redis,
            "version pending",
            || {
                redis(same, |m| {
                    m.engine_version("7.0.7").pending_modified_values(
                        ec::PendingModifiedValues::builder()
                            .engine_version("7.1.0")
                            .build(),
                    )
                })
            },
            &[("version", Pending)],
        ),
        row(
            Redis,
            "node type",
            || {
                redis(
                    |g| g.cache_node_type("cache.t4g.micro"),
                    |m| m.cache_node_type("cache.t4g.micro"),
                )
            },
            &[("node_type", Deferred)],
        ),
        Row {
            apply_immediately: true,
            ..row(
                Redis,
                "node type, apply_immediately",
                || redis(|g| g.cache_node_type("cache.t4g.micro"), same),
                &[("node_type", InPlace)],
            )
        },
        row(
            Redis,
            "node type pending",
            || {
                redis(
                    |g| g.cache_node_type("cache.t4g.micro"),
                    |m| {
                        m.pending_modified_values(
                            ec::PendingModifiedValues::builder()
                                .cache_node_type("cache.t4g.small")
                                .build(),
                        )
                    },
                )
            },
            &[("node_type", Pending)],
        ),
        row(
            Redis,
            "replicas",
            || {
                redis(
                    |g| g.set_member_clusters(Some(vec!["kaapi-redis-001".into()])),
                    same,
                )
            },
            &[("replicas", InPlace)],
        ),
        row(
            Redis,
            "automatic failover",
            || {
                redis(
                    |g| g.automatic_failover(ec::AutomaticFailoverStatus::Disabled),
                    same,
                )
            },
            &[("automatic_failover", InPlace)],
        ),
        row(
            Redis,
            "automatic failover pending",
            || {
                redis(
                    |g| {
                        g.automatic_failover(ec::AutomaticFailoverStatus::Disabled)
                            .pending_modified_values(
                                ec::ReplicationGroupPendingModifiedValues::builder()
                                    .automatic_failover_status(
                                        ec::PendingAutomaticFailoverStatus::Enabled,
                                    )
                                    .build(),
                            )
                    },
                    same,
                )
            },
            &[("automatic_failover", Pending)],
        ),
        row(
            Redis,
            "multi-AZ",
            || redis(|g| g.multi_az(ec::MultiAzStatus::Disabled), same),
            &[("multi_az", InPlace)],
        ),
        row(
            Redis,
            "no TLS",
            || redis(|g| g.transit_encryption_enabled(false), same),
            &[("transit_encryption", ForcesReplacement)],
        ),
        Row {
            desired: vec![
                ("transit_encryption", json!(false)),
                ("auth_token", json!(false)),
            ],
            ..row(
                Redis,
                "TLS off",
                || redis(same, same),
                &[("transit_encryption", NotAllowed), ("auth_token", InPlace)],
            )
        },
        row(
            Redis,
            "unencrypted at rest",
            || redis(|g| g.at_rest_encryption_enabled(false), same),
            &[("at_rest_encryption", ForcesReplacement)],
        ),
        Row {
            desired: vec![("at_rest_encryption", json!(false))],
            ..row(
                Redis,
                "encryption at rest off",
                || redis(same, same),
                &[("at_rest_encryption", NotAllowed)],
            )
        },
        row(
            Redis,
            "no AUTH token",
            || redis(|g| g.auth_token_enabled(false), same),
            &[("auth_token", InPlace)],
        ),
        Row {
            desired: vec![("parameter_group", json!("kaapi-redis7"))],
            ..row(
                Redis,
                "parameter group",
                || redis(same, same),
                &[("parameter_group", InPlaceReboot)],
            )
        },
        Row {
            desired: vec![("subnet_group", json!("kaapi-cache-private"))],
            ..row(
                Redis,
                "subnet group",
                || redis(same, same),
                &[("subnet_group", ForcesReplacement)],
            )
        },
        row(
            Redis,
            "security groups",
            || {
                redis(same, |m| {
                    m.set_security_groups(Some(vec![
                        ec::SecurityGroupMembership::builder()
                            .security_group_id("sg-0123")
                            .build(),
                    ]))
                })
            },
            &[("security_groups", InPlace)],
        ),
        Row {
            desired: vec![("maintenance_window", json!("mon:00:00-mon:01:00"))],
            ..row(
                Redis,
                "maintenance window",
                || redis(same, same),
                &[("maintenance_window", InPlace)],
            )
        },
    ]
}
