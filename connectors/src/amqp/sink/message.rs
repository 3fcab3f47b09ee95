//! A sink record as an AMQP message: body, routing key and properties (the reverse of
//! the source's `mapping`).
//!
//! * Body: bytes as they are, strings as UTF-8, null as an empty body, anything else
//!   (structs, maps, arrays, numbers, booleans, logical types) as JSON.
//! * Properties, later ones winning: the configured ones (delivery_mode from
//!   `amqp.persistent`, expiration, content_type, reply_to, the message_id template, the
//!   Kafka timestamp in seconds), then the record key (`amqp.key.property`), then the
//!   properties the record carries as `amqp.<property>` Kafka headers (`amqp.headers.copy`).
//! * Application headers: every other Kafka header, typed (the reverse of the source's
//!   `mapping::field_value`); `amqp.exchange`, `amqp.routing_key` and
//!   `amqp.redelivered` (delivery facts of the message amqp-source read) are dropped.

use bytes::Bytes;
use lapin::types::{AMQPValue, DecimalValue, FieldArray, FieldTable, LongString, ShortString};
use lapin::BasicProperties;
use sluice_runtime::convert::{
    value_to_json, DecimalFormat, HeaderConverter, SimpleHeaderConverter,
};
use sluice_runtime::data::logical::{decimal_from_bytes, Logical};
use sluice_runtime::data::{Schema, SchemaAndValue, SinkRecord, Value};

use super::config::{AmqpSinkConfig, KeyProperty, RoutingKeySource};

/// The prefix of Kafka headers that carry AMQP properties.
const PROPERTY_PREFIX: &str = "amqp.";

/// A message ready to publish.
#[derive(Debug, Clone)]
pub struct OutMessage {
    pub routing_key: ShortString,
    pub body: Bytes,
    pub properties: BasicProperties,
}

/// The value as text: strings as they are, bytes as UTF-8, other values as the
/// header converter writes them. `None` for null.
fn text(v: &SchemaAndValue, what: &str) -> Result<Option<String>, String> {
    Ok(match &v.value {
        Value::Null => None,
        Value::String(s) => Some(s.clone()),
        Value::Bytes(b) if v.schema.as_ref().and_then(|s| s.logical()).is_none() => Some(
            String::from_utf8(b.to_vec())
                .map_err(|_| format!("{} is bytes that are not UTF-8 text", what))?,
        ),
        _ => SimpleHeaderConverter
            .from_connect_header("", "", v)
            .map_err(|e| format!("{}: {}", what, e))?
            .map(|b| String::from_utf8_lossy(&b).into_owned()),
    })
}

/// The record value as the message body.
pub fn body(v: &SchemaAndValue) -> Result<Bytes, String> {
    let plain = v.schema.as_ref().and_then(|s| s.logical()).is_none();
    match &v.value {
        Value::Null => Ok(Bytes::new()),
        Value::Bytes(b) if plain => Ok(b.clone()),
        Value::String(s) => Ok(Bytes::copy_from_slice(s.as_bytes())),
        other => {
            let json = value_to_json(v.schema.as_deref(), other, DecimalFormat::Numeric, true)
                .map_err(|e| format!("the value cannot be written as JSON: {}", e))?;
            serde_json::to_vec(&json)
                .map(Bytes::from)
                .map_err(|e| format!("the value cannot be written as JSON: {}", e))
        }
    }
}

