//! ECR: the image an environment deploys, by tag or digest.

use super::{Aws, AwsError};
use crate::model::LiveImage;
use crate::state::DesiredState;

/// The state's image as ECR describes it, or `None` when the repository holds no such tag or digest.
pub async fn image(aws: &Aws, state: &DesiredState) -> Result<Option<LiveImage>, AwsError> {
    let id = aws_sdk_ecr::types::ImageIdentifier::builder()
        .set_image_tag(state.image.tag.clone())
        .set_image_digest(state.image.digest.clone())
        .build();
    let result = aws
        .ecr
        .describe_images()
        .repository_name(&state.image.repository)
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
                subject: format!("ECR repository {}", state.image.repository),
                message: format!(
                    "it does not exist in region {} of this account\n  help: check `region:` in {} (and the credentials' account), or create the repository and push the image",
                    state.region,
                    state.file.display()
                ),
            })
        }
        Err(error) => Err(AwsError::call(
            "DescribeImages",
            format!("in ECR repository {}", state.image.repository),
            error,
        )),
    }
}
