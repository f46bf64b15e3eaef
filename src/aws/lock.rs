//! One apply per environment at a time: a lease in a DynamoDB table, taken with a conditional
//! write, renewed while the apply runs, released at its end, and expiring by itself when its
//! holder dies. Plan and drift take no lock.

use std::collections::HashMap;
use std::time::Duration;

use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, KeySchemaElement, KeyType,
    ScalarAttributeType, TableStatus,
};

use super::{Aws, AwsError, Backoff};

/// The table `reconcile` creates on first use unless told another (`RECONCILE_LOCK_TABLE`).
pub const DEFAULT_TABLE: &str = "reconcile-locks";

/// Why the lock could not be taken.
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    #[error(
        "{key} is being applied by {holder} (since {since} s ago; its lease runs out in {expires_in} s if that apply died). Wait for it, or if you are sure it is gone: reconcile force-unlock --env {environment}"
    )]
    Held {
        key: String,
        environment: String,
        holder: String,
        since: i64,
        expires_in: i64,
    },
    #[error("{0}")]
    Aws(#[from] AwsError),
}

/// A held lock. Release it with [`Lock::release`]; if the process dies, it expires.
#[derive(Debug, Clone)]
pub struct Lock {
    table: String,
    key: String,
    token: String,
    lease: Duration,
}

fn text(item: &HashMap<String, AttributeValue>, name: &str) -> String {
    item.get(name)
        .and_then(|v| v.as_s().ok())
        .cloned()
        .unwrap_or_default()
}

fn number(item: &HashMap<String, AttributeValue>, name: &str) -> i64 {
    item.get(name)
        .and_then(|v| v.as_n().ok())
        .and_then(|n| n.parse().ok())
        .unwrap_or_default()
}

/// Who is applying: user, host and process, for the message another apply shows.
pub fn holder() -> String {
    let user = std::env::var("USER")
        .or_else(|_| std::env::var("GITHUB_ACTOR"))
        .unwrap_or_else(|_| "unknown".into());
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .unwrap_or_else(|_| "unknown-host".into());
    let run = std::env::var("GITHUB_RUN_ID")
        .map(|id| format!(", GitHub run {id}"))
        .unwrap_or_default();
    format!("{user}@{host} (pid {}{run})", std::process::id())
}

async fn create_table(aws: &Aws, table: &str) -> Result<(), AwsError> {
    let invalid = |error: aws_sdk_dynamodb::error::BuildError| AwsError::Unexpected {
        operation: "CreateTable",
        subject: table.into(),
        message: error.to_string(),
    };
    let created = aws
        .dynamodb
        .create_table()
        .table_name(table)
        .billing_mode(BillingMode::PayPerRequest)
        .attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name("lock")
                .attribute_type(ScalarAttributeType::S)
                .build()
                .map_err(invalid)?,
        )
        .key_schema(
            KeySchemaElement::builder()
                .attribute_name("lock")
                .key_type(KeyType::Hash)
                .build()
                .map_err(invalid)?,
        )
        .send()
        .await;
    match created {
        Ok(_) => {}
        // Another apply created it at the same moment.
        Err(error)
            if error
                .as_service_error()
                .is_some_and(|e| e.is_resource_in_use_exception()) => {}
        Err(error) => return Err(AwsError::call("CreateTable", table.to_string(), error)),
    }
    let mut backoff = Backoff::new();
    for _ in 0..20 {
        let described = aws
            .dynamodb
            .describe_table()
            .table_name(table)
            .send()
            .await
            .map_err(|e| AwsError::call("DescribeTable", table.to_string(), e))?;
        if described.table().and_then(|t| t.table_status()) == Some(&TableStatus::Active) {
            return Ok(());
        }
        backoff.wait().await;
    }
    Err(AwsError::Unexpected {
        operation: "DescribeTable",
        subject: table.into(),
        message: "the lock table did not become ACTIVE".into(),
    })
}

