//! The `env:` and `secrets:` levels (environment, service, container): names, credentials written
//! as plain values, references, and the variables `required_env` asks every container to get.

use std::collections::{BTreeMap, BTreeSet};

use indexmap::IndexMap;

use super::finding::{Finding, finding};
use super::rules::{is_env_name, looks_secret};
use crate::model::BackingKind;
use crate::state::desired::SecretRef;
use crate::state::schema::{BackingSpec, StateFile};
use crate::state::template::{Template, outputs, secret_outputs};

fn kind(spec: &BackingSpec) -> BackingKind {
    match spec {
        BackingSpec::Postgres(_) => BackingKind::Postgres,
        BackingSpec::Redis(_) => BackingKind::Redis,
        BackingSpec::Rabbitmq(_) => BackingKind::Rabbitmq,
    }
}

/// Why a reference to a backing output cannot be resolved, if it cannot. `secret` says whether it
/// is used under `secrets:`.
fn reference_problem(
    backing: &IndexMap<String, BackingSpec>,
    key: &str,
    output: &str,
    secret: bool,
) -> Option<(String, String)> {
    let reference = format!("${{{key}.{output}}}");
    let Some(spec) = backing.get(key) else {
        let known: Vec<&str> = backing.keys().map(String::as_str).collect();
        return Some((
            format!("unknown reference `{reference}`: no backing service `{key}`"),
            if known.is_empty() {
                "declare it under `backing:`, use `${env:NAME}` for a process variable, or write `$${` for a literal `${`".to_string()
            } else {
                format!("backing services here: {}", known.join(", "))
            },
        ));
    };
    let kind = kind(spec);
    let (plain, secrets) = (outputs(kind), secret_outputs(kind));
    match (plain.contains(&output), secrets.contains(&output), secret) {
        (true, _, false) | (_, true, true) => None,
        (_, true, false) => Some((
            format!("`{reference}` is a secret"),
            "move the variable under `secrets:`; ECS injects it at task start".to_string(),
        )),
        (true, _, true) => Some((
            format!("`{reference}` is not a secret"),
            "move the variable under `env:`".to_string(),
        )),
        (false, false, _) => Some((
            format!("`{}` has no output `{output}`", key),
            format!(
                "outputs of a {} backing service: {}",
                kind.engine(),
                plain
                    .iter()
                    .chain(secrets)
                    .copied()
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        )),
    }
}

/// Checks one level of `env:` and `secrets:` (environment, service or container, by `prefix`).
pub(super) fn check_variables(
    env: &BTreeMap<String, String>,
    secrets: &BTreeMap<String, String>,
    backing: &IndexMap<String, BackingSpec>,
    prefix: &str,
    out: &mut Vec<Finding>,
) {
    for (name, value) in env {
        let path = format!("{prefix}env.{name}");
        if !is_env_name(name) {
            out.push(finding(
                format!("{path}#key"),
                format!("`{name}` is not a valid environment variable name"),
                "a name cannot be empty or hold `=`, spaces or control characters",
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
        match Template::parse(value) {
            Err(message) => out.push(finding(
                path,
                message,
                "write `${KEY.OUTPUT}` for a backing service's output, `${env:NAME}` for a process variable, or `$${` for a literal `${`",
            )),
            Ok(template) => {
                if let Some((message, help)) = template
                    .references()
                    .find_map(|(key, output)| reference_problem(backing, key, output, false))
                {
                    out.push(finding(path, message, &help));
                }
            }
        }
    }
    for (name, reference) in secrets {
        let path = format!("{prefix}secrets.{name}");
        if !is_env_name(name) {
            out.push(finding(
                format!("{path}#key"),
                format!("`{name}` is not a valid environment variable name"),
                "a name cannot be empty or hold `=`, spaces or control characters",
            ));
        }
        let output = Template::parse(reference).ok().and_then(|template| {
            let (key, output) = template.single_reference()?;
            Some(reference_problem(backing, key, output, true))
        });
        if let Some(problem) = output {
            if let Some((message, help)) = problem {
                out.push(finding(path, message, &help));
            }
        } else if SecretRef::parse(reference).is_none() {
            out.push(finding(
                path,
                "not a secret reference".to_string(),
                "write `secretsmanager:NAME[:JSON_KEY]`, `ssm:/PARAMETER/NAME`, or an ARN (`arn:aws:secretsmanager:REGION:ACCOUNT:secret:NAME`, `arn:aws:ssm:REGION:ACCOUNT:parameter/NAME`); never the value itself",
            ));
        }
    }
}

/// Every container that takes the shared variables gets every variable `required_env` lists,
/// from any level (a sidecar with `inherit_variables: false` runs another program).
pub(super) fn check_required(state: &StateFile, out: &mut Vec<Finding>) {
    let mut listed = BTreeSet::new();
    for (index, name) in state.required_env.iter().enumerate() {
        let path = format!("required_env.{index}");
        if !is_env_name(name) {
            out.push(finding(
                path,
                format!("`{name}` is not a valid environment variable name"),
                "a name cannot be empty or hold `=`, spaces or control characters",
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
        let inheriting = service
            .containers
            .iter()
            .filter(|(_, container)| container.inherit_variables != Some(false));
        for (container_key, container) in inheriting {
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
