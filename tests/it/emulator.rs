//! The library against the emulator through the real SDK clients: create, converge, image bumps,
//! reverts, and the API-call budget of a no-op plan.

use reconcile::aws::Aws;
use reconcile::engine::plan_environment;
use reconcile::plan::{Action, Operation, Plan, ResourceKind};
use reconcile::state::DesiredState;

use super::support::{Emulator, Seed, StateDir, apply, plan_and_apply, plan_of};

pub(super) struct Fixture {
    /// Kept so that the server lives as long as the fixture (it stops when dropped).
    pub(super) emulator: Emulator,
    pub(super) seed: Seed,
    pub(super) state: StateDir,
    pub(super) aws: Aws,
}

impl Fixture {
    /// An emulator with production's image tags pushed and production applied from the examples.
    pub(super) async fn production_applied() -> Fixture {
        let emulator = Emulator::start();
        let seed = emulator.seed(&["v1.8.0", "v1.9.0"], &["v1.8.0-main.3"]);
        let aws = Aws::from_config(&emulator.sdk_config());
        let fixture = Fixture {
            emulator,
            seed,
            state: StateDir::examples(),
            aws,
        };
        let report = fixture.apply().await;
        assert!(report.succeeded(), "{report:?}");
        fixture
    }

    pub(super) fn desired(&self) -> DesiredState {
        self.state.load("production", &self.seed)
    }

    pub(super) async fn plan(&self) -> Plan {
        plan_of(&self.aws, &self.desired()).await
    }

    pub(super) async fn apply(&self) -> reconcile::aws::apply::ApplyReport {
        plan_and_apply(&self.aws, &self.desired()).await
    }

    /// The write operations made since the call log was last reset, in order.
    pub(super) fn writes_in_order(&self) -> Vec<String> {
        self.aws
            .calls
            .operations()
            .into_iter()
            .filter(|op| {
                let name = op.split('.').nth(1).unwrap_or_default();
                !["Describe", "List", "Get"]
                    .iter()
                    .any(|read| name.starts_with(read))
            })
            .collect()
    }

    /// The write operations made since the call log was last reset, sorted.
    pub(super) fn writes(&self) -> Vec<String> {
        let mut writes = self.writes_in_order();
        writes.sort();
        writes
    }

    /// The revision each production service runs: `[kaapi-service, kaapi-celery-task]`.
    pub(super) async fn running(&self) -> [String; 2] {
        let output = self
            .aws
            .ecs
            .describe_services()
            .cluster("kaapi-cluster")
            .services("kaapi-service")
            .services("kaapi-celery-task")
            .send()
            .await
            .unwrap();
        let revision = |name: &str| {
            let service = output
                .services()
                .iter()
                .find(|s| s.service_name() == Some(name))
                .unwrap();
            reconcile::plan::short_revision(service.task_definition().unwrap())
        };
        [revision("kaapi-service"), revision("kaapi-celery-task")]
    }
}

