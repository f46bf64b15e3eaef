//! RDS for PostgreSQL: DB instances read into the model (pending modifications included), and the
//! writes a plan asks for: create, modify, and delete with a final snapshot.

use std::collections::BTreeMap;

use aws_sdk_rds::types::{DbInstance, Tag};
use serde_json::{Value, json};

use super::settings::{Fields, Setting, int, sorted_ids, text};
use crate::aws::{Aws, AwsError};
use crate::model::{BackingKind, LiveBacking};

/// Every DB instance of the region (paged): one read serves the managed instances and those no
/// entry names any more.
pub(super) async fn list(aws: &Aws) -> Result<Vec<DbInstance>, AwsError> {
    aws.rds
        .describe_db_instances()
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .map_err(|e| AwsError::new("DescribeDBInstances", "in the region", e))
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
        Err(error) => Err(AwsError::new(
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

/// The model of a DB instance, settings keyed by the state file's field names.
pub fn from_sdk(instance: &DbInstance) -> LiveBacking {
    let mut fields = Fields::default();
    let mut set = |field: &str, value: Option<Value>| fields.set(field, value);
    set("engine", text(instance.engine()));
    set("version", text(instance.engine_version()));
    set("instance_class", text(instance.db_instance_class()));
    set("storage_gb", int(instance.allocated_storage()));
    // RDS leaves MaxAllocatedStorage out when storage autoscaling is off.
    set(
        "max_storage_gb",
        Some(json!(instance.max_allocated_storage().unwrap_or(0))),
    );
    set("storage_type", text(instance.storage_type()));
    set("multi_az", instance.multi_az().map(Value::from));
    set(
        "backup_retention_days",
        int(instance.backup_retention_period()),
    );
    set("backup_window", text(instance.preferred_backup_window()));
    set(
        "maintenance_window",
        text(instance.preferred_maintenance_window()),
    );
    set(
        "deletion_protection",
        instance.deletion_protection().map(Value::from),
    );
    set(
        "storage_encrypted",
        instance.storage_encrypted().map(Value::from),
    );
    set(
        "parameter_group",
        text(
            instance
                .db_parameter_groups()
                .first()
                .and_then(|group| group.db_parameter_group_name()),
        ),
    );
    set(
        "subnet_group",
        text(
            instance
                .db_subnet_group()
                .and_then(|group| group.db_subnet_group_name()),
        ),
    );
    set(
        "security_groups",
        Some(sorted_ids(
            instance
                .vpc_security_groups()
                .iter()
                .filter_map(|group| group.vpc_security_group_id()),
        )),
    );
    set("master_username", text(instance.master_username()));
    set("database", text(instance.db_name()));
    set(
        "managed_master_password",
        Some(json!(instance.master_user_secret().is_some())),
    );

    let mut pending = Fields::default();
    if let Some(values) = instance.pending_modified_values() {
        let mut set = |field: &str, value: Option<Value>| pending.set(field, value);
        set("instance_class", text(values.db_instance_class()));
        set("storage_gb", int(values.allocated_storage()));
        set("version", text(values.engine_version()));
        set("multi_az", values.multi_az().map(Value::from));
        set("storage_type", text(values.storage_type()));
        set(
            "backup_retention_days",
            int(values.backup_retention_period()),
        );
        set("subnet_group", text(values.db_subnet_group_name()));
    }

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
        settings: fields.0,
        pending: pending.0,
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
        .map_err(|e| AwsError::new("AddTagsToResource", arn.to_string(), e))?;
    Ok(())
}

/// CreateDBInstance with the master password managed by RDS in Secrets Manager.
pub(super) async fn create(
    aws: &Aws,
    name: &str,
    settings: &Setting<'_>,
    tags: &BTreeMap<String, String>,
) -> Result<(), AwsError> {
    aws.rds
        .create_db_instance()
        .db_instance_identifier(name)
        .engine("postgres")
        .set_engine_version(settings.text("version"))
        .set_db_instance_class(settings.text("instance_class"))
        .set_allocated_storage(settings.int("storage_gb"))
        .set_max_allocated_storage(settings.int("max_storage_gb").filter(|max| *max > 0))
        .set_storage_type(settings.text("storage_type"))
        .set_multi_az(settings.bool("multi_az"))
        .set_backup_retention_period(settings.int("backup_retention_days"))
        .set_preferred_backup_window(settings.text("backup_window"))
        .set_preferred_maintenance_window(settings.text("maintenance_window"))
        .set_deletion_protection(settings.bool("deletion_protection"))
        .set_storage_encrypted(settings.bool("storage_encrypted"))
        .set_db_parameter_group_name(settings.text("parameter_group"))
        .set_db_subnet_group_name(settings.text("subnet_group"))
        .set_vpc_security_group_ids(settings.list("security_groups"))
        .set_master_username(settings.text("master_username"))
        .manage_master_user_password(true)
        .set_db_name(settings.text("database"))
        .publicly_accessible(false)
        .set_tags(Some(sdk_tags(tags)))
        .send()
        .await
        .map_err(|e| AwsError::new("CreateDBInstance", name.to_string(), e))?;
    Ok(())
}

/// ModifyDBInstance with only the fields that change.
pub(super) async fn modify(
    aws: &Aws,
    name: &str,
    changes: &Setting<'_>,
    before: &Setting<'_>,
    apply_immediately: bool,
) -> Result<(), AwsError> {
    let major = |setting: &Setting| {
        setting
            .text("version")
            .and_then(|v| v.split('.').next().map(str::to_string))
    };
    let major_upgrade = changes.text("version").is_some() && major(changes) != major(before);
    aws.rds
        .modify_db_instance()
        .db_instance_identifier(name)
        .apply_immediately(apply_immediately)
        .set_engine_version(changes.text("version"))
        .set_allow_major_version_upgrade(major_upgrade.then_some(true))
        .set_db_instance_class(changes.text("instance_class"))
        .set_allocated_storage(changes.int("storage_gb"))
        .set_max_allocated_storage(changes.int("max_storage_gb"))
        .set_storage_type(changes.text("storage_type"))
        .set_multi_az(changes.bool("multi_az"))
        .set_backup_retention_period(changes.int("backup_retention_days"))
        .set_preferred_backup_window(changes.text("backup_window"))
        .set_preferred_maintenance_window(changes.text("maintenance_window"))
        .set_deletion_protection(changes.bool("deletion_protection"))
        .set_db_parameter_group_name(changes.text("parameter_group"))
        .set_db_subnet_group_name(changes.text("subnet_group"))
        .set_vpc_security_group_ids(changes.list("security_groups"))
        .set_manage_master_user_password(changes.bool("managed_master_password"))
        .send()
        .await
        .map_err(|e| AwsError::new("ModifyDBInstance", name.to_string(), e))?;
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
            .map_err(|e| AwsError::new("ModifyDBInstance", name.to_string(), e))?;
    }
    aws.rds
        .delete_db_instance()
        .db_instance_identifier(name)
        .skip_final_snapshot(false)
        .final_db_snapshot_identifier(snapshot)
        .delete_automated_backups(false)
        .send()
        .await
        .map_err(|e| AwsError::new("DeleteDBInstance", name.to_string(), e))?;
    Ok(format!("final snapshot {snapshot}"))
}
