//! Serving a provider as a go-plugin plugin: the handshake, the listener, AutoMTLS and the gRPC server.

use std::io::Write;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use base64::Engine;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, UnixListener};
use tokio::sync::mpsc;
use tokio_rustls::TlsAcceptor;
use tonic::transport::server::Connected;

use crate::grpc::ProviderService;
use crate::proto::health::health_server::HealthServer;
use crate::proto::plugin::grpc_broker_server::GrpcBrokerServer;
use crate::proto::plugin::grpc_controller_server::GrpcControllerServer;
use crate::proto::plugin::grpc_stdio_server::GrpcStdioServer;
use crate::proto::tfplugin6::provider_server::ProviderServer as ProviderGrpcServer;
use crate::router::Router;
use crate::server::ProviderServer;
use crate::services::{Broker, Controller, Health, ShutdownSignal, Stdio};
use crate::tls::{self, TlsSetupError};

/// The environment variable OpenTofu and Terraform set to prove they launched the plugin.
pub const MAGIC_COOKIE_KEY: &str = "TF_PLUGIN_MAGIC_COOKIE";
/// Its expected value (public; it guards against running the plugin by hand, not against attackers).
pub const MAGIC_COOKIE_VALUE: &str = "d602bf8f470bc67ca7faa0386276bbdd4330efaf76d1a219cb4d6991ca9872b2";
/// go-plugin's own protocol version.
pub const CORE_PROTOCOL_VERSION: u32 = 1;
/// The plugin protocol version served: tfplugin6.
pub const PROTOCOL_VERSION: u32 = 6;
/// Largest gRPC message accepted or sent, as large as the Go SDK allows (tonic's default is 4 MiB).
pub const MAX_MESSAGE_SIZE: usize = 256 << 20;
/// How long a client may take to complete the TLS handshake.
const TLS_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// How to serve.
#[derive(Debug, Clone)]
pub struct ServeConfig {
    /// The provider's fully qualified source address, for the reattach line in debug mode.
    pub provider_address: String,
    /// Debug (reattach) mode: no cookie check, no TLS, print `TF_REATTACH_PROVIDERS` and serve until Ctrl-C.
    pub debug: bool,
}

/// Why the plugin could not serve.
#[derive(Debug)]
pub enum ServeError {
    /// Started by hand instead of by OpenTofu/Terraform.
    NotLaunchedByEngine,
    /// The engine speaks no protocol version this provider serves.
    ProtocolMismatch(String),
    /// The listener could not be set up.
    Listen(String),
    /// AutoMTLS could not be set up.
    Tls(TlsSetupError),
    /// The gRPC server failed.
    Transport(tonic::transport::Error),
}

impl std::fmt::Display for ServeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ServeError::NotLaunchedByEngine => f.write_str(
                "This binary is a plugin for OpenTofu and Terraform and is not meant to be run directly.\n\
                 Declare the provider in a configuration and run `tofu init` (or `terraform init`); \
                 for debugging, start it with --debug.",
            ),
            ServeError::ProtocolMismatch(offered) => write!(
                f,
                "This provider speaks plugin protocol {PROTOCOL_VERSION}, but the engine offered {offered}. \
                 Use OpenTofu ≥ 1.6 or Terraform ≥ 1.0."
            ),
            ServeError::Listen(e) => write!(f, "could not listen for the engine: {e}"),
            ServeError::Tls(e) => write!(f, "could not set up TLS: {e}"),
            ServeError::Transport(e) => write!(f, "gRPC server failed: {e}"),
        }
    }
}

impl std::error::Error for ServeError {}