pub(super) fn changed(plan: &Plan) -> Vec<(ResourceKind, String, Action)> {
    plan.changes
        .iter()
        .filter(|c| c.action != Action::NoOp)
        .map(|c| (c.resource.kind, c.resource.name.clone(), c.action))
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn apply_on_an_empty_account_creates_everything_and_converges() {
    let fixture = Fixture::production_applied().await;
    let plan = fixture.plan().await;
    assert_eq!(changed(&plan), vec![], "the plan after an apply is empty");
    assert_eq!(
        fixture.running().await,
        ["kaapi-task:1", "kaapi-celery-task:1"]
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn image_tag_bump_registers_one_revision_and_updates_each_service_once() {
    let fixture = Fixture::production_applied().await;
    fixture
        .state
        .edit("production", "tag: v1.8.0 ", "tag: v1.9.0 ");

    let plan = fixture.plan().await;
    assert_eq!(
        changed(&plan),
        vec![
            (
                ResourceKind::TaskDefinition,
                "kaapi-task".into(),
                Action::Create
            ),
            (
                ResourceKind::TaskDefinition,
                "kaapi-celery-task".into(),
                Action::Create
            ),
            (
                ResourceKind::Migration,
                "kaapi-task: uv run alembic upgrade head".into(),
                Action::Run
            ),
            (
                ResourceKind::Service,
                "kaapi-service".into(),
                Action::Update
            ),
            (
                ResourceKind::Service,
                "kaapi-celery-task".into(),
                Action::Update
            ),
        ]
    );
    let api_definition = plan
        .changes
        .iter()
        .find(|c| c.resource.name == "kaapi-task")
        .unwrap();
    let paths: Vec<&str> = api_definition
        .fields
        .iter()
        .map(|f| f.path.as_str())
        .collect();
    assert_eq!(
        paths,
        ["containers.backend.image", "containers.celery-worker.image"]
    );
    for service in plan
        .changes
        .iter()
        .filter(|c| c.resource.kind == ResourceKind::Service)
    {
        let paths: Vec<&str> = service.fields.iter().map(|f| f.path.as_str()).collect();
        assert_eq!(paths, ["task_definition"], "{}", service.resource.name);
    }

    fixture.aws.calls.reset();
    let report = apply(&fixture.aws, &plan).await;
    assert!(report.succeeded(), "{report:?}");
    // Sorted: the order is checked in release::an_image_bump_migrates_first_then_updates_...
    assert_eq!(
        fixture.writes(),
        [
            "ECS.RegisterTaskDefinition",
            "ECS.RegisterTaskDefinition",
            "ECS.RunTask",
            // The record of the content each service now runs.
            "ECS.TagResource",
            "ECS.TagResource",
            "ECS.UpdateService",
            "ECS.UpdateService"
        ]
    );
    assert_eq!(
        fixture.running().await,
        ["kaapi-task:2", "kaapi-celery-task:2"]
    );
    assert_eq!(changed(&fixture.plan().await), vec![]);
}

#[tokio::test(flavor = "multi_thread")]
async fn reverting_the_tag_reuses_the_earlier_revisions_and_registers_nothing() {
    let fixture = Fixture::production_applied().await;
    fixture
        .state
        .edit("production", "tag: v1.8.0 ", "tag: v1.9.0 ");
    assert!(fixture.apply().await.succeeded());
    fixture
        .state
        .edit("production", "tag: v1.9.0 ", "tag: v1.8.0 ");

    let plan = fixture.plan().await;
    assert_eq!(
        changed(&plan),
        vec![
            (
                ResourceKind::Service,
                "kaapi-service".into(),
                Action::Update
            ),
            (
                ResourceKind::Service,
                "kaapi-celery-task".into(),
                Action::Update
            ),
        ]
    );
    assert!(
        !plan
            .changes
            .iter()
            .any(|c| matches!(c.operation, Operation::RegisterTaskDefinition { .. })),
        "nothing is registered on a revert"
    );
    let reuse = plan
        .changes
        .iter()
        .find(|c| c.resource.name == "kaapi-task")
        .unwrap();
    assert_eq!(reuse.action, Action::NoOp);
    assert!(
        reuse.reason.contains("reuses kaapi-task:1"),
        "{}",
        reuse.reason
    );

    fixture.aws.calls.reset();
    let report = apply(&fixture.aws, &plan).await;
    assert!(report.succeeded(), "{report:?}");
    // Moving back, and recording the content each service now runs.
    assert_eq!(
        fixture.writes(),
        [
            "ECS.TagResource",
            "ECS.TagResource",
            "ECS.UpdateService",
            "ECS.UpdateService"
        ]
    );
    assert_eq!(
        fixture.running().await,
        ["kaapi-task:1", "kaapi-celery-task:1"]
    );
    assert_eq!(changed(&fixture.plan().await), vec![]);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_no_op_plan_of_production_makes_at_most_thirteen_calls() {
    // The budget: 8 for the application (STS, ECR, cluster, services, the cluster's service list
    // for undeclared ones, 2 running task definitions, one log-group lookup for the cluster's
    // groups) and 5 for the backing services (one list per API, the Redis primary member, the MQ
    // broker).
    let fixture = Fixture::production_applied().await;
    fixture.aws.calls.reset();
    let plan = fixture.plan().await;
    assert!(!plan.has_changes());
    let operations = fixture.aws.calls.operations();
    let backing = ["RDS.", "ElastiCache.", "mq."];
    let (data, app): (Vec<&String>, Vec<&String>) = operations
        .iter()
        .partition(|op| backing.iter().any(|prefix| op.starts_with(prefix)));
    assert!(app.len() <= 8, "{} ECS calls: {app:?}", app.len());
    assert!(data.len() <= 5, "{} backing calls: {data:?}", data.len());
    // That these reads run concurrently is shown without timing in
    // faults::a_no_op_plan_reads_in_two_concurrent_waves.
    assert!(fixture.writes().is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_missing_image_tag_stops_the_plan_naming_repository_and_tag() {
    let fixture = Fixture::production_applied().await;
    fixture
        .state
        .edit("production", "tag: v1.8.0 ", "tag: v2.0.0 ");
    fixture.aws.calls.reset();
    let error = plan_environment(&fixture.aws, &fixture.desired())
        .await
        .unwrap_err();
    assert_eq!(
        error.to_string(),
        format!(
            "image kaapi-repo:v2.0.0 not found in ECR (account {}, region ap-south-1): push it before deploying, or fix image.tag in the state file",
            fixture.seed.account
        )
    );
    assert!(fixture.writes().is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn the_account_guard_refuses_another_account() {
    let (emulator, seed) = Emulator::seeded();
    let aws = Aws::from_config(&emulator.sdk_config());
    let state = StateDir::examples();
    state.edit(
        "production",
        "account: \"${env:KAAPI_AWS_ACCOUNT_ID}\"",
        "account: \"999999999999\"",
    );
    let error = plan_environment(&aws, &state.load("production", &seed))
        .await
        .unwrap_err();
    assert_eq!(
        error.to_string(),
        format!(
            "the AWS credentials belong to account {}, but the state file is for account 999999999999: refusing to touch another account",
            seed.account
        )
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_new_secret_reference_is_checked_once_and_a_missing_one_stops_the_plan() {
    let fixture = Fixture::production_applied().await;
    let line = "SENTRY_DSN: secretsmanager:kaapi/production:SENTRY_DSN";

    // An existing SSM parameter: one metadata lookup, then an ordinary plan.
    fixture.state.edit(
        "production",
        line,
        "SENTRY_DSN: ssm:/kaapi/shared/SENTRY_DSN",
    );
    fixture.aws.calls.reset();
    let plan = fixture.plan().await;
    assert!(plan.has_changes() && plan.warnings.is_empty(), "{plan:?}");
    let lookups: Vec<String> = fixture
        .aws
        .calls
        .operations()
        .into_iter()
        .filter(|op| op.ends_with(".DescribeParameters") || op.ends_with(".DescribeSecret"))
        .collect();
    assert_eq!(lookups, ["SSM.DescribeParameters"]);

    // References to what does not exist: named, and nothing is written.
    fixture.state.edit(
        "production",
        "SENTRY_DSN: ssm:/kaapi/shared/SENTRY_DSN",
        "SENTRY_DSN: ssm:/kaapi/shared/SENTRY_DNS\n  SMTP_HOST_PASSWORD: secretsmanager:kaapi/prod:SMTP",
    );
    fixture.aws.calls.reset();
    let error = plan_environment(&fixture.aws, &fixture.desired())
        .await
        .unwrap_err()
        .to_string();
    for expected in [
        "  - SENTRY_DSN in container backend of kaapi-task: SSM parameter /kaapi/shared/SENTRY_DNS not found",
        "  - SENTRY_DSN in container celery-worker of kaapi-celery-task: SSM parameter /kaapi/shared/SENTRY_DNS not found",
        "  - SMTP_HOST_PASSWORD in container backend of kaapi-task: Secrets Manager secret kaapi/prod not found",
    ] {
        assert!(
            error.lines().any(|l| l == expected),
            "{expected}\nin:\n{error}"
        );
    }
    assert!(fixture.writes().is_empty());

    // Once running tasks use a reference, it is not looked up again.
    fixture.state.edit(
        "production",
        "SENTRY_DSN: ssm:/kaapi/shared/SENTRY_DNS\n  SMTP_HOST_PASSWORD: secretsmanager:kaapi/prod:SMTP",
        "SENTRY_DSN: ssm:/kaapi/shared/SENTRY_DSN",
    );
    assert!(fixture.apply().await.succeeded());
    fixture.aws.calls.reset();
    assert!(!fixture.plan().await.has_changes());
    assert!(
        fixture.aws.calls.count() <= 13,
        "{:?}",
        fixture.aws.calls.operations()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_first_plan_looks_up_each_secret_once_by_its_metadata() {
    let (emulator, seed) = Emulator::seeded();
    let aws = Aws::from_config(&emulator.sdk_config());
    let state = StateDir::examples();
    plan_of(&aws, &state.load("production", &seed)).await;
    let lookups: Vec<String> = aws
        .calls
        .operations()
        .into_iter()
        .filter(|op| op.contains("Secret") || op.contains("Parameter"))
        .collect();
    // Thirteen secret variables in one JSON secret: one DescribeSecret, never GetSecretValue.
    assert_eq!(lookups, ["Secrets Manager.DescribeSecret"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_declared_load_balancer_round_trips_and_a_grace_change_is_one_update() {
    let (emulator, seed) = Emulator::seeded();
    let aws = Aws::from_config(&emulator.sdk_config());
    let state = StateDir::examples();
    state.edit(
        "staging",
        "    memory: 1024\n",
        &format!(
            "    memory: 1024\n    load_balancers: [{{ target_group_arn: \"{}\" }}]\n    health_check_grace_period: 60\n",
            seed.target_group
        ),
    );
    let desired = state.load("staging", &seed);
    assert!(plan_and_apply(&aws, &desired).await.succeeded());
    let live = aws
        .ecs
        .describe_services()
        .cluster("kaapi-staging-cluster")
        .services("kaapi-staging-service")
        .send()
        .await
        .unwrap();
    let service = &live.services()[0];
    let balancer = &service.load_balancers()[0];
    assert_eq!(
        (
            balancer.target_group_arn(),
            balancer.container_name(),
            balancer.container_port()
        ),
        (Some(seed.target_group.as_str()), Some("backend"), Some(80))
    );
    assert_eq!(service.health_check_grace_period_seconds(), Some(60));
    let after = plan_of(&aws, &desired).await;
    assert!(!after.has_changes(), "{}", reconcile::render::text(&after));

    state.edit(
        "staging",
        "health_check_grace_period: 60",
        "health_check_grace_period: 90",
    );
    let desired = state.load("staging", &seed);
    let plan = plan_of(&aws, &desired).await;
    aws.calls.reset();
    assert!(apply(&aws, &plan).await.succeeded());
    // One UpdateService, and the record of the content applied.
    assert_eq!(
        aws.calls.operations(),
        ["ECS.UpdateService", "ECS.TagResource"]
    );
    assert!(!plan_of(&aws, &desired).await.has_changes());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_secret_scheduled_for_deletion_counts_as_missing() {
    let (emulator, seed) = Emulator::seeded();
    let aws = Aws::from_config(&emulator.sdk_config());
    // Someone deletes the secret in the console: Secrets Manager keeps it for the recovery window,
    // but ECS can no longer read it.
    aws.secretsmanager
        .delete_secret()
        .secret_id("kaapi/staging")
        .recovery_window_in_days(7)
        .send()
        .await
        .unwrap();
    aws.calls.reset();
    let error = plan_environment(&aws, &StateDir::examples().load("staging", &seed))
        .await
        .unwrap_err()
        .to_string();
    assert!(
        error.contains(
            "  - SECRET_KEY in container backend of kaapi-staging-task: Secrets Manager secret kaapi/staging is scheduled for deletion ("
        ),
        "{error}"
    );
    assert!(
        aws.calls
            .operations()
            .iter()
            .all(|op| op.contains(".Describe") || op.contains(".Get") || op.contains(".List")),
        "{:?}",
        aws.calls.operations()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn missing_log_groups_are_created_before_the_tasks_that_write_to_them() {
    let (emulator, seed) = Emulator::seeded();
    let aws = Aws::from_config(&emulator.sdk_config());
    // The API's group exists already (made by hand); the Celery service's does not.
    aws.logs
        .create_log_group()
        .log_group_name("/ecs/kaapi-cluster/kaapi-service")
        .send()
        .await
        .unwrap();
    let desired = StateDir::examples().load("production", &seed);
    let plan = plan_of(&aws, &desired).await;
    let groups: Vec<(&str, Action)> = plan
        .changes
        .iter()
        .filter(|c| c.resource.kind == ResourceKind::LogGroup)
        .map(|c| (c.resource.name.as_str(), c.action))
        .collect();
    assert_eq!(
        groups,
        [
            ("/ecs/kaapi-cluster/kaapi-service", Action::NoOp),
            ("/ecs/kaapi-cluster/kaapi-celery-task", Action::Create),
        ]
    );
    aws.calls.reset();
    assert!(apply(&aws, &plan).await.succeeded());
    let creates: Vec<String> = aws
        .calls
        .operations()
        .into_iter()
        .filter(|op| op.ends_with(".CreateLogGroup"))
        .collect();
    assert_eq!(creates, ["CloudWatch Logs.CreateLogGroup"]);
    let listed = aws
        .logs
        .describe_log_groups()
        .log_group_name_prefix("/ecs/kaapi-cluster/")
        .send()
        .await
        .unwrap();
    let mut names: Vec<&str> = listed
        .log_groups()
        .iter()
        .filter_map(|g| g.log_group_name())
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            "/ecs/kaapi-cluster/kaapi-celery-task",
            "/ecs/kaapi-cluster/kaapi-service"
        ]
    );
    assert!(!plan_of(&aws, &desired).await.has_changes());
}

#[tokio::test(flavor = "multi_thread")]
async fn ecs_exec_round_trips_and_a_console_switch_is_drift_undone_by_a_new_deployment() {
    let (emulator, seed) = Emulator::seeded();
    let aws = Aws::from_config(&emulator.sdk_config());
    let state = StateDir::examples();
    state.edit(
        "staging",
        "    memory: 1024\n",
        "    memory: 1024\n    enable_execute_command: true\n",
    );
    let desired = state.load("staging", &seed);
    assert!(plan_and_apply(&aws, &desired).await.succeeded());
    let described = |aws: Aws| async move {
        aws.ecs
            .describe_services()
            .cluster("kaapi-staging-cluster")
            .services("kaapi-staging-service")
            .send()
            .await
            .unwrap()
            .services()[0]
            .clone()
    };
    assert!(described(aws.clone()).await.enable_execute_command());
    let after = plan_of(&aws, &desired).await;
    assert!(!after.has_changes(), "{}", reconcile::render::text(&after));

    // Switched off in the console: drift, and one UpdateService that replaces the tasks.
    aws.ecs
        .update_service()
        .cluster("kaapi-staging-cluster")
        .service("kaapi-staging-service")
        .enable_execute_command(false)
        .send()
        .await
        .unwrap();
    let plan = plan_of(&aws, &desired).await;
    let report = reconcile::drift::classify(&plan);
    assert_eq!(
        report
            .differences
            .iter()
            .map(|d| (d.kind, d.resource.name.as_str(), d.fields.clone()))
            .collect::<Vec<_>>(),
        [(
            reconcile::drift::Kind::Drift,
            "kaapi-staging-service",
            vec!["enable_execute_command".to_string()]
        )]
    );
    aws.calls.reset();
    let report = apply(&aws, &plan).await;
    assert!(report.succeeded(), "{report:?}");
    assert_eq!(aws.calls.operations()[0], "ECS.UpdateService");
    // The forced deployment was followed to its end.
    assert!(
        report
            .steps
            .iter()
            .any(|s| s.resource.kind == ResourceKind::Rollout),
        "{report:?}"
    );
    assert!(described(aws.clone()).await.enable_execute_command());
    assert!(!plan_of(&aws, &desired).await.has_changes());
}

#[tokio::test(flavor = "multi_thread")]
async fn another_accounts_credentials_are_named_before_what_they_cannot_read() {
    // In the wrong account the repository is not there either: the account is the answer.
    let (emulator, seed) = Emulator::seeded();
    let aws = Aws::from_config(&emulator.sdk_config());
    let state = StateDir::examples();
    state.edit(
        "production",
        "account: \"${env:KAAPI_AWS_ACCOUNT_ID}\"",
        "account: \"999999999999\"",
    );
    state.edit(
        "production",
        "  tag: v1.8.0 ",
        "  repository: no-such-repository\n  tag: v1.8.0 ",
    );
    let error = plan_environment(&aws, &state.load("production", &seed))
        .await
        .unwrap_err();
    assert!(
        error.to_string().contains(
            "but the state file is for account 999999999999: refusing to touch another account"
        ),
        "{error}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_service_whose_revision_was_deregistered_moves_to_an_active_one() {
    let fixture = Fixture::production_applied().await;
    let running = |fixture: &Fixture| {
        let aws = fixture.aws.clone();
        async move {
            aws.ecs
                .describe_services()
                .cluster("kaapi-cluster")
                .services("kaapi-service")
                .send()
                .await
                .unwrap()
                .services()[0]
                .task_definition()
                .unwrap()
                .to_string()
        }
    };
    let before = running(&fixture).await;
    fixture
        .aws
        .ecs
        .deregister_task_definition()
        .task_definition(&before)
        .send()
        .await
        .unwrap();
    let plan = fixture.plan().await;
    let family = plan
        .changes
        .iter()
        .find(|c| c.resource.name == "kaapi-task")
        .unwrap();
    assert_eq!(
        family.action,
        Action::Create,
        "{}",
        reconcile::render::text(&plan)
    );
    assert!(
        family.reason.contains("is INACTIVE (deregistered)"),
        "{}",
        family.reason
    );
    let report = apply(&fixture.aws, &plan).await;
    assert!(report.succeeded(), "{report:?}");
    let after = running(&fixture).await;
    assert_ne!(after, before);
    let status = fixture
        .aws
        .ecs
        .describe_task_definition()
        .task_definition(&after)
        .send()
        .await
        .unwrap()
        .task_definition()
        .and_then(|d| d.status().cloned());
    assert_eq!(
        status,
        Some(aws_sdk_ecs::types::TaskDefinitionStatus::Active)
    );
    assert!(!fixture.plan().await.has_changes());
}
