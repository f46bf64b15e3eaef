//! The release script the example workflows call (examples/github/release.sh), end to end on the
//! emulator with a local bare git repository as GitHub: a push to main is built (an image pushed
//! into the emulator's ECR stands in for the build), set in staging's state file, committed by the
//! release bot, pushed and applied, with a GitHub deployment reported (a recording `gh`); the
//! bot's commit starts nothing; a version tag promotes the bytes staging runs when they are a build
//! of the tagged commit, and asks for a build otherwise.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use reconcile::aws::Aws;

use super::support::{
    Emulator, Seed, StateDir, bare_repository, git, plan_and_apply, root, running_image, stderr,
    stdout, with_aws_env,
};

const BOT: &str = "reconcile-release[bot]";

/// The application's repository: `origin.git` stands in for GitHub, `dev` is a developer's clone.
struct Repository {
    dir: tempfile::TempDir,
    gh_log: PathBuf,
}

impl Repository {
    /// Kaapi's layout: ./backend, state/ (the example files), .github/release.sh; tagged v1.8.0,
    /// then `commits` more changes to the code, pushed.
    fn new(commits: usize) -> Repository {
        let dir = tempfile::tempdir().unwrap();
        let dev = bare_repository(dir.path(), |_, text| text);
        for dir in ["backend", ".github"] {
            std::fs::create_dir_all(dev.join(dir)).unwrap();
        }
        std::fs::copy(
            root().join("examples/github/release.sh"),
            dev.join(".github/release.sh"),
        )
        .unwrap();
        std::fs::write(dev.join("backend/app.py"), "version = 0\n").unwrap();
        git(&dev, &["add", "."]);
        git(&dev, &["commit", "--quiet", "-m", "Kaapi"]);
        git(&dev, &["tag", "v1.8.0"]);
        let repository = Repository {
            gh_log: dir.path().join("gh.log"),
            dir,
        };
        for _ in 0..commits {
            repository.change_code();
        }
        git(
            &repository.dev(),
            &["push", "--quiet", "origin", "main", "--tags"],
        );
        // A `gh` that records what it is asked (the deployments API) and answers an id.
        let bin = repository.dir.path().join("bin");
        std::fs::create_dir(&bin).unwrap();
        std::fs::write(
            bin.join("gh"),
            "#!/bin/sh\n{ echo \"gh $*\"; cat; echo; } >> \"$GH_LOG\"\necho 17\n",
        )
        .unwrap();
        Command::new("chmod")
            .args(["+x", bin.join("gh").to_str().unwrap()])
            .status()
            .unwrap();
        repository
    }

    fn dev(&self) -> PathBuf {
        self.dir.path().join("dev")
    }

    /// A developer's change to the code, committed (not pushed).
    fn change_code(&self) -> String {
        let file = self.dev().join("backend/app.py");
        let text = std::fs::read_to_string(&file).unwrap();
        std::fs::write(&file, format!("{text}# change\n")).unwrap();
        git(&self.dev(), &["commit", "--quiet", "-am", "a change"]);
        git(&self.dev(), &["rev-parse", "HEAD"])
    }

    /// A fresh checkout of REF with every tag and the whole history, as actions/checkout with
    /// fetch-depth 0 makes it.
    fn checkout(&self, reference: &str) -> PathBuf {
        let ci = self.dir.path().join(format!("ci-{}", rand_suffix()));
        git(
            self.dir.path(),
            &["clone", "--quiet", "origin.git", ci.to_str().unwrap()],
        );
        git(&ci, &["checkout", "--quiet", reference]);
        ci
    }

    /// Runs release.sh in `checkout` as the workflow does.
    fn release(
        &self,
        emulator: &Emulator,
        seed: &Seed,
        checkout: &Path,
        args: &[&str],
        env: &[(&str, &str)],
    ) -> Output {
        let mut command = Command::new("bash");
        command
            .arg(checkout.join(".github/release.sh"))
            .args(args)
            .current_dir(checkout)
            .env("RECONCILE", env!("CARGO_BIN_EXE_reconcile"))
            .env("GH_LOG", &self.gh_log)
            .env("GITHUB_REPOSITORY", "ProjectTech4DevAI/kaapi-backend")
            .env("GITHUB_RUN_ID", "4242")
            .env(
                "PATH",
                format!(
                    "{}:{}",
                    self.dir.path().join("bin").display(),
                    std::env::var("PATH").unwrap()
                ),
            )
            .envs(env.iter().copied());
        with_aws_env(&mut command, Some(&emulator.endpoint()), Some(seed));
        command.output().unwrap()
    }

