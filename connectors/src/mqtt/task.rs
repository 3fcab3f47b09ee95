//! The MQTT source task: subscribe, build records, batch, acknowledge after Kafka.

use std::sync::Arc;

use async_trait::async_trait;
use sluice_record_builders::{BuildError, QueueMessage, RecordBuilder};
use sluice_runtime::config::ParsedConfig;
use sluice_runtime::connector::{
    AckToken, Acknowledger, ConnectError, FailedSourceRecord, SourceBatch, SourceTask,
    SourceTaskContext, StartSourceTask,
};
use sluice_runtime::data::{
    primitive, Record, SchemaAndValue, SchemaType, SourcePartition, SourceRecord, Value,
};
use tokio::sync::{mpsc, watch};

use super::acknowledger::{MqttAcknowledger, PendingAck, Shared};
use super::client::{self, Client, Properties, Received, Settings};
use super::config::MqttSourceConfig;
use super::driver::{self, Incoming};

/// Reads MQTT topic filters into one Kafka topic (see the module doc of `mqtt`).
pub struct MqttSourceTask {
    st: State,
}

/// The task's connection and what it has received.
struct State {
    cfg: MqttSourceConfig,
    builder: Box<dyn RecordBuilder>,
    with_metadata: bool,
    partition: Arc<SourcePartition>,
    client: Client,
    shared: Arc<Shared>,
    rx: mpsc::Receiver<Incoming>,
    stop: watch::Sender<bool>,
    driver: Option<tokio::task::JoinHandle<()>>,
    next_token: u64,
}

fn string(s: &str) -> SchemaAndValue {
    SchemaAndValue::with_schema(
        primitive(SchemaType::String, false),
        Value::String(s.to_string()),
    )
}

fn typed(kind: SchemaType, v: Value) -> SchemaAndValue {
    SchemaAndValue::with_schema(primitive(kind, false), v)
}

/// The MQTT 5 properties of a message: the standard ones as message properties
/// (`mqtt.<name>` headers when copied), user properties as application headers.
fn add_v5_properties(msg: &mut QueueMessage, p: Properties) {
    if let Some(c) = p.content_type {
        msg.properties.push(("content_type", string(&c)));
    }
    if let Some(t) = p.response_topic {
        msg.properties.push(("response_topic", string(&t)));
    }
    if let Some(c) = p.correlation_data {
        // Text when it is UTF-8 (ids, usually), so that it reads as itself in Kafka and
        // comes back unchanged through the sink; bytes otherwise.
        let v = match std::str::from_utf8(&c) {
            Ok(t) => string(t),
            Err(_) => typed(SchemaType::Bytes, Value::Bytes(c)),
        };
        msg.properties.push(("correlation_data", v));
    }
    if let Some(e) = p.message_expiry {
        msg.properties.push((
            "message_expiry_interval",
            typed(SchemaType::Int64, Value::Int64(e as i64)),
        ));
    }
    if let Some(f) = p.payload_format {
        msg.properties.push((
            "payload_format_indicator",
            typed(SchemaType::Int8, Value::Int8(f as i8)),
        ));
    }
    for (k, v) in p.user {
        msg.headers.push((k, string(&v)));
    }
}

/// The builder's view of a publish: the payload and, when the builder reads them (a key
/// or copied headers), the MQTT facts and MQTT 5 properties.
fn queue_message(p: &Received, with_metadata: bool) -> QueueMessage {
    let mut msg = QueueMessage::new(p.payload.clone());
    if with_metadata {
        msg.properties = vec![
            ("topic", string(&p.topic)),
            ("qos", typed(SchemaType::Int8, Value::Int8(p.qos as i8))),
            (
                "retain",
                typed(SchemaType::Boolean, Value::Boolean(p.retain)),
            ),
            ("dup", typed(SchemaType::Boolean, Value::Boolean(p.dup))),
        ];
        if let Some(props) = p.properties.clone() {
            add_v5_properties(&mut msg, props);
        }
    }
    msg
}

/// The record of a publish: what the builder makes of it, with the MQTT topic as a
/// header when `mqtt.topic.header` asks for it.
pub(super) fn build_record(
    cfg: &MqttSourceConfig,
    builder: &mut dyn RecordBuilder,
    p: &Received,
    with_metadata: bool,
) -> Result<Record, BuildError> {
    let mut record = builder.build(&cfg.kafka_topic, queue_message(p, with_metadata))?;
    if let Some(h) = &cfg.topic_header {
        record.headers.add(h.clone(), string(&p.topic));
    }
    Ok(record)
}

