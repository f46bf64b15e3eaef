//! What a person and a script get from every command: each `--output json` is one document a
//! JSON parser reads (or the command refuses the format with exit 1 and prints nothing), `status`
//! says what runs, `validate` works without the account's ids, completions and `--version`,
//! documented flags with examples, and `apply` refusing before it reads anything.

use std::net::TcpListener;

use super::support::{Emulator, StateDir, reconcile, stderr, stdout};

fn with_state<'a>(state: &'a StateDir, args: &[&'a str]) -> Vec<&'a str> {
    let mut all = args.to_vec();
    all.extend(["--state", state.path().to_str().unwrap()]);
    all
}

#[test]
fn every_command_prints_one_json_document_or_refuses_json_with_exit_1() {
    let (emulator, seed) = Emulator::seeded();
    let state = StateDir::examples();
    let json_of = |args: &[&str], codes: &[i32]| {
        let mut all = with_state(&state, args);
        all.extend(["--output", "json"]);
        let output = reconcile(Some(&emulator), Some(&seed), &all);
        let code = output.status.code().unwrap_or(-1);
        assert!(
            codes.contains(&code),
            "reconcile {args:?}: exit {code}\n{}",
            stderr(&output)
        );
        let text = stdout(&output);
        serde_json::from_str::<serde_json::Value>(&text)
            .unwrap_or_else(|e| panic!("reconcile {args:?} --output json: {e}\n{text}"))
    };
    // Before anything exists.
    let plan = json_of(&["plan", "--env", "staging"], &[2]);
    assert_eq!(plan["summary"]["has_changes"], true, "{plan}");
    let apply = json_of(&["apply", "--env", "staging", "--yes"], &[0]);
    assert!(apply.is_object(), "{apply}");
    let all = json_of(&["plan", "--all"], &[2]);
    assert!(all.is_object() || all.is_array(), "{all}");
    let validate = json_of(&["validate"], &[0]);
    assert_eq!(validate["valid"], true, "{validate}");
    assert_eq!(validate["ok"].as_array().unwrap().len(), 2, "{validate}");
    let render = json_of(&["render", "--env", "staging"], &[0]);
    assert_eq!(render["environment"], "staging", "{render}");
    json_of(&["drift", "--env", "staging"], &[0, 2]);
    json_of(&["drift", "--all"], &[0, 2]);
    let status = json_of(&["status", "--env", "staging"], &[0]);
    assert_eq!(status["environment"], "staging", "{status}");
    assert_eq!(status["services"][0]["deployed"], true, "{status}");
    let history = json_of(&["history", "--env", "staging"], &[0]);
    assert!(history.is_array(), "{history}");
    let logs = json_of(&["logs", "--env", "staging"], &[0]);
    assert!(logs.is_array(), "{logs}");
    let unlock = json_of(&["force-unlock", "--env", "staging"], &[0]);
    assert_eq!(unlock["removed"], false, "{unlock}");
    let schema = json_of(&["schema"], &[0]);
    assert!(schema["properties"]["services"].is_object(), "{schema}");

    // What has no JSON form says so, exit 1, and prints nothing on stdout.
    for args in [
        &["completions", "bash"][..],
        &["operate", "--repo", "/nonexistent"],
        &["schema", "--output", "markdown"],
        &["logs", "--env", "staging", "--follow"],
        &["logs", "--env", "staging", "--output", "markdown"],
    ] {
        let mut all = with_state(&state, args);
        if !args.contains(&"--output") {
            all.extend(["--output", "json"]);
        }
        let output = reconcile(Some(&emulator), Some(&seed), &all);
        assert_eq!(output.status.code(), Some(1), "reconcile {args:?}");
        assert!(
            output.stdout.is_empty(),
            "reconcile {args:?}: {}",
            stdout(&output)
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn status_says_what_each_service_runs_its_tag_digest_commit_tasks_and_rollout() {
    let (emulator, seed) = Emulator::seeded();
    let state = StateDir::examples();
    let run = |args: &[&str]| {
        let output = reconcile(Some(&emulator), Some(&seed), &with_state(&state, args));
        (output.status.code(), stdout(&output), stderr(&output))
    };
    let (code, out, err) = run(&["status", "--env", "staging"]);
    assert_eq!(code, Some(0), "{err}");
    assert!(out.contains("kaapi-staging-service: not deployed"), "{out}");

    let (code, _, err) = run(&["apply", "--env", "staging", "--yes"]);
    assert_eq!(code, Some(0), "{err}");
    let (code, out, err) = run(&["status", "--env", "staging"]);
    assert_eq!(code, Some(0), "{err}");
    let aws = reconcile::aws::Aws::from_config(&emulator.sdk_config());
    let digest = super::support::digest_of(&aws, "kaapi-staging-repo", "v1.8.0-main.3").await;
    let short = &digest[..19];
    // kaapi-staging-service  kaapi-staging-task:1  v1.8.0-main.3 (sha256:…)  commit …
    //   1/1 running; rollout completed in …, … ago
    let line = out
        .lines()
        .find(|l| l.trim_start().starts_with("kaapi-staging-service "))
        .unwrap_or_else(|| panic!("{out}"));
    assert!(line.contains("kaapi-staging-task:"), "{out}");
    assert!(line.contains(&format!("v1.8.0-main.3 ({short})")), "{out}");
    assert!(
        line.contains("commit ") || line.contains("no commit recorded"),
        "{out}"
    );
    assert!(out.contains("running; rollout completed"), "{out}");
    assert!(out.contains(" ago"), "{out}");

    let (code, markdown, _) = run(&["status", "--env", "staging", "--output", "markdown"]);
    assert_eq!(code, Some(0));
    assert!(
        markdown.starts_with("### staging\n\n| service | revision | image |"),
        "{markdown}"
    );
}

/// `validate` on a laptop or a fork's pull request: the account's ids are not set, and every
/// other field is still checked, at its line.
#[test]
fn validate_checks_everything_but_the_unset_account_ids() {
    let state = StateDir::examples();
    let output = reconcile(None, None, &with_state(&state, &["validate"]));
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let out = stdout(&output);
    assert!(
        out.contains("production.yaml (not set, so checked as placeholders: KAAPI_AWS_ACCOUNT_ID, KAAPI_SECURITY_GROUP, KAAPI_SUBNET_A, KAAPI_SUBNET_B; plan and apply need them)"),
        "{out}"
    );

    // A mistake elsewhere is found as before; the placeholders raise nothing.
    state.edit("production", "cpu: 1024", "cpu: 1000");
    let output = reconcile(None, None, &with_state(&state, &["validate"]));
    assert_eq!(output.status.code(), Some(1));
    let err = stderr(&output);
    assert!(
        err.contains("production.yaml:123:10: services.api.cpu: 1000 is not a Fargate CPU size"),
        "{err}"
    );
    assert!(!err.contains("KAAPI_"), "only the real mistake: {err}");

    let output = reconcile(
        None,
        None,
        &with_state(&state, &["validate", "--output", "json"]),
    );
    assert_eq!(output.status.code(), Some(1));
    let report: serde_json::Value = serde_json::from_str(&stdout(&output)).unwrap();
    assert_eq!(report["valid"], false);
    let findings = report["findings"].as_array().unwrap();
    assert_eq!(findings.len(), 1, "{report}");
    assert_eq!(findings[0]["line"], 123);
    assert_eq!(findings[0]["path"], "services.api.cpu");

    // A malformed id that is set is still checked: only unset ones stand in.
    let output = super::support::reconcile_with(
        None,
        None,
        &with_state(&state, &["validate", "--env", "staging"]),
        &[("KAAPI_SUBNET_A", "vpc-123")],
    );
    assert_eq!(output.status.code(), Some(1), "{}", stdout(&output));
    assert!(
        stderr(&output).contains("`vpc-123` is not a subnet id"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn completions_for_four_shells_and_a_version_with_its_commit() {
    for (shell, marker) in [
        ("bash", "complete -F _reconcile"),
        ("zsh", "#compdef reconcile"),
        ("fish", "complete -c reconcile"),
        ("powershell", "Register-ArgumentCompleter"),
    ] {
        let output = reconcile(None, None, &["completions", shell]);
        assert_eq!(output.status.code(), Some(0), "{shell}");
        let script = stdout(&output);
        assert!(script.contains(marker), "{shell}: {script}");
        assert!(script.contains("promote"), "{shell}: every command");
    }
    let output = reconcile(None, None, &["--version"]);
    let version = stdout(&output);
    let head = std::process::Command::new("git")
        .args(["rev-parse", "--short=12", "HEAD"])
        .current_dir(super::support::root())
        .output()
        .unwrap();
    let head = String::from_utf8_lossy(&head.stdout).trim().to_string();
    assert_eq!(
        version.trim(),
        format!("reconcile {} (commit {head})", env!("CARGO_PKG_VERSION"))
    );
}

#[test]
fn every_flag_is_documented_and_every_command_shows_examples() {
    use clap::CommandFactory;
    fn walk(command: &clap::Command, path: String, problems: &mut Vec<String>) {
        for arg in command.get_arguments() {
            let id = arg.get_id().as_str();
            if id != "help" && id != "version" && arg.get_help().is_none() {
                problems.push(format!("{path} --{id}: no help"));
            }
        }
        let leaf = command.get_subcommands().next().is_none();
        if leaf && !path.is_empty() {
            let after = command
                .get_after_help()
                .map(|h| h.to_string())
                .unwrap_or_default();
            if !after.contains("Example") {
                problems.push(format!("{path}: no example in its help"));
            }
        }
        for sub in command.get_subcommands() {
            walk(sub, format!("{path} {}", sub.get_name()), problems);
        }
    }
    let mut problems = Vec::new();
    walk(
        &reconcile::cli::Cli::command(),
        String::new(),
        &mut problems,
    );
    assert!(problems.is_empty(), "{problems:#?}");
}

#[test]
fn apply_without_a_terminal_or_yes_refuses_before_reading_anything() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let endpoint = format!("http://{}", listener.local_addr().unwrap());
    let state = StateDir::examples();
    let output = super::support::reconcile_with(
        Some(&endpoint),
        None,
        &with_state(&state, &["apply", "--env", "staging"]),
        &[
            ("KAAPI_AWS_ACCOUNT_ID", "123456789012"),
            ("KAAPI_SUBNET_A", "subnet-a"),
            ("KAAPI_SUBNET_B", "subnet-b"),
            ("KAAPI_SECURITY_GROUP", "sg-a"),
        ],
    );
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr(&output).contains("stdin is not a terminal; pass --yes"),
        "{}",
        stderr(&output)
    );
    assert!(
        output.stdout.is_empty(),
        "no plan printed: {}",
        stdout(&output)
    );
    assert!(listener.accept().is_err(), "no AWS call was made");
}
