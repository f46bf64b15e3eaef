//! Loading state files: read, parse with positions, interpolate `${env:…}`, validate, resolve.
//! Pure apart from reading the file; nothing here talks to AWS.

pub mod arn;
pub mod desired;
pub mod edit;
pub mod focus;
pub mod interpolate;
pub mod locate;
pub mod naming;
pub mod resolve;
pub mod schema;
pub mod template;
pub mod validate;

use std::path::{Path, PathBuf};

use crate::diagnostic::{Diagnostic, Diagnostics};
pub use desired::DesiredState;
use locate::Located;
use schema::StateFile;

/// Reads the variables that `${env:NAME}` refers to.
pub type EnvLookup<'a> = &'a dyn Fn(&str) -> Option<String>;

/// The process environment, for `${env:NAME}`.
pub fn process_env(name: &str) -> Option<String> {
    std::env::var(name).ok()
}

/// Every state file (`*.yaml`, `*.yml`) in `dir`, sorted by name.
pub fn discover(dir: &Path) -> Result<Vec<PathBuf>, Diagnostics> {
    let entries = std::fs::read_dir(dir).map_err(|error| {
        Diagnostics::from(vec![
            Diagnostic::new(dir, "", format!("cannot read the state directory: {error}")).help(
                "pass the folder that holds one YAML file per environment with `--state DIR`",
            ),
        ])
    })?;
    let mut files: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .filter(|path| {
            path.is_file()
                && matches!(
                    path.extension().and_then(|e| e.to_str()),
                    Some("yaml" | "yml")
                )
        })
        .collect();
    files.sort();
    Ok(files)
}

/// The state file of environment `environment` in `dir`.
pub fn find(dir: &Path, environment: &str) -> Result<PathBuf, Diagnostics> {
    let files = discover(dir)?;
    files
        .iter()
        .find(|path| path.file_stem().and_then(|s| s.to_str()) == Some(environment))
        .cloned()
        .ok_or_else(|| {
            let known: Vec<String> = files
                .iter()
                .filter_map(|p| p.file_stem().and_then(|s| s.to_str()).map(str::to_string))
                .collect();
            Diagnostics::from(vec![
                Diagnostic::new(
                    dir,
                    "",
                    format!("no state file for environment `{environment}`"),
                )
                .help(if known.is_empty() {
                    format!("create {}/{environment}.yaml", dir.display())
                } else {
                    format!("environments here: {}", known.join(", "))
                }),
            ])
        })
}

/// Reads and loads one state file.
pub fn load_file(path: &Path, lookup: EnvLookup) -> Result<DesiredState, Diagnostics> {
    let source = read(path)?;
    load_str(path, &source, lookup)
}

/// Checks one state file as `validate` does: a variable that is not set is no error; a
/// placeholder stands in for it and every finding about a field that reads one is left out (its
/// value is not known), every other field is checked fully. Returns the unset variables' names.
pub fn validate_file(path: &Path, lookup: EnvLookup) -> Result<Vec<String>, Diagnostics> {
    let source = read(path)?;
    let mut held = Vec::new();
    load_with(
        path,
        &source,
        lookup,
        interpolate::Unset::Placeholder(&mut held),
    )?;
    let mut names: Vec<String> = held.into_iter().map(|(_, name)| name).collect();
    names.sort();
    names.dedup();
    Ok(names)
}

fn read(path: &Path) -> Result<String, Diagnostics> {
    let bytes = std::fs::read(path).map_err(|error| {
        Diagnostics::from(vec![Diagnostic::new(
            path,
            "",
            format!("cannot read the file: {error}"),
        )])
    })?;
    String::from_utf8(bytes).map_err(|error| {
        // Where the first byte that is not UTF-8 is: its line, and its column in characters.
        let valid = &error.as_bytes()[..error.utf8_error().valid_up_to()];
        let valid = std::str::from_utf8(valid).unwrap_or_default();
        let line = valid.matches('\n').count() as u64 + 1;
        let column = valid
            .rsplit('\n')
            .next()
            .unwrap_or_default()
            .chars()
            .count() as u64
            + 1;
        Diagnostics::from(vec![
            Diagnostic::new(path, "", "the file is not valid UTF-8 text")
                .at(line, column)
                .help("save it as UTF-8 (a Latin-1 or Windows editor setting, or a binary file)"),
        ])
    })
}

