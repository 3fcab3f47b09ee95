//! `Cast$Key` / `Cast$Value`: casts fields, or the whole key or value, to another
//! primitive type.

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;
use std::sync::Arc;

use super::util::{
    config_error, copy_basics, java_double_to_string, java_float_to_string,
    replace_null_with_default_key, require_map, require_struct_err, with_default, SchemaCache,
    Side,
};
use super::{Fate, Transform, TransformPlugin};
use crate::config::{
    ConfigDef, ConfigErrors, ConfigKey, Importance, ParsedConfig, TypedValue, Validator,
};
use crate::data::logical::{self, Logical};
use crate::data::{
    Record, Schema, SchemaAndValue, SchemaBuilder, SchemaRef, SchemaType, Struct, Value,
};

const DOC: &str = "Cast fields or the entire key or value to a specific type, e.g. to force an integer field to a smaller width. Cast from integers, floats, boolean and string to any other type, and cast binary to string (base64 encoded). Use the concrete transformation type designed for the record key (org.apache.kafka.connect.transforms.Cast$Key) or value (org.apache.kafka.connect.transforms.Cast$Value).";

pub(super) const KEY: TransformPlugin = TransformPlugin {
    class: "org.apache.kafka.connect.transforms.Cast$Key",
    aliases: &["Cast$Key"],
    doc: DOC,
    config_def,
    create: |c| create(c, Side::Key),
};

pub(super) const VALUE: TransformPlugin = TransformPlugin {
    class: "org.apache.kafka.connect.transforms.Cast$Value",
    aliases: &["Cast$Value"],
    doc: DOC,
    config_def,
    create: |c| create(c, Side::Value),
};

const SUPPORTED: &str = "int8, int16, int32, int64, float32, float64, boolean, string";

pub(super) fn config_def() -> ConfigDef {
    ConfigDef::new()
        .define(
            ConfigKey::list("spec")
                .validator(Validator::Custom(check_spec))
                .importance(Importance::High)
                .doc("List of fields and the type to cast them to of the form field1:type,field2:type to cast fields of Maps or Structs. A single type to cast the entire value. Valid types are int8, int16, int32, int64, float32, float64, boolean, and string. Note that binary fields can only be cast to string."),
        )
        .define(replace_null_with_default_key())
}

fn check_spec(v: &TypedValue) -> Result<(), String> {
    if let TypedValue::List(items) = v {
        parse_spec(items)?;
    }
    Ok(())
}

/// The target of a cast.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Target {
    Int8,
    Int16,
    Int32,
    Int64,
    Float32,
    Float64,
    Boolean,
    String,
}

impl Target {
    fn parse(t: &str) -> Result<Target, String> {
        Ok(match t.trim().to_ascii_lowercase().as_str() {
            "int8" => Target::Int8,
            "int16" => Target::Int16,
            "int32" => Target::Int32,
            "int64" => Target::Int64,
            "float32" => Target::Float32,
            "float64" => Target::Float64,
            "boolean" => Target::Boolean,
            "string" => Target::String,
            "bytes" | "array" | "map" | "struct" => {
                return Err(format!(
                    "Cast transformation does not support casting to {}; supported types are {}",
                    t.trim(),
                    SUPPORTED
                ))
            }
            _ => {
                return Err(format!(
                    "Invalid type found in casting spec: {} (supported types are {})",
                    t.trim(),
                    SUPPORTED
                ))
            }
        })
    }
    fn kind(self) -> SchemaType {
        match self {
            Target::Int8 => SchemaType::Int8,
            Target::Int16 => SchemaType::Int16,
            Target::Int32 => SchemaType::Int32,
            Target::Int64 => SchemaType::Int64,
            Target::Float32 => SchemaType::Float32,
            Target::Float64 => SchemaType::Float64,
            Target::Boolean => SchemaType::Boolean,
            Target::String => SchemaType::String,
        }
    }
    fn name(self) -> &'static str {
        match self {
            Target::Float32 => "float32",
            Target::Float64 => "float64",
            other => other.kind().name(),
        }
    }
}

/// What the spec asks: one type for the whole value, or per-field types.
#[derive(Debug, Clone)]
enum Spec {
    Whole(Target),
    Fields(Vec<(String, Target)>),
}

