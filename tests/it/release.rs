//! Releases against the emulator: the migration runs before any service is updated and stops the
//! apply when it fails or never starts; each deployment is followed until ECS completes it or the
//! circuit breaker rolls it back; a revert reuses the earlier revision and runs no migration, and
//! `plan --rev` shows that plan before the revert is committed.

use reconcile::aws::apply::StepStatus;
use reconcile::plan::{Action, ResourceKind};

use super::emulator::{Fixture, changed};
use super::support::{apply, plan_of, reconcile, stderr, stdout};

impl Fixture {
    fn run_in(&self, args: &[&str]) -> std::process::Output {
        let mut all: Vec<&str> = args.to_vec();
        all.extend([
            "--env",
            "production",
            "--state",
            self.state.path().to_str().unwrap(),
        ]);
        reconcile(Some(&self.emulator), Some(&self.seed), &all)
    }

    fn git(&self, args: &[&str]) -> String {
        super::support::git(self.state.path(), args)
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn an_image_bump_migrates_first_then_updates_and_follows_each_service() {
    let fixture = Fixture::production_applied().await;
    fixture
        .state
        .edit("production", "tag: v1.8.0 ", "tag: v1.9.0 ");
    let plan = fixture.plan().await;
    let order: Vec<(ResourceKind, Action)> = plan
        .changes
        .iter()
        .filter(|c| c.action != Action::NoOp)
        .map(|c| (c.resource.kind, c.action))
        .collect();
    assert_eq!(
        order,
        [
            (ResourceKind::TaskDefinition, Action::Create),
            (ResourceKind::TaskDefinition, Action::Create),
            (ResourceKind::Migration, Action::Run),
            (ResourceKind::Service, Action::Update),
            (ResourceKind::Service, Action::Update),
        ]
    );
    // What the services ran until now, by the tag ECR gives its digest: the headline's "from".
    assert_eq!(
        plan.running_images
            .iter()
            .map(|image| image.tags.clone())
            .collect::<Vec<_>>(),
        [vec!["v1.8.0".to_string()]],
        "{:?}",
        plan.running_images
    );
    assert!(
        reconcile::render::text(&plan).contains("Plan for production: v1.8.0 -> v1.9.0, "),
        "{}",
        reconcile::render::text(&plan)
    );
    let migration = plan
        .changes
        .iter()
        .find(|c| c.action == Action::Run)
        .unwrap();
    assert!(
        migration.reason.contains("the image changes from")
            && migration.reason.contains("kaapi-repo:v1.9.0 (sha256:"),
        "{}",
        migration.reason
    );

    fixture.aws.calls.reset();
    let report = apply(&fixture.aws, &plan).await;
    assert!(report.succeeded(), "{report:?}");
    assert_eq!(
        fixture.writes_in_order(),
        [
            "ECS.RegisterTaskDefinition",
            "ECS.RegisterTaskDefinition",
            "ECS.RunTask",
            "ECS.UpdateService",
            "ECS.TagResource",
            "ECS.UpdateService",
            "ECS.TagResource",
        ]
    );
    let steps: Vec<(ResourceKind, String)> = report
        .steps
        .iter()
        .map(|s| (s.resource.kind, s.resource.name.clone()))
        .collect();
    assert_eq!(
        steps[2..],
        [
            (
                ResourceKind::Migration,
                "kaapi-task: uv run alembic upgrade head".to_string()
            ),
            (ResourceKind::Service, "kaapi-service".to_string()),
            (ResourceKind::Service, "kaapi-celery-task".to_string()),
            (ResourceKind::Rollout, "kaapi-service".to_string()),
            (ResourceKind::Rollout, "kaapi-celery-task".to_string()),
        ]
    );
    let StepStatus::Done { detail } = &report.steps[5].status else {
        panic!("{report:?}")
    };
    assert_eq!(
        detail,
        "deployment completed: 2 of 2 tasks running kaapi-task:2"
    );
    assert_eq!(
        fixture.running().await,
        ["kaapi-task:2", "kaapi-celery-task:2"]
    );
    assert_eq!(changed(&fixture.plan().await), vec![]);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failing_migration_updates_no_service_and_shows_its_exit_code_and_log() {
    let fixture = Fixture::production_applied().await;
    fixture.state.edit(
        "production",
        "command: [uv, run, alembic, upgrade, head]",
        "command: [sh, -c, \"echo running upgrade 0041 -> 0042; echo relation users does not exist; exit 3\"]",
    );
    fixture
        .state
        .edit("production", "tag: v1.8.0 ", "tag: v1.9.0 ");
    let output = fixture.run_in(&["apply", "--yes"]);
    let out = stdout(&output);
    assert_eq!(output.status.code(), Some(1), "{out}");
    for expected in [
        "exited with code 3; last log lines (/ecs/kaapi-cluster/kaapi-service ecs/backend/",
        "      | running upgrade 0041 -> 0042\n      | relation users does not exist",
        "skipped  service kaapi-service: stopped after migration",
        "skipped  service kaapi-celery-task: stopped after migration",
        "Apply failed: 2 of 5 changes applied to production.",
    ] {
        assert!(out.contains(expected), "{expected:?} in\n{out}");
    }
    assert_eq!(
        fixture.running().await,
        ["kaapi-task:1", "kaapi-celery-task:1"]
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_migration_task_that_never_starts_stops_the_apply_with_its_reason() {
    let fixture = Fixture::production_applied().await;
    fixture
        .state
        .edit("production", "tag: v1.8.0 ", "tag: v1.9.0 ");
    let plan = fixture.plan().await;
    // Between plan and apply the image goes away (a lifecycle policy, a clean-up by hand).
    fixture
        .aws
        .ecr
        .batch_delete_image()
        .repository_name("kaapi-repo")
        .image_ids(
            aws_sdk_ecr::types::ImageIdentifier::builder()
                .image_tag("v1.9.0")
                .build(),
        )
        .send()
        .await
        .unwrap();
    let report = apply(&fixture.aws, &plan).await;
    let failed = report
        .steps
        .iter()
        .find(|s| matches!(s.status, StepStatus::Failed { .. }))
        .unwrap();
    assert_eq!(failed.resource.kind, ResourceKind::Migration);
    let StepStatus::Failed { error } = &failed.status else {
        unreachable!()
    };
    assert!(
        error.contains("never ran its command: CannotPullContainerError: pull image manifest has been retried 1 time(s): failed to resolve ref")
            && error.contains("(TaskFailedToStart)"),
        "{error}"
    );
    assert!(
        !fixture
            .aws
            .calls
            .operations()
            .contains(&"ECS.UpdateService".to_string()),
        "no service was updated"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_rollout_rolled_back_by_the_circuit_breaker_fails_and_the_next_plan_shows_it() {
    let fixture = Fixture::production_applied().await;
    // The new revision's containers exit at once (saying why in their log): ECS's circuit
    // breaker rolls the service back.
    fixture.state.edit(
        "production",
        "command: [uv, run, uvicorn, \"app.main:app\"",
        "command: [sh, -c, \"echo starting; echo settings error: DATABASE_URL is not set; exit 1\", uvicorn, \"app.main:app\"",
    );
    let output = fixture.run_in(&["apply", "--yes"]);
    let out = stdout(&output);
    assert_eq!(output.status.code(), Some(1), "{out}");
    for expected in [
        "done     service kaapi-service: updated service kaapi-service, now running kaapi-task:2",
        "FAILED   rollout kaapi-service: rollout kaapi-service: ECS deployment circuit breaker: tasks failed to start.; the service went back to kaapi-task:1 (circuit breaker rollback)",
        "      stopped task ",
        ": Essential container in task exited (backend exit 1)",
        // The failed container's last log lines, as a migration's.
        "; last log lines (/ecs/kaapi-cluster/kaapi-service ecs/backend/",
        "        | starting\n        | settings error: DATABASE_URL is not set",
        "      event: (service kaapi-service) (deployment ecs-svc/",
        "Apply failed: 2 changes applied to production, 0 of 1 deployments completed; ECS's reasons are above.",
    ] {
        assert!(out.contains(expected), "{expected:?} in\n{out}");
    }
    // Progress while waiting: plain timestamped lines when stderr is not a terminal.
    let err = super::support::stderr(&output);
    assert!(
        err.lines().any(|l| l.starts_with('[')
            && l.contains("s] rollout kaapi-service: ")
            && l.ends_with(" failed")),
        "{err}"
    );
    // What runs is the old revision: the next plan says so and would deploy the new one again.
    let plan = fixture.plan().await;
    let service = plan
        .changes
        .iter()
        .find(|c| c.resource.name == "kaapi-service")
        .unwrap();
    assert_eq!(service.action, Action::Update);
    assert_eq!(
        service.fields[0].before,
        Some(serde_json::json!("kaapi-task:1"))
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_revert_reuses_the_earlier_revision_runs_no_migration_and_plan_rev_showed_it() {
    let fixture = Fixture::production_applied().await;
    fixture.git(&["init", "-q"]);
    fixture.git(&["add", "."]);
    fixture.git(&["commit", "-qm", "v1.8.0"]);
    fixture
        .state
        .edit("production", "tag: v1.8.0 ", "tag: v1.9.0 ");
    fixture.git(&["commit", "-qam", "v1.9.0"]);
    assert!(fixture.apply().await.succeeded());
    assert_eq!(
        fixture.running().await,
        ["kaapi-task:2", "kaapi-celery-task:2"]
    );

    // Before reverting: what would the plan of the previous commit do?
    let preview = fixture.run_in(&["plan", "--rev", "HEAD~1"]);
    assert_eq!(preview.status.code(), Some(2), "{}", stdout(&preview));
    fixture.git(&["revert", "--no-edit", "HEAD"]);
    let after = fixture.run_in(&["plan"]);
    assert_eq!(after.status.code(), Some(2));
    // The same plan, but for the line that says which state file it is of.
    let without_source = |output: &std::process::Output| {
        stdout(output)
            .lines()
            .enumerate()
            .filter(|(number, _)| *number != 1)
            .map(|(_, line)| line)
            .collect::<Vec<_>>()
            .join("\n")
    };
    assert_eq!(without_source(&preview), without_source(&after));
    assert!(
        stdout(&preview)
            .lines()
            .nth(1)
            .unwrap()
            .ends_with("production.yaml@HEAD~1"),
        "{}",
        stdout(&preview)
    );
    assert!(
        stdout(&after).contains("reuses kaapi-task:1"),
        "{}",
        stdout(&after)
    );
    assert!(
        stdout(&after)
            .contains("does not run: the service goes back to kaapi-task:1, an earlier revision"),
        "{}",
        stdout(&after)
    );

    fixture.aws.calls.reset();
    let plan = plan_of(&fixture.aws, &fixture.desired()).await;
    assert!(apply(&fixture.aws, &plan).await.succeeded());
    let operations = fixture.aws.calls.operations();
    assert!(
        !operations
            .iter()
            .any(|op| op == "ECS.RegisterTaskDefinition" || op == "ECS.RunTask"),
        "{operations:?}"
    );
    assert_eq!(
        fixture.running().await,
        ["kaapi-task:1", "kaapi-celery-task:1"]
    );
}

/// `history` after three deploys and a revert: four entries per service, newest first, each with
/// its revision, image tags and digest, the commit it was registered from and how it ended.
#[tokio::test(flavor = "multi_thread")]
async fn history_lists_three_deploys_and_a_revert_with_tags_digests_commits_and_outcomes() {
    let emulator = super::support::Emulator::start();
    let seed = emulator.seed(
        &["v1.8.0"],
        &["v1.8.0-main.3", "v1.9.0-main.1", "v1.10.0-main.2"],
    );
    let state = super::support::StateDir::examples();
    std::fs::remove_file(state.file("production")).unwrap();
    let dir = state.path();
    let git = |args: &[&str]| super::support::git(dir, args);
    let cli = |args: &[&str]| {
        let mut all = args.to_vec();
        all.extend(["--env", "staging", "--state", dir.to_str().unwrap()]);
        reconcile(Some(&emulator), Some(&seed), &all)
    };
    let deploy = |message: &str| {
        git(&["commit", "-qam", message]);
        let applied = cli(&["apply", "--yes"]);
        assert_eq!(applied.status.code(), Some(0), "{}", stderr(&applied));
        // Reconcile records the commit in its short form (12 digits).
        git(&["rev-parse", "--short=12", "HEAD"])
    };
    git(&["init", "-q"]);
    git(&["add", "."]);
    let first = deploy("staging");
    state.edit("staging", "tag: v1.8.0-main.3", "tag: v1.9.0-main.1");
    let second = deploy("v1.9.0-main.1");
    state.edit("staging", "tag: v1.9.0-main.1", "tag: v1.10.0-main.2");
    let third = deploy("v1.10.0-main.2");
    git(&["revert", "--no-edit", "HEAD"]);
    let applied = cli(&["apply", "--yes"]);
    assert_eq!(applied.status.code(), Some(0), "{}", stderr(&applied));

    let aws = reconcile::aws::Aws::from_config(&emulator.sdk_config());
    let digest = |tag: &'static str| super::support::digest_of(&aws, "kaapi-staging-repo", tag);
    let history = cli(&["history", "--service", "api", "--output", "json"]);
    assert_eq!(history.status.code(), Some(0), "{}", stderr(&history));
    let entries: serde_json::Value = serde_json::from_str(&stdout(&history)).unwrap();
    let rows: Vec<(String, String, String, String, String)> = entries
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["revision"].as_str().unwrap().to_string(),
                e["tags"][0].as_str().unwrap_or_default().to_string(),
                e["digest"].as_str().unwrap_or_default().to_string(),
                e["commit"].as_str().unwrap_or_default().to_string(),
                e["status"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let row = |revision: &str, tag: &str, digest: String, commit: &str| {
        (
            revision.to_string(),
            tag.to_string(),
            digest,
            commit.to_string(),
            "SUCCESSFUL".to_string(),
        )
    };
    assert_eq!(
        rows,
        [
            // The revert reuses revision 2, registered from the second commit.
            row(
                "kaapi-staging-task:2",
                "v1.9.0-main.1",
                digest("v1.9.0-main.1").await,
                &second
            ),
            row(
                "kaapi-staging-task:3",
                "v1.10.0-main.2",
                digest("v1.10.0-main.2").await,
                &third
            ),
            row(
                "kaapi-staging-task:2",
                "v1.9.0-main.1",
                digest("v1.9.0-main.1").await,
                &second
            ),
            row(
                "kaapi-staging-task:1",
                "v1.8.0-main.3",
                digest("v1.8.0-main.3").await,
                &first
            ),
        ]
    );
    // The text a person reads: one line per deployment, the outcome last.
    let text = cli(&["history"]);
    assert_eq!(text.status.code(), Some(0), "{}", stderr(&text));
    let text = stdout(&text);
    assert!(text.starts_with("kaapi-staging-service\n"), "{text}");
    let third_digest = digest("v1.10.0-main.2").await;
    assert!(
        text.contains(&format!(
            "  kaapi-staging-task:3  v1.10.0-main.2  {}  commit {}  completed in ",
            &third_digest[.."sha256:".len() + 12],
            third
        )),
        "{text}"
    );
    assert_eq!(
        text.lines().count(),
        5,
        "one service, four deployments: {text}"
    );
    // An unknown service is refused by name.
    let unknown = cli(&["history", "--service", "web"]);
    assert_eq!(unknown.status.code(), Some(1));
    assert!(
        stderr(&unknown).contains("has no service web"),
        "{}",
        stderr(&unknown)
    );
}
