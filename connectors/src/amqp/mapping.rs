//! AMQP deliveries to builder messages: properties and headers with their types.
//!
//! Types: AMQP signed integers keep their width; unsigned ones take the next wider
//! signed type (u8 -> int16, u16 -> int32, u32 -> int64); floats and doubles stay;
//! short and long strings are strings (long strings that are not UTF-8 are bytes);
//! timestamps (seconds) become Connect Timestamps (milliseconds); decimals become
//! Connect Decimals; byte arrays are bytes; arrays and nested tables are schemaless
//! arrays and maps; void is null.

use bytes::Bytes;
use lapin::types::{AMQPValue, FieldTable};
use lapin::BasicProperties;
use sluice_record_builders::QueueMessage;
use sluice_runtime::convert::{HeaderConverter, SimpleHeaderConverter};
use sluice_runtime::data::logical::{decimal_builder, decimal_to_bytes, timestamp_schema};
use sluice_runtime::data::{primitive, SchemaAndValue, SchemaType, Value};

fn typed(kind: SchemaType, value: Value) -> SchemaAndValue {
    SchemaAndValue::with_schema(primitive(kind, false), value)
}

fn string(s: &str) -> SchemaAndValue {
    typed(SchemaType::String, Value::String(s.to_string()))
}

fn timestamp_secs(secs: u64) -> SchemaAndValue {
    SchemaAndValue::with_schema(
        timestamp_schema(false),
        Value::Int64((secs as i64).saturating_mul(1000)),
    )
}

/// One AMQP field value as a typed Connect value.
pub fn field_value(v: &AMQPValue) -> SchemaAndValue {
    match v {
        AMQPValue::Boolean(b) => typed(SchemaType::Boolean, Value::Boolean(*b)),
        AMQPValue::ShortShortInt(x) => typed(SchemaType::Int8, Value::Int8(*x)),
        AMQPValue::ShortShortUInt(x) => typed(SchemaType::Int16, Value::Int16(*x as i16)),
        AMQPValue::ShortInt(x) => typed(SchemaType::Int16, Value::Int16(*x)),
        AMQPValue::ShortUInt(x) => typed(SchemaType::Int32, Value::Int32(*x as i32)),
        AMQPValue::LongInt(x) => typed(SchemaType::Int32, Value::Int32(*x)),
        AMQPValue::LongUInt(x) => typed(SchemaType::Int64, Value::Int64(*x as i64)),
        AMQPValue::LongLongInt(x) => typed(SchemaType::Int64, Value::Int64(*x)),
        AMQPValue::Float(x) => typed(SchemaType::Float32, Value::Float32(*x)),
        AMQPValue::Double(x) => typed(SchemaType::Float64, Value::Float64(*x)),
        AMQPValue::DecimalValue(d) => SchemaAndValue::with_schema(
            decimal_builder(d.scale as i32).build(),
            Value::Bytes(Bytes::from(decimal_to_bytes(d.value as i128))),
        ),
        AMQPValue::ShortString(s) => string(s.as_str()),
        AMQPValue::LongString(s) => match std::str::from_utf8(s.as_bytes()) {
            Ok(t) => string(t),
            Err(_) => typed(
                SchemaType::Bytes,
                Value::Bytes(Bytes::copy_from_slice(s.as_bytes())),
            ),
        },
        AMQPValue::ByteArray(b) => typed(
            SchemaType::Bytes,
            Value::Bytes(Bytes::copy_from_slice(b.as_slice())),
        ),
        AMQPValue::Timestamp(t) => timestamp_secs(*t),
        AMQPValue::FieldArray(a) => SchemaAndValue::schemaless(Value::Array(
            a.as_slice().iter().map(|x| field_value(x).value).collect(),
        )),
        AMQPValue::FieldTable(t) => SchemaAndValue::schemaless(table_value(t)),
        AMQPValue::Void => SchemaAndValue::NULL,
    }
}

fn table_value(t: &FieldTable) -> Value {
    Value::Map(
        t.inner()
            .iter()
            .map(|(k, v)| (Value::String(k.as_str().to_string()), field_value(v).value))
            .collect(),
    )
}

/// The standard properties a message has, under their AMQP names, plus the delivery's
/// `exchange`, `routing_key` and `redelivered`.
pub fn properties(
    p: &BasicProperties,
    exchange: &str,
    routing_key: &str,
    redelivered: bool,
) -> Vec<(&'static str, SchemaAndValue)> {
    let mut out = Vec::with_capacity(8);
    let strings = [
        ("message_id", p.message_id()),
        ("correlation_id", p.correlation_id()),
        ("type", p.kind()),
        ("reply_to", p.reply_to()),
        ("content_type", p.content_type()),
        ("content_encoding", p.content_encoding()),
        ("expiration", p.expiration()),
        ("user_id", p.user_id()),
        ("app_id", p.app_id()),
        ("cluster_id", p.cluster_id()),
    ];
    for (name, v) in strings {
        if let Some(s) = v {
            out.push((name, string(s.as_str())));
        }
    }
    if let Some(t) = p.timestamp() {
        out.push(("timestamp", timestamp_secs(*t)));
    }
    if let Some(m) = p.delivery_mode() {
        out.push((
            "delivery_mode",
            typed(SchemaType::Int16, Value::Int16(*m as i16)),
        ));
    }
    if let Some(x) = p.priority() {
        out.push((
            "priority",
            typed(SchemaType::Int16, Value::Int16(*x as i16)),
        ));
    }
    out.push(("exchange", string(exchange)));
    out.push(("routing_key", string(routing_key)));
    out.push((
        "redelivered",
        typed(SchemaType::Boolean, Value::Boolean(redelivered)),
    ));
    out
}

