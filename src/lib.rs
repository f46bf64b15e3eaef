//! reconcile: a desired-state operator for applications on AWS ECS.
//!
//! Pipeline: `state` (load + validate, pure) -> `aws::observe` (reads) -> `plan` (normalize + diff,
//! pure) -> `render` (views) -> `aws::apply` (writes). See ARCHITECTURE.md for the map and invariants.

pub mod aws;
pub mod cli;
pub mod diagnostic;
pub mod drift;
pub mod engine;
pub mod model;
pub mod normalize;
pub mod plan;
pub mod render;
pub mod rollout;
pub mod saved;
pub mod state;
