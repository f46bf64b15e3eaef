//! One apply per environment at a time: a lease in a DynamoDB table, taken with a conditional
//! write, renewed while the apply runs, released at its end, and expiring by itself when its
//! holder dies. Plan and drift take no lock.

use std::collections::HashMap;
use std::time::{Duration, Instant};

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
    // Transparent: the AWS error says it all once (a `{0}` message with it as the source too
    // printed it twice).
    #[error(transparent)]
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
    let mut backoff = Backoff::new(&aws.stop);
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
        backoff.wait().await?;
    }
    Err(AwsError::Unexpected {
        operation: "DescribeTable",
        subject: table.into(),
        message: "the lock table did not become ACTIVE".into(),
    })
}

/// An environment's lock: the table (`RECONCILE_LOCK_TABLE`, default `reconcile-locks`) and key.
pub fn key_of(desired: &crate::state::DesiredState) -> (String, String) {
    let table = std::env::var("RECONCILE_LOCK_TABLE").unwrap_or_else(|_| DEFAULT_TABLE.to_string());
    (table, format!("{}/{}", desired.region, desired.environment))
}

/// Takes the lock `key` (`REGION/ENVIRONMENT`) for `lease`, creating the table if needed, and opens
/// the fence of `aws` for writes while the lease is confirmed.
pub async fn acquire(
    aws: &Aws,
    table: &str,
    key: &str,
    environment: &str,
    lease: Duration,
) -> Result<Lock, LockError> {
    let token = super::unique_token();
    let holder = holder();
    let lock = Lock {
        table: table.to_string(),
        key: key.to_string(),
        token: token.clone(),
        lease,
    };
    for attempt in 0..2 {
        let sent = Instant::now();
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
                aws.fence.confirm(sent, lock.valid_for());
                return Ok(lock);
            }
            Err(error)
                if error
                    .as_service_error()
                    .is_some_and(|e| e.is_conditional_check_failed_exception()) =>
            {
                let item = lock.current(aws).await?.unwrap_or_default();
                // The SDK retried a PutItem whose answer was lost after it wrote: ours.
                if text(&item, "token") == token {
                    aws.fence.confirm(sent, lock.valid_for());
                    return Ok(lock);
                }
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

/// What a renewal found.
#[derive(Debug, PartialEq, Eq)]
pub enum Renewal {
    Renewed,
    /// Another apply holds the lock now (or it was force-unlocked).
    Lost,
    /// The renewal could not be made; whether the lock is still ours is unknown.
    Failed(String),
}

/// What a release found.
#[derive(Debug, PartialEq, Eq)]
pub enum Release {
    /// Gone: released now, or already (a retried DeleteItem whose first answer was lost).
    Released,
    /// Another apply had taken the lock over before this one let it go.
    TakenOver {
        holder: String,
    },
    Failed(String),
}

impl Lock {
    /// How long after a confirmed renewal writes may still be sent: the lease, less a sixth of it
    /// for the time the request took and for clocks that disagree.
    pub fn valid_for(&self) -> Duration {
        self.lease - self.lease / 6
    }

    /// The lock's item as DynamoDB holds it now.
    async fn current(
        &self,
        aws: &Aws,
    ) -> Result<Option<HashMap<String, AttributeValue>>, AwsError> {
        let current = aws
            .dynamodb
            .get_item()
            .table_name(&self.table)
            .key("lock", AttributeValue::S(self.key.clone()))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| AwsError::call("GetItem", self.key.clone(), e))?;
        Ok(current.item().cloned())
    }

    /// Extends the lease if this process still holds it.
    pub async fn renew(&self, aws: &Aws) -> Renewal {
        let result = aws
            .dynamodb
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
            // One attempt, answered within a sixth of the lease: `keep_alive` retries at once
            // and says so, where the SDK's own retries would spend the lease in silence.
            .customize()
            .config_override(
                aws_sdk_dynamodb::config::Builder::default()
                    .retry_config(aws_config::retry::RetryConfig::standard().with_max_attempts(1))
                    .timeout_config(
                        aws_config::timeout::TimeoutConfig::builder()
                            .operation_timeout(self.lease / 6)
                            .build(),
                    ),
            )
            .send()
            .await;
        match result {
            Ok(_) => Renewal::Renewed,
            Err(error)
                if error
                    .as_service_error()
                    .is_some_and(|e| e.is_conditional_check_failed_exception()) =>
            {
                Renewal::Lost
            }
            Err(error) => Renewal::Failed(AwsError::summary(&error)),
        }
    }

    /// Renews the lease every third of it until the returned task is aborted; a failed renewal
    /// is retried within a second or two and reported through `warn`. The fence closes when the
    /// lock is lost, and by itself when no renewal was confirmed for `valid_for`.
    pub fn keep_alive(
        &self,
        aws: &Aws,
        warn: impl Fn(String) + Send + 'static,
    ) -> tokio::task::JoinHandle<()> {
        let (lock, aws) = (self.clone(), aws.clone());
        tokio::spawn(async move {
            let mut wait = lock.lease / 3;
            loop {
                tokio::time::sleep(wait).await;
                let sent = Instant::now();
                match lock.renew(&aws).await {
                    Renewal::Renewed => {
                        aws.fence.confirm(sent, lock.valid_for());
                        wait = lock.lease / 3;
                    }
                    Renewal::Lost => {
                        let reason = format!(
                            "the apply lock {} is held by another apply now, so nothing more is written",
                            lock.key
                        );
                        warn(reason.clone());
                        aws.fence.close(reason);
                        return;
                    }
                    Renewal::Failed(reason) => {
                        warn(format!(
                            "could not renew the apply lock {} ({reason}); retrying",
                            lock.key
                        ));
                        wait = Duration::from_secs(1).min(lock.lease / 6);
                    }
                }
            }
        })
    }

    /// Gives the lock up, only if this process still holds it.
    pub async fn release(self, aws: &Aws) -> Release {
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
        match released {
            Ok(_) => Release::Released,
            Err(error)
                if error
                    .as_service_error()
                    .is_some_and(|e| e.is_conditional_check_failed_exception()) =>
            {
                // Not ours to delete: either it is gone already, or someone else holds it.
                match self.current(aws).await {
                    Ok(None) => Release::Released,
                    Ok(Some(item)) if text(&item, "token") == self.token => {
                        Release::Failed("the lock is still held by this apply".into())
                    }
                    Ok(Some(item)) => Release::TakenOver {
                        holder: text(&item, "holder"),
                    },
                    Err(error) => Release::Failed(error.to_string()),
                }
            }
            Err(error) => Release::Failed(AwsError::summary(&error)),
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
