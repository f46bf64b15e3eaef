//! RDS for PostgreSQL: DB instances read into the model (pending modifications included), and the
//! writes a plan asks for: create, modify, and delete with a final snapshot.

use std::collections::BTreeMap;

use aws_sdk_rds::operation::create_db_instance::builders::CreateDBInstanceFluentBuilder;
use aws_sdk_rds::operation::modify_db_instance::builders::ModifyDBInstanceFluentBuilder;
use aws_sdk_rds::types::{DbInstance, Tag};
use serde_json::{Value, json};

use super::settings::{
    Field, as_bool, as_int, as_list, as_text, create_with, from_bool, from_int, from_text,
    modify_with, read_all, sorted_ids,
};
use crate::aws::{Aws, AwsError, SharedReads};
use crate::model::{BackingKind, LiveBacking};
use crate::plan::BackingModify;

/// Every DB instance of the region (paged): one read serves the managed instances and those no
/// entry names any more.
pub(super) async fn list(aws: &Aws) -> Result<Vec<DbInstance>, AwsError> {
    SharedReads::once(aws, |shared| &shared.rds, || list_region(aws)).await
}

async fn list_region(aws: &Aws) -> Result<Vec<DbInstance>, AwsError> {
    aws.rds
        .describe_db_instances()
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .map_err(|e| AwsError::call("DescribeDBInstances", "in the region", e))
}

/// One DB instance by identifier, or `None` when it does not exist.
pub(super) async fn describe(aws: &Aws, name: &str) -> Result<Option<LiveBacking>, AwsError> {
    let result = aws
        .rds
        .describe_db_instances()
        .db_instance_identifier(name)
        .send()
        .await;
    match result {
        Ok(output) => Ok(output.db_instances().first().map(from_sdk)),
        Err(error)
            if error
                .as_service_error()
                .is_some_and(|e| e.is_db_instance_not_found_fault()) =>
        {
            Ok(None)
        }
        Err(error) => Err(AwsError::call(
            "DescribeDBInstances",
            name.to_string(),
            error,
        )),
    }
}

pub(super) fn tags(instance: &DbInstance) -> BTreeMap<String, String> {
    instance
        .tag_list()
        .iter()
        .filter_map(|tag| Some((tag.key()?.to_string(), tag.value()?.to_string())))
        .collect()
}

type RdsField = Field<DbInstance, CreateDBInstanceFluentBuilder, ModifyDBInstanceFluentBuilder>;

