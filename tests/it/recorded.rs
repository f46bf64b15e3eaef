//! Observe and plan against responses shaped exactly like real AWS's (tests/fixtures/aws/), served
//! from a loopback endpoint so they pass through the real SDK deserializers and `aws::convert`.
//! They carry what AWS adds and moto does not: hostPort, protocol, requiresAttributes,
//! compatibilities, registeredAt, runtimePlatform, empty lists, reordered variables, `aws:*` tags,
//! alarms in the deployment configuration.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::Arc;

use aws_config::{BehaviorVersion, Region, SdkConfig};
use reconcile::aws::Aws;
use reconcile::engine::plan_environment;
use reconcile::plan::{Action, Operation, Plan};

use super::support::root;

/// Answers each AWS operation with a recorded body, chosen by `X-Amz-Target` or the query `Action`.
struct RecordedAws {
    endpoint: String,
}

impl RecordedAws {
    fn start(bodies: BTreeMap<&'static str, String>) -> RecordedAws {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let endpoint = format!("http://{}", listener.local_addr().unwrap());
        let bodies = Arc::new(bodies);
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let bodies = bodies.clone();
                std::thread::spawn(move || serve(stream, &bodies));
            }
        });
        RecordedAws { endpoint }
    }

    fn sdk_config(&self) -> SdkConfig {
        SdkConfig::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new("ap-south-1"))
            .endpoint_url(&self.endpoint)
            .credentials_provider(aws_sdk_ecs::config::SharedCredentialsProvider::new(
                aws_sdk_ecs::config::Credentials::new("testing", "testing", None, None, "tests"),
            ))
            .build()
    }
}

fn serve(stream: std::net::TcpStream, bodies: &BTreeMap<&'static str, String>) {
    let mut writer = stream.try_clone().unwrap();
    let mut reader = BufReader::new(stream);
    loop {
        let mut target = String::new();
        let mut length = 0usize;
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        let request_line = line.trim_end().to_string();
        loop {
            line.clear();
            if reader.read_line(&mut line).unwrap_or(0) == 0 {
                return;
            }
            let header = line.trim_end();
            if header.is_empty() {
                break;
            }
            if let Some((name, value)) = header.split_once(':') {
                match name.to_ascii_lowercase().as_str() {
                    "x-amz-target" => target = value.trim().to_string(),
                    "content-length" => length = value.trim().parse().unwrap_or(0),
                    _ => {}
                }
            }
        }
        let mut body = vec![0u8; length];
        if reader.read_exact(&mut body).is_err() {
            return;
        }
        let body = String::from_utf8_lossy(&body);
        let operation = super::support::operation_name(&request_line, &target, &body);
        let (status, content_type, answer) = match bodies.get(operation.as_str()) {
            Some(answer) if answer.starts_with('<') => ("200 OK", "text/xml", answer.clone()),
            Some(answer) => ("200 OK", "application/x-amz-json-1.1", answer.clone()),
            None => (
                "400 Bad Request",
                "application/x-amz-json-1.1",
                format!(
                    r#"{{"__type":"InvalidParameterException","message":"no recording for {operation}"}}"#
                ),
            ),
        };
        let response = format!(
            "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\n\r\n{answer}",
            answer.len()
        );
        if writer.write_all(response.as_bytes()).is_err() {
            return;
        }
    }
}

fn recording(name: &str) -> String {
    std::fs::read_to_string(root().join("tests/fixtures/aws").join(name)).unwrap()
}

fn recordings() -> BTreeMap<&'static str, String> {
    BTreeMap::from([
        ("GetCallerIdentity", recording("get-caller-identity.xml")),
        ("DescribeImages", recording("describe-images.json")),
        ("DescribeClusters", recording("describe-clusters.json")),
        ("DescribeServices", recording("describe-services.json")),
        (
            "DescribeTaskDefinition",
            recording("describe-task-definition.json"),
        ),
        (
            "ListTaskDefinitions",
            recording("list-task-definitions.json"),
        ),
        (
            "DescribeDBInstances",
            recording("describe-db-instances.xml"),
        ),
        (
            "DescribeReplicationGroups",
            recording("describe-replication-groups.xml"),
        ),
        (
            "DescribeCacheClusters",
            recording("describe-cache-clusters.xml"),
        ),
        ("ListBrokers", recording("list-brokers.json")),
        ("DescribeBroker", recording("describe-broker.json")),
        ("DescribeLogGroups", recording("describe-log-groups.json")),
        ("ListServices", recording("list-services.json")),
    ])
}

async fn plan_against(bodies: BTreeMap<&'static str, String>) -> (Plan, Vec<String>) {
    plan_state_against("tests/fixtures/aws/state/production.yaml", bodies).await
}

