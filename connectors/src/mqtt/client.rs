//! One MQTT client for both protocol versions: rumqttc's 3.1.1 and 5 clients behind
//! one type, the events the source and the sink act on, and MQTT 5's message
//! properties (user properties, content type, response topic, correlation data,
//! message expiry) as one plain struct.

use std::time::Duration;

use bytes::Bytes;
use rumqttc::v5::mqttbytes::v5 as p5;
use rumqttc::v5::mqttbytes::QoS as QoS5;
use rumqttc::{QoS, Transport};

use super::config::{ServerUri, TlsClient};

/// The protocol version a connector speaks (`mqtt.version`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Version {
    V311,
    V5,
}

impl Version {
    pub fn parse(s: &str) -> Result<Version, String> {
        match s.trim() {
            "3.1.1" | "3" | "4" => Ok(Version::V311),
            "5" | "5.0" => Ok(Version::V5),
            other => Err(format!("{} is not an MQTT version; use 3.1.1 or 5", other)),
        }
    }
}

/// How to connect.
pub struct Settings<'a> {
    pub version: Version,
    pub server: &'a ServerUri,
    pub client_id: &'a str,
    /// Clean session (3.1.1) / clean start (5).
    pub clean: bool,
    /// MQTT 5: how long the broker keeps the session after a disconnect, in seconds.
    pub session_expiry: Option<u32>,
    pub keep_alive: Duration,
    pub credentials: Option<&'a (String, String)>,
    pub tls: Option<&'a TlsClient>,
    /// Acks are sent by the caller (`Client::try_ack`), not on receipt.
    pub manual_acks: bool,
    /// The most unacknowledged publishes the client sends.
    pub inflight: u16,
    /// The request channel's capacity.
    pub capacity: usize,
}

/// The MQTT 5 properties of a message that Sluice maps to and from Kafka headers.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Properties {
    pub user: Vec<(String, String)>,
    pub content_type: Option<String>,
    pub response_topic: Option<String>,
    pub correlation_data: Option<Bytes>,
    /// Seconds.
    pub message_expiry: Option<u32>,
    /// 1: the payload is UTF-8 text.
    pub payload_format: Option<u8>,
}

impl Properties {
    fn from_v5(p: p5::PublishProperties) -> Properties {
        Properties {
            user: p.user_properties,
            content_type: p.content_type,
            response_topic: p.response_topic,
            correlation_data: p.correlation_data,
            message_expiry: p.message_expiry_interval,
            payload_format: p.payload_format_indicator,
        }
    }
    fn into_v5(self) -> p5::PublishProperties {
        p5::PublishProperties {
            payload_format_indicator: self.payload_format,
            message_expiry_interval: self.message_expiry,
            topic_alias: None,
            response_topic: self.response_topic,
            correlation_data: self.correlation_data,
            user_properties: self.user,
            subscription_identifiers: Vec::new(),
            content_type: self.content_type,
        }
    }
    pub fn is_empty(&self) -> bool {
        *self == Properties::default()
    }
}

/// A message received.
#[derive(Debug, Clone)]
pub struct Received {
    pub topic: String,
    pub payload: Bytes,
    pub qos: u8,
    pub retain: bool,
    pub dup: bool,
    pub pkid: u16,
    /// MQTT 5 only.
    pub properties: Option<Properties>,
}

/// What the event loop reports, for both versions.
#[derive(Debug)]
pub enum Event {
    ConnAck {
        session_present: bool,
    },
    Publish(Received),
    /// One entry per refused filter: the filter's index and the reason.
    SubAck {
        refused: Vec<(usize, String)>,
    },
    /// QoS 1 acknowledgement; `refused` holds an MQTT 5 failure reason code.
    PubAck {
        pkid: u16,
        refused: Option<String>,
    },
    /// QoS 2, first step; `refused` as for `PubAck`.
    PubRec {
        pkid: u16,
        refused: Option<String>,
    },
    PubComp {
        pkid: u16,
    },
    /// A publish went out with this packet id (0 for QoS 0).
    Published(u16),
    /// Our DISCONNECT went out.
    Disconnecting,
    /// MQTT 5: the broker closed the connection with this reason.
    ServerDisconnect(String),
    Other,
}