fn parse_spec(items: &[String]) -> Result<Spec, String> {
    if items.is_empty() {
        return Err("Must specify at least one field to cast.".into());
    }
    let mut fields = Vec::new();
    let mut whole = None;
    for m in items {
        let parts: Vec<&str> = m.split(':').collect();
        match parts.as_slice() {
            [t] => whole = Some(Target::parse(t)?),
            [f, t] if !f.trim().is_empty() => {
                fields.push((f.trim().to_string(), Target::parse(t)?))
            }
            _ => {
                return Err(format!(
                    "Invalid cast mapping: {} (expected field:type or a single type)",
                    m
                ))
            }
        }
    }
    match whole {
        Some(_) if items.len() > 1 => Err("Cast transformations that specify a type to cast the entire value to may only specify a single cast in their spec".into()),
        Some(t) => Ok(Spec::Whole(t)),
        None => Ok(Spec::Fields(fields)),
    }
}

struct Cast {
    side: Side,
    name: &'static str,
    spec: Spec,
    replace_null_with_default: bool,
    /// Per input schema: the output schema and each field's cast (if any).
    cache: SchemaCache<Plan>,
}

fn create(c: &ParsedConfig, side: Side) -> Result<Box<dyn Transform>, ConfigErrors> {
    let spec = parse_spec(&c.list("spec")).map_err(|e| config_error("spec", e))?;
    Ok(Box::new(Cast {
        side,
        name: match side {
            Side::Key => "Cast$Key",
            Side::Value => "Cast$Value",
        },
        spec,
        replace_null_with_default: c.boolean("replace.null.with.default"),
        cache: SchemaCache::new(),
    }))
}

const PURPOSE: &str = "cast types";
const MS_PER_DAY: i64 = 86_400_000;

/// Connect's `Values.dateFormatFor`: time-only below one day, date-only on whole days,
/// a full ISO-8601 timestamp otherwise.
fn date_string(ms: i64) -> String {
    let full = logical::format_timestamp_ms(ms);
    if ms < MS_PER_DAY {
        full[11..].to_string()
    } else if ms % MS_PER_DAY == 0 {
        full[..10].to_string()
    } else {
        full
    }
}

/// Checks that values of this schema can be cast at all.
fn check_input(kind: SchemaType) -> Result<(), String> {
    if kind.is_primitive() {
        Ok(())
    } else {
        Err(format!(
            "Cast transformation does not support casting from {}; supported types are {}, bytes",
            kind, SUPPORTED
        ))
    }
}

