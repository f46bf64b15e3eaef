//! The validated, fully resolved desired state of one environment: every default and derived name
//! filled in. Only `state::load` builds it, so holding one means the file passed validation.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::Serialize;

use super::arn::Arn;
use super::template::Template;
use crate::model::{
    AwsJson, BackingKind, CapacityProvider, ContainerSettings, Deployment, LoadBalancer, Network,
    PortMapping, SecretId, TaskSettings,
};

/// Tag that marks every resource this tool manages.
pub const MANAGED_BY_TAG: &str = "managed-by";
/// Value of [`MANAGED_BY_TAG`].
pub const MANAGED_BY_VALUE: &str = "reconcile";
/// Tag naming the environment a managed resource belongs to.
pub const ENVIRONMENT_TAG: &str = "reconcile:environment";
/// Tag on a service: fingerprint of the content (task definition and settings) last applied.
pub const FINGERPRINT_TAG: &str = "reconcile:fingerprint";
/// Tag on a service: the git commit of the state file last applied to it.
pub const COMMIT_TAG: &str = "reconcile:commit";

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DesiredState {
    #[serde(skip)]
    pub file: PathBuf,
    pub environment: String,
    pub region: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub account: Option<String>,
    pub prefix: String,
    /// The environment's image in its ECR; `None` when every container names its own.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub image: Option<ImageRef>,
    pub cluster: String,
    /// Tags put on every managed resource, including the management tags.
    pub tags: BTreeMap<String, String>,
    /// Backing services, in state-file order.
    pub backing: Vec<DesiredBacking>,
    pub services: Vec<DesiredService>,
    /// One-off tasks run before the services are updated, in state-file order.
    pub migrations: Vec<DesiredMigration>,
    /// The git commit the state file comes from, when known (recorded on what apply changes).
    #[serde(skip)]
    pub commit: Option<String>,
    /// How `reconcile operate` keeps the environment in sync.
    pub sync: crate::sync::SyncPolicy,
    /// What `--service` left out of this state (`state::focus`): never undeclared, never
    /// "no longer managed", only not planned.
    #[serde(skip)]
    pub left_out: LeftOut,
    /// The environment whose tagged resources this one takes over (`take_over_from:`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub take_over_from: Option<String>,
}

/// The services and backing services of the state file a `--service` plan leaves out.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LeftOut {
    /// ECS service names.
    pub services: Vec<String>,
    /// Backing service resource names (RDS instance, replication group, broker).
    pub backing: Vec<String>,
}

impl LeftOut {
    pub fn is_empty(&self) -> bool {
        self.services.is_empty() && self.backing.is_empty()
    }
}

/// A migration with its defaults applied.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DesiredMigration {
    /// The key of the service (under `services:`).
    pub service: String,
    pub container: String,
    pub command: Vec<String>,
    pub timeout_seconds: u64,
    pub when: crate::state::schema::MigrationWhen,
}

/// A backing service with every default applied.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DesiredBacking {
    /// The key under `backing:`; container variables refer to it.
    pub key: String,
    pub kind: BackingKind,
    pub name: String,
    /// Managed settings by state-file field name; a field left out is not managed.
    pub settings: BTreeMap<String, serde_json::Value>,
    pub apply_immediately: bool,
    /// The Redis AUTH token or the RabbitMQ admin password: read only when creating.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret: Option<SecretRef>,
}

/// A command about the environment's image (`image set`, `promote`, its ECR tags) asked of a
/// state whose containers each name their own.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "{file} has no `image:`: each container names its own image, so the environment has no image in ECR to {what}\n  help: edit the containers' `image:`, or add an `image:` block (the environment's ECR repository and tag)"
)]
pub struct NoEnvironmentImage {
    pub file: String,
    pub what: &'static str,
}

impl DesiredState {
    /// The environment's image, for what works on it alone; `what` says what that is.
    pub fn environment_image(&self, what: &'static str) -> Result<&ImageRef, NoEnvironmentImage> {
        self.image.as_ref().ok_or_else(|| NoEnvironmentImage {
            file: self.file.display().to_string(),
            what,
        })
    }
}

/// Which image the environment deploys.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ImageRef {
    pub repository: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tag: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub digest: Option<String>,
}

