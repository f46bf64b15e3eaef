//! Services, their task definitions and containers as the state file writes them: conventional
//! names and AWS's defaults left out, network and roles at the top when every service shares them.

use serde_json::{Value, json};

use super::input::{AppImage, ImportInput};
use super::node::{MapBuilder, Node};
use super::references::reference;
use super::variables::{Split, Vars};
use crate::model::{
    AwsJson, ContainerDefinition, LiveService, Network, PortMapping, Revision, on_fargate,
};
use crate::state::naming::Names;

/// Keys and shared settings of the imported services.
pub(super) struct Layout<'a> {
    input: &'a ImportInput,
    names: &'a Names,
    image: Option<&'a AppImage>,
    pub keys: Vec<String>,
    network: Option<Network>,
    roles: Option<(Option<String>, Option<String>)>,
}

fn roles_of(revision: &Revision) -> (Option<String>, Option<String>) {
    (
        revision.content.execution_role_arn.clone(),
        revision.content.task_role_arn.clone(),
    )
}

/// The key a service is written under: `api` for the conventional main service, `K` for
/// `{base}-K-service`, otherwise its name (the `name:` is then written out).
fn key_for(name: &str, names: &Names) -> String {
    if name == names.service("api") {
        return "api".to_string();
    }
    let stem = name
        .strip_prefix(&format!("{}-", names.base()))
        .unwrap_or(name);
    let key = stem.strip_suffix("-service").unwrap_or(stem);
    if key.is_empty() {
        name.to_string()
    } else {
        key.to_string()
    }
}

fn network_node(network: &Network) -> Node {
    let mut map = MapBuilder::new();
    map.set("subnets", Node::flow(&network.subnets))
        .set("security_groups", Node::flow(&network.security_groups));
    if network.assign_public_ip {
        map.value("assign_public_ip", true);
    }
    map.build()
}

fn roles_node(roles: &(Option<String>, Option<String>)) -> MapBuilder {
    let mut map = MapBuilder::new();
    map.maybe("execution_role_arn", roles.0.clone())
        .maybe("task_role_arn", roles.1.clone());
    map
}

/// Settings in AWS's names, one per line, each value as AWS writes it.
fn aws_node(aws: &AwsJson) -> Node {
    let mut map = MapBuilder::new();
    for (key, value) in &aws.0 {
        map.set(key, Node::flow(value));
    }
    map.build()
}

/// The health check's `path` when its command is the one the state writes for a path.
fn health_path(command: &[String], port: Option<i32>) -> Option<String> {
    let [shell, line] = command else {
        return None;
    };
    let prefix = format!("curl -fsS http://localhost:{}", port.unwrap_or(80));
    let path = line.strip_prefix(&prefix)?.strip_suffix(" || exit 1")?;
    (shell == "CMD-SHELL" && path.starts_with('/') && !path.contains(['\'', '"', ' ']))
        .then(|| path.to_string())
}

impl<'a> Layout<'a> {
    pub fn new(input: &'a ImportInput, names: &'a Names, image: Option<&'a AppImage>) -> Self {
        let mut keys: Vec<String> = Vec::new();
        for (service, _) in &input.services {
            let mut key = key_for(&service.name, names);
            if keys.contains(&key) {
                key = service.name.clone();
            }
            keys.push(key);
        }
        let networks: Vec<Option<&Network>> = input
            .services
            .iter()
            .map(|(service, _)| service.settings.network.as_ref())
            .collect();
        let network = networks
            .first()
            .copied()
            .flatten()
            .filter(|first| networks.iter().all(|n| *n == Some(*first)))
            .cloned();
        let roles: Vec<_> = input.services.iter().map(|(_, r)| roles_of(r)).collect();
        let shared_roles = roles
            .first()
            .filter(|first| roles.iter().all(|r| r == *first))
            .cloned();
        Layout {
            input,
            names,
            image,
            keys,
            network,
            roles: shared_roles,
        }
    }

    /// The network and roles every service shares, at the top.
    pub fn shared(&self, root: &mut MapBuilder) {
        if let Some(network) = &self.network {
            root.set("network", network_node(network));
        }
        if let Some(roles) = &self.roles {
            root.map("roles", roles_node(roles));
        }
    }

