//! What AWS accepts, as predicates: Fargate task sizes, name and ARN formats, and which variable
//! names look like credentials.

use crate::state::arn::Arn;

/// Task sizes Fargate accepts: CPU units and the memory values (MiB) allowed with each.
pub(super) fn fargate_memory_options(cpu: u32) -> Option<Vec<u32>> {
    let range = |from: u32, to: u32, step: u32| (from..=to).step_by(step as usize).collect();
    match cpu {
        256 => Some(vec![512, 1024, 2048]),
        512 => Some(range(1024, 4096, 1024)),
        1024 => Some(range(2048, 8192, 1024)),
        2048 => Some(range(4096, 16384, 1024)),
        4096 => Some(range(8192, 30720, 1024)),
        8192 => Some(range(16384, 61440, 4096)),
        16384 => Some(range(32768, 122880, 8192)),
        _ => None,
    }
}

/// Whether a variable name looks like it holds a credential (and so belongs under `secrets:`).
pub(crate) fn looks_secret(name: &str) -> bool {
    let upper = name.to_ascii_uppercase();
    upper == "SECRET_KEY"
        || upper == "PASSWORD"
        || upper.ends_with("_PASSWORD")
        || upper.contains("_SECRET")
        || upper.starts_with("SECRET_")
        || upper.ends_with("_TOKEN")
        || upper.ends_with("_API_KEY")
        || upper.ends_with("_DSN")
}

/// An environment variable name the container receives as written: ECS takes any string
/// (KeyValuePair.name, ECS API reference) and Docker passes `NAME=value`, so only `=`, whitespace
/// and control characters cannot be part of one. Names such as `discovery.type` (OpenSearch,
/// Elasticsearch) are valid.
pub(super) fn is_env_name(name: &str) -> bool {
    !name.is_empty()
        && !name
            .chars()
            .any(|c| c == '=' || c.is_whitespace() || c.is_control())
}

/// ECS names (clusters, services, families, containers): letters, digits, hyphens, underscores.
pub(super) fn is_ecs_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 255
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

pub(super) fn is_dns_label(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 32
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !name.starts_with('-')
        && !name.ends_with('-')
}

pub(super) fn is_region(region: &str) -> bool {
    let parts: Vec<&str> = region.split('-').collect();
    (3..=4).contains(&parts.len())
        && parts[0].len() == 2
        && parts.iter().all(|part| {
            !part.is_empty()
                && part
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        })
        && parts
            .last()
            .is_some_and(|last| last.chars().all(|c| c.is_ascii_digit()))
}

/// `arn:aws:iam::ACCOUNT:role/NAME`.
pub(super) fn is_role_arn(arn: &str) -> bool {
    Arn::parse(arn).is_some_and(|arn| {
        arn.service == "iam"
            && arn.has_account_id()
            && arn
                .resource
                .strip_prefix("role/")
                .is_some_and(|name| !name.is_empty())
    })
}

/// `arn:aws:elasticloadbalancing:REGION:ACCOUNT:targetgroup/NAME/ID`, in the environment's region.
pub(super) fn is_target_group_arn(arn: &str, region: &str) -> bool {
    Arn::parse(arn).is_some_and(|arn| {
        arn.service == "elasticloadbalancing"
            && arn.region == region
            && arn.has_account_id()
            && !arn.resource.contains(':')
            && arn
                .resource
                .strip_prefix("targetgroup/")
                .and_then(|rest| rest.split_once('/'))
                .is_some_and(|(name, id)| !name.is_empty() && !id.is_empty() && !id.contains('/'))
    })
}
