//! Command-line interface: flags, commands, output and exit codes.
//! Exit codes: 0 success or nothing to do, 2 changes present (plan), 1 error.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, bail};
use clap::{Parser, Subcommand, ValueEnum};

mod apply;
mod drift;
mod load;

use crate::aws::Aws;
use crate::plan::Plan;
use crate::state;
use crate::{engine, render};
use load::{load, load_all, load_at};

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
/// Prints a plan in the chosen format.
fn print_plan(output: Output, plan: &Plan) -> anyhow::Result<()> {
    let mut stdout = anstream::stdout();
    match output {
        Output::Text => write!(stdout, "{}", render::text(plan))?,
        Output::Json => write!(stdout, "{}", render::json(plan))?,
        Output::Markdown => write!(stdout, "{}", render::markdown(plan))?,
    }
    Ok(())
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
                load_all(&cli.state)?
            } else {
                vec![load(&cli.state, env.as_deref())?]
            };
            let runtime = runtime()?;
            match every {
                None => runtime.block_on(drift::once(&cli, &desireds)),
                Some(interval) => runtime.block_on(drift::every(&cli, &desireds, *interval)),
            }
        }
        Command::Status { env } => {
            let desired = load(&cli.state, env.as_deref())?;
            runtime()?.block_on(drift::status(&desired))
        }
        Command::ForceUnlock { env } => {
            let desired = load(&cli.state, env.as_deref())?;
            let (table, key) = apply::lock_of(&desired);
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
            let plans = runtime()?.block_on(drift::plan_all(&load_all(&cli.state)?))?;
            for plan in &plans {
                print_plan(cli.output, plan)?;
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
            print_plan(cli.output, &plan)?;
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
            let saved = plan_file.as_deref().map(apply::read_saved).transpose()?;
            let environment = env
                .as_deref()
                .or(saved.as_ref().map(|s| s.plan.environment.as_str()));
            let desired = load(&cli.state, environment)?;
            let wait = (!no_wait).then_some(*timeout);
            runtime()?.block_on(apply::locked(
                &cli,
                &desired,
                saved,
                apply::Options {
                    yes: *yes,
                    allow_replace,
                    wait,
                    lock_lease: *lock_lease,
                },
            ))
        }
    }
}
