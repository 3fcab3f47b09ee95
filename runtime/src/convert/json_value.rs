//! Connect values as JSON (the `payload` half of `JsonConverter`'s envelope, or the whole
//! message with `schemas.enable=false`).

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;
use bytes::Bytes;
use serde_json::{Map, Number, Value as Json};

use super::ConvertError;
use crate::data::logical::{self, Logical};
use crate::data::{Schema, SchemaRef, SchemaType, Struct, Value};

/// How Decimal values are written (`decimal.format`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DecimalFormat {
    /// Base64 of the unscaled two's-complement bytes (Connect's default).
    Base64,
    /// A JSON number.
    Numeric,
}

fn err(msg: impl Into<String>) -> ConvertError {
    ConvertError::new(msg)
}

fn float_json(v: f64) -> Json {
    match Number::from_f64(v) {
        Some(n) => Json::Number(n),
        // Jackson writes non-finite numbers as strings; do the same.
        None if v.is_nan() => Json::String("NaN".into()),
        None if v > 0.0 => Json::String("Infinity".into()),
        None => Json::String("-Infinity".into()),
    }
}

/// Converts a value to JSON. With a schema, the schema decides the representation and
/// required fields must be set; without one, the value's own type does.
/// `replace_null_with_default` follows Connect's `replace.null.with.default`.
pub fn value_to_json(
    schema: Option<&Schema>,
    value: &Value,
    decimal: DecimalFormat,
    replace_null_with_default: bool,
) -> Result<Json, ConvertError> {
    let Some(schema) = schema else {
        return schemaless_to_json(value);
    };
    if value.is_null() {
        if let (Some(d), true) = (&schema.default, replace_null_with_default) {
            return value_to_json(Some(schema), d, decimal, replace_null_with_default);
        }
        if schema.optional {
            return Ok(Json::Null);
        }
        return Err(err(
            "Conversion error: null value for field that is required and has no default value",
        ));
    }
    if let Some(l) = schema.logical() {
        return logical_to_json(l, value, decimal);
    }
    let mismatch = || {
        err(format!(
            "Invalid type for {}: {}",
            schema.kind.name().to_uppercase(),
            value.kind_name()
        ))
    };
    Ok(match (schema.kind, value) {
        (SchemaType::Int8, Value::Int8(v)) => Json::from(*v),
        (SchemaType::Int16, Value::Int16(v)) => Json::from(*v),
        (SchemaType::Int32, Value::Int32(v)) => Json::from(*v),
        (SchemaType::Int64, Value::Int64(v)) => Json::from(*v),
        (SchemaType::Float32, Value::Float32(v)) => float_json(*v as f64),
        (SchemaType::Float64, Value::Float64(v)) => float_json(*v),
        (SchemaType::Boolean, Value::Boolean(v)) => Json::Bool(*v),
        (SchemaType::String, Value::String(v)) => Json::String(v.clone()),
        (SchemaType::Bytes, Value::Bytes(v)) => Json::String(BASE64.encode(v)),
        (SchemaType::Array, Value::Array(items)) => {
            let item_schema = schema.value_schema.as_deref();
            let mut out = Vec::with_capacity(items.len());
            for i in items {
                out.push(value_to_json(
                    item_schema,
                    i,
                    decimal,
                    replace_null_with_default,
                )?);
            }
            Json::Array(out)
        }
        (SchemaType::Map, Value::Map(entries)) => {
            let ks = schema.key_schema.as_deref();
            let vs = schema.value_schema.as_deref();
            if ks.map(|k| k.kind == SchemaType::String).unwrap_or(false) {
                let mut o = Map::new();
                for (k, v) in entries {
                    let key = match k {
                        Value::String(s) => s.clone(),
                        other => {
                            return Err(err(format!(
                                "map key {} is not a string",
                                other.kind_name()
                            )))
                        }
                    };
                    o.insert(
                        key,
                        value_to_json(vs, v, decimal, replace_null_with_default)?,
                    );
                }
                Json::Object(o)
            } else {
                let mut out = Vec::with_capacity(entries.len());
                for (k, v) in entries {
                    out.push(Json::Array(vec![
                        value_to_json(ks, k, decimal, replace_null_with_default)?,
                        value_to_json(vs, v, decimal, replace_null_with_default)?,
                    ]));
                }
                Json::Array(out)
            }
        }
        (SchemaType::Struct, Value::Struct(s)) => {
            if !std::ptr::eq(s.schema().as_ref(), schema) && s.schema().as_ref() != schema {
                return Err(err("Mismatching schema."));
            }
            let mut o = Map::new();
            for (f, v) in s.iter() {
                let j = value_to_json(Some(&f.schema), v, decimal, replace_null_with_default)
                    .map_err(|e| err(format!("field {}: {}", f.name, e)))?;
                o.insert(f.name.clone(), j);
            }
            Json::Object(o)
        }
        _ => return Err(mismatch()),
    })
}

