//! `reconcile operate` on the emulator, with a local bare git repository as the remote: commits
//! to staging are applied within two cycles; production's are planned and reported but applied
//! only once a version tag points at them; drift is undone where `self_heal` is on and reported
//! (status, metrics, webhook) where it is off; a commit that fails is attempted once and the
//! fixing commit applied; a deny window holds an apply and says until when; SIGTERM during an
//! apply releases the lock and exits 0, and the next start converges.

use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use reconcile::aws::Aws;

use super::support::{
    Emulator, Seed, bare_repository, free_port, git, plan_and_apply, reconcile_command,
    running_image,
};

/// A repository holding the example state files: `origin.git` is the remote the operator
/// fetches, `dev` a developer's clone.
struct Repository {
    dir: tempfile::TempDir,
}

impl Repository {
    /// The examples, with `edit` applied to each file's text, committed and pushed.
    fn new(edit: impl Fn(&str, String) -> String) -> Repository {
        let dir = tempfile::tempdir().unwrap();
        let dev = bare_repository(dir.path(), edit);
        git(&dev, &["add", "."]);
        git(&dev, &["commit", "--quiet", "-m", "Kaapi"]);
        git(&dev, &["push", "--quiet", "origin", "main"]);
        Repository { dir }
    }

    fn origin(&self) -> PathBuf {
        self.dir.path().join("origin.git")
    }

    fn dev(&self) -> PathBuf {
        self.dir.path().join("dev")
    }

    fn file(&self, environment: &str) -> PathBuf {
        self.dev().join(format!("state/{environment}.yaml"))
    }

    /// Replaces `from` with `to` in a state file, commits and pushes; the commit's short form.
    fn commit(&self, environment: &str, from: &str, to: &str, message: &str) -> String {
        let text = std::fs::read_to_string(self.file(environment)).unwrap();
        assert!(text.contains(from), "{from:?} not in {environment}.yaml");
        std::fs::write(self.file(environment), text.replacen(from, to, 1)).unwrap();
        git(&self.dev(), &["commit", "--quiet", "-am", message]);
        git(&self.dev(), &["push", "--quiet", "origin", "main"]);
        git(&self.dev(), &["rev-parse", "--short=12", "HEAD"])
    }

    /// The state files as loaded for the example's environments (for the first apply).
    fn load(&self, environment: &str, seed: &Seed) -> reconcile::state::DesiredState {
        reconcile::state::load_file(&self.file(environment), &seed.lookup()).unwrap()
    }
}

/// A running operator.
struct Operator {
    child: Child,
    port: u16,
    log: PathBuf,
}

impl Operator {
    fn start(
        emulator: &Emulator,
        seed: &Seed,
        repository: &Path,
        workdir: &Path,
        extra: &[&str],
    ) -> Operator {
        let port = free_port();
        let log = workdir.with_extension(format!("{port}.log"));
        let listen = format!("127.0.0.1:{port}");
        let mut args = vec![
            "operate",
            "--repo",
            repository.to_str().unwrap(),
            "--every",
            "1s",
            "--listen",
            &listen,
            "--workdir",
            workdir.to_str().unwrap(),
            "--lock-lease",
            "6s",
        ];
        args.extend(extra);
        let child = reconcile_command(Some(&emulator.endpoint()), Some(seed), &args)
            .env("GITHUB_TOKEN", "test-github-token")
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap();
        Operator { child, port, log }
    }

    fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    async fn get(&self, path: &str) -> Option<String> {
        reqwest::get(self.url(path)).await.ok()?.text().await.ok()
    }

    /// `/status`, by environment.
    async fn status(&self, environment: &str) -> Option<serde_json::Value> {
        let all: serde_json::Value = serde_json::from_str(&self.get("/status").await?).ok()?;
        all.as_array()?
            .iter()
            .find(|s| s["environment"] == environment)
            .cloned()
    }

    /// The value of a metric sample (`name{labels}`) on `/metrics`.
    async fn metric(&self, sample: &str) -> Option<f64> {
        let text = self.get("/metrics").await?;
        text.lines()
            .find(|line| line.starts_with(sample) && line[sample.len()..].starts_with(' '))
            .and_then(|line| line.rsplit(' ').next()?.parse().ok())
    }

