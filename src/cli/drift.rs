//! `plan --all`, `drift` (once or `--every`) and `status`: reading environments without writing.

use std::io::Write;

use anyhow::Context;

use super::args::{Cli, EXIT_CHANGES, EXIT_OK, Output};
use crate::aws::Aws;
use crate::plan::Plan;
use crate::state::DesiredState;
use crate::state::desired::COMMIT_TAG;
use crate::status::{LiveCounts, service_status};
use crate::{engine, render};

/// Plans every environment, four at a time, in the order given.
pub(super) async fn plan_all(desireds: &[DesiredState]) -> anyhow::Result<Vec<Plan>> {
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
    let _waiting = super::progress::Waiting::start("reading the live state");
    Ok(plan_all(desireds)
        .await?
        .iter()
        .map(crate::drift::classify)
        .collect())
}

pub(super) async fn once(cli: &Cli, desireds: &[DesiredState]) -> anyhow::Result<u8> {
    let reports = drift_reports(desireds).await?;
    let mut stdout = super::output::stdout();
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
pub(super) async fn every(
    cli: &Cli,
    desireds: &[DesiredState],
    interval: std::time::Duration,
) -> anyhow::Result<u8> {
    // A signal during a run lets the run finish and report, then ends the loop (exit 0: stopping
    // is how a scheduler ends); a second one exits at once.
    let stop = crate::aws::stop::Stop::listen(|signal| {
        let _ = writeln!(
            anstream::stderr(),
            "drift: {signal}: stopping after this run"
        );
    })
    .context("cannot listen for SIGINT and SIGTERM")?;
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
                let mut stdout = super::output::stdout();
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
                let _ = writeln!(
                    anstream::stderr(),
                    "drift: run failed: {}",
                    super::output::error_text(&error)
                );
                // Retry sooner, but never hammer: 5 s doubling, up to the interval.
                interval.min(std::time::Duration::from_secs(5) * 2u32.pow(failures.min(6)))
            }
        };
        // Up to ±10% so that many schedulers do not call AWS in step.
        let spread = (crate::aws::epoch_nanos() % 2001) as f64;
        let wait = wait
            .mul_f64(0.9 + spread / 10_000.0)
            .max(std::time::Duration::from_millis(100));
        if stop.requested().is_some() {
            return Ok(EXIT_OK);
        }
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = stop.wait() => return Ok(EXIT_OK),
        }
    }
}

/// `status`: per service, what it runs (revision, image tag and digest, commit), its tasks, and
/// where its newest rollout stands and since when.
pub(super) async fn status(desired: &DesiredState, output: Output) -> anyhow::Result<u8> {
    let waiting =
        super::progress::Waiting::start(&format!("reading what {} runs", desired.environment));
    let aws = Aws::connect(&desired.region).await;
    let chosen: Vec<_> = desired.services.iter().collect();
    let (account, live, history) = tokio::try_join!(
        crate::aws::sts::account(&aws),
        crate::aws::ecs::read::services(&aws, desired),
        crate::aws::history::history(&aws, desired, &chosen, STATUS_HISTORY),
    )?;
    drop(waiting);
    if let Some(expected) = desired.account.as_ref().filter(|a| **a != account) {
        anyhow::bail!(
            "the credentials are for account {account}, not {expected} ({}): what it shows would be another account's",
            desired.file.display()
        );
    }
    let statuses: Vec<_> = desired
        .services
        .iter()
        .zip(&history)
        .map(|(service, (_, entries))| {
            let counts = live.get(&service.name).map(|live| LiveCounts {
                task_definition: live.task_definition_arn.clone(),
                running: live.running_count,
                pending: live.pending_count,
                desired: live.settings.desired_count.unwrap_or_default(),
                commit: live.tags.get(COMMIT_TAG).cloned(),
            });
            service_status(&service.key, &service.name, counts.as_ref(), entries)
        })
        .collect();
    let now = jiff::Timestamp::now().as_second();
    let environment = &desired.environment;
    let text = match output {
        Output::Text => crate::status::text(environment, &statuses, now),
        Output::Markdown => crate::status::markdown(environment, &statuses, now),
        Output::Json => crate::status::json(environment, &statuses),
    };
    write!(super::output::stdout(), "{text}")?;
    Ok(EXIT_OK)
}

/// How many deployments per service `status` reads to find the one of the running revision.
const STATUS_HISTORY: usize = 10;

/// The services `names` picks out of `desired` (by key under `services:` or by ECS name), all
/// of them when it is empty; an unknown name is an error listing the known ones.
pub(super) fn chosen_services<'a>(
    desired: &'a DesiredState,
    names: &[String],
) -> anyhow::Result<Vec<&'a crate::state::desired::DesiredService>> {
    if names.is_empty() {
        return Ok(desired.services.iter().collect());
    }
    names
        .iter()
        .map(|name| {
            desired
                .services
                .iter()
                .find(|s| &s.key == name || &s.name == name)
                .ok_or_else(|| {
                    anyhow::anyhow!(
                        "{} has no service {name}; its services: {}",
                        desired.file.display(),
                        desired
                            .services
                            .iter()
                            .map(|s| format!("{} ({})", s.key, s.name))
                            .collect::<Vec<_>>()
                            .join(", ")
                    )
                })
        })
        .collect()
}