fn logical_to_json(
    l: Logical,
    value: &Value,
    decimal: DecimalFormat,
) -> Result<Json, ConvertError> {
    match (l, value) {
        (Logical::Decimal { scale }, Value::Bytes(b)) => match decimal {
            DecimalFormat::Base64 => Ok(Json::String(BASE64.encode(b))),
            DecimalFormat::Numeric => {
                let text = logical::decimal_bytes_to_string(b, scale);
                // Keep the exact digits: serde_json numbers parse from text.
                serde_json::from_str::<Json>(&text)
                    .map_err(|e| err(format!("cannot write decimal {}: {}", text, e)))
            }
        },
        (Logical::Date, Value::Int32(v)) | (Logical::Time, Value::Int32(v)) => Ok(Json::from(*v)),
        (Logical::Timestamp, Value::Int64(v)) => Ok(Json::from(*v)),
        (l, v) => Err(err(format!("Invalid type for {:?}: {}", l, v.kind_name()))),
    }
}

fn schemaless_to_json(value: &Value) -> Result<Json, ConvertError> {
    Ok(match value {
        Value::Null => Json::Null,
        Value::Boolean(v) => Json::Bool(*v),
        Value::Int8(v) => Json::from(*v),
        Value::Int16(v) => Json::from(*v),
        Value::Int32(v) => Json::from(*v),
        Value::Int64(v) => Json::from(*v),
        Value::Float32(v) => float_json(*v as f64),
        Value::Float64(v) => float_json(*v),
        Value::String(s) => Json::String(s.clone()),
        Value::Bytes(b) => Json::String(BASE64.encode(b)),
        Value::Array(items) => Json::Array(
            items
                .iter()
                .map(schemaless_to_json)
                .collect::<Result<_, _>>()?,
        ),
        Value::Map(entries) => {
            if entries.iter().all(|(k, _)| matches!(k, Value::String(_))) {
                let mut o = Map::new();
                for (k, v) in entries {
                    o.insert(k.as_str().unwrap().to_string(), schemaless_to_json(v)?);
                }
                Json::Object(o)
            } else {
                Json::Array(
                    entries
                        .iter()
                        .map(|(k, v)| {
                            Ok(Json::Array(vec![
                                schemaless_to_json(k)?,
                                schemaless_to_json(v)?,
                            ]))
                        })
                        .collect::<Result<_, ConvertError>>()?,
                )
            }
        }
        Value::Struct(s) => value_to_json(Some(s.schema()), value, DecimalFormat::Base64, true)?,
    })
}

fn node_type(j: &Json) -> &'static str {
    match j {
        Json::Null => "NULL",
        Json::Bool(_) => "BOOLEAN",
        Json::Number(_) => "NUMBER",
        Json::String(_) => "STRING",
        Json::Array(_) => "ARRAY",
        Json::Object(_) => "OBJECT",
    }
}

fn int_from_json(schema: &Schema, j: &Json) -> Result<i64, ConvertError> {
    if let Some(v) = j.as_i64() {
        return Ok(v);
    }
    if let Some(f) = j.as_f64() {
        if f.fract() == 0.0 && f.abs() < 9.2e18 {
            return Ok(f as i64);
        }
    }
    Err(err(format!(
        "Invalid value for {} field: expected an integer but found {} {}",
        schema.kind.name().to_uppercase(),
        node_type(j),
        j
    )))
}

