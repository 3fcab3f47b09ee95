//! One connection to RabbitMQ with a channel in confirm mode: publishes messages and
//! hands back the future of each one's publisher confirm.

use std::future::Future;
use std::pin::Pin;
use std::task::Poll;

use lapin::message::BasicReturnMessage;
use lapin::options::{BasicPublishOptions, ConfirmSelectOptions, ExchangeDeclareOptions};
use lapin::types::FieldTable;
use lapin::{Channel, Confirmation, Connection, PublisherConfirm};

use super::super::session::connect;
use super::config::AmqpSinkConfig;
use super::message::OutMessage;

/// A connection and its confirm-mode channel.
pub struct Publisher {
    connection: Connection,
    channel: Channel,
}

/// What RabbitMQ said about one published message.
#[derive(Debug)]
pub enum Outcome {
    /// Confirmed and routed (or not mandatory).
    Delivered,
    /// Not delivered: returned (unroutable, mandatory) or nacked; the reason.
    Refused(String),
    /// Confirmed, with a message RabbitMQ returned as unroutable attached. lapin hands a
    /// returned message to the next confirm it completes, which with a multiple ack is
    /// any of the messages it covers: the returned one is found by its content (see
    /// `task::attribute_returns`).
    Returned(String, Box<BasicReturnMessage>),
}

impl Outcome {
    pub fn is_delivered(&self) -> bool {
        matches!(self, Outcome::Delivered)
    }
}

/// Is `r` the returned copy of `m` (same routing key, body and message id)?
pub fn is_returned_copy(m: &OutMessage, r: &BasicReturnMessage) -> bool {
    r.delivery.routing_key == m.routing_key
        && r.delivery.data == m.body.as_ref()
        && r.delivery.properties.message_id() == m.properties.message_id()
}

impl Publisher {
    /// Connects (named `name`, as `rabbitmqctl list_connections` shows it), opens a
    /// channel and switches it to publisher confirms.
    pub async fn open(cfg: &AmqpSinkConfig, name: &str) -> Result<Publisher, String> {
        let connection = connect(&cfg.uri_text, &cfg.uri, &cfg.tls, name).await?;
        let channel = connection
            .create_channel()
            .await
            .map_err(|e| format!("cannot open a channel: {}", e))?;
        if !cfg.exchange.is_empty() {
            // A passive declare fails (and closes its channel) if the exchange is
            // missing: say so now rather than when the first confirm never comes.
            let probe = connection
                .create_channel()
                .await
                .map_err(|e| format!("cannot open a channel: {}", e))?;
            probe
                .exchange_declare(
                    cfg.exchange.as_str().into(),
                    lapin::ExchangeKind::Direct,
                    ExchangeDeclareOptions {
                        passive: true,
                        ..Default::default()
                    },
                    FieldTable::default(),
                )
                .await
                .map_err(|e| format!("exchange {} is not usable: {}", cfg.exchange, e))?;
            let _ = probe.close(200, "checked".into()).await;
        }
        channel
            .confirm_select(ConfirmSelectOptions::default())
            .await
            .map_err(|e| format!("confirm.select failed: {}", e))?;
        Ok(Publisher {
            connection,
            channel,
        })
    }

    /// Sends one message; the returned future resolves with RabbitMQ's confirm. An
    /// error means the channel or connection is gone.
    pub async fn publish(
        &self,
        exchange: &str,
        mandatory: bool,
        m: &OutMessage,
    ) -> Result<PublisherConfirm, lapin::Error> {
        self.channel
            .basic_publish(
                exchange.into(),
                m.routing_key.clone(),
                BasicPublishOptions {
                    mandatory,
                    immediate: false,
                },
                &m.body,
                m.properties.clone(),
            )
            .await
    }

    /// Publishes `messages` in order and waits until lapin's I/O thread has written them
    /// all. lapin completes a publish only once that thread wrote it, so publishing one
    /// message at a time costs a hand-off between threads for each; here every publish
    /// is started (given its delivery tag and queued, in order) before any is awaited,
    /// and the I/O thread writes them together. One result per message, in order.
    pub async fn publish_all<'a>(
        &'a self,
        exchange: &'a str,
        mandatory: bool,
        messages: impl Iterator<Item = &'a OutMessage>,
    ) -> Vec<Result<PublisherConfirm, lapin::Error>> {
        type Publish<'f> =
            Pin<Box<dyn Future<Output = Result<PublisherConfirm, lapin::Error>> + Send + 'f>>;
        let mut publishes: Vec<Publish<'a>> = messages
            .map(|m| Box::pin(self.publish(exchange, mandatory, m)) as Publish<'a>)
            .collect();
        let mut results: Vec<Option<Result<PublisherConfirm, lapin::Error>>> =
            publishes.iter().map(|_| None).collect();
        // Polled in order every time, so their first polls (which queue them) are in
        // publish order.
        std::future::poll_fn(|cx| {
            let mut done = true;
            for (publish, result) in publishes.iter_mut().zip(results.iter_mut()) {
                if result.is_none() {
                    match publish.as_mut().poll(cx) {
                        Poll::Ready(r) => *result = Some(r),
                        Poll::Pending => done = false,
                    }
                }
            }
            if done {
                Poll::Ready(())
            } else {
                Poll::Pending
            }
        })
        .await;
        results
            .into_iter()
            .map(|r| r.expect("every publish completed"))
            .collect()
    }

    /// Closes the channel and the connection.
    pub async fn close(self) {
        let _ = self.channel.close(200, "sluice task stopping".into()).await;
        let _ = self
            .connection
            .close(200, "sluice task stopping".into())
            .await;
    }
}

/// Reads a confirm: a returned message (mandatory, no queue bound) or a nack is
/// refused, naming the reason RabbitMQ gave.
pub fn outcome(c: Confirmation) -> Outcome {
    match c {
        Confirmation::Ack(None) | Confirmation::NotRequested => Outcome::Delivered,
        Confirmation::Ack(Some(r)) => Outcome::Returned(
            format!(
                "RabbitMQ returned the message as unroutable ({} {}): no queue is bound for it",
                r.reply_code, r.reply_text
            ),
            Box::new(r),
        ),
        Confirmation::Nack(Some(r)) => Outcome::Refused(format!(
            "RabbitMQ refused the message (basic.nack; returned {} {})",
            r.reply_code, r.reply_text
        )),
        Confirmation::Nack(None) => Outcome::Refused(
            "RabbitMQ refused the message (basic.nack: it could not store it, e.g. a queue at its length limit with overflow=reject-publish)".into(),
        ),
    }
}