/// The client handle (cheap to clone): requests to the event loop.
#[derive(Clone)]
pub enum Client {
    V311(rumqttc::AsyncClient),
    V5(rumqttc::v5::AsyncClient),
}

/// The connection: poll it continuously.
pub enum EventLoop {
    V311(Box<rumqttc::EventLoop>),
    V5(Box<rumqttc::v5::EventLoop>),
}

fn transport(tls: Option<&TlsClient>) -> Option<Transport> {
    // the CA and client certificate of the mqtt.ssl.* keys
    tls.map(|t| Transport::tls_with_config(rumqttc::TlsConfiguration::Rustls(t.0.clone())))
}

const MAX_PACKET: usize = 256 * 1024 * 1024;

/// A client and its event loop.
pub fn connect(s: &Settings<'_>) -> (Client, EventLoop) {
    let (host, port) = (s.server.host.clone(), s.server.port);
    match s.version {
        Version::V311 => {
            let mut o = rumqttc::MqttOptions::new(s.client_id, host, port);
            o.set_clean_session(s.clean)
                .set_manual_acks(s.manual_acks)
                .set_keep_alive(s.keep_alive)
                .set_inflight(s.inflight)
                .set_max_packet_size(MAX_PACKET, MAX_PACKET);
            if let Some((u, p)) = s.credentials {
                o.set_credentials(u.clone(), p.clone());
            }
            if let Some(t) = transport(s.tls) {
                o.set_transport(t);
            }
            let (c, e) = rumqttc::AsyncClient::new(o, s.capacity);
            (Client::V311(c), EventLoop::V311(Box::new(e)))
        }
        Version::V5 => {
            let mut o = rumqttc::v5::MqttOptions::new(s.client_id, host, port);
            o.set_clean_start(s.clean)
                .set_session_expiry_interval(s.session_expiry)
                .set_manual_acks(s.manual_acks)
                .set_keep_alive(s.keep_alive)
                .set_outgoing_inflight_upper_limit(s.inflight)
                .set_max_packet_size(Some(MAX_PACKET as u32));
            if let Some((u, p)) = s.credentials {
                o.set_credentials(u.clone(), p.clone());
            }
            if let Some(t) = transport(s.tls) {
                o.set_transport(t);
            }
            let (c, e) = rumqttc::v5::AsyncClient::new(o, s.capacity);
            (Client::V5(c), EventLoop::V5(Box::new(e)))
        }
    }
}

pub fn qos(q: u8) -> QoS {
    match q {
        0 => QoS::AtMostOnce,
        1 => QoS::AtLeastOnce,
        _ => QoS::ExactlyOnce,
    }
}

fn qos5(q: u8) -> QoS5 {
    match q {
        0 => QoS5::AtMostOnce,
        1 => QoS5::AtLeastOnce,
        _ => QoS5::ExactlyOnce,
    }
}

fn qos_number(q: QoS) -> u8 {
    q as u8
}

type SendResult = Result<(), String>;

impl Client {
    /// Subscribes to every filter at `qos`.
    pub fn try_subscribe_many(&self, filters: &[String], q: u8) -> SendResult {
        match self {
            Client::V311(c) => c
                .try_subscribe_many(
                    filters
                        .iter()
                        .map(|f| rumqttc::SubscribeFilter::new(f.clone(), qos(q))),
                )
                .map_err(|e| e.to_string()),
            Client::V5(c) => c
                .try_subscribe_many(filters.iter().map(|f| p5::Filter::new(f.clone(), qos5(q))))
                .map_err(|e| e.to_string()),
        }
    }

    /// PUBACK (QoS 1) or PUBREC (QoS 2) of a received message.
    pub fn try_ack(&self, q: u8, pkid: u16) -> SendResult {
        match self {
            Client::V311(c) => {
                let mut p = rumqttc::Publish::new("", qos(q), Vec::new());
                p.pkid = pkid;
                c.try_ack(&p).map_err(|e| e.to_string())
            }
            Client::V5(c) => {
                let mut p = p5::Publish::new("", qos5(q), Vec::new(), None);
                p.pkid = pkid;
                c.try_ack(&p).map_err(|e| e.to_string())
            }
        }
    }

