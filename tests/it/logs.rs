//! `reconcile logs` against the emulator: the lines the running containers wrote to the awslogs
//! groups their task definitions name, merged in time order, for one service or all; streams of
//! another prefix in the same group left out; JSON one document; `--follow` prints a line written
//! after it started and ends with exit 0 on SIGTERM.

use std::io::{BufRead, BufReader};
use std::process::Stdio;
use std::time::{Duration, Instant};

use super::emulator::Fixture;
use super::support::{reconcile, reconcile_command, stdout};

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

impl Fixture {
    /// Writes lines as the awslogs driver does for a running task: stream `PREFIX/CONTAINER/TASK`.
    async fn written(&self, group: &str, stream: &str, lines: &[(i64, &str)]) {
        let logs = &self.aws.logs;
        let _ = logs
            .create_log_stream()
            .log_group_name(group)
            .log_stream_name(stream)
            .send()
            .await;
        let events = lines.iter().map(|(at, message)| {
            aws_sdk_cloudwatchlogs::types::InputLogEvent::builder()
                .timestamp(*at)
                .message(*message)
                .build()
                .unwrap()
        });
        logs.put_log_events()
            .log_group_name(group)
            .log_stream_name(stream)
            .set_log_events(Some(events.collect()))
            .send()
            .await
            .unwrap();
    }

    fn logs(&self, args: &[&str]) -> std::process::Output {
        let mut all = vec!["logs", "--env", "production", "--state"];
        all.push(self.state.path().to_str().unwrap());
        all.extend(args);
        reconcile(Some(&self.emulator), Some(&self.seed), &all)
    }
}

const API: &str = "/ecs/kaapi-cluster/kaapi-service";
const WORKERS: &str = "/ecs/kaapi-cluster/kaapi-celery-task";

#[tokio::test(flavor = "multi_thread")]
async fn logs_show_what_the_running_containers_wrote_and_follow_new_lines() {
    let fixture = Fixture::production_applied().await;
    let start = now_ms() - 60_000;
    fixture
        .written(
            API,
            "ecs/backend/0123456789abcdef0123456789abcdef",
            &[
                (start, "INFO: Started server process"),
                (start + 2_000, "INFO: GET /api/v1/health 200"),
            ],
        )
        .await;
    fixture
        .written(
            WORKERS,
            "ecs/celery-worker/fedcba9876543210fedcba9876543210",
            &[(start + 1_000, "celery@worker ready.")],
        )
        .await;
    // Another writer's stream in the API's group: not a container of the service.
    fixture
        .written(
            API,
            "debug/backend/feedfeed",
            &[(start + 500, "not the service's")],
        )
        .await;
    // Older than --since: left out.
    fixture
        .written(
            API,
            "ecs/backend/0123456789abcdef0123456789abcdef",
            &[(start - 3_600_000 + 1, "yesterday's line")],
        )
        .await;

    let output = fixture.logs(&["--service", "kaapi-service"]);
    assert_eq!(output.status.code(), Some(0), "{}", stdout(&output));
    let lines: Vec<String> = stdout(&output).lines().map(str::to_string).collect();
    assert_eq!(lines.len(), 2, "{lines:#?}");
    assert!(
        lines[0].ends_with(" kaapi-service/backend 01234567  INFO: Started server process"),
        "{lines:#?}"
    );
    assert!(
        lines[1].ends_with("INFO: GET /api/v1/health 200"),
        "{lines:#?}"
    );

    // A service the state does not have: named, with those it has, before anything is read.
    let output = fixture.logs(&["--service", "nope"]);
    assert_eq!(output.status.code(), Some(1));
    let err = super::support::stderr(&output);
    assert!(
        err.contains("has no service nope; its services: api (kaapi-service)"),
        "{err}"
    );

    // Every service: merged in time order.
    let output = fixture.logs(&[]);
    let messages: Vec<String> = stdout(&output)
        .lines()
        .map(|line| line.split("  ").last().unwrap().to_string())
        .collect();
    assert_eq!(
        messages,
        [
            "INFO: Started server process",
            "celery@worker ready.",
            "INFO: GET /api/v1/health 200"
        ]
    );

    // As JSON: one document with each line's service, container and task.
    let output = fixture.logs(&["--output", "json"]);
    assert_eq!(output.status.code(), Some(0));
    let document: serde_json::Value = serde_json::from_str(&stdout(&output)).unwrap();
    assert_eq!(document.as_array().unwrap().len(), 3);
    assert_eq!(document[1]["service"], "kaapi-celery-task");
    assert_eq!(document[1]["container"], "celery-worker");
    assert_eq!(document[1]["task"], "fedcba9876543210fedcba9876543210");

    // --follow: what is there, then what is written after, until SIGTERM.
    let state = fixture.state.path().to_str().unwrap().to_string();
    let mut child = reconcile_command(
        Some(&fixture.emulator.endpoint()),
        Some(&fixture.seed),
        &[
            "logs",
            "--env",
            "production",
            "--service",
            "api",
            "--follow",
            "--state",
            &state,
        ],
    )
    .stdout(Stdio::piped())
    .spawn()
    .unwrap();
    let (sender, received) = std::sync::mpsc::channel();
    let out = child.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(out).lines().map_while(Result::ok) {
            let _ = sender.send(line);
        }
    });
    let mut seen = Vec::new();
    let wait_for = |seen: &mut Vec<String>, text: &str| {
        let deadline = Instant::now() + Duration::from_secs(30);
        while !seen.iter().any(|line| line.contains(text)) {
            let left = deadline.saturating_duration_since(Instant::now());
            match received.recv_timeout(left) {
                Ok(line) => seen.push(line),
                Err(_) => panic!("no line with {text:?} within 30 s: {seen:#?}"),
            }
        }
    };
    wait_for(&mut seen, "INFO: GET /api/v1/health 200");
    fixture
        .written(
            API,
            "ecs/backend/0123456789abcdef0123456789abcdef",
            &[(now_ms(), "INFO: POST /api/v1/threads 201")],
        )
        .await;
    wait_for(&mut seen, "INFO: POST /api/v1/threads 201");
    std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert_eq!(child.wait().unwrap().code(), Some(0));
    // Each line once, though every read asks from the newest line's time again.
    assert_eq!(
        seen.iter()
            .filter(|line| line.contains("INFO: GET /api/v1/health 200"))
            .count(),
        1,
        "{seen:#?}"
    );
}
