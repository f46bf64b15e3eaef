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

    // Made before an out-of-band change: refused, naming what changed, with its values.
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
        err.contains("refusing to apply a stale plan: since it was made,\n  - service kaapi-celery-task changed: desired_count was 1 when the plan was made, 4 now\nnothing was changed; make a new plan"),
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

/// The binary as a child process on this fixture's emulator and state, not waited for.
fn spawn(fixture: &Fixture, args: &[&str]) -> std::process::Child {
    let mut all = args.to_vec();
    all.extend(["--state", fixture.state.path().to_str().unwrap()]);
    super::support::reconcile_command(
        Some(&fixture.emulator.endpoint()),
        Some(&fixture.seed),
        &all,
    )
    .stdout(std::process::Stdio::piped())
    .stderr(std::process::Stdio::piped())
    .spawn()
    .unwrap()
}

/// Whether the production apply lock is taken, read straight from the lock table.
async fn locked(fixture: &Fixture) -> bool {
    fixture
        .aws
        .dynamodb
        .get_item()
        .table_name("reconcile-locks")
        .key(
            "lock",
            aws_sdk_dynamodb::types::AttributeValue::S("ap-south-1/production".into()),
        )
        .consistent_read(true)
        .send()
        .await
        .is_ok_and(|output| output.item().is_some())
}

