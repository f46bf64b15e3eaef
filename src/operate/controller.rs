//! The operator's loop, kube-runtime style: each cycle fetches the repository, then reconciles
//! every environment that is due, a bounded number at once. Reconciling one environment reads its
//! state at its branch's newest commit, plans it against live AWS, and lets the pure policy
//! (`crate::sync::decide`) say whether to apply; an apply takes the environment's lock like any
//! other. Errors are events with a backoff, never the end of the loop; a commit whose apply
//! failed is attempted once. SIGTERM: the apply in flight ends after its AWS call, its lock is
//! released, exit 0.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use futures::StreamExt;

use super::git::Repo;
use super::http;
use super::notify::{GitHub, Notifier};
use super::report::{Attempt, EnvLabel, EnvStatus, ResultLabel, Shared};
use crate::aws::apply::{StepStatus, unallowed_replacements};
use crate::aws::fence::Fence;
use crate::aws::lock::{self, LockError, Release};
use crate::aws::stop::Stop;
use crate::aws::{Aws, SharedReads, sts};
use crate::drift::{Kind, classify};
use crate::state::DesiredState;
use crate::state::desired::COMMIT_TAG;
use crate::sync::{Decision, Found, Trigger, decide, window_state};

/// What `reconcile operate` was asked.
#[derive(Debug, Clone)]
pub struct Options {
    /// A URL git can fetch (`${NAME}` replaced by that environment variable) or a local path.
    pub repo: String,
    pub branch: String,
    pub every: Duration,
    pub listen: Option<SocketAddr>,
    /// The state folder inside the repository.
    pub state_path: String,
    /// Where the clone is kept.
    pub workdir: PathBuf,
    /// Environments reconciled at once.
    pub concurrency: usize,
    pub lock_lease: Duration,
    /// How long an apply follows each deployment.
    pub rollout_timeout: Duration,
    pub webhook: Option<String>,
    /// `OWNER/NAME`, API URL and token for commit statuses.
    pub github: Option<(String, String, String)>,
}

/// What the loop remembers of an environment between cycles.
#[derive(Debug, Default)]
struct Memory {
    /// The commit whose apply failed: not attempted again until a new commit or a retry.
    failed: Option<String>,
    /// Errors in a row, for the backoff.
    errors: u32,
    next_run: Option<Instant>,
    /// The drift count last notified, so that drift is told once, not every cycle.
    drift_told: usize,
}

/// How one environment's run ended.
#[derive(Debug)]
enum Outcome {
    InSync,
    Held,
    Applied,
    /// The apply of this commit failed.
    Failed {
        commit: String,
    },
    /// Another writer (CI, another operator) holds the lock.
    Locked,
    Error,
}

impl Outcome {
    fn label(&self) -> &'static str {
        match self {
            Outcome::InSync => "in_sync",
            Outcome::Held => "held",
            Outcome::Applied => "applied",
            Outcome::Failed { .. } => "failed",
            Outcome::Locked => "locked",
            Outcome::Error => "error",
        }
    }
}

/// What the cycle's environments share.
struct Context {
    options: Options,
    repo: Repo,
    shared: Arc<Shared>,
    notifier: Notifier,
    stop: Stop,
    /// Fences of the applies in flight, closed by a signal.
    fences: Arc<Mutex<Vec<Fence>>>,
    /// One SDK configuration per region (credentials resolved once, refreshed by the SDK).
    configs: tokio::sync::Mutex<HashMap<String, aws_config::SdkConfig>>,
}

impl Context {
    /// Clients of `region` with their own call log and fence.
    async fn aws(&self, region: &str) -> Aws {
        let mut configs = self.configs.lock().await;
        if !configs.contains_key(region) {
            let aws = Aws::connect(region).await;
            configs.insert(region.to_string(), aws.config.clone());
        }
        let mut aws = Aws::from_config(&configs[region]);
        aws.stop = self.stop.clone();
        aws
    }
}

