//! The command line as clap parses it: flags, commands, output formats and the exit codes.

use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};

/// Exit code: success, nothing to change.
pub const EXIT_OK: u8 = 0;
/// Exit code: an error; nothing more was done after it.
pub const EXIT_ERROR: u8 = 1;
/// Exit code: the plan has changes.
pub const EXIT_CHANGES: u8 = 2;

/// `--version`: the package version and the commit it was built from (`build.rs`).
pub const VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (commit ",
    env!("RECONCILE_BUILD_COMMIT"),
    ")"
);

#[derive(Debug, Parser)]
#[command(
    name = "reconcile",
    version = VERSION,
    about = "Make AWS ECS match the state files in git: validate, render, plan, apply",
    after_help = "Exit codes: 0 success or no changes, 2 changes present (plan), 1 error."
)]
pub struct Cli {
    /// Folder with one state file per environment.
    #[arg(
        long,
        global = true,
        default_value = "state",
        env = "RECONCILE_STATE_DIR"
    )]
    pub state: PathBuf,
    /// Output format.
    #[arg(long, global = true, value_enum, default_value_t = Output::Text)]
    pub output: Output,
    /// Never colour the output (NO_COLOR is honoured too).
    #[arg(long, global = true)]
    pub no_color: bool,
    /// Show every setting of a resource a plan creates from nothing (plan, apply; text).
    #[arg(long, short = 'v', global = true)]
    pub verbose: bool,
    /// Log format on stderr; RUST_LOG sets the level (default: warn).
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Output {
    Text,
    Json,
    /// For pull-request comments and issues (plan, drift).
    Markdown,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check state files without calling AWS (all of them, or one environment). Exit 1 when
    /// any finding; each names the file, line, field and fix.
    #[command(after_help = "Examples:
  reconcile validate                         # every state file
  reconcile validate --env staging --output json")]
    Validate {
        /// One environment (state file name without `.yaml`); default: every state file.
        #[arg(long)]
        env: Option<String>,
    },
    /// Print an environment's resolved state, every default and derived name filled in.
    #[command(after_help = "Examples:
  reconcile render --env production           # YAML
  reconcile render --env production --output json")]
    Render {
        /// The environment (state file name without `.yaml`); may be left out when there is one.
        #[arg(long)]
        env: Option<String>,
    },
    /// Show what apply would change. Exit 0: nothing to do; 2: changes; 1: error.
    #[command(after_help = "Examples:
  reconcile plan --env staging
  reconcile plan --env production --out plan.json   # then: reconcile apply plan.json
  reconcile plan --env production --rev HEAD~1       # preview a rollback
  reconcile plan --all --output markdown             # a pull-request comment
  reconcile plan --env production --service api      # one service and what it needs")]
    Plan {
        /// The environment (state file name without `.yaml`); may be left out when there is one.
        #[arg(long)]
        env: Option<String>,
        /// Plan the state file as it was at this git revision (for example `HEAD~1`), to preview
        /// a rollback before committing the revert.
        #[arg(long, value_name = "GIT_REVISION")]
        rev: Option<String>,
        /// Also save the plan to FILE, for `reconcile apply FILE`: apply then does exactly this
        /// plan, and refuses it if the state file or anything it observed has changed since.
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
        /// Plan every environment in the state folder, four at a time, one after the other in
        /// the output. Exit 2 when any has changes.
        #[arg(long, conflicts_with_all = ["env", "rev", "out"])]
        all: bool,
        /// Plan one service (its key under `services:` or its ECS name) and what it needs: its
        /// migrations, the backing services its variables name, cluster, image, log groups. The
        /// plan names what it leaves out.
        #[arg(long, value_name = "SERVICE", conflicts_with_all = ["all", "out"])]
        service: Option<String>,
    },
    /// Make AWS match the state file: shows the plan, asks, then does exactly that.
    #[command(after_help = "Examples:
  reconcile apply --env staging               # asks before it writes
  reconcile apply --env staging --yes         # CI: no terminal to ask on
  reconcile apply plan.json --yes             # exactly a saved plan, refused if stale
  reconcile apply --env production --service api   # one service and what it needs

Exit 0: applied (or nothing to do); 1: error; 130 / 143: stopped by SIGINT / SIGTERM.")]
    Apply {
        /// A plan saved by `reconcile plan --out FILE`; without it, apply plans afresh.
        #[arg(value_name = "PLAN_FILE")]
        plan_file: Option<PathBuf>,
        /// The environment (state file name without `.yaml`); may be left out when there is one.
        #[arg(long)]
        env: Option<String>,
        /// Do not ask for confirmation (required when stdin is not a terminal).
        #[arg(long)]
        yes: bool,
        /// Return once the services are updated instead of following their deployments.
        #[arg(long)]
        no_wait: bool,
        /// How long to follow each service's deployment before giving up with an error (ECS
        /// goes on deploying), for example `20m`.
        #[arg(long, default_value = "30m", value_parser = humantime::parse_duration)]
        timeout: std::time::Duration,
        /// Allow replacing this backing service (its key under `backing:`), which deletes it
        /// (RDS and ElastiCache after a final snapshot) and creates it again. Repeatable.
        #[arg(long = "allow-replace", value_name = "KEY")]
        allow_replace: Vec<String>,
        /// How long the environment's apply lock lasts without renewal; a dead apply's lock
        /// expires after it.
        #[arg(long, default_value = "60s", value_parser = humantime::parse_duration)]
        lock_lease: std::time::Duration,
        /// Apply one service and what it needs (as `plan --service`), for an emergency; the
        /// environment's lock is taken as for any apply.
        #[arg(long, value_name = "SERVICE", conflicts_with = "plan_file")]
        service: Option<String>,
    },
    /// Report what differs between the state files and live AWS, telling drift (changed behind
    /// git's back) from pending work (state not applied yet). Read-only; takes no lock.
    /// Exit 0: clean; 2: differences; 1: error.
    #[command(after_help = "Examples:
  reconcile drift --env production
  reconcile drift --all --output json
  reconcile drift --all --every 15m           # a long-running checker")]
    Drift {
        /// One environment (default: the only one, or all with --all).
        #[arg(long, conflicts_with = "all")]
        env: Option<String>,
        /// Every environment in the state folder, checked concurrently.
        #[arg(long)]
        all: bool,
        /// Run forever, once per interval (jittered), for example `15m`: one summary line per
        /// run (and the report with `--output json`); errors are logged and retried, never fatal;
        /// SIGTERM or SIGINT stops it cleanly (exit 0).
        #[arg(long, value_parser = humantime::parse_duration)]
        every: Option<std::time::Duration>,
    },
    /// What each service of an environment runs now: the revision, its image tag and digest,
    /// the commit it was applied from, its tasks, and where its latest rollout stands and since
    /// when. Read-only.
    #[command(after_help = "Examples:
  reconcile status --env production
  reconcile status --env production --output json")]
    Status {
        /// The environment (state file name without `.yaml`); may be left out when there is one.
        #[arg(long)]
        env: Option<String>,
    },
    /// What each service ran, newest first: the revision, its image tags and digest, the commit
    /// it was registered from, when, and how its rollout ended (from ECS's deployment records,
    /// kept by AWS; the revision reconcile registered carries the commit). Read before a rollback.
    #[command(
        after_help = "Example: reconcile history --env production --service api

A rollback: git revert the commit that moved the image, then plan and apply (the earlier revision is reused)."
    )]
    History {
        /// The environment (state file name without `.yaml`); may be left out when there is one.
        #[arg(long)]
        env: Option<String>,
        /// A service, by its key under `services:` or its ECS name (repeatable; default: all).
        #[arg(long = "service", value_name = "SERVICE")]
        services: Vec<String>,
        /// How many deployments per service, newest first.
        #[arg(long, default_value_t = 20)]
        limit: usize,
    },
    /// Print what the services' containers write: the awslogs group and stream prefix of the
    /// task definition each service runs, lines of every container in time order.
    #[command(after_help = "Examples:
  reconcile logs --env production --service api --since 1h
  reconcile logs --env staging --follow          # until Ctrl-C
  reconcile logs --env production --output json  # one document of the lines")]
    Logs {
        /// The environment (state file name without `.yaml`); may be left out when there is one.
        #[arg(long)]
        env: Option<String>,
        /// A service, by its key under `services:` or its ECS name (repeatable; default: all).
        #[arg(long = "service", value_name = "SERVICE")]
        services: Vec<String>,
        /// How far back to start, such as `10m`, `2h` or `1d`.
        #[arg(long, default_value = "10m", value_parser = humantime::parse_duration)]
        since: std::time::Duration,
        /// Keep printing new lines as they come (every two seconds) until SIGINT or SIGTERM.
        #[arg(long, short = 'f')]
        follow: bool,
    },
    /// Keep every environment of a git repository at its git state, continuously: each interval,
    /// fetch, plan each environment of the state folder and, by its `sync:` policy, apply (under
    /// its lock, like CI). Serves /healthz, /metrics (Prometheus) and /status (JSON). Runs until
    /// SIGTERM or SIGINT (the apply in flight ends after its AWS call; exit 0).
    #[command(
        after_help = "Example: reconcile operate --repo https://x-access-token:${GITHUB_TOKEN}@github.com/org/app.git --every 1m --listen 0.0.0.0:9090

