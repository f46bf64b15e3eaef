//! Test harness: a private moto emulator per test (pinned, installed into a virtualenv on first
//! use), seeding of what an environment presupposes, and helpers to run the built binary.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use aws_config::{BehaviorVersion, Region, SdkConfig};
use reconcile::state::DesiredState;

pub const REGION: &str = "ap-south-1";

pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn venv() -> PathBuf {
    std::env::var_os("RECONCILE_EMULATOR_VENV")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join(".emulator/venv"))
}

/// Installs the pinned emulator once per machine; concurrent test processes wait on a file lock.
fn ensure_installed() {
    let dir = root().join(".emulator");
    std::fs::create_dir_all(&dir).unwrap();
    let lock = std::fs::File::create(dir.join("install.lock")).unwrap();
    lock.lock().unwrap();
    let status = Command::new(root().join("scripts/emulator-setup"))
        .status()
        .expect("scripts/emulator-setup runs");
    assert!(status.success(), "installing the emulator failed");
    lock.unlock().unwrap();
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn answers(port: u16) -> bool {
    let Ok(mut stream) = TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
    if stream
        .write_all(b"GET /moto-api/ HTTP/1.0\r\nHost: localhost\r\n\r\n")
        .is_err()
    {
        return false;
    }
    let mut head = [0u8; 12];
    stream.read_exact(&mut head).is_ok() && head.ends_with(b"200")
}

/// A moto server of our own, stopped when dropped.
pub struct Emulator {
    child: Child,
    pub port: u16,
}

impl Emulator {
    pub fn start() -> Emulator {
        Self::start_with_env(&[])
    }

    pub fn start_with_env(env: &[(&str, &str)]) -> Emulator {
        ensure_installed();
        let port = free_port();
        let child = Self::launch(port, env);
        Emulator { child, port }
    }

    fn launch(port: u16, env: &[(&str, &str)]) -> Child {
        let log =
            std::fs::File::create(std::env::temp_dir().join(format!("moto-{port}.log"))).unwrap();
        let child = Command::new(venv().join("bin/python"))
            .arg(root().join("tests/emulator/launch.py"))
            .arg("127.0.0.1")
            .arg(port.to_string())
            .envs(env.iter().copied())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("the emulator starts");
        let deadline = Instant::now() + Duration::from_secs(60);
        while !answers(port) {
            assert!(
                Instant::now() < deadline,
                "the emulator did not answer on port {port}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        child
    }

    /// Stops the server and starts an empty one on the same port, as when AWS is unreachable
    /// for a moment and comes back (without what was created).
    pub fn restart(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        self.child = Self::launch(self.port, &[]);
    }

    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// SDK configuration pointing at this emulator.
    pub fn sdk_config(&self) -> SdkConfig {
        SdkConfig::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new(REGION))
            .endpoint_url(self.endpoint())
            .credentials_provider(aws_sdk_ecs::config::SharedCredentialsProvider::new(
                aws_sdk_ecs::config::Credentials::new("testing", "testing", None, None, "tests"),
            ))
            .build()
    }

    /// A new emulator seeded with the example environments' images: production `v1.8.0`,
    /// staging `v1.8.0-main.3`.
    pub fn seeded() -> (Emulator, Seed) {
        let emulator = Emulator::start();
        let seed = emulator.seed(&["v1.8.0"], &["v1.8.0-main.3"]);
        (emulator, seed)
    }

    /// Seeds what the examples presuppose: VPC, subnets, security group and target group; both
    /// Kaapi repositories with the given tags pushed; the Secrets Manager secrets and an SSM parameter.
    pub fn seed(&self, production_tags: &[&str], staging_tags: &[&str]) -> Seed {
        let output = Command::new(venv().join("bin/python"))
            .arg(root().join("tests/emulator/seed.py"))
            .args(["--endpoint", &self.endpoint(), "--region", REGION])
            .arg("--image")
            .arg(format!("kaapi-repo={}", production_tags.join(",")))
            .arg("--image")
            .arg(format!("kaapi-staging-repo={}", staging_tags.join(",")))
            .args(["--secret", "kaapi/production", "--secret", "kaapi/staging"])
            .args(["--parameter", "/kaapi/shared/SENTRY_DSN"])
            .output()
            .expect("seed.py runs");
        assert!(
            output.status.success(),
            "seeding failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        let seed: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
        Seed {
            account: seed["account"].as_str().unwrap().to_string(),
            subnets: seed["subnets"]
                .as_array()
                .unwrap()
                .iter()
                .map(|s| s.as_str().unwrap().to_string())
                .collect(),
            security_group: seed["security_group"].as_str().unwrap().to_string(),
            target_group: seed["target_group"].as_str().unwrap().to_string(),
        }
    }
}

impl Emulator {
    /// Pushes an image into `repository` under `tags`, as a build would (tests/emulator/push.py);
    /// its digest.
    pub fn push(&self, repository: &str, tags: &[&str]) -> String {
        let output = Command::new(venv().join("bin/python"))
            .arg(root().join("tests/emulator/push.py"))
            .args([
                "--endpoint",
                &self.endpoint(),
                "--region",
                REGION,
                repository,
            ])
            .args(tags)
            .output()
            .expect("push.py runs");
        assert!(
            output.status.success(),
            "push failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8_lossy(&output.stdout).trim().to_string()
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// What seeding created: the ids the state files read from the environment.
#[derive(Debug, Clone)]
pub struct Seed {
    pub account: String,
    pub subnets: Vec<String>,
    pub security_group: String,
    /// An ELBv2 target group (type ip) in the seeded VPC.
    pub target_group: String,
}

impl Seed {
    /// The `${env:…}` variables the example state files need.
    pub fn vars(&self) -> Vec<(String, String)> {
        vec![
            ("KAAPI_AWS_ACCOUNT_ID".into(), self.account.clone()),
            ("KAAPI_SUBNET_A".into(), self.subnets[0].clone()),
            ("KAAPI_SUBNET_B".into(), self.subnets[1].clone()),
            ("KAAPI_SECURITY_GROUP".into(), self.security_group.clone()),
        ]
    }

    pub fn lookup(&self) -> impl Fn(&str) -> Option<String> + use<> {
        let vars = self.vars();
        move |name| vars.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone())
    }
}

/// A copy of the example state files that a test may edit.
pub struct StateDir {
    pub dir: tempfile::TempDir,
}

impl StateDir {
    pub fn examples() -> StateDir {
        let dir = tempfile::tempdir().unwrap();
        for name in ["production.yaml", "staging.yaml"] {
            std::fs::copy(root().join("state").join(name), dir.path().join(name)).unwrap();
        }
        StateDir { dir }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn file(&self, environment: &str) -> PathBuf {
        self.dir.path().join(format!("{environment}.yaml"))
    }

    /// Replaces `from` with `to` in an environment's file; panics when `from` is absent.
    pub fn edit(&self, environment: &str, from: &str, to: &str) {
        let path = self.file(environment);
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.contains(from), "{from:?} not in {}", path.display());
        std::fs::write(&path, text.replacen(from, to, 1)).unwrap();
    }

    pub fn load(&self, environment: &str, seed: &Seed) -> reconcile::state::DesiredState {
        reconcile::state::load_file(&self.file(environment), &seed.lookup()).unwrap()
    }
}

/// Runs the built binary with the emulator's endpoint and the seeded variables.
pub fn reconcile(emulator: Option<&Emulator>, seed: Option<&Seed>, args: &[&str]) -> Output {
    reconcile_at(emulator.map(Emulator::endpoint).as_deref(), seed, args)
}

/// Runs the built binary against `endpoint` (the emulator, or a proxy in front of it).
pub fn reconcile_at(endpoint: Option<&str>, seed: Option<&Seed>, args: &[&str]) -> Output {
    reconcile_with(endpoint, seed, args, &[])
}

/// Runs the built binary against `endpoint` with extra environment variables (`RUST_LOG`, ...).
pub fn reconcile_with(
    endpoint: Option<&str>,
    seed: Option<&Seed>,
    args: &[&str],
    env: &[(&str, &str)],
) -> Output {
    reconcile_command(endpoint, seed, args)
        .envs(env.iter().copied())
        .output()
        .expect("the reconcile binary runs")
}

/// The built binary's command against `endpoint`, with test credentials, the seeded variables,
/// no colour, no log filter from the caller and no terminal on stdin.
pub fn reconcile_command(endpoint: Option<&str>, seed: Option<&Seed>, args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_reconcile"));
    command.args(args);
    with_aws_env(&mut command, endpoint, seed);
    command
}

/// `command` with what the built binary needs to reach the emulator and load the examples: the
/// endpoint, test credentials and the seeded variables; no colour, no RUST_LOG, stdin closed.
pub fn with_aws_env(command: &mut Command, endpoint: Option<&str>, seed: Option<&Seed>) {
    command
        .env_remove("RUST_LOG")
        .env("NO_COLOR", "1")
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .stdin(Stdio::null());
    if let Some(endpoint) = endpoint {
        command.env("AWS_ENDPOINT_URL", endpoint);
    }
    if let Some(seed) = seed {
        command.envs(seed.vars());
    }
}

pub fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

pub fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

impl Emulator {
    /// Builds Kaapi's production by hand, as it ran before reconcile (see
    /// tests/emulator/brownfield.py); `flags` are that script's options.
    pub fn brownfield(&self, seed: &Seed, flags: &[&str]) {
        let output = Command::new(venv().join("bin/python"))
            .arg(root().join("tests/emulator/brownfield.py"))
            .args([
                self.endpoint().as_str(),
                &seed.subnets[0],
                &seed.subnets[1],
                &seed.security_group,
            ])
            .args(flags)
            .output()
            .expect("brownfield.py runs");
        assert!(
            output.status.success(),
            "building the environment failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }

    /// Registers a task definition of `tests/fixtures/real-shapes` as written and runs it behind
    /// `service` in `cluster`, made by hand (see tests/emulator/adopt.py); its ARN.
    pub fn adopt(&self, seed: &Seed, fixture: &str, cluster: &str, service: &str) -> String {
        let output = Command::new(venv().join("bin/python"))
            .arg(root().join("tests/emulator/adopt.py"))
            .args([
                self.endpoint().as_str(),
                root()
                    .join("tests/fixtures/real-shapes")
                    .join(format!("{fixture}.json"))
                    .to_str()
                    .unwrap(),
                &seed.subnets[0],
                &seed.security_group,
                cluster,
                service,
            ])
            .output()
            .expect("adopt.py runs");
        assert!(
            output.status.success(),
            "registering {fixture} failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8_lossy(&output.stdout).trim().to_string()
    }

    /// Changes a live service behind reconcile's back (see tests/emulator/tamper.py).
    pub fn tamper(&self, cluster: &str, service: &str, change: &[&str]) {
        let output = Command::new(venv().join("bin/python"))
            .arg(root().join("tests/emulator/tamper.py"))
            .args([self.endpoint().as_str(), cluster, service])
            .args(change)
            .output()
            .expect("tamper.py runs");
        assert!(
            output.status.success(),
            "tampering failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
}

/// The plan for `desired`; the test fails on a planning error.
pub async fn plan_of(aws: &reconcile::aws::Aws, desired: &DesiredState) -> reconcile::plan::Plan {
    reconcile::engine::plan_environment(aws, desired)
        .await
        .unwrap()
        .0
}

/// Plans `desired` and applies that plan, as `reconcile apply --yes` does.
pub async fn plan_and_apply(
    aws: &reconcile::aws::Aws,
    desired: &DesiredState,
) -> reconcile::aws::apply::ApplyReport {
    let plan = plan_of(aws, desired).await;
    apply(aws, &plan).await
}

/// Applies `plan` with no replacement allowed and no output, as `reconcile apply --yes` does.
pub async fn apply(
    aws: &reconcile::aws::Aws,
    plan: &reconcile::plan::Plan,
) -> reconcile::aws::apply::ApplyReport {
    reconcile::aws::apply::apply(
        aws,
        plan,
        reconcile::aws::apply::Options {
            allow_replace: &[],
            on_step: &mut |_| {},
            progress: &mut |_, _| {},
            wait: Some(std::time::Duration::from_secs(120)),
        },
    )
    .await
}

/// The AWS operation an HTTP request calls: from `X-Amz-Target` (JSON protocols), `Action=` in the
/// body (query protocols), or method and path (Amazon MQ's REST protocol).
pub fn operation_name(request_line: &str, target: &str, body: &str) -> String {
    if let Some(name) = target.rsplit('.').next().filter(|name| !name.is_empty()) {
        return name.to_string();
    }
    if let Some(action) = body
        .split('&')
        .find_map(|pair| pair.strip_prefix("Action="))
    {
        return action.to_string();
    }
    let mut parts = request_line.split_whitespace();
    let (method, path) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    let path = path.split('?').next().unwrap_or(path);
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    match (method, segments.as_slice()) {
        ("GET", ["v1", "brokers"]) => "ListBrokers",
        ("POST", ["v1", "brokers"]) => "CreateBroker",
        ("GET", ["v1", "brokers", _]) => "DescribeBroker",
        ("PUT", ["v1", "brokers", _]) => "UpdateBroker",
        ("DELETE", ["v1", "brokers", _]) => "DeleteBroker",
        _ => "unknown",
    }
    .to_string()
}

/// The service as DescribeServices answers (panics when it is not there).
pub async fn describe_service(
    aws: &reconcile::aws::Aws,
    cluster: &str,
    service: &str,
) -> aws_sdk_ecs::types::Service {
    aws.ecs
        .describe_services()
        .cluster(cluster)
        .services(service)
        .send()
        .await
        .unwrap()
        .services()[0]
        .clone()
}

/// The task definition a service runs, as DescribeTaskDefinition answers.
pub async fn running_definition(
    aws: &reconcile::aws::Aws,
    cluster: &str,
    service: &str,
) -> aws_sdk_ecs::types::TaskDefinition {
    let service = describe_service(aws, cluster, service).await;
    aws.ecs
        .describe_task_definition()
        .task_definition(service.task_definition().unwrap())
        .send()
        .await
        .unwrap()
        .task_definition()
        .unwrap()
        .clone()
}

/// The image of the first container of the task definition a service runs.
pub async fn running_image(aws: &reconcile::aws::Aws, cluster: &str, service: &str) -> String {
    running_definition(aws, cluster, service)
        .await
        .container_definitions()[0]
        .image()
        .unwrap()
        .to_string()
}

/// Runs git in `dir` as a developer (name, email, branch `main` for new repositories); its
/// stdout, trimmed. Panics when git fails.
pub fn git(dir: &Path, args: &[&str]) -> String {
    let output = Command::new("git")
        .args(["-c", "user.name=Dev", "-c", "user.email=dev@example.org"])
        .args([
            "-c",
            "init.defaultBranch=main",
            "-c",
            "advice.detachedHead=false",
        ])
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).trim().to_string()
}

/// The digest a tag names in the emulator's ECR.
pub async fn digest_of(aws: &reconcile::aws::Aws, repository: &str, tag: &str) -> String {
    aws.ecr
        .describe_images()
        .repository_name(repository)
        .image_ids(
            aws_sdk_ecr::types::ImageIdentifier::builder()
                .image_tag(tag)
                .build(),
        )
        .send()
        .await
        .unwrap()
        .image_details()[0]
        .image_digest()
        .unwrap()
        .to_string()
}

/// A remote and a developer's clone in `dir`: `origin.git` (bare, standing in for GitHub) and
/// `dev`, whose `state/` holds the example state files, each passed through `edit`. Nothing is
/// committed yet. The clone's path.
pub fn bare_repository(dir: &Path, edit: impl Fn(&str, String) -> String) -> PathBuf {
    let origin = dir.join("origin.git");
    std::fs::create_dir(&origin).unwrap();
    git(&origin, &["init", "--quiet", "--bare"]);
    git(dir, &["clone", "--quiet", "origin.git", "dev"]);
    let dev = dir.join("dev");
    std::fs::create_dir_all(dev.join("state")).unwrap();
    for environment in ["staging", "production"] {
        let text =
            std::fs::read_to_string(root().join(format!("state/{environment}.yaml"))).unwrap();
        std::fs::write(
            dev.join(format!("state/{environment}.yaml")),
            edit(environment, text),
        )
        .unwrap();
    }
    dev
}
