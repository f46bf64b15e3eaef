//! Malformed state files: each gets one exact message naming file, line, column, field and fix.
//! Loading is pure, so none of these can reach AWS (`cli::invalid_state_fails_before_any_aws_call`
//! checks that through the binary).

use std::path::Path;

const BASE: &str = r#"version: 1
environment: staging
region: ap-south-1
prefix: kaapi
image:
  tag: v1.8.0
network:
  subnets: [subnet-a]
  security_groups: [sg-a]
roles:
  execution_role_arn: "arn:aws:iam::123456789012:role/exec"
services:
  api:
    cpu: 512
    memory: 1024
    containers:
      backend:
        port: 80
"#;

fn load(source: &str) -> Result<reconcile::state::DesiredState, String> {
    let lookup = |name: &str| (name == "SET").then(|| "subnet-set".to_string());
    reconcile::state::load_str(Path::new("state/staging.yaml"), source, &lookup)
        .map_err(|diagnostics| diagnostics.to_string())
}

/// Applies `edits` (each replaces the first occurrence of `from` with `to`) to the valid base file
/// and checks the complete error text.
#[track_caller]
fn check(edits: &[(&str, &str)], expected: &str) {
    check_from(BASE, edits, expected);
}

/// `check` over another valid base file.
#[track_caller]
fn check_from(base: &str, edits: &[(&str, &str)], expected: &str) {
    let mut source = base.to_string();
    for (from, to) in edits {
        assert!(source.contains(from), "{from:?} is not in the base file");
        source = source.replacen(from, to, 1);
    }
    match load(&source) {
        Ok(_) => panic!("accepted:\n{source}"),
        Err(actual) => assert_eq!(actual, expected, "\n--- source ---\n{source}"),
    }
}

#[test]
fn the_base_file_is_valid() {
    let state = load(BASE).unwrap();
    assert_eq!(state.cluster, "kaapi-staging-cluster");
    assert_eq!(state.services[0].name, "kaapi-staging-service");
}

#[test]
fn unknown_top_level_key_suggests_the_closest() {
    check(
        &[("prefix: kaapi", "prefx: kaapi")],
        "error: state/staging.yaml:4:1: prefx: unknown key `prefx`\n  help: did you mean `prefix`? valid keys here: version, environment, region, account, prefix, image, take_over_from, cluster, network, roles, env, secrets, required_env, tags, backing, services, migrations, sync",
    );
}

#[test]
fn unknown_service_key_suggests_the_closest() {
    check(
        &[("    memory: 1024", "    memroy: 1024")],
        "error: state/staging.yaml:15:5: services.api.memroy: unknown key `memroy`\n  help: did you mean `memory`? valid keys here: name, family, desired_count, cpu, memory, launch_type, network_mode, requires_compatibilities, roles, network, deployment, platform_version, load_balancers, health_check_grace_period, enable_execute_command, propagate_tags, enable_ecs_managed_tags, capacity_provider_strategy, availability_zone_rebalancing, env, secrets, runtime_platform, ephemeral_storage_gib, volumes, pid_mode, drop_unmanaged, aws, containers",
    );
}

#[test]
fn unknown_container_key_suggests_the_closest() {
    check(
        &[("        port: 80", "        prot: 80")],
        "error: state/staging.yaml:18:9: services.api.containers.backend.prot: unknown key `prot`\n  help: did you mean `port`? valid keys here: image, command, entry_point, port, port_name, app_protocol, port_mappings, cpu, memory, memory_reservation, essential, inherit_variables, env, secrets, health_check, logs, working_directory, user, readonly_root_filesystem, start_timeout, stop_timeout, ulimits, docker_labels, depends_on, mount_points, linux_parameters, firelens, environment_files, aws",
    );
}

#[test]
fn text_where_a_number_belongs() {
    check(
        &[("    cpu: 512", "    cpu: lots")],
        "error: state/staging.yaml:14:10: services.api.cpu: expected a whole number\n  help: write a non-negative integer without quotes",
    );
}

#[test]
fn list_where_a_number_belongs() {
    check(
        &[("    cpu: 512", "    cpu: [512]")],
        "error: state/staging.yaml:14:10: services.api.cpu: expected a single value, not a list or mapping\n  help: write a plain value; quote it if it contains `: ` or starts with a special character",
    );
}

#[test]
fn scalar_where_a_list_belongs() {
    check(
        &[("  subnets: [subnet-a]", "  subnets: subnet-a")],
        "error: state/staging.yaml:8:12: network.subnets: expected a list\n  help: write a list, for example `[a, b]`",
    );
}

#[test]
fn missing_required_key() {
    check(
        &[("    memory: 1024\n", "")],
        "error: state/staging.yaml:13:3: services.api: no task `memory`: Fargate requires the task's size\n  help: set `cpu` and `memory` on the service, or use `launch_type: EC2`",
    );
}

#[test]
fn duplicate_key() {
    check(
        &[("version: 1\n", "version: 1\nversion: 2\n")],
        "error: state/staging.yaml:2:1: duplicate key `version`\n  help: keep one of the two entries",
    );
}

#[test]
fn unclosed_flow_sequence() {
    check(
        &[("  tag: v1.8.0", "  tag: [v1.8.0")],
        "error: state/staging.yaml:6:8: image.tag: expected a single value, not a list or mapping\n  help: write a plain value; quote it if it contains `: ` or starts with a special character",
    );
}

