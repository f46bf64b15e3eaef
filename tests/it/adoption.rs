//! Adopting real deployments on the emulator: every task, container and service setting beyond
//! the basics is applied from the state, a change to any of them made behind reconcile's back is
//! named by the next plan, and apply brings it back.

use reconcile::aws::Aws;
use reconcile::plan::{Operation, Plan, ResourceKind};

use super::support::{
    Emulator, Seed, StateDir, apply, describe_service, plan_and_apply, plan_of, reconcile,
    running_definition, stderr, stdout,
};

const CLUSTER: &str = "kaapi-staging-cluster";
const SERVICE: &str = "kaapi-staging-service";

/// The staging example's API service with every setting of the extended format.
fn extended_staging() -> StateDir {
    let state = StateDir::examples();
    state.edit(
        "staging",
        "    containers:\n      backend:\n        port: 80\n",
        concat!(
            "    propagate_tags: SERVICE\n",
            "    enable_ecs_managed_tags: true\n",
            "    availability_zone_rebalancing: ENABLED\n",
            "    capacity_provider_strategy:\n",
            "      - { capacity_provider: FARGATE, base: 1, weight: 1 }\n",
            "      - { capacity_provider: FARGATE_SPOT, weight: 3 }\n",
            "    runtime_platform: { cpu_architecture: ARM64 }\n",
            "    ephemeral_storage_gib: 40\n",
            "    pid_mode: task\n",
            "    volumes:\n",
            "      uploads: { efs: { file_system_id: fs-0a1b2c3d, access_point_id: fsap-0a1b2c3d, iam: true } }\n",
            "      scratch: {}\n",
            "    containers:\n",
            "      backend:\n",
            "        port: 80\n",
            "        port_name: backend-80-tcp\n",
            "        app_protocol: http\n",
            "        working_directory: /app\n",
            "        user: \"1000\"\n",
            "        readonly_root_filesystem: true\n",
            "        start_timeout: 60\n",
            "        stop_timeout: 90\n",
            "        memory_reservation: 512\n",
            "        ulimits: [{ name: nofile, soft_limit: 65536, hard_limit: 65536 }]\n",
            "        docker_labels: { team: backend }\n",
            "        depends_on: { log-router: START }\n",
            "        mount_points:\n",
            "          - { source_volume: uploads, container_path: /app/uploads }\n",
            "          - { source_volume: scratch, container_path: /tmp/scratch, read_only: false }\n",
            "        linux_parameters: { init_process_enabled: true, capabilities: { drop: [NET_RAW] } }\n",
        ),
    );
    state.edit(
        "staging",
        "        command: [uv, run, celery, -A, app.celery.celery_app, worker, --loglevel=info]\n",
        concat!(
            "        command: [uv, run, celery, -A, app.celery.celery_app, worker, --loglevel=info]\n",
            "        environment_files: [arn:aws:s3:::kaapi-config/staging/celery.env]\n",
            "        logs: { driver: awsfirelens, options: { Name: cloudwatch_logs, region: ap-south-1, log_group_name: /kaapi/celery } }\n",
            "      log-router:\n",
            "        image: public.ecr.aws/aws-observability/aws-for-fluent-bit:stable\n",
            "        essential: false\n",
            "        inherit_variables: false\n",
            "        firelens: { type: fluentbit, options: { enable-ecs-log-metadata: \"true\" } }\n",
        ),
    );
    state
}

