//! `MaskField$Key` / `MaskField$Value`: replaces field values with the type's empty value
//! (0, false, "", empty array/map) or with a configured replacement.

use bytes::Bytes;

use super::util::{non_empty_list, require_map, require_struct_err, with_default, NameSet, Side};
use super::{Fate, Transform, TransformPlugin};
use crate::config::{ConfigDef, ConfigErrors, ConfigKey, Importance, ParsedConfig, Validator};
use crate::data::logical::{self, Logical};
use crate::data::{Record, Schema, Struct, Value};

const DOC: &str = "Mask specified fields with a valid null value for the field type (i.e. 0, false, empty string, and so on). For numeric and string fields, an optional replacement value can be specified that is converted to the correct type. Use the concrete transformation type designed for the record key (org.apache.kafka.connect.transforms.MaskField$Key) or value (org.apache.kafka.connect.transforms.MaskField$Value).";

pub(super) const KEY: TransformPlugin = TransformPlugin {
    class: "org.apache.kafka.connect.transforms.MaskField$Key",
    aliases: &["MaskField$Key"],
    doc: DOC,
    config_def,
    create: |c| create(c, Side::Key),
};

pub(super) const VALUE: TransformPlugin = TransformPlugin {
    class: "org.apache.kafka.connect.transforms.MaskField$Value",
    aliases: &["MaskField$Value"],
    doc: DOC,
    config_def,
    create: |c| create(c, Side::Value),
};

pub(super) fn config_def() -> ConfigDef {
    ConfigDef::new()
        .define(
            ConfigKey::list("fields")
                .validator(Validator::Custom(non_empty_list))
                .importance(Importance::High)
                .doc("Names of fields to mask."),
        )
        .define(
            ConfigKey::string("replacement")
                .optional()
                .validator(Validator::NonEmpty)
                .importance(Importance::Low)
                .doc("Custom value replacement, that will be applied to all 'fields' values (numeric or non-empty string values only)."),
        )
        .define(super::util::replace_null_with_default_key())
}

struct MaskField {
    side: Side,
    name: &'static str,
    fields: NameSet,
    replacement: Option<String>,
    /// `replace.null.with.default`: a null struct field with a default reads as the
    /// default (then masked if listed), as Connect's `Struct.get(Field)`.
    replace_null_with_default: bool,
}

fn create(c: &ParsedConfig, side: Side) -> Result<Box<dyn Transform>, ConfigErrors> {
    Ok(Box::new(MaskField {
        side,
        name: match side {
            Side::Key => "MaskField$Key",
            Side::Value => "MaskField$Value",
        },
        fields: NameSet::new(c.list("fields")),
        replacement: c.string("replacement"),
        replace_null_with_default: c.boolean("replace.null.with.default"),
    }))
}

const PURPOSE: &str = "mask fields";

