//! `reconcile image set` and `reconcile promote`: one value of a state file changed in place,
//! after ECR confirmed the image exists (promote: after it was copied into the target's
//! repository); the file is untouched on any refusal.

use std::io::Write;

use anyhow::{Context, bail};

use super::args::EXIT_OK;
use super::output;
use crate::aws::Aws;
use crate::state::edit::{ImageValue, set_image_with_note};
use crate::state::{self, DesiredState};

pub fn set(
    desired: &DesiredState,
    value: &ImageValue,
    runtime: &tokio::runtime::Runtime,
) -> anyhow::Result<u8> {
    let file = &desired.file;
    let image = desired.environment_image("set")?;
    let before = image.display();
    let unchanged = match value {
        ImageValue::Tag(tag) => image.tag.as_ref() == Some(tag),
        ImageValue::Digest(digest) => image.tag.is_none() && image.digest.as_ref() == Some(digest),
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
    let after = edited(desired, value, None)?;
    let found = runtime.block_on(async {
        let aws = Aws::connect(&after.1.region).await;
        crate::aws::ecr::image(&aws, &after.1).await
    })?;
    let Some(found) = found else {
        bail!(
            "image {} not found in ECR (region {}): push it first; {} is unchanged",
            after.1.environment_image("set")?.display(),
            after.1.region,
            file.display()
        );
    };
    replace(file, &after.0)?;
    writeln!(
        stdout,
        "{}: image {before} -> {} ({}) in {}",
        desired.environment,
        after.1.environment_image("set")?.display(),
        found.digest,
        file.display()
    )?;
    Ok(EXIT_OK)
}

/// The state file's text with the image set to `value` (and `note` as that line's comment),
/// checked like any state file, and the state it loads as.
fn edited(
    desired: &DesiredState,
    value: &ImageValue,
    note: Option<&str>,
) -> anyhow::Result<(String, DesiredState)> {
    let file = &desired.file;
    let current = if desired.environment_image("set")?.tag.is_some() {
        "tag"
    } else {
        "digest"
    };
    let source =
        std::fs::read_to_string(file).with_context(|| format!("cannot read {}", file.display()))?;
    let edited = set_image_with_note(&source, current, value, note)
        .with_context(|| format!("cannot change the image in {}", file.display()))?;
    // The edited file must pass every check the original did (a malformed tag, `latest`, ...).
    let mut after = state::load_str(file, &edited, &state::process_env)?;
    after.commit = desired.commit.clone();
    Ok((edited, after))
}

/// Replaces `file` with `text` at once (a temporary file renamed over it).
fn replace(file: &std::path::Path, text: &str) -> anyhow::Result<()> {
    let temporary = file.with_extension("yaml.reconcile-tmp");
    std::fs::write(&temporary, text)
        .with_context(|| format!("cannot write {}", temporary.display()))?;
    std::fs::rename(&temporary, file).with_context(|| format!("cannot replace {}", file.display()))
}

/// Exit code of `promote --require-tag` when the source runs no build with any of those tags:
/// nothing was copied or changed (the release script then builds).
pub const EXIT_NOT_THAT_BUILD: u8 = 3;

/// `reconcile promote`: `target`'s image set to the digest `source`'s services run, copied into
/// the target's repository first when it is not there. With `require`, only when that image
/// carries one of those tags.
pub fn promote(
    source: &DesiredState,
    target: &DesiredState,
    require: &[String],
    runtime: &tokio::runtime::Runtime,
) -> anyhow::Result<u8> {
    source.environment_image("promote")?;
    let target_image = target.environment_image("promote into")?;
    let promotion = runtime.block_on(async {
        let source_aws = Aws::connect(&source.region).await;
        let target_aws = if target.region == source.region {
            None
        } else {
            Some(Aws::connect(&target.region).await)
        };
        let target_aws = target_aws.as_ref().unwrap_or(&source_aws);
        let image = crate::aws::promote::running(&source_aws, source).await?;
        if !require.is_empty() && !image.tags.iter().any(|tag| require.contains(tag)) {
            return Ok::<_, crate::aws::AwsError>((image, Err(())));
        }
        let copied =
            crate::aws::promote::copy_to_target(&source_aws, source, target_aws, target, &image)
                .await?;
        Ok((image, Ok(copied)))
    })?;
    let (image, copied) = promotion;
    let tags = if image.tags.is_empty() {
        "untagged".to_string()
    } else {
        image.tags.join(", ")
    };
    let digest = &image.digest;
    let Ok(copied) = copied else {
        writeln!(
            output::stdout(),
            "{} runs {digest} ({tags}), none of {}: nothing promoted, {} unchanged",
            source.environment,
            require.join(", "),
            target.file.display()
        )?;
        return Ok(EXIT_NOT_THAT_BUILD);
    };
    let mut stdout = output::stdout();
    match &copied {
        Some(copied) => writeln!(
            stdout,
            "copied {digest} ({tags}) from {} into {}: {} manifest(s), {} blob(s) uploaded ({} bytes), {} already there",
            source.environment_image("promote")?.repository,
            target_image.repository,
            copied.manifests,
            copied.blobs,
            copied.bytes,
            copied.present
        )?,
        None => writeln!(
            stdout,
            "{} holds {digest} ({tags}) already",
            target_image.repository
        )?,
    }
    let before = target_image.display();
    if target_image.tag.is_none() && target_image.digest.as_ref() == Some(digest) {
        writeln!(
            stdout,
            "{}: image is {before} already, what {} runs; {} unchanged",
            target.environment,
            source.environment,
            target.file.display()
        )?;
        return Ok(EXIT_OK);
    }
    let note = format!(
        "{tags} from {} {}",
        source.environment,
        crate::state::edit::PROMOTE_MARK
    );
    let (text, after) = edited(target, &ImageValue::Digest(digest.clone()), Some(&note))?;
    replace(&target.file, &text)?;
    writeln!(
        stdout,
        "{}: image {before} -> {} (what {} runs) in {}",
        target.environment,
        after.environment_image("promote into")?.display(),
        source.environment,
        target.file.display()
    )?;
    Ok(EXIT_OK)
}
