//! Faults between the SDK and the emulator: a small HTTP proxy that answers chosen operations with
//! AWS error responses. A failed apply must report every step truthfully and a rerun must converge.
//! The same proxy can hold requests at a gate, which makes concurrency observable without timing.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use reconcile::aws::Aws;
use reconcile::aws::apply::{StepStatus, apply};
use reconcile::engine::plan_environment;
use reconcile::plan::Action;

use super::support::{Emulator, Seed, StateDir, reconcile, stdout};

/// Answer `operation` requests whose body contains `body_contains` with an error, `times` times.
/// With `lost_answer`, the request reaches the emulator first and only its answer is replaced, as
/// when a connection drops after AWS acted.
#[derive(Clone, Default)]
struct Fault {
    operation: &'static str,
    body_contains: &'static str,
    times: usize,
    status: u16,
    error_type: &'static str,
    lost_answer: bool,
}

#[derive(Default)]
struct Seen {
    requests: Vec<String>,
}

struct FaultProxy {
    endpoint: String,
    seen: Arc<Mutex<Seen>>,
}

/// Holds each of the first `size` requests until `size` requests have arrived (or a generous
/// deadline passes, so that a sequential client is slowed down but not hung).
struct Gate {
    size: usize,
    arrived: Mutex<usize>,
    all_here: Condvar,
}

impl Gate {
    fn new(size: usize) -> Arc<Gate> {
        Arc::new(Gate {
            size,
            arrived: Mutex::new(0),
            all_here: Condvar::new(),
        })
    }

    fn pass(&self) {
        let mut arrived = self.arrived.lock().unwrap();
        *arrived += 1;
        self.all_here.notify_all();
        let _unused = self
            .all_here
            .wait_timeout_while(arrived, Duration::from_secs(3), |n| *n < self.size)
            .unwrap();
    }
}

struct Request {
    head: String,
    body: Vec<u8>,
    target: String,
}

fn read_request(reader: &mut BufReader<TcpStream>) -> Option<Request> {
    let mut head = String::new();
    let mut length = 0;
    let mut target = String::new();
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).ok()? == 0 {
            return None;
        }
        let lower = line.to_ascii_lowercase();
        if let Some(value) = lower.strip_prefix("content-length:") {
            length = value.trim().parse().ok()?;
        }
        if let Some(value) = line
            .split_once(':')
            .filter(|(name, _)| name.eq_ignore_ascii_case("x-amz-target"))
        {
            target = value.1.trim().to_string();
        }
        let end = line == "\r\n";
        head.push_str(&line);
        if end {
            break;
        }
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body).ok()?;
    Some(Request { head, body, target })
}

/// Sends one request upstream on a fresh connection and returns the whole response.
fn forward(upstream: &str, request: &Request) -> Vec<u8> {
    let mut server = TcpStream::connect(upstream).unwrap();
    let head = request
        .head
        .replacen("\r\n\r\n", "\r\nConnection: close\r\n\r\n", 1);
    let head = if head.to_ascii_lowercase().contains("connection: keep-alive") {
        head.replace("keep-alive", "close")
    } else {
        head
    };
    server.write_all(head.as_bytes()).unwrap();
    server.write_all(&request.body).unwrap();
    let mut response = Vec::new();
    server.read_to_end(&mut response).unwrap();
    response
}

impl FaultProxy {
    fn start(upstream: String, faults: Vec<Fault>) -> FaultProxy {
        Self::start_gated(upstream, faults, Gate::new(0))
    }

    fn start_gated(upstream: String, faults: Vec<Fault>, gate: Arc<Gate>) -> FaultProxy {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let endpoint = format!("http://{}", listener.local_addr().unwrap());
        let seen = Arc::new(Mutex::new(Seen::default()));
        let faults = Arc::new(Mutex::new(faults));
        let recorder = seen.clone();
        std::thread::spawn(move || {
            for client in listener.incoming().flatten() {
                let (upstream, faults, seen, gate) = (
                    upstream.clone(),
                    faults.clone(),
                    recorder.clone(),
                    gate.clone(),
                );
                std::thread::spawn(move || {
                    let mut writer = client.try_clone().unwrap();
                    let mut reader = BufReader::new(client);
                    while let Some(request) = read_request(&mut reader) {
                        let operation = request
                            .target
                            .rsplit('.')
                            .next()
                            .unwrap_or_default()
                            .to_string();
                        seen.lock().unwrap().requests.push(operation.clone());
                        gate.pass();
                        let body = String::from_utf8_lossy(&request.body).to_string();
                        let fault = {
                            let mut faults = faults.lock().unwrap();
                            faults
                                .iter_mut()
                                .find(|f| {
                                    f.operation == operation
                                        && body.contains(f.body_contains)
                                        && f.times > 0
                                })
                                .map(|f| {
                                    f.times -= 1;
                                    f.clone()
                                })
                        };
                        let response = match fault {
                            Some(fault) => {
                                if fault.lost_answer {
                                    forward(&upstream, &request);
                                }
                                let payload = format!(
                                    r#"{{"__type":"{}","message":"injected by the test proxy"}}"#,
                                    fault.error_type
                                );
                                format!(
                                    "HTTP/1.1 {} Error\r\nContent-Type: application/x-amz-json-1.1\r\nContent-Length: {}\r\n\r\n{payload}",
                                    fault.status,
                                    payload.len()
                                )
                                .into_bytes()
                            }
                            None => forward(&upstream, &request),
                        };
                        if writer.write_all(&response).is_err() {
                            return;
                        }
                    }
                });
            }
        });
        FaultProxy { endpoint, seen }
    }

