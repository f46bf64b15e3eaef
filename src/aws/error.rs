//! What stops a read or a write of the AWS layer, by kind: a failed AWS call (with the SDK error
//! as its source), an answer without what the step needs, a refusal, a time limit, a value still
//! missing, a migration or a rollout that did not succeed. Each message names what it was about.

use std::time::Duration;

/// The SDK's own error behind a failed call, kept as the source for code that wants to inspect it
/// (`std::error::Error::source`, `{:?}`). Its text repeats what the call's summary already says,
/// so error printers stop at it (`is_sdk_detail`).
#[derive(Debug)]
pub struct SdkFailure(Box<dyn std::error::Error + Send + Sync + 'static>);

impl std::fmt::Display for SdkFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl std::error::Error for SdkFailure {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(self.0.as_ref())
    }
}

/// Whether a cause in an error chain is the SDK detail behind an `AwsError::Call`.
pub fn is_sdk_detail(cause: &(dyn std::error::Error + 'static)) -> bool {
    cause.is::<SdkFailure>()
}

#[derive(Debug, thiserror::Error)]
pub enum AwsError {
    /// An AWS API call failed after the SDK's retries: the service's error code and message (or
    /// what went wrong before AWS answered), and the likely fix.
    #[error("{operation} {subject}: {summary}{}", hint.as_ref().map(|hint| format!("\n  help: {hint}")).unwrap_or_default())]
    Call {
        operation: &'static str,
        subject: String,
        summary: String,
        hint: Option<String>,
        #[source]
        source: SdkFailure,
    },
    /// AWS answered, but not with what the step needs (a request that could not be built, a
    /// resource that did not reach its state).
    #[error("{operation} {subject}: {message}")]
    Unexpected {
        operation: &'static str,
        subject: String,
        message: String,
    },
    /// The run does not allow the step; nothing was written for it.
    #[error("{step} {subject}: refused: {reason}")]
    Refused {
        step: &'static str,
        subject: String,
        reason: String,
    },
    /// AWS was still busy when the step's time limit ran out.
    #[error("wait {subject}: {message}")]
    TimedOut { subject: String, message: String },
    /// A value the step needs was not there (a backing output, a revision to run).
    #[error("{operation} {subject}: {message}")]
    Missing {
        operation: &'static str,
        subject: String,
        message: String,
    },
    /// A migration task did not exit 0, or never ran its command.
    #[error("migration {subject}: {message}")]
    Migration { subject: String, message: String },
    /// A signal asked the command to stop while it waited for AWS.
    #[error("interrupted by {signal}")]
    Interrupted { signal: &'static str },
    /// A deployment did not complete: failed, rolled back, replaced, or still going at the limit.
    #[error("rollout {service}: {message}")]
    Rollout { service: String, message: String },
}

impl AwsError {
    /// A failed SDK call, keeping the SDK error as the source and saying in two lines at most
    /// what failed and the likely fix.
    pub fn call<E, R>(
        operation: &'static str,
        subject: impl Into<String>,
        error: aws_sdk_ecs::error::SdkError<E, R>,
    ) -> Self
    where
        E: aws_smithy_types::error::metadata::ProvideErrorMetadata
            + std::error::Error
            + Send
            + Sync
            + 'static,
        R: std::fmt::Debug + Send + Sync + 'static,
    {
        let (summary, hint) = describe(operation, &error);
        AwsError::Call {
            operation,
            subject: subject.into(),
            summary,
            hint,
            source: SdkFailure(Box::new(error)),
        }
    }

    /// The service's error code and message, or in one line what went wrong before AWS answered.
    pub fn summary<E, R>(error: &aws_sdk_ecs::error::SdkError<E, R>) -> String
    where
        E: aws_smithy_types::error::metadata::ProvideErrorMetadata + std::error::Error + 'static,
        R: std::fmt::Debug + 'static,
    {
        describe("", error).0
    }
}

/// How long a call may take: each attempt, and all attempts with the SDK's retries.
pub const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(30);
/// The longest a connection may take to open: an unreachable endpoint fails this quickly.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// The time limit of a whole call (all attempts): `RECONCILE_AWS_TIMEOUT` (`90s`, `5m`), 2 minutes
/// by default.
pub fn operation_timeout() -> Duration {
    std::env::var("RECONCILE_AWS_TIMEOUT")
        .ok()
        .and_then(|text| humantime::parse_duration(&text).ok())
        .unwrap_or(Duration::from_secs(120))
}

/// The IAM service prefix of an SDK crate's error type (`aws_sdk_ecs::...` -> `ecs`).
fn iam_prefix<E>() -> Option<&'static str> {
    let crate_name = std::any::type_name::<E>().split("::").next()?;
    Some(match crate_name.strip_prefix("aws_sdk_")? {
        "cloudwatchlogs" => "logs",
        other => other,
    })
}

/// The innermost cause of an error, in its own words.
fn innermost(error: &(dyn std::error::Error + 'static)) -> String {
    let mut current = error;
    while let Some(next) = current.source() {
        current = next;
    }
    current.to_string()
}

/// Whether a cause in the chain is a credentials failure.
fn credentials_failure(error: &(dyn std::error::Error + 'static)) -> bool {
    let mut current = Some(error);
    while let Some(cause) = current {
        if cause.is::<aws_credential_types::provider::error::CredentialsError>() {
            return true;
        }
        current = cause.source();
    }
    false
}

fn credentials_hint() -> String {
    match std::env::var("AWS_PROFILE") {
        Ok(profile) => format!(
            "the profile `{profile}` (AWS_PROFILE) gave no credentials: check that ~/.aws/config defines it, and for SSO run `aws sso login --profile {profile}`"
        ),
        Err(_) => "log in first: `aws sso login --profile NAME` and set AWS_PROFILE=NAME, or set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY; in GitHub Actions use OIDC (aws-actions/configure-aws-credentials)".to_string(),
    }
}

/// One line of what failed, and the likely fix.
fn describe<E, R>(
    operation: &str,
    error: &aws_sdk_ecs::error::SdkError<E, R>,
) -> (String, Option<String>)
where
    E: aws_smithy_types::error::metadata::ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug + 'static,
{
    use aws_sdk_ecs::error::SdkError;
    match error {
        SdkError::ServiceError(_) => {
            let service = error.as_service_error();
            let code = service.and_then(|e| e.code()).unwrap_or("error");
            let message = service.and_then(|e| e.message()).unwrap_or("no message");
            let denied = code.contains("AccessDenied") || code.contains("UnauthorizedOperation");
            let hint = match iam_prefix::<E>() {
                Some(prefix) if denied && !operation.is_empty() => Some(format!(
                    "the credentials need the IAM permission {prefix}:{operation} on this resource"
                )),
                _ => None,
            };
            (format!("{code}: {message}"), hint)
        }
        SdkError::TimeoutError(_) => (
            format!(
                "no answer within {} (all attempts; each may take {})",
                humantime::format_duration(operation_timeout()),
                humantime::format_duration(ATTEMPT_TIMEOUT)
            ),
            Some("the endpoint accepts connections but does not answer: check AWS_ENDPOINT_URL, proxies and the network, or allow more with RECONCILE_AWS_TIMEOUT".into()),
        ),
        SdkError::DispatchFailure(_) if credentials_failure(error) => {
            ("no AWS credentials found".into(), Some(credentials_hint()))
        }
        SdkError::DispatchFailure(failure) if failure.is_timeout() || failure.is_io() => (
            format!("cannot reach the AWS endpoint: {}", innermost(error)),
            Some(format!(
                "check the network, the region and AWS_ENDPOINT_URL{}; connections time out after {}",
                std::env::var("AWS_ENDPOINT_URL")
                    .map(|url| format!(" (now {url})"))
                    .unwrap_or_default(),
                humantime::format_duration(CONNECT_TIMEOUT)
            )),
        ),
        other => (innermost(other), None),
    }
}
