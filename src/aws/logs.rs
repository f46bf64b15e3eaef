//! CloudWatch Logs: whether the log groups tasks will write to exist, creating them, and the last
//! lines of a task's awslogs stream.

use std::collections::{BTreeMap, BTreeSet};

use futures::{StreamExt, TryStreamExt, stream};

use super::{Aws, AwsError};

/// How many log lines of a task are shown.
const LOG_LINES: i32 = 20;
/// Parallel DescribeLogGroups calls.
const CONCURRENCY: usize = 4;

/// Whether each log group exists: one DescribeLogGroups by name prefix per group, concurrently.
pub async fn check_log_groups(
    aws: &Aws,
    names: BTreeSet<String>,
) -> Result<BTreeMap<String, bool>, AwsError> {
    stream::iter(names.into_iter().map(|name| async move {
        let output = aws
            .logs
            .describe_log_groups()
            .log_group_name_prefix(&name)
            .limit(50)
            .send()
            .await
            .map_err(|e| AwsError::call("DescribeLogGroups", name.clone(), e))?;
        let exists = output
            .log_groups()
            .iter()
            .any(|group| group.log_group_name() == Some(name.as_str()));
        Ok::<_, AwsError>((name, exists))
    }))
    .buffer_unordered(CONCURRENCY)
    .try_collect()
    .await
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
