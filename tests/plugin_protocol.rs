//! Launches the built provider binary the way OpenTofu and Terraform do (magic cookie, AutoMTLS client
//! certificate), completes the handshake over mutual TLS and drives the RPCs of the provider lifecycle.

use std::path::PathBuf;
use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use crossrepl::provider::Crossrepl;
use framework::Provider;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};
use tfplugin::proto::health::HealthCheckRequest;
use tfplugin::proto::health::health_client::HealthClient;
use tfplugin::proto::plugin::grpc_controller_client::GrpcControllerClient;
use tfplugin::proto::tfplugin6 as pb;
use tfplugin::proto::tfplugin6::provider_client::ProviderClient;
use tfplugin::{Value, codec};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};
use tonic::transport::{Channel, Endpoint, Uri};

const COOKIE: &str = "d602bf8f470bc67ca7faa0386276bbdd4330efaf76d1a219cb4d6991ca9872b2";

/// A client identity: certificate and key, as go-plugin generates for each launch.
struct Identity {
    cert_der: Vec<u8>,
    cert_pem: String,
    key_der: Vec<u8>,
}

fn identity() -> Identity {
    let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P384_SHA384).unwrap();
    let mut params = rcgen::CertificateParams::new(vec!["localhost".into()]).unwrap();
    params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    let cert = params.self_signed(&key).unwrap();
    Identity { cert_der: cert.der().to_vec(), cert_pem: cert.pem(), key_der: key.serialize_der() }
}

/// The launched plugin and what its handshake line said.
struct Plugin {
    child: Child,
    network: String,
    address: String,
    server_cert: Vec<u8>,
}

async fn launch(client: &Identity, extra_env: &[(&str, &str)]) -> Plugin {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_terraform-provider-crossrepl"));
    cmd.env("TF_PLUGIN_MAGIC_COOKIE", COOKIE)
        .env("PLUGIN_PROTOCOL_VERSIONS", "5,6")
        .env("PLUGIN_CLIENT_CERT", &client.cert_pem)
        .env_remove("TF_LOG")
        .env_remove("TF_LOG_PROVIDER")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .kill_on_drop(true);
    for (k, v) in extra_env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().expect("start provider");
    let stdout = child.stdout.take().unwrap();
    let mut line = String::new();
    tokio::time::timeout(Duration::from_secs(10), BufReader::new(stdout).read_line(&mut line))
        .await
        .expect("handshake line in time")
        .unwrap();
    let parts: Vec<&str> = line.trim_end().split('|').collect();
    assert_eq!(parts.len(), 6, "handshake line {line:?}");
    assert_eq!(&parts[..2], &["1", "6"]);
    assert_eq!(parts[4], "grpc");
    let server_cert = base64::engine::general_purpose::STANDARD_NO_PAD.decode(parts[5]).expect("raw base64 cert");
    Plugin { child, network: parts[2].into(), address: parts[3].into(), server_cert }
}

/// Trusts exactly one server certificate, as go-plugin clients do with the one from the handshake line.
#[derive(Debug)]
struct PinnedServer(Vec<u8>, rustls::crypto::WebPkiSupportedAlgorithms);

impl ServerCertVerifier for PinnedServer {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _: &[CertificateDer<'_>],
        _: &ServerName<'_>,
        _: &[u8],
        _: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        if end_entity.as_ref() == self.0.as_slice() {
            Ok(ServerCertVerified::assertion())
        } else {
            Err(rustls::Error::General("unexpected server certificate".into()))
        }
    }
    fn verify_tls12_signature(
        &self,
        m: &[u8],
        c: &CertificateDer<'_>,
        d: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(m, c, d, &self.1)
    }
    fn verify_tls13_signature(
        &self,
        m: &[u8],
        c: &CertificateDer<'_>,
        d: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(m, c, d, &self.1)
    }
    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.1.supported_schemes()
    }
}