    pub fn service(
        &self,
        index: usize,
        live: &LiveService,
        revision: &Revision,
        variables: &Split,
        todo: &mut Vec<String>,
    ) -> Node {
        let key = &self.keys[index];
        let content = &revision.content;
        let settings = &live.settings;
        let mut map = MapBuilder::new();
        if live.name != self.names.service(key) {
            map.value("name", live.name.as_str());
        }
        if content.family != self.names.family(key) {
            map.value("family", content.family.as_str());
        }
        if let Some(count) = settings.desired_count {
            map.set(
                "desired_count",
                Node::commented(count, "leave it out when an autoscaler owns the count"),
            );
        }
        let number = |text: &Option<String>| {
            text.as_deref()
                .and_then(|t| t.parse::<u32>().ok())
                .map(Value::from)
        };
        map.maybe("cpu", number(&content.cpu))
            .maybe("memory", number(&content.memory));
        // The launch as the format's defaults would not give it: FARGATE and awsvpc are the
        // defaults; a definition registered without a network mode is bridge (AWS's default).
        let launch_type = settings.launch_type.as_deref();
        if settings.capacity_provider_strategy.is_none() && launch_type != Some("FARGATE") {
            map.maybe("launch_type", launch_type);
        }
        let network_mode = content.network_mode.as_deref().unwrap_or("bridge");
        if network_mode != "awsvpc" {
            map.value("network_mode", network_mode);
        }
        let default_compatibility = match (launch_type, &settings.capacity_provider_strategy) {
            (Some(launch_type), None) => launch_type,
            (_, strategy) if on_fargate(None, strategy.as_deref()) => "FARGATE",
            _ => "EC2",
        };
        let mut compatibilities = content.requires_compatibilities.clone();
        compatibilities.sort();
        if compatibilities != [default_compatibility] {
            map.set("requires_compatibilities", Node::flow(&compatibilities));
        }
        if self.roles.is_none() {
            map.map("roles", roles_node(&roles_of(revision)));
        }
        if self.network.is_none()
            && let Some(network) = &settings.network
        {
            map.set("network", network_node(network));
        }
        if let Some(deployment) = &settings.deployment {
            let mut node = MapBuilder::new();
            let breaker = match (
                deployment.circuit_breaker_enable,
                deployment.circuit_breaker_rollback,
            ) {
                (false, _) => None,
                (true, false) => Some("enabled"),
                (true, true) => Some("rollback"),
            };
            node.maybe("circuit_breaker", breaker);
            if deployment.min_healthy_percent != 100 {
                node.value("min_healthy_percent", deployment.min_healthy_percent);
            }
            if deployment.max_percent != 200 {
                node.value("max_percent", deployment.max_percent);
            }
            if let Some(alarms) = &deployment.alarms {
                let mut alarms_node = MapBuilder::new();
                alarms_node.set("names", Node::flow(&alarms.names));
                if alarms.rollback {
                    alarms_node.value("rollback", true);
                }
                node.map("alarms", alarms_node);
            }
            map.map("deployment", node);
        }
        if let Some(version) = settings.platform_version.as_deref()
            && version != "LATEST"
        {
            map.value("platform_version", version);
        }
        if let Some(balancers) = settings.load_balancers.as_ref().filter(|b| !b.is_empty()) {
            let list = balancers
                .iter()
                .map(|balancer| {
                    Node::flow(&json!({
                        "target_group_arn": balancer.target_group_arn,
                        "container": balancer.container_name,
                        "port": balancer.container_port,
                    }))
                })
                .collect();
            map.set("load_balancers", Node::List(list));
        }
        if let Some(grace) = settings.health_check_grace_period.filter(|g| *g > 0) {
            map.value("health_check_grace_period", grace);
        }
        if settings.enable_execute_command == Some(true) {
            map.value("enable_execute_command", true);
        }
        if let Some(from) = settings.propagate_tags.as_deref().filter(|p| *p != "NONE") {
            map.value("propagate_tags", from);
        }
        if settings.enable_ecs_managed_tags == Some(true) {
            map.value("enable_ecs_managed_tags", true);
        }
        if let Some(strategy) = &settings.capacity_provider_strategy {
            let list = strategy.iter().map(Node::flow).collect();
            map.set("capacity_provider_strategy", Node::List(list));
        }
        map.maybe(
            "availability_zone_rebalancing",
            settings.availability_zone_rebalancing.clone(),
        );
        variables.services[index].write(&mut map);
        self.task_settings(&mut map, revision);
        if !content.aws.is_empty() {
            map.set("aws", aws_node(&content.aws));
        }
        let mut containers = MapBuilder::new();
        for (position, container) in content.containers.iter().enumerate() {
            let inherits = variables.inherits[index][position];
            let own = &variables.containers[index][position];
            containers.set(
                &container.name,
                self.container(container, network_mode, inherits, own, key, todo),
            );
        }
        map.map("containers", containers);
        map.build()
    }

