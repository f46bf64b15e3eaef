//! What stops a read or a write of the AWS layer, by kind: a failed AWS call (with the SDK error
//! as its source), an answer without what the step needs, a refusal, a time limit, a value still
//! missing, a migration or a rollout that did not succeed. Each message names what it was about.

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
    /// An AWS API call failed after the SDK's retries: the service's error code and message, or
    /// the transport error with its causes.
    #[error("{operation} {subject}: {summary}")]
    Call {
        operation: &'static str,
        subject: String,
        summary: String,
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
    /// A failed SDK call, keeping the SDK error as the source and its code and message in the text.
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
        AwsError::Call {
            operation,
            subject: subject.into(),
            summary: Self::summary(&error),
            source: SdkFailure(Box::new(error)),
        }
    }

    /// The service's error code and message, or the transport error with its causes.
    pub fn summary<E, R>(error: &aws_sdk_ecs::error::SdkError<E, R>) -> String
    where
        E: aws_smithy_types::error::metadata::ProvideErrorMetadata + std::error::Error + 'static,
        R: std::fmt::Debug,
    {
        match error.as_service_error() {
            Some(service) => format!(
                "{}: {}",
                service.code().unwrap_or("error"),
                service.message().unwrap_or("no message")
            ),
            None => format!(
                "{}",
                aws_smithy_types::error::display::DisplayErrorContext(error)
            ),
        }
    }
}
