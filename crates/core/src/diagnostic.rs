//! Errors in state files: where (file, line, column, field path), what is wrong, and how to fix it.

use std::fmt;
use std::path::{Path, PathBuf};

/// One problem found in a state file.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Diagnostic {
    pub file: PathBuf,
    /// 1-based line; 0 when the problem concerns the file as a whole.
    pub line: u64,
    /// 1-based column; 0 when unknown.
    pub column: u64,
    /// Dotted field path, for example `services.api.cpu`; empty for the document itself.
    pub path: String,
    pub message: String,
    /// How to fix it, when there is something useful to say.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub help: Option<String>,
}

impl Diagnostic {
    pub fn new(file: &Path, path: impl Into<String>, message: impl Into<String>) -> Self {
        Diagnostic {
            file: file.to_path_buf(),
            line: 0,
            column: 0,
            path: path.into(),
            message: message.into(),
            help: None,
        }
    }

    pub fn at(mut self, line: u64, column: u64) -> Self {
        self.line = line;
        self.column = column;
        self
    }

    pub fn help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file.display())?;
        if self.line > 0 {
            write!(f, ":{}:{}", self.line, self.column)?;
        }
        if self.path.is_empty() {
            write!(f, ": {}", self.message)?;
        } else {
            write!(f, ": {}: {}", self.path, self.message)?;
        }
        if let Some(help) = &self.help {
            write!(f, "\n  help: {help}")?;
        }
        Ok(())
    }
}

/// All problems found in one or more state files; loading stops before any AWS call when this is
/// non-empty. At most `Diagnostics::SHOWN` per file are kept (and located); `omitted` counts the
/// rest, so a file of thousands of mistakes is reported quickly and readably.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct Diagnostics {
    pub list: Vec<Diagnostic>,
    pub omitted: usize,
}

impl Diagnostics {
    /// How many problems of one file are shown.
    pub const SHOWN: usize = 50;

    /// For a pull-request comment: the files that passed, then each finding with its place.
    pub fn markdown(&self, ok: &[String]) -> String {
        let mut out = String::from("### validate\n\n");
        for file in ok {
            out.push_str(&format!("- ok: `{file}`\n"));
        }
        for d in &self.list {
            let place = if d.line > 0 {
                format!("{}:{}:{}", d.file.display(), d.line, d.column)
            } else {
                d.file.display().to_string()
            };
            let path = if d.path.is_empty() {
                String::new()
            } else {
                format!(" `{}`", d.path)
            };
            out.push_str(&format!("- **`{place}`**{path}: {}", d.message));
            if let Some(help) = &d.help {
                out.push_str(&format!(" (help: {help})"));
            }
            out.push('\n');
        }
        if self.omitted > 0 {
            out.push_str(&format!("- and {} more\n", self.omitted));
        }
        out
    }

    /// The first `SHOWN` of `problems`, each turned into a diagnostic by `locate` (only those are
    /// located), and the count of the rest.
    pub fn capped<T>(problems: Vec<T>, locate: impl FnMut(T) -> Diagnostic) -> Self {
        let omitted = problems.len().saturating_sub(Self::SHOWN);
        Diagnostics {
            list: problems.into_iter().take(Self::SHOWN).map(locate).collect(),
            omitted,
        }
    }
}

impl From<Vec<Diagnostic>> for Diagnostics {
    fn from(list: Vec<Diagnostic>) -> Self {
        Diagnostics { list, omitted: 0 }
    }
}

impl fmt::Display for Diagnostics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (index, diagnostic) in self.list.iter().enumerate() {
            if index > 0 {
                writeln!(f)?;
            }
            write!(f, "error: {diagnostic}")?;
        }
        if self.omitted > 0 {
            write!(
                f,
                "\n... and {} more errors not shown: fix these first, then validate again",
                self.omitted
            )?;
        }
        let count = self.list.len() + self.omitted;
        if count > 1 {
            write!(f, "\n{count} errors in state files")?;
        }
        Ok(())
    }
}