    /// Publishes; `properties` are sent with MQTT 5 and ignored with 3.1.1.
    pub fn try_publish(
        &self,
        topic: &str,
        q: u8,
        retain: bool,
        payload: Bytes,
        properties: Option<&Properties>,
    ) -> SendResult {
        match self {
            Client::V311(c) => c
                .try_publish(topic, qos(q), retain, payload)
                .map_err(|e| e.to_string()),
            Client::V5(c) => match properties.filter(|p| !p.is_empty()) {
                Some(p) => c.try_publish_with_properties(
                    topic,
                    qos5(q),
                    retain,
                    payload,
                    p.clone().into_v5(),
                ),
                None => c.try_publish(topic, qos5(q), retain, payload),
            }
            .map_err(|e| e.to_string()),
        }
    }

    pub fn try_disconnect(&self) -> SendResult {
        match self {
            Client::V311(c) => c.try_disconnect().map_err(|e| e.to_string()),
            Client::V5(c) => c.try_disconnect().map_err(|e| e.to_string()),
        }
    }
}

impl EventLoop {
    /// The next event; an error means the connection is gone (the next poll reconnects).
    pub async fn poll(&mut self) -> Result<Event, String> {
        match self {
            EventLoop::V311(e) => e.poll().await.map(event3).map_err(|e| e.to_string()),
            EventLoop::V5(e) => e.poll().await.map(event5).map_err(describe5),
        }
    }

    /// Events read before a connection failed and not yet returned by `poll`.
    pub fn take_pending_events(&mut self) -> Vec<Event> {
        match self {
            EventLoop::V311(e) => e.state.events.drain(..).map(event3).collect(),
            EventLoop::V5(e) => e.state.events.drain(..).map(event5).collect(),
        }
    }
}

fn event3(e: rumqttc::Event) -> Event {
    use rumqttc::{Event as E, Outgoing, Packet};
    match e {
        E::Incoming(Packet::ConnAck(a)) => Event::ConnAck {
            session_present: a.session_present,
        },
        E::Incoming(Packet::Publish(p)) => Event::Publish(Received {
            topic: p.topic,
            payload: p.payload,
            qos: qos_number(p.qos),
            retain: p.retain,
            dup: p.dup,
            pkid: p.pkid,
            properties: None,
        }),
        E::Incoming(Packet::SubAck(s)) => Event::SubAck {
            refused: s
                .return_codes
                .iter()
                .enumerate()
                .filter(|(_, c)| matches!(c, rumqttc::SubscribeReasonCode::Failure))
                .map(|(i, _)| (i, "refused".to_string()))
                .collect(),
        },
        E::Incoming(Packet::PubAck(a)) => Event::PubAck {
            pkid: a.pkid,
            refused: None,
        },
        E::Incoming(Packet::PubRec(r)) => Event::PubRec {
            pkid: r.pkid,
            refused: None,
        },
        E::Incoming(Packet::PubComp(c)) => Event::PubComp { pkid: c.pkid },
        E::Outgoing(Outgoing::Publish(pkid)) => Event::Published(pkid),
        E::Outgoing(Outgoing::Disconnect) => Event::Disconnecting,
        _ => Event::Other,
    }
}

