//! The core (state, model, normalize, plan, render, rollout, diagnostic) never touches an AWS SDK crate.

use std::path::Path;

fn rust_files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

#[test]
fn core_modules_never_import_aws_crates() {
    let src = super::support::root().join("src");
    let core = [
        "state",
        "model.rs",
        "normalize.rs",
        "plan",
        "render",
        "rollout.rs",
        "drift.rs",
        "saved.rs",
        "diagnostic.rs",
    ];
    let mut files = Vec::new();
    for entry in core {
        let path = src.join(entry);
        if path.is_dir() {
            rust_files(&path, &mut files);
        } else {
            files.push(path);
        }
    }
    assert!(files.len() >= 10, "the core modules were found: {files:?}");
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        for forbidden in [
            "aws_sdk_",
            "aws_config",
            "aws_smithy",
            "aws_types",
            "crate::aws",
            "tokio",
        ] {
            assert!(
                !text.contains(forbidden),
                "{} mentions `{forbidden}`: the core must stay free of AWS and I/O",
                file.display()
            );
        }
    }
}

#[test]
fn every_source_file_says_what_it_is_for() {
    let mut files = Vec::new();
    rust_files(&super::support::root().join("src"), &mut files);
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        assert!(
            text.starts_with("//!"),
            "{} must open with a `//!` line",
            file.display()
        );
    }
}

#[test]
fn the_committed_json_schema_is_current() {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_reconcile"))
        .arg("schema")
        .output()
        .unwrap();
    assert!(output.status.success());
    let committed =
        std::fs::read_to_string(super::support::root().join("schema/state.schema.json")).unwrap();
    assert_eq!(
        String::from_utf8(output.stdout).unwrap(),
        committed,
        "regenerate with: cargo run -- schema > schema/state.schema.json"
    );
}
