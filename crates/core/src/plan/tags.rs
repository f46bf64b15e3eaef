//! Tags a resource should carry that it lacks: added or corrected, never removed.

use std::collections::BTreeMap;

use serde_json::json;

use super::fields::FieldChange;
use crate::normalize;

/// Tags in `desired` that `live` lacks or holds with another value (extra live tags are left alone).
pub(super) fn tag_changes(
    live: &BTreeMap<String, String>,
    desired: &BTreeMap<String, String>,
) -> (Vec<FieldChange>, BTreeMap<String, String>) {
    let live = normalize::tags(live);
    let mut fields = Vec::new();
    let mut missing = BTreeMap::new();
    for (key, value) in desired {
        if live.get(key) != Some(value) {
            fields.push(FieldChange::new(
                format!("tags.{key}"),
                live.get(key).map(|v| json!(v)),
                Some(json!(value)),
            ));
            missing.insert(key.clone(), value.clone());
        }
    }
    (fields, missing)
}