#[test]
fn not_a_boolean() {
    check(
        &[(
            "        port: 80",
            "        port: 80\n        essential: maybe",
        )],
        "error: state/staging.yaml:19:20: services.api.containers.backend.essential: expected true or false\n  help: write `true` or `false`",
    );
}

#[test]
fn unsupported_version() {
    check(
        &[("version: 1", "version: 2")],
        "error: state/staging.yaml:1:10: version: unsupported version 2\n  help: this release of reconcile reads `version: 1`",
    );
}

#[test]
fn environment_differs_from_file_name() {
    check(
        &[("environment: staging", "environment: production")],
        "error: state/staging.yaml:2:14: environment: environment `production` does not match the file name `staging.yaml`\n  help: rename the file to `production.yaml` or set `environment: staging`",
    );
}

#[test]
fn not_a_region() {
    check(
        &[("region: ap-south-1", "region: mumbai")],
        "error: state/staging.yaml:3:9: region: `mumbai` is not an AWS region\n  help: write a region code such as `ap-south-1`",
    );
}

#[test]
fn invalid_prefix() {
    check(
        &[("prefix: kaapi", "prefix: Kaapi_Prod")],
        "error: state/staging.yaml:4:9: prefix: `Kaapi_Prod` is not a valid prefix\n  help: use lowercase letters, digits and hyphens, at most 32 characters",
    );
}

#[test]
fn account_id_with_a_lost_leading_zero() {
    check(
        &[("prefix: kaapi", "prefix: kaapi\naccount: 24209611402")],
        "error: state/staging.yaml:5:10: account: `24209611402` is not a 12-digit AWS account id\n  help: quote it so that leading zeros survive: `account: \"024209611402\"`",
    );
}

#[test]
fn a_moving_tag_is_valid_as_ecr_and_ecs_take_it() {
    // `latest` is a tag like any other to ECR and RegisterTaskDefinition; the plan warns.
    let state = load(&BASE.replacen("  tag: v1.8.0", "  tag: latest", 1)).unwrap();
    assert_eq!(state.image.unwrap().tag.as_deref(), Some("latest"));
}

#[test]
fn health_checks_aws_accepts_are_accepted() {
    // A timeout as long as the interval, and a command without CMD / CMD-SHELL: both registered
    // by RegisterTaskDefinition as written.
    let source = BASE.replacen(
        "        port: 80\n",
        "        port: 80\n        health_check:\n          command: [\"/bin/healthcheck\", \"--quick\"]\n          interval: 10\n          timeout: 10\n",
        1,
    );
    assert!(source.contains("/bin/healthcheck"), "the base file changed");
    let state = load(&source).unwrap_or_else(|e| panic!("{e}"));
    let health = state.services[0].containers[0]
        .health_check
        .clone()
        .unwrap();
    assert_eq!(health.command, ["/bin/healthcheck", "--quick"]);
    assert_eq!((health.interval, health.timeout), (10, 10));
}

#[test]
fn a_container_needs_an_image_where_the_environment_names_none() {
    let without = BASE.replacen("image:\n  tag: v1.8.0\n", "", 1);
    assert_ne!(without, BASE, "the base file changed");
    let error = load(&without).unwrap_err();
    assert!(
        error.contains("services.api.containers.backend: no image: the container names none and the environment has no `image:`"),
        "{error}"
    );
    let named = without.replacen(
        "      backend:\n",
        "      backend:\n        image: public.ecr.aws/nginx/nginx:1.27\n",
        1,
    );
    let state = load(&named).unwrap_or_else(|e| panic!("{e}\n{named}"));
    assert!(state.image.is_none());
}

#[test]
fn malformed_digest() {
    check(
        &[("  tag: v1.8.0", "  digest: sha256:abc")],
        "error: state/staging.yaml:6:11: image.digest: `sha256:abc` is not an image digest\n  help: write `sha256:` followed by 64 hexadecimal digits",
    );
}

#[test]
fn tag_and_digest_both_set() {
    check(
        &[(
            "  tag: v1.8.0",
            "  tag: v1.8.0\n  digest: sha256:0000000000000000000000000000000000000000000000000000000000000000",
        )],
        "error: state/staging.yaml:7:11: image.digest: both `tag` and `digest` are set\n  help: keep one: a digest pins the exact image, a tag is easier to read",
    );
}

#[test]
fn memory_invalid_for_cpu() {
    check(
        &[("    memory: 1024", "    memory: 8192")],
        "error: state/staging.yaml:15:13: services.api.memory: 8192 MiB is not valid with cpu 512 on Fargate\n  help: with cpu 512 use one of: 1024, 2048, 3072, 4096 (MiB)",
    );
}

#[test]
fn cpu_not_a_fargate_size() {
    check(
        &[("    cpu: 512", "    cpu: 1000")],
        "error: state/staging.yaml:14:10: services.api.cpu: 1000 is not a Fargate CPU size\n  help: use one of 256, 512, 1024, 2048, 4096, 8192, 16384",
    );
}

#[test]
fn port_out_of_range() {
    check(
        &[("        port: 80", "        port: 70000")],
        "error: state/staging.yaml:18:15: services.api.containers.backend.port: port 70000 is out of range\n  help: use a port from 1 to 65535",
    );
}

