//! Connect values written straight to JSON text, without building a `serde_json::Value`
//! tree first: the `JsonConverter`'s hot path. The output is byte for byte what
//! serializing [`value_to_json`]'s tree gives (the tests check it), and so are the
//! errors; a map with a repeated key, which the tree collapses to one entry, is written
//! through the tree.

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;
use serde_json::Number;

use super::json_value::{value_to_json, DecimalFormat};
use super::ConvertError;
use crate::data::logical::{self, Logical};
use crate::data::{Schema, SchemaType, Struct, Value};

fn err(msg: impl Into<String>) -> ConvertError {
    ConvertError::new(msg)
}

/// Appends `value` as JSON to `out`, as `serde_json::to_writer(out, &value_to_json(..))`
/// would.
pub fn write_value(
    out: &mut Vec<u8>,
    schema: Option<&Schema>,
    value: &Value,
    decimal: DecimalFormat,
    replace_null_with_default: bool,
) -> Result<(), ConvertError> {
    let Some(schema) = schema else {
        return write_schemaless(out, value);
    };
    write_with_logical(
        out,
        schema,
        schema.logical(),
        value,
        decimal,
        replace_null_with_default,
    )
}

/// [`write_value`] for a schema whose logical type (`schema.logical()`) is known.
fn write_with_logical(
    out: &mut Vec<u8>,
    schema: &Schema,
    logical: Option<Logical>,
    value: &Value,
    decimal: DecimalFormat,
    replace_null_with_default: bool,
) -> Result<(), ConvertError> {
    if value.is_null() {
        if let (Some(d), true) = (&schema.default, replace_null_with_default) {
            return write_value(out, Some(schema), d, decimal, replace_null_with_default);
        }
        if schema.optional {
            out.extend_from_slice(b"null");
            return Ok(());
        }
        return Err(err(
            "Conversion error: null value for field that is required and has no default value",
        ));
    }
    if let Some(l) = logical {
        return write_logical(out, l, value, decimal);
    }
    let mismatch = || {
        err(format!(
            "Invalid type for {}: {}",
            schema.kind.name().to_uppercase(),
            value.kind_name()
        ))
    };
    match (schema.kind, value) {
        (SchemaType::Int8, Value::Int8(v)) => write_int(out, *v as i64),
        (SchemaType::Int16, Value::Int16(v)) => write_int(out, *v as i64),
        (SchemaType::Int32, Value::Int32(v)) => write_int(out, *v as i64),
        (SchemaType::Int64, Value::Int64(v)) => write_int(out, *v),
        (SchemaType::Float32, Value::Float32(v)) => write_float(out, *v as f64),
        (SchemaType::Float64, Value::Float64(v)) => write_float(out, *v),
        (SchemaType::Boolean, Value::Boolean(v)) => write_bool(out, *v),
        (SchemaType::String, Value::String(v)) => write_str(out, v),
        (SchemaType::Bytes, Value::Bytes(v)) => write_base64(out, v),
        (SchemaType::Array, Value::Array(items)) => {
            let item_schema = schema.value_schema.as_deref();
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_value(out, item_schema, item, decimal, replace_null_with_default)?;
            }
            out.push(b']');
        }
        (SchemaType::Map, Value::Map(entries)) => {
            let ks = schema.key_schema.as_deref();
            let vs = schema.value_schema.as_deref();
            if ks.is_some_and(|k| k.kind == SchemaType::String) {
                if has_repeated_string_key(entries) {
                    return write_tree(
                        out,
                        Some(schema),
                        value,
                        decimal,
                        replace_null_with_default,
                    );
                }
                out.push(b'{');
                for (i, (k, v)) in entries.iter().enumerate() {
                    let Value::String(key) = k else {
                        return Err(err(format!("map key {} is not a string", k.kind_name())));
                    };
                    if i > 0 {
                        out.push(b',');
                    }
                    write_str(out, key);
                    out.push(b':');
                    write_value(out, vs, v, decimal, replace_null_with_default)?;
                }
                out.push(b'}');
            } else {
                out.push(b'[');
                for (i, (k, v)) in entries.iter().enumerate() {
                    out.extend_from_slice(if i > 0 { b",[" } else { b"[" });
                    write_value(out, ks, k, decimal, replace_null_with_default)?;
                    out.push(b',');
                    write_value(out, vs, v, decimal, replace_null_with_default)?;
                    out.push(b']');
                }
                out.push(b']');
            }
        }
        (SchemaType::Struct, Value::Struct(s)) => {
            write_struct(out, schema, s, None, decimal, replace_null_with_default)?
        }
        _ => return Err(mismatch()),
    }
    Ok(())
}

