//! GitOps safety against the emulator through the binary: a saved plan is applied as it is, and
//! refused with the reason once the state file or a live resource it observed has changed.

use super::emulator::Fixture;
use super::support::{stderr, stdout};

impl Fixture {
    fn cli(&self, args: &[&str]) -> std::process::Output {
        let mut all: Vec<&str> = args.to_vec();
        all.extend(["--state", self.state.path().to_str().unwrap()]);
        super::support::reconcile(Some(&self.emulator), Some(&self.seed), &all)
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_saved_plan_is_applied_as_made_and_refused_once_stale() {
    let fixture = Fixture::production_applied().await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("plan.json");
    let file = file.to_str().unwrap();
    fixture
        .state
        .edit("production", "desired_count: 2", "desired_count: 3");

    // Made before an out-of-band change: refused, naming what changed.
    let made = fixture.cli(&["plan", "--env", "production", "--out", file]);
    assert_eq!(made.status.code(), Some(2), "{}", stderr(&made));
    let saved = std::fs::read_to_string(file).unwrap();
    assert!(
        !saved.contains("seeded-secret-value"),
        "no secret value in a saved plan"
    );
    fixture.emulator.tamper(
        "kaapi-cluster",
        "kaapi-celery-task",
        &["desired-count", "4"],
    );
    let refused = fixture.cli(&["apply", file, "--yes"]);
    assert_eq!(refused.status.code(), Some(1), "{}", stdout(&refused));
    let err = stderr(&refused);
    assert!(
        err.contains("refusing to apply a stale plan: since it was made,\n  - service kaapi-celery-task changed\nnothing was changed; make a new plan"),
        "{err}"
    );

    // Made after: applied exactly as saved.
    let made = fixture.cli(&["plan", "--env", "production", "--out", file]);
    assert_eq!(made.status.code(), Some(2));
    let applied = fixture.cli(&["apply", file, "--yes"]);
    assert_eq!(
        applied.status.code(),
        Some(0),
        "{}{}",
        stdout(&applied),
        stderr(&applied)
    );
    assert!(
        stdout(&applied).contains("updated service kaapi-service"),
        "{}",
        stdout(&applied)
    );

    // A state file edited after the plan was made: refused too.
    fixture
        .state
        .edit("production", "desired_count: 3", "desired_count: 4");
    let made = fixture.cli(&["plan", "--env", "production", "--out", file]);
    assert_eq!(made.status.code(), Some(2));
    fixture
        .state
        .edit("production", "desired_count: 4", "desired_count: 5");
    let refused = fixture.cli(&["apply", file, "--yes"]);
    assert_eq!(refused.status.code(), Some(1));
    assert!(
        stderr(&refused).contains("production.yaml changed since the plan was made"),
        "{}",
        stderr(&refused)
    );
}
