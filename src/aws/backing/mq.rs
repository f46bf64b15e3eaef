//! Amazon MQ for RabbitMQ: brokers read into the model (pending engine version and instance type
//! included), and the writes. Brokers are addressed by id; names are found through ListBrokers.

use std::collections::BTreeMap;

use aws_sdk_mq::operation::create_broker::builders::CreateBrokerFluentBuilder;
use aws_sdk_mq::operation::describe_broker::DescribeBrokerOutput;
use aws_sdk_mq::operation::update_broker::builders::UpdateBrokerFluentBuilder;
use aws_sdk_mq::types::{
    BrokerSummary, DayOfWeek, DeploymentMode, EngineType, User, WeeklyStartTime,
};
use serde_json::{Value, json};

use super::settings::{
    Field, as_bool, as_list, as_text, create_with, from_bool, from_text, modify_with, read_all,
    sorted_ids,
};
use crate::aws::{Aws, AwsError, SharedReads};
use crate::model::{BackingKind, LiveBacking};
use crate::plan::{BackingModify, BackingWrite};

const DAYS: [(&str, DayOfWeek); 7] = [
    ("mon", DayOfWeek::Monday),
    ("tue", DayOfWeek::Tuesday),
    ("wed", DayOfWeek::Wednesday),
    ("thu", DayOfWeek::Thursday),
    ("fri", DayOfWeek::Friday),
    ("sat", DayOfWeek::Saturday),
    ("sun", DayOfWeek::Sunday),
];

/// Every broker of the region (paged).
pub(super) async fn list(aws: &Aws) -> Result<Vec<BrokerSummary>, AwsError> {
    SharedReads::once(aws, |shared| &shared.mq, || list_region(aws)).await
}

async fn list_region(aws: &Aws) -> Result<Vec<BrokerSummary>, AwsError> {
    aws.mq
        .list_brokers()
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .map_err(|e| AwsError::call("ListBrokers", "in the region", e))
}

/// One broker by id.
pub(super) async fn describe_id(aws: &Aws, id: &str) -> Result<DescribeBrokerOutput, AwsError> {
    aws.mq
        .describe_broker()
        .broker_id(id)
        .send()
        .await
        .map_err(|e| AwsError::call("DescribeBroker", id.to_string(), e))
}

/// One broker by name, or `None`.
pub(super) async fn describe(aws: &Aws, name: &str) -> Result<Option<LiveBacking>, AwsError> {
    // After a write: always a fresh list.
    let brokers = list_region(aws).await?;
    let Some(id) = brokers
        .iter()
        .find(|broker| broker.broker_name() == Some(name))
        .and_then(|broker| broker.broker_id())
    else {
        return Ok(None);
    };
    Ok(Some(from_sdk(&describe_id(aws, id).await?)))
}

/// `sun:03:00` from a weekly start time.
fn window(start: &WeeklyStartTime) -> Option<String> {
    let day = DAYS
        .iter()
        .find(|(_, day)| start.day_of_week() == Some(day))
        .map(|(name, _)| *name)?;
    Some(format!("{day}:{}", start.time_of_day()?))
}

type MqField = Field<DescribeBrokerOutput, CreateBrokerFluentBuilder, UpdateBrokerFluentBuilder>;

fn ids(list: &[String]) -> Value {
    sorted_ids(list.iter().map(String::as_str))
}

/// Every field of an Amazon MQ for RabbitMQ broker, by state-file name: read from DescribeBroker
/// (pending engine version, instance type and security groups included), set on CreateBroker and
/// UpdateBroker. RabbitMQ brokers take their users and network only at creation; the admin user
/// is created with its password (`create`).
pub(super) const FIELDS: &[MqField] = &[
    MqField::read("engine", |b| {
        b.engine_type()
            .map(|engine| json!(engine.as_str().to_ascii_lowercase()))
    }),
    MqField::read("version", |b| from_text(b.engine_version()))
        .pending(|b| from_text(b.pending_engine_version()))
        .create(|r, v| r.set_engine_version(as_text(v)))
        .modify(|r, v| r.set_engine_version(as_text(v))),
    MqField::read("instance_type", |b| from_text(b.host_instance_type()))
        .pending(|b| from_text(b.pending_host_instance_type()))
        .create(|r, v| r.set_host_instance_type(as_text(v)))
        .modify(|r, v| r.set_host_instance_type(as_text(v))),
    MqField::read("deployment_mode", |b| {
        b.deployment_mode().map(|mode| json!(mode.as_str()))
    })
    .create(|r, v| {
        r.set_deployment_mode(as_text(v).map(|mode| DeploymentMode::from(mode.as_str())))
    }),
    // RabbitMQ brokers list no users through the API: unknown, never a difference.
    MqField::read("admin_user", |b| from_text(b.users().first()?.username())),
    MqField::read("auto_minor_version_upgrade", |b| {
        from_bool(b.auto_minor_version_upgrade())
    })
    .create(|r, v| r.set_auto_minor_version_upgrade(as_bool(v)))
    .modify(|r, v| r.set_auto_minor_version_upgrade(as_bool(v))),
    MqField::read("maintenance_window", |b| {
        b.maintenance_window_start_time()
            .and_then(window)
            .map(Value::from)
    })
    .create(|r, v| r.set_maintenance_window_start_time(start_time(as_text(v))))
    .modify(|r, v| r.set_maintenance_window_start_time(start_time(as_text(v)))),
    MqField::read("publicly_accessible", |b| {
        from_bool(b.publicly_accessible())
    })
    .create(|r, v| r.set_publicly_accessible(as_bool(v))),
    MqField::read("subnets", |b| Some(ids(b.subnet_ids())))
        .create(|r, v| r.set_subnet_ids(as_list(v))),
    MqField::read("security_groups", |b| Some(ids(b.security_groups())))
        .pending(|b| {
            let pending = b.pending_security_groups();
            (!pending.is_empty()).then(|| ids(pending))
        })
        .create(|r, v| r.set_security_groups(as_list(v)))
        .modify(|r, v| r.set_security_groups(as_list(v))),
];

