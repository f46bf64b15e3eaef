//! Field-level differences between two values, as dotted paths.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// How AWS carries out a change of one field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChangeClass {
    /// Applied at once, without interruption.
    InPlace,
    /// Applied at once, with a reboot or failover (seconds to minutes of interruption).
    InPlaceReboot,
    /// Accepted at once, carried out by AWS in the next maintenance window.
    Deferred,
    /// Already accepted by AWS and waiting to be carried out: nothing to write.
    Pending,
    /// Only by deleting the resource and creating it again.
    ForcesReplacement,
    /// AWS cannot do it (storage shrink, engine change, version downgrade, encryption off).
    NotAllowed,
}

impl ChangeClass {
    pub fn label(self) -> &'static str {
        match self {
            ChangeClass::InPlace => "in place",
            ChangeClass::InPlaceReboot => "in place, with a reboot",
            ChangeClass::Deferred => "deferred to the maintenance window",
            ChangeClass::Pending => "pending: accepted by AWS, not yet applied",
            ChangeClass::ForcesReplacement => "forces replacement",
            ChangeClass::NotAllowed => "not allowed",
        }
    }
}

/// One field that differs. `None` means absent on that side.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FieldChange {
    pub path: String,
    #[serde(default)]
    pub before: Option<Value>,
    #[serde(default)]
    pub after: Option<Value>,
    /// For backing services: how AWS carries the change out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub class: Option<ChangeClass>,
}

impl FieldChange {
    pub fn new(path: impl Into<String>, before: Option<Value>, after: Option<Value>) -> Self {
        FieldChange {
            path: path.into(),
            before,
            after,
            class: None,
        }
    }

    /// The same change, marked with how AWS carries it out.
    pub fn class(mut self, class: ChangeClass) -> Self {
        self.class = Some(class);
        self
    }
}

/// Lists of objects with a `name` become maps keyed by that name, so that a path reads
/// `containers.backend.image` and order does not matter.
fn keyed(value: &Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(key, item)| (key.clone(), keyed(item)))
                .collect(),
        ),
        Value::Array(items)
            if !items.is_empty()
                && items
                    .iter()
                    .all(|item| item.get("name").and_then(Value::as_str).is_some()) =>
        {
            Value::Object(
                items
                    .iter()
                    .map(|item| {
                        let name = item["name"].as_str().unwrap_or_default().to_string();
                        let mut inner = keyed(item);
                        if let Value::Object(map) = &mut inner {
                            map.shift_remove("name");
                        }
                        (name, inner)
                    })
                    .collect(),
            )
        }
        other => other.clone(),
    }
}

fn flatten(value: &Value, path: &str, out: &mut BTreeMap<String, Value>) {
    match value {
        Value::Object(map) if !map.is_empty() => {
            for (key, item) in map {
                let child = if path.is_empty() {
                    key.clone()
                } else {
                    format!("{path}.{key}")
                };
                flatten(item, &child, out);
            }
        }
        Value::Object(_) => {}
        other => {
            out.insert(path.to_string(), other.clone());
        }
    }
}

/// The leaf fields that differ between `before` and `after` (serialized forms), sorted by path.
pub fn field_changes<T: Serialize>(before: &T, after: &T) -> Vec<FieldChange> {
    let mut left = BTreeMap::new();
    let mut right = BTreeMap::new();
    flatten(
        &keyed(&serde_json::to_value(before).unwrap_or(Value::Null)),
        "",
        &mut left,
    );
    flatten(
        &keyed(&serde_json::to_value(after).unwrap_or(Value::Null)),
        "",
        &mut right,
    );
    let mut paths: Vec<&String> = left.keys().chain(right.keys()).collect();
    paths.sort();
    paths.dedup();
    paths
        .into_iter()
        .filter(|path| left.get(*path) != right.get(*path))
        .map(|path| {
            FieldChange::new(
                path.clone(),
                left.get(path).cloned(),
                right.get(path).cloned(),
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn named_lists_diff_by_name_not_position() {
        let before =
            json!({"containers": [{"name": "a", "image": "x:1"}, {"name": "b", "image": "y"}]});
        let after =
            json!({"containers": [{"name": "b", "image": "y"}, {"name": "a", "image": "x:2"}]});
        assert_eq!(
            field_changes(&before, &after),
            vec![FieldChange::new(
                "containers.a.image",
                Some(json!("x:1")),
                Some(json!("x:2"))
            )]
        );
    }

    #[test]
    fn absent_fields_show_as_none() {
        let before = json!({"environment": {"A": "1"}});
        let after = json!({"environment": {"A": "1", "B": "2"}});
        assert_eq!(
            field_changes(&before, &after),
            vec![FieldChange::new("environment.B", None, Some(json!("2")))]
        );
    }
}
