//! Table-driven tests of the backing-service change classification, on SDK values shaped like
//! real describe responses (DescribeDBInstances, DescribeReplicationGroups with the primary's
//! DescribeCacheClusters, DescribeBroker) converted as observe converts them: pending values,
//! patch releases and autoscaled storage included, which the emulator cannot produce.

use aws_sdk_elasticache::types as ec;
use aws_sdk_mq::operation::describe_broker::DescribeBrokerOutput;
use aws_sdk_mq::types as mqt;
use aws_sdk_rds::types as rdst;
use serde_json::{Value, json};

use super::{elasticache, mq, rds};
use crate::model::{BackingKind, LiveBacking};
use crate::plan::{ChangeClass, assess, managed_fields};
use crate::state::desired::DesiredBacking;

use ChangeClass::{Deferred, ForcesReplacement, InPlace, InPlaceReboot, NotAllowed, Pending};

const SG: &str = "sg-0fedcba9876543210";

/// The fixture environment's entries (tests/fixtures/aws/state/production.yaml).
fn desired(kind: BackingKind) -> DesiredBacking {
    let state = crate::state::load_str(
        std::path::Path::new("production.yaml"),
        include_str!("../../tests/fixtures/aws/state/production.yaml"),
        &|_| None,
    )
    .unwrap();
    state
        .backing
        .into_iter()
        .find(|backing| backing.kind == kind)
        .unwrap()
}

/// DescribeDBInstances' instance matching the fixture state, storage as created.
fn postgres(
    edit: fn(rdst::builders::DbInstanceBuilder) -> rdst::builders::DbInstanceBuilder,
) -> LiveBacking {
    let instance = rdst::DbInstance::builder()
        .db_instance_identifier("kaapi-postgres")
        .db_instance_arn("arn:aws:rds:ap-south-1:024209611402:db:kaapi-postgres")
        .db_instance_status("available")
        .engine("postgres")
        .engine_version("16.4")
        .db_instance_class("db.t4g.large")
        .allocated_storage(50)
        .max_allocated_storage(200)
        .storage_type("gp3")
        .multi_az(true)
        .backup_retention_period(14)
        .preferred_backup_window("19:30-20:00")
        .preferred_maintenance_window("sun:21:00-sun:22:00")
        .deletion_protection(true)
        .storage_encrypted(true)
        .db_parameter_groups(
            rdst::DbParameterGroupStatus::builder()
                .db_parameter_group_name("default.postgres16")
                .parameter_apply_status("in-sync")
                .build(),
        )
        .db_subnet_group(
            rdst::DbSubnetGroup::builder()
                .db_subnet_group_name("kaapi-db-subnets")
                .build(),
        )
        .vpc_security_groups(
            rdst::VpcSecurityGroupMembership::builder()
                .vpc_security_group_id(SG)
                .status("active")
                .build(),
        )
        .master_username("kaapi")
        .db_name("kaapi")
        .master_user_secret(
            rdst::MasterUserSecret::builder()
                .secret_arn("arn:aws:secretsmanager:ap-south-1:024209611402:secret:rds!db-1-Xy12Ab")
                .secret_status("active")
                .build(),
        )
        .endpoint(
            rdst::Endpoint::builder()
                .address("kaapi-postgres.c9akciq32rvx.ap-south-1.rds.amazonaws.com")
                .port(5432)
                .build(),
        );
    rds::from_sdk(&edit(instance).build())
}

type GroupEdit = fn(ec::builders::ReplicationGroupBuilder) -> ec::builders::ReplicationGroupBuilder;
type MemberEdit = fn(ec::builders::CacheClusterBuilder) -> ec::builders::CacheClusterBuilder;

/// DescribeReplicationGroups' group and its primary member, matching the fixture state.
fn redis(group_edit: GroupEdit, member_edit: MemberEdit) -> LiveBacking {
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

type BrokerEdit =
    fn(
        aws_sdk_mq::operation::describe_broker::builders::DescribeBrokerOutputBuilder,
    ) -> aws_sdk_mq::operation::describe_broker::builders::DescribeBrokerOutputBuilder;

/// DescribeBroker's answer for the fixture state's broker (RabbitMQ lists no users).
fn rabbitmq(edit: BrokerEdit) -> LiveBacking {
    let broker = DescribeBrokerOutput::builder()
        .broker_id("b-4a3c5e4b")
        .broker_name("kaapi-rabbitmq")
        .broker_state(mqt::BrokerState::Running)
        .engine_type(mqt::EngineType::from("RabbitMQ"))
        .engine_version("3.13")
        .host_instance_type("mq.m5.xlarge")
        .deployment_mode(mqt::DeploymentMode::SingleInstance)
        .auto_minor_version_upgrade(true)
        .maintenance_window_start_time(
            mqt::WeeklyStartTime::builder()
                .day_of_week(mqt::DayOfWeek::Sunday)
                .time_of_day("21:00")
                .time_zone("UTC")
                .build(),
        )
        .publicly_accessible(false)
        .subnet_ids("subnet-0a1b2c3d4e5f60001")
        .security_groups(SG)
        .broker_instances(
            mqt::BrokerInstance::builder()
                .endpoints("amqps://b-4a3c5e4b.mq.ap-south-1.amazonaws.com:5671")
                .build(),
        );
    mq::from_sdk(&edit(broker).build())
}

/// One row: what differs from the fixture, and the class each field change gets.
struct Row {
    kind: BackingKind,
    what: &'static str,
    desired: Vec<(&'static str, Value)>,
    apply_immediately: bool,
    live: fn() -> LiveBacking,
    expected: &'static [(&'static str, ChangeClass)],
}

