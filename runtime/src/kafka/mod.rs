//! Kafka clients: building rdkafka configs from worker and connector settings (Java
//! client keys, including the security ones, translated for librdkafka), creating
//! topics, and reading a topic to its end.

mod admin;
pub mod diagnose;
pub(crate) mod fetch_queue;
mod internal_topics;
pub mod jaas;
mod read_to_end;
pub mod security;
pub(crate) mod stores;

use rdkafka::ClientConfig;

use crate::config::RawConfig;

pub use admin::{ensure_topic, TopicSpec};
pub use internal_topics::{ensure_internal_topic, InternalTopic};
pub use read_to_end::read_to_end;
pub(crate) use read_to_end::{partitions_with_leaders, watermarks};

/// The producer settings Sluice uses for source records unless overridden:
/// idempotent, acks=all, many records in flight.
pub fn source_producer_defaults() -> RawConfig {
    [
        ("enable.idempotence", "true"),
        ("acks", "all"),
        ("max.in.flight.requests.per.connection", "5"),
        ("linger.ms", "5"),
        ("batch.num.messages", "10000"),
        ("queue.buffering.max.messages", "200000"),
        ("queue.buffering.max.kbytes", "262144"),
        ("message.timeout.ms", "300000"),
        ("partitioner", "murmur2_random"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect()
}

/// The consumer settings Sluice uses for sink tasks unless overridden.
///
/// `fetch.queue.backoff.ms`: librdkafka (2.4+) stops fetching a partition for this long
/// whenever its local queue is above `queued.min.messages`; its default of 1000 ms
/// halves throughput when the task drains the queue in bursts, so Sluice uses 20 ms.
///
/// `topic.metadata.refresh.interval.ms`: a consumer subscribed to a topic that does not
/// exist yet (a sink started before its source created the topic) or to a
/// `topics.regex` only notices new topics at this interval; librdkafka's default of
/// 5 minutes left such sinks idle that long, so Sluice uses 10 s.
pub fn sink_consumer_defaults() -> RawConfig {
    [
        ("fetch.queue.backoff.ms", "20"),
        ("topic.metadata.refresh.interval.ms", "10000"),
        ("enable.auto.commit", "false"),
        ("enable.auto.offset.store", "false"),
        ("auto.offset.reset", "earliest"),
        ("enable.partition.eof", "false"),
        ("fetch.min.bytes", "1"),
        ("session.timeout.ms", "45000"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect()
}

/// Keys Connect users set on Java clients that librdkafka does not know; dropped so a
/// config copied from a Connect worker does not fail.
const JAVA_ONLY_KEYS: &[&str] = &[
    "key.serializer",
    "value.serializer",
    "key.deserializer",
    "value.deserializer",
    "interceptor.classes",
    "buffer.memory",
    "max.block.ms",
    "delivery.timeout.ms",
    "default.api.timeout.ms",
    "request.timeout.ms",
    "retry.backoff.ms",
    "max.poll.records",
    "max.poll.interval.ms.java",
    "partition.assignment.strategy.java",
    "client.dns.lookup",
    "security.providers",
];

/// Builds an rdkafka config from layered settings (later layers win): Java-only keys
/// dropped, renamed keys renamed, security settings translated (see [`security`]).
///
/// Security settings that cannot be translated (a JKS truststore in a connector's
/// `producer.override.*`, say: the worker's own settings were checked at start-up)
/// yield a config that librdkafka refuses with the problem as its message, so the
/// client (and the task) fails with it; [`try_client_config`] returns the problems
/// instead.
pub fn client_config(layers: &[&RawConfig]) -> ClientConfig {
    match try_client_config(layers) {
        Ok(c) => c,
        Err(issues) => {
            let msg = crate::config::ConfigErrors(issues).to_string();
            tracing::error!("invalid Kafka client settings: {}", msg);
            let mut cfg = ClientConfig::new();
            cfg.set(INVALID_SETTINGS, msg);
            cfg
        }
    }
}

/// The key that carries the problems of an untranslatable config (librdkafka rejects it
/// as unknown and shows its value).
const INVALID_SETTINGS: &str = "invalid Kafka client settings";

/// [`client_config`], with the problems of settings that do not translate, each naming
/// its (unprefixed) key.
pub fn try_client_config(
    layers: &[&RawConfig],
) -> Result<ClientConfig, Vec<crate::config::ConfigIssue>> {
    let renamed: Vec<RawConfig> = layers
        .iter()
        .map(|layer| {
            layer
                .iter()
                .filter(|(k, _)| !JAVA_ONLY_KEYS.contains(&k.as_str()))
                .map(|(k, v)| {
                    let (k, v) = translate(k, v);
                    (k.to_string(), v)
                })
                .collect()
        })
        .collect();
    let refs: Vec<&RawConfig> = renamed.iter().collect();
    let translated = security::translate(&refs)?;
    let mut cfg = ClientConfig::new();
    for (k, v) in translated {
        cfg.set(k, v);
    }
    Ok(cfg)
}

/// Translates Java client keys whose librdkafka name or values differ.
fn translate<'a>(k: &'a str, v: &'a str) -> (&'a str, String) {
    match k {
        "batch.size" => ("batch.size", v.to_string()),
        "compression.type" => ("compression.type", v.to_string()),
        "acks" if v == "-1" => ("acks", "all".to_string()),
        // Java's periodic metadata refresh (which finds new partitions and topics) is
        // librdkafka's topic.metadata.refresh.interval.ms; librdkafka's own
        // metadata.max.age.ms means something else (how long its cache is trusted).
        "metadata.max.age.ms" => ("topic.metadata.refresh.interval.ms", v.to_string()),
        _ => (k, v.to_string()),
    }
}

/// Whether an error code from Kafka may go away by itself (a broker restarting, a
/// leader moving, a timeout), so that retrying can help; authorization, policy and
/// configuration errors cannot.
pub fn is_retriable_code(code: rdkafka::types::RDKafkaErrorCode) -> bool {
    use rdkafka::types::RDKafkaErrorCode as C;
    !matches!(
        code,
        C::InvalidReplicationFactor
            | C::InvalidPartitions
            | C::InvalidConfig
            | C::InvalidTopic
            | C::PolicyViolation
            | C::TopicAuthorizationFailed
            | C::ClusterAuthorizationFailed
            | C::GroupAuthorizationFailed
            | C::TransactionalIdAuthorizationFailed
            | C::SaslAuthenticationFailed
            | C::Authentication
            | C::InvalidRequest
            | C::UnsupportedVersion
            | C::InvalidArgument
            | C::UnknownTopicOrPartition
    )
}

/// An rdkafka error as a [`ConnectError`](crate::connector::ConnectError), retriable
/// when retrying can help, with `context` in front.
pub fn classify(e: &rdkafka::error::KafkaError, context: &str) -> crate::connector::ConnectError {
    use crate::connector::ConnectError;
    let retriable = match e.rdkafka_error_code() {
        Some(code) => is_retriable_code(code),
        // Client creation and configuration errors carry no code: they are the
        // config's fault and do not heal.
        None => !matches!(
            e,
            rdkafka::error::KafkaError::ClientConfig(..)
                | rdkafka::error::KafkaError::ClientCreation(_)
        ),
    };
    let msg = format!("{}: {}", context, e);
    if retriable {
        ConnectError::Retriable(msg)
    } else {
        ConnectError::Fatal(msg)
    }
}

/// Runs `op` until it succeeds, fails with an error a retry cannot fix, or keeps
/// failing for `give_up_after`; waits 1 s, 2 s, ... up to 30 s between attempts and
/// logs each failure. For what a worker needs from Kafka at start-up: a worker started
/// together with its brokers waits for them instead of exiting.
pub async fn retry_retriable<T, Fut>(
    what: &str,
    give_up_after: std::time::Duration,
    mut op: impl FnMut() -> Fut,
) -> Result<T, crate::connector::ConnectError>
where
    Fut: std::future::Future<Output = Result<T, crate::connector::ConnectError>>,
{
    let deadline = tokio::time::Instant::now() + give_up_after;
    let mut backoff = crate::task::Backoff::new(
        std::time::Duration::from_secs(1),
        std::time::Duration::from_secs(30),
    );
    loop {
        match op().await {
            Err(e) if e.is_retriable() && tokio::time::Instant::now() < deadline => {
                let delay = backoff.next_delay();
                tracing::warn!("{} failed, retrying in {:?}: {}", what, delay, e);
                tokio::time::sleep(delay).await;
            }
            r => return r,
        }
    }
}

/// A short description of an rdkafka error.
pub fn describe(e: &rdkafka::error::KafkaError) -> String {
    e.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(pairs: &[(&str, &str)]) -> RawConfig {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn later_layers_win_and_renames_keep_their_layer() {
        let c = client_config(&[
            &raw(&[
                ("topic.metadata.refresh.interval.ms", "10000"),
                ("acks", "1"),
            ]),
            &raw(&[
                ("metadata.max.age.ms", "500"),
                ("acks", "-1"),
                ("max.poll.records", "9"),
            ]),
        ]);
        assert_eq!(c.get("topic.metadata.refresh.interval.ms"), Some("500"));
        assert_eq!(c.get("acks"), Some("all"));
        assert_eq!(c.get("max.poll.records"), None);
    }

    #[test]
    fn settings_that_do_not_translate_make_a_client_that_fails_with_the_reason() {
        let c = client_config(&[&raw(&[
            ("security.protocol", "SASL_SSL"),
            ("sasl.mechanism", "GSSAPI"),
            ("sasl.password", "topsecret"),
        ])]);
        let e = c
            .create::<rdkafka::producer::BaseProducer>()
            .err()
            .expect("the client must not be made")
            .to_string();
        assert!(
            e.contains("sasl.mechanism: GSSAPI (Kerberos) is not supported"),
            "{}",
            e
        );
        assert!(!e.contains("topsecret"), "{}", e);
    }
}
