//! What a person and a tool read of a plan, pinned by snapshots (insta): the text (colours
//! stripped), JSON and markdown views of a create from nothing, an image bump, a revert, a backing
//! change deferred to the maintenance window and a replacement that apply refuses by default.
//! A change to a view shows here as a snapshot diff to review (`INSTA_UPDATE=always` rewrites).

use super::*;
use crate::model::LiveBacking;

/// The three views of a plan, each pinned under `NAME.text`, `NAME.json` and `NAME.markdown`.
#[track_caller]
fn check_views(name: &str, plan: &Plan) {
    insta::assert_snapshot!(format!("{name}.text"), text_of(plan));
    insta::assert_snapshot!(format!("{name}.json"), crate::render::json(plan));
    insta::assert_snapshot!(format!("{name}.markdown"), crate::render::markdown(plan));
}

/// The example state with its image moved to `tag` (the image exists in ECR under it), and
/// ECR's tags of what the services ran until now, as the observer reads them when the image
/// changes.
fn with_image(mut state: DesiredState, live: &mut LiveEnvironment, tag: &str) -> DesiredState {
    if let Some(image) = live.image.as_mut() {
        let before = state
            .image
            .as_ref()
            .unwrap()
            .tag
            .clone()
            .unwrap_or_default();
        live.running_image_tags
            .insert(image.digest.clone(), vec![before]);
        let image = live.image.as_mut().unwrap();
        image.tags = vec![tag.to_string()];
        image.digest = digest_for(tag);
    }
    state.image.as_mut().unwrap().tag = Some(tag.to_string());
    state
}

/// How many rows `text` takes on a terminal `width` columns wide (long lines wrap).
fn rows(text: &str, width: usize) -> usize {
    text.lines()
        .map(|line| line.chars().count().div_ceil(width).max(1))
        .sum()
}

fn text_of(plan: &Plan) -> String {
    anstream::adapter::strip_str(&crate::render::text(plan)).to_string()
}

#[test]
fn creating_an_environment_from_nothing() {
    let state = desired();
    let everything = live_matching(&state);
    let live = LiveEnvironment {
        account: everything.account,
        image: everything.image,
        // The secrets the new task definitions name exist.
        secrets: crate::plan::secrets_to_check(&state, &LiveEnvironment::default())
            .into_iter()
            .map(|id| (id, crate::model::SecretStatus::Exists))
            .collect(),
        ..LiveEnvironment::default()
    };
    let plan = plan(&state, &live).unwrap();
    check_views("create_from_nothing", &plan);
    // Read at a glance: one summary line per resource.
    let text = text_of(&plan);
    assert!(rows(&text, 100) <= 40, "{} rows:\n{text}", rows(&text, 100));
    // Every setting with --verbose: each variable of each container, in AWS's names.
    let verbose = anstream::adapter::strip_str(&crate::render::text_verbose(&plan)).to_string();
    for line in [
        "+ containerDefinitions[backend].environment.API_BASE_URL: \"https://api.kaapi.example.org\"",
        "+ containerDefinitions[backend].portMappings: [{\"containerPort\":80,\"hostPort\":80,\"protocol\":\"tcp\"}]",
        "+ instance_class: \"db.t4g.medium\"",
        "+ desiredCount: 2",
    ] {
        assert!(verbose.contains(line), "{line} in\n{verbose}");
    }
}

#[test]
fn an_image_bump() {
    let state = desired();
    let mut live = live_matching(&state);
    let state = with_image(state, &mut live, "v1.9.0");
    let plan = plan(&state, &live).unwrap();
    check_views("image_bump", &plan);
    let text = text_of(&plan);
    assert!(rows(&text, 100) <= 20, "{} rows:\n{text}", rows(&text, 100));
    // The headline says what runs and what will; the registry appears once.
    assert!(
        text.starts_with("Plan for production: v1.8.0 -> v1.9.0, "),
        "{text}"
    );
    assert_eq!(text.matches(".dkr.ecr.").count(), 1, "{text}");
    // The README shows the plan as it prints.
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../README.md")).unwrap();
    assert!(
        readme.contains(&format!("```text\n{text}```")),
        "README.md's plan sample (under \"What a plan shows\") is not this plan:\n{text}"
    );
}

#[test]
fn a_revert_reuses_the_earlier_revision() {
    // v1.9.0 runs as kaapi-task:8; the state goes back to v1.8.0, which kaapi-task:7 holds.
    let state = desired();
    let mut live = live_matching(&state);
    let earlier: Vec<Revision> = live.task_definitions.values().cloned().collect();
    let newer_state = with_image(state.clone(), &mut live.clone(), "v1.9.0");
    let newer = live_matching(&newer_state);
    for (name, service) in &newer.services {
        let arn = service.task_definition_arn.replace(":7", ":8");
        let mut revision = newer.task_definitions[&service.task_definition_arn].clone();
        revision.arn = arn.clone();
        revision.revision = 8;
        live.task_definitions.insert(arn.clone(), revision);
        let running = live.services.get_mut(name).unwrap();
        live.task_definitions.remove(&running.task_definition_arn);
        running.task_definition_arn = arn;
        // Its record is of the newer state, which the last apply deployed.
        running.tags = service.tags.clone();
    }
    // What the observer reads of the digest the services run.
    live.running_image_tags
        .insert(digest_for("v1.9.0"), vec!["v1.9.0".to_string()]);
    for revision in earlier {
        live.candidates
            .insert(revision.content.family.clone(), vec![revision]);
    }
    check_views("revert", &plan(&state, &live).unwrap());
}

fn with_backing(key: &str, edit: impl FnOnce(&mut LiveBacking)) -> Plan {
    let state = desired();
    let mut live = live_matching(&state);
    edit(live.backing.get_mut(key).unwrap());
    plan(&state, &live).unwrap()
}

#[test]
fn a_backing_change_deferred_to_the_maintenance_window() {
    let plan = with_backing("postgres", |postgres| {
        postgres
            .settings
            .insert("instance_class".into(), serde_json::json!("db.t4g.small"));
    });
    check_views("backing_deferred", &plan);
}

#[test]
fn a_replacement_apply_refuses_without_the_flag() {
    let plan = with_backing("redis", |redis| {
        redis.settings.insert(
            "subnet_group".into(),
            serde_json::json!("kaapi-old-subnets"),
        );
    });
    check_views("refused_replacement", &plan);
}

#[test]
fn a_new_service_in_a_running_environment_shows_every_setting() {
    let state = desired();
    let mut live = live_matching(&state);
    let gone = live.services.remove("kaapi-celery-task").unwrap();
    live.task_definitions.remove(&gone.task_definition_arn);
    let text = text_of(&plan(&state, &live).unwrap());
    let service = text
        .split("+ service kaapi-celery-task: does not exist\n")
        .nth(1)
        .unwrap_or_else(|| panic!("{text}"));
    for line in [
        "+ taskDefinition: \"kaapi-celery-task:(new revision)\"",
        "+ desiredCount: 1",
        "+ launchType: \"FARGATE\"",
        "+ networkConfiguration.awsvpcConfiguration.subnets: [\"subnet-a\",\"subnet-b\"]",
        "+ deploymentConfiguration.deploymentCircuitBreaker.rollback: true",
    ] {
        assert!(service.contains(line), "{line} in\n{text}");
    }
    assert!(!text.contains("(--verbose)"), "{text}");
}