impl MaskField {
    /// The masked form of `value`; `schema` (when known) tells logical types apart.
    fn masked(&self, field: &str, value: &Value, schema: Option<&Schema>) -> Result<Value, String> {
        if value.is_null() {
            return Ok(Value::Null);
        }
        let decimal_scale = match schema.and_then(|s| s.logical()) {
            Some(Logical::Decimal { scale }) => Some(scale),
            _ => None,
        };
        let Some(r) = &self.replacement else {
            return Ok(match value {
                Value::Boolean(_) => Value::Boolean(false),
                Value::Int8(_) => Value::Int8(0),
                Value::Int16(_) => Value::Int16(0),
                Value::Int32(_) => Value::Int32(0),
                Value::Int64(_) => Value::Int64(0),
                Value::Float32(_) => Value::Float32(0.0),
                Value::Float64(_) => Value::Float64(0.0),
                Value::String(_) => Value::String(String::new()),
                Value::Bytes(_) if decimal_scale.is_some() => {
                    Value::Bytes(Bytes::from(logical::decimal_to_bytes(0)))
                }
                Value::Bytes(_) => Value::Bytes(Bytes::new()),
                Value::Array(_) => Value::Array(Vec::new()),
                Value::Map(_) => Value::Map(Vec::new()),
                Value::Struct(_) | Value::Null => {
                    return Err(format!(
                        "{}: cannot mask field {}: values of type {} cannot be masked",
                        self.name,
                        field,
                        value.kind_name()
                    ))
                }
            });
        };
        let num_err = || {
            format!(
                "{}: cannot mask field {}: unable to convert replacement {} to {}",
                self.name,
                field,
                r,
                value.kind_name()
            )
        };
        let t = r.trim();
        Ok(match value {
            Value::Int8(_) => Value::Int8(t.parse().map_err(|_| num_err())?),
            Value::Int16(_) => Value::Int16(t.parse().map_err(|_| num_err())?),
            Value::Int32(_) => Value::Int32(t.parse().map_err(|_| num_err())?),
            Value::Int64(_) => Value::Int64(t.parse().map_err(|_| num_err())?),
            Value::Float32(_) => Value::Float32(t.parse().map_err(|_| num_err())?),
            Value::Float64(_) => Value::Float64(t.parse().map_err(|_| num_err())?),
            Value::String(_) => Value::String(r.clone()),
            Value::Bytes(_) if decimal_scale.is_some() => {
                let u =
                    logical::decimal_from_str(t, decimal_scale.unwrap_or(0)).ok_or_else(num_err)?;
                Value::Bytes(Bytes::from(logical::decimal_to_bytes(u)))
            }
            _ => {
                return Err(format!(
                    "{}: cannot mask field {} of type {} with a custom replacement",
                    self.name,
                    field,
                    value.kind_name()
                ))
            }
        })
    }
}

impl Transform for MaskField {
    fn apply(&mut self, record: &mut Record) -> Result<Fate, String> {
        if self.side.get(record).is_null() {
            return Ok(Fate::Keep);
        }
        let data = self.side.get_mut(record);
        match &data.schema {
            None => {
                let entries = require_map(self.name, PURPOSE, &mut data.value)?;
                for (k, v) in entries.iter_mut() {
                    if let Value::String(name) = k {
                        if self.fields.contains(name.as_str()) {
                            *v = self.masked(name, v, None)?;
                        }
                    }
                }
            }
            Some(_) => {
                let Value::Struct(s) = &data.value else {
                    return Err(require_struct_err(self.name, PURPOSE, &data.value));
                };
                // Connect rebuilds the struct field by field, reading each through
                // Struct.get (defaults for nulls) unless replace.null.with.default=false.
                let defaults = self.replace_null_with_default
                    && s.iter()
                        .any(|(f, v)| v.is_null() && f.schema.default.is_some());
                if defaults
                    || s.schema()
                        .fields
                        .iter()
                        .any(|f| self.fields.contains(&f.name))
                {
                    let Value::Struct(s) = std::mem::replace(&mut data.value, Value::Null) else {
                        unreachable!()
                    };
                    let schema = s.schema().clone();
                    let mut values = s.into_values();
                    for (f, v) in schema.fields.iter().zip(values.iter_mut()) {
                        if self.replace_null_with_default && v.is_null() {
                            *v = with_default(f, Value::Null, true);
                        }
                        if self.fields.contains(&f.name) {
                            *v = self.masked(&f.name, v, Some(&f.schema))?;
                        }
                    }
                    data.value = Value::Struct(Struct::from_values(schema, values)?);
                }
            }
        }
        Ok(Fate::Keep)
    }
}

#[cfg(test)]
mod tests {
    use super::super::util::testing::*;
    use crate::data::logical;
    use crate::data::{SchemaAndValue, SchemaBuilder, SchemaRef, SchemaType::*, Value};
    use bytes::Bytes;