fn same<T>(builder: T) -> T {
    builder
}

fn rows() -> Vec<Row> {
    use BackingKind::{Postgres, Rabbitmq, Redis};
    let row = |kind, what, live: fn() -> LiveBacking, expected| Row {
        kind,
        what,
        desired: Vec::new(),
        apply_immediately: false,
        live,
        expected,
    };
    vec![
        // RDS PostgreSQL.
        row(Postgres, "fixture as is", || postgres(same), &[]),
        row(
            Postgres,
            "engine changed",
            || postgres(|b| b.engine("mysql")),
            &[("engine", NotAllowed)],
        ),
        row(
            Postgres,
            "patch release 16.4 matches \"16\"",
            || postgres(|b| b.engine_version("16.9")),
            &[],
        ),
        row(
            Postgres,
            "major 17 live: downgrade refused",
            || postgres(|b| b.engine_version("17.2")),
            &[("version", NotAllowed)],
        ),
        row(
            Postgres,
            "major 15 live: upgrade deferred",
            || postgres(|b| b.engine_version("15.8")),
            &[("version", Deferred)],
        ),
        Row {
            desired: vec![("instance_class", json!("db.r6g.large"))],
            ..row(
                Postgres,
                "instance class",
                || postgres(same),
                &[("instance_class", Deferred)],
            )
        },
        Row {
            desired: vec![("instance_class", json!("db.r6g.large"))],
            apply_immediately: true,
            ..row(
                Postgres,
                "instance class, apply_immediately",
                || postgres(same),
                &[("instance_class", InPlaceReboot)],
            )
        },
        row(
            Postgres,
            "instance class pending",
            || {
                postgres(|b| {
                    b.db_instance_class("db.t4g.medium")
                        .pending_modified_values(
                            rdst::PendingModifiedValues::builder()
                                .db_instance_class("db.t4g.large")
                                .build(),
                        )
                })
            },
            &[("instance_class", Pending)],
        ),
        row(
            Postgres,
            "storage grown by autoscaling within the maximum",
            || postgres(|b| b.allocated_storage(64)),
            &[],
        ),
        row(
            Postgres,
            "storage above the maximum: shrink refused",
            || postgres(|b| b.allocated_storage(250)),
            &[("storage_gb", NotAllowed)],
        ),
        row(
            Postgres,
            "storage below the state: grow deferred",
            || postgres(|b| b.allocated_storage(40)),
            &[("storage_gb", Deferred)],
        ),
        row(
            Postgres,
            "storage growth pending",
            || {
                postgres(|b| {
                    b.allocated_storage(40).pending_modified_values(
                        rdst::PendingModifiedValues::builder()
                            .allocated_storage(50)
                            .build(),
                    )
                })
            },
            &[("storage_gb", Pending)],
        ),
        row(
            Postgres,
            "autoscaling maximum",
            || postgres(|b| b.max_allocated_storage(100)),
            &[("max_storage_gb", InPlace)],
        ),
        row(
            Postgres,
            "autoscaling off (no MaxAllocatedStorage)",
            || postgres(|b| b.set_max_allocated_storage(None)),
            &[("max_storage_gb", InPlace)],
        ),
        row(
            Postgres,
            "storage type",
            || postgres(|b| b.storage_type("gp2")),
            &[("storage_type", Deferred)],
        ),
        row(
            Postgres,
            "multi-AZ",
            || postgres(|b| b.multi_az(false)),
            &[("multi_az", Deferred)],
        ),
        Row {
            apply_immediately: true,
            ..row(
                Postgres,
                "multi-AZ, apply_immediately",
                || postgres(|b| b.multi_az(false)),
                &[("multi_az", InPlace)],
            )
        },
        row(
            Postgres,
            "backup retention between non-zero values",
            || postgres(|b| b.backup_retention_period(7)),
            &[("backup_retention_days", InPlace)],
        ),
        row(
            Postgres,
            "backup retention from 0",
            || postgres(|b| b.backup_retention_period(0)),
            &[("backup_retention_days", Deferred)],
        ),
        Row {
            desired: vec![("backup_window", json!("20:00-20:30"))],
            ..row(
                Postgres,
                "backup window",
                || postgres(same),
                &[("backup_window", InPlace)],
            )
        },
        row(
            Postgres,
            "maintenance window",
            || postgres(|b| b.preferred_maintenance_window("mon:00:00-mon:00:30")),
            &[("maintenance_window", InPlace)],
        ),
        row(
            Postgres,
            "deletion protection off by hand",
            || postgres(|b| b.deletion_protection(false)),
            &[("deletion_protection", InPlace)],
        ),
        row(
            Postgres,
            "unencrypted storage",
            || postgres(|b| b.storage_encrypted(false)),
            &[("storage_encrypted", ForcesReplacement)],
        ),
        Row {
            desired: vec![("storage_encrypted", json!(false))],
            ..row(
                Postgres,
                "encryption off",
                || postgres(same),
                &[("storage_encrypted", NotAllowed)],
            )
        },
        Row {
            desired: vec![("parameter_group", json!("kaapi-postgres16"))],
            ..row(
                Postgres,
                "parameter group",
                || postgres(same),
                &[("parameter_group", InPlaceReboot)],
            )
        },
        Row {
            desired: vec![("subnet_group", json!("kaapi-db-private"))],
            ..row(
                Postgres,
                "subnet group",
                || postgres(same),
                &[("subnet_group", Deferred)],
            )
        },
        row(
            Postgres,
            "security groups",
            || {
                postgres(|b| {
                    b.set_vpc_security_groups(Some(vec![
                        rdst::VpcSecurityGroupMembership::builder()
                            .vpc_security_group_id("sg-0123")
                            .build(),
                    ]))
                })
            },
            &[("security_groups", InPlace)],
        ),
        row(
            Postgres,
            "master user name",
            || postgres(|b| b.master_username("postgres")),
            &[("master_username", ForcesReplacement)],
        ),
        row(
            Postgres,
            "database name",
            || postgres(|b| b.db_name("app")),
            &[("database", ForcesReplacement)],
        ),
        row(
            Postgres,
            "password not managed by RDS",
            || postgres(|b| b.set_master_user_secret(None)),
            &[("managed_master_password", InPlace)],
        ),
        // ElastiCache Redis.
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
        // Amazon MQ RabbitMQ.
        row(
            Rabbitmq,
            "fixture as is (no users listed)",
            || rabbitmq(same),
            &[],
        ),
        row(
            Rabbitmq,
            "engine changed",
            || rabbitmq(|b| b.engine_type(mqt::EngineType::Activemq)),
            &[("engine", NotAllowed)],
        ),
        row(
            Rabbitmq,
            "minor upgrade",
            || rabbitmq(|b| b.engine_version("3.12")),
            &[("version", Deferred)],
        ),
        row(
            Rabbitmq,
            "downgrade refused",
            || rabbitmq(|b| b.engine_version("4.0")),
            &[("version", NotAllowed)],
        ),
        row(
            Rabbitmq,
            "version pending",
            || rabbitmq(|b| b.engine_version("3.12").pending_engine_version("3.13")),
            &[("version", Pending)],
        ),
        row(
            Rabbitmq,
            "instance type",
            || rabbitmq(|b| b.host_instance_type("mq.m5.large")),
            &[("instance_type", Deferred)],
        ),
        row(
            Rabbitmq,
            "instance type pending",
            || {
                rabbitmq(|b| {
                    b.host_instance_type("mq.m5.large")
                        .pending_host_instance_type("mq.m5.xlarge")
                })
            },
            &[("instance_type", Pending)],
        ),
        row(
            Rabbitmq,
            "deployment mode",
            || rabbitmq(|b| b.deployment_mode(mqt::DeploymentMode::ClusterMultiAz)),
            &[("deployment_mode", ForcesReplacement)],
        ),
        row(
            Rabbitmq,
            "another admin user listed",
            || rabbitmq(|b| b.users(mqt::UserSummary::builder().username("admin").build())),
            &[("admin_user", ForcesReplacement)],
        ),
        row(
            Rabbitmq,
            "minor upgrades off",
            || rabbitmq(|b| b.auto_minor_version_upgrade(false)),
            &[("auto_minor_version_upgrade", InPlace)],
        ),
        row(
            Rabbitmq,
            "maintenance window",
            || {
                rabbitmq(|b| {
                    b.maintenance_window_start_time(
                        mqt::WeeklyStartTime::builder()
                            .day_of_week(mqt::DayOfWeek::Monday)
                            .time_of_day("21:00")
                            .time_zone("UTC")
                            .build(),
                    )
                })
            },
            &[("maintenance_window", InPlace)],
        ),
        row(
            Rabbitmq,
            "public",
            || rabbitmq(|b| b.publicly_accessible(true)),
            &[("publicly_accessible", ForcesReplacement)],
        ),
        row(
            Rabbitmq,
            "subnets",
            || rabbitmq(|b| b.set_subnet_ids(Some(vec!["subnet-0a1b2c3d4e5f60002".into()]))),
            &[("subnets", ForcesReplacement)],
        ),
        row(
            Rabbitmq,
            "security groups",
            || rabbitmq(|b| b.set_security_groups(Some(vec!["sg-0123".into()]))),
            &[("security_groups", InPlace)],
        ),
        row(
            Rabbitmq,
            "security groups pending",
            || {
                rabbitmq(|b| {
                    b.set_security_groups(Some(vec!["sg-0123".into()]))
                        .pending_security_groups(SG)
                })
            },
            &[("security_groups", Pending)],
        ),
    ]
}

