//! The built binary against the emulator: the quickstart flow, exit codes, confirmation,
//! out-of-band changes, and that bad input never reaches AWS.

use std::net::TcpListener;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use super::support::{Emulator, Seed, StateDir, reconcile, stderr, stdout};

fn state_args<'a>(state: &'a StateDir, args: &[&'a str]) -> Vec<&'a str> {
    let mut all = args.to_vec();
    all.extend(["--state", state.path().to_str().unwrap()]);
    all
}

fn run(emulator: &Emulator, seed: &Seed, state: &StateDir, args: &[&str]) -> (i32, String, String) {
    let output = reconcile(Some(emulator), Some(seed), &state_args(state, args));
    (
        output.status.code().unwrap_or(-1),
        stdout(&output),
        stderr(&output),
    )
}

#[test]
fn quickstart_flow_plans_applies_and_then_has_nothing_to_do() {
    let (emulator, seed) = Emulator::seeded();
    let state = StateDir::examples();

    let (code, out, err) = run(&emulator, &seed, &state, &["validate"]);
    assert_eq!(code, 0, "{out}{err}");
    for environment in ["staging", "production"] {
        let (code, out, err) = run(&emulator, &seed, &state, &["plan", "--env", environment]);
        assert_eq!(code, 2, "plan of a new environment has changes: {out}{err}");
        assert!(out.contains("+ cluster"), "{out}");
        let (code, out, err) = run(
            &emulator,
            &seed,
            &state,
            &["apply", "--env", environment, "--yes"],
        );
        assert_eq!(code, 0, "{out}{err}");
        assert!(out.contains("Apply complete"), "{out}");
        let (code, out, err) = run(&emulator, &seed, &state, &["plan", "--env", environment]);
        assert_eq!(code, 0, "{out}{err}");
        assert!(out.contains("No changes."), "{out}");
    }
    let (code, out, _) = run(
        &emulator,
        &seed,
        &state,
        &["plan", "--env", "staging", "--output", "json"],
    );
    assert_eq!(code, 0);
    let plan: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(plan["format_version"], 2);
    assert_eq!(plan["environment"], "staging");
    let names: Vec<&str> = plan["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["resource"]["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "kaapi-staging-repo:v1.8.0-main.3",
            "kaapi-staging-cluster",
            "kaapi-staging-postgres",
            "kaapi-staging-redis",
            "kaapi-staging-rabbitmq",
            "/ecs/kaapi-staging-cluster/kaapi-staging-service",
            "kaapi-staging-task",
            "kaapi-staging-task: uv run alembic upgrade head",
            "kaapi-staging-service"
        ]
    );

    // Every environment at once: both converged.
    let (code, out, _) = run(&emulator, &seed, &state, &["plan", "--all"]);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("No changes. production matches its state file"),
        "{out}"
    );
    assert!(
        out.contains("No changes. staging matches its state file"),
        "{out}"
    );
    // A change as a pull-request comment: a summary line and a collapsible section per resource.
    state.edit("staging", "desired_count: 1", "desired_count: 2");
    let (code, out, _) = run(
        &emulator,
        &seed,
        &state,
        &["plan", "--all", "--output", "markdown"],
    );
    assert_eq!(code, 2, "{out}");
    assert!(out.contains("### reconcile plan: `staging` (ap-south-1, account 123456789012)\n\n**v1.8.0-main.3: 0 to create, 1 to update, 8 unchanged.**"), "{out}");
    assert!(
        !out.contains("<details>\n\n</details>") && !out.contains("</summary>\n\n</details>"),
        "no empty section: {out}"
    );
    assert!(out.contains("<details><summary><b>update</b> service <code>kaapi-staging-service</code>: update in place: desired_count</summary>"), "{out}");
    assert!(
        out.contains("**No changes.** `production` matches its state file (image `v1.8.0`)."),
        "{out}"
    );
    // As JSON: one document a parser reads whole, each plan with its summary.
    let (code, out, _) = run(
        &emulator,
        &seed,
        &state,
        &["plan", "--all", "--output", "json"],
    );
    assert_eq!(code, 2, "{out}");
    let plans: serde_json::Value = serde_json::from_str(&out).expect("one JSON document");
    let summaries: Vec<(&str, &serde_json::Value)> = plans
        .as_array()
        .unwrap()
        .iter()
        .map(|plan| (plan["environment"].as_str().unwrap(), &plan["summary"]))
        .collect();
    assert_eq!(summaries.len(), 2, "{out}");
    for (environment, summary) in summaries {
        let changes = environment == "staging";
        assert_eq!(summary["has_changes"], changes, "{environment}: {summary}");
        assert_eq!(
            summary["update"],
            u64::from(changes),
            "{environment}: {summary}"
        );
        assert_eq!(summary["create"], 0, "{environment}: {summary}");
    }
}

