//! Planner tests of adopting a live deployment: settings the format cannot express stop the plan
//! unless the state lets them go, and the task and container settings beyond the basics compare
//! as AWS reports them.

use serde_json::json;

use super::*;
use crate::model::{Capabilities, EfsVolume, LinuxParameters, RuntimePlatform};

/// The example production state with `extra` lines inserted under `services.api:`.
fn desired_with_api(extra: &str) -> DesiredState {
    let text = include_str!("../../../../../state/production.yaml").replace(
        "  api:                            # ECS service kaapi-service, family kaapi-task\n",
        &format!("  api:\n{extra}"),
    );
    assert!(text.contains(extra), "the example state changed shape");
    desired_from(&text)
}

/// The settings in AWS's names of the live API revision's `backend` container.
fn backend_aws(live: &mut LiveEnvironment) -> &mut crate::model::AwsJson {
    &mut api_definition(live)
        .containers
        .iter_mut()
        .find(|c| c.name == "backend")
        .expect("the example has a backend container")
        .aws
}

/// The example production state with `extra` lines inserted under its `backend` container.
fn desired_with_backend(extra: &str) -> DesiredState {
    let text = include_str!("../../../../../state/production.yaml")
        .replace("      backend:\n", &format!("      backend:\n{extra}"));
    assert!(text.contains(extra), "the example state changed shape");
    desired_from(&text)
}

#[test]
fn settings_written_in_aws_names_match_what_the_revision_holds_and_register_when_they_differ() {
    let state = desired_with_backend(concat!(
        "        aws:\n",
        "          privileged: true\n",
        "          linuxParameters: {tmpfs: [{containerPath: /tmp, size: 64}]}\n",
        "          systemControls: [{namespace: net.core.somaxconn, value: \"1024\"}]\n",
    ));
    let mut live = live_matching(&state);
    // As AWS reports them: unset members written out (null, false, []).
    let backend = backend_aws(&mut live);
    *backend = crate::model::AwsJson::default();
    backend.set("privileged", json!(true));
    backend.set("interactive", json!(false));
    backend.0.insert(
        "linuxParameters".into(),
        json!({"tmpfs": [{"containerPath": "/tmp", "size": 64, "mountOptions": []}], "devices": [], "maxSwap": null}),
    );
    backend.set(
        "systemControls",
        json!([{"namespace": "net.core.somaxconn", "value": "1024"}]),
    );
    let quiet = plan(&state, &live).unwrap();
    assert!(!quiet.has_changes(), "{:#?}", quiet.changes);

    backend_aws(&mut live).set(
        "systemControls",
        json!([{"namespace": "net.core.somaxconn", "value": "4096"}]),
    );
    let changed = plan(&state, &live).unwrap();
    let register = changed
        .changes
        .iter()
        .find(|c| c.resource.kind == Family && c.resource.name == "kaapi-task")
        .unwrap();
    assert_eq!(register.action, Create);
    assert_eq!(
        register
            .fields
            .iter()
            .map(|f| f.path.as_str())
            .collect::<Vec<_>>(),
        ["containers.backend.aws.systemControls"]
    );
}

#[test]
fn a_running_revision_with_a_setting_outside_the_format_stops_the_plan() {
    let state = desired();
    let mut live = live_matching(&state);
    let backend = backend_aws(&mut live);
    backend.set("privileged", json!(true));
    backend.set(
        "extraHosts",
        json!([{"hostname": "db", "ipAddress": "10.0.0.5"}]),
    );
    let error = plan(&state, &live).unwrap_err();
    assert!(matches!(error, PlanError::UnmanagedSettings { .. }));
    let text = error.to_string();
    for expected in [
        "  kaapi-task:7 (service kaapi-service, key `api`):",
        "    - containerDefinitions.backend.extraHosts: [{\"hostname\":\"db\",\"ipAddress\":\"10.0.0.5\"}]",
        "    - containerDefinitions.backend.privileged: true",
        "  - drop them: list their paths under `services.api.drop_unmanaged:` in state/production.yaml; the next revision is registered without them",
        "  - keep them: write them in AWS's names under `aws:` in state/production.yaml (services.api.containers.backend.aws.extraHosts, services.api.containers.backend.aws.privileged); `reconcile import` writes them for you",
        "  - leave the service: take it out of state/production.yaml; reconcile then leaves it and its task definition as they are",
    ] {
        assert!(
            text.lines().any(|line| line == expected),
            "{expected}\nin:\n{text}"
        );
    }
    assert!(!text.contains("Some("), "no Rust debug formatting: {text}");
}

