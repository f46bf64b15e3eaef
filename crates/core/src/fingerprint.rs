//! Content fingerprints (SHA-256 of the canonical JSON form): the records apply leaves on
//! resources and the observations a saved plan was made from.

use serde::Serialize;
use sha2::{Digest, Sha256};

/// SHA-256 (hex) of a value's JSON form.
pub fn fingerprint(value: &impl Serialize) -> String {
    let json = serde_json::to_vec(value).unwrap_or_default();
    Sha256::digest(json)
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}
