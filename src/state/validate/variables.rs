//! The `env:` and `secrets:` levels (environment, service, container): names, credentials written
//! as plain values, references, and the variables `required_env` asks every container to get.

use std::collections::{BTreeMap, BTreeSet};

use super::rules::{is_env_name, looks_secret};
use super::{Finding, finding};
use crate::state::desired::SecretRef;
use crate::state::schema::StateFile;

/// Checks one level of `env:` and `secrets:` (environment, service or container, by `prefix`).
pub(super) fn check_variables(
    env: &BTreeMap<String, String>,
    secrets: &BTreeMap<String, String>,
    prefix: &str,
    out: &mut Vec<Finding>,
) {
    for (name, value) in env {
        let path = format!("{prefix}env.{name}");
        if !is_env_name(name) {
            out.push(finding(
                format!("{path}#key"),
                format!("`{name}` is not a valid environment variable name"),
                "use letters, digits and underscores, not starting with a digit",
            ));
        } else if looks_secret(name) {
            out.push(finding(
                format!("{path}#key"),
                format!("`{name}` looks like a credential but is written as a plain value"),
                &format!(
                    "move it to `{prefix}secrets:` as a reference, for example `{name}: secretsmanager:NAME:{name}`"
                ),
            ));
        }
        if let Some((start, end, _)) = crate::state::interpolate::references(value).first() {
            out.push(finding(
                path,
                format!("unknown reference `{}`", &value[*start..*end]),
                "only `${env:NAME}` is resolved in this version; write `$${` for a literal `${`",
            ));
        }
    }
    for (name, reference) in secrets {
        let path = format!("{prefix}secrets.{name}");
        if !is_env_name(name) {
            out.push(finding(
                format!("{path}#key"),
                format!("`{name}` is not a valid environment variable name"),
                "use letters, digits and underscores, not starting with a digit",
            ));
        }
        if SecretRef::parse(reference).is_none() {
            out.push(finding(
                path,
                "not a secret reference".to_string(),
                "write `secretsmanager:NAME[:JSON_KEY]`, `ssm:/PARAMETER/NAME`, or an ARN; never the value itself",
            ));
        }
    }
}

/// Every container gets every variable that `required_env` lists, from any level.
pub(super) fn check_required(state: &StateFile, out: &mut Vec<Finding>) {
    let mut listed = BTreeSet::new();
    for (index, name) in state.required_env.iter().enumerate() {
        let path = format!("required_env.{index}");
        if !is_env_name(name) {
            out.push(finding(
                path,
                format!("`{name}` is not a valid environment variable name"),
                "use letters, digits and underscores, not starting with a digit",
            ));
        } else if !listed.insert(name.as_str()) {
            out.push(finding(
                path,
                format!("`{name}` is listed twice"),
                "remove one of them",
            ));
        }
    }
    for (key, service) in &state.services {
        for (container_key, container) in &service.containers {
            let gets = |name: &str| {
                [&state.env, &state.secrets, &service.env, &service.secrets]
                    .into_iter()
                    .chain([&container.env, &container.secrets])
                    .any(|level| level.contains_key(name))
            };
            let missing: Vec<&str> = listed.iter().copied().filter(|n| !gets(n)).collect();
            if !missing.is_empty() {
                out.push(finding(
                    format!("services.{key}.containers.{container_key}#key"),
                    format!(
                        "container `{container_key}` gets no {}, which `required_env` lists",
                        missing
                            .iter()
                            .map(|n| format!("`{n}`"))
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                    "set it under `env:` or `secrets:` at the top, on the service or on the container",
                ));
            }
        }
    }
}
