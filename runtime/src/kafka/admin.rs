//! Topic creation for internal and dead letter queue topics.

use std::time::Duration;

use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::error::RDKafkaErrorCode;
use rdkafka::ClientConfig;

use super::diagnose::{or_credential_failure, Watchful};
use crate::connector::ConnectError;

/// A topic Sluice creates when it is missing.
#[derive(Debug, Clone)]
pub struct TopicSpec {
    pub name: String,
    pub partitions: i32,
    /// -1 lets the broker choose.
    pub replication: i32,
    pub compacted: bool,
}

/// Creates the topic unless it exists. Errors name the topic and say whether a retry
/// can help; a wrong password or certificate ends the call at once, saying so.
pub async fn ensure_topic(config: &ClientConfig, spec: &TopicSpec) -> Result<(), ConnectError> {
    let ctx = Watchful::default();
    let admin: AdminClient<Watchful> = config
        .create_with_context(ctx.clone())
        .map_err(|e| super::classify(&e, "cannot create a Kafka admin client"))?;
    let mut topic = NewTopic::new(
        &spec.name,
        spec.partitions,
        TopicReplication::Fixed(spec.replication),
    );
    if spec.compacted {
        topic = topic.set("cleanup.policy", "compact");
    }
    let opts = AdminOptions::new().operation_timeout(Some(Duration::from_secs(30)));
    let results = or_credential_failure(
        config,
        &ctx,
        admin.create_topics([&topic], &opts),
        &format!("cannot create topic {}", spec.name),
    )
    .await?;
    for r in results {
        match r {
            Ok(_) => {
                tracing::info!(topic = %spec.name, partitions = spec.partitions, "created topic")
            }
            Err((_, RDKafkaErrorCode::TopicAlreadyExists)) => {}
            Err((name, code)) => {
                let msg = format!("cannot create topic {}: {}", name, code);
                return Err(if super::is_retriable_code(code) {
                    ConnectError::Retriable(msg)
                } else {
                    ConnectError::Fatal(msg)
                });
            }
        }
    }
    Ok(())
}
