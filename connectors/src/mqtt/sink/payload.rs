//! A record value as an MQTT payload: bytes as they are, strings as UTF-8, null as an
//! empty payload (with `mqtt.retain`, MQTT's way to clear a retained message), and
//! everything else (structs, maps, arrays, numbers, booleans) as JSON.

use bytes::Bytes;
use sluice_runtime::convert::{value_to_json, DecimalFormat};
use sluice_runtime::data::{SchemaAndValue, Value};

/// The payload of a record value, or why it has none.
pub fn payload(value: &SchemaAndValue) -> Result<Bytes, String> {
    Ok(match &value.value {
        Value::Null => Bytes::new(),
        Value::Bytes(b) => b.clone(),
        Value::String(s) => Bytes::from(s.clone().into_bytes()),
        other => {
            let json = value_to_json(value.schema.as_deref(), other, DecimalFormat::Numeric, true)
                .map_err(|e| format!("the record value cannot be written as JSON: {}", e))?;
            Bytes::from(json.to_string().into_bytes())
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sv(value: Value) -> SchemaAndValue {
        SchemaAndValue {
            schema: None,
            value,
        }
    }

    #[test]
    fn values_become_payloads() {
        assert_eq!(payload(&sv(Value::Null)).unwrap(), Bytes::new());
        assert_eq!(
            payload(&sv(Value::Bytes(Bytes::from_static(&[0, 255])))).unwrap(),
            Bytes::from_static(&[0, 255])
        );
        assert_eq!(
            payload(&sv(Value::String("héllo".into()))).unwrap(),
            Bytes::from("héllo")
        );
        let map = Value::Map(vec![
            (Value::String("a".into()), Value::Int32(1)),
            (Value::String("b".into()), Value::Boolean(true)),
        ]);
        assert_eq!(
            payload(&sv(map)).unwrap(),
            Bytes::from(r#"{"a":1,"b":true}"#)
        );
        assert_eq!(payload(&sv(Value::Int64(7))).unwrap(), Bytes::from("7"));
    }
}
