//! The task-definition settings beyond sizes and variables, checked against AWS's limits for
//! Fargate: runtime platform, ephemeral storage, volumes, process namespace, and per container
//! timeouts, limits, dependencies, mounts, Linux options, FireLens, logging and `.env` files.

use std::collections::BTreeSet;

use super::finding::{Finding, finding};
use super::rules::is_ecs_name;
use crate::state::desired::SecretRef;
use crate::state::schema::{ContainerSpec, ServiceSpec};

/// The `ulimit` names ECS accepts.
const ULIMITS: &[&str] = &[
    "core",
    "cpu",
    "data",
    "fsize",
    "locks",
    "memlock",
    "msgqueue",
    "nice",
    "nofile",
    "nproc",
    "rss",
    "rtprio",
    "rttime",
    "sigpending",
    "stack",
];

/// Kernel capabilities ECS can add or drop.
const CAPABILITIES: &[&str] = &[
    "ALL",
    "AUDIT_CONTROL",
    "AUDIT_WRITE",
    "BLOCK_SUSPEND",
    "CHOWN",
    "DAC_OVERRIDE",
    "DAC_READ_SEARCH",
    "FOWNER",
    "FSETID",
    "IPC_LOCK",
    "IPC_OWNER",
    "KILL",
    "LEASE",
    "LINUX_IMMUTABLE",
    "MAC_ADMIN",
    "MAC_OVERRIDE",
    "MKNOD",
    "NET_ADMIN",
    "NET_BIND_SERVICE",
    "NET_BROADCAST",
    "NET_RAW",
    "SETFCAP",
    "SETGID",
    "SETPCAP",
    "SETUID",
    "SYS_ADMIN",
    "SYS_BOOT",
    "SYS_CHROOT",
    "SYS_MODULE",
    "SYS_NICE",
    "SYS_PACCT",
    "SYS_PTRACE",
    "SYS_RAWIO",
    "SYS_RESOURCE",
    "SYS_TIME",
    "SYS_TTY_CONFIG",
    "SYSLOG",
    "WAKE_ALARM",
];

const OS_FAMILIES: &[&str] = &[
    "LINUX",
    "WINDOWS_SERVER_2019_FULL",
    "WINDOWS_SERVER_2019_CORE",
    "WINDOWS_SERVER_2022_FULL",
    "WINDOWS_SERVER_2022_CORE",
    "WINDOWS_SERVER_2025_FULL",
    "WINDOWS_SERVER_2025_CORE",
];

/// Log drivers Fargate supports (LogConfiguration, ECS API reference).
const FARGATE_LOG_DRIVERS: &[&str] = &["awslogs", "awsfirelens", "splunk"];
/// The driver that stands for no `logConfiguration` at all.
pub(crate) const NO_LOGS: &str = "none";
/// Log drivers the ECS container agent accepts on EC2 and ECS Anywhere (LogConfiguration,
/// ECS API reference).
const LOG_DRIVERS: &[&str] = &[
    "awslogs",
    "awsfirelens",
    "splunk",
    "json-file",
    "syslog",
    "journald",
    "gelf",
    "fluentd",
];

pub(super) fn one_of(
    value: &str,
    allowed: &[&str],
    path: String,
    what: &str,
    out: &mut Vec<Finding>,
) {
    if !allowed.contains(&value) {
        out.push(finding(
            path,
            format!("`{value}` is not {what}"),
            &format!("use one of: {}", allowed.join(", ")),
        ));
    }
}

fn absolute(value: &str, path: String, out: &mut Vec<Finding>) {
    if !value.starts_with('/') {
        out.push(finding(
            path,
            format!("`{value}` is not an absolute path"),
            "write a path starting with `/`",
        ));
    }
}

fn within(value: u32, min: u32, max: u32, path: String, what: &str, out: &mut Vec<Finding>) {
    if !(min..=max).contains(&value) {
        out.push(finding(
            path,
            format!("{value} is outside {min} to {max}"),
            &format!("Fargate accepts {what} from {min} to {max}"),
        ));
    }
}

