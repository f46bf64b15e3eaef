//! reconcile's pure core: everything between a state file and a typed plan, and the views of it.
//!
//! Pipeline: `state` (load + validate) -> `normalize` (canonical forms) -> `plan` (diff into typed
//! changes) -> `render` (text, JSON, markdown). `drift`, `saved` and `rollout` read plans and
//! observations. Nothing here does I/O beyond reading a state file, and this crate's manifest names
//! no AWS SDK crate and no async runtime, so the compiler keeps it that way.

pub mod diagnostic;
pub mod drift;
pub mod fingerprint;
pub mod history;
pub mod import;
pub mod logs;
pub mod model;
pub mod normalize;
pub mod plan;
pub mod promote;
pub mod render;
pub mod rollout;
pub mod saved;
pub mod state;
pub mod status;
pub mod sync;
