//! Backing services as the state file writes them, from their live settings (already keyed by the
//! state's field names), and the outputs container variables refer to.

use serde_json::Value;

use super::input::ImportInput;
use super::node::{MapBuilder, Node};
use super::references::{PLACEHOLDER, reference};
use crate::model::{BackingKind, LiveBacking};
use crate::state::naming::Names;

/// The outputs of the imported backing services, to turn equal variable values into references.
pub(super) struct Outputs(Vec<(String, String, String)>);

pub(super) fn outputs(backing: &[(String, LiveBacking)]) -> Outputs {
    Outputs(
        backing
            .iter()
            .flat_map(|(key, live)| {
                live.outputs
                    .iter()
                    .map(move |(output, value)| (key.clone(), output.clone(), value.clone()))
            })
            .collect(),
    )
}

impl Outputs {
    fn unique(&self, value: &str, outputs: &[&str]) -> Option<String> {
        let mut found = self
            .0
            .iter()
            .filter(|(_, output, v)| v == value && outputs.contains(&output.as_str()));
        let first = found.next()?;
        found
            .next()
            .is_none()
            .then(|| format!("${{{}.{}}}", first.0, first.1))
    }

    /// The reference a plain variable's value stands for: an endpoint or address, or (under a
    /// name with PORT) a port, when exactly one backing service has it.
    pub fn plain(&self, name: &str, value: &str) -> Option<String> {
        self.unique(value, &["endpoint", "address"]).or_else(|| {
            name.to_ascii_uppercase()
                .contains("PORT")
                .then(|| self.unique(value, &["port"]))
                .flatten()
        })
    }

    /// The reference a secret's `valueFrom` stands for (the RDS-managed master password).
    pub fn secret(&self, value_from: &str) -> Option<String> {
        self.unique(value_from, &["master_password"])
    }
}

fn text(settings: &serde_json::Map<String, Value>, field: &str) -> Option<String> {
    settings
        .get(field)
        .and_then(Value::as_str)
        .map(str::to_string)
}

/// The engine version to write: major for PostgreSQL, major.minor for Redis and RabbitMQ, which
/// the state reads as "any patch release AWS moves to"; the live one in a comment.
fn version(kind: BackingKind, live: &str) -> Node {
    let parts = match kind {
        BackingKind::Postgres => 1,
        BackingKind::Redis | BackingKind::Rabbitmq => 2,
    };
    let short: Vec<&str> = live.split('.').take(parts).collect();
    let short = short.join(".");
    if short == live {
        Node::scalar(short)
    } else {
        Node::commented(
            short,
            format!("live {live}: any patch release of it matches"),
        )
    }
}

/// A variable's name and what the state writes for it.
type Named = (String, String);

/// What the application containers connect to a backing service with: the secret they read as
/// `{KEY}_PASSWORD` (or `_AUTH_TOKEN`, `_TOKEN`) and the user they read as `{KEY}_USER`, the first
/// container that has them. That password is the Redis AUTH token or the broker's password.
fn credentials(input: &ImportInput, key: &str) -> (Option<Named>, Option<Named>) {
    let stem = key.to_ascii_uppercase().replace('-', "_");
    let containers = || {
        input
            .services
            .iter()
            .flat_map(|(_, revision)| &revision.content.containers)
    };
    let secret = ["PASSWORD", "AUTH_TOKEN", "TOKEN"]
        .iter()
        .find_map(|suffix| {
            let name = format!("{stem}_{suffix}");
            containers().find_map(|container| {
                container.secrets.get(&name).map(|value_from| {
                    (
                        name.clone(),
                        reference(value_from, &input.region, &input.account),
                    )
                })
            })
        });
    let user_name = format!("{stem}_USER");
    let user = containers().find_map(|container| {
        container
            .environment
            .get(&user_name)
            .map(|user| (user_name.clone(), user.clone()))
    });
    (secret, user)
}

