//! The fence between an apply and AWS: a write is sent only while the apply holds a lease it has
//! confirmed recently enough, and not at all once it is stopping (a signal). Every client of an
//! `Aws` carries it as an SDK interceptor, so no write can slip past, whichever module sends it;
//! the lock's own DynamoDB calls and every read pass.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::interceptors::context::BeforeSerializationInterceptorContextRef;
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;

#[derive(Debug, Clone)]
enum State {
    /// No lease involved (plan, drift, tests of single steps): writes pass.
    Open,
    /// A lease confirmed at `confirmed`, good for `valid_for` from then.
    Held {
        confirmed: Instant,
        valid_for: Duration,
    },
    /// Nothing more may be written, for this reason.
    Closed(String),
}

/// Shared by every client of one `Aws` and by the lock that keeps it.
#[derive(Debug, Clone)]
pub struct Fence {
    state: Arc<Mutex<State>>,
}

impl Default for Fence {
    fn default() -> Self {
        Fence {
            state: Arc::new(Mutex::new(State::Open)),
        }
    }
}

impl Fence {
    /// Whether `other` is this same fence (a clone of it).
    pub fn same(&self, other: &Fence) -> bool {
        Arc::ptr_eq(&self.state, &other.state)
    }

    fn set(&self, state: State) {
        if let Ok(mut current) = self.state.lock() {
            // Closed stays closed: a renewal that lands after a stop reopens nothing.
            if !matches!(*current, State::Closed(_)) {
                *current = state;
            }
        }
    }

    /// A lease was taken or renewed by a request sent at `sent`: writes pass until `valid_for`
    /// after it (the lease counts from when DynamoDB wrote it, which is later).
    pub fn confirm(&self, sent: Instant, valid_for: Duration) {
        let newer = match self.state.lock().map(|state| state.clone()) {
            Ok(State::Held { confirmed, .. }) => sent.max(confirmed),
            _ => sent,
        };
        self.set(State::Held {
            confirmed: newer,
            valid_for,
        });
    }

    /// Nothing more is written; `reason` says why to whoever tries.
    pub fn close(&self, reason: impl Into<String>) {
        if let Ok(mut state) = self.state.lock()
            && !matches!(*state, State::Closed(_))
        {
            *state = State::Closed(reason.into());
        }
    }

    /// `Ok` while a write may be sent; otherwise why not.
    pub fn check(&self) -> Result<(), String> {
        let state = self
            .state
            .lock()
            .map(|state| state.clone())
            .unwrap_or(State::Closed("the fence is poisoned".into()));
        match state {
            State::Open => Ok(()),
            State::Held {
                confirmed,
                valid_for,
            } => {
                let age = confirmed.elapsed();
                if age < valid_for {
                    Ok(())
                } else {
                    Err(format!(
                        "the apply lock was last confirmed {} s ago, longer than its lease allows: another apply may hold it now, so nothing more is written",
                        age.as_secs()
                    ))
                }
            }
            State::Closed(reason) => Err(reason),
        }
    }
}

/// Whether an operation only reads: it passes the fence whatever its state.
fn reads(operation: &str) -> bool {
    ["Describe", "List", "Get", "BatchGet"]
        .iter()
        .any(|prefix| operation.starts_with(prefix))
}

impl Intercept for Fence {
    fn name(&self) -> &'static str {
        "reconcile::Fence"
    }

    fn read_before_serialization(
        &self,
        _context: &BeforeSerializationInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let Some(metadata) = cfg.load::<Metadata>() else {
            return Ok(());
        };
        // The lock keeps itself: its renewals and release are how the fence is kept.
        if metadata.service() == "DynamoDB" || reads(metadata.name()) {
            return Ok(());
        }
        self.check()
            .map_err(|reason| BoxError::from(format!("{} not sent: {reason}", metadata.name())))
    }
}
