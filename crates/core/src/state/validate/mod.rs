//! Semantic checks on a parsed state file, made before any AWS call: sizes, names, ports,
//! references, and secrets written as plain values. Each finding carries a field path and a fix.
//!
//! This file checks the environment as a whole; `service.rs` each service and its containers,
//! `variables.rs` the `env:` / `secrets:` levels, and `rules.rs` holds what AWS accepts.

mod aws;
mod backing;
mod finding;
mod network;
mod offered;
pub(crate) mod rules;
mod service;
mod service_settings;
mod task;
mod variables;

use std::collections::{BTreeMap, BTreeSet};

use super::naming::Names;
use super::schema::StateFile;
pub use finding::Finding;
use finding::finding;
use network::{check_network, check_roles};
use rules::{is_dns_label, is_ecs_name, is_region};
use service::check_service;
pub(crate) use task::NO_LOGS;
use variables::{check_required, check_variables};

/// Every semantic problem in `file`, whose name (without `.yaml`) is `file_stem`.
pub fn check(state: &StateFile, file_stem: &str) -> Vec<Finding> {
    let mut out = Vec::new();
    if state.version != 1 {
        out.push(finding(
            "version",
            format!("unsupported version {}", state.version),
            "this release of reconcile reads `version: 1`",
        ));
    }
    if !is_dns_label(&state.environment) {
        out.push(finding(
            "environment",
            format!("`{}` is not a valid environment name", state.environment),
            "use lowercase letters, digits and hyphens, at most 32 characters",
        ));
    } else if state.environment != file_stem {
        out.push(finding(
            "environment",
            format!(
                "environment `{}` does not match the file name `{file_stem}.yaml`",
                state.environment
            ),
            &format!(
                "rename the file to `{}.yaml` or set `environment: {file_stem}`",
                state.environment
            ),
        ));
    }
    if !is_region(&state.region) {
        out.push(finding(
            "region",
            format!("`{}` is not an AWS region", state.region),
            "write a region code such as `ap-south-1`",
        ));
    }
    if let Some(account) = &state.account
        && (account.len() != 12 || !account.chars().all(|c| c.is_ascii_digit()))
    {
        out.push(finding(
            "account",
            format!("`{account}` is not a 12-digit AWS account id"),
            "quote it so that leading zeros survive: `account: \"024209611402\"`",
        ));
    }
    if !is_dns_label(&state.prefix) {
        out.push(finding(
            "prefix",
            format!("`{}` is not a valid prefix", state.prefix),
            "use lowercase letters, digits and hyphens, at most 32 characters",
        ));
    }
    check_image(state, &mut out);
    check_sync(state, &mut out);
    if let Some(cluster) = &state.cluster
        && !is_ecs_name(cluster)
    {
        out.push(finding(
            "cluster",
            format!("`{cluster}` is not a valid cluster name"),
            "use letters, digits, hyphens and underscores (at most 255)",
        ));
    }
    if let Some(network) = &state.network {
        check_network(network, "network", &mut out);
    }
    check_roles(state.roles.as_ref(), "roles", &mut out);
    check_variables(&state.env, &state.secrets, &state.backing, "", &mut out);
    backing::check_backing(state, &mut out);
    check_migrations(state, &mut out);
    check_required(state, &mut out);
    for (key, value) in &state.tags {
        if key.starts_with("aws:") {
            out.push(finding(
                format!("tags.{key}#key"),
                "tag keys starting with `aws:` are reserved by AWS",
                "choose another key",
            ));
        }
        if key.len() > 128 || value.len() > 256 {
            out.push(finding(
                format!("tags.{key}"),
                "tag too long",
                "keys take at most 128 characters, values 256",
            ));
        }
    }
    if state.services.is_empty() {
        out.push(finding(
            "services",
            "no services",
            "declare at least one service under `services:`",
        ));
    }
    let names = Names::new(&state.prefix, &state.environment);
    let mut seen_names: BTreeMap<String, String> = BTreeMap::new();
    let mut seen_families: BTreeMap<String, String> = BTreeMap::new();
    let mut conflicts = BTreeSet::new();
    for (key, service) in &state.services {
        let path = format!("services.{key}");
        if !is_ecs_name(key) {
            out.push(finding(
                format!("{path}#key"),
                format!("`{key}` is not a valid service key"),
                "use letters, digits, hyphens and underscores",
            ));
            continue;
        }
        let name = service.name.clone().unwrap_or_else(|| names.service(key));
        let family = service.family.clone().unwrap_or_else(|| names.family(key));
        for (what, value, field) in [("service", &name, "name"), ("family", &family, "family")] {
            if !is_ecs_name(value) {
                out.push(finding(
                    format!("{path}.{field}"),
                    format!("`{value}` is not a valid {what} name"),
                    "use letters, digits, hyphens and underscores (at most 255)",
                ));
            }
        }
        if let Some(other) = seen_names.insert(name.clone(), key.clone()) {
            out.push(finding(
                format!("{path}#key"),
                format!(
                    "services `{other}` and `{key}` both resolve to the ECS service name `{name}`"
                ),
                "give one of them a different `name:`",
            ));
        }
        if let Some(other) = seen_families.insert(family.clone(), key.clone()) {
            out.push(finding(
                format!("{path}#key"),
                format!(
                    "services `{other}` and `{key}` both use the task-definition family `{family}`"
                ),
                "give one of them a different `family:`",
            ));
        }
        check_service(state, service, &path, &mut conflicts, &mut out);
    }
    out
}

