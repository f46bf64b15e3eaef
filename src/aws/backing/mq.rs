//! Amazon MQ for RabbitMQ: brokers read into the model (pending engine version and instance type
//! included), and the writes. Brokers are addressed by id; names are found through ListBrokers.

use std::collections::BTreeMap;

use aws_sdk_mq::operation::describe_broker::DescribeBrokerOutput;
use aws_sdk_mq::types::{
    BrokerSummary, DayOfWeek, DeploymentMode, EngineType, User, WeeklyStartTime,
};
use serde_json::{Value, json};

use super::settings::{Fields, Setting, sorted_ids, text};
use crate::aws::{Aws, AwsError};
use crate::model::{BackingKind, LiveBacking};

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
    aws.mq
        .list_brokers()
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .map_err(|e| AwsError::new("ListBrokers", "in the region", e))
}

/// One broker by id.
pub(super) async fn describe_id(aws: &Aws, id: &str) -> Result<DescribeBrokerOutput, AwsError> {
    aws.mq
        .describe_broker()
        .broker_id(id)
        .send()
        .await
        .map_err(|e| AwsError::new("DescribeBroker", id.to_string(), e))
}

/// One broker by name, or `None`.
pub(super) async fn describe(aws: &Aws, name: &str) -> Result<Option<LiveBacking>, AwsError> {
    let brokers = list(aws).await?;
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

/// The model of a broker.
pub fn from_sdk(broker: &DescribeBrokerOutput) -> LiveBacking {
    let mut fields = Fields::default();
    let mut set = |field: &str, value: Option<Value>| fields.set(field, value);
    set(
        "engine",
        broker
            .engine_type()
            .map(|engine| json!(engine.as_str().to_ascii_lowercase())),
    );
    set("version", text(broker.engine_version()));
    set("instance_type", text(broker.host_instance_type()));
    set(
        "deployment_mode",
        broker.deployment_mode().map(|mode| json!(mode.as_str())),
    );
    // RabbitMQ brokers list no users through the API: unknown, never a difference.
    set(
        "admin_user",
        text(broker.users().first().and_then(|user| user.username())),
    );
    set(
        "auto_minor_version_upgrade",
        broker.auto_minor_version_upgrade().map(Value::from),
    );
    set(
        "maintenance_window",
        broker
            .maintenance_window_start_time()
            .and_then(window)
            .map(Value::from),
    );
    set(
        "publicly_accessible",
        broker.publicly_accessible().map(Value::from),
    );
    let ids = |list: &[String]| sorted_ids(list.iter().map(String::as_str));
    set("subnets", Some(ids(broker.subnet_ids())));
    set("security_groups", Some(ids(broker.security_groups())));

    let mut pending = Fields::default();
    pending.set("version", text(broker.pending_engine_version()));
    pending.set("instance_type", text(broker.pending_host_instance_type()));
    if !broker.pending_security_groups().is_empty() {
        pending.set(
            "security_groups",
            Some(ids(broker.pending_security_groups())),
        );
    }

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
        settings: fields.0,
        pending: pending.0,
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

/// CreateBroker with an idempotency token; returns the broker id.
pub(super) async fn create(
    aws: &Aws,
    name: &str,
    settings: &Setting<'_>,
    password: String,
    tags: &BTreeMap<String, String>,
    token: String,
) -> Result<String, AwsError> {
    let output = aws
        .mq
        .create_broker()
        .creator_request_id(token)
        .broker_name(name)
        .engine_type(EngineType::Rabbitmq)
        .set_engine_version(settings.text("version"))
        .set_host_instance_type(settings.text("instance_type"))
        .set_deployment_mode(
            settings
                .text("deployment_mode")
                .map(|mode| DeploymentMode::from(mode.as_str())),
        )
        .users(
            User::builder()
                .set_username(settings.text("admin_user"))
                .password(password)
                .build(),
        )
        .set_auto_minor_version_upgrade(settings.bool("auto_minor_version_upgrade"))
        .set_maintenance_window_start_time(start_time(settings.text("maintenance_window")))
        .set_publicly_accessible(settings.bool("publicly_accessible"))
        .set_subnet_ids(settings.list("subnets"))
        .set_security_groups(settings.list("security_groups"))
        .set_tags(Some(tags.clone().into_iter().collect()))
        .send()
        .await
        .map_err(|e| AwsError::new("CreateBroker", name.to_string(), e))?;
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
        .map_err(|e| AwsError::new("CreateTags", arn.to_string(), e))?;
    Ok(())
}

/// UpdateBroker with only the fields that change.
pub(super) async fn modify(aws: &Aws, id: &str, changes: &Setting<'_>) -> Result<(), AwsError> {
    aws.mq
        .update_broker()
        .broker_id(id)
        .set_engine_version(changes.text("version"))
        .set_host_instance_type(changes.text("instance_type"))
        .set_auto_minor_version_upgrade(changes.bool("auto_minor_version_upgrade"))
        .set_maintenance_window_start_time(start_time(changes.text("maintenance_window")))
        .set_security_groups(changes.list("security_groups"))
        .send()
        .await
        .map_err(|e| AwsError::new("UpdateBroker", id.to_string(), e))?;
    Ok(())
}

/// DeleteBroker (Amazon MQ keeps no snapshot of a broker).
pub(super) async fn delete(aws: &Aws, id: &str) -> Result<String, AwsError> {
    aws.mq
        .delete_broker()
        .broker_id(id)
        .send()
        .await
        .map_err(|e| AwsError::new("DeleteBroker", id.to_string(), e))?;
    Ok("deleted".into())
}
