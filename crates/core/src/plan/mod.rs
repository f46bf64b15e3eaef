//! The typed plan: a list of changes, each with its action, the fields that differ, and the exact
//! operation apply will perform. Renderers format it; apply executes it; neither re-decides anything.

mod backing;
mod build;
mod change;
mod fields;
mod image;
mod migration;
mod ownership;
mod preconditions;
mod service;
mod startup;
mod tags;
mod task_definition;
#[cfg(test)]
mod tests;

pub use backing::{Assessment, assess, managed_fields};
pub use build::plan;
pub use change::*;
pub use fields::{ChangeClass, FieldChange, field_changes};
pub use image::{RunningImage, images_to_check, running_digests_to_name};
pub use ownership::claimed_elsewhere;
pub use preconditions::PlanError;
pub use startup::{log_groups_to_check, secrets_to_check};
pub use task_definition::{desired_task_definition, families_needing_candidates};
