//! Stopping on SIGINT or SIGTERM without leaving a mess: the first signal is recorded, every wait
//! (`Backoff`) ends at once with `AwsError::Interrupted`, the caller closes the fence so nothing
//! more is written, and the command ends with a summary and exit code 130 or 143; a second
//! signal exits at once.

use std::pin::pin;
use std::sync::{Arc, Mutex};

use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::Notify;

/// A stopping signal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signal {
    Interrupt,
    Terminate,
}

impl Signal {
    pub fn name(self) -> &'static str {
        match self {
            Signal::Interrupt => "SIGINT",
            Signal::Terminate => "SIGTERM",
        }
    }

    /// 128 + the signal's number, as shells report a process a signal ended.
    pub fn exit_code(self) -> u8 {
        match self {
            Signal::Interrupt => 130,
            Signal::Terminate => 143,
        }
    }
}

impl std::fmt::Display for Signal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

#[derive(Debug, Default)]
struct Inner {
    signal: Mutex<Option<Signal>>,
    notify: Notify,
}

/// Whether a stop was asked for, and a way to wait for one. Clones share it.
#[derive(Debug, Clone, Default)]
pub struct Stop {
    inner: Arc<Inner>,
}

impl Stop {
    /// Listens for SIGINT and SIGTERM from now on: the first is recorded (and `on_first` told),
    /// a second ends the process at once with its exit code.
    pub fn listen(on_first: impl Fn(Signal) + Send + 'static) -> std::io::Result<Stop> {
        let stop = Stop::default();
        let mut interrupt = signal(SignalKind::interrupt())?;
        let mut terminate = signal(SignalKind::terminate())?;
        let handle = stop.clone();
        tokio::spawn(async move {
            loop {
                let signal = tokio::select! {
                    _ = interrupt.recv() => Signal::Interrupt,
                    _ = terminate.recv() => Signal::Terminate,
                };
                if handle.requested().is_some() {
                    std::process::exit(i32::from(signal.exit_code()));
                }
                handle.request(signal);
                on_first(signal);
            }
        });
        Ok(stop)
    }

    /// Records a stop and wakes every wait.
    pub fn request(&self, signal: Signal) {
        if let Ok(mut current) = self.inner.signal.lock() {
            current.get_or_insert(signal);
        }
        self.inner.notify.notify_waiters();
    }

    /// The signal that asked to stop, if one did.
    pub fn requested(&self) -> Option<Signal> {
        self.inner.signal.lock().ok().and_then(|signal| *signal)
    }

    /// Returns once a stop is asked for.
    pub async fn wait(&self) -> Signal {
        loop {
            let mut notified = pin!(self.inner.notify.notified());
            notified.as_mut().enable();
            if let Some(signal) = self.requested() {
                return signal;
            }
            notified.await;
        }
    }
}
