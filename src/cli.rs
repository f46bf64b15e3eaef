//! Command-line interface: flags, commands, output and exit codes.
//! Exit codes: 0 success or nothing to do, 2 changes present (plan), 1 error.

use std::io::{BufRead, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, bail};
use clap::{Parser, Subcommand, ValueEnum};

use crate::aws::Aws;
use crate::aws::apply::{StepOutcome, StepStatus};
use crate::plan::{Plan, ResourceKind};
use crate::state::{self, DesiredState};
use crate::{engine, render};

/// Exit code: success, nothing to change.
pub const EXIT_OK: u8 = 0;
/// Exit code: an error; nothing more was done after it.
pub const EXIT_ERROR: u8 = 1;
/// Exit code: the plan has changes.
pub const EXIT_CHANGES: u8 = 2;

#[derive(Debug, Parser)]
#[command(
    name = "reconcile",
    version,
    about = "Make AWS ECS match the state files in git: validate, render, plan, apply",
    after_help = "Exit codes: 0 success or no changes, 2 changes present (plan), 1 error."
)]
pub struct Cli {
    /// Folder with one state file per environment.
    #[arg(
        long,
        global = true,
        default_value = "state",
        env = "RECONCILE_STATE_DIR"
    )]
    pub state: PathBuf,
    /// Output format.
    #[arg(long, global = true, value_enum, default_value_t = Output::Text)]
    pub output: Output,
    /// Never colour the output (NO_COLOR is honoured too).
    #[arg(long, global = true)]
    pub no_color: bool,
    /// Log format on stderr; RUST_LOG sets the level (default: warn).
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Output {
    Text,
    Json,
    /// For pull-request comments and issues (plan, drift).
    Markdown,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check state files without calling AWS (all of them, or one environment).
    Validate {
        #[arg(long)]
        env: Option<String>,
    },
    /// Print an environment's resolved state, every default and derived name filled in.
    Render {
        /// The environment (state file name without `.yaml`); may be left out when there is one.
        #[arg(long)]
        env: Option<String>,
    },
    /// Show what apply would change. Exit 0: nothing to do; 2: changes; 1: error.
    Plan {
        /// The environment (state file name without `.yaml`); may be left out when there is one.
        #[arg(long)]
        env: Option<String>,
        /// Plan the state file as it was at this git revision (for example `HEAD~1`), to preview
        /// a rollback before committing the revert.
        #[arg(long, value_name = "GIT_REVISION")]
        rev: Option<String>,
        /// Also save the plan to FILE, for `reconcile apply FILE`: apply then does exactly this
        /// plan, and refuses it if the state file or anything it observed has changed since.
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
        /// Plan every environment in the state folder, four at a time, one after the other in
        /// the output. Exit 2 when any has changes.
        #[arg(long, conflicts_with_all = ["env", "rev", "out"])]
        all: bool,
    },
    /// Make AWS match the state file: shows the plan, asks, then does exactly that.
    Apply {
        /// A plan saved by `reconcile plan --out FILE`; without it, apply plans afresh.
        #[arg(value_name = "PLAN_FILE")]
        plan_file: Option<PathBuf>,
        /// The environment (state file name without `.yaml`); may be left out when there is one.
        #[arg(long)]
        env: Option<String>,
        /// Do not ask for confirmation (required when stdin is not a terminal).
        #[arg(long)]
        yes: bool,
        /// Return once the services are updated instead of following their deployments.
        #[arg(long)]
        no_wait: bool,
        /// How long to follow each service's deployment before giving up with an error (ECS
        /// goes on deploying), for example `20m`.
        #[arg(long, default_value = "30m", value_parser = humantime::parse_duration)]
        timeout: std::time::Duration,
        /// Allow replacing this backing service (its key under `backing:`), which deletes it
        /// (RDS and ElastiCache after a final snapshot) and creates it again. Repeatable.
        #[arg(long = "allow-replace", value_name = "KEY")]
        allow_replace: Vec<String>,
        /// How long the environment's apply lock lasts without renewal; a dead apply's lock
        /// expires after it.
        #[arg(long, default_value = "60s", value_parser = humantime::parse_duration)]
        lock_lease: std::time::Duration,
    },
    /// Report what differs between the state files and live AWS, telling drift (changed behind
    /// git's back) from pending work (state not applied yet). Read-only; takes no lock.
    /// Exit 0: clean; 2: differences; 1: error.
    Drift {
        /// One environment (default: the only one, or all with --all).
        #[arg(long, conflicts_with = "all")]
        env: Option<String>,
        /// Every environment in the state folder, checked concurrently.
        #[arg(long)]
        all: bool,
        /// Run forever, once per interval (jittered), for example `15m`: one summary line per
        /// run (and the report with `--output json`); errors are logged and retried, never fatal;
        /// SIGTERM or SIGINT stops it cleanly (exit 0).
        #[arg(long, value_parser = humantime::parse_duration)]
        every: Option<std::time::Duration>,
    },
    /// Which commit each service of an environment runs and whether its rollout finished.
    Status {
        #[arg(long)]
        env: Option<String>,
    },
    /// Remove an environment's apply lock, whoever holds it (after an apply died and you do not
    /// want to wait for its lease to run out).
    ForceUnlock {
        #[arg(long)]
        env: Option<String>,
    },
    /// Print the JSON Schema of the state file format.
    Schema,
}