/// Serves `provider` until the engine shuts it down (or, in debug mode, until Ctrl-C).
pub async fn serve<P: ProviderServer>(provider: P, config: ServeConfig) -> Result<(), ServeError> {
    if !config.debug {
        check_launch(
            std::env::var(MAGIC_COOKIE_KEY).ok().as_deref(),
            std::env::var("PLUGIN_PROTOCOL_VERSIONS").ok().as_deref(),
        )?;
    }
    let listener = Listener::bind()?;
    let tls = match std::env::var("PLUGIN_CLIENT_CERT") {
        Ok(pem) if !config.debug && !pem.trim().is_empty() => Some(tls::auto_mtls(&pem).map_err(ServeError::Tls)?),
        _ => None,
    };

    let shutdown = ShutdownSignal::new();
    let handshake = match &tls {
        Some(t) => base64::engine::general_purpose::STANDARD_NO_PAD.encode(&t.server_cert_der),
        None => String::new(),
    };
    let (network, address) = listener.address();
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    if config.debug {
        let reattach = reattach_json(&config.provider_address, network, &address);
        let _ = writeln!(
            out,
            "Provider started in debug mode. To attach OpenTofu or Terraform, set in their environment:\n\n\
             \tTF_REATTACH_PROVIDERS='{reattach}'\n"
        );
    } else {
        let _ = writeln!(out, "{CORE_PROTOCOL_VERSION}|{PROTOCOL_VERSION}|{network}|{address}|grpc|{handshake}");
    }
    let _ = out.flush();
    drop(out);

    spawn_signal_handler(config.debug, shutdown.clone());
    if !config.debug {
        spawn_orphan_watch(shutdown.clone());
    }
    let incoming = accept_loop(listener, tls.map(|t| TlsAcceptor::from(t.config)));

    let provider = ProviderGrpcServer::new(ProviderService::new(Arc::new(provider)))
        .max_decoding_message_size(MAX_MESSAGE_SIZE)
        .max_encoding_message_size(MAX_MESSAGE_SIZE);
    let router = Router::default()
        .add(provider)
        .add(HealthServer::new(Health { shutdown: shutdown.clone() }))
        .add(GrpcControllerServer::new(Controller { shutdown: shutdown.clone() }))
        .add(GrpcStdioServer::new(Stdio { shutdown: shutdown.clone() }))
        .add(GrpcBrokerServer::new(Broker { shutdown: shutdown.clone() }));
    let result =
        tonic::transport::Server::builder().serve_with_incoming_shutdown(router, incoming, shutdown.fired()).await;
    tracing::debug!("plugin server stopped");
    result.map_err(ServeError::Transport)
}

/// Checks that the engine launched us and speaks our protocol version.
pub fn check_launch(cookie: Option<&str>, versions: Option<&str>) -> Result<(), ServeError> {
    if cookie != Some(MAGIC_COOKIE_VALUE) {
        return Err(ServeError::NotLaunchedByEngine);
    }
    if let Some(offered) = versions.filter(|v| !v.trim().is_empty()) {
        let ours = PROTOCOL_VERSION.to_string();
        if !offered.split(',').any(|v| v.trim() == ours) {
            return Err(ServeError::ProtocolMismatch(offered.to_string()));
        }
    }
    Ok(())
}

fn reattach_json(provider_address: &str, network: &str, address: &str) -> String {
    serde_json::json!({
        provider_address: {
            "Protocol": "grpc",
            "ProtocolVersion": PROTOCOL_VERSION,
            "Pid": std::process::id(),
            "Test": true,
            "Addr": { "Network": network, "String": address },
        }
    })
    .to_string()
}

/// Ctrl-C reaches the whole process group; like go-plugin, a launched plugin ignores it and lets the engine
/// stop it through `StopProvider` and `Shutdown`. In debug mode Ctrl-C ends the server.
fn spawn_signal_handler(debug: bool, shutdown: ShutdownSignal) {
    tokio::spawn(async move {
        let mut count = 0u32;
        while tokio::signal::ctrl_c().await.is_ok() {
            if debug {
                shutdown.fire();
                return;
            }
            count += 1;
            tracing::trace!(count, "interrupt received; waiting for the engine to stop the provider");
        }
    });
}

