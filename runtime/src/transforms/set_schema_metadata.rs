//! `SetSchemaMetadata$Key` / `SetSchemaMetadata$Value`: sets the schema name and/or
//! version of the key or value.

use super::util::{config_error, with_default, SchemaCache, Side};
use super::{Fate, Transform, TransformPlugin};
use crate::config::{ConfigDef, ConfigErrors, ConfigKey, Importance, ParsedConfig};
use crate::data::{Record, SchemaAndValue, SchemaBuilder, Struct, Value};

const DOC: &str = "Set the schema name, version or both on the record's key (org.apache.kafka.connect.transforms.SetSchemaMetadata$Key) or value (org.apache.kafka.connect.transforms.SetSchemaMetadata$Value) schema.";

pub(super) const KEY: TransformPlugin = TransformPlugin {
    class: "org.apache.kafka.connect.transforms.SetSchemaMetadata$Key",
    aliases: &["SetSchemaMetadata$Key"],
    doc: DOC,
    config_def,
    create: |c| create(c, Side::Key),
};

pub(super) const VALUE: TransformPlugin = TransformPlugin {
    class: "org.apache.kafka.connect.transforms.SetSchemaMetadata$Value",
    aliases: &["SetSchemaMetadata$Value"],
    doc: DOC,
    config_def,
    create: |c| create(c, Side::Value),
};

pub(super) fn config_def() -> ConfigDef {
    ConfigDef::new()
        .define(
            ConfigKey::string("schema.name")
                .optional()
                .importance(Importance::High)
                .doc("Schema name to set."),
        )
        .define(
            ConfigKey::int("schema.version")
                .optional()
                .importance(Importance::High)
                .doc("Schema version to set."),
        )
        .define(super::util::replace_null_with_default_key())
}

struct SetSchemaMetadata {
    side: Side,
    name: &'static str,
    schema_name: Option<String>,
    schema_version: Option<i32>,
    /// `replace.null.with.default`: a null struct field with a default is copied as
    /// the default (Connect's `Struct.get(Field)`), else as null.
    replace_null_with_default: bool,
    cache: SchemaCache,
}

fn create(c: &ParsedConfig, side: Side) -> Result<Box<dyn Transform>, ConfigErrors> {
    let schema_name = c.string("schema.name").filter(|s| !s.is_empty());
    let schema_version = c.opt_int("schema.version");
    if schema_name.is_none() && schema_version.is_none() {
        return Err(config_error(
            "schema.name",
            "Neither schema name nor version configured: set schema.name, schema.version or both",
        ));
    }
    Ok(Box::new(SetSchemaMetadata {
        side,
        name: match side {
            Side::Key => "SetSchemaMetadata$Key",
            Side::Value => "SetSchemaMetadata$Value",
        },
        schema_name,
        schema_version,
        replace_null_with_default: c.boolean("replace.null.with.default"),
        cache: SchemaCache::new(),
    }))
}

impl Transform for SetSchemaMetadata {
    fn apply(&mut self, record: &mut Record) -> Result<Fate, String> {
        let SchemaAndValue { schema, value } = self.side.take(record);
        let Some(schema) = schema else {
            if value.is_null() {
                // A schemaless null (tombstone) has no schema to update.
                return Ok(Fate::Keep);
            }
            return Err(format!(
                "{}: schema required for [updating schema metadata], but the {} has none",
                self.name,
                self.side.name()
            ));
        };
        let (name, version) = (&self.schema_name, self.schema_version);
        let updated = self.cache.get_or_build(&schema, |s| {
            let mut b = SchemaBuilder::from_schema(s);
            if let Some(n) = name {
                b = b.name(n.clone());
            }
            if let Some(v) = version {
                b = b.version(v);
            }
            Ok(b.build())
        })?;
        let value = match value {
            Value::Struct(s) => {
                let mut values = s.into_values();
                if self.replace_null_with_default {
                    for (f, v) in updated.fields.iter().zip(values.iter_mut()) {
                        if v.is_null() {
                            *v = with_default(f, Value::Null, true);
                        }
                    }
                }
                Value::Struct(Struct::from_values(updated.clone(), values)?)
            }
            other => other,
        };
        self.side
            .put(record, SchemaAndValue::with_schema(updated, value));
        Ok(Fate::Keep)
    }
}

