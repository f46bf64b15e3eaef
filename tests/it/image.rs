//! `reconcile image set` on the example state files against the emulator's ECR: one line
//! changes, comments and formatting stay, and an image ECR does not hold is refused with the file
//! untouched.

use reconcile::aws::Aws;

use super::support::{
    Emulator, StateDir, apply, digest_of, plan_and_apply, plan_of, reconcile, running_image,
    stderr, stdout,
};

/// The manifest ECR holds for an image, as pushed.
async fn manifest_of(
    aws: &Aws,
    repository: &str,
    id: aws_sdk_ecr::types::ImageIdentifier,
) -> String {
    aws.ecr
        .batch_get_image()
        .repository_name(repository)
        .image_ids(id)
        .send()
        .await
        .unwrap()
        .images()[0]
        .image_manifest()
        .unwrap()
        .to_string()
}

fn changed_lines(before: &str, after: &str) -> Vec<(String, String)> {
    assert_eq!(before.lines().count(), after.lines().count());
    before
        .lines()
        .zip(after.lines())
        .filter(|(a, b)| a != b)
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn image_set_changes_one_line_of_each_example_and_refuses_an_image_ecr_lacks() {
    let emulator = Emulator::start();
    let seed = emulator.seed(&["v1.8.0", "v1.9.0"], &["v1.8.0-main.3", "v1.9.0-main.1"]);
    let aws = Aws::from_config(&emulator.sdk_config());
    let state = StateDir::examples();
    let dir = state.path().to_str().unwrap().to_string();
    let set = |env: &str, flag: &str, value: &str| {
        reconcile(
            Some(&emulator),
            Some(&seed),
            &["image", "set", "--env", env, flag, value, "--state", &dir],
        )
    };

    let production = std::fs::read_to_string(state.file("production")).unwrap();
    let output = set("production", "--tag", "v1.9.0");
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert!(
        stdout(&output)
            .starts_with("production: image kaapi-repo:v1.8.0 -> kaapi-repo:v1.9.0 (sha256:"),
        "{}",
        stdout(&output)
    );
    let after = std::fs::read_to_string(state.file("production")).unwrap();
    assert_eq!(
        changed_lines(&production, &after),
        [(
            "  tag: v1.8.0                     # repository defaults to kaapi-repo".to_string(),
            "  tag: v1.9.0                     # repository defaults to kaapi-repo".to_string()
        )]
    );

    // Staging by digest: the key changes with the value, nothing else does.
    let staging = std::fs::read_to_string(state.file("staging")).unwrap();
    let digest = digest_of(&aws, "kaapi-staging-repo", "v1.9.0-main.1").await;
    let output = set("staging", "--digest", &digest);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let after = std::fs::read_to_string(state.file("staging")).unwrap();
    let changed = changed_lines(&staging, &after);
    assert_eq!(changed.len(), 1, "{changed:?}");
    assert_eq!(
        changed[0].1,
        changed[0]
            .0
            .replace("tag: v1.8.0-main.3", &format!("digest: {digest}"))
    );

    // Not in ECR: refused, and the file is byte for byte what it was.
    let before = std::fs::read_to_string(state.file("production")).unwrap();
    let output = set("production", "--tag", "v2.0.0");
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr(&output).contains("image kaapi-repo:v2.0.0 not found in ECR"),
        "{}",
        stderr(&output)
    );
    assert_eq!(
        std::fs::read_to_string(state.file("production")).unwrap(),
        before
    );
    // A malformed value is refused by the state's own checks, naming the line.
    let output = set("production", "--tag", "v1.9.0/rc");
    assert_eq!(output.status.code(), Some(1));
    assert!(stderr(&output).contains("image.tag"), "{}", stderr(&output));
    assert_eq!(
        std::fs::read_to_string(state.file("production")).unwrap(),
        before
    );
}

/// The task definitions reconcile registers run the bytes the plan saw: the image by digest.
#[tokio::test(flavor = "multi_thread")]
async fn a_tag_moved_to_other_bytes_is_a_change_the_plan_names_and_a_revert_reuses_the_pinned_revision()
 {
    let (emulator, seed) = Emulator::seeded();
    let aws = Aws::from_config(&emulator.sdk_config());
    let state = StateDir::examples();
    let desired = state.load("staging", &seed);
    assert!(plan_and_apply(&aws, &desired).await.succeeded());
    let digest_of_tag = || digest_of(&aws, "kaapi-staging-repo", "v1.8.0-main.3");
    let running_image = || running_image(&aws, "kaapi-staging-cluster", "kaapi-staging-service");
    let first = digest_of_tag().await;
    assert!(
        running_image()
            .await
            .ends_with(&format!("kaapi-staging-repo@{first}")),
        "{}",
        running_image().await
    );
    assert!(!plan_of(&aws, &desired).await.has_changes());

    // Someone pushes other bytes under the same tag.
    let original = manifest_of(
        &aws,
        "kaapi-staging-repo",
        aws_sdk_ecr::types::ImageIdentifier::builder()
            .image_tag("v1.8.0-main.3")
            .build(),
    )
    .await;
    // Same layers, other manifest bytes (an annotation): another digest under the same tag.
    let moved = original.replacen('{', "{\"annotations\": {\"rebuilt\": \"yes\"}, ", 1);
    assert_ne!(moved, original);
    let ecr = aws.ecr.clone();
    let push = |manifest: String| {
        let ecr = ecr.clone();
        async move {
            ecr.put_image()
                .repository_name("kaapi-staging-repo")
                .image_tag("v1.8.0-main.3")
                .image_manifest(manifest)
                .send()
                .await
                .unwrap();
        }
    };
    push(moved).await;
    let second = digest_of_tag().await;
    assert_ne!(second, first, "the tag moved");
    let plan = plan_of(&aws, &desired).await;
    assert!(plan.has_changes());
    let change = plan
        .changes
        .iter()
        .find(|c| c.resource.name == "kaapi-staging-task")
        .unwrap();
    assert!(
        change
            .reason
            .contains(&format!("v1.8.0-main.3 names {second}, not the {first}")),
        "{}",
        change.reason
    );
    assert!(apply(&aws, &plan).await.succeeded());
    assert!(running_image().await.ends_with(&second));

    // The tag goes back to the first bytes: the revision naming them is reused, none registered.
    push(original).await;
    aws.calls.reset();
    let plan = plan_of(&aws, &desired).await;
    assert!(apply(&aws, &plan).await.succeeded());
    let calls = aws.calls.operations();
    assert!(
        !calls
            .iter()
            .any(|op| op.ends_with(".RegisterTaskDefinition")),
        "{calls:?}"
    );
    assert!(running_image().await.ends_with(&first));
    assert!(!plan_of(&aws, &desired).await.has_changes());
}