/// Connects to the plugin over TLS, presenting `client` (or no certificate at all).
async fn connect(plugin: &Plugin, client: Option<&Identity>) -> Result<Channel, tonic::transport::Error> {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .unwrap()
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(PinnedServer(
            plugin.server_cert.clone(),
            provider.signature_verification_algorithms,
        )));
    let mut config = match client {
        Some(id) => builder
            .with_client_auth_cert(
                vec![CertificateDer::from(id.cert_der.clone())],
                PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(id.key_der.clone())),
            )
            .unwrap(),
        None => builder.with_no_client_auth(),
    };
    config.alpn_protocols = vec![b"h2".to_vec()];
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    let (network, address) = (plugin.network.clone(), plugin.address.clone());
    Endpoint::from_static("http://localhost")
        .connect_with_connector(tower::service_fn(move |_: Uri| {
            let (connector, network, address) = (connector.clone(), network.clone(), address.clone());
            async move {
                let name = ServerName::try_from("localhost").unwrap();
                let io: Box<dyn IoStream> = if network == "unix" {
                    Box::new(
                        connector.connect(name, tokio::net::UnixStream::connect(PathBuf::from(address)).await?).await?,
                    )
                } else {
                    Box::new(connector.connect(name, tokio::net::TcpStream::connect(address).await?).await?)
                };
                Ok::<_, std::io::Error>(hyper_util::rt::TokioIo::new(io))
            }
        }))
        .await
}

trait IoStream: tokio::io::AsyncRead + tokio::io::AsyncWrite + Send + Unpin {}
impl<T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Send + Unpin> IoStream for T {}

fn provider_config(pairs: Vec<(&str, Value)>) -> pb::DynamicValue {
    let ty = Crossrepl.schema().schema.block.value_type();
    let tfplugin::Type::Object(attrs) = &ty else { unreachable!() };
    let mut obj: std::collections::BTreeMap<String, Value> = attrs.keys().map(|k| (k.clone(), Value::Null)).collect();
    for (k, v) in pairs {
        obj.insert(k.into(), v);
    }
    pb::DynamicValue { msgpack: codec::encode_msgpack(&Value::Object(obj), &ty).unwrap(), json: Vec::new() }
}

fn error_paths(ds: &[pb::Diagnostic]) -> Vec<String> {
    ds.iter()
        .filter(|d| d.severity == pb::diagnostic::Severity::Error as i32)
        .map(|d| {
            use pb::attribute_path::step::Selector;
            let steps = d.attribute.as_ref().map(|a| a.steps.clone()).unwrap_or_default();
            steps
                .iter()
                .map(|s| match &s.selector {
                    Some(Selector::AttributeName(n)) => n.clone(),
                    Some(Selector::ElementKeyInt(i)) => format!("[{i}]"),
                    Some(Selector::ElementKeyString(k)) => format!("[{k:?}]"),
                    None => String::new(),
                })
                .collect::<Vec<_>>()
                .join(".")
        })
        .collect()
}

