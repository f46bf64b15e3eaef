//! How the plan views name fields and show values: AWS's JSON names for task definitions and
//! services (`containerDefinitions[backend].portMappings`), images by the tag people know them by,
//! the registry left out (the headline names it once) and digests cut to 12 digits, as Docker
//! shows them. The JSON plan keeps every value whole.

use serde_json::Value;

pub(super) use crate::history::short_digest;
use crate::plan::{Plan, ResourceKind};

/// Model names that AWS's JSON spells otherwise (beyond snake_case to camelCase).
const RENAMES: &[(&str, &str)] = &[
    ("containers", "containerDefinitions"),
    ("ephemeral_storage_gib", "ephemeralStorage.sizeInGiB"),
    ("firelens", "firelensConfiguration"),
    ("kind", "type"),
    ("efs", "efsVolumeConfiguration"),
    ("network", "networkConfiguration.awsvpcConfiguration"),
    ("deployment", "deploymentConfiguration"),
    ("circuit_breaker_enable", "deploymentCircuitBreaker.enable"),
    (
        "circuit_breaker_rollback",
        "deploymentCircuitBreaker.rollback",
    ),
    ("min_healthy_percent", "minimumHealthyPercent"),
    ("max_percent", "maximumPercent"),
    ("health_check_grace_period", "healthCheckGracePeriodSeconds"),
];

/// Keys whose children are names a person chose (variables, log options, labels): shown as
/// written. (Settings in AWS's names, `aws`, are shown as members of what holds them.)
const MAPS: &[&str] = &[
    "environment",
    "secrets",
    "options",
    "secret_options",
    "docker_labels",
];

/// Lists of named objects, which the field paths key by name: the next segment is that name.
const NAMED: &[&str] = &["containers", "volumes", "ulimits", "port_mappings"];

fn camel(key: &str) -> String {
    if let Some((_, aws)) = RENAMES.iter().find(|(model, _)| *model == key) {
        return aws.to_string();
    }
    let mut out = String::with_capacity(key.len());
    let mut upper = false;
    for c in key.chars() {
        match c {
            '_' => upper = true,
            c if upper => {
                out.extend(c.to_uppercase());
                upper = false;
            }
            c => out.push(c),
        }
    }
    out
}

/// Whether a kind's fields are AWS documents (named as AWS's JSON names them) rather than the
/// state file's settings (backing services, named as the state file writes them).
fn aws_named(kind: ResourceKind) -> bool {
    matches!(kind, ResourceKind::TaskDefinition | ResourceKind::Service)
}

/// A field's path as people read it for this kind of resource.
pub(super) fn path(kind: ResourceKind, path: &str) -> String {
    if !aws_named(kind) {
        return path.to_string();
    }
    let segments: Vec<&str> = path.split('.').collect();
    let mut out = String::new();
    let mut i = 0;
    while i < segments.len() {
        let segment = segments[i];
        // Settings in AWS's names (`aws:`) are shown as members of what holds them.
        if segment == "aws" {
            let rest = segments[i + 1..].join(".");
            if !out.is_empty() && !rest.is_empty() {
                out.push('.');
            }
            out.push_str(&rest);
            break;
        }
        if !out.is_empty() {
            out.push('.');
        }
        out.push_str(&camel(segment));
        if i + 1 < segments.len() {
            if NAMED.contains(&segment) {
                out.push_str(&format!("[{}]", segments[i + 1]));
                i += 2;
                continue;
            }
            if MAPS.contains(&segment) {
                out.push('.');
                out.push_str(&segments[i + 1..].join("."));
                break;
            }
        }
        i += 1;
    }
    out
}

/// A value with its object keys in AWS's names (for lists of objects such as port mappings),
/// the children of person-named maps as written.
fn aws_value(value: &Value) -> Value {
    match value {
        Value::Object(map) => {
            let mut out = serde_json::Map::new();
            for (key, item) in map {
                if key == "aws"
                    && let Value::Object(members) = item
                {
                    out.extend(members.clone());
                    continue;
                }
                let item = if MAPS.contains(&key.as_str()) {
                    item.clone()
                } else {
                    aws_value(item)
                };
                out.insert(camel(key), item);
            }
            Value::Object(out)
        }
        Value::Array(items) => Value::Array(items.iter().map(aws_value).collect()),
        other => other.clone(),
    }
}

/// What a plan knows of its images, to name them briefly.
pub(super) struct Images<'a> {
    /// `REGISTRY/` of the state's image (left out everywhere but the headline).
    registry: String,
    /// `REGISTRY/REPO` of the state's image.
    base: String,
    plan: &'a Plan,
}

impl<'a> Images<'a> {
    pub(super) fn of(plan: &'a Plan) -> Self {
        let image = plan.image.as_deref().unwrap_or_default();
        let base = match image.split_once('@') {
            Some((base, _)) => base.to_string(),
            None => image
                .rsplit_once(':')
                .map_or(image.to_string(), |(base, _)| base.to_string()),
        };
        let registry = base
            .split_once('/')
            .map(|(registry, _)| format!("{registry}/"))
            .unwrap_or_default();
        Images {
            registry,
            base,
            plan,
        }
    }

    /// The state's image by its tag (or short digest when it names a digest); `None` when the
    /// environment has no image of its own (each container names one).
    pub(super) fn wanted(&self) -> Option<String> {
        let image = self.plan.image.as_deref()?;
        Some(match image.strip_prefix(&self.base) {
            Some(rest) if rest.starts_with(':') => rest[1..].to_string(),
            _ => self
                .plan
                .image_digest
                .as_deref()
                .map(short_digest)
                .unwrap_or_else(|| self.compact(image)),
        })
    }