/// The field paths of the differences a plan shows for the API's task definition (registered, or
/// an earlier revision reused) and service.
fn changed_fields(plan: &Plan) -> Vec<String> {
    plan.changes
        .iter()
        .filter(|c| c.resource.name == "kaapi-staging-task" || c.resource.name == SERVICE)
        .flat_map(|c| c.fields.iter().map(|f| f.path.clone()))
        .filter(|path| path != "task_definition")
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn every_extended_setting_is_applied_found_when_changed_by_hand_and_converged() {
    let (emulator, seed) = Emulator::seeded();
    let aws = Aws::from_config(&emulator.sdk_config());
    let desired = extended_staging().load("staging", &seed);
    let report = plan_and_apply(&aws, &desired).await;
    assert!(report.succeeded(), "{report:?}");

    // What AWS holds is what the state says.
    let service = describe_service(&aws, CLUSTER, SERVICE).await;
    assert_eq!(
        service.propagate_tags().map(|p| p.as_str()),
        Some("SERVICE")
    );
    assert!(service.enable_ecs_managed_tags());
    assert_eq!(service.launch_type(), None);
    assert_eq!(service.capacity_provider_strategy().len(), 2);
    let definition = running_definition(&aws, CLUSTER, SERVICE).await;
    assert_eq!(
        definition
            .runtime_platform()
            .and_then(|p| p.cpu_architecture())
            .map(|a| a.as_str()),
        Some("ARM64")
    );
    assert_eq!(definition.volumes().len(), 2);
    let backend = definition
        .container_definitions()
        .iter()
        .find(|c| c.name() == Some("backend"))
        .unwrap();
    assert_eq!(backend.stop_timeout(), Some(90));
    assert_eq!(backend.ulimits()[0].soft_limit(), 65536);
    assert_eq!(backend.depends_on()[0].container_name(), "log-router");
    let router = definition
        .container_definitions()
        .iter()
        .find(|c| c.name() == Some("log-router"))
        .unwrap();
    assert!(router.environment().is_empty() && router.secrets().is_empty());
    let after = plan_of(&aws, &desired).await;
    assert!(!after.has_changes(), "{}", reconcile::render::text(&after));

    // Each setting changed by hand: the next plan names it, and apply brings it back.
    let cases: &[(&[&str], &str)] = &[
        (
            &["set", "runtimePlatform.cpuArchitecture", "\"X86_64\""],
            "runtime_platform.cpu_architecture",
        ),
        (
            &["set", "ephemeralStorage.sizeInGiB", "60"],
            "ephemeral_storage_gib",
        ),
        (&["set", "pidMode", "null"], "pid_mode"),
        (
            &[
                "set",
                "volumes.uploads.efsVolumeConfiguration.authorizationConfig.iam",
                "\"DISABLED\"",
            ],
            "volumes",
        ),
        (
            &[
                "set",
                "containerDefinitions.backend.workingDirectory",
                "\"/srv\"",
            ],
            "containers.backend.working_directory",
        ),
        (
            &["set", "containerDefinitions.backend.user", "\"root\""],
            "containers.backend.user",
        ),
        (
            &[
                "set",
                "containerDefinitions.backend.readonlyRootFilesystem",
                "false",
            ],
            "containers.backend.readonly_root_filesystem",
        ),
        (
            &["set", "containerDefinitions.backend.startTimeout", "null"],
            "containers.backend.start_timeout",
        ),
        (
            &["set", "containerDefinitions.backend.stopTimeout", "10"],
            "containers.backend.stop_timeout",
        ),
        (
            &[
                "set",
                "containerDefinitions.backend.memoryReservation",
                "256",
            ],
            "containers.backend.memory_reservation",
        ),
        (
            &[
                "set",
                "containerDefinitions.backend.ulimits",
                r#"[{"name": "nofile", "softLimit": 1024, "hardLimit": 4096}]"#,
            ],
            "containers.backend.ulimits",
        ),
        (
            &[
                "set",
                "containerDefinitions.backend.dockerLabels",
                r#"{"team": "ops"}"#,
            ],
            "containers.backend.docker_labels",
        ),
        (
            &[
                "set",
                "containerDefinitions.backend.dependsOn",
                r#"[{"containerName": "log-router", "condition": "COMPLETE"}]"#,
            ],
            "containers.backend.depends_on",
        ),
        (
            &["set", "containerDefinitions.backend.mountPoints", "[]"],
            "containers.backend.mount_points",
        ),
        (
            &[
                "set",
                "containerDefinitions.backend.linuxParameters.initProcessEnabled",
                "false",
            ],
            "containers.backend.linux_parameters",
        ),
        (
            &[
                "set",
                "containerDefinitions.backend.portMappings",
                r#"[{"containerPort": 80, "hostPort": 80, "protocol": "tcp"}]"#,
            ],
            "containers.backend.port_mappings",
        ),
        (
            &[
                "set",
                "containerDefinitions.celery-worker.environmentFiles",
                "null",
            ],
            "containers.celery-worker.environment_files",
        ),
        (
            &[
                "set",
                "containerDefinitions.celery-worker.logConfiguration",
                r#"{"logDriver": "awsfirelens", "options": {"Name": "stdout"}}"#,
            ],
            "containers.celery-worker.log_configuration",
        ),
        (
            &[
                "set",
                "containerDefinitions.log-router.firelensConfiguration.type",
                "\"fluentd\"",
            ],
            "containers.log-router.firelens",
        ),
        (
            &["set", "containerDefinitions.log-router.essential", "true"],
            "containers.log-router.essential",
        ),
        (&["service", "propagateTags", "\"NONE\""], "propagate_tags"),
        (
            &["service", "enableECSManagedTags", "false"],
            "enable_ecs_managed_tags",
        ),
        (
            &["service", "availabilityZoneRebalancing", "\"DISABLED\""],
            "availability_zone_rebalancing",
        ),
        (
            &[
                "service",
                "capacityProviderStrategy",
                r#"[{"capacityProvider": "FARGATE", "weight": 1, "base": 0}]"#,
            ],
            "capacity_provider_strategy",
        ),
    ];
    for (change, field) in cases {
        emulator.tamper(CLUSTER, SERVICE, change);
        let plan = plan_of(&aws, &desired).await;
        assert!(plan.has_changes(), "{change:?}");
        let fields = changed_fields(&plan);
        assert!(
            fields.iter().any(|path| path.starts_with(field)),
            "{change:?}: expected {field} among {fields:?}\n{}",
            reconcile::render::text(&plan)
        );
        assert!(
            !fields.iter().any(|path| path.starts_with("unmanaged")),
            "{change:?}: {fields:?}"
        );
        let report = apply(&aws, &plan).await;
        assert!(report.succeeded(), "{change:?}: {report:?}");
        let converged = plan_of(&aws, &desired).await;
        assert!(
            !converged.has_changes(),
            "{change:?}:\n{}",
            reconcile::render::text(&converged)
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_revision_with_a_setting_outside_the_format_stops_the_plan_and_registers_nothing() {
    let (emulator, seed) = Emulator::seeded();
    let aws = Aws::from_config(&emulator.sdk_config());
    let state = StateDir::examples();
    let desired = state.load("staging", &seed);
    assert!(plan_and_apply(&aws, &desired).await.succeeded());
    emulator.tamper(
        CLUSTER,
        SERVICE,
        &[
            "set",
            "containerDefinitions.backend.extraHosts",
            r#"[{"hostname": "db.internal", "ipAddress": "10.0.0.5"}]"#,
        ],
    );
    let error = reconcile::engine::plan_environment(&aws, &desired)
        .await
        .unwrap_err()
        .to_string();
    assert!(
        error.contains(
            r#"    - containerDefinitions.backend.extraHosts: [{"hostname":"db.internal","ipAddress":"10.0.0.5"}]"#
        ),
        "{error}"
    );
    assert!(error.contains("services.api.drop_unmanaged"), "{error}");
    // `apply` stops the same way, and registers nothing.
    let revisions = || async {
        aws.ecs
            .list_task_definitions()
            .family_prefix("kaapi-staging-task")
            .send()
            .await
            .unwrap()
            .task_definition_arns()
            .len()
    };
    let before = revisions().await;
    let output = reconcile(
        Some(&emulator),
        Some(&seed),
        &[
            "apply",
            "--env",
            "staging",
            "--yes",
            "--state",
            state.path().to_str().unwrap(),
        ],
    );
    assert_eq!(output.status.code(), Some(1), "{}", stdout(&output));
    assert!(
        stderr(&output).contains("containerDefinitions.backend.extraHosts"),
        "{}",
        stderr(&output)
    );
    assert_eq!(revisions().await, before);

    // The state lets it go: the next revision is registered without it.
    state.edit(
        "staging",
        "    containers:\n      backend:\n",
        "    drop_unmanaged: [containerDefinitions.backend.extraHosts]\n    containers:\n      backend:\n",
    );
    let desired = state.load("staging", &seed);
    let plan = plan_of(&aws, &desired).await;
    assert_eq!(changed_fields(&plan), ["containers.backend.aws.extraHosts"]);
    assert!(apply(&aws, &plan).await.succeeded());
    assert!(!plan_of(&aws, &desired).await.has_changes());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_live_service_the_state_does_not_declare_is_named_and_never_touched() {
    let (emulator, seed) = Emulator::seeded();
    let aws = Aws::from_config(&emulator.sdk_config());
    let desired = StateDir::examples().load("staging", &seed);
    assert!(plan_and_apply(&aws, &desired).await.succeeded());
    // Someone else's service in the same cluster, made with the console.
    aws.ecs
        .register_task_definition()
        .family("shop-task")
        .network_mode(aws_sdk_ecs::types::NetworkMode::Awsvpc)
        .requires_compatibilities(aws_sdk_ecs::types::Compatibility::Fargate)
        .cpu("256")
        .memory("512")
        .container_definitions(
            aws_sdk_ecs::types::ContainerDefinition::builder()
                .name("web")
                .image("public.ecr.aws/nginx/nginx:stable")
                .build(),
        )
        .send()
        .await
        .unwrap();
    aws.ecs
        .create_service()
        .cluster(CLUSTER)
        .service_name("shop-web")
        .task_definition("shop-task")
        .desired_count(1)
        .launch_type(aws_sdk_ecs::types::LaunchType::Fargate)
        .network_configuration(
            aws_sdk_ecs::types::NetworkConfiguration::builder()
                .awsvpc_configuration(
                    aws_sdk_ecs::types::AwsVpcConfiguration::builder()
                        .subnets(&seed.subnets[0])
                        .security_groups(&seed.security_group)
                        .build()
                        .unwrap(),
                )
                .build(),
        )
        .send()
        .await
        .unwrap();
    let plan = plan_of(&aws, &desired).await;
    assert!(!plan.has_changes(), "{}", reconcile::render::text(&plan));
    assert!(
        plan.warnings.contains(&format!(
            "service shop-web runs shop-task:1 in cluster {CLUSTER} and is not in the state: reconcile leaves it as it is"
        )),
        "{:?}",
        plan.warnings
    );
    aws.calls.reset();
    assert!(apply(&aws, &plan).await.succeeded());
    let writes: Vec<String> = aws
        .calls
        .operations()
        .into_iter()
        .filter(|op| !op.contains(".Describe") && !op.contains(".List") && !op.contains(".Get"))
        .collect();
    assert!(writes.is_empty(), "{writes:?}");
}

/// `reconcile validate` of the production file in `dir`, without AWS.
fn validate_production(dir: &std::path::Path) -> std::process::Output {
    reconcile(
        None,
        None,
        &[
            "validate",
            "--env",
            "production",
            "--state",
            dir.to_str().unwrap(),
        ],
    )
}

/// Runs `reconcile import` for production against the emulator, writing into `dir`.
fn import_production(emulator: &Emulator, seed: &Seed, dir: &std::path::Path) -> String {
    let output = reconcile(
        Some(emulator),
        Some(seed),
        &[
            "import",
            "--env",
            "production",
            "--prefix",
            "kaapi",
            "--region",
            "ap-south-1",
            "--state",
            dir.to_str().unwrap(),
        ],
    );
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    stdout(&output)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_deployment_built_by_hand_is_imported_and_adopted_without_changing_a_setting() {
    let (emulator, seed) = Emulator::seeded();
    emulator.brownfield(&seed, &[]);
    let aws = Aws::from_config(&emulator.sdk_config());
    let dir = tempfile::tempdir().unwrap();
    let said = import_production(&emulator, &seed, dir.path());
    assert!(said.starts_with("wrote "), "{said}");
    assert!(!said.contains("to do"), "{said}");
    let file = dir.path().join("production.yaml");
    let text = std::fs::read_to_string(&file).unwrap();
    // It never overwrites what it wrote.
    let again = reconcile(
        Some(&emulator),
        Some(&seed),
        &[
            "import",
            "--env",
            "production",
            "--prefix",
            "kaapi",
            "--region",
            "ap-south-1",
            "--state",
            dir.path().to_str().unwrap(),
        ],
    );
    assert_eq!(again.status.code(), Some(1));
    assert!(stderr(&again).contains("--force"), "{}", stderr(&again));
    assert_eq!(std::fs::read_to_string(&file).unwrap(), text);

    let validate = validate_production(dir.path());
    assert_eq!(
        validate.status.code(),
        Some(0),
        "{}\n{text}",
        stderr(&validate)
    );
    let desired = reconcile::state::load_file(&file, &|_| None).unwrap();
    let plan = plan_of(&aws, &desired).await;
    // Only reconcile's own tags and records: no task definition, service setting or data store.
    for change in plan
        .changes
        .iter()
        .filter(|c| c.action != reconcile::plan::Action::NoOp)
    {
        assert!(
            matches!(change.operation, Operation::TagResource { .. }),
            "{:?} {}: {:?}\n{}\n{text}",
            change.resource.kind,
            change.resource.name,
            change.operation,
            reconcile::render::text(&plan)
        );
    }
    for change in plan
        .changes
        .iter()
        .filter(|c| c.resource.kind == ResourceKind::TaskDefinition)
    {
        assert!(
            change.fields.is_empty(),
            "{}",
            reconcile::render::text(&plan)
        );
    }
    aws.calls.reset();
    let report = apply(&aws, &plan).await;
    assert!(report.succeeded(), "{report:?}");
    let forbidden = [
        "RegisterTaskDefinition",
        "CreateService",
        "UpdateService",
        "CreateDBInstance",
        "ModifyDBInstance",
        "DeleteDBInstance",
        "CreateReplicationGroup",
        "ModifyReplicationGroup",
        "DeleteReplicationGroup",
        "CreateBroker",
        "UpdateBroker",
        "DeleteBroker",
    ];
    let calls = aws.calls.operations();
    assert!(
        !calls
            .iter()
            .any(|op| forbidden.iter().any(|f| op.ends_with(&format!(".{f}")))),
        "{calls:?}"
    );
    assert!(!plan_of(&aws, &desired).await.has_changes());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_plain_password_is_never_written_a_latest_image_is_kept_and_the_file_says_what_to_do() {
    let (emulator, seed) = Emulator::seeded();
    emulator.brownfield(&seed, &["--plain-password", "--latest"]);
    let dir = tempfile::tempdir().unwrap();
    let said = import_production(&emulator, &seed, dir.path());
    let text = std::fs::read_to_string(dir.path().join("production.yaml")).unwrap();
    let value = "brownfield-plain-value-of-postgres-password";
    assert!(!text.contains(value) && !said.contains(value));
    // The services run the moving tag: the file names it as they run it (the plan says it moves).
    assert!(text.contains("  tag: latest # "), "{text}");
    assert!(!text.contains("  digest: sha256:"), "{text}");
    assert!(said.contains("secrets.POSTGRES_PASSWORD"), "{said}");
    assert!(
        said.contains("it fails until the items above are done"),
        "{said}"
    );
    let validate = validate_production(dir.path());
    assert_eq!(validate.status.code(), Some(1));
    let error = stderr(&validate);
    assert!(error.contains("secrets.POSTGRES_PASSWORD"), "{error}");
    assert!(!error.contains(value));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_log_group_deleted_under_running_tasks_is_created_again_before_the_next_deployment() {
    let (emulator, seed) = Emulator::seeded();
    let aws = Aws::from_config(&emulator.sdk_config());
    let state = StateDir::examples();
    let desired = state.load("staging", &seed);
    assert!(plan_and_apply(&aws, &desired).await.succeeded());
    // Deleted by a log-retention cleanup while the service's tasks keep "using" it.
    let group = format!("/ecs/{CLUSTER}/{SERVICE}");
    aws.logs
        .delete_log_group()
        .log_group_name(&group)
        .send()
        .await
        .unwrap();
    // The next release: the group comes first, then the revision whose tasks write to it.
    state.edit(
        "staging",
        "        port: 80\n",
        "        port: 80\n        env: { RELEASE: \"2\" }\n",
    );
    let desired = state.load("staging", &seed);
    let plan = plan_of(&aws, &desired).await;
    let order: Vec<(ResourceKind, &str)> = plan
        .changes
        .iter()
        .filter(|c| c.action != reconcile::plan::Action::NoOp)
        .map(|c| (c.resource.kind, c.resource.name.as_str()))
        .collect();
    assert_eq!(
        order.first(),
        Some(&(ResourceKind::LogGroup, group.as_str())),
        "{}",
        reconcile::render::text(&plan)
    );
    assert!(
        order.contains(&(ResourceKind::TaskDefinition, "kaapi-staging-task")),
        "{order:?}"
    );
    assert!(apply(&aws, &plan).await.succeeded());
    let found = aws
        .logs
        .describe_log_groups()
        .log_group_name_prefix(&group)
        .send()
        .await
        .unwrap();
    assert!(
        found
            .log_groups()
            .iter()
            .any(|g| g.log_group_name() == Some(group.as_str()))
    );
    assert!(!plan_of(&aws, &desired).await.has_changes());
}

/// Imports production from the emulator into `dir`, checks the file validates, plans it, and
/// applies the plan: only reconcile's own tags may change, and no revision is registered.
async fn adopt_without_a_change(
    emulator: &Emulator,
    seed: &Seed,
    aws: &Aws,
    dir: &std::path::Path,
) {
    import_production(emulator, seed, dir);
    let file = dir.join("production.yaml");
    let text = std::fs::read_to_string(&file).unwrap();
    let validate = validate_production(dir);
    assert_eq!(
        validate.status.code(),
        Some(0),
        "{}\n{text}",
        stderr(&validate)
    );
    let desired = reconcile::state::load_file(&file, &|_| None).unwrap();
    let plan = plan_of(aws, &desired).await;
    for change in plan
        .changes
        .iter()
        .filter(|c| c.action != reconcile::plan::Action::NoOp)
    {
        assert!(
            matches!(change.operation, Operation::TagResource { .. }),
            "{:?} {}: {:?}\n{}\n{text}",
            change.resource.kind,
            change.resource.name,
            change.operation,
            reconcile::render::text(&plan)
        );
    }
    aws.calls.reset();
    assert!(apply(aws, &plan).await.succeeded());
    let calls = aws.calls.operations();
    assert!(
        !calls
            .iter()
            .any(|op| op.ends_with(".RegisterTaskDefinition")
                || op.ends_with(".CreateService")
                || op.ends_with(".UpdateService")),
        "{calls:?}"
    );
    assert!(!plan_of(aws, &desired).await.has_changes());
}

#[tokio::test(flavor = "multi_thread")]
async fn an_ec2_bridge_service_with_host_ports_is_adopted_as_it_runs() {
    let (emulator, seed) = Emulator::seeded();
    let arn = emulator.adopt(&seed, "ec2-bridge-host-ports", "kaapi-cluster", "shop-web");
    let aws = Aws::from_config(&emulator.sdk_config());
    let dir = tempfile::tempdir().unwrap();
    adopt_without_a_change(&emulator, &seed, &aws, dir.path()).await;
    let text = std::fs::read_to_string(dir.path().join("production.yaml")).unwrap();
    for expected in [
        "launch_type: EC2",
        "network_mode: bridge",
        "requires_compatibilities: []",
        "container_port: 8080, host_port: 80",
        "links:",
    ] {
        assert!(text.contains(expected), "{expected} in:\n{text}");
    }
    assert!(!text.contains("network:"), "{text}");
    // The service still runs the revision it ran.
    let service = aws
        .ecs
        .describe_services()
        .cluster("kaapi-cluster")
        .services("shop-web")
        .send()
        .await
        .unwrap();
    assert_eq!(service.services()[0].task_definition(), Some(arn.as_str()));
}

/// Import of a cluster another environment manages: refused, naming that environment; with
/// `--take-over`, the file says so and the plan relabels each resource, saying it does.
#[tokio::test(flavor = "multi_thread")]
async fn import_refuses_another_environments_cluster_and_take_over_relabels_it() {
    let (emulator, seed) = Emulator::seeded();
    let aws = Aws::from_config(&emulator.sdk_config());
    let state = StateDir::examples();
    let staging = state.load("staging", &seed);
    assert!(plan_and_apply(&aws, &staging).await.succeeded());
    let dir = tempfile::tempdir().unwrap();
    let import = |extra: &[&str]| {
        let mut args = vec![
            "import",
            "--env",
            "adopted",
            "--prefix",
            "kaapi",
            "--cluster",
            "kaapi-staging-cluster",
            "--region",
            "ap-south-1",
            "--state",
            dir.path().to_str().unwrap(),
        ];
        args.extend_from_slice(extra);
        reconcile(Some(&emulator), Some(&seed), &args)
    };
    let refused = import(&[]);
    assert_eq!(refused.status.code(), Some(1), "{}", stderr(&refused));
    let error = stderr(&refused);
    assert!(
        error.contains("cluster kaapi-staging-cluster is staging's")
            && error.contains("service kaapi-staging-service is staging's")
            && error.contains("--take-over"),
        "{error}"
    );
    assert!(!dir.path().join("adopted.yaml").exists());

    let taken = import(&["--take-over"]);
    assert_eq!(taken.status.code(), Some(0), "{}", stderr(&taken));
    let file = dir.path().join("adopted.yaml");
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(text.contains("take_over_from: staging # "), "{text}");
    let desired =
        reconcile::state::load_file(&file, &|_| None).unwrap_or_else(|e| panic!("{e}\n{text}"));
    let plan = plan_of(&aws, &desired).await;
    for what in [
        "cluster kaapi-staging-cluster",
        "service kaapi-staging-service",
    ] {
        assert!(
            plan.warnings
                .iter()
                .any(|w| w.starts_with(what)
                    && w.contains("is taken over from environment `staging`")),
            "{what}: {:?}",
            plan.warnings
        );
    }
    let relabel = plan
        .changes
        .iter()
        .find(|c| c.resource.kind == ResourceKind::Cluster)
        .unwrap();
    assert!(
        relabel
            .fields
            .iter()
            .any(|f| f.path == "tags.reconcile:environment"
                && f.before == Some(serde_json::json!("staging"))
                && f.after == Some(serde_json::json!("adopted"))),
        "{:?}",
        relabel.fields
    );

    // Without `take_over_from`, the same file is refused by plan, naming the owner.
    let without = text.replace("take_over_from: staging", "");
    std::fs::write(&file, &without).unwrap();
    let desired = reconcile::state::load_file(&file, &|_| None).unwrap();
    let error = reconcile::engine::plan_environment(&aws, &desired)
        .await
        .map(|_| ())
        .unwrap_err()
        .to_string();
    assert!(
        error.contains("cluster kaapi-staging-cluster is environment `staging`'s"),
        "{error}"
    );
}
