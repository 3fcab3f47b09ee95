//! Connect values ↔ `apache_avro` values. Writing walks the Avro schema the value is
//! written with (the record's own, or the subject's latest with `use.latest.version`)
//! beside the Connect value, so union branches are chosen by what the schema holds.
//! Reading walks the decoded Avro value beside the Connect schema derived from the
//! writer's schema.

use std::collections::HashMap;

use apache_avro::types::Value as Avro;
use apache_avro::Schema as AvroSchema;
use bytes::Bytes;

use crate::convert::ConvertError;
use crate::data::{SchemaRef, SchemaType, Struct, Value};

/// Named Avro types of one schema, by full name (to follow `Schema::Ref`).
pub(super) type Names = HashMap<String, AvroSchema>;

/// The named types defined in `schema`.
pub(super) fn names_of(schema: &AvroSchema) -> Result<Names, ConvertError> {
    let resolved = apache_avro::schema::ResolvedSchema::try_from(schema)
        .map_err(|e| ConvertError::new(format!("invalid Avro schema: {}", e)))?;
    Ok(resolved
        .get_names()
        .iter()
        .map(|(n, s)| (n.fullname(None), (*s).clone()))
        .collect())
}

fn mismatch(avro: &AvroSchema, v: &Value, at: &str) -> ConvertError {
    ConvertError::new(format!(
        "{}: a {} value does not fit the Avro schema {}",
        if at.is_empty() { "value" } else { at },
        v.kind_name(),
        schema_brief(avro)
    ))
}

fn schema_brief(s: &AvroSchema) -> String {
    let j = serde_json::to_string(s).unwrap_or_default();
    if j.len() > 120 {
        format!(
            "{}…",
            &j[..j.char_indices().nth(120).map(|(i, _)| i).unwrap_or(j.len())]
        )
    } else {
        j
    }
}

