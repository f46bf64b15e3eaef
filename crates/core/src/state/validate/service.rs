//! One service and its containers: Fargate sizes, deployment settings, load balancers, ports,
//! health checks, and variables that are plain at one level and secret at another.

use std::collections::BTreeSet;

use super::finding::{Finding, finding};
use super::network::{check_network, check_roles};
use super::rules::{fargate_memory_options, is_ecs_name, is_target_group_arn};
use super::task::one_of;
use super::variables::check_variables;
use crate::state::schema::{ContainerSpec, HealthCheckSpec, ServiceSpec, StateFile};

pub(super) fn check_service(
    state: &StateFile,
    service: &ServiceSpec,
    path: &str,
    conflicts: &mut BTreeSet<String>,
    out: &mut Vec<Finding>,
) {
    check_launch(service, path, out);
    if service.network_mode() == "awsvpc" {
        match (&service.network, &state.network) {
            (Some(network), _) => check_network(network, &format!("{path}.network"), out),
            (None, None) => out.push(finding(
                format!("{path}#key"),
                "no network configuration",
                "set `network:` (subnets and security groups) at the top level or on this service",
            )),
            (None, Some(_)) => {}
        }
    } else if service.network.is_some() {
        // "networkConfiguration ... required for task definitions that use the awsvpc network
        // mode ... not supported for other network modes" (CreateService API reference).
        out.push(finding(
            format!("{path}.network"),
            format!(
                "`{}` tasks take no network configuration",
                service.network_mode()
            ),
            "remove `network:` from this service, or use `network_mode: awsvpc`",
        ));
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
    // Fargate pulls images and writes awslogs with the execution role; elsewhere the instance's
    // role does (ECS Developer Guide, "Amazon ECS task execution IAM role").
    if execution_role.is_none() && service.on_fargate() {
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
    if service.platform_version.is_some() && !service.on_fargate() {
        out.push(finding(
            format!("{path}.platform_version"),
            "a platform version is Fargate's",
            "remove `platform_version` (AWS refuses one for EC2 and EXTERNAL tasks)",
        ));
    } else if let Some(version) = &service.platform_version {
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
    super::task::check_task(service, path, out);
    super::service_settings::check_service_settings(service, path, out);
    check_variables(
        &service.env,
        &service.secrets,
        &state.backing,
        &format!("{path}."),
        out,
    );
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
    // Containers of an awsvpc or host task share one network namespace (ECS Developer Guide,
    // "Task networking"); in bridge mode each has its own.
    let shared_namespace = matches!(service.network_mode(), "awsvpc" | "host");
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
        // "If you don't specify a task-level memory value, you must specify a non-zero integer
        // for one or both of memory or memoryReservation in a container definition"
        // (ContainerDefinition, ECS API reference).
        if service.memory.is_none()
            && !service.fargate_definition()
            && container.memory.or(container.memory_reservation).is_none()
        {
            out.push(finding(
                format!("{container_path}#key"),
                "no memory for this container, and none for the task",
                "set the container's `memory` or `memory_reservation`, or the service's `memory`",
            ));
        }
        let port_field = if container.port.is_some() {
            "port".to_string()
        } else {
            "port_mappings".to_string()
        };
        for port in container.ports() {
            if !(1..=65535).contains(&port) {
                out.push(finding(
                    format!("{container_path}.{port_field}"),
                    format!("port {port} is out of range"),
                    "use a port from 1 to 65535",
                ));
            } else if shared_namespace && !ports.insert(port) {
                out.push(finding(
                    format!("{container_path}.{port_field}"),
                    format!("port {port} is already used by another container of this task"),
                    "containers of one awsvpc task share a network namespace; give each its own port",
                ));
            }
        }
        check_container(state, container, &container_path, out);
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
    if let Some(cpu) = service.cpu
        && cpu_total > cpu
    {
        out.push(finding(
            format!("{path}.containers"),
            format!("containers reserve {cpu_total} CPU units, more than the task's {cpu}"),
            "lower the containers' `cpu` or raise the service's",
        ));
    }
    if let Some(memory) = service.memory
        && memory_total > memory
    {
        out.push(finding(
            format!("{path}.containers"),
            format!("containers reserve {memory_total} MiB, more than the task's {memory}"),
            "lower the containers' `memory` or raise the service's",
        ));
    }
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
        let (name, port) = crate::state::resolve::target_container(service, balancer);
        let container_ports = service
            .containers
            .get(name)
            .map(|c| c.ports())
            .unwrap_or_default();
        let listens = container_ports.first().copied();
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
            (name, Some(listens), Some(port)) if !container_ports.contains(&port) => out.push(finding(
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

fn check_container(
    state: &StateFile,
    container: &ContainerSpec,
    path: &str,
    out: &mut Vec<Finding>,
) {
    match &container.image {
        // ContainerDefinition.image: "up to 255 letters (uppercase and lowercase), numbers,
        // hyphens, underscores, colons, periods, forward slashes, and number signs" (API
        // reference); `@` for digests.
        Some(image)
            if image.is_empty()
                || image.len() > 255
                || !image
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-_:./#@".contains(c)) =>
        {
            out.push(finding(
                format!("{path}.image"),
                format!("`{image}` is not an image reference"),
                "write a full reference such as `public.ecr.aws/aws-observability/aws-otel-collector:v0.40.0` (at most 255 characters)",
            ))
        }
        None if state.image.is_none() => out.push(finding(
            format!("{path}#key"),
            "no image: the container names none and the environment has no `image:`",
            "give the container `image:` (a full reference, from any registry), or add an `image:` block at the top (the environment's ECR repository and tag)",
        )),
        _ => {}
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
    check_variables(
        &container.env,
        &container.secrets,
        &state.backing,
        &format!("{path}."),
        out,
    );
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
        // HealthCheck.command is "a string array representing the command" (ECS API
        // reference); `CMD` / `CMD-SHELL` is the documented form, and the agent passes the
        // array to Docker as written, so any non-empty array is accepted.
        (None, Some(command)) => {
            if command.is_empty() || command.iter().all(|part| part.trim().is_empty()) {
                out.push(finding(
                    format!("{path}.command"),
                    "an empty health-check command",
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
    // A timeout as long as the interval is accepted by RegisterTaskDefinition (HealthCheck, ECS
    // API reference: each bound is checked alone), so it is not refused here.
}

const LAUNCH_TYPES: &[&str] = &["FARGATE", "EC2", "EXTERNAL"];
const NETWORK_MODES: &[&str] = &["awsvpc", "bridge", "host", "none"];
const COMPATIBILITIES: &[&str] = &["EC2", "FARGATE", "EXTERNAL", "MANAGED_INSTANCES"];

/// The launch type, network mode and compatibilities, and the task size Fargate requires
/// ("Task definition parameters for Fargate", ECS Developer Guide; CreateService and
/// RegisterTaskDefinition, ECS API reference).
fn check_launch(service: &ServiceSpec, path: &str, out: &mut Vec<Finding>) {
    if let Some(launch_type) = &service.launch_type {
        one_of(
            launch_type,
            LAUNCH_TYPES,
            format!("{path}.launch_type"),
            "a launch type",
            out,
        );
        if service.capacity_provider_strategy.is_some() {
            out.push(finding(
                format!("{path}.launch_type"),
                "a launch type and a capacity provider strategy together",
                "keep one: AWS refuses a service with both",
            ));
        }
    }
    if let Some(mode) = &service.network_mode {
        one_of(
            mode,
            NETWORK_MODES,
            format!("{path}.network_mode"),
            "a network mode",
            out,
        );
    }
    for (index, compatibility) in service
        .requires_compatibilities
        .iter()
        .flatten()
        .enumerate()
    {
        one_of(
            compatibility,
            COMPATIBILITIES,
            format!("{path}.requires_compatibilities.{index}"),
            "a launch type compatibility",
            out,
        );
    }
    if !service.fargate_definition() {
        return;
    }
    if service.network_mode() != "awsvpc" {
        out.push(finding(
            format!("{path}.network_mode"),
            format!(
                "Fargate tasks use `awsvpc`, not `{}`",
                service.network_mode()
            ),
            "use `network_mode: awsvpc` (or leave it out), or `launch_type: EC2`",
        ));
    }
    let (Some(cpu), Some(memory)) = (service.cpu, service.memory) else {
        for (field, set) in [
            ("cpu", service.cpu.is_some()),
            ("memory", service.memory.is_some()),
        ] {
            if !set {
                out.push(finding(
                    format!("{path}#key"),
                    format!("no task `{field}`: Fargate requires the task's size"),
                    "set `cpu` and `memory` on the service, or use `launch_type: EC2`",
                ));
            }
        }
        return;
    };
    match fargate_memory_options(cpu) {
        None => out.push(finding(
            format!("{path}.cpu"),
            format!("{cpu} is not a Fargate CPU size"),
            "use one of 256, 512, 1024, 2048, 4096, 8192, 16384",
        )),
        Some(options) if !options.contains(&memory) => {
            let list: Vec<String> = options.iter().map(u32::to_string).collect();
            out.push(finding(
                format!("{path}.memory"),
                format!("{memory} MiB is not valid with cpu {cpu} on Fargate"),
                &format!("with cpu {cpu} use one of: {} (MiB)", list.join(", ")),
            ));
        }
        Some(_) => {}
    }
}
