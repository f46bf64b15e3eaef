//! CloudWatch Logs: whether the log groups tasks will write to exist, creating them, the last
//! lines of a task's awslogs stream, and the events of a group's streams since a time (`logs`).

use std::collections::{BTreeMap, BTreeSet};

use futures::{StreamExt, TryStreamExt, stream};

use super::{Aws, AwsError};

/// How many log lines of a task are shown.
const LOG_LINES: i32 = 20;
/// Parallel DescribeLogGroups calls.
const CONCURRENCY: usize = 4;

/// The groups to look up, gathered by the directory they sit in (`/ecs/CLUSTER/`), each set with
/// the longest name prefix its members share: one lookup answers for all the groups of a cluster.
fn lookups(names: BTreeSet<String>) -> Vec<(String, BTreeSet<String>)> {
    let mut by_parent: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for name in names {
        let parent = name.rfind('/').map_or("", |at| &name[..=at]).to_string();
        by_parent.entry(parent).or_default().insert(name);
    }
    by_parent
        .into_values()
        .map(|names| {
            let first = names.first().cloned().unwrap_or_default();
            let prefix = names.iter().fold(first, |prefix, name| {
                let shared = prefix
                    .char_indices()
                    .zip(name.chars())
                    .take_while(|((_, a), b)| a == b)
                    .last()
                    .map_or(0, |((at, c), _)| at + c.len_utf8());
                prefix[..shared].to_string()
            });
            (prefix, names)
        })
        .collect()
}

/// Whether each log group exists: DescribeLogGroups by name prefix, one lookup per directory of
/// groups (paged until every group of it is found), concurrently.
pub async fn check_log_groups(
    aws: &Aws,
    names: BTreeSet<String>,
) -> Result<BTreeMap<String, bool>, AwsError> {
    let found: Vec<BTreeMap<String, bool>> = stream::iter(lookups(names).into_iter().map(
        |(prefix, wanted)| async move {
            let mut found: BTreeMap<String, bool> =
                wanted.iter().map(|name| (name.clone(), false)).collect();
            let mut pages = aws
                .logs
                .describe_log_groups()
                .log_group_name_prefix(&prefix)
                .limit(50)
                .into_paginator()
                .send();
            while let Some(page) = pages.next().await {
                let page =
                    page.map_err(|e| AwsError::call("DescribeLogGroups", prefix.clone(), e))?;
                for group in page.log_groups() {
                    if let Some(exists) = group.log_group_name().and_then(|n| found.get_mut(n)) {
                        *exists = true;
                    }
                }
                if found.values().all(|exists| *exists) {
                    break;
                }
            }
            Ok::<_, AwsError>(found)
        },
    ))
    .buffer_unordered(CONCURRENCY)
    .try_collect()
    .await?;
    Ok(found.into_iter().flatten().collect())
}

/// CreateLogGroup; a group created since the plan was made (a concurrent or earlier, interrupted
/// run) is fine.
pub async fn create_log_group(
    aws: &Aws,
    name: &str,
    tags: &BTreeMap<String, String>,
) -> Result<String, AwsError> {
    let result = aws
        .logs
        .create_log_group()
        .log_group_name(name)
        .set_tags(Some(tags.clone().into_iter().collect()))
        .send()
        .await;
    match result {
        Ok(_) => Ok(format!("created log group {name}")),
        Err(error)
            if error
                .as_service_error()
                .is_some_and(|e| e.is_resource_already_exists_exception()) =>
        {
            Ok(format!("log group {name} already exists"))
        }
        Err(error) => Err(AwsError::call("CreateLogGroup", name, error)),
    }
}

/// The last lines of one log stream, indented for a report; empty when there are none or they
/// cannot be read.
pub async fn last_lines(aws: &Aws, group: &str, stream: &str) -> String {
    let result = aws
        .logs
        .get_log_events()
        .log_group_name(group)
        .log_stream_name(stream)
        .start_from_head(false)
        .limit(LOG_LINES)
        .send()
        .await;
    match result {
        Ok(output) => {
            let lines: Vec<String> = output
                .events()
                .iter()
                .filter_map(|event| event.message())
                .map(|line| format!("\n      | {}", line.trim_end()))
                .collect();
            if lines.is_empty() {
                String::new()
            } else {
                format!("; last log lines ({group} {stream}):{}", lines.concat())
            }
        }
        // No stream: the container wrote nothing (or never ran).
        Err(error)
            if error
                .as_service_error()
                .is_some_and(|e| e.is_resource_not_found_exception()) =>
        {
            String::new()
        }
        Err(error) => format!(
            "; its log lines could not be read ({}: {})",
            stream,
            AwsError::summary(&error)
        ),
    }
}

/// The events of `group` whose stream names start with `prefix`, from `since` (milliseconds
/// since the epoch, inclusive), every page; none when the group does not exist yet.
pub async fn events_since(
    aws: &Aws,
    group: &str,
    prefix: &str,
    since: i64,
) -> Result<Vec<crate::logs::Event>, AwsError> {
    let mut request = aws
        .logs
        .filter_log_events()
        .log_group_name(group)
        .start_time(since);
    if !prefix.is_empty() {
        request = request.log_stream_name_prefix(prefix);
    }
    let mut pages = request.into_paginator().send();
    let mut events = Vec::new();
    while let Some(page) = pages.next().await {
        let page = match page {
            Ok(page) => page,
            Err(error)
                if error
                    .as_service_error()
                    .is_some_and(|e| e.is_resource_not_found_exception()) =>
            {
                return Ok(events);
            }
            Err(error) => return Err(AwsError::call("FilterLogEvents", group, error)),
        };
        events.extend(page.events().iter().map(|event| crate::logs::Event {
            group: group.to_string(),
            stream: event.log_stream_name().unwrap_or_default().to_string(),
            timestamp: event.timestamp().unwrap_or_default(),
            message: event.message().unwrap_or_default().to_string(),
            id: event.event_id().unwrap_or_default().to_string(),
        }));
    }
    Ok(events)
}

#[cfg(test)]
mod tests {
    use super::lookups;

    #[test]
    fn groups_of_one_directory_share_one_lookup() {
        let names = [
            "/ecs/kaapi-cluster/kaapi-service",
            "/ecs/kaapi-cluster/kaapi-celery-task",
            "/kaapi/api",
        ]
        .map(String::from)
        .into_iter()
        .collect();
        let prefixes: Vec<String> = lookups(names).into_iter().map(|(p, _)| p).collect();
        assert_eq!(prefixes, ["/ecs/kaapi-cluster/kaapi-", "/kaapi/api"]);
    }
}
