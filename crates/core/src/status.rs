//! `reconcile status`, pure: what each service of an environment runs now (revision, image tag
//! and digest, the commit it was applied from, its tasks) and where its latest rollout stands and
//! since when, from the live service and its deployment records; text, markdown and JSON views.

use std::fmt::Write;

use serde::Serialize;

use crate::history::{Entry, short_commit, short_digest, tag_text, when};

/// What the live service says of itself (DescribeServices).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LiveCounts {
    /// The task definition ARN the service runs.
    pub task_definition: String,
    pub running: i32,
    pub pending: i32,
    pub desired: i32,
    /// The service's `reconcile:commit` tag: the commit it was last applied from.
    pub commit: Option<String>,
}

/// One service as `status` shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ServiceStatus {
    /// The key under `services:`.
    pub key: String,
    /// The ECS service name.
    pub service: String,
    pub deployed: bool,
    /// `family:revision` the service runs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub revision: Option<String>,
    /// The application image as the revision names it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
    /// ECR's tags of the digest now.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
    /// The digest ECS resolved for the image when it deployed the revision.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub digest: Option<String>,
    /// The commit the service was last applied from (`reconcile:commit`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub commit: Option<String>,
    pub running: i32,
    pub pending: i32,
    pub desired: i32,
    /// The newest deployment of the service, whatever revision it deployed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rollout: Option<Rollout>,
}

/// Where a service's newest deployment stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Rollout {
    /// ECS's status: IN_PROGRESS, SUCCESSFUL, ROLLBACK_SUCCESSFUL, ...
    pub status: String,
    /// For people: `in progress`, `completed in 2m 10s`, `failed: ...; rolled back to ...`.
    pub outcome: String,
    /// The revision it deployed.
    pub revision: String,
    /// Seconds since the epoch.
    pub started_at: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub finished_at: Option<i64>,
}

/// The status of one service from its live counts (`None`: not deployed) and its history,
/// newest first: the image facts come from the newest deployment of the revision it runs now
/// (after a rollback that is not the newest deployment), the rollout from the newest.
pub fn service_status(
    key: &str,
    service: &str,
    live: Option<&LiveCounts>,
    history: &[Entry],
) -> ServiceStatus {
    let Some(live) = live else {
        return ServiceStatus {
            key: key.to_string(),
            service: service.to_string(),
            deployed: false,
            revision: None,
            image: None,
            tags: Vec::new(),
            digest: None,
            commit: None,
            running: 0,
            pending: 0,
            desired: 0,
            rollout: None,
        };
    };
    let revision = crate::plan::short_revision(&live.task_definition);
    let current = history.iter().find(|entry| entry.revision == revision);
    ServiceStatus {
        key: key.to_string(),
        service: service.to_string(),
        deployed: true,
        image: current.map(|entry| entry.image.clone()),
        tags: current.map(|entry| entry.tags.clone()).unwrap_or_default(),
        digest: current.and_then(|entry| entry.digest.clone()),
        commit: live.commit.clone(),
        revision: Some(revision),
        running: live.running,
        pending: live.pending,
        desired: live.desired,
        rollout: history.first().map(|entry| Rollout {
            status: entry.status.clone(),
            outcome: entry.outcome.clone(),
            revision: entry.revision.clone(),
            started_at: entry.started_at,
            finished_at: entry.finished_at,
        }),
    }
}

/// A span of seconds in its two largest units: `45s`, `3m 20s`, `2h 10m`, `3d 4h`.
pub fn age(seconds: i64) -> String {
    let s = seconds.max(0);
    let (d, h, m) = (s / 86_400, s % 86_400 / 3_600, s % 3_600 / 60);
    match s {
        0..60 => format!("{s}s"),
        60..3_600 => format!("{m}m {}s", s % 60),
        3_600..86_400 => format!("{h}h {m}m"),
        _ => format!("{d}d {h}h"),
    }
}

/// The image column: tags (or the revision's own tag) and the short digest.
fn image_text(status: &ServiceStatus) -> String {
    let Some(image) = &status.image else {
        return "(no deployment record of this revision)".into();
    };
    let entry = Entry {
        service: status.service.clone(),
        revision: String::new(),
        image: image.clone(),
        digest: status.digest.clone(),
        tags: status.tags.clone(),
        commit: None,
        started_at: 0,
        finished_at: None,
        status: String::new(),
        outcome: String::new(),
    };
    match &status.digest {
        Some(digest) => format!("{} ({})", tag_text(&entry), short_digest(digest)),
        None => format!("{} (digest unknown)", tag_text(&entry)),
    }
}

