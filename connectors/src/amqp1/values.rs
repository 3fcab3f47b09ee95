//! AMQP 1.0 values to typed Connect values and back.
//!
//! Types: signed integers keep their width; unsigned ones take the next wider signed
//! type (ubyte -> int16, ushort -> int32, uint -> int64; ulong -> int64, an error above
//! i64::MAX); float and double stay; string and symbol are strings; char is a
//! one-character string; timestamps become Connect Timestamps (epoch ms); uuids are
//! strings in their usual hyphenated form; binary is bytes; lists and arrays are
//! arrays; maps are maps (see [`body_map`] for a JMS MapMessage); described values
//! keep their value; decimals are not supported (an error naming the type).

use bytes::Bytes;
use fe2o3_amqp::types::primitives::{OrderedMap, SimpleValue, Timestamp, Value as Amqp};
use sluice_runtime::data::logical::timestamp_schema;
use sluice_runtime::data::{
    primitive, Schema, SchemaAndValue, SchemaBuilder, SchemaType, Struct, Value,
};

fn typed(kind: SchemaType, value: Value) -> SchemaAndValue {
    SchemaAndValue::with_schema(primitive(kind, true), value)
}

/// An optional string value.
pub fn string(s: impl Into<String>) -> SchemaAndValue {
    typed(SchemaType::String, Value::String(s.into()))
}

/// An optional Connect Timestamp (epoch ms).
pub fn timestamp(ms: i64) -> SchemaAndValue {
    SchemaAndValue::with_schema(timestamp_schema(true), Value::Int64(ms))
}

/// The hyphenated text form of a UUID.
pub fn uuid_text(b: &[u8; 16]) -> String {
    let h: String = b.iter().map(|x| format!("{:02x}", x)).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

/// One AMQP value as a typed Connect value.
pub fn to_connect(v: &Amqp) -> Result<SchemaAndValue, String> {
    Ok(match v {
        Amqp::Null => SchemaAndValue::NULL,
        Amqp::Bool(b) => typed(SchemaType::Boolean, Value::Boolean(*b)),
        Amqp::Ubyte(x) => typed(SchemaType::Int16, Value::Int16(*x as i16)),
        Amqp::Ushort(x) => typed(SchemaType::Int32, Value::Int32(*x as i32)),
        Amqp::Uint(x) => typed(SchemaType::Int64, Value::Int64(*x as i64)),
        Amqp::Ulong(x) => typed(
            SchemaType::Int64,
            Value::Int64(
                i64::try_from(*x).map_err(|_| format!("the ulong {} does not fit an int64", x))?,
            ),
        ),
        Amqp::Byte(x) => typed(SchemaType::Int8, Value::Int8(*x)),
        Amqp::Short(x) => typed(SchemaType::Int16, Value::Int16(*x)),
        Amqp::Int(x) => typed(SchemaType::Int32, Value::Int32(*x)),
        Amqp::Long(x) => typed(SchemaType::Int64, Value::Int64(*x)),
        Amqp::Float(x) => typed(SchemaType::Float32, Value::Float32(x.into_inner())),
        Amqp::Double(x) => typed(SchemaType::Float64, Value::Float64(x.into_inner())),
        Amqp::Char(c) => string(c.to_string()),
        Amqp::Timestamp(t) => timestamp(t.milliseconds()),
        Amqp::Uuid(u) => string(uuid_text(u.as_inner())),
        Amqp::Binary(b) => typed(
            SchemaType::Bytes,
            Value::Bytes(Bytes::copy_from_slice(b.as_slice())),
        ),
        Amqp::String(s) => string(s.clone()),
        Amqp::Symbol(s) => string(s.as_str()),
        Amqp::List(items) => array(items.iter())?,
        Amqp::Array(items) => array(items.iter())?,
        Amqp::Map(m) => map(m)?,
        Amqp::Described(d) => to_connect(&d.value)?,
        Amqp::Decimal32(_) | Amqp::Decimal64(_) | Amqp::Decimal128(_) => {
            return Err("AMQP decimal values are not supported".into())
        }
    })
}

/// An application property value (a simple value) as a typed Connect value.
pub fn simple_to_connect(v: &SimpleValue) -> Result<SchemaAndValue, String> {
    to_connect(&Amqp::from(v.clone()))
}

fn array<'a>(items: impl Iterator<Item = &'a Amqp>) -> Result<SchemaAndValue, String> {
    let values = items
        .map(|i| to_connect(i).map(|v| v.value))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(SchemaAndValue::schemaless(Value::Array(values)))
}

fn map(m: &OrderedMap<Amqp, Amqp>) -> Result<SchemaAndValue, String> {
    let mut out = Vec::with_capacity(m.len());
    for (k, v) in m.iter() {
        out.push((to_connect(k)?.value, to_connect(v)?.value));
    }
    Ok(SchemaAndValue::schemaless(Value::Map(out)))
}

/// A map body (JMS MapMessage): a struct with one optional field per entry, in the
/// map's order, when every key is a string and every value a primitive (the JMS
/// MapMessage rule); otherwise a schemaless map.
pub fn body_map(m: &OrderedMap<Amqp, Amqp>) -> Result<SchemaAndValue, String> {
    let mut fields = Vec::with_capacity(m.len());
    for (k, v) in m.iter() {
        let name = match k {
            Amqp::String(s) => s.clone(),
            Amqp::Symbol(s) => s.as_str().to_string(),
            _ => return map(m),
        };
        let typed = to_connect(v)?;
        match &typed.schema {
            Some(s) if s.kind.is_primitive() => fields.push((name, typed)),
            _ if typed.value.is_null() => fields.push((
                name,
                SchemaAndValue::with_schema(primitive(SchemaType::String, true), Value::Null),
            )),
            _ => return map(m),
        }
    }
    let mut builder = SchemaBuilder::struct_().optional();
    for (name, v) in &fields {
        builder = builder.field(name.clone(), v.schema.clone().expect("typed above"));
    }
    let schema = builder.build();
    let s = Struct::from_values(
        schema.clone(),
        fields.into_iter().map(|(_, v)| v.value).collect(),
    )?;
    Ok(SchemaAndValue::with_schema(schema, Value::Struct(s)))
}

