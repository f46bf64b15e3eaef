//! Faults between the SDK and the emulator: a small HTTP proxy that answers chosen operations with
//! AWS error responses. A failed apply must report every step truthfully and a rerun must converge.
//! The same proxy can hold requests at a gate, which makes concurrency observable without timing.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use reconcile::aws::Aws;
use reconcile::aws::apply::StepStatus;
use reconcile::plan::Action;

use super::support::{
    Emulator, Seed, StateDir, apply, plan_and_apply, plan_of, reconcile, reconcile_at, stdout,
};

/// Answer `operation` requests whose body contains `body_contains` with an error, `times` times.
/// With `lost_answer`, the request reaches the emulator first and only its answer is replaced, as
/// when a connection drops after AWS acted. With `delay`, the proxy waits that long first; with
/// status 0 it then forwards the request as it is (a slow answer, no error).
#[derive(Clone, Default)]
struct Fault {
    operation: &'static str,
    body_contains: &'static str,
    times: usize,
    status: u16,
    error_type: &'static str,
    lost_answer: bool,
    delay: Duration,
}

#[derive(Default)]
struct Seen {
    requests: Vec<String>,
    /// When each request arrived, in the same order.
    at: Vec<std::time::Instant>,
}

struct FaultProxy {
    endpoint: String,
    seen: Arc<Mutex<Seen>>,
    gate: Arc<Gate>,
}

/// Holds requests in consecutive groups of the given sizes: no request of a group is answered
/// until the whole group has arrived. A client that sends a group's requests one after another
/// is not hung, only slowed down: after a generous deadline the request passes and the gate
/// counts a timeout. Later requests pass at once.
struct Gate {
    groups: Vec<usize>,
    state: Mutex<GateState>,
    changed: Condvar,
}

#[derive(Default)]
struct GateState {
    arrived: usize,
    members: Vec<Vec<String>>,
    timeouts: usize,
}

impl Gate {
    fn new(groups: &[usize]) -> Arc<Gate> {
        Arc::new(Gate {
            groups: groups.to_vec(),
            state: Mutex::new(GateState {
                members: vec![Vec::new(); groups.len()],
                ..GateState::default()
            }),
            changed: Condvar::new(),
        })
    }

    fn pass(&self, operation: &str) {
        let mut state = self.state.lock().unwrap();
        let index = state.arrived;
        state.arrived += 1;
        let mut end = 0;
        let Some(group) = self.groups.iter().position(|size| {
            end += size;
            index < end
        }) else {
            return;
        };
        state.members[group].push(operation.to_string());
        self.changed.notify_all();
        let (mut state, waited) = self
            .changed
            .wait_timeout_while(state, Duration::from_secs(3), |s| s.arrived < end)
            .unwrap();
        if waited.timed_out() {
            state.timeouts += 1;
        }
    }

    /// The operations of each group, sorted, and how many requests gave up waiting.
    fn report(&self) -> (Vec<Vec<String>>, usize) {
        let state = self.state.lock().unwrap();
        let mut members = state.members.clone();
        members.iter_mut().for_each(|group| group.sort());
        (members, state.timeouts)
    }
}

struct Request {
    head: String,
    body: Vec<u8>,
    target: String,
}

