//! Planner tests on model fixtures: a live environment built to match the production example, then
//! changed the ways AWS and people change it.

use std::collections::BTreeMap;
use std::path::Path;

use super::*;
use crate::model::{LiveCluster, LiveEnvironment, LiveImage, LiveService, Revision};
use crate::state::DesiredState;

const ACCOUNT: &str = "024209611402";

fn desired() -> DesiredState {
    desired_from(include_str!("../../../../../state/production.yaml"))
}

/// The example production state from `text`, with the account-specific values filled in.
fn desired_from(text: &str) -> DesiredState {
    let lookup = |name: &str| match name {
        "KAAPI_AWS_ACCOUNT_ID" => Some(ACCOUNT.to_string()),
        "KAAPI_SUBNET_A" => Some("subnet-a".to_string()),
        "KAAPI_SUBNET_B" => Some("subnet-b".to_string()),
        "KAAPI_SECURITY_GROUP" => Some("sg-a".to_string()),
        _ => None,
    };
    crate::state::load_str(Path::new("state/production.yaml"), text, &lookup)
        .unwrap_or_else(|e| panic!("{e}"))
}

/// The digest a tag names in these tests: 64 hex digits, as ECR's are (derived from the tag).
fn digest_for(tag: &str) -> String {
    use sha2::Digest;
    let hash = sha2::Sha256::digest(tag.as_bytes());
    format!(
        "sha256:{}",
        hash.iter().map(|b| format!("{b:02x}")).collect::<String>()
    )
}

/// A live environment exactly as the last apply of `state` left it.
fn live_matching(state: &DesiredState) -> LiveEnvironment {
    // Each tag names its own digest, as `views::with_image` moves them.
    let wanted = state.image.as_ref().expect("the fixture names an image");
    let digest = match (&wanted.tag, &wanted.digest) {
        (Some(tag), _) => digest_for(tag),
        (None, Some(digest)) => digest.clone(),
        (None, None) => "sha256:feed".into(),
    };
    let image = LiveImage {
        registry_id: ACCOUNT.into(),
        repository: wanted.repository.clone(),
        digest: digest.clone(),
        tags: wanted.tag.iter().cloned().collect(),
    };
    // What reconcile registered: the image by the digest its tag named.
    let named = wanted.uri(ACCOUNT, &state.region);
    let uri = match (&wanted.tag, named.rsplit_once(':')) {
        (Some(_), Some((base, _))) => format!("{base}@{digest}"),
        _ => named.clone(),
    };
    let mut live = LiveEnvironment {
        account: ACCOUNT.into(),
        image: Some(image),
        cluster: Some(LiveCluster {
            name: state.cluster.clone(),
            arn: format!("arn:aws:ecs:ap-south-1:{ACCOUNT}:cluster/{}", state.cluster),
            status: "ACTIVE".into(),
            tags: state.tags.clone(),
            capacity_providers: Vec::new(),
        }),
        ..LiveEnvironment::default()
    };
    for backing in &state.backing {
        live.backing
            .insert(backing.key.clone(), live_backing(backing));
    }
    for group in log_groups_to_check(state) {
        live.log_groups.insert(group, true);
    }
    let known = super::task_definition::known_outputs(state, &live);
    for service in &state.services {
        let arn = format!(
            "arn:aws:ecs:ap-south-1:{ACCOUNT}:task-definition/{}:7",
            service.family
        );
        live.task_definitions.insert(
            arn.clone(),
            Revision {
                arn: arn.clone(),
                revision: 7,
                status: "ACTIVE".into(),
                content: desired_task_definition(state, service, ACCOUNT, Some(&uri), &known),
            },
        );
        live.services.insert(
            service.name.clone(),
            LiveService {
                name: service.name.clone(),
                arn: format!(
                    "arn:aws:ecs:ap-south-1:{ACCOUNT}:service/{}/{}",
                    state.cluster, service.name
                ),
                status: "ACTIVE".into(),
                task_definition_arn: arn,
                // What the last apply wrote.
                settings: super::service::desired_settings(service),
                running_count: 2,
                pending_count: 0,
                tags: {
                    let mut tags = state.tags.clone();
                    tags.insert(
                        crate::state::desired::FINGERPRINT_TAG.into(),
                        super::build::service_fingerprint(state, service, ACCOUNT, Some(&named)),
                    );
                    tags
                },
            },
        );
    }
    live
}

