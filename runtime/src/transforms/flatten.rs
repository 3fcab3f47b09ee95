//! `Flatten$Key` / `Flatten$Value`: flattens nested structs (or maps) into one level,
//! joining field names with a delimiter.

use super::util::{require_struct_err, struct_builder_like, SchemaCache, Side};
use super::{Fate, Transform, TransformPlugin};
use crate::config::{ConfigDef, ConfigErrors, ConfigKey, ParsedConfig};
use crate::data::{Record, Schema, SchemaAndValue, SchemaBuilder, SchemaType, Struct, Value};

const DOC: &str = "Flatten a nested data structure, generating names for each field by concatenating the field names at each level with a configurable delimiter character. Applies to Struct when schema present, or a Map in the case of schemaless data. Array fields and their contents are not modified. The default delimiter is '.'. Use the concrete transformation type designed for the record key (org.apache.kafka.connect.transforms.Flatten$Key) or value (org.apache.kafka.connect.transforms.Flatten$Value).";

pub(super) const KEY: TransformPlugin = TransformPlugin {
    class: "org.apache.kafka.connect.transforms.Flatten$Key",
    aliases: &["Flatten$Key"],
    doc: DOC,
    config_def,
    create: |c| create(c, Side::Key),
};

pub(super) const VALUE: TransformPlugin = TransformPlugin {
    class: "org.apache.kafka.connect.transforms.Flatten$Value",
    aliases: &["Flatten$Value"],
    doc: DOC,
    config_def,
    create: |c| create(c, Side::Value),
};

pub(super) fn config_def() -> ConfigDef {
    ConfigDef::new().define(ConfigKey::string("delimiter").default(".").doc(
        "Delimiter to insert between field names from the input record when generating field names for the output record",
    ))
}

struct Flatten {
    side: Side,
    name: &'static str,
    delimiter: String,
    cache: SchemaCache,
}

fn create(c: &ParsedConfig, side: Side) -> Result<Box<dyn Transform>, ConfigErrors> {
    // Keep the raw delimiter: Connect does not trim it, and a space is a valid delimiter.
    let delimiter = c
        .raw()
        .get("delimiter")
        .cloned()
        .unwrap_or_else(|| c.str("delimiter"));
    Ok(Box::new(Flatten {
        side,
        name: match side {
            Side::Key => "Flatten$Key",
            Side::Value => "Flatten$Value",
        },
        delimiter,
        cache: SchemaCache::new(),
    }))
}

const PURPOSE: &str = "flattening";

fn join(prefix: &str, delimiter: &str, name: &str) -> String {
    if prefix.is_empty() {
        name.to_string()
    } else {
        format!("{}{}{}", prefix, delimiter, name)
    }
}

/// Adds the flattened fields of `schema` to `b`.
fn build_schema(
    schema: &Schema,
    prefix: &str,
    delimiter: &str,
    b: &mut SchemaBuilder,
    names: &mut std::collections::HashSet<String>,
    optional: bool,
    parent_default: Option<&Struct>,
) -> Result<(), String> {
    for f in &schema.fields {
        let name = join(prefix, delimiter, &f.name);
        let field_optional = optional || f.schema.optional;
        let default = f
            .schema
            .default
            .as_ref()
            .or_else(|| parent_default.and_then(|d| d.values().get(f.index)))
            .filter(|v| !v.is_null());
        if f.schema.kind == SchemaType::Struct {
            let d = match default {
                Some(Value::Struct(s)) => Some(s),
                _ => None,
            };
            build_schema(&f.schema, &name, delimiter, b, names, field_optional, d)?;
        } else {
            if !names.insert(name.clone()) {
                return Err(format!(
                    "cannot create field because of field name duplication {}",
                    name
                ));
            }
            let mut fs = SchemaBuilder::from_schema(&f.schema).set_optional(field_optional);
            if let Some(d) = default {
                fs = fs.default_value(d.clone());
            }
            *b = std::mem::replace(b, SchemaBuilder::struct_()).field(name, fs.build());
        }
    }
    Ok(())
}

/// Pushes the flattened values of `s` (nulls for every leaf of a null struct).
fn flatten_values(schema: &Schema, s: Option<Struct>, out: &mut Vec<Value>) {
    let values = s.map(|s| s.into_values());
    match values {
        Some(values) => {
            for (f, v) in schema.fields.iter().zip(values) {
                if f.schema.kind == SchemaType::Struct {
                    match v {
                        Value::Struct(inner) => flatten_values(&f.schema, Some(inner), out),
                        _ => flatten_values(&f.schema, None, out),
                    }
                } else {
                    out.push(super::util::with_default(f, v, true));
                }
            }
        }
        None => {
            for f in &schema.fields {
                if f.schema.kind == SchemaType::Struct {
                    flatten_values(&f.schema, None, out);
                } else {
                    out.push(Value::Null);
                }
            }
        }
    }
}

