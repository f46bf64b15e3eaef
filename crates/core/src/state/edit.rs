//! Edits a state file's text in place, changing one value and nothing else: every other byte,
//! comment, key order and quoting style stays as it was (what `reconcile image set` writes).

use super::locate::Located;

/// The image a state file should name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ImageValue {
    Tag(String),
    Digest(String),
}

impl ImageValue {
    fn key(&self) -> &'static str {
        match self {
            ImageValue::Tag(_) => "tag",
            ImageValue::Digest(_) => "digest",
        }
    }

    fn text(&self) -> &str {
        match self {
            ImageValue::Tag(text) | ImageValue::Digest(text) => text,
        }
    }
}

/// Why the value could not be edited in place.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EditError {
    #[error("the file is not valid YAML")]
    NotYaml,
    #[error("`image:` has neither `tag:` nor `digest:` to change")]
    NoImageValue,
    #[error("the value at line {line} is not a single-line scalar")]
    NotAScalar { line: u64 },
}

/// The byte offset of a 1-based line and character column.
fn offset(source: &str, line: u64, column: u64) -> Option<usize> {
    let start = source
        .split_inclusive('\n')
        .take(line.saturating_sub(1) as usize)
        .map(str::len)
        .sum::<usize>();
    let rest = &source[start..];
    let within = rest
        .char_indices()
        .nth(column.saturating_sub(1) as usize)
        .map(|(at, _)| at)?;
    Some(start + within)
}

/// The byte length of the scalar starting at `at`: a quoted string through its closing quote, a
/// plain one up to a comment, a flow separator or the end of the line.
fn scalar_len(source: &str, at: usize) -> Option<usize> {
    let rest = &source[at..];
    let line = rest.split('\n').next().unwrap_or_default();
    match line.chars().next()? {
        quote @ ('"' | '\'') => {
            let mut escaped = false;
            for (index, c) in line.char_indices().skip(1) {
                match c {
                    '\\' if quote == '"' && !escaped => escaped = true,
                    c if c == quote && !escaped => return Some(index + 1),
                    _ => escaped = false,
                }
            }
            None
        }
        _ => {
            let end = [" #", ",", "}", "]"]
                .iter()
                .filter_map(|stop| line.find(stop))
                .min()
                .unwrap_or(line.len());
            Some(line[..end].trim_end().len())
        }
    }
}

/// `value` as YAML writes it: plain when YAML reads it back as that same string, else quoted.
fn scalar(value: &str, quoted_before: Option<char>) -> String {
    let plain_safe = !value.is_empty()
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "._-:".contains(c))
        && value.parse::<f64>().is_err()
        && !matches!(
            value.to_ascii_lowercase().as_str(),
            "true" | "false" | "null" | "yes" | "no" | "on" | "off" | "~"
        );
    match quoted_before {
        Some('\'') => format!("'{}'", value.replace('\'', "''")),
        Some(_) => format!("\"{}\"", value.replace('\\', "\\\\").replace('"', "\\\"")),
        None if plain_safe => value.to_string(),
        None => format!("\"{value}\""),
    }
}

/// How the note `reconcile promote` writes ends (`# TAG from ENV (reconcile promote)`).
pub const PROMOTE_MARK: &str = "(reconcile promote)";

/// `source` with `image.tag` or `image.digest` set to `value` (the key changes when switching
/// between a tag and a digest); everything else byte for byte, except a note promote wrote on
/// that line, which goes with the value it described. `current` is the key the file holds now.
pub fn set_image(source: &str, current: &str, value: &ImageValue) -> Result<String, EditError> {
    set_image_with_note(source, current, value, None)
}

