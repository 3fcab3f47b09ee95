//! Connect values ↔ JSON under a Connect schema, as Confluent's `JsonSchemaData`
//! (`fromConnectData` / `toConnectData`) converts them: bytes are base64 text, Decimal
//! base64 of the unscaled bytes (or a JSON number with `decimal.format=NUMERIC`; a
//! number is read either way), Date/Time/Timestamp their integers, maps with string
//! keys objects and other maps arrays of `{"key":…,"value":…}` objects, a required
//! field that is null with no default is left out. Reading is stricter than Confluent's
//! (which turns a string in an integer field into 0): a value of the wrong JSON type is
//! an error naming the field.

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;
use bytes::Bytes;
use serde_json::{Map, Number, Value as Json};

use super::to_json_schema::ONE_OF;
use super::JsonSchemaOptions;
use crate::convert::{ConvertError, DecimalFormat};
use crate::data::logical::{self, Logical};
use crate::data::{Schema, SchemaRef, SchemaType, Struct, Value};

fn err(msg: impl Into<String>) -> ConvertError {
    ConvertError::new(msg)
}

/// `f32` as Java's `FloatNode` writes it (the shortest text that reads back the same
/// float: 1.1f is `1.1`, not `1.100000023841858`).
fn float32_json(v: f32) -> Result<Json, ConvertError> {
    if !v.is_finite() {
        return Err(err(format!("{} cannot be written as a JSON number", v)));
    }
    let n: Number = format!("{:?}", v)
        .parse()
        .map_err(|e| err(format!("float {}: {}", v, e)))?;
    Ok(Json::Number(n))
}

fn float64_json(v: f64) -> Result<Json, ConvertError> {
    Number::from_f64(v)
        .map(Json::Number)
        .ok_or_else(|| err(format!("{} cannot be written as a JSON number", v)))
}