/// An engine killed outright (SIGKILL, OOM) never sends `Shutdown`; its orphaned plugin must not run on. When
/// the parent process changes (the plugin was reparented), shut down, and exit for good shortly after.
fn spawn_orphan_watch(shutdown: ShutdownSignal) {
    let parent = std::os::unix::process::parent_id();
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(ORPHAN_CHECK_INTERVAL).await;
            if std::os::unix::process::parent_id() != parent {
                tracing::warn!(parent, "the engine that launched this provider is gone; shutting down");
                shutdown.fire();
                tokio::time::sleep(Duration::from_secs(5)).await;
                std::process::exit(1);
            }
        }
    });
}

/// How often the plugin checks that its engine is still alive.
const ORPHAN_CHECK_INTERVAL: Duration = Duration::from_millis(500);

/// Where the plugin listens: a unix socket by default (as go-plugin does), TCP on loopback when the engine
/// sets `PLUGIN_MIN_PORT`/`PLUGIN_MAX_PORT`.
enum Listener {
    Tcp(TcpListener),
    Unix(UnixListener, PathBuf),
}

impl Listener {
    fn bind() -> Result<Listener, ServeError> {
        let min = std::env::var("PLUGIN_MIN_PORT").ok();
        let max = std::env::var("PLUGIN_MAX_PORT").ok();
        if min.is_some() || max.is_some() {
            let (min, max) = port_range(min.as_deref(), max.as_deref()).map_err(ServeError::Listen)?;
            for port in min..=max {
                let std_listener = match std::net::TcpListener::bind(("127.0.0.1", port)) {
                    Ok(l) => l,
                    Err(_) => continue,
                };
                std_listener.set_nonblocking(true).map_err(|e| ServeError::Listen(e.to_string()))?;
                let l = TcpListener::from_std(std_listener).map_err(|e| ServeError::Listen(e.to_string()))?;
                return Ok(Listener::Tcp(l));
            }
            return Err(ServeError::Listen(format!("no free TCP port on 127.0.0.1 in {min}..={max}")));
        }
        let dir = std::env::var_os("PLUGIN_UNIX_SOCKET_DIR").map(PathBuf::from).unwrap_or_else(std::env::temp_dir);
        let nanos =
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.subsec_nanos()).unwrap_or(0);
        let path = dir.join(format!("tfplugin-{}-{nanos:x}.sock", std::process::id()));
        let l = UnixListener::bind(&path).map_err(|e| ServeError::Listen(format!("{}: {e}", path.display())))?;
        Ok(Listener::Unix(l, path))
    }

    fn address(&self) -> (&'static str, String) {
        match self {
            Listener::Tcp(l) => ("tcp", l.local_addr().map(|a| a.to_string()).unwrap_or_default()),
            Listener::Unix(_, path) => ("unix", path.display().to_string()),
        }
    }

    async fn accept(&self) -> std::io::Result<Box<dyn Io>> {
        Ok(match self {
            Listener::Tcp(l) => {
                let (s, _) = l.accept().await?;
                let _ = s.set_nodelay(true);
                Box::new(s)
            }
            Listener::Unix(l, _) => Box::new(l.accept().await?.0),
        })
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        if let Listener::Unix(_, path) = self {
            let _ = std::fs::remove_file(path);
        }
    }
}

/// Parses go-plugin's port range variables; a missing bound means 0 (any port) as in go-plugin.
fn port_range(min: Option<&str>, max: Option<&str>) -> Result<(u16, u16), String> {
    let parse = |name: &str, v: Option<&str>| -> Result<u16, String> {
        match v {
            None | Some("") => Ok(0),
            Some(s) => s.trim().parse().map_err(|e| format!("{name}={s:?} is not a port number: {e}")),
        }
    };
    let (lo, hi) = (parse("PLUGIN_MIN_PORT", min)?, parse("PLUGIN_MAX_PORT", max)?);
    if lo > hi {
        return Err(format!("PLUGIN_MIN_PORT ({lo}) is greater than PLUGIN_MAX_PORT ({hi})"));
    }
    Ok((lo, hi))
}

