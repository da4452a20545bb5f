//! Bounded waits with backoff for what AWS makes eventually consistent: only errors of kind
//! [`ErrorKind::Propagating`] (the documented refusals of [`crate::aws::propagation`] and writes not readable
//! yet) are tried again; every other error is returned at once. A wait ends promptly when the engine asks the
//! provider to stop.

use std::future::Future;
use std::time::Duration;

use tfplugin::StopToken;

use crate::aws::{AwsError, ErrorKind, propagation};

/// Why a retried call gave up.
#[derive(Debug)]
pub enum RetryError {
    /// The last error: final at once, or still propagating when the time budget ran out.
    Failed {
        /// The last error.
        error: AwsError,
        /// How many attempts were made.
        attempts: u32,
    },
    /// The engine asked the provider to stop.
    Stopped,
}

impl std::fmt::Display for RetryError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RetryError::Failed { error, attempts: 1 } => write!(f, "{error}"),
            RetryError::Failed { error, attempts } => write!(f, "{error} (after {attempts} attempts)"),
            RetryError::Stopped => f.write_str("interrupted: the engine asked the provider to stop"),
        }
    }
}

/// How long and how often to retry.
#[derive(Debug, Clone, Copy)]
pub struct Backoff {
    /// The first pause.
    pub first: Duration,
    /// The longest pause.
    pub max: Duration,
    /// The total time budget for pauses.
    pub budget: Duration,
}

impl Backoff {
    /// For IAM propagation and S3 versioning propagation: seconds to about two minutes in all.
    pub const PROPAGATION: Backoff =
        Backoff { first: Duration::from_millis(500), max: Duration::from_secs(8), budget: Duration::from_secs(120) };
    /// For a write to become readable (S3 replication configuration): up to about half a minute.
    pub const VISIBILITY: Backoff =
        Backoff { first: Duration::from_millis(200), max: Duration::from_secs(4), budget: Duration::from_secs(30) };
}

/// Runs `call` until it succeeds, fails with an error that is not [`ErrorKind::Propagating`], the budget is
/// spent, or `stop` fires. Each wait is logged (INFO), and so is a success that needed waiting.
pub async fn retry<T, F, Fut>(stop: &StopToken, backoff: Backoff, mut call: F) -> Result<T, RetryError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, AwsError>>,
{
    let mut pause = backoff.first;
    let mut spent = Duration::ZERO;
    let mut attempts = 0;
    loop {
        if stop.is_stopped() {
            return Err(RetryError::Stopped);
        }
        attempts += 1;
        let error = match call().await {
            Ok(v) if attempts > 1 => {
                tracing::info!(attempts, waited_ms = spent.as_millis() as u64, "propagated: succeeded after waiting");
                return Ok(v);
            }
            Ok(v) => return Ok(v),
            Err(e) => e,
        };
        if error.kind != ErrorKind::Propagating || spent + pause > backoff.budget {
            return Err(RetryError::Failed { error, attempts });
        }
        let pause_ms = pause.as_millis() as u64;
        let waits_for = propagation::refusal(error.operation, error.code.as_deref(), &error.message)
            .map_or("a write to become readable", |r| r.waits_for);
        tracing::info!(%error, waits_for, attempt = attempts, pause_ms, "waiting for AWS to propagate an earlier change");
        tokio::select! {
            _ = tokio::time::sleep(pause) => {}
            _ = stop.stopped() => return Err(RetryError::Stopped),
        }
        spent += pause;
        pause = (pause * 2).min(backoff.max);
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU32, Ordering};

    use super::*;

    fn err(kind: ErrorKind) -> AwsError {
        AwsError::local("s3", "PutReplicationConfiguration", "bucket b", "", kind)
    }

    const FAST: Backoff =
        Backoff { first: Duration::from_millis(1), max: Duration::from_millis(4), budget: Duration::from_millis(50) };

    #[tokio::test]
    async fn retries_until_success() {
        let n = AtomicU32::new(0);
        let r = retry(&StopToken::never(), FAST, || async {
            if n.fetch_add(1, Ordering::SeqCst) < 3 { Err(err(ErrorKind::Propagating)) } else { Ok(7) }
        })
        .await;
        assert_eq!(r.unwrap(), 7);
        assert_eq!(n.load(Ordering::SeqCst), 4);
    }

    #[tokio::test]
    async fn final_errors_and_budget_end_retries() {
        for kind in [ErrorKind::AccessDenied, ErrorKind::Other, ErrorKind::Transient, ErrorKind::Conflict] {
            let r: Result<(), _> = retry(&StopToken::never(), FAST, || async { Err(err(kind)) }).await;
            assert!(matches!(r, Err(RetryError::Failed { attempts: 1, .. })), "{kind:?} was retried");
        }
        let r: Result<(), _> = retry(&StopToken::never(), FAST, || async { Err(err(ErrorKind::Propagating)) }).await;
        let Err(RetryError::Failed { attempts, .. }) = r else { panic!() };
        assert!(attempts > 3 && attempts < 60, "{attempts}");
    }

    #[tokio::test]
    async fn stop_ends_the_wait() {
        let stopper = tfplugin::Stopper::new();
        let token = stopper.token();
        let slow =
            Backoff { first: Duration::from_secs(30), max: Duration::from_secs(30), budget: Duration::from_secs(300) };
        let task =
            tokio::spawn(
                async move { retry(&token, slow, || async { Err::<(), _>(err(ErrorKind::Propagating)) }).await },
            );
        tokio::time::sleep(Duration::from_millis(20)).await;
        stopper.stop();
        let r = tokio::time::timeout(Duration::from_secs(2), task).await.expect("prompt").unwrap();
        assert!(matches!(r, Err(RetryError::Stopped)));
    }
}
