//! TLS client settings shared by the connectors: the CAs to trust (a PEM file, or the
//! system's roots) and an optional client identity (PEM certificate chain and key
//! files, or a PKCS12 keystore with its password), read once into a rustls
//! `ClientConfig`.
//!
//! Errors name the file and the key that points to it, never a key's contents or a
//! password.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, ServerName, UnixTime};
use rustls::{CertificateError, ClientConfig, DigitallySignedStruct, RootCertStore};

/// How the server's certificate is checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verify {
    /// Signed by a trusted CA and naming the host connected to.
    Full,
    /// Signed by a trusted CA; the name is not checked (PostgreSQL's `verify-ca`).
    CaOnly,
    /// Not checked at all: encryption only (PostgreSQL's `require`).
    Nothing,
}

/// The client's certificate and key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Identity {
    /// PEM files: the certificate chain, and the private key (PEM or PKCS#8 DER).
    Pem { cert: PathBuf, key: PathBuf },
    /// A PKCS12 file and its password (the key must use the same password).
    Pkcs12 { path: PathBuf, password: String },
}

/// TLS settings of one connection, as files.
#[derive(Clone, PartialEq, Eq)]
pub struct TlsSettings {
    /// PEM file of the CAs to trust; `None`: the system's roots.
    pub ca: Option<PathBuf>,
    pub identity: Option<Identity>,
    pub verify: Verify,
}

impl std::fmt::Debug for TlsSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsSettings")
            .field("ca", &self.ca)
            .field(
                "identity",
                &self.identity.as_ref().map(|i| match i {
                    Identity::Pem { cert, .. } => cert.display().to_string(),
                    Identity::Pkcs12 { path, .. } => path.display().to_string(),
                }),
            )
            .field("verify", &self.verify)
            .finish()
    }
}

/// The certificates of a PEM file.
pub fn read_certs(path: &Path, key: &str) -> Result<Vec<CertificateDer<'static>>, String> {
    let bytes = std::fs::read(path)
        .map_err(|e| format!("{}: cannot read {}: {}", key, path.display(), e))?;
    let certs = CertificateDer::pem_slice_iter(&bytes)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| {
            format!(
                "{}: {} is not a PEM certificate file: {}",
                key,
                path.display(),
                e
            )
        })?;
    if certs.is_empty() {
        return Err(format!(
            "{}: {} holds no PEM certificate (-----BEGIN CERTIFICATE-----)",
            key,
            path.display()
        ));
    }
    Ok(certs)
}

/// The private key of a PEM file (PKCS#8, PKCS#1 or SEC1), or of a PKCS#8 DER file
/// (pgJDBC's `.pk8`). Encrypted keys are refused with the way out.
pub fn read_key(path: &Path, key: &str) -> Result<PrivateKeyDer<'static>, String> {
    let bytes = std::fs::read(path)
        .map_err(|e| format!("{}: cannot read {}: {}", key, path.display(), e))?;
    if bytes.windows(9).any(|w| w == b"ENCRYPTED") {
        return Err(format!(
            "{}: {} is an encrypted private key, which is not supported; decrypt it with `openssl pkey -in {} -out <new file>`",
            key,
            path.display(),
            path.display()
        ));
    }
    if bytes.starts_with(b"-----") || bytes.windows(10).any(|w| w == b"-----BEGIN") {
        return PrivateKeyDer::from_pem_slice(&bytes).map_err(|_| {
            format!(
                "{}: {} holds no PEM private key (-----BEGIN PRIVATE KEY-----)",
                key,
                path.display()
            )
        });
    }
    if bytes.first() == Some(&0x30) {
        return Ok(PrivateKeyDer::from(PrivatePkcs8KeyDer::from(bytes)));
    }
    Err(format!(
        "{}: {} is neither a PEM private key nor a PKCS#8 DER key",
        key,
        path.display()
    ))
}

/// The certificate chain and key of a PKCS12 file.
pub fn read_pkcs12(
    path: &Path,
    password: &str,
    key: &str,
) -> Result<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>), String> {
    let bytes = std::fs::read(path)
        .map_err(|e| format!("{}: cannot read {}: {}", key, path.display(), e))?;
    let ks = p12_keystore::KeyStore::from_pkcs12(&bytes, password).map_err(|e| match e {
        p12_keystore::error::Error::MacError(_) => format!(
            "{}: the password does not open {} (wrong password)",
            key,
            path.display()
        ),
        _ => format!(
            "{}: {} is not a readable PKCS12 file: {}",
            key,
            path.display(),
            e
        ),
    })?;
    let Some((_, chain)) = ks.private_key_chain() else {
        return Err(format!(
            "{}: {} holds no private key and certificate",
            key,
            path.display()
        ));
    };
    let certs = chain
        .chain()
        .iter()
        .map(|c| CertificateDer::from(c.as_der().to_vec()))
        .collect();
    let pk = PrivateKeyDer::from(PrivatePkcs8KeyDer::from(chain.key().to_vec()));
    Ok((certs, pk))
}

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

fn roots(ca: Option<&Path>, key: &str) -> Result<RootCertStore, String> {
    let mut store = RootCertStore::empty();
    match ca {
        Some(path) => {
            for c in read_certs(path, key)? {
                store.add(c).map_err(|e| {
                    format!(
                        "{}: {} holds an unusable CA certificate: {}",
                        key,
                        path.display(),
                        e
                    )
                })?;
            }
        }
        None => {
            let found = rustls_native_certs::load_native_certs();
            store.add_parsable_certificates(found.certs);
            if store.is_empty() {
                return Err(format!(
                    "{}: no CA file is set and the system has no CA certificates",
                    key
                ));
            }
        }
    }
    Ok(store)
}

