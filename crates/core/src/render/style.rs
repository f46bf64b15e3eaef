//! The plan views' styles (ANSI, stripped by the caller's stream where colour is off) and words.

use anstyle::{AnsiColor, Style};

use crate::plan::Action;

pub(crate) const BOLD: Style = Style::new().bold();
pub(crate) const GREEN: Style = AnsiColor::Green.on_default();
pub(crate) const YELLOW: Style = AnsiColor::Yellow.on_default();
pub(crate) const RED: Style = AnsiColor::Red.on_default();
pub(crate) const CYAN: Style = AnsiColor::Cyan.on_default();
pub(crate) const DIM: Style = Style::new().dimmed();

pub(crate) fn paint(style: Style, text: &str) -> String {
    format!("{style}{text}{style:#}")
}

pub(crate) fn action_word(action: Action) -> &'static str {
    match action {
        Action::NoOp => "unchanged",
        Action::Create => "create",
        Action::Update => "update",
        Action::Replace => "replace",
        Action::Run => "run",
    }
}