#[test]
fn settings_the_state_lets_go_are_dropped_by_a_new_revision() {
    let state = desired_with_api(
        "    drop_unmanaged: [containerDefinitions.backend.privileged, volumes.gone.host.sourcePath]\n",
    );
    let mut live = live_matching(&state);
    backend_aws(&mut live).set("privileged", json!(true));
    let plan = plan(&state, &live).unwrap();
    let register = plan
        .changes
        .iter()
        .find(|c| c.resource.kind == Family && c.resource.name == "kaapi-task")
        .unwrap();
    assert_eq!(register.action, Create);
    assert_eq!(
        register
            .fields
            .iter()
            .map(|f| (f.path.as_str(), f.before.clone(), f.after.clone()))
            .collect::<Vec<_>>(),
        [("containers.backend.aws.privileged", Some(json!(true)), None)]
    );
    assert_eq!(
        plan.warnings,
        [
            "services.api.drop_unmanaged lists `volumes.gone.host.sourcePath`, which kaapi-task:7 does not hold: remove it from the state file"
        ]
    );
}

#[test]
fn task_and_container_settings_compare_as_aws_reports_them() {
    let state = desired_with_api(concat!(
        "    runtime_platform: {cpu_architecture: ARM64}\n",
        "    ephemeral_storage_gib: 30\n",
        "    pid_mode: task\n",
        "    volumes:\n",
        "      uploads: {efs: {file_system_id: fs-0abc, access_point_id: fsap-0abc, iam: true}}\n",
        "      scratch: {}\n",
    ));
    let mut live = live_matching(&state);
    // What AWS reports for the same registration: defaults written out, sets reordered.
    let definition = api_definition(&mut live);
    definition.settings.runtime_platform = Some(RuntimePlatform {
        cpu_architecture: Some("ARM64".into()),
        operating_system_family: Some("LINUX".into()),
    });
    definition.settings.volumes.reverse();
    for volume in &mut definition.settings.volumes {
        if let Some(efs) = &mut volume.efs {
            *efs = EfsVolume {
                root_directory: Some("/".into()),
                transit_encryption: Some(true),
                ..efs.clone()
            };
        }
    }
    let backend = &mut definition.containers[0].settings;
    backend.linux_parameters = Some(LinuxParameters {
        init_process_enabled: false,
        capabilities: Some(Capabilities::default()),
    });
    let unchanged = plan(&state, &live).unwrap();
    assert!(
        !unchanged.has_changes(),
        "{}",
        crate::render::text(&unchanged)
    );

    // A real difference is named by its field.
    let definition = api_definition(&mut live);
    definition.settings.runtime_platform = None;
    definition.settings.ephemeral_storage_gib = None;
    let changed = plan(&state, &live).unwrap();
    let register = changed
        .changes
        .iter()
        .find(|c| c.resource.kind == Family && c.resource.name == "kaapi-task")
        .unwrap();
    assert_eq!(register.action, Create);
    let paths: Vec<&str> = register.fields.iter().map(|f| f.path.as_str()).collect();
    assert_eq!(
        paths,
        [
            "ephemeral_storage_gib",
            "runtime_platform.cpu_architecture",
            "runtime_platform.operating_system_family"
        ]
    );
}