/// The operation a request calls.
fn operation_of(request: &Request) -> String {
    super::support::operation_name(
        request.head.lines().next().unwrap_or_default(),
        &request.target,
        &String::from_utf8_lossy(&request.body),
    )
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
        Self::start_gated(upstream, faults, Gate::new(&[]))
    }

    fn start_gated(upstream: String, faults: Vec<Fault>, gate: Arc<Gate>) -> FaultProxy {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let endpoint = format!("http://{}", listener.local_addr().unwrap());
        let seen = Arc::new(Mutex::new(Seen::default()));
        let faults = Arc::new(Mutex::new(faults));
        let recorder = seen.clone();
        let held = gate.clone();
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
                        let operation = operation_of(&request);
                        {
                            let mut seen = seen.lock().unwrap();
                            seen.requests.push(operation.clone());
                            seen.at.push(std::time::Instant::now());
                        }
                        gate.pass(&operation);
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
                        if let Some(fault) = &fault {
                            std::thread::sleep(fault.delay);
                        }
                        let response = match fault {
                            Some(fault) if fault.status == 0 => forward(&upstream, &request),
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
        FaultProxy {
            endpoint,
            seen,
            gate: held,
        }
    }

    fn aws(&self, emulator: &Emulator) -> Aws {
        let mut config = emulator.sdk_config().into_builder();
        config.set_endpoint_url(Some(self.endpoint.clone()));
        Aws::from_config(&config.build())
    }

    /// Waits (a minute at most) until a request for `operation` has arrived.
    fn wait_for(&self, operation: &str, what: &str) {
        let deadline = std::time::Instant::now() + Duration::from_secs(60);
        while self.count(operation) == 0 {
            assert!(std::time::Instant::now() < deadline, "{what}");
            std::thread::sleep(Duration::from_millis(20));
        }
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
    let (emulator, seed) = Emulator::seeded();
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
    assert!(
        plan_and_apply(&direct, &state.load("production", &seed))
            .await
            .succeeded()
    );

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
    let plan = plan_of(&faulty, &desired).await;
    let report = apply(&faulty, &plan).await;
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
            (
                "kaapi-task: uv run alembic upgrade head".to_string(),
                "done"
            ),
            ("kaapi-service".to_string(), "failed"),
            ("kaapi-celery-task".to_string(), "not attempted"),
        ]
    );
    let StepStatus::Failed { error } = &report.steps[3].status else {
        unreachable!()
    };
    assert!(
        error.contains("UpdateService kaapi-service: AccessDeniedException"),
        "{error}"
    );

    // The rerun starts from what is live: the revisions registered before the failure are reused.
    let rerun = plan_of(&direct, &desired).await;
    let registers = rerun
        .changes
        .iter()
        .filter(|c| c.action == Action::Create)
        .count();
    assert_eq!(registers, 0, "{}", reconcile::render::text(&rerun));
    direct.calls.reset();
    assert!(apply(&direct, &rerun).await.succeeded());
    assert_eq!(
        writes(&direct),
        [
            "ECS.TagResource",
            "ECS.TagResource",
            "ECS.UpdateService",
            "ECS.UpdateService"
        ]
    );
    assert!(!plan_of(&direct, &desired).await.has_changes());
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
        Gate::new(&[]),
    );
    let aws = proxy.aws(&emulator);
    let plan = plan_of(&aws, &state.load("staging", &seed)).await;
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
        Gate::new(&[]),
    );
    let args = [
        "apply",
        "--env",
        "staging",
        "--yes",
        "--state",
        state.path().to_str().unwrap(),
    ];
    let output = reconcile_at(Some(&proxy.endpoint), Some(&seed), &args);
    assert_eq!(output.status.code(), Some(1));
    let out = stdout(&output);
    for expected in [
        "done     cluster kaapi-staging-cluster: created cluster kaapi-staging-cluster",
        "done     log group /ecs/kaapi-staging-cluster/kaapi-staging-service: created log group /ecs/kaapi-staging-cluster/kaapi-staging-service",
        "done     task definition kaapi-staging-task: registered kaapi-staging-task:1",
        "FAILED   service kaapi-staging-service: CreateService kaapi-staging-service: AccessDeniedException: injected by the test proxy",
        "Apply failed: 7 of 8 changes applied to staging.",
    ] {
        assert!(out.contains(expected), "expected {expected:?} in\n{out}");
    }
    // Without the fault, the same command finishes the job.
    let output = reconcile(Some(&emulator), Some(&seed), &args);
    assert_eq!(output.status.code(), Some(0), "{}", stdout(&output));
    assert!(
        // The service never ran, so the (idempotent) migration runs again before it starts.
        stdout(&output)
            .contains("Plan: 1 to create, 0 to update, 1 migration to run, 7 unchanged."),
        "{}",
        stdout(&output)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_no_op_plan_reads_in_two_concurrent_waves() {
    // The gate answers nothing of a wave until the whole wave waits at once: a plan that read
    // the account, image, cluster, services and backing services one after another (or then the
    // two running task definitions and the backing details one after the other) would leave
    // requests waiting for the deadline. The second wave also looks up the log groups.
    let (emulator, seed, state, proxy) = behind_proxy(vec![], Gate::new(&[8, 5]));
    let desired = state.load("production", &seed);
    let direct = Aws::from_config(&emulator.sdk_config());
    assert!(plan_and_apply(&direct, &desired).await.succeeded());

    let aws = proxy.aws(&emulator);
    let plan = plan_of(&aws, &desired).await;
    assert!(!plan.has_changes());
    let (waves, timeouts) = proxy.gate.report();
    assert_eq!(
        waves,
        [
            vec![
                "DescribeClusters",
                "DescribeDBInstances",
                "DescribeImages",
                "DescribeReplicationGroups",
                "DescribeServices",
                "GetCallerIdentity",
                "ListBrokers",
                "ListServices",
            ],
            vec![
                "DescribeBroker",
                "DescribeCacheClusters",
                "DescribeLogGroups",
                "DescribeTaskDefinition",
                "DescribeTaskDefinition"
            ],
        ]
    );
    assert_eq!(timeouts, 0, "every wave's requests were in flight together");
    assert_eq!(aws.calls.count(), 13, "{:?}", aws.calls.operations());
    assert!(aws.calls.max_concurrency() >= 7);
}

/// What the operator's cycle does: environments of one account and region share the region-wide
/// reads (the account, the RDS, ElastiCache and MQ lists), so the calls of a cycle grow by each
/// environment's own reads only.
#[tokio::test(flavor = "multi_thread")]
async fn plans_of_one_cycle_read_the_region_wide_lists_once() {
    let (emulator, seed) = Emulator::seeded();
    let state = StateDir::examples();
    let direct = Aws::from_config(&emulator.sdk_config());
    let environments: Vec<_> = ["staging", "production"]
        .iter()
        .map(|environment| state.load(environment, &seed))
        .collect();
    for desired in &environments {
        assert!(plan_and_apply(&direct, desired).await.succeeded());
    }
    let count = |aws: &Aws, operation: &str| {
        aws.calls
            .operations()
            .iter()
            .filter(|op| op.ends_with(&format!(".{operation}")))
            .count()
    };
    let region_wide = [
        "GetCallerIdentity",
        "DescribeDBInstances",
        "DescribeReplicationGroups",
        "ListBrokers",
    ];
    // Alone, each plan makes every read.
    let alone = Aws::from_config(&emulator.sdk_config());
    for desired in &environments {
        assert!(!plan_of(&alone, desired).await.has_changes());
    }
    for operation in region_wide {
        assert_eq!(count(&alone, operation), 2, "{operation}");
    }
    // In one cycle, concurrently, they share them.
    let mut cycle = Aws::from_config(&emulator.sdk_config());
    cycle.shared = Some(std::sync::Arc::default());
    let plans = futures::future::join_all(
        environments
            .iter()
            .map(|desired| reconcile::engine::plan_environment(&cycle, desired)),
    )
    .await;
    for planned in plans {
        assert!(!planned.unwrap().0.has_changes());
    }
    for operation in region_wide {
        assert_eq!(count(&cycle, operation), 1, "{operation}");
    }
    assert_eq!(
        cycle.calls.count(),
        alone.calls.count() - region_wide.len(),
        "{:?}",
        cycle.calls.operations()
    );
    assert_eq!(count(&cycle, "DescribeServices"), 2, "per environment");
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
        Gate::new(&[]),
    );
    let aws = proxy.aws(&emulator);
    let desired = state.load("staging", &seed);
    let plan = plan_of(&aws, &desired).await;
    let report = apply(&aws, &plan).await;
    assert!(report.succeeded(), "{report:?}");
    assert_eq!(proxy.count("CreateService"), 2, "the SDK retried");
    assert!(!plan_of(&aws, &desired).await.has_changes());

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

/// Sends `signal` (`INT`, `TERM`) to the child, as a person or a CI runner would.
fn send(child: &std::process::Child, signal: &str) {
    let sent = std::process::Command::new("kill")
        .args([format!("-{signal}"), child.id().to_string()])
        .status()
        .unwrap();
    assert!(sent.success());
}

/// Requests the proxy saw that write to AWS, the lock's own DynamoDB calls left out.
fn proxied_writes(proxy: &FaultProxy) -> Vec<(String, std::time::Instant)> {
    let seen = proxy.seen.lock().unwrap();
    seen.requests
        .iter()
        .cloned()
        .zip(seen.at.iter().copied())
        .filter(|(operation, _)| {
            !["Describe", "List", "Get", "BatchGet"]
                .iter()
                .any(|read| operation.starts_with(read))
                && !["PutItem", "UpdateItem", "DeleteItem", "CreateTable"]
                    .contains(&operation.as_str())
        })
        .collect()
}

#[test]
fn with_another_accounts_credentials_apply_writes_nothing_not_even_the_lock() {
    let (_emulator, seed, state, proxy) = behind_proxy(vec![], Gate::new(&[]));
    state.edit(
        "production",
        "account: \"${env:KAAPI_AWS_ACCOUNT_ID}\"",
        "account: \"999999999999\"",
    );
    let args = [
        "apply",
        "--env",
        "production",
        "--yes",
        "--state",
        state.path().to_str().unwrap(),
    ];
    let output = reconcile_at(Some(&proxy.endpoint), Some(&seed), &args);
    assert_eq!(output.status.code(), Some(1), "{}", stdout(&output));
    assert!(
        super::support::stderr(&output).contains(&format!(
            "the AWS credentials belong to account {}, but the state file is for account 999999999999: refusing to touch another account",
            seed.account
        )),
        "{}",
        super::support::stderr(&output)
    );
    assert_eq!(
        proxy.seen.lock().unwrap().requests,
        ["GetCallerIdentity"],
        "nothing but the identity read reached AWS"
    );
}

#[test]
fn a_lost_answer_to_the_locks_own_writes_is_recognized_as_ours() {
    let (emulator, seed, state, proxy) = behind_proxy(
        vec![
            Fault {
                operation: "PutItem",
                times: 1,
                status: 500,
                error_type: "InternalServerError",
                lost_answer: true,
                ..Fault::default()
            },
            Fault {
                operation: "DeleteItem",
                times: 1,
                status: 500,
                error_type: "InternalServerError",
                lost_answer: true,
                ..Fault::default()
            },
        ],
        Gate::new(&[]),
    );
    let args = [
        "apply",
        "--env",
        "staging",
        "--yes",
        "--state",
        state.path().to_str().unwrap(),
    ];
    // The first apply (straight to the emulator) creates everything and the lock table.
    let first = reconcile(Some(&emulator), Some(&seed), &args);
    assert_eq!(first.status.code(), Some(0), "{}", stdout(&first));

    let output = reconcile_at(Some(&proxy.endpoint), Some(&seed), &args);
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}{}",
        stdout(&output),
        super::support::stderr(&output)
    );
    // Both writes were sent twice (the SDK retried), and both first attempts had acted.
    assert_eq!((proxy.count("PutItem"), proxy.count("DeleteItem")), (2, 2));
    assert!(
        !super::support::stderr(&output).contains("lock"),
        "nothing untrue is said about the lock: {}",
        super::support::stderr(&output)
    );
    // Released: the next apply takes it at once.
    let again = reconcile(Some(&emulator), Some(&seed), &args);
    assert_eq!(
        again.status.code(),
        Some(0),
        "{}",
        super::support::stderr(&again)
    );
}

