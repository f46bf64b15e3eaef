//! Views of a plan: text for people (Terraform style), markdown for a pull request and a
//! versioned JSON document for tools; and the drift report's views. Renderers only format;
//! every decision is already in the `Plan`.

mod names;
mod plan;
mod style;

use std::fmt::Write;

use serde_json::Value;

pub use self::plan::markdown;
use self::style::{BOLD, DIM, RED, YELLOW, action_word, paint};
use crate::plan::{Action, Plan};

/// The plan as text, a resource created from nothing in one summary line.
pub fn text(plan: &Plan) -> String {
    self::plan::text(plan, false)
}

/// The plan as text with every setting of a resource created from nothing.
pub fn text_verbose(plan: &Plan) -> String {
    self::plan::text(plan, true)
}

/// The plan as its JSON document (see docs/plan-format.md).
pub fn json(plan: &Plan) -> String {
    serde_json::to_string_pretty(&json_value(plan)).unwrap_or_default() + "\n"
}

/// Several plans as one JSON document: an array of what `json` prints for each.
pub fn json_all(plans: &[Plan]) -> String {
    let all: Vec<serde_json::Value> = plans.iter().map(json_value).collect();
    serde_json::to_string_pretty(&all).unwrap_or_default() + "\n"
}

/// The plan document with its `summary`: whether anything changes, and how many changes of each
/// action (`create`, `update`, `replace`, `run`, `unchanged`).
fn json_value(plan: &Plan) -> serde_json::Value {
    let mut value = serde_json::to_value(plan).unwrap_or_default();
    let mut summary = serde_json::Map::new();
    summary.insert("has_changes".into(), plan.has_changes().into());
    let counts = plan.summary();
    for action in [
        Action::Create,
        Action::Update,
        Action::Replace,
        Action::Run,
        Action::NoOp,
    ] {
        let count = counts.get(&action).copied().unwrap_or(0);
        summary.insert(action_word(action).to_string(), count.into());
    }
    if let serde_json::Value::Object(map) = &mut value {
        map.insert("summary".into(), serde_json::Value::Object(summary));
    }
    value
}

fn value(value: &Option<Value>) -> String {
    match value {
        None => "(absent)".into(),
        Some(value) => value.to_string(),
    }
}

/// Drift reports as text, one block per environment.
pub fn drift_text(reports: &[crate::drift::Report]) -> String {
    let mut out = String::new();
    for report in reports {
        let _ = writeln!(out, "{}", paint(BOLD, &report.summary()));
        for difference in &report.differences {
            let style = match difference.kind {
                crate::drift::Kind::Drift => RED,
                crate::drift::Kind::Pending => YELLOW,
                crate::drift::Kind::Unrecorded => DIM,
            };
            let _ = writeln!(
                out,
                "  {} {} {}: {}",
                paint(style, &format!("{:<10}", difference.kind.label())),
                difference.resource.kind.label(),
                difference.resource.name,
                difference.reason
            );
            for field in &difference.values {
                let _ = writeln!(
                    out,
                    "               {}: live {}, state file {}",
                    names::path(difference.resource.kind, &field.path),
                    value(&field.live),
                    value(&field.state)
                );
            }
        }
    }
    out
}

/// Drift reports as Markdown (for an issue that tracks drift).
pub fn drift_markdown(reports: &[crate::drift::Report]) -> String {
    let mut out = String::from(
        "### reconcile drift\n\n| environment | drift | pending | unrecorded |\n|---|---|---|---|\n",
    );
    for report in reports {
        use crate::drift::Kind;
        let _ = writeln!(
            out,
            "| `{}` | {} | {} | {} |",
            report.environment,
            report.count(Kind::Drift),
            report.count(Kind::Pending),
            report.count(Kind::Unrecorded)
        );
    }
    for report in reports.iter().filter(|r| !r.clean()) {
        let _ = writeln!(
            out,
            "\n<details><summary><code>{}</code></summary>\n",
            report.environment
        );
        for d in &report.differences {
            let _ = writeln!(
                out,
                "- **{}** {} `{}`: {}",
                d.kind.label(),
                d.resource.kind.label(),
                d.resource.name,
                d.reason,
            );
            for field in &d.values {
                let _ = writeln!(
                    out,
                    "  - `{}`: live `{}`, state file `{}`",
                    names::path(d.resource.kind, &field.path),
                    value(&field.live).replace('`', "'"),
                    value(&field.state).replace('`', "'")
                );
            }
        }
        let _ = writeln!(out, "\n</details>");
    }
    out
}
