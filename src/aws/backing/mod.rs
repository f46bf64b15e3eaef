//! Backing services across RDS, ElastiCache and Amazon MQ: reading them for a plan, waiting until
//! one is available, and carrying out the create / modify / replace operations a plan holds.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

#[cfg(test)]
mod classification_tests;
mod elasticache;
mod mq;
mod rds;
pub mod settings;

use crate::aws::{Aws, AwsError, secrets};
use crate::model::{BackingKind, LiveBacking};
use crate::plan::{BackingModify, BackingWrite};
use crate::state::DesiredState;
use crate::state::desired::{ENVIRONMENT_TAG, MANAGED_BY_TAG, MANAGED_BY_VALUE};

/// How long apply waits for a backing service to become available, per kind (AWS's own creation
/// times: RDS Multi-AZ often 20-40 minutes, ElastiCache 10-20, Amazon MQ 15-25).
pub fn time_limit(kind: BackingKind) -> Duration {
    match kind {
        BackingKind::Postgres => Duration::from_secs(60 * 60),
        BackingKind::Redis => Duration::from_secs(45 * 60),
        BackingKind::Rabbitmq => Duration::from_secs(45 * 60),
    }
}

fn managed_here(tags: &BTreeMap<String, String>, environment: &str) -> bool {
    tags.get(MANAGED_BY_TAG).map(String::as_str) == Some(MANAGED_BY_VALUE)
        && tags.get(ENVIRONMENT_TAG).map(String::as_str) == Some(environment)
}

/// What the observer found: the entries that exist, by key, and this environment's backing
/// services that no entry names any more.
pub type Observed = (BTreeMap<String, LiveBacking>, Vec<(BackingKind, String)>);

/// Reads every backing service of the region once per API (three list calls), then the details
/// of the ones the state names (ElastiCache member cluster, MQ broker), concurrently.
pub async fn observe(aws: &Aws, state: &DesiredState) -> Result<Observed, AwsError> {
    let (instances, groups, brokers) =
        tokio::try_join!(rds::list(aws), elasticache::list(aws), mq::list(aws))?;
    let wanted = |kind: BackingKind, name: &str| {
        state
            .backing
            .iter()
            .find(|b| b.kind == kind && b.name == name)
            .map(|b| b.key.clone())
    };
    let mut found = BTreeMap::new();
    let mut unmanaged = Vec::new();
    for instance in &instances {
        let name = instance.db_instance_identifier().unwrap_or_default();
        match wanted(BackingKind::Postgres, name) {
            Some(key) => {
                found.insert(key, rds::from_sdk(instance));
            }
            None if managed_here(&rds::tags(instance), &state.environment) => {
                unmanaged.push((BackingKind::Postgres, name.to_string()));
            }
            None => {}
        }
    }
    let marker = format!("reconcile {}/", state.environment);
    let redis = groups.iter().filter_map(|group| {
        let name = group.replication_group_id().unwrap_or_default();
        match wanted(BackingKind::Redis, name) {
            Some(key) => Some((key, group)),
            None => {
                if group.description().is_some_and(|d| d.starts_with(&marker)) {
                    unmanaged.push((BackingKind::Redis, name.to_string()));
                }
                None
            }
        }
    });
    let redis: Vec<_> = redis.collect();
    let base = crate::state::naming::Names::new(&state.prefix, &state.environment)
        .base()
        .to_string();
    // A broker is only known to be this environment's by its tags (DescribeBroker): look at the
    // ones named like this environment's resources.
    let broker_reads = brokers.iter().filter_map(|broker| {
        let name = broker.broker_name()?;
        let id = broker.broker_id()?;
        let key = wanted(BackingKind::Rabbitmq, name);
        (key.is_some() || name.starts_with(&format!("{base}-"))).then_some((key, name, id))
    });
    let (members, described) = tokio::join!(
        futures::future::try_join_all(redis.iter().map(|(key, group)| async move {
            let member = elasticache::primary_member(aws, group).await?;
            Ok::<_, AwsError>((key.clone(), elasticache::from_sdk(group, member.as_ref())))
        })),
        futures::future::try_join_all(broker_reads.map(|(key, name, id)| async move {
            let output = mq::describe_id(aws, id).await?;
            Ok::<_, AwsError>((key, name.to_string(), output))
        })),
    );
    found.extend(members?);
    for (key, name, output) in described? {
        match key {
            Some(key) => {
                found.insert(key, mq::from_sdk(&output));
            }
            None => {
                let tags: BTreeMap<String, String> = output
                    .tags()
                    .map(|tags| tags.clone().into_iter().collect())
                    .unwrap_or_default();
                if managed_here(&tags, &state.environment) {
                    unmanaged.push((BackingKind::Rabbitmq, name));
                }
            }
        }
    }
    Ok((found, unmanaged))
}

/// One backing service by name, or `None` when it does not exist.
pub async fn describe(
    aws: &Aws,
    kind: BackingKind,
    name: &str,
) -> Result<Option<LiveBacking>, AwsError> {
    match kind {
        BackingKind::Postgres => rds::describe(aws, name).await,
        BackingKind::Redis => elasticache::describe(aws, name).await,
        BackingKind::Rabbitmq => mq::describe(aws, name).await,
    }
}

/// One backing service by name with every setting it has (ElastiCache's member cluster read
/// too), or `None` when it does not exist: what `import` writes from.
pub async fn describe_whole(
    aws: &Aws,
    kind: BackingKind,
    name: &str,
) -> Result<Option<LiveBacking>, AwsError> {
    match kind {
        BackingKind::Redis => elasticache::describe_whole(aws, name).await,
        other => describe(aws, other, name).await,
    }
}

