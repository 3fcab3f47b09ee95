//! Connect values to BSON documents.
//!
//! - Structs (any converter with a schema) map field by field; Connect's logical types
//!   map to BSON types: Decimal -> Decimal128, Date / Time / Timestamp -> Date
//!   (UTC datetime, as the MongoDB connector does), bytes -> Binary (generic subtype).
//! - Maps (schemaless JSON) map to documents; their keys must be strings.
//! - A string (StringConverter) or bytes (ByteArrayConverter) holding JSON is parsed as
//!   MongoDB Extended JSON (`{"$oid": ...}`, `{"$date": ...}` are understood), as the
//!   MongoDB connector's `BsonDocument.parse` does.

use mongodb::bson::{spec::BinarySubtype, Binary, Bson, DateTime, Decimal128, Document};
use sluice_runtime::data::logical::{decimal_from_bytes, Logical};
use sluice_runtime::data::{Schema, SchemaAndValue, Value};

const MS_PER_DAY: i64 = 86_400_000;

/// A record key or value as a document; `None` for null.
pub fn to_document(v: &SchemaAndValue) -> Result<Option<Document>, String> {
    match &v.value {
        Value::Null => Ok(None),
        Value::Struct(_) | Value::Map(_) => match to_bson(v.schema.as_deref(), &v.value)? {
            Bson::Document(d) => Ok(Some(d)),
            other => Err(format!(
                "expected a document, got {:?}",
                other.element_type()
            )),
        },
        Value::String(s) => parse_json(s).map(Some),
        Value::Bytes(b) => match std::str::from_utf8(b) {
            Ok(s) => parse_json(s).map(Some),
            Err(_) => Document::from_reader(&mut &b[..])
                .map(Some)
                .map_err(|e| format!("bytes are neither JSON text nor a BSON document: {}", e)),
        },
        other => Err(format!(
            "a {} cannot become a document (expected a struct, a map or a JSON object)",
            other.kind_name()
        )),
    }
}

/// Parses (Extended) JSON text holding an object.
pub fn parse_json(s: &str) -> Result<Document, String> {
    let j: serde_json::Value =
        serde_json::from_str(s).map_err(|e| format!("not valid JSON: {}", e))?;
    if !j.is_object() {
        return Err("the JSON is not an object".into());
    }
    match Bson::try_from(j).map_err(|e| format!("invalid Extended JSON: {}", e))? {
        Bson::Document(d) => Ok(d),
        other => Err(format!(
            "the JSON is not a document but a {:?}",
            other.element_type()
        )),
    }
}

/// One Connect value (with its schema, if any) as BSON.
pub fn to_bson(schema: Option<&Schema>, v: &Value) -> Result<Bson, String> {
    if let Some(s) = schema {
        if let Some(l) = Logical::of(s) {
            return logical(l, v);
        }
    }
    Ok(match v {
        Value::Null => Bson::Null,
        Value::Boolean(b) => Bson::Boolean(*b),
        Value::Int8(i) => Bson::Int32(*i as i32),
        Value::Int16(i) => Bson::Int32(*i as i32),
        Value::Int32(i) => Bson::Int32(*i),
        Value::Int64(i) => Bson::Int64(*i),
        Value::Float32(f) => Bson::Double(*f as f64),
        Value::Float64(f) => Bson::Double(*f),
        Value::String(s) => Bson::String(s.clone()),
        Value::Bytes(b) => Bson::Binary(Binary {
            subtype: BinarySubtype::Generic,
            bytes: b.to_vec(),
        }),
        Value::Array(items) => {
            let item_schema = schema.and_then(|s| s.value_schema.as_deref());
            Bson::Array(
                items
                    .iter()
                    .map(|i| to_bson(item_schema, i))
                    .collect::<Result<_, _>>()?,
            )
        }
        Value::Map(entries) => {
            let value_schema = schema.and_then(|s| s.value_schema.as_deref());
            let mut d = Document::new();
            for (k, val) in entries {
                let key = match k {
                    Value::String(s) => s.clone(),
                    other => {
                        return Err(format!(
                            "a map key must be a string to become a document field, not a {}",
                            other.kind_name()
                        ))
                    }
                };
                d.insert(key, to_bson(value_schema, val)?);
            }
            Bson::Document(d)
        }
        Value::Struct(st) => {
            let mut d = Document::new();
            for (field, val) in st.iter() {
                d.insert(field.name.clone(), to_bson(Some(&field.schema), val)?);
            }
            Bson::Document(d)
        }
    })
}