/// Runs until SIGTERM or SIGINT; then exit code 0.
pub async fn run(options: Options) -> anyhow::Result<u8> {
    let fences: Arc<Mutex<Vec<Fence>>> = Arc::default();
    let closing = fences.clone();
    let stop = Stop::listen(move |signal| {
        if let Ok(fences) = closing.lock() {
            for fence in fences.iter() {
                fence.close(format!("{signal}: the operator is stopping"));
            }
        }
        tracing::warn!(%signal, "stopping: an apply in flight ends after its AWS call and releases its lock; send it again to exit at once");
    })
    .context("cannot listen for SIGINT and SIGTERM")?;
    let shared = Arc::new(Shared::new());
    if let Some(address) = options.listen {
        let listener = tokio::net::TcpListener::bind(address)
            .await
            .with_context(|| format!("cannot listen on {address}"))?;
        tracing::info!(address = %listener.local_addr()?, "serving /healthz, /metrics and /status");
        let router = http::router(shared.clone());
        let until = stop.clone();
        tokio::spawn(async move {
            let served = axum::serve(listener, router)
                .with_graceful_shutdown(async move {
                    until.wait().await;
                })
                .await;
            if let Err(error) = served {
                tracing::error!(%error, "the HTTP server stopped");
            }
        });
    }
    let repo = Repo::open(&options.repo, &options.workdir).await?;
    let notifier = Notifier::new(
        options.webhook.clone(),
        options
            .github
            .clone()
            .map(|(repository, api, token)| GitHub {
                api,
                repository,
                token,
            }),
    );
    let context = Context {
        options,
        repo,
        shared,
        notifier,
        stop: stop.clone(),
        fences,
        configs: tokio::sync::Mutex::new(HashMap::new()),
    };
    let mut memory: HashMap<String, Memory> = HashMap::new();
    while stop.requested().is_none() {
        cycle(&context, &mut memory).await;
        context.shared.metrics.cycles.inc();
        let wait = next_wait(&context.options, &memory);
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = stop.wait() => {}
        }
    }
    tracing::info!("operator stopped");
    Ok(0)
}

/// Until the next environment is due, at most one interval, at least 100 ms.
fn next_wait(options: &Options, memory: &HashMap<String, Memory>) -> Duration {
    let now = Instant::now();
    memory
        .values()
        .filter_map(|m| m.next_run)
        .map(|at| at.saturating_duration_since(now))
        .min()
        .unwrap_or(options.every)
        .min(options.every)
        .max(Duration::from_millis(100))
}

