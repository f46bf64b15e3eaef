//! Semantic checks on a parsed state file, made before any AWS call: sizes, names, ports,
//! references, and secrets written as plain values. Each finding carries a field path and a fix.

use std::collections::{BTreeMap, BTreeSet};

use super::desired::SecretRef;
use super::naming::Names;
use super::schema::{ContainerSpec, HealthCheckSpec, NetworkSpec, ServiceSpec, StateFile};

/// A problem at a field path (dotted; `#key` at the end points at the key rather than its value).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub path: String,
    pub message: String,
    pub help: Option<String>,
}

fn finding(path: impl Into<String>, message: impl Into<String>, help: &str) -> Finding {
    Finding {
        path: path.into(),
        message: message.into(),
        help: (!help.is_empty()).then(|| help.to_string()),
    }
}

/// Task sizes Fargate accepts: CPU units and the memory values (MiB) allowed with each.
pub fn fargate_memory_options(cpu: u32) -> Option<Vec<u32>> {
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
pub fn looks_secret(name: &str) -> bool {
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

fn is_env_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// ECS names (clusters, services, families, containers): letters, digits, hyphens, underscores.
fn is_ecs_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 255
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

fn is_dns_label(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 32
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !name.starts_with('-')
        && !name.ends_with('-')
}

fn is_region(region: &str) -> bool {
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

fn is_role_arn(arn: &str) -> bool {
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    parts.len() == 6
        && parts[0] == "arn"
        && parts[1].starts_with("aws")
        && parts[2] == "iam"
        && parts[4].len() == 12
        && parts[4].chars().all(|c| c.is_ascii_digit())
        && parts[5].starts_with("role/")
        && parts[5].len() > "role/".len()
}

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
    check_variables(&state.env, &state.secrets, "", &mut out);
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

fn check_image(state: &StateFile, out: &mut Vec<Finding>) {
    let image = &state.image;
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
            if !valid {
                out.push(finding(
                    "image.tag",
                    format!("`{tag}` is not a valid image tag"),
                    "use letters, digits, `_`, `.` and `-` (at most 128), for example `v1.8.0`",
                ));
            } else if tag == "latest" {
                out.push(finding(
                    "image.tag",
                    "`latest` moves with every push, so a revert could not bring the old image back",
                    "deploy an immutable version tag such as `v1.8.0`, or a digest",
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

fn check_network(network: &NetworkSpec, path: &str, out: &mut Vec<Finding>) {
    if network.subnets.is_empty() {
        out.push(finding(
            format!("{path}.subnets"),
            "no subnets",
            "list at least one subnet id (`subnet-...`)",
        ));
    }
    for (index, subnet) in network.subnets.iter().enumerate() {
        if !subnet.starts_with("subnet-") {
            out.push(finding(
                format!("{path}.subnets.{index}"),
                format!("`{subnet}` is not a subnet id"),
                "subnet ids look like `subnet-0abc1234`",
            ));
        }
    }
    for (index, group) in network.security_groups.iter().enumerate() {
        if !group.starts_with("sg-") {
            out.push(finding(
                format!("{path}.security_groups.{index}"),
                format!("`{group}` is not a security group id"),
                "security group ids look like `sg-0abc1234`",
            ));
        }
    }
    if network.security_groups.len() > 5 {
        out.push(finding(
            format!("{path}.security_groups"),
            "more than 5 security groups",
            "ECS accepts at most 5 security groups per service",
        ));
    }
}

fn check_roles(roles: Option<&super::schema::RolesSpec>, path: &str, out: &mut Vec<Finding>) {
    let Some(roles) = roles else { return };
    for (field, arn) in [
        ("execution_role_arn", &roles.execution_role_arn),
        ("task_role_arn", &roles.task_role_arn),
    ] {
        if let Some(arn) = arn
            && !is_role_arn(arn)
        {
            out.push(finding(
                format!("{path}.{field}"),
                format!("`{arn}` is not an IAM role ARN"),
                "write `arn:aws:iam::ACCOUNT_ID:role/NAME`",
            ));
        }
    }
}

/// Checks one level of `env:` and `secrets:` (environment, service or container, by `prefix`).
fn check_variables(
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
        if let Some((start, end, _)) = super::interpolate::references(value).first() {
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
fn check_required(state: &StateFile, out: &mut Vec<Finding>) {
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

fn check_service(
    state: &StateFile,
    service: &ServiceSpec,
    path: &str,
    conflicts: &mut BTreeSet<String>,
    out: &mut Vec<Finding>,
) {
    match fargate_memory_options(service.cpu) {
        None => out.push(finding(
            format!("{path}.cpu"),
            format!("{} is not a Fargate CPU size", service.cpu),
            "use one of 256, 512, 1024, 2048, 4096, 8192, 16384",
        )),
        Some(options) if !options.contains(&service.memory) => {
            let list: Vec<String> = options.iter().map(u32::to_string).collect();
            out.push(finding(
                format!("{path}.memory"),
                format!(
                    "{} MiB is not valid with cpu {} on Fargate",
                    service.memory, service.cpu
                ),
                &format!(
                    "with cpu {} use one of: {} (MiB)",
                    service.cpu,
                    list.join(", ")
                ),
            ));
        }
        Some(_) => {}
    }
    match (&service.network, &state.network) {
        (Some(network), _) => check_network(network, &format!("{path}.network"), out),
        (None, None) => out.push(finding(
            format!("{path}#key"),
            "no network configuration",
            "set `network:` (subnets and security groups) at the top level or on this service",
        )),
        (None, Some(_)) => {}
    }
    check_roles(service.roles.as_ref(), &format!("{path}.roles"), out);
    let execution_role = service
        .roles
        .as_ref()
        .and_then(|roles| roles.execution_role_arn.as_ref())
        .or(state
            .roles
            .as_ref()
            .and_then(|roles| roles.execution_role_arn.as_ref()));
    if execution_role.is_none() {
        out.push(finding(
            format!("{path}#key"),
            "no execution role",
            "Fargate needs `roles.execution_role_arn` to pull from ECR, read secrets and write logs",
        ));
    }
    if let Some(deployment) = &service.deployment {
        let min = deployment.min_healthy_percent.unwrap_or(100);
        let max = deployment.max_percent.unwrap_or(200);
        if min > 100 {
            out.push(finding(
                format!("{path}.deployment.min_healthy_percent"),
                format!("{min} is above 100"),
                "use a value from 0 to 100",
            ));
        }
        if !(100..=200).contains(&max) {
            out.push(finding(
                format!("{path}.deployment.max_percent"),
                format!("{max} is outside 100 to 200"),
                "use a value from 100 to 200",
            ));
        } else if min == 100 && max == 100 {
            out.push(finding(
                format!("{path}.deployment.max_percent"),
                "with min_healthy_percent 100 and max_percent 100 a deployment can never start a new task",
                "raise max_percent (200 is usual) or lower min_healthy_percent",
            ));
        }
    }
    if let Some(version) = &service.platform_version {
        let valid = version == "LATEST"
            || (version.split('.').count() == 3
                && version.split('.').all(|part| part.parse::<u32>().is_ok()));
        if !valid {
            out.push(finding(
                format!("{path}.platform_version"),
                format!("`{version}` is not a Fargate platform version"),
                "use `LATEST` or a version such as `1.4.0`",
            ));
        }
    }
    check_load_balancers(state, service, path, out);
    check_variables(&service.env, &service.secrets, &format!("{path}."), out);
    if service.containers.is_empty() {
        out.push(finding(
            format!("{path}.containers"),
            "no containers",
            "declare at least one container",
        ));
    }
    let mut essential = 0;
    let mut cpu_total = 0;
    let mut memory_total = 0;
    let mut ports = BTreeSet::new();
    for (name, container) in &service.containers {
        let container_path = format!("{path}.containers.{name}");
        if !is_ecs_name(name) {
            out.push(finding(
                format!("{container_path}#key"),
                format!("`{name}` is not a valid container name"),
                "use letters, digits, hyphens and underscores",
            ));
        }
        if container.essential.unwrap_or(true) {
            essential += 1;
        }
        cpu_total += container.cpu.unwrap_or(0);
        memory_total += container
            .memory
            .or(container.memory_reservation)
            .unwrap_or(0);
        if let Some(port) = container.port {
            if !(1..=65535).contains(&port) {
                out.push(finding(
                    format!("{container_path}.port"),
                    format!("port {port} is out of range"),
                    "use a port from 1 to 65535",
                ));
            } else if !ports.insert(port) {
                out.push(finding(
                    format!("{container_path}.port"),
                    format!("port {port} is already used by another container of this task"),
                    "containers of one awsvpc task share a network namespace; give each its own port",
                ));
            }
        }
        check_container(container, &container_path, out);
        // A variable plain at one level and secret at another would be ambiguous in the task definition.
        let plain: BTreeSet<&String> = state
            .env
            .keys()
            .chain(service.env.keys())
            .chain(container.env.keys())
            .collect();
        let levels = [
            (&container.secrets, format!("{container_path}.")),
            (&service.secrets, format!("{path}.")),
            (&state.secrets, String::new()),
        ];
        for (secrets, level) in &levels {
            for secret in secrets.keys() {
                if plain.contains(secret) && conflicts.insert(secret.clone()) {
                    out.push(finding(
                        format!("{level}secrets.{secret}#key"),
                        format!("`{secret}` is both a plain variable and a secret"),
                        "keep each variable in one of `env:` and `secrets:`",
                    ));
                }
            }
        }
    }
    if !service.containers.is_empty() && essential == 0 {
        out.push(finding(
            format!("{path}.containers"),
            "no essential container",
            "mark at least one container `essential: true` (the default)",
        ));
    }
    if cpu_total > service.cpu {
        out.push(finding(
            format!("{path}.containers"),
            format!(
                "containers reserve {cpu_total} CPU units, more than the task's {}",
                service.cpu
            ),
            "lower the containers' `cpu` or raise the service's",
        ));
    }
    if memory_total > service.memory {
        out.push(finding(
            format!("{path}.containers"),
            format!(
                "containers reserve {memory_total} MiB, more than the task's {}",
                service.memory
            ),
            "lower the containers' `memory` or raise the service's",
        ));
    }
}

/// `arn:aws:elasticloadbalancing:REGION:ACCOUNT:targetgroup/NAME/ID`, in the environment's region.
fn is_target_group_arn(arn: &str, region: &str) -> bool {
    let parts: Vec<&str> = arn.split(':').collect();
    parts.len() == 6
        && parts[0] == "arn"
        && parts[1].starts_with("aws")
        && parts[2] == "elasticloadbalancing"
        && parts[3] == region
        && parts[4].len() == 12
        && parts[4].chars().all(|c| c.is_ascii_digit())
        && parts[5]
            .strip_prefix("targetgroup/")
            .and_then(|rest| rest.split_once('/'))
            .is_some_and(|(name, id)| !name.is_empty() && !id.is_empty() && !id.contains('/'))
}

fn check_load_balancers(
    state: &StateFile,
    service: &ServiceSpec,
    path: &str,
    out: &mut Vec<Finding>,
) {
    if service
        .health_check_grace_period
        .is_some_and(|seconds| seconds > i32::MAX as u32)
    {
        out.push(finding(
            format!("{path}.health_check_grace_period"),
            "too long",
            "use at most 2147483647 seconds",
        ));
    }
    let Some(balancers) = &service.load_balancers else {
        return;
    };
    if balancers.len() > 5 {
        out.push(finding(
            format!("{path}.load_balancers"),
            format!(
                "{} target groups; ECS allows at most 5 per service",
                balancers.len()
            ),
            "remove some",
        ));
    }
    let mut seen = BTreeSet::new();
    for (index, balancer) in balancers.iter().enumerate() {
        let at = format!("{path}.load_balancers.{index}");
        let arn = &balancer.target_group_arn;
        if !is_target_group_arn(arn, &state.region) {
            out.push(finding(
                format!("{at}.target_group_arn"),
                format!("`{arn}` is not a target group ARN in {}", state.region),
                &format!(
                    "write `arn:aws:elasticloadbalancing:{}:ACCOUNT:targetgroup/NAME/ID`",
                    state.region
                ),
            ));
        } else if !seen.insert(arn.as_str()) {
            out.push(finding(
                format!("{at}.target_group_arn"),
                "this target group is listed twice",
                "remove one of them",
            ));
        }
        let containers: Vec<&str> = service.containers.keys().map(String::as_str).collect();
        if let Some(name) = &balancer.container
            && !service.containers.contains_key(name)
        {
            out.push(finding(
                format!("{at}.container"),
                format!("no container `{name}` in this service"),
                &format!("containers here: {}", containers.join(", ")),
            ));
            continue;
        }
        let (name, port) = super::resolve::target_container(service, balancer);
        let listens = service.containers.get(name).and_then(|c| c.port);
        match (name, listens, port) {
            ("", ..) => out.push(finding(
                at,
                "no container of this service has a `port` to send traffic to",
                "give the receiving container a `port:`, or name it with `container:`",
            )),
            (name, None, _) => out.push(finding(
                at,
                format!("container `{name}` has no `port`"),
                &format!("give container `{name}` a `port:`"),
            )),
            (name, Some(listens), Some(port)) if port != listens => out.push(finding(
                format!("{at}.port"),
                format!("container `{name}` listens on {listens}, not {port}"),
                &format!(
                    "a target group reaches only the container's port: use {listens}, or leave `port` out"
                ),
            )),
            _ => {}
        }
    }
}

fn check_container(container: &ContainerSpec, path: &str, out: &mut Vec<Finding>) {
    if let Some(image) = &container.image
        && (image.is_empty() || image.contains(char::is_whitespace))
    {
        out.push(finding(
            format!("{path}.image"),
            format!("`{image}` is not an image reference"),
            "write a full reference such as `public.ecr.aws/aws-observability/aws-otel-collector:v0.40.0`",
        ));
    }
    for (field, list) in [
        ("command", &container.command),
        ("entry_point", &container.entry_point),
    ] {
        if list.as_ref().is_some_and(Vec::is_empty) {
            out.push(finding(
                format!("{path}.{field}"),
                format!("empty `{field}`"),
                &format!("remove `{field}` to use the image's default"),
            ));
        }
    }
    if let (Some(memory), Some(reservation)) = (container.memory, container.memory_reservation)
        && reservation > memory
    {
        out.push(finding(
            format!("{path}.memory_reservation"),
            format!("memory_reservation {reservation} exceeds memory {memory}"),
            "the soft limit must not exceed the hard limit",
        ));
    }
    check_variables(&container.env, &container.secrets, &format!("{path}."), out);
    if let Some(health) = &container.health_check {
        check_health(health, container.port, &format!("{path}.health_check"), out);
    }
}

fn check_health(health: &HealthCheckSpec, port: Option<u32>, path: &str, out: &mut Vec<Finding>) {
    match (&health.path, &health.command) {
        (None, None) => out.push(finding(
            path.to_string(),
            "health check without `path` or `command`",
            "set `path: /health` (probed with curl on the container's port) or an explicit `command`",
        )),
        (Some(_), Some(_)) => out.push(finding(
            format!("{path}.command"),
            "both `path` and `command` are set",
            "keep one of them",
        )),
        (Some(http_path), None) => {
            if !http_path.starts_with('/') || http_path.contains(['\'', '"', ' ']) {
                out.push(finding(
                    format!("{path}.path"),
                    format!("`{http_path}` is not an HTTP path"),
                    "write a path starting with `/`, without quotes or spaces",
                ));
            }
            if port.is_none() {
                out.push(finding(
                    format!("{path}.path"),
                    "an HTTP health check needs the container's `port`",
                    "set `port:` on this container",
                ));
            }
        }
        (None, Some(command)) => {
            if !matches!(command.first().map(String::as_str), Some("CMD" | "CMD-SHELL"))
                || command.len() < 2
            {
                out.push(finding(
                    format!("{path}.command"),
                    "a health-check command starts with `CMD` or `CMD-SHELL` followed by the command",
                    "for example `[CMD-SHELL, \"curl -f http://localhost/ || exit 1\"]`",
                ));
            }
        }
    }
    for (field, value, min, max) in [
        ("interval", health.interval, 5, 300),
        ("timeout", health.timeout, 2, 120),
        ("retries", health.retries, 1, 10),
        ("start_period", health.start_period, 0, 300),
    ] {
        if let Some(value) = value
            && !(min..=max).contains(&value)
        {
            out.push(finding(
                format!("{path}.{field}"),
                format!("{value} is outside {min} to {max}"),
                &format!("ECS accepts `{field}` from {min} to {max}"),
            ));
        }
    }
    if let (Some(timeout), Some(interval)) = (health.timeout, health.interval)
        && timeout >= interval
    {
        out.push(finding(
            format!("{path}.timeout"),
            format!("timeout {timeout} is not shorter than interval {interval}"),
            "make the timeout shorter than the interval",
        ));
    }
}
