//! A YAML document built key by key, with comments beside the values that were a choice, written
//! out by serde-saphyr (which does the quoting): what `import` produces.

use serde::ser::{Serialize, SerializeMap, Serializer};
use serde_json::Value;
use serde_saphyr::{Commented, FlowMap, FlowSeq};

/// One node of the document.
#[derive(Debug, Clone, PartialEq)]
pub enum Node {
    /// A scalar, with a comment written beside it.
    Scalar(Value, Option<String>),
    /// A mapping written in block style, in this order.
    Map(Vec<(String, Node)>),
    /// A short list or mapping written on one line (`[uv, run, ...]`, `{ name: nofile, ... }`).
    Flow(Value),
    /// A list of nodes in block style.
    List(Vec<Node>),
}

impl Node {
    pub fn scalar(value: impl Into<Value>) -> Node {
        Node::Scalar(value.into(), None)
    }

    pub fn commented(value: impl Into<Value>, comment: impl Into<String>) -> Node {
        Node::Scalar(value.into(), Some(comment.into()))
    }

    /// A value serialized to JSON and written on one line.
    pub fn flow(value: &impl Serialize) -> Node {
        Node::Flow(serde_json::to_value(value).unwrap_or(Value::Null))
    }
}

/// A block mapping under construction.
#[derive(Debug, Default)]
pub struct MapBuilder(Vec<(String, Node)>);

impl MapBuilder {
    pub fn new() -> Self {
        MapBuilder::default()
    }

    pub fn set(&mut self, key: &str, node: Node) -> &mut Self {
        self.0.push((key.to_string(), node));
        self
    }

    pub fn value(&mut self, key: &str, value: impl Into<Value>) -> &mut Self {
        self.set(key, Node::scalar(value))
    }

    pub fn maybe(&mut self, key: &str, value: Option<impl Into<Value>>) -> &mut Self {
        if let Some(value) = value {
            self.value(key, value);
        }
        self
    }

    /// A nested map, left out when empty.
    pub fn map(&mut self, key: &str, map: MapBuilder) -> &mut Self {
        if !map.0.is_empty() {
            self.set(key, Node::Map(map.0));
        }
        self
    }

    pub fn build(self) -> Node {
        Node::Map(self.0)
    }
}

impl Serialize for Node {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Node::Scalar(value, None) => value.serialize(serializer),
            Node::Scalar(value, Some(comment)) => {
                Commented(value.clone(), comment.clone()).serialize(serializer)
            }
            Node::Map(entries) => {
                let mut map = serializer.serialize_map(Some(entries.len()))?;
                for (key, node) in entries {
                    map.serialize_entry(key, node)?;
                }
                map.end()
            }
            Node::Flow(value @ Value::Array(_)) => FlowSeq(value).serialize(serializer),
            Node::Flow(value @ Value::Object(_)) => FlowMap(value).serialize(serializer),
            Node::Flow(value) => value.serialize(serializer),
            Node::List(items) => items.serialize(serializer),
        }
    }
}

/// The document as YAML text.
pub fn to_yaml(node: &Node) -> String {
    serde_saphyr::to_string(node).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn values_read_back_as_written_and_comments_sit_beside_them() {
        let mut root = MapBuilder::new();
        root.value("version", 1)
            .set("tag", Node::commented("v1.8.0", "the tag the service runs"))
            .value("version_text", "16")
            .value("on", "true")
            .value("empty", "")
            .value("reference", "${postgres.address}")
            .set(
                "command",
                Node::flow(&json!(["uv", "run", "app:main", "0.0.0.0", "#x"])),
            );
        let text = to_yaml(&root.build());
        assert!(
            text.contains("tag: v1.8.0 # the tag the service runs\n"),
            "{text}"
        );
        assert!(text.contains("command: ["), "{text}");
        let read: serde_json::Value = serde_saphyr::from_str(&text).unwrap();
        assert_eq!(
            read,
            json!({
                "version": 1,
                "tag": "v1.8.0",
                "version_text": "16",
                "on": "true",
                "empty": "",
                "reference": "${postgres.address}",
                "command": ["uv", "run", "app:main", "0.0.0.0", "#x"],
            })
        );
    }
}
