//! Settings in AWS's JSON names (the `aws:` blocks) sent as written: merged into
//! RegisterTaskDefinition's request body, which is that JSON (the ECS API speaks awsJson1.1, the
//! task-definition file's own shape), after the SDK serialized the typed fields and before it
//! signs. So a setting the SDK types do not reach, or one added by AWS after this release, is sent
//! byte for byte as the state file wrote it.

use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::interceptors::context::BeforeTransmitInterceptorContextMut;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::body::SdkBody;
use aws_smithy_types::config_bag::ConfigBag;
use serde_json::Value;

use crate::model::{TaskDefinition, merge_aws_json};

/// The `aws:` settings of one task definition, by where they go in the request.
#[derive(Debug, Clone, Default)]
pub struct MergeAwsJson {
    task: Value,
    containers: Vec<(String, Value)>,
    volumes: Vec<(String, Value)>,
}

impl MergeAwsJson {
    /// What `definition` holds in AWS's names; `None` when it holds nothing (no interceptor).
    pub fn of(definition: &TaskDefinition) -> Option<Self> {
        let containers: Vec<(String, Value)> = definition
            .containers
            .iter()
            .filter(|c| !c.aws.is_empty())
            .map(|c| (c.name.clone(), Value::Object(c.aws.0.clone())))
            .collect();
        let volumes: Vec<(String, Value)> = definition
            .settings
            .volumes
            .iter()
            .filter(|v| !v.aws.is_empty())
            .map(|v| (v.name.clone(), Value::Object(v.aws.0.clone())))
            .collect();
        (!definition.aws.is_empty() || !containers.is_empty() || !volumes.is_empty()).then(|| {
            MergeAwsJson {
                task: Value::Object(definition.aws.0.clone()),
                containers,
                volumes,
            }
        })
    }

    /// The request body with the settings merged in: task-level members at the top, a
    /// container's into the `containerDefinitions` item of its name, a volume's likewise.
    pub fn merged(&self, body: &mut Value) {
        merge_aws_json(body, &self.task);
        for (list, named) in [
            ("containerDefinitions", &self.containers),
            ("volumes", &self.volumes),
        ] {
            let Some(Value::Array(items)) = body.get_mut(list) else {
                continue;
            };
            for (name, aws) in named {
                if let Some(item) = items
                    .iter_mut()
                    .find(|item| item.get("name").and_then(Value::as_str) == Some(name))
                {
                    merge_aws_json(item, aws);
                }
            }
        }
    }
}

impl Intercept for MergeAwsJson {
    fn name(&self) -> &'static str {
        "MergeAwsJson"
    }

    fn modify_before_retry_loop(
        &self,
        context: &mut BeforeTransmitInterceptorContextMut<'_>,
        _runtime_components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let request = context.request_mut();
        let bytes = request
            .body()
            .bytes()
            .ok_or("the RegisterTaskDefinition request body is not in memory")?;
        let mut body: Value = serde_json::from_slice(bytes)?;
        self.merged(&mut body);
        let text = serde_json::to_vec(&body)?;
        request
            .headers_mut()
            .insert("content-length", text.len().to_string());
        *request.body_mut() = SdkBody::from(text);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::model::{AwsJson, ContainerDefinition, TaskSettings, Volume};

    fn aws(value: Value) -> AwsJson {
        AwsJson(value.as_object().cloned().unwrap_or_default())
    }

    #[test]
    fn settings_land_in_the_member_of_their_name_beside_the_typed_ones() {
        let definition = TaskDefinition {
            family: "web".into(),
            aws: aws(json!({"ipcMode": "host"})),
            containers: vec![
                ContainerDefinition {
                    name: "app".into(),
                    ..Default::default()
                },
                ContainerDefinition {
                    name: "envoy".into(),
                    aws: aws(
                        json!({"linuxParameters": {"tmpfs": [{"containerPath": "/tmp", "size": 64}]}, "privileged": true}),
                    ),
                    ..Default::default()
                },
            ],
            settings: TaskSettings {
                volumes: vec![Volume {
                    name: "docker".into(),
                    aws: aws(json!({"host": {"sourcePath": "/var/run/docker.sock"}})),
                    ..Default::default()
                }],
                ..Default::default()
            },
            ..Default::default()
        };
        let mut body = json!({
            "family": "web",
            "containerDefinitions": [
                {"name": "app", "image": "a"},
                {"name": "envoy", "image": "e", "linuxParameters": {"initProcessEnabled": true}},
            ],
            "volumes": [{"name": "docker"}],
        });
        MergeAwsJson::of(&definition).unwrap().merged(&mut body);
        assert_eq!(
            body,
            json!({
                "family": "web",
                "containerDefinitions": [
                    {"name": "app", "image": "a"},
                    {"name": "envoy", "image": "e", "linuxParameters": {"initProcessEnabled": true, "tmpfs": [{"containerPath": "/tmp", "size": 64}]}, "privileged": true},
                ],
                "volumes": [{"name": "docker", "host": {"sourcePath": "/var/run/docker.sock"}}],
                "ipcMode": "host",
            })
        );
        assert!(
            MergeAwsJson::of(&TaskDefinition::default()).is_none(),
            "nothing to merge, no interceptor"
        );
    }
}
