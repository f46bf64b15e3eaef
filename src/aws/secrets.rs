//! Secrets Manager and SSM Parameter Store: every call reconcile makes to either is in this file.
//! A plan reads metadata only (does the secret exist); a value is read in exactly one place,
//! `value`, for a backing service whose API takes it at creation (the Redis AUTH token, the
//! RabbitMQ admin password), and is passed to that call and nowhere else.

use std::collections::{BTreeMap, BTreeSet};

use futures::{StreamExt, stream};
use serde_json::Value;

use super::{Aws, AwsError};
use crate::model::{SecretId, SecretStatus};
use crate::state::desired::SecretRef;

/// Parallel DescribeSecret calls.
const CONCURRENCY: usize = 4;

/// Looks each secret up by its metadata: Secrets Manager one DescribeSecret per secret, SSM one
/// DescribeParameters per 50 names. A lookup that fails (no permission, ...) is reported as
/// unchecked rather than failing the plan: the execution role, not the deployer, reads secrets.
pub async fn check_secrets(aws: &Aws, ids: BTreeSet<SecretId>) -> BTreeMap<SecretId, SecretStatus> {
    let mut parameters = Vec::new();
    let mut lookups = Vec::new();
    for id in ids {
        match id {
            SecretId::SecretsManager(secret) => lookups.push(secret),
            SecretId::Ssm(name) => parameters.push(name),
        }
    }
    let secrets = stream::iter(lookups.into_iter().map(|secret| async move {
        let result = aws
            .secretsmanager
            .describe_secret()
            .secret_id(&secret)
            .send()
            .await;
        let status = match result {
            Ok(described) => match described.deleted_date() {
                Some(date) => SecretStatus::Missing {
                    reason: format!("is scheduled for deletion ({date})"),
                },
                None => SecretStatus::Exists,
            },
            Err(error)
                if error
                    .as_service_error()
                    .is_some_and(|e| e.is_resource_not_found_exception()) =>
            {
                SecretStatus::Missing {
                    reason: "not found".into(),
                }
            }
            Err(error) => SecretStatus::Unchecked {
                reason: format!("DescribeSecret: {}", AwsError::summary(&error)),
            },
        };
        (SecretId::SecretsManager(secret), status)
    }))
    .buffer_unordered(CONCURRENCY)
    .collect::<Vec<_>>();
    let parameters = futures::future::join_all(parameters.chunks(50).map(|chunk| async move {
        // The names found, or why the lookup failed.
        let found = async {
            let filter = aws_sdk_ssm::types::ParameterStringFilter::builder()
                .key("Name")
                .option("Equals")
                .set_values(Some(chunk.to_vec()))
                .build()
                .map_err(|error| error.to_string())?;
            let output = aws
                .ssm
                .describe_parameters()
                .parameter_filters(filter)
                .max_results(50)
                .send()
                .await
                .map_err(|error| AwsError::summary(&error))?;
            Ok::<_, String>(
                output
                    .parameters()
                    .iter()
                    .filter_map(|p| p.name().map(str::to_string))
                    .collect::<BTreeSet<_>>(),
            )
        }
        .await;
        chunk
            .iter()
            .map(|name| {
                let status = match &found {
                    Ok(names) if names.contains(name) => SecretStatus::Exists,
                    Ok(_) => SecretStatus::Missing {
                        reason: "not found".into(),
                    },
                    Err(reason) => SecretStatus::Unchecked {
                        reason: format!("DescribeParameters: {reason}"),
                    },
                };
                (SecretId::Ssm(name.clone()), status)
            })
            .collect::<Vec<_>>()
    }));
    let (secrets, parameters) = tokio::join!(secrets, parameters);
    secrets
        .into_iter()
        .chain(parameters.into_iter().flatten())
        .collect()
}

/// Reads a secret's value to pass it to the API that needs it. The value is never logged or shown.
pub async fn value(aws: &Aws, reference: &str) -> Result<String, AwsError> {
    let missing = |message: String| AwsError::Missing {
        operation: "GetSecretValue",
        subject: reference.to_string(),
        message,
    };
    match SecretRef::parse(reference) {
        Some(SecretRef::SecretsManager { name, key }) => {
            let output = aws
                .secretsmanager
                .get_secret_value()
                .secret_id(&name)
                .send()
                .await
                .map_err(|e| AwsError::call("GetSecretValue", reference, e))?;
            let text = output.secret_string().unwrap_or_default();
            match key {
                None => Ok(text.to_string()),
                Some(key) => serde_json::from_str::<Value>(text)
                    .ok()
                    .and_then(|json| json.get(&key).and_then(Value::as_str).map(str::to_string))
                    .ok_or_else(|| missing(format!("the secret has no JSON key `{key}`"))),
            }
        }
        Some(SecretRef::Ssm { name }) => {
            let output = aws
                .ssm
                .get_parameter()
                .name(&name)
                .with_decryption(true)
                .send()
                .await
                .map_err(|e| AwsError::call("GetParameter", reference, e))?;
            Ok(output
                .parameter()
                .and_then(|p| p.value())
                .unwrap_or_default()
                .to_string())
        }
        _ => Err(missing("not a Secrets Manager or SSM reference".into())),
    }
}

pub async fn optional_value(
    aws: &Aws,
    reference: &Option<String>,
) -> Result<Option<String>, AwsError> {
    match reference {
        Some(reference) => Ok(Some(value(aws, reference).await?)),
        None => Ok(None),
    }
}