#[test]
fn password_written_as_plain_value() {
    check(
        &[(
            "prefix: kaapi",
            "prefix: kaapi\nenv:\n  DB_PASSWORD: hunter2",
        )],
        "error: state/staging.yaml:6:3: env.DB_PASSWORD: `DB_PASSWORD` looks like a credential but is written as a plain value\n  help: move it to `secrets:` as a reference, for example `DB_PASSWORD: secretsmanager:NAME:DB_PASSWORD`",
    );
}

#[test]
fn secret_key_written_as_plain_value() {
    check(
        &[(
            "prefix: kaapi",
            "prefix: kaapi\nenv:\n  SECRET_KEY: changethis",
        )],
        "error: state/staging.yaml:6:3: env.SECRET_KEY: `SECRET_KEY` looks like a credential but is written as a plain value\n  help: move it to `secrets:` as a reference, for example `SECRET_KEY: secretsmanager:NAME:SECRET_KEY`",
    );
}

#[test]
fn invalid_variable_name() {
    check(
        &[("prefix: kaapi", "prefix: kaapi\nenv:\n  \"MODE=fast\": x")],
        "error: state/staging.yaml:6:3: env.MODE=fast: `MODE=fast` is not a valid environment variable name\n  help: a name cannot be empty or hold `=`, spaces or control characters",
    );
}

#[test]
fn names_and_limits_docker_takes_are_valid() {
    // OpenSearch's `discovery.type` and Docker's -1 for an unlimited memlock, as ECS registers them.
    let source = BASE.replacen(
        "        port: 80\n",
        "        port: 80\n        env: { discovery.type: single-node, 9LIVES: \"yes\" }\n        ulimits: [{ name: memlock, soft_limit: -1, hard_limit: -1 }]\n",
        1,
    );
    let state = load(&source).unwrap_or_else(|e| panic!("{e}"));
    let container = &state.services[0].containers[0];
    assert_eq!(container.env["discovery.type"], "single-node");
    assert_eq!(container.env["9LIVES"], "yes");
}

#[test]
fn unknown_reference() {
    check(
        &[(
            "prefix: kaapi",
            "prefix: kaapi\nenv:\n  POSTGRES_SERVER: \"${postgres.address}\"",
        )],
        "error: state/staging.yaml:6:20: env.POSTGRES_SERVER: unknown reference `${postgres.address}`: no backing service `postgres`\n  help: declare it under `backing:`, use `${env:NAME}` for a process variable, or write `$${` for a literal `${`",
    );
}

#[test]
fn secret_value_instead_of_reference() {
    check(
        &[(
            "prefix: kaapi",
            "prefix: kaapi\nsecrets:\n  SENTRY_DSN: https://key@sentry.io/1",
        )],
        "error: state/staging.yaml:6:15: secrets.SENTRY_DSN: not a secret reference\n  help: write `secretsmanager:NAME[:JSON_KEY]`, `ssm:/PARAMETER/NAME`, or an ARN (`arn:aws:secretsmanager:REGION:ACCOUNT:secret:NAME`, `arn:aws:ssm:REGION:ACCOUNT:parameter/NAME`); never the value itself",
    );
}

#[test]
fn unset_environment_variable() {
    check(
        &[(
            "  subnets: [subnet-a]",
            "  subnets: [\"${env:UNSET_SUBNET}\"]",
        )],
        "error: state/staging.yaml:8:13: network.subnets.0: environment variable `UNSET_SUBNET` is not set\n  help: export UNSET_SUBNET before running reconcile; this value reads `${env:UNSET_SUBNET}`",
    );
}

#[test]
fn not_a_subnet_id() {
    check(
        &[("  subnets: [subnet-a]", "  subnets: [vpc-123]")],
        "error: state/staging.yaml:8:13: network.subnets.0: `vpc-123` is not a subnet id\n  help: subnet ids look like `subnet-0abc1234`",
    );
}

#[test]
fn not_a_role_arn() {
    check(
        &[(
            "  execution_role_arn: \"arn:aws:iam::123456789012:role/exec\"",
            "  execution_role_arn: exec-role",
        )],
        "error: state/staging.yaml:11:23: roles.execution_role_arn: `exec-role` is not an IAM role ARN\n  help: write `arn:aws:iam::ACCOUNT_ID:role/NAME`",
    );
}

#[test]
fn no_execution_role() {
    check(
        &[(
            "roles:\n  execution_role_arn: \"arn:aws:iam::123456789012:role/exec\"\n",
            "",
        )],
        "error: state/staging.yaml:11:3: services.api: no execution role\n  help: Fargate needs `roles.execution_role_arn` to pull from ECR, read secrets and write logs",
    );
}

#[test]
fn two_containers_on_one_port() {
    check(
        &[(
            "      backend:\n        port: 80\n",
            "      backend:\n        port: 80\n      worker:\n        port: 80\n",
        )],
        "error: state/staging.yaml:20:15: services.api.containers.worker.port: port 80 is already used by another container of this task\n  help: containers of one awsvpc task share a network namespace; give each its own port",
    );
}

#[test]
fn no_essential_container() {
    check(
        &[(
            "        port: 80",
            "        port: 80\n        essential: false",
        )],
        "error: state/staging.yaml:17:7: services.api.containers: no essential container\n  help: mark at least one container `essential: true` (the default)",
    );
}

#[test]
fn http_health_check_without_port() {
    check(
        &[(
            "        port: 80",
            "        health_check:\n          path: /health",
        )],
        "error: state/staging.yaml:19:17: services.api.containers.backend.health_check.path: an HTTP health check needs the container's `port`\n  help: set `port:` on this container",
    );
}

