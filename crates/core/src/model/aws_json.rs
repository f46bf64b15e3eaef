//! Settings in AWS's own JSON names that the typed format has no key for (the `aws:` blocks of a
//! state file, and what a live task definition holds beyond the typed fields): carried as
//! written, compared after one rule (nothing set is the same as absent), never dropped.

use std::cmp::Ordering;
use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// A JSON object in AWS's names, for example `{"privileged": true, "linuxParameters":
/// {"tmpfs": [...]}}` for a container.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(transparent)]
pub struct AwsJson(pub Map<String, Value>);

impl PartialOrd for AwsJson {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for AwsJson {
    /// An order only for sorting sets of values that hold one (volumes); by their JSON text.
    fn cmp(&self, other: &Self) -> Ordering {
        Value::Object(self.0.clone())
            .to_string()
            .cmp(&Value::Object(other.0.clone()).to_string())
    }
}

/// Whether AWS would report `value` as a setting at all: null, false, `[]` and `{}` are what it
/// answers for settings nobody set.
fn is_unset(value: &Value) -> bool {
    match value {
        Value::Null | Value::Bool(false) => true,
        Value::Array(items) => items.is_empty(),
        Value::Object(map) => map.is_empty(),
        _ => false,
    }
}

/// `value` without the unset members of its objects, at every depth (array items are kept,
/// their own members pruned).
fn pruned(value: &Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(key, item)| (key.clone(), pruned(item)))
                .filter(|(_, item)| !is_unset(item))
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(pruned).collect()),
        other => other.clone(),
    }
}

fn flatten(value: &Value, path: &str, out: &mut BTreeMap<String, Value>) {
    match value {
        Value::Object(map) if !map.is_empty() => {
            for (key, item) in map {
                flatten(item, &format!("{path}.{key}"), out);
            }
        }
        other => {
            out.insert(path.to_string(), other.clone());
        }
    }
}

/// `into` with `from` merged in: objects member by member, anything else replaced.
pub fn merge(into: &mut Value, from: &Value) {
    match (into, from) {
        (Value::Object(target), Value::Object(source)) => {
            for (key, item) in source {
                match target.get_mut(key) {
                    Some(existing) => merge(existing, item),
                    None => {
                        target.insert(key.clone(), item.clone());
                    }
                }
            }
        }
        (target, source) => *target = source.clone(),
    }
}

impl AwsJson {
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The canonical form both sides are compared in: unset members left out at every depth.
    pub fn normalized(&self) -> AwsJson {
        match pruned(&Value::Object(self.0.clone())) {
            Value::Object(map) => AwsJson(map),
            _ => AwsJson::default(),
        }
    }

    /// Sets `value` at a dotted path of object keys (`linuxParameters.tmpfs`), unless it is
    /// unset: what a reader of an SDK type records.
    pub fn set(&mut self, path: &str, value: Value) {
        let value = pruned(&value);
        if is_unset(&value) {
            return;
        }
        let mut at = &mut self.0;
        let mut keys = path.split('.').peekable();
        while let Some(key) = keys.next() {
            if keys.peek().is_none() {
                at.insert(key.to_string(), value);
                return;
            }
            let entry = at
                .entry(key.to_string())
                .or_insert_with(|| Value::Object(Map::new()));
            if !entry.is_object() {
                *entry = Value::Object(Map::new());
            }
            let Value::Object(next) = entry else {
                return;
            };
            at = next;
        }
    }

    /// Each setting by its path under `prefix` (`containerDefinitions.web.linuxParameters.tmpfs`),
    /// objects opened down to their leaves, unset members left out.
    pub fn paths(&self, prefix: &str) -> BTreeMap<String, Value> {
        let mut out = BTreeMap::new();
        if let Value::Object(map) = pruned(&Value::Object(self.0.clone())) {
            for (key, item) in &map {
                flatten(item, &format!("{prefix}{key}"), &mut out);
            }
        }
        out
    }
}

/// Every setting in AWS's names of a task definition by its path: task-level ones as they are
/// (`ipcMode`), a container's under `containerDefinitions.NAME.`, a volume's under
/// `volumes.NAME.`. The paths a plan names and `drop_unmanaged` lists.
pub fn task_paths<'a>(
    task: &AwsJson,
    containers: impl IntoIterator<Item = (&'a str, &'a AwsJson)>,
    volumes: impl IntoIterator<Item = (&'a str, &'a AwsJson)>,
) -> BTreeMap<String, Value> {
    let mut out = task.paths("");
    for (name, aws) in containers {
        out.extend(aws.paths(&format!("containerDefinitions.{name}.")));
    }
    for (name, aws) in volumes {
        out.extend(aws.paths(&format!("volumes.{name}.")));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn of(value: Value) -> AwsJson {
        AwsJson(value.as_object().cloned().unwrap_or_default())
    }

    #[test]
    fn unset_members_are_absent_at_every_depth() {
        let live = of(json!({
            "privileged": false,
            "linuxParameters": {"tmpfs": [{"containerPath": "/tmp", "size": 64, "mountOptions": null}], "devices": []},
            "dnsServers": [],
        }));
        let written =
            of(json!({"linuxParameters": {"tmpfs": [{"containerPath": "/tmp", "size": 64}]}}));
        assert_eq!(live.normalized(), written.normalized());
        assert_eq!(
            live.paths("containerDefinitions.web."),
            BTreeMap::from([(
                "containerDefinitions.web.linuxParameters.tmpfs".to_string(),
                json!([{"containerPath": "/tmp", "size": 64}])
            )])
        );
    }

    #[test]
    fn a_set_path_opens_objects_and_a_merge_keeps_both_sides() {
        let mut read = AwsJson::default();
        read.set("linuxParameters.sharedMemorySize", json!(256));
        read.set("linuxParameters.maxSwap", Value::Null);
        read.set("ipcMode", json!("host"));
        assert_eq!(
            Value::Object(read.0.clone()),
            json!({"linuxParameters": {"sharedMemorySize": 256}, "ipcMode": "host"})
        );
        let mut typed = json!({"name": "web", "linuxParameters": {"initProcessEnabled": true}});
        merge(&mut typed, &Value::Object(read.0));
        assert_eq!(
            typed,
            json!({"name": "web", "linuxParameters": {"initProcessEnabled": true, "sharedMemorySize": 256}, "ipcMode": "host"})
        );
    }
}
