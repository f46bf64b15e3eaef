//! Views of a plan: text for people (Terraform style) and a versioned JSON document for tools.
//! Renderers only format; every decision is already in the `Plan`.

use std::fmt::Write;

use anstyle::{AnsiColor, Style};
use serde_json::Value;

use crate::plan::{Action, Change, ChangeClass, Plan, unified_diff};

const BOLD: Style = Style::new().bold();
const GREEN: Style = AnsiColor::Green.on_default();
const YELLOW: Style = AnsiColor::Yellow.on_default();
const RED: Style = AnsiColor::Red.on_default();
const CYAN: Style = AnsiColor::Cyan.on_default();
const DIM: Style = Style::new().dimmed();

fn paint(style: Style, text: &str) -> String {
    format!("{style}{text}{style:#}")
}

fn symbol(action: Action) -> (&'static str, Style) {
    match action {
        Action::NoOp => ("=", DIM),
        Action::Create => ("+", GREEN),
        Action::Update => ("~", YELLOW),
        Action::Replace => ("-/+", RED),
        Action::Run => (">", CYAN),
    }
}

fn value(value: &Option<Value>) -> String {
    match value {
        None => "(absent)".into(),
        Some(value) => value.to_string(),
    }
}

/// A unified diff of a change's content (task definitions), computed from its two sides.
fn content_diff(change: &Change) -> Option<String> {
    let content = change.content.as_ref()?;
    Some(unified_diff(
        &content.before,
        &content.after,
        &content.before_label,
        &content.after_label,
    ))
}

/// The plan as text. Styles are ANSI codes; the caller's stream strips them where colour is off.
pub fn text(plan: &Plan) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{} {}: account {}, region {} ({})",
        paint(BOLD, "Plan for"),
        paint(BOLD, &plan.environment),
        plan.account,
        plan.region,
        plan.state_file
    );
    let _ = match &plan.image_digest {
        Some(digest) if !plan.image.ends_with(digest.as_str()) => {
            writeln!(out, "Image: {} ({digest})", plan.image)
        }
        _ => writeln!(out, "Image: {}", plan.image),
    };
    for warning in &plan.warnings {
        let _ = writeln!(out, "{} {warning}", paint(YELLOW, "warning:"));
    }
    if !plan.has_changes() {
        // Changes AWS has accepted but not applied yet are worth seeing even then.
        let pending: Vec<&Change> = plan
            .changes
            .iter()
            .filter(|c| !c.fields.is_empty())
            .collect();
        if !pending.is_empty() {
            out.push('\n');
            for change in pending {
                change_text(change, &mut out);
            }
        }
        let _ = writeln!(
            out,
            "{}No changes. {} matches its state file ({} resources checked).",
            if out.ends_with("\n\n") { "" } else { "\n" },
            plan.environment,
            plan.changes.len()
        );
        return out;
    }
    out.push('\n');
    // Unchanged resources are listed only when they explain a change (a reused revision, a
    // migration that does not run).
    for change in plan.changes.iter().filter(|c| {
        c.action != Action::NoOp
            || !c.fields.is_empty()
            || c.resource.kind == crate::plan::ResourceKind::Migration
    }) {
        change_text(change, &mut out);
    }
    let _ = writeln!(out, "{} {}.", paint(BOLD, "Plan:"), counts(plan));
    out
}

/// How many changes of each action: `2 to create, 2 to update, 1 migration to run, 7
/// unchanged` (replacements and migrations only when there are some).
fn counts(plan: &Plan) -> String {
    let summary = plan.summary();
    let count = |action| summary.get(&action).copied().unwrap_or(0);
    format!(
        "{} to create, {} to update, {}{}{} unchanged",
        count(Action::Create),
        count(Action::Update),
        match count(Action::Replace) {
            0 => String::new(),
            n => format!("{n} to replace, "),
        },
        match count(Action::Run) {
            0 => String::new(),
            1 => "1 migration to run, ".to_string(),
            n => format!("{n} migrations to run, "),
        },
        count(Action::NoOp)
    )
}