#[cfg(test)]
mod tests {
    use super::super::util::testing::*;
    use crate::data::{SchemaAndValue, SchemaBuilder, SchemaType::*, Value};

    #[test]
    fn name_and_version() {
        let mut t = transform(
            "SetSchemaMetadata$Value",
            &[("schema.name", "foo"), ("schema.version", "42")],
        );
        let out = apply(
            &mut t,
            value_record(SchemaAndValue::with_schema(s(Int32), Value::Int32(1))),
        );
        let sc = out.value.schema.unwrap();
        assert_eq!(sc.name.as_deref(), Some("foo"));
        assert_eq!(sc.version, Some(42));
        assert_eq!(sc.kind, Int32);
        assert_eq!(out.value.value, Value::Int32(1));
    }

    #[test]
    fn struct_value_gets_new_schema() {
        let schema = SchemaBuilder::struct_()
            .name("old")
            .version(1)
            .field("a", s(Int32))
            .build();
        let mut t = transform("SetSchemaMetadata$Key", &[("schema.name", "new")]);
        let r = value_record(SchemaAndValue::NULL).with_key(SchemaAndValue::with_schema(
            schema.clone(),
            Value::Struct(st(&schema, vec![Value::Int32(5)])),
        ));
        let out = apply(&mut t, r);
        let ks = out.key.schema.clone().unwrap();
        assert_eq!(ks.name.as_deref(), Some("new"));
        assert_eq!(ks.version, Some(1));
        match &out.key.value {
            Value::Struct(st) => {
                assert_eq!(st.schema(), &ks);
                assert_eq!(st.get("a"), Some(&Value::Int32(5)));
            }
            _ => panic!(),
        }
    }

    #[test]
    fn replace_null_with_default_copies_defaults_unless_false() {
        let schema = SchemaBuilder::struct_()
            .name("old")
            .field(
                "d",
                SchemaBuilder::new(Int32)
                    .optional()
                    .default_value(Value::Int32(7))
                    .build(),
            )
            .build();
        let rec = || {
            value_record(SchemaAndValue::with_schema(
                schema.clone(),
                Value::Struct(st(&schema, vec![Value::Null])),
            ))
        };
        for (setting, want) in [(None, Value::Int32(7)), (Some("false"), Value::Null)] {
            let mut cfg = vec![("schema.name", "new")];
            if let Some(v) = setting {
                cfg.push(("replace.null.with.default", v));
            }
            let mut t = transform("SetSchemaMetadata$Value", &cfg);
            let out = apply(&mut t, rec());
            let Value::Struct(s) = &out.value.value else {
                panic!("a struct")
            };
            assert_eq!(s.schema().name.as_deref(), Some("new"));
            assert_eq!(s.get("d"), Some(&want), "{:?}", setting);
        }
    }

    #[test]
    fn nulls_and_schemaless() {
        let mut t = transform("SetSchemaMetadata$Value", &[("schema.version", "3")]);
        // A null with a schema keeps the null under the updated schema.
        let out = apply(
            &mut t,
            value_record(SchemaAndValue::with_schema(os(String), Value::Null)),
        );
        assert_eq!(out.value.schema.as_ref().unwrap().version, Some(3));
        assert_eq!(out.value.value, Value::Null);
        // A schemaless tombstone passes; a schemaless value fails.
        let r = value_record(SchemaAndValue::NULL);
        assert_eq!(apply(&mut t, r.clone()), r);
        let e = try_apply(
            &mut t,
            value_record(SchemaAndValue::schemaless(Value::from("x"))),
        )
        .unwrap_err();
        assert!(
            e.contains("SetSchemaMetadata$Value") && e.contains("schema required"),
            "{}",
            e
        );
    }

    #[test]
    fn needs_name_or_version() {
        let e = try_transform("SetSchemaMetadata$Value", &[]).err().unwrap();
        assert_eq!(e.0[0].key, "schema.name");
        let e = try_transform("SetSchemaMetadata$Value", &[("schema.version", "x")])
            .err()
            .unwrap();
        assert_eq!(e.0[0].key, "schema.version");
    }
}