    fn schema() -> SchemaRef {
        SchemaBuilder::struct_()
            .field("magic", s(Int32))
            .field("bool", s(Boolean))
            .field("byte", s(Int8))
            .field("short", s(Int16))
            .field("int", s(Int32))
            .field("long", s(Int64))
            .field("float", s(Float32))
            .field("double", s(Float64))
            .field("string", s(String))
            .field("date", logical::date_builder().build())
            .field("decimal", logical::decimal_builder(0).build())
            .field("array", SchemaBuilder::array(s(Int32)).build())
            .field("map", SchemaBuilder::map(s(String), s(String)).build())
            .field(
                "withDefault",
                SchemaBuilder::new(String)
                    .optional()
                    .default_value(Value::from("default"))
                    .build(),
            )
            .build()
    }

    fn values() -> Vec<Value> {
        vec![
            Value::Int32(42),
            Value::Boolean(true),
            Value::Int8(42),
            Value::Int16(42),
            Value::Int32(42),
            Value::Int64(42),
            Value::Float32(42.0),
            Value::Float64(42.0),
            Value::from("55.121.20.20"),
            Value::Int32(20_000),
            Value::Bytes(Bytes::from(logical::decimal_to_bytes(42))),
            Value::Array(vec![Value::Int32(1), Value::Int32(2)]),
            Value::Map(vec![(Value::from("k"), Value::from("v"))]),
            Value::Null,
        ]
    }

    const ALL: &str =
        "bool,byte,short,int,long,float,double,string,date,decimal,array,map,withDefault";

    #[test]
    fn with_schema_masks_to_empty_values() {
        let sc = schema();
        let mut t = transform("MaskField$Value", &[("fields", ALL)]);
        let out = apply(
            &mut t,
            value_record(SchemaAndValue::with_schema(
                sc.clone(),
                Value::Struct(st(&sc, values())),
            )),
        );
        let v = &out.value.value;
        assert_eq!(out.value.schema.as_ref().unwrap(), &sc);
        assert_eq!(get(v, "magic"), &Value::Int32(42));
        assert_eq!(get(v, "bool"), &Value::Boolean(false));
        assert_eq!(get(v, "byte"), &Value::Int8(0));
        assert_eq!(get(v, "short"), &Value::Int16(0));
        assert_eq!(get(v, "int"), &Value::Int32(0));
        assert_eq!(get(v, "long"), &Value::Int64(0));
        assert_eq!(get(v, "float"), &Value::Float32(0.0));
        assert_eq!(get(v, "double"), &Value::Float64(0.0));
        assert_eq!(get(v, "string"), &Value::from(""));
        assert_eq!(get(v, "date"), &Value::Int32(0));
        assert_eq!(get(v, "decimal"), &Value::Bytes(Bytes::from(vec![0u8])));
        assert_eq!(get(v, "array"), &Value::Array(vec![]));
        assert_eq!(get(v, "map"), &Value::Map(vec![]));
        // Struct.get(Field) reads the null as its default, which is then masked
        assert_eq!(get(v, "withDefault"), &Value::from(""));
    }

    #[test]
    fn replace_null_with_default_reads_nulls_as_defaults_unless_false() {
        let sc = schema();
        let rec = || {
            value_record(SchemaAndValue::with_schema(
                sc.clone(),
                Value::Struct(st(&sc, values())),
            ))
        };
        // not masked: the default is copied (true, the default) or the null kept
        let mut t = transform("MaskField$Value", &[("fields", "int")]);
        let out = apply(&mut t, rec());
        assert_eq!(
            get(&out.value.value, "withDefault"),
            &Value::from("default")
        );
        assert_eq!(get(&out.value.value, "int"), &Value::Int32(0));
        for fields in ["int", ALL] {
            let mut t = transform(
                "MaskField$Value",
                &[("fields", fields), ("replace.null.with.default", "false")],
            );
            let out = apply(&mut t, rec());
            assert_eq!(
                get(&out.value.value, "withDefault"),
                &Value::Null,
                "{}",
                fields
            );
        }
    }