/// Every field of an RDS for PostgreSQL instance, by state-file name: read from
/// DescribeDBInstances (pending values from PendingModifiedValues), set on CreateDBInstance and
/// on ModifyDBInstance. The engine, the managed master password and public access are fixed at
/// creation (`create`).
pub(super) const FIELDS: &[RdsField] = &[
    RdsField::read("engine", |i| from_text(i.engine())),
    RdsField::read("version", |i| from_text(i.engine_version()))
        .pending(|i| from_text(i.pending_modified_values()?.engine_version()))
        .create(|r, v| r.set_engine_version(as_text(v)))
        .modify(|r, v| r.set_engine_version(as_text(v))),
    RdsField::read("instance_class", |i| from_text(i.db_instance_class()))
        .pending(|i| from_text(i.pending_modified_values()?.db_instance_class()))
        .create(|r, v| r.set_db_instance_class(as_text(v)))
        .modify(|r, v| r.set_db_instance_class(as_text(v))),
    RdsField::read("storage_gb", |i| from_int(i.allocated_storage()))
        .pending(|i| from_int(i.pending_modified_values()?.allocated_storage()))
        .create(|r, v| r.set_allocated_storage(as_int(v)))
        .modify(|r, v| r.set_allocated_storage(as_int(v))),
    // RDS leaves MaxAllocatedStorage out when storage autoscaling is off: 0, as the state says it.
    RdsField::read("max_storage_gb", |i| {
        Some(json!(i.max_allocated_storage().unwrap_or(0)))
    })
    .create(|r, v| r.set_max_allocated_storage(as_int(v).filter(|max| *max > 0)))
    .modify(|r, v| r.set_max_allocated_storage(as_int(v))),
    RdsField::read("storage_type", |i| from_text(i.storage_type()))
        .pending(|i| from_text(i.pending_modified_values()?.storage_type()))
        .create(|r, v| r.set_storage_type(as_text(v)))
        .modify(|r, v| r.set_storage_type(as_text(v))),
    RdsField::read("multi_az", |i| from_bool(i.multi_az()))
        .pending(|i| from_bool(i.pending_modified_values()?.multi_az()))
        .create(|r, v| r.set_multi_az(as_bool(v)))
        .modify(|r, v| r.set_multi_az(as_bool(v))),
    RdsField::read("backup_retention_days", |i| {
        from_int(i.backup_retention_period())
    })
    .pending(|i| from_int(i.pending_modified_values()?.backup_retention_period()))
    .create(|r, v| r.set_backup_retention_period(as_int(v)))
    .modify(|r, v| r.set_backup_retention_period(as_int(v))),
    RdsField::read("backup_window", |i| from_text(i.preferred_backup_window()))
        .create(|r, v| r.set_preferred_backup_window(as_text(v)))
        .modify(|r, v| r.set_preferred_backup_window(as_text(v))),
    RdsField::read("maintenance_window", |i| {
        from_text(i.preferred_maintenance_window())
    })
    .create(|r, v| r.set_preferred_maintenance_window(as_text(v)))
    .modify(|r, v| r.set_preferred_maintenance_window(as_text(v))),
    RdsField::read("deletion_protection", |i| {
        from_bool(i.deletion_protection())
    })
    .create(|r, v| r.set_deletion_protection(as_bool(v)))
    .modify(|r, v| r.set_deletion_protection(as_bool(v))),
    RdsField::read("storage_encrypted", |i| from_bool(i.storage_encrypted()))
        .create(|r, v| r.set_storage_encrypted(as_bool(v))),
    RdsField::read("parameter_group", |i| {
        from_text(i.db_parameter_groups().first()?.db_parameter_group_name())
    })
    .create(|r, v| r.set_db_parameter_group_name(as_text(v)))
    .modify(|r, v| r.set_db_parameter_group_name(as_text(v))),
    RdsField::read("subnet_group", |i| {
        from_text(i.db_subnet_group()?.db_subnet_group_name())
    })
    .pending(|i| from_text(i.pending_modified_values()?.db_subnet_group_name()))
    .create(|r, v| r.set_db_subnet_group_name(as_text(v)))
    .modify(|r, v| r.set_db_subnet_group_name(as_text(v))),
    RdsField::read("security_groups", |i| {
        Some(sorted_ids(
            i.vpc_security_groups()
                .iter()
                .filter_map(|group| group.vpc_security_group_id()),
        ))
    })
    .create(|r, v| r.set_vpc_security_group_ids(as_list(v)))
    .modify(|r, v| r.set_vpc_security_group_ids(as_list(v))),
    RdsField::read("master_username", |i| from_text(i.master_username()))
        .create(|r, v| r.set_master_username(as_text(v))),
    RdsField::read("database", |i| from_text(i.db_name())).create(|r, v| r.set_db_name(as_text(v))),
    RdsField::read("managed_master_password", |i| {
        Some(json!(i.master_user_secret().is_some()))
    })
    .modify(|r, v| r.set_manage_master_user_password(as_bool(v))),
];