#[test]
fn every_field_of_every_kind_is_classified_as_aws_applies_it() {
    let mut failures = Vec::new();
    for row in rows() {
        let mut desired = desired(row.kind);
        desired.apply_immediately = row.apply_immediately;
        for (field, value) in &row.desired {
            desired.settings.insert(field.to_string(), value.clone());
        }
        let assessment = assess(&desired, &(row.live)());
        let actual: Vec<(String, ChangeClass)> = assessment
            .fields
            .iter()
            .map(|field| (field.path.clone(), field.class.unwrap()))
            .collect();
        let expected: Vec<(String, ChangeClass)> = row
            .expected
            .iter()
            .map(|(field, class)| (field.to_string(), *class))
            .collect();
        if actual != expected {
            failures.push(format!(
                "{:?} {}: {actual:?}, expected {expected:?}",
                row.kind, row.what
            ));
        }
        // Writes are exactly the fields that are neither pending, refused nor replacing.
        let writes: Vec<&String> = assessment.writes.keys().collect();
        let mut wanted: Vec<String> = row
            .expected
            .iter()
            .filter(|(_, class)| matches!(class, InPlace | InPlaceReboot | Deferred))
            .map(|(field, _)| field.to_string())
            .collect();
        wanted.sort();
        if writes != wanted.iter().collect::<Vec<_>>() {
            failures.push(format!("{:?} {}: writes {writes:?}", row.kind, row.what));
        }
        assert_eq!(
            assessment.replace,
            row.expected.iter().any(|(_, c)| *c == ForcesReplacement),
            "{}",
            row.what
        );
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

#[test]
fn the_table_covers_every_managed_field() {
    for kind in [
        BackingKind::Postgres,
        BackingKind::Redis,
        BackingKind::Rabbitmq,
    ] {
        let covered: std::collections::BTreeSet<&str> = rows()
            .iter()
            .filter(|row| row.kind == kind)
            .flat_map(|row| row.expected.iter().map(|(field, _)| *field))
            .collect();
        let fields: std::collections::BTreeSet<&str> = managed_fields(kind).into_iter().collect();
        assert_eq!(covered, fields, "{kind:?}");
    }
}

#[test]
fn outputs_come_from_the_endpoints_aws_reports() {
    let pg = postgres(same);
    assert_eq!(
        pg.outputs["address"],
        "kaapi-postgres.c9akciq32rvx.ap-south-1.rds.amazonaws.com"
    );
    assert_eq!(pg.outputs["port"], "5432");
    assert_eq!(
        pg.outputs["master_password"],
        "arn:aws:secretsmanager:ap-south-1:024209611402:secret:rds!db-1-Xy12Ab:password::"
    );
    let cache = redis(same, same);
    assert_eq!(
        cache.outputs["address"],
        "master.kaapi-redis.x1y2z3.aps1.cache.amazonaws.com"
    );
    let broker = rabbitmq(same);
    assert_eq!(
        broker.outputs["endpoint"],
        "amqps://b-4a3c5e4b.mq.ap-south-1.amazonaws.com:5671"
    );
    assert_eq!(
        broker.outputs["address"],
        "b-4a3c5e4b.mq.ap-south-1.amazonaws.com"
    );
    assert_eq!(broker.outputs["port"], "5671");
    assert_eq!(broker.id, "b-4a3c5e4b");
}