    #[test]
    fn schemaless_masks_to_empty_values() {
        let mut t = transform("MaskField$Value", &[("fields", "int,string,array,map,nul")]);
        let out = apply(
            &mut t,
            value_record(SchemaAndValue::schemaless(smap(vec![
                ("magic", Value::Int64(42)),
                ("int", Value::Int64(42)),
                ("string", Value::from("x")),
                ("array", Value::Array(vec![Value::Int64(1)])),
                ("map", smap(vec![("a", Value::Int64(1))])),
                ("nul", Value::Null),
            ]))),
        );
        let v = &out.value.value;
        assert_eq!(get(v, "magic"), &Value::Int64(42));
        assert_eq!(get(v, "int"), &Value::Int64(0));
        assert_eq!(get(v, "string"), &Value::from(""));
        assert_eq!(get(v, "array"), &Value::Array(vec![]));
        assert_eq!(get(v, "map"), &Value::Map(vec![]));
        assert_eq!(get(v, "nul"), &Value::Null);
    }

    #[test]
    fn custom_replacements() {
        let sc = schema();
        let mut t = transform(
            "MaskField$Value",
            &[
                ("fields", "byte,short,int,long,float,double,string,decimal"),
                ("replacement", "123"),
            ],
        );
        let out = apply(
            &mut t,
            value_record(SchemaAndValue::with_schema(
                sc.clone(),
                Value::Struct(st(&sc, values())),
            )),
        );
        let v = &out.value.value;
        assert_eq!(get(v, "byte"), &Value::Int8(123));
        assert_eq!(get(v, "short"), &Value::Int16(123));
        assert_eq!(get(v, "int"), &Value::Int32(123));
        assert_eq!(get(v, "long"), &Value::Int64(123));
        assert_eq!(get(v, "float"), &Value::Float32(123.0));
        assert_eq!(get(v, "double"), &Value::Float64(123.0));
        assert_eq!(get(v, "string"), &Value::from("123"));
        assert_eq!(
            get(v, "decimal"),
            &Value::Bytes(Bytes::from(logical::decimal_to_bytes(123)))
        );

        let mut t = transform(
            "MaskField$Value",
            &[("fields", "string"), ("replacement", "****")],
        );
        let out = apply(
            &mut t,
            value_record(SchemaAndValue::schemaless(smap(vec![(
                "string",
                Value::from("secret"),
            )]))),
        );
        assert_eq!(get(&out.value.value, "string"), &Value::from("****"));
    }

    #[test]
    fn bad_replacements_fail_per_record() {
        let mut t = transform(
            "MaskField$Value",
            &[("fields", "int"), ("replacement", "foo")],
        );
        let e = try_apply(
            &mut t,
            value_record(SchemaAndValue::schemaless(smap(vec![(
                "int",
                Value::Int64(1),
            )]))),
        )
        .unwrap_err();
        assert!(
            e.contains("MaskField$Value") && e.contains("int") && e.contains("foo"),
            "{}",
            e
        );
        let mut t = transform("MaskField$Value", &[("fields", "b"), ("replacement", "x")]);
        let e = try_apply(
            &mut t,
            value_record(SchemaAndValue::schemaless(smap(vec![(
                "b",
                Value::Boolean(true),
            )]))),
        )
        .unwrap_err();
        assert!(e.contains("custom replacement"), "{}", e);
        // The replacement must not be empty; fields must not be empty.
        assert!(try_transform("MaskField$Value", &[("fields", "a"), ("replacement", "")]).is_err());
        let e = try_transform("MaskField$Value", &[("fields", "")])
            .err()
            .unwrap();
        assert_eq!(e.0[0].key, "fields");
    }

    #[test]
    fn tombstones_pass_through() {
        let mut t = transform("MaskField$Value", &[("fields", "a")]);
        let r = value_record(SchemaAndValue::NULL);
        assert_eq!(apply(&mut t, r.clone()), r);
    }
}
