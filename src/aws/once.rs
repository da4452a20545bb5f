//! Requests that must not take effect twice. The SDK retries a request whose answer was lost (a reset
//! connection, a timeout) by sending it again; for a request like iam:CreatePolicyVersion that second copy acts
//! a second time (two identical versions). Such requests go out with the SDK's retries off, and after an
//! attempt that may have taken effect, a read decides whether another attempt is needed.

use std::future::Future;
use std::time::Duration;

use super::error::{AwsError, ErrorKind};

/// How often to try and how long to pause in between.
#[derive(Debug, Clone, Copy)]
pub struct Attempts {
    /// Attempts in all, the first included (the provider's `max_retries` + 1).
    pub max: u32,
    /// The first pause; it doubles up to `max_pause`.
    pub first_pause: Duration,
    /// The longest pause.
    pub max_pause: Duration,
}

impl Attempts {
    /// `max` attempts with the SDK's standard pauses (from 0.2 s, doubling, at most 5 s).
    pub fn new(max: u32) -> Attempts {
        Attempts { max: max.max(1), first_pause: Duration::from_millis(200), max_pause: Duration::from_secs(5) }
    }
}

/// Sends `send` until it succeeds, at most `attempts.max` times. After a failure that may have taken effect
/// (no answer, or a server error), `took_effect` looks: `Some(v)` ends with success without sending again.
/// Throttling is waited out; any other error ends at once.
pub async fn at_most_once<T, S, SFut, C, CFut>(
    attempts: Attempts,
    mut send: S,
    mut took_effect: C,
) -> Result<T, AwsError>
where
    S: FnMut() -> SFut,
    SFut: Future<Output = Result<T, AwsError>>,
    C: FnMut() -> CFut,
    CFut: Future<Output = Result<Option<T>, AwsError>>,
{
    let mut pause = attempts.first_pause;
    let mut attempt = 1;
    loop {
        let error = match send().await {
            Ok(v) => return Ok(v),
            Err(e) => e,
        };
        if error.may_have_taken_effect() {
            match took_effect().await {
                Ok(Some(v)) => return Ok(v),
                Ok(None) => {}
                // Cannot tell: sending again is only safe while the check can be made afterwards.
                Err(check) if attempt >= attempts.max => return Err(check),
                Err(_) => {}
            }
        } else if error.kind != ErrorKind::Transient {
            return Err(error);
        }
        if attempt >= attempts.max {
            return Err(error);
        }
        tracing::debug!(%error, attempt, pause_ms = pause.as_millis() as u64, "sending again");
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(attempts.max_pause);
        attempt += 1;
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use super::*;

    fn err(code: Option<&str>, unanswered: bool) -> AwsError {
        AwsError {
            service: "iam",
            operation: "CreatePolicyVersion",
            resource: "policy p".into(),
            code: code.map(str::to_string),
            message: String::new(),
            kind: match code {
                Some("Throttling" | "InternalError") => ErrorKind::Transient,
                _ => ErrorKind::Other,
            },
            unanswered,
        }
    }

    const FAST: Attempts =
        Attempts { max: 4, first_pause: Duration::from_millis(1), max_pause: Duration::from_millis(2) };

    /// A store that counts how often the write took effect; each scripted answer says whether the write happened
    /// and what the caller hears.
    async fn run(script: Vec<(bool, Result<(), AwsError>)>) -> (Result<(), AwsError>, u32, usize) {
        let applied = Mutex::new(0u32);
        let sent = Mutex::new(0usize);
        let script = Mutex::new(script.into_iter());
        let r = at_most_once(
            FAST,
            || async {
                *sent.lock().unwrap() += 1;
                let (effect, answer) = script.lock().unwrap().next().expect("no more answers scripted");
                if effect {
                    *applied.lock().unwrap() += 1;
                }
                answer
            },
            || async { Ok((*applied.lock().unwrap() > 0).then_some(())) },
        )
        .await;
        let (a, s) = (*applied.lock().unwrap(), *sent.lock().unwrap());
        (r, a, s)
    }

    #[tokio::test]
    async fn a_lost_answer_is_not_sent_again_when_it_took_effect() {
        let (r, applied, sent) = run(vec![(true, Err(err(None, true)))]).await;
        assert!(r.is_ok());
        assert_eq!((applied, sent), (1, 1));
    }

    #[tokio::test]
    async fn a_lost_request_and_throttling_are_sent_again() {
        let script = vec![
            (false, Err(err(None, true))),
            (false, Err(err(Some("Throttling"), false))),
            (false, Err(err(Some("InternalError"), false))),
            (true, Ok(())),
        ];
        let (r, applied, sent) = run(script).await;
        assert!(r.is_ok());
        assert_eq!((applied, sent), (1, 4));
    }

    #[tokio::test]
    async fn client_errors_end_at_once_and_attempts_are_bounded() {
        let (r, _, sent) = run(vec![(false, Err(err(Some("MalformedPolicyDocument"), false)))]).await;
        assert!(r.unwrap_err().is_code("MalformedPolicyDocument"));
        assert_eq!(sent, 1);
        let lost = || (false, Err(err(None, true)));
        let (r, applied, sent) = run(vec![lost(), lost(), lost(), lost()]).await;
        assert!(r.unwrap_err().unanswered);
        assert_eq!((applied, sent), (0, 4));
    }
}