/// The model of a broker.
pub fn from_sdk(broker: &DescribeBrokerOutput) -> LiveBacking {
    let (settings, pending) = read_all(FIELDS, broker);
    let mut outputs = BTreeMap::new();
    if let Some(endpoint) = broker
        .broker_instances()
        .first()
        .and_then(|instance| instance.endpoints().first())
    {
        outputs.insert("endpoint".to_string(), endpoint.clone());
        // amqps://HOST:PORT
        let authority = endpoint
            .split_once("://")
            .map_or(endpoint.as_str(), |(_, rest)| rest);
        if let Some((host, port)) = authority.rsplit_once(':') {
            outputs.insert("address".to_string(), host.to_string());
            outputs.insert("port".to_string(), port.to_string());
        }
    }
    LiveBacking {
        kind: Some(BackingKind::Rabbitmq),
        name: broker.broker_name().unwrap_or_default().to_string(),
        id: broker.broker_id().unwrap_or_default().to_string(),
        arn: broker.broker_arn().unwrap_or_default().to_string(),
        status: broker
            .broker_state()
            .map(|state| state.as_str().to_string())
            .unwrap_or_default(),
        settings,
        pending,
        outputs,
        tags: Some(
            broker
                .tags()
                .map(|tags| tags.clone().into_iter().collect())
                .unwrap_or_default(),
        ),
    }
}

fn start_time(window: Option<String>) -> Option<WeeklyStartTime> {
    let window = window?;
    let (day, time) = window.split_once(':')?;
    let (_, day) = DAYS.iter().find(|(name, _)| *name == day)?;
    Some(
        WeeklyStartTime::builder()
            .day_of_week(day.clone())
            .time_of_day(time)
            .time_zone("UTC")
            .build(),
    )
}

/// CreateBroker with an idempotency token, the admin user with its password; returns the broker id.
pub(super) async fn create(
    aws: &Aws,
    backing: &BackingWrite,
    password: String,
    token: String,
) -> Result<String, AwsError> {
    let admin = backing.settings.get("admin_user").and_then(as_text);
    let request = aws
        .mq
        .create_broker()
        .creator_request_id(token)
        .broker_name(&backing.name)
        .engine_type(EngineType::Rabbitmq)
        .users(
            User::builder()
                .set_username(admin)
                .password(password)
                .build(),
        )
        .set_tags(Some(backing.tags.clone().into_iter().collect()));
    let output = create_with(FIELDS, request, &backing.settings)
        .send()
        .await
        .map_err(|e| AwsError::call("CreateBroker", &backing.name, e))?;
    Ok(output.broker_id().unwrap_or_default().to_string())
}

/// CreateTags: adds or corrects tags, never removes any.
pub(super) async fn tag(
    aws: &Aws,
    arn: &str,
    tags: &BTreeMap<String, String>,
) -> Result<(), AwsError> {
    aws.mq
        .create_tags()
        .resource_arn(arn)
        .set_tags(Some(tags.clone().into_iter().collect()))
        .send()
        .await
        .map_err(|e| AwsError::call("CreateTags", arn, e))?;
    Ok(())
}

/// UpdateBroker with only the fields that change.
pub(super) async fn modify(aws: &Aws, modify: &BackingModify) -> Result<(), AwsError> {
    let request = aws.mq.update_broker().broker_id(&modify.id);
    modify_with(FIELDS, request, &modify.changes)
        .send()
        .await
        .map_err(|e| AwsError::call("UpdateBroker", &modify.id, e))?;
    Ok(())
}

/// DeleteBroker (Amazon MQ keeps no snapshot of a broker).
pub(super) async fn delete(aws: &Aws, id: &str) -> Result<String, AwsError> {
    aws.mq
        .delete_broker()
        .broker_id(id)
        .send()
        .await
        .map_err(|e| AwsError::call("DeleteBroker", id.to_string(), e))?;
    Ok("deleted".into())
}