#[test]
fn a_live_service_the_state_does_not_declare_is_named_and_left_alone() {
    // The celery service's `name:` forgotten: the state now asks for kaapi-celery-service.
    let text = include_str!("../../../../../state/production.yaml");
    let forgot = text.replace("    name: kaapi-celery-task\n", "");
    assert_ne!(forgot, text, "the example state changed shape");
    let state = desired_from(&forgot);
    let mut live = live_matching(&desired());
    let running = live.services.remove("kaapi-celery-task").unwrap();
    live.undeclared_services
        .insert("kaapi-celery-task".into(), running.task_definition_arn);
    live.undeclared_services.insert(
        "shop-web".into(),
        format!("arn:aws:ecs:ap-south-1:{ACCOUNT}:task-definition/shop-task:12"),
    );
    let plan = plan(&state, &live).unwrap();
    assert!(
        plan.warnings.contains(&"service kaapi-celery-task runs kaapi-celery-task:7 in cluster kaapi-cluster and is not in the state: reconcile leaves it as it is; services.celery runs the same family and would be created beside it as kaapi-celery-service: if it is meant to be this service, set `name: kaapi-celery-task` under services.celery".to_string()),
        "{:#?}",
        plan.warnings
    );
    assert!(plan.warnings.contains(
        &"service shop-web runs shop-task:12 in cluster kaapi-cluster and is not in the state: reconcile leaves it as it is".to_string()
    ));
    // Neither service is touched.
    let services: Vec<(&str, Action)> = plan
        .changes
        .iter()
        .filter(|c| c.resource.kind == Service)
        .map(|c| (c.resource.name.as_str(), c.action))
        .collect();
    assert_eq!(
        services,
        [
            ("kaapi-service", Action::NoOp),
            ("kaapi-celery-service", Create)
        ]
    );
}

/// What `import` reads, taken from a live environment.
fn import_input(state: &DesiredState, live: &LiveEnvironment) -> crate::import::ImportInput {
    crate::import::ImportInput {
        environment: state.environment.clone(),
        region: state.region.clone(),
        account: live.account.clone(),
        prefix: state.prefix.clone(),
        cluster: state.cluster.clone(),
        cluster_tags: live
            .cluster
            .as_ref()
            .map(|cluster| cluster.tags.clone())
            .unwrap_or_default(),
        take_over: false,
        services: state
            .services
            .iter()
            .map(|service| {
                let running = live.services[&service.name].clone();
                let revision = live.task_definitions[&running.task_definition_arn].clone();
                (running, revision)
            })
            .collect(),
        backing: live
            .backing
            .iter()
            .map(|(key, backing)| (key.clone(), backing.clone()))
            .collect(),
        images: live
            .image
            .iter()
            .map(|image| {
                let uri = state
                    .image
                    .as_ref()
                    .unwrap()
                    .uri(&image.registry_id, &state.region);
                let pinned = format!(
                    "{}@{}",
                    uri.rsplit_once(':').map_or(uri.as_str(), |(b, _)| b),
                    image.digest
                );
                (
                    pinned,
                    crate::import::EcrImage {
                        digest: image.digest.clone(),
                        tags: image.tags.clone(),
                    },
                )
            })
            .collect(),
    }
}

#[test]
fn an_imported_environment_plans_no_change() {
    let state = desired();
    let live = live_matching(&state);
    let imported = crate::import::import(&import_input(&state, &live)).unwrap();
    // The AUTH token and broker password are the secrets the containers connect with.
    assert!(
        !imported.text.contains(crate::import::PLACEHOLDER),
        "{}",
        imported.text
    );
    assert_eq!(imported.todo, Vec::<String>::new());
    let text = imported.text;
    let reloaded = crate::state::load_str(Path::new("state/production.yaml"), &text, &|_| None)
        .unwrap_or_else(|e| panic!("{e}\n{text}"));
    let plan = plan(&reloaded, &live).unwrap();
    assert!(
        !plan.has_changes(),
        "{}\n{text}",
        crate::render::text(&plan)
    );
}

#[test]
fn an_imported_revision_with_sidecars_volumes_and_limits_plans_no_change() {
    let state = crate::state::load_str(
        Path::new("tests/fixtures/aws/state/sidecars/production.yaml"),
        include_str!("../../../../../tests/fixtures/aws/state/sidecars/production.yaml"),
        &|_| None,
    )
    .unwrap();
    let live = live_matching(&state);
    let imported = crate::import::import(&import_input(&state, &live)).unwrap();
    // No container reads a Redis or RabbitMQ password here: the file asks for them.
    assert_eq!(imported.todo.len(), 2, "{:?}", imported.todo);
    let text = imported.text.replace(
        crate::import::PLACEHOLDER,
        "secretsmanager:kaapi/production:REDIS_PASSWORD",
    );
    let reloaded = crate::state::load_str(Path::new("production.yaml"), &text, &|_| None)
        .unwrap_or_else(|e| panic!("{e}\n{text}"));
    let plan = plan(&reloaded, &live).unwrap();
    assert!(
        !plan.has_changes(),
        "{}\n{}",
        crate::render::text(&plan),
        imported.text
    );
    for expected in [
        "    runtime_platform:\n      cpu_architecture: ARM64\n",
        "        inherit_variables: false # a sidecar: none of the application's variables\n",
        "        depends_on:\n          log-router: START\n",
    ] {
        assert!(
            imported.text.contains(expected),
            "{expected}\nin:\n{}",
            imported.text
        );
    }
}