fn event5(e: rumqttc::v5::Event) -> Event {
    use p5::Packet;
    use rumqttc::v5::Event as E;
    use rumqttc::Outgoing;
    match e {
        E::Incoming(Packet::ConnAck(a)) => Event::ConnAck {
            session_present: a.session_present,
        },
        E::Incoming(Packet::Publish(p)) => Event::Publish(Received {
            topic: String::from_utf8_lossy(&p.topic).into_owned(),
            payload: p.payload,
            qos: p.qos as u8,
            retain: p.retain,
            dup: p.dup,
            pkid: p.pkid,
            properties: Some(p.properties.map(Properties::from_v5).unwrap_or_default()),
        }),
        E::Incoming(Packet::SubAck(s)) => {
            let why = s.properties.and_then(|p| p.reason_string);
            Event::SubAck {
                refused: s
                    .return_codes
                    .iter()
                    .enumerate()
                    .filter(|(_, c)| !matches!(c, p5::SubscribeReasonCode::Success(_)))
                    .map(|(i, c)| (i, with_reason(format!("{:?}", c), why.as_deref())))
                    .collect(),
            }
        }
        E::Incoming(Packet::PubAck(a)) => Event::PubAck {
            pkid: a.pkid,
            refused: match a.reason {
                p5::PubAckReason::Success | p5::PubAckReason::NoMatchingSubscribers => None,
                r => Some(with_reason(
                    format!("{:?}", r),
                    a.properties.and_then(|p| p.reason_string).as_deref(),
                )),
            },
        },
        E::Incoming(Packet::PubRec(r)) => Event::PubRec {
            pkid: r.pkid,
            refused: match r.reason {
                p5::PubRecReason::Success | p5::PubRecReason::NoMatchingSubscribers => None,
                c => Some(with_reason(
                    format!("{:?}", c),
                    r.properties.and_then(|p| p.reason_string).as_deref(),
                )),
            },
        },
        E::Incoming(Packet::PubComp(c)) => Event::PubComp { pkid: c.pkid },
        E::Incoming(Packet::Disconnect(d)) => Event::ServerDisconnect(with_reason(
            format!("{:?}", d.reason_code),
            d.properties.and_then(|p| p.reason_string).as_deref(),
        )),
        E::Outgoing(Outgoing::Publish(pkid)) => Event::Published(pkid),
        E::Outgoing(Outgoing::Disconnect) => Event::Disconnecting,
        _ => Event::Other,
    }
}

/// A reason code's name, with the broker's reason string when it sent one.
fn with_reason(code: String, why: Option<&str>) -> String {
    match why {
        Some(w) if !w.is_empty() => format!("reason code {}: {}", code, w),
        _ => format!("reason code {}", code),
    }
}

fn describe5(e: rumqttc::v5::ConnectionError) -> String {
    match e {
        rumqttc::v5::ConnectionError::ConnectionRefused(code) => {
            format!("the broker refused the connection: reason code {:?}", code)
        }
        e => e.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions() {
        assert_eq!(Version::parse("3.1.1").unwrap(), Version::V311);
        assert_eq!(Version::parse(" 5 ").unwrap(), Version::V5);
        assert!(Version::parse("6").unwrap_err().contains("3.1.1 or 5"));
    }

    #[test]
    fn properties_round_trip_through_v5() {
        let p = Properties {
            user: vec![("a".into(), "1".into()), ("a".into(), "2".into())],
            content_type: Some("application/json".into()),
            response_topic: Some("replies/x".into()),
            correlation_data: Some(Bytes::from_static(b"\x00\x01")),
            message_expiry: Some(60),
            payload_format: Some(1),
        };
        assert_eq!(Properties::from_v5(p.clone().into_v5()), p);
        assert!(Properties::default().is_empty());
        assert!(!p.is_empty());
    }

    #[test]
    fn refusals_name_the_reason_code() {
        let e = event5(rumqttc::v5::Event::Incoming(p5::Packet::PubAck(
            p5::PubAck {
                pkid: 7,
                reason: p5::PubAckReason::NotAuthorized,
                properties: None,
            },
        )));
        match e {
            Event::PubAck { pkid: 7, refused } => {
                assert_eq!(refused.as_deref(), Some("reason code NotAuthorized"))
            }
            other => panic!("{:?}", other),
        }
        let ok = event5(rumqttc::v5::Event::Incoming(p5::Packet::PubAck(
            p5::PubAck {
                pkid: 8,
                reason: p5::PubAckReason::NoMatchingSubscribers,
                properties: None,
            },
        )));
        assert!(matches!(ok, Event::PubAck { refused: None, .. }));
    }
}
