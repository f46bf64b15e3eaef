//! Drift classification on plans: drift when the record matches the state, pending otherwise.

use super::*;

/// Live AWS matching the state, but for the API scaled to 5 tasks in the console.
fn scaled_in_the_console(state: &DesiredState) -> LiveEnvironment {
    let mut live = live_matching(state);
    live.services
        .get_mut("kaapi-service")
        .unwrap()
        .settings
        .desired_count = Some(5);
    live
}

#[test]
fn a_difference_is_drift_when_the_record_matches_the_state_and_pending_otherwise() {
    use crate::drift::{Kind, classify};
    let state = desired();
    // Someone scaled the API in the console: the record still matches the state.
    let live = scaled_in_the_console(&state);
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
    let Operation::ModifyBacking(modify) = &change.operation else {
        panic!("{change:?}")
    };
    assert!(
        modify
            .record
            .contains_key(crate::state::desired::FINGERPRINT_TAG)
    );
}

#[test]
fn a_tag_moved_in_ecr_is_drift_and_a_new_tag_in_the_state_is_pending() {
    let state = desired();
    let mut live = live_matching(&state);
    // Someone pushed other bytes under the state's tag: the state file did not change.
    live.image.as_mut().unwrap().digest = "sha256:other-bytes".into();
    let report = crate::drift::classify(&plan(&state, &live).unwrap());
    let kinds: Vec<(crate::drift::Kind, &str)> = report
        .differences
        .iter()
        .map(|d| (d.kind, d.resource.name.as_str()))
        .collect();
    assert!(
        kinds.contains(&(crate::drift::Kind::Drift, "kaapi-task")),
        "{kinds:?}"
    );
    assert!(
        kinds
            .iter()
            .all(|(kind, _)| *kind == crate::drift::Kind::Drift)
    );
    // A new tag written in the state is work not applied yet.
    let mut bumped = state.clone();
    bumped.image.as_mut().unwrap().tag = Some("v1.9.0".into());
    let mut live = live_matching(&state);
    live.image.as_mut().unwrap().digest = digest_for("v1.9.0");
    let report = crate::drift::classify(&plan(&bumped, &live).unwrap());
    assert!(
        report
            .differences
            .iter()
            .all(|d| d.kind == crate::drift::Kind::Pending),
        "{:?}",
        report.differences
    );
}

/// What a person reads in `drift`: each differing field with the live value and the state's.
#[test]
fn the_drift_report_shows_each_field_with_its_live_and_state_values() {
    use crate::drift::classify;
    let state = desired();
    let live = scaled_in_the_console(&state);
    let report = classify(&plan(&state, &live).unwrap());
    let text =
        anstream::adapter::strip_str(&crate::render::drift_text(std::slice::from_ref(&report)))
            .to_string();
    insta::assert_snapshot!("drift_text", text);
    let markdown = crate::render::drift_markdown(&[report]);
    assert!(
        markdown.contains("  - `desiredCount`: live `5`, state file `2`"),
        "{markdown}"
    );
}

/// A saved plan refused as stale names the resource, the field that moved and its values.
#[test]
fn a_stale_saved_plan_names_the_field_that_moved_with_its_values() {
    let state = desired();
    let then = live_matching(&state);
    let saved = crate::saved::SavedPlan::new(plan(&state, &then).unwrap(), &state, &then);
    let now = scaled_in_the_console(&state);
    let fresh = plan(&state, &now).unwrap();
    assert_eq!(
        saved.stale(&state, &now, &fresh),
        ["service kaapi-service changed: desired_count was 2 when the plan was made, 5 now"]
    );
    assert!(saved.stale(&state, &then, &saved.plan).is_empty());
}
