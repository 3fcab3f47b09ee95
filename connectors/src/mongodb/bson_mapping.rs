//! Connect values to BSON documents.
//!
//! - Structs (any converter with a schema) map field by field; Connect's logical types
//!   map to BSON types: Decimal -> Decimal128, Date / Time / Timestamp -> Date
//!   (UTC datetime, as the MongoDB connector does), bytes -> Binary (generic subtype).
//! - Maps (schemaless JSON) map to documents; their keys must be strings.
//! - A string (StringConverter) or bytes (ByteArrayConverter) holding JSON is parsed as
//!   MongoDB Extended JSON (`{"$oid": ...}`, `{"$date": ...}` are understood), as the
//!   MongoDB connector's `BsonDocument.parse` does. Bytes framed as a BSON document
//!   (a little-endian length equal to their size, then a final zero byte) are read as
//!   BSON.
//!
//! Depth: a document nested more than [`MAX_DEPTH`] levels (MongoDB's own limit for
//! stored documents) is a record error. Raw BSON is measured without recursion before
//! it is decoded, so no input can overflow the stack.

use mongodb::bson::raw::{RawBsonRef, RawDocument, RawIter};
use mongodb::bson::{spec::BinarySubtype, Binary, Bson, DateTime, Decimal128, Document};
use sluice_runtime::data::logical::{decimal_from_bytes, Logical};
use sluice_runtime::data::{Schema, SchemaAndValue, Value};

const MS_PER_DAY: i64 = 86_400_000;

/// The most levels of documents and arrays a written document may have, the top-level
/// document included: MongoDB stores no deeper documents.
pub const MAX_DEPTH: usize = 100;

fn too_deep() -> String {
    format!(
        "the document nests documents and arrays more than {} levels deep (MongoDB's limit)",
        MAX_DEPTH
    )
}

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
        Value::Bytes(b) if looks_like_bson(b) => parse_bson(b).map(Some),
        Value::Bytes(b) => match std::str::from_utf8(b) {
            Ok(s) => parse_json(s).map(Some),
            Err(_) => parse_bson(b).map(Some),
        },
        other => Err(format!(
            "a {} cannot become a document (expected a struct, a map or a JSON object)",
            other.kind_name()
        )),
    }
}

/// Parses (Extended) JSON text holding an object.
pub fn parse_json(s: &str) -> Result<Document, String> {
    // serde_json refuses nesting of 128 levels or more, so what follows recurses on a
    // bounded tree.
    let j: serde_json::Value =
        serde_json::from_str(s).map_err(|e| format!("not valid JSON: {}", e))?;
    if !j.is_object() {
        return Err("the JSON is not an object".into());
    }
    match Bson::try_from(j).map_err(|e| format!("invalid Extended JSON: {}", e))? {
        Bson::Document(d) => {
            if depth_exceeds(&d, MAX_DEPTH) {
                return Err(too_deep());
            }
            Ok(d)
        }
        other => Err(format!(
            "the JSON is not a document but a {:?}",
            other.element_type()
        )),
    }
}

/// Bytes framed as one BSON document: a little-endian length equal to their size, and
/// a final zero byte. (JSON text cannot look like this: its first byte is `{` or
/// white space, which would make the length hundreds of megabytes.)
fn looks_like_bson(b: &[u8]) -> bool {
    b.len() >= 5
        && b.last() == Some(&0)
        && i32::from_le_bytes([b[0], b[1], b[2], b[3]]) as i64 == b.len() as i64
}

/// Decodes a BSON document after checking, without recursion, that it nests at most
/// [`MAX_DEPTH`] levels (the decoder itself recurses once per level).
pub fn parse_bson(b: &[u8]) -> Result<Document, String> {
    let bad = |e: &dyn std::fmt::Display| {
        format!("bytes are neither JSON text nor a BSON document: {}", e)
    };
    let root = RawDocument::from_bytes(b).map_err(|e| bad(&e))?;
    let mut stack: Vec<RawIter<'_>> = vec![root.iter_elements()];
    while let Some(top) = stack.last_mut() {
        let Some(element) = top.next() else {
            stack.pop();
            continue;
        };
        let inner = match element.and_then(|e| e.value()).map_err(|e| bad(&e))? {
            RawBsonRef::Document(d) => d,
            RawBsonRef::Array(a) => RawDocument::from_bytes(a.as_bytes()).map_err(|e| bad(&e))?,
            RawBsonRef::JavaScriptCodeWithScope(c) => c.scope,
            _ => continue,
        };
        if stack.len() >= MAX_DEPTH {
            return Err(too_deep());
        }
        stack.push(inner.iter_elements());
    }
    Document::from_reader(b).map_err(|e| bad(&e))
}

/// Does the document nest more than `max` levels (itself included)? Only used on
/// documents built from input whose own depth is bounded, so the recursion is too.
fn depth_exceeds(d: &Document, max: usize) -> bool {
    /// Is `b` (allowed `below` more levels if it is a container) too deep?
    fn value(b: &Bson, below: usize) -> bool {
        match b {
            Bson::Document(d) => below == 0 || doc(d, below - 1),
            Bson::Array(a) => below == 0 || a.iter().any(|v| value(v, below - 1)),
            Bson::JavaScriptCodeWithScope(c) => below == 0 || doc(&c.scope, below - 1),
            _ => false,
        }
    }
    fn doc(d: &Document, below: usize) -> bool {
        d.values().any(|v| value(v, below))
    }
    doc(d, max.saturating_sub(1))
}

