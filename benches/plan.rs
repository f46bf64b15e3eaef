//! Benchmark: `plan` over N environments in the emulator, optionally behind a proxy that adds a
//! fixed latency to every call. Prints API calls, wall time and peak memory.
//!
//! cargo bench --bench plan -- [--environments N] [--latency-ms MS] [--concurrency K]
//! cargo bench --bench plan -- --fleet [--latency-ms MS]   # one operator cycle: 1, 10, 50 envs
//! cargo bench --bench plan -- --cycles 1000      # the operator's memory over no-op cycles
//! cargo bench --bench plan -- --validate-mb 10   # validate a file of plaintext credentials

#[path = "../tests/it/support.rs"]
#[allow(dead_code)]
mod support;

use std::time::{Duration, Instant};

use futures::StreamExt;
use reconcile::aws::Aws;
use reconcile::engine::plan_environment;
use reconcile::state::DesiredState;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

struct Options {
    environments: usize,
    latency: Duration,
    concurrency: usize,
    /// Instead of planning: validate a state file this many MB large, full of mistakes.
    validate_mb: Option<u64>,
    /// The plans of one operator cycle over 1, 10 and 50 environments, shared reads or not.
    fleet: bool,
    /// Run `reconcile operate` over one environment for this many no-op cycles, sampling memory.
    cycles: Option<u64>,
}

fn options() -> Options {
    let mut options = Options {
        environments: 20,
        latency: Duration::ZERO,
        concurrency: 8,
        validate_mb: None,
        fleet: false,
        cycles: None,
    };
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut index = 0;
    while index < args.len() {
        let value = || args.get(index + 1).and_then(|v| v.parse::<u64>().ok());
        match args[index].as_str() {
            "--environments" => options.environments = value().expect("--environments N") as usize,
            "--latency-ms" => {
                options.latency = Duration::from_millis(value().expect("--latency-ms MS"))
            }
            "--concurrency" => {
                options.concurrency = value().expect("--concurrency K").max(1) as usize
            }
            "--validate-mb" => options.validate_mb = Some(value().expect("--validate-mb MB")),
            "--fleet" => {
                options.fleet = true;
                options.environments = 50;
            }
            "--cycles" => options.cycles = Some(value().expect("--cycles N")),
            _ => {} // cargo bench passes `--bench`
        }
        index += 1;
    }
    options
}

/// Forwards TCP to `upstream`, holding every chunk sent towards AWS for `latency` first:
/// one request is one chunk, so each call pays the latency once, as over a real network.
async fn latency_proxy(upstream: String, latency: Duration) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        while let Ok((client, _)) = listener.accept().await {
            let upstream = upstream.clone();
            tokio::spawn(async move {
                let Ok(server) = TcpStream::connect(upstream.trim_start_matches("http://")).await
                else {
                    return;
                };
                let (mut client_read, mut client_write) = client.into_split();
                let (mut server_read, mut server_write) = server.into_split();
                let outbound = async {
                    let mut buffer = vec![0u8; 64 * 1024];
                    while let Ok(n) = client_read.read(&mut buffer).await {
                        if n == 0 {
                            break;
                        }
                        tokio::time::sleep(latency).await;
                        if server_write.write_all(&buffer[..n]).await.is_err() {
                            break;
                        }
                    }
                };
                let inbound = tokio::io::copy(&mut server_read, &mut client_write);
                let _ = tokio::join!(outbound, inbound);
            });
        }
    });
    address
}

