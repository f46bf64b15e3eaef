//! Planner tests on model fixtures: a live environment built to match the production example, then
//! changed the ways AWS and people change it.

use std::path::Path;

use super::*;
use crate::model::{LiveCluster, LiveEnvironment, LiveImage, LiveService, Revision};
use crate::state::DesiredState;

const ACCOUNT: &str = "024209611402";

fn desired() -> DesiredState {
    let lookup = |name: &str| match name {
        "KAAPI_AWS_ACCOUNT_ID" => Some(ACCOUNT.to_string()),
        "KAAPI_SUBNET_A" => Some("subnet-a".to_string()),
        "KAAPI_SUBNET_B" => Some("subnet-b".to_string()),
        "KAAPI_SECURITY_GROUP" => Some("sg-a".to_string()),
        _ => None,
    };
    crate::state::load_str(
        Path::new("state/production.yaml"),
        include_str!("../../state/production.yaml"),
        &lookup,
    )
    .unwrap()
}

/// A live environment exactly as the last apply of `state` left it.
fn live_matching(state: &DesiredState) -> LiveEnvironment {
    let image = LiveImage {
        registry_id: ACCOUNT.into(),
        repository: state.image.repository.clone(),
        digest: "sha256:feed".into(),
        tags: vec!["v1.8.0".into()],
    };
    let uri = state.image.uri(ACCOUNT, &state.region);
    let mut live = LiveEnvironment {
        account: ACCOUNT.into(),
        image: Some(image),
        cluster: Some(LiveCluster {
            name: state.cluster.clone(),
            arn: format!("arn:aws:ecs:ap-south-1:{ACCOUNT}:cluster/{}", state.cluster),
            status: "ACTIVE".into(),
            tags: state.tags.clone(),
        }),
        ..LiveEnvironment::default()
    };
    for backing in &state.backing {
        live.backing
            .insert(backing.key.clone(), live_backing(backing));
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
                content: desired_task_definition(state, service, ACCOUNT, &uri, &known),
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
                        super::build::service_fingerprint(state, service, ACCOUNT, &uri),
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
                crate::saved::fingerprint(&backing.settings),
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

#[test]
fn a_live_environment_matching_the_state_has_no_changes() {
    check(|_| {}, &[]);
}

#[test]
fn defaults_aws_fills_in_or_leaves_out_are_not_changes() {
    check(
        |live| {
            let definition = api_definition(live);
            definition.cpu = Some("1 vCPU".into());
            definition.memory = Some("2 GB".into());
            definition.requires_compatibilities = vec!["FARGATE".into(), "FARGATE".into()];
            for container in &mut definition.containers {
                container.essential = None;
                container.cpu = None;
                for mapping in &mut container.port_mappings {
                    mapping.host_port = None;
                    mapping.protocol = Some("TCP".into());
                }
                if let Some(health) = &mut container.health_check {
                    health.interval = None;
                    health.timeout = None;
                    health.retries = None;
                }
            }
            definition.containers.reverse();
            let service = live.services.get_mut("kaapi-service").unwrap();
            service.settings.platform_version = None;
            service.settings.network.as_mut().unwrap().subnets.reverse();
            service
                .tags
                .insert("aws:cloudformation:stack-name".into(), "legacy".into());
            service.tags.insert("team".into(), "platform".into());
        },
        &[],
    );
}

#[test]
fn an_absent_desired_count_leaves_the_live_count_alone() {
    let mut state = desired();
    state.services[1].desired_count = None;
    let mut live = live_matching(&state);
    live.services
        .get_mut("kaapi-celery-task")
        .unwrap()
        .settings
        .desired_count = Some(7);
    assert!(!plan(&state, &live).unwrap().has_changes());
}

#[test]
fn a_missing_deployment_configuration_means_aws_defaults() {
    let mut state = desired();
    state.services[0].deployment = crate::model::Deployment::default();
    let mut live = live_matching(&state);
    live.services
        .get_mut("kaapi-service")
        .unwrap()
        .settings
        .deployment = None;
    assert!(!plan(&state, &live).unwrap().has_changes());
    // The example asks for a rollback circuit breaker, which AWS's default lacks.
    check(
        |live| {
            live.services
                .get_mut("kaapi-service")
                .unwrap()
                .settings
                .deployment = None
        },
        &[(
            Service,
            "kaapi-service",
            Update,
            &[
                "deployment.circuit_breaker_enable",
                "deployment.circuit_breaker_rollback",
            ],
        )],
    );
}

#[test]
fn a_public_ip_is_a_network_change() {
    check(
        |live| {
            let service = live.services.get_mut("kaapi-celery-task").unwrap();
            service.settings.network.as_mut().unwrap().assign_public_ip = true;
        },
        &[(
            Service,
            "kaapi-celery-task",
            Update,
            &["network.assign_public_ip"],
        )],
    );
}

#[test]
fn missing_management_tags_are_added_without_other_writes() {
    check(
        |live| {
            live.services
                .get_mut("kaapi-service")
                .unwrap()
                .tags
                .remove("managed-by");
            live.cluster.as_mut().unwrap().tags.clear();
        },
        &[
            (
                Cluster,
                "kaapi-cluster",
                Update,
                &["tags.managed-by", "tags.reconcile:environment"],
            ),
            (Service, "kaapi-service", Update, &["tags.managed-by"]),
        ],
    );
    let state = desired();
    let mut live = live_matching(&state);
    live.services.get_mut("kaapi-service").unwrap().tags.clear();
    let plan = plan(&state, &live).unwrap();
    let service = plan
        .changes
        .iter()
        .find(|c| c.resource.name == "kaapi-service")
        .unwrap();
    match &service.operation {
        Operation::UpdateService {
            task_definition,
            desired_count,
            network,
            deployment,
            platform_version,
            tags,
            ..
        } => {
            assert!(task_definition.is_none() && desired_count.is_none() && network.is_none());
            assert!(deployment.is_none() && platform_version.is_none());
            // managed-by, reconcile:environment, and the record of the applied content.
            assert_eq!(tags.len(), 3);
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn settings_the_format_cannot_express_force_a_clean_revision() {
    check(
        |live| {
            api_definition(live)
                .unmanaged
                .insert("volumes".into(), serde_json::json!("[efs]"));
        },
        &[
            (Family, "kaapi-task", Create, &["unmanaged.volumes"]),
            (Service, "kaapi-service", Update, &["task_definition"]),
        ],
    );
}

#[test]
fn an_inactive_cluster_is_created_again() {
    check(
        |live| live.cluster.as_mut().unwrap().status = "INACTIVE".into(),
        &[(Cluster, "kaapi-cluster", Create, &[])],
    );
}

#[test]
fn only_active_revisions_are_reused() {
    let state = desired();
    let mut live = live_matching(&state);
    let running = live.services["kaapi-service"].task_definition_arn.clone();
    let mut older = live.task_definitions[&running].clone();
    api_definition(&mut live).cpu = Some("2048".into());
    older.arn = older.arn.replace(":7", ":6");
    older.revision = 6;
    live.candidates
        .insert("kaapi-task".into(), vec![older.clone()]);
    let reused = plan(&state, &live).unwrap();
    let family = reused
        .changes
        .iter()
        .find(|c| c.resource.name == "kaapi-task")
        .unwrap();
    assert_eq!(family.action, Action::NoOp);
    assert!(
        family.reason.starts_with("reuses kaapi-task:6"),
        "{}",
        family.reason
    );

    older.status = "INACTIVE".into();
    live.candidates.insert("kaapi-task".into(), vec![older]);
    let registered = plan(&state, &live).unwrap();
    let family = registered
        .changes
        .iter()
        .find(|c| c.resource.name == "kaapi-task")
        .unwrap();
    assert_eq!(family.action, Action::Create);
}

#[test]
fn a_missing_image_is_an_error_not_a_plan() {
    let state = desired();
    let mut live = live_matching(&state);
    live.image = None;
    assert_eq!(
        plan(&state, &live).unwrap_err(),
        PlanError::ImageMissing {
            image: "kaapi-repo:v1.8.0".into(),
            account: ACCOUNT.into(),
            region: "ap-south-1".into(),
        }
    );
}

#[test]
fn secrets_that_running_tasks_already_use_are_not_checked_again() {
    let state = desired();
    let live = live_matching(&state);
    assert!(secrets_to_check(&state, &live).is_empty());

    let mut fresh = live_matching(&state);
    fresh.services.clear();
    fresh.task_definitions.clear();
    let checked: Vec<String> = secrets_to_check(&state, &fresh)
        .iter()
        .map(ToString::to_string)
        .collect();
    // Thirteen variables, one JSON secret: one lookup.
    assert_eq!(checked, ["Secrets Manager secret kaapi/production"]);
}

/// No service runs yet (so every secret is new), and the lookup of kaapi/production found `status`.
fn new_environment_where_the_secret(
    state: &DesiredState,
    status: crate::model::SecretStatus,
) -> LiveEnvironment {
    let mut live = live_matching(state);
    live.services.clear();
    live.task_definitions.clear();
    live.secrets.insert(
        crate::model::SecretId::SecretsManager("kaapi/production".into()),
        status,
    );
    live
}

#[test]
fn a_new_reference_to_a_missing_secret_stops_the_plan() {
    let state = desired();
    let live = new_environment_where_the_secret(
        &state,
        crate::model::SecretStatus::Missing {
            reason: "not found".into(),
        },
    );
    let error = plan(&state, &live).unwrap_err().to_string();
    let lines: Vec<&str> = error.lines().collect();
    assert_eq!(
        lines[0],
        "secrets referenced by the state file do not exist (account 024209611402, region ap-south-1), so tasks could not start:"
    );
    assert!(
        lines.contains(
            &"  - SECRET_KEY in container backend of kaapi-task: Secrets Manager secret kaapi/production not found"
        ),
        "{error}"
    );
    assert!(
        lines.contains(
            &"  - SECRET_KEY in container celery-worker of kaapi-celery-task: Secrets Manager secret kaapi/production not found"
        ),
        "{error}"
    );
    assert_eq!(
        lines.last(),
        Some(&"create them before deploying, or fix the references under `secrets:`")
    );
}

#[test]
fn a_secret_that_could_not_be_checked_is_a_warning_not_an_error() {
    let state = desired();
    let live = new_environment_where_the_secret(
        &state,
        crate::model::SecretStatus::Unchecked {
            reason: "DescribeSecret: AccessDeniedException: not authorized".into(),
        },
    );
    let plan = plan(&state, &live).unwrap();
    assert_eq!(
        plan.warnings,
        [
            "could not check that Secrets Manager secret kaapi/production exists (DescribeSecret: AccessDeniedException: not authorized); tasks will not start if it does not"
        ]
    );
    let text = anstream::adapter::strip_str(&crate::render::text(&plan)).to_string();
    assert!(
        text.contains(
            "\nwarning: could not check that Secrets Manager secret kaapi/production exists"
        ),
        "{text}"
    );
}

fn target_group(name: &str, port: i32) -> crate::model::LoadBalancer {
    crate::model::LoadBalancer {
        target_group_arn: format!(
            "arn:aws:elasticloadbalancing:ap-south-1:{ACCOUNT}:targetgroup/{name}/6d0ecf831eec9f09"
        ),
        container_name: "backend".into(),
        container_port: port,
    }
}

#[test]
fn load_balancers_the_state_leaves_out_are_left_alone() {
    // A service attached to its target group by hand, and a state that does not mention it.
    check(
        |live| {
            let service = live.services.get_mut("kaapi-service").unwrap();
            service.settings.load_balancers = Some(vec![target_group("kaapi-api", 80)]);
            service.settings.health_check_grace_period = Some(120);
        },
        &[],
    );
}

#[test]
fn declared_load_balancers_and_grace_period_are_compared_and_updated_whole() {
    let mut state = desired();
    state.services[0].load_balancers = Some(vec![
        target_group("kaapi-api", 80),
        target_group("kaapi-internal", 80),
    ]);
    state.services[0].health_check_grace_period = Some(0);
    let mut live = live_matching(&state);
    let service = live.services.get_mut("kaapi-service").unwrap();
    // Listed in another order by AWS, no grace period ever set: nothing to do.
    service.settings.load_balancers = Some(vec![
        target_group("kaapi-internal", 80),
        target_group("kaapi-api", 80),
    ]);
    service.settings.health_check_grace_period = None;
    assert!(!plan(&state, &live).unwrap().has_changes());

    // One target group detached behind git's back, grace period wanted: one update with the
    // complete list.
    let service = live.services.get_mut("kaapi-service").unwrap();
    service.settings.load_balancers = Some(vec![target_group("kaapi-api", 80)]);
    state.services[0].health_check_grace_period = Some(60);
    let plan = plan(&state, &live).unwrap();
    let change = plan
        .changes
        .iter()
        .find(|c| c.resource.name == "kaapi-service")
        .unwrap();
    assert_eq!(change.action, Update);
    let paths: Vec<&str> = change.fields.iter().map(|f| f.path.as_str()).collect();
    assert_eq!(paths, ["load_balancers", "health_check_grace_period"]);
    let Operation::UpdateService {
        load_balancers,
        health_check_grace_period,
        task_definition,
        ..
    } = &change.operation
    else {
        panic!("{:?}", change.operation)
    };
    assert_eq!(load_balancers.as_ref().map(Vec::len), Some(2));
    assert_eq!(*health_check_grace_period, Some(60));
    assert_eq!(*task_definition, None);
}

#[test]
fn log_groups_are_checked_only_when_no_running_task_writes_to_them() {
    let state = desired();
    let live = live_matching(&state);
    assert!(log_groups_to_check(&state, &live).is_empty());
    let unchanged = plan(&state, &live).unwrap();
    let groups: Vec<(&str, Action, &str)> = unchanged
        .changes
        .iter()
        .filter(|c| c.resource.kind == ResourceKind::LogGroup)
        .map(|c| (c.resource.name.as_str(), c.action, c.reason.as_str()))
        .collect();
    assert_eq!(
        groups,
        [
            (
                "/ecs/kaapi-cluster/kaapi-service",
                Action::NoOp,
                "written to by the running tasks"
            ),
            (
                "/ecs/kaapi-cluster/kaapi-celery-task",
                Action::NoOp,
                "written to by the running tasks"
            ),
        ]
    );

    let mut fresh = live_matching(&state);
    fresh.services.clear();
    fresh.task_definitions.clear();
    assert_eq!(
        log_groups_to_check(&state, &fresh).len(),
        2,
        "both groups are new"
    );
    fresh
        .log_groups
        .insert("/ecs/kaapi-cluster/kaapi-service".into(), true);
    fresh
        .log_groups
        .insert("/ecs/kaapi-cluster/kaapi-celery-task".into(), false);
    let plan = plan(&state, &fresh).unwrap();
    let creates: Vec<&Operation> = plan
        .changes
        .iter()
        .filter(|c| c.resource.kind == ResourceKind::LogGroup && c.action == Create)
        .map(|c| &c.operation)
        .collect();
    assert_eq!(
        creates,
        [&Operation::CreateLogGroup {
            name: "/ecs/kaapi-cluster/kaapi-celery-task".into(),
            tags: state.tags.clone(),
        }]
    );
}

#[test]
fn a_backing_service_to_create_needs_its_secret_to_exist() {
    let state = desired();
    let mut live = new_environment_where_the_secret(
        &state,
        crate::model::SecretStatus::Missing {
            reason: "not found".into(),
        },
    );
    live.backing.clear();
    let error = plan(&state, &live).unwrap_err().to_string();
    for expected in [
        "  - auth_token of backing service redis: Secrets Manager secret kaapi/production not found",
        "  - admin_password of backing service rabbitmq: Secrets Manager secret kaapi/production not found",
    ] {
        assert!(
            error.lines().any(|l| l == expected),
            "{expected}\nin:\n{error}"
        );
    }
    // A reference that running tasks already use exists; nothing is looked up for it.
    let mut live = live_matching(&state);
    live.backing.clear();
    assert!(secrets_to_check(&state, &live).is_empty());
}

/// The plan for the production example with `edit` applied to its live backing service `key`.
fn backing_plan(key: &str, edit: impl FnOnce(&mut crate::model::LiveBacking)) -> Plan {
    let state = desired();
    let mut live = live_matching(&state);
    edit(live.backing.get_mut(key).unwrap());
    plan(&state, &live).unwrap()
}

#[test]
fn a_backing_service_that_is_busy_is_written_only_once_available() {
    let plan = backing_plan("postgres", |db| {
        db.status = "backing-up".into();
        db.settings
            .insert("multi_az".into(), serde_json::json!(false));
    });
    let change = plan
        .changes
        .iter()
        .find(|c| c.resource.name == "kaapi-postgres")
        .unwrap();
    assert_eq!(change.action, Action::Update);
    assert!(
        change
            .reason
            .ends_with("it is `backing-up`: apply waits until it is `available` before writing"),
        "{}",
        change.reason
    );
}

#[test]
fn outputs_of_a_service_to_replace_are_known_only_after_apply() {
    let plan = backing_plan("rabbitmq", |broker| {
        broker.settings.insert(
            "deployment_mode".into(),
            serde_json::json!("CLUSTER_MULTI_AZ"),
        );
    });
    let registrations: Vec<&Operation> = plan
        .changes
        .iter()
        .filter(|c| c.resource.kind == ResourceKind::TaskDefinition)
        .map(|c| &c.operation)
        .collect();
    assert_eq!(registrations.len(), 2);
    for operation in registrations {
        let Operation::RegisterTaskDefinition {
            known_after_apply, ..
        } = operation
        else {
            panic!("{operation:?}")
        };
        // Every container waits for the broker's address and port, and only for those.
        let variables: std::collections::BTreeSet<&str> = known_after_apply
            .iter()
            .map(|v| v.variable.as_str())
            .collect();
        assert_eq!(
            variables.into_iter().collect::<Vec<_>>(),
            ["RABBITMQ_HOST", "RABBITMQ_PORT"]
        );
        assert!(known_after_apply.iter().all(|v| v.needs
            == [(
                "rabbitmq".to_string(),
                crate::model::BackingKind::Rabbitmq,
                "kaapi-rabbitmq".to_string()
            )]));
    }
}

#[test]
fn a_difference_is_drift_when_the_record_matches_the_state_and_pending_otherwise() {
    use crate::drift::{Kind, classify};
    let state = desired();
    // Someone scaled the API in the console: the record still matches the state.
    let mut live = live_matching(&state);
    live.services
        .get_mut("kaapi-service")
        .unwrap()
        .settings
        .desired_count = Some(5);
    let kinds: Vec<(String, Kind)> = classify(&plan(&state, &live).unwrap())
        .differences
        .into_iter()
        .map(|d| (d.resource.name, d.kind))
        .collect();
    assert_eq!(kinds, [("kaapi-service".to_string(), Kind::Drift)]);

    // The state changed since the last apply (its record differs): pending, with the revision.
    let mut live = live_matching(&state);
    live.services.get_mut("kaapi-service").unwrap().tags.insert(
        crate::state::desired::FINGERPRINT_TAG.into(),
        "an older content".into(),
    );
    api_definition(&mut live).containers[0]
        .environment
        .insert("API_VERSION".into(), "v0".into());
    let kinds: Vec<(String, Kind)> = classify(&plan(&state, &live).unwrap())
        .differences
        .into_iter()
        .map(|d| (d.resource.name, d.kind))
        .collect();
    assert_eq!(
        kinds,
        [
            ("kaapi-task".to_string(), Kind::Pending),
            ("kaapi-service".to_string(), Kind::Pending)
        ]
    );
}

#[test]
fn a_backing_difference_is_drift_or_pending_by_its_record_where_aws_reports_tags() {
    use crate::drift::{Kind, classify};
    let state = desired();
    let kinds = |live: &LiveEnvironment| -> Vec<(String, Kind)> {
        classify(&plan(&state, live).unwrap())
            .differences
            .into_iter()
            .map(|d| (d.resource.name, d.kind))
            .collect()
    };
    // Resized in the console (the record still matches the state): drift. ElastiCache reports
    // no tags in its describe call, so its differences stay unrecorded.
    let mut live = live_matching(&state);
    live.backing
        .get_mut("postgres")
        .unwrap()
        .settings
        .insert("backup_retention_days".into(), serde_json::json!(1));
    live.backing
        .get_mut("redis")
        .unwrap()
        .settings
        .insert("node_type".into(), serde_json::json!("cache.t4g.micro"));
    assert_eq!(
        kinds(&live),
        [
            ("kaapi-postgres".to_string(), Kind::Drift),
            ("kaapi-redis".to_string(), Kind::Unrecorded)
        ]
    );
    // Applied from an older state (another record): pending, and apply writes the new record.
    let mut live = live_matching(&state);
    let postgres = live.backing.get_mut("postgres").unwrap();
    postgres
        .settings
        .insert("backup_retention_days".into(), serde_json::json!(1));
    postgres.tags.as_mut().unwrap().insert(
        crate::state::desired::FINGERPRINT_TAG.into(),
        "older".into(),
    );
    assert_eq!(
        kinds(&live),
        [("kaapi-postgres".to_string(), Kind::Pending)]
    );
    let plan = plan(&state, &live).unwrap();
    let change = plan
        .changes
        .iter()
        .find(|c| c.resource.name == "kaapi-postgres")
        .unwrap();
    let Operation::ModifyBacking { record, .. } = &change.operation else {
        panic!("{change:?}")
    };
    assert!(record.contains_key(crate::state::desired::FINGERPRINT_TAG));
}