/// A bidirectional byte stream: TCP, unix socket, or TLS over either.
trait Io: AsyncRead + AsyncWrite + Send + Unpin + 'static {}
impl<T: AsyncRead + AsyncWrite + Send + Unpin + 'static> Io for T {}

/// One accepted engine connection.
pub struct PluginConn(Box<dyn Io>);

impl Connected for PluginConn {
    type ConnectInfo = ();
    fn connect_info(&self) -> Self::ConnectInfo {}
}

impl AsyncRead for PluginConn {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut *self.0).poll_read(cx, buf)
    }
}

impl AsyncWrite for PluginConn {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut *self.0).poll_write(cx, buf)
    }
    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut *self.0).poll_flush(cx)
    }
    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut *self.0).poll_shutdown(cx)
    }
    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut *self.0).poll_write_vectored(cx, bufs)
    }
    fn is_write_vectored(&self) -> bool {
        self.0.is_write_vectored()
    }
}

/// Accepts connections and completes TLS handshakes off the accept path, so one slow client blocks no one.
/// Connections that fail the handshake (no certificate, the wrong one) are dropped and never reach gRPC.
fn accept_loop(
    listener: Listener,
    tls: Option<TlsAcceptor>,
) -> tokio_stream::wrappers::ReceiverStream<std::io::Result<PluginConn>> {
    let (tx, rx) = mpsc::channel(16);
    tokio::spawn(async move {
        loop {
            let stream = match listener.accept().await {
                Ok(s) => s,
                Err(e) => {
                    tracing::warn!(error = %e, "accepting a connection failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            };
            if tx.is_closed() {
                return;
            }
            let tx = tx.clone();
            let tls = tls.clone();
            tokio::spawn(async move {
                let conn = match tls {
                    None => PluginConn(stream),
                    Some(acceptor) => {
                        match tokio::time::timeout(TLS_HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await {
                            Ok(Ok(s)) => PluginConn(Box::new(s)),
                            Ok(Err(e)) => {
                                tracing::warn!(error = %e, "rejected a connection that failed mutual TLS");
                                return;
                            }
                            Err(_) => {
                                tracing::warn!("rejected a connection that did not complete TLS in time");
                                return;
                            }
                        }
                    }
                };
                let _ = tx.send(Ok(conn)).await;
            });
        }
    });
    tokio_stream::wrappers::ReceiverStream::new(rx)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn launch_checks() {
        assert!(matches!(check_launch(None, None), Err(ServeError::NotLaunchedByEngine)));
        assert!(matches!(check_launch(Some("nope"), None), Err(ServeError::NotLaunchedByEngine)));
        assert!(check_launch(Some(MAGIC_COOKIE_VALUE), None).is_ok());
        assert!(check_launch(Some(MAGIC_COOKIE_VALUE), Some("5,6")).is_ok());
        assert!(matches!(check_launch(Some(MAGIC_COOKIE_VALUE), Some("4,5")), Err(ServeError::ProtocolMismatch(_))));
    }

    #[test]
    fn port_ranges() {
        assert_eq!(port_range(Some("10000"), Some("25000")), Ok((10000, 25000)));
        assert_eq!(port_range(None, Some("5")), Ok((0, 5)));
        assert!(port_range(Some("9"), Some("5")).is_err());
        assert!(port_range(Some("x"), None).is_err());
    }

    #[test]
    fn reattach_line_is_json() {
        let j: serde_json::Value =
            serde_json::from_str(&reattach_json("registry.terraform.io/crossrepl/crossrepl", "unix", "/tmp/s"))
                .unwrap();
        let p = &j["registry.terraform.io/crossrepl/crossrepl"];
        assert_eq!(p["ProtocolVersion"], 6);
        assert_eq!(p["Addr"]["Network"], "unix");
    }
}
