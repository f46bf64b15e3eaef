//! A semantic problem in a state file, at a field path, with the fix to suggest.

/// A problem at a field path (dotted; `#key` at the end points at the key rather than its value).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub path: String,
    pub message: String,
    pub help: Option<String>,
}

pub(super) fn finding(path: impl Into<String>, message: impl Into<String>, help: &str) -> Finding {
    Finding {
        path: path.into(),
        message: message.into(),
        help: (!help.is_empty()).then(|| help.to_string()),
    }
}
