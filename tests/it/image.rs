//! `reconcile image set` on the example state files against the emulator's ECR: one line
//! changes, comments and formatting stay, and an image ECR does not hold is refused with the file
//! untouched.

use reconcile::aws::Aws;

use super::support::{Emulator, StateDir, reconcile, stderr, stdout};

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
    let digest = aws
        .ecr
        .describe_images()
        .repository_name("kaapi-staging-repo")
        .image_ids(
            aws_sdk_ecr::types::ImageIdentifier::builder()
                .image_tag("v1.9.0-main.1")
                .build(),
        )
        .send()
        .await
        .unwrap()
        .image_details()[0]
        .image_digest()
        .unwrap()
        .to_string();
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
    let output = set("production", "--tag", "latest");
    assert_eq!(output.status.code(), Some(1));
    assert!(stderr(&output).contains("image.tag"), "{}", stderr(&output));
    assert_eq!(
        std::fs::read_to_string(state.file("production")).unwrap(),
        before
    );
}
