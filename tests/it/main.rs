//! One integration-test binary (ripgrep style): emulator-backed behaviour, CLI behaviour,
//! malformed state files, and the architecture's layering rule.

mod adoption;
mod backing;
mod cli;
mod corpus;
mod emulator;
mod faults;
mod gitops;
mod image;
mod layering;
mod logs;
mod malformed;
mod operator;
mod outputs;
mod pipeline;
mod recorded;
mod registries;
mod release;
mod support;
mod terminal;
mod workflows;
