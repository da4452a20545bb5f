//! Bounded retries with backoff for what AWS makes eventually consistent (new IAM roles, fresh versioning),
//! ending promptly when the engine asks the provider to stop.

use std::future::Future;
use std::time::Duration;

use tfplugin::StopToken;

use crate::aws::AwsError;

/// Why a retried call gave up.
#[derive(Debug)]
pub enum RetryError {
    /// The last error, after the time budget ran out or on an error not worth retrying.
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

/// Runs `call` until it succeeds, `retryable` says an error is final, the budget is spent, or `stop` fires.
pub async fn retry<T, F, Fut>(
    stop: &StopToken,
    backoff: Backoff,
    retryable: impl Fn(&AwsError) -> bool,
    mut call: F,
) -> Result<T, RetryError>
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
            Ok(v) => return Ok(v),
            Err(e) => e,
        };
        if !retryable(&error) || spent + pause > backoff.budget {
            return Err(RetryError::Failed { error, attempts });
        }
        tracing::debug!(%error, attempt = attempts, pause_ms = pause.as_millis() as u64, "retrying");
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
    use crate::aws::ErrorKind;

    fn err(code: &str) -> AwsError {
        AwsError {
            code: Some(code.into()),
            ..AwsError::local("s3", "PutBucketReplication", "bucket b", "", ErrorKind::Other)
        }
    }

    const FAST: Backoff =
        Backoff { first: Duration::from_millis(1), max: Duration::from_millis(4), budget: Duration::from_millis(50) };

    #[tokio::test]
    async fn retries_until_success() {
        let n = AtomicU32::new(0);
        let r = retry(
            &StopToken::never(),
            FAST,
            |_| true,
            || async { if n.fetch_add(1, Ordering::SeqCst) < 3 { Err(err("InvalidRequest")) } else { Ok(7) } },
        )
        .await;
        assert_eq!(r.unwrap(), 7);
        assert_eq!(n.load(Ordering::SeqCst), 4);
    }

    #[tokio::test]
    async fn final_errors_and_budget_end_retries() {
        let r: Result<(), _> = retry(&StopToken::never(), FAST, |e| e.is_code("X"), || async { Err(err("Y")) }).await;
        assert!(matches!(r, Err(RetryError::Failed { attempts: 1, .. })));
        let r: Result<(), _> = retry(&StopToken::never(), FAST, |_| true, || async { Err(err("X")) }).await;
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
            tokio::spawn(async move { retry(&token, slow, |_| true, || async { Err::<(), _>(err("X")) }).await });
        tokio::time::sleep(Duration::from_millis(20)).await;
        stopper.stop();
        let r = tokio::time::timeout(Duration::from_secs(2), task).await.expect("prompt").unwrap();
        assert!(matches!(r, Err(RetryError::Stopped)));
    }
}