    fn task_settings(&self, map: &mut MapBuilder, revision: &Revision) {
        let task = &crate::normalize::task_definition(&revision.content).settings;
        if let Some(platform) = &task.runtime_platform {
            let mut node = MapBuilder::new();
            if platform.cpu_architecture.as_deref() != Some("X86_64") {
                node.maybe("cpu_architecture", platform.cpu_architecture.clone());
            }
            if platform.operating_system_family.as_deref() != Some("LINUX") {
                node.maybe(
                    "operating_system_family",
                    platform.operating_system_family.clone(),
                );
            }
            map.map("runtime_platform", node);
        }
        map.maybe("ephemeral_storage_gib", task.ephemeral_storage_gib);
        // As registered, not normalized: only what was set is written.
        let volumes = &revision.content.settings.volumes;
        if !volumes.is_empty() {
            let mut node = MapBuilder::new();
            for volume in volumes {
                let mut entry = match &volume.efs {
                    Some(efs) => {
                        let mut efs = efs.clone();
                        let needs_tls = efs.iam == Some(true) || efs.access_point_id.is_some();
                        // The state's default: TLS exactly when IAM or an access point needs it.
                        if efs.transit_encryption.unwrap_or(false) == needs_tls {
                            efs.transit_encryption = None;
                        }
                        if efs.iam == Some(false) {
                            efs.iam = None;
                        }
                        if efs.root_directory.as_deref() == Some("/") {
                            efs.root_directory = None;
                        }
                        json!({ "efs": efs })
                    }
                    None => json!({}),
                };
                if !volume.aws.is_empty() {
                    entry["aws"] = json!(volume.aws);
                }
                node.set(&volume.name, Node::Flow(entry));
            }
            map.map("volumes", node);
        }
        map.maybe("pid_mode", task.pid_mode.clone());
    }