#[tokio::test(flavor = "multi_thread")]
async fn two_applies_at_once_never_both_write() {
    let fixture = Fixture::production_applied().await;
    fixture
        .state
        .edit("production", "tag: v1.8.0 ", "tag: v1.9.0 ");
    let args = ["apply", "--env", "production", "--yes"];
    let first = spawn(&fixture, &args);
    let second = spawn(&fixture, &args);
    let outputs = [
        first.wait_with_output().unwrap(),
        second.wait_with_output().unwrap(),
    ];
    let codes: Vec<Option<i32>> = outputs.iter().map(|o| o.status.code()).collect();
    let winner = codes
        .iter()
        .position(|c| *c == Some(0))
        .expect("one apply ran");
    let loser = &outputs[1 - winner];
    assert_eq!(loser.status.code(), Some(1), "{codes:?}");
    let err = stderr(loser);
    assert!(
        err.contains("ap-south-1/production is being applied by ") && err.contains("(pid "),
        "the loser:\n{err}\n{}\nthe winner:\n{}\n{}",
        stdout(loser),
        stderr(&outputs[winner]),
        stdout(&outputs[winner])
    );
    assert!(
        !stdout(loser).contains("Applying to"),
        "the refused apply wrote nothing"
    );
    assert!(!locked(&fixture).await, "the winner released the lock");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_killed_holders_lock_expires_and_force_unlock_removes_one() {
    let fixture = Fixture::production_applied().await;
    fixture
        .state
        .edit("production", "tag: v1.8.0 ", "tag: v1.9.0 ");
    let mut holder = spawn(
        &fixture,
        &[
            "apply",
            "--env",
            "production",
            "--yes",
            "--lock-lease",
            "8s",
        ],
    );
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while !locked(&fixture).await {
        assert!(
            std::time::Instant::now() < deadline,
            "the apply never took the lock"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    holder.kill().unwrap();
    let _ = holder.wait();

    let refused = fixture.cli(&["apply", "--env", "production", "--yes"]);
    assert_eq!(refused.status.code(), Some(1), "{}", stdout(&refused));
    assert!(
        stderr(&refused).contains(&format!("(pid {}", holder.id())),
        "the holder is named: {}",
        stderr(&refused)
    );
    tokio::time::sleep(std::time::Duration::from_secs(9)).await;
    let after_expiry = fixture.cli(&["apply", "--env", "production", "--yes"]);
    assert_eq!(
        after_expiry.status.code(),
        Some(0),
        "{}{}",
        stdout(&after_expiry),
        stderr(&after_expiry)
    );

    // A lock that will not expire soon is removed by hand.
    let lock = reconcile::aws::lock::acquire(
        &fixture.aws,
        "reconcile-locks",
        "ap-south-1/production",
        "production",
        std::time::Duration::from_secs(3600),
    )
    .await
    .unwrap();
    drop(lock);
    let unlocked = fixture.cli(&["force-unlock", "--env", "production"]);
    assert!(
        stdout(&unlocked).starts_with("removed the lock ap-south-1/production held by "),
        "{}",
        stdout(&unlocked)
    );
    let applied = fixture.cli(&["apply", "--env", "production", "--yes"]);
    assert_eq!(applied.status.code(), Some(0), "{}", stderr(&applied));
}

/// Changes the database's backup retention in the console, so to speak.
async fn set_retention(fixture: &Fixture, days: i32) {
    fixture
        .aws
        .rds
        .modify_db_instance()
        .db_instance_identifier("kaapi-postgres")
        .backup_retention_period(days)
        .apply_immediately(true)
        .send()
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn drift_tells_an_out_of_band_change_from_an_unapplied_edit() {
    let fixture = Fixture::production_applied().await;
    let clean = fixture.cli(&["drift", "--env", "production"]);
    assert_eq!(
        clean.status.code(),
        Some(0),
        "{}{}",
        stdout(&clean),
        stderr(&clean)
    );
    assert_eq!(stdout(&clean), "production: clean\n");

    // Someone scales the worker in the console: drift.
    fixture.emulator.tamper(
        "kaapi-cluster",
        "kaapi-celery-task",
        &["desired-count", "3"],
    );
    let drifted = fixture.cli(&["drift", "--env", "production"]);
    assert_eq!(drifted.status.code(), Some(2));
    let out = stdout(&drifted);
    assert!(
        out.starts_with("production: 1 drift, 0 pending, 0 unrecorded\n"),
        "{out}"
    );
    assert!(
        out.contains(
            "drift      service kaapi-celery-task: update in place: desired_count\n               desiredCount: live 3, state file 1\n"
        ),
        "{out}"
    );

    // The database's backups shortened in the console: drift too (RDS reports its record).
    set_retention(&fixture, 1).await;
    let out = stdout(&fixture.cli(&["drift", "--env", "production"]));
    assert!(
        out.starts_with("production: 2 drift, 0 pending, 0 unrecorded\n"),
        "{out}"
    );
    assert!(
        out.contains("drift      RDS instance kaapi-postgres: modify\n               backup_retention_days: live 1, state file 14\n"),
        "{out}"
    );
    set_retention(&fixture, 14).await;

    // And a commit changes the API's size without being applied: pending, beside the drift.
    fixture
        .state
        .edit("production", "desired_count: 2", "desired_count: 3");
    let both = fixture.cli(&["drift", "--env", "production", "--output", "json"]);
    assert_eq!(both.status.code(), Some(2));
    let reports: serde_json::Value = serde_json::from_str(&stdout(&both)).unwrap();
    let kinds: Vec<(String, String)> = reports[0]["differences"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (
                d["resource"]["name"].as_str().unwrap().to_string(),
                d["kind"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        kinds,
        [
            ("kaapi-service".to_string(), "pending".to_string()),
            ("kaapi-celery-task".to_string(), "drift".to_string()),
        ]
    );
    let markdown = stdout(&fixture.cli(&["drift", "--env", "production", "--output", "markdown"]));
    assert!(
        markdown.contains("| `production` | 1 | 1 | 0 |"),
        "{markdown}"
    );
    assert!(
        markdown.contains("  - `desiredCount`: live `3`, state file `1`"),
        "{markdown}"
    );
    let celery = &reports[0]["differences"][1]["values"][0];
    assert_eq!(
        (&celery["path"], &celery["live"], &celery["state"]),
        (&"desired_count".into(), &3.into(), &1.into()),
        "{reports}"
    );
}

#[test]
fn drift_every_runs_on_survives_an_emulator_restart_and_stops_on_sigterm() {
    let (mut emulator, seed) = super::support::Emulator::seeded();
    let state = super::support::StateDir::examples();
    let path = state.path().to_str().unwrap().to_string();
    let mut child = super::support::reconcile_command(
        Some(&emulator.endpoint()),
        Some(&seed),
        &[
            "drift", "--env", "staging", "--every", "2s", "--state", &path,
        ],
    )
    .stdout(std::process::Stdio::piped())
    .stderr(std::process::Stdio::piped())
    .spawn()
    .unwrap();
    let lines = std::sync::Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let readers: Vec<_> = [
        Box::new(child.stdout.take().unwrap()) as Box<dyn std::io::Read + Send>,
        Box::new(child.stderr.take().unwrap()),
    ]
    .into_iter()
    .map(|pipe| {
        let lines = lines.clone();
        std::thread::spawn(move || {
            use std::io::BufRead;
            for line in std::io::BufReader::new(pipe).lines().map_while(Result::ok) {
                lines.lock().unwrap().push(line);
            }
        })
    })
    .collect();
    let runs = |lines: &std::sync::Mutex<Vec<String>>| {
        lines
            .lock()
            .unwrap()
            .iter()
            .filter(|l| l.starts_with("drift: "))
            .count()
    };
    let wait_for = |count: usize| {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        while runs(&lines) < count {
            assert!(
                std::time::Instant::now() < deadline,
                "{:?}",
                lines.lock().unwrap()
            );
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
    };
    wait_for(1);
    // AWS goes away and comes back empty: the runs go on, reporting what they find.
    emulator.restart();
    wait_for(3);
    let pid = child.id().to_string();
    let killed = std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap();
    assert!(killed.success());
    let status = child.wait().unwrap();
    for reader in readers {
        reader.join().unwrap();
    }
    let lines = lines.lock().unwrap();
    assert_eq!(status.code(), Some(0), "{lines:?}");
    assert!(lines[0].starts_with("drift: staging: "), "{lines:?}");
    assert!(
        lines.iter().any(|l| l.starts_with("drift: run failed: ")),
        "a run against the empty emulator failed and was retried: {lines:?}"
    );
}