#[test]
fn health_check_interval_out_of_range() {
    check(
        &[(
            "        port: 80",
            "        port: 80\n        health_check:\n          path: /health\n          interval: 2",
        )],
        "error: state/staging.yaml:21:21: services.api.containers.backend.health_check.interval: 2 is outside 5 to 300\n  help: ECS accepts `interval` from 5 to 300",
    );
}

#[test]
fn deployment_that_can_never_progress() {
    check(
        &[(
            "    memory: 1024",
            "    memory: 1024\n    deployment:\n      min_healthy_percent: 100\n      max_percent: 100",
        )],
        "error: state/staging.yaml:18:20: services.api.deployment.max_percent: with min_healthy_percent 100 and max_percent 100 a deployment can never start a new task\n  help: raise max_percent (200 is usual) or lower min_healthy_percent",
    );
}

#[test]
fn unknown_circuit_breaker_mode() {
    check(
        &[(
            "    memory: 1024",
            "    memory: 1024\n    deployment:\n      circuit_breaker: rollbak",
        )],
        "error: state/staging.yaml:17:24: services.api.deployment.circuit_breaker: unknown value `rollbak`\n  help: did you mean `rollback`? one of: disabled, enabled, rollback",
    );
}

#[test]
fn two_services_with_one_name() {
    check(
        &[(
            "services:\n",
            "services:\n  worker:\n    name: kaapi-staging-service\n    cpu: 256\n    memory: 512\n    containers:\n      w: {}\n",
        )],
        "error: state/staging.yaml:19:3: services.api: services `worker` and `api` both resolve to the ECS service name `kaapi-staging-service`\n  help: give one of them a different `name:`",
    );
}

#[test]
fn variable_both_plain_and_secret() {
    check(
        &[(
            "prefix: kaapi",
            "prefix: kaapi\nenv:\n  FOO: bar\nsecrets:\n  FOO: ssm:/foo",
        )],
        "error: state/staging.yaml:8:3: secrets.FOO: `FOO` is both a plain variable and a secret\n  help: keep each variable in one of `env:` and `secrets:`",
    );
}

#[test]
fn empty_command() {
    check(
        &[("        port: 80", "        port: 80\n        command: []")],
        "error: state/staging.yaml:19:18: services.api.containers.backend.command: empty `command`\n  help: remove `command` to use the image's default",
    );
}

#[test]
fn containers_reserve_more_cpu_than_the_task() {
    check(
        &[("        port: 80", "        port: 80\n        cpu: 1024")],
        "error: state/staging.yaml:17:7: services.api.containers: containers reserve 1024 CPU units, more than the task's 512\n  help: lower the containers' `cpu` or raise the service's",
    );
}

#[test]
fn a_required_variable_that_a_container_does_not_get() {
    check(
        &[(
            "prefix: kaapi",
            "prefix: kaapi\nrequired_env: [PROJECT_NAME, SECRET_KEY]\nenv:\n  PROJECT_NAME: Kaapi",
        )],
        "error: state/staging.yaml:20:7: services.api.containers.backend: container `backend` gets no `SECRET_KEY`, which `required_env` lists\n  help: set it under `env:` or `secrets:` at the top, on the service or on the container",
    );
}

#[test]
fn a_required_variable_set_on_the_container_is_enough() {
    let mut source = BASE.replacen(
        "prefix: kaapi",
        "prefix: kaapi\nrequired_env: [SECRET_KEY]",
        1,
    );
    source
        .push_str("        secrets: { SECRET_KEY: \"secretsmanager:kaapi/staging:SECRET_KEY\" }\n");
    assert!(load(&source).is_ok(), "{source}");
}

#[test]
fn a_required_variable_listed_twice() {
    check(
        &[(
            "prefix: kaapi",
            "prefix: kaapi\nrequired_env: [PROJECT_NAME, PROJECT_NAME]\nenv:\n  PROJECT_NAME: Kaapi",
        )],
        "error: state/staging.yaml:5:30: required_env.1: `PROJECT_NAME` is listed twice\n  help: remove one of them",
    );
}

const TARGET_GROUP: &str =
    "arn:aws:elasticloadbalancing:ap-south-1:123456789012:targetgroup/kaapi-api/6d0ecf831eec9f09";

fn with_load_balancer(balancer: &str) -> String {
    format!("    memory: 1024\n    load_balancers:\n      - {balancer}")
}

#[test]
fn load_balancer_target_group_in_another_region() {
    check(
        &[(
            "    memory: 1024",
            &with_load_balancer(&format!(
                "target_group_arn: {}",
                TARGET_GROUP.replace("ap-south-1", "eu-west-1")
            )),
        )],
        "error: state/staging.yaml:17:27: services.api.load_balancers.0.target_group_arn: `arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/kaapi-api/6d0ecf831eec9f09` is not a target group ARN in ap-south-1\n  help: write `arn:aws:elasticloadbalancing:ap-south-1:ACCOUNT:targetgroup/NAME/ID`",
    );
}

#[test]
fn load_balancer_names_an_unknown_container() {
    check(
        &[(
            "    memory: 1024",
            &with_load_balancer(&format!(
                "{{ target_group_arn: {TARGET_GROUP}, container: web }}"
            )),
        )],
        "error: state/staging.yaml:17:133: services.api.load_balancers.0.container: no container `web` in this service\n  help: containers here: backend",
    );
}

