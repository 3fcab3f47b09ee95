//! HTTPS listeners: a PEM certificate chain and key from
//! `listeners.https.ssl.certificate.location` and `listeners.https.ssl.key.location`.
//!
//! The accept loop survives running out of file descriptors (EMFILE/ENFILE) or
//! memory: a failed accept is logged once per burst and the loop waits with a growing
//! delay ([`AcceptBackoff`]) instead of retrying at once, which would spin a core while
//! the pending connection stays in the backlog. A client gets [`HANDSHAKE_TIMEOUT`] to
//! finish the TLS handshake, so idle connections cannot hold descriptors forever.

use std::sync::Arc;
use std::time::Duration;

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

/// How long a client may take to complete the TLS handshake.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// The wait after failed accepts: 10 ms after the first, doubling up to 1 s; reset by
/// the next accept that succeeds.
#[derive(Debug, Default)]
pub struct AcceptBackoff {
    /// Failed accepts in the current burst.
    failures: u64,
}

impl AcceptBackoff {
    const FIRST: Duration = Duration::from_millis(10);
    const MAX: Duration = Duration::from_secs(1);

    /// Records a failed accept; returns how long to wait before the next one, and
    /// whether this failure starts a burst (the one to log).
    pub fn failed(&mut self) -> (Duration, bool) {
        self.failures += 1;
        let shift = (self.failures - 1).min(16) as u32;
        let delay = Self::FIRST.saturating_mul(1 << shift).min(Self::MAX);
        (delay, self.failures == 1)
    }

    /// Records a successful accept; returns the number of failures of the burst it
    /// ends (0 if there was none).
    pub fn succeeded(&mut self) -> u64 {
        std::mem::take(&mut self.failures)
    }
}

/// Errors that concern one connection only (it went away before it was accepted):
/// the next accept can follow at once.
fn is_connection_error(e: &std::io::Error) -> bool {
    matches!(
        e.kind(),
        std::io::ErrorKind::ConnectionRefused
            | std::io::ErrorKind::ConnectionAborted
            | std::io::ErrorKind::ConnectionReset
    )
}

/// Accepts TLS connections and serves the API on them.
pub async fn serve(listener: tokio::net::TcpListener, acceptor: TlsAcceptor, app: Router) {
    let mut backoff = AcceptBackoff::default();
    loop {
        let (stream, peer) = match listener.accept().await {
            Ok(s) => {
                let failed = backoff.succeeded();
                if failed > 0 {
                    tracing::info!(
                        "TLS listener accepts connections again after {} failed attempts",
                        failed
                    );
                }
                s
            }
            Err(e) if is_connection_error(&e) => continue,
            Err(e) => {
                let (delay, first) = backoff.failed();
                if first {
                    tracing::warn!(
                        "TLS listener cannot accept connections: {} (retrying with backoff up to {:?}; logged once until it recovers)",
                        e,
                        AcceptBackoff::MAX
                    );
                }
                tokio::time::sleep(delay).await;
                continue;
            }
        };
        let acceptor = acceptor.clone();
        let app = app.clone();
        tokio::spawn(async move {
            let tls = match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await {
                Ok(Ok(t)) => t,
                Ok(Err(e)) => {
                    tracing::debug!(%peer, "TLS handshake failed: {}", e);
                    return;
                }
                Err(_) => {
                    tracing::debug!(%peer, "TLS handshake not completed within {:?}", HANDSHAKE_TIMEOUT);
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_backoff_grows_to_a_second_and_resets() {
        let mut b = AcceptBackoff::default();
        assert_eq!(b.failed(), (Duration::from_millis(10), true));
        assert_eq!(b.failed(), (Duration::from_millis(20), false));
        assert_eq!(b.failed(), (Duration::from_millis(40), false));
        for _ in 0..100 {
            assert!(b.failed().0 <= Duration::from_secs(1));
        }
        assert_eq!(b.failed().0, Duration::from_secs(1));
        assert_eq!(b.succeeded(), 104);
        assert_eq!(b.succeeded(), 0);
        assert_eq!(b.failed(), (Duration::from_millis(10), true), "a new burst");
    }
}
