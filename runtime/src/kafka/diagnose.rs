//! Telling a wrong password or certificate from a slow broker.
//!
//! librdkafka reports authentication and TLS handshake failures through the client's
//! error callback only (served when the client's main queue is polled, which an admin
//! client never does); the request that needed the connection just times out. The
//! [`Watchful`] context remembers such a failure, and [`or_credential_failure`] runs
//! an admin call beside a probe (a producer on the same settings whose thread polls its
//! queue) and ends the call with the failure at once, so that a worker with a wrong
//! password stops at start-up saying "authentication failed" instead of "timed out" a
//! minute later.

use std::future::Future;
use std::sync::{Arc, Mutex};

use rdkafka::client::ClientContext;
use rdkafka::error::KafkaError;
use rdkafka::producer::{DeliveryResult, ProducerContext, ThreadedProducer};
use rdkafka::types::RDKafkaErrorCode;
use rdkafka::ClientConfig;
use tokio::sync::Notify;

use crate::connector::ConnectError;

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

/// Whether librdkafka's reason for a transport error is a refused TLS handshake (with
/// TLS 1.3 a client certificate the broker refuses shows as a failed receive with the
/// broker's alert).
pub fn is_tls_refusal(reason: &str) -> bool {
    (reason.contains("SSL routines") && reason.contains(" alert "))
        || reason.contains("SSL handshake failed")
        || reason.contains("certificate verify failed")
}

impl ClientContext for Watchful {
    fn error(&self, error: KafkaError, reason: &str) {
        tracing::error!(target: "librdkafka", "librdkafka: {}: {}", error, reason);
        if is_credential_error(error.rdkafka_error_code()) || is_tls_refusal(reason) {
            let mut f = self.inner.failure.lock().unwrap_or_else(|e| e.into_inner());
            if f.is_none() {
                *f = Some(explain(reason));
                self.inner.notify.notify_waiters();
            }
        }
    }
}

impl ProducerContext for Watchful {
    type DeliveryOpaque = ();
    fn delivery(&self, _: &DeliveryResult<'_>, _: ()) {}
}

/// A client on `config` whose thread serves librdkafka's error callbacks to `ctx`
/// while it lives (it connects to the bootstrap servers at once).
pub fn probe(config: &ClientConfig, ctx: &Watchful) -> Option<ThreadedProducer<Watchful>> {
    config.create_with_context(ctx.clone()).ok()
}

/// For a client error callback: the explanation to show (in a task's status) when the
/// error means the credentials or certificates are refused; `None` for other errors.
pub fn credential_failure(error: &KafkaError, reason: &str) -> Option<String> {
    (is_credential_error(error.rdkafka_error_code()) || is_tls_refusal(reason))
        .then(|| explain(reason))
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

/// Runs a Kafka call made with `config`, ending it early with the failure if `ctx` (or
/// a probe on the same settings) sees the credentials or certificates refused (a fatal
/// error: retrying cannot help). Other errors are classified, with `context` in front.
pub async fn or_credential_failure<T>(
    config: &ClientConfig,
    ctx: &Watchful,
    call: impl Future<Output = Result<T, KafkaError>>,
    context: &str,
) -> Result<T, ConnectError> {
    let _probe = probe(config, ctx);
    tokio::select! {
        r = call => r.map_err(|e| match ctx.failure() {
            Some(f) => ConnectError::Fatal(format!("{}: {}", context, f)),
            None => super::classify(&e, context),
        }),
        f = ctx.failed() => Err(ConnectError::Fatal(format!("{}: {}", context, f))),
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
        assert!(is_tls_refusal("ssl://b:9100/bootstrap: Receive failed: error:0A000412:SSL routines::ssl/tls alert bad certificate: SSL alert number 42"));
        assert!(is_tls_refusal("Receive failed: error:0A000412:SSL routines::sslv3 alert bad certificate: SSL alert number 42"));
        assert!(!is_tls_refusal("Connection refused"));
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
        let never = std::future::pending::<Result<(), KafkaError>>();
        // a config that makes no client: the call is watched all the same
        let mut bad = ClientConfig::new();
        bad.set("no.such.key", "x");
        let e = or_credential_failure(&bad, &ctx, never, "the call")
            .await
            .unwrap_err();
        assert!(!e.is_retriable(), "{:?}", e);
        let e = e.to_string();
        assert!(e.starts_with("the call: authentication failed: "), "{}", e);
        assert!(e.contains("invalid credentials"), "{}", e);
    }
}
