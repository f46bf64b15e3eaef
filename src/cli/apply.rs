//! `apply`: read a saved plan, take the environment's lock, plan (or check the saved plan), ask,
//! apply with progress, and summarize what was and was not done.

use std::io::{BufRead, IsTerminal, Write};
use std::path::Path;

use anyhow::{Context, bail};

use super::args::{Cli, EXIT_ERROR, EXIT_OK, Output};
use crate::aws::Aws;
use crate::aws::apply::{StepOutcome, StepStatus};
use crate::aws::lock::Release;
use crate::engine;
use crate::plan::ResourceKind;
use crate::saved::{SAVED_PLAN_VERSION, SavedPlan};
use crate::state::DesiredState;

/// What `apply` was asked besides the environment.
#[derive(Debug)]
pub(super) struct Options<'a> {
    pub yes: bool,
    pub allow_replace: &'a [String],
    pub wait: Option<std::time::Duration>,
    pub lock_lease: std::time::Duration,
}

/// A plan saved by `plan --out`.
pub(super) fn read_saved(file: &Path) -> anyhow::Result<SavedPlan> {
    let text = std::fs::read_to_string(file)
        .with_context(|| format!("cannot read the plan {}", file.display()))?;
    // The version first: a plan saved by another version of reconcile is refused by its number,
    // not by whatever field it lacks.
    #[derive(serde::Deserialize)]
    struct Version {
        saved_plan_version: u32,
    }
    let version: Version = serde_json::from_str(&text)
        .with_context(|| format!("{} is not a saved plan", file.display()))?;
    if version.saved_plan_version != SAVED_PLAN_VERSION {
        bail!(
            "{} is a saved plan of version {}; this reconcile reads version {}: make a new plan",
            file.display(),
            version.saved_plan_version,
            SAVED_PLAN_VERSION
        );
    }
    serde_json::from_str(&text).with_context(|| format!("{} is not a saved plan", file.display()))
}

/// Never two applies to one environment at once: the lease is held (and renewed) from before the
/// live state is read until the report is written.
pub(super) async fn locked(
    cli: &Cli,
    desired: &DesiredState,
    saved: Option<SavedPlan>,
    options: Options<'_>,
) -> anyhow::Result<u8> {
    let mut aws = Aws::connect(&desired.region).await;
    // The first SIGINT or SIGTERM: the call in flight ends, nothing more is written, every wait
    // ends, the lock is released and the summary printed; a second one exits at once.
    let fence = aws.fence.clone();
    aws.stop = crate::aws::stop::Stop::listen(move |signal| {
        fence.close(format!("interrupted by {signal}: nothing more is written"));
        let _ = writeln!(
            anstream::stderr(),
            "{signal}: stopping after the AWS call in flight; nothing more is written. Send it again to exit at once."
        );
    })
    .context("cannot listen for SIGINT and SIGTERM")?;
    let waiting = super::progress::Waiting::start(&format!(
        "checking the account of {}",
        desired.environment
    ));
    // The credentials' account first: nothing, not even the lock table, is written in another.
    let account = crate::aws::sts::account(&aws).await?;
    if let Some(expected) = &desired.account
        && *expected != account
    {
        return Err(crate::plan::PlanError::AccountMismatch {
            expected: expected.clone(),
            actual: account,
        }
        .into());
    }
    waiting.say(&format!("taking the apply lock of {}", desired.environment));
    let (table, key) = crate::aws::lock::key_of(desired);
    let lock =
        crate::aws::lock::acquire(&aws, &table, &key, &desired.environment, options.lock_lease)
            .await?;
    let renewal = lock.keep_alive(&aws, |warning| {
        let _ = writeln!(anstream::stderr(), "warning: {warning}");
    });
    waiting.say(&format!(
        "reading the live state of {}",
        desired.environment
    ));
    let result = apply(cli, &aws, desired, saved, &options, waiting).await;
    renewal.abort();
    match lock.release(&aws).await {
        Release::Released => {}
        Release::TakenOver { holder } => {
            let _ = writeln!(
                anstream::stderr(),
                "warning: the apply lock had been taken over by {holder} before this apply released it"
            );
        }
        Release::Failed(reason) => {
            let _ = writeln!(
                anstream::stderr(),
                "warning: the apply lock could not be released ({reason}); it expires by itself when its lease runs out"
            );
        }
    }
    result
}

async fn apply(
    cli: &Cli,
    aws: &Aws,
    desired: &DesiredState,
    saved: Option<SavedPlan>,
    options: &Options<'_>,
    waiting: super::progress::Waiting,
) -> anyhow::Result<u8> {
    let Options {
        yes,
        allow_replace,
        wait,
        ..
    } = *options;
    let mut stdout = super::output::stdout();
    let (fresh, live) = engine::plan_environment(aws, desired).await?;
    drop(waiting);
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
            let stale = saved.stale(desired, &live, &fresh);
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
        write!(stdout, "{}", super::output::text_plan(cli.verbose, &plan))?;
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
    // One live line per step under way on a terminal, plain stamped lines otherwise (CI logs).
    let steps = super::progress::Steps::start();
    let text = cli.output == Output::Text;
    let mut on_step = |step: &StepOutcome| {
        steps.ended(&step.resource, || {
            if text {
                let _ = writeln!(super::output::stdout(), "{}", step_line(step));
            }
        });
    };
    // Progress goes to stderr whatever the output format (a CI log of `--output json` too).
    let mut progress = |resource: &crate::plan::Resource, line: String| {
        steps.update(resource, line);
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
    steps.finish();
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
            if let Some(signal) = aws.stop.requested() {
                let going_on = report
                    .steps
                    .iter()
                    .filter(|s| is_rollout(s) && !done(s))
                    .count();
                writeln!(
                    stdout,
                    "\nApply interrupted by {signal}: {applied} of {changes} changes applied to {environment}{}. The lock is released; run apply again to continue from what is live.",
                    match going_on {
                        0 => String::new(),
                        n => format!(
                            "; {n} deployments go on in ECS (`reconcile status --env {environment}` follows them)"
                        ),
                    }
                )?;
            } else if report.succeeded() {
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
    Ok(match aws.stop.requested() {
        Some(signal) => signal.exit_code(),
        None if report.succeeded() => EXIT_OK,
        None => EXIT_ERROR,
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
