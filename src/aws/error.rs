//! One error type for every AWS call: which service, operation and resource, what AWS said, and what to do.

use std::fmt;

use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};

/// How a failed AWS call is classified, to decide retries and advice.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// The resource does not exist.
    NotFound,
    /// The credentials lack a permission.
    AccessDenied,
    /// Throttled or a transient server error (already retried by the SDK).
    Transient,
    /// A conflict with concurrent changes or the resource's current state.
    Conflict,
    /// An earlier write has not reached AWS yet: one of the documented refusals of
    /// [`super::propagation::REFUSALS`], or a write crossrepl cannot read back yet. The only kind worth waiting out.
    Propagating,
    /// Anything else (invalid input, misconfiguration, network).
    Other,
}

/// A failed AWS call with its context.
#[derive(Debug, Clone)]
pub struct AwsError {
    /// `s3`, `iam`, `sts`.
    pub service: &'static str,
    /// The API operation, e.g. `PutBucketReplication`.
    pub operation: &'static str,
    /// What the call was about (bucket, role or policy), for the message.
    pub resource: String,
    /// The AWS error code, when AWS sent one.
    pub code: Option<String>,
    /// AWS's message, or the transport error chain.
    pub message: String,
    /// The classification.
    pub kind: ErrorKind,
    /// No answer came back (a lost connection, a timeout, an unreadable response): the request may have taken
    /// effect all the same.
    pub unanswered: bool,
}

impl AwsError {
    /// Builds the error of a failed SDK call.
    pub fn from_sdk<E, R>(
        service: &'static str,
        operation: &'static str,
        resource: impl Into<String>,
        err: SdkError<E, R>,
    ) -> AwsError
    where
        E: ProvideErrorMetadata + std::error::Error + 'static,
        R: fmt::Debug + 'static,
    {
        let unanswered =
            matches!(err, SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) | SdkError::ResponseError(_));
        let code = err.code().map(str::to_string);
        let message = err.message().map(str::to_string).unwrap_or_else(|| crate::error_chain(&err));
        let kind = classify(operation, code.as_deref(), &message);
        AwsError { service, operation, resource: resource.into(), code, message, kind, unanswered }
    }

    /// An error crossrepl raises itself about a call whose answer it cannot use (no AWS error code).
    pub fn local(
        service: &'static str,
        operation: &'static str,
        resource: impl Into<String>,
        message: impl Into<String>,
        kind: ErrorKind,
    ) -> AwsError {
        AwsError {
            service,
            operation,
            resource: resource.into(),
            code: None,
            message: message.into(),
            kind,
            unanswered: false,
        }
    }

    /// Whether the failed request may still have taken effect: AWS did not answer, or answered with a server
    /// error (500/503), after which a write may or may not have happened. Throttling and client errors mean it
    /// did not.
    pub fn may_have_taken_effect(&self) -> bool {
        self.unanswered
            || matches!(self.code.as_deref(), Some("InternalError" | "ServiceUnavailable" | "ServiceFailure"))
    }

    /// Whether AWS reported `code`.
    pub fn is_code(&self, code: &str) -> bool {
        self.code.as_deref() == Some(code)
    }

    /// The error and what to do next, as one message for a diagnostic's detail.
    pub fn with_advice(&self) -> String {
        format!("{self}.\n\n{}", self.advice())
    }

    /// What the user should do next.
    pub fn advice(&self) -> String {
        match self.kind {
            ErrorKind::AccessDenied => format!(
                "The credentials of this provider block lack the permission {}:{} on {}. Grant it (or use a profile \
                 or assume_role with it) and apply again.",
                self.service, self.operation, self.resource
            ),
            ErrorKind::NotFound => {
                format!("Check that {} exists in this provider block's account and region.", self.resource)
            }
            ErrorKind::Transient => {
                "AWS is throttling or failing transiently; apply again, or raise max_retries.".into()
            }
            ErrorKind::Conflict => "Another change to the same resource raced this one; apply again.".into(),
            ErrorKind::Propagating => {
                "AWS had not propagated an earlier change yet (eventual consistency) when crossrepl gave up waiting; \
                 check that the change is really there, then apply again."
                    .into()
            }
            ErrorKind::Other => {
                "Check the values in the configuration and the provider's endpoints and credentials.".into()
            }
        }
    }
}