    /// What the services run now where it is not the state's image, by its tags; `None` when
    /// they run the state's image (or nothing runs yet).
    pub(super) fn running(&self) -> Option<String> {
        if self.plan.running_images.is_empty() {
            return None;
        }
        let names: Vec<String> = self
            .plan
            .running_images
            .iter()
            .map(|image| self.label(&image.reference))
            .collect();
        Some(names.join(", "))
    }

    /// An image reference by the name people know it by: a tag of the application's repository
    /// (with the short digest when the other side has the same tag), else the reference without
    /// the registry.
    pub(super) fn label(&self, reference: &str) -> String {
        let Some(wanted) = self.wanted() else {
            return self.compact(reference);
        };
        if Some(reference) == self.plan.image.as_deref() {
            return wanted;
        }
        let Some(rest) = reference.strip_prefix(&self.base) else {
            return self.compact(reference);
        };
        if let Some(tag) = rest.strip_prefix(':') {
            return tag.to_string();
        }
        let Some(digest) = rest.strip_prefix('@') else {
            return self.compact(reference);
        };
        if self.plan.image_digest.as_deref() == Some(digest) {
            return wanted;
        }
        match self
            .plan
            .running_images
            .iter()
            .find(|image| image.digest() == Some(digest))
        {
            Some(image) if !image.tags.is_empty() => image.tags.join(", "),
            _ => short_digest(digest),
        }
    }

    /// Text with the registry left out and digests cut short.
    pub(super) fn compact(&self, text: &str) -> String {
        let text = if self.registry.is_empty() {
            text.to_string()
        } else {
            text.replace(&self.registry, "")
        };
        let mut out = String::with_capacity(text.len());
        let mut rest = text.as_str();
        while let Some(at) = rest.find("sha256:") {
            let (before, from) = rest.split_at(at);
            out.push_str(before);
            let hex = from["sha256:".len()..]
                .chars()
                .take_while(char::is_ascii_hexdigit)
                .count();
            let end = "sha256:".len() + hex;
            out.push_str(&short_digest(&from[..end]));
            rest = &from[end..];
        }
        out.push_str(rest);
        out
    }

    /// A field's value as shown: absent, an image by its label, anything else as JSON in
    /// AWS's names, compacted.
    pub(super) fn value(&self, kind: ResourceKind, path: &str, value: &Option<Value>) -> String {
        match value {
            None => "(absent)".into(),
            Some(Value::String(image)) if is_image(kind, path) => self.label(image),
            Some(value) if aws_named(kind) => self.compact(&aws_value(value).to_string()),
            Some(value) => self.compact(&value.to_string()),
        }
    }

    /// Both sides of a field: when two images have the same label (a tag that moved), each
    /// with its digest.
    pub(super) fn sides(
        &self,
        kind: ResourceKind,
        path: &str,
        before: &Option<Value>,
        after: &Option<Value>,
    ) -> (String, String) {
        let (left, right) = (
            self.value(kind, path, before),
            self.value(kind, path, after),
        );
        match (before, after) {
            (Some(Value::String(b)), Some(Value::String(a)))
                if left == right && is_image(kind, path) =>
            {
                let digest = |image: &str| {
                    image
                        .split_once('@')
                        .map(|(_, digest)| format!(" ({})", short_digest(digest)))
                        .unwrap_or_default()
                };
                (
                    format!("{left}{}", digest(b)),
                    format!("{right}{}", digest(a)),
                )
            }
            _ => (left, right),
        }
    }
}

fn is_image(kind: ResourceKind, path: &str) -> bool {
    kind == ResourceKind::TaskDefinition
        && path.starts_with("containers.")
        && path.ends_with(".image")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn task_definition_paths_read_as_aws_names_them() {
        let td = ResourceKind::TaskDefinition;
        for (model, aws) in [
            (
                "containers.backend.port_mappings",
                "containerDefinitions[backend].portMappings",
            ),
            (
                "containers.celery-worker.environment.CELERY_TASK_TIME_LIMIT",
                "containerDefinitions[celery-worker].environment.CELERY_TASK_TIME_LIMIT",
            ),
            (
                "containers.backend.log_configuration.options.awslogs-group",
                "containerDefinitions[backend].logConfiguration.options.awslogs-group",
            ),
            (
                "containers.backend.docker_labels.com.example.team",
                "containerDefinitions[backend].dockerLabels.com.example.team",
            ),
            ("ephemeral_storage_gib", "ephemeralStorage.sizeInGiB"),
            (
                "volumes.data.efs.file_system_id",
                "volumes[data].efsVolumeConfiguration.fileSystemId",
            ),
            ("execution_role_arn", "executionRoleArn"),
        ] {
            assert_eq!(path(td, model), aws, "{model}");
        }
        assert_eq!(
            path(ResourceKind::Service, "network.assign_public_ip"),
            "networkConfiguration.awsvpcConfiguration.assignPublicIp"
        );
        // Backing services read as the state file names their settings.
        assert_eq!(
            path(ResourceKind::RdsInstance, "instance_class"),
            "instance_class"
        );
    }

    #[test]
    fn values_in_lists_take_aws_names_and_variables_keep_theirs() {
        let value = serde_json::json!([{"container_port": 80, "host_port": 80}]);
        assert_eq!(
            aws_value(&value).to_string(),
            r#"[{"containerPort":80,"hostPort":80}]"#
        );
        let value = serde_json::json!({"secret_options": {"api_key": "arn"}});
        assert_eq!(
            aws_value(&value).to_string(),
            r#"{"secretOptions":{"api_key":"arn"}}"#
        );
    }
}