/// Casts one value. `schema` is the value's schema when known (for logical types).
fn cast_value(value: Value, schema: Option<&Schema>, target: Target) -> Result<Value, String> {
    if value.is_null() {
        return Ok(Value::Null);
    }
    if let Some(t) = value.inferred_type() {
        check_input(t)?;
    }
    let logical = schema.and_then(|s| s.logical());
    let bad = |v: &Value| {
        format!(
            "cannot cast {} value {} to {}",
            v.kind_name(),
            short(v),
            target.name()
        )
    };
    // A number in one of its physical forms.
    enum N {
        I(i64),
        F(f64),
        Dec(i128, i32),
    }
    let decimal = |b: &[u8], scale| {
        logical::decimal_from_bytes(b)
            .map(|u| N::Dec(u, scale))
            .ok_or_else(|| "decimal value does not fit in 128 bits".to_string())
    };
    if target == Target::String {
        return Ok(Value::String(match (&value, logical) {
            (Value::Int32(d), Some(Logical::Date)) => date_string(*d as i64 * MS_PER_DAY),
            (Value::Int32(ms), Some(Logical::Time)) => date_string(*ms as i64),
            (Value::Int64(ms), Some(Logical::Timestamp)) => date_string(*ms),
            (Value::Bytes(b), Some(Logical::Decimal { scale })) => match decimal(b, scale)? {
                N::Dec(u, s) => logical::decimal_to_string(u, s),
                _ => unreachable!(),
            },
            (Value::Bytes(b), _) => BASE64.encode(b),
            (Value::Boolean(b), _) => b.to_string(),
            (Value::Float32(f), _) => java_float_to_string(*f),
            (Value::Float64(f), _) => java_double_to_string(*f),
            (Value::String(s), _) => return Ok(Value::String(s.clone())),
            (v, _) => match v.as_i64() {
                Some(i) => i.to_string(),
                None => return Err(bad(v)),
            },
        }));
    }
    let n = match &value {
        Value::Int8(_) | Value::Int16(_) | Value::Int32(_) | Value::Int64(_) => {
            N::I(value.as_i64().unwrap_or(0))
        }
        Value::Float32(f) => N::F(*f as f64),
        Value::Float64(f) => N::F(*f),
        Value::Boolean(b) => N::I(*b as i64),
        Value::Bytes(b) => match logical {
            Some(Logical::Decimal { scale }) => decimal(b, scale)?,
            _ => {
                return Err(format!(
                    "cannot cast bytes to {}: binary values can only be cast to string",
                    target.name()
                ))
            }
        },
        Value::String(s) => {
            let t = s.trim();
            return Ok(match target {
                Target::Int8 => Value::Int8(s.parse().map_err(|_| bad(&value))?),
                Target::Int16 => Value::Int16(s.parse().map_err(|_| bad(&value))?),
                Target::Int32 => Value::Int32(s.parse().map_err(|_| bad(&value))?),
                Target::Int64 => Value::Int64(s.parse().map_err(|_| bad(&value))?),
                Target::Float32 => Value::Float32(t.parse().map_err(|_| bad(&value))?),
                Target::Float64 => Value::Float64(t.parse().map_err(|_| bad(&value))?),
                Target::Boolean => Value::Boolean(s.eq_ignore_ascii_case("true")),
                Target::String => unreachable!(),
            });
        }
        other => return Err(bad(other)),
    };
    // Java's narrowing: floats go through int (saturating) for int8/int16, integers wrap.
    let int_part = |u: i128, scale: i32| -> i128 {
        if scale <= 0 {
            u.saturating_mul(10i128.saturating_pow((-scale) as u32))
        } else {
            u / 10i128.saturating_pow(scale as u32)
        }
    };
    let as_f64 = |u: i128, scale: i32| (u as f64) / 10f64.powi(scale);
    Ok(match (target, n) {
        (Target::Int8, N::I(i)) => Value::Int8(i as i8),
        (Target::Int8, N::F(f)) => Value::Int8(f as i32 as i8),
        (Target::Int8, N::Dec(u, s)) => Value::Int8(int_part(u, s) as i32 as i8),
        (Target::Int16, N::I(i)) => Value::Int16(i as i16),
        (Target::Int16, N::F(f)) => Value::Int16(f as i32 as i16),
        (Target::Int16, N::Dec(u, s)) => Value::Int16(int_part(u, s) as i32 as i16),
        (Target::Int32, N::I(i)) => Value::Int32(i as i32),
        (Target::Int32, N::F(f)) => Value::Int32(f as i32),
        (Target::Int32, N::Dec(u, s)) => Value::Int32(int_part(u, s) as i32),
        (Target::Int64, N::I(i)) => Value::Int64(i),
        (Target::Int64, N::F(f)) => Value::Int64(f as i64),
        (Target::Int64, N::Dec(u, s)) => Value::Int64(int_part(u, s) as i64),
        (Target::Float32, N::I(i)) => Value::Float32(i as f32),
        (Target::Float32, N::F(f)) => Value::Float32(f as f32),
        (Target::Float32, N::Dec(u, s)) => Value::Float32(as_f64(u, s) as f32),
        (Target::Float64, N::I(i)) => Value::Float64(i as f64),
        (Target::Float64, N::F(f)) => Value::Float64(f),
        (Target::Float64, N::Dec(u, s)) => Value::Float64(as_f64(u, s)),
        (Target::Boolean, N::I(i)) => Value::Boolean(i != 0),
        (Target::Boolean, N::F(f)) => Value::Boolean(f as i64 != 0),
        (Target::Boolean, N::Dec(u, s)) => Value::Boolean(int_part(u, s) as i64 != 0),
        (Target::String, _) => unreachable!(),
    })
}