fn classify(operation: &str, code: Option<&str>, message: &str) -> ErrorKind {
    if super::propagation::refusal(operation, code, message).is_some() {
        return ErrorKind::Propagating;
    }
    match code.unwrap_or_default() {
        "NoSuchBucket"
        | "NoSuchEntity"
        | "NoSuchBucketPolicy"
        | "ReplicationConfigurationNotFoundError"
        | "NotFound"
        | "NotFoundException"
        | "404" => ErrorKind::NotFound,
        "AccessDenied"
        | "AccessDeniedException"
        | "UnauthorizedOperation"
        | "InvalidClientTokenId"
        | "SignatureDoesNotMatch"
        | "ExpiredToken" => ErrorKind::AccessDenied,
        "Throttling"
        | "ThrottlingException"
        | "SlowDown"
        | "RequestLimitExceeded"
        | "InternalError"
        | "ServiceUnavailable"
        | "ServiceFailure"
        | "KMSInternalException"
        | "DependencyTimeoutException" => ErrorKind::Transient,
        "OperationAborted" | "ConcurrentModification" | "EntityTemporarilyUnmodifiable" => ErrorKind::Conflict,
        _ => ErrorKind::Other,
    }
}

impl fmt::Display for AwsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{} on {} failed", self.service, self.operation, self.resource)?;
        if let Some(code) = &self.code {
            write!(f, " ({code})")?;
        }
        if !self.message.is_empty() {
            write!(f, ": {}", self.message)?;
        }
        Ok(())
    }
}

impl std::error::Error for AwsError {}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(code: Option<&str>) -> AwsError {
        AwsError {
            service: "s3",
            operation: "PutBucketPolicy",
            resource: "bucket acme-dr".into(),
            code: code.map(str::to_string),
            message: "nope".into(),
            kind: classify("PutBucketPolicy", code, "nope"),
            unanswered: false,
        }
    }

    #[test]
    fn messages_name_service_operation_resource_and_advice() {
        let e = err(Some("AccessDenied"));
        assert_eq!(e.to_string(), "s3:PutBucketPolicy on bucket acme-dr failed (AccessDenied): nope");
        assert_eq!(e.kind, ErrorKind::AccessDenied);
        assert!(e.advice().contains("s3:PutBucketPolicy on bucket acme-dr"));
        assert_eq!(err(Some("NoSuchBucket")).kind, ErrorKind::NotFound);
        assert_eq!(err(Some("SlowDown")).kind, ErrorKind::Transient);
        assert_eq!(err(None).kind, ErrorKind::Other);
        // InvalidRequest is final, unless it is a listed propagation refusal of that operation.
        assert_eq!(err(Some("InvalidRequest")).kind, ErrorKind::Other);
        let versioning = "Versioning must be 'Enabled' on the bucket to apply a replication configuration";
        let put = super::super::propagation::PUT_REPLICATION;
        assert_eq!(classify(put, Some("InvalidRequest"), versioning), ErrorKind::Propagating);
        assert_eq!(classify(put, Some("InvalidRequest"), "Invalid Rule"), ErrorKind::Other);
    }

    #[test]
    fn only_lost_answers_and_server_errors_may_have_taken_effect() {
        assert!(err(Some("InternalError")).may_have_taken_effect());
        assert!(!err(Some("Throttling")).may_have_taken_effect());
        assert!(!err(Some("EntityAlreadyExists")).may_have_taken_effect());
        assert!(AwsError { unanswered: true, ..err(None) }.may_have_taken_effect());
        assert!(!err(None).may_have_taken_effect());
    }
}