    /// `(author, subject, files)` of the newest commit on origin's main.
    fn origin_head(&self) -> (String, String, String) {
        let origin = self.dir.path().join("origin.git");
        (
            git(&origin, &["log", "-1", "--format=%an", "main"]),
            git(&origin, &["log", "-1", "--format=%s", "main"]),
            git(
                &origin,
                &["diff-tree", "--no-commit-id", "--name-only", "-r", "main"],
            ),
        )
    }

    fn origin_file(&self, path: &str) -> String {
        git(
            &self.dir.path().join("origin.git"),
            &["show", &format!("main:{path}")],
        )
    }
}

fn rand_suffix() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos()
}

/// `key=value` lines of the script's stdout (what it writes to GITHUB_OUTPUT).
fn outputs(output: &Output) -> Vec<(String, String)> {
    stdout(output)
        .lines()
        .filter_map(|line| line.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn output_of(output: &Output, key: &str) -> Option<String> {
    outputs(output)
        .into_iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_push_to_main_is_built_set_committed_and_applied_and_a_version_tag_promotes_those_bytes()
{
    let emulator = Emulator::start();
    let seed = emulator.seed(&["v1.8.0"], &["v1.8.0-main.3"]);
    let aws = Aws::from_config(&emulator.sdk_config());
    // Kaapi runs already: both environments as their state files say.
    let examples = StateDir::examples();
    for environment in ["staging", "production"] {
        let report = plan_and_apply(&aws, &examples.load(environment, &seed)).await;
        assert!(report.succeeded(), "{report:?}");
    }
    let repository = Repository::new(4);
    let pushed = git(&repository.dev(), &["rev-parse", "HEAD"]);
    let before = git(&repository.dev(), &["rev-parse", "v1.8.0"]);

    // The push to main: what it needs and the tags of its build.
    let ci = repository.checkout(&pushed);
    let tags = repository.release(
        &emulator,
        &seed,
        &ci,
        &["build-tags"],
        &[("RELEASE_BEFORE", &before)],
    );
    assert_eq!(tags.status.code(), Some(0), "{}", stderr(&tags));
    assert_eq!(output_of(&tags, "build").as_deref(), Some("true"));
    assert_eq!(output_of(&tags, "apply").as_deref(), Some("true"));
    assert_eq!(
        output_of(&tags, "version").as_deref(),
        Some("v1.8.0-main.4")
    );
    assert_eq!(output_of(&tags, "sha").as_deref(), Some(pushed.as_str()));
    // The build, as docker/build-push-action pushes it: both tags.
    let built = emulator.push("kaapi-staging-repo", &["v1.8.0-main.4", &pushed]);

    let staging_before = repository.origin_file("state/staging.yaml");
    let released = repository.release(
        &emulator,
        &seed,
        &ci,
        &["staging", "v1.8.0-main.4"],
        &[("ENVIRONMENT_URL", "https://staging.kaapi.example")],
    );
    assert_eq!(
        released.status.code(),
        Some(0),
        "{}{}",
        stdout(&released),
        stderr(&released)
    );
    // One commit by the bot, one changed line, marked so that GitHub starts no workflow for it.
    let (author, subject, files) = repository.origin_head();
    assert_eq!(author, BOT);
    assert_eq!(subject, "staging: deploy v1.8.0-main.4 [skip ci]");
    assert_eq!(files, "state/staging.yaml");
    let staging_after = repository.origin_file("state/staging.yaml");
    let changed: Vec<_> = staging_before
        .lines()
        .zip(staging_after.lines())
        .filter(|(a, b)| a != b)
        .collect();
    assert_eq!(changed.len(), 1, "{changed:?}");
    assert!(changed[0].1.contains("tag: v1.8.0-main.4"), "{changed:?}");
    // Staging runs the bytes built, pinned by digest.
    let image = running_image(&aws, "kaapi-staging-cluster", "kaapi-staging-service").await;
    assert!(
        image.ends_with(&format!("kaapi-staging-repo@{built}")),
        "{image}"
    );
    // The GitHub deployment: created for the bot's commit, ended in success with the URL.
    let bot_commit = git(
        &repository.dir.path().join("origin.git"),
        &["rev-parse", "main"],
    );
    let gh = std::fs::read_to_string(&repository.gh_log).unwrap();
    assert!(
        gh.contains("gh api repos/ProjectTech4DevAI/kaapi-backend/deployments --method POST")
            && gh.contains(&format!(
                "\"ref\":\"{bot_commit}\",\"environment\":\"staging\""
            ))
            && gh.contains("gh api repos/ProjectTech4DevAI/kaapi-backend/deployments/17/statuses")
            && gh.contains(
                "\"state\":\"success\",\"environment_url\":\"https://staging.kaapi.example\""
            ),
        "{gh}"
    );

    // The loop guard: the bot's commit, pushed to main, needs no build and no apply.
    let guard = repository.checkout(&bot_commit);
    let tags = repository.release(
        &emulator,
        &seed,
        &guard,
        &["build-tags"],
        &[("RELEASE_BEFORE", &pushed)],
    );
    assert_eq!(tags.status.code(), Some(0), "{}", stderr(&tags));
    assert_eq!(
        outputs(&tags),
        [
            ("build".to_string(), "false".to_string()),
            ("apply".to_string(), "false".to_string())
        ]
    );

    // A person's change to a state file alone is applied without a build.
    git(&repository.dev(), &["pull", "--quiet", "origin", "main"]);
    let file = repository.dev().join("state/staging.yaml");
    let text = std::fs::read_to_string(&file).unwrap();
    std::fs::write(
        &file,
        text.replacen("desired_count: 1", "desired_count: 2", 1),
    )
    .unwrap();
    git(
        &repository.dev(),
        &["commit", "--quiet", "-am", "staging: two API tasks"],
    );
    let dev = repository.dev();
    let tags = repository.release(
        &emulator,
        &seed,
        &dev,
        &["build-tags"],
        &[("RELEASE_BEFORE", &bot_commit)],
    );
    assert_eq!(
        outputs(&tags),
        [
            ("build".to_string(), "false".to_string()),
            ("apply".to_string(), "true".to_string())
        ],
        "{}",
        stderr(&tags)
    );
    git(&repository.dev(), &["reset", "--quiet", "--hard", "HEAD^"]);

    // A version tag on main's newest commit (the bot's): staging runs a build of the commit under
    // it, so production gets exactly those bytes, copied into its repository by digest.
    git(&repository.dev(), &["tag", "v1.9.0"]);
    git(&repository.dev(), &["push", "--quiet", "origin", "v1.9.0"]);
    let ci = repository.checkout("v1.9.0");
    let promoted = repository.release(&emulator, &seed, &ci, &["production", "v1.9.0"], &[]);
    assert_eq!(
        promoted.status.code(),
        Some(0),
        "{}{}",
        stdout(&promoted),
        stderr(&promoted)
    );
    assert_eq!(output_of(&promoted, "build").as_deref(), Some("false"));
    let (author, subject, files) = repository.origin_head();
    assert_eq!(
        (author.as_str(), subject.as_str(), files.as_str()),
        (
            BOT,
            "production: deploy v1.9.0 [skip ci]",
            "state/production.yaml"
        )
    );
    assert!(
        repository
            .origin_file("state/production.yaml")
            .contains(&format!("digest: {built}")),
    );
    let image = running_image(&aws, "kaapi-cluster", "kaapi-service").await;
    assert!(image.ends_with(&format!("kaapi-repo@{built}")), "{image}");

    // A version tag on a commit staging never ran: nothing promoted, a build is asked for; the
    // build pushed as the version is then set and applied.
    git(&repository.dev(), &["pull", "--quiet", "origin", "main"]);
    repository.change_code();
    git(&repository.dev(), &["tag", "v1.10.0"]);
    git(
        &repository.dev(),
        &["push", "--quiet", "origin", "main", "v1.10.0"],
    );
    let production_before = repository.origin_file("state/production.yaml");
    let ci = repository.checkout("v1.10.0");
    let asked = repository.release(&emulator, &seed, &ci, &["production", "v1.10.0"], &[]);
    assert_eq!(asked.status.code(), Some(0), "{}", stderr(&asked));
    assert_eq!(output_of(&asked, "build").as_deref(), Some("true"));
    assert_eq!(
        repository.origin_file("state/production.yaml"),
        production_before
    );
    let rebuilt = emulator.push("kaapi-repo", &["v1.10.0"]);
    let built_here = repository.release(
        &emulator,
        &seed,
        &ci,
        &["production", "v1.10.0", "--built"],
        &[],
    );
    assert_eq!(
        built_here.status.code(),
        Some(0),
        "{}{}",
        stdout(&built_here),
        stderr(&built_here)
    );
    assert!(
        repository
            .origin_file("state/production.yaml")
            .contains("tag: v1.10.0"),
    );
    let image = running_image(&aws, "kaapi-cluster", "kaapi-service").await;
    assert!(image.ends_with(&format!("kaapi-repo@{rebuilt}")), "{image}");
}
