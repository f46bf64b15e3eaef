//! The adoption corpus: every task definition in `tests/fixtures/real-shapes/` registered as
//! written behind a service in the emulator, then `import`, `validate`, `plan` and `apply`; each
//! must come through with nothing registered, created or updated, and the service still on the
//! revision it was found on. All documents are tried before the test fails, and the failure
//! names each one that did not come through and why.

use std::path::Path;

use reconcile::aws::Aws;
use reconcile::plan::{Action, Operation};

use crate::support::{Emulator, Seed, apply, plan_of, reconcile, stderr};

/// Every fixture's name (its file stem), in name order.
fn fixtures() -> Vec<String> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/real-shapes");
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|entry| {
            let path = entry.ok()?.path();
            (path.extension()? == "json")
                .then(|| path.file_stem()?.to_str().map(str::to_string))
                .flatten()
        })
        .filter(|name| name != "services")
        .collect();
    names.sort();
    names
}

/// `reconcile import` of production, names from `prefix`, written into the directory `state`.
fn import_production(
    emulator: &Emulator,
    seed: &Seed,
    prefix: &str,
    state: &str,
) -> std::process::Output {
    let args = [
        "import",
        "--env",
        "production",
        "--prefix",
        prefix,
        "--region",
        "ap-south-1",
        "--state",
        state,
    ];
    reconcile(Some(emulator), Some(seed), &args)
}

/// One document through import, validate, plan and apply; `Err` says where it stopped.
async fn round_trip(
    emulator: &Emulator,
    seed: &Seed,
    aws: &Aws,
    fixture: &str,
    index: usize,
) -> Result<(), String> {
    let prefix = format!("corpus{index}");
    let cluster = format!("{prefix}-cluster");
    let arn = emulator.adopt(seed, fixture, &cluster, fixture);
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().to_str().unwrap();
    let import = import_production(emulator, seed, &prefix, state);
    if import.status.code() != Some(0) {
        return Err(format!("import: {}", stderr(&import)));
    }
    let file = dir.path().join("production.yaml");
    let text = std::fs::read_to_string(&file).unwrap();
    let validate = reconcile(
        None,
        None,
        &["validate", "--env", "production", "--state", state],
    );
    if validate.status.code() != Some(0) {
        return Err(format!("validate: {}\n{text}", stderr(&validate)));
    }
    let desired = reconcile::state::load_file(&file, &|_| None).map_err(|e| e.to_string())?;
    let plan = reconcile::engine::plan_environment(aws, &desired)
        .await
        .map_err(|e| format!("plan: {e}\n{text}"))?
        .0;
    let changed: Vec<String> = plan
        .changes
        .iter()
        .filter(|c| c.action != Action::NoOp)
        .filter(|c| !matches!(c.operation, Operation::TagResource { .. }))
        .map(|c| format!("{:?} {}", c.resource.kind, c.resource.name))
        .collect();
    if !changed.is_empty() {
        return Err(format!(
            "plan changes {}:\n{}\n{text}",
            changed.join(", "),
            reconcile::render::text(&plan)
        ));
    }
    aws.calls.reset();
    if !apply(aws, &plan).await.succeeded() {
        return Err("apply failed".into());
    }
    let writes: Vec<String> = aws
        .calls
        .operations()
        .into_iter()
        .filter(|op| {
            [
                ".RegisterTaskDefinition",
                ".CreateService",
                ".UpdateService",
                ".CreateLogGroup",
            ]
            .iter()
            .any(|w| op.ends_with(w))
        })
        .collect();
    if !writes.is_empty() {
        return Err(format!("apply called {writes:?}"));
    }
    // Field by field: the service runs the very revision it was found on.
    let running = aws
        .ecs
        .describe_services()
        .cluster(&cluster)
        .services(fixture)
        .send()
        .await
        .map_err(|e| format!("{e:?}"))?;
    let now = running
        .services()
        .first()
        .and_then(|s| s.task_definition())
        .unwrap_or_default()
        .to_string();
    if now != arn {
        return Err(format!("the service runs {now}, not {arn}"));
    }
    if plan_of(aws, &desired).await.has_changes() {
        return Err("the plan after apply is not empty".into());
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn every_real_shaped_task_definition_is_adopted_without_a_change() {
    let (emulator, seed) = Emulator::seeded();
    let aws = Aws::from_config(&emulator.sdk_config());
    let names = fixtures();
    assert!(names.len() >= 30, "{names:?}");
    let mut failed = Vec::new();
    for (index, name) in names.iter().enumerate() {
        if let Err(why) = round_trip(&emulator, &seed, &aws, name, index).await {
            failed.push(format!("--- {name}: {why}"));
        }
    }
    assert!(
        failed.is_empty(),
        "{} of {} documents did not come through:\n{}",
        failed.len(),
        names.len(),
        failed.join("\n")
    );
}

/// A setting the format does not type, carried in an `aws:` block: changed in the file, it is
/// registered as written (AWS then holds the new value), and the next plan compares it clean.
#[tokio::test(flavor = "multi_thread")]
async fn an_aws_block_is_sent_as_written_and_compared_as_written() {
    let (emulator, seed) = Emulator::seeded();
    let aws = Aws::from_config(&emulator.sdk_config());
    let fixture = "ec2-tmpfs-sysctls-ulimits";
    emulator.adopt(&seed, fixture, "kaapi-cluster", fixture);
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().to_str().unwrap();
    let import = import_production(&emulator, &seed, "kaapi", state);
    assert_eq!(import.status.code(), Some(0), "{}", stderr(&import));
    let file = dir.path().join("production.yaml");
    let text = std::fs::read_to_string(&file).unwrap();
    let carried = "systemControls: [{namespace: net.core.somaxconn, value: \"1024\"}]";
    assert!(text.contains(carried), "{text}");
    std::fs::write(
        &file,
        text.replace(carried, &carried.replace("1024", "4096")),
    )
    .unwrap();
    let desired = reconcile::state::load_file(&file, &|_| None).unwrap();
    let plan = plan_of(&aws, &desired).await;
    let registers = plan
        .changes
        .iter()
        .find(|c| c.resource.kind == reconcile::plan::ResourceKind::TaskDefinition)
        .unwrap();
    assert_eq!(
        registers.action,
        Action::Create,
        "{}",
        reconcile::render::text(&plan)
    );
    assert!(
        registers
            .fields
            .iter()
            .any(|f| f.path.contains("systemControls")),
        "{:?}",
        registers.fields
    );
    assert!(apply(&aws, &plan).await.succeeded());
    let described = aws
        .ecs
        .describe_task_definition()
        .task_definition("search")
        .send()
        .await
        .unwrap();
    let container = &described.task_definition().unwrap().container_definitions()[0];
    let controls = container.system_controls();
    assert_eq!(controls.len(), 1, "{controls:?}");
    assert_eq!(controls[0].value(), Some("4096"));
    // The untouched settings beside it went through too.
    let linux = container.linux_parameters().unwrap();
    assert_eq!(linux.shared_memory_size(), Some(512));
    assert_eq!(linux.tmpfs().len(), 1);
    assert!(!plan_of(&aws, &desired).await.has_changes());
}
