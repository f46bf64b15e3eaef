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

#[test]
fn a_running_revision_with_a_setting_outside_the_format_stops_the_plan() {
    let state = desired();
    let mut live = live_matching(&state);
    let unmanaged = &mut api_definition(&mut live).unmanaged;
    unmanaged.insert(
        "containerDefinitions.backend.privileged".into(),
        json!(true),
    );
    unmanaged.insert(
        "containerDefinitions.backend.extraHosts".into(),
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
        "  - keep them: take the service out of state/production.yaml; reconcile then leaves it and its task definition as they are",
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
    api_definition(&mut live).unmanaged.insert(
        "containerDefinitions.backend.privileged".into(),
        json!(true),
    );
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
        [(
            "unmanaged.containerDefinitions.backend.privileged",
            Some(json!(true)),
            None
        )]
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
