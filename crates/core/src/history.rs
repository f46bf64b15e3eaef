//! `reconcile history`, pure: what each service ran, newest first, from what AWS holds (ECS's
//! service deployment records, the service revisions they deployed, the task definitions'
//! commit tags, ECR's tags of each digest), and its text, markdown and JSON views.

use std::collections::BTreeMap;
use std::fmt::Write;

use serde::Serialize;

use crate::state::desired::ImageRef;

/// One ECS service deployment, as DescribeServiceDeployments reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeploymentRecord {
    pub arn: String,
    /// PENDING, IN_PROGRESS, SUCCESSFUL, STOPPED, ROLLBACK_IN_PROGRESS, ROLLBACK_SUCCESSFUL, ...
    pub status: String,
    pub status_reason: Option<String>,
    /// Seconds since the epoch.
    pub created_at: i64,
    pub finished_at: Option<i64>,
    /// The service revision deployed.
    pub target_revision: String,
    /// The service revision a rollback went back to.
    pub rollback_to: Option<String>,
}

/// One service revision, as DescribeServiceRevisions reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceRevision {
    pub arn: String,
    /// The task definition ARN.
    pub task_definition: String,
    /// Each container's image and the digest ECS resolved for it.
    pub images: Vec<(String, Option<String>)>,
}

/// What AWS holds about one service, for `entries`.
#[derive(Debug, Clone, Default)]
pub struct ServiceRecords {
    pub deployments: Vec<DeploymentRecord>,
    /// By service revision ARN.
    pub revisions: BTreeMap<String, ServiceRevision>,
    /// The commit tag of each task definition ARN that has one.
    pub commits: BTreeMap<String, String>,
    /// ECR's tags of each digest of the application's repository.
    pub tags: BTreeMap<String, Vec<String>>,
}

/// One line of the history: a deployment of one revision.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Entry {
    pub service: String,
    /// `family:revision`.
    pub revision: String,
    /// The application image as the revision names it.
    pub image: String,
    pub digest: Option<String>,
    /// ECR's tags of that digest now (a tag may have moved on since: the digest is the fact).
    pub tags: Vec<String>,
    /// The commit the revision was registered from (`reconcile:commit`).
    pub commit: Option<String>,
    pub started_at: i64,
    pub finished_at: Option<i64>,
    /// ECS's status of the deployment.
    pub status: String,
    /// How it ended, for people.
    pub outcome: String,
}

fn short_task_definition(arn: &str) -> String {
    arn.rsplit('/').next().unwrap_or(arn).to_string()
}

/// The application image of a revision: the first container image of `repository`, else the
/// first container's.
fn application_image<'a>(
    revision: &'a ServiceRevision,
    repository: &str,
) -> Option<&'a (String, Option<String>)> {
    revision
        .images
        .iter()
        .find(|(image, _)| {
            ImageRef::parse_uri(image).is_some_and(|(_, image)| image.repository == repository)
        })
        .or_else(|| revision.images.first())
}

/// The history of `service`, newest first, at most `limit` entries.
pub fn entries(
    service: &str,
    repository: &str,
    records: &ServiceRecords,
    limit: usize,
) -> Vec<Entry> {
    let mut deployments: Vec<&DeploymentRecord> = records.deployments.iter().collect();
    // Newest first whatever order the API listed them in; the ARN breaks ties stably.
    deployments.sort_by(|a, b| (b.created_at, &b.arn).cmp(&(a.created_at, &a.arn)));
    deployments
        .into_iter()
        .take(limit)
        .map(|deployment| {
            let revision = records.revisions.get(&deployment.target_revision);
            let task_definition = revision.map(|r| r.task_definition.clone());
            let (image, digest) = revision
                .and_then(|r| application_image(r, repository))
                .map(|(image, digest)| {
                    let digest = digest
                        .clone()
                        .or_else(|| ImageRef::parse_uri(image).and_then(|(_, image)| image.digest));
                    (image.clone(), digest)
                })
                .unwrap_or_default();
            let rolled_back_to = deployment
                .rollback_to
                .as_ref()
                .and_then(|arn| records.revisions.get(arn))
                .map(|r| short_task_definition(&r.task_definition));
            Entry {
                service: service.to_string(),
                revision: task_definition
                    .as_deref()
                    .map(short_task_definition)
                    .unwrap_or_else(|| "(revision not described)".into()),
                tags: digest
                    .as_ref()
                    .and_then(|d| records.tags.get(d))
                    .cloned()
                    .unwrap_or_default(),
                commit: task_definition
                    .as_ref()
                    .and_then(|arn| records.commits.get(arn))
                    .cloned(),
                image,
                digest,
                started_at: deployment.created_at,
                finished_at: deployment.finished_at,
                status: deployment.status.clone(),
                outcome: outcome(deployment, rolled_back_to.as_deref()),
            }
        })
        .collect()
}