Policy per environment, in its state file: sync: { auto, self_heal, branch, tags, windows }."
    )]
    Operate {
        /// The repository: a URL git can fetch (`${NAME}` is replaced by that environment
        /// variable, for a token, and never printed) or a local path.
        #[arg(long)]
        repo: String,
        /// The branch whose newest commit is every environment's state (an environment's
        /// `sync.branch` overrides it).
        #[arg(long, default_value = "main")]
        branch: String,
        /// How often each environment is planned, for example `1m`.
        #[arg(long, default_value = "1m", value_parser = humantime::parse_duration)]
        every: std::time::Duration,
        /// Serve /healthz, /metrics and /status on this address, for example `127.0.0.1:9090`.
        #[arg(long, value_name = "ADDRESS")]
        listen: Option<std::net::SocketAddr>,
        /// The state folder inside the repository.
        #[arg(long = "state-path", default_value = "state")]
        state_path: String,
        /// Where the operator keeps its clone. Default: a folder under the system's temporary
        /// folder named after the repository.
        #[arg(long, value_name = "DIR")]
        workdir: Option<PathBuf>,
        /// How many environments are reconciled at once.
        #[arg(long, default_value_t = 4)]
        concurrency: usize,
        /// How long an apply's lock lasts without renewal.
        #[arg(long, default_value = "60s", value_parser = humantime::parse_duration)]
        lock_lease: std::time::Duration,
        /// How long an apply follows each deployment.
        #[arg(long, default_value = "30m", value_parser = humantime::parse_duration)]
        timeout: std::time::Duration,
        /// Post notifications (apply, failure, drift) to this webhook as Slack-compatible JSON.
        #[arg(long, value_name = "URL", env = "RECONCILE_WEBHOOK_URL")]
        webhook: Option<String>,
        /// Set a commit status `reconcile/ENV` on each applied commit of this GitHub repository
        /// (`OWNER/NAME`), with the token in GITHUB_TOKEN.
        #[arg(long, value_name = "OWNER/NAME")]
        github_repository: Option<String>,
        /// The GitHub API (GitHub Enterprise: https://HOST/api/v3).
        #[arg(long, default_value = "https://api.github.com", value_name = "URL")]
        github_api: String,
    },
    /// Remove an environment's apply lock, whoever holds it (after an apply died and you do not
    /// want to wait for its lease to run out).
    #[command(after_help = "Example: reconcile force-unlock --env production