/// `promote` reads the digest staging's services run from ECS, copies that image from the
/// staging repository into production's with ECR's layer calls (the manifest byte for byte, so the
/// digest is the same), and points production's state file at it; production then runs exactly
/// those bytes.
#[tokio::test(flavor = "multi_thread")]
async fn promote_sets_production_to_the_digest_staging_runs_across_repositories() {
    let emulator = Emulator::start();
    let seed = emulator.seed(&["v1.8.0"], &["v1.8.0-main.3", "v1.9.0-main.1"]);
    let aws = Aws::from_config(&emulator.sdk_config());
    let state = StateDir::examples();
    let dir = state.path().to_str().unwrap().to_string();
    let run = |args: &[&str]| {
        let mut all = args.to_vec();
        all.extend(["--state", &dir]);
        reconcile(Some(&emulator), Some(&seed), &all)
    };
    let output = run(&["image", "set", "--env", "staging", "--tag", "v1.9.0-main.1"]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert!(
        plan_and_apply(&aws, &state.load("staging", &seed))
            .await
            .succeeded()
    );
    assert!(
        plan_and_apply(&aws, &state.load("production", &seed))
            .await
            .succeeded()
    );
    let staged = digest_of(&aws, "kaapi-staging-repo", "v1.9.0-main.1").await;

    // Production's repository does not hold staging's build yet.
    let in_production = |digest: String| {
        let ecr = aws.ecr.clone();
        async move {
            ecr.describe_images()
                .repository_name("kaapi-repo")
                .image_ids(
                    aws_sdk_ecr::types::ImageIdentifier::builder()
                        .image_digest(digest)
                        .build(),
                )
                .send()
                .await
                .ok()
                .map(|found| found.image_details()[0].image_tags().to_vec())
        }
    };
    assert_eq!(in_production(staged.clone()).await, None);

    let before = std::fs::read_to_string(state.file("production")).unwrap();
    let output = run(&["promote", "--from", "staging", "--to", "production"]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let printed = stdout(&output);
    assert!(
        printed.contains(&format!(
            "copied {staged} (v1.9.0-main.1) from kaapi-staging-repo into kaapi-repo: 1 manifest(s), 2 blob(s) uploaded"
        )),
        "{printed}"
    );
    let after = std::fs::read_to_string(state.file("production")).unwrap();
    assert_eq!(
        changed_lines(&before, &after),
        [(
            "  tag: v1.8.0                     # repository defaults to kaapi-repo".to_string(),
            format!(
                "  digest: {staged}                     # v1.9.0-main.1 from staging (reconcile promote)"
            )
        )]
    );
    // The same bytes under the same digest, with staging's tag, and every blob they need.
    assert_eq!(
        in_production(staged.clone()).await,
        Some(vec!["v1.9.0-main.1".to_string()])
    );
    let manifest = manifest_of(
        &aws,
        "kaapi-repo",
        aws_sdk_ecr::types::ImageIdentifier::builder()
            .image_digest(&staged)
            .build(),
    )
    .await;
    let blobs = reconcile::promote::manifest_refs(&manifest).unwrap().blobs;
    let check = aws
        .ecr
        .batch_check_layer_availability()
        .repository_name("kaapi-repo")
        .set_layer_digests(Some(blobs.clone()))
        .send()
        .await
        .unwrap();
    assert_eq!(check.layers().len(), blobs.len(), "{:?}", check.failures());

    // Production now deploys what staging runs.
    let production = state.load("production", &seed);
    let plan = plan_of(&aws, &production).await;
    assert!(plan.has_changes());
    assert!(apply(&aws, &plan).await.succeeded());
    let image = running_image(&aws, "kaapi-cluster", "kaapi-service").await;
    assert!(image.ends_with(&format!("/kaapi-repo@{staged}")), "{image}");

    // Promoting again copies nothing and leaves the file as it is.
    let output = run(&["promote", "--from", "staging", "--to", "production"]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert!(
        stdout(&output).contains(&format!(
            "kaapi-repo holds {staged} (v1.9.0-main.1) already"
        )),
        "{}",
        stdout(&output)
    );
    assert_eq!(
        std::fs::read_to_string(state.file("production")).unwrap(),
        after
    );
    // An environment cannot be promoted onto itself.
    let output = run(&["promote", "--from", "production", "--to", "production"]);
    assert_eq!(output.status.code(), Some(1));
}