#[test]
fn apply_without_a_terminal_needs_yes_and_changes_nothing() {
    let (emulator, seed) = Emulator::seeded();
    let state = StateDir::examples();
    let (code, _, err) = run(&emulator, &seed, &state, &["apply", "--env", "staging"]);
    assert_eq!(code, 1);
    assert!(
        err.contains("refusing to apply without confirmation: stdin is not a terminal; pass --yes"),
        "{err}"
    );
    let (code, out, _) = run(&emulator, &seed, &state, &["plan", "--env", "staging"]);
    assert_eq!(code, 2, "still nothing created: {out}");
    assert!(out.contains("+ cluster kaapi-staging-cluster"), "{out}");
}

#[test]
fn out_of_band_changes_are_planned_naming_the_resource_and_field() {
    let (emulator, seed) = Emulator::seeded();
    let state = StateDir::examples();
    let (code, out, err) = run(
        &emulator,
        &seed,
        &state,
        &["apply", "--env", "production", "--yes"],
    );
    assert_eq!(code, 0, "{out}{err}");

    let other_secret = format!(
        "arn:aws:secretsmanager:ap-south-1:{}:secret:someone-else:SECRET_KEY::",
        seed.account
    );
    let other_image = format!(
        "{}.dkr.ecr.ap-south-1.amazonaws.com/kaapi-repo:hotfix",
        seed.account
    );
    let cases: Vec<(&str, Vec<&str>, Vec<&str>)> = vec![
        (
            "kaapi-service",
            vec!["env", "PROJECT_NAME", "Kaapi (edited)"],
            vec![
                "= task definition kaapi-task",
                "reuses kaapi-task:1",
                "~ containerDefinitions[backend].environment.PROJECT_NAME: \"Kaapi (edited)\" -> \"Kaapi\"",
                "~ service kaapi-service",
                "~ taskDefinition: \"kaapi-task:2\" -> \"kaapi-task:1\"",
            ],
        ),
        (
            "kaapi-service",
            vec!["desired-count", "5"],
            vec!["~ service kaapi-service", "~ desiredCount: 5 -> 2"],
        ),
        (
            "kaapi-celery-task",
            vec!["image", "celery-worker", &other_image],
            vec![
                "= task definition kaapi-celery-task",
                "~ containerDefinitions[celery-worker].image: hotfix -> v1.8.0",
                "~ service kaapi-celery-task",
            ],
        ),
        (
            "kaapi-service",
            vec!["cpu", "2048", "4096"],
            vec![
                "~ cpu: \"2048\" -> \"1024\"",
                "~ memory: \"4096\" -> \"2048\"",
            ],
        ),
        (
            "kaapi-service",
            vec!["secret", "SECRET_KEY", &other_secret],
            vec!["~ containerDefinitions[backend].secrets.SECRET_KEY:"],
        ),
    ];
    for (service, change, expected) in cases {
        emulator.tamper("kaapi-cluster", service, &change);
        let (code, out, err) = run(&emulator, &seed, &state, &["plan", "--env", "production"]);
        assert_eq!(code, 2, "{change:?}: {out}{err}");
        // The revision apply registered is still ACTIVE, so undoing the change reuses it.
        assert!(
            !out.contains("+ task definition"),
            "nothing new is registered: {out}"
        );
        for line in expected {
            assert!(
                out.contains(line),
                "{change:?}: expected {line:?} in\n{out}"
            );
        }
        let (code, out, err) = run(
            &emulator,
            &seed,
            &state,
            &["apply", "--env", "production", "--yes"],
        );
        assert_eq!(code, 0, "{out}{err}");
        let (code, out, _) = run(&emulator, &seed, &state, &["plan", "--env", "production"]);
        assert_eq!(code, 0, "{change:?} was reverted by apply: {out}");
    }
}

#[test]
fn secret_values_never_appear_in_any_output() {
    let (emulator, seed) = Emulator::seeded();
    let state = StateDir::examples();
    let mut everything = String::new();
    for args in [
        vec!["apply", "--env", "production", "--yes"],
        vec!["plan", "--env", "production", "--output", "json"],
        vec!["render", "--env", "production"],
    ] {
        let (_, out, err) = run(&emulator, &seed, &state, &args);
        everything.push_str(&out);
        everything.push_str(&err);
    }
    assert!(
        everything.contains("secretsmanager"),
        "references are shown"
    );
    assert!(
        !everything.contains("seeded-secret-value"),
        "a secret value leaked"
    );
}

