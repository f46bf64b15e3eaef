//! The field tables of the backing APIs and what they share. Each API module (`rds`,
//! `elasticache`, `mq`) has one table: per state-file field, how it is read from the describe
//! answer (and its pending value), how it is set on create and how on modify. Reading, creating
//! and modifying are loops over that table, so adding a field is one row, and a test checks that
//! each table names exactly the fields of the planner's rules table.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::state::desired::{ENVIRONMENT_TAG, MANAGED_BY_TAG};

/// One field of a backing API. `Described` is what the describe calls answer; `Create` and
/// `Modify` are the request builders. A `None` setter means the API does not take the field
/// there (set once by other means, or changed only by replacement).
pub struct Field<Described, Create, Modify> {
    pub name: &'static str,
    pub read: fn(&Described) -> Option<Value>,
    pub pending: Option<fn(&Described) -> Option<Value>>,
    pub create: Option<fn(Create, &Value) -> Create>,
    pub modify: Option<fn(Modify, &Value) -> Modify>,
}

impl<Described, Create, Modify> Field<Described, Create, Modify> {
    /// A field read from the describe answer, taken by neither request (yet).
    pub const fn read(name: &'static str, read: fn(&Described) -> Option<Value>) -> Self {
        Field {
            name,
            read,
            pending: None,
            create: None,
            modify: None,
        }
    }

    pub const fn pending(self, pending: fn(&Described) -> Option<Value>) -> Self {
        Field {
            pending: Some(pending),
            ..self
        }
    }

    pub const fn create(self, create: fn(Create, &Value) -> Create) -> Self {
        Field {
            create: Some(create),
            ..self
        }
    }

    pub const fn modify(self, modify: fn(Modify, &Value) -> Modify) -> Self {
        Field {
            modify: Some(modify),
            ..self
        }
    }
}

/// Current settings and pending values of a described resource, by field name: fields AWS
/// leaves out stay out.
pub fn read_all<D, C, M>(
    fields: &[Field<D, C, M>],
    described: &D,
) -> (BTreeMap<String, Value>, BTreeMap<String, Value>) {
    let mut settings = BTreeMap::new();
    let mut pending = BTreeMap::new();
    for field in fields {
        if let Some(value) = (field.read)(described) {
            settings.insert(field.name.to_string(), value);
        }
        if let Some(value) = field.pending.and_then(|read| read(described)) {
            pending.insert(field.name.to_string(), value);
        }
    }
    (settings, pending)
}

/// A request with every value whose field has a setter for it (`pick` chooses which setter).
fn write_with<D, C, M, Request>(
    fields: &[Field<D, C, M>],
    request: Request,
    values: &BTreeMap<String, Value>,
    pick: impl Fn(&Field<D, C, M>) -> Option<fn(Request, &Value) -> Request>,
) -> Request {
    fields.iter().fold(request, |request, field| {
        match (pick(field), values.get(field.name)) {
            (Some(set), Some(value)) => set(request, value),
            _ => request,
        }
    })
}

/// The create request with every setting the API takes at creation.
pub fn create_with<D, C, M>(
    fields: &[Field<D, C, M>],
    request: C,
    settings: &BTreeMap<String, Value>,
) -> C {
    write_with(fields, request, settings, |field| field.create)
}

/// The modify request with every change the API takes in it.
pub fn modify_with<D, C, M>(
    fields: &[Field<D, C, M>],
    request: M,
    changes: &BTreeMap<String, Value>,
) -> M {
    write_with(fields, request, changes, |field| field.modify)
}

/// Whether any change goes into the modify request (some fields have calls of their own).
pub fn modifies<D, C, M>(fields: &[Field<D, C, M>], changes: &BTreeMap<String, Value>) -> bool {
    fields
        .iter()
        .any(|field| field.modify.is_some() && changes.contains_key(field.name))
}

/// The names a table covers, for the test that it matches the rules table.
#[cfg(test)]
pub fn names<D, C, M>(fields: &[Field<D, C, M>]) -> Vec<&'static str> {
    fields.iter().map(|field| field.name).collect()
}

pub fn from_text(value: Option<&str>) -> Option<Value> {
    value.map(Value::from)
}

pub fn from_int(value: Option<i32>) -> Option<Value> {
    value.map(Value::from)
}

pub fn from_bool(value: Option<bool>) -> Option<Value> {
    value.map(Value::from)
}

/// A list of ids as a sorted JSON array (AWS returns them in any order).
pub fn sorted_ids<'a>(ids: impl IntoIterator<Item = &'a str>) -> Value {
    let mut ids: Vec<&str> = ids.into_iter().collect();
    ids.sort_unstable();
    Value::from(ids)
}

pub fn as_text(value: &Value) -> Option<String> {
    value.as_str().map(str::to_string)
}

pub fn as_int(value: &Value) -> Option<i32> {
    value.as_i64().and_then(|n| i32::try_from(n).ok())
}

pub fn as_bool(value: &Value) -> Option<bool> {
    value.as_bool()
}

pub fn as_list(value: &Value) -> Option<Vec<String>> {
    value.as_array().map(|items| {
        items
            .iter()
            .filter_map(|item| item.as_str().map(str::to_string))
            .collect()
    })
}

/// Whether a resource's tags name the same environment, managed by reconcile, as `wanted`.
pub fn same_owner(
    tags: Option<&BTreeMap<String, String>>,
    wanted: &BTreeMap<String, String>,
) -> bool {
    let Some(tags) = tags else { return false };
    [MANAGED_BY_TAG, ENVIRONMENT_TAG]
        .iter()
        .all(|key| wanted.get(*key).is_some() && tags.get(*key) == wanted.get(*key))
}
