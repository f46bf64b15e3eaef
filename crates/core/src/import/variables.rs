//! Where each imported variable is written: at the top when every application container has it
//! with the same value, on the service when all of that service's do, else on the container.
//! Values that are a backing service's outputs become references to them, secrets keep their
//! references, and plain values under credential-looking names are never written.

use std::collections::{BTreeMap, BTreeSet};

use super::input::{AppImage, ImportInput};
use super::node::{MapBuilder, Node};
use super::references::{PLACEHOLDER, PLACEHOLDER_WHY, literal, reference};
use crate::state::validate::rules::looks_secret;

/// One container's variables as the state file writes them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(super) struct Vars {
    pub env: BTreeMap<String, String>,
    pub secrets: BTreeMap<String, String>,
}

impl Vars {
    fn minus(&self, shared: &Vars) -> Vars {
        let keep = |own: &BTreeMap<String, String>, shared: &BTreeMap<String, String>| {
            own.iter()
                .filter(|(name, _)| !shared.contains_key(*name))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect()
        };
        Vars {
            env: keep(&self.env, &shared.env),
            secrets: keep(&self.secrets, &shared.secrets),
        }
    }

    /// The variables every one of `all` has with the same value.
    fn common<'a>(mut all: impl Iterator<Item = &'a Vars>) -> Vars {
        let Some(first) = all.next() else {
            return Vars::default();
        };
        let mut common = first.clone();
        for vars in all {
            common.env.retain(|k, v| vars.env.get(k) == Some(v));
            common.secrets.retain(|k, v| vars.secrets.get(k) == Some(v));
        }
        common
    }

    /// Writes `env:` and `secrets:` into `map`.
    pub fn write(&self, map: &mut MapBuilder) {
        let mut env = MapBuilder::new();
        for (name, value) in &self.env {
            env.value(name, value.as_str());
        }
        map.map("env", env);
        let mut secrets = MapBuilder::new();
        for (name, reference) in &self.secrets {
            if reference == PLACEHOLDER {
                secrets.set(name, Node::commented(PLACEHOLDER, PLACEHOLDER_WHY));
            } else {
                secrets.value(name, reference.as_str());
            }
        }
        map.map("secrets", secrets);
    }
}

/// Every variable of the environment, by level.
#[derive(Debug, Clone, Default)]
pub(super) struct Split {
    pub top: Vars,
    pub services: Vec<Vars>,
    /// Per service, per container (in task-definition order): its own variables.
    pub containers: Vec<Vec<Vars>>,
    /// Per service, per container: whether it takes the shared variables.
    pub inherits: Vec<Vec<bool>>,
    /// Credential-looking plain variables, by name, with the containers that held them.
    pub withheld: BTreeMap<String, BTreeSet<String>>,
}

impl Split {
    pub fn write_top(&self, root: &mut MapBuilder, todo: &mut Vec<String>) {
        self.top.write(root);
        for (name, containers) in &self.withheld {
            todo.push(format!(
                "secrets.{name}: the live task definitions hold it as a plain value (containers {}); it is not in the file: store it in Secrets Manager or SSM and write the reference where the file says TODO (validate fails until then)",
                containers.iter().cloned().collect::<Vec<_>>().join(", ")
            ));
        }
    }
}

/// A container's variables as the state writes them, credentials in plain text withheld.
fn container_vars(
    input: &ImportInput,
    container: &crate::model::ContainerDefinition,
    outputs: &super::backing::Outputs,
    withheld: &mut BTreeMap<String, BTreeSet<String>>,
) -> Vars {
    let mut vars = Vars::default();
    for (name, value) in &container.environment {
        if looks_secret(name) {
            withheld
                .entry(name.clone())
                .or_default()
                .insert(container.name.clone());
            vars.secrets.insert(name.clone(), PLACEHOLDER.to_string());
            continue;
        }
        let written = outputs.plain(name, value).unwrap_or_else(|| literal(value));
        vars.env.insert(name.clone(), written);
    }
    for (name, value_from) in &container.secrets {
        let written = outputs
            .secret(value_from)
            .unwrap_or_else(|| reference(value_from, &input.region, &input.account));
        vars.secrets.insert(name.clone(), written);
    }
    vars
}

pub(super) fn split(
    input: &ImportInput,
    image: Option<&AppImage>,
    outputs: &super::backing::Outputs,
) -> Split {
    let mut split = Split::default();
    for (_, revision) in &input.services {
        let containers = &revision.content.containers;
        split.containers.push(
            containers
                .iter()
                .map(|c| container_vars(input, c, outputs, &mut split.withheld))
                .collect(),
        );
        // Sidecars (another image) run another program: they take none of the shared variables.
        split.inherits.push(
            containers
                .iter()
                .map(|container| super::input::runs_app(image, &container.image))
                .collect(),
        );
    }
    let inheriting = |service: usize| {
        split.containers[service]
            .iter()
            .zip(&split.inherits[service])
            .filter(|(_, inherits)| **inherits)
            .map(|(vars, _)| vars)
    };
    let top = Vars::common((0..input.services.len()).flat_map(inheriting));
    let services: Vec<Vars> = (0..input.services.len())
        .map(|service| Vars::common(inheriting(service)).minus(&top))
        .collect();
    for (service, containers) in split.containers.iter_mut().enumerate() {
        for (container, vars) in containers.iter_mut().enumerate() {
            if split.inherits[service][container] {
                *vars = vars.minus(&top).minus(&services[service]);
            }
        }
    }
    split.top = top;
    split.services = services;
    split
}
