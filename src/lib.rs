//! reconcile: a desired-state operator for applications on AWS ECS.
//!
//! Pipeline: `state` (load + validate, pure) -> `aws::observe` (reads) -> `plan` (normalize + diff,
//! pure) -> `render` (views) -> `aws::apply` (writes). The pure modules live in the
//! `reconcile-core` crate (crates/core) and are re-exported here under their usual names; this
//! package adds the AWS layer and the CLI. See ARCHITECTURE.md for the map and invariants.

pub use reconcile_core::{
    diagnostic, drift, history, import, logs, model, normalize, plan, promote, render, rollout,
    saved, state, status, sync,
};

pub mod aws;
pub mod cli;
pub mod engine;
pub mod operate;
