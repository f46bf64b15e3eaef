//! `reconcile logs`: the lines the services' containers write, read from the awslogs group and
//! stream prefix of the task definition each service runs; `--follow` reads on every two seconds
//! until SIGINT or SIGTERM (exit 0).

use std::io::Write;
use std::time::Duration;

use anyhow::bail;

use super::args::{Cli, EXIT_OK, Output};
use super::output;
use crate::aws::Aws;
use crate::logs::{Cursor, Line, Source};
use crate::state::DesiredState;

/// How often `--follow` asks again.
const FOLLOW_EVERY: Duration = Duration::from_secs(2);

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or_default()
}

/// Where the chosen services' containers write, from what ECS runs.
async fn sources_of(
    aws: &Aws,
    desired: &DesiredState,
    names: &[String],
) -> anyhow::Result<Vec<Source>> {
    let live = crate::aws::ecs::read::describe_services(aws, &desired.cluster, names).await?;
    let missing: Vec<&str> = names
        .iter()
        .filter(|name| !live.contains_key(*name))
        .map(String::as_str)
        .collect();
    if !missing.is_empty() {
        bail!(
            "no service {} runs in cluster {}: nothing writes logs yet\n  help: apply the environment first (reconcile apply --env {})",
            missing.join(", "),
            desired.cluster,
            desired.environment
        );
    }
    let revisions = crate::aws::ecs::read::describe_revisions(
        aws,
        live.values().map(|s| s.task_definition_arn.clone()),
    )
    .await?;
    let running: Vec<(String, &crate::model::Revision)> = names
        .iter()
        .filter_map(|name| {
            let revision = revisions.get(&live.get(name)?.task_definition_arn)?;
            Some((name.clone(), revision))
        })
        .collect();
    let (sources, elsewhere) = crate::logs::sources(&running);
    for other in elsewhere {
        let _ = writeln!(
            anstream::stderr(),
            "note: {other}: not in CloudWatch Logs by awslogs, so not shown"
        );
    }
    Ok(sources)
}

/// The events of every source since each cursor's time, fresh ones only, as lines in time order.
async fn read(
    aws: &Aws,
    sources: &[Source],
    cursors: &mut [((String, String), Cursor)],
) -> anyhow::Result<Vec<Line>> {
    let fetched = futures::future::try_join_all(cursors.iter().map(|((group, prefix), cursor)| {
        crate::aws::logs::events_since(aws, group, prefix, cursor.since)
    }))
    .await?;
    let mut fresh = Vec::new();
    for ((_, cursor), events) in cursors.iter_mut().zip(fetched) {
        fresh.extend(cursor.fresh(events));
    }
    Ok(crate::logs::lines(sources, &fresh))
}

pub(super) fn run(
    cli: &Cli,
    desired: &DesiredState,
    services: &[String],
    since: Duration,
    follow: bool,
    runtime: &tokio::runtime::Runtime,
) -> anyhow::Result<u8> {
    match (cli.output, follow) {
        (Output::Markdown, _) => {
            bail!("logs print text or JSON\n  help: leave out --output markdown")
        }
        (Output::Json, true) => {
            bail!(
                "logs --follow prints text only (JSON is one document of the lines so far)\n  help: leave out --output json, or --follow"
            )
        }
        _ => {}
    }
    // Named services are checked before anything is read.
    let names: Vec<String> = super::drift::chosen_services(desired, services)?
        .iter()
        .map(|service| service.name.clone())
        .collect();
    runtime.block_on(async {
        let mut aws = Aws::connect(&desired.region).await;
        if follow {
            aws.stop = crate::aws::stop::Stop::listen(|_| {})?;
        }
        let sources = sources_of(&aws, desired, &names).await?;
        let start = now_ms() - since.as_millis() as i64;
        let mut cursors: Vec<((String, String), Cursor)> = crate::logs::queries(&sources)
            .into_iter()
            .map(|query| (query, Cursor::new(start)))
            .collect();
        let mut stdout = output::stdout();
        let lines = read(&aws, &sources, &mut cursors).await?;
        if cli.output == Output::Json {
            writeln!(stdout, "{}", serde_json::to_string_pretty(&lines)?)?;
            return Ok(EXIT_OK);
        }
        for line in &lines {
            writeln!(stdout, "{}", crate::logs::text(line))?;
        }
        if !follow {
            return Ok(EXIT_OK);
        }
        loop {
            tokio::select! {
                _ = tokio::time::sleep(FOLLOW_EVERY) => {}
                _ = aws.stop.wait() => break,
            }
            for line in read(&aws, &sources, &mut cursors).await? {
                writeln!(stdout, "{}", crate::logs::text(&line))?;
            }
            stdout.flush()?;
        }
        Ok(EXIT_OK)
    })
}