async fn plan_state_against(
    state: &str,
    bodies: BTreeMap<&'static str, String>,
) -> (Plan, Vec<String>) {
    let server = RecordedAws::start(bodies);
    let aws = Aws::from_config(&server.sdk_config());
    let state = reconcile::state::load_file(&root().join(state), &|_| None).unwrap();
    let (plan, _) = plan_environment(&aws, &state).await.unwrap();
    (plan, aws.calls.operations())
}

fn field_paths(plan: &Plan, name: &str) -> Vec<String> {
    plan.changes
        .iter()
        .find(|c| c.resource.name == name)
        .map(|c| c.fields.iter().map(|f| f.path.clone()).collect())
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread")]
async fn what_aws_adds_and_reorders_is_not_a_change() {
    let (plan, calls) = plan_against(recordings()).await;
    let changed: Vec<_> = plan
        .changes
        .iter()
        .filter(|c| c.action != Action::NoOp)
        .collect();
    assert!(changed.is_empty(), "{}", reconcile::render::text(&plan));
    assert_eq!(
        plan.changes.len(),
        8,
        "image, cluster, 3 backing services, log group, task definition, service"
    );
    assert_eq!(calls.len(), 12, "{calls:?}");
}

/// A revision with the settings real teams add (ARM64, a FireLens sidecar it waits for, EFS with
/// an access point and IAM, task storage, ulimits, labels, an init process, dropped capabilities,
/// stop timeouts, a `.env` file in S3, named ports), as AWS describes it: AWS's own additions
/// (empty lists, `host: {}`, `readOnly: false`, `rootDirectory: /`, requiresAttributes) and its
/// order are not changes against the state that says the same.
#[tokio::test(flavor = "multi_thread")]
async fn a_revision_with_sidecars_volumes_and_limits_matches_the_state_that_says_so() {
    let mut bodies = recordings();
    bodies.insert(
        "DescribeTaskDefinition",
        recording("describe-task-definition-sidecars.json"),
    );
    let state = "tests/fixtures/aws/state/sidecars/production.yaml";
    let (plan, _) = plan_state_against(state, bodies.clone()).await;
    // Only reconcile's own record moves: the service's fingerprint tag names the plain state.
    let changed: Vec<_> = plan
        .changes
        .iter()
        .filter(|c| c.action != Action::NoOp)
        .filter(|c| !(c.fields.is_empty() && matches!(c.operation, Operation::TagResource { .. })))
        .collect();
    assert!(changed.is_empty(), "{}", reconcile::render::text(&plan));

    // The same revision against the plain state: every setting it adds is a named difference,
    // and none is a setting outside the format.
    let (plan, _) = plan_against(bodies).await;
    let paths = field_paths(&plan, "kaapi-task");
    for expected in [
        "runtime_platform.cpu_architecture",
        "ephemeral_storage_gib",
        "pid_mode",
        "containers.backend.depends_on",
        "containers.backend.linux_parameters.init_process_enabled",
        "containers.backend.log_configuration.log_driver",
        "containers.celery-worker.ulimits",
        "containers.celery-worker.environment_files",
        "containers.log-router",
    ] {
        assert!(
            paths.iter().any(|p| p.starts_with(expected)),
            "{expected} in {paths:?}"
        );
    }
    assert!(
        !paths.iter().any(|p| p.starts_with("unmanaged")),
        "{paths:?}"
    );
}

/// Each field of each resource that is not plainly equal, as `resource field class`.
fn classes(plan: &Plan) -> Vec<String> {
    plan.changes
        .iter()
        .flat_map(|change| {
            change.fields.iter().map(move |field| {
                format!(
                    "{} {} {}",
                    change.resource.name,
                    field.path,
                    field.class.map(|c| c.label()).unwrap_or("-")
                )
            })
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn pending_changes_patch_releases_and_autoscaled_storage_are_not_changes() {
    // RDS reports 16.4 for "16", 64 GiB grown by autoscaling for 50 (max 200), and the instance
    // class the state asks for as pending; ElastiCache 7.1.0 for "7.1"; Amazon MQ the instance
    // type as pending and no users. None of it is a change to make.
    let (plan, _) = plan_against(recordings()).await;
    assert!(!plan.has_changes(), "{}", reconcile::render::text(&plan));
    assert_eq!(
        classes(&plan),
        [
            "kaapi-postgres instance_class pending: accepted by AWS, not yet applied",
            "kaapi-rabbitmq instance_type pending: accepted by AWS, not yet applied",
        ]
    );
    let text = anstream::adapter::strip_str(&reconcile::render::text(&plan)).to_string();
    assert!(
        text.contains("instance_class: \"db.t4g.medium\" -> \"db.t4g.large\"  (pending: accepted by AWS, not yet applied)"),
        "{text}"
    );
    // Tagged as this environment's but named by no entry: reported, never deleted. Staging's
    // instance in the same account is not reported.
    assert_eq!(plan.warnings.len(), 2, "{:?}", plan.warnings);
    assert!(
        plan.warnings[0].starts_with(
            "RDS instance kaapi-analytics is tagged as this environment's but no entry"
        )
    );
    assert!(plan.warnings[1].starts_with("ElastiCache replication group kaapi-sessions is tagged"));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_real_difference_in_the_same_responses_is_found() {
    let mut bodies = recordings();
    let edited = bodies["DescribeTaskDefinition"].replacen(
        r#"{"name": "PROJECT_NAME", "value": "Kaapi"}"#,
        r#"{"name": "PROJECT_NAME", "value": "Kaapi (console edit)"}"#,
        1,
    );
    assert_ne!(edited, bodies["DescribeTaskDefinition"]);
    bodies.insert("DescribeTaskDefinition", edited);
    let services =
        bodies["DescribeServices"].replacen(r#""desiredCount": 2,"#, r#""desiredCount": 3,"#, 1);
    bodies.insert("DescribeServices", services);

    let (plan, _) = plan_against(bodies).await;
    assert_eq!(
        field_paths(&plan, "kaapi-task"),
        ["containers.celery-worker.environment.PROJECT_NAME"]
    );
    assert_eq!(
        field_paths(&plan, "kaapi-service"),
        ["task_definition", "desired_count"]
    );
}

/// A revision that names the image by the state's tag (registered by hand, or before pinning) is
/// kept: nothing tells what the tag named when ECS resolved it. One naming another tag moves to a
/// revision naming the digest the state's tag names, which a revert can bring back exactly.
#[tokio::test(flavor = "multi_thread")]
async fn a_revision_naming_the_states_tag_is_kept_and_any_other_moves_to_the_digest() {
    let digest = "sha256:4f53cda18c2baa0c0354bb5f9a3ecbe5ed12ab4d8e11ba873c2f11161202b945";
    let retagged = |tag: &str| {
        let mut bodies = recordings();
        let tagged = bodies["DescribeTaskDefinition"].replace(
            &format!("kaapi-repo@{digest}"),
            &format!("kaapi-repo:{tag}"),
        );
        assert_ne!(tagged, bodies["DescribeTaskDefinition"]);
        bodies.insert("DescribeTaskDefinition", tagged);
        bodies
    };
    let (plan, _) = plan_against(retagged("v1.7.2")).await;
    assert!(
        field_paths(&plan, "kaapi-task").is_empty(),
        "{}",
        reconcile::render::text(&plan)
    );

    let (plan, _) = plan_against(retagged("v1.7.1")).await;
    assert_eq!(
        field_paths(&plan, "kaapi-task"),
        ["containers.backend.image", "containers.celery-worker.image"]
    );
    let change = plan
        .changes
        .iter()
        .find(|c| c.resource.name == "kaapi-task")
        .unwrap();
    assert_eq!(
        change.fields[0].after,
        Some(serde_json::json!(format!(
            "024209611402.dkr.ecr.ap-south-1.amazonaws.com/kaapi-repo@{digest}"
        )))
    );
    // The text shows the digest as Docker does, its first 12 digits; the plan keeps it whole.
    assert!(
        reconcile::render::text(&plan).contains(&format!("kaapi-repo:v1.7.2 ({})", &digest[..19])),
        "{}",
        reconcile::render::text(&plan)
    );
    assert_eq!(plan.image_digest.as_deref(), Some(digest));
}

/// The model-form copy of the recorded environment that the core's planner tests start from
/// (they cannot run the SDK). Regenerate with `RECONCILE_BLESS=1 cargo test --test it recorded`.
const LIVE_MODEL: &str = "tests/fixtures/aws/live-production.json";

#[tokio::test(flavor = "multi_thread")]
async fn the_planners_recorded_fixture_is_what_observe_reads_from_the_recordings() {
    let server = RecordedAws::start(recordings());
    let aws = Aws::from_config(&server.sdk_config());
    let state = reconcile::state::load_file(
        &root().join("tests/fixtures/aws/state/production.yaml"),
        &|_| None,
    )
    .unwrap();
    let live = reconcile::aws::observe::observe(&aws, &state)
        .await
        .unwrap();
    let observed = serde_json::to_string_pretty(&live).unwrap() + "\n";
    let path = root().join(LIVE_MODEL);
    if std::env::var_os("RECONCILE_BLESS").is_some() {
        std::fs::write(&path, &observed).unwrap();
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert_eq!(
        observed, committed,
        "{LIVE_MODEL} is out of date: regenerate it with RECONCILE_BLESS=1"
    );
}