    async fn cycles(&self) -> f64 {
        self.metric("reconcile_cycles_total").await.unwrap_or(0.0)
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// SIGTERM, then the exit code.
    fn terminate(&mut self) -> Option<i32> {
        let _ = std::process::Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        self.child.wait().unwrap().code()
    }
}

impl Drop for Operator {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Polls `check` every 200 ms until it gives a value; panics with `what` after a minute (a
/// safety net against a hang, not a speed assertion: cycles are counted where speed matters).
async fn until<T, F, Fut>(what: &str, operator: &Operator, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    for _ in 0..300 {
        if let Some(value) = check().await {
            return value;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    panic!(
        "timed out waiting for {what}; operator log:\n{}",
        operator.log()
    );
}

/// Waits until the operator has found `environment` in sync.
async fn in_sync(operator: &Operator, environment: &str) {
    until(&format!("{environment} in sync"), operator, || async {
        (operator.status(environment).await?["result"] == "in_sync").then_some(())
    })
    .await;
}

/// A receiver standing in for the webhook and GitHub's API: every request posted to it, as
/// `PATH AUTHORIZATION BODY`.
async fn webhook() -> (String, Arc<Mutex<Vec<String>>>) {
    let received: Arc<Mutex<Vec<String>>> = Arc::default();
    let store = received.clone();
    let app = axum::Router::new().fallback(axum::routing::post(
        move |uri: axum::http::Uri, headers: axum::http::HeaderMap, body: String| {
            let store = store.clone();
            async move {
                let authorization = headers
                    .get("authorization")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("-")
                    .to_string();
                store
                    .lock()
                    .unwrap()
                    .push(format!("{} {authorization} {body}", uri.path()));
                "ok"
            }
        },
    ));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, received)
}

async fn desired_count(aws: &Aws, cluster: &str, service: &str) -> i32 {
    super::support::describe_service(aws, cluster, service)
        .await
        .desired_count()
}

#[tokio::test(flavor = "multi_thread")]
async fn staging_follows_main_production_waits_for_a_tag_and_drift_is_healed_or_reported() {
    let emulator = Emulator::start();
    let seed = emulator.seed(&["v1.8.0"], &["v1.8.0-main.3", "v1.9.0-main.1"]);
    let aws = Aws::from_config(&emulator.sdk_config());
    // Production follows version tags by itself and undoes drift; staging keeps the defaults.
    let repository = Repository::new(|environment, text| match environment {
        "production" => text.replace(
            "  auto: false\n  self_heal: false\n",
            "  auto: true\n  self_heal: true\n",
        ),
        _ => text,
    });
    for environment in ["staging", "production"] {
        let report = plan_and_apply(&aws, &repository.load(environment, &seed)).await;
        assert!(report.succeeded(), "{report:?}");
    }
    let (receiver, received) = webhook().await;
    let hook = format!("{receiver}/hook");
    let workdir = tempfile::tempdir().unwrap();
    let operator = Operator::start(
        &emulator,
        &seed,
        &repository.origin(),
        &workdir.path().join("operator"),
        &[
            "--webhook",
            &hook,
            "--github-repository",
            "ProjectTech4DevAI/kaapi-backend",
            "--github-api",
            &receiver,
        ],
    );
    let first = git(&repository.dev(), &["rev-parse", "--short=12", "HEAD"]);
    until("both environments in sync", &operator, || async {
        let staging = operator.status("staging").await?;
        let production = operator.status("production").await?;
        (staging["result"] == "in_sync" && production["result"] == "in_sync").then_some(())
    })
    .await;
    let staging = operator.status("staging").await.unwrap();
    assert_eq!(staging["commit_wanted"], first.as_str());

    // A commit to staging is applied within two cycles of being pushed.
    let before = operator.cycles().await;
    let bump = repository.commit(
        "staging",
        "tag: v1.8.0-main.3",
        "tag: v1.9.0-main.1",
        "staging: v1.9.0-main.1",
    );
    let applied = until("staging's commit applied", &operator, || async {
        let status = operator.status("staging").await?;
        (status["last_attempt"]["commit"] == bump.as_str()
            && status["last_attempt"]["outcome"] == "succeeded")
            .then_some(())
    });
    applied.await;
    let after = operator.cycles().await;
    assert!(after - before <= 2.0, "{before} -> {after} cycles");
    let digest = super::support::digest_of(&aws, "kaapi-staging-repo", "v1.9.0-main.1").await;
    assert!(
        running_image(&aws, "kaapi-staging-cluster", "kaapi-staging-service")
            .await
            .ends_with(&digest)
    );

    // A production commit without a tag: planned and reported, not applied.
    let scale = repository.commit(
        "production",
        "desired_count: 2",
        "desired_count: 3",
        "production: three API tasks",
    );
    let held = until(
        "production's untagged commit reported",
        &operator,
        || async {
            let status = operator.status("production").await?;
            (status["commit_wanted"] == scale.as_str() && status["pending"].as_u64()? > 0)
                .then_some(status)
        },
    )
    .await;
    assert!(
        held["decision"]["reason"]
            .as_str()
            .unwrap()
            .contains("has no tag matching `v*`"),
        "{held}"
    );
    assert!(
        operator
            .metric("reconcile_pending{environment=\"production\"}")
            .await
            .unwrap()
            >= 1.0
    );
    assert_eq!(
        desired_count(&aws, "kaapi-cluster", "kaapi-service").await,
        2
    );
    // The version tag: applied.
    git(&repository.dev(), &["tag", "v1.9.0"]);
    git(&repository.dev(), &["push", "--quiet", "origin", "v1.9.0"]);
    until("production's tagged commit applied", &operator, || async {
        let status = operator.status("production").await?;
        (status["last_attempt"]["commit"] == scale.as_str()
            && status["last_attempt"]["outcome"] == "succeeded")
            .then_some(())
    })
    .await;
    assert_eq!(
        desired_count(&aws, "kaapi-cluster", "kaapi-service").await,
        3
    );

    // Drift: undone in production (self_heal), reported in staging.
    emulator.tamper(
        "kaapi-cluster",
        "kaapi-celery-task",
        &["desired-count", "5"],
    );
    emulator.tamper(
        "kaapi-staging-cluster",
        "kaapi-staging-service",
        &["desired-count", "4"],
    );
    until("production healed", &operator, || async {
        (desired_count(&aws, "kaapi-cluster", "kaapi-celery-task").await == 1).then_some(())
    })
    .await;
    let reported = until("staging's drift reported", &operator, || async {
        let status = operator.status("staging").await?;
        (status["drift"].as_u64()? > 0).then_some(status)
    })
    .await;
    assert!(
        reported["decision"]["reason"]
            .as_str()
            .unwrap()
            .contains("self_heal is off"),
        "{reported}"
    );
    assert_eq!(
        desired_count(&aws, "kaapi-staging-cluster", "kaapi-staging-service").await,
        4
    );
    until("the drift notification", &operator, || async {
        received
            .lock()
            .unwrap()
            .iter()
            .any(|body| body.contains("staging drifted"))
            .then_some(())
    })
    .await;
    let bodies = received.lock().unwrap().clone();
    assert!(
        bodies
            .iter()
            .any(|b| b.starts_with("/hook ") && b.contains(&format!("applied {bump} to staging"))),
        "{bodies:?}"
    );
    // The commit status on the applied commit, with the token.
    let full = git(&repository.dev(), &["rev-parse", &bump]);
    assert!(
        bodies.iter().any(|b| b.starts_with(&format!(
            "/repos/ProjectTech4DevAI/kaapi-backend/statuses/{full} Bearer test-github-token "
        )) && b.contains("\"state\":\"success\"")
            && b.contains("\"context\":\"reconcile/staging\"")),
        "{bodies:?}"
    );
    // Told once, not every cycle.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let drift_told = received
        .lock()
        .unwrap()
        .iter()
        .filter(|b| b.contains("staging drifted"))
        .count();
    assert_eq!(drift_told, 1);

    // The metrics parse as Prometheus text.
    let text = operator.get("/metrics").await.unwrap();
    let lines = text.lines().map(|l| Ok(l.to_string()));
    let parsed = prometheus_parse::Scrape::parse(lines).unwrap();
    assert!(
        parsed.samples.iter().any(
            |s| s.metric == "reconcile_drift" && s.labels.get("environment") == Some("staging")
        ),
        "{text}"
    );
    assert!(
        parsed
            .samples
            .iter()
            .any(|s| s.metric == "reconcile_aws_calls_total"),
        "{text}"
    );
    assert_eq!(operator.get("/healthz").await.as_deref(), Some("ok\n"));
}

/// The lock item of an environment, as DynamoDB holds it: its holder, or `None`.
async fn lock_holder(aws: &Aws, environment: &str) -> Option<String> {
    let item = aws
        .dynamodb
        .get_item()
        .table_name("reconcile-locks")
        .key(
            "lock",
            aws_sdk_dynamodb::types::AttributeValue::S(format!("ap-south-1/{environment}")),
        )
        .consistent_read(true)
        .send()
        .await
        .ok()?
        .item?;
    item.get("holder")?.as_s().ok().cloned()
}

/// An emulator with staging applied as the examples' repository says (production not deployed).
async fn staging_running() -> (Emulator, Seed, Aws, Repository) {
    let emulator = Emulator::start();
    let seed = emulator.seed(&["v1.8.0"], &["v1.8.0-main.3", "v1.9.0-main.1"]);
    let aws = Aws::from_config(&emulator.sdk_config());
    let repository = Repository::new(|_, text| text);
    let report = plan_and_apply(&aws, &repository.load("staging", &seed)).await;
    assert!(report.succeeded(), "{report:?}");
    (emulator, seed, aws, repository)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failing_commit_is_attempted_once_the_fix_is_applied_and_a_deny_window_holds() {
    let (emulator, seed, aws, repository) = staging_running().await;
    let (receiver, received) = webhook().await;
    let hook = format!("{receiver}/hook");
    let workdir = tempfile::tempdir().unwrap();
    let operator = Operator::start(
        &emulator,
        &seed,
        &repository.origin(),
        &workdir.path().join("operator"),
        &["--webhook", &hook],
    );
    in_sync(&operator, "staging").await;

    // An image ECR does not hold: attempted once, reported, then held.
    let broken = repository.commit(
        "staging",
        "tag: v1.8.0-main.3",
        "tag: v9.9.9-main.1",
        "staging: an image never pushed",
    );
    let failed = until("the failed attempt reported", &operator, || async {
        let status = operator.status("staging").await?;
        (status["last_attempt"]["commit"] == broken.as_str()).then_some(status)
    })
    .await;
    assert_eq!(failed["last_attempt"]["outcome"], "failed", "{failed}");
    assert!(
        failed["last_attempt"]["error"]
            .as_str()
            .unwrap()
            .contains("v9.9.9-main.1 not found in ECR"),
        "{failed}"
    );
    let cycles = operator.cycles().await;
    until("three more cycles", &operator, || async {
        (operator.cycles().await >= cycles + 3.0).then_some(())
    })
    .await;
    assert_eq!(
        operator
            .metric("reconcile_syncs_total{environment=\"staging\",result=\"failed\"}")
            .await,
        Some(1.0),
        "attempted once"
    );
    let held = operator.status("staging").await.unwrap();
    assert!(
        held["decision"]["reason"]
            .as_str()
            .unwrap()
            .contains("failed; waiting for a new commit"),
        "{held}"
    );
    assert!(
        received
            .lock()
            .unwrap()
            .iter()
            .any(|b| b.contains(&format!("the apply of {broken} to staging failed"))),
        "{:?}",
        received.lock().unwrap()
    );

    // The fixing commit is applied.
    let fixed = repository.commit(
        "staging",
        "tag: v9.9.9-main.1",
        "tag: v1.9.0-main.1",
        "staging: the image that exists",
    );
    until("the fix applied", &operator, || async {
        let status = operator.status("staging").await?;
        (status["last_attempt"]["commit"] == fixed.as_str()
            && status["last_attempt"]["outcome"] == "succeeded")
            .then_some(())
    })
    .await;

    // A deny window in force holds the next commit, and status says until when.
    let windowed = repository.commit(
        "staging",
        "  self_heal: false\n",
        "  self_heal: false\n  windows:\n    - kind: deny\n      schedule: \"* * * * *\"\n      duration: 2h\n",
        "staging: frozen",
    );
    let windowed = repository.commit(
        "staging",
        "desired_count: 1",
        "desired_count: 2",
        &format!("staging: two tasks (after {windowed})"),
    );
    let held = until("the window holds the commit", &operator, || async {
        let status = operator.status("staging").await?;
        (status["commit_wanted"] == windowed.as_str() && status["window"]["state"] == "closed")
            .then_some(status)
    })
    .await;
    let until_text = held["window"]["until"].as_str().unwrap();
    let until_time: jiff::Timestamp = until_text.parse().unwrap();
    let left = until_time.duration_since(jiff::Timestamp::now());
    assert!(
        left > jiff::SignedDuration::from_mins(110) && left <= jiff::SignedDuration::from_mins(120),
        "{held}"
    );
    assert!(
        held["decision"]["reason"]
            .as_str()
            .unwrap()
            .contains("deny window `* * * * *` for 2h (UTC) is closed to applies"),
        "{held}"
    );
    assert_eq!(
        held["decision"]["until"].as_str(),
        Some(until_text),
        "{held}"
    );
    assert_eq!(
        desired_count(&aws, "kaapi-staging-cluster", "kaapi-staging-service").await,
        1
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn sigterm_during_an_apply_releases_the_lock_and_exits_0_and_the_next_start_converges() {
    let (emulator, seed, aws, repository) = staging_running().await;
    let workdir = tempfile::tempdir().unwrap();
    let clone = workdir.path().join("operator");
    let mut operator = Operator::start(&emulator, &seed, &repository.origin(), &clone, &[]);
    in_sync(&operator, "staging").await;
    // An image bump: a migration, then the rollout, seconds of work under the lock.
    repository.commit(
        "staging",
        "tag: v1.8.0-main.3",
        "tag: v1.9.0-main.1",
        "staging: v1.9.0-main.1",
    );
    until("the apply holding the lock", &operator, || async {
        lock_holder(&aws, "staging").await
    })
    .await;
    assert_eq!(operator.terminate(), Some(0), "{}", operator.log());
    assert_eq!(
        lock_holder(&aws, "staging").await,
        None,
        "{}",
        operator.log()
    );

    let next = Operator::start(&emulator, &seed, &repository.origin(), &clone, &[]);
    until("the next start converges", &next, || async {
        let status = next.status("staging").await?;
        (status["result"] == "in_sync" || status["result"] == "applied").then_some(())?;
        let image = running_image(&aws, "kaapi-staging-cluster", "kaapi-staging-service").await;
        let digest = super::support::digest_of(&aws, "kaapi-staging-repo", "v1.9.0-main.1").await;
        image.ends_with(&digest).then_some(())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn two_operators_never_apply_an_environment_at_once_and_one_carries_on_when_the_other_dies() {
    let (emulator, seed, aws, repository) = staging_running().await;
    let workdir = tempfile::tempdir().unwrap();
    let mut operators = [
        Operator::start(
            &emulator,
            &seed,
            &repository.origin(),
            &workdir.path().join("a"),
            &[],
        ),
        Operator::start(
            &emulator,
            &seed,
            &repository.origin(),
            &workdir.path().join("b"),
            &[],
        ),
    ];
    for operator in &operators {
        in_sync(operator, "staging").await;
    }
    let bump = repository.commit(
        "staging",
        "tag: v1.8.0-main.3",
        "tag: v1.9.0-main.1",
        "staging: v1.9.0-main.1",
    );
    // Whoever takes the lock first is killed with SIGKILL while it holds it: no release.
    let holder = until("an apply holding the lock", &operators[0], || async {
        lock_holder(&aws, "staging").await
    })
    .await;
    let victim = operators
        .iter()
        .position(|o| holder.contains(&format!("(pid {}", o.child.id())))
        .unwrap_or_else(|| panic!("{holder} is neither operator"));
    operators[victim].child.kill().unwrap();
    operators[victim].child.wait().unwrap();
    let survivor = &operators[1 - victim];
    // The survivor is refused while the dead one's lease lasts, then takes over and converges.
    until("the survivor applies after the lease", survivor, || async {
        let status = survivor.status("staging").await?;
        (status["last_attempt"]["commit"] == bump.as_str()
            && status["last_attempt"]["outcome"] == "succeeded")
            .then_some(())
    })
    .await;
    let digest = super::support::digest_of(&aws, "kaapi-staging-repo", "v1.9.0-main.1").await;
    assert!(
        running_image(&aws, "kaapi-staging-cluster", "kaapi-staging-service")
            .await
            .ends_with(&digest)
    );
    assert!(
        survivor
            .metric("reconcile_syncs_total{environment=\"staging\",result=\"locked\"}")
            .await
            .unwrap_or(0.0)
            >= 1.0,
        "the survivor found the lock held: {}",
        survivor.log()
    );
    assert_eq!(
        survivor
            .metric("reconcile_syncs_total{environment=\"staging\",result=\"applied\"}")
            .await,
        Some(1.0)
    );
}

/// The operator's task-role policy (examples/operator/iam-policy.json) allows exactly the AWS
/// calls the code makes, less those only other commands make (promote's image copy, history,
/// and the deletes of a data-store replacement, which the operator never does), plus what AWS
/// checks besides the call (PassRole, tagging on create, RDS's managed password).
#[test]
fn the_operators_iam_policy_allows_exactly_the_calls_it_makes() {
    fn pascal(snake: &str) -> String {
        snake
            .split('_')
            .map(|part| {
                let mut chars = part.chars();
                chars
                    .next()
                    .map(|c| c.to_ascii_uppercase().to_string() + chars.as_str())
                    .unwrap_or_default()
            })
            .collect()
    }
    let services = [
        "ecs",
        "ecr",
        "logs",
        "sts",
        "secretsmanager",
        "ssm",
        "rds",
        "elasticache",
        "mq",
        "dynamodb",
    ];
    let mut called = std::collections::BTreeSet::new();
    let mut files = vec![super::support::root().join("src")];
    while let Some(path) = files.pop() {
        if path.is_dir() {
            files.extend(std::fs::read_dir(&path).unwrap().map(|e| e.unwrap().path()));
            continue;
        }
        let text: String = std::fs::read_to_string(&path)
            .unwrap()
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect();
        for service in services {
            let needle = format!(".{service}.");
            for (at, _) in text.match_indices(&needle) {
                let rest = &text[at + needle.len()..];
                let name: String = rest
                    .chars()
                    .take_while(|c| c.is_ascii_lowercase() || *c == '_')
                    .collect();
                if !name.is_empty() && rest[name.len()..].starts_with("()") {
                    let action = pascal(&name);
                    let action = if service == "rds" {
                        action.replace("Db", "DB")
                    } else {
                        action
                    };
                    called.insert(format!("{service}:{action}"));
                }
            }
        }
    }
    let other_commands = [
        "ecr:BatchCheckLayerAvailability",
        "ecr:BatchGetImage",
        "ecr:CompleteLayerUpload",
        "ecr:GetDownloadUrlForLayer",
        "ecr:InitiateLayerUpload",
        "ecr:PutImage",
        "ecr:UploadLayerPart",
        "ecs:ListServiceDeployments",
        "ecs:DescribeServiceDeployments",
        "ecs:DescribeServiceRevisions",
        "logs:FilterLogEvents",
        "rds:DeleteDBInstance",
        "elasticache:DeleteReplicationGroup",
        "mq:DeleteBroker",
    ];
    for action in other_commands {
        assert!(
            called.remove(action),
            "{action} is no longer called: update this list"
        );
    }
    let besides = [
        "iam:PassRole",
        "logs:TagResource",
        "secretsmanager:CreateSecret",
        "secretsmanager:TagResource",
        "kms:DescribeKey",
    ];
    let policy: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(super::support::root().join("examples/operator/iam-policy.json"))
            .unwrap(),
    )
    .unwrap();
    let mut allowed = std::collections::BTreeSet::new();
    for statement in policy["Statement"].as_array().unwrap() {
        match &statement["Action"] {
            serde_json::Value::String(action) => {
                allowed.insert(action.clone());
            }
            serde_json::Value::Array(actions) => {
                allowed.extend(actions.iter().map(|a| a.as_str().unwrap().to_string()));
            }
            other => panic!("{other}"),
        }
    }
    for action in besides {
        assert!(allowed.remove(action), "{action} is not in the policy");
    }
    assert_eq!(
        allowed, called,
        "the policy and the calls the operator makes differ"
    );
}

/// The operator's example state file, the one that deploys it, is a valid state file.
#[test]
fn the_operators_own_state_file_validates() {
    let state = super::support::root().join("examples/operator/state");
    let output = super::support::reconcile_command(
        None,
        Some(&Seed {
            account: "024209611402".into(),
            subnets: vec!["subnet-0a1b2c3d".into(), "subnet-0e1f2a3b".into()],
            security_group: "sg-0a1b2c3d".into(),
            target_group: String::new(),
        }),
        &["validate", "--state", state.to_str().unwrap()],
    )
    .output()
    .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}