#[test]
fn no_write_is_sent_once_the_lease_can_no_longer_be_confirmed() {
    // Every renewal fails, and the migration's RunTask is answered only after the 9 s lease has
    // run out: nothing may be written after it, so the service is never created. (The lease
    // leaves a loaded machine seconds to reach the RunTask before the fence closes.)
    let (_emulator, seed, state, proxy) = behind_proxy(
        vec![
            Fault {
                operation: "UpdateItem",
                times: 1000,
                status: 500,
                error_type: "InternalServerError",
                ..Fault::default()
            },
            Fault {
                operation: "RunTask",
                times: 1,
                delay: Duration::from_secs(10),
                ..Fault::default()
            },
        ],
        Gate::new(&[]),
    );
    let lease = Duration::from_secs(9);
    let args = [
        "apply",
        "--env",
        "staging",
        "--yes",
        "--lock-lease",
        "9s",
        "--state",
        state.path().to_str().unwrap(),
    ];
    let output = reconcile_at(Some(&proxy.endpoint), Some(&seed), &args);
    let (out, err) = (stdout(&output), super::support::stderr(&output));
    assert_eq!(output.status.code(), Some(1), "{out}{err}");
    assert!(err.contains("could not renew the apply lock"), "{err}");
    assert!(
        out.contains(
            "skipped  service kaapi-staging-service: stopped: the apply lock was last confirmed"
        ),
        "{out}"
    );
    let taken = {
        let seen = proxy.seen.lock().unwrap();
        let index = seen.requests.iter().rposition(|r| r == "PutItem").unwrap();
        seen.at[index]
    };
    let writes = proxied_writes(&proxy);
    assert!(writes.iter().any(|(operation, _)| operation == "RunTask"));
    let late: Vec<_> = writes
        .iter()
        .filter(|(_, at)| at.duration_since(taken) >= lease)
        .map(|(operation, _)| operation)
        .collect();
    assert!(late.is_empty(), "written after the lease ran out: {late:?}");
    assert_eq!(proxy.count("CreateService"), 0);
}