/// A Connect value as an AMQP field value, keeping its type.
pub fn field_value(schema: Option<&Schema>, v: &Value) -> AMQPValue {
    if let Some(logical) = schema.and_then(|s| s.logical()) {
        if let (Logical::Timestamp, Value::Int64(ms)) = (&logical, v) {
            if *ms >= 0 {
                return AMQPValue::Timestamp((*ms / 1000) as u64);
            }
        }
        if let (Logical::Decimal { scale }, Value::Bytes(b)) = (&logical, v) {
            if let (Some(u), Ok(scale)) = (decimal_from_bytes(b), u8::try_from(*scale)) {
                if (0..=u32::MAX as i128).contains(&u) {
                    return AMQPValue::DecimalValue(DecimalValue {
                        scale,
                        value: u as u32,
                    });
                }
            }
        }
        // Other logical values (dates, times, large decimals): their text, as the
        // header converter writes them.
        let sv = SchemaAndValue {
            schema: schema.map(|s| std::sync::Arc::new(s.clone())),
            value: v.clone(),
        };
        if let Ok(Some(t)) = text(&sv, "") {
            return AMQPValue::LongString(LongString::from(t));
        }
    }
    match v {
        Value::Null => AMQPValue::Void,
        Value::Boolean(b) => AMQPValue::Boolean(*b),
        Value::Int8(x) => AMQPValue::ShortShortInt(*x),
        Value::Int16(x) => AMQPValue::ShortInt(*x),
        Value::Int32(x) => AMQPValue::LongInt(*x),
        Value::Int64(x) => AMQPValue::LongLongInt(*x),
        Value::Float32(x) => AMQPValue::Float(*x),
        Value::Float64(x) => AMQPValue::Double(*x),
        Value::String(s) => AMQPValue::LongString(LongString::from(s.as_str())),
        Value::Bytes(b) => AMQPValue::ByteArray(b.to_vec().into()),
        Value::Array(items) => {
            let item_schema = schema.and_then(|s| s.value_schema.as_deref());
            let mut a = FieldArray::default();
            for i in items {
                a.push(field_value(item_schema, i));
            }
            AMQPValue::FieldArray(a)
        }
        Value::Map(entries) => {
            let vs = schema.and_then(|s| s.value_schema.as_deref());
            let mut t = FieldTable::default();
            for (k, x) in entries {
                let k = match k {
                    Value::String(s) => s.clone(),
                    other => text(&SchemaAndValue::schemaless(other.clone()), "map key")
                        .ok()
                        .flatten()
                        .unwrap_or_default(),
                };
                t.insert(ShortString::from(k), field_value(vs, x));
            }
            AMQPValue::FieldTable(t)
        }
        Value::Struct(s) => {
            let mut t = FieldTable::default();
            for (f, x) in s.iter() {
                t.insert(
                    ShortString::from(f.name.as_str()),
                    field_value(Some(&*f.schema), x),
                );
            }
            AMQPValue::FieldTable(t)
        }
    }
}

/// An integer header value (or its text) in 0..=255.
fn octet(v: &SchemaAndValue, name: &str) -> Result<u8, String> {
    let n: Option<i64> = match &v.value {
        Value::Int8(x) => Some(*x as i64),
        Value::Int16(x) => Some(*x as i64),
        Value::Int32(x) => Some(*x as i64),
        Value::Int64(x) => Some(*x),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    };
    n.and_then(|n| u8::try_from(n).ok()).ok_or_else(|| {
        format!(
            "Kafka header {}: {:?} is not a number from 0 to 255",
            name, v.value
        )
    })
}

/// The AMQP timestamp (seconds) of a Timestamp or an integer (milliseconds).
fn seconds(v: &SchemaAndValue, name: &str) -> Result<u64, String> {
    match &v.value {
        Value::Int64(ms) if *ms >= 0 => Ok(*ms as u64 / 1000),
        Value::Int32(ms) if *ms >= 0 => Ok(*ms as u64 / 1000),
        other => Err(format!(
            "Kafka header {}: {:?} is not a timestamp (milliseconds since the epoch)",
            name, other
        )),
    }
}

/// Sets the property `name` from a header value. `Ok(false)`: not a property.
pub(crate) fn set_property(
    p: BasicProperties,
    name: &str,
    header: &str,
    v: &SchemaAndValue,
) -> Result<(BasicProperties, bool), String> {
    if v.value.is_null() {
        return Ok((p, is_property(name)));
    }
    let s = || -> Result<ShortString, String> {
        let t = text(v, &format!("Kafka header {}", header))?.unwrap_or_default();
        if t.len() > 255 {
            return Err(format!(
                "Kafka header {}: {} bytes, over the 255 an AMQP property may hold",
                header,
                t.len()
            ));
        }
        Ok(ShortString::from(t))
    };
    let p = match name {
        "message_id" => p.with_message_id(s()?),
        "correlation_id" => p.with_correlation_id(s()?),
        "type" => p.with_type(s()?),
        "reply_to" => p.with_reply_to(s()?),
        "content_type" => p.with_content_type(s()?),
        "content_encoding" => p.with_content_encoding(s()?),
        "expiration" => p.with_expiration(s()?),
        "user_id" => p.with_user_id(s()?),
        "app_id" => p.with_app_id(s()?),
        "cluster_id" => p.with_cluster_id(s()?),
        "timestamp" => p.with_timestamp(seconds(v, header)?),
        "delivery_mode" => p.with_delivery_mode(octet(v, header)?),
        "priority" => p.with_priority(octet(v, header)?),
        _ => return Ok((p, false)),
    };
    Ok((p, true))
}