#[test]
fn load_balancer_port_that_the_container_does_not_listen_on() {
    check(
        &[(
            "    memory: 1024",
            &with_load_balancer(&format!(
                "{{ target_group_arn: {TARGET_GROUP}, port: 8080 }}"
            )),
        )],
        "error: state/staging.yaml:17:128: services.api.load_balancers.0.port: container `backend` listens on 80, not 8080\n  help: a target group reaches only the container's port: use 80, or leave `port` out",
    );
}

#[test]
fn load_balancer_without_a_container_port() {
    check(
        &[
            (
                "    memory: 1024",
                &with_load_balancer(&format!("target_group_arn: {TARGET_GROUP}")),
            ),
            ("        port: 80", "        essential: true"),
        ],
        "error: state/staging.yaml:17:9: services.api.load_balancers.0: no container of this service has a `port` to send traffic to\n  help: give the receiving container a `port:`, or name it with `container:`",
    );
}

#[test]
fn a_load_balancer_with_defaults_targets_the_first_container_with_a_port() {
    let source = BASE.replacen(
        "    memory: 1024",
        &with_load_balancer(&format!("target_group_arn: {TARGET_GROUP}")),
        1,
    );
    let state = load(&source).unwrap();
    let balancers = state.services[0].load_balancers.clone().unwrap();
    assert_eq!(balancers.len(), 1);
    assert_eq!(balancers[0].target_group_arn, TARGET_GROUP);
    assert_eq!(
        (
            balancers[0].container_name.as_str(),
            balancers[0].container_port
        ),
        ("backend", 80)
    );
}

const POSTGRES: &str = "prefix: kaapi\nbacking:\n  postgres:\n    engine: postgres\n    version: \"16\"\n    instance_class: db.t4g.small\n    storage_gb: 20";

#[test]
fn unknown_key_inside_a_backing_entry_points_at_the_key() {
    check(
        &[
            ("prefix: kaapi", POSTGRES),
            (
                "storage_gb: 20",
                "storage_gb: 20\n    instnce_class: db.t4g.small",
            ),
        ],
        "error: state/staging.yaml:11:5: backing.postgres.instnce_class: unknown key `instnce_class`\n  help: did you mean `instance_class`? valid keys here: name, version, instance_class, storage_gb, max_storage_gb, storage_type, multi_az, backup_retention_days, backup_window, maintenance_window, deletion_protection, storage_encrypted, parameter_group, subnet_group, security_groups, master_username, database, managed_master_password, apply_immediately",
    );
}

#[test]
fn a_decimal_version_must_be_quoted() {
    check(
        &[
            ("prefix: kaapi", POSTGRES),
            ("version: \"16\"", "version: 16.10"),
        ],
        "error: state/staging.yaml:8:5: backing.postgres.version: the version is written as a number\n  help: quote it, for example `version: \"16.1\"`: YAML reads an unquoted `3.10` as 3.1",
    );
}

#[test]
fn a_reference_to_an_output_the_service_does_not_have() {
    check(
        &[
            ("prefix: kaapi", POSTGRES),
            (
                "port: 80",
                "port: 80\n        env:\n          DB_HOST: \"${postgres.host}\"",
            ),
        ],
        "error: state/staging.yaml:26:20: services.api.containers.backend.env.DB_HOST: `postgres` has no output `host`\n  help: outputs of a postgres backing service: address, port, master_password",
    );
}

#[test]
fn a_secret_output_under_env() {
    check(
        &[
            ("prefix: kaapi", POSTGRES),
            (
                "port: 80",
                "port: 80\n        env:\n          PGPASS_FROM: \"${postgres.master_password}\"",
            ),
        ],
        "error: state/staging.yaml:26:24: services.api.containers.backend.env.PGPASS_FROM: `${postgres.master_password}` is a secret\n  help: move the variable under `secrets:`; ECS injects it at task start",
    );
}

#[test]
fn storage_outside_what_rds_allocates() {
    check(
        &[
            ("prefix: kaapi", POSTGRES),
            ("storage_gb: 20", "storage_gb: 10"),
        ],
        "error: state/staging.yaml:10:17: backing.postgres.storage_gb: 10 GiB is outside what RDS allocates\n  help: write a size from 20 to 65536",
    );
}

#[test]
fn redis_failover_without_replicas() {
    check(
        &[(
            "prefix: kaapi",
            "prefix: kaapi\nbacking:\n  redis:\n    engine: redis\n    version: \"7.1\"\n    node_type: cache.t4g.micro\n    automatic_failover: true",
        )],
        "error: state/staging.yaml:10:25: backing.redis.automatic_failover: automatic failover needs at least one replica\n  help: set `replicas: 1` or more, or `automatic_failover: false`",
    );
}

#[test]
fn a_broker_password_written_as_a_value() {
    check(
        &[(
            "prefix: kaapi",
            "prefix: kaapi\nbacking:\n  rabbitmq:\n    engine: rabbitmq\n    version: \"3.13\"\n    instance_type: mq.t3.micro\n    admin_user: kaapi\n    admin_password: hunter2hunter2",
        )],
        "error: state/staging.yaml:11:21: backing.rabbitmq.admin_password: not a secret reference\n  help: write `secretsmanager:NAME[:JSON_KEY]` or `ssm:/PARAMETER/NAME`; never the value itself",
    );
}

