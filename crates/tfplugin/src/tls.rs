//! AutoMTLS: a fresh server certificate per launch, and a verifier that accepts exactly the engine's certificate.
//!
//! The engine (through go-plugin) passes its client certificate in `PLUGIN_CLIENT_CERT` and trusts only the
//! server certificate we print in the handshake line. We trust only the certificate it gave us: a client with no
//! certificate, or any other one, fails the TLS handshake.

use std::sync::Arc;

use rustls::client::danger::HandshakeSignatureValid;
use rustls::crypto::{CryptoProvider, WebPkiSupportedAlgorithms};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, UnixTime};
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::{CertificateError, DigitallySignedStruct, DistinguishedName, Error, ServerConfig, SignatureScheme};

/// The TLS side of one plugin launch.
pub struct AutoMtls {
    /// The rustls configuration serving our certificate and requiring the client's.
    pub config: Arc<ServerConfig>,
    /// Our certificate, DER-encoded, for the handshake line.
    pub server_cert_der: Vec<u8>,
}

/// Why AutoMTLS could not be set up.
#[derive(Debug)]
pub struct TlsSetupError(pub String);

impl std::fmt::Display for TlsSetupError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for TlsSetupError {}

/// The one crypto provider of the process: aws-lc-rs, the backend aws-sdk-rust uses too.
pub fn crypto_provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::aws_lc_rs::default_provider())
}

/// Sets up AutoMTLS for a client certificate given in PEM (the value of `PLUGIN_CLIENT_CERT`).
pub fn auto_mtls(client_cert_pem: &str) -> Result<AutoMtls, TlsSetupError> {
    let client_cert = CertificateDer::from_pem_slice(client_cert_pem.as_bytes())
        .map_err(|e| TlsSetupError(format!("PLUGIN_CLIENT_CERT is not a PEM certificate: {e}")))?;
    let (server_cert_der, key) = server_certificate()?;
    let provider = crypto_provider();
    let verifier =
        ExactClientCert { expected: client_cert.into_owned(), algorithms: provider.signature_verification_algorithms };
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| TlsSetupError(format!("TLS protocol setup failed: {e}")))?
        .with_client_cert_verifier(Arc::new(verifier))
        .with_single_cert(vec![CertificateDer::from(server_cert_der.clone())], key)
        .map_err(|e| TlsSetupError(format!("server certificate rejected: {e}")))?;
    // gRPC clients insist on negotiating HTTP/2 through ALPN.
    config.alpn_protocols = vec![b"h2".to_vec()];
    Ok(AutoMtls { config: Arc::new(config), server_cert_der })
}

/// A self-signed ECDSA P-256 certificate for `localhost`, usable as its own CA, as go-plugin clients verify it.
fn server_certificate() -> Result<(Vec<u8>, PrivateKeyDer<'static>), TlsSetupError> {
    let err = |e: rcgen::Error| TlsSetupError(format!("generating the server certificate failed: {e}"));
    let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).map_err(err)?;
    let mut params = rcgen::CertificateParams::new(vec!["localhost".to_string()]).map_err(err)?;
    params.distinguished_name.push(rcgen::DnType::CommonName, "localhost");
    params.distinguished_name.push(rcgen::DnType::OrganizationName, "tfplugin");
    params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    params.key_usages = vec![
        rcgen::KeyUsagePurpose::DigitalSignature,
        rcgen::KeyUsagePurpose::KeyEncipherment,
        rcgen::KeyUsagePurpose::KeyCertSign,
    ];
    params.extended_key_usages =
        vec![rcgen::ExtendedKeyUsagePurpose::ServerAuth, rcgen::ExtendedKeyUsagePurpose::ClientAuth];
    let cert = params.self_signed(&key).map_err(err)?;
    let key_der = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der()));
    Ok((cert.der().to_vec(), key_der))
}

/// Accepts exactly one client certificate, byte for byte, and checks the handshake signature against it.
#[derive(Debug)]
struct ExactClientCert {
    expected: CertificateDer<'static>,
    algorithms: WebPkiSupportedAlgorithms,
}

impl ClientCertVerifier for ExactClientCert {
    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        &[]
    }

    fn verify_client_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _now: UnixTime,
    ) -> Result<ClientCertVerified, Error> {
        if end_entity.as_ref() == self.expected.as_ref() {
            Ok(ClientCertVerified::assertion())
        } else {
            Err(Error::InvalidCertificate(CertificateError::ApplicationVerificationFailure))
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }

    fn client_auth_mandatory(&self) -> bool {
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_garbage_client_cert() {
        assert!(auto_mtls("not a certificate").is_err());
    }

    #[test]
    fn builds_with_a_valid_client_cert() {
        let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
        let cert = rcgen::CertificateParams::new(vec!["localhost".into()]).unwrap().self_signed(&key).unwrap();
        let tls = auto_mtls(&cert.pem()).unwrap();
        assert!(!tls.server_cert_der.is_empty());
        assert_eq!(tls.config.alpn_protocols, vec![b"h2".to_vec()]);
    }
}