fn is_property(name: &str) -> bool {
    matches!(
        name,
        "message_id"
            | "correlation_id"
            | "type"
            | "reply_to"
            | "content_type"
            | "content_encoding"
            | "expiration"
            | "user_id"
            | "app_id"
            | "cluster_id"
            | "timestamp"
            | "delivery_mode"
            | "priority"
    )
}

/// Delivery facts amqp-source copies that are not properties of a new message.
fn is_delivery_fact(name: &str) -> bool {
    matches!(name, "exchange" | "routing_key" | "redelivered")
}

fn short(s: String, what: &str) -> Result<ShortString, String> {
    if s.len() > 255 {
        return Err(format!(
            "{} is {} bytes, over the 255 AMQP allows",
            what,
            s.len()
        ));
    }
    Ok(ShortString::from(s))
}

/// The routing key of a record.
fn routing_key(cfg: &AmqpSinkConfig, r: &SinkRecord) -> Result<ShortString, String> {
    let rk = match &cfg.routing {
        RoutingKeySource::Fixed => return Ok(ShortString::from(cfg.routing_key.as_str())),
        RoutingKeySource::Topic => r.record.topic.to_string(),
        RoutingKeySource::Key => text(&r.record.key, "the record key")?.ok_or_else(|| {
            "the record has no key to route by (amqp.routing.key.source=key)".to_string()
        })?,
        RoutingKeySource::Header(h) => {
            let v = r.record.headers.last_with_name(h).map(|x| &x.value);
            match v {
                Some(v) => text(v, &format!("Kafka header {}", h))?,
                None => None,
            }
            .ok_or_else(|| {
                format!(
                    "the record has no Kafka header {} to route by (amqp.routing.key.source=header:{})",
                    h, h
                )
            })?
        }
    };
    short(rk, "the routing key")
}

