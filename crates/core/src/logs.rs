//! `reconcile logs`, pure: where each running container writes (its awslogs group and stream
//! prefix, from the task definition the service runs), which container and task a stream is, and
//! the lines as a person reads them, merged in time order.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write;

use serde::Serialize;

use crate::model::Revision;

/// Where one container of one service writes: awslogs streams are `PREFIX/CONTAINER/TASK_ID`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Source {
    pub service: String,
    pub container: String,
    pub group: String,
    pub stream_prefix: String,
}

/// The awslogs sources of the revision each service runs (containers with another log driver,
/// such as FireLens, write elsewhere and are named in `elsewhere`).
pub fn sources(running: &[(String, &Revision)]) -> (Vec<Source>, Vec<String>) {
    let mut found = Vec::new();
    let mut elsewhere = Vec::new();
    for (service, revision) in running {
        for container in &revision.content.containers {
            let awslogs = container
                .log_configuration
                .as_ref()
                .filter(|logs| logs.log_driver == "awslogs");
            let group = awslogs.and_then(|logs| logs.options.get("awslogs-group"));
            match (awslogs, group) {
                (Some(logs), Some(group)) => found.push(Source {
                    service: service.clone(),
                    container: container.name.clone(),
                    group: group.clone(),
                    stream_prefix: logs
                        .options
                        .get("awslogs-stream-prefix")
                        .cloned()
                        .unwrap_or_default(),
                }),
                _ => elsewhere.push(format!(
                    "{service}/{}: {}",
                    container.name,
                    match &container.log_configuration {
                        Some(logs) => format!("log driver {}", logs.log_driver),
                        None => "no log configuration".to_string(),
                    }
                )),
            }
        }
    }
    (found, elsewhere)
}

/// What to ask CloudWatch Logs: each group with each stream-name prefix its containers share
/// (`PREFIX/`), once.
pub fn queries(sources: &[Source]) -> BTreeSet<(String, String)> {
    sources
        .iter()
        .map(|source| {
            let prefix = match source.stream_prefix.as_str() {
                "" => String::new(),
                prefix => format!("{prefix}/"),
            };
            (source.group.clone(), prefix)
        })
        .collect()
}

/// One log event as CloudWatch Logs returns it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    pub group: String,
    pub stream: String,
    /// Milliseconds since the epoch.
    pub timestamp: i64,
    pub message: String,
    pub id: String,
}

/// One line of `reconcile logs`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Line {
    /// RFC 3339, in UTC.
    pub time: String,
    pub service: String,
    pub container: String,
    pub task: String,
    pub message: String,
}

/// The service, container and task of an event, when its stream is one of `sources`' (a stream
/// of another prefix or container in a shared group is someone else's).
fn placed(sources: &[Source], event: &Event) -> Option<Line> {
    let mut parts = event.stream.splitn(3, '/');
    let (prefix, container, task) = (parts.next()?, parts.next()?, parts.next()?);
    let source = sources.iter().find(|source| {
        source.group == event.group
            && source.stream_prefix == prefix
            && source.container == container
    })?;
    let time =
        std::time::UNIX_EPOCH + std::time::Duration::from_millis(event.timestamp.max(0) as u64);
    Some(Line {
        time: humantime::format_rfc3339_seconds(time).to_string(),
        service: source.service.clone(),
        container: container.to_string(),
        task: task.to_string(),
        message: event.message.trim_end().to_string(),
    })
}

/// The events of `sources`, in time order (several groups merged), each once.
pub fn lines(sources: &[Source], events: &[Event]) -> Vec<Line> {
    let mut sorted: Vec<&Event> = events.iter().collect();
    sorted.sort_by(|a, b| (a.timestamp, &a.id).cmp(&(b.timestamp, &b.id)));
    sorted.dedup_by(|a, b| a.id == b.id && a.group == b.group);
    sorted
        .into_iter()
        .filter_map(|event| placed(sources, event))
        .collect()
}

/// A line as text: time, service/container, the task's id cut to 8 digits, the message.
pub fn text(line: &Line) -> String {
    let mut out = String::new();
    let task: String = line.task.chars().take(8).collect();
    let _ = write!(
        out,
        "{} {}/{} {task}  {}",
        line.time, line.service, line.container, line.message
    );
    out
}

/// Where a follow resumes: the newest timestamp seen and the ids seen at it (CloudWatch's
/// `startTime` is inclusive, so those come again and are skipped).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Cursor {
    pub since: i64,
    seen: BTreeMap<String, BTreeSet<String>>,
}

impl Cursor {
    pub fn new(since: i64) -> Self {
        Cursor {
            since,
            seen: BTreeMap::new(),
        }
    }

    /// The events not seen before; the cursor moves past them.
    pub fn fresh(&mut self, events: Vec<Event>) -> Vec<Event> {
        let newest = events
            .iter()
            .map(|e| e.timestamp)
            .max()
            .unwrap_or(self.since);
        let fresh: Vec<Event> = events
            .into_iter()
            .filter(|event| {
                event.timestamp >= self.since
                    && !self
                        .seen
                        .get(&event.group)
                        .is_some_and(|ids| ids.contains(&event.id))
            })
            .collect();
        if newest > self.since {
            self.since = newest;
            self.seen.clear();
        }
        for event in &fresh {
            if event.timestamp == self.since {
                self.seen
                    .entry(event.group.clone())
                    .or_default()
                    .insert(event.id.clone());
            }
        }
        fresh
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{ContainerDefinition, LogConfiguration, TaskDefinition};

    /// A container's log driver, group and stream prefix.
    type Logs<'a> = Option<(&'a str, &'a str, &'a str)>;