fn short(v: &Value) -> String {
    match v {
        Value::String(s) if s.chars().count() > 40 => {
            format!("\"{}...\"", s.chars().take(40).collect::<String>())
        }
        Value::String(s) => format!("\"{}\"", s),
        Value::Bytes(b) => format!("<{} bytes>", b.len()),
        other => format!("{:?}", other),
    }
}

/// The schema of a cast value: the target type, with the source's optionality and its
/// default cast too.
fn cast_schema(source: &Schema, target: Target, copy_names: bool) -> Result<SchemaRef, String> {
    let mut b = SchemaBuilder::new(target.kind());
    if copy_names && source.logical().is_none() {
        b = copy_basics(source, b);
    }
    b = b.set_optional(source.optional);
    if let Some(d) = &source.default {
        b = b.default_value(cast_value(d.clone(), Some(source), target)?);
    }
    Ok(b.build())
}

/// The output schema and each input field's cast (empty for whole-value casts).
type Plan = (SchemaRef, Arc<[Option<Target>]>);

/// Each field's cast, in field order.
fn plan(casts: &[(String, Target)], schema: &Schema) -> Vec<Option<Target>> {
    schema
        .fields
        .iter()
        .map(|f| casts.iter().find(|(n, _)| *n == f.name).map(|(_, t)| *t))
        .collect()
}

impl Cast {
    fn build_schema(spec: &Spec, schema: &Schema) -> Result<Plan, String> {
        match spec {
            Spec::Whole(t) => {
                check_input(schema.kind)?;
                Ok((cast_schema(schema, *t, true)?, Arc::from(Vec::new())))
            }
            Spec::Fields(casts) => {
                if schema.kind != SchemaType::Struct {
                    return Err(format!(
                        "only Struct objects supported for [{}], found: {}",
                        PURPOSE,
                        schema.describe()
                    ));
                }
                let plan = plan(casts, schema);
                let mut b =
                    copy_basics(schema, SchemaBuilder::struct_()).set_optional(schema.optional);
                for (f, cast) in schema.fields.iter().zip(&plan) {
                    match cast {
                        Some(t) => {
                            check_input(f.schema.kind)
                                .map_err(|e| format!("field {}: {}", f.name, e))?;
                            b = b.field(
                                f.name.clone(),
                                cast_schema(&f.schema, *t, false)
                                    .map_err(|e| format!("field {}: {}", f.name, e))?,
                            );
                        }
                        None => b = b.field(f.name.clone(), f.schema.clone()),
                    }
                }
                let interim = b.clone().build();
                if let Some(Value::Struct(d)) = &schema.default {
                    let casted = cast_struct(&plan, d.clone(), &interim, false)?;
                    b = b.default_value(Value::Struct(casted));
                }
                Ok((b.build(), Arc::from(plan)))
            }
        }
    }
}

fn cast_struct(
    plan: &[Option<Target>],
    s: Struct,
    updated: &SchemaRef,
    replace_null_with_default: bool,
) -> Result<Struct, String> {
    let schema = s.schema().clone();
    let mut values = Vec::with_capacity(schema.fields.len());
    for ((f, v), cast) in schema.fields.iter().zip(s.into_values()).zip(plan) {
        let v = with_default(f, v, replace_null_with_default);
        match cast {
            Some(t) => values.push(
                cast_value(v, Some(&f.schema), *t)
                    .map_err(|e| format!("field {}: {}", f.name, e))?,
            ),
            None => values.push(v),
        }
    }
    Struct::from_values(updated.clone(), values)
}