#[test]
fn a_create_whose_answer_was_lost_finds_its_own_resource_and_counts_as_done() {
    // RDS and ElastiCache creates take no client token: the SDK's retry of a create that acted
    // meets "already exists" for this environment's own resource.
    let lost = |operation| Fault {
        operation,
        times: 1,
        status: 500,
        error_type: "InternalFailure",
        lost_answer: true,
        ..Fault::default()
    };
    let (emulator, seed, state, proxy) = behind_proxy(
        vec![lost("CreateDBInstance"), lost("CreateReplicationGroup")],
        Gate::new(&[]),
    );
    let args = [
        "apply",
        "--env",
        "staging",
        "--yes",
        "--state",
        state.path().to_str().unwrap(),
    ];
    let output = reconcile_at(Some(&proxy.endpoint), Some(&seed), &args);
    let out = stdout(&output);
    assert_eq!(
        output.status.code(),
        Some(0),
        "{out}{}",
        super::support::stderr(&output)
    );
    for expected in [
        "done     RDS instance kaapi-staging-postgres: created RDS instance kaapi-staging-postgres (the answer to the first request was lost; the retry found it, this environment's)",
        "done     ElastiCache replication group kaapi-staging-redis: created ElastiCache replication group kaapi-staging-redis (the answer to the first request was lost",
    ] {
        assert!(out.contains(expected), "expected {expected:?} in\n{out}");
    }
    assert!(!out.contains("FAILED"), "{out}");
    assert_eq!(
        (
            proxy.count("CreateDBInstance"),
            proxy.count("CreateReplicationGroup")
        ),
        (2, 2)
    );
    let again = reconcile(
        Some(&emulator),
        Some(&seed),
        &[
            "plan",
            "--env",
            "staging",
            "--state",
            state.path().to_str().unwrap(),
        ],
    );
    assert_eq!(again.status.code(), Some(0), "{}", stdout(&again));
}