#[test]
fn credentials_in_plain_variables_are_never_written() {
    let state = desired();
    let live = live_matching(&state);
    let mut input = import_input(&state, &live);
    let value = "s3cr3t-Pa55w0rd";
    for (_, revision) in &mut input.services {
        for container in &mut revision.content.containers {
            container.secrets.remove("POSTGRES_PASSWORD");
            container
                .environment
                .insert("POSTGRES_PASSWORD".into(), value.into());
        }
    }
    let imported = crate::import::import(&input).unwrap();
    assert!(!imported.text.contains(value), "{}", imported.text);
    assert!(!format!("{:?}", imported.todo).contains(value));
    assert!(
        imported.text.contains(&format!(
            "  POSTGRES_PASSWORD: \"{}\" # ",
            crate::import::PLACEHOLDER
        )),
        "{}",
        imported.text
    );
    assert!(
        imported
            .todo
            .iter()
            .any(|t| t.starts_with("secrets.POSTGRES_PASSWORD: "))
    );
    // Until the reference is written, validate names the line.
    let error = crate::state::load_str(Path::new("state/production.yaml"), &imported.text, &|_| {
        None
    })
    .unwrap_err()
    .to_string();
    assert!(error.contains("secrets.POSTGRES_PASSWORD"), "{error}");
    assert!(!error.contains(value));
}

#[test]
fn services_on_latest_are_imported_on_latest_and_the_plan_says_the_tag_moves() {
    let state = desired();
    let mut live = live_matching(&state);
    let latest = format!("{ACCOUNT}.dkr.ecr.ap-south-1.amazonaws.com/kaapi-repo:latest");
    // Registered by hand with the moving tag, as many teams deploy.
    for revision in live.task_definitions.values_mut() {
        for container in &mut revision.content.containers {
            if container.image.contains("/kaapi-repo@") {
                container.image = latest.clone();
            }
        }
    }
    let image = live.image.as_mut().unwrap();
    image.tags = vec!["latest".into()];
    let input = import_input(&state, &live);
    let imported = crate::import::import(&input).unwrap();
    assert!(
        imported.text.contains("  tag: latest # "),
        "{}",
        imported.text
    );
    let reloaded = crate::state::load_str(Path::new("production.yaml"), &imported.text, &|_| None)
        .unwrap_or_else(|e| panic!("{e}\n{}", imported.text));
    let plan = plan(&reloaded, &live).unwrap();
    // The revisions run `:latest` and the state names it: nothing to register.
    assert!(
        !plan
            .changes
            .iter()
            .any(|c| c.resource.kind == ResourceKind::TaskDefinition && c.action != Action::NoOp),
        "{}",
        crate::render::text(&plan)
    );
    assert!(
        plan.warnings.iter().any(|w| w.contains("`latest` moves")
            && w.contains("reconcile image set --env production --digest")),
        "{:?}",
        plan.warnings
    );
}

#[test]
fn a_secret_log_option_must_exist_like_any_secret() {
    let text = include_str!("../../../../../state/production.yaml").replace(
        "      backend:\n        port: 80\n",
        "      backend:\n        port: 80\n        logs: { driver: splunk, options: { splunk-url: \"https://splunk.example.org:8088\" }, secret_options: { splunk-token: \"secretsmanager:kaapi/splunk\" } }\n",
    );
    let state = desired_from(&text);
    let mut live = live_matching(&desired());
    let id = crate::model::SecretId::SecretsManager("kaapi/splunk".into());
    assert!(super::secrets_to_check(&state, &live).contains(&id));
    live.secrets.insert(
        id,
        crate::model::SecretStatus::Missing {
            reason: "not found".into(),
        },
    );
    let error = plan(&state, &live).unwrap_err().to_string();
    assert!(
        error.contains("  - log option splunk-token in container backend of kaapi-task: Secrets Manager secret kaapi/splunk not found"),
        "{error}"
    );
}