impl Transform for Cast {
    fn apply(&mut self, record: &mut Record) -> Result<Fate, String> {
        if self.side.get(record).is_null() {
            return Ok(Fate::Keep);
        }
        let name = self.name;
        let SchemaAndValue { schema, mut value } = self.side.take(record);
        let out = match (schema, &self.spec) {
            (None, Spec::Whole(t)) => SchemaAndValue::schemaless(
                cast_value(value, None, *t).map_err(|e| format!("{}: {}", name, e))?,
            ),
            (None, Spec::Fields(casts)) => {
                let entries = require_map(name, PURPOSE, &mut value)?;
                for (k, v) in entries.iter_mut() {
                    if let Some((_, t)) = casts.iter().find(|(n, _)| k.as_str() == Some(n)) {
                        *v = cast_value(std::mem::replace(v, Value::Null), None, *t).map_err(
                            |e| format!("{}: field {}: {}", name, k.as_str().unwrap_or(""), e),
                        )?;
                    }
                }
                SchemaAndValue::schemaless(value)
            }
            (Some(schema), spec) => {
                let (updated, plan) = self
                    .cache
                    .get_or_build(&schema, |s| Self::build_schema(spec, s))
                    .map_err(|e| format!("{}: {}", name, e))?;
                let v = match spec {
                    Spec::Whole(t) => cast_value(value, Some(&schema), *t),
                    Spec::Fields(_) => match value {
                        Value::Struct(s) => {
                            cast_struct(&plan, s, &updated, self.replace_null_with_default)
                                .map(Value::Struct)
                        }
                        other => return Err(require_struct_err(name, PURPOSE, &other)),
                    },
                }
                .map_err(|e| format!("{}: {}", name, e))?;
                SchemaAndValue::with_schema(updated, v)
            }
        };
        self.side.put(record, out);
        Ok(Fate::Keep)
    }
}

#[cfg(test)]
mod tests {
    use super::super::util::testing::*;
    use crate::data::logical;
    use crate::data::{SchemaAndValue, SchemaBuilder, SchemaType, SchemaType::*, Value};
    use bytes::Bytes;

    fn whole(target: &str, v: SchemaAndValue) -> SchemaAndValue {
        let mut t = transform("Cast$Value", &[("spec", target)]);
        apply(&mut t, value_record(v)).value
    }

    #[test]
    fn config_errors() {
        for (spec, msg) in [
            ("", "at least one field"),
            (
                "foo:faketype",
                "Invalid type found in casting spec: faketype",
            ),
            ("foo:int8:extra", "Invalid cast mapping"),
            ("int8,int32", "only specify a single cast"),
            ("foo:array", "does not support casting to array"),
            ("bytes", "does not support casting to bytes"),
        ] {
            let e = try_transform("Cast$Value", &[("spec", spec)])
                .err()
                .unwrap_or_else(|| panic!("{}", spec));
            assert_eq!(e.0[0].key, "spec");
            assert!(e.0[0].message.contains(msg), "{}: {}", spec, e.0[0].message);
        }
    }

    #[test]
    fn whole_value_with_schema() {
        let out = whole(
            "int8",
            SchemaAndValue::with_schema(s(Int32), Value::Int32(42)),
        );
        assert_eq!(out.schema.as_ref().unwrap().kind, Int8);
        assert_eq!(out.value, Value::Int8(42));
        let cases: Vec<(&str, SchemaType, Value, Value)> = vec![
            ("int16", Int32, Value::Int32(42), Value::Int16(42)),
            ("int32", Int32, Value::Int32(42), Value::Int32(42)),
            ("int64", Int32, Value::Int32(42), Value::Int64(42)),
            ("float32", Int32, Value::Int32(42), Value::Float32(42.0)),
            ("float64", Int32, Value::Int32(42), Value::Float64(42.0)),
            ("boolean", Int32, Value::Int32(42), Value::Boolean(true)),
            ("boolean", Int32, Value::Int32(0), Value::Boolean(false)),
            ("string", Int32, Value::Int32(42), Value::from("42")),
            ("string", Float64, Value::Float64(42.5), Value::from("42.5")),
            ("string", Float32, Value::Float32(42.0), Value::from("42.0")),
            ("string", Boolean, Value::Boolean(true), Value::from("true")),
            ("int32", String, Value::from("42"), Value::Int32(42)),
            ("float64", String, Value::from("42.5"), Value::Float64(42.5)),
            ("boolean", String, Value::from("TRUE"), Value::Boolean(true)),
            ("boolean", String, Value::from("yes"), Value::Boolean(false)),
            ("int8", Int32, Value::Int32(300), Value::Int8(44)),
            ("int32", Float64, Value::Float64(42.9), Value::Int32(42)),
            ("int64", Boolean, Value::Boolean(true), Value::Int64(1)),
            (
                "string",
                Bytes,
                Value::Bytes(Bytes::from_static(b"hi")),
                Value::from("aGk="),
            ),
        ];
        for (target, kind, input, expected) in cases {
            let out = whole(target, SchemaAndValue::with_schema(s(kind), input.clone()));
            assert_eq!(out.value, expected, "{} -> {}", input.kind_name(), target);
            assert_eq!(out.schema.unwrap().kind, expected.inferred_type().unwrap());
        }
    }