fn logical(l: Logical, v: &Value) -> Result<Bson, String> {
    Ok(match (l, v) {
        (_, Value::Null) => Bson::Null,
        (Logical::Decimal { scale }, Value::Bytes(b)) => {
            let unscaled = decimal_from_bytes(b)
                .ok_or_else(|| "a Decimal value does not fit 128 bits".to_string())?;
            Bson::Decimal128(decimal128(unscaled, scale)?)
        }
        (Logical::Date, Value::Int32(days)) => {
            Bson::DateTime(DateTime::from_millis(*days as i64 * MS_PER_DAY))
        }
        (Logical::Time, Value::Int32(ms)) => Bson::DateTime(DateTime::from_millis(*ms as i64)),
        (Logical::Timestamp, Value::Int64(ms)) => Bson::DateTime(DateTime::from_millis(*ms)),
        (l, v) => {
            return Err(format!(
                "a {} value does not fit the logical type {:?}",
                v.kind_name(),
                l
            ))
        }
    })
}

/// Encodes `unscaled * 10^-scale` as IEEE 754-2008 decimal128 (BID encoding).
pub fn decimal128(unscaled: i128, scale: i32) -> Result<Decimal128, String> {
    let negative = unscaled < 0;
    let coefficient = unscaled.unsigned_abs();
    // 34 decimal digits at most; the small form holds coefficients below 2^113.
    if coefficient >= 10u128.pow(34) {
        return Err("a Decimal has more than 34 digits, the most Decimal128 holds".into());
    }
    let exponent = -(scale as i64);
    let biased = exponent + 6176;
    if !(0..=12287).contains(&biased) {
        return Err(format!(
            "a Decimal scale of {} is out of Decimal128's range",
            scale
        ));
    }
    let high_coeff = (coefficient >> 64) as u64; // < 2^49
    let low = coefficient as u64;
    let high = ((negative as u64) << 63) | ((biased as u64) << 49) | high_coeff;
    let mut bytes = [0u8; 16];
    bytes[..8].copy_from_slice(&low.to_le_bytes());
    bytes[8..].copy_from_slice(&high.to_le_bytes());
    Ok(Decimal128::from_bytes(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;
    use mongodb::bson::doc;
    use sluice_runtime::data::logical::{
        date_builder, decimal_builder, decimal_to_bytes, timestamp_builder,
    };
    use sluice_runtime::data::{schemas, SchemaBuilder, Struct};

    #[test]
    fn decimal128_encoding_matches_the_parser() {
        for (u, s, text) in [
            (12345i128, 2, "123.45"),
            (-5, 0, "-5"),
            (0, 3, "0.000"),
            (1, 10, "1E-10"),
        ] {
            let want: Decimal128 = text.parse().unwrap();
            assert_eq!(decimal128(u, s).unwrap().bytes(), want.bytes(), "{}", text);
        }
    }

    #[test]
    fn struct_with_logical_types() {
        let schema = SchemaBuilder::struct_()
            .field("price", decimal_builder(2).build())
            .field("day", date_builder().build())
            .field("at", timestamp_builder().build())
            .field("raw", schemas::BYTES.clone())
            .field("n", schemas::INT16.clone())
            .build();
        let st = Struct::from_values(
            schema.clone(),
            vec![
                Value::Bytes(decimal_to_bytes(12345).into()),
                Value::Int32(2),
                Value::Int64(1_000),
                Value::Bytes(vec![1u8, 2].into()),
                Value::Int16(7),
            ],
        )
        .unwrap();
        let d = to_document(&SchemaAndValue::with_schema(schema, Value::Struct(st)))
            .unwrap()
            .unwrap();
        assert_eq!(
            d.get("price"),
            Some(&Bson::Decimal128("123.45".parse().unwrap()))
        );
        assert_eq!(
            d.get("day"),
            Some(&Bson::DateTime(DateTime::from_millis(2 * MS_PER_DAY)))
        );
        assert_eq!(
            d.get("at"),
            Some(&Bson::DateTime(DateTime::from_millis(1_000)))
        );
        assert!(matches!(d.get("raw"), Some(Bson::Binary(_))));
        assert_eq!(d.get("n"), Some(&Bson::Int32(7)));
    }

    #[test]
    fn json_strings_and_maps() {
        let d = to_document(&SchemaAndValue::schemaless(Value::String(
            r#"{"_id":{"$oid":"5f1b2c3d4e5f60718293a4b5"},"a":1}"#.into(),
        )))
        .unwrap()
        .unwrap();
        assert!(matches!(d.get("_id"), Some(Bson::ObjectId(_))));
        let m = Value::Map(vec![(Value::String("a".into()), Value::Int64(1))]);
        assert_eq!(
            to_document(&SchemaAndValue::schemaless(m)).unwrap(),
            Some(doc! {"a": 1i64})
        );
        assert!(to_document(&SchemaAndValue::schemaless(Value::String("nope".into()))).is_err());
        assert!(to_document(&SchemaAndValue::schemaless(Value::Int32(1))).is_err());
    }
}