#[test]
fn invalid_state_fails_before_any_aws_call() {
    // A listener that counts connections stands in for AWS: nothing may connect to it.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let endpoint = format!("http://{}", listener.local_addr().unwrap());
    listener.set_nonblocking(true).unwrap();
    let connections = Arc::new(AtomicUsize::new(0));
    let state = StateDir::examples();
    state.edit("production", "cpu: 1024", "cpu: 1000");
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_reconcile"))
        .args([
            "plan",
            "--env",
            "production",
            "--state",
            state.path().to_str().unwrap(),
        ])
        .env("AWS_ENDPOINT_URL", &endpoint)
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("KAAPI_AWS_ACCOUNT_ID", "123456789012")
        .env("KAAPI_SUBNET_A", "subnet-a")
        .env("KAAPI_SUBNET_B", "subnet-b")
        .env("KAAPI_SECURITY_GROUP", "sg-a")
        .output()
        .unwrap();
    while listener.accept().is_ok() {
        connections.fetch_add(1, Ordering::SeqCst);
    }
    assert_eq!(output.status.code(), Some(1));
    let err = stderr(&output);
    assert!(
        err.contains("production.yaml:123:10: services.api.cpu: 1000 is not a Fargate CPU size"),
        "{err}"
    );
    assert_eq!(
        connections.load(Ordering::SeqCst),
        0,
        "no AWS call was made"
    );
}

#[test]
fn env_may_be_left_out_only_when_one_environment_exists() {
    let (emulator, seed) = Emulator::seeded();
    let state = StateDir::examples();
    let (code, out, err) = run(&emulator, &seed, &state, &["plan"]);
    assert_eq!(code, 1, "{out}{err}");
    assert_eq!(
        err.trim_end(),
        format!(
            "error: {} holds several environments; name one with --env (production, staging)",
            state.path().display()
        )
    );

    std::fs::remove_file(state.file("production")).unwrap();
    let (code, out, err) = run(&emulator, &seed, &state, &["plan"]);
    assert_eq!(code, 2, "{out}{err}");
    assert!(out.starts_with("Plan for staging:"), "{out}");
}

#[test]
fn a_plan_saved_by_another_version_is_refused_by_its_version() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("old.plan.json");
    std::fs::write(
        &file,
        r#"{"saved_plan_version": 1, "plan": {"changes": [{"diff": "..."}]}}"#,
    )
    .unwrap();
    let output = super::support::reconcile(None, None, &["apply", file.to_str().unwrap(), "--yes"]);
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains(
            "is a saved plan of version 1; this reconcile reads version 2: make a new plan"
        ),
        "{stderr}"
    );
}