#[test]
fn an_autoscaling_limit_too_close_to_the_allocation() {
    check(
        &[
            ("prefix: kaapi", POSTGRES),
            ("storage_gb: 20", "storage_gb: 20\n    max_storage_gb: 21"),
        ],
        "error: state/staging.yaml:11:21: backing.postgres.max_storage_gb: max_storage_gb 21 is less than 10% above storage_gb 20\n  help: set it to 22 or more (RDS's minimum), or remove it to turn storage autoscaling off",
    );
}

#[test]
fn two_backing_entries_with_one_name() {
    check(
        &[
            ("prefix: kaapi", POSTGRES),
            (
                "storage_gb: 20",
                "storage_gb: 20\n  reports:\n    engine: postgres\n    name: kaapi-staging-postgres\n    version: \"16\"\n    instance_class: db.t4g.micro\n    storage_gb: 20",
            ),
        ],
        "error: state/staging.yaml:13:11: backing.reports.name: `kaapi-staging-postgres` is also the name of backing.postgres\n  help: give each entry its own name",
    );
}

#[test]
fn a_wrong_type_inside_a_backing_entry_points_at_the_field() {
    check(
        &[(
            "services:",
            "backing:\n  postgres:\n    engine: postgres\n    deletion_protection: enabled\nservices:",
        )],
        "error: state/staging.yaml:15:26: backing.postgres.deletion_protection: expected true or false\n  help: write `true` or `false`",
    );
}

#[test]
fn a_key_missing_in_a_list_item_points_at_the_item() {
    check(
        &[(
            "        port: 80\n",
            "        port: 80\nmigrations:\n  - command: [uv, run, alembic, upgrade, head]\n",
        )],
        "error: state/staging.yaml:20:5: migrations.0.service: missing required key `service`\n  help: add `service:` here (`reconcile schema` lists every key)",
    );
}

#[test]
fn a_mis_indented_key_is_reported_as_indentation_not_as_missing() {
    check(
        &[("    containers:", "   containers:")],
        "error: state/staging.yaml:16:4: services.api.containers: `containers:` is indented by 3 spaces where the keys beside it have 4, so YAML reads it as part of the line above\n  help: indent `containers:` by 4 spaces",
    );
}

#[test]
fn an_unclosed_quote_is_reported_where_it_opens() {
    check(
        &[("prefix: kaapi", "prefix: \"kaapi")],
        "error: state/staging.yaml:4:9: a quoted value opens here and is not closed on its line\n  help: close the quote at the end of the value, or remove it",
    );
}

#[test]
fn a_second_yaml_document_is_named_without_library_internals() {
    check(
        &[("        port: 80\n", "        port: 80\n---\nversion: 1\n")],
        "error: state/staging.yaml:20:1: the file holds more than one YAML document\n  help: a state file is one document: remove the `---` line and what follows it, or move that to a file of its own",
    );
}

#[test]
fn invalid_utf8_is_reported_with_its_line_and_column() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("staging.yaml");
    let mut bytes = BASE
        .replacen("prefix: kaapi", "prefix: kaapi # caf", 1)
        .into_bytes();
    let at = bytes.windows(3).position(|w| w == b"caf").unwrap() + 3;
    bytes.insert(at, 0xe9); // Latin-1 'é'
    std::fs::write(&file, bytes).unwrap();
    let error = reconcile::state::load_file(&file, &|_| None)
        .unwrap_err()
        .to_string();
    assert_eq!(
        error,
        format!(
            "error: {}:4:20: the file is not valid UTF-8 text\n  help: save it as UTF-8 (a Latin-1 or Windows editor setting, or a binary file)",
            file.display()
        )
    );
}

#[test]
fn thousands_of_findings_are_capped_with_a_count_of_the_rest() {
    let credentials: String = (0..200)
        .map(|i| format!("  SERVICE{i}_TOKEN: plain-{i}\n"))
        .collect();
    let source = BASE.replacen("services:", &format!("env:\n{credentials}services:"), 1);
    let error = load(&source).unwrap_err();
    assert_eq!(
        error.lines().filter(|l| l.starts_with("error: ")).count(),
        50
    );
    assert!(
        error.ends_with(
            "\n... and 150 more errors not shown: fix these first, then validate again\n200 errors in state files"
        ),
        "{}",
        &error[error.len().saturating_sub(300)..]
    );
}

#[test]
fn a_file_too_large_to_read_says_so_without_library_internals() {
    let entries: String = (0..130_000).map(|i| format!("  V{i}: x\n")).collect();
    let source = BASE.replacen("services:", &format!("env:\n{entries}services:"), 1);
    let error = load(&source).unwrap_err();
    assert!(
        error.contains("the file is too large to read: more YAML nodes than a state file can hold"),
        "{}",
        &error[..error.len().min(300)]
    );
    assert!(
        !error.contains("budget") && !error.contains("Nodes {"),
        "{error}"
    );
}

#[test]
fn a_node_type_elasticache_does_not_offer_is_refused() {
    check(
        &[(
            "services:",
            "backing:\n  redis:\n    engine: redis\n    version: \"7.1\"\n    node_type: cache.t4g.smal\nservices:",
        )],
        "error: state/staging.yaml:16:16: backing.redis.node_type: AWS offers no node_type `cache.t4g.smal`\n  help: cache.t4g comes in micro, small, medium",
    );
}