Only when no apply of that environment runs: its writes are no longer fenced once the lock is gone.")]
    ForceUnlock {
        /// The environment (state file name without `.yaml`); may be left out when there is one.
        #[arg(long)]
        env: Option<String>,
    },
    /// Print the JSON Schema of the state file format (JSON; for editors and CI).
    #[command(after_help = "Example: reconcile schema > state.schema.json

In a state file, for editors with the YAML language server:
  # yaml-language-server: $schema=./state.schema.json")]
    Schema,
    /// Print a shell completion script.
    #[command(after_help = "Examples:
  reconcile completions bash > ~/.local/share/bash-completion/completions/reconcile
  reconcile completions zsh > \"${fpath[1]}/_reconcile\"
  reconcile completions fish > ~/.config/fish/completions/reconcile.fish
  reconcile completions powershell >> $PROFILE")]
    Completions {
        /// The shell.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Change the image an environment deploys, in its state file.
    Image {
        #[command(subcommand)]
        command: ImageCommand,
    },
    /// Set an environment's image to the exact digest another environment's services run (read
    /// from live AWS, not from its state file), copying the image into the target's ECR
    /// repository when it is not there. Edits the target's state file only; commit, then apply.
    #[command(
        after_help = "Example: reconcile promote --from staging --to production

The target's image line becomes `digest: sha256:...  # TAG from staging (reconcile promote)`."
    )]
    Promote {
        /// The environment whose running image is promoted.
        #[arg(long, value_name = "ENV")]
        from: String,
        /// The environment whose state file is changed.
        #[arg(long, value_name = "ENV")]
        to: String,
        /// Promote only if the source's image carries this tag (repeatable: any of them), for
        /// example the commit it was built from; otherwise exit 3, changing nothing.
        #[arg(long = "require-tag", value_name = "TAG")]
        require_tags: Vec<String>,
    },
    /// Write the state file of an environment that already runs, from what AWS holds: its
    /// services and the task definitions they run, network, roles, deployment settings, load
    /// balancers and backing services. Reads AWS only; never overwrites a file without --force.
    #[command(
        after_help = "Example: reconcile import --env production --prefix kaapi --region ap-south-1\n\nThen: reconcile validate --env production; reconcile plan --env production."
    )]
    Import {
        /// The environment to write (`production` writes state/production.yaml).
        #[arg(long)]
        env: String,
        /// The ECS cluster. Default: the convention's name for --prefix (`{prefix}-cluster` in
        /// production, `{prefix}-{env}-cluster` elsewhere).
        #[arg(long)]
        cluster: Option<String>,
        /// The resource name prefix every default name derives from. Default: read from the
        /// cluster name.
        #[arg(long)]
        prefix: Option<String>,
        /// A service to import (repeatable). Default: every ACTIVE service of the cluster.
        #[arg(long = "service", value_name = "NAME")]
        services: Vec<String>,
        /// A backing service to import under KEY: an RDS instance, ElastiCache replication group
        /// or MQ broker id (repeatable). Those named `{base}-postgres`, `{base}-redis` and
        /// `{base}-rabbitmq` are found without it.
        #[arg(long = "backing", value_name = "KEY=ID", value_parser = key_value)]
        backing: Vec<(String, String)>,
        /// The AWS region. Default: AWS_REGION.
        #[arg(long, env = "AWS_REGION")]
        region: Option<String>,
        /// Where to write. Default: STATE_DIR/ENV.yaml.
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
        /// Overwrite the file if it exists.
        #[arg(long)]
        force: bool,
        /// Take over resources another environment's `reconcile:environment` tag claims: the
        /// file says `take_over_from: THAT_ENVIRONMENT`, and the plan relabels them. Without it,
        /// import refuses them.
        #[arg(long = "take-over")]
        take_over: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum ImageCommand {
    /// Set the image tag or digest in an environment's state file, in place: only that value
    /// changes (comments, key order and formatting stay byte for byte). Refuses, leaving the file
    /// untouched, when ECR does not hold the image.
    #[command(
        after_help = "Example: reconcile image set --env staging --tag v1.9.0-main.4\n\nCommit the change, then plan and apply it."
    )]
    Set {
        /// The environment (state file name without `.yaml`); may be left out when there is one.
        #[arg(long)]
        env: Option<String>,
        /// The image tag, for example `v1.9.0`.
        #[arg(long, conflicts_with = "digest", required_unless_present = "digest")]
        tag: Option<String>,
        /// The image digest, `sha256:` followed by 64 hex digits.
        #[arg(long)]
        digest: Option<String>,
    },
}

fn key_value(text: &str) -> Result<(String, String), String> {
    match text.split_once('=') {
        Some((key, value)) if !key.is_empty() && !value.is_empty() => {
            Ok((key.to_string(), value.to_string()))
        }
        _ => Err(format!("`{text}` is not KEY=ID")),
    }
}