/// A `/proc/PID/status` figure in KiB (`VmHWM`: peak resident memory, `VmRSS`: resident now).
fn status_kib(pid: &str, field: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find(|line| line.starts_with(field))
                .and_then(|line| line.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

fn peak_rss_kib() -> u64 {
    status_kib("self", "VmHWM:")
}

fn reset_peak_rss() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

fn environment_state(dir: &std::path::Path, index: usize, seed: &support::Seed) -> DesiredState {
    let name = format!("bench-{index:03}");
    let text = std::fs::read_to_string(support::root().join("state/production.yaml"))
        .unwrap()
        .replace("environment: production", &format!("environment: {name}"))
        .replace("tag: v1.8.0 ", "repository: kaapi-repo\n  tag: v1.8.0 ")
        .replace("kaapi-celery-task", &format!("kaapi-{name}-celery-task"));
    let path = dir.join(format!("{name}.yaml"));
    std::fs::write(&path, text).unwrap();
    reconcile::state::load_file(&path, &seed.lookup()).unwrap()
}

async fn plan_all(aws: &Aws, states: &[DesiredState], concurrency: usize) -> Duration {
    let started = Instant::now();
    let results: Vec<_> =
        futures::stream::iter(states.iter().map(|state| plan_environment(aws, state)))
            .buffer_unordered(concurrency)
            .collect()
            .await;
    let elapsed = started.elapsed();
    for result in results {
        let (plan, _) = result.expect("plan succeeds");
        assert!(
            !plan.has_changes(),
            "environment {} converged",
            plan.environment
        );
    }
    elapsed
}

/// Validates a state file of about `megabytes` MB whose every line under `env:` is a plaintext
/// credential (each one a finding), and prints the time, the peak memory and the report's size.
fn validate_large(megabytes: u64) {
    let dir = tempfile::tempdir().unwrap();
    let base = std::fs::read_to_string(support::root().join("state/staging.yaml")).unwrap();
    let line = |i: usize| {
        format!(
            "  SERVICE{i}_TOKEN: plaintext-credential-{i:08}-{}\n",
            "x".repeat(48)
        )
    };
    let per_line = line(0).len();
    let count = (megabytes as usize * 1_000_000) / per_line;
    let entries: String = (0..count).map(line).collect();
    let path = dir.path().join("staging.yaml");
    std::fs::write(
        &path,
        base.replacen("env:\n", &format!("env:\n{entries}"), 1),
    )
    .unwrap();
    let size = std::fs::metadata(&path).unwrap().len();
    let lookup = |name: &str| match name {
        "KAAPI_AWS_ACCOUNT_ID" => Some("123456789012".to_string()),
        _ => Some("subnet-a".to_string()),
    };
    reset_peak_rss();
    let started = Instant::now();
    let report = reconcile::state::load_file(&path, &lookup)
        .unwrap_err()
        .to_string();
    let elapsed = started.elapsed();
    println!(
        "validate: {:.1} MB, {count} findings, {:.2} s, peak RSS {:.1} MiB, report {} lines",
        size as f64 / 1e6,
        elapsed.as_secs_f64(),
        peak_rss_kib() as f64 / 1024.0,
        report.lines().count()
    );
}

#[tokio::main]
async fn main() {
    let options = options();
    if let Some(megabytes) = options.validate_mb {
        validate_large(megabytes);
        return;
    }
    if let Some(cycles) = options.cycles {
        operator_memory(cycles).await;
        return;
    }
    let emulator = support::Emulator::start();
    let seed = emulator.seed(&["v1.8.0"], &["v1.8.0-main.3"]);
    let dir = tempfile::tempdir().unwrap();
    let states: Vec<DesiredState> = (0..options.environments)
        .map(|index| environment_state(dir.path(), index, &seed))
        .collect();

    let direct = Aws::from_config(&emulator.sdk_config());
    let started = Instant::now();
    for state in &states {
        let (plan, _) = plan_environment(&direct, state).await.unwrap();
        let report = reconcile::aws::apply::apply(
            &direct,
            &plan,
            reconcile::aws::apply::Options {
                allow_replace: &[],
                on_step: &mut |_| {},
                progress: &mut |_, _| {},
                wait: Some(std::time::Duration::from_secs(120)),
            },
        )
        .await;
        assert!(report.succeeded(), "{report:?}");
    }
    println!(
        "setup: {} environments applied (2 services each) in {:.1} s, {} calls",
        states.len(),
        started.elapsed().as_secs_f64(),
        direct.calls.count()
    );

    let endpoint = if options.latency.is_zero() {
        emulator.endpoint()
    } else {
        latency_proxy(emulator.endpoint(), options.latency).await
    };
    let mut config = emulator.sdk_config().into_builder();
    config.set_endpoint_url(Some(endpoint));
    let aws = Aws::from_config(&config.build());

    println!(
        "latency added per call: {} ms; plans checked to have no changes",
        options.latency.as_millis()
    );
    if options.fleet {
        fleet(&aws, &states, options.concurrency).await;
        return;
    }
    println!(
        "{:<28} {:>10} {:>14} {:>12} {:>14}",
        "run", "API calls", "calls per env", "wall (s)", "peak RSS (MiB)"
    );
    for (label, concurrency) in [
        ("sequential".to_string(), 1),
        (
            format!("{} at a time", options.concurrency),
            options.concurrency,
        ),
    ] {
        aws.calls.reset();
        reset_peak_rss();
        let wall = plan_all(&aws, &states, concurrency).await;
        let calls = aws.calls.count();
        println!(
            "{:<28} {:>10} {:>14.1} {:>12.3} {:>14.1}",
            label,
            calls,
            calls as f64 / states.len() as f64,
            wall.as_secs_f64(),
            peak_rss_kib() as f64 / 1024.0
        );
    }
}

/// One operator cycle's plans over the first 1, 10 and 50 environments, `concurrency` at a
/// time: each plan reading everything itself, and the environments sharing the region-wide
/// reads as `reconcile operate` does.
async fn fleet(aws: &Aws, states: &[DesiredState], concurrency: usize) {
    println!(
        "{:<14} {:<24} {:>10} {:>14} {:>10}",
        "environments", "reads", "API calls", "calls per env", "wall (s)"
    );
    for count in [1, 10, 50].into_iter().filter(|n| *n <= states.len()) {
        for shared in [false, true] {
            let mut cycle = aws.clone();
            cycle.calls.reset();
            cycle.shared = shared.then(std::sync::Arc::default);
            let wall = plan_all(&cycle, &states[..count], concurrency).await;
            let calls = cycle.calls.count();
            println!(
                "{:<14} {:<24} {:>10} {:>14.1} {:>10.3}",
                count,
                if shared {
                    "shared region-wide"
                } else {
                    "each its own"
                },
                calls,
                calls as f64 / count as f64,
                wall.as_secs_f64()
            );
        }
    }
}

/// `reconcile operate` over a repository of one applied environment (staging), every 100 ms,
/// for `cycles` no-op cycles: its resident memory at 10 %, 50 % and 100 % of them.
async fn operator_memory(cycles: u64) {
    let emulator = support::Emulator::start();
    let seed = emulator.seed(&["v1.8.0"], &["v1.8.0-main.3"]);
    let dir = tempfile::tempdir().unwrap();
    let dev = support::bare_repository(dir.path(), |_, text| text);
    std::fs::remove_file(dev.join("state/production.yaml")).unwrap();
    support::git(&dev, &["add", "."]);
    support::git(&dev, &["commit", "--quiet", "-m", "staging"]);
    support::git(&dev, &["push", "--quiet", "origin", "main"]);
    let direct = Aws::from_config(&emulator.sdk_config());
    let desired =
        reconcile::state::load_file(&dev.join("state/staging.yaml"), &seed.lookup()).unwrap();
    assert!(support::plan_and_apply(&direct, &desired).await.succeeded());
    let port = support::free_port();
    let listen = format!("127.0.0.1:{port}");
    let origin = dir.path().join("origin.git");
    let workdir = dir.path().join("operator");
    let mut child = support::reconcile_command(
        Some(&emulator.endpoint()),
        Some(&seed),
        &[
            "operate",
            "--repo",
            origin.to_str().unwrap(),
            "--every",
            "100ms",
            "--listen",
            &listen,
            "--workdir",
            workdir.to_str().unwrap(),
        ],
    )
    .stderr(std::process::Stdio::null())
    .spawn()
    .unwrap();
    let metric = |name: &'static str| {
        let url = format!("http://{listen}/metrics");
        async move {
            let text = reqwest::get(url).await.ok()?.text().await.ok()?;
            text.lines()
                .find(|l| l.starts_with(name) && l[name.len()..].starts_with(' '))?
                .rsplit(' ')
                .next()?
                .parse::<f64>()
                .ok()
        }
    };
    let started = Instant::now();
    println!(
        "{:>8} {:>12} {:>10} {:>12}",
        "cycles", "RSS (MiB)", "wall (s)", "in sync"
    );
    for mark in [cycles / 10, cycles / 2, cycles] {
        loop {
            let done = metric("reconcile_cycles_total").await.unwrap_or(0.0) as u64;
            if done >= mark {
                break;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        let in_sync = metric("reconcile_syncs_total{environment=\"staging\",result=\"in_sync\"}")
            .await
            .unwrap_or(0.0);
        println!(
            "{:>8} {:>12.1} {:>10.1} {:>12}",
            mark,
            status_kib(&child.id().to_string(), "VmRSS:") as f64 / 1024.0,
            started.elapsed().as_secs_f64(),
            in_sync
        );
    }
    let _ = child.kill();
    let _ = child.wait();
}
