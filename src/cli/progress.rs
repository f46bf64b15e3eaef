//! What a person sees while reconcile waits. On a terminal: a line at once while the live state
//! is read, and during apply one live line per step under way (each rollout, migration, backing
//! wait) with its elapsed time and live numbers, replaced by the step's final line when it ends,
//! leaving nothing behind. Off a terminal (CI logs): plain lines stamped with the seconds since
//! the apply began.

use std::collections::BTreeMap;
use std::io::{IsTerminal, Write};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::plan::Resource;

const TICK: Duration = Duration::from_millis(120);

fn style() -> ProgressStyle {
    ProgressStyle::with_template("{spinner:.cyan} {prefix:.bold} {msg} {elapsed:.dim}")
        .unwrap_or_else(|_| ProgressStyle::default_spinner())
}

fn on_terminal() -> bool {
    std::io::stderr().is_terminal()
}

/// One line saying what is being waited for before there is anything to show (the account, the
/// lock, the live state), on a terminal only; cleared when dropped.
pub(super) struct Waiting(Option<ProgressBar>);

impl Waiting {
    pub(super) fn start(what: &str) -> Self {
        Waiting(on_terminal().then(|| {
            let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr())
                .with_style(style())
                .with_message(what.to_string());
            bar.enable_steady_tick(TICK);
            bar
        }))
    }

    pub(super) fn say(&self, what: &str) {
        if let Some(bar) = &self.0 {
            bar.set_message(what.to_string());
        }
    }
}

impl Drop for Waiting {
    fn drop(&mut self) {
        if let Some(bar) = self.0.take() {
            bar.finish_and_clear();
        }
    }
}

/// The live lines of an apply's steps.
pub(super) struct Steps {
    started: Instant,
    live: Option<(MultiProgress, Mutex<BTreeMap<String, ProgressBar>>)>,
}

fn key(resource: &Resource) -> String {
    format!("{} {}", resource.kind.label(), resource.name)
}

impl Steps {
    pub(super) fn start() -> Self {
        Steps {
            started: Instant::now(),
            live: on_terminal().then(|| {
                (
                    MultiProgress::with_draw_target(ProgressDrawTarget::stderr()),
                    Mutex::new(BTreeMap::new()),
                )
            }),
        }
    }

    /// A step under way says where it is: its own live line, or a plain stamped one.
    pub(super) fn update(&self, resource: &Resource, line: String) {
        let Some((multi, bars)) = &self.live else {
            let _ = writeln!(
                anstream::stderr(),
                "[{:>4}s] {}: {line}",
                self.started.elapsed().as_secs(),
                key(resource)
            );
            return;
        };
        let Ok(mut bars) = bars.lock() else { return };
        let bar = bars.entry(key(resource)).or_insert_with(|| {
            let bar = multi.add(
                ProgressBar::new_spinner()
                    .with_style(style())
                    .with_prefix(key(resource)),
            );
            bar.enable_steady_tick(TICK);
            bar
        });
        bar.set_message(line);
    }

    /// A step ended: its live line goes, its final line is printed in its place.
    pub(super) fn ended(&self, resource: &Resource, print: impl FnOnce()) {
        let Some((multi, bars)) = &self.live else {
            print();
            return;
        };
        if let Ok(mut bars) = bars.lock()
            && let Some(bar) = bars.remove(&key(resource))
        {
            bar.finish_and_clear();
            multi.remove(&bar);
        }
        multi.suspend(print);
    }

    /// Every live line cleared (an apply that stopped leaves none behind).
    pub(super) fn finish(self) {
        if let Some((multi, bars)) = self.live {
            if let Ok(mut bars) = bars.lock() {
                for (_, bar) in std::mem::take(&mut *bars) {
                    bar.finish_and_clear();
                }
            }
            let _ = multi.clear();
        }
    }
}
