//! go-plugin's companion services: health, controller (shutdown), stdio and broker.

use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::sync::watch;
use tokio_stream::Stream;
use tonic::{Request, Response, Status, Streaming};

use crate::proto::health::health_check_response::ServingStatus;
use crate::proto::health::{HealthCheckRequest, HealthCheckResponse, health_server};
use crate::proto::plugin::{self, ConnInfo, StdioData, grpc_broker_server, grpc_controller_server, grpc_stdio_server};

/// The name go-plugin clients ask the health service about.
pub const HEALTH_SERVICE_NAME: &str = "plugin";

/// Fired once when the engine asks the plugin to shut down; long-lived streams end with it.
#[derive(Clone)]
pub struct ShutdownSignal {
    tx: watch::Sender<bool>,
}

impl ShutdownSignal {
    /// A signal that has not fired.
    pub fn new() -> Self {
        Self { tx: watch::channel(false).0 }
    }
    /// Fires the signal.
    pub fn fire(&self) {
        self.tx.send_replace(true);
    }
    /// Completes once the signal has fired.
    pub fn fired(&self) -> impl Future<Output = ()> + Send + 'static {
        let mut rx = self.tx.subscribe();
        async move {
            let _ = rx.wait_for(|f| *f).await;
        }
    }
}

impl Default for ShutdownSignal {
    fn default() -> Self {
        Self::new()
    }
}

/// A stream that yields nothing and ends at shutdown, so graceful shutdown is not held up by idle streams.
pub struct UntilShutdown<T> {
    done: Pin<Box<dyn Future<Output = ()> + Send>>,
    _item: PhantomData<fn() -> T>,
}

impl<T> UntilShutdown<T> {
    fn new(signal: &ShutdownSignal) -> Self {
        Self { done: Box::pin(signal.fired()), _item: PhantomData }
    }
}

impl<T> Stream for UntilShutdown<T> {
    type Item = Result<T, Status>;
    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.done.as_mut().poll(cx).map(|()| None)
    }
}

/// `grpc.health.v1.Health`: the plugin is serving while the process runs.
pub struct Health {
    /// Ends `Watch` streams at shutdown.
    pub shutdown: ShutdownSignal,
}

fn health_status(service: &str) -> Result<HealthCheckResponse, Status> {
    if service.is_empty() || service == HEALTH_SERVICE_NAME {
        Ok(HealthCheckResponse { status: ServingStatus::Serving as i32 })
    } else {
        Err(Status::not_found(format!("unknown service {service:?}")))
    }
}

#[tonic::async_trait]
impl health_server::Health for Health {
    async fn check(&self, request: Request<HealthCheckRequest>) -> Result<Response<HealthCheckResponse>, Status> {
        health_status(&request.get_ref().service).map(Response::new)
    }

    type WatchStream = Pin<Box<dyn Stream<Item = Result<HealthCheckResponse, Status>> + Send>>;

    async fn watch(&self, request: Request<HealthCheckRequest>) -> Result<Response<Self::WatchStream>, Status> {
        let first = health_status(&request.get_ref().service)?;
        let rest = UntilShutdown::<HealthCheckResponse>::new(&self.shutdown);
        Ok(Response::new(Box::pin(tokio_stream::StreamExt::chain(tokio_stream::once(Ok(first)), rest))))
    }
}

/// `plugin.GRPCController`: `Shutdown` ends the plugin cleanly.
pub struct Controller {
    /// Fired by `Shutdown`.
    pub shutdown: ShutdownSignal,
}

#[tonic::async_trait]
impl grpc_controller_server::GrpcController for Controller {
    async fn shutdown(&self, _: Request<plugin::Empty>) -> Result<Response<plugin::Empty>, Status> {
        tracing::debug!("shutdown requested by the engine");
        self.shutdown.fire();
        Ok(Response::new(plugin::Empty {}))
    }
}

/// `plugin.GRPCStdio`: the provider logs to stderr directly, so the stream stays open and idle.
pub struct Stdio {
    /// Ends the stream at shutdown.
    pub shutdown: ShutdownSignal,
}

#[tonic::async_trait]
impl grpc_stdio_server::GrpcStdio for Stdio {
    type StreamStdioStream = UntilShutdown<StdioData>;

    async fn stream_stdio(&self, _: Request<()>) -> Result<Response<Self::StreamStdioStream>, Status> {
        Ok(Response::new(UntilShutdown::new(&self.shutdown)))
    }
}

/// `plugin.GRPCBroker`: this server brokers no extra connections; the stream stays open and idle.
pub struct Broker {
    /// Ends the stream at shutdown.
    pub shutdown: ShutdownSignal,
}

#[tonic::async_trait]
impl grpc_broker_server::GrpcBroker for Broker {
    type StartStreamStream = UntilShutdown<ConnInfo>;

    async fn start_stream(&self, _: Request<Streaming<ConnInfo>>) -> Result<Response<Self::StartStreamStream>, Status> {
        Ok(Response::new(UntilShutdown::new(&self.shutdown)))
    }
}