#[test]
fn a_broker_instance_type_amazon_mq_does_not_offer_is_refused() {
    check(
        &[(
            "services:",
            "backing:\n  rabbitmq:\n    engine: rabbitmq\n    version: \"3.13\"\n    instance_type: mq.t4g.micro\n    admin_user: kaapi\n    admin_password: secretsmanager:kaapi/staging:RABBITMQ_PASSWORD\nservices:",
        )],
        "error: state/staging.yaml:16:20: backing.rabbitmq.instance_type: AWS offers no instance_type `mq.t4g.micro`\n  help: families offered: mq.t3, mq.m5, mq.m7g",
    );
}

#[test]
fn a_secrets_manager_arn_without_secret_is_refused() {
    check(
        &[(
            "services:",
            "secrets:\n  SECRET_KEY: arn:aws:secretsmanager:ap-south-1:123456789012:kaapi/staging\nservices:",
        )],
        "error: state/staging.yaml:13:15: secrets.SECRET_KEY: not a secret reference\n  help: write `secretsmanager:NAME[:JSON_KEY]`, `ssm:/PARAMETER/NAME`, or an ARN (`arn:aws:secretsmanager:REGION:ACCOUNT:secret:NAME`, `arn:aws:ssm:REGION:ACCOUNT:parameter/NAME`); never the value itself",
    );
}

/// The base file with `extra` lines under the backend container (and `service` lines under the
/// API service), checked for every line of `expected` among the findings.
#[track_caller]
fn check_settings(service: &str, container: &str, expected: &[&str]) {
    let source = BASE
        .replace("    containers:\n", &format!("{service}    containers:\n"))
        .replace(
            "        port: 80\n",
            &format!("        port: 80\n{container}"),
        );
    let error = load(&source).expect_err("accepted");
    for line in expected {
        assert!(error.lines().any(|l| l == *line), "{line}\nin:\n{error}");
    }
}

#[test]
fn container_settings_beyond_what_aws_accepts_are_named_with_the_limit() {
    check_settings(
        "",
        concat!(
            "        stop_timeout: 300\n",
            "        ulimits: [{ name: openfiles, soft_limit: 10, hard_limit: 5 }]\n",
            "        depends_on: { sidecar: READY }\n",
            "        mount_points: [{ source_volume: data, container_path: data }]\n",
            "        linux_parameters: { capabilities: { add: [NET_ADMIN] } }\n",
            "        logs: { driver: awsfirelens, group: /x }\n",
            "        environment_files: [s3://bucket/app.env]\n",
            "        app_protocol: websocket\n",
        ),
        &[
            "error: state/staging.yaml:19:23: services.api.containers.backend.stop_timeout: 300 is outside 2 to 120",
            "error: state/staging.yaml:20:27: services.api.containers.backend.ulimits.0.name: `openfiles` is not a ulimit name",
            "error: state/staging.yaml:20:50: services.api.containers.backend.ulimits.0.soft_limit: soft limit 10 is not between 0 and the hard limit 5",
            "error: state/staging.yaml:21:32: services.api.containers.backend.depends_on.sidecar: `READY` is not a dependency condition",
            "error: state/staging.yaml:21:23: services.api.containers.backend.depends_on.sidecar: no container `sidecar` in this service",
            "error: state/staging.yaml:22:41: services.api.containers.backend.mount_points.0.source_volume: no volume `data` in this service",
            "error: state/staging.yaml:22:63: services.api.containers.backend.mount_points.0.container_path: `data` is not an absolute path",
            "error: state/staging.yaml:23:51: services.api.containers.backend.linux_parameters.capabilities.add.0: Fargate cannot add `NET_ADMIN`",
            "error: state/staging.yaml:24:45: services.api.containers.backend.logs.group: `group` belongs to awslogs, not awsfirelens",
            "error: state/staging.yaml:24:25: services.api.containers.backend.logs.driver: awsfirelens sends logs through the task's FireLens router, and this task has none",
            "error: state/staging.yaml:26:23: services.api.containers.backend.app_protocol: `websocket` is not an application protocol",
            "error: state/staging.yaml:25:29: services.api.containers.backend.environment_files.0: `s3://bucket/app.env` is not the ARN of a `.env` object in S3",
        ],
    );
}

#[test]
fn task_and_service_settings_beyond_what_aws_accepts_are_named_with_the_limit() {
    check_settings(
        concat!(
            "    runtime_platform: { cpu_architecture: ARM }\n",
            "    ephemeral_storage_gib: 10\n",
            "    pid_mode: host\n",
            "    volumes: { data: { efs: { file_system_id: fs-1, access_point_id: fsap-1, transit_encryption: false } } }\n",
            "    propagate_tags: TASK\n",
            "    capacity_provider_strategy: [{ capacity_provider: FARGATE_SPOT, weight: 0 }]\n",
            "    deployment: { alarms: { names: [] } }\n",
        ),
        "",
        &[
            "error: state/staging.yaml:16:43: services.api.runtime_platform.cpu_architecture: `ARM` is not a CPU architecture",
            "error: state/staging.yaml:17:28: services.api.ephemeral_storage_gib: 10 is outside 21 to 200",
            "error: state/staging.yaml:18:15: services.api.pid_mode: `host` is not allowed on Fargate",
            "error: state/staging.yaml:19:98: services.api.volumes.data.efs.transit_encryption: IAM authorization and access points need transit encryption",
            "error: state/staging.yaml:20:21: services.api.propagate_tags: `TASK` is not where ECS propagates tags from",
            "error: state/staging.yaml:21:33: services.api.capacity_provider_strategy: every weight is 0, so no task beyond the base can be placed",
            "error: state/staging.yaml:22:36: services.api.deployment.alarms.names: no alarm names",
        ],
    );
}