/// The rollout, with how long ago it started or ended.
fn rollout_text(status: &ServiceStatus, now: i64) -> String {
    let Some(rollout) = &status.rollout else {
        return "no deployment on record".into();
    };
    let of = if Some(&rollout.revision) == status.revision.as_ref() {
        String::new()
    } else {
        format!(" of {}", rollout.revision)
    };
    match rollout.finished_at {
        Some(end) => format!("rollout{of} {}, {} ago", rollout.outcome, age(now - end)),
        None => format!(
            "rollout{of} {} for {} (since {})",
            rollout.outcome,
            age(now - rollout.started_at),
            when(rollout.started_at)
        ),
    }
}

fn tasks_text(status: &ServiceStatus) -> String {
    let pending = if status.pending > 0 {
        format!(", {} pending", status.pending)
    } else {
        String::new()
    };
    format!("{}/{} running{pending}", status.running, status.desired)
}

fn commit_text(status: &ServiceStatus) -> String {
    status
        .commit
        .as_deref()
        .map_or("no commit recorded".to_string(), |c| {
            format!("commit {}", short_commit(c))
        })
}

/// The columns of a deployed service: revision, image, commit, tasks, rollout; `None` when it
/// is not deployed.
fn cells(status: &ServiceStatus, now: i64) -> Option<[String; 5]> {
    status.deployed.then(|| {
        [
            status.revision.clone().unwrap_or_default(),
            image_text(status),
            commit_text(status),
            tasks_text(status),
            rollout_text(status, now),
        ]
    })
}

/// Two lines per service: what it runs, then its tasks and rollout.
pub fn text(environment: &str, services: &[ServiceStatus], now: i64) -> String {
    let mut out = format!("{environment}\n");
    for status in services {
        let service = &status.service;
        let _ = match cells(status, now) {
            None => writeln!(out, "  {service}: not deployed"),
            Some([revision, image, commit, tasks, rollout]) => writeln!(
                out,
                "  {service}  {revision}  {image}  {commit}\n    {tasks}; {rollout}"
            ),
        };
    }
    out
}

/// One table, for an issue or a pull-request comment.
pub fn markdown(environment: &str, services: &[ServiceStatus], now: i64) -> String {
    let mut out = format!(
        "### {environment}\n\n| service | revision | image | commit | tasks | rollout |\n|---|---|---|---|---|---|\n"
    );
    for status in services {
        let service = &status.service;
        let _ = match cells(status, now) {
            None => writeln!(out, "| `{service}` | not deployed | | | | |"),
            Some([revision, image, commit, tasks, rollout]) => writeln!(
                out,
                "| `{service}` | `{revision}` | {image} | {commit} | {tasks} | {} |",
                rollout.replace('|', "\\|")
            ),
        };
    }
    out
}