/// One Connect value (with its schema, if any) as BSON; a value nesting more than
/// [`MAX_DEPTH`] levels of maps, structs and arrays is refused.
pub fn to_bson(schema: Option<&Schema>, v: &Value) -> Result<Bson, String> {
    to_bson_at(schema, v, 1)
}

fn to_bson_at(schema: Option<&Schema>, v: &Value, depth: usize) -> Result<Bson, String> {
    if matches!(v, Value::Array(_) | Value::Map(_) | Value::Struct(_)) && depth > MAX_DEPTH {
        return Err(too_deep());
    }
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
                    .map(|i| to_bson_at(item_schema, i, depth + 1))
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
                d.insert(key, to_bson_at(value_schema, val, depth + 1)?);
            }
            Bson::Document(d)
        }
        Value::Struct(st) => {
            let mut d = Document::new();
            for (field, val) in st.iter() {
                d.insert(
                    field.name.clone(),
                    to_bson_at(Some(&field.schema), val, depth + 1)?,
                );
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

    /// A BSON document nesting `levels` documents (the top one included), built
    /// without recursion: `{"a": {"a": ... {}}}`.
    pub(crate) fn nested_bson(levels: usize) -> Vec<u8> {
        let mut out = Vec::with_capacity(levels * 8);
        for k in 0..levels - 1 {
            let len = 5 + 8 * (levels - 1 - k) as i32;
            out.extend_from_slice(&len.to_le_bytes());
            out.extend_from_slice(&[0x03, b'a', 0]);
        }
        out.extend_from_slice(&[5, 0, 0, 0, 0]);
        out.extend(std::iter::repeat_n(0u8, levels - 1));
        out
    }

    fn bytes(b: Vec<u8>) -> SchemaAndValue {
        SchemaAndValue::schemaless(Value::Bytes(b.into()))
    }

    #[test]
    fn bson_bytes_are_measured_before_they_are_decoded() {
        // The deepest MongoDB stores, decoded all the way down.
        let d = to_document(&bytes(nested_bson(MAX_DEPTH)))
            .unwrap()
            .unwrap();
        let mut level = 1;
        let mut cur = &d;
        while let Some(Bson::Document(inner)) = cur.get("a") {
            cur = inner;
            level += 1;
        }
        assert_eq!(level, MAX_DEPTH);
        // One more level, and 300,000 more, are record errors, not a stack overflow.
        for levels in [MAX_DEPTH + 1, 300_000] {
            let e = to_document(&bytes(nested_bson(levels))).unwrap_err();
            assert!(e.contains("more than 100 levels"), "{}", e);
        }
        // Arrays count as levels too.
        let mut arr = doc! {};
        for _ in 0..MAX_DEPTH {
            arr = doc! {"x": [arr]};
        }
        let mut raw = Vec::new();
        arr.to_writer(&mut raw).unwrap();
        let e = to_document(&bytes(raw)).unwrap_err();
        assert!(e.contains("more than 100 levels"), "{}", e);
        // Malformed BSON is an error naming what it expected.
        let mut bad = nested_bson(5);
        bad[11] = 0x42;
        let e = to_document(&bytes(bad)).unwrap_err();
        assert!(e.contains("neither JSON text nor a BSON document"), "{}", e);
    }

    #[test]
    fn bson_that_is_also_valid_utf8_is_read_as_bson() {
        // {} and {"a": "b"} are all ASCII bytes.
        assert_eq!(
            to_document(&bytes(vec![5, 0, 0, 0, 0])).unwrap(),
            Some(doc! {})
        );
        let mut raw = Vec::new();
        doc! {"a": "b"}.to_writer(&mut raw).unwrap();
        assert!(std::str::from_utf8(&raw).is_ok());
        assert_eq!(to_document(&bytes(raw)).unwrap(), Some(doc! {"a": "b"}));
        // JSON text still reads as JSON.
        assert_eq!(
            to_document(&bytes(br#"{"a": 1}"#.to_vec())).unwrap(),
            Some(doc! {"a": 1})
        );
    }

    #[test]
    fn deep_json_text_and_values_are_refused() {
        let json = |levels: usize| format!("{}1{}", "{\"a\":".repeat(levels), "}".repeat(levels));
        let ok = to_document(&SchemaAndValue::schemaless(Value::String(json(MAX_DEPTH))));
        assert!(ok.is_ok(), "{:?}", ok);
        for levels in [MAX_DEPTH + 1, 127, 100_000] {
            let e =
                to_document(&SchemaAndValue::schemaless(Value::String(json(levels)))).unwrap_err();
            assert!(
                e.contains("more than 100 levels") || e.contains("recursion limit"),
                "{}",
                e
            );
        }
        let nested_map = |levels: usize| {
            let mut v = Value::Int64(1);
            for _ in 0..levels {
                v = Value::Map(vec![(Value::String("a".into()), v)]);
            }
            SchemaAndValue::schemaless(v)
        };
        assert!(to_document(&nested_map(MAX_DEPTH)).is_ok());
        let e = to_document(&nested_map(MAX_DEPTH + 1)).unwrap_err();
        assert!(e.contains("more than 100 levels"), "{}", e);
        let mut list = Value::Int64(1);
        for _ in 0..MAX_DEPTH {
            list = Value::Array(vec![list]);
        }
        let e = to_document(&SchemaAndValue::schemaless(Value::Map(vec![(
            Value::String("a".into()),
            list,
        )])))
        .unwrap_err();
        assert!(e.contains("more than 100 levels"), "{}", e);
    }
}
