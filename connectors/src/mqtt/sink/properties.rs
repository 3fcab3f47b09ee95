//! MQTT 5 message properties from a record: Kafka headers become user properties,
//! except the `mqtt.*` headers `mqtt-source` writes for the standard properties
//! (`mqtt.content_type`, `mqtt.response_topic`, `mqtt.correlation_data`,
//! `mqtt.message_expiry_interval`, `mqtt.payload_format_indicator`), which set those
//! properties, so a message read by `mqtt-source` goes out with the properties it came
//! with. `mqtt.content.type` and `mqtt.message.expiry.interval` apply when a record has
//! no such header. The source's delivery facts (`mqtt.topic`, `mqtt.qos`,
//! `mqtt.retain`, `mqtt.dup`) are not sent.

use bytes::Bytes;
use sluice_runtime::convert::{HeaderConverter, SimpleHeaderConverter};
use sluice_runtime::data::{SchemaAndValue, SinkRecord, Value};

use super::config::MqttSinkConfig;
use crate::mqtt::client::Properties;

/// The properties of the message of `r`, or why it cannot have them.
pub fn properties(cfg: &MqttSinkConfig, r: &SinkRecord) -> Result<Properties, String> {
    let mut p = Properties {
        content_type: cfg.content_type.clone(),
        message_expiry: cfg.message_expiry,
        ..Properties::default()
    };
    for h in r.record.headers.iter() {
        let (name, v) = (h.key.as_str(), &h.value);
        let what = || format!("Kafka header {}", name);
        match name {
            "mqtt.content_type" => p.content_type = text(v, &what())?,
            "mqtt.response_topic" => p.response_topic = text(v, &what())?,
            "mqtt.correlation_data" => {
                p.correlation_data = match &v.value {
                    Value::Bytes(b) => Some(b.clone()),
                    _ => text(v, &what())?.map(Bytes::from),
                }
            }
            "mqtt.message_expiry_interval" => {
                p.message_expiry = number(v, &what())?;
            }
            "mqtt.payload_format_indicator" => {
                p.payload_format = number(v, &what())?;
            }
            "mqtt.topic" | "mqtt.qos" | "mqtt.retain" | "mqtt.dup" => {}
            _ => {
                if let Some(t) = text(v, &what())? {
                    p.user.push((name.to_string(), t));
                }
            }
        }
    }
    Ok(p)
}

/// The value as text: strings as they are, bytes as UTF-8, other values as the
/// simple header converter writes them. `None` for null.
fn text(v: &SchemaAndValue, what: &str) -> Result<Option<String>, String> {
    Ok(match &v.value {
        Value::Null => None,
        Value::String(s) => Some(s.clone()),
        Value::Bytes(b) => Some(String::from_utf8(b.to_vec()).map_err(|_| {
            format!(
                "{} is bytes that are not UTF-8 text, which an MQTT 5 property cannot hold",
                what
            )
        })?),
        _ => SimpleHeaderConverter
            .from_connect_header("", "", v)
            .map_err(|e| format!("{}: {}", what, e))?
            .map(|b| String::from_utf8_lossy(&b).into_owned()),
    })
}

/// A non-negative integer (or its text) that fits `T`.
fn number<T: TryFrom<i64>>(v: &SchemaAndValue, what: &str) -> Result<Option<T>, String> {
    let n: Option<i64> = match &v.value {
        Value::Null => return Ok(None),
        Value::Int8(x) => Some(*x as i64),
        Value::Int16(x) => Some(*x as i64),
        Value::Int32(x) => Some(*x as i64),
        Value::Int64(x) => Some(*x),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    };
    n.filter(|n| *n >= 0)
        .and_then(|n| T::try_from(n).ok())
        .map(Some)
        .ok_or_else(|| format!("{}: {:?} is not a number in range", what, v.value))
}

#[cfg(test)]
mod tests {
    use super::*;
    use sluice_runtime::data::{Headers, KafkaOrigin, Record, TimestampType};

    fn cfg() -> MqttSinkConfig {
        let raw = [
            ("mqtt.server.uri", "tcp://localhost:1883"),
            ("mqtt.topic", "x"),
            ("mqtt.version", "5"),
            ("mqtt.content.type", "text/plain"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        let p = super::super::config::sink_config_def().parse(&raw).unwrap();
        MqttSinkConfig::from_parsed(&p).unwrap()
    }

    fn sv(value: Value) -> SchemaAndValue {
        SchemaAndValue::new(None, value)
    }

    fn record(headers: Headers) -> SinkRecord {
        let mut rec = Record::new("t", SchemaAndValue::NULL);
        rec.headers = headers;
        SinkRecord {
            record: rec,
            origin: KafkaOrigin {
                topic: "t".into(),
                partition: 0,
                offset: 0,
            },
            timestamp_type: TimestampType::CreateTime,
            raw: None,
        }
    }

    #[test]
    fn headers_become_properties() {
        let mut h = Headers::new();
        h.add_string("tenant", "acme");
        h.add("attempt", sv(Value::Int32(3)));
        h.add_string("mqtt.response_topic", "replies/1");
        h.add(
            "mqtt.correlation_data",
            sv(Value::Bytes(Bytes::from_static(&[0, 1]))),
        );
        h.add("mqtt.message_expiry_interval", sv(Value::Int64(30)));
        h.add_string("mqtt.topic", "in/1");
        let p = properties(&cfg(), &record(h)).unwrap();
        assert_eq!(
            p.user,
            vec![
                ("tenant".to_string(), "acme".to_string()),
                ("attempt".to_string(), "3".to_string())
            ]
        );
        assert_eq!(p.response_topic.as_deref(), Some("replies/1"));
        assert_eq!(p.correlation_data, Some(Bytes::from_static(&[0, 1])));
        assert_eq!(p.message_expiry, Some(30));
        assert_eq!(
            p.content_type.as_deref(),
            Some("text/plain"),
            "the configured default"
        );
    }

    #[test]
    fn bad_headers_are_record_errors_naming_the_header() {
        let mut h = Headers::new();
        h.add("bin", sv(Value::Bytes(Bytes::from_static(&[0xff]))));
        let e = properties(&cfg(), &record(h)).unwrap_err();
        assert!(
            e.contains("Kafka header bin") && e.contains("UTF-8"),
            "{}",
            e
        );
        let mut h = Headers::new();
        h.add_string("mqtt.message_expiry_interval", "soon");
        let e = properties(&cfg(), &record(h)).unwrap_err();
        assert!(e.contains("mqtt.message_expiry_interval"), "{}", e);
    }
}
