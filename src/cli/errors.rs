//! How an error reaches a person: its chain of causes, each said once.

/// The error and its causes, as `anyhow` joins them (`a: b: c`), without the SDK's own error
/// behind an AWS call: its code and message are already in the call's text.
pub(super) fn error_text(error: &anyhow::Error) -> String {
    error
        .chain()
        .take_while(|cause| !crate::aws::is_sdk_detail(*cause))
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(": ")
}