impl TlsSettings {
    /// Reads the files into a rustls client config. `ca_key` and `identity_key` are the
    /// config keys named in errors.
    pub fn client_config(&self, ca_key: &str, identity_key: &str) -> Result<ClientConfig, String> {
        let builder = ClientConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .map_err(|e| format!("TLS setup failed: {}", e))?;
        let builder = match self.verify {
            Verify::Full => builder.with_root_certificates(roots(self.ca.as_deref(), ca_key)?),
            Verify::CaOnly => {
                let inner = WebPkiServerVerifier::builder_with_provider(
                    Arc::new(roots(self.ca.as_deref(), ca_key)?),
                    provider(),
                )
                .build()
                .map_err(|e| format!("{}: {}", ca_key, e))?;
                builder
                    .dangerous()
                    .with_custom_certificate_verifier(Arc::new(IgnoreName(inner)))
            }
            Verify::Nothing => builder
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(AcceptAny(provider()))),
        };
        match &self.identity {
            None => Ok(builder.with_no_client_auth()),
            Some(id) => {
                let (certs, key) = match id {
                    Identity::Pem { cert, key } => (
                        read_certs(cert, identity_key)?,
                        read_key(key, identity_key)?,
                    ),
                    Identity::Pkcs12 { path, password } => {
                        read_pkcs12(path, password, identity_key)?
                    }
                };
                builder.with_client_auth_cert(certs, key).map_err(|e| {
                    format!(
                        "{}: the client certificate and key do not go together: {}",
                        identity_key, e
                    )
                })
            }
        }
    }
}

/// Checks the chain but not the name (PostgreSQL's `verify-ca`).
#[derive(Debug)]
struct IgnoreName(Arc<WebPkiServerVerifier>);

impl ServerCertVerifier for IgnoreName {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        match self
            .0
            .verify_server_cert(end_entity, intermediates, server_name, ocsp, now)
        {
            Err(rustls::Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }
    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls12_signature(message, cert, dss)
    }
    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls13_signature(message, cert, dss)
    }
    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.0.supported_verify_schemes()
    }
}

/// Accepts any certificate (encryption without authentication, PostgreSQL's
/// `require`); the handshake signatures are still checked.
#[derive(Debug)]
struct AcceptAny(Arc<rustls::crypto::CryptoProvider>);

impl ServerCertVerifier for AcceptAny {
    fn verify_server_cert(
        &self,
        _: &CertificateDer<'_>,
        _: &[CertificateDer<'_>],
        _: &ServerName<'_>,
        _: &[u8],
        _: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }
    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }
    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }
    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CA: &str = include_str!("../../runtime/src/kafka/testdata/ca.pem");
    const KEY: &str = include_str!("../../runtime/src/kafka/testdata/key.pem");

    #[test]
    fn pem_files_make_a_config_with_a_client_identity() {
        let d = tempfile::tempdir().unwrap();
        let ca = d.path().join("ca.pem");
        let key = d.path().join("key.pem");
        std::fs::write(&ca, CA).unwrap();
        std::fs::write(&key, KEY).unwrap();
        for verify in [Verify::Full, Verify::CaOnly, Verify::Nothing] {
            let s = TlsSettings {
                ca: Some(ca.clone()),
                identity: Some(Identity::Pem {
                    cert: ca.clone(),
                    key: key.clone(),
                }),
                verify,
            };
            let c = s.client_config("x.ca", "x.cert").unwrap();
            assert!(c.client_auth_cert_resolver.has_certs());
        }
    }

    #[test]
    fn bad_files_are_named_and_secrets_are_not_shown() {
        let d = tempfile::tempdir().unwrap();
        let s = TlsSettings {
            ca: Some(d.path().join("missing.pem")),
            identity: None,
            verify: Verify::Full,
        };
        let e = s.client_config("amqp.ssl.ca.location", "k").unwrap_err();
        assert!(
            e.starts_with("amqp.ssl.ca.location: cannot read") && e.contains("missing.pem"),
            "{}",
            e
        );
        let junk = d.path().join("junk.pem");
        std::fs::write(&junk, "hello").unwrap();
        assert!(read_certs(&junk, "k")
            .unwrap_err()
            .contains("no PEM certificate"));
        let enc = d.path().join("enc.pem");
        std::fs::write(
            &enc,
            "-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----\n",
        )
        .unwrap();
        assert!(read_key(&enc, "k").unwrap_err().contains("openssl pkey"));
        let p12 = d.path().join("c.p12");
        std::fs::write(&p12, [0x30, 0x03, 0x02, 0x01, 0x03]).unwrap();
        let e = read_pkcs12(&p12, "hunter2", "k").unwrap_err();
        assert!(!e.contains("hunter2"), "{}", e);
    }

    #[test]
    fn a_der_pkcs8_key_is_read() {
        let der = PrivateKeyDer::from_pem_slice(KEY.as_bytes())
            .unwrap()
            .secret_der()
            .to_vec();
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("client.pk8");
        std::fs::write(&p, der).unwrap();
        assert!(matches!(
            read_key(&p, "k").unwrap(),
            PrivateKeyDer::Pkcs8(_)
        ));
    }
}
