//! RDS PostgreSQL rows: a DescribeDBInstances answer and every field's classification.

use aws_sdk_rds::types as rdst;

use super::super::rds;
use serde_json::json;

use super::support::{Row, row, same};
use crate::model::BackingKind::Postgres;
use crate::model::LiveBacking;
use crate::plan::ChangeClass::{
    Deferred, ForcesReplacement, InPlace, InPlaceReboot, NotAllowed, Pending,
};

const SG: &str = super::support::SG;

/// DescribeDBInstances' instance matching the fixture state, storage as created.
pub(super) fn postgres(
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

/// The rows of this kind.
pub(super) fn rows() -> Vec<Row> {
    vec![
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
            desired: vec![("version", json!("15"))],
            ..row(
                Postgres,
                "a major alone, lower than the live major: refused",
                || postgres(|b| b.engine_version("16")),
                &[("version", NotAllowed)],
            )
        },
        Row {
            desired: vec![("version", json!("16.3"))],
            ..row(
                Postgres,
                "pinned 16.3, AWS upgraded to 16.4: no change, no refusal",
                || postgres(|b| b.engine_version("16.4")),
                &[],
            )
        },
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
    ]
}
