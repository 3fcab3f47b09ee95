//! The link driver: a task that owns one connection's receiver. It forwards received
//! messages to the source task through a bounded channel, and settles deliveries on
//! the task's commands: `accepted` over a range once Kafka has a batch, and at stop
//! `released` (or `modified` with delivery-failed for a message that failed to
//! convert) for what is left, so the broker redelivers it at once.
//!
//! Credit is granted by hand: received and unsettled messages plus the credit the
//! broker may still use stay within `amqp1.credit`. After an accepted batch the credit
//! is topped up (to `credit - unsettled`) once a quarter of the window is free, so the
//! broker keeps sending while records are converted and Kafka acknowledges (a spec
//! broker counts new credit from the receiver's delivery count: Artemis, Qpid,
//! RabbitMQ 4). A broker whose new credit comes on top of the messages already on
//! their way (RabbitMQ 3.x's plugin, known by its open frame:
//! [`crate::amqp1::peer::Peer`]) would send past the credit fe2o3-amqp holds, which
//! fails the link; with it credit is granted only once the last grant is used up,
//! when both counts agree.

use std::collections::{HashSet, VecDeque};
use std::sync::{Arc, Mutex};

use fe2o3_amqp::link::delivery::DeliveryInfo;
use fe2o3_amqp::link::receiver::CreditMode;
use fe2o3_amqp::types::definitions::{ReceiverSettleMode, SenderSettleMode};
use fe2o3_amqp::types::messaging::message::Body;
use fe2o3_amqp::types::messaging::{
    Message, Modified, Source, TerminusDurability, TerminusExpiryPolicy,
};
use fe2o3_amqp::types::primitives::{Array, Symbol, Value as Amqp};
use fe2o3_amqp::Receiver;
use serde_amqp::described::Described;
use serde_amqp::descriptor::Descriptor;
use tokio::sync::mpsc;

use super::config::SourceConfig;
use crate::amqp1::connection::Opened;

/// The JMS selector filter's key and descriptor (Apache's filter registry).
const SELECTOR_KEY: &str = "jms-selector";
const SELECTOR_DESCRIPTOR: &str = "apache.org:selector-filter:string";

/// A received message and its number on this link (1, 2, ...). The message is boxed:
/// it is large, and moves through the channel to the task.
pub struct Incoming {
    pub seq: u64,
    pub message: Box<Message<Body<Amqp>>>,
}

/// What the task asks of the driver.
pub enum Command {
    /// Accept every delivery up to this number.
    Accept(u64),
    /// This delivery failed to convert: if it is still unsettled at stop, settle it as
    /// `modified` with delivery-failed (the broker counts a delivery attempt).
    Poisoned(u64),
    /// Settle what is left (released / modified), detach or close the link, close the
    /// connection, and end.
    Stop,
}

/// What one `recv` gives.
type Received =
    Result<fe2o3_amqp::link::delivery::Delivery<Body<Amqp>>, fe2o3_amqp::link::RecvError>;

/// Why the driver ended, for the task's status.
#[derive(Default)]
pub struct Ended(pub Mutex<Option<String>>);

/// Attaches the receiver on `opened`'s session.
pub async fn attach(
    opened: &mut Opened,
    cfg: &SourceConfig,
    link_name: &str,
) -> Result<Receiver, String> {
    let mut source = Source::builder().address(cfg.address.clone());
    if !cfg.capabilities.is_empty() {
        let caps: Vec<Symbol> = cfg
            .capabilities
            .iter()
            .map(|c| Symbol::from(c.as_str()))
            .collect();
        source = source.capabilities(Array::from(caps));
    }
    if cfg.subscription.is_some() {
        source = source
            .durable(TerminusDurability::UnsettledState)
            .expiry_policy(TerminusExpiryPolicy::Never);
    }
    if let Some(sel) = &cfg.selector {
        source = source.add_to_filter(
            SELECTOR_KEY,
            Described {
                descriptor: Descriptor::Name(Symbol::from(SELECTOR_DESCRIPTOR)),
                value: Amqp::String(sel.clone()),
            },
        );
    }
    let name = cfg
        .subscription
        .clone()
        .unwrap_or_else(|| link_name.to_string());
    let mut receiver = Receiver::builder()
        .name(name)
        .source(source.build())
        .sender_settle_mode(SenderSettleMode::Unsettled)
        .receiver_settle_mode(ReceiverSettleMode::First)
        .credit_mode(CreditMode::Manual)
        .attach(&mut opened.session)
        .await
        .map_err(|e| format!("cannot attach a receiver to {}: {}", cfg.address, e))?;
    receiver
        .set_credit(cfg.credit)
        .await
        .map_err(|e| format!("cannot grant link credit: {}", e))?;
    Ok(receiver)
}