    #[test]
    fn whole_value_schemaless() {
        let out = whole("int32", SchemaAndValue::schemaless(Value::Int64(42)));
        assert_eq!(out, SchemaAndValue::schemaless(Value::Int32(42)));
        let out = whole("string", SchemaAndValue::schemaless(Value::Int64(42)));
        assert_eq!(out.value, Value::from("42"));
    }

    #[test]
    fn failures_name_the_problem() {
        let mut t = transform("Cast$Value", &[("spec", "int32")]);
        let e = try_apply(
            &mut t,
            value_record(SchemaAndValue::schemaless(Value::from("not a number"))),
        )
        .unwrap_err();
        assert!(
            e.contains("Cast$Value") && e.contains("not a number") && e.contains("int32"),
            "{}",
            e
        );
        let e = try_apply(
            &mut t,
            value_record(SchemaAndValue::schemaless(Value::Bytes(
                Bytes::from_static(b"x"),
            ))),
        )
        .unwrap_err();
        assert!(
            e.contains("binary values can only be cast to string"),
            "{}",
            e
        );
        let e = try_apply(
            &mut t,
            value_record(SchemaAndValue::schemaless(smap(vec![]))),
        )
        .unwrap_err();
        assert!(e.contains("does not support casting from map"), "{}", e);
        let mut t = transform("Cast$Value", &[("spec", "a:int32")]);
        let e = try_apply(
            &mut t,
            value_record(SchemaAndValue::schemaless(smap(vec![(
                "a",
                Value::from("x"),
            )]))),
        )
        .unwrap_err();
        assert!(e.contains("field a"), "{}", e);
    }

    #[test]
    fn fields_with_schema() {
        let schema = SchemaBuilder::struct_()
            .field("int8", s(Int8))
            .field("int16", os(Int16))
            .field(
                "int32",
                SchemaBuilder::new(Int32)
                    .default_value(Value::Int32(2))
                    .build(),
            )
            .field("int64", s(Int64))
            .field("float32", s(Float32))
            .field("float64", s(Float64))
            .field("boolean", s(Boolean))
            .field("string", s(String))
            .field("bigdecimal", logical::decimal_builder(2).build())
            .field("date", logical::date_builder().build())
            .field("optional", os(Float32))
            .field("timestamp", logical::timestamp_builder().build())
            .build();
        let values = vec![
            Value::Int8(8),
            Value::Int16(16),
            Value::Int32(32),
            Value::Int64(64),
            Value::Float32(32.5),
            Value::Float64(64.5),
            Value::Boolean(true),
            Value::from("42"),
            Value::Bytes(Bytes::from(logical::decimal_to_bytes(4250))),
            Value::Int32(19_000),
            Value::Null,
            Value::Int64(1_700_000_000_123),
        ];
        let mut t = transform(
            "Cast$Value",
            &[(
                "spec",
                "int8:int16,int16:int32,int32:int64,int64:boolean,float32:float64,float64:boolean,boolean:int8,string:int32,bigdecimal:string,date:string,optional:int32,timestamp:int64",
            )],
        );
        let out = apply(
            &mut t,
            value_record(SchemaAndValue::with_schema(
                schema.clone(),
                Value::Struct(st(&schema, values)),
            )),
        );
        let us = out.value.schema.clone().unwrap();
        let v = &out.value.value;
        let kind = |n: &str| us.field(n).unwrap().schema.kind;
        assert_eq!(kind("int8"), Int16);
        assert_eq!(kind("int16"), Int32);
        assert!(us.field("int16").unwrap().schema.optional);
        assert_eq!(kind("int32"), Int64);
        assert_eq!(
            us.field("int32").unwrap().schema.default,
            Some(Value::Int64(2))
        );
        assert_eq!(kind("int64"), Boolean);
        assert_eq!(kind("float32"), Float64);
        assert_eq!(kind("float64"), Boolean);
        assert_eq!(kind("boolean"), Int8);
        assert_eq!(kind("string"), Int32);
        assert_eq!(kind("bigdecimal"), String);
        assert_eq!(kind("date"), String);
        assert_eq!(kind("optional"), Int32);
        assert_eq!(kind("timestamp"), Int64);
        assert!(us.field("timestamp").unwrap().schema.name.is_none());
        assert_eq!(get(v, "int8"), &Value::Int16(8));
        assert_eq!(get(v, "int16"), &Value::Int32(16));
        assert_eq!(get(v, "int32"), &Value::Int64(32));
        assert_eq!(get(v, "int64"), &Value::Boolean(true));
        assert_eq!(get(v, "float32"), &Value::Float64(32.5));
        assert_eq!(get(v, "float64"), &Value::Boolean(true));
        assert_eq!(get(v, "boolean"), &Value::Int8(1));
        assert_eq!(get(v, "string"), &Value::Int32(42));
        assert_eq!(get(v, "bigdecimal"), &Value::from("42.50"));
        assert_eq!(get(v, "date"), &Value::from("2022-01-08"));
        assert_eq!(get(v, "optional"), &Value::Null);
        assert_eq!(get(v, "timestamp"), &Value::Int64(1_700_000_000_123));
        if let Value::Struct(s) = v {
            s.validate().unwrap();
        }
    }

