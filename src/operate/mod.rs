//! `reconcile operate`: a long-running controller that keeps every environment of a git
//! repository's state folder at its git state, by each environment's `sync:` policy.
//!
//! `controller` runs the loop (fetch, then each environment planned and, by policy, applied under
//! its lock, `locked`); `context` is what it was asked and what a cycle shares; `git` reads the repository through the git CLI; `report` holds what the loop learned
//! (status, metrics) for `http` to serve; `notify` tells a webhook and GitHub.

mod context;
mod controller;
mod git;
mod http;
mod locked;
mod notify;
mod report;

pub use context::Options;
pub use controller::run;