/// The `sync:` section: non-empty branch and tag glob, windows that parse.
fn check_sync(state: &StateFile, out: &mut Vec<Finding>) {
    let Some(sync) = &state.sync else {
        return;
    };
    for (field, value) in [("branch", &sync.branch), ("tags", &sync.tags)] {
        if value.as_deref().is_some_and(|v| v.trim().is_empty()) {
            out.push(finding(
                format!("sync.{field}"),
                format!("`sync.{field}` is empty"),
                "leave it out, or write a branch name / a tag glob such as `v*`",
            ));
        }
    }
    for (index, window) in sync.windows.iter().enumerate() {
        for (field, message, help) in crate::sync::check_window(window) {
            out.push(finding(
                format!("sync.windows.{index}.{field}"),
                message,
                help,
            ));
        }
    }
}

fn check_image(state: &StateFile, out: &mut Vec<Finding>) {
    let Some(image) = &state.image else {
        return;
    };
    if let Some(repository) = &image.repository {
        let valid = !repository.is_empty()
            && repository.len() <= 256
            && repository
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "-_./".contains(c));
        if !valid {
            out.push(finding(
                "image.repository",
                format!("`{repository}` is not a valid ECR repository name"),
                "use lowercase letters, digits, and `-_./`",
            ));
        }
    }
    match (&image.tag, &image.digest) {
        (None, None) => out.push(finding(
            "image",
            "no image tag or digest",
            "set `tag:` (for example `v1.8.0`) or `digest:` (`sha256:...`)",
        )),
        (Some(_), Some(_)) => out.push(finding(
            "image.digest",
            "both `tag` and `digest` are set",
            "keep one: a digest pins the exact image, a tag is easier to read",
        )),
        (Some(tag), None) => {
            let valid = !tag.is_empty()
                && tag.len() <= 128
                && tag
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c))
                && !tag.starts_with(['.', '-']);
            // A moving tag such as `latest` is valid (ECR and ECS take it); the plan says it
            // moves and how to pin it.
            if !valid {
                out.push(finding(
                    "image.tag",
                    format!("`{tag}` is not a valid image tag"),
                    "use letters, digits, `_`, `.` and `-` (at most 128), for example `v1.8.0`",
                ));
            }
        }
        (None, Some(digest)) => {
            let valid = digest
                .strip_prefix("sha256:")
                .is_some_and(|hex| hex.len() == 64 && hex.chars().all(|c| c.is_ascii_hexdigit()));
            if !valid {
                out.push(finding(
                    "image.digest",
                    format!("`{digest}` is not an image digest"),
                    "write `sha256:` followed by 64 hexadecimal digits",
                ));
            }
        }
    }
}

/// Each migration names an existing service and container, a command and a readable time limit.
fn check_migrations(state: &StateFile, out: &mut Vec<Finding>) {
    for (index, migration) in state.migrations.iter().enumerate() {
        let path = format!("migrations.{index}");
        let Some(service) = state.services.get(&migration.service) else {
            let known: Vec<&str> = state.services.keys().map(String::as_str).collect();
            out.push(finding(
                format!("{path}.service"),
                format!("no service `{}`", migration.service),
                &format!("services here: {}", known.join(", ")),
            ));
            continue;
        };
        if let Some(container) = &migration.container
            && !service.containers.contains_key(container)
        {
            let known: Vec<&str> = service.containers.keys().map(String::as_str).collect();
            out.push(finding(
                format!("{path}.container"),
                format!(
                    "service `{}` has no container `{container}`",
                    migration.service
                ),
                &format!("its containers: {}", known.join(", ")),
            ));
        }
        if migration.command.is_empty() {
            out.push(finding(
                format!("{path}.command"),
                "empty command",
                "write the command to run, for example `[uv, run, alembic, upgrade, head]`",
            ));
        }
        if let Some(timeout) = &migration.timeout {
            match humantime::parse_duration(timeout) {
                Ok(duration) if duration.as_secs() > 0 => {}
                _ => out.push(finding(
                    format!("{path}.timeout"),
                    format!("`{timeout}` is not a time limit"),
                    "write a duration such as `10m`, `90s` or `1h`",
                )),
            }
        }
    }
}