/// What writing a struct of one schema needs per field, worked out once per schema (a
/// converter keeps it with the schema): the field's name as JSON text with its colon,
/// and the field's logical type. Writing a record then neither escapes field names nor
/// looks logical types up by name (a fifth of the JSON writer's instructions for a
/// five-column table row).
pub struct StructPlan {
    fields: Vec<(Vec<u8>, Option<Logical>)>,
}

impl StructPlan {
    /// `None` unless `schema` is a struct schema.
    pub fn new(schema: &Schema) -> Option<StructPlan> {
        if schema.kind != SchemaType::Struct {
            return None;
        }
        let fields = schema
            .fields
            .iter()
            .map(|f| {
                let mut name = Vec::with_capacity(f.name.len() + 3);
                write_str(&mut name, &f.name);
                name.push(b':');
                (name, f.schema.logical())
            })
            .collect();
        Some(StructPlan { fields })
    }
}

/// Writes `value` of struct `schema` as [`write_value`] does, with the `plan` made for
/// `schema`.
pub fn write_planned(
    out: &mut Vec<u8>,
    plan: &StructPlan,
    schema: &Schema,
    value: &Value,
    decimal: DecimalFormat,
    replace_null_with_default: bool,
) -> Result<(), ConvertError> {
    let Value::Struct(s) = value else {
        return write_value(out, Some(schema), value, decimal, replace_null_with_default);
    };
    write_struct(
        out,
        schema,
        s,
        Some(plan),
        decimal,
        replace_null_with_default,
    )
}

/// A struct of `schema`: its field names and logical types from `plan` when there is
/// one, else worked out field by field.
fn write_struct(
    out: &mut Vec<u8>,
    schema: &Schema,
    s: &Struct,
    plan: Option<&StructPlan>,
    decimal: DecimalFormat,
    replace_null_with_default: bool,
) -> Result<(), ConvertError> {
    if !std::ptr::eq(s.schema().as_ref(), schema) && s.schema().as_ref() != schema {
        return Err(err("Mismatching schema."));
    }
    out.push(b'{');
    for (i, (f, v)) in s.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        let logical = match plan.map(|p| &p.fields[i]) {
            Some((name, logical)) => {
                out.extend_from_slice(name);
                *logical
            }
            None => {
                write_str(out, &f.name);
                out.push(b':');
                f.schema.logical()
            }
        };
        write_with_logical(
            out,
            &f.schema,
            logical,
            v,
            decimal,
            replace_null_with_default,
        )
        .map_err(|e| err(format!("field {}: {}", f.name, e)))?;
    }
    out.push(b'}');
    Ok(())
}

fn write_logical(
    out: &mut Vec<u8>,
    l: Logical,
    value: &Value,
    decimal: DecimalFormat,
) -> Result<(), ConvertError> {
    match (l, value) {
        (Logical::Decimal { scale }, Value::Bytes(b)) => match decimal {
            DecimalFormat::Base64 => write_base64(out, b),
            DecimalFormat::Numeric => {
                let text = logical::decimal_bytes_to_string(b, scale);
                // As the tree path: the digits must read as JSON.
                let n: serde_json::Value = serde_json::from_str(&text)
                    .map_err(|e| err(format!("cannot write decimal {}: {}", text, e)))?;
                serde_json::to_writer(&mut *out, &n).expect("writing to a Vec");
            }
        },
        (Logical::Date, Value::Int32(v)) | (Logical::Time, Value::Int32(v)) => {
            write_int(out, *v as i64)
        }
        (Logical::Timestamp, Value::Int64(v)) => write_int(out, *v),
        (l, v) => return Err(err(format!("Invalid type for {:?}: {}", l, v.kind_name()))),
    }
    Ok(())
}