/// The apply lock's table (`RECONCILE_LOCK_TABLE`, default `reconcile-locks`) and key.
fn lock_of(desired: &DesiredState) -> (String, String) {
    let table = std::env::var("RECONCILE_LOCK_TABLE")
        .unwrap_or_else(|_| crate::aws::lock::DEFAULT_TABLE.to_string());
    (table, format!("{}/{}", desired.region, desired.environment))
}

/// Parses the arguments, runs the command, prints any error once, and returns the exit code.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    if cli.no_color {
        anstream::ColorChoice::Never.write_global();
    }
    init_logging(cli.log_format);
    match run(cli) {
        Ok(code) => ExitCode::from(code),
        Err(error) => {
            let mut stderr = anstream::stderr();
            let text = format!("{error:#}");
            let text = if text.starts_with("error:") {
                text
            } else {
                format!("error: {text}")
            };
            let _ = writeln!(stderr, "{text}");
            ExitCode::from(EXIT_ERROR)
        }
    }
}

fn init_logging(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = match format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().try_init(),
    };
}

/// Loads the named environment, or the only one when none is named.
fn load(dir: &Path, environment: Option<&str>) -> anyhow::Result<DesiredState> {
    let path = state_path(dir, environment)?;
    let mut desired = state::load_file(&path, &state::process_env)?;
    desired.commit = commit_of(&path);
    Ok(desired)
}

/// The git commit a state file comes from (`+modified` when it differs from it); `None` outside a
/// git checkout.
fn commit_of(path: &Path) -> Option<String> {
    let folder = path.parent()?;
    let git = |args: &[&str]| {
        std::process::Command::new("git")
            .arg("-C")
            .arg(folder)
            .args(args)
            .output()
            .ok()
    };
    let head = git(&["rev-parse", "--short=12", "HEAD"]).filter(|o| o.status.success())?;
    let commit = String::from_utf8_lossy(&head.stdout).trim().to_string();
    let file = path.file_name()?.to_str()?;
    let clean = git(&["diff", "--quiet", "HEAD", "--", file]).is_some_and(|o| o.status.success());
    Some(if clean {
        commit
    } else {
        format!("{commit}+modified")
    })
}