/// Parses, interpolates, validates and resolves one state file's text.
pub fn load_str(path: &Path, source: &str, lookup: EnvLookup) -> Result<DesiredState, Diagnostics> {
    load_with(path, source, lookup, interpolate::Unset::Report)
}

fn load_with(
    path: &Path,
    source: &str,
    lookup: EnvLookup,
    mut unset: interpolate::Unset,
) -> Result<DesiredState, Diagnostics> {
    let parsed = parse(path, source)?;
    let located = Located::parse(source).unwrap_or_default();
    let at = |finding: validate::Finding| {
        let (line, column) = located.find(&finding.path);
        let mut diagnostic =
            Diagnostic::new(path, finding.path.trim_end_matches("#key"), finding.message)
                .at(line, column);
        diagnostic.help = finding.help;
        diagnostic
    };
    let mut value = serde_json::to_value(&parsed)
        .map_err(|error| Diagnostics::from(vec![Diagnostic::new(path, "", error.to_string())]))?;
    let findings = interpolate::interpolate(&mut value, lookup, reborrow(&mut unset));
    if !findings.is_empty() {
        return Err(Diagnostics::capped(findings, at));
    }
    let state: StateFile = serde_json::from_value(value)
        .map_err(|error| Diagnostics::from(vec![Diagnostic::new(path, "", error.to_string())]))?;
    let stem = path
        .file_stem()
        .and_then(|stem| stem.to_str())
        .unwrap_or_default();
    let mut findings = validate::check(&state, stem);
    // A finding about a field whose value is a placeholder says nothing about the file.
    if let interpolate::Unset::Placeholder(held) = &unset {
        findings.retain(|finding| {
            let path = finding.path.trim_end_matches("#key");
            !held.iter().any(|(field, _)| about_placeholder(path, field))
        });
    }
    if !findings.is_empty() {
        return Err(Diagnostics::capped(findings, at));
    }
    Ok(resolve::resolve(path, &state))
}

/// Whether a finding at `path` is about the placeholder at `field`: the field itself, inside it,
/// or the list it is an item of (duplicates, counts).
fn about_placeholder(path: &str, field: &str) -> bool {
    let inside = |outer: &str, inner: &str| {
        inner
            .strip_prefix(outer)
            .is_some_and(|rest| rest.starts_with('.'))
    };
    let item_of = |list: &str, item: &str| {
        item.strip_prefix(list)
            .and_then(|rest| rest.strip_prefix('.'))
            .is_some_and(|index| !index.is_empty() && index.bytes().all(|b| b.is_ascii_digit()))
    };
    path == field || inside(field, path) || item_of(path, field)
}

fn reborrow<'a>(unset: &'a mut interpolate::Unset<'_>) -> interpolate::Unset<'a> {
    match unset {
        interpolate::Unset::Report => interpolate::Unset::Report,
        interpolate::Unset::Placeholder(held) => interpolate::Unset::Placeholder(held),
    }
}