fn write_schemaless(out: &mut Vec<u8>, value: &Value) -> Result<(), ConvertError> {
    match value {
        Value::Null => out.extend_from_slice(b"null"),
        Value::Boolean(v) => write_bool(out, *v),
        Value::Int8(v) => write_int(out, *v as i64),
        Value::Int16(v) => write_int(out, *v as i64),
        Value::Int32(v) => write_int(out, *v as i64),
        Value::Int64(v) => write_int(out, *v),
        Value::Float32(v) => write_float(out, *v as f64),
        Value::Float64(v) => write_float(out, *v),
        Value::String(s) => write_str(out, s),
        Value::Bytes(b) => write_base64(out, b),
        Value::Array(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_schemaless(out, item)?;
            }
            out.push(b']');
        }
        Value::Map(entries) => {
            if entries.iter().all(|(k, _)| matches!(k, Value::String(_))) {
                if has_repeated_string_key(entries) {
                    return write_tree(out, None, value, DecimalFormat::Base64, true);
                }
                out.push(b'{');
                for (i, (k, v)) in entries.iter().enumerate() {
                    if i > 0 {
                        out.push(b',');
                    }
                    write_str(out, k.as_str().unwrap_or_default());
                    out.push(b':');
                    write_schemaless(out, v)?;
                }
                out.push(b'}');
            } else {
                out.push(b'[');
                for (i, (k, v)) in entries.iter().enumerate() {
                    out.extend_from_slice(if i > 0 { b",[" } else { b"[" });
                    write_schemaless(out, k)?;
                    out.push(b',');
                    write_schemaless(out, v)?;
                    out.push(b']');
                }
                out.push(b']');
            }
        }
        Value::Struct(s) => write_value(out, Some(s.schema()), value, DecimalFormat::Base64, true)?,
    }
    Ok(())
}

/// Whether two entries share a string key (a JSON object keeps only one of them).
fn has_repeated_string_key(entries: &[(Value, Value)]) -> bool {
    let keys = || entries.iter().filter_map(|(k, _)| k.as_str());
    if entries.len() <= 16 {
        return keys()
            .enumerate()
            .any(|(i, k)| keys().skip(i + 1).any(|other| other == k));
    }
    let mut seen = std::collections::HashSet::with_capacity(entries.len());
    !keys().all(|k| seen.insert(k))
}

/// Writes through a `serde_json::Value` tree (for what the tree writes differently).
fn write_tree(
    out: &mut Vec<u8>,
    schema: Option<&Schema>,
    value: &Value,
    decimal: DecimalFormat,
    replace_null_with_default: bool,
) -> Result<(), ConvertError> {
    let tree = value_to_json(schema, value, decimal, replace_null_with_default)?;
    serde_json::to_writer(&mut *out, &tree).expect("writing to a Vec");
    Ok(())
}

fn write_int(out: &mut Vec<u8>, v: i64) {
    serde_json::to_writer(&mut *out, &v).expect("writing to a Vec");
}

fn write_bool(out: &mut Vec<u8>, v: bool) {
    out.extend_from_slice(if v { b"true" } else { b"false" });
}

fn write_float(out: &mut Vec<u8>, v: f64) {
    match Number::from_f64(v) {
        Some(n) => serde_json::to_writer(&mut *out, &n).expect("writing to a Vec"),
        // Jackson writes non-finite numbers as strings; so does the tree path.
        None if v.is_nan() => out.extend_from_slice(b"\"NaN\""),
        None if v > 0.0 => out.extend_from_slice(b"\"Infinity\""),
        None => out.extend_from_slice(b"\"-Infinity\""),
    }
}

fn write_str(out: &mut Vec<u8>, s: &str) {
    serde_json::to_writer(&mut *out, s).expect("writing to a Vec");
}