/// The JSON of `value` under `schema`; `None` for a null in a required schema without a
/// default (the field is then left out, as Confluent does).
pub fn json_from_connect(
    schema: &Schema,
    value: &Value,
    options: &JsonSchemaOptions,
) -> Result<Option<Json>, ConvertError> {
    if value.is_null() {
        if let Some(d) = &schema.default {
            return json_from_connect(schema, d, options);
        }
        return Ok(schema.optional.then_some(Json::Null));
    }
    if let Some(l) = schema.logical() {
        return logical_to_json(l, value, options.decimal_format).map(Some);
    }
    let mismatch = || {
        err(format!(
            "Invalid type for {}: {}",
            schema.kind.name().to_uppercase(),
            value.kind_name()
        ))
    };
    Ok(Some(match (schema.kind, value) {
        (SchemaType::Int8, Value::Int8(v)) => Json::from(*v),
        (SchemaType::Int16, Value::Int16(v)) => Json::from(*v),
        (SchemaType::Int32, Value::Int32(v)) => Json::from(*v),
        (SchemaType::Int64, Value::Int64(v)) => Json::from(*v),
        (SchemaType::Float32, Value::Float32(v)) => float32_json(*v)?,
        (SchemaType::Float64, Value::Float64(v)) => float64_json(*v)?,
        (SchemaType::Boolean, Value::Boolean(v)) => Json::Bool(*v),
        (SchemaType::String, Value::String(v)) => Json::String(v.clone()),
        (SchemaType::Bytes, Value::Bytes(v)) => Json::String(BASE64.encode(v)),
        (SchemaType::Array, Value::Array(items)) => {
            let is = schema
                .value_schema
                .as_deref()
                .ok_or_else(|| err("array schema without an item schema"))?;
            let mut out = Vec::with_capacity(items.len());
            for i in items {
                out.push(json_from_connect(is, i, options)?.unwrap_or(Json::Null));
            }
            Json::Array(out)
        }
        (SchemaType::Map, Value::Map(entries)) => {
            let (Some(ks), Some(vs)) =
                (schema.key_schema.as_deref(), schema.value_schema.as_deref())
            else {
                return Err(err("map schema without key and value schemas"));
            };
            if ks.kind == SchemaType::String && !ks.optional {
                let mut o = Map::new();
                for (k, v) in entries {
                    let Value::String(key) = k else {
                        return Err(err(format!("map key {} is not a string", k.kind_name())));
                    };
                    o.insert(
                        key.clone(),
                        json_from_connect(vs, v, options)?.unwrap_or(Json::Null),
                    );
                }
                Json::Object(o)
            } else {
                let mut out = Vec::with_capacity(entries.len());
                for (k, v) in entries {
                    let mut o = Map::new();
                    o.insert(
                        "key".into(),
                        json_from_connect(ks, k, options)?.unwrap_or(Json::Null),
                    );
                    o.insert(
                        "value".into(),
                        json_from_connect(vs, v, options)?.unwrap_or(Json::Null),
                    );
                    out.push(Json::Object(o));
                }
                Json::Array(out)
            }
        }
        (SchemaType::Struct, Value::Struct(s)) => {
            if !std::ptr::eq(s.schema().as_ref(), schema) && s.schema().as_ref() != schema {
                return Err(err(format!(
                    "Mismatching schema: the struct's schema {} is not the record's schema {}",
                    s.schema().describe(),
                    schema.describe()
                )));
            }
            if schema.name.as_deref() == Some(ONE_OF) {
                // a union: the first branch that holds a value
                for (f, v) in s.iter() {
                    if !v.is_null() {
                        return json_from_connect(&f.schema, v, options);
                    }
                }
                return Ok(schema.optional.then_some(Json::Null));
            }
            let mut o = Map::new();
            for (f, v) in s.iter() {
                let j = json_from_connect(&f.schema, v, options)
                    .map_err(|e| err(format!("field {}: {}", f.name, e)))?;
                if let Some(j) = j {
                    o.insert(f.name.clone(), j);
                }
            }
            Json::Object(o)
        }
        _ => return Err(mismatch()),
    }))
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
                serde_json::from_str::<Json>(&text)
                    .map_err(|e| err(format!("cannot write decimal {}: {}", text, e)))
            }
        },
        (Logical::Date, Value::Int32(v)) | (Logical::Time, Value::Int32(v)) => Ok(Json::from(*v)),
        (Logical::Timestamp, Value::Int64(v)) => Ok(Json::from(*v)),
        (l, v) => Err(err(format!("Invalid type for {:?}: {}", l, v.kind_name()))),
    }
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