/// Loads an environment's state file as it was at git revision `rev`.
fn load_at(dir: &Path, environment: Option<&str>, rev: &str) -> anyhow::Result<DesiredState> {
    let path = state_path(dir, environment)?;
    let file_name = path
        .file_name()
        .and_then(|name| name.to_str())
        .context("a state file name")?;
    let folder = path.parent().unwrap_or(dir);
    let output = std::process::Command::new("git")
        .arg("-C")
        .arg(folder)
        .arg("show")
        .arg(format!("{rev}:./{file_name}"))
        .output()
        .context("cannot run git (is it installed?)")?;
    if !output.status.success() {
        bail!(
            "cannot read {} at revision {rev}: {}",
            path.display(),
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    let source = String::from_utf8(output.stdout)
        .with_context(|| format!("{} at {rev} is not UTF-8", path.display()))?;
    let mut desired = state::load_str(&path, &source, &state::process_env)?;
    desired.file = PathBuf::from(format!("{}@{rev}", path.display()));
    Ok(desired)
}

/// The state file of `environment`, or the only one in `dir`.
fn state_path(dir: &Path, environment: Option<&str>) -> anyhow::Result<PathBuf> {
    Ok(match environment {
        Some(environment) => state::find(dir, environment)?,
        None => {
            let files = state::discover(dir)?;
            match files.as_slice() {
                [only] => only.clone(),
                [] => bail!("no state files (*.yaml) in {}", dir.display()),
                several => {
                    let names: Vec<String> = several
                        .iter()
                        .filter_map(|p| p.file_stem().and_then(|s| s.to_str()))
                        .map(str::to_string)
                        .collect();
                    bail!(
                        "{} holds several environments; name one with --env ({})",
                        dir.display(),
                        names.join(", ")
                    )
                }
            }
        }
    })
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")
}

/// Runs one parsed command and returns its exit code.
pub fn run(cli: Cli) -> anyhow::Result<u8> {
    let mut stdout = anstream::stdout();
    match &cli.command {
        Command::Validate { env } => {
            let files = match env {
                Some(env) => vec![state::find(&cli.state, env)?],
                None => state::discover(&cli.state)?,
            };
            if files.is_empty() {
                bail!("no state files (*.yaml) in {}", cli.state.display());
            }
            let mut problems = Vec::new();
            for file in &files {
                match state::load_file(file, &state::process_env) {
                    Ok(_) => writeln!(stdout, "ok: {}", file.display())?,
                    Err(diagnostics) => problems.extend(diagnostics.0),
                }
            }
            if problems.is_empty() {
                Ok(EXIT_OK)
            } else {
                Err(crate::diagnostic::Diagnostics(problems).into())
            }
        }
        Command::Render { env } => {
            let desired = load(&cli.state, env.as_deref())?;
            let text = match cli.output {
                Output::Json => serde_json::to_string_pretty(&desired)? + "\n",
                Output::Text | Output::Markdown => {
                    serde_saphyr::to_string(&desired).context("cannot render the state")?
                }
            };
            write!(stdout, "{text}")?;
            Ok(EXIT_OK)
        }
        Command::Drift { env, all, every } => {
            let desireds = if *all || (env.is_none() && state::discover(&cli.state)?.len() > 1) {
                state::discover(&cli.state)?
                    .iter()
                    .map(|path| state::load_file(path, &state::process_env).map_err(Into::into))
                    .collect::<anyhow::Result<Vec<_>>>()?
            } else {
                vec![load(&cli.state, env.as_deref())?]
            };
            let runtime = runtime()?;
            match every {
                None => runtime.block_on(drift_once(&cli, &desireds)),
                Some(interval) => runtime.block_on(drift_every(&cli, &desireds, *interval)),
            }
        }
        Command::Status { env } => {
            let desired = load(&cli.state, env.as_deref())?;
            runtime()?.block_on(async {
                let aws = Aws::connect(&desired.region).await;
                let live = crate::aws::observe::observe(&aws, &desired).await?;
                for service in &desired.services {
                    match live.services.get(&service.name) {
                        None => writeln!(stdout, "{}: not deployed", service.name)?,
                        Some(live_service) => {
                            let commit = live_service
                                .tags
                                .get(crate::state::desired::COMMIT_TAG)
                                .map_or("no commit recorded", String::as_str);
                            let desired_count =
                                live_service.settings.desired_count.unwrap_or_default();
                            let rollout = if live_service.pending_count == 0
                                && live_service.running_count == desired_count
                            {
                                "rollout finished"
                            } else {
                                "rollout in progress"
                            };
                            writeln!(
                                stdout,
                                "{}: {} from {commit}, {}/{desired_count} running, {rollout}",
                                service.name,
                                crate::plan::short_revision(&live_service.task_definition_arn),
                                live_service.running_count,
                            )?;
                        }
                    }
                }
                Ok::<_, anyhow::Error>(EXIT_OK)
            })
        }
        Command::ForceUnlock { env } => {
            let desired = load(&cli.state, env.as_deref())?;
            let (table, key) = lock_of(&desired);
            let removed = runtime()?.block_on(async {
                let aws = Aws::connect(&desired.region).await;
                crate::aws::lock::force_unlock(&aws, &table, &key).await
            })?;
            match removed {
                Some(holder) => writeln!(stdout, "removed the lock {key} held by {holder}")?,
                None => writeln!(stdout, "{key} was not locked")?,
            }
            Ok(EXIT_OK)
        }
        Command::Schema => {
            let schema = schemars::schema_for!(state::schema::StateFile);
            writeln!(stdout, "{}", serde_json::to_string_pretty(&schema)?)?;
            Ok(EXIT_OK)
        }
        Command::Plan { all: true, .. } => {
            let desireds = state::discover(&cli.state)?
                .iter()
                .map(|path| state::load_file(path, &state::process_env).map_err(Into::into))
                .collect::<anyhow::Result<Vec<_>>>()?;
            let plans = runtime()?.block_on(plan_all(&desireds))?;
            for plan in &plans {
                match cli.output {
                    Output::Text => write!(stdout, "{}", render::text(plan))?,
                    Output::Json => write!(stdout, "{}", render::json(plan))?,
                    Output::Markdown => write!(stdout, "{}", render::markdown(plan))?,
                }
            }
            Ok(if plans.iter().any(Plan::has_changes) {
                EXIT_CHANGES
            } else {
                EXIT_OK
            })
        }
        Command::Plan { env, rev, out, .. } => {
            let desired = match rev {
                Some(rev) => load_at(&cli.state, env.as_deref(), rev)?,
                None => load(&cli.state, env.as_deref())?,
            };
            let runtime = runtime()?;
            let plan = runtime.block_on(async {
                let aws = Aws::connect(&desired.region).await;
                let result = engine::plan_environment(&aws, &desired).await;
                tracing::info!(calls = aws.calls.count(), "plan finished");
                result
            })?;
            let (plan, live) = plan;
            if let Some(out) = out {
                let saved = crate::saved::SavedPlan::new(plan.clone(), &desired, &live);
                std::fs::write(out, serde_json::to_string_pretty(&saved)? + "\n")
                    .with_context(|| format!("cannot write the plan to {}", out.display()))?;
            }
            match cli.output {
                Output::Text => write!(stdout, "{}", render::text(&plan))?,
                Output::Json => write!(stdout, "{}", render::json(&plan))?,
                Output::Markdown => write!(stdout, "{}", render::markdown(&plan))?,
            }
            Ok(if plan.has_changes() {
                EXIT_CHANGES
            } else {
                EXIT_OK
            })
        }
        Command::Apply {
            plan_file,
            env,
            yes,
            no_wait,
            timeout,
            allow_replace,
            lock_lease,
        } => {
            let saved = match plan_file {
                Some(file) => {
                    let text = std::fs::read_to_string(file)
                        .with_context(|| format!("cannot read the plan {}", file.display()))?;
                    let saved: crate::saved::SavedPlan = serde_json::from_str(&text)
                        .with_context(|| format!("{} is not a saved plan", file.display()))?;
                    if saved.saved_plan_version != crate::saved::SAVED_PLAN_VERSION {
                        bail!(
                            "{} is a saved plan of version {}; this reconcile reads version {}",
                            file.display(),
                            saved.saved_plan_version,
                            crate::saved::SAVED_PLAN_VERSION
                        );
                    }
                    Some(saved)
                }
                None => None,
            };
            let environment = env
                .as_deref()
                .or(saved.as_ref().map(|s| s.plan.environment.as_str()));
            let desired = load(&cli.state, environment)?;
            let wait = (!no_wait).then_some(*timeout);
            runtime()?.block_on(async {
                // Never two applies to one environment at once: the lease is held (and renewed)
                // from before the live state is read until the report is written.
                let aws = Aws::connect(&desired.region).await;
                let (table, key) = lock_of(&desired);
                let lock = crate::aws::lock::acquire(
                    &aws,
                    &table,
                    &key,
                    &desired.environment,
                    *lock_lease,
                )
                .await?;
                let renewal = lock.keep_alive(&aws);
                let result = apply(&cli, &aws, &desired, saved, *yes, allow_replace, wait).await;
                renewal.abort();
                lock.release(&aws).await;
                result
            })
        }
    }
}

/// Plans every environment, four at a time, in the order given.
async fn plan_all(desireds: &[DesiredState]) -> anyhow::Result<Vec<Plan>> {
    use futures::StreamExt;
    let results: Vec<anyhow::Result<Plan>> =
        futures::stream::iter(desireds.iter().map(|desired| async move {
            let aws = Aws::connect(&desired.region).await;
            let (plan, _) = engine::plan_environment(&aws, desired)
                .await
                .with_context(|| format!("environment {}", desired.environment))?;
            Ok(plan)
        }))
        .buffered(4)
        .collect()
        .await;
    results.into_iter().collect()
}

/// Plans every environment (four at a time) and classifies the differences.
async fn drift_reports(desireds: &[DesiredState]) -> anyhow::Result<Vec<crate::drift::Report>> {
    Ok(plan_all(desireds)
        .await?
        .iter()
        .map(crate::drift::classify)
        .collect())
}

async fn drift_once(cli: &Cli, desireds: &[DesiredState]) -> anyhow::Result<u8> {
    let reports = drift_reports(desireds).await?;
    let mut stdout = anstream::stdout();
    match cli.output {
        Output::Text => write!(stdout, "{}", render::drift_text(&reports))?,
        Output::Json => writeln!(stdout, "{}", serde_json::to_string_pretty(&reports)?)?,
        Output::Markdown => write!(stdout, "{}", render::drift_markdown(&reports))?,
    }
    Ok(if reports.iter().all(crate::drift::Report::clean) {
        EXIT_OK
    } else {
        EXIT_CHANGES
    })
}

/// `drift --every`: one run at a time, jittered intervals, errors retried with backoff, a clean
/// stop on SIGTERM / SIGINT.
async fn drift_every(
    cli: &Cli,
    desireds: &[DesiredState],
    interval: std::time::Duration,
) -> anyhow::Result<u8> {
    let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .context("cannot listen for SIGTERM")?;
    let mut failures = 0u32;
    loop {
        let started = std::time::Instant::now();
        let wait = match drift_reports(desireds).await {
            Ok(reports) => {
                failures = 0;
                let line = reports
                    .iter()
                    .map(crate::drift::Report::summary)
                    .collect::<Vec<_>>()
                    .join("; ");
                let mut stdout = anstream::stdout();
                writeln!(
                    stdout,
                    "drift: {line} ({} ms)",
                    started.elapsed().as_millis()
                )?;
                if cli.output == Output::Json {
                    writeln!(stdout, "{}", serde_json::to_string(&reports)?)?;
                }
                interval
            }
            Err(error) => {
                failures += 1;
                let _ = writeln!(anstream::stderr(), "drift: run failed: {error:#}");
                // Retry sooner, but never hammer: 5 s doubling, up to the interval.
                interval.min(std::time::Duration::from_secs(5) * 2u32.pow(failures.min(6)))
            }
        };
        // Up to ±10% so that many schedulers do not call AWS in step.
        let spread = (crate::aws::epoch_nanos() % 2001) as f64;
        let wait = wait
            .mul_f64(0.9 + spread / 10_000.0)
            .max(std::time::Duration::from_millis(100));
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = terminate.recv() => return Ok(EXIT_OK),
            _ = tokio::signal::ctrl_c() => return Ok(EXIT_OK),
        }
    }
}

#[allow(clippy::too_many_arguments)]
async fn apply(
    cli: &Cli,
    aws: &Aws,
    desired: &DesiredState,
    saved: Option<crate::saved::SavedPlan>,
    yes: bool,
    allow_replace: &[String],
    wait: Option<std::time::Duration>,
) -> anyhow::Result<u8> {
    let mut stdout = anstream::stdout();
    let (fresh, live) = engine::plan_environment(aws, desired).await?;
    // A saved plan is applied as it is, only while everything it was made from still holds.
    let plan = match saved {
        None => fresh,
        Some(saved) => {
            if saved.plan.environment != desired.environment {
                bail!(
                    "the saved plan is for environment {}, not {}",
                    saved.plan.environment,
                    desired.environment
                );
            }
            let stale = saved.stale(desired, &live);
            if !stale.is_empty() {
                bail!(
                    "refusing to apply a stale plan: since it was made,\n{}\nnothing was changed; make a new plan",
                    stale
                        .iter()
                        .map(|reason| format!("  - {reason}"))
                        .collect::<Vec<_>>()
                        .join("\n")
                );
            }
            saved.plan
        }
    };
    if cli.output == Output::Text {
        write!(stdout, "{}", render::text(&plan))?;
    }
    if !plan.has_changes() {
        if cli.output == Output::Json {
            writeln!(
                stdout,
                "{}",
                serde_json::json!({"plan": plan, "apply": {"steps": []}})
            )?;
        }
        return Ok(EXIT_OK);
    }
    let refused = crate::aws::apply::unallowed_replacements(&plan, allow_replace);
    if !refused.is_empty() {
        bail!(
            "refusing to apply: the plan replaces {} (deleting the data it holds); nothing was changed. Run apply with {} if that is intended",
            refused.join(", "),
            refused
                .iter()
                .map(|key| format!("`--allow-replace {key}`"))
                .collect::<Vec<_>>()
                .join(" ")
        );
    }
    if !yes {
        confirm(&plan.environment)?;
    }
    // Waiting shows one live line on a terminal, and plain timestamped lines otherwise (CI logs).
    let started = std::time::Instant::now();
    let spinner = std::io::stderr().is_terminal().then(|| {
        let spinner = indicatif::ProgressBar::new_spinner();
        spinner.enable_steady_tick(std::time::Duration::from_millis(120));
        spinner
    });
    let mut on_step = |step: &StepOutcome| {
        if cli.output == Output::Text {
            let print = || {
                let _ = writeln!(anstream::stdout(), "{}", step_line(step));
            };
            match &spinner {
                Some(spinner) => spinner.suspend(print),
                None => print(),
            }
        }
    };
    let mut progress = |line: String| match &spinner {
        Some(spinner) => spinner.set_message(line),
        None => {
            let _ = writeln!(
                anstream::stderr(),
                "[{:>4}s] {line}",
                started.elapsed().as_secs()
            );
        }
    };
    if cli.output == Output::Text {
        writeln!(stdout, "\nApplying to {}:", plan.environment)?;
    }
    let report = crate::aws::apply::apply(
        aws,
        &plan,
        crate::aws::apply::Options {
            allow_replace,
            on_step: &mut on_step,
            progress: &mut progress,
            wait,
        },
    )
    .await;
    if let Some(spinner) = spinner {
        spinner.finish_and_clear();
    }
    tracing::info!(calls = aws.calls.count(), "apply finished");
    match cli.output {
        Output::Json => writeln!(
            stdout,
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({"plan": plan, "apply": report}))?
        )?,
        Output::Text | Output::Markdown => {
            let is_rollout = |s: &&StepOutcome| s.resource.kind == ResourceKind::Rollout;
            let done = |s: &&StepOutcome| matches!(s.status, StepStatus::Done { .. });
            let changes = report.steps.iter().filter(|s| !is_rollout(s)).count();
            let applied = report
                .steps
                .iter()
                .filter(|s| !is_rollout(s) && done(s))
                .count();
            let rollouts = report.steps.iter().filter(is_rollout).count();
            let completed = report
                .steps
                .iter()
                .filter(|s| is_rollout(s) && done(s))
                .count();
            let deployments = match rollouts {
                0 => String::new(),
                _ => format!(", {completed} of {rollouts} deployments completed"),
            };
            let environment = &plan.environment;
            if report.succeeded() {
                writeln!(
                    stdout,
                    "\nApply complete: {applied} changes applied to {environment}{deployments}."
                )?;
            } else if applied == changes {
                writeln!(
                    stdout,
                    "\nApply failed: {applied} changes applied to {environment}{deployments}; ECS's reasons are above. Fix the cause and commit: the next plan shows what runs."
                )?;
            } else {
                writeln!(
                    stdout,
                    "\nApply failed: {applied} of {changes} changes applied to {environment}{deployments}. Fix the cause and run apply again; it continues from what is live."
                )?;
            }
        }
    }
    Ok(if report.succeeded() {
        EXIT_OK
    } else {
        EXIT_ERROR
    })
}

fn step_line(step: &StepOutcome) -> String {
    use anstyle::AnsiColor;
    let green = AnsiColor::Green.on_default();
    let red = AnsiColor::Red.on_default();
    let dim = anstyle::Style::new().dimmed();
    let what = format!("{} {}", step.resource.kind.label(), step.resource.name);
    match &step.status {
        StepStatus::Done { detail } => format!("  {green}done{green:#}     {what}: {detail}"),
        StepStatus::Failed { error } => format!("  {red}FAILED{red:#}   {what}: {error}"),
        StepStatus::NotAttempted { why } => format!("  {dim}skipped  {what}: {why}{dim:#}"),
    }
}

fn confirm(environment: &str) -> anyhow::Result<()> {
    let stdin = std::io::stdin();
    if !stdin.is_terminal() {
        bail!(
            "refusing to apply without confirmation: stdin is not a terminal; pass --yes to apply non-interactively"
        );
    }
    eprint!("\nApply these changes to {environment}? Only 'yes' is accepted: ");
    let _ = std::io::stderr().flush();
    let mut answer = String::new();
    stdin.lock().read_line(&mut answer)?;
    if answer.trim() != "yes" {
        bail!("apply cancelled; nothing was changed");
    }
    Ok(())
}