async fn cycle(context: &Context, memory: &mut HashMap<String, Memory>) {
    let options = &context.options;
    if let Err(error) = context.repo.fetch().await {
        // The last fetched commits still say what the environments should be.
        tracing::error!(error = %format!("{error:#}"), "fetch failed; reconciling from the last fetched commits");
    }
    let head = match context.repo.branch(&options.branch).await {
        Ok(Some(head)) => head,
        Ok(None) => {
            tracing::error!(branch = %options.branch, "the repository has no such branch");
            return;
        }
        Err(error) => {
            tracing::error!(error = %format!("{error:#}"), "cannot read the branch");
            return;
        }
    };
    let environments = match context.repo.environments(&head, &options.state_path).await {
        Ok(environments) => environments,
        Err(error) => {
            tracing::error!(error = %format!("{error:#}"), "cannot list the state files");
            return;
        }
    };
    if let Ok(mut status) = context.shared.status.lock() {
        status.retain(|name, _| environments.contains(name));
        for environment in &environments {
            status
                .entry(environment.clone())
                .or_insert_with(|| EnvStatus::new(environment, &options.branch));
        }
    }
    memory.retain(|name, _| environments.contains(name));
    let retried: Vec<String> = context
        .shared
        .retry
        .lock()
        .map(|mut r| std::mem::take(&mut *r).into_iter().collect())
        .unwrap_or_default();
    let now = Instant::now();
    let due: Vec<(String, Option<String>, usize)> = environments
        .iter()
        .filter_map(|environment| {
            let entry = memory.entry(environment.clone()).or_default();
            if retried.contains(environment) {
                entry.failed = None;
                entry.next_run = None;
            }
            entry
                .next_run
                .is_none_or(|at| at <= now)
                .then(|| (environment.clone(), entry.failed.clone(), entry.drift_told))
        })
        .collect();
    // Environments of one region share the cycle's region-wide reads.
    let reads: CycleReads = Mutex::default();
    let reads = &reads;
    let runs = futures::stream::iter(due.into_iter().map(|(environment, failed, told)| {
        let head = head.clone();
        async move {
            let (outcome, drift) =
                reconcile_environment(context, reads, &environment, &head, failed.as_deref(), told)
                    .await;
            (environment, outcome, drift)
        }
    }))
    .buffer_unordered(options.concurrency.max(1))
    .collect::<Vec<_>>()
    .await;
    for (environment, outcome, drift) in runs {
        let entry = memory.entry(environment.clone()).or_default();
        entry.drift_told = drift;
        match &outcome {
            Outcome::Error => entry.errors += 1,
            Outcome::Failed { commit } => {
                entry.errors = 0;
                entry.failed = Some(commit.clone());
            }
            Outcome::Applied => {
                entry.errors = 0;
                entry.failed = None;
            }
            _ => entry.errors = 0,
        }
        // An error comes back sooner, backing off: 5 s doubling, up to the interval.
        let wait = if entry.errors > 0 {
            options
                .every
                .min(Duration::from_secs(5) * 2u32.pow(entry.errors.min(6) - 1))
        } else {
            options.every
        };
        entry.next_run = Some(Instant::now() + wait);
        let labels = EnvLabel {
            environment: environment.clone(),
        };
        let metrics = &context.shared.metrics;
        metrics
            .syncs
            .get_or_create(&ResultLabel {
                environment: environment.clone(),
                result: outcome.label().into(),
            })
            .inc();
        metrics
            .last_success
            .get_or_create(&labels)
            .set(i64::from(!matches!(
                outcome,
                Outcome::Error | Outcome::Failed { .. }
            )));
        let next = jiff::Timestamp::now()
            .checked_add(jiff::SignedDuration::try_from(wait).unwrap_or_default())
            .ok();
        context.shared.update(&environment, |status| {
            status.result = outcome.label().into();
            status.next_run = next;
        });
    }
}

fn short(commit: &str) -> String {
    commit[..commit.len().min(12)].to_string()
}

/// The cycle's shared reads, by region.
type CycleReads = Mutex<HashMap<String, Arc<SharedReads>>>;

/// One environment's run: its outcome, and the drift count now told.
async fn reconcile_environment(
    context: &Context,
    reads: &CycleReads,
    environment: &str,
    head: &str,
    failed: Option<&str>,
    drift_told: usize,
) -> (Outcome, usize) {
    match reconcile(context, reads, environment, head, failed, drift_told).await {
        Ok(done) => done,
        Err(error) => {
            let text = format!("{error:#}");
            tracing::error!(environment, error = %text, "run failed");
            context.shared.update(environment, |status| {
                status.error = Some(text);
            });
            (Outcome::Error, drift_told)
        }
    }
}

/// The state file of `environment` at `commit`.
async fn load(context: &Context, environment: &str, commit: &str) -> anyhow::Result<DesiredState> {
    let path = format!(
        "{}/{environment}.yaml",
        context.options.state_path.trim_end_matches('/')
    );
    let text = context.repo.show(commit, &path).await?;
    let mut desired = crate::state::load_str(
        std::path::Path::new(&path),
        &text,
        &crate::state::process_env,
    )
    .map_err(|e| anyhow::anyhow!("{path} at {}: {e}", short(commit)))?;
    desired.commit = Some(short(commit));
    Ok(desired)
}