fn outcome(deployment: &DeploymentRecord, rolled_back_to: Option<&str>) -> String {
    let reason = deployment
        .status_reason
        .as_deref()
        .map(|r| format!(": {}", r.trim_end_matches('.')))
        .unwrap_or_default();
    let took = deployment
        .finished_at
        .map(|end| {
            format!(
                " in {}",
                humantime::format_duration(std::time::Duration::from_secs(
                    (end - deployment.created_at).max(0) as u64
                ))
            )
        })
        .unwrap_or_default();
    match deployment.status.as_str() {
        "SUCCESSFUL" => format!("completed{took}"),
        "ROLLBACK_SUCCESSFUL" | "ROLLBACK_IN_PROGRESS" | "ROLLBACK_REQUESTED" => {
            let to = rolled_back_to
                .map(|r| format!(" to {r}"))
                .unwrap_or_default();
            let state = if deployment.status == "ROLLBACK_SUCCESSFUL" {
                "rolled back"
            } else {
                "rolling back"
            };
            format!("failed{reason}; {state}{to}")
        }
        "ROLLBACK_FAILED" => format!("failed{reason}; the rollback failed too"),
        "STOPPED" | "STOP_REQUESTED" => format!("stopped{reason}"),
        "IN_PROGRESS" | "PENDING" => "in progress".to_string(),
        other => format!("{}{reason}", other.to_lowercase()),
    }
}

pub(crate) fn when(seconds: i64) -> String {
    let time = std::time::UNIX_EPOCH + std::time::Duration::from_secs(seconds.max(0) as u64);
    humantime::format_rfc3339_seconds(time).to_string()
}

/// `sha256:` and the first 12 hex digits: enough to tell digests apart in a table.
pub(crate) fn short_digest(digest: &str) -> String {
    match digest.strip_prefix("sha256:") {
        Some(hex) => format!("sha256:{}", &hex[..hex.len().min(12)]),
        None => digest.to_string(),
    }
}

pub(crate) fn short_commit(commit: &str) -> &str {
    &commit[..commit.len().min(12)]
}

pub(crate) fn tag_text(entry: &Entry) -> String {
    if entry.tags.is_empty() {
        // The revision's own tag when it names one, else nothing ECR still calls it.
        ImageRef::parse_uri(&entry.image)
            .and_then(|(_, image)| image.tag)
            .unwrap_or_else(|| "(untagged)".into())
    } else {
        entry.tags.join(", ")
    }
}

/// The columns of an entry: started, revision, tags, digest, commit, outcome.
fn cells(entry: &Entry) -> [String; 6] {
    [
        when(entry.started_at),
        entry.revision.clone(),
        tag_text(entry),
        entry
            .digest
            .as_deref()
            .map(short_digest)
            .unwrap_or_else(|| "(digest unknown)".into()),
        entry
            .commit
            .as_deref()
            .map_or("(none)", short_commit)
            .to_string(),
        entry.outcome.clone(),
    ]
}

/// One block per service, one line per deployment, newest first.
pub fn text(services: &[(String, Vec<Entry>)]) -> String {
    let mut out = String::new();
    for (service, entries) in services {
        let _ = writeln!(out, "{service}");
        if entries.is_empty() {
            let _ = writeln!(out, "  no deployment on record");
        }
        for entry in entries {
            let [started, revision, tags, digest, commit, outcome] = cells(entry);
            let _ = writeln!(
                out,
                "  {started}  {revision}  {tags}  {digest}  commit {commit}  {outcome}"
            );
        }
    }
    out
}

/// A table per service, for an issue or a pull-request comment.
pub fn markdown(services: &[(String, Vec<Entry>)]) -> String {
    let mut out = String::new();
    for (service, entries) in services {
        let _ = writeln!(out, "### {service}\n");
        if entries.is_empty() {
            let _ = writeln!(out, "No deployment on record.\n");
            continue;
        }
        let _ = writeln!(
            out,
            "| started | revision | tags | digest | commit | outcome |\n|---|---|---|---|---|---|"
        );
        for entry in entries {
            let [started, revision, tags, digest, commit, outcome] = cells(entry);
            let _ = writeln!(
                out,
                "| {started} | `{revision}` | {tags} | `{digest}` | `{commit}` | {} |",
                outcome.replace('|', "\\|")
            );
        }
        out.push('\n');
    }
    out
}

/// One JSON document: every entry of every service, newest first within each service.
pub fn json(services: &[(String, Vec<Entry>)]) -> String {
    let all: Vec<&Entry> = services.iter().flat_map(|(_, e)| e).collect();
    serde_json::to_string_pretty(&all).unwrap_or_default() + "\n"
}

#[cfg(test)]
mod tests {
    use super::*;

    const REPO: &str = "024209611402.dkr.ecr.ap-south-1.amazonaws.com/kaapi-repo";
    const TD: &str = "arn:aws:ecs:ap-south-1:024209611402:task-definition/kaapi-task";

    fn digest(c: char) -> String {
        format!("sha256:{}", c.to_string().repeat(64))
    }

