//! The worker's internal topics (configs, offsets, statuses), created and checked as
//! Kafka Connect does: compacted, with the configured partitions and replication
//! factor. An existing topic that is not compacted is refused, because Kafka would
//! delete old records from it and with them connector configs or source offsets.

use std::time::Duration;

use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, ResourceSpecifier, TopicReplication};
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::RDKafkaErrorCode;
use rdkafka::ClientConfig;

use super::diagnose::{or_credential_failure, Watchful};
use crate::connector::ConnectError;

/// One internal topic and the worker keys that name and shape it.
#[derive(Debug, Clone)]
pub struct InternalTopic {
    pub name: String,
    pub partitions: i32,
    /// -1 lets the broker choose.
    pub replication: i32,
    /// The worker key that names the topic (`offset.storage.topic`, ...).
    pub topic_key: &'static str,
    /// The worker key of its replication factor.
    pub replication_key: &'static str,
    /// What the topic keeps, for error messages ("source connector offsets").
    pub holds: &'static str,
    /// The config topic must have exactly one partition (its records are ordered).
    pub single_partition: bool,
}

/// Creates the topic if it is missing; checks an existing one. Every error names the
/// topic, the worker key, and the fix. A topic that exists but is set up wrongly is a
/// fatal error; one Kafka could not answer about (yet) is retriable. A wrong password
/// or certificate ends the call at once, saying so.
pub async fn ensure_internal_topic(
    admin: &ClientConfig,
    t: &InternalTopic,
) -> Result<(), ConnectError> {
    let ctx = Watchful::default();
    let client: AdminClient<Watchful> = admin
        .create_with_context(ctx.clone())
        .map_err(|e| super::classify(&e, "cannot create a Kafka admin client"))?;
    let topic = NewTopic::new(
        &t.name,
        t.partitions,
        TopicReplication::Fixed(t.replication),
    )
    .set("cleanup.policy", "compact");
    let opts = AdminOptions::new().operation_timeout(Some(Duration::from_secs(30)));
    let results = or_credential_failure(
        admin,
        &ctx,
        client.create_topics([&topic], &opts),
        &format!("cannot create topic '{}' ({})", t.name, t.topic_key),
    )
    .await?;
    for r in results {
        match r {
            Ok(_) => {
                tracing::info!(topic = %t.name, partitions = t.partitions, replication = t.replication, "created internal topic");
                return Ok(());
            }
            Err((_, RDKafkaErrorCode::TopicAlreadyExists)) => {}
            Err((_, RDKafkaErrorCode::InvalidReplicationFactor)) => {
                return Err(ConnectError::Fatal(format!(
                    "cannot create topic '{}' ({}) with replication factor {}: the Kafka cluster has {} broker(s). Set {} to at most that (or -1 for the broker's default.replication.factor)",
                    t.name,
                    t.topic_key,
                    t.replication,
                    broker_count(admin).map_or("fewer".to_string(), |n| n.to_string()),
                    t.replication_key
                )))
            }
            Err((_, code)) => {
                let msg = format!("cannot create topic '{}' ({}): {}", t.name, t.topic_key, code);
                return Err(if super::is_retriable_code(code) {
                    ConnectError::Retriable(msg)
                } else {
                    ConnectError::Fatal(msg)
                });
            }
        }
    }
    check_existing(admin, &client, t).await
}

async fn check_existing(
    admin: &ClientConfig,
    client: &AdminClient<Watchful>,
    t: &InternalTopic,
) -> Result<(), ConnectError> {
    let opts = AdminOptions::new().request_timeout(Some(Duration::from_secs(30)));
    let described = client
        .describe_configs([&ResourceSpecifier::Topic(&t.name)], &opts)
        .await
        .map_err(|e| {
            super::classify(
                &e,
                &format!("cannot read the configuration of topic '{}'", t.name),
            )
        })?;
    for r in described {
        let resource = r.map_err(|code| {
            ConnectError::Retriable(format!(
                "cannot read the configuration of topic '{}': {}",
                t.name, code
            ))
        })?;
        let policy = resource
            .get("cleanup.policy")
            .and_then(|e| e.value.clone())
            .unwrap_or_else(|| "delete".into());
        if policy.trim() != "compact" {
            return Err(ConnectError::Fatal(format!(
                "topic '{}' ({}) has cleanup.policy={}, but it must be compacted only (cleanup.policy=compact): otherwise Kafka deletes old records and with them {}, and connectors lose their state after a restart. Either compact it (kafka-configs.sh --alter --entity-type topics --entity-name {} --add-config cleanup.policy=compact) or set {} to another topic",
                t.name, t.topic_key, policy, t.holds, t.name, t.topic_key
            )));
        }
    }
    if t.single_partition {
        let partitions = partition_count(admin, &t.name).map_err(ConnectError::Retriable)?;
        if partitions != 1 {
            return Err(ConnectError::Fatal(format!(
                "topic '{}' ({}) has {} partitions, but it must have exactly one, so that {} are read in the order they were written. Set {} to a topic with one partition",
                t.name, t.topic_key, partitions, t.holds, t.topic_key
            )));
        }
    }
    Ok(())
}

fn broker_count(admin: &ClientConfig) -> Option<usize> {
    let c: BaseConsumer = admin.create().ok()?;
    let md = c.fetch_metadata(None, Duration::from_secs(10)).ok()?;
    Some(md.brokers().len())
}

fn partition_count(admin: &ClientConfig, topic: &str) -> Result<usize, String> {
    let c: BaseConsumer = admin
        .create()
        .map_err(|e| format!("cannot create a Kafka client: {}", e))?;
    let md = c
        .fetch_metadata(Some(topic), Duration::from_secs(10))
        .map_err(|e| format!("cannot read the metadata of topic '{}': {}", topic, e))?;
    Ok(md
        .topics()
        .iter()
        .find(|m| m.name() == topic)
        .map_or(0, |m| m.partitions().len()))
}
