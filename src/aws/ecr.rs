//! ECR: the image an environment deploys, by tag or digest, and an image copied from one
//! repository to another by registry calls (no Docker daemon), for `reconcile promote`.

use aws_sdk_ecr::primitives::Blob;
use aws_sdk_ecr::types::{ImageIdentifier, LayerAvailability};

use super::{Aws, AwsError};
use crate::model::LiveImage;
use crate::promote::manifest_refs;
use crate::state::DesiredState;

/// The state's image as ECR describes it, or `None` when the repository holds no such tag or
/// digest, or the state names no environment image.
pub async fn image(aws: &Aws, state: &DesiredState) -> Result<Option<LiveImage>, AwsError> {
    let Some(image) = &state.image else {
        return Ok(None);
    };
    image_by(aws, state, image.tag.clone(), image.digest.clone()).await
}

/// The environment's ECR repository; refused when the state names none.
pub fn repository<'a>(state: &'a DesiredState, what: &'static str) -> Result<&'a str, AwsError> {
    state
        .environment_image(what)
        .map(|image| image.repository.as_str())
        .map_err(|error| AwsError::Refused {
            step: "image",
            subject: state.environment.clone(),
            reason: error.to_string(),
        })
}

/// The image of `state`'s repository with this tag or digest, or `None` when it holds none.
pub async fn image_by(
    aws: &Aws,
    state: &DesiredState,
    tag: Option<String>,
    digest: Option<String>,
) -> Result<Option<LiveImage>, AwsError> {
    let repository = repository(state, "look up")?;
    let id = ImageIdentifier::builder()
        .set_image_tag(tag)
        .set_image_digest(digest)
        .build();
    let result = aws
        .ecr
        .describe_images()
        .repository_name(repository)
        .image_ids(id)
        .send()
        .await;
    match result {
        Ok(output) => Ok(output.image_details().first().map(|detail| LiveImage {
            registry_id: detail.registry_id().unwrap_or_default().to_string(),
            repository: detail.repository_name().unwrap_or_default().to_string(),
            digest: detail.image_digest().unwrap_or_default().to_string(),
            tags: detail.image_tags().to_vec(),
        })),
        Err(error)
            if error
                .as_service_error()
                .is_some_and(|e| e.is_image_not_found_exception()) =>
        {
            Ok(None)
        }
        // The repository is the state's, so the region is the likelier mistake than a typo.
        Err(error)
            if error
                .as_service_error()
                .is_some_and(|e| e.is_repository_not_found_exception()) =>
        {
            Err(AwsError::Missing {
                operation: "DescribeImages",
                subject: format!("ECR repository {repository}"),
                message: format!(
                    "it does not exist in region {} of this account\n  help: check `region:` in {} (and the credentials' account), or create the repository and push the image",
                    state.region,
                    state.file.display()
                ),
            })
        }
        Err(error) => Err(AwsError::call(
            "DescribeImages",
            format!("in ECR repository {repository}"),
            error,
        )),
    }
}

/// The manifest media types a copy accepts: Docker v2 and OCI, images and indexes.
const MANIFEST_TYPES: [&str; 4] = [
    "application/vnd.docker.distribution.manifest.v2+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.oci.image.index.v1+json",
];

/// What a copy carried.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Copied {
    /// Manifests put into the target (an index and its images count one each).
    pub manifests: usize,
    /// Blobs (configs and layers) uploaded, and their bytes.
    pub blobs: usize,
    pub bytes: u64,
    /// Blobs the target repository held already.
    pub present: usize,
}

/// One side of a copy: the clients of its region and the repository.
#[derive(Clone, Copy)]
pub struct Repository<'a> {
    pub aws: &'a Aws,
    pub name: &'a str,
}

