//! Actions (Terraform >= 1.14): `ValidateActionConfig` and `PlanAction` decode the configuration and let the
//! provider check it; `InvokeAction` runs the action on its own task and streams its progress messages, then one
//! completion event with its diagnostics. An engine that closes the stream ends the task.

use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_stream::Stream;
use tonic::Status;

use super::{ProviderService, diags, one, unknown_type};
use crate::convert::decode;
use crate::diag::Diagnostic;
use crate::proto::tfplugin6 as pb;
use crate::server::{ActionProgress, ProviderServer};
use crate::types::Type;
use crate::value::Value;

use pb::invoke_action::event::{Completed, Progress, Type as EventType};

impl<P: ProviderServer> ProviderService<P> {
    fn action_config(&self, type_name: &str, config: Option<&pb::DynamicValue>) -> Result<Value, Diagnostic> {
        let ty: &Type = self.action_types.get(type_name).ok_or_else(|| unknown_type("action type", type_name))?;
        decode(config, ty, "action configuration")
    }

    /// `ValidateActionConfig`: decodes the configuration against the action's schema and lets the provider check it.
    pub(super) async fn validate_action(
        &self,
        req: pb::validate_action_config::Request,
    ) -> pb::validate_action_config::Response {
        let diagnostics = match self.action_config(&req.type_name, req.config.as_ref()) {
            Ok(config) => diags(self.provider.validate_action_config(&req.type_name, config).await),
            Err(d) => one(d),
        };
        pb::validate_action_config::Response { diagnostics }
    }

    /// `PlanAction`: the provider's plan-time checks of an invocation. Nothing is deferred.
    pub(super) async fn plan_action_call(&self, req: pb::plan_action::Request) -> pb::plan_action::Response {
        let diagnostics = match self.action_config(&req.action_type, req.config.as_ref()) {
            Ok(config) => diags(self.provider.plan_action(&req.action_type, config, self.stop_token()).await),
            Err(d) => one(d),
        };
        pb::plan_action::Response { diagnostics, deferred: None }
    }

    /// `InvokeAction`: progress events as the provider reports them, then the completion event.
    pub(super) fn invoke(&self, req: pb::invoke_action::Request) -> InvokeEvents {
        let (tx, rx) = mpsc::unbounded_channel();
        let config = match self.action_config(&req.action_type, req.config.as_ref()) {
            Ok(config) if config.is_wholly_known() => config,
            Ok(_) => {
                let d = Diagnostic::error(
                    "Action configuration not known",
                    format!("{} was invoked with values not known yet; this is a bug in the engine.", req.action_type),
                );
                return InvokeEvents::done(&tx, rx, one(d));
            }
            Err(d) => return InvokeEvents::done(&tx, rx, one(d)),
        };
        let (provider, stop) = (self.provider.clone(), self.stop_token());
        let sink = tx.clone();
        let progress = ActionProgress::new(move |message| {
            // The engine may have closed the stream; the task then ends with it.
            let _ = sink.send(EventType::Progress(Progress { message }));
        });
        let task = tokio::spawn(async move {
            let ds = provider.invoke_action(&req.action_type, config, progress, stop).await;
            let _ = tx.send(EventType::Completed(Completed { diagnostics: diags(ds) }));
        });
        InvokeEvents { rx, task: Some(task), finished: false }
    }
}

/// The event stream of one invocation: it ends after the completion event, and aborts the invocation's task when
/// dropped (the engine went away).
pub struct InvokeEvents {
    rx: mpsc::UnboundedReceiver<EventType>,
    task: Option<JoinHandle<()>>,
    finished: bool,
}

impl InvokeEvents {
    fn done(
        tx: &mpsc::UnboundedSender<EventType>,
        rx: mpsc::UnboundedReceiver<EventType>,
        diagnostics: Vec<pb::Diagnostic>,
    ) -> Self {
        let _ = tx.send(EventType::Completed(Completed { diagnostics }));
        Self { rx, task: None, finished: false }
    }
}

impl Stream for InvokeEvents {
    type Item = Result<pb::invoke_action::Event, Status>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        if self.finished {
            return Poll::Ready(None);
        }
        match self.rx.poll_recv(cx) {
            Poll::Ready(Some(event)) => {
                self.finished = matches!(event, EventType::Completed(_));
                Poll::Ready(Some(Ok(pb::invoke_action::Event { r#type: Some(event) })))
            }
            Poll::Ready(None) => {
                // The task ended without a completion event: it panicked.
                self.finished = true;
                let d =
                    Diagnostic::error("Action failed", "The action ended without a result; this is a provider bug.");
                let event = EventType::Completed(Completed { diagnostics: one(d) });
                Poll::Ready(Some(Ok(pb::invoke_action::Event { r#type: Some(event) })))
            }
            Poll::Pending => Poll::Pending,
        }
    }
}

impl Drop for InvokeEvents {
    fn drop(&mut self) {
        if let Some(task) = &self.task {
            task.abort();
        }
    }
}