/// Waits until the service is in its ready status (and has its outputs), reporting each status
/// change through `progress`; fails after the kind's time limit.
pub async fn wait_ready(
    aws: &Aws,
    kind: BackingKind,
    name: &str,
    progress: &mut dyn FnMut(String),
) -> Result<LiveBacking, AwsError> {
    let started = Instant::now();
    let limit = time_limit(kind);
    let mut backoff = crate::aws::Backoff::new(&aws.stop);
    let mut last = String::new();
    loop {
        let live = describe(aws, kind, name).await?;
        let status = live
            .as_ref()
            .map_or("not found".to_string(), |l| l.status.clone());
        if let Some(live) = live
            && live.status == kind.ready_status()
            && !live.outputs.is_empty()
        {
            return Ok(live);
        }
        if status != last {
            progress(format!(
                "waiting for {} {name}: {status} ({}s)",
                kind.label(),
                started.elapsed().as_secs()
            ));
            last = status.clone();
        }
        if started.elapsed() >= limit {
            return Err(AwsError::TimedOut {
                subject: format!("{} {name}", kind.label()),
                message: format!(
                    "still `{status}` after {} minutes; the apply stopped, rerun it once AWS is done",
                    limit.as_secs() / 60
                ),
            });
        }
        backoff.wait().await?;
    }
}

/// Creates the backing service, reading the secret value its API takes at creation (the Redis
/// AUTH token, the RabbitMQ admin password) right before the call.
pub async fn create(aws: &Aws, backing: &BackingWrite, token: String) -> Result<String, AwsError> {
    let secret = secrets::optional_value(aws, &backing.secret).await?;
    let created = match backing.kind {
        BackingKind::Postgres => {
            rds::create(aws, &backing.name, &backing.settings, &backing.tags).await?
        }
        BackingKind::Redis => elasticache::create(aws, backing, secret).await?,
        // CreateBroker takes a client token: a retry answers with the broker it created.
        BackingKind::Rabbitmq => {
            mq::create(aws, backing, secret.unwrap_or_default(), token).await?;
            true
        }
    };
    Ok(if created {
        format!("created {} {}", backing.kind.label(), backing.name)
    } else {
        format!(
            "created {} {} (the answer to the first request was lost; the retry found it, this environment's)",
            backing.kind.label(),
            backing.name
        )
    })
}

/// Waits until the resource is available, writes the fields the plan lists, then its record.
pub async fn modify(
    aws: &Aws,
    modify: &BackingModify,
    progress: &mut dyn FnMut(String),
) -> Result<String, AwsError> {
    let label = format!("{} {}", modify.kind.label(), modify.name);
    wait_ready(aws, modify.kind, &modify.name, progress).await?;
    let secret = secrets::optional_value(aws, &modify.secret).await?;
    match modify.kind {
        BackingKind::Postgres => rds::modify(aws, modify).await?,
        BackingKind::Redis => elasticache::modify(aws, modify, secret).await?,
        BackingKind::Rabbitmq => mq::modify(aws, modify).await?,
    }
    if !modify.record.is_empty() {
        tag(aws, modify.kind, &modify.arn, &modify.record).await?;
    }
    Ok(format!(
        "modified {label} ({}){}",
        modify
            .changes
            .keys()
            .cloned()
            .collect::<Vec<_>>()
            .join(", "),
        modify.takes_effect
    ))
}

/// Deletes the resource (turning its deletion protection off first where the plan says it is
/// on), waits until it is gone, and creates it again.
pub async fn replace(
    aws: &Aws,
    id: &str,
    backing: &BackingWrite,
    deletion_protected: bool,
    progress: &mut dyn FnMut(String),
) -> Result<String, AwsError> {
    let deleted = delete(
        aws,
        backing.kind,
        &backing.name,
        id,
        deletion_protected,
        progress,
    )
    .await?;
    create(aws, backing, crate::aws::unique_token()).await?;
    Ok(format!(
        "replaced {} {} ({deleted})",
        backing.kind.label(),
        backing.name
    ))
}

/// Adds or corrects tags on the resource (never removes any).
pub async fn tag(
    aws: &Aws,
    kind: BackingKind,
    arn: &str,
    tags: &BTreeMap<String, String>,
) -> Result<(), AwsError> {
    match kind {
        BackingKind::Postgres => rds::tag(aws, arn, tags).await,
        BackingKind::Redis => elasticache::tag(aws, arn, tags).await,
        BackingKind::Rabbitmq => mq::tag(aws, arn, tags).await,
    }
}

/// Deletes the service (RDS and ElastiCache after a final snapshot) and waits until it is gone.
async fn delete(
    aws: &Aws,
    kind: BackingKind,
    name: &str,
    id: &str,
    deletion_protected: bool,
    progress: &mut dyn FnMut(String),
) -> Result<String, AwsError> {
    let snapshot = format!("{name}-final-{}", crate::aws::epoch_seconds());
    let detail = match kind {
        BackingKind::Postgres => rds::delete(aws, name, deletion_protected, &snapshot).await?,
        BackingKind::Redis => elasticache::delete(aws, name, &snapshot).await?,
        BackingKind::Rabbitmq => mq::delete(aws, id).await?,
    };
    let started = Instant::now();
    let mut backoff = crate::aws::Backoff::new(&aws.stop);
    while describe(aws, kind, name).await?.is_some() {
        if started.elapsed() >= time_limit(kind) {
            return Err(AwsError::TimedOut {
                subject: format!("{} {name}", kind.label()),
                message: "still being deleted; rerun the apply once it is gone".into(),
            });
        }
        progress(format!(
            "waiting for {} {name} to be deleted ({}s)",
            kind.label(),
            started.elapsed().as_secs()
        ));
        backoff.wait().await?;
    }
    Ok(detail)
}
