//! Finding and loading state files for a command: one environment, all of them, or one as it
//! was at a git revision; and the git commit a file comes from.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};

use crate::state::{self, DesiredState};

/// Every environment in `dir`.
pub(super) fn load_all(dir: &Path) -> anyhow::Result<Vec<DesiredState>> {
    state::discover(dir)?
        .iter()
        .map(|path| state::load_file(path, &state::process_env).map_err(Into::into))
        .collect()
}

pub(super) fn load(dir: &Path, environment: Option<&str>) -> anyhow::Result<DesiredState> {
    let path = state_path(dir, environment)?;
    let mut desired = state::load_file(&path, &state::process_env)?;
    desired.commit = commit_of(&path);
    Ok(desired)
}

/// The git commit a state file comes from (`+modified` when it differs from it); `None` outside a
/// git checkout.
fn commit_of(path: &Path) -> Option<String> {
    let folder = path.parent()?;
    let git = |args: &[&str]| {
        std::process::Command::new("git")
            .arg("-C")
            .arg(folder)
            .args(args)
            .output()
            .ok()
    };
    let head = git(&["rev-parse", "--short=12", "HEAD"]).filter(|o| o.status.success())?;
    let commit = String::from_utf8_lossy(&head.stdout).trim().to_string();
    let file = path.file_name()?.to_str()?;
    let clean = git(&["diff", "--quiet", "HEAD", "--", file]).is_some_and(|o| o.status.success());
    Some(if clean {
        commit
    } else {
        format!("{commit}+modified")
    })
}

/// Loads an environment's state file as it was at git revision `rev`.
pub(super) fn load_at(
    dir: &Path,
    environment: Option<&str>,
    rev: &str,
) -> anyhow::Result<DesiredState> {
    let path = state_path(dir, environment)?;
    let file_name = path
        .file_name()
        .and_then(|name| name.to_str())
        .context("a state file name")?;
    let folder = path.parent().unwrap_or(dir);
    let output = std::process::Command::new("git")
        .arg("-C")
        .arg(folder)
        .arg("show")
        .arg(format!("{rev}:./{file_name}"))
        .output()
        .context("cannot run git (is it installed?)")?;
    if !output.status.success() {
        bail!(
            "cannot read {} at revision {rev}: {}",
            path.display(),
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    let source = String::from_utf8(output.stdout)
        .with_context(|| format!("{} at {rev} is not UTF-8", path.display()))?;
    let mut desired = state::load_str(&path, &source, &state::process_env)?;
    desired.file = PathBuf::from(format!("{}@{rev}", path.display()));
    Ok(desired)
}

/// The state file of `environment`, or the only one in `dir`.
fn state_path(dir: &Path, environment: Option<&str>) -> anyhow::Result<PathBuf> {
    Ok(match environment {
        Some(environment) => state::find(dir, environment)?,
        None => {
            let files = state::discover(dir)?;
            match files.as_slice() {
                [only] => only.clone(),
                [] => bail!("no state files (*.yaml) in {}", dir.display()),
                several => {
                    let names: Vec<String> = several
                        .iter()
                        .filter_map(|p| p.file_stem().and_then(|s| s.to_str()))
                        .map(str::to_string)
                        .collect();
                    bail!(
                        "{} holds several environments; name one with --env ({})",
                        dir.display(),
                        names.join(", ")
                    )
                }
            }
        }
    })
}
