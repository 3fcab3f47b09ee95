//! One connection to RabbitMQ (amqps:// with the configured CA and client certificate):
//! connection, channel with basic.qos, and the consumer. [`connect`] is shared with the
//! sink.

use futures::StreamExt;
use lapin::options::{BasicConsumeOptions, BasicQosOptions, QueueDeclareOptions};
use lapin::tcp::OwnedTLSConfig;
use lapin::types::FieldTable;
use lapin::uri::AMQPUri;
use lapin::{Channel, Connection, ConnectionProperties, Consumer, DefaultConnectionBuilder};
use sluice_runtime::connector::BacklogGauge;

use super::config::AmqpSourceConfig;

/// A live consumer on the queue.
pub struct Session {
    pub connection: Connection,
    pub channel: Channel,
    pub consumer: Consumer,
    /// Which connection this is; tokens carry it (see `acknowledger`).
    pub generation: u64,
    /// Reports the queue's backlog while the session lives.
    backlog: tokio::task::JoinHandle<()>,
}

/// How often the queue's backlog is read.
const BACKLOG_EVERY: std::time::Duration = std::time::Duration::from_secs(5);

/// Reads the queue's message count (a passive queue.declare on a channel of its own,
/// so a failure cannot close the consuming channel) every [`BACKLOG_EVERY`] until the
/// channel or connection goes away.
async fn watch_backlog(channel: Channel, queue: String, gauge: BacklogGauge) {
    loop {
        let declared = channel
            .queue_declare(
                queue.as_str().into(),
                QueueDeclareOptions {
                    passive: true,
                    ..QueueDeclareOptions::default()
                },
                FieldTable::default(),
            )
            .await;
        match declared {
            Ok(q) => gauge.set(u64::from(q.message_count())),
            Err(e) => {
                tracing::debug!(queue = %queue, "stopped reading the queue's backlog: {}", e);
                return;
            }
        }
        tokio::time::sleep(BACKLOG_EVERY).await;
    }
}

impl Session {
    /// Connects, opens a channel, sets the prefetch window and starts consuming with
    /// manual acknowledgements.
    pub async fn open(
        cfg: &AmqpSourceConfig,
        consumer_tag: &str,
        generation: u64,
        backlog: &BacklogGauge,
    ) -> Result<Session, String> {
        let connection = connect(&cfg.uri_text, &cfg.uri, &cfg.tls, consumer_tag).await?;
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
        let watcher = connection
            .create_channel()
            .await
            .map_err(|e| format!("cannot open a channel: {}", e))?;
        let backlog = tokio::spawn(watch_backlog(watcher, cfg.queue.clone(), backlog.clone()));
        Ok(Session {
            connection,
            channel,
            consumer,
            generation,
            backlog,
        })
    }

    /// The next delivery, if one is buffered right now.
    pub fn next_now(&mut self) -> Option<Option<lapin::Result<lapin::message::Delivery>>> {
        futures::FutureExt::now_or_never(self.consumer.next())
    }

    /// Closes the connection; RabbitMQ requeues whatever was not acknowledged.
    pub async fn close(self) {
        self.backlog.abort();
        let _ = self.channel.close(200, "sluice task stopping".into()).await;
        let _ = self
            .connection
            .close(200, "sluice task stopping".into())
            .await;
    }
}

/// Opens a connection named `name` (shown by `rabbitmqctl list_connections`) to the
/// URI, over TLS with `tls` for amqps://. Errors never repeat the URI (it may hold a
/// password).
pub(super) async fn connect(
    uri_text: &str,
    uri: &AMQPUri,
    tls: &OwnedTLSConfig,
    name: &str,
) -> Result<Connection, String> {
    let props = ConnectionProperties::default().with_connection_name(name.into());
    // amqps:// with the amqp.ssl.* CA and client identity (empty for amqp://)
    DefaultConnectionBuilder::new()
        .map_err(|e| format!("cannot connect: {}", e))?
        .with_uri_str(uri_text.to_string())
        .with_properties(props)
        .with_tls_config(tls.clone())
        .connect()
        .await
        .map_err(|e| format!("cannot connect over {}: {}", scheme(uri), e))
}

/// `amqps` (TLS) or `amqp`, for errors.
fn scheme(uri: &AMQPUri) -> &'static str {
    match uri.scheme {
        lapin::uri::AMQPScheme::AMQPS => "amqps (TLS)",
        lapin::uri::AMQPScheme::AMQP => "amqp",
    }
}
