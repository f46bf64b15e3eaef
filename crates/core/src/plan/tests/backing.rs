//! Planner tests of backing services in the plan: busy resources, outputs known only after apply.

use super::*;

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