/// The message for one record; an error names what is wrong with the record.
pub fn build(cfg: &AmqpSinkConfig, r: &SinkRecord) -> Result<OutMessage, String> {
    let routing_key = routing_key(cfg, r)?;
    let body = body(&r.record.value)?;
    let mut p = BasicProperties::default().with_delivery_mode(if cfg.persistent { 2 } else { 1 });
    if let Some(ms) = cfg.expiration_ms {
        p = p.with_expiration(ShortString::from(ms.to_string()));
    }
    if let Some(ct) = &cfg.content_type {
        p = p.with_content_type(short(ct.clone(), "amqp.content.type")?);
    }
    if let Some(rt) = &cfg.reply_to {
        p = p.with_reply_to(short(rt.clone(), "amqp.reply.to")?);
    }
    if let Some(t) = &cfg.message_id {
        let id = t
            .replace("{topic}", &r.origin.topic)
            .replace("{partition}", &r.origin.partition.to_string())
            .replace("{offset}", &r.origin.offset.to_string());
        p = p.with_message_id(short(id, "the message id")?);
    }
    if let Some(ts) = r.record.timestamp.filter(|t| *t >= 0) {
        p = p.with_timestamp(ts as u64 / 1000);
    }
    if cfg.key_property != KeyProperty::None {
        if let Some(k) = text(&r.record.key, "the record key")? {
            let k = short(k, "the record key")?;
            p = match cfg.key_property {
                KeyProperty::CorrelationId => p.with_correlation_id(k),
                _ => p.with_message_id(k),
            };
        }
    }
    if cfg.headers_copy && !r.record.headers.is_empty() {
        let mut table = FieldTable::default();
        for h in r.record.headers.iter() {
            if let Some(name) = h.key.strip_prefix(PROPERTY_PREFIX) {
                if is_delivery_fact(name) {
                    continue;
                }
                let (next, was) = set_property(p, name, &h.key, &h.value)?;
                p = next;
                if was {
                    continue;
                }
            }
            if h.key.len() > 255 {
                return Err(format!(
                    "Kafka header name {}... is {} bytes, over the 255 an AMQP header name may hold",
                    &h.key[..32.min(h.key.len())],
                    h.key.len()
                ));
            }
            table.insert(
                ShortString::from(h.key.as_str()),
                field_value(h.value.schema.as_deref(), &h.value.value),
            );
        }
        if !table.inner().is_empty() {
            p = p.with_headers(table);
        }
    }
    Ok(OutMessage {
        routing_key,
        body,
        properties: p,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use sluice_runtime::config::RawConfig;
    use sluice_runtime::data::logical::{decimal_builder, decimal_to_bytes, timestamp_schema};
    use sluice_runtime::data::{
        primitive, Headers, KafkaOrigin, Record, SchemaType, TimestampType,
    };

    fn cfg(pairs: &[(&str, &str)]) -> AmqpSinkConfig {
        let mut raw: RawConfig = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        raw.insert("amqp.uri".into(), "amqp://127.0.0.1".into());
        let p = super::super::config::sink_config_def().parse(&raw).unwrap();
        AmqpSinkConfig::from_parsed(&p).unwrap()
    }

    fn typed(kind: SchemaType, v: Value) -> SchemaAndValue {
        SchemaAndValue::with_schema(primitive(kind, true), v)
    }

    fn record(key: Option<&str>, value: SchemaAndValue, headers: Headers) -> SinkRecord {
        let mut rec = Record::new("orders", value);
        if let Some(k) = key {
            rec.key = typed(SchemaType::String, Value::from(k));
        }
        rec.headers = headers;
        rec.timestamp = Some(1_700_000_000_123);
        SinkRecord {
            record: rec,
            origin: KafkaOrigin {
                topic: "orders".into(),
                partition: 3,
                offset: 42,
            },
            timestamp_type: TimestampType::CreateTime,
            raw: None,
        }
    }

    #[test]
    fn defaults_and_body() {
        let c = cfg(&[("amqp.routing.key", "q1")]);
        let m = build(
            &c,
            &record(
                None,
                typed(
                    SchemaType::Bytes,
                    Value::Bytes(Bytes::from_static(&[0, 255])),
                ),
                Headers::new(),
            ),
        )
        .unwrap();
        assert_eq!(m.routing_key.as_str(), "q1");
        assert_eq!(&m.body[..], &[0, 255]);
        let p = &m.properties;
        assert_eq!(p.message_id().as_ref().unwrap().as_str(), "orders-3-42");
        assert_eq!(*p.delivery_mode(), Some(2));
        assert_eq!(*p.timestamp(), Some(1_700_000_000));
        assert!(p.headers().is_none() && p.correlation_id().is_none());
        // a map value is JSON, a string is its UTF-8, null is empty
        let map = SchemaAndValue::schemaless(Value::Map(vec![(Value::from("a"), Value::Int32(1))]));
        assert_eq!(
            &build(&c, &record(None, map, Headers::new())).unwrap().body[..],
            br#"{"a":1}"#
        );
        let s = typed(SchemaType::String, Value::from("héllo"));
        assert_eq!(
            &build(&c, &record(None, s, Headers::new())).unwrap().body[..],
            "héllo".as_bytes()
        );
        assert!(
            build(&c, &record(None, SchemaAndValue::NULL, Headers::new()))
                .unwrap()
                .body
                .is_empty()
        );
    }

    #[test]
    fn routing_by_key_topic_header() {
        let v = || typed(SchemaType::String, Value::from("x"));
        let c = cfg(&[("amqp.routing.key.source", "key")]);
        assert_eq!(
            build(&c, &record(Some("k1"), v(), Headers::new()))
                .unwrap()
                .routing_key
                .as_str(),
            "k1"
        );
        let e = build(&c, &record(None, v(), Headers::new())).unwrap_err();
        assert!(e.contains("no key to route by"), "{}", e);
        let c = cfg(&[("amqp.routing.key.source", "topic")]);
        assert_eq!(
            build(&c, &record(None, v(), Headers::new()))
                .unwrap()
                .routing_key
                .as_str(),
            "orders"
        );
        let c = cfg(&[("amqp.routing.key.source", "header:dest")]);
        let mut h = Headers::new();
        h.add("dest", typed(SchemaType::String, Value::from("eu.orders")));
        assert_eq!(
            build(&c, &record(None, v(), h))
                .unwrap()
                .routing_key
                .as_str(),
            "eu.orders"
        );
        let e = build(&c, &record(None, v(), Headers::new())).unwrap_err();
        assert!(e.contains("no Kafka header dest"), "{}", e);
    }

    #[test]
    fn properties_from_config_key_and_headers() {
        let c = cfg(&[
            ("amqp.persistent", "false"),
            ("amqp.expiration.ms", "60000"),
            ("amqp.content.type", "application/json"),
            ("amqp.reply.to", "replies"),
            ("amqp.key.property", "correlation_id"),
        ]);
        let mut h = Headers::new();
        h.add("amqp.type", typed(SchemaType::String, Value::from("order")));
        h.add("amqp.priority", typed(SchemaType::Int8, Value::Int8(7)));
        h.add(
            "amqp.content_type",
            typed(SchemaType::String, Value::from("text/plain")),
        );
        h.add(
            "amqp.routing_key",
            typed(SchemaType::String, Value::from("old")),
        );
        h.add(
            "amqp.redelivered",
            typed(SchemaType::Boolean, Value::Boolean(true)),
        );
        h.add(
            "amqp.timestamp",
            SchemaAndValue::with_schema(timestamp_schema(true), Value::Int64(1_600_000_000_000)),
        );
        h.add("tenant", typed(SchemaType::String, Value::from("acme")));
        h.add("attempt", typed(SchemaType::Int32, Value::Int32(3)));
        h.add(
            "price",
            SchemaAndValue::with_schema(
                decimal_builder(2).build(),
                Value::Bytes(Bytes::from(decimal_to_bytes(1234))),
            ),
        );
        let m = build(
            &c,
            &record(Some("k-9"), typed(SchemaType::String, Value::from("b")), h),
        )
        .unwrap();
        let p = &m.properties;
        assert_eq!(*p.delivery_mode(), Some(1));
        assert_eq!(p.expiration().as_ref().unwrap().as_str(), "60000");
        assert_eq!(
            p.content_type().as_ref().unwrap().as_str(),
            "text/plain",
            "the record's wins"
        );
        assert_eq!(p.reply_to().as_ref().unwrap().as_str(), "replies");
        assert_eq!(p.correlation_id().as_ref().unwrap().as_str(), "k-9");
        assert_eq!(p.kind().as_ref().unwrap().as_str(), "order");
        assert_eq!(*p.priority(), Some(7));
        assert_eq!(*p.timestamp(), Some(1_600_000_000));
        let t = p.headers().as_ref().unwrap().inner();
        assert_eq!(t.len(), 3, "{:?}", t);
        assert_eq!(t.get("tenant"), Some(&AMQPValue::LongString("acme".into())));
        assert_eq!(t.get("attempt"), Some(&AMQPValue::LongInt(3)));
        assert_eq!(
            t.get("price"),
            Some(&AMQPValue::DecimalValue(DecimalValue {
                scale: 2,
                value: 1234
            }))
        );
        // a bad property value is a record error naming the header
        let mut h = Headers::new();
        h.add("amqp.priority", typed(SchemaType::Int32, Value::Int32(999)));
        let e = build(
            &c,
            &record(None, typed(SchemaType::String, Value::from("b")), h),
        )
        .unwrap_err();
        assert!(e.contains("amqp.priority"), "{}", e);
        // not copied when switched off
        let c = cfg(&[("amqp.headers.copy", "false")]);
        let mut h = Headers::new();
        h.add("tenant", typed(SchemaType::String, Value::from("acme")));
        h.add(
            "amqp.message_id",
            typed(SchemaType::String, Value::from("m-1")),
        );
        let m = build(
            &c,
            &record(None, typed(SchemaType::String, Value::from("b")), h),
        )
        .unwrap();
        assert!(m.properties.headers().is_none());
        assert_eq!(
            m.properties.message_id().as_ref().unwrap().as_str(),
            "orders-3-42"
        );
    }

    #[test]
    fn field_values_keep_their_types() {
        assert_eq!(
            field_value(None, &Value::Int8(-1)),
            AMQPValue::ShortShortInt(-1)
        );
        assert_eq!(
            field_value(None, &Value::Int64(1 << 40)),
            AMQPValue::LongLongInt(1 << 40)
        );
        assert_eq!(
            field_value(None, &Value::Float64(1.5)),
            AMQPValue::Double(1.5)
        );
        assert_eq!(
            field_value(None, &Value::Boolean(true)),
            AMQPValue::Boolean(true)
        );
        assert_eq!(field_value(None, &Value::Null), AMQPValue::Void);
        let arr = field_value(None, &Value::Array(vec![Value::Int32(1), Value::from("a")]));
        let mut want = FieldArray::default();
        want.push(AMQPValue::LongInt(1));
        want.push(AMQPValue::LongString("a".into()));
        assert_eq!(arr, AMQPValue::FieldArray(want));
        // the source's mapping reads them back as the same values
        for v in [
            Value::Int32(7),
            Value::from("s"),
            Value::Boolean(false),
            Value::Int64(-5),
        ] {
            let back = super::super::super::mapping::field_value(&field_value(None, &v));
            assert_eq!(back.value, v);
        }
    }
}
