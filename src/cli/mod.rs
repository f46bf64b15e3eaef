//! Command-line interface: flags, commands, output and exit codes.
//! Exit codes: 0 success or nothing to do, 2 changes present (plan), 1 error.

use std::io::Write;
use std::process::ExitCode;

use anyhow::{Context, bail};
use clap::Parser;

mod apply;
mod args;
mod drift;
mod image;
mod import;
mod load;
mod logs;
mod output;
mod progress;

use crate::aws::Aws;
use crate::plan::Plan;
use crate::state;
use crate::{engine, render};
pub use args::{Cli, Command, EXIT_CHANGES, EXIT_ERROR, EXIT_OK, ImageCommand, LogFormat, Output};
use load::{load, load_all, load_at};

/// Parses the arguments, runs the command, prints any error once, and returns the exit code.
pub fn main() -> ExitCode {
    // Usage errors exit 1: 2 means "changes present", and a CI step branching on it must never
    // take a typo for a plan. Help and version print to stdout and exit 0.
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(error) => {
            let _ = error.print();
            return ExitCode::from(if error.use_stderr() {
                EXIT_ERROR
            } else {
                EXIT_OK
            });
        }
    };
    if cli.no_color {
        anstream::ColorChoice::Never.write_global();
    }
    // The operator reports in its logs: its events at info by default.
    init_logging(
        cli.log_format,
        if matches!(cli.command, Command::Operate { .. }) {
            "warn,reconcile=info"
        } else {
            "warn"
        },
    );
    match run(cli) {
        Ok(code) => ExitCode::from(code),
        Err(error) => {
            let mut stderr = anstream::stderr();
            let text = output::error_text(&error);
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

fn init_logging(format: LogFormat, default: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = match format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().try_init(),
    };
}

/// Prints a plan in the chosen format.
fn print_plan(cli: &Cli, plan: &Plan) -> anyhow::Result<()> {
    let mut stdout = output::stdout();
    match cli.output {
        Output::Text => write!(stdout, "{}", output::text_plan(cli.verbose, plan))?,
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

/// The state narrowed to `service` and what it needs (`--service`), or whole.
fn focus(
    desired: state::DesiredState,
    service: Option<&str>,
) -> anyhow::Result<state::DesiredState> {
    match service {
        None => Ok(desired),
        Some(name) => state::focus::only_service(&desired, name).map_err(anyhow::Error::msg),
    }
}

/// Runs one parsed command and returns its exit code.
pub fn run(cli: Cli) -> anyhow::Result<u8> {
    let mut stdout = output::stdout();
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
            let mut omitted = 0;
            let mut ok = Vec::new();
            for file in &files {
                match state::validate_file(file, &state::process_env) {
                    Ok(unset) => ok.push((file.display().to_string(), unset)),
                    Err(diagnostics) => {
                        omitted += diagnostics.omitted;
                        problems.extend(diagnostics.list);
                    }
                }
            }
            let diagnostics = crate::diagnostic::Diagnostics {
                list: problems,
                omitted,
            };
            match cli.output {
                Output::Text => {
                    for (file, unset) in &ok {
                        match unset.as_slice() {
                            [] => writeln!(stdout, "ok: {file}")?,
                            names => writeln!(
                                stdout,
                                "ok: {file} (not set, so checked as placeholders: {}; plan and apply need them)",
                                names.join(", ")
                            )?,
                        }
                    }
                }
                Output::Json => writeln!(
                    stdout,
                    "{}",
                    serde_json::to_string_pretty(&serde_json::json!({
                        "valid": diagnostics.list.is_empty(),
                        "ok": ok.iter().map(|(file, unset)| serde_json::json!({"file": file, "unset": unset})).collect::<Vec<_>>(),
                        "findings": diagnostics.list,
                        "omitted": diagnostics.omitted,
                    }))?
                )?,
                Output::Markdown => {
                    let files: Vec<String> = ok.iter().map(|(file, _)| file.clone()).collect();
                    write!(stdout, "{}", diagnostics.markdown(&files))?
                }
            }
            if diagnostics.list.is_empty() {
                Ok(EXIT_OK)
            } else if cli.output == Output::Text {
                Err(diagnostics.into())
            } else {
                // The findings are the output; the exit code says they are there.
                Ok(EXIT_ERROR)
            }
        }
        Command::Render { env } => {
            let desired = load(&cli.state, env.as_deref())?;
            let yaml = || serde_saphyr::to_string(&desired).context("cannot render the state");
            let text = match cli.output {
                Output::Json => serde_json::to_string_pretty(&desired)? + "\n",
                Output::Text => yaml()?,
                Output::Markdown => format!(
                    "### {} (resolved)\n\n```yaml\n{}```\n",
                    desired.environment,
                    yaml()?
                ),
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
            runtime()?.block_on(drift::status(&desired, cli.output))
        }
        Command::History {
            env,
            services,
            limit,
        } => {
            let desired = load(&cli.state, env.as_deref())?;
            let chosen = drift::chosen_services(&desired, services)?;
            let history = runtime()?.block_on(async {
                let _waiting = progress::Waiting::start("reading the deployment records");
                let aws = Aws::connect(&desired.region).await;
                crate::aws::history::history(&aws, &desired, &chosen, *limit).await
            })?;
            let text = match cli.output {
                Output::Text => crate::history::text(&history),
                Output::Markdown => crate::history::markdown(&history),
                Output::Json => crate::history::json(&history),
            };
            write!(stdout, "{text}")?;
            Ok(EXIT_OK)
        }
        Command::Logs {
            env,
            services,
            since,
            follow,
        } => {
            let desired = load(&cli.state, env.as_deref())?;
            logs::run(&cli, &desired, services, *since, *follow, &runtime()?)
        }
        Command::Operate {
            repo,
            branch,
            every,
            listen,
            state_path,
            workdir,
            concurrency,
            lock_lease,
            timeout,
            webhook,
            github_repository,
            github_api,
        } => {
            output::text_only(
                cli.output,
                "operate reports in its logs (--log-format json) and on /status",
            )?;
            let github = match github_repository {
                None => None,
                Some(repository) => Some((
                    repository.clone(),
                    github_api.clone(),
                    std::env::var("GITHUB_TOKEN").context(
                        "--github-repository needs a token in GITHUB_TOKEN (contents: read, statuses: write)",
                    )?,
                )),
            };
            let workdir = workdir.clone().unwrap_or_else(|| {
                let digest = reconcile_core::fingerprint::fingerprint(repo);
                std::env::temp_dir().join(format!("reconcile-operate-{}", &digest[..16]))
            });
            runtime()?.block_on(crate::operate::run(crate::operate::Options {
                repo: repo.clone(),
                branch: branch.clone(),
                every: *every,
                listen: *listen,
                state_path: state_path.clone(),
                workdir,
                concurrency: *concurrency,
                lock_lease: *lock_lease,
                rollout_timeout: *timeout,
                webhook: webhook.clone(),
                github,
            }))
        }
        Command::ForceUnlock { env } => {
            let desired = load(&cli.state, env.as_deref())?;
            let (table, key) = crate::aws::lock::key_of(&desired);
            let removed = runtime()?.block_on(async {
                let aws = Aws::connect(&desired.region).await;
                crate::aws::lock::force_unlock(&aws, &table, &key).await
            })?;
            match (cli.output, removed) {
                (Output::Json, removed) => writeln!(
                    stdout,
                    "{}",
                    serde_json::json!({"lock": key, "removed": removed.is_some(), "holder": removed})
                )?,
                (_, Some(holder)) => writeln!(stdout, "removed the lock {key} held by {holder}")?,
                (_, None) => writeln!(stdout, "{key} was not locked")?,
            }
            Ok(EXIT_OK)
        }
        Command::Image {
            command: ImageCommand::Set { env, tag, digest },
        } => {
            let value = match (tag, digest) {
                (Some(tag), _) => state::edit::ImageValue::Tag(tag.clone()),
                (None, Some(digest)) => state::edit::ImageValue::Digest(digest.clone()),
                (None, None) => bail!("give --tag or --digest"),
            };
            output::text_only(cli.output, "image set changes a state file and reports")?;
            let desired = load(&cli.state, env.as_deref())?;
            image::set(&desired, &value, &runtime()?)
        }
        Command::Promote {
            from,
            to,
            require_tags,
        } => {
            output::text_only(cli.output, "promote changes a state file and reports")?;
            if from == to {
                bail!("--from and --to are both {from}: promote copies between two environments");
            }
            let source = load(&cli.state, Some(from))?;
            let target = load(&cli.state, Some(to))?;
            image::promote(&source, &target, require_tags, &runtime()?)
        }
        Command::Import {
            env,
            cluster,
            prefix,
            services,
            backing,
            region,
            out,
            force,
            take_over,
        } => import::run(
            &cli,
            import::Options {
                env,
                cluster: cluster.as_deref(),
                prefix: prefix.as_deref(),
                services,
                backing,
                region: region.as_deref(),
                out: out.as_deref(),
                force: *force,
                take_over: *take_over,
            },
            &runtime()?,
        ),
        Command::Completions { shell } => {
            output::text_only(cli.output, "completions prints a shell script")?;
            let mut command = <Cli as clap::CommandFactory>::command();
            clap_complete::generate(*shell, &mut command, "reconcile", &mut stdout);
            Ok(EXIT_OK)
        }
        Command::Schema => {
            if cli.output == Output::Markdown {
                bail!("the schema is JSON\n  help: leave out --output, or give --output json");
            }
            let schema = schemars::schema_for!(state::schema::StateFile);
            writeln!(stdout, "{}", serde_json::to_string_pretty(&schema)?)?;
            Ok(EXIT_OK)
        }
        Command::Plan { all: true, .. } => {
            let desireds = load_all(&cli.state)?;
            let plans = runtime()?.block_on(async {
                let _waiting = progress::Waiting::start(&format!(
                    "reading the live state of {} environments",
                    desireds.len()
                ));
                drift::plan_all(&desireds).await
            })?;
            if cli.output == Output::Json {
                // One JSON document a parser reads whole, not one per environment.
                write!(stdout, "{}", render::json_all(&plans))?;
            } else {
                for plan in &plans {
                    print_plan(&cli, plan)?;
                }
            }
            Ok(if plans.iter().any(Plan::has_changes) {
                EXIT_CHANGES
            } else {
                EXIT_OK
            })
        }
        Command::Plan {
            env,
            rev,
            out,
            service,
            ..
        } => {
            let desired = match rev {
                Some(rev) => load_at(&cli.state, env.as_deref(), rev)?,
                None => load(&cli.state, env.as_deref())?,
            };
            let desired = focus(desired, service.as_deref())?;
            let runtime = runtime()?;
            let plan = runtime.block_on(async {
                let _waiting = progress::Waiting::start(&format!(
                    "reading the live state of {}",
                    desired.environment
                ));
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
            print_plan(&cli, &plan)?;
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
            service,
        } => {
            // Refused before anything is read: a plan nobody can confirm is not worth making.
            if !yes && !std::io::IsTerminal::is_terminal(&std::io::stdin()) {
                bail!(
                    "refusing to apply without confirmation: stdin is not a terminal; pass --yes to apply non-interactively"
                );
            }
            let saved = plan_file.as_deref().map(apply::read_saved).transpose()?;
            let environment = env
                .as_deref()
                .or(saved.as_ref().map(|s| s.plan.environment.as_str()));
            let desired = focus(load(&cli.state, environment)?, service.as_deref())?;
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
