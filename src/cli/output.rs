//! How output reaches a person: standard output that ends quietly when the reader goes away
//! (`reconcile plan | head -1`), and an error's chain of causes, each said once.

use std::io::Write;

use crate::plan::Plan;
use crate::render;

/// The text plan, with every setting of what it creates under `--verbose`.
pub(super) fn text_plan(verbose: bool, plan: &Plan) -> String {
    if verbose {
        render::text_verbose(plan)
    } else {
        render::text(plan)
    }
}

/// Standard output (colour handled by `anstream`) that treats a closed pipe as the end of what
/// anyone wants to read: writes after it succeed silently, so the command still ends with the
/// exit code of what it found (0, or 2 for changes), not with "Broken pipe".
pub(super) fn stdout() -> QuietPipe<anstream::Stdout> {
    QuietPipe(anstream::stdout())
}

#[derive(Debug)]
pub(super) struct QuietPipe<W>(W);

fn quiet<T>(result: std::io::Result<T>, closed: T) -> std::io::Result<T> {
    match result {
        Err(error) if error.kind() == std::io::ErrorKind::BrokenPipe => Ok(closed),
        other => other,
    }
}

impl<W: Write> Write for QuietPipe<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        quiet(self.0.write(buf), buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        quiet(self.0.flush(), ())
    }
}

/// The error and its causes, as `anyhow` joins them (`a: b: c`), without the SDK's own error
/// behind an AWS call: its code and message are already in the call's text.
pub(super) fn error_text(error: &anyhow::Error) -> String {
    error
        .chain()
        .take_while(|cause| !crate::aws::is_sdk_detail(*cause))
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(": ")
}

/// Refuses `--output` other than text for a command that has no other form (exit 1).
pub fn text_only(output: super::args::Output, what: &str) -> anyhow::Result<()> {
    if output != super::args::Output::Text {
        anyhow::bail!("{what} in text only\n  help: leave out --output");
    }
    Ok(())
}