/// The Avro value of `v` for `avro`. `at` names the field path for errors.
pub(super) fn to_avro(
    avro: &AvroSchema,
    names: &Names,
    v: &Value,
    at: &str,
) -> Result<Avro, ConvertError> {
    Ok(match (avro, v) {
        (AvroSchema::Ref { name }, _) => {
            let full = name.fullname(None);
            let s = names
                .get(&full)
                .ok_or_else(|| ConvertError::new(format!("{}: unknown Avro type {}", at, full)))?;
            return to_avro(s, names, v, at);
        }
        (AvroSchema::Union(u), _) => {
            let variants = u.variants();
            if v.is_null() {
                let i = variants
                    .iter()
                    .position(|s| matches!(s, AvroSchema::Null))
                    .ok_or_else(|| {
                        ConvertError::new(format!(
                            "{}: null for a schema that does not allow null ({})",
                            if at.is_empty() { "value" } else { at },
                            schema_brief(avro)
                        ))
                    })?;
                return Ok(Avro::Union(i as u32, Box::new(Avro::Null)));
            }
            let mut first_err = None;
            for (i, s) in variants.iter().enumerate() {
                if matches!(s, AvroSchema::Null) {
                    continue;
                }
                match to_avro(s, names, v, at) {
                    Ok(a) => return Ok(Avro::Union(i as u32, Box::new(a))),
                    Err(e) => {
                        first_err.get_or_insert(e);
                    }
                }
            }
            return Err(first_err.unwrap_or_else(|| mismatch(avro, v, at)));
        }
        (AvroSchema::Null, Value::Null) => Avro::Null,
        (_, Value::Null) => {
            return Err(ConvertError::new(format!(
                "{}: null for a schema that does not allow null ({})",
                if at.is_empty() { "value" } else { at },
                schema_brief(avro)
            )))
        }
        (AvroSchema::Boolean, Value::Boolean(b)) => Avro::Boolean(*b),
        (AvroSchema::Int, Value::Int8(i)) => Avro::Int(*i as i32),
        (AvroSchema::Int, Value::Int16(i)) => Avro::Int(*i as i32),
        (AvroSchema::Int, Value::Int32(i)) => Avro::Int(*i),
        (AvroSchema::Long, Value::Int8(i)) => Avro::Long(*i as i64),
        (AvroSchema::Long, Value::Int16(i)) => Avro::Long(*i as i64),
        (AvroSchema::Long, Value::Int32(i)) => Avro::Long(*i as i64),
        (AvroSchema::Long, Value::Int64(i)) => Avro::Long(*i),
        (AvroSchema::Float, Value::Float32(f)) => Avro::Float(*f),
        (AvroSchema::Double, Value::Float32(f)) => Avro::Double(*f as f64),
        (AvroSchema::Double, Value::Float64(f)) => Avro::Double(*f),
        (AvroSchema::String, Value::String(s)) => Avro::String(s.clone()),
        (AvroSchema::Bytes, Value::Bytes(b)) => Avro::Bytes(b.to_vec()),
        (AvroSchema::Date, Value::Int32(d)) => Avro::Date(*d),
        (AvroSchema::TimeMillis, Value::Int32(t)) => Avro::TimeMillis(*t),
        (AvroSchema::TimeMicros, Value::Int32(t)) => Avro::TimeMicros(*t as i64 * 1000),
        (AvroSchema::TimestampMillis, Value::Int64(t)) => Avro::TimestampMillis(*t),
        (AvroSchema::TimestampMicros, Value::Int64(t)) => {
            Avro::TimestampMicros(t.saturating_mul(1000))
        }
        (AvroSchema::LocalTimestampMillis, Value::Int64(t)) => Avro::LocalTimestampMillis(*t),
        (AvroSchema::Decimal(_), Value::Bytes(b)) => {
            Avro::Decimal(apache_avro::Decimal::from(b.as_ref()))
        }
        (AvroSchema::Fixed(f), Value::Bytes(b)) if b.len() == f.size => {
            Avro::Fixed(f.size, b.to_vec())
        }
        (AvroSchema::Enum(e), Value::String(s)) => {
            let i = e.symbols.iter().position(|x| x == s).ok_or_else(|| {
                ConvertError::new(format!(
                    "{}: {:?} is not a symbol of the Avro enum {}",
                    at,
                    s,
                    e.name.fullname(None)
                ))
            })?;
            Avro::Enum(i as u32, s.clone())
        }
        (AvroSchema::Uuid, Value::String(s)) => Avro::Uuid(
            s.parse()
                .map_err(|e| ConvertError::new(format!("{}: {:?} is not a UUID: {}", at, s, e)))?,
        ),
        (AvroSchema::Array(a), Value::Array(items)) => Avro::Array(
            items
                .iter()
                .enumerate()
                .map(|(i, item)| to_avro(&a.items, names, item, &format!("{}[{}]", at, i)))
                .collect::<Result<_, _>>()?,
        ),
        (AvroSchema::Array(a), Value::Map(entries)) => {
            // a map with non-string keys: an array of key/value records
            let mut out = Vec::with_capacity(entries.len());
            for (k, val) in entries {
                let entry = Value::Map(vec![
                    (Value::String("key".into()), k.clone()),
                    (Value::String("value".into()), val.clone()),
                ]);
                out.push(entry_to_avro(&a.items, names, &entry, at)?);
            }
            Avro::Array(out)
        }
        (AvroSchema::Map(m), Value::Map(entries)) => {
            let mut out = HashMap::with_capacity(entries.len());
            for (k, val) in entries {
                let k = k.as_str().ok_or_else(|| {
                    ConvertError::new(format!(
                        "{}: an Avro map needs string keys, not {}",
                        at,
                        k.kind_name()
                    ))
                })?;
                out.insert(
                    k.to_string(),
                    to_avro(&m.types, names, val, &format!("{}[{}]", at, k))?,
                );
            }
            Avro::Map(out)
        }
        (AvroSchema::Record(r), Value::Struct(st)) => {
            let mut fields = Vec::with_capacity(r.fields.len());
            for f in &r.fields {
                let path = if at.is_empty() {
                    f.name.clone()
                } else {
                    format!("{}.{}", at, f.name)
                };
                let a = match st.get(&f.name) {
                    Some(val) => to_avro(&f.schema, names, val, &path)?,
                    None => match &f.default {
                        Some(d) => Avro::from(d.clone()).resolve(&f.schema).map_err(|e| {
                            ConvertError::new(format!("{}: default does not fit: {}", path, e))
                        })?,
                        None => {
                            return Err(ConvertError::new(format!(
                            "{}: the struct has no field {} and the Avro schema gives no default",
                            if at.is_empty() { "value" } else { at },
                            f.name
                        )))
                        }
                    },
                };
                fields.push((f.name.clone(), a));
            }
            Avro::Record(fields)
        }
        _ => return Err(mismatch(avro, v, at)),
    })
}

/// A map entry (given as a two-key map) as the entry record of `items`.
fn entry_to_avro(
    items: &AvroSchema,
    names: &Names,
    entry: &Value,
    at: &str,
) -> Result<Avro, ConvertError> {
    let record = match items {
        AvroSchema::Ref { name } => names.get(&name.fullname(None)),
        other => Some(other),
    };
    let Some(AvroSchema::Record(r)) = record else {
        return Err(ConvertError::new(format!(
            "{}: a map with non-string keys needs an array of key/value records in the Avro schema",
            at
        )));
    };
    let mut fields = Vec::with_capacity(2);
    for f in &r.fields {
        let v = entry.map_get(&f.name).unwrap_or(&Value::Null);
        fields.push((
            f.name.clone(),
            to_avro(&f.schema, names, v, &format!("{}.{}", at, f.name))?,
        ));
    }
    Ok(Avro::Record(fields))
}