    fn container(
        &self,
        container: &ContainerDefinition,
        network_mode: &str,
        inherits: bool,
        own: &Vars,
        key: &str,
        todo: &mut Vec<String>,
    ) -> Node {
        let mut map = MapBuilder::new();
        if !self.image.is_some_and(|image| image.runs(&container.image)) {
            map.value("image", container.image.as_str());
        }
        if !inherits {
            map.set(
                "inherit_variables",
                Node::commented(false, "a sidecar: none of the application's variables"),
            );
        }
        if !container.command.is_empty() {
            map.set("command", Node::flow(&container.command));
        }
        if !container.entry_point.is_empty() {
            map.set("entry_point", Node::flow(&container.entry_point));
        }
        let port = container
            .port_mappings
            .iter()
            .map(|m| m.container_port)
            .find(|p| *p > 0);
        // What AWS fills in is left out: `tcp`, and the host port the network mode gives (the
        // container port in awsvpc and host mode, a dynamic one, 0, in bridge mode).
        let filled = |mapping: &PortMapping| match network_mode {
            "awsvpc" | "host" => mapping.container_port,
            _ => 0,
        };
        let mappings: Vec<PortMapping> = container
            .port_mappings
            .iter()
            .map(|mapping| PortMapping {
                host_port: mapping.host_port.filter(|h| *h != filled(mapping)),
                protocol: mapping.protocol.clone().filter(|p| p != "tcp"),
                ..mapping.clone()
            })
            .collect();
        match mappings.as_slice() {
            [] => {}
            [one]
                if one.host_port.is_none()
                    && one.protocol.is_none()
                    && one.container_port_range.is_none() =>
            {
                map.value("port", one.container_port)
                    .maybe("port_name", one.name.clone())
                    .maybe("app_protocol", one.app_protocol.clone());
            }
            list => {
                map.set(
                    "port_mappings",
                    Node::List(list.iter().map(Node::flow).collect()),
                );
            }
        }
        map.maybe("cpu", container.cpu.filter(|cpu| *cpu != 0))
            .maybe("memory", container.memory)
            .maybe("memory_reservation", container.memory_reservation);
        if container.essential == Some(false) {
            map.value("essential", false);
        }
        own.write(&mut map);
        if let Some(health) = &container.health_check {
            let mut node = MapBuilder::new();
            match health_path(&health.command, port) {
                Some(path) => node.value("path", path),
                None => node.set("command", Node::flow(&health.command)),
            };
            for (field, value, default) in [
                ("interval", health.interval, 30),
                ("timeout", health.timeout, 5),
                ("retries", health.retries, 3),
                ("start_period", health.start_period, 0),
            ] {
                if let Some(value) = value.filter(|v| *v != default) {
                    node.value(field, value);
                }
            }
            map.map("health_check", node);
        }
        self.logs(&mut map, container, key, todo);
        let settings = &container.settings;
        map.maybe("working_directory", settings.working_directory.clone())
            .maybe("user", settings.user.clone());
        if settings.readonly_root_filesystem {
            map.value("readonly_root_filesystem", true);
        }
        map.maybe("start_timeout", settings.start_timeout)
            .maybe("stop_timeout", settings.stop_timeout);
        if !settings.ulimits.is_empty() {
            let list = settings.ulimits.iter().map(Node::flow).collect();
            map.set("ulimits", Node::List(list));
        }
        let mut labels = MapBuilder::new();
        for (name, value) in &settings.docker_labels {
            labels.value(name, value.as_str());
        }
        map.map("docker_labels", labels);
        let mut depends = MapBuilder::new();
        for dependency in &settings.depends_on {
            depends.value(&dependency.container_name, dependency.condition.as_str());
        }
        map.map("depends_on", depends);
        if !settings.mount_points.is_empty() {
            let list = settings.mount_points.iter().map(Node::flow).collect();
            map.set("mount_points", Node::List(list));
        }
        if let Some(linux) = &settings.linux_parameters {
            map.set("linux_parameters", Node::flow(linux));
        }
        if let Some(firelens) = &settings.firelens {
            map.set("firelens", Node::flow(firelens));
        }
        if !settings.environment_files.is_empty() {
            map.set("environment_files", Node::flow(&settings.environment_files));
        }
        if !container.aws.is_empty() {
            map.set("aws", aws_node(&container.aws));
        }
        map.build()
    }

    fn logs(
        &self,
        map: &mut MapBuilder,
        container: &ContainerDefinition,
        key: &str,
        todo: &mut Vec<String>,
    ) {
        let Some(logs) = &container.log_configuration else {
            let mut node = MapBuilder::new();
            node.set(
                "driver",
                Node::commented(
                    crate::state::validate::NO_LOGS,
                    "no log configuration, as it runs (without this line: awslogs)",
                ),
            );
            map.map("logs", node);
            return;
        };
        let mut node = MapBuilder::new();
        let mut options = logs.options.clone();
        if logs.log_driver == "awslogs" {
            let group = options.remove("awslogs-group");
            let prefix = options.remove("awslogs-stream-prefix");
            let region = options.remove("awslogs-region");
            let service_name = &self.input.services
                [self.keys.iter().position(|k| k == key).unwrap_or(0)]
            .0
            .name;
            if group.as_deref()
                != Some(&crate::state::naming::Names::log_group(
                    &self.input.cluster,
                    service_name,
                ))
            {
                node.maybe("group", group);
            }
            if prefix.as_deref() != Some("ecs") {
                node.maybe("stream_prefix", prefix);
            }
            if region.as_deref().is_some_and(|r| r != self.input.region) {
                todo.push(format!(
                    "services.{key}.containers.{}: its awslogs region is {}, and the format writes to the environment's region {}",
                    container.name,
                    region.unwrap_or_default(),
                    self.input.region
                ));
            }
        } else {
            node.value("driver", logs.log_driver.as_str());
        }
        let mut extra = MapBuilder::new();
        for (name, value) in &options {
            extra.value(name, value.as_str());
        }
        node.map("options", extra);
        let mut secret = MapBuilder::new();
        for (name, value_from) in &logs.secret_options {
            secret.value(
                name,
                reference(value_from, &self.input.region, &self.input.account),
            );
        }
        node.map("secret_options", secret);
        map.map("logs", node);
    }
}