fn parse(path: &Path, source: &str) -> Result<StateFile, Diagnostics> {
    let mut field_path = String::new();
    let result = serde_saphyr::with_deserializer_from_str(source, |deserializer| {
        serde_path_to_error::deserialize(deserializer).map_err(|error| {
            field_path = error.path().to_string();
            error.into_inner()
        })
    });
    result.map_err(|error| {
        // The position tree, built once and only where a message needs it.
        let located = std::cell::OnceCell::new();
        let tree = || located.get_or_init(|| Located::parse(source)).as_ref();
        let (mut line, mut column): (u64, u64) = error
            .location()
            .map(|location| (location.line(), location.column()))
            .unwrap_or((0, 0));
        let raw = error.without_snippet().to_string();
        let mut field_path = clean_path(&field_path);
        let mut raw = strip_position(&raw).to_string();
        // A tagged backing entry is read whole, so the parser names only the entry: read it again
        // as its engine's type to find the field inside it, and point at that field.
        if raw.starts_with("invalid")
            && let Some((inner, message)) = inner_backing_error(source, &field_path)
            && let Some(located) = tree()
        {
            field_path = inner;
            (line, column) = located.find(&field_path);
            raw = message;
        }
        let (mut message, mut help, extra_segment) = explain(&raw);
        // An unclosed quote runs on to wherever the next quote is: point at where it opens.
        if raw.contains("quoted")
            && let Some((opened, at)) = unclosed_quote(source, line)
        {
            (line, column) = (opened, at);
            message = "a quoted value opens here and is not closed on its line".into();
            help = Some("close the quote at the end of the value, or remove it".into());
            field_path.clear();
        }
        // Inside a tagged entry (`backing.KEY`) the path stops at the entry: point at the key.
        let named = match message.strip_prefix("unknown key `") {
            Some(rest) => rest.strip_suffix('`'),
            None => message
                .starts_with("the version is written as a number")
                .then_some("version"),
        };
        if let Some(unknown) = named
            && !field_path.ends_with(unknown)
            && let Some(located) = tree()
        {
            let inner = format!("{field_path}.{unknown}");
            let position = located.find(&format!("{inner}#key"));
            if position != located.find(&format!("{field_path}#key")) {
                (line, column) = position;
                field_path = inner;
            }
        }
        if let Some(segment) = extra_segment {
            // A missing key is reported at the key of the mapping that lacks it, or where it is
            // written with the wrong indentation.
            if let Some(located) = tree() {
                (line, column) = located.find(&format!("{field_path}#key"));
            }
            if let Some((at, indent, expected)) = misindented(source, line, &segment) {
                let mut diagnostic = Diagnostic::new(
                    path,
                    format!("{field_path}.{segment}").trim_start_matches('.'),
                    format!(
                        "`{segment}:` is indented by {indent} spaces where the keys beside it have {expected}, so YAML reads it as part of the line above"
                    ),
                )
                .at(at, indent as u64 + 1);
                diagnostic.help = Some(format!("indent `{segment}:` by {expected} spaces"));
                return Diagnostics::from(vec![diagnostic]);
            }
            if !field_path.is_empty() {
                field_path.push('.');
            }
            field_path.push_str(&segment);
        }
        let mut diagnostic = Diagnostic::new(path, field_path, message).at(line, column);
        diagnostic.help = help;
        Diagnostics::from(vec![diagnostic])
    })
}

/// serde_path_to_error writes `.` for the root, `?` for a position it could not name and `[N]` for
/// a list item; field paths here are dotted throughout (`migrations.0.service`).
fn clean_path(raw: &str) -> String {
    raw.replace('[', ".")
        .replace(']', "")
        .split('.')
        .filter(|segment| !segment.is_empty() && *segment != "?")
        .collect::<Vec<_>>()
        .join(".")
}

/// The line and column where a quote opens that its line does not close, at or before `until`.
fn unclosed_quote(source: &str, until: u64) -> Option<(u64, u64)> {
    for (index, text) in source.lines().enumerate().take(until.max(1) as usize) {
        let mut open: Option<(char, usize)> = None;
        let mut previous = ' ';
        for (at, c) in text.char_indices() {
            match open {
                None if c == '#' && (previous == ' ' || at == 0) => break,
                None if (c == '"' || c == '\'')
                    && matches!(previous, ' ' | ':' | '[' | ',' | '-') =>
                {
                    open = Some((c, at));
                }
                Some(('"', _)) if c == '"' && previous != '\\' => open = None,
                Some(('\'', _)) if c == '\'' => open = None,
                _ => {}
            }
            previous = c;
        }
        if let Some((_, at)) = open {
            let column = text[..at].chars().count() as u64 + 1;
            return Some((index as u64 + 1, column));
        }
    }
    None
}