impl ImageRef {
    /// A container definition's image, `HOST/REPO:TAG` or `HOST/REPO@DIGEST`, as its registry
    /// host and reference; `None` for an image without a registry host (Docker Hub's short
    /// names). A reference with neither tag nor digest means `latest`, as Docker reads it.
    pub fn parse_uri(uri: &str) -> Option<(String, ImageRef)> {
        let (host, path) = uri.split_once('/')?;
        if !host.contains('.') {
            return None;
        }
        let (repository, tag, digest) = match path.split_once('@') {
            Some((repository, digest)) => (repository, None, Some(digest.to_string())),
            None => match path.rsplit_once(':') {
                Some((repository, tag)) => (repository, Some(tag.to_string()), None),
                None => (path, Some("latest".to_string()), None),
            },
        };
        Some((
            host.to_string(),
            ImageRef {
                repository: repository.to_string(),
                tag,
                digest,
            },
        ))
    }

    /// `repository:tag` or `repository@digest`.
    pub fn display(&self) -> String {
        match (&self.tag, &self.digest) {
            (Some(tag), _) => format!("{}:{tag}", self.repository),
            (None, Some(digest)) => format!("{}@{digest}", self.repository),
            (None, None) => self.repository.clone(),
        }
    }

    /// The full reference a container definition uses, given the registry's account id and region.
    pub fn uri(&self, registry_id: &str, region: &str) -> String {
        let host = format!("{registry_id}.dkr.ecr.{region}.amazonaws.com");
        match (&self.tag, &self.digest) {
            (Some(tag), _) => format!("{host}/{}:{tag}", self.repository),
            (None, Some(digest)) => format!("{host}/{}@{digest}", self.repository),
            (None, None) => format!("{host}/{}", self.repository),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DesiredService {
    /// The key under `services:` in the state file.
    pub key: String,
    pub name: String,
    pub family: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub desired_count: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cpu: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub memory: Option<u32>,
    /// `FARGATE`, `EC2` or `EXTERNAL`; `None` with a capacity provider strategy.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub launch_type: Option<String>,
    /// `awsvpc`, `bridge`, `host` or `none`.
    pub network_mode: String,
    /// As registered (`[]`: none).
    pub requires_compatibilities: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub execution_role_arn: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub task_role_arn: Option<String>,
    /// `awsvpc` only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub network: Option<Network>,
    pub deployment: Deployment,
    /// Fargate only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub platform_version: Option<String>,
    /// `None`: the service's load balancers are not managed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub load_balancers: Option<Vec<LoadBalancer>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub health_check_grace_period: Option<u32>,
    pub enable_execute_command: bool,
    pub propagate_tags: String,
    pub enable_ecs_managed_tags: bool,
    /// `None`: the FARGATE launch type.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub capacity_provider_strategy: Option<Vec<CapacityProvider>>,
    /// `None`: not managed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub availability_zone_rebalancing: Option<String>,
    /// Platform, storage, volumes and process settings of the task definition.
    pub task: TaskSettings,
    /// AWS JSON paths of unmanaged settings of the running revision that may be dropped.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub drop_unmanaged: Vec<String>,
    /// Task-definition settings in AWS's JSON names (the service's `aws:` block).
    #[serde(skip_serializing_if = "AwsJson::is_empty")]
    pub aws: AwsJson,
    pub containers: Vec<DesiredContainer>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DesiredContainer {
    pub name: String,
    /// An explicit image; `None` runs the environment's image.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub command: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub entry_point: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
    /// Every port mapping as registered (`port:` becomes one).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub port_mappings: Vec<PortMapping>,
    pub cpu: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub memory: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub memory_reservation: Option<u32>,
    pub essential: bool,
    pub env: BTreeMap<String, String>,
    /// Plain variables whose values refer to backing-service outputs (`${postgres.address}`).
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub env_outputs: BTreeMap<String, Template>,
    pub secrets: BTreeMap<String, SecretRef>,
    /// Secret variables taken from a backing service (`${postgres.master_password}`).
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub secret_outputs: BTreeMap<String, Template>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub health_check: Option<DesiredHealthCheck>,
    pub logs: DesiredLogs,
    /// Working directory, user, timeouts, limits, labels, dependencies, mounts, Linux options,
    /// FireLens and environment files, as the task definition holds them.
    pub settings: ContainerSettings,
    /// The container's settings in AWS's JSON names (its `aws:` block).
    #[serde(skip_serializing_if = "AwsJson::is_empty")]
    pub aws: AwsJson,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DesiredHealthCheck {
    pub command: Vec<String>,
    pub interval: u32,
    pub timeout: u32,
    pub retries: u32,
    pub start_period: u32,
}

/// A container's log configuration with its defaults applied.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DesiredLogs {
    pub driver: String,
    /// Where awslogs writes; `None` for any other driver.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub awslogs: Option<AwsLogs>,
    /// The driver's other options, as written.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub options: BTreeMap<String, String>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub secret_options: BTreeMap<String, SecretRef>,
}

/// The CloudWatch Logs group and stream prefix of an awslogs container.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AwsLogs {
    pub group: String,
    pub stream_prefix: String,
}

/// Where a secret's value lives. The value itself never enters this tool.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(into = "String")]
pub enum SecretRef {
    /// A Secrets Manager secret by name, optionally one key of its JSON value.
    SecretsManager { name: String, key: Option<String> },
    /// An SSM Parameter Store parameter by name: a path (`/kaapi/x`, sent as its ARN) or a bare
    /// name (`db-password`, sent as written: ECS takes a parameter's name when it is in the
    /// task's region, "Pass Systems Manager parameters as environment variables", ECS Developer
    /// Guide).
    Ssm { name: String },
    /// A full Secrets Manager or SSM ARN, used as written.
    Arn(String),
}

impl SecretRef {
    /// Parses `secretsmanager:NAME[:KEY]`, `ssm:/NAME` or an ARN; `None` when it is none of them.
    pub fn parse(reference: &str) -> Option<SecretRef> {
        if let Some(rest) = reference.strip_prefix("secretsmanager:") {
            let (name, key) = match rest.split_once(':') {
                Some((name, key)) => (name, Some(key)),
                None => (rest, None),
            };
            let name_ok = !name.is_empty()
                && name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "/_+=.@-".contains(c));
            let key_ok = key.is_none_or(|key| !key.is_empty() && !key.contains(':'));
            return (name_ok && key_ok).then(|| SecretRef::SecretsManager {
                name: name.to_string(),
                key: key.map(str::to_string),
            });
        }
        if let Some(name) = reference.strip_prefix("ssm:") {
            let name_ok = !name.trim_start_matches('/').is_empty()
                && name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "/_.-".contains(c));
            return name_ok.then(|| SecretRef::Ssm {
                name: name.to_string(),
            });
        }
        // arn:aws:secretsmanager:REGION:ACCOUNT:secret:NAME[...] or arn:aws:ssm:...:parameter/NAME
        Arn::parse(reference)
            .filter(|arn| match arn.service {
                "secretsmanager" => arn
                    .resource
                    .strip_prefix("secret:")
                    .is_some_and(|name| !name.is_empty()),
                "ssm" => arn
                    .resource
                    .strip_prefix("parameter/")
                    .is_some_and(|name| !name.is_empty()),
                _ => false,
            })
            .map(|_| SecretRef::Arn(reference.to_string()))
    }

    /// How the secret's store looks it up, for an existence check; `None` for an ARN in another
    /// account or region, which the deployer's credentials usually cannot describe.
    pub fn lookup_id(&self, region: &str, account: &str) -> Option<SecretId> {
        match self {
            SecretRef::SecretsManager { name, .. } => Some(SecretId::SecretsManager(name.clone())),
            SecretRef::Ssm { name } => Some(SecretId::Ssm(name.clone())),
            SecretRef::Arn(text) => {
                let arn =
                    Arn::parse(text).filter(|a| a.region == region && a.account == account)?;
                match arn.service {
                    // arn:aws:secretsmanager:REGION:ACCOUNT:secret:NAME[:KEY:STAGE:VERSION]
                    "secretsmanager" => {
                        let mut resource = arn.resource.splitn(3, ':');
                        let (Some(kind), Some(name)) = (resource.next(), resource.next()) else {
                            return None;
                        };
                        Some(SecretId::SecretsManager(format!(
                            "arn:{}:secretsmanager:{region}:{account}:{kind}:{name}",
                            arn.partition
                        )))
                    }
                    // arn:aws:ssm:REGION:ACCOUNT:parameter/NAME
                    "ssm" => arn
                        .resource
                        .strip_prefix("parameter")
                        .filter(|name| name.starts_with('/'))
                        .map(|name| SecretId::Ssm(name.to_string())),
                    _ => None,
                }
            }
        }
    }

    /// The `valueFrom` ECS needs: an ARN in the environment's account and region.
    pub fn value_from(&self, region: &str, account: &str) -> String {
        match self {
            SecretRef::SecretsManager { name, key: None } => {
                format!("arn:aws:secretsmanager:{region}:{account}:secret:{name}")
            }
            SecretRef::SecretsManager {
                name,
                key: Some(key),
            } => format!("arn:aws:secretsmanager:{region}:{account}:secret:{name}:{key}::"),
            SecretRef::Ssm { name } if name.starts_with('/') => {
                format!("arn:aws:ssm:{region}:{account}:parameter{name}")
            }
            SecretRef::Ssm { name } => name.clone(),
            SecretRef::Arn(arn) => arn.clone(),
        }
    }
}

impl From<SecretRef> for String {
    fn from(reference: SecretRef) -> String {
        match reference {
            SecretRef::SecretsManager { name, key: None } => format!("secretsmanager:{name}"),
            SecretRef::SecretsManager {
                name,
                key: Some(key),
            } => format!("secretsmanager:{name}:{key}"),
            SecretRef::Ssm { name } => format!("ssm:{name}"),
            SecretRef::Arn(arn) => arn,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::SecretRef;
    use crate::model::SecretId;

    #[test]
    fn secret_references_resolve_to_the_arns_ecs_expects() {
        let check = |reference: &str, expected: Option<&str>| {
            let parsed = SecretRef::parse(reference);
            assert_eq!(
                parsed
                    .as_ref()
                    .map(|r| r.value_from("ap-south-1", "024209611402")),
                expected.map(str::to_string),
                "{reference}"
            );
            if let Some(parsed) = parsed {
                assert_eq!(String::from(parsed), reference, "round trip");
            }
        };
        check(
            "secretsmanager:kaapi/production:SECRET_KEY",
            Some(
                "arn:aws:secretsmanager:ap-south-1:024209611402:secret:kaapi/production:SECRET_KEY::",
            ),
        );
        check(
            "secretsmanager:kaapi/db",
            Some("arn:aws:secretsmanager:ap-south-1:024209611402:secret:kaapi/db"),
        );
        check(
            "ssm:/kaapi/production/SENTRY_DSN",
            Some("arn:aws:ssm:ap-south-1:024209611402:parameter/kaapi/production/SENTRY_DSN"),
        );
        check(
            "arn:aws:secretsmanager:ap-south-1:1:secret:x-AbCdEf:KEY::",
            Some("arn:aws:secretsmanager:ap-south-1:1:secret:x-AbCdEf:KEY::"),
        );
        check("secretsmanager:", None);
        let id = |reference: &str| {
            SecretRef::parse(reference)
                .unwrap()
                .lookup_id("ap-south-1", "024209611402")
        };
        assert_eq!(
            id("secretsmanager:kaapi/production:SECRET_KEY"),
            Some(SecretId::SecretsManager("kaapi/production".into()))
        );
        assert_eq!(
            id("ssm:/kaapi/production/SENTRY_DSN"),
            Some(SecretId::Ssm("/kaapi/production/SENTRY_DSN".into()))
        );
        assert_eq!(
            id("arn:aws:secretsmanager:ap-south-1:024209611402:secret:kaapi/x-AbCdEf:KEY::"),
            Some(SecretId::SecretsManager(
                "arn:aws:secretsmanager:ap-south-1:024209611402:secret:kaapi/x-AbCdEf".into()
            ))
        );
        assert_eq!(
            id("arn:aws:ssm:ap-south-1:024209611402:parameter/kaapi/DSN"),
            Some(SecretId::Ssm("/kaapi/DSN".into()))
        );
        assert_eq!(
            id("arn:aws:secretsmanager:eu-west-1:111111111111:secret:shared-AbCdEf"),
            None,
            "another account's secret is not looked up"
        );
        check("secretsmanager:a:b:c", None);
        // A bare parameter name is sent as written, as ECS takes it in the task's region.
        check("ssm:relative", Some("relative"));
        check("ssm:/", None);
        check("hunter2", None);
    }
}