fn change_text(change: &Change, out: &mut String) {
    let (sign, style) = symbol(change.action);
    let _ = writeln!(
        out,
        "  {} {} {}",
        paint(style, sign),
        change.resource.kind.label(),
        paint(BOLD, &change.resource.name)
    );
    let _ = writeln!(out, "      {}", paint(DIM, &change.reason));
    for field in &change.fields {
        let (sign, style) = match (&field.before, &field.after) {
            (None, Some(_)) => ('+', GREEN),
            (Some(_), None) => ('-', RED),
            _ => ('~', YELLOW),
        };
        let class = match field.class {
            None => String::new(),
            Some(class) => {
                let style = match class {
                    ChangeClass::ForcesReplacement | ChangeClass::NotAllowed => RED,
                    ChangeClass::InPlaceReboot | ChangeClass::Deferred => YELLOW,
                    ChangeClass::InPlace | ChangeClass::Pending => DIM,
                };
                format!("  {}", paint(style, &format!("({})", class.label())))
            }
        };
        let _ = writeln!(
            out,
            "      {} {}: {} -> {}{class}",
            paint(style, &sign.to_string()),
            field.path,
            value(&field.before),
            value(&field.after)
        );
    }
    if let Some(diff) = content_diff(change) {
        for line in diff.lines() {
            let style = if line.starts_with("+++") || line.starts_with("---") {
                BOLD
            } else if line.starts_with('+') {
                GREEN
            } else if line.starts_with('-') {
                RED
            } else if line.starts_with("@@") {
                CYAN
            } else {
                Style::new()
            };
            let _ = writeln!(out, "        {}", paint(style, line));
        }
    }
    out.push('\n');
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

fn action_word(action: Action) -> &'static str {
    match action {
        Action::NoOp => "unchanged",
        Action::Create => "create",
        Action::Update => "update",
        Action::Replace => "replace",
        Action::Run => "run",
    }
}

/// The plan as Markdown for a pull-request comment: a summary line, one collapsible section per
/// resource that changes.
pub fn markdown(plan: &Plan) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "### reconcile plan: `{}` ({}, account {})\n",
        plan.environment, plan.region, plan.account
    );
    if !plan.has_changes() {
        let _ = writeln!(
            out,
            "**No changes.** `{}` matches its state file.",
            plan.environment
        );
        return out;
    }
    let _ = writeln!(out, "**{}.**\n", counts(plan));
    for warning in &plan.warnings {
        let _ = writeln!(out, "> :warning: {warning}\n");
    }
    for change in plan.changes.iter().filter(|c| c.action != Action::NoOp) {
        let headline = format!(
            "<b>{}</b> {} <code>{}</code>: {}",
            action_word(change.action),
            change.resource.kind.label(),
            change.resource.name,
            change.reason
        );
        // Nothing to unfold: one line, no empty section.
        if change.fields.is_empty() && change.content.is_none() {
            let _ = writeln!(out, "- {headline}\n");
            continue;
        }
        let _ = writeln!(out, "<details><summary>{headline}</summary>\n");
        {
            let _ = writeln!(out, "```diff");
            // One representation: the content's diff where there is one, else the fields.
            let fields = if change.content.is_some() {
                &[][..]
            } else {
                &change.fields[..]
            };
            for field in fields {
                let class = field
                    .class
                    .map(|c| format!("  ({})", c.label()))
                    .unwrap_or_default();
                let _ = writeln!(
                    out,
                    "- {}: {}\n+ {}: {}{class}",
                    field.path,
                    value(&field.before),
                    field.path,
                    value(&field.after)
                );
            }
            if let Some(diff) = content_diff(change) {
                out.push_str(&diff);
                if !diff.ends_with('\n') {
                    out.push('\n');
                }
            }
            let _ = writeln!(out, "```");
        }
        let _ = writeln!(out, "</details>\n");
    }
    out
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
                    field.path,
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
                    field.path,
                    value(&field.live).replace('`', "'"),
                    value(&field.state).replace('`', "'")
                );
            }
        }
        let _ = writeln!(out, "\n</details>");
    }
    out
}