#[tokio::test]
async fn full_lifecycle_over_mutual_tls() {
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    let me = identity();
    let mut plugin = launch(&me, &[]).await;
    assert_eq!(plugin.network, "unix");
    let channel = connect(&plugin, Some(&me)).await.expect("mTLS connect");

    let health = HealthClient::new(channel.clone())
        .check(HealthCheckRequest { service: "plugin".into() })
        .await
        .expect("health")
        .into_inner();
    assert_eq!(health.status, 1, "SERVING");

    let mut provider = ProviderClient::new(channel.clone());
    let schema = provider.get_provider_schema(pb::get_provider_schema::Request {}).await.unwrap().into_inner();
    let block = schema.provider.unwrap().block.unwrap();
    let names: Vec<&str> = block.attributes.iter().map(|a| a.name.as_str()).collect();
    for want in ["region", "profile", "access_key", "secret_key", "token", "s3_use_path_style", "max_retries"] {
        assert!(names.contains(&want), "{want} missing from {names:?}");
    }
    assert!(block.attributes.iter().find(|a| a.name == "secret_key").unwrap().sensitive);
    let blocks: Vec<&str> = block.block_types.iter().map(|b| b.type_name.as_str()).collect();
    assert_eq!(blocks, vec!["assume_role", "endpoints"]);

    let bad = provider_config(vec![("region", "nowhere".into()), ("max_retries", Value::int(1000))]);
    let resp = provider
        .validate_provider_config(pb::validate_provider_config::Request { config: Some(bad) })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(error_paths(&resp.diagnostics), vec!["region", "max_retries"]);

    let endpoints = Value::List(vec![Value::object([
        ("s3", Value::from("http://127.0.0.1:9")),
        ("iam", Value::from("http://127.0.0.1:9")),
        ("sts", Value::from("http://127.0.0.1:9")),
    ])]);
    // Nothing listens at the endpoints: configuring must not need STS (the identity check is skipped; the
    // credentials, static here, are still resolved).
    let good = provider_config(vec![
        ("region", "us-east-1".into()),
        ("access_key", "111111111111".into()),
        ("secret_key", "test".into()),
        ("skip_credentials_validation", Value::Bool(true)),
        ("endpoints", endpoints),
    ]);
    let resp = provider
        .validate_provider_config(pb::validate_provider_config::Request { config: Some(good.clone()) })
        .await
        .unwrap()
        .into_inner();
    assert!(resp.diagnostics.is_empty(), "{:?}", resp.diagnostics);
    let resp = provider
        .configure_provider(pb::configure_provider::Request {
            terraform_version: "1.12.6".into(),
            config: Some(good),
            client_capabilities: None,
        })
        .await
        .unwrap()
        .into_inner();
    assert!(resp.diagnostics.is_empty(), "{:?}", resp.diagnostics);

    // Capabilities crossrepl does not offer answer well-formed, with a diagnostic instead of a crash.
    let resp = provider
        .read_data_source(pb::read_data_source::Request { type_name: "crossrepl_x".into(), ..Default::default() })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(resp.diagnostics.len(), 1);
    let ids = provider
        .get_resource_identity_schemas(pb::get_resource_identity_schemas::Request {})
        .await
        .unwrap()
        .into_inner();
    assert!(ids.diagnostics.is_empty());

    let stop = provider.stop_provider(pb::stop_provider::Request {}).await.unwrap().into_inner();
    assert_eq!(stop.error, "");

    GrpcControllerClient::new(channel).shutdown(tfplugin::proto::plugin::Empty {}).await.expect("shutdown");
    let status = tokio::time::timeout(Duration::from_secs(10), plugin.child.wait()).await.expect("exits").unwrap();
    assert!(status.success(), "{status:?}");
    assert!(!PathBuf::from(&plugin.address).exists(), "unix socket removed on exit");
}

#[tokio::test]
async fn clients_without_the_expected_certificate_are_refused() {
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    let me = identity();
    let plugin = launch(&me, &[]).await;

    // No certificate at all: the TLS handshake fails, so no RPC can be made.
    let outcome = async {
        let ch = connect(&plugin, None).await?;
        HealthClient::new(ch)
            .check(HealthCheckRequest { service: "plugin".into() })
            .await
            .map_err(|e| e.to_string())?;
        Ok::<_, Box<dyn std::error::Error>>(())
    };
    assert!(outcome.await.is_err(), "a client without a certificate reached an RPC");

    // Another, equally valid certificate is refused too.
    let stranger = identity();
    let outcome = async {
        let ch = connect(&plugin, Some(&stranger)).await?;
        ProviderClient::new(ch)
            .get_provider_schema(pb::get_provider_schema::Request {})
            .await
            .map_err(|e| e.to_string())?;
        Ok::<_, Box<dyn std::error::Error>>(())
    };
    assert!(outcome.await.is_err(), "a client with another certificate reached an RPC");

    // Plain text (no TLS) is refused as well.
    let (network, address) = (plugin.network.clone(), plugin.address.clone());
    let plain = Endpoint::from_static("http://localhost")
        .connect_with_connector(tower::service_fn(move |_: Uri| {
            let (network, address) = (network.clone(), address.clone());
            async move {
                assert_eq!(network, "unix");
                Ok::<_, std::io::Error>(hyper_util::rt::TokioIo::new(tokio::net::UnixStream::connect(address).await?))
            }
        }))
        .await;
    if let Ok(ch) = plain {
        let r = HealthClient::new(ch).check(HealthCheckRequest { service: "plugin".into() }).await;
        assert!(r.is_err(), "a plain-text client reached an RPC");
    }

    // The rightful client still gets through afterwards.
    let ch = connect(&plugin, Some(&me)).await.expect("rightful client");
    HealthClient::new(ch).check(HealthCheckRequest { service: "plugin".into() }).await.expect("health");
}