/// The Connect value of `json` (`None`: the property was absent) under `schema`.
pub fn json_to_connect(schema: &SchemaRef, json: Option<&Json>) -> Result<Value, ConvertError> {
    let j = match json {
        None | Some(Json::Null) => {
            if let Some(d) = &schema.default {
                return Ok(d.clone());
            }
            if json.is_none() || schema.optional {
                return Ok(Value::Null);
            }
            return Err(err(format!(
                "Invalid null value for required {} field",
                schema.kind.name().to_uppercase()
            )));
        }
        Some(j) => j,
    };
    if let Some(l) = schema.logical() {
        return logical_from_json(l, j);
    }
    let expected = |what: &str| {
        err(format!(
            "Invalid value for {} field: expected {} but found {}",
            schema.kind.name().to_uppercase(),
            what,
            node_type(j)
        ))
    };
    // 1.0 is an integer to JSON Schema (and Python's json writes floats so)
    let whole = |f: f64| (f.fract() == 0.0 && f.abs() < 9.2e18).then_some(f as i64);
    let int = || -> Result<i64, ConvertError> {
        j.as_i64()
            .or_else(|| j.as_f64().and_then(whole))
            .ok_or_else(|| {
                if j.is_number() {
                    err(format!(
                        "Invalid value for {} field: {} is not an integer in range",
                        schema.kind.name().to_uppercase(),
                        j
                    ))
                } else {
                    expected("an integer")
                }
            })
    };
    let ranged = |v: i64| {
        err(format!(
            "{} is out of range for {}",
            v,
            schema.kind.name().to_uppercase()
        ))
    };
    Ok(match schema.kind {
        SchemaType::Int8 => {
            let v = int()?;
            Value::Int8(i8::try_from(v).map_err(|_| ranged(v))?)
        }
        SchemaType::Int16 => {
            let v = int()?;
            Value::Int16(i16::try_from(v).map_err(|_| ranged(v))?)
        }
        SchemaType::Int32 => {
            let v = int()?;
            Value::Int32(i32::try_from(v).map_err(|_| ranged(v))?)
        }
        SchemaType::Int64 => Value::Int64(int()?),
        SchemaType::Float32 => {
            Value::Float32(j.as_f64().ok_or_else(|| expected("a number"))? as f32)
        }
        SchemaType::Float64 => Value::Float64(j.as_f64().ok_or_else(|| expected("a number"))?),
        SchemaType::Boolean => Value::Boolean(j.as_bool().ok_or_else(|| expected("a boolean"))?),
        SchemaType::String => {
            Value::String(j.as_str().ok_or_else(|| expected("a string"))?.to_string())
        }
        SchemaType::Bytes => {
            let s = j.as_str().ok_or_else(|| expected("base64 text"))?;
            Value::Bytes(Bytes::from(BASE64.decode(s).map_err(|e| {
                err(format!("Invalid bytes field: not base64 ({})", e))
            })?))
        }
        SchemaType::Array => {
            let items = j.as_array().ok_or_else(|| expected("an array"))?;
            let is = schema
                .value_schema
                .as_ref()
                .ok_or_else(|| err("array schema without an item schema"))?;
            Value::Array(
                items
                    .iter()
                    .map(|i| json_to_connect(is, Some(i)))
                    .collect::<Result<_, _>>()?,
            )
        }
        SchemaType::Map => map_to_connect(schema, j)?,
        SchemaType::Struct => {
            if schema.name.as_deref() == Some(super::to_json_schema::ONE_OF) {
                return union_to_connect(schema, j);
            }
            let o = j.as_object().ok_or_else(|| {
                err(format!(
                    "Structs should be encoded as JSON objects, but found {}",
                    node_type(j)
                ))
            })?;
            let mut values = Vec::with_capacity(schema.fields.len());
            for f in &schema.fields {
                values.push(
                    json_to_connect(&f.schema, o.get(&f.name))
                        .map_err(|e| err(format!("field {}: {}", f.name, e)))?,
                );
            }
            Value::Struct(Struct::from_values(schema.clone(), values).map_err(err)?)
        }
    })
}

fn map_to_connect(schema: &SchemaRef, j: &Json) -> Result<Value, ConvertError> {
    let (Some(ks), Some(vs)) = (schema.key_schema.as_ref(), schema.value_schema.as_ref()) else {
        return Err(err("map schema without key and value schemas"));
    };
    let mut entries = Vec::new();
    if ks.kind == SchemaType::String && !ks.optional {
        let o = j.as_object().ok_or_else(|| {
            err(format!(
                "Maps with string fields should be encoded as JSON objects, but found {}",
                node_type(j)
            ))
        })?;
        for (k, v) in o {
            entries.push((Value::String(k.clone()), json_to_connect(vs, Some(v))?));
        }
    } else {
        let a = j.as_array().ok_or_else(|| {
            err(format!(
                "Maps with non-string fields should be encoded as JSON array of objects, but found {}",
                node_type(j)
            ))
        })?;
        for e in a {
            let o = e.as_object().ok_or_else(|| {
                err(format!(
                    "Found invalid map entry instead of object: {}",
                    node_type(e)
                ))
            })?;
            if o.len() != 2 {
                return Err(err(format!(
                    "Found invalid map entry, expected length 2 but found :{}",
                    o.len()
                )));
            }
            entries.push((
                json_to_connect(ks, o.get("key"))?,
                json_to_connect(vs, o.get("value"))?,
            ));
        }
    }
    Ok(Value::Map(entries))
}