/// The Connect value of a decoded Avro value, for the Connect schema `s`.
pub(super) fn to_connect(s: &SchemaRef, v: Avro) -> Result<Value, ConvertError> {
    Ok(match v {
        Avro::Null => Value::Null,
        Avro::Union(_, inner) => to_connect(s, *inner)?,
        Avro::Boolean(b) => Value::Boolean(b),
        Avro::Int(i) => match s.kind {
            SchemaType::Int8 => {
                Value::Int8(i8::try_from(i).map_err(|_| out_of_range(i as i64, "int8"))?)
            }
            SchemaType::Int16 => {
                Value::Int16(i16::try_from(i).map_err(|_| out_of_range(i as i64, "int16"))?)
            }
            _ => Value::Int32(i),
        },
        Avro::Date(d) | Avro::TimeMillis(d) => Value::Int32(d),
        Avro::Long(l)
        | Avro::TimeMicros(l)
        | Avro::TimestampMillis(l)
        | Avro::TimestampMicros(l)
        | Avro::TimestampNanos(l)
        | Avro::LocalTimestampMillis(l)
        | Avro::LocalTimestampMicros(l)
        | Avro::LocalTimestampNanos(l) => Value::Int64(l),
        Avro::Float(f) => Value::Float32(f),
        Avro::Double(d) => Value::Float64(d),
        Avro::Bytes(b) | Avro::Fixed(_, b) => Value::Bytes(Bytes::from(b)),
        Avro::String(t) | Avro::Enum(_, t) => Value::String(t),
        Avro::Uuid(u) => Value::String(u.to_string()),
        Avro::Decimal(d) => Value::Bytes(Bytes::from(
            Vec::<u8>::try_from(&d).map_err(|e| ConvertError::new(format!("decimal: {}", e)))?,
        )),
        Avro::Array(items) if s.kind == SchemaType::Map => {
            let (Some(ks), Some(vs)) = (&s.key_schema, &s.value_schema) else {
                return Err(ConvertError::new(
                    "map schema without key and value schemas",
                ));
            };
            let mut out = Vec::with_capacity(items.len());
            for item in items {
                let Avro::Record(mut fields) = item else {
                    return Err(ConvertError::new("a map entry that is not a record"));
                };
                let value = fields.pop().map(|(_, v)| v).unwrap_or(Avro::Null);
                let key = fields.pop().map(|(_, v)| v).unwrap_or(Avro::Null);
                out.push((to_connect(ks, key)?, to_connect(vs, value)?));
            }
            Value::Map(out)
        }
        Avro::Array(items) => {
            let is = s
                .value_schema
                .as_ref()
                .ok_or_else(|| ConvertError::new("array schema without item schema"))?;
            Value::Array(
                items
                    .into_iter()
                    .map(|i| to_connect(is, i))
                    .collect::<Result<_, _>>()?,
            )
        }
        Avro::Map(m) => {
            let vs = s
                .value_schema
                .as_ref()
                .ok_or_else(|| ConvertError::new("map schema without value schema"))?;
            let mut entries: Vec<(String, Avro)> = m.into_iter().collect();
            entries.sort_by(|a, b| a.0.cmp(&b.0));
            Value::Map(
                entries
                    .into_iter()
                    .map(|(k, v)| Ok((Value::String(k), to_connect(vs, v)?)))
                    .collect::<Result<_, ConvertError>>()?,
            )
        }
        Avro::Record(fields) => {
            if s.kind != SchemaType::Struct || s.fields.len() != fields.len() {
                return Err(ConvertError::new(format!(
                    "an Avro record does not match the Connect schema {}",
                    s.describe()
                )));
            }
            let values = fields
                .into_iter()
                .zip(s.fields.iter())
                .map(|((_, v), f)| to_connect(&f.schema, v))
                .collect::<Result<Vec<_>, _>>()?;
            Value::Struct(Struct::from_values(s.clone(), values).map_err(ConvertError::new)?)
        }
        other => {
            return Err(ConvertError::new(format!(
                "Avro value {:?} has no Connect equivalent",
                other
            )))
        }
    })
}

fn out_of_range(i: i64, t: &str) -> ConvertError {
    ConvertError::new(format!("{} is out of range for {}", i, t))
}
