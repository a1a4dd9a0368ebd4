//! https for the emulator. Microsoft's clients refuse an authority that is
//! not https, and the app should reach the emulator exactly as it reaches
//! Azure; so `--tls` makes a certificate authority at start, a server
//! certificate for `localhost`, `127.0.0.1` and `::1` signed by it, and hands
//! out the authority's PEM for clients to trust (`REQUESTS_CA_BUNDLE`,
//! `SSL_CERT_FILE`, or the host's `[outbound_http] ca_file`).

use std::sync::Arc;

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair,
    KeyUsagePurpose,
};
use rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio_rustls::TlsAcceptor;

/// An authority and the acceptor serving its server certificate.
#[derive(Clone)]
pub struct Tls {
    /// The authority's certificate, PEM: what clients must trust.
    pub ca_pem: String,
    /// The authority's private key, PEM, for [`Tls::with_authority_key`].
    pub ca_key_pem: String,
    pub acceptor: TlsAcceptor,
}

impl Tls {
    /// Makes a new authority and server certificate (ECDSA P-256).
    pub fn generate() -> anyhow::Result<Tls> {
        Tls::with_authority(KeyPair::generate()?)
    }

    /// An authority from a key kept from an earlier run: its certificate is
    /// made again with the same subject and key, so a client (or browser)
    /// that trusts the earlier certificate trusts the new server certificate.
    pub fn with_authority_key(pem: &str) -> anyhow::Result<Tls> {
        Tls::with_authority(KeyPair::from_pem(pem)?)
    }

    fn with_authority(ca_key: KeyPair) -> anyhow::Result<Tls> {
        let mut ca_params = CertificateParams::new(Vec::<String>::new())?;
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca_params
            .distinguished_name
            .push(DnType::CommonName, "skyport-sim local CA");
        ca_params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        let ca = ca_params.self_signed(&ca_key)?;

        let mut params = CertificateParams::new(vec![
            "localhost".to_string(),
            "127.0.0.1".to_string(),
            "::1".to_string(),
        ])?;
        params
            .distinguished_name
            .push(DnType::CommonName, "localhost");
        params.key_usages = vec![
            KeyUsagePurpose::DigitalSignature,
            KeyUsagePurpose::KeyEncipherment,
        ];
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        // Strict verifiers (Python 3.13's default context) want it.
        params.use_authority_key_identifier_extension = true;
        let key = KeyPair::generate()?;
        let cert = params.signed_by(&key, &ca, &ca_key)?;

        let mut config = rustls::ServerConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(
            vec![cert.der().clone(), ca.der().clone()],
            PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der())),
        )?;
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(Tls {
            ca_pem: ca.pem(),
            ca_key_pem: ca_key.serialize_pem(),
            acceptor: TlsAcceptor::from(Arc::new(config)),
        })
    }
}