/// Takes the lock `key` (`ACCOUNT/REGION/ENVIRONMENT`) for `lease`, creating the table if needed.
pub async fn acquire(
    aws: &Aws,
    table: &str,
    key: &str,
    environment: &str,
    lease: Duration,
) -> Result<Lock, LockError> {
    let token = super::unique_token();
    let holder = holder();
    for attempt in 0..2 {
        let at = super::epoch_seconds();
        let result = aws
            .dynamodb
            .put_item()
            .table_name(table)
            .item("lock", AttributeValue::S(key.to_string()))
            .item("holder", AttributeValue::S(holder.clone()))
            .item("token", AttributeValue::S(token.clone()))
            .item("acquired_at", AttributeValue::N(at.to_string()))
            .item(
                "expires_at",
                AttributeValue::N((at + lease.as_secs() as i64).to_string()),
            )
            .condition_expression("attribute_not_exists(#lock) OR expires_at < :now")
            .expression_attribute_names("#lock", "lock")
            .expression_attribute_values(":now", AttributeValue::N(at.to_string()))
            .send()
            .await;
        match result {
            Ok(_) => {
                return Ok(Lock {
                    table: table.to_string(),
                    key: key.to_string(),
                    token,
                    lease,
                });
            }
            Err(error)
                if error
                    .as_service_error()
                    .is_some_and(|e| e.is_conditional_check_failed_exception()) =>
            {
                let current = aws
                    .dynamodb
                    .get_item()
                    .table_name(table)
                    .key("lock", AttributeValue::S(key.to_string()))
                    .consistent_read(true)
                    .send()
                    .await
                    .map_err(|e| AwsError::call("GetItem", key.to_string(), e))?;
                let item = current.item().cloned().unwrap_or_default();
                return Err(LockError::Held {
                    key: key.to_string(),
                    environment: environment.to_string(),
                    holder: text(&item, "holder"),
                    since: at - number(&item, "acquired_at"),
                    expires_in: (number(&item, "expires_at") - at).max(0),
                });
            }
            Err(error)
                if attempt == 0
                    && error
                        .as_service_error()
                        .is_some_and(|e| e.is_resource_not_found_exception()) =>
            {
                create_table(aws, table).await?;
            }
            Err(error) => return Err(AwsError::call("PutItem", key.to_string(), error).into()),
        }
    }
    Err(LockError::Aws(AwsError::Unexpected {
        operation: "PutItem",
        subject: key.into(),
        message: "the lock table could not be used".into(),
    }))
}

impl Lock {
    /// Extends the lease, if this process still holds it; `false` when it was lost.
    pub async fn renew(&self, aws: &Aws) -> bool {
        aws.dynamodb
            .update_item()
            .table_name(&self.table)
            .key("lock", AttributeValue::S(self.key.clone()))
            .update_expression("SET expires_at = :expires")
            .condition_expression("#token = :token")
            .expression_attribute_names("#token", "token")
            .expression_attribute_values(":token", AttributeValue::S(self.token.clone()))
            .expression_attribute_values(
                ":expires",
                AttributeValue::N(
                    (super::epoch_seconds() + self.lease.as_secs() as i64).to_string(),
                ),
            )
            .send()
            .await
            .is_ok()
    }

    /// Renews the lease every third of it until the returned task is aborted.
    pub fn keep_alive(&self, aws: &Aws) -> tokio::task::JoinHandle<()> {
        let (lock, aws) = (self.clone(), aws.clone());
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(lock.lease / 3).await;
                if !lock.renew(&aws).await {
                    tracing::warn!(lock = %lock.key, "the apply lock could not be renewed");
                }
            }
        })
    }

    /// Gives the lock up (only if this process still holds it).
    pub async fn release(self, aws: &Aws) {
        let released = aws
            .dynamodb
            .delete_item()
            .table_name(&self.table)
            .key("lock", AttributeValue::S(self.key.clone()))
            .condition_expression("#token = :token")
            .expression_attribute_names("#token", "token")
            .expression_attribute_values(":token", AttributeValue::S(self.token.clone()))
            .send()
            .await;
        if released.is_err() {
            tracing::warn!(lock = %self.key, "the apply lock was no longer ours to release");
        }
    }
}

/// Removes the lock whoever holds it; returns the holder it removed, if any.
pub async fn force_unlock(aws: &Aws, table: &str, key: &str) -> Result<Option<String>, AwsError> {
    let output = aws
        .dynamodb
        .delete_item()
        .table_name(table)
        .key("lock", AttributeValue::S(key.to_string()))
        .return_values(aws_sdk_dynamodb::types::ReturnValue::AllOld)
        .send()
        .await;
    match output {
        Ok(output) => Ok(output.attributes().map(|item| text(item, "holder"))),
        Err(error)
            if error
                .as_service_error()
                .is_some_and(|e| e.is_resource_not_found_exception()) =>
        {
            Ok(None)
        }
        Err(error) => Err(AwsError::call("DeleteItem", key.to_string(), error)),
    }
}