    #[test]
    fn decimal_to_numbers_and_timestamps_to_string() {
        let dec = logical::decimal_builder(2).build();
        let d = || {
            SchemaAndValue::with_schema(
                dec.clone(),
                Value::Bytes(Bytes::from(logical::decimal_to_bytes(-12345))),
            )
        };
        assert_eq!(whole("int32", d()).value, Value::Int32(-123));
        assert_eq!(whole("float64", d()).value, Value::Float64(-123.45));
        assert_eq!(whole("string", d()).value, Value::from("-123.45"));
        let ts = logical::timestamp_builder().build();
        let out = whole(
            "string",
            SchemaAndValue::with_schema(ts, Value::Int64(1_700_000_000_123)),
        );
        assert_eq!(out.value, Value::from("2023-11-14T22:13:20.123Z"));
        assert_eq!(out.schema.unwrap().name, None);
        let time = logical::time_builder().build();
        let out = whole(
            "string",
            SchemaAndValue::with_schema(time, Value::Int32(3_600_000)),
        );
        assert_eq!(out.value, Value::from("01:00:00.000Z"));
    }

    #[test]
    fn fields_schemaless() {
        let mut t = transform(
            "Cast$Value",
            &[("spec", "a:int8,b:string,c:float32,missing:int8")],
        );
        let out = apply(
            &mut t,
            value_record(SchemaAndValue::schemaless(smap(vec![
                ("a", Value::Int64(8)),
                ("b", Value::Boolean(false)),
                ("c", Value::from("1.5")),
                ("d", Value::Int64(4)),
            ]))),
        );
        let v = &out.value.value;
        assert_eq!(get(v, "a"), &Value::Int8(8));
        assert_eq!(get(v, "b"), &Value::from("false"));
        assert_eq!(get(v, "c"), &Value::Float32(1.5));
        assert_eq!(get(v, "d"), &Value::Int64(4));
        assert!(v.map_get("missing").is_none());
    }

    #[test]
    fn nulls_pass_through() {
        let mut t = transform("Cast$Value", &[("spec", "a:int8")]);
        let r = value_record(SchemaAndValue::NULL);
        assert_eq!(apply(&mut t, r.clone()), r);
        let schema = SchemaBuilder::struct_()
            .optional()
            .field("a", s(Int32))
            .build();
        let r = value_record(SchemaAndValue::with_schema(schema, Value::Null));
        assert_eq!(apply(&mut t, r.clone()), r);
    }

    #[test]
    fn key_variant() {
        let mut t = transform("Cast$Key", &[("spec", "string")]);
        let r = value_record(SchemaAndValue::schemaless(Value::Int64(1)))
            .with_key(SchemaAndValue::with_schema(s(Int64), Value::Int64(7)));
        let out = apply(&mut t, r);
        assert_eq!(
            out.key,
            SchemaAndValue::with_schema(s(String), Value::from("7"))
        );
        assert_eq!(out.value.value, Value::Int64(1));
    }
}