    fn aws(&self, emulator: &Emulator) -> Aws {
        let mut config = emulator.sdk_config().into_builder();
        config.set_endpoint_url(Some(self.endpoint.clone()));
        Aws::from_config(&config.build())
    }

    fn count(&self, operation: &str) -> usize {
        self.seen
            .lock()
            .unwrap()
            .requests
            .iter()
            .filter(|r| *r == operation)
            .count()
    }
}

/// A seeded emulator, the example state files, and a proxy in front of the emulator.
fn behind_proxy(faults: Vec<Fault>, gate: Arc<Gate>) -> (Emulator, Seed, StateDir, FaultProxy) {
    let emulator = Emulator::start();
    let seed = emulator.seed(&["v1.8.0"], &["v1.8.0-main.3"]);
    let upstream = emulator
        .endpoint()
        .trim_start_matches("http://")
        .to_string();
    let proxy = FaultProxy::start_gated(upstream, faults, gate);
    (emulator, seed, StateDir::examples(), proxy)
}

fn writes(aws: &Aws) -> Vec<String> {
    let mut writes: Vec<String> = aws
        .calls
        .operations()
        .into_iter()
        .filter(|op| {
            ["Register", "Update", "Create", "Tag"]
                .iter()
                .any(|w| op.contains(&format!(".{w}")))
        })
        .collect();
    writes.sort();
    writes
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failed_apply_reports_every_step_and_a_rerun_converges() {
    let emulator = Emulator::start();
    let seed = emulator.seed(&["v1.8.0", "v1.9.0"], &["v1.8.0-main.3"]);
    let state = StateDir::examples();
    let direct = Aws::from_config(&emulator.sdk_config());
    let initial = plan_environment(&direct, &state.load("production", &seed))
        .await
        .unwrap()
        .0;
    assert!(apply(&direct, &initial, &mut |_| {}).await.succeeded());

    state.edit("production", "tag: v1.8.0 ", "tag: v1.9.0 ");
    let proxy = FaultProxy::start(
        emulator
            .endpoint()
            .trim_start_matches("http://")
            .to_string(),
        vec![Fault {
            operation: "UpdateService",
            body_contains: "\"kaapi-service\"",
            times: usize::MAX,
            status: 400,
            error_type: "AccessDeniedException",
            ..Fault::default()
        }],
    );
    let faulty = proxy.aws(&emulator);
    let desired = state.load("production", &seed);
    let plan = plan_environment(&faulty, &desired).await.unwrap().0;
    let report = apply(&faulty, &plan, &mut |_| {}).await;
    assert!(!report.succeeded());
    let outcome: Vec<(String, &str)> = report
        .steps
        .iter()
        .map(|step| {
            let status = match &step.status {
                StepStatus::Done { .. } => "done",
                StepStatus::Failed { .. } => "failed",
                StepStatus::NotAttempted { .. } => "not attempted",
            };
            (step.resource.name.clone(), status)
        })
        .collect();
    assert_eq!(
        outcome,
        [
            ("kaapi-task".to_string(), "done"),
            ("kaapi-celery-task".to_string(), "done"),
            ("kaapi-service".to_string(), "failed"),
            ("kaapi-celery-task".to_string(), "not attempted"),
        ]
    );
    let StepStatus::Failed { error } = &report.steps[2].status else {
        unreachable!()
    };
    assert!(
        error.contains("UpdateService kaapi-service: AccessDeniedException"),
        "{error}"
    );

    // The rerun starts from what is live: the revisions registered before the failure are reused.
    let rerun = plan_environment(&direct, &desired).await.unwrap().0;
    let registers = rerun
        .changes
        .iter()
        .filter(|c| c.action == Action::Create)
        .count();
    assert_eq!(registers, 0, "{}", reconcile::render::text(&rerun));
    direct.calls.reset();
    assert!(apply(&direct, &rerun, &mut |_| {}).await.succeeded());
    assert_eq!(writes(&direct), ["ECS.UpdateService", "ECS.UpdateService"]);
    assert!(
        !plan_environment(&direct, &desired)
            .await
            .unwrap()
            .0
            .has_changes()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn throttled_reads_are_retried_and_the_plan_succeeds() {
    let (emulator, seed, state, proxy) = behind_proxy(
        vec![Fault {
            operation: "DescribeServices",
            body_contains: "",
            times: 2,
            status: 400,
            error_type: "ThrottlingException",
            ..Fault::default()
        }],
        Gate::new(0),
    );
    let aws = proxy.aws(&emulator);
    let plan = plan_environment(&aws, &state.load("staging", &seed))
        .await
        .unwrap()
        .0;
    assert!(
        plan.has_changes(),
        "a new environment has everything to create"
    );
    assert_eq!(
        proxy.count("DescribeServices"),
        3,
        "two throttled attempts, then success"
    );
    assert_eq!(
        aws.calls
            .operations()
            .iter()
            .filter(|op| op.ends_with("DescribeServices"))
            .count(),
        1
    );
}

#[test]
fn the_binary_reports_a_failed_apply_and_exits_1() {
    let (emulator, seed, state, proxy) = behind_proxy(
        vec![Fault {
            operation: "CreateService",
            body_contains: "",
            times: usize::MAX,
            status: 400,
            error_type: "AccessDeniedException",
            ..Fault::default()
        }],
        Gate::new(0),
    );
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_reconcile"))
        .args([
            "apply",
            "--env",
            "staging",
            "--yes",
            "--state",
            state.path().to_str().unwrap(),
        ])
        .env("AWS_ENDPOINT_URL", &proxy.endpoint)
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("NO_COLOR", "1")
        .envs(seed.vars())
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let out = stdout(&output);
    for expected in [
        "done     cluster kaapi-staging-cluster: created cluster kaapi-staging-cluster",
        "done     log group /ecs/kaapi-staging-cluster/kaapi-staging-service: created log group /ecs/kaapi-staging-cluster/kaapi-staging-service",
        "done     task definition kaapi-staging-task: registered kaapi-staging-task:1",
        "FAILED   service kaapi-staging-service: CreateService kaapi-staging-service: AccessDeniedException: injected by the test proxy",
        "Apply failed: 3 of 4 changes applied to staging.",
    ] {
        assert!(out.contains(expected), "expected {expected:?} in\n{out}");
    }
    // Without the fault, the same command finishes the job.
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
    assert_eq!(output.status.code(), Some(0), "{}", stdout(&output));
    assert!(
        stdout(&output).contains("Plan: 1 to create, 0 to update, 4 unchanged."),
        "{}",
        stdout(&output)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_first_reads_of_a_plan_are_in_flight_together() {
    // The gate answers nothing until four requests are waiting at once: a plan that read the
    // account, image, cluster and services one after another would pass it one by one.
    let (emulator, seed, state, proxy) = behind_proxy(vec![], Gate::new(4));
    let aws = proxy.aws(&emulator);
    plan_environment(&aws, &state.load("production", &seed))
        .await
        .unwrap();
    assert!(
        aws.calls.max_concurrency() >= 4,
        "identity, image, cluster and services are read at once (max in flight: {}, calls: {:?})",
        aws.calls.max_concurrency(),
        aws.calls.operations()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_create_service_whose_answer_is_lost_is_retried_without_harm() {
    let (emulator, seed, state, proxy) = behind_proxy(
        vec![Fault {
            operation: "CreateService",
            times: 1,
            status: 500,
            error_type: "ServerException",
            lost_answer: true,
            ..Fault::default()
        }],
        Gate::new(0),
    );
    let aws = proxy.aws(&emulator);
    let desired = state.load("staging", &seed);
    let plan = plan_environment(&aws, &desired).await.unwrap().0;
    let report = apply(&aws, &plan, &mut |_| {}).await;
    assert!(report.succeeded(), "{report:?}");
    assert_eq!(proxy.count("CreateService"), 2, "the SDK retried");
    assert!(
        !plan_environment(&aws, &desired)
            .await
            .unwrap()
            .0
            .has_changes()
    );

    // What the token protects against: a second creation of an ACTIVE service is refused.
    let direct = Aws::from_config(&emulator.sdk_config());
    let error = direct
        .ecs
        .create_service()
        .cluster("kaapi-staging-cluster")
        .service_name("kaapi-staging-service")
        .task_definition("kaapi-staging-task:1")
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        reconcile::aws::AwsError::summary(&error),
        "InvalidParameterException: Creation of service was not idempotent."
    );
}
