//! One connection to RabbitMQ (amqps:// with the configured CA and client certificate):
//! connection, channel with basic.qos, and the consumer.

use futures::StreamExt;
use lapin::options::{BasicConsumeOptions, BasicQosOptions};
use lapin::types::FieldTable;
use lapin::{Channel, Connection, ConnectionProperties, Consumer, DefaultConnectionBuilder};

use super::config::AmqpSourceConfig;

/// A live consumer on the queue.
pub struct Session {
    pub connection: Connection,
    pub channel: Channel,
    pub consumer: Consumer,
    /// Which connection this is; tokens carry it (see `acknowledger`).
    pub generation: u64,
}

impl Session {
    /// Connects, opens a channel, sets the prefetch window and starts consuming with
    /// manual acknowledgements.
    pub async fn open(
        cfg: &AmqpSourceConfig,
        consumer_tag: &str,
        generation: u64,
    ) -> Result<Session, String> {
        let props = ConnectionProperties::default().with_connection_name(consumer_tag.into());
        // amqps:// with the amqp.ssl.* CA and client identity (empty for amqp://)
        let connection = DefaultConnectionBuilder::new()
            .map_err(|e| format!("cannot connect: {}", e))?
            .with_uri_str(cfg.uri_text.clone())
            .with_properties(props)
            .with_tls_config(cfg.tls.clone())
            .connect()
            .await
            .map_err(|e| format!("cannot connect over {}: {}", scheme(cfg), e))?;
        let channel = connection
            .create_channel()
            .await
            .map_err(|e| format!("cannot open a channel: {}", e))?;
        channel
            .basic_qos(cfg.prefetch, BasicQosOptions::default())
            .await
            .map_err(|e| format!("basic.qos failed: {}", e))?;
        let consumer = channel
            .basic_consume(
                cfg.queue.as_str().into(),
                consumer_tag.into(),
                // no_ack = false: every message waits for our basic.ack.
                BasicConsumeOptions::default(),
                FieldTable::default(),
            )
            .await
            .map_err(|e| format!("cannot consume from queue {}: {}", cfg.queue, e))?;
        Ok(Session {
            connection,
            channel,
            consumer,
            generation,
        })
    }

    /// The next delivery, if one is buffered right now.
    pub fn next_now(&mut self) -> Option<Option<lapin::Result<lapin::message::Delivery>>> {
        futures::FutureExt::now_or_never(self.consumer.next())
    }

    /// Closes the connection; RabbitMQ requeues whatever was not acknowledged.
    pub async fn close(self) {
        let _ = self.channel.close(200, "sluice task stopping".into()).await;
        let _ = self
            .connection
            .close(200, "sluice task stopping".into())
            .await;
    }
}

/// `amqps` (TLS) or `amqp`, for errors.
fn scheme(cfg: &AmqpSourceConfig) -> &'static str {
    match cfg.uri.scheme {
        lapin::uri::AMQPScheme::AMQPS => "amqps (TLS)",
        lapin::uri::AMQPScheme::AMQP => "amqp",
    }
}
