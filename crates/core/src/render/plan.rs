//! The plan as text and markdown: a headline per environment (the image from -> to, the counts),
//! then one line per resource that changes with one line per field that differs, in AWS's names.
//! Creating an environment from nothing, each resource is one summary line unless `verbose`.

use std::fmt::Write;

use anstyle::Style;
use serde_json::Value;

use super::names::{Images, path, short_digest};
use super::style::{BOLD, CYAN, DIM, GREEN, RED, YELLOW, action_word, paint};
use crate::plan::{Action, Change, ChangeClass, FieldChange, Plan, ResourceKind, field_changes};

/// The columns a line is kept within where it can be (a reason moves to its own line beyond).
const WIDTH: usize = 100;

fn symbol(action: Action) -> (&'static str, Style) {
    match action {
        Action::NoOp => ("=", DIM),
        Action::Create => ("+", GREEN),
        Action::Update => ("~", YELLOW),
        Action::Replace => ("-/+", RED),
        Action::Run => (">", CYAN),
    }
}

/// How many changes of each action: `2 to create, 2 to update, 1 migration to run, 7
/// unchanged` (replacements and migrations only when there are some).
pub(super) fn counts(plan: &Plan) -> String {
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

/// `v1.8.0 -> v1.9.0` when the services run another image, else the state's image.
fn image_headline(images: &Images) -> String {
    match (images.running(), images.wanted()) {
        (Some(running), Some(wanted)) => format!("{running} -> {wanted}"),
        (None, Some(wanted)) => wanted,
        (_, None) => "images as each container names them".to_string(),
    }
}

/// The fields a change shows: for a task definition created from nothing, its whole content;
/// otherwise the fields that differ.
fn fields_of(change: &Change) -> Vec<FieldChange> {
    match &change.content {
        Some(content) if change.fields.is_empty() => field_changes(&content.before, &content.after),
        _ => change.fields.clone(),
    }
}

/// Whether the plan creates the environment from nothing (its cluster among what it creates):
/// then each new resource is one summary line. A new resource in a running environment, such as
/// a new service, shows every setting.
fn from_nothing(plan: &Plan) -> bool {
    plan.changes
        .iter()
        .any(|c| c.resource.kind == ResourceKind::Cluster && c.action == Action::Create)
}

/// Whether a change shows a summary line instead of its fields.
fn summarized(change: &Change, fields: &[FieldChange], from_nothing: bool) -> bool {
    from_nothing
        && change.action == Action::Create
        && fields.iter().all(|field| field.before.is_none())
}

/// Settings a summary line names first, when a resource has them.
const FIRST: &[&str] = &[
    "task_definition",
    "desired_count",
    "launch_type",
    "engine",
    "version",
    "instance_class",
    "node_type",
    "instance_type",
    "deployment_mode",
    "storage_gb",
    "storage_type",
    "multi_az",
    "replicas",
    "cpu",
    "memory",
];

/// One line for a resource created from nothing: its most telling settings, as many as fit,
/// and how many more `--verbose` shows.
fn summary_line(change: &Change, fields: &[FieldChange], images: &Images) -> String {
    let kind = change.resource.kind;
    let mut items: Vec<String> = Vec::new();
    let mut shown = 0;
    if kind == ResourceKind::TaskDefinition {
        let containers: Vec<&str> = change
            .content
            .as_ref()
            .and_then(|content| content.after.get("containers"))
            .and_then(Value::as_array)
            .map(|containers| {
                containers
                    .iter()
                    .filter_map(|c| c.get("name").and_then(Value::as_str))
                    .collect()
            })
            .unwrap_or_default();
        items.push(format!("containers {}", containers.join(", ")));
    }
    let mut ordered: Vec<&FieldChange> = fields
        .iter()
        .filter(|field| FIRST.contains(&field.path.as_str()))
        .collect();
    ordered.sort_by_key(|field| FIRST.iter().position(|first| *first == field.path));
    ordered.extend(
        fields
            .iter()
            .filter(|field| !FIRST.contains(&field.path.as_str())),
    );
    let scalar = |value: &Value| match value {
        Value::String(text) => Some(text.clone()),
        Value::Number(_) | Value::Bool(_) => Some(value.to_string()),
        _ => None,
    };
    let budget = WIDTH - 6 - " and 99 more (--verbose)".len();
    let mut line = items.join(", ");
    for field in &ordered {
        // Containers are named already; their settings are what --verbose is for.
        if field.path.starts_with("containers.") {
            continue;
        }
        let Some(value) = field.after.as_ref().and_then(scalar) else {
            continue;
        };
        let value = match value {
            image if field.path == "task_definition" => image,
            value => images.compact(&value),
        };
        let item = format!("{} {value}", path(kind, &field.path));
        if line.len() + 2 + item.len() > budget {
            break;
        }
        if !line.is_empty() {
            line.push_str(", ");
        }
        line.push_str(&item);
        shown += 1;
    }
    let hidden = fields.len() - shown;
    if hidden > 0 {
        let _ = write!(line, " and {hidden} more (--verbose)");
    }
    line
}

fn field_line(kind: ResourceKind, field: &FieldChange, images: &Images) -> (char, String) {
    let shown_path = path(kind, &field.path);
    let (before, after) = images.sides(kind, &field.path, &field.before, &field.after);
    let class = field
        .class
        .map(|class| format!("  ({})", class.label()))
        .unwrap_or_default();
    match (&field.before, &field.after) {
        (None, Some(_)) => ('+', format!("{shown_path}: {after}{class}")),
        (Some(_), None) => ('-', format!("{shown_path}: {before}{class}")),
        _ => ('~', format!("{shown_path}: {before} -> {after}{class}")),
    }
}

fn class_style(class: Option<ChangeClass>) -> Style {
    match class {
        Some(ChangeClass::ForcesReplacement | ChangeClass::NotAllowed) => RED,
        Some(ChangeClass::InPlaceReboot | ChangeClass::Deferred) => YELLOW,
        _ => Style::new(),
    }
}

/// The headline lines: environment, image from -> to and counts; where; the image in full.
fn headline(plan: &Plan, images: &Images) -> String {
    let mut out = String::new();
    let what = if plan.has_changes() {
        counts(plan)
    } else {
        "no changes".to_string()
    };
    let _ = writeln!(
        out,
        "{}",
        paint(
            BOLD,
            &format!(
                "Plan for {}: {}, {what}",
                plan.environment,
                image_headline(images)
            )
        )
    );
    let _ = writeln!(
        out,
        "  account {}, region {}, {}",
        plan.account, plan.region, plan.state_file
    );
    let _ = match (&plan.image, &plan.image_digest) {
        (Some(image), Some(digest)) if !image.ends_with(digest.as_str()) => {
            writeln!(out, "  image {image} ({})", short_digest(digest))
        }
        (Some(image), _) => writeln!(out, "  image {}", images.compact(image)),
        (None, _) => Ok(()),
    };
    for warning in &plan.warnings {
        let _ = writeln!(
            out,
            "{} {}",
            paint(YELLOW, "warning:"),
            images.compact(warning)
        );
    }
    out
}

/// The plan as text. Styles are ANSI codes; the caller's stream strips them where colour is off.
pub fn text(plan: &Plan, verbose: bool) -> String {
    let images = Images::of(plan);
    let mut out = headline(plan, &images);
    // Unchanged resources are listed only when they explain something (a reused revision, a
    // migration that does not run though services deploy, a change AWS accepted and has not
    // applied yet).
    let deploys = plan.changes.iter().any(|c| {
        c.action != Action::NoOp
            && matches!(
                c.resource.kind,
                ResourceKind::TaskDefinition | ResourceKind::Service
            )
    });
    let shown: Vec<&Change> = plan
        .changes
        .iter()
        .filter(|c| {
            c.action != Action::NoOp
                || !c.fields.is_empty()
                || (deploys && c.resource.kind == ResourceKind::Migration)
        })
        .collect();
    if !shown.is_empty() {
        out.push('\n');
    }
    let summary = !verbose && from_nothing(plan);
    for change in shown {
        change_text(change, &images, summary, &mut out);
    }
    if plan.has_changes() {
        let _ = writeln!(out, "\n{} {}.", paint(BOLD, "Plan:"), counts(plan));
    } else {
        let _ = writeln!(
            out,
            "\nNo changes. {} matches its state file ({} resources checked).",
            plan.environment,
            plan.changes.len()
        );
    }
    out
}

fn change_text(change: &Change, images: &Images, summary: bool, out: &mut String) {
    let (sign, style) = symbol(change.action);
    let kind = change.resource.kind;
    let title = format!("  {sign} {} {}", kind.label(), change.resource.name);
    let reason = images.compact(&change.reason);
    let painted = format!(
        "  {} {} {}",
        paint(style, sign),
        kind.label(),
        paint(BOLD, &change.resource.name)
    );
    if title.len() + 2 + reason.len() <= WIDTH {
        let _ = writeln!(out, "{painted}: {}", paint(DIM, &reason));
    } else {
        let _ = writeln!(out, "{painted}\n      {}", paint(DIM, &reason));
    }
    let fields = fields_of(change);
    if fields.is_empty() {
        return;
    }
    if summarized(change, &fields, summary) {
        let _ = writeln!(out, "      {}", summary_line(change, &fields, images));
        return;
    }
    for field in &fields {
        let (sign, line) = field_line(kind, field, images);
        let style = match sign {
            '+' => GREEN,
            '-' => RED,
            _ => YELLOW,
        };
        let _ = writeln!(
            out,
            "      {} {}",
            paint(style, &sign.to_string()),
            paint(class_style(field.class), &line)
        );
    }
}

/// The plan as Markdown for a pull-request comment: the headline, one collapsible section per
/// resource that changes holding its fields as a diff (none where there is nothing to unfold).
pub fn markdown(plan: &Plan) -> String {
    let images = Images::of(plan);
    let mut out = String::new();
    let _ = writeln!(
        out,
        "### reconcile plan: `{}` ({}, account {})\n",
        plan.environment, plan.region, plan.account
    );
    if !plan.has_changes() {
        let _ = writeln!(
            out,
            "**No changes.** `{}` matches its state file ({}).",
            plan.environment,
            match images.wanted() {
                Some(wanted) => format!("image `{wanted}`"),
                None => image_headline(&images),
            }
        );
        return out;
    }
    let _ = writeln!(
        out,
        "**{}: {}.**\n\n{}\n",
        image_headline(&images),
        counts(plan),
        match (&plan.image, &plan.image_digest) {
            (Some(image), Some(digest)) if !image.ends_with(digest.as_str()) =>
                format!("Image `{image}` (`{}`).", short_digest(digest)),
            (Some(image), _) => format!("Image `{image}`."),
            (None, _) => "Each container names its image.".to_string(),
        }
    );
    for warning in &plan.warnings {
        let _ = writeln!(out, "> :warning: {}\n", images.compact(warning));
    }
    for change in plan.changes.iter().filter(|c| c.action != Action::NoOp) {
        let headline = format!(
            "<b>{}</b> {} <code>{}</code>: {}",
            action_word(change.action),
            change.resource.kind.label(),
            change.resource.name,
            images.compact(&change.reason)
        );
        let fields = fields_of(change);
        // Nothing to unfold: one line, no empty section.
        if fields.is_empty() {
            let _ = writeln!(out, "- {headline}\n");
            continue;
        }
        let _ = writeln!(out, "<details><summary>{headline}</summary>\n\n```diff");
        for field in &fields {
            let kind = change.resource.kind;
            match field_line(kind, field, &images) {
                // A change reads as the old line and the new one.
                ('~', _) => {
                    let (before, after) =
                        images.sides(kind, &field.path, &field.before, &field.after);
                    let shown = path(kind, &field.path);
                    let class = field
                        .class
                        .map(|class| format!("  ({})", class.label()))
                        .unwrap_or_default();
                    let _ = writeln!(out, "- {shown}: {before}\n+ {shown}: {after}{class}");
                }
                (sign, line) => {
                    let _ = writeln!(out, "{sign} {line}");
                }
            }
        }
        let _ = writeln!(out, "```\n</details>\n");
    }
    out
}