/// One backing service's entry.
pub(super) fn spec(
    input: &ImportInput,
    key: &str,
    live: &LiveBacking,
    names: &Names,
    todo: &mut Vec<String>,
) -> Node {
    let kind = live.kind.unwrap_or(BackingKind::Postgres);
    let settings: serde_json::Map<String, Value> = live.settings.clone().into_iter().collect();
    let mut map = MapBuilder::new();
    map.value("engine", kind.engine());
    if live.name != names.backing(key) {
        map.value("name", live.name.as_str());
    }
    if let Some(live_version) = text(&settings, "version") {
        map.set("version", version(kind, &live_version));
    }
    // The fields every kind writes as AWS reports them, with the state's defaults left out.
    let defaults: &[(&str, Value)] = match kind {
        BackingKind::Postgres => &[
            ("storage_type", Value::from("gp3")),
            ("multi_az", Value::Bool(false)),
            ("backup_retention_days", Value::from(7)),
            ("deletion_protection", Value::Bool(true)),
            ("storage_encrypted", Value::Bool(true)),
            ("master_username", Value::from("postgres")),
            ("managed_master_password", Value::Bool(true)),
        ],
        BackingKind::Redis => &[
            ("multi_az", Value::Bool(false)),
            ("transit_encryption", Value::Bool(true)),
            ("at_rest_encryption", Value::Bool(true)),
        ],
        BackingKind::Rabbitmq => &[
            ("deployment_mode", Value::from("SINGLE_INSTANCE")),
            ("auto_minor_version_upgrade", Value::Bool(true)),
            ("publicly_accessible", Value::Bool(false)),
        ],
    };
    let fields: &[&str] = match kind {
        BackingKind::Postgres => &[
            "instance_class",
            "storage_gb",
            "max_storage_gb",
            "storage_type",
            "multi_az",
            "backup_retention_days",
            "backup_window",
            "maintenance_window",
            "deletion_protection",
            "storage_encrypted",
            "parameter_group",
            "subnet_group",
            "security_groups",
            "master_username",
            "database",
            "managed_master_password",
        ],
        BackingKind::Redis => &[
            "node_type",
            "replicas",
            "automatic_failover",
            "multi_az",
            "transit_encryption",
            "at_rest_encryption",
            "parameter_group",
            "subnet_group",
            "security_groups",
            "maintenance_window",
        ],
        BackingKind::Rabbitmq => &[
            "instance_type",
            "deployment_mode",
            "auto_minor_version_upgrade",
            "maintenance_window",
            "publicly_accessible",
            "subnets",
            "security_groups",
        ],
    };
    for field in fields {
        let Some(value) = settings.get(*field) else {
            continue;
        };
        // A default group (`default.postgres16`) is what AWS gives when none is named: left to it.
        if *field == "parameter_group" && value.as_str().is_some_and(|g| g.starts_with("default."))
        {
            continue;
        }
        let default = defaults.iter().find(|(name, _)| name == field);
        if default.is_some_and(|(_, default)| default == value) {
            continue;
        }
        // The mode is written as the state spells it.
        if *field == "deployment_mode" {
            map.value(
                field,
                value.as_str().unwrap_or_default().to_ascii_lowercase(),
            );
            continue;
        }
        match value {
            Value::Array(_) => map.set(field, Node::Flow(value.clone())),
            other => map.set(field, Node::Scalar(other.clone(), None)),
        };
    }
    let (secret, user) = credentials(input, key);
    let secret_node = |what: &str| match &secret {
        Some((name, reference)) => Node::commented(
            reference.as_str(),
            format!("the {name} the containers connect with; read only to create it"),
        ),
        None => Node::commented(
            PLACEHOLDER,
            format!("{what}, as a secret reference (read only to create it)"),
        ),
    };
    match kind {
        BackingKind::Redis if settings.get("auth_token") == Some(&Value::Bool(true)) => {
            map.set("auth_token", secret_node("the group's AUTH token"));
            if secret.is_none() {
                todo.push(format!(
                    "backing.{key}.auth_token: {} has an AUTH token; write the reference of the secret holding it (validate fails until then)",
                    live.name
                ));
            }
        }
        BackingKind::Rabbitmq => {
            match (text(&settings, "admin_user"), &user) {
                (Some(admin), _) => map.value("admin_user", admin),
                (None, Some((name, admin))) => map.set(
                    "admin_user",
                    Node::commented(
                        admin.as_str(),
                        format!("the {name} the containers connect as (Amazon MQ lists no users)"),
                    ),
                ),
                (None, None) => map.set(
                    "admin_user",
                    Node::commented(
                        "TODO",
                        "Amazon MQ lists no RabbitMQ users: write the administrator's name",
                    ),
                ),
            };
            map.set(
                "admin_password",
                secret_node("the administrator's password"),
            );
            if secret.is_none() || (user.is_none() && text(&settings, "admin_user").is_none()) {
                todo.push(format!(
                    "backing.{key}: Amazon MQ does not report RabbitMQ users; write admin_user and the admin_password reference (used only if the broker is ever created again)"
                ));
            }
        }
        _ => {}
    }
    map.build()
}