/// A line of the mapping that `reported` points into (its key, or one of its keys) that writes
/// `key:` indented less than the mapping's keys but more than its parent, which YAML does not read
/// as one of them: (its line, its indentation, theirs).
fn misindented(source: &str, reported: u64, key: &str) -> Option<(u64, usize, usize)> {
    let lines: Vec<&str> = source.lines().collect();
    let indent = |text: &str| text.len() - text.trim_start().len();
    let content = |index: usize| {
        lines
            .get(index)
            .filter(|text| !text.trim().is_empty() && !text.trim_start().starts_with('#'))
    };
    let at = reported.checked_sub(1)? as usize;
    let here = indent(content(at)?);
    let next = (at + 1..lines.len()).find_map(|index| content(index).map(|text| indent(text)));
    // The reported line is the mapping's own key (its keys follow, indented), or one of its keys.
    let (start, siblings, parent) = match next {
        Some(next) if next > here => (at + 1, next, here),
        _ => {
            let parent_line = (0..at)
                .rev()
                .find(|index| content(*index).is_some_and(|text| indent(text) < here))?;
            (parent_line + 1, here, indent(lines[parent_line]))
        }
    };
    for (index, text) in lines.iter().enumerate().skip(start) {
        if content(index).is_none() {
            continue;
        }
        let width = indent(text);
        if width <= parent {
            break;
        }
        if width < siblings && text.trim_start().starts_with(&format!("{key}:")) {
            return Some((index as u64 + 1, width, siblings));
        }
    }
    None
}

/// For an error the parser could place only at a backing entry (`backing.KEY`): the path of the
/// field inside the entry and the error there, from reading the entry as its engine's type.
fn inner_backing_error(source: &str, field_path: &str) -> Option<(String, String)> {
    let key = field_path.strip_prefix("backing.")?;
    if key.contains('.') {
        return None;
    }
    let document: serde_json::Value = serde_saphyr::from_str(source).ok()?;
    let mut entry = document.get("backing")?.get(key)?.clone();
    let engine = entry.as_object_mut()?.remove("engine")?;
    fn inner<T: serde::de::DeserializeOwned>(entry: serde_json::Value) -> Option<(String, String)> {
        match serde_path_to_error::deserialize::<_, T>(entry) {
            Ok(_) => None,
            Err(error) => Some((
                clean_path(&error.path().to_string()),
                error.into_inner().to_string(),
            )),
        }
    }
    let (path, message) = match engine.as_str()? {
        "postgres" => inner::<schema::PostgresSpec>(entry),
        "redis" => inner::<schema::RedisSpec>(entry),
        "rabbitmq" => inner::<schema::RabbitmqSpec>(entry),
        _ => None,
    }?;
    (!path.is_empty()).then(|| (format!("{field_path}.{path}"), message))
}

fn strip_position(message: &str) -> &str {
    let message = message.strip_prefix("error: ").unwrap_or(message);
    let message = match message.split_once(": ") {
        Some((head, rest)) if head.starts_with("line ") && head.contains(" column ") => rest,
        _ => message,
    };
    match message.rfind(" at line ") {
        Some(index) if message[index..].contains(", column ") => &message[..index],
        _ => message,
    }
    .lines()
    .next()
    .unwrap_or_default()
}