fn ranged<T: TryFrom<i64>>(schema: &Schema, v: i64) -> Result<T, ConvertError> {
    T::try_from(v).map_err(|_| {
        err(format!(
            "Invalid value for {} field: {} is out of range",
            schema.kind.name().to_uppercase(),
            v
        ))
    })
}

/// Converts JSON into a Connect value. With a schema, the JSON must match it (a stricter
/// check than Connect's, which silently turns e.g. a string in an int32 field into 0);
/// without one, numbers become int64 or float64, objects maps and arrays lists. A null
/// where the schema has a default reads as the default.
pub fn value_from_json(schema: Option<&SchemaRef>, j: &Json) -> Result<Value, ConvertError> {
    value_from_json_with(schema, j, true)
}

/// [`value_from_json`] with Connect's `replace.null.with.default`: when false, a null
/// stays null where the schema has a default (it must then be optional).
pub fn value_from_json_with(
    schema: Option<&SchemaRef>,
    j: &Json,
    replace_null_with_default: bool,
) -> Result<Value, ConvertError> {
    let Some(schema) = schema else {
        return Ok(schemaless_from_json(j));
    };
    if j.is_null() {
        if let (Some(d), true) = (&schema.default, replace_null_with_default) {
            return Ok(d.clone());
        }
        if schema.optional {
            return Ok(Value::Null);
        }
        return Err(err(format!(
            "Invalid null value for required {} field",
            schema.kind.name().to_uppercase()
        )));
    }
    if let Some(l) = schema.logical() {
        return logical_from_json(l, schema, j);
    }
    let type_err = |expected: &str| {
        err(format!(
            "Invalid value for {} field: expected {} but found {}",
            schema.kind.name().to_uppercase(),
            expected,
            node_type(j)
        ))
    };
    Ok(match schema.kind {
        SchemaType::Int8 => Value::Int8(ranged(schema, int_from_json(schema, j)?)?),
        SchemaType::Int16 => Value::Int16(ranged(schema, int_from_json(schema, j)?)?),
        SchemaType::Int32 => Value::Int32(ranged(schema, int_from_json(schema, j)?)?),
        SchemaType::Int64 => Value::Int64(int_from_json(schema, j)?),
        SchemaType::Float32 => {
            Value::Float32(float_from_json(j).ok_or_else(|| type_err("a number"))? as f32)
        }
        SchemaType::Float64 => {
            Value::Float64(float_from_json(j).ok_or_else(|| type_err("a number"))?)
        }
        SchemaType::Boolean => Value::Boolean(j.as_bool().ok_or_else(|| type_err("a boolean"))?),
        SchemaType::String => {
            Value::String(j.as_str().ok_or_else(|| type_err("a string"))?.to_string())
        }
        SchemaType::Bytes => {
            let s = j.as_str().ok_or_else(|| type_err("base64 text"))?;
            Value::Bytes(Bytes::from(
                BASE64.decode(s).map_err(|_| err("Invalid bytes field"))?,
            ))
        }
        SchemaType::Array => {
            let items = j.as_array().ok_or_else(|| type_err("an array"))?;
            let is = schema.value_schema.as_ref();
            Value::Array(
                items
                    .iter()
                    .map(|i| value_from_json_with(is, i, replace_null_with_default))
                    .collect::<Result<_, _>>()?,
            )
        }
        SchemaType::Map => {
            let ks = schema.key_schema.as_ref();
            let vs = schema.value_schema.as_ref();
            if ks.map(|k| k.kind == SchemaType::String).unwrap_or(false) {
                let o = j.as_object().ok_or_else(|| {
                    err(format!(
                        "Maps with string fields should be encoded as JSON objects, but found {}",
                        node_type(j)
                    ))
                })?;
                let mut out = Vec::with_capacity(o.len());
                for (k, v) in o {
                    out.push((
                        Value::String(k.clone()),
                        value_from_json_with(vs, v, replace_null_with_default)?,
                    ));
                }
                Value::Map(out)
            } else {
                let arr = j.as_array().ok_or_else(|| {
                    err(format!(
                        "Maps with non-string fields should be encoded as JSON array of tuples, but found {}",
                        node_type(j)
                    ))
                })?;
                let mut out = Vec::with_capacity(arr.len());
                for e in arr {
                    let pair = e.as_array().ok_or_else(|| {
                        err(format!(
                            "Found invalid map entry instead of array tuple: {}",
                            node_type(e)
                        ))
                    })?;
                    if pair.len() != 2 {
                        return Err(err(format!(
                            "Found invalid map entry, expected length 2 but found :{}",
                            pair.len()
                        )));
                    }
                    out.push((
                        value_from_json_with(ks, &pair[0], replace_null_with_default)?,
                        value_from_json_with(vs, &pair[1], replace_null_with_default)?,
                    ));
                }
                Value::Map(out)
            }
        }
        SchemaType::Struct => {
            let o = j.as_object().ok_or_else(|| {
                err(format!(
                    "Structs should be encoded as JSON objects, but found {}",
                    node_type(j)
                ))
            })?;
            let schema_ref = std::sync::Arc::clone(schema);
            let mut values = Vec::with_capacity(schema.fields.len());
            for f in &schema.fields {
                let field = o.get(&f.name).unwrap_or(&Json::Null);
                let v = value_from_json_with(Some(&f.schema), field, replace_null_with_default)
                    .map_err(|e| err(format!("field {}: {}", f.name, e)))?;
                values.push(v);
            }
            Value::Struct(Struct::from_values(schema_ref, values).map_err(err)?)
        }
    })
}

