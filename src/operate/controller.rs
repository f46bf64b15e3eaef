//! The operator's loop, kube-runtime style: each cycle fetches the repository, then reconciles
//! every environment that is due, a bounded number at once. Reconciling one environment reads its
//! state at its branch's newest commit, plans it against live AWS, and lets the pure policy
//! (`crate::sync::decide`) say whether to apply; an apply takes the environment's lock like any
//! other. Errors are events with a backoff, never the end of the loop; a commit whose apply
//! failed is attempted once. SIGTERM: the apply in flight ends after its AWS call, its lock is
//! released, exit 0.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use futures::StreamExt;

use super::context::{Context, Options};
use super::git::Repo;
use super::http;
use super::locked::{Applied, apply_locked};
use super::notify::{GitHub, Notifier};
use super::report::{Attempt, EnvLabel, EnvStatus, ResultLabel, Shared};
use crate::aws::SharedReads;
use crate::aws::apply::unallowed_replacements;
use crate::aws::fence::Fence;
use crate::aws::stop::Stop;
use crate::drift::{Kind, classify};
use crate::state::DesiredState;
use crate::state::desired::COMMIT_TAG;
use crate::sync::{Decision, Found, Trigger, decide, window_state};

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
