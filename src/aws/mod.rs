//! The only part of reconcile that talks to AWS. One module per AWS API (`ecs/`, `ecr`, `logs`,
//! `secrets` for Secrets Manager and SSM, `sts`, `lock` on DynamoDB, `backing/` with one file per
//! data-store API), and the two modules that call across them: `observe` (the reads of a plan)
//! and `apply` (executing a plan). This file holds the clients, the call log and the clocks.

pub mod apply;
pub mod backing;
pub mod ecr;
pub mod ecs;
mod error;
pub mod fence;
pub mod history;
pub mod import;
pub mod lock;
pub mod logs;
pub mod observe;
pub mod promote;
pub mod registry;
pub mod secrets;
pub mod stop;
pub mod sts;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

pub use error::{AwsError, is_sdk_detail};

use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::interceptors::context::{
    BeforeSerializationInterceptorContextRef, FinalizerInterceptorContextRef,
};
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;

/// The AWS clients of one region, plus a record of every API call they make.
#[derive(Clone, Debug)]
pub struct Aws {
    pub ecs: aws_sdk_ecs::Client,
    pub ecr: aws_sdk_ecr::Client,
    pub logs: aws_sdk_cloudwatchlogs::Client,
    pub sts: aws_sdk_sts::Client,
    /// Metadata reads (DescribeSecret). A value is read only to create a backing service that
    /// takes it as a parameter (Redis AUTH token, RabbitMQ admin password), and never shown.
    pub secretsmanager: aws_sdk_secretsmanager::Client,
    /// Metadata reads (DescribeParameters); a parameter's value only to create a backing service.
    pub ssm: aws_sdk_ssm::Client,
    pub rds: aws_sdk_rds::Client,
    pub elasticache: aws_sdk_elasticache::Client,
    pub mq: aws_sdk_mq::Client,
    /// The apply lock's table.
    pub dynamodb: aws_sdk_dynamodb::Client,
    /// The configuration the clients were built from (for more clients of the same region).
    pub config: SdkConfig,
    /// Region-wide reads shared with other environments' plans of the same cycle
    /// (`reconcile operate`); `None`: every read is this client's own.
    pub shared: Option<Arc<SharedReads>>,
    pub calls: CallLog,
    /// Lets writes through only while the apply's lease is confirmed and it is not stopping.
    pub fence: fence::Fence,
    /// Ends every wait when a signal asks the command to stop (`Stop::listen`).
    pub stop: stop::Stop,
}

impl Aws {
    /// Clients for `region` from the default credential chain (profiles, SSO, web identity, ...).
    /// `AWS_ENDPOINT_URL` and its per-service variants are honoured by aws-config.
    pub async fn connect(region: &str) -> Aws {
        let config = aws_config::defaults(BehaviorVersion::latest())
            .region(Region::new(region.to_string()))
            .retry_config(RetryConfig::standard().with_max_attempts(5))
            .timeout_config(
                TimeoutConfig::builder()
                    .connect_timeout(error::CONNECT_TIMEOUT)
                    .operation_attempt_timeout(
                        error::ATTEMPT_TIMEOUT.min(error::operation_timeout()),
                    )
                    .operation_timeout(error::operation_timeout())
                    .build(),
            )
            .load()
            .await;
        Aws::from_config(&config)
    }

    /// Clients built from an existing SDK configuration.
    pub fn from_config(config: &SdkConfig) -> Aws {
        let calls = CallLog::default();
        let fence = fence::Fence::default();
        // Every client records its calls in the same log.
        macro_rules! client {
            ($sdk:ident) => {
                $sdk::Client::from_conf(
                    $sdk::config::Builder::from(config)
                        .interceptor(calls.clone())
                        .interceptor(fence.clone())
                        .build(),
                )
            };
        }
        Aws {
            ecs: client!(aws_sdk_ecs),
            ecr: client!(aws_sdk_ecr),
            logs: client!(aws_sdk_cloudwatchlogs),
            sts: client!(aws_sdk_sts),
            secretsmanager: client!(aws_sdk_secretsmanager),
            ssm: client!(aws_sdk_ssm),
            rds: client!(aws_sdk_rds),
            elasticache: client!(aws_sdk_elasticache),
            mq: client!(aws_sdk_mq),
            dynamodb: client!(aws_sdk_dynamodb),
            config: config.clone(),
            shared: None,
            calls,
            fence,
            stop: stop::Stop::default(),
        }
    }
}

/// Seconds since the Unix epoch (0 if the clock is before it).
pub fn epoch_seconds() -> i64 {
    (epoch_nanos() / 1_000_000_000) as i64
}

/// Nanoseconds since the Unix epoch (0 if the clock is before it).
pub fn epoch_nanos() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|elapsed| elapsed.as_nanos())
        .unwrap_or_default()
}

/// A token unique to this process and moment (at most 36 characters, as ECS and Amazon MQ
/// accept): idempotency tokens, lock ownership.
pub fn unique_token() -> String {
    format!("reconcile-{:x}-{:x}", std::process::id(), epoch_nanos())
        .chars()
        .take(36)
        .collect()
}