/// The model of a DB instance, settings keyed by the state file's field names.
pub fn from_sdk(instance: &DbInstance) -> LiveBacking {
    let (settings, pending) = read_all(FIELDS, instance);
    let mut outputs = BTreeMap::new();
    if let Some(endpoint) = instance.endpoint() {
        if let Some(address) = endpoint.address() {
            outputs.insert("address".to_string(), address.to_string());
        }
        if let Some(port) = endpoint.port() {
            outputs.insert("port".to_string(), port.to_string());
        }
    }
    if let Some(arn) = instance
        .master_user_secret()
        .and_then(|secret| secret.secret_arn())
    {
        // The RDS-managed secret is JSON with `username` and `password`; ECS injects one key.
        outputs.insert("master_password".to_string(), format!("{arn}:password::"));
    }
    let name = instance
        .db_instance_identifier()
        .unwrap_or_default()
        .to_string();
    LiveBacking {
        kind: Some(BackingKind::Postgres),
        id: name.clone(),
        name,
        arn: instance.db_instance_arn().unwrap_or_default().to_string(),
        status: instance
            .db_instance_status()
            .unwrap_or_default()
            .to_string(),
        settings,
        pending,
        outputs,
        tags: Some(tags(instance)),
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
    aws.rds
        .add_tags_to_resource()
        .resource_name(arn)
        .set_tags(Some(sdk_tags(tags)))
        .send()
        .await
        .map_err(|e| AwsError::call("AddTagsToResource", arn.to_string(), e))?;
    Ok(())
}

/// CreateDBInstance with the master password managed by RDS in Secrets Manager. `Ok(false)` when
/// the instance exists already and carries `tags`' environment: a retried create whose first
/// answer was lost (RDS takes no client token).
pub(super) async fn create(
    aws: &Aws,
    name: &str,
    settings: &BTreeMap<String, Value>,
    tags: &BTreeMap<String, String>,
) -> Result<bool, AwsError> {
    let request = aws
        .rds
        .create_db_instance()
        .db_instance_identifier(name)
        .engine("postgres")
        .manage_master_user_password(true)
        .publicly_accessible(false)
        .set_tags(Some(sdk_tags(tags)));
    match create_with(FIELDS, request, settings).send().await {
        Ok(_) => Ok(true),
        Err(error)
            if error
                .as_service_error()
                .is_some_and(|e| e.is_db_instance_already_exists_fault()) =>
        {
            let existing = describe(aws, name).await?;
            if existing.is_some_and(|live| super::settings::same_owner(live.tags.as_ref(), tags)) {
                Ok(false)
            } else {
                Err(AwsError::call("CreateDBInstance", name, error))
            }
        }
        Err(error) => Err(AwsError::call("CreateDBInstance", name, error)),
    }
}

/// ModifyDBInstance with only the fields that change.
pub(super) async fn modify(aws: &Aws, modify: &BackingModify) -> Result<(), AwsError> {
    let request = aws
        .rds
        .modify_db_instance()
        .db_instance_identifier(&modify.name)
        .apply_immediately(modify.apply_immediately)
        .set_allow_major_version_upgrade(modify.allow_major_version_upgrade.then_some(true));
    modify_with(FIELDS, request, &modify.changes)
        .send()
        .await
        .map_err(|e| AwsError::call("ModifyDBInstance", &modify.name, e))?;
    Ok(())
}

/// Turns deletion protection off when it is on, then deletes with a final snapshot.
pub(super) async fn delete(
    aws: &Aws,
    name: &str,
    deletion_protected: bool,
    snapshot: &str,
) -> Result<String, AwsError> {
    if deletion_protected {
        aws.rds
            .modify_db_instance()
            .db_instance_identifier(name)
            .deletion_protection(false)
            .apply_immediately(true)
            .send()
            .await
            .map_err(|e| AwsError::call("ModifyDBInstance", name.to_string(), e))?;
    }
    aws.rds
        .delete_db_instance()
        .db_instance_identifier(name)
        .skip_final_snapshot(false)
        .final_db_snapshot_identifier(snapshot)
        .delete_automated_backups(false)
        .send()
        .await
        .map_err(|e| AwsError::call("DeleteDBInstance", name.to_string(), e))?;
    Ok(format!("final snapshot {snapshot}"))
}