/// A backing service as the last apply left it: its settings, available, with its endpoint.
fn live_backing(backing: &crate::state::desired::DesiredBacking) -> crate::model::LiveBacking {
    let outputs = match backing.kind {
        crate::model::BackingKind::Postgres => vec![
            (
                "address",
                format!("{}.c9akciq32.ap-south-1.rds.amazonaws.com", backing.name),
            ),
            ("port", "5432".to_string()),
            (
                "master_password",
                format!(
                    "arn:aws:secretsmanager:ap-south-1:{ACCOUNT}:secret:rds!db-1-AbCdEf:password::"
                ),
            ),
        ],
        crate::model::BackingKind::Redis => vec![
            (
                "address",
                format!("master.{}.x1y2z3.aps1.cache.amazonaws.com", backing.name),
            ),
            ("port", "6379".to_string()),
        ],
        crate::model::BackingKind::Rabbitmq => vec![
            (
                "endpoint",
                "amqps://b-1234.mq.ap-south-1.amazonaws.com:5671".to_string(),
            ),
            ("address", "b-1234.mq.ap-south-1.amazonaws.com".to_string()),
            ("port", "5671".to_string()),
        ],
    };
    crate::model::LiveBacking {
        kind: Some(backing.kind),
        name: backing.name.clone(),
        id: backing.name.clone(),
        arn: format!("arn:aws:{}:{}", backing.kind.engine(), backing.name),
        status: backing.kind.ready_status().to_string(),
        settings: backing.settings.clone(),
        pending: BTreeMap::new(),
        outputs: outputs
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect(),
        // What apply recorded, where the describe call reports tags.
        tags: (backing.kind != crate::model::BackingKind::Redis).then(|| {
            BTreeMap::from([(
                crate::state::desired::FINGERPRINT_TAG.to_string(),
                crate::fingerprint::fingerprint(&backing.settings),
            )])
        }),
    }
}

/// Non-trivial changes as (kind, name, action, field paths).
fn changes(plan: &Plan) -> Vec<(ResourceKind, String, Action, Vec<String>)> {
    plan.changes
        .iter()
        .filter(|c| c.action != Action::NoOp || !c.fields.is_empty())
        .map(|c| {
            (
                c.resource.kind,
                c.resource.name.clone(),
                c.action,
                c.fields.iter().map(|f| f.path.clone()).collect(),
            )
        })
        .collect()
}

fn api_definition(live: &mut LiveEnvironment) -> &mut crate::model::TaskDefinition {
    let arn = live.services["kaapi-service"].task_definition_arn.clone();
    &mut live.task_definitions.get_mut(&arn).unwrap().content
}

#[track_caller]
fn check(
    change: impl FnOnce(&mut LiveEnvironment),
    expected: &[(ResourceKind, &str, Action, &[&str])],
) {
    let state = desired();
    let mut live = live_matching(&state);
    change(&mut live);
    let plan = plan(&state, &live).unwrap();
    let expected: Vec<_> = expected
        .iter()
        .map(|(kind, name, action, fields)| {
            (
                *kind,
                name.to_string(),
                *action,
                fields.iter().map(|f| f.to_string()).collect::<Vec<_>>(),
            )
        })
        .collect();
    assert_eq!(changes(&plan), expected, "\n{}", crate::render::text(&plan));
}

use Action::{Create, Update};
use ResourceKind::{Cluster, Service, TaskDefinition as Family};

mod adoption;
mod backing;
mod drift;
mod services;
mod startup;
mod views;