impl Flatten {
    fn flatten_map(
        &self,
        entries: Vec<(Value, Value)>,
        prefix: &str,
        out: &mut Vec<(Value, Value)>,
    ) -> Result<(), String> {
        for (k, v) in entries {
            let key = match k {
                Value::String(s) => s,
                other => {
                    return Err(format!(
                        "{}: map keys must be strings, found {} (under {:?})",
                        self.name,
                        other.kind_name(),
                        prefix
                    ))
                }
            };
            let name = if prefix.is_empty() {
                key
            } else {
                join(prefix, &self.delimiter, &key)
            };
            match v {
                Value::Map(inner) => self.flatten_map(inner, &name, out)?,
                Value::Struct(_) => {
                    return Err(format!(
                        "{}: Flatten transformation does not support struct for record without schemas (for field {}).",
                        self.name, name
                    ))
                }
                other => out.push((Value::String(name), other)),
            }
        }
        Ok(())
    }
}

impl Transform for Flatten {
    fn apply(&mut self, record: &mut Record) -> Result<Fate, String> {
        if self.side.get(record).is_null() {
            return Ok(Fate::Keep);
        }
        let SchemaAndValue { schema, value } = self.side.take(record);
        let out = match schema {
            None => match value {
                Value::Map(entries) => {
                    let mut out = Vec::with_capacity(entries.len());
                    self.flatten_map(entries, "", &mut out)?;
                    SchemaAndValue::schemaless(Value::Map(out))
                }
                other => {
                    return Err(format!(
                        "{}: only Map objects supported in absence of schema for [{}], found: {}",
                        self.name,
                        PURPOSE,
                        other.kind_name()
                    ))
                }
            },
            Some(schema) => {
                let Value::Struct(s) = value else {
                    return Err(require_struct_err(self.name, PURPOSE, &value));
                };
                let delimiter = &self.delimiter;
                let updated = self
                    .cache
                    .get_or_build(&schema, |schema| {
                        let mut b = struct_builder_like(schema);
                        let default = match &schema.default {
                            Some(Value::Struct(d)) => Some(d),
                            _ => None,
                        };
                        let mut names = std::collections::HashSet::new();
                        build_schema(
                            schema,
                            "",
                            delimiter,
                            &mut b,
                            &mut names,
                            schema.optional,
                            default,
                        )?;
                        Ok(b.build())
                    })
                    .map_err(|e| format!("{}: {}", self.name, e))?;
                let mut values = Vec::with_capacity(updated.fields.len());
                let input = s.schema().clone();
                flatten_values(&input, Some(s), &mut values);
                let st = Struct::from_values(updated.clone(), values)?;
                SchemaAndValue::with_schema(updated, Value::Struct(st))
            }
        };
        self.side.put(record, out);
        Ok(Fate::Keep)
    }
}

#[cfg(test)]
mod tests {
    use super::super::util::testing::*;
    use crate::data::{SchemaAndValue, SchemaBuilder, SchemaType::*, Value};
    use bytes::Bytes;

    #[test]
    fn nested_struct() {
        let support = SchemaBuilder::struct_()
            .field("int8", s(Int8))
            .field("int16", s(Int16))
            .field("int32", s(Int32))
            .field("int64", s(Int64))
            .field("float32", s(Float32))
            .field("float64", s(Float64))
            .field("boolean", s(Boolean))
            .field("string", s(String))
            .field("bytes", s(Bytes))
            .build();
        let inner = SchemaBuilder::struct_().field("B", support.clone()).build();
        let outer = SchemaBuilder::struct_().field("A", inner.clone()).build();
        let sv = st(
            &support,
            vec![
                Value::Int8(8),
                Value::Int16(16),
                Value::Int32(32),
                Value::Int64(64),
                Value::Float32(32.0),
                Value::Float64(64.0),
                Value::Boolean(true),
                Value::from("stringy"),
                Value::Bytes(Bytes::from_static(b"bytes")),
            ],
        );
        let v = st(
            &outer,
            vec![Value::Struct(st(&inner, vec![Value::Struct(sv)]))],
        );
        let mut t = transform("Flatten$Value", &[]);
        let out = apply(
            &mut t,
            value_record(SchemaAndValue::with_schema(outer, Value::Struct(v))),
        );
        let us = out.value.schema.clone().unwrap();
        assert_eq!(us.fields.len(), 9);
        let v = &out.value.value;
        assert_eq!(get(v, "A.B.int8"), &Value::Int8(8));
        assert_eq!(get(v, "A.B.int16"), &Value::Int16(16));
        assert_eq!(get(v, "A.B.int32"), &Value::Int32(32));
        assert_eq!(get(v, "A.B.int64"), &Value::Int64(64));
        assert_eq!(get(v, "A.B.float32"), &Value::Float32(32.0));
        assert_eq!(get(v, "A.B.float64"), &Value::Float64(64.0));
        assert_eq!(get(v, "A.B.boolean"), &Value::Boolean(true));
        assert_eq!(get(v, "A.B.string"), &Value::from("stringy"));
        assert_eq!(
            get(v, "A.B.bytes"),
            &Value::Bytes(Bytes::from_static(b"bytes"))
        );
        assert_eq!(us.field("A.B.int8").unwrap().schema, s(Int8));
    }

