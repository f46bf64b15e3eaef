//! The operator's view of the repository, through the git CLI (its credentials are the usual
//! ones: SSH keys, credential helpers, a token in the URL): a bare clone kept in a work folder,
//! fetched each cycle, read at commits without a checkout.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};

/// `${NAME}` in `url` replaced by the environment variable (a token kept out of the command line
/// people see and out of every log: only the unexpanded form is ever printed).
pub fn expand_url(url: &str) -> anyhow::Result<String> {
    let mut out = String::new();
    let mut rest = url;
    while let Some(start) = rest.find("${") {
        let Some(end) = rest[start..].find('}') else {
            break;
        };
        let name = &rest[start + 2..start + end];
        let value = std::env::var(name)
            .with_context(|| format!("the repository URL names ${{{name}}}, which is not set"))?;
        out.push_str(&rest[..start]);
        out.push_str(&value);
        rest = &rest[start + end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

/// A bare clone of the repository.
#[derive(Debug, Clone)]
pub struct Repo {
    dir: PathBuf,
    /// As given (`${NAME}` not expanded), for messages.
    shown: String,
}

impl Repo {
    /// The clone in `workdir` (made on first use) of `url`.
    pub async fn open(url: &str, workdir: &Path) -> anyhow::Result<Repo> {
        let dir = workdir.join("repository.git");
        let repo = Repo {
            dir: dir.clone(),
            shown: url.to_string(),
        };
        if !dir.join("HEAD").exists() {
            std::fs::create_dir_all(workdir)
                .with_context(|| format!("cannot create {}", workdir.display()))?;
            let expanded = expand_url(url)?;
            let output = tokio::process::Command::new("git")
                .args(["clone", "--bare", "--quiet", "--", &expanded])
                .arg(&dir)
                .output()
                .await
                .context("cannot run git")?;
            if !output.status.success() {
                bail!(
                    "git clone of {} failed: {}",
                    repo.shown,
                    redact(&String::from_utf8_lossy(&output.stderr), &expanded, url)
                );
            }
        }
        Ok(repo)
    }

    async fn git(&self, args: &[&str]) -> anyhow::Result<String> {
        let output = tokio::process::Command::new("git")
            .arg("--git-dir")
            .arg(&self.dir)
            .args(args)
            .output()
            .await
            .context("cannot run git")?;
        if !output.status.success() {
            bail!(
                "git {} in the clone of {}: {}",
                args.first().copied().unwrap_or_default(),
                self.shown,
                String::from_utf8_lossy(&output.stderr).trim()
            );
        }
        Ok(String::from_utf8_lossy(&output.stdout).into_owned())
    }

    /// Fetches every branch and tag (moved tags and deleted branches too).
    pub async fn fetch(&self) -> anyhow::Result<()> {
        let expanded = expand_url(&self.shown)?;
        self.git(&[
            "fetch",
            "--quiet",
            "--prune",
            "--force",
            &expanded,
            "+refs/heads/*:refs/heads/*",
            "+refs/tags/*:refs/tags/*",
        ])
        .await
        .map_err(|e| anyhow::anyhow!("{}", redact(&e.to_string(), &expanded, &self.shown)))?;
        Ok(())
    }

    /// The commit a branch points at, or `None` when there is no such branch.
    pub async fn branch(&self, branch: &str) -> anyhow::Result<Option<String>> {
        let out = self
            .git(&[
                "for-each-ref",
                "--format=%(objectname)",
                &format!("refs/heads/{branch}"),
            ])
            .await?;
        Ok(out.lines().next().map(str::to_string))
    }

    /// The tags matching `glob` that point at `commit`.
    pub async fn tags_at(&self, commit: &str, glob: &str) -> anyhow::Result<Vec<String>> {
        let out = self
            .git(&["tag", "--points-at", commit, "--list", glob])
            .await?;
        Ok(out.lines().map(str::to_string).collect())
    }

    /// The state files (`*.yaml`) in `folder` at `commit`, by environment name.
    pub async fn environments(&self, commit: &str, folder: &str) -> anyhow::Result<Vec<String>> {
        let folder = folder.trim_end_matches('/');
        let out = self
            .git(&["ls-tree", "--name-only", commit, &format!("{folder}/")])
            .await?;
        Ok(out
            .lines()
            .filter_map(|path| path.rsplit('/').next()?.strip_suffix(".yaml"))
            .map(str::to_string)
            .collect())
    }

    /// A file's text at `commit`.
    pub async fn show(&self, commit: &str, path: &str) -> anyhow::Result<String> {
        self.git(&["show", &format!("{commit}:{path}")]).await
    }
}

/// `text` with the expanded URL (which may hold a token) shown as it was given.
fn redact(text: &str, expanded: &str, shown: &str) -> String {
    if expanded == shown {
        text.trim().to_string()
    } else {
        text.replace(expanded, shown).trim().to_string()
    }
}