    fn revision(containers: Vec<(&str, Logs)>) -> Revision {
        Revision {
            arn: "arn:aws:ecs:ap-south-1:024209611402:task-definition/kaapi-task:7".into(),
            revision: 7,
            status: "ACTIVE".into(),
            content: TaskDefinition {
                family: "kaapi-task".into(),
                containers: containers
                    .into_iter()
                    .map(|(name, logs)| ContainerDefinition {
                        name: name.into(),
                        log_configuration: logs.map(|(driver, group, prefix)| LogConfiguration {
                            log_driver: driver.into(),
                            options: [
                                ("awslogs-group".to_string(), group.to_string()),
                                ("awslogs-stream-prefix".to_string(), prefix.to_string()),
                            ]
                            .into_iter()
                            .collect(),
                            ..LogConfiguration::default()
                        }),
                        ..ContainerDefinition::default()
                    })
                    .collect(),
                ..TaskDefinition::default()
            },
        }
    }

    fn event(group: &str, stream: &str, timestamp: i64, id: &str, message: &str) -> Event {
        Event {
            group: group.into(),
            stream: stream.into(),
            timestamp,
            message: message.into(),
            id: id.into(),
        }
    }

    #[test]
    fn each_awslogs_container_is_a_source_and_the_others_are_named() {
        let api = revision(vec![
            (
                "backend",
                Some(("awslogs", "/ecs/kaapi-cluster/kaapi-service", "ecs")),
            ),
            ("log-router", Some(("awsfirelens", "", ""))),
            ("sidecar", None),
        ]);
        let (found, elsewhere) = sources(&[("kaapi-service".to_string(), &api)]);
        assert_eq!(
            found,
            [Source {
                service: "kaapi-service".into(),
                container: "backend".into(),
                group: "/ecs/kaapi-cluster/kaapi-service".into(),
                stream_prefix: "ecs".into(),
            }]
        );
        assert_eq!(
            elsewhere,
            [
                "kaapi-service/log-router: log driver awsfirelens",
                "kaapi-service/sidecar: no log configuration"
            ]
        );
        assert_eq!(
            queries(&found).into_iter().collect::<Vec<_>>(),
            [(
                "/ecs/kaapi-cluster/kaapi-service".to_string(),
                "ecs/".to_string()
            )]
        );
    }

    #[test]
    fn lines_of_two_groups_merge_in_time_order_and_streams_of_others_are_left_out() {
        let group = "/ecs/kaapi-cluster/kaapi-service";
        let workers = "/ecs/kaapi-cluster/kaapi-celery-task";
        let api = revision(vec![("backend", Some(("awslogs", group, "ecs")))]);
        let celery = revision(vec![("celery-worker", Some(("awslogs", workers, "ecs")))]);
        let (found, _) = sources(&[
            ("kaapi-service".to_string(), &api),
            ("kaapi-celery-task".to_string(), &celery),
        ]);
        let events = [
            event(
                workers,
                "ecs/celery-worker/9f8e7d6c5b4a",
                2_000,
                "2",
                "ready",
            ),
            event(
                group,
                "ecs/backend/0123456789abcdef",
                1_000,
                "1",
                "Uvicorn running\n",
            ),
            // The same group, another prefix: not one of these containers.
            event(group, "debug/backend/0123", 1_500, "3", "not ours"),
            event(
                group,
                "ecs/backend/0123456789abcdef",
                3_000,
                "4",
                "GET /health 200",
            ),
        ];
        let text: Vec<String> = lines(&found, &events).iter().map(text).collect();
        assert_eq!(
            text,
            [
                "1970-01-01T00:00:01Z kaapi-service/backend 01234567  Uvicorn running",
                "1970-01-01T00:00:02Z kaapi-celery-task/celery-worker 9f8e7d6c  ready",
                "1970-01-01T00:00:03Z kaapi-service/backend 01234567  GET /health 200",
            ]
        );
    }

    #[test]
    fn a_follow_shows_each_event_once_though_start_time_is_inclusive() {
        let group = "/ecs/kaapi-cluster/kaapi-service";
        let mut cursor = Cursor::new(1_000);
        let first = vec![
            event(group, "ecs/backend/a", 1_000, "1", "one"),
            event(group, "ecs/backend/a", 2_000, "2", "two"),
        ];
        assert_eq!(cursor.fresh(first.clone()).len(), 2);
        assert_eq!(cursor.since, 2_000);
        // Asked again from 2_000: "two" comes back, with one new event at the same millisecond.
        let again = vec![
            first[1].clone(),
            event(group, "ecs/backend/b", 2_000, "3", "three"),
        ];
        let fresh = cursor.fresh(again);
        assert_eq!(
            fresh.iter().map(|e| e.message.as_str()).collect::<Vec<_>>(),
            ["three"]
        );
        assert!(cursor.fresh(Vec::new()).is_empty());
    }
}