async fn reconcile(
    context: &Context,
    reads: &CycleReads,
    environment: &str,
    head: &str,
    failed: Option<&str>,
    drift_told: usize,
) -> anyhow::Result<(Outcome, usize)> {
    let options = &context.options;
    // The policy is read from the operator's branch; the state from the environment's own.
    let at_head = match load(context, environment, head).await {
        Ok(desired) => desired,
        Err(error) => {
            return Ok(
                failed_commit(context, environment, head, failed, format!("{error:#}")).await,
            );
        }
    };
    let branch = at_head
        .sync
        .branch
        .clone()
        .unwrap_or_else(|| options.branch.clone());
    let commit = if branch == options.branch {
        head.to_string()
    } else {
        context.repo.branch(&branch).await?.with_context(|| {
            format!("{environment} follows branch {branch}, which does not exist")
        })?
    };
    let desired = if commit == head {
        at_head
    } else {
        match load(context, environment, &commit).await {
            Ok(desired) => desired,
            Err(error) => {
                return Ok(failed_commit(
                    context,
                    environment,
                    &commit,
                    failed,
                    format!("{error:#}"),
                )
                .await);
            }
        }
    };
    let wanted = short(&commit);
    let mut aws = context.aws(&desired.region).await;
    aws.shared = reads
        .lock()
        .ok()
        .map(|mut reads| reads.entry(desired.region.clone()).or_default().clone());
    let planned = crate::engine::plan_environment(&aws, &desired).await;
    context.shared.count_calls(&aws.calls);
    let (plan, live) = match planned {
        Ok(planned) => planned,
        // What the commit asks cannot be planned (an image not in ECR, a setting AWS refuses):
        // that commit has failed, like an apply that failed.
        Err(crate::engine::Error::Plan(error)) => {
            return Ok(
                failed_commit(context, environment, &commit, failed, error.to_string()).await,
            );
        }
        Err(error) => return Err(error.into()),
    };
    let report = classify(&plan);
    let found = Found {
        has_changes: plan.has_changes(),
        drift: report.count(Kind::Drift),
        pending: report.count(Kind::Pending) + report.count(Kind::Unrecorded),
        replaces: unallowed_replacements(&plan, &[]),
    };
    let window = window_state(&desired.sync.windows, jiff::Timestamp::now());
    let mut decision = decide(&desired.sync, &found, &wanted, failed, &window);
    if let (
        Decision::Apply {
            trigger: Trigger::Commit,
        },
        Some(glob),
    ) = (&decision, &desired.sync.tags)
        && context.repo.tags_at(&commit, glob).await?.is_empty()
    {
        decision = Decision::Hold {
            reason: format!(
                "{wanted} has no tag matching `{glob}`: {environment} applies tagged commits only"
            ),
            until: None,
        };
    }
    let commit_live = desired
        .services
        .iter()
        .find_map(|s| live.services.get(&s.name)?.tags.get(COMMIT_TAG).cloned());
    let labels = EnvLabel {
        environment: environment.to_string(),
    };
    let metrics = &context.shared.metrics;
    metrics.drift.get_or_create(&labels).set(found.drift as i64);
    metrics
        .pending
        .get_or_create(&labels)
        .set(found.pending as i64);
    metrics
        .last_sync
        .get_or_create(&labels)
        .set(jiff::Timestamp::now().as_millisecond() as f64 / 1000.0);
    context.shared.update(environment, |status| {
        status.branch = branch.clone();
        status.commit_wanted = Some(wanted.clone());
        status.commit_live = commit_live.clone();
        status.last_sync = Some(jiff::Timestamp::now());
        status.decision = Some(decision.clone());
        status.drift = found.drift;
        status.pending = found.pending;
        status.window = window.clone();
        status.error = None;
    });
    tracing::info!(
        environment,
        commit = %wanted,
        drift = found.drift,
        pending = found.pending,
        decision = %serde_json::to_string(&decision).unwrap_or_default(),
        "planned"
    );
    let trigger = match &decision {
        Decision::InSync => return Ok((Outcome::InSync, 0)),
        Decision::Hold { .. } => {
            let mut told = drift_told;
            if found.drift > 0 && found.drift != drift_told {
                let fields: Vec<String> = report
                    .differences
                    .iter()
                    .filter(|d| d.kind == Kind::Drift)
                    .map(|d| format!("{} {}", d.resource.kind.label(), d.resource.name))
                    .collect();
                context
                    .notifier
                    .event(&format!(
                        "reconcile: {environment} drifted from {wanted}: {} ({} difference(s) made behind git's back; self_heal is {})",
                        fields.join(", "),
                        found.drift,
                        if desired.sync.self_heal { "on" } else { "off" }
                    ))
                    .await;
                told = found.drift;
            }
            return Ok((Outcome::Held, if found.drift == 0 { 0 } else { told }));
        }
        Decision::Apply { trigger } => *trigger,
    };
    let started = Instant::now();
    let applied = apply_locked(context, &desired).await;
    metrics
        .apply_seconds
        .get_or_create(&labels)
        .observe(started.elapsed().as_secs_f64());
    let how = match trigger {
        Trigger::Commit => "new commit",
        Trigger::SelfHeal => "self_heal",
    };
    let at = jiff::Timestamp::now();
    match applied {
        Ok(Applied::Done(changes)) => {
            tracing::info!(environment, commit = %wanted, changes, trigger = how, "applied");
            context.shared.update(environment, |status| {
                status.last_attempt = Some(Attempt {
                    commit: wanted.clone(),
                    at,
                    outcome: "succeeded".into(),
                    error: None,
                });
            });
            context
                .notifier
                .event(&format!(
                    "reconcile: applied {wanted} to {environment} ({changes} change(s), {how})"
                ))
                .await;
            context
                .notifier
                .commit_status(
                    &commit,
                    environment,
                    "success",
                    &format!("applied to {environment}"),
                )
                .await;
            Ok((Outcome::Applied, 0))
        }
        Ok(Applied::Failed(error)) => {
            let (outcome, _) = failed_commit(context, environment, &commit, None, error).await;
            Ok((outcome, drift_told))
        }
        Ok(Applied::Locked(holder)) => {
            tracing::info!(environment, holder = %holder, "another apply holds the lock; next cycle");
            context.shared.update(environment, |status| {
                status.decision = Some(Decision::Hold {
                    reason: format!("locked by {holder}"),
                    until: None,
                });
            });
            Ok((Outcome::Locked, drift_told))
        }
        Err(error) => Err(error),
    }
}