/// The application headers table.
pub fn headers(p: &BasicProperties) -> Vec<(String, SchemaAndValue)> {
    match p.headers() {
        None => Vec::new(),
        Some(t) => t
            .inner()
            .iter()
            .map(|(k, v)| (k.as_str().to_string(), field_value(v)))
            .collect(),
    }
}

/// The builder's view of a delivery. Properties and headers are only converted when
/// the builder uses them (a key or copying to Kafka headers), to keep the common path
/// cheap.
pub fn message(
    body: Bytes,
    p: &BasicProperties,
    exchange: &str,
    routing_key: &str,
    redelivered: bool,
    with_metadata: bool,
) -> QueueMessage {
    let mut m = QueueMessage::new(body);
    if with_metadata {
        m.properties = properties(p, exchange, routing_key, redelivered);
        m.headers = headers(p);
    }
    m
}

/// The delivery's application headers as Kafka header bytes, for the dead letter queue.
pub fn raw_headers(p: &BasicProperties) -> Vec<(String, Option<Bytes>)> {
    let mut conv = SimpleHeaderConverter;
    headers(p)
        .into_iter()
        .map(|(k, v)| {
            let b = conv.from_connect_header("", &k, &v).ok().flatten();
            (k, b)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use lapin::types::{DecimalValue, FieldArray, LongString, ShortString};

    #[test]
    fn field_values_keep_their_types() {
        let cases: Vec<(AMQPValue, SchemaType, Value)> = vec![
            (
                AMQPValue::Boolean(true),
                SchemaType::Boolean,
                Value::Boolean(true),
            ),
            (
                AMQPValue::ShortShortInt(-1),
                SchemaType::Int8,
                Value::Int8(-1),
            ),
            (
                AMQPValue::ShortShortUInt(255),
                SchemaType::Int16,
                Value::Int16(255),
            ),
            (
                AMQPValue::ShortUInt(65535),
                SchemaType::Int32,
                Value::Int32(65535),
            ),
            (AMQPValue::LongInt(-7), SchemaType::Int32, Value::Int32(-7)),
            (
                AMQPValue::LongUInt(u32::MAX),
                SchemaType::Int64,
                Value::Int64(u32::MAX as i64),
            ),
            (
                AMQPValue::LongLongInt(1 << 40),
                SchemaType::Int64,
                Value::Int64(1 << 40),
            ),
            (
                AMQPValue::Double(1.5),
                SchemaType::Float64,
                Value::Float64(1.5),
            ),
            (
                AMQPValue::LongString(LongString::from("hé")),
                SchemaType::String,
                Value::from("hé"),
            ),
            (
                AMQPValue::ShortString(ShortString::from("s")),
                SchemaType::String,
                Value::from("s"),
            ),
            (
                AMQPValue::Timestamp(1_700_000_000),
                SchemaType::Int64,
                Value::Int64(1_700_000_000_000),
            ),
        ];
        for (amqp, kind, value) in cases {
            let v = field_value(&amqp);
            assert_eq!(v.schema.as_ref().unwrap().kind, kind, "{:?}", amqp);
            assert_eq!(v.value, value, "{:?}", amqp);
        }
        let d = field_value(&AMQPValue::DecimalValue(DecimalValue {
            scale: 2,
            value: 12345,
        }));
        assert_eq!(
            d.schema.unwrap().name.as_deref(),
            Some(sluice_runtime::data::logical::DECIMAL)
        );
        let bin = field_value(&AMQPValue::LongString(LongString::from(vec![0xffu8, 0])));
        assert_eq!(bin.schema.unwrap().kind, SchemaType::Bytes);
        let mut arr = FieldArray::default();
        arr.push(AMQPValue::LongInt(1));
        arr.push(AMQPValue::Boolean(false));
        assert_eq!(
            field_value(&AMQPValue::FieldArray(arr)).value,
            Value::Array(vec![Value::Int32(1), Value::Boolean(false)])
        );
    }

    #[test]
    fn properties_and_headers() {
        let mut t = FieldTable::default();
        t.insert("tenant".into(), AMQPValue::LongString("acme".into()));
        t.insert("attempt".into(), AMQPValue::LongInt(3));
        let p = BasicProperties::default()
            .with_message_id("m1".into())
            .with_correlation_id("c1".into())
            .with_type("order".into())
            .with_timestamp(1_700_000_000)
            .with_delivery_mode(2)
            .with_headers(t);
        let m = message(Bytes::from_static(b"b"), &p, "ex", "rk", true, true);
        assert_eq!(m.property("message_id").unwrap().value, Value::from("m1"));
        assert_eq!(m.property("type").unwrap().value, Value::from("order"));
        assert_eq!(
            m.property("timestamp").unwrap().value,
            Value::Int64(1_700_000_000_000)
        );
        assert_eq!(m.property("delivery_mode").unwrap().value, Value::Int16(2));
        assert_eq!(m.property("routing_key").unwrap().value, Value::from("rk"));
        assert_eq!(
            m.property("redelivered").unwrap().value,
            Value::Boolean(true)
        );
        assert!(m.property("reply_to").is_none());
        assert_eq!(m.header("tenant").unwrap().value, Value::from("acme"));
        assert_eq!(m.header("attempt").unwrap().value, Value::Int32(3));
        let lean = message(Bytes::from_static(b"b"), &p, "ex", "rk", true, false);
        assert!(lean.properties.is_empty() && lean.headers.is_empty());
        let raw = raw_headers(&p);
        assert!(raw.contains(&("attempt".to_string(), Some(Bytes::from_static(b"3")))));
    }
}
