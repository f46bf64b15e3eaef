//! STS: the account the credentials belong to.

use super::{Aws, AwsError, SharedReads};

/// The account of the current credentials (GetCallerIdentity; once per cycle when shared).
pub async fn account(aws: &Aws) -> Result<String, AwsError> {
    SharedReads::once(aws, |shared| &shared.account, || read(aws)).await
}

async fn read(aws: &Aws) -> Result<String, AwsError> {
    let identity = aws
        .sts
        .get_caller_identity()
        .send()
        .await
        .map_err(|e| AwsError::call("GetCallerIdentity", "for the current credentials", e))?;
    Ok(identity.account().unwrap_or_default().to_string())
}