/// [`set_image`], and with a `note` the line's comment becomes `# NOTE` (where the old comment
/// started, else two spaces after the value): what `reconcile promote` writes beside a digest
/// (the tag it had in the source environment), which the next promote replaces.
pub fn set_image_with_note(
    source: &str,
    current: &str,
    value: &ImageValue,
    note: Option<&str>,
) -> Result<String, EditError> {
    let located = Located::parse(source).ok_or(EditError::NotYaml)?;
    let path = format!("image.{current}");
    let (line, column) = located.find(&path);
    let (key_line, key_column) = located.find(&format!("{path}#key"));
    let (image_line, image_column) = located.find("image");
    if (line, column) == (image_line, image_column) {
        return Err(EditError::NoImageValue);
    }
    let at = offset(source, line, column).ok_or(EditError::NotAScalar { line })?;
    let len = scalar_len(source, at).ok_or(EditError::NotAScalar { line })?;
    let quote = source[at..]
        .chars()
        .next()
        .filter(|c| *c == '"' || *c == '\'');
    let mut out = String::with_capacity(source.len() + 80);
    let key_at = offset(source, key_line, key_column).ok_or(EditError::NotAScalar { line })?;
    if current != value.key() && source[key_at..].starts_with(current) {
        out.push_str(&source[..key_at]);
        out.push_str(value.key());
        out.push_str(&source[key_at + current.len()..at]);
    } else {
        out.push_str(&source[..at]);
    }
    out.push_str(&scalar(value.text(), quote));
    let rest = &source[at + len..];
    let line_end = rest.find('\n').unwrap_or(rest.len());
    // A note promote wrote is about the value it set: it goes with that value.
    let promote_note = rest[..line_end]
        .find(" #")
        .filter(|_| rest[..line_end].trim_end().ends_with(PROMOTE_MARK));
    match note {
        None => match promote_note {
            Some(comment) => {
                out.push_str(rest[..comment].trim_end());
                out.push_str(&rest[line_end..]);
            }
            None => out.push_str(rest),
        },
        Some(note) => {
            let line = &rest[..line_end];
            match line.find(" #") {
                Some(comment) => out.push_str(&line[..=comment]),
                None => out.push_str(&format!("{}  ", line.trim_end())),
            }
            out.push_str(&format!("# {}", note.replace('\n', " ")));
            out.push_str(&rest[line_end..]);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn changed_lines(before: &str, after: &str) -> Vec<(String, String)> {
        before
            .lines()
            .zip(after.lines())
            .filter(|(a, b)| a != b)
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect()
    }

    #[test]
    fn the_example_files_change_in_one_line_with_every_comment_kept() {
        let production = include_str!("../../../../state/production.yaml");
        let after = set_image(production, "tag", &ImageValue::Tag("v1.9.0".into())).unwrap();
        assert_eq!(after.lines().count(), production.lines().count());
        assert_eq!(
            changed_lines(production, &after),
            [(
                "  tag: v1.8.0                     # repository defaults to kaapi-repo".to_string(),
                "  tag: v1.9.0                     # repository defaults to kaapi-repo".to_string()
            )]
        );
        let staging = include_str!("../../../../state/staging.yaml");
        let digest = format!("sha256:{}", "0f".repeat(32));
        let after = set_image(staging, "tag", &ImageValue::Digest(digest.clone())).unwrap();
        let changed = changed_lines(staging, &after);
        assert_eq!(changed.len(), 1);
        assert_eq!(
            changed[0].1,
            changed[0]
                .0
                .replace("tag: v1.8.0-main.3", &format!("digest: {digest}"))
        );
        // And back from a digest to a tag.
        let back = set_image(&after, "digest", &ImageValue::Tag("v1.8.0-main.3".into())).unwrap();
        assert_eq!(back, staging);
    }

    #[test]
    fn a_note_replaces_the_comment_of_that_line_only() {
        let production = include_str!("../../../../state/production.yaml");
        let digest = format!("sha256:{}", "0f".repeat(32));
        let note = "v1.9.0-main.4 from staging (reconcile promote)";
        let after = set_image_with_note(
            production,
            "tag",
            &ImageValue::Digest(digest.clone()),
            Some(note),
        )
        .unwrap();
        assert_eq!(
            changed_lines(production, &after),
            [(
                "  tag: v1.8.0                     # repository defaults to kaapi-repo".to_string(),
                format!("  digest: {digest}                     # {note}")
            )]
        );
        // The next promote replaces its own note; a line without a comment gets one.
        let again = set_image_with_note(
            &after,
            "digest",
            &ImageValue::Digest(digest.clone()),
            Some("v2 from staging (reconcile promote)"),
        )
        .unwrap();
        assert!(again.contains(&format!(
            "digest: {digest}                     # v2 from staging (reconcile promote)\n"
        )));
        // A plain `image set` afterwards drops the note that described the promoted digest.
        let set = set_image(&again, "digest", &ImageValue::Tag("v3".into())).unwrap();
        assert_eq!(
            changed_lines(production, &set),
            [(
                "  tag: v1.8.0                     # repository defaults to kaapi-repo".to_string(),
                "  tag: v3".to_string()
            )]
        );
        let bare = "image:\n  tag: v1\nservices: {}\n";
        assert_eq!(
            set_image_with_note(bare, "tag", &ImageValue::Digest(digest.clone()), Some("v1"))
                .unwrap(),
            format!("image:\n  digest: {digest}  # v1\nservices: {{}}\n")
        );
    }

    #[test]
    fn flow_style_and_quoted_values_keep_their_style() {
        let source = "image: { repository: shop, tag: \"v1\" }   # the shop\nservices: {}\n";
        let after = set_image(source, "tag", &ImageValue::Tag("v2".into())).unwrap();
        assert_eq!(
            after,
            "image: { repository: shop, tag: \"v2\" }   # the shop\nservices: {}\n"
        );
        // A tag YAML would read as a number is quoted.
        let source = "image:\n  tag: v1 # pinned\n";
        let after = set_image(source, "tag", &ImageValue::Tag("2024".into())).unwrap();
        assert_eq!(after, "image:\n  tag: \"2024\" # pinned\n");
        assert_eq!(
            set_image(
                "image:\n  repository: shop\n",
                "tag",
                &ImageValue::Tag("v2".into())
            ),
            Err(EditError::NoImageValue)
        );
    }
}