/// One JSON document: the environment and its services.
pub fn json(environment: &str, services: &[ServiceStatus]) -> String {
    serde_json::to_string_pretty(&serde_json::json!({
        "environment": environment,
        "services": services,
    }))
    .unwrap_or_default()
        + "\n"
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_764_670_000;
    const DIGEST_NEW: &str =
        "sha256:4f53cda18c2baa0c0354bb5f9a3ecbe5ed12ab4d8e11ba873c2f11161202b945";
    const DIGEST_OLD: &str =
        "sha256:9c1e0b7a33d0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6";
    const REPO: &str = "024209611402.dkr.ecr.ap-south-1.amazonaws.com/kaapi-repo";

    fn entry(revision: &str, digest: &str, tag: &str, status: &str, outcome: &str) -> Entry {
        Entry {
            service: "kaapi-service".into(),
            revision: revision.into(),
            image: format!("{REPO}@{digest}"),
            digest: Some(digest.into()),
            tags: vec![tag.into()],
            commit: Some("1a2b3c4d5e6f7a8b".into()),
            started_at: NOW - 7_800,
            finished_at: Some(NOW - 7_670),
            status: status.into(),
            outcome: outcome.into(),
        }
    }

    fn live(revision: &str, running: i32) -> LiveCounts {
        LiveCounts {
            task_definition: format!(
                "arn:aws:ecs:ap-south-1:024209611402:task-definition/{revision}"
            ),
            running,
            pending: 0,
            desired: 2,
            commit: Some("1a2b3c4d5e6f7a8b9c0d".into()),
        }
    }

    #[test]
    fn a_completed_rollout_shows_tag_digest_commit_tasks_and_age() {
        let history = [entry(
            "kaapi-task:7",
            DIGEST_NEW,
            "v1.9.0-main.4",
            "SUCCESSFUL",
            "completed in 2m 10s",
        )];
        let api = service_status(
            "api",
            "kaapi-service",
            Some(&live("kaapi-task:7", 2)),
            &history,
        );
        let celery = service_status("celery", "kaapi-celery-task", None, &[]);
        let text = text("production", &[api.clone(), celery], NOW);
        insta::assert_snapshot!(text, @r"
        production
          kaapi-service  kaapi-task:7  v1.9.0-main.4 (sha256:4f53cda18c2b)  commit 1a2b3c4d5e6f
            2/2 running; rollout completed in 2m 10s, 2h 7m ago
          kaapi-celery-task: not deployed
        ");
        let json: serde_json::Value = serde_json::from_str(&json("production", &[api])).unwrap();
        assert_eq!(json["services"][0]["digest"], DIGEST_NEW);
        assert_eq!(json["services"][0]["tags"][0], "v1.9.0-main.4");
        assert_eq!(json["services"][0]["rollout"]["status"], "SUCCESSFUL");
    }

    /// After a circuit-breaker rollback the service runs the earlier revision: its image is that
    /// revision's, and the rollout line names the revision that failed.
    #[test]
    fn after_a_rollback_the_image_is_the_running_revisions_and_the_failure_is_named() {
        let history = [
            entry(
                "kaapi-task:8",
                DIGEST_NEW,
                "v1.10.0-main.1",
                "ROLLBACK_SUCCESSFUL",
                "failed: tasks failed to start; rolled back to kaapi-task:7",
            ),
            entry(
                "kaapi-task:7",
                DIGEST_OLD,
                "v1.9.0-main.4",
                "SUCCESSFUL",
                "completed in 2m 10s",
            ),
        ];
        let api = service_status(
            "api",
            "kaapi-service",
            Some(&live("kaapi-task:7", 2)),
            &history,
        );
        assert_eq!(api.digest.as_deref(), Some(DIGEST_OLD));
        let text = text("production", &[api], NOW);
        assert!(
            text.contains("v1.9.0-main.4 (sha256:9c1e0b7a33d0)"),
            "{text}"
        );
        assert!(
            text.contains(
                "rollout of kaapi-task:8 failed: tasks failed to start; rolled back to kaapi-task:7"
            ),
            "{text}"
        );
    }

    #[test]
    fn a_rollout_in_progress_says_for_how_long_and_since_when() {
        let mut running = entry(
            "kaapi-task:8",
            DIGEST_NEW,
            "v1.10.0",
            "IN_PROGRESS",
            "in progress",
        );
        running.started_at = NOW - 200;
        running.finished_at = None;
        let mut counts = live("kaapi-task:8", 1);
        counts.pending = 1;
        let api = service_status("api", "kaapi-service", Some(&counts), &[running]);
        let text = text("staging", std::slice::from_ref(&api), NOW);
        assert!(
            text.contains("1/2 running, 1 pending; rollout in progress for 3m 20s (since "),
            "{text}"
        );
        let markdown = markdown("staging", &[api], NOW);
        assert!(
            markdown.starts_with("### staging\n\n| service |"),
            "{markdown}"
        );
        assert!(
            markdown
                .contains("| `kaapi-service` | `kaapi-task:8` | v1.10.0 (sha256:4f53cda18c2b) |"),
            "{markdown}"
        );
    }

    #[test]
    fn ages_use_their_two_largest_units() {
        assert_eq!(age(45), "45s");
        assert_eq!(age(200), "3m 20s");
        assert_eq!(age(7_800), "2h 10m");
        assert_eq!(age(273_600), "3d 4h");
        assert_eq!(age(-5), "0s");
    }
}
