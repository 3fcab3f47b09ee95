//! HTTPS listeners: a PEM certificate chain and key from
//! `listeners.https.ssl.certificate.location` and `listeners.https.ssl.key.location`.

use std::sync::Arc;

use axum::Router;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto::Builder;
use hyper_util::service::TowerToHyperService;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::rustls::ServerConfig;
use tokio_rustls::TlsAcceptor;

use crate::config::RawConfig;

/// Builds the TLS acceptor from the worker config.
pub fn acceptor(config: &RawConfig) -> Result<TlsAcceptor, String> {
    let cert_path = config
        .get("listeners.https.ssl.certificate.location")
        .ok_or("an https listener needs listeners.https.ssl.certificate.location (a PEM certificate chain)")?;
    let key_path = config
        .get("listeners.https.ssl.key.location")
        .ok_or("an https listener needs listeners.https.ssl.key.location (a PEM private key)")?;
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert_path)
        .map_err(|e| format!("cannot read certificate {}: {}", cert_path, e))?
        .collect::<Result<_, _>>()
        .map_err(|e| format!("cannot parse certificate {}: {}", cert_path, e))?;
    if certs.is_empty() {
        return Err(format!("no certificate in {}", cert_path));
    }
    let key = PrivateKeyDer::from_pem_file(key_path)
        .map_err(|e| format!("cannot read private key {}: {}", key_path, e))?;
    let provider = Arc::new(tokio_rustls::rustls::crypto::ring::default_provider());
    let server = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| format!("invalid certificate or key: {}", e))?;
    Ok(TlsAcceptor::from(Arc::new(server)))
}

/// Accepts TLS connections and serves the API on them.
pub async fn serve(listener: tokio::net::TcpListener, acceptor: TlsAcceptor, app: Router) {
    loop {
        let (stream, peer) = match listener.accept().await {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!("TLS listener accept failed: {}", e);
                continue;
            }
        };
        let acceptor = acceptor.clone();
        let app = app.clone();
        tokio::spawn(async move {
            let tls = match acceptor.accept(stream).await {
                Ok(t) => t,
                Err(e) => {
                    tracing::debug!(%peer, "TLS handshake failed: {}", e);
                    return;
                }
            };
            let service = TowerToHyperService::new(app);
            if let Err(e) = Builder::new(TokioExecutor::new())
                .serve_connection(TokioIo::new(tls), service)
                .await
            {
                tracing::debug!(%peer, "connection error: {}", e);
            }
        });
    }
}