fn write_base64(out: &mut Vec<u8>, b: &[u8]) {
    // Base64 text never needs escaping.
    out.push(b'"');
    let start = out.len();
    out.resize(start + b.len().div_ceil(3) * 4, 0);
    let written = BASE64
        .encode_slice(b, &mut out[start..])
        .expect("room for the base64 text");
    out.truncate(start + written);
    out.push(b'"');
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::{primitive, SchemaBuilder, SchemaRef, Struct};
    use bytes::Bytes;

    fn s(kind: SchemaType) -> SchemaRef {
        primitive(kind, false)
    }

    /// The streamed text and error equal the tree's, for every decimal format and
    /// `replace.null.with.default` setting.
    fn same_as_tree(schema: Option<&SchemaRef>, value: &Value) {
        for decimal in [DecimalFormat::Base64, DecimalFormat::Numeric] {
            for replace in [true, false] {
                let schema = schema.map(|s| s.as_ref());
                let tree = value_to_json(schema, value, decimal, replace)
                    .map(|j| serde_json::to_vec(&j).unwrap())
                    .map_err(|e| e.0);
                let mut out = Vec::new();
                let streamed = write_value(&mut out, schema, value, decimal, replace)
                    .map(|()| out)
                    .map_err(|e| e.0);
                assert_eq!(
                    streamed
                        .as_ref()
                        .map(|b| String::from_utf8_lossy(b).into_owned()),
                    tree.as_ref()
                        .map(|b| String::from_utf8_lossy(b).into_owned()),
                    "schema {:?}, value {:?}",
                    schema,
                    value
                );
                // A struct schema's planned path writes the same.
                if let Some(plan) = schema.and_then(StructPlan::new) {
                    let mut out = Vec::new();
                    let planned =
                        write_planned(&mut out, &plan, schema.unwrap(), value, decimal, replace)
                            .map(|()| out)
                            .map_err(|e| e.0);
                    assert_eq!(planned, streamed, "planned: {:?}, {:?}", schema, value);
                }
            }
        }
    }

    fn strings_map(entries: &[(&str, Value)]) -> Value {
        Value::Map(
            entries
                .iter()
                .map(|(k, v)| (Value::from(*k), v.clone()))
                .collect(),
        )
    }

    #[test]
    fn primitives_and_logical_types_match_the_tree() {
        let cases: Vec<(SchemaRef, Value)> = vec![
            (s(SchemaType::Int8), Value::Int8(-8)),
            (s(SchemaType::Int16), Value::Int16(300)),
            (s(SchemaType::Int32), Value::Int32(i32::MIN)),
            (s(SchemaType::Int64), Value::Int64(i64::MAX)),
            (s(SchemaType::Float32), Value::Float32(1.5)),
            (s(SchemaType::Float64), Value::Float64(0.1)),
            (s(SchemaType::Float64), Value::Float64(1e300)),
            (s(SchemaType::Float64), Value::Float64(f64::NAN)),
            (s(SchemaType::Float64), Value::Float64(f64::INFINITY)),
            (s(SchemaType::Float64), Value::Float64(f64::NEG_INFINITY)),
            (s(SchemaType::Boolean), Value::Boolean(false)),
            (
                s(SchemaType::String),
                Value::from("quote \" slash \\ tab \t é \u{1}"),
            ),
            (
                s(SchemaType::Bytes),
                Value::Bytes(Bytes::from_static(b"\x00\xffab")),
            ),
            (s(SchemaType::Bytes), Value::Bytes(Bytes::new())),
            (
                logical::decimal_builder(2).build(),
                Value::Bytes(Bytes::from(logical::decimal_to_bytes(-1_234_567))),
            ),
            (logical::date_builder().build(), Value::Int32(19_000)),
            (logical::time_builder().build(), Value::Int32(3_600_000)),
            (
                logical::timestamp_builder().build(),
                Value::Int64(1_700_000_000_123),
            ),
            // Mismatches and nulls: the same errors.
            (s(SchemaType::Int32), Value::from("seven")),
            (logical::timestamp_builder().build(), Value::from("x")),
            (s(SchemaType::String), Value::Null),
            (primitive(SchemaType::String, true), Value::Null),
            (
                SchemaBuilder::new(SchemaType::Int32)
                    .optional()
                    .default_value(Value::Int32(7))
                    .build(),
                Value::Null,
            ),
        ];
        for (schema, value) in &cases {
            same_as_tree(Some(schema), value);
        }
    }

    #[test]
    fn structs_arrays_and_maps_match_the_tree() {
        let inner = SchemaBuilder::struct_()
            .name("Inner")
            .field("a", s(SchemaType::Int32))
            .field("b", primitive(SchemaType::String, true))
            .build();
        let outer = SchemaBuilder::struct_()
            .field("id", s(SchemaType::Int64))
            .field("inner", inner.clone())
            .field("tags", SchemaBuilder::array(s(SchemaType::String)).build())
            .field(
                "attrs",
                SchemaBuilder::map(s(SchemaType::String), s(SchemaType::Int32)).build(),
            )
            .field(
                "by_id",
                SchemaBuilder::map(s(SchemaType::Int32), s(SchemaType::String)).build(),
            )
            .build();
        let inner_value = |b: Value| {
            Value::Struct(Struct::from_values(inner.clone(), vec![Value::Int32(1), b]).unwrap())
        };
        let outer_value = |inner: Value, attrs: Value| {
            Value::Struct(
                Struct::from_values(
                    outer.clone(),
                    vec![
                        Value::Int64(9),
                        inner,
                        Value::Array(vec![Value::from("x"), Value::from("y")]),
                        attrs,
                        Value::Map(vec![
                            (Value::Int32(1), Value::from("one")),
                            (Value::Int32(2), Value::from("two")),
                        ]),
                    ],
                )
                .unwrap(),
            )
        };
        let attrs = strings_map(&[("k", Value::Int32(1)), ("l", Value::Int32(2))]);
        let repeated = strings_map(&[("k", Value::Int32(1)), ("k", Value::Int32(2))]);
        let cases = [
            outer_value(inner_value(Value::from("b")), attrs.clone()),
            outer_value(inner_value(Value::Null), attrs.clone()),
            // A repeated key: the tree keeps one entry.
            outer_value(inner_value(Value::Null), repeated),
            // An error inside a nested field names the field path.
            outer_value(inner_value(Value::Int32(5)), attrs.clone()),
            outer_value(
                inner_value(Value::Null),
                Value::Map(vec![(Value::Int32(1), Value::Int32(1))]),
            ),
        ];
        for value in &cases {
            same_as_tree(Some(&outer), value);
            same_as_tree(None, value);
        }
        // A struct whose schema is not the one given.
        same_as_tree(Some(&inner), &cases[0]);
    }

    #[test]
    fn a_row_with_logical_types_and_odd_field_names_matches_the_tree_planned_or_not() {
        let row = SchemaBuilder::struct_()
            .name("public.items")
            .field("id", s(SchemaType::Int64))
            .field("na\"me \u{e9}\n", primitive(SchemaType::String, true))
            .field("price", logical::decimal_builder(2).build())
            .field("at", logical::timestamp_builder().optional().build())
            .build();
        let value = |name: Value, price: Value, at: Value| {
            Value::Struct(
                Struct::from_values(row.clone(), vec![Value::Int64(7), name, price, at]).unwrap(),
            )
        };
        let price = Value::Bytes(Bytes::from(logical::decimal_to_bytes(-1_234_567)));
        for v in [
            value(
                Value::from("item \"7\""),
                price.clone(),
                Value::Int64(1_704_067_201_000),
            ),
            value(Value::Null, price.clone(), Value::Null),
            // A required field left null: the error names the field.
            value(Value::Null, Value::Null, Value::Null),
            // A logical field of the wrong type.
            value(Value::Null, Value::Int32(1), Value::Null),
        ] {
            same_as_tree(Some(&row), &v);
        }
    }

    #[test]
    fn schemaless_values_match_the_tree() {
        let many: Vec<(Value, Value)> = (0..40)
            .map(|i| (Value::from(format!("k{}", i % 30)), Value::Int64(i)))
            .collect();
        let cases = [
            Value::Null,
            Value::Boolean(true),
            Value::Int8(1),
            Value::Int16(2),
            Value::Int32(3),
            Value::Int64(4),
            Value::Float32(f32::NAN),
            Value::Float64(2.5),
            Value::from("s"),
            Value::Bytes(Bytes::from_static(b"abc")),
            Value::Array(vec![Value::Null, Value::from("a"), Value::Array(vec![])]),
            strings_map(&[("a", Value::Int64(1)), ("b", strings_map(&[]))]),
            strings_map(&[("a", Value::Int64(1)), ("a", Value::Int64(2))]),
            Value::Map(many),
            Value::Map(vec![
                (Value::Int64(1), Value::from("a")),
                (Value::from("b"), Value::Null),
            ]),
        ];
        for value in &cases {
            same_as_tree(None, value);
        }
    }
}
