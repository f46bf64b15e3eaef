//! `reconcile image set`: one value of a state file changed in place, after ECR confirmed the
//! image exists; the file is untouched on any refusal.

use std::io::Write;

use anyhow::{Context, bail};

use super::args::EXIT_OK;
use super::output;
use crate::aws::Aws;
use crate::state::edit::{ImageValue, set_image};
use crate::state::{self, DesiredState};

pub fn set(
    desired: &DesiredState,
    value: &ImageValue,
    runtime: &tokio::runtime::Runtime,
) -> anyhow::Result<u8> {
    let file = &desired.file;
    let before = desired.image.display();
    let current = if desired.image.tag.is_some() {
        "tag"
    } else {
        "digest"
    };
    let unchanged = match value {
        ImageValue::Tag(tag) => desired.image.tag.as_ref() == Some(tag),
        ImageValue::Digest(digest) => {
            desired.image.tag.is_none() && desired.image.digest.as_ref() == Some(digest)
        }
    };
    let mut stdout = output::stdout();
    if unchanged {
        writeln!(
            stdout,
            "{}: image is {before} already; {} unchanged",
            desired.environment,
            file.display()
        )?;
        return Ok(EXIT_OK);
    }
    let source =
        std::fs::read_to_string(file).with_context(|| format!("cannot read {}", file.display()))?;
    let edited = set_image(&source, current, value)
        .with_context(|| format!("cannot change the image in {}", file.display()))?;
    // The edited file must pass every check the original did (a malformed tag, `latest`, ...).
    let mut after = state::load_str(file, &edited, &state::process_env)?;
    after.commit = desired.commit.clone();
    let found = runtime.block_on(async {
        let aws = Aws::connect(&after.region).await;
        crate::aws::ecr::image(&aws, &after).await
    })?;
    let Some(image) = found else {
        bail!(
            "image {} not found in ECR (region {}): push it first; {} is unchanged",
            after.image.display(),
            after.region,
            file.display()
        );
    };
    let temporary = file.with_extension("yaml.reconcile-tmp");
    std::fs::write(&temporary, &edited)
        .with_context(|| format!("cannot write {}", temporary.display()))?;
    std::fs::rename(&temporary, file)
        .with_context(|| format!("cannot replace {}", file.display()))?;
    writeln!(
        stdout,
        "{}: image {before} -> {} ({}) in {}",
        desired.environment,
        after.image.display(),
        image.digest,
        file.display()
    )?;
    Ok(EXIT_OK)
}
