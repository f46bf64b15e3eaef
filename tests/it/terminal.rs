//! What a person sees on a real terminal: apply runs on a pseudo-terminal whose output is read
//! through a terminal emulator (vt100), screen by screen. While two rollouts run, both live lines
//! are on the screen at once, each with its numbers and elapsed time; when apply ends, each
//! step's final line is there and no spinner glyph is left anywhere; nor after plan and status.

use std::io::Read;
use std::process::Command;

use super::emulator::Fixture;
use super::support::reconcile_command;

const ROWS: u16 = 200;
const COLUMNS: u16 = 100;

/// Runs `command` with stdout and stderr on a pseudo-terminal of ROWS x COLUMNS; returns every
/// screen the terminal showed (after each read of its output) and the exit code.
fn on_a_terminal(mut command: Command) -> (Vec<String>, Option<i32>) {
    use rustix::pty::{OpenptFlags, grantpt, openpt, ptsname, unlockpt};
    let master = openpt(OpenptFlags::RDWR | OpenptFlags::NOCTTY).expect("a pseudo-terminal");
    grantpt(&master).unwrap();
    unlockpt(&master).unwrap();
    let name = ptsname(&master, Vec::new()).unwrap();
    let terminal = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(name.to_str().unwrap())
        .unwrap();
    rustix::termios::tcsetwinsize(
        &terminal,
        rustix::termios::Winsize {
            ws_row: ROWS,
            ws_col: COLUMNS,
            ws_xpixel: 0,
            ws_ypixel: 0,
        },
    )
    .unwrap();
    command
        .stdout(terminal.try_clone().unwrap())
        .stderr(terminal);
    let mut child = command.spawn().expect("the reconcile binary runs");
    drop(command);
    let mut output = std::fs::File::from(master);
    let mut parser = vt100::Parser::new(ROWS, COLUMNS, 0);
    let mut screens = Vec::new();
    let mut buffer = [0u8; 4096];
    // Linux answers EIO once the last holder of the terminal side has closed it.
    while let Ok(read) = output.read(&mut buffer) {
        if read == 0 {
            break;
        }
        parser.process(&buffer[..read]);
        // Row by row, as the terminal shows them (a full-width row is not joined to the next).
        let rows: Vec<String> = parser.screen().rows(0, COLUMNS).collect();
        screens.push(rows.join("\n"));
    }
    (screens, child.wait().unwrap().code())
}

fn is_glyph(c: char) -> bool {
    // indicatif's spinner frames are braille patterns.
    ('\u{2800}'..='\u{28ff}').contains(&c)
}

/// The screen's live lines: those that start with a spinner frame.
fn live_lines(screen: &str) -> Vec<&str> {
    screen
        .lines()
        .filter(|line| line.trim_start().chars().next().is_some_and(is_glyph))
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn two_rollouts_show_two_live_lines_and_leave_no_glyph_behind() {
    let fixture = Fixture::production_applied().await;
    fixture
        .state
        .edit("production", "tag: v1.8.0 ", "tag: v1.9.0 ");
    let endpoint = fixture.emulator.endpoint();
    let state = fixture.state.path().to_str().unwrap().to_string();
    let mut command = reconcile_command(
        Some(&endpoint),
        Some(&fixture.seed),
        &["apply", "--env", "production", "--yes", "--state", &state],
    );
    command.env_remove("NO_COLOR").env("TERM", "xterm-256color");
    let (screens, code) = tokio::task::spawn_blocking(move || on_a_terminal(command))
        .await
        .unwrap();
    let last = screens.last().cloned().unwrap_or_default();
    assert_eq!(code, Some(0), "{last}");

    // A line says what is being waited for before the plan is there.
    assert!(
        screens.iter().any(|screen| live_lines(screen)
            .iter()
            .any(|line| line.contains("reading the live state of production"))),
        "no line while the live state was read"
    );
    // Both rollouts on the screen at once, each its own line with its live numbers.
    let both = screens.iter().find(|screen| {
        let live = live_lines(screen);
        let shows = |service: &str| {
            live.iter().any(|line| {
                line.contains(&format!("rollout {service} ")) && line.contains(" running, ")
            })
        };
        shows("kaapi-service") && shows("kaapi-celery-task")
    });
    let both = both.unwrap_or_else(|| {
        panic!(
            "never both rollouts' lines at once; the screens with a live line:\n{}",
            screens
                .iter()
                .filter(|s| !live_lines(s).is_empty())
                .map(|s| live_lines(s).join("\n"))
                .collect::<Vec<_>>()
                .join("\n---\n")
        )
    });
    let elapsed = |line: &str| {
        line.split_whitespace()
            .last()
            .and_then(|word| word.strip_suffix('s'))
            .is_some_and(|seconds| seconds.parse::<u64>().is_ok())
    };
    assert!(
        live_lines(both).iter().all(|line| elapsed(line)),
        "each live line ends with its elapsed time:\n{both}"
    );
    // The end: every step's final line, no live line, no glyph anywhere.
    for line in [
        "done     migration kaapi-task: uv run alembic upgrade head",
        "done     rollout kaapi-service: deployment completed",
        "done     rollout kaapi-celery-task: deployment completed",
        "Apply complete:",
    ] {
        assert!(last.contains(line), "{line:?} in\n{last}");
    }
    assert!(
        !last.chars().any(is_glyph),
        "a spinner glyph was left on the screen:\n{last}"
    );

    // Plan and status on a terminal: what they print, and no glyph behind.
    for (args, expected) in [
        (
            &["plan"][..],
            "No changes. production matches its state file",
        ),
        (&["status"][..], "kaapi-celery-task"),
    ] {
        let mut all = args.to_vec();
        all.extend(["--env", "production", "--state", &state]);
        let mut command = reconcile_command(Some(&endpoint), Some(&fixture.seed), &all);
        command.env_remove("NO_COLOR").env("TERM", "xterm-256color");
        let (screens, _) = tokio::task::spawn_blocking(move || on_a_terminal(command))
            .await
            .unwrap();
        let last = screens.last().cloned().unwrap_or_default();
        assert!(last.contains(expected), "{args:?}: {expected:?} in\n{last}");
        assert!(
            !last.chars().any(is_glyph),
            "{args:?}: a spinner glyph was left on the screen:\n{last}"
        );
    }
}