/// Whether `j` is of the JSON type a simple (non-struct) branch takes.
fn simple_match(s: &Schema, j: &Json) -> bool {
    match s.kind {
        SchemaType::Int8 | SchemaType::Int16 | SchemaType::Int32 | SchemaType::Int64 => {
            j.is_i64() || j.is_u64()
        }
        SchemaType::Float32 | SchemaType::Float64 => j.is_number(),
        SchemaType::Boolean => j.is_boolean(),
        SchemaType::String => j.is_string(),
        SchemaType::Bytes => s.logical().is_some() && j.is_number(),
        SchemaType::Array => j.is_array(),
        SchemaType::Map => j.is_object() || j.is_array(),
        SchemaType::Struct => false,
    }
}

/// How many property names (recursively) an object shares with a struct branch.
fn struct_match(s: &Schema, j: &Json) -> usize {
    let (SchemaType::Struct, Some(o)) = (s.kind, j.as_object()) else {
        return 0;
    };
    s.fields
        .iter()
        .filter_map(|f| Some(1 + struct_match(&f.schema, o.get(&f.name)?)))
        .sum()
}

/// A `oneOf` value: the first simple branch of the value's JSON type, else the struct
/// branch sharing the most property names (Confluent's rule).
fn union_to_connect(schema: &SchemaRef, j: &Json) -> Result<Value, ConvertError> {
    let mut best: Option<(usize, usize)> = None;
    let mut chosen = None;
    for f in &schema.fields {
        if simple_match(&f.schema, j) {
            chosen = Some(f.index);
            break;
        }
        let m = struct_match(&f.schema, j);
        if m > best.map(|b| b.1).unwrap_or(0) {
            best = Some((f.index, m));
        }
    }
    let Some(i) = chosen.or(best.map(|b| b.0)) else {
        return Err(err(format!(
            "Did not find matching oneof field for data ({})",
            node_type(j)
        )));
    };
    let mut values = vec![Value::Null; schema.fields.len()];
    values[i] = json_to_connect(&schema.fields[i].schema, Some(j))?;
    Ok(Value::Struct(
        Struct::from_values(schema.clone(), values).map_err(err)?,
    ))
}

fn logical_from_json(l: Logical, j: &Json) -> Result<Value, ConvertError> {
    match l {
        Logical::Decimal { scale } => {
            if let Json::Number(n) = j {
                let text = n.to_string();
                let unscaled = logical::decimal_from_str(&text, scale).ok_or_else(|| {
                    err(format!(
                        "Invalid value for Decimal: {} does not fit scale {}",
                        text, scale
                    ))
                })?;
                return Ok(Value::Bytes(Bytes::from(logical::decimal_to_bytes(
                    unscaled,
                ))));
            }
            let s = j.as_str().ok_or_else(|| {
                err(format!(
                    "Invalid type for Decimal, underlying representation should be numeric or bytes but was {}",
                    node_type(j)
                ))
            })?;
            Ok(Value::Bytes(Bytes::from(BASE64.decode(s).map_err(
                |e| err(format!("Invalid bytes for Decimal field: {}", e)),
            )?)))
        }
        Logical::Date | Logical::Time => {
            let v = j
                .as_i64()
                .and_then(|v| i32::try_from(v).ok())
                .ok_or_else(|| {
                    err(format!(
                        "Invalid type for {:?}, underlying representation should be integer but was {}",
                        l,
                        node_type(j)
                    ))
                })?;
            Ok(Value::Int32(v))
        }
        Logical::Timestamp => Ok(Value::Int64(j.as_i64().ok_or_else(|| {
            err(format!(
                "Invalid type for Timestamp, underlying representation should be integral but was {}",
                node_type(j)
            ))
        })?)),
    }
}