/// Copies the image `digest` from `from` into `to` with ECR's registry calls: the manifest read
/// with BatchGetImage, every blob the target lacks (BatchCheckLayerAvailability) downloaded from
/// the URL GetDownloadUrlForLayer gives and uploaded in parts, then the manifest put byte for
/// byte (so its digest is the same) with each of `tags`. An index's images are copied first.
pub async fn copy(
    from: Repository<'_>,
    to: Repository<'_>,
    digest: &str,
    tags: &[String],
) -> Result<Copied, AwsError> {
    let http = reqwest::Client::builder()
        .connect_timeout(std::time::Duration::from_secs(10))
        .read_timeout(std::time::Duration::from_secs(60))
        .build()
        .map_err(|e| AwsError::Unexpected {
            operation: "promote",
            subject: "the HTTP client for layer downloads".into(),
            message: e.to_string(),
        })?;
    let mut copied = Copied::default();
    let (text, media_type) = manifest(from, digest).await?;
    let refs = parse(&text, digest)?;
    for child in &refs.manifests {
        let (child_text, child_type) = manifest(from, child).await?;
        let child_refs = parse(&child_text, child)?;
        copy_blobs(&http, from, to, &child_refs.blobs, &mut copied).await?;
        put(to, &child_text, &child_type, child, None).await?;
        copied.manifests += 1;
    }
    copy_blobs(&http, from, to, &refs.blobs, &mut copied).await?;
    if tags.is_empty() {
        put(to, &text, &media_type, digest, None).await?;
    }
    for tag in tags {
        put(to, &text, &media_type, digest, Some(tag)).await?;
    }
    copied.manifests += 1;
    Ok(copied)
}

fn parse(text: &str, digest: &str) -> Result<crate::promote::ManifestRefs, AwsError> {
    manifest_refs(text).map_err(|e| AwsError::Unexpected {
        operation: "BatchGetImage",
        subject: format!("manifest {digest}"),
        message: format!("not an image manifest or index: {e}"),
    })
}

/// The manifest of `digest` in `from`, exactly as pushed, and its media type.
async fn manifest(from: Repository<'_>, digest: &str) -> Result<(String, String), AwsError> {
    let output = from
        .aws
        .ecr
        .batch_get_image()
        .repository_name(from.name)
        .image_ids(ImageIdentifier::builder().image_digest(digest).build())
        .set_accepted_media_types(Some(MANIFEST_TYPES.map(String::from).to_vec()))
        .send()
        .await
        .map_err(|e| AwsError::call("BatchGetImage", format!("{digest} in {}", from.name), e))?;
    let image = output.images().first().ok_or_else(|| AwsError::Missing {
        operation: "BatchGetImage",
        subject: format!("image {digest}"),
        message: format!("repository {} does not hold it", from.name),
    })?;
    let text = image.image_manifest().unwrap_or_default().to_string();
    let media_type = image
        .image_manifest_media_type()
        .map(str::to_string)
        .or_else(|| {
            serde_json::from_str::<serde_json::Value>(&text)
                .ok()?
                .get("mediaType")?
                .as_str()
                .map(str::to_string)
        })
        .unwrap_or_else(|| MANIFEST_TYPES[0].to_string());
    Ok((text, media_type))
}

/// Uploads into `to` every blob of `blobs` it does not hold, read from `from`.
async fn copy_blobs(
    http: &reqwest::Client,
    from: Repository<'_>,
    to: Repository<'_>,
    blobs: &[String],
    copied: &mut Copied,
) -> Result<(), AwsError> {
    if blobs.is_empty() {
        return Ok(());
    }
    let check = to
        .aws
        .ecr
        .batch_check_layer_availability()
        .repository_name(to.name)
        .set_layer_digests(Some(blobs.to_vec()))
        .send()
        .await
        .map_err(|e| AwsError::call("BatchCheckLayerAvailability", format!("in {}", to.name), e))?;
    let available: Vec<&str> = check
        .layers()
        .iter()
        .filter(|layer| layer.layer_availability() == Some(&LayerAvailability::Available))
        .filter_map(|layer| layer.layer_digest())
        .collect();
    for blob in blobs {
        if available.contains(&blob.as_str()) {
            copied.present += 1;
            continue;
        }
        copied.bytes += copy_blob(http, from, to, blob).await?;
        copied.blobs += 1;
    }
    Ok(())
}