#[test]
fn a_rerun_after_a_kill_during_the_migration_follows_it_and_starts_no_second_one() {
    // The first DescribeTasks of the migration is held, and the apply is killed meanwhile:
    // its task keeps running in ECS.
    let (emulator, seed, state, proxy) = behind_proxy(
        vec![Fault {
            operation: "DescribeTasks",
            times: 1,
            delay: Duration::from_secs(8),
            ..Fault::default()
        }],
        Gate::new(&[]),
    );
    let args = [
        "apply",
        "--env",
        "staging",
        "--yes",
        "--state",
        state.path().to_str().unwrap(),
    ];
    let mut first = super::support::reconcile_command(Some(&proxy.endpoint), Some(&seed), &args)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    proxy.wait_for("DescribeTasks", "the migration never started");
    first.kill().unwrap();
    let _ = first.wait();
    assert_eq!(proxy.count("RunTask"), 1);

    let unlocked = reconcile(
        Some(&emulator),
        Some(&seed),
        &[
            "force-unlock",
            "--env",
            "staging",
            "--state",
            state.path().to_str().unwrap(),
        ],
    );
    assert_eq!(
        unlocked.status.code(),
        Some(0),
        "{}",
        super::support::stderr(&unlocked)
    );
    let rerun = reconcile(Some(&emulator), Some(&seed), &args);
    let out = stdout(&rerun);
    assert_eq!(
        rerun.status.code(),
        Some(0),
        "{out}{}",
        super::support::stderr(&rerun)
    );
    assert!(
        out.contains("it was started by an earlier apply and still running, so it was followed instead of starting another"),
        "{out}"
    );
    // One migration task in all: the killed apply's.
    let aws = reconcile::aws::Aws::from_config(&emulator.sdk_config());
    let tasks = tokio::runtime::Runtime::new().unwrap().block_on(async {
        aws.ecs
            .list_tasks()
            .cluster("kaapi-staging-cluster")
            .started_by("reconcile-migration")
            .desired_status(aws_sdk_ecs::types::DesiredStatus::Stopped)
            .send()
            .await
            .unwrap()
    });
    assert_eq!(tasks.task_arns().len(), 1, "{:?}", tasks.task_arns());
}