/// A commit whose state cannot be loaded or planned: reported (status, notification, commit
/// status) the first time, then held until a new commit or a retry. The drift count told is
/// kept.
async fn failed_commit(
    context: &Context,
    environment: &str,
    commit: &str,
    failed: Option<&str>,
    error: String,
) -> (Outcome, usize) {
    let wanted = short(commit);
    if failed == Some(wanted.as_str()) {
        context.shared.update(environment, |status| {
            status.commit_wanted = Some(wanted.clone());
            status.decision = Some(Decision::Hold {
                reason: format!("{wanted} failed; waiting for a new commit or a retry"),
                until: None,
            });
        });
        return (Outcome::Held, 0);
    }
    tracing::error!(environment, commit = %wanted, %error, "the commit failed to apply");
    context.shared.update(environment, |status| {
        status.commit_wanted = Some(wanted.clone());
        status.last_sync = Some(jiff::Timestamp::now());
        status.decision = None;
        status.last_attempt = Some(Attempt {
            commit: wanted.clone(),
            at: jiff::Timestamp::now(),
            outcome: "failed".into(),
            error: Some(error.clone()),
        });
    });
    context
        .notifier
        .event(&format!(
            "reconcile: the apply of {wanted} to {environment} failed: {error}. It is not attempted again until a new commit (or POST /retry/{environment})."
        ))
        .await;
    context
        .notifier
        .commit_status(commit, environment, "failure", &error)
        .await;
    (Outcome::Failed { commit: wanted }, 0)
}