fn float_from_json(j: &Json) -> Option<f64> {
    match j {
        Json::Number(n) => n.as_f64(),
        Json::String(s) => match s.as_str() {
            "NaN" => Some(f64::NAN),
            "Infinity" => Some(f64::INFINITY),
            "-Infinity" => Some(f64::NEG_INFINITY),
            _ => None,
        },
        _ => None,
    }
}

fn logical_from_json(l: Logical, schema: &Schema, j: &Json) -> Result<Value, ConvertError> {
    match l {
        Logical::Decimal { scale } => match j {
            Json::Number(n) => {
                let text = n.to_string();
                let unscaled = logical::decimal_from_str(&text, scale).ok_or_else(|| {
                    err(format!("Invalid value for Decimal: {} does not fit scale {}", text, scale))
                })?;
                Ok(Value::Bytes(Bytes::from(logical::decimal_to_bytes(unscaled))))
            }
            Json::String(s) => Ok(Value::Bytes(Bytes::from(
                BASE64.decode(s).map_err(|_| err("Invalid bytes for Decimal field"))?,
            ))),
            other => Err(err(format!(
                "Invalid type for Decimal, underlying representation should be numeric or bytes but was {}",
                node_type(other)
            ))),
        },
        Logical::Date | Logical::Time => {
            let v = j.as_i64().ok_or_else(|| {
                err(format!(
                    "Invalid type for {:?}, underlying representation should be integer but was {}",
                    l,
                    node_type(j)
                ))
            })?;
            Ok(Value::Int32(ranged(schema, v)?))
        }
        Logical::Timestamp => Ok(Value::Int64(j.as_i64().ok_or_else(|| {
            err(format!(
                "Invalid type for Timestamp, underlying representation should be integral but was {}",
                node_type(j)
            ))
        })?)),
    }
}

/// Schemaless JSON to Connect, as Connect infers it.
pub fn schemaless_from_json(j: &Json) -> Value {
    match j {
        Json::Null => Value::Null,
        Json::Bool(b) => Value::Boolean(*b),
        Json::Number(n) => match n.as_i64() {
            Some(i) => Value::Int64(i),
            None => Value::Float64(n.as_f64().unwrap_or(f64::NAN)),
        },
        Json::String(s) => Value::String(s.clone()),
        Json::Array(a) => Value::Array(a.iter().map(schemaless_from_json).collect()),
        Json::Object(o) => Value::Map(
            o.iter()
                .map(|(k, v)| (Value::String(k.clone()), schemaless_from_json(v)))
                .collect(),
        ),
    }
}