/// Rewrites the parser's message for people: (message, help, field to append to the path).
fn explain(message: &str) -> (String, Option<String>, Option<String>) {
    if let Some(rest) = message.strip_prefix("unknown field `")
        && let Some((field, expected)) = rest.split_once('`')
    {
        let options: Vec<&str> = expected
            .trim_start_matches(", expected one of ")
            .trim_start_matches(", expected ")
            .split(", ")
            .map(|option| option.trim_matches('`'))
            .filter(|option| !option.is_empty())
            .collect();
        let help = match closest(field, &options) {
            Some(best) => format!(
                "did you mean `{best}`? valid keys here: {}",
                options.join(", ")
            ),
            None => format!("valid keys here: {}", options.join(", ")),
        };
        return (format!("unknown key `{field}`"), Some(help), None);
    }
    if let Some(rest) = message.strip_prefix("unknown variant `")
        && let Some((variant, expected)) = rest.split_once('`')
    {
        let options: Vec<&str> = expected
            .trim_start_matches(", expected one of ")
            .trim_start_matches(", expected ")
            .split(", ")
            .map(|option| option.trim_matches('`'))
            .collect();
        let help = match closest(variant, &options) {
            Some(best) => format!("did you mean `{best}`? one of: {}", options.join(", ")),
            None => format!("one of: {}", options.join(", ")),
        };
        return (format!("unknown value `{variant}`"), Some(help), None);
    }
    if let Some(rest) = message.strip_prefix("missing field `")
        && let Some((field, _)) = rest.split_once('`')
    {
        return (
            format!("missing required key `{field}`"),
            Some(format!(
                "add `{field}:` here (`reconcile schema` lists every key)"
            )),
            Some(field.to_string()),
        );
    }
    if let Some(rest) = message.strip_prefix("duplicate mapping key: ") {
        let key = rest.split(',').next().unwrap_or(rest);
        return (
            format!("duplicate key `{key}`"),
            Some("keep one of the two entries".to_string()),
            None,
        );
    }
    let plain = |text: &str, help: &str| (text.to_string(), Some(help.to_string()), None);
    if let Some(number) = message.strip_prefix("version written as the number ") {
        return (
            "the version is written as a number".to_string(),
            Some(format!(
                "quote it, for example `version: \"{number}\"`: YAML reads an unquoted `3.10` as 3.1"
            )),
            None,
        );
    }
    if message.starts_with("invalid u32") || message.starts_with("invalid u16") {
        return plain(
            "expected a whole number",
            "write a non-negative integer without quotes",
        );
    }
    if message.starts_with("cannot deserialize null into string") {
        return plain("a value is required here", "write `''` for an empty string");
    }
    if message.starts_with("expected string scalar") {
        return plain(
            "expected a single value, not a list or mapping",
            "write a plain value; quote it if it contains `: ` or starts with a special character",
        );
    }
    if message.starts_with("expected sequence start") {
        return plain("expected a list", "write a list, for example `[a, b]`");
    }
    if message.starts_with("expected mapping start") || message.contains("expected a map") {
        return plain(
            "expected a mapping of keys to values",
            "write `key: value` pairs",
        );
    }
    if message.contains("invalid type: boolean")
        || message.starts_with("invalid boolean")
        || message.ends_with("expected a boolean")
    {
        return plain("expected true or false", "write `true` or `false`");
    }
    if message.starts_with("multiple YAML documents") {
        return plain(
            "the file holds more than one YAML document",
            "a state file is one document: remove the `---` line and what follows it, or move that to a file of its own",
        );
    }
    if message.starts_with("budget breached") {
        return plain(
            "the file is too large to read: more YAML nodes than a state file can hold",
            "a state file describes one environment by hand; check that this is the file you meant",
        );
    }
    (message.to_string(), None, None)
}

fn closest<'a>(word: &str, options: &[&'a str]) -> Option<&'a str> {
    options
        .iter()
        .map(|option| (strsim::damerau_levenshtein(word, option), *option))
        .filter(|(distance, option)| *distance <= 3.max(option.len() / 3))
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, option)| option)
}