    #[test]
    fn nested_map_schemaless_with_delimiter() {
        let mut t = transform("Flatten$Value", &[("delimiter", "#")]);
        let v = smap(vec![(
            "A",
            smap(vec![(
                "B",
                smap(vec![
                    ("int64", Value::Int64(64)),
                    ("string", Value::from("stringy")),
                    ("array", Value::Array(vec![Value::Int64(1)])),
                    ("nul", Value::Null),
                ]),
            )]),
        )]);
        let out = apply(&mut t, value_record(SchemaAndValue::schemaless(v)));
        assert_eq!(
            out.value.value,
            smap(vec![
                ("A#B#int64", Value::Int64(64)),
                ("A#B#string", Value::from("stringy")),
                ("A#B#array", Value::Array(vec![Value::Int64(1)])),
                ("A#B#nul", Value::Null),
            ])
        );
    }

    #[test]
    fn optional_nested_fields_become_optional() {
        let inner = SchemaBuilder::struct_()
            .optional()
            .field("req", s(String))
            .field("opt", os(String))
            .build();
        let outer = SchemaBuilder::struct_()
            .field("top", s(Int32))
            .field("inner", inner.clone())
            .build();
        let mut t = transform("Flatten$Value", &[]);
        let v = st(&outer, vec![Value::Int32(1), Value::Null]);
        let out = apply(
            &mut t,
            value_record(SchemaAndValue::with_schema(outer.clone(), Value::Struct(v))),
        );
        let us = out.value.schema.clone().unwrap();
        assert!(!us.field("top").unwrap().schema.optional);
        assert!(us.field("inner.req").unwrap().schema.optional);
        assert!(us.field("inner.opt").unwrap().schema.optional);
        assert_eq!(get(&out.value.value, "top"), &Value::Int32(1));
        assert_eq!(get(&out.value.value, "inner.req"), &Value::Null);
        assert_eq!(get(&out.value.value, "inner.opt"), &Value::Null);

        // A present inner struct with the same schema reuses the cached flat schema.
        let iv = st(&inner, vec![Value::from("r"), Value::Null]);
        let v = st(&outer, vec![Value::Int32(2), Value::Struct(iv)]);
        let out2 = apply(
            &mut t,
            value_record(SchemaAndValue::with_schema(outer, Value::Struct(v))),
        );
        assert!(std::sync::Arc::ptr_eq(
            out2.value.schema.as_ref().unwrap(),
            &us
        ));
        assert_eq!(get(&out2.value.value, "inner.req"), &Value::from("r"));
    }

    #[test]
    fn defaults_from_parent_struct() {
        let inner = SchemaBuilder::struct_().field("x", s(Int32)).build();
        let default = st(&inner, vec![Value::Int32(7)]);
        let inner_with_default = SchemaBuilder::from_schema(&inner)
            .optional()
            .default_value(Value::Struct(default))
            .build();
        let outer = SchemaBuilder::struct_()
            .field("a", inner_with_default)
            .build();
        let mut t = transform("Flatten$Value", &[]);
        let out = apply(
            &mut t,
            value_record(SchemaAndValue::with_schema(
                outer.clone(),
                Value::Struct(st(&outer, vec![Value::Null])),
            )),
        );
        let f = out
            .value
            .schema
            .as_ref()
            .unwrap()
            .field("a.x")
            .unwrap()
            .schema
            .clone();
        assert!(f.optional);
        assert_eq!(f.default, Some(Value::Int32(7)));
    }

    #[test]
    fn arrays_and_maps_with_schema_kept_whole() {
        let schema = SchemaBuilder::struct_()
            .field("arr", SchemaBuilder::array(s(Int32)).build())
            .field("m", SchemaBuilder::map(s(String), s(Int32)).build())
            .build();
        let mut t = transform("Flatten$Value", &[]);
        let arr = Value::Array(vec![Value::Int32(1)]);
        let m = Value::Map(vec![(Value::from("k"), Value::Int32(2))]);
        let out = apply(
            &mut t,
            value_record(SchemaAndValue::with_schema(
                schema.clone(),
                Value::Struct(st(&schema, vec![arr.clone(), m.clone()])),
            )),
        );
        assert_eq!(get(&out.value.value, "arr"), &arr);
        assert_eq!(get(&out.value.value, "m"), &m);
    }

    #[test]
    fn tombstones_and_wrong_types() {
        let mut t = transform("Flatten$Value", &[]);
        let r = value_record(SchemaAndValue::NULL);
        assert_eq!(apply(&mut t, r.clone()), r);
        let e = try_apply(
            &mut t,
            value_record(SchemaAndValue::schemaless(Value::Int64(1))),
        )
        .unwrap_err();
        assert!(e.contains("Flatten$Value") && e.contains("int64"), "{}", e);
        let mut t = transform("Flatten$Key", &[]);
        let r = value_record(SchemaAndValue::NULL).with_key(SchemaAndValue::schemaless(smap(
            vec![("a", smap(vec![("b", Value::Int64(1))]))],
        )));
        assert_eq!(
            apply(&mut t, r).key.value,
            smap(vec![("a.b", Value::Int64(1))])
        );
    }
}