/// How an apply under the lock ended.
enum Applied {
    /// Every step done: how many changes.
    Done(usize),
    /// A step failed (or the stop interrupted it): the first failure.
    Failed(String),
    /// Someone else holds the environment's lock.
    Locked(String),
}

/// Applies `desired` under its lock, planning afresh once the lock is held.
async fn apply_locked(context: &Context, desired: &DesiredState) -> anyhow::Result<Applied> {
    let aws = context.aws(&desired.region).await;
    if let Ok(mut fences) = context.fences.lock() {
        fences.push(aws.fence.clone());
    }
    let result = apply_with(context, &aws, desired).await;
    if let Ok(mut fences) = context.fences.lock() {
        fences.retain(|fence| !fence.same(&aws.fence));
    }
    context.shared.count_calls(&aws.calls);
    result
}

async fn apply_with(
    context: &Context,
    aws: &Aws,
    desired: &DesiredState,
) -> anyhow::Result<Applied> {
    let options = &context.options;
    let account = sts::account(aws).await?;
    if let Some(expected) = &desired.account
        && *expected != account
    {
        anyhow::bail!("the credentials are for account {account}, not {expected}");
    }
    let (table, key) = lock::key_of(desired);
    let lock =
        match lock::acquire(aws, &table, &key, &desired.environment, options.lock_lease).await {
            Ok(lock) => lock,
            Err(LockError::Held { holder, .. }) => return Ok(Applied::Locked(holder)),
            Err(error) => return Err(error.into()),
        };
    let environment = desired.environment.clone();
    let renewal = lock.keep_alive(aws, move |warning| {
        tracing::warn!(environment = %environment, %warning, "lock renewal");
    });
    let outcome = async {
        let (plan, _) = crate::engine::plan_environment(aws, desired).await?;
        if !plan.has_changes() {
            return Ok(Applied::Done(0));
        }
        let refused = unallowed_replacements(&plan, &[]);
        if !refused.is_empty() {
            return Ok(Applied::Failed(format!(
                "the plan replaces {}: the operator never replaces a data store",
                refused.join(", ")
            )));
        }
        let environment = desired.environment.as_str();
        let mut on_step = |step: &crate::aws::apply::StepOutcome| {
            tracing::info!(environment, step = %format!("{} {}", step.resource.kind.label(), step.resource.name), status = ?step.status, "step");
        };
        let mut progress = |resource: &crate::plan::Resource, line: String| {
            tracing::debug!(environment, step = %format!("{} {}", resource.kind.label(), resource.name), %line, "progress");
        };
        let report = crate::aws::apply::apply(
            aws,
            &plan,
            crate::aws::apply::Options {
                allow_replace: &[],
                on_step: &mut on_step,
                progress: &mut progress,
                wait: Some(options.rollout_timeout),
            },
        )
        .await;
        if report.succeeded() {
            return Ok(Applied::Done(
                report
                    .steps
                    .iter()
                    .filter(|s| s.resource.kind != crate::plan::ResourceKind::Rollout)
                    .count(),
            ));
        }
        let failure = report
            .steps
            .iter()
            .find_map(|step| match &step.status {
                StepStatus::Failed { error } => Some(format!(
                    "{} {}: {error}",
                    step.resource.kind.label(),
                    step.resource.name
                )),
                _ => None,
            })
            .or_else(|| {
                report.steps.iter().find_map(|step| match &step.status {
                    StepStatus::NotAttempted { why } => Some(why.clone()),
                    _ => None,
                })
            })
            .unwrap_or_else(|| "the apply did not complete".into());
        Ok::<_, anyhow::Error>(Applied::Failed(failure))
    }
    .await;
    renewal.abort();
    match lock.release(aws).await {
        Release::Released => {}
        Release::TakenOver { holder } => {
            tracing::warn!(holder = %holder, "the lock had been taken over before it was released")
        }
        Release::Failed(reason) => {
            tracing::warn!(%reason, "the lock could not be released; it expires with its lease")
        }
    }
    outcome
}
