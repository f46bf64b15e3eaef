//! Maps a field path such as `services.api.cpu` back to its line and column in the YAML source,
//! so that checks made after parsing can point at the exact spot.

use std::collections::BTreeMap;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_saphyr::Spanned;

/// A YAML node with the position of its value and, for mappings, of each key.
#[derive(Debug, Default)]
pub struct Located {
    line: u64,
    column: u64,
    children: Children,
}

#[derive(Debug, Default)]
enum Children {
    #[default]
    Scalar,
    /// By key (the typed parse has rejected duplicate keys): looking a path up costs a few
    /// comparisons per segment however large the mapping, so locating many findings stays linear.
    Map(BTreeMap<String, (u64, u64, Located)>),
    Seq(Vec<Located>),
}

impl Located {
    /// Parses `source` into a position tree; `None` when it is not valid YAML (the typed parse reports why).
    pub fn parse(source: &str) -> Option<Located> {
        let root: Spanned<Node> = serde_saphyr::from_str(source).ok()?;
        Some(root.into())
    }

    /// Line and column of the value at `path` (`a.b.0.c`); falls back to the nearest existing
    /// ancestor so that a missing field points at the mapping that lacks it. A path ending in `#key`
    /// points at the last key itself rather than its value.
    pub fn find(&self, path: &str) -> (u64, u64) {
        let (path, want_key) = match path.strip_suffix("#key") {
            Some(stripped) => (stripped, true),
            None => (path, false),
        };
        let mut node = self;
        let mut position = (self.line.max(1), self.column.max(1));
        for segment in path.split('.').filter(|segment| !segment.is_empty()) {
            let next = match &node.children {
                Children::Map(entries) => entries
                    .get(segment)
                    .map(|(line, column, child)| (child, (*line, *column))),
                Children::Seq(items) => segment
                    .parse::<usize>()
                    .ok()
                    .and_then(|index| items.get(index))
                    .map(|child| (child, (child.line, child.column))),
                Children::Scalar => None,
            };
            match next {
                Some((child, key_position)) => {
                    position = if want_key {
                        key_position
                    } else {
                        (child.line, child.column)
                    };
                    node = child;
                }
                None => break,
            }
        }
        position
    }
}

struct Node(Children);

impl From<Spanned<Node>> for Located {
    fn from(spanned: Spanned<Node>) -> Self {
        Located {
            line: spanned.referenced.line(),
            column: spanned.referenced.column(),
            children: spanned.value.0,
        }
    }
}

impl<'de> Deserialize<'de> for Node {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(NodeVisitor)
    }
}

struct NodeVisitor;

impl<'de> Visitor<'de> for NodeVisitor {
    type Value = Node;

    fn expecting(&self, formatter: &mut std::fmt::Formatter) -> std::fmt::Result {
        formatter.write_str("any YAML node")
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Node, E> {
        Ok(Node(Children::Scalar))
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Node, E> {
        Ok(Node(Children::Scalar))
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Node, E> {
        Ok(Node(Children::Scalar))
    }
    fn visit_i128<E: de::Error>(self, _: i128) -> Result<Node, E> {
        Ok(Node(Children::Scalar))
    }
    fn visit_u128<E: de::Error>(self, _: u128) -> Result<Node, E> {
        Ok(Node(Children::Scalar))
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Node, E> {
        Ok(Node(Children::Scalar))
    }
    fn visit_str<E: de::Error>(self, _: &str) -> Result<Node, E> {
        Ok(Node(Children::Scalar))
    }
    fn visit_unit<E: de::Error>(self) -> Result<Node, E> {
        Ok(Node(Children::Scalar))
    }
    fn visit_none<E: de::Error>(self) -> Result<Node, E> {
        Ok(Node(Children::Scalar))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Node, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element::<Spanned<Node>>()? {
            items.push(item.into());
        }
        Ok(Node(Children::Seq(items)))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Node, A::Error> {
        let mut entries = BTreeMap::new();
        while let Some(key) = map.next_key::<Spanned<String>>()? {
            let value: Spanned<Node> = map.next_value()?;
            entries.insert(
                key.value,
                (key.referenced.line(), key.referenced.column(), value.into()),
            );
        }
        Ok(Node(Children::Map(entries)))
    }
}

#[cfg(test)]
mod tests {
    use super::Located;

    #[test]
    fn finds_values_keys_and_nearest_ancestor() {
        let source =
            "version: 1\nservices:\n  api:\n    cpu: 1000\n    containers:\n      - a\n      - b\n";
        let tree = Located::parse(source).unwrap();
        assert_eq!(tree.find("services.api.cpu"), (4, 10));
        assert_eq!(tree.find("services.api.cpu#key"), (4, 5));
        assert_eq!(tree.find("services.api.containers.1"), (7, 9));
        assert_eq!(tree.find("services.api.memory"), (4, 5));
        assert_eq!(tree.find(""), (1, 1));
    }
}