/// Runs the link until `Stop`, a lost connection, or the task dropping its end.
pub async fn run(
    opened: Opened,
    mut receiver: Receiver,
    credit: u32,
    durable: bool,
    tx: mpsc::Sender<Incoming>,
    mut commands: mpsc::Receiver<Command>,
    ended: Arc<Ended>,
) {
    let mut unsettled: VecDeque<(u64, DeliveryInfo)> = VecDeque::new();
    let mut poisoned: HashSet<u64> = HashSet::new();
    let mut seq = 0u64;
    // the credit the broker may still use (granted at open)
    let mut outstanding = credit;
    // the broker adds new credit to what is in flight (see the module doc)
    let additive = opened.peer.credit_adds_to_what_is_in_flight();
    if additive {
        tracing::info!(product = ?opened.peer.product, version = ?opened.peer.version, "this broker adds new link credit to the messages in flight: granting credit only once it is used up");
    }
    let why = loop {
        enum Event {
            Cmd(Option<Command>),
            Msg(Box<Received>),
        }
        let ev = tokio::select! {
            biased;
            c = commands.recv() => Event::Cmd(c),
            d = receiver.recv::<Body<Amqp>>() => Event::Msg(Box::new(d)),
        };
        match ev {
            Event::Cmd(Some(Command::Accept(mut upto))) => {
                // Kafka finishes several batches at once and their tokens come
                // together: one disposition and one credit decision for all of them.
                let mut stop = false;
                while let Ok(c) = commands.try_recv() {
                    match c {
                        Command::Accept(u) => upto = upto.max(u),
                        Command::Poisoned(s) => {
                            poisoned.insert(s);
                        }
                        Command::Stop => {
                            stop = true;
                            break;
                        }
                    }
                }
                let mut done = Vec::new();
                while unsettled.front().is_some_and(|(s, _)| *s <= upto) {
                    let (s, info) = unsettled.pop_front().expect("checked");
                    poisoned.remove(&s);
                    done.push(info);
                }
                if !done.is_empty() {
                    // One disposition per consecutive delivery-id range (usually one).
                    if let Err(e) = receiver.accept_all(done).await {
                        break Some(format!("the accepted disposition failed: {}", e));
                    }
                    let pending = unsettled.len() as u32;
                    let top_up = if additive {
                        outstanding == 0
                    } else {
                        pending + outstanding <= credit - credit.div_ceil(4)
                    };
                    if top_up {
                        let grant = credit.saturating_sub(pending);
                        if let Err(e) = receiver.set_credit(grant).await {
                            break Some(format!("cannot grant link credit: {}", e));
                        }
                        outstanding = grant;
                    }
                }
                if stop {
                    finish(opened, receiver, &mut unsettled, &poisoned, durable).await;
                    return;
                }
            }
            Event::Cmd(Some(Command::Poisoned(s))) => {
                poisoned.insert(s);
            }
            Event::Cmd(Some(Command::Stop)) | Event::Cmd(None) => {
                finish(opened, receiver, &mut unsettled, &poisoned, durable).await;
                return;
            }
            Event::Msg(r) => match *r {
                Ok(d) => {
                    seq += 1;
                    outstanding = outstanding.saturating_sub(1);
                    let (info, message) = d.into_parts();
                    unsettled.push_back((seq, info));
                    // Never full: credit bounds what arrives and the channel holds
                    // two windows (a margin); a full channel means the task is gone.
                    if tx
                        .try_send(Incoming {
                            seq,
                            message: Box::new(message),
                        })
                        .is_err()
                    {
                        break Some("the source task stopped taking messages".into());
                    }
                }
                Err(e) => break Some(format!("receiving failed: {}", e)),
            },
        }
    };
    *ended.0.lock().unwrap() = why;
    // The connection is lost or unusable: whatever is unsettled is redelivered by the
    // broker once the link is gone.
    let _ = tokio::time::timeout(std::time::Duration::from_secs(2), opened.close()).await;
}

/// Stop: settles what is left, detaches (a durable subscription stays) or closes the
/// link, and closes the connection.
async fn finish(
    opened: Opened,
    receiver: Receiver,
    unsettled: &mut VecDeque<(u64, DeliveryInfo)>,
    poisoned: &HashSet<u64>,
    durable: bool,
) {
    settle_rest(&receiver, unsettled, poisoned).await;
    if durable {
        // Keep the durable subscription: detach, do not close.
        let _ = receiver.detach().await;
    } else {
        let _ = receiver.close().await;
    }
    opened.close().await;
}

/// Settles what is still unsettled at stop: `modified` (delivery-failed) for messages
/// that failed to convert, `released` for the rest (redelivered without counting a
/// delivery attempt).
async fn settle_rest(
    receiver: &Receiver,
    unsettled: &mut VecDeque<(u64, DeliveryInfo)>,
    poisoned: &HashSet<u64>,
) {
    let (bad, good): (Vec<_>, Vec<_>) =
        unsettled.drain(..).partition(|(s, _)| poisoned.contains(s));
    if !bad.is_empty() {
        let n = bad.len();
        let modified = Modified {
            delivery_failed: Some(true),
            undeliverable_here: None,
            message_annotations: None,
        };
        match receiver.modify_all(bad.into_iter().map(|(_, i)| i), modified).await {
            Ok(()) => tracing::info!(messages = n, "settled messages that failed to convert as modified (delivery-failed): the broker counts the attempt and applies its redelivery limit"),
            Err(e) => tracing::warn!("could not settle failed messages as modified: {}", e),
        }
    }
    if !good.is_empty() {
        let _ = receiver.release_all(good.into_iter().map(|(_, i)| i)).await;
    }
}