    fn deployment(id: &str, status: &str, at: i64, revision: &str) -> DeploymentRecord {
        DeploymentRecord {
            arn: format!(
                "arn:aws:ecs:ap-south-1:024209611402:service-deployment/kaapi-cluster/kaapi-service/{id}"
            ),
            status: status.into(),
            status_reason: None,
            created_at: at,
            finished_at: Some(at + 95),
            target_revision: revision.into(),
            rollback_to: None,
        }
    }

    /// Three deploys and a revert, listed out of order as an API may list them.
    fn records() -> ServiceRecords {
        let revision = |arn: &str, number: u32, image: String, digest: Option<String>| {
            (
                arn.to_string(),
                ServiceRevision {
                    arn: arn.into(),
                    task_definition: format!("{TD}:{number}"),
                    images: vec![
                        (image, digest),
                        (
                            "public.ecr.aws/aws-observability/aws-otel-collector:v0.40.0".into(),
                            None,
                        ),
                    ],
                },
            )
        };
        let mut failed = deployment("c", "ROLLBACK_SUCCESSFUL", 3000, "rev-3");
        failed.status_reason =
            Some("ECS deployment circuit breaker: tasks failed to start.".into());
        failed.rollback_to = Some("rev-2".into());
        ServiceRecords {
            deployments: vec![
                deployment("b", "SUCCESSFUL", 2000, "rev-2"),
                deployment("d", "SUCCESSFUL", 4000, "rev-4"),
                deployment("a", "SUCCESSFUL", 1000, "rev-1"),
                failed,
            ],
            revisions: BTreeMap::from([
                // An adopted revision named a tag; ECS resolved its digest.
                revision("rev-1", 1, format!("{REPO}:v1.7.0"), Some(digest('1'))),
                revision("rev-2", 2, format!("{REPO}@{}", digest('2')), None),
                revision("rev-3", 3, format!("{REPO}@{}", digest('3')), None),
                // The revert: revision 2 again, described as a new service revision.
                revision(
                    "rev-4",
                    2,
                    format!("{REPO}@{}", digest('2')),
                    Some(digest('2')),
                ),
            ]),
            commits: BTreeMap::from([
                (
                    format!("{TD}:2"),
                    "2222222222222222222222222222222222222222".into(),
                ),
                (
                    format!("{TD}:3"),
                    "3333333333333333333333333333333333333333".into(),
                ),
            ]),
            tags: BTreeMap::from([
                (digest('2'), vec!["v1.8.0".into()]),
                (digest('3'), vec!["v1.9.0".into()]),
            ]),
        }
    }

    #[test]
    fn newest_first_with_tags_digests_commits_and_outcomes() {
        let entries = entries("kaapi-service", "kaapi-repo", &records(), 20);
        let lines: Vec<_> = entries
            .iter()
            .map(|e| {
                (
                    e.revision.as_str(),
                    e.tags.join(","),
                    e.digest.clone().unwrap_or_default(),
                    e.commit.clone().unwrap_or_default(),
                    e.outcome.as_str(),
                )
            })
            .collect();
        assert_eq!(
            lines,
            [
                (
                    "kaapi-task:2",
                    "v1.8.0".to_string(),
                    digest('2'),
                    "2222222222222222222222222222222222222222".to_string(),
                    "completed in 1m 35s"
                ),
                (
                    "kaapi-task:3",
                    "v1.9.0".to_string(),
                    digest('3'),
                    "3333333333333333333333333333333333333333".to_string(),
                    "failed: ECS deployment circuit breaker: tasks failed to start; rolled back to kaapi-task:2"
                ),
                (
                    "kaapi-task:2",
                    "v1.8.0".to_string(),
                    digest('2'),
                    "2222222222222222222222222222222222222222".to_string(),
                    "completed in 1m 35s"
                ),
                (
                    "kaapi-task:1",
                    String::new(),
                    digest('1'),
                    String::new(),
                    "completed in 1m 35s"
                ),
            ]
        );
        assert_eq!(
            super::entries("kaapi-service", "kaapi-repo", &records(), 2).len(),
            2
        );
        let text = text(&[("kaapi-service".to_string(), entries.clone())]);
        assert!(
            text.contains(
                "  1970-01-01T00:16:40Z  kaapi-task:1  v1.7.0  sha256:111111111111  commit (none)  completed in 1m 35s\n"
            ),
            "{text}"
        );
        let table = markdown(&[("kaapi-service".to_string(), entries.clone())]);
        assert!(
            table.contains(
                "| 1970-01-01T00:16:40Z | `kaapi-task:1` | v1.7.0 | `sha256:111111111111` | `(none)` | completed in 1m 35s |"
            ),
            "{table}"
        );
        let parsed: serde_json::Value =
            serde_json::from_str(&json(&[("kaapi-service".to_string(), entries)])).unwrap();
        assert_eq!(parsed.as_array().unwrap().len(), 4);
        assert_eq!(parsed[1]["status"], "ROLLBACK_SUCCESSFUL");
    }
}