/// Task-level settings of one service.
pub(super) fn check_task(service: &ServiceSpec, path: &str, out: &mut Vec<Finding>) {
    super::aws::check_aws(service, path, out);
    if let Some(platform) = &service.runtime_platform {
        if let Some(arch) = &platform.cpu_architecture {
            one_of(
                arch,
                &["X86_64", "ARM64"],
                format!("{path}.runtime_platform.cpu_architecture"),
                "a CPU architecture",
                out,
            );
        }
        if let Some(os) = &platform.operating_system_family {
            one_of(
                os,
                OS_FAMILIES,
                format!("{path}.runtime_platform.operating_system_family"),
                "an operating system family",
                out,
            );
        }
    }
    if let Some(gib) = service.ephemeral_storage_gib {
        within(
            gib,
            21,
            200,
            format!("{path}.ephemeral_storage_gib"),
            "ephemeral storage (GiB; leave it out for the default 20)",
            out,
        );
    }
    if let Some(mode) = &service.pid_mode
        && !service.fargate_definition()
    {
        one_of(
            mode,
            &["host", "task"],
            format!("{path}.pid_mode"),
            "a process namespace mode",
            out,
        );
    } else if let Some(mode) = &service.pid_mode
        && mode != "task"
    {
        out.push(finding(
            format!("{path}.pid_mode"),
            format!("`{mode}` is not allowed on Fargate"),
            "use `task` (the containers of the task share one process namespace), or leave it out",
        ));
    }
    for (name, volume) in &service.volumes {
        let at = format!("{path}.volumes.{name}");
        if !is_ecs_name(name) {
            out.push(finding(
                format!("{at}#key"),
                format!("`{name}` is not a valid volume name"),
                "use letters, digits, hyphens and underscores",
            ));
        }
        let Some(efs) = &volume.efs else { continue };
        if !efs.file_system_id.starts_with("fs-") {
            out.push(finding(
                format!("{at}.efs.file_system_id"),
                format!("`{}` is not an EFS file system id", efs.file_system_id),
                "write `fs-` followed by its id",
            ));
        }
        if let Some(point) = &efs.access_point_id {
            if !point.starts_with("fsap-") {
                out.push(finding(
                    format!("{at}.efs.access_point_id"),
                    format!("`{point}` is not an EFS access point id"),
                    "write `fsap-` followed by its id",
                ));
            }
            if efs.root_directory.as_deref().is_some_and(|dir| dir != "/") {
                out.push(finding(
                    format!("{at}.efs.root_directory"),
                    "an access point sets its own root directory",
                    "leave `root_directory` out (or `/`) with an access point",
                ));
            }
        }
        if let Some(dir) = &efs.root_directory {
            absolute(dir, format!("{at}.efs.root_directory"), out);
        }
        let needs_tls = efs.iam == Some(true) || efs.access_point_id.is_some();
        if needs_tls && efs.transit_encryption == Some(false) {
            out.push(finding(
                format!("{at}.efs.transit_encryption"),
                "IAM authorization and access points need transit encryption",
                "remove `transit_encryption: false`",
            ));
        }
        if let Some(port) = efs.transit_encryption_port
            && !(1..=65535).contains(&port)
        {
            out.push(finding(
                format!("{at}.efs.transit_encryption_port"),
                format!("port {port} is out of range"),
                "use a port from 1 to 65535",
            ));
        }
    }
    for (index, entry) in service.drop_unmanaged.iter().enumerate() {
        if entry.trim().is_empty() || entry.contains(char::is_whitespace) {
            out.push(finding(
                format!("{path}.drop_unmanaged.{index}"),
                format!("`{entry}` is not a setting path"),
                "copy the path exactly as the plan names it, for example `containerDefinitions.backend.privileged`",
            ));
        }
    }
    let firelens: Vec<&String> = service
        .containers
        .iter()
        .filter(|(_, c)| c.firelens.is_some())
        .map(|(name, _)| name)
        .collect();
    if firelens.len() > 1 {
        out.push(finding(
            format!("{path}.containers"),
            format!(
                "{} FireLens routers ({}); a task has at most one",
                firelens.len(),
                firelens
                    .iter()
                    .map(|s| s.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            "keep `firelens:` on one container",
        ));
    }
    for (name, container) in &service.containers {
        check_container(
            service,
            name,
            container,
            !firelens.is_empty(),
            &format!("{path}.containers.{name}"),
            out,
        );
    }
}

fn check_container(
    service: &ServiceSpec,
    name: &str,
    container: &ContainerSpec,
    has_router: bool,
    path: &str,
    out: &mut Vec<Finding>,
) {
    if let Some(dir) = &container.working_directory {
        absolute(dir, format!("{path}.working_directory"), out);
    }
    if container.user.as_deref().is_some_and(str::is_empty) {
        out.push(finding(
            format!("{path}.user"),
            "empty `user`",
            "remove `user` to run as the image's user",
        ));
    }
    if let Some(seconds) = container.stop_timeout {
        within(
            seconds,
            2,
            120,
            format!("{path}.stop_timeout"),
            "`stop_timeout` (seconds)",
            out,
        );
    }
    if container.start_timeout == Some(0) {
        out.push(finding(
            format!("{path}.start_timeout"),
            "a start timeout of 0 seconds",
            "give the dependencies time to start, or leave it out",
        ));
    }
    let mut ulimit_names = BTreeSet::new();
    for (index, ulimit) in container.ulimits.iter().enumerate() {
        let at = format!("{path}.ulimits.{index}");
        one_of(
            &ulimit.name,
            ULIMITS,
            format!("{at}.name"),
            "a ulimit name",
            out,
        );
        if !ulimit_names.insert(&ulimit.name) {
            out.push(finding(
                format!("{at}.name"),
                format!("`{}` is listed twice", ulimit.name),
                "keep one entry per limit",
            ));
        }
        // -1 is "unlimited" to Docker (`--ulimit memlock=-1:-1`), which the agent passes on.
        let unlimited = |limit: i64| limit == -1;
        let soft = i64::from(ulimit.soft_limit);
        let hard = i64::from(ulimit.hard_limit);
        if soft < -1 || hard < -1 || (!unlimited(hard) && (unlimited(soft) || soft > hard)) {
            out.push(finding(
                format!("{at}.soft_limit"),
                format!(
                    "soft limit {} is not between 0 and the hard limit {}",
                    ulimit.soft_limit, ulimit.hard_limit
                ),
                "the soft limit must not exceed the hard limit (-1 is unlimited)",
            ));
        }
        if service.fargate_definition() && ulimit.name == "nofile" && ulimit.hard_limit > 1_048_576
        {
            out.push(finding(
                format!("{at}.hard_limit"),
                format!("{} open files is above Fargate's limit", ulimit.hard_limit),
                "Fargate allows at most 1048576 for `nofile`",
            ));
        }
    }
    if container.docker_labels.keys().any(|key| key.is_empty()) {
        out.push(finding(
            format!("{path}.docker_labels"),
            "a label with an empty name",
            "give every label a name",
        ));
    }
    for (other, condition) in &container.depends_on {
        let at = format!("{path}.depends_on.{other}");
        one_of(
            condition,
            &["START", "COMPLETE", "SUCCESS", "HEALTHY"],
            at.clone(),
            "a dependency condition",
            out,
        );
        let Some(target) = service.containers.get(other) else {
            let names: Vec<&str> = service.containers.keys().map(String::as_str).collect();
            out.push(finding(
                format!("{at}#key"),
                format!("no container `{other}` in this service"),
                &format!("containers here: {}", names.join(", ")),
            ));
            continue;
        };
        if other == name {
            out.push(finding(
                format!("{at}#key"),
                "a container cannot wait for itself",
                "name another container of the task",
            ));
        }
        if condition == "HEALTHY" && target.health_check.is_none() {
            out.push(finding(
                at.clone(),
                format!("`{other}` has no health check, so it never becomes HEALTHY"),
                &format!("give `{other}` a `health_check:`, or wait for START"),
            ));
        }
        if matches!(condition.as_str(), "COMPLETE" | "SUCCESS") && target.essential.unwrap_or(true)
        {
            out.push(finding(
                at,
                format!("`{other}` is essential: when it exits, the whole task stops"),
                &format!("mark `{other}` `essential: false` to wait for it to finish"),
            ));
        }
    }
    let mut mounted = BTreeSet::new();
    for (index, mount) in container.mount_points.iter().enumerate() {
        let at = format!("{path}.mount_points.{index}");
        if !service.volumes.contains_key(&mount.source_volume) {
            out.push(finding(
                format!("{at}.source_volume"),
                format!("no volume `{}` in this service", mount.source_volume),
                "declare it under the service's `volumes:`",
            ));
        }
        absolute(&mount.container_path, format!("{at}.container_path"), out);
        if !mounted.insert(&mount.container_path) {
            out.push(finding(
                format!("{at}.container_path"),
                format!("`{}` is mounted twice", mount.container_path),
                "mount one volume per path",
            ));
        }
    }
    if let Some(capabilities) = container
        .linux_parameters
        .as_ref()
        .and_then(|linux| linux.capabilities.as_ref())
    {
        for (field, list) in [("add", &capabilities.add), ("drop", &capabilities.drop)] {
            for (index, capability) in list.iter().enumerate() {
                one_of(
                    capability,
                    CAPABILITIES,
                    format!("{path}.linux_parameters.capabilities.{field}.{index}"),
                    "a kernel capability",
                    out,
                );
            }
        }
        for (index, capability) in capabilities.add.iter().enumerate() {
            if service.fargate_definition()
                && capability != "SYS_PTRACE"
                && CAPABILITIES.contains(&capability.as_str())
            {
                out.push(finding(
                    format!("{path}.linux_parameters.capabilities.add.{index}"),
                    format!("Fargate cannot add `{capability}`"),
                    "Fargate adds only SYS_PTRACE",
                ));
            }
        }
    }
    if let Some(firelens) = &container.firelens {
        one_of(
            &firelens.kind,
            &["fluentbit", "fluentd"],
            format!("{path}.firelens.type"),
            "a FireLens router type",
            out,
        );
    }
    check_logs(service, container, has_router, path, out);
    check_ports(container, path, out);
    if container.environment_files.len() > 10 {
        out.push(finding(
            format!("{path}.environment_files"),
            format!(
                "{} files; ECS reads at most 10",
                container.environment_files.len()
            ),
            "merge some of them",
        ));
    }
    for (index, file) in container.environment_files.iter().enumerate() {
        let valid = file
            .strip_prefix("arn:aws:s3:::")
            .is_some_and(|object| object.contains('/') && object.ends_with(".env"));
        if !valid {
            out.push(finding(
                format!("{path}.environment_files.{index}"),
                format!("`{file}` is not the ARN of a `.env` object in S3"),
                "write `arn:aws:s3:::BUCKET/PATH/FILE.env`",
            ));
        }
    }
}

fn check_logs(
    service: &ServiceSpec,
    container: &ContainerSpec,
    has_router: bool,
    path: &str,
    out: &mut Vec<Finding>,
) {
    let Some(logs) = &container.logs else { return };
    let driver = logs.driver.as_deref().unwrap_or("awslogs");
    // `none`: no log configuration at all (a container definition may leave it out: its output
    // then goes where the instance's Docker daemon sends it, or nowhere on Fargate).
    if driver == NO_LOGS {
        for (field, set) in [
            ("group", logs.group.is_some()),
            ("stream_prefix", logs.stream_prefix.is_some()),
            ("options", !logs.options.is_empty()),
            ("secret_options", !logs.secret_options.is_empty()),
        ] {
            if set {
                out.push(finding(
                    format!("{path}.logs.{field}"),
                    format!("`{field}` with driver `none`: the container has no log configuration"),
                    "remove it, or name the log driver it belongs to",
                ));
            }
        }
        return;
    }
    if service.fargate_definition() {
        one_of(
            driver,
            FARGATE_LOG_DRIVERS,
            format!("{path}.logs.driver"),
            "a log driver Fargate supports",
            out,
        );
    } else {
        one_of(
            driver,
            LOG_DRIVERS,
            format!("{path}.logs.driver"),
            "a log driver ECS supports",
            out,
        );
    }
    if driver != "awslogs" {
        for (field, set) in [
            ("group", logs.group.is_some()),
            ("stream_prefix", logs.stream_prefix.is_some()),
        ] {
            if set {
                out.push(finding(
                    format!("{path}.logs.{field}"),
                    format!("`{field}` belongs to awslogs, not {driver}"),
                    &format!("write the {driver} options under `options:`"),
                ));
            }
        }
    }
    if driver == "awsfirelens" && !has_router {
        out.push(finding(
            format!("{path}.logs.driver"),
            "awsfirelens sends logs through the task's FireLens router, and this task has none",
            "add a log-router container with `firelens: {type: fluentbit}`",
        ));
    }
    for reserved in ["awslogs-group", "awslogs-region", "awslogs-stream-prefix"] {
        if logs.options.contains_key(reserved) {
            out.push(finding(
                format!("{path}.logs.options.{reserved}#key"),
                format!("`{reserved}` is set from `group`, the region and `stream_prefix`"),
                "use `group:` and `stream_prefix:` instead",
            ));
        }
    }
    for (name, reference) in &logs.secret_options {
        if SecretRef::parse(reference).is_none() {
            out.push(finding(
                format!("{path}.logs.secret_options.{name}"),
                "not a secret reference",
                "write `secretsmanager:NAME[:KEY]`, `ssm:/NAME` (`ssm:NAME` for a bare parameter name) or a Secrets Manager or SSM ARN",
            ));
        }
    }
}

/// A port mapping's name: Service Connect's rule (RegisterTaskDefinition, PortMapping.name).
fn check_port_name(name: &str, at: String, out: &mut Vec<Finding>) {
    if !(name
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !name.starts_with('-')
        && (1..=64).contains(&name.len()))
    {
        out.push(finding(
            at,
            format!("`{name}` is not a port mapping name"),
            "use up to 64 lowercase letters, digits and hyphens, not starting with a hyphen",
        ));
    }
}

fn check_ports(container: &ContainerSpec, path: &str, out: &mut Vec<Finding>) {
    for (field, set) in [
        ("port_name", container.port_name.is_some()),
        ("app_protocol", container.app_protocol.is_some()),
    ] {
        if set && container.port.is_none() {
            out.push(finding(
                format!("{path}.{field}"),
                format!("`{field}` describes the container's port, and it has none"),
                if container.port_mappings.is_empty() {
                    "set `port:` or remove it"
                } else {
                    "write it in the mapping it describes, under `port_mappings:`"
                },
            ));
        }
    }
    if container.port.is_some() && !container.port_mappings.is_empty() {
        out.push(finding(
            format!("{path}.port_mappings#key"),
            "both `port` and `port_mappings`",
            "write every mapping under `port_mappings:` and remove `port:`",
        ));
    }
    let protocols = ["http", "http2", "grpc"];
    if let Some(protocol) = &container.app_protocol {
        one_of(
            protocol,
            &protocols,
            format!("{path}.app_protocol"),
            "an application protocol",
            out,
        );
    }
    if let Some(name) = &container.port_name {
        check_port_name(name, format!("{path}.port_name"), out);
    }
    for (index, mapping) in container.port_mappings.iter().enumerate() {
        let at = format!("{path}.port_mappings.{index}");
        if let Some(protocol) = &mapping.app_protocol {
            one_of(
                protocol,
                &protocols,
                format!("{at}.app_protocol"),
                "an application protocol",
                out,
            );
        }
        if let Some(protocol) = &mapping.protocol {
            one_of(
                &protocol.to_ascii_lowercase(),
                &["tcp", "udp"],
                format!("{at}.protocol"),
                "a transport protocol",
                out,
            );
        }
        if let Some(name) = &mapping.name {
            check_port_name(name, format!("{at}.name"), out);
        }
        if (mapping.container_port == 0) == mapping.container_port_range.is_none() {
            out.push(finding(
                at,
                "a port mapping has one of `container_port` and `container_port_range`",
                "write `container_port: 8080`, or a range such as `container_port_range: 8000-8010`",
            ));
        }
    }
}