/// Waits between status reads: 1 s, then doubling up to 15 s, so quick operations are seen
/// quickly and long ones are not polled more than every 15 s. A stop (a signal) ends the wait at
/// once with `AwsError::Interrupted`.
#[derive(Debug)]
pub struct Backoff {
    next: Duration,
    stop: stop::Stop,
}

impl Backoff {
    const FIRST: Duration = Duration::from_secs(1);
    const MOST: Duration = Duration::from_secs(15);

    pub fn new(stop: &stop::Stop) -> Self {
        Backoff {
            next: Self::FIRST,
            stop: stop.clone(),
        }
    }

    pub async fn wait(&mut self) -> Result<(), AwsError> {
        let interrupted = |signal: stop::Signal| AwsError::Interrupted {
            signal: signal.name(),
        };
        if let Some(signal) = self.stop.requested() {
            return Err(interrupted(signal));
        }
        tokio::select! {
            _ = tokio::time::sleep(self.next) => {}
            signal = self.stop.wait() => return Err(interrupted(signal)),
        }
        self.next = (self.next * 2).min(Self::MOST);
        Ok(())
    }
}

/// Region-wide reads that the plans of one operator cycle share when their environments share
/// an account and region: each is made once, by the first plan that needs it (the others wait
/// for it); a failed read is not kept, so the next plan tries again. Never used for the reads an
/// apply makes after it writes.
#[derive(Debug, Default)]
pub struct SharedReads {
    pub account: tokio::sync::OnceCell<String>,
    pub rds: tokio::sync::OnceCell<Vec<aws_sdk_rds::types::DbInstance>>,
    pub elasticache: tokio::sync::OnceCell<Vec<aws_sdk_elasticache::types::ReplicationGroup>>,
    pub mq: tokio::sync::OnceCell<Vec<aws_sdk_mq::types::BrokerSummary>>,
}

impl SharedReads {
    /// `read`, made once per cycle in `cell` when `aws` shares the cycle's reads, else made now.
    pub async fn once<T: Clone, F: Future<Output = Result<T, AwsError>>>(
        aws: &Aws,
        cell: fn(&SharedReads) -> &tokio::sync::OnceCell<T>,
        read: impl FnOnce() -> F,
    ) -> Result<T, AwsError> {
        match &aws.shared {
            Some(shared) => cell(shared).get_or_try_init(read).await.cloned(),
            None => read().await,
        }
    }
}

/// Every API operation the clients started, as `Service.Operation`, and how many ran at once at most.
#[derive(Clone, Debug, Default)]
pub struct CallLog {
    inner: Arc<CallLogInner>,
}

#[derive(Debug, Default)]
struct CallLogInner {
    operations: Mutex<Vec<String>>,
    /// The operations that ended in an error (after the SDK's retries), in order.
    errors: Mutex<Vec<String>>,
    in_flight: AtomicUsize,
    max_in_flight: AtomicUsize,
}

impl CallLog {
    /// The operations started so far, in order.
    pub fn operations(&self) -> Vec<String> {
        self.inner
            .operations
            .lock()
            .map(|ops| ops.clone())
            .unwrap_or_default()
    }

    /// The operations that failed so far, in order.
    pub fn errors(&self) -> Vec<String> {
        self.inner
            .errors
            .lock()
            .map(|ops| ops.clone())
            .unwrap_or_default()
    }

    /// How many operations were started so far.
    pub fn count(&self) -> usize {
        self.inner
            .operations
            .lock()
            .map(|ops| ops.len())
            .unwrap_or(0)
    }

    /// The most operations that were in flight at the same time.
    pub fn max_concurrency(&self) -> usize {
        self.inner.max_in_flight.load(Ordering::SeqCst)
    }

    /// Forgets what was recorded.
    pub fn reset(&self) {
        if let Ok(mut ops) = self.inner.operations.lock() {
            ops.clear();
        }
        if let Ok(mut ops) = self.inner.errors.lock() {
            ops.clear();
        }
        self.inner.max_in_flight.store(0, Ordering::SeqCst);
    }
}

impl Intercept for CallLog {
    fn name(&self) -> &'static str {
        "reconcile::CallLog"
    }

    fn read_before_execution(
        &self,
        _context: &BeforeSerializationInterceptorContextRef<'_>,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let now = self.inner.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        self.inner.max_in_flight.fetch_max(now, Ordering::SeqCst);
        Ok(())
    }

    fn read_before_serialization(
        &self,
        _context: &BeforeSerializationInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let name = cfg
            .load::<Metadata>()
            .map(|meta| format!("{}.{}", meta.service(), meta.name()))
            .unwrap_or_else(|| "unknown".into());
        tracing::debug!(operation = %name, "aws call");
        if let Ok(mut ops) = self.inner.operations.lock() {
            ops.push(name);
        }
        Ok(())
    }

    fn read_after_execution(
        &self,
        context: &FinalizerInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        self.inner.in_flight.fetch_sub(1, Ordering::SeqCst);
        if matches!(context.output_or_error(), Some(Err(_)))
            && let Ok(mut errors) = self.inner.errors.lock()
        {
            errors.push(
                cfg.load::<Metadata>()
                    .map(|meta| format!("{}.{}", meta.service(), meta.name()))
                    .unwrap_or_else(|| "unknown".into()),
            );
        }
        Ok(())
    }
}