#[test]
fn a_sync_window_that_does_not_parse_is_named_at_its_line() {
    check(
        &[(
            "services:\n",
            "sync:\n  windows:\n    - kind: deny\n      schedule: \"every friday\"\n      duration: forever\n      timezone: Mars/Olympus\nservices:\n",
        )],
        "error: state/staging.yaml:15:17: sync.windows.0.schedule: `every friday` is not a cron schedule: Invalid pattern: Pattern must have between 5 and 7 fields.\n  help: write `MINUTE HOUR DAY MONTH WEEKDAY`, for example `0 16 * * FRI`\nerror: state/staging.yaml:16:17: sync.windows.0.duration: `forever` is not a duration\n  help: write it like `2h`, `30m` or `64h`\nerror: state/staging.yaml:17:17: sync.windows.0.timezone: `Mars/Olympus` is not an IANA time zone\n  help: write it like `Asia/Kolkata`, `Europe/Berlin` or `UTC`\n3 errors in state files",
    );
}

#[test]
fn a_typed_setting_written_in_aws_names_is_refused_at_its_line() {
    check(
        &[(
            "        port: 80\n",
            "        port: 80\n        aws:\n          privileged: true\n          command: [sleep, \"1\"]\n",
        )],
        "error: state/staging.yaml:21:11: services.api.containers.backend.aws.command: `command` has its own key in this format\n  help: write it with the format's key `command`, not under `aws:`",
    );
}

#[test]
fn a_misspelt_aws_key_names_the_closest() {
    check(
        &[(
            "        port: 80\n",
            "        port: 80\n        aws:\n          systemControl: [{namespace: net.core.somaxconn, value: \"1024\"}]\n",
        )],
        "error: state/staging.yaml:20:11: services.api.containers.backend.aws.systemControl: `systemControl` is not a member of a container definition in AWS's JSON\n  help: did you mean `systemControls`? keys under `aws:` are RegisterTaskDefinition's, spelt as AWS spells them (camelCase)",
    );
}

/// An EC2 service as its team writes it: no task size (each container sets its memory), bridge
/// networking (no `network:`), a capability and a log driver only EC2 allows, no execution role.
const EC2_BRIDGE: &str = r#"version: 1
environment: staging
region: ap-south-1
prefix: kaapi
image:
  tag: v1.8.0
services:
  api:
    launch_type: EC2
    network_mode: bridge
    containers:
      backend:
        port_mappings: [{container_port: 8080, host_port: 80}]
        memory: 512
        logs: {driver: json-file, options: {max-size: 10m}}
        linux_parameters: {capabilities: {add: [SYS_ADMIN]}}
      sidecar:
        port: 8080
        memory_reservation: 64
"#;

#[test]
fn an_ec2_bridge_service_takes_what_ec2_allows() {
    let state = load(EC2_BRIDGE).unwrap();
    let api = &state.services[0];
    assert_eq!(api.launch_type.as_deref(), Some("EC2"));
    assert_eq!(api.network_mode, "bridge");
    assert_eq!(api.requires_compatibilities, ["EC2"]);
    assert_eq!((api.cpu, api.memory, &api.network), (None, None, &None));
    assert_eq!(api.platform_version, None);
}

#[track_caller]
fn check_ec2(edits: &[(&str, &str)], expected: &str) {
    check_from(EC2_BRIDGE, edits, expected);
}

#[test]
fn an_ec2_container_without_memory_needs_the_tasks() {
    check_ec2(
        &[("        memory_reservation: 64\n", "")],
        "error: state/staging.yaml:17:7: services.api.containers.sidecar: no memory for this container, and none for the task\n  help: set the container's `memory` or `memory_reservation`, or the service's `memory`",
    );
}

#[test]
fn fargate_rules_hold_where_the_definition_requires_fargate() {
    check_ec2(
        &[(
            "    network_mode: bridge\n",
            "    network_mode: bridge\n    requires_compatibilities: [EC2, FARGATE]\n",
        )],
        concat!(
            "error: state/staging.yaml:10:19: services.api.network_mode: Fargate tasks use `awsvpc`, not `bridge`\n  help: use `network_mode: awsvpc` (or leave it out), or `launch_type: EC2`\n",
            "error: state/staging.yaml:8:3: services.api: no task `cpu`: Fargate requires the task's size\n  help: set `cpu` and `memory` on the service, or use `launch_type: EC2`\n",
            "error: state/staging.yaml:8:3: services.api: no task `memory`: Fargate requires the task's size\n  help: set `cpu` and `memory` on the service, or use `launch_type: EC2`\n",
            "error: state/staging.yaml:17:49: services.api.containers.backend.linux_parameters.capabilities.add.0: Fargate cannot add `SYS_ADMIN`\n  help: Fargate adds only SYS_PTRACE\n",
            "error: state/staging.yaml:16:24: services.api.containers.backend.logs.driver: `json-file` is not a log driver Fargate supports\n  help: use one of: awslogs, awsfirelens, splunk\n",
            "5 errors in state files",
        ),
    );
}

#[test]
fn a_bridge_service_takes_no_network_configuration() {
    check_ec2(
        &[(
            "    network_mode: bridge\n",
            "    network_mode: bridge\n    network: {subnets: [subnet-a]}\n",
        )],
        "error: state/staging.yaml:11:14: services.api.network: `bridge` tasks take no network configuration\n  help: remove `network:` from this service, or use `network_mode: awsvpc`",
    );
}
