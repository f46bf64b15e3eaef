//! Planner tests of what a task needs to start: secrets (of containers and of backing services to create) and log groups.

use super::*;

#[test]
fn secrets_that_running_tasks_already_use_are_not_checked_again() {
    let state = desired();
    let live = live_matching(&state);
    assert!(secrets_to_check(&state, &live).is_empty());

    let mut fresh = live_matching(&state);
    fresh.services.clear();
    fresh.task_definitions.clear();
    let checked: Vec<String> = secrets_to_check(&state, &fresh)
        .iter()
        .map(ToString::to_string)
        .collect();
    // Thirteen variables, one JSON secret: one lookup.
    assert_eq!(checked, ["Secrets Manager secret kaapi/production"]);
}

/// No service runs yet (so every secret is new), and the lookup of kaapi/production found `status`.
fn new_environment_where_the_secret(
    state: &DesiredState,
    status: crate::model::SecretStatus,
) -> LiveEnvironment {
    let mut live = live_matching(state);
    live.services.clear();
    live.task_definitions.clear();
    live.secrets.insert(
        crate::model::SecretId::SecretsManager("kaapi/production".into()),
        status,
    );
    live
}

#[test]
fn a_new_reference_to_a_missing_secret_stops_the_plan() {
    let state = desired();
    let live = new_environment_where_the_secret(
        &state,
        crate::model::SecretStatus::Missing {
            reason: "not found".into(),
        },
    );
    let error = plan(&state, &live).unwrap_err().to_string();
    let lines: Vec<&str> = error.lines().collect();
    assert_eq!(
        lines[0],
        "secrets referenced by the state file do not exist (account 024209611402, region ap-south-1), so tasks could not start:"
    );
    assert!(
        lines.contains(
            &"  - SECRET_KEY in container backend of kaapi-task: Secrets Manager secret kaapi/production not found"
        ),
        "{error}"
    );
    assert!(
        lines.contains(
            &"  - SECRET_KEY in container celery-worker of kaapi-celery-task: Secrets Manager secret kaapi/production not found"
        ),
        "{error}"
    );
    assert_eq!(
        lines.last(),
        Some(&"create them before deploying, or fix the references under `secrets:`")
    );
}

#[test]
fn a_secret_that_could_not_be_checked_is_a_warning_not_an_error() {
    let state = desired();
    let live = new_environment_where_the_secret(
        &state,
        crate::model::SecretStatus::Unchecked {
            reason: "DescribeSecret: AccessDeniedException: not authorized".into(),
        },
    );
    let plan = plan(&state, &live).unwrap();
    assert_eq!(
        plan.warnings,
        [
            "could not check that Secrets Manager secret kaapi/production exists (DescribeSecret: AccessDeniedException: not authorized); tasks will not start if it does not"
        ]
    );
    let text = anstream::adapter::strip_str(&crate::render::text(&plan)).to_string();
    assert!(
        text.contains(
            "\nwarning: could not check that Secrets Manager secret kaapi/production exists"
        ),
        "{text}"
    );
}

#[test]
fn a_missing_log_group_is_created_even_while_running_tasks_write_to_it() {
    let state = desired();
    let mut live = live_matching(&state);
    assert_eq!(
        log_groups_to_check(&state).into_iter().collect::<Vec<_>>(),
        [
            "/ecs/kaapi-cluster/kaapi-celery-task",
            "/ecs/kaapi-cluster/kaapi-service"
        ],
        "every group a container writes to is looked up"
    );
    let unchanged = plan(&state, &live).unwrap();
    assert!(
        unchanged
            .changes
            .iter()
            .filter(|c| c.resource.kind == ResourceKind::LogGroup)
            .all(|c| c.action == Action::NoOp && c.reason == "exists")
    );
    // Deleted behind the running tasks' back: they keep running, the next ones could not start.
    live.log_groups
        .insert("/ecs/kaapi-cluster/kaapi-celery-task".into(), false);
    let plan = plan(&state, &live).unwrap();
    let creates: Vec<&Operation> = plan
        .changes
        .iter()
        .filter(|c| c.resource.kind == ResourceKind::LogGroup && c.action == Create)
        .map(|c| &c.operation)
        .collect();
    assert_eq!(
        creates,
        [&Operation::CreateLogGroup {
            name: "/ecs/kaapi-cluster/kaapi-celery-task".into(),
            tags: state.tags.clone(),
        }]
    );
    let order: Vec<ResourceKind> = plan
        .changes
        .iter()
        .filter(|c| c.action != Action::NoOp)
        .map(|c| c.resource.kind)
        .collect();
    assert_eq!(order.first(), Some(&ResourceKind::LogGroup), "{order:?}");
}

#[test]
fn a_backing_service_to_create_needs_its_secret_to_exist() {
    let state = desired();
    let mut live = new_environment_where_the_secret(
        &state,
        crate::model::SecretStatus::Missing {
            reason: "not found".into(),
        },
    );
    live.backing.clear();
    let error = plan(&state, &live).unwrap_err().to_string();
    for expected in [
        "  - auth_token of backing service redis: Secrets Manager secret kaapi/production not found",
        "  - admin_password of backing service rabbitmq: Secrets Manager secret kaapi/production not found",
    ] {
        assert!(
            error.lines().any(|l| l == expected),
            "{expected}\nin:\n{error}"
        );
    }
    // A reference that running tasks already use exists; nothing is looked up for it.
    let mut live = live_matching(&state);
    live.backing.clear();
    assert!(secrets_to_check(&state, &live).is_empty());
}
