//! `reconcile import`: checks the arguments and the target file before any AWS call, reads the
//! environment, writes its state file and says what is left to do (names, never values).

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};

use super::args::{Cli, EXIT_OK};
use super::output;
use crate::aws::Aws;
use crate::state;
use crate::state::naming::Names;

pub struct Options<'a> {
    pub env: &'a str,
    pub cluster: Option<&'a str>,
    pub prefix: Option<&'a str>,
    pub services: &'a [String],
    pub backing: &'a [(String, String)],
    pub region: Option<&'a str>,
    pub out: Option<&'a Path>,
    pub force: bool,
    pub take_over: bool,
}

/// The prefix a conventional cluster name carries (`kaapi` of `kaapi-cluster` in production,
/// of `kaapi-staging-cluster` in staging).
fn prefix_of(cluster: &str, env: &str) -> Option<String> {
    let stem = cluster.strip_suffix("-cluster")?;
    let prefix = if env == "production" {
        stem
    } else {
        stem.strip_suffix(&format!("-{env}"))?
    };
    (!prefix.is_empty()).then(|| prefix.to_string())
}

pub fn run(cli: &Cli, options: Options, runtime: &tokio::runtime::Runtime) -> anyhow::Result<u8> {
    let env = options.env;
    output::text_only(cli.output, "import writes a state file and reports")?;
    if env.is_empty() || !env.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
        bail!(
            "`{env}` is not an environment name\n  help: use letters, digits and hyphens (it names the state file)"
        );
    }
    let Some(region) = options
        .region
        .map(str::to_string)
        .or_else(|| std::env::var("AWS_DEFAULT_REGION").ok())
    else {
        bail!("no region\n  help: pass --region (or set AWS_REGION)");
    };
    let (prefix, cluster) = match (options.prefix, options.cluster) {
        (Some(prefix), Some(cluster)) => (prefix.to_string(), cluster.to_string()),
        (Some(prefix), None) => (prefix.to_string(), Names::new(prefix, env).cluster()),
        (None, Some(cluster)) => match prefix_of(cluster, env) {
            Some(prefix) => (prefix, cluster.to_string()),
            None => bail!(
                "cluster {cluster} does not follow the naming convention, so the prefix cannot be read from it\n  help: pass --prefix"
            ),
        },
        (None, None) => bail!(
            "no cluster\n  help: pass --prefix (the cluster is then named by the convention) or --cluster"
        ),
    };
    let out: PathBuf = options
        .out
        .map(Path::to_path_buf)
        .unwrap_or_else(|| cli.state.join(format!("{env}.yaml")));
    if out.exists() && !options.force {
        bail!(
            "{} exists: import never overwrites a state file\n  help: pass --force to replace it, or --out FILE to write elsewhere",
            out.display()
        );
    }
    let request = crate::aws::import::Request {
        environment: env.to_string(),
        region: region.clone(),
        prefix,
        cluster,
        services: options.services.to_vec(),
        backing: options.backing.to_vec(),
    };
    let input = runtime.block_on(async {
        let aws = Aws::connect(&region).await;
        crate::aws::import::read(&aws, &request).await
    })?;
    let input = crate::import::ImportInput {
        take_over: options.take_over,
        ..input
    };
    let imported = crate::import::import(&input)?;
    if let Some(parent) = out.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("cannot create {}", parent.display()))?;
    }
    std::fs::write(&out, &imported.text)
        .with_context(|| format!("cannot write {}", out.display()))?;
    let mut stdout = output::stdout();
    let services: Vec<&str> = input
        .services
        .iter()
        .map(|(s, _)| s.name.as_str())
        .collect();
    let backing: Vec<String> = input
        .backing
        .iter()
        .map(|(key, live)| format!("{key} ({})", live.name))
        .collect();
    writeln!(
        stdout,
        "wrote {}: {} service(s) ({}), {} backing service(s){}",
        out.display(),
        services.len(),
        services.join(", "),
        backing.len(),
        if backing.is_empty() {
            String::new()
        } else {
            format!(" ({})", backing.join(", "))
        }
    )?;
    if !imported.todo.is_empty() {
        writeln!(stdout, "to do before the first apply:")?;
        for item in &imported.todo {
            writeln!(stdout, "  - {item}")?;
        }
    }
    let validates = state::load_str(&out, &imported.text, &state::process_env).is_ok();
    writeln!(
        stdout,
        "next: reconcile validate --env {env}{}, then reconcile plan --env {env}",
        if validates {
            ""
        } else {
            " (it fails until the items above are done)"
        }
    )?;
    Ok(EXIT_OK)
}

#[cfg(test)]
mod tests {
    use super::prefix_of;

    #[test]
    fn the_prefix_is_read_from_a_conventional_cluster_name() {
        assert_eq!(
            prefix_of("kaapi-cluster", "production").as_deref(),
            Some("kaapi")
        );
        assert_eq!(
            prefix_of("kaapi-staging-cluster", "staging").as_deref(),
            Some("kaapi")
        );
        assert_eq!(prefix_of("shop", "production"), None);
        assert_eq!(prefix_of("kaapi-cluster", "staging"), None);
    }
}
