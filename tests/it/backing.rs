//! Backing services against the emulator through the real SDK clients and the binary: created
//! before the app that refers to them, changes classified and deferred as AWS defers them,
//! refusals before any write, replacement only when named, and no secret value in any output.

use reconcile::plan::{Action, ChangeClass, ResourceKind};

use super::emulator::{Fixture, changed};
use super::support::{reconcile, reconcile_with, stderr, stdout};

const ENV: &[&str] = &["--env", "production"];

impl Fixture {
    /// Runs the binary on this fixture's emulator and state.
    fn run(&self, args: &[&str]) -> std::process::Output {
        let mut all: Vec<&str> = args.to_vec();
        all.extend(ENV);
        all.extend(["--state", self.state.path().to_str().unwrap()]);
        reconcile(Some(&self.emulator), Some(&self.seed), &all)
    }

    async fn postgres(&self) -> aws_sdk_rds::types::DbInstance {
        self.aws
            .rds
            .describe_db_instances()
            .db_instance_identifier("kaapi-postgres")
            .send()
            .await
            .unwrap()
            .db_instances()[0]
            .clone()
    }
}

/// Field changes of the named resource as (field, class).
fn classes(plan: &reconcile::plan::Plan, name: &str) -> Vec<(String, ChangeClass)> {
    plan.changes
        .iter()
        .filter(|c| c.resource.name == name)
        .flat_map(|c| &c.fields)
        .map(|f| (f.path.clone(), f.class.unwrap()))
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_app_runs_with_the_endpoints_of_the_backing_services_created_before_it() {
    let fixture = Fixture::production_applied().await;
    let operations = fixture.aws.calls.operations();
    let first = |name: &str| operations.iter().position(|op| op == name).unwrap();
    for create in [
        "RDS.CreateDBInstance",
        "ElastiCache.CreateReplicationGroup",
        "mq.CreateBroker",
    ] {
        assert!(
            first(create) < first("ECS.RegisterTaskDefinition"),
            "{operations:?}"
        );
    }

    let db = fixture.postgres().await;
    let group = fixture
        .aws
        .elasticache
        .describe_replication_groups()
        .replication_group_id("kaapi-redis")
        .send()
        .await
        .unwrap()
        .replication_groups()[0]
        .clone();
    let redis = group.node_groups()[0].primary_endpoint().unwrap();
    let definition = fixture
        .aws
        .ecs
        .describe_task_definition()
        .task_definition("kaapi-task:1")
        .send()
        .await
        .unwrap()
        .task_definition()
        .unwrap()
        .clone();
    let backend = &definition.container_definitions()[0];
    let env = |name: &str| {
        backend
            .environment()
            .iter()
            .find(|pair| pair.name() == Some(name))
            .and_then(|pair| pair.value())
            .unwrap_or_default()
            .to_string()
    };
    let endpoint = db.endpoint().unwrap();
    assert_eq!(env("POSTGRES_SERVER"), endpoint.address().unwrap());
    assert_eq!(env("POSTGRES_PORT"), endpoint.port().unwrap().to_string());
    assert_eq!(env("REDIS_HOST"), redis.address().unwrap());
    assert_eq!(env("REDIS_PORT"), redis.port().unwrap().to_string());
    // moto's brokers all answer amqps://mockmq:5671.
    assert_eq!(env("RABBITMQ_HOST"), "mockmq");
    assert_eq!(env("RABBITMQ_PORT"), "5671");
    let password = backend
        .secrets()
        .iter()
        .find(|secret| secret.name() == "POSTGRES_PASSWORD")
        .unwrap();
    assert_eq!(
        password.value_from(),
        format!(
            "{}:password::",
            db.master_user_secret().unwrap().secret_arn().unwrap()
        )
    );
    assert!(
        db.deletion_protection().unwrap(),
        "deletion protection on by default"
    );
    assert_eq!(changed(&fixture.plan().await), vec![]);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_instance_class_change_waits_for_the_window_and_is_then_pending_not_repeated() {
    let fixture = Fixture::production_applied().await;
    fixture.state.edit(
        "production",
        "instance_class: db.t4g.medium",
        "instance_class: db.t4g.large",
    );
    let plan = fixture.plan().await;
    assert_eq!(
        changed(&plan),
        vec![(
            ResourceKind::RdsInstance,
            "kaapi-postgres".into(),
            Action::Update
        )]
    );
    assert_eq!(
        classes(&plan, "kaapi-postgres"),
        [("instance_class".to_string(), ChangeClass::Deferred)]
    );
    let out = stdout(&fixture.run(&["plan"]));
    assert!(
        out.contains("~ instance_class: \"db.t4g.medium\" -> \"db.t4g.large\"  (deferred to the maintenance window)"),
        "{out}"
    );

    fixture.aws.calls.reset();
    assert!(fixture.apply().await.succeeded());
    // The modification, and the record of the settings now applied.
    assert_eq!(
        fixture.writes(),
        ["RDS.AddTagsToResource", "RDS.ModifyDBInstance"]
    );
    let db = fixture.postgres().await;
    assert_eq!(
        db.db_instance_class(),
        Some("db.t4g.medium"),
        "not applied yet"
    );
    assert_eq!(
        db.pending_modified_values().unwrap().db_instance_class(),
        Some("db.t4g.large")
    );

    // Pending is the live value: nothing to do, shown as pending, and apply writes nothing.
    let plan = fixture.plan().await;
    assert!(!plan.has_changes());
    assert_eq!(
        classes(&plan, "kaapi-postgres"),
        [("instance_class".to_string(), ChangeClass::Pending)]
    );
    fixture.aws.calls.reset();
    assert!(fixture.apply().await.succeeded());
    assert_eq!(fixture.writes(), Vec::<String>::new());
    let (code, out) = {
        let output = fixture.run(&["plan"]);
        (output.status.code(), stdout(&output))
    };
    assert_eq!(code, Some(0), "{out}");
    assert!(
        out.contains("(pending: accepted by AWS, not yet applied)"),
        "{out}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn apply_immediately_changes_the_instance_class_now() {
    let fixture = Fixture::production_applied().await;
    fixture.state.edit(
        "production",
        "instance_class: db.t4g.medium",
        "instance_class: db.t4g.large\n    apply_immediately: true",
    );
    let plan = fixture.plan().await;
    assert_eq!(
        classes(&plan, "kaapi-postgres"),
        [("instance_class".to_string(), ChangeClass::InPlaceReboot)]
    );
    assert!(fixture.apply().await.succeeded());
    assert_eq!(
        fixture.postgres().await.db_instance_class(),
        Some("db.t4g.large")
    );
    assert_eq!(changed(&fixture.plan().await), vec![]);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_storage_shrink_or_a_downgrade_is_refused_before_any_write() {
    let fixture = Fixture::production_applied().await;
    fixture.state.edit(
        "production",
        "storage_gb: 50\n    max_storage_gb: 200",
        "storage_gb: 30",
    );
    fixture
        .state
        .edit("production", "version: \"16\"", "version: \"15\"");
    fixture.aws.calls.reset();
    for command in [&["plan"][..], &["apply", "--yes"][..]] {
        let output = fixture.run(command);
        assert_eq!(output.status.code(), Some(1), "{}", stdout(&output));
        let err = stderr(&output);
        for expected in [
            "the state asks for changes AWS cannot make:",
            "  - RDS instance kaapi-postgres: version: \"16\" cannot be downgraded to \"15\": AWS upgrades engines only (restore a snapshot into a new resource instead)",
            "  - RDS instance kaapi-postgres: storage_gb: storage cannot shrink from 50 to 30 GiB: RDS only grows storage (set storage_gb to 50 or more)",
            "nothing was changed; fix the state file",
        ] {
            assert!(
                err.lines()
                    .any(|line| line.ends_with(expected) || line == expected),
                "{expected:?} in\n{err}"
            );
        }
    }
    let db = fixture.postgres().await;
    assert_eq!(db.allocated_storage(), Some(50));
    assert_eq!(db.engine_version(), Some("16"));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_replacement_is_shown_and_refused_unless_the_resource_is_named() {
    let fixture = Fixture::production_applied().await;
    fixture.state.edit(
        "production",
        "master_username: kaapi",
        "master_username: kaapi_admin",
    );
    let plan = fixture.plan().await;
    assert_eq!(
        changed(&plan)[0],
        (
            ResourceKind::RdsInstance,
            "kaapi-postgres".into(),
            Action::Replace
        )
    );
    assert_eq!(
        classes(&plan, "kaapi-postgres"),
        [(
            "master_username".to_string(),
            ChangeClass::ForcesReplacement
        )]
    );
    let out = stdout(&fixture.run(&["plan"]));
    assert!(out.contains("-/+ RDS instance kaapi-postgres"), "{out}");
    assert!(out.contains("(forces replacement)"), "{out}");

    let refused = fixture.run(&["apply", "--yes"]);
    assert_eq!(refused.status.code(), Some(1));
    assert!(
        stderr(&refused).contains("refusing to apply: the plan replaces postgres (deleting the data it holds); nothing was changed. Run apply with `--allow-replace postgres` if that is intended"),
        "{}",
        stderr(&refused)
    );
    assert_eq!(fixture.postgres().await.master_username(), Some("kaapi"));

    let allowed = fixture.run(&["apply", "--yes", "--allow-replace", "postgres"]);
    assert_eq!(
        allowed.status.code(),
        Some(0),
        "{}{}",
        stdout(&allowed),
        stderr(&allowed)
    );
    assert!(
        stdout(&allowed)
            .contains("replaced RDS instance kaapi-postgres (final snapshot kaapi-postgres-final-")
    );
    assert_eq!(
        fixture.postgres().await.master_username(),
        Some("kaapi_admin")
    );
    let snapshots = fixture
        .aws
        .rds
        .describe_db_snapshots()
        .db_instance_identifier("kaapi-postgres")
        .send()
        .await
        .unwrap();
    assert!(
        snapshots.db_snapshots().iter().any(|s| s
            .db_snapshot_identifier()
            .unwrap_or_default()
            .starts_with("kaapi-postgres-final-")),
        "a final snapshot was taken before the delete"
    );
    assert_eq!(changed(&fixture.plan().await), vec![]);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_entry_removed_from_the_state_is_reported_and_left_alone() {
    let fixture = Fixture::production_applied().await;
    fixture.state.edit(
        "production",
        "REDIS_HOST: ${redis.address}",
        "REDIS_HOST: cache.internal",
    );
    fixture.state.edit(
        "production",
        "REDIS_PORT: ${redis.port}",
        "REDIS_PORT: 6379",
    );
    let entry = "  redis:                          # ElastiCache replication group kaapi-redis";
    let text = std::fs::read_to_string(fixture.state.file("production")).unwrap();
    let start = text.find(entry).unwrap();
    let end = start + text[start..].find("  rabbitmq:").unwrap();
    fixture.state.edit("production", &text[start..end], "");
    let plan = fixture.plan().await;
    assert!(
        plan.warnings.iter().any(|w| w.starts_with(
            "ElastiCache replication group kaapi-redis is tagged as this environment's but no entry under `backing:` names it"
        )),
        "{:?}",
        plan.warnings
    );
    fixture.aws.calls.reset();
    assert!(fixture.apply().await.succeeded());
    assert!(
        !fixture
            .writes()
            .iter()
            .any(|w| w.starts_with("ElastiCache.")),
        "{:?}",
        fixture.writes()
    );
}

#[test]
fn no_secret_value_reaches_plan_text_json_or_logs() {
    // The seeded secrets hold `seeded-secret-value-*`; apply reads the Redis AUTH token and the
    // RabbitMQ password to create them. Nothing of it may be printed, even at trace level.
    let (emulator, seed) = super::support::Emulator::seeded();
    let state = super::support::StateDir::examples();
    let path = state.path().to_str().unwrap().to_string();
    let mut seen = String::new();
    for args in [
        &["plan", "--env", "staging", "--state", &path][..],
        &[
            "plan", "--env", "staging", "--output", "json", "--state", &path,
        ][..],
        &["apply", "--env", "staging", "--yes", "--state", &path][..],
        &[
            "apply", "--env", "staging", "--yes", "--output", "json", "--state", &path,
        ][..],
    ] {
        let output = reconcile_with(
            Some(&emulator.endpoint()),
            Some(&seed),
            args,
            &[("RUST_LOG", "trace")],
        );
        seen.push_str(&stdout(&output));
        seen.push_str(&stderr(&output));
    }
    assert!(
        seen.contains("GetSecretValue"),
        "the trace shows the secrets were read"
    );
    assert!(
        !seen.contains("seeded-secret-value"),
        "a secret value was printed"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_pinned_version_aws_upgraded_is_reported_and_blocks_nothing() {
    let fixture = Fixture::production_applied().await;
    // AWS's automatic minor upgrade, as it happens behind everyone's back.
    fixture
        .aws
        .rds
        .modify_db_instance()
        .db_instance_identifier("kaapi-postgres")
        .engine_version("16.4")
        .apply_immediately(true)
        .send()
        .await
        .unwrap();
    assert_eq!(fixture.postgres().await.engine_version(), Some("16.4"));
    fixture
        .state
        .edit("production", "version: \"16\"", "version: \"16.3\"");
    let plan = fixture.plan().await;
    let postgres = plan
        .changes
        .iter()
        .find(|c| c.resource.name == "kaapi-postgres")
        .unwrap();
    assert!(postgres.fields.is_empty(), "{postgres:?}");
    assert!(
        !matches!(
            postgres.operation,
            reconcile::plan::Operation::ModifyBacking(_)
                | reconcile::plan::Operation::ReplaceBacking { .. }
        ),
        "nothing is modified: {:?}",
        postgres.operation
    );
    assert!(
        plan.warnings.iter().any(|w| w.starts_with(
            "RDS instance kaapi-postgres: version: AWS upgraded it to \"16.4\" past the pinned \"16.3\"; nothing is changed"
        )),
        "{:?}",
        plan.warnings
    );
}