impl StartSourceTask for MqttSourceTask {
    async fn start(config: ParsedConfig, ctx: SourceTaskContext) -> Result<Self, ConnectError> {
        let cfg = MqttSourceConfig::from_parsed(&config)?;
        let builder = sluice_record_builders::create(&cfg.builder)?;
        let tasks = config
            .raw()
            .get("tasks.max")
            .and_then(|t| t.trim().parse::<usize>().ok())
            .unwrap_or(1);
        let client_id = cfg.client_id_of(&ctx.connector, ctx.task, tasks);
        let filters = cfg.filters(&ctx.connector, tasks);
        let (client, eventloop) = client::connect(&Settings {
            version: cfg.version,
            server: &cfg.server,
            client_id: &client_id,
            clean: cfg.clean_session,
            session_expiry: cfg.session_expiry,
            keep_alive: cfg.keep_alive,
            credentials: cfg.credentials.as_ref(),
            tls: cfg.tls.as_ref(),
            manual_acks: true,
            inflight: 100,
            // Acks go through the request channel: make it large enough that queueing
            // an ack never has to wait (see acknowledger).
            capacity: cfg.receive_buffer + 65_536,
        });
        let shared = Shared::new();
        let (tx, rx) = mpsc::channel(cfg.receive_buffer);
        let (stop, stop_rx) = watch::channel(false);
        let driver = tokio::spawn(driver::run(
            eventloop,
            driver::Subscription {
                client: client.clone(),
                filters: filters.clone(),
            },
            cfg.clone(),
            shared.clone(),
            tx,
            ctx.status.clone(),
            stop_rx,
        ));
        let mut partition = SourcePartition::new();
        partition.insert(
            "source".into(),
            serde_json::Value::String(format!(
                "{}:{}/{}",
                cfg.server.host, cfg.server.port, client_id
            )),
        );
        tracing::info!(server = %format!("{}:{}", cfg.server.host, cfg.server.port), client_id = %client_id, filters = ?filters, qos = cfg.qos, version = ?cfg.version, "MQTT source started");
        let st = State {
            with_metadata: cfg.builder.key.is_some()
                || cfg.builder.copy_to_headers
                || cfg.topic_header.is_some(),
            builder,
            partition: Arc::new(partition),
            client,
            shared,
            rx,
            stop,
            driver: Some(driver),
            next_token: 0,
            cfg,
        };
        Ok(MqttSourceTask { st })
    }
}

#[async_trait]
impl SourceTask for MqttSourceTask {
    async fn poll(&mut self) -> Result<SourceBatch, ConnectError> {
        let st = &mut self.st;
        let first = match tokio::time::timeout(st.cfg.max_poll_blocked, st.rx.recv()).await {
            Err(_) => return Ok(SourceBatch::new()),
            Ok(Some(m)) => m,
            Ok(None) => {
                return Err(ConnectError::retriable(
                    "the MQTT connection driver stopped",
                ))
            }
        };
        let mut batch = SourceBatch::with_capacity(st.cfg.batch_size.min(1024));
        let mut acks = Vec::new();
        st.push(first, &mut batch, &mut acks);
        while batch.len() < st.cfg.batch_size {
            match st.rx.try_recv() {
                Ok(m) => st.push(m, &mut batch, &mut acks),
                Err(_) => break,
            }
        }
        st.next_token += 1;
        let token = AckToken(st.next_token);
        st.shared.batches.lock().unwrap().push_back((token, acks));
        batch.ack = Some(token);
        Ok(batch)
    }

    fn acknowledger(&self) -> Option<Arc<dyn Acknowledger>> {
        let st = &self.st;
        Some(Arc::new(MqttAcknowledger {
            shared: st.shared.clone(),
            client: st.client.clone(),
        }))
    }

    async fn stop(&mut self) {
        let st = &mut self.st;
        // A clean DISCONNECT: the broker keeps the persistent session, with every
        // message not acknowledged yet, for the next start.
        let _ = st.client.try_disconnect();
        let _ = st.stop.send(true);
        st.rx.close();
        if let Some(d) = st.driver.take() {
            if tokio::time::timeout(driver::STOP_TIMEOUT, d).await.is_err() {
                tracing::warn!("the MQTT connection did not close in time");
            }
        }
    }
}

impl Drop for State {
    fn drop(&mut self) {
        if let Some(d) = self.driver.take() {
            d.abort();
        }
    }
}

impl State {
    fn push(&mut self, m: Incoming, batch: &mut SourceBatch, acks: &mut Vec<PendingAck>) {
        let p = m.publish;
        acks.push(PendingAck {
            generation: m.generation,
            qos: p.qos,
            pkid: p.pkid,
        });
        match build_record(&self.cfg, self.builder.as_mut(), &p, self.with_metadata) {
            Ok(record) => {
                let mut r = SourceRecord::new(record);
                r.source_partition = Some(self.partition.clone());
                batch.push(r);
            }
            Err(e) => batch.push_failed(FailedSourceRecord {
                topic: self.cfg.kafka_topic.clone(),
                key: None,
                value: Some(p.payload.clone()),
                headers: vec![(
                    "mqtt.topic".into(),
                    Some(bytes::Bytes::from(p.topic.clone())),
                )],
                position: format!(
                    "MQTT topic {} packet id {} (qos {}{})",
                    p.topic,
                    p.pkid,
                    p.qos,
                    if p.dup { ", redelivered" } else { "" }
                ),
                error: e.message,
                class_name: e.class_name.to_string(),
            }),
        }
    }
}