#[test]
fn commands_that_write_a_state_file_refuse_other_outputs_and_change_nothing() {
    let state = StateDir::examples();
    let before = std::fs::read_to_string(state.file("production")).unwrap();
    for args in [
        &["image", "set", "--env", "production", "--tag", "v2"][..],
        &["promote", "--from", "staging", "--to", "production"],
        &["import", "--env", "production", "--force"],
    ] {
        let mut all = state_args(&state, args);
        all.extend(["--output", "json"]);
        let output = super::support::reconcile(None, None, &all);
        assert_eq!(output.status.code(), Some(1), "reconcile {args:?}");
        assert!(
            String::from_utf8_lossy(&output.stderr).contains("in text only"),
            "reconcile {args:?}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        assert!(output.stdout.is_empty(), "reconcile {args:?}");
    }
    assert_eq!(
        std::fs::read_to_string(state.file("production")).unwrap(),
        before
    );
}

#[test]
fn usage_errors_exit_1_never_2_and_help_exits_0() {
    for args in [
        &["plan", "--bogus"][..],
        &["plan", "--output", "yaml"],
        &[],
        &["nonsense"],
    ] {
        let output = super::support::reconcile(None, None, args);
        assert_eq!(
            output.status.code(),
            Some(1),
            "reconcile {args:?}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        assert!(!output.stderr.is_empty(), "reconcile {args:?} says why");
    }
    for args in [&["--help"][..], &["--version"], &["plan", "--help"]] {
        let output = super::support::reconcile(None, None, args);
        assert_eq!(output.status.code(), Some(0), "reconcile {args:?}");
        assert!(
            !output.stdout.is_empty(),
            "reconcile {args:?} prints to stdout"
        );
    }
}

#[test]
fn a_closed_stdout_ends_quietly_with_the_commands_own_exit_code() {
    // `reconcile schema | head -0`: the reader is gone before the first write.
    let mut child = super::support::reconcile_command(None, None, &["schema"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let output = child.wait_with_output().unwrap();
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&output.stderr), "");
}

/// `plan --env staging` of the examples with the given environment (and without `remove`), no
/// emulator: for failures that happen before AWS answers.
fn plan_with(env: &[(&str, &str)], remove: &[&str]) -> (Option<i32>, String) {
    let state = StateDir::examples();
    let home = tempfile::tempdir().unwrap();
    let mut command = super::support::reconcile_command(
        None,
        None,
        &[
            "plan",
            "--env",
            "staging",
            "--state",
            state.path().to_str().unwrap(),
        ],
    );
    command
        .env("HOME", home.path())
        .env_remove("AWS_CONFIG_FILE")
        .env_remove("AWS_SHARED_CREDENTIALS_FILE")
        .env_remove("AWS_PROFILE")
        .env("KAAPI_AWS_ACCOUNT_ID", "123456789012")
        .env("KAAPI_SUBNET_A", "subnet-a")
        .env("KAAPI_SUBNET_B", "subnet-b")
        .env("KAAPI_SECURITY_GROUP", "sg-a")
        .envs(env.iter().copied());
    for name in remove {
        command.env_remove(name);
    }
    let output = command.output().unwrap();
    (output.status.code(), stderr(&output))
}

#[track_caller]
fn two_lines_with(err: &str, first: &str, help: &str) {
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(lines.len(), 2, "at most two lines: {err}");
    assert!(lines[0].contains(first), "{err}");
    assert!(
        lines[1].starts_with("  help: ") && lines[1].contains(help),
        "{err}"
    );
}

#[test]
fn missing_credentials_say_how_to_log_in() {
    let (code, err) = plan_with(&[], &["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"]);
    assert_eq!(code, Some(1));
    two_lines_with(
        &err,
        "error: GetCallerIdentity for the current credentials: no AWS credentials found",
        "aws sso login --profile NAME",
    );
}

#[test]
fn a_missing_profile_is_named() {
    let (code, err) = plan_with(
        &[("AWS_PROFILE", "kaapi-prod")],
        &["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"],
    );
    assert_eq!(code, Some(1));
    two_lines_with(
        &err,
        "no AWS credentials found",
        "the profile `kaapi-prod` (AWS_PROFILE) gave no credentials",
    );
}

#[test]
fn an_unreachable_endpoint_is_named_in_two_lines() {
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let (code, err) = plan_with(&[("AWS_ENDPOINT_URL", &url)], &[]);
    assert_eq!(code, Some(1));
    two_lines_with(
        &err,
        "cannot reach the AWS endpoint: Connection refused",
        &format!("AWS_ENDPOINT_URL (now {url})"),
    );
}

#[test]
fn an_endpoint_that_never_answers_fails_with_the_time_limit_stated() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for connection in listener.incoming().flatten() {
            held.push(connection);
        }
    });
    let (code, err) = plan_with(
        &[("AWS_ENDPOINT_URL", &url), ("RECONCILE_AWS_TIMEOUT", "2s")],
        &[],
    );
    assert_eq!(code, Some(1));
    two_lines_with(
        &err,
        "no answer within 2s",
        "allow more with RECONCILE_AWS_TIMEOUT",
    );
}

/// An emergency on one service: `--service` plans and applies it and what it needs, names what
/// it leaves out, and leaves the rest for the next full apply.
#[test]
fn service_plans_and_applies_one_service_and_names_what_it_leaves_out() {
    let (emulator, seed) = Emulator::seeded();
    let state = StateDir::examples();
    let (code, out, err) = run(
        &emulator,
        &seed,
        &state,
        &["apply", "--env", "production", "--yes"],
    );
    assert_eq!(code, 0, "{out}{err}");
    state.edit("production", "desired_count: 2", "desired_count: 3");
    state.edit("production", "desired_count: 1", "desired_count: 2");

    let (code, out, err) = run(
        &emulator,
        &seed,
        &state,
        &["plan", "--env", "production", "--service", "api"],
    );
    assert_eq!(code, 2, "{out}{err}");
    assert!(out.contains("~ service kaapi-service"), "{out}");
    assert!(!out.contains("service kaapi-celery-task"), "{out}");
    assert!(
        out.contains("--service: this plan covers kaapi-service only; it leaves out services kaapi-celery-task (plan without --service for them)"),
        "{out}"
    );
    assert!(
        !out.contains("is not in the state"),
        "not called undeclared: {out}"
    );

    let (code, out, err) = run(
        &emulator,
        &seed,
        &state,
        &["apply", "--env", "production", "--service", "api", "--yes"],
    );
    assert_eq!(code, 0, "{out}{err}");
    let (code, out, _) = run(&emulator, &seed, &state, &["plan", "--env", "production"]);
    assert_eq!(code, 2, "{out}");
    assert!(out.contains("~ service kaapi-celery-task"), "{out}");
    assert!(
        !out.contains("~ service kaapi-service"),
        "the API is done: {out}"
    );

    let (code, _, err) = run(
        &emulator,
        &seed,
        &state,
        &["plan", "--env", "production", "--service", "web"],
    );
    assert_eq!(code, 1);
    assert!(
        err.contains(
            "has no service web; its services: api (kaapi-service), celery (kaapi-celery-task)"
        ),
        "{err}"
    );
}
