//! Settings maps (keyed by the state file's field names) read from and written to SDK values: the
//! helpers every backing API module shares.

use std::collections::BTreeMap;

use serde_json::Value;

pub fn text(value: Option<&str>) -> Option<Value> {
    value.map(Value::from)
}

pub fn int(value: Option<i32>) -> Option<Value> {
    value.map(Value::from)
}

/// Settings or pending values being read from an SDK value: fields AWS leaves out stay out.
#[derive(Default)]
pub struct Fields(pub BTreeMap<String, Value>);

impl Fields {
    pub fn set(&mut self, field: &str, value: Option<Value>) {
        if let Some(value) = value {
            self.0.insert(field.to_string(), value);
        }
    }
}

/// A list of ids as a sorted JSON array (AWS returns them in any order).
pub fn sorted_ids<'a>(ids: impl IntoIterator<Item = &'a str>) -> Value {
    let mut ids: Vec<&str> = ids.into_iter().collect();
    ids.sort_unstable();
    Value::from(ids)
}

/// Typed reads of a settings map, as the SDK builders want them.
pub struct Setting<'a>(pub &'a BTreeMap<String, Value>);

impl Setting<'_> {
    pub fn text(&self, field: &str) -> Option<String> {
        self.0
            .get(field)
            .and_then(Value::as_str)
            .map(str::to_string)
    }
    pub fn int(&self, field: &str) -> Option<i32> {
        self.0
            .get(field)
            .and_then(Value::as_i64)
            .and_then(|n| i32::try_from(n).ok())
    }
    pub fn bool(&self, field: &str) -> Option<bool> {
        self.0.get(field).and_then(Value::as_bool)
    }
    pub fn list(&self, field: &str) -> Option<Vec<String>> {
        self.0.get(field).and_then(Value::as_array).map(|items| {
            items
                .iter()
                .filter_map(|item| item.as_str().map(str::to_string))
                .collect()
        })
    }
    pub fn has_any(&self, fields: &[&str]) -> bool {
        fields.iter().any(|field| self.0.contains_key(*field))
    }
}