#[tokio::test]
async fn serves_tcp_in_the_requested_port_range() {
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    let me = identity();
    let plugin = launch(&me, &[("PLUGIN_MIN_PORT", "20000"), ("PLUGIN_MAX_PORT", "20100")]).await;
    assert_eq!(plugin.network, "tcp");
    let port: u16 = plugin.address.rsplit(':').next().unwrap().parse().unwrap();
    assert!((20000..=20100).contains(&port), "{}", plugin.address);
    assert!(plugin.address.starts_with("127.0.0.1:"));
    let ch = connect(&plugin, Some(&me)).await.expect("connect over tcp");
    HealthClient::new(ch).check(HealthCheckRequest { service: String::new() }).await.expect("health");
}

#[tokio::test]
async fn refuses_to_run_outside_an_engine() {
    let bin = env!("CARGO_BIN_EXE_terraform-provider-crossrepl");
    let out = Command::new(bin).env_remove("TF_PLUGIN_MAGIC_COOKIE").output().await.unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not meant to be run directly"));
    assert!(out.stdout.is_empty());

    let out = Command::new(bin)
        .env("TF_PLUGIN_MAGIC_COOKIE", COOKIE)
        .env("PLUGIN_PROTOCOL_VERSIONS", "4,5")
        .output()
        .await
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("protocol 6"));
}

#[tokio::test]
async fn debug_mode_prints_a_reattach_line() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_terraform-provider-crossrepl"))
        .arg("--debug")
        .env_remove("TF_PLUGIN_MAGIC_COOKIE")
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let reattach = tokio::time::timeout(Duration::from_secs(10), async {
        while let Some(l) = lines.next_line().await.unwrap() {
            if let Some(rest) = l.trim().strip_prefix("TF_REATTACH_PROVIDERS='") {
                return rest.trim_end_matches('\'').to_string();
            }
        }
        panic!("no reattach line");
    })
    .await
    .unwrap();
    let j: serde_json::Value = serde_json::from_str(&reattach).unwrap();
    let p = &j["registry.terraform.io/crossrepl/crossrepl"];
    assert_eq!(p["Protocol"], "grpc");
    assert_eq!(p["ProtocolVersion"], 6);
    assert_eq!(p["Pid"], child.id().unwrap());
}

#[tokio::test]
async fn accepts_messages_beyond_tonics_default_4_mib() {
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    let me = identity();
    let plugin = launch(&me, &[]).await;
    let channel = connect(&plugin, Some(&me)).await.expect("mTLS connect");
    // A 6 MiB configuration: tonic's default limit (4 MiB) would refuse it with ResourceExhausted.
    let big = provider_config(vec![("profile", Value::from("p".repeat(6 << 20)))]);
    assert!(big.msgpack.len() > 6 << 20);
    let resp = ProviderClient::new(channel)
        .validate_provider_config(pb::validate_provider_config::Request { config: Some(big) })
        .await
        .expect("a 6 MiB request is accepted")
        .into_inner();
    assert!(resp.diagnostics.is_empty(), "{:?}", resp.diagnostics);
}

#[tokio::test]
async fn exits_when_its_engine_is_killed() {
    // A shell plays the engine: it launches the plugin in the background, prints the plugin's pid, and is killed.
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    let me = identity();
    let script = format!("{} >/dev/null 2>&1 & echo $!; wait", env!("CARGO_BIN_EXE_terraform-provider-crossrepl"));
    let mut engine = Command::new("sh")
        .arg("-c")
        .arg(script)
        .env("TF_PLUGIN_MAGIC_COOKIE", COOKIE)
        .env("PLUGIN_CLIENT_CERT", &me.cert_pem)
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(engine.stdout.take().unwrap()).read_line(&mut line).await.unwrap();
    let pid: u32 = line.trim().parse().unwrap();
    let alive = |pid: u32| {
        std::path::Path::new(&format!("/proc/{pid}")).exists()
            && !std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default().contains(") Z ")
    };
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(alive(pid), "plugin started");
    engine.kill().await.unwrap();
    let gone = async {
        while alive(pid) {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    };
    tokio::time::timeout(Duration::from_secs(10), gone).await.expect("the orphaned plugin exits");
}