/// Starts a staging apply whose migration RunTask answers slowly, sends `signal` while that call
/// is in flight, and returns the output with the proxy and emulator to look at.
fn interrupted_apply(signal: &str) -> (std::process::Output, FaultProxy, Emulator) {
    let (emulator, seed, state, proxy) = behind_proxy(
        vec![Fault {
            operation: "RunTask",
            times: 1,
            delay: Duration::from_secs(3),
            ..Fault::default()
        }],
        Gate::new(&[]),
    );
    let args = [
        "apply",
        "--env",
        "staging",
        "--yes",
        "--state",
        state.path().to_str().unwrap(),
    ];
    let child = super::support::reconcile_command(Some(&proxy.endpoint), Some(&seed), &args)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    proxy.wait_for("RunTask", "no migration started");
    send(&child, signal);
    (child.wait_with_output().unwrap(), proxy, emulator)
}

fn staging_locked(emulator: &Emulator) -> bool {
    let aws = Aws::from_config(&emulator.sdk_config());
    tokio::runtime::Runtime::new().unwrap().block_on(async {
        aws.dynamodb
            .get_item()
            .table_name("reconcile-locks")
            .key(
                "lock",
                aws_sdk_dynamodb::types::AttributeValue::S("ap-south-1/staging".into()),
            )
            .consistent_read(true)
            .send()
            .await
            .is_ok_and(|output| output.item().is_some())
    })
}

#[test]
fn sigint_lets_the_call_in_flight_end_writes_nothing_more_releases_the_lock_and_says_so() {
    let (output, proxy, emulator) = interrupted_apply("INT");
    let (out, err) = (stdout(&output), super::support::stderr(&output));
    assert_eq!(output.status.code(), Some(130), "{out}{err}");
    assert!(
        err.contains("SIGINT: stopping after the AWS call in flight"),
        "{err}"
    );
    for expected in [
        // The RunTask in flight was answered; its task goes on in ECS, and the summary says so.
        "FAILED   migration kaapi-staging-task: uv run alembic upgrade head: migration uv run alembic upgrade head (backend): interrupted by SIGINT while task",
        "it goes on in ECS, and the next apply follows it to its end instead of starting another",
        "skipped  service kaapi-staging-service: stopped: interrupted by SIGINT",
        "Apply interrupted by SIGINT:",
        "The lock is released; run apply again to continue from what is live.",
    ] {
        assert!(out.contains(expected), "expected {expected:?} in\n{out}");
    }
    assert_eq!(
        proxy.count("CreateService"),
        0,
        "nothing was written after the signal"
    );
    assert!(!staging_locked(&emulator), "the lock was released");
}

