//! Values that refer to a backing service's outputs, such as `${postgres.address}:${postgres.port}`:
//! parsed once into literal text and references, rendered when the live outputs are known.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::model::BackingKind;

/// A string with `${KEY.OUTPUT}` references to backing services.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(into = "String", try_from = "String")]
pub struct Template {
    parts: Vec<Part>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Text(String),
    Output { backing: String, output: String },
}

impl Template {
    /// Parses `text`; `$${` is a literal `${`. Every `${...}` must read `KEY.OUTPUT`.
    pub fn parse(text: &str) -> Result<Template, String> {
        let mut parts = Vec::new();
        let mut literal = String::new();
        let mut rest = text;
        while let Some(index) = rest.find('$') {
            literal.push_str(&rest[..index]);
            let after = &rest[index..];
            if let Some(tail) = after.strip_prefix("$${") {
                literal.push_str("${");
                rest = tail;
            } else if let Some(tail) = after.strip_prefix("${") {
                let Some(end) = tail.find('}') else {
                    return Err(format!("unclosed reference `{after}`"));
                };
                let inner = &tail[..end];
                let Some((backing, output)) = inner.split_once('.') else {
                    return Err(format!("unknown reference `${{{inner}}}`"));
                };
                if !literal.is_empty() {
                    parts.push(Part::Text(std::mem::take(&mut literal)));
                }
                parts.push(Part::Output {
                    backing: backing.to_string(),
                    output: output.to_string(),
                });
                rest = &tail[end + 1..];
            } else {
                literal.push('$');
                rest = &after[1..];
            }
        }
        literal.push_str(rest);
        if !literal.is_empty() {
            parts.push(Part::Text(literal));
        }
        Ok(Template { parts })
    }

    /// The `(backing, output)` pairs referred to, in order.
    pub fn references(&self) -> impl Iterator<Item = (&str, &str)> {
        self.parts.iter().filter_map(|part| match part {
            Part::Output { backing, output } => Some((backing.as_str(), output.as_str())),
            Part::Text(_) => None,
        })
    }

    /// The reference when the whole value is exactly one `${KEY.OUTPUT}`.
    pub fn single_reference(&self) -> Option<(&str, &str)> {
        match self.parts.as_slice() {
            [Part::Output { backing, output }] => Some((backing, output)),
            _ => None,
        }
    }

    /// The text alone when there is no reference.
    pub fn literal(&self) -> Option<String> {
        match self.parts.as_slice() {
            [] => Some(String::new()),
            [Part::Text(text)] => Some(text.clone()),
            _ => None,
        }
    }

    /// The value with every reference replaced, or `None` while any output is unknown.
    pub fn render(&self, lookup: impl Fn(&str, &str) -> Option<String>) -> Option<String> {
        let mut out = String::new();
        for part in &self.parts {
            match part {
                Part::Text(text) => out.push_str(text),
                Part::Output { backing, output } => out.push_str(&lookup(backing, output)?),
            }
        }
        Some(out)
    }
}

impl fmt::Display for Template {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for part in &self.parts {
            match part {
                Part::Text(text) => f.write_str(&text.replace("${", "$${"))?,
                Part::Output { backing, output } => write!(f, "${{{backing}.{output}}}")?,
            }
        }
        Ok(())
    }
}

impl From<Template> for String {
    fn from(template: Template) -> String {
        template.to_string()
    }
}

impl TryFrom<String> for Template {
    type Error = String;
    fn try_from(text: String) -> Result<Template, String> {
        Template::parse(&text)
    }
}

/// The plain outputs a backing service of `kind` offers to container variables.
pub fn outputs(kind: BackingKind) -> &'static [&'static str] {
    match kind {
        BackingKind::Postgres | BackingKind::Redis => &["address", "port"],
        BackingKind::Rabbitmq => &["endpoint", "address", "port"],
    }
}

/// The secret outputs (usable under `secrets:` only): the RDS-managed master password.
pub fn secret_outputs(kind: BackingKind) -> &'static [&'static str] {
    match kind {
        BackingKind::Postgres => &["master_password"],
        BackingKind::Redis | BackingKind::Rabbitmq => &[],
    }
}

#[cfg(test)]
mod tests {
    use super::Template;

    #[test]
    fn parses_renders_and_round_trips() {
        let template = Template::parse("amqps://${mq.address}:${mq.port}/$${x}").unwrap();
        assert_eq!(
            template.references().collect::<Vec<_>>(),
            vec![("mq", "address"), ("mq", "port")]
        );
        let rendered = template.render(|backing, output| Some(format!("{backing}-{output}")));
        assert_eq!(rendered.as_deref(), Some("amqps://mq-address:mq-port/${x}"));
        assert_eq!(template.render(|_, _| None), None);
        assert_eq!(
            template.to_string(),
            "amqps://${mq.address}:${mq.port}/$${x}"
        );
        assert_eq!(
            Template::parse("a $${b} $5").unwrap().literal().as_deref(),
            Some("a ${b} $5")
        );
        assert!(Template::parse("${nodot}").is_err());
        assert!(Template::parse("${open").is_err());
    }
}