/// A Connect value as an AMQP value (for the sink's bodies and properties), guided by
/// its schema where there is one (int8 stays byte, a Timestamp becomes a timestamp).
pub fn to_amqp(schema: Option<&Schema>, v: &Value) -> Amqp {
    if let (Some(s), Value::Int64(ms)) = (schema, v) {
        if s.name.as_deref() == Some(sluice_runtime::data::logical::TIMESTAMP) {
            return Amqp::Timestamp(Timestamp::from_milliseconds(*ms));
        }
    }
    match v {
        Value::Null => Amqp::Null,
        Value::Boolean(b) => Amqp::Bool(*b),
        Value::Int8(x) => Amqp::Byte(*x),
        Value::Int16(x) => Amqp::Short(*x),
        Value::Int32(x) => Amqp::Int(*x),
        Value::Int64(x) => Amqp::Long(*x),
        Value::Float32(x) => Amqp::Float((*x).into()),
        Value::Float64(x) => Amqp::Double((*x).into()),
        Value::String(s) => Amqp::String(s.clone()),
        Value::Bytes(b) => Amqp::Binary(b.to_vec().into()),
        Value::Array(items) => Amqp::List(
            items
                .iter()
                .map(|i| to_amqp(schema.and_then(|s| s.value_schema.as_deref()), i))
                .collect(),
        ),
        Value::Map(entries) => {
            let mut m = OrderedMap::new();
            for (k, val) in entries {
                m.insert(
                    to_amqp(schema.and_then(|s| s.key_schema.as_deref()), k),
                    to_amqp(schema.and_then(|s| s.value_schema.as_deref()), val),
                );
            }
            Amqp::Map(m)
        }
        Value::Struct(st) => {
            let mut m = OrderedMap::new();
            for (f, val) in st.iter() {
                m.insert(Amqp::String(f.name.clone()), to_amqp(Some(&f.schema), val));
            }
            Amqp::Map(m)
        }
    }
}

/// A Connect value as an application property (simple values only: nested values are
/// an error naming the property).
pub fn to_simple(name: &str, schema: Option<&Schema>, v: &Value) -> Result<SimpleValue, String> {
    let a = to_amqp(schema, v);
    SimpleValue::try_from(a).map_err(|_| {
        format!(
            "header {} holds a {} value: AMQP application properties take only simple values (no lists, maps or structs)",
            name,
            v.kind_name()
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_keep_their_types() {
        let cases = vec![
            (Amqp::Bool(true), SchemaType::Boolean, Value::Boolean(true)),
            (Amqp::Ubyte(255), SchemaType::Int16, Value::Int16(255)),
            (
                Amqp::Uint(u32::MAX),
                SchemaType::Int64,
                Value::Int64(u32::MAX as i64),
            ),
            (Amqp::Byte(-1), SchemaType::Int8, Value::Int8(-1)),
            (
                Amqp::Long(1 << 40),
                SchemaType::Int64,
                Value::Int64(1 << 40),
            ),
            (
                Amqp::Double(1.5.into()),
                SchemaType::Float64,
                Value::Float64(1.5),
            ),
            (
                Amqp::Symbol("s".into()),
                SchemaType::String,
                Value::from("s"),
            ),
            (
                Amqp::Timestamp(Timestamp::from_milliseconds(1_700_000_000_123)),
                SchemaType::Int64,
                Value::Int64(1_700_000_000_123),
            ),
        ];
        for (amqp, kind, value) in cases {
            let v = to_connect(&amqp).unwrap();
            assert_eq!(v.schema.as_ref().unwrap().kind, kind, "{:?}", amqp);
            assert_eq!(v.value, value, "{:?}", amqp);
        }
        assert!(to_connect(&Amqp::Ulong(u64::MAX))
            .unwrap_err()
            .contains("int64"));
        assert_eq!(
            uuid_text(&[0x12; 16]),
            "12121212-1212-1212-1212-121212121212"
        );
    }

    #[test]
    fn map_bodies_become_structs_and_back() {
        let mut m = OrderedMap::new();
        m.insert(Amqp::String("name".into()), Amqp::String("bolt".into()));
        m.insert(Amqp::String("qty".into()), Amqp::Int(3));
        m.insert(Amqp::String("price".into()), Amqp::Double(2.5.into()));
        let v = body_map(&m).unwrap();
        let schema = v.schema.clone().unwrap();
        assert_eq!(schema.kind, SchemaType::Struct);
        assert_eq!(
            schema
                .fields
                .iter()
                .map(|f| f.name.as_str())
                .collect::<Vec<_>>(),
            ["name", "qty", "price"]
        );
        let back = to_amqp(v.schema.as_deref(), &v.value);
        assert_eq!(back, Amqp::Map(m.clone()));
        // a nested value makes it a schemaless map
        m.insert(Amqp::String("tags".into()), Amqp::List(vec![Amqp::Int(1)]));
        let v = body_map(&m).unwrap();
        assert!(v.schema.is_none());
        assert!(matches!(v.value, Value::Map(_)));
    }

    #[test]
    fn simple_values_only_in_properties() {
        assert!(to_simple("x", None, &Value::Int32(1)).is_ok());
        let err = to_simple("x", None, &Value::Array(vec![])).unwrap_err();
        assert!(err.contains("header x"), "{}", err);
    }
}
