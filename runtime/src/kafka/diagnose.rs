//! Telling a wrong password or certificate from a slow broker.
//!
//! librdkafka reports authentication and TLS handshake failures through the client's
//! error callback only; the request that needed the connection just times out. The
//! [`Watchful`] context remembers such a failure, and [`or_credential_failure`] ends
//! an admin call with it at once, so that a worker with a wrong password stops at
//! start-up saying "authentication failed" instead of "timed out" a minute later.

use std::future::Future;
use std::sync::{Arc, Mutex};

use rdkafka::client::ClientContext;
use rdkafka::error::KafkaError;
use rdkafka::types::RDKafkaErrorCode;
use tokio::sync::Notify;

/// A client context that logs client errors as rdkafka's default one does and
/// remembers the first authentication or TLS failure.
#[derive(Clone, Default)]
pub struct Watchful {
    inner: Arc<Inner>,
}

#[derive(Default)]
struct Inner {
    failure: Mutex<Option<String>>,
    notify: Notify,
}

impl Watchful {
    /// The authentication or TLS failure seen so far, if any.
    pub fn failure(&self) -> Option<String> {
        self.inner
            .failure
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Waits until an authentication or TLS failure is seen.
    pub async fn failed(&self) -> String {
        loop {
            let notified = self.inner.notify.notified();
            if let Some(f) = self.failure() {
                return f;
            }
            notified.await;
        }
    }
}

/// Whether a client error means the credentials or certificates are wrong (it will
/// not go away by retrying).
pub fn is_credential_error(code: Option<RDKafkaErrorCode>) -> bool {
    matches!(
        code,
        Some(RDKafkaErrorCode::Authentication)
            | Some(RDKafkaErrorCode::SaslAuthenticationFailed)
            | Some(RDKafkaErrorCode::SSL)
            | Some(RDKafkaErrorCode::ClusterAuthorizationFailed)
    )
}

impl ClientContext for Watchful {
    fn error(&self, error: KafkaError, reason: &str) {
        tracing::error!(target: "librdkafka", "librdkafka: {}: {}", error, reason);
        if is_credential_error(error.rdkafka_error_code()) {
            let mut f = self.inner.failure.lock().unwrap_or_else(|e| e.into_inner());
            if f.is_none() {
                *f = Some(explain(reason));
                self.inner.notify.notify_waiters();
            }
        }
    }
}

/// librdkafka's reason, with what it means for the user.
fn explain(reason: &str) -> String {
    let r = reason.trim();
    if r.contains("SASL authentication error") || r.contains("Authentication failed") {
        format!(
            "authentication failed: {} (check sasl.mechanism and the username and password in sasl.jaas.config)",
            r
        )
    } else if r.contains("SSL") || r.contains("certificate") || r.contains("ssl") {
        format!(
            "the TLS handshake failed: {} (check ssl.truststore.* for the broker's CA, ssl.keystore.* for the client certificate, and ssl.endpoint.identification.algorithm)",
            r
        )
    } else {
        format!("authentication failed: {}", r)
    }
}

/// Runs a Kafka call, ending it early with the failure if `ctx` sees the credentials
/// or certificates refused.
pub async fn or_credential_failure<T, E: std::fmt::Display>(
    ctx: &Watchful,
    call: impl Future<Output = Result<T, E>>,
) -> Result<T, String> {
    tokio::select! {
        r = call => r.map_err(|e| match ctx.failure() {
            Some(f) => f,
            None => e.to_string(),
        }),
        f = ctx.failed() => Err(f),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credential_errors_are_told_apart() {
        assert!(is_credential_error(Some(RDKafkaErrorCode::Authentication)));
        assert!(is_credential_error(Some(RDKafkaErrorCode::SSL)));
        assert!(!is_credential_error(Some(
            RDKafkaErrorCode::BrokerTransportFailure
        )));
        assert!(!is_credential_error(None));
    }

    #[tokio::test]
    async fn a_failure_ends_a_pending_call() {
        let ctx = Watchful::default();
        let c = ctx.clone();
        tokio::spawn(async move {
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            c.error(
                KafkaError::ClientCreation("x".into()),
                "ignored: not a credential error",
            );
            c.error(
                KafkaError::Global(RDKafkaErrorCode::Authentication),
                "sasl_ssl://b:9099/bootstrap: SASL authentication error: Authentication failed during authentication due to invalid credentials with SASL mechanism SCRAM-SHA-512",
            );
        });
        let never = std::future::pending::<Result<(), String>>();
        let e = or_credential_failure(&ctx, never).await.unwrap_err();
        assert!(e.starts_with("authentication failed: "), "{}", e);
        assert!(e.contains("invalid credentials"), "{}", e);
    }
}