#[test]
fn sigterm_ends_the_same_way_with_exit_143() {
    let (output, proxy, emulator) = interrupted_apply("TERM");
    let out = stdout(&output);
    assert_eq!(output.status.code(), Some(143), "{out}");
    assert!(out.contains("Apply interrupted by SIGTERM:"), "{out}");
    assert_eq!(proxy.count("CreateService"), 0);
    assert!(!staging_locked(&emulator));
}

#[test]
fn a_sigint_during_a_drift_run_ends_the_loop_after_that_runs_report() {
    let (emulator, seed, state, proxy) = behind_proxy(
        vec![Fault {
            operation: "DescribeServices",
            times: 1,
            delay: Duration::from_secs(2),
            ..Fault::default()
        }],
        Gate::new(&[]),
    );
    let path = state.path().to_str().unwrap().to_string();
    let applied = reconcile(
        Some(&emulator),
        Some(&seed),
        &["apply", "--env", "staging", "--yes", "--state", &path],
    );
    assert_eq!(applied.status.code(), Some(0));
    let child = super::support::reconcile_command(
        Some(&proxy.endpoint),
        Some(&seed),
        &[
            "drift", "--env", "staging", "--every", "1h", "--state", &path,
        ],
    )
    .stdout(std::process::Stdio::piped())
    .stderr(std::process::Stdio::piped())
    .spawn()
    .unwrap();
    proxy.wait_for("DescribeServices", "no run started");
    send(&child, "INT");
    let output = child.wait_with_output().unwrap();
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        super::support::stderr(&output)
    );
    assert!(
        stdout(&output).contains("drift: staging: clean"),
        "the run in progress finished and reported: {}",
        stdout(&output)
    );
}

#[test]
fn access_denied_names_the_iam_permission_needed() {
    let (_emulator, seed, state, proxy) = behind_proxy(
        vec![Fault {
            operation: "DescribeClusters",
            times: 10,
            status: 400,
            error_type: "AccessDeniedException",
            ..Fault::default()
        }],
        Gate::new(&[]),
    );
    let output = reconcile_at(
        Some(&proxy.endpoint),
        Some(&seed),
        &[
            "plan",
            "--env",
            "staging",
            "--state",
            state.path().to_str().unwrap(),
        ],
    );
    assert_eq!(output.status.code(), Some(1));
    let err = super::support::stderr(&output);
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(
        lines,
        [
            "error: DescribeClusters cluster kaapi-staging-cluster: AccessDeniedException: injected by the test proxy",
            "  help: the credentials need the IAM permission ecs:DescribeClusters on this resource",
        ],
        "{err}"
    );
}

#[test]
fn a_repository_missing_in_the_region_points_at_the_region() {
    let (emulator, seed) = Emulator::seeded();
    let state = StateDir::examples();
    state.edit("staging", "region: ap-south-1", "region: eu-west-1");
    let output = reconcile(
        Some(&emulator),
        Some(&seed),
        &[
            "plan",
            "--env",
            "staging",
            "--state",
            state.path().to_str().unwrap(),
        ],
    );
    assert_eq!(output.status.code(), Some(1), "{}", stdout(&output));
    let err = super::support::stderr(&output);
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(lines.len(), 2, "{err}");
    assert_eq!(
        lines[0],
        "error: DescribeImages ECR repository kaapi-staging-repo: it does not exist in region eu-west-1 of this account"
    );
    assert!(lines[1].starts_with("  help: check `region:` in "), "{err}");
}
