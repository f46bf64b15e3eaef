//! Planner tests of the application: task definitions, services, clusters, tags, load balancers.

use super::*;
use crate::model::ServiceSetting;
use crate::plan::ServiceUpdate;

#[test]
fn a_live_environment_matching_the_state_has_no_changes() {
    // Both sides from outside the planner: the state file of tests/fixtures/aws and the live
    // environment that its recorded AWS responses describe, in model form (tests/it/recorded.rs
    // keeps that copy equal to what observe reads from the recordings).
    let state = crate::state::load_str(
        Path::new("tests/fixtures/aws/state/production.yaml"),
        include_str!("../../../../../tests/fixtures/aws/state/production.yaml"),
        &|_| None,
    )
    .unwrap();
    let live: LiveEnvironment = serde_json::from_str(include_str!(
        "../../../../../tests/fixtures/aws/live-production.json"
    ))
    .unwrap();
    let plan = plan(&state, &live).unwrap();
    assert!(!plan.has_changes(), "{}", crate::render::text(&plan));
    // Only what AWS accepted and has not applied yet is shown, and nothing is written for it.
    let shown: Vec<(String, String, Option<ChangeClass>)> = plan
        .changes
        .iter()
        .flat_map(|change| {
            change.fields.iter().map(|field| {
                (
                    change.resource.name.clone(),
                    field.path.clone(),
                    field.class,
                )
            })
        })
        .collect();
    assert_eq!(
        shown,
        [
            (
                "kaapi-postgres".to_string(),
                "instance_class".to_string(),
                Some(ChangeClass::Pending)
            ),
            (
                "kaapi-rabbitmq".to_string(),
                "instance_type".to_string(),
                Some(ChangeClass::Pending)
            ),
        ]
    );
    // The variations below start from an environment as the last apply of the example left it.
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
fn ecs_exec_switched_on_behind_the_states_back_is_drift_turned_off_by_a_new_deployment() {
    let state = desired();
    let mut live = live_matching(&state);
    live.services
        .get_mut("kaapi-service")
        .unwrap()
        .settings
        .enable_execute_command = Some(true);
    let plan = plan(&state, &live).unwrap();
    let change = plan
        .changes
        .iter()
        .find(|c| c.resource.name == "kaapi-service")
        .unwrap();
    assert_eq!(change.action, Update);
    let fields: Vec<_> = change
        .fields
        .iter()
        .map(|f| (f.path.as_str(), f.before.clone(), f.after.clone()))
        .collect();
    assert_eq!(
        fields,
        [(
            "enable_execute_command",
            Some(serde_json::json!(true)),
            Some(serde_json::json!(false))
        )]
    );
    let Operation::UpdateService(ServiceUpdate {
        patch,
        force_new_deployment,
        task_definition,
        ..
    }) = &change.operation
    else {
        panic!("{:?}", change.operation)
    };
    assert_eq!(patch, &[ServiceSetting::EnableExecuteCommand(false)]);
    // Running tasks keep ECS Exec until they are replaced.
    assert!(*force_new_deployment && task_definition.is_none());
    let report = crate::drift::classify(&plan);
    assert_eq!(report.count(crate::drift::Kind::Drift), 1, "{report:?}");
}

#[test]
fn ecs_exec_asked_for_with_a_new_revision_needs_no_forced_deployment() {
    let mut state = desired();
    for service in &mut state.services {
        service.enable_execute_command = true;
    }
    let mut live = live_matching(&state);
    api_definition(&mut live).containers[0].command = vec!["old".into()];
    for service in live.services.values_mut() {
        service.settings.enable_execute_command = Some(false);
    }
    let plan = plan(&state, &live).unwrap();
    let service = plan
        .changes
        .iter()
        .find(|c| c.resource.name == "kaapi-service")
        .unwrap();
    let Operation::UpdateService(ServiceUpdate {
        patch,
        force_new_deployment,
        task_definition,
        ..
    }) = &service.operation
    else {
        panic!("{:?}", service.operation)
    };
    assert_eq!(patch, &[ServiceSetting::EnableExecuteCommand(true)]);
    assert!(task_definition.is_some() && !force_new_deployment);
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
        // Nothing but tags to write: a tag call, no UpdateService, no setting.
        Operation::TagResource {
            api: TagApi::Ecs,
            tags,
            ..
        } => {
            // managed-by, reconcile:environment, and the record of the applied content.
            assert_eq!(tags.len(), 3);
        }
        other => panic!("{other:?}"),
    }
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
    let Operation::UpdateService(ServiceUpdate {
        patch,
        task_definition,
        ..
    }) = &change.operation
    else {
        panic!("{:?}", change.operation)
    };
    let [
        ServiceSetting::LoadBalancers(load_balancers),
        ServiceSetting::HealthCheckGracePeriod(health_check_grace_period),
    ] = patch.as_slice()
    else {
        panic!("{patch:?}")
    };
    assert_eq!(load_balancers.len(), 2);
    assert_eq!(*health_check_grace_period, 60);
    assert_eq!(*task_definition, None);
}

#[test]
fn a_plan_that_registers_a_revision_reads_back_from_its_saved_form() {
    // Regression: the model left empty lists and maps out when written and then required them
    // when read, so `apply FILE` could not read a saved plan that registers a revision.
    let state = desired();
    let mut live = live_matching(&state);
    api_definition(&mut live).containers[0].command = vec!["old".into()];
    let plan = plan(&state, &live).unwrap();
    assert!(
        plan.changes
            .iter()
            .any(|c| matches!(c.operation, Operation::RegisterTaskDefinition { .. }))
    );
    let saved = serde_json::to_string(&plan).unwrap();
    let read: Plan = serde_json::from_str(&saved).unwrap();
    assert_eq!(read, plan);
}

#[test]
fn a_service_running_an_inactive_revision_moves_to_an_active_one() {
    let state = desired();
    let mut live = live_matching(&state);
    let running = live.services["kaapi-service"].task_definition_arn.clone();
    live.task_definitions.get_mut(&running).unwrap().status = "INACTIVE".into();
    assert!(
        families_needing_candidates(&state, &live)
            .unwrap()
            .contains(&"kaapi-task".to_string())
    );
    // No other ACTIVE revision: one is registered with the same content.
    let first = plan(&state, &live).unwrap();
    let family = first
        .changes
        .iter()
        .find(|c| c.resource.name == "kaapi-task")
        .unwrap();
    assert_eq!(family.action, Create);
    assert!(
        family.reason.contains(
            "kaapi-task:7 runs but is INACTIVE (deregistered), so ECS cannot start it again, and no ACTIVE revision of the family was found"
        ),
        "{}",
        family.reason
    );
    assert!(
        family.fields.is_empty(),
        "same content: {:?}",
        family.fields
    );
    // An older ACTIVE revision with that content is reused instead.
    let mut older = live.task_definitions[&running].clone();
    older.arn = older.arn.replace(":7", ":6");
    older.revision = 6;
    older.status = "ACTIVE".into();
    live.candidates.insert("kaapi-task".into(), vec![older]);
    let second = plan(&state, &live).unwrap();
    let service = second
        .changes
        .iter()
        .find(|c| c.resource.name == "kaapi-service")
        .unwrap();
    let Operation::UpdateService(ServiceUpdate {
        task_definition: Some(TaskDefinitionRef::Existing { arn }),
        ..
    }) = &service.operation
    else {
        panic!("{:?}", service.operation)
    };
    assert!(arn.ends_with("kaapi-task:6"), "{arn}");
}