/// One blob downloaded from `from` and uploaded into `to` in the parts ECR asks for; its size.
async fn copy_blob(
    http: &reqwest::Client,
    from: Repository<'_>,
    to: Repository<'_>,
    blob: &str,
) -> Result<u64, AwsError> {
    let url = from
        .aws
        .ecr
        .get_download_url_for_layer()
        .repository_name(from.name)
        .layer_digest(blob)
        .send()
        .await
        .map_err(|e| {
            AwsError::call(
                "GetDownloadUrlForLayer",
                format!("{blob} in {}", from.name),
                e,
            )
        })?
        .download_url()
        .unwrap_or_default()
        .to_string();
    // The URL is presigned: it is a credential for a while, so it is never printed.
    let download = |message: String| AwsError::Unexpected {
        operation: "GetDownloadUrlForLayer",
        subject: format!("layer {blob} of {}", from.name),
        message,
    };
    let mut response = http
        .get(&url)
        .send()
        .await
        .and_then(reqwest::Response::error_for_status)
        .map_err(|e| download(format!("download failed: {}", e.without_url())))?;
    let upload = to
        .aws
        .ecr
        .initiate_layer_upload()
        .repository_name(to.name)
        .send()
        .await
        .map_err(|e| AwsError::call("InitiateLayerUpload", format!("in {}", to.name), e))?;
    let upload_id = upload.upload_id().unwrap_or_default().to_string();
    let part_size = upload.part_size().unwrap_or(10 << 20).max(1 << 20) as usize;
    let mut sent: u64 = 0;
    let mut part: Vec<u8> = Vec::with_capacity(part_size);
    loop {
        let chunk = response
            .chunk()
            .await
            .map_err(|e| download(format!("download failed: {}", e.without_url())))?;
        let done = chunk.is_none();
        if let Some(chunk) = chunk {
            part.extend_from_slice(&chunk);
        }
        if part.len() >= part_size || (done && !part.is_empty()) {
            let last = sent + part.len() as u64 - 1;
            to.aws
                .ecr
                .upload_layer_part()
                .repository_name(to.name)
                .upload_id(&upload_id)
                .part_first_byte(sent as i64)
                .part_last_byte(last as i64)
                .layer_part_blob(Blob::new(std::mem::take(&mut part)))
                .send()
                .await
                .map_err(|e| {
                    AwsError::call("UploadLayerPart", format!("{blob} into {}", to.name), e)
                })?;
            sent = last + 1;
        }
        if done {
            break;
        }
    }
    let completed = to
        .aws
        .ecr
        .complete_layer_upload()
        .repository_name(to.name)
        .upload_id(&upload_id)
        .layer_digests(blob)
        .send()
        .await;
    match completed {
        Ok(_) => Ok(sent),
        // Another copy finished the same layer first.
        Err(e)
            if e.as_service_error()
                .is_some_and(|e| e.is_layer_already_exists_exception()) =>
        {
            Ok(sent)
        }
        Err(e) => Err(AwsError::call(
            "CompleteLayerUpload",
            format!("{blob} into {}", to.name),
            e,
        )),
    }
}

/// PutImage of the manifest `text` (its bytes unchanged, so its digest is `digest`), with `tag`.
async fn put(
    to: Repository<'_>,
    text: &str,
    media_type: &str,
    digest: &str,
    tag: Option<&str>,
) -> Result<(), AwsError> {
    let result = to
        .aws
        .ecr
        .put_image()
        .repository_name(to.name)
        .image_manifest(text)
        .image_manifest_media_type(media_type)
        .image_digest(digest)
        .set_image_tag(tag.map(str::to_string))
        .send()
        .await;
    match result {
        Ok(_) => Ok(()),
        // The repository holds this manifest under this tag (or untagged) already.
        Err(e)
            if e.as_service_error()
                .is_some_and(|e| e.is_image_already_exists_exception()) =>
        {
            Ok(())
        }
        Err(e) => Err(AwsError::call(
            "PutImage",
            format!("{digest} into {}", to.name),
            e,
        )),
    }
}
