//! ECS: reads for a plan (`read`), the writes a plan holds (`write`), SDK <-> model conversion
//! (`convert`), and what follows a release: migration tasks (`migration`) and deployments
//! (`rollout`).

mod aws_json;
pub mod convert;
pub mod history;
pub mod migration;
pub mod read;
pub mod revision;
pub mod rollout;
mod unmanaged;
pub mod write;
