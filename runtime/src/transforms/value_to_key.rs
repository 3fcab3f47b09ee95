//! `ValueToKey`: replaces the key with a struct or map made of some value fields.

use super::util::{
    map_get, non_empty_list, replace_null_with_default_key, require_struct_err, with_default,
    SchemaCache,
};
use super::{Fate, Transform, TransformPlugin};
use crate::config::{ConfigDef, ConfigErrors, ConfigKey, Importance, ParsedConfig, Validator};
use crate::data::{Record, SchemaAndValue, SchemaBuilder, Struct, Value};

pub(super) const PLUGIN: TransformPlugin = TransformPlugin {
    class: "org.apache.kafka.connect.transforms.ValueToKey",
    aliases: &[],
    doc:
        "Replace the record key with a new key formed from a subset of fields in the record value.",
    config_def,
    create,
};

pub(super) fn config_def() -> ConfigDef {
    ConfigDef::new()
        .define(
            ConfigKey::list("fields")
                .validator(Validator::Custom(non_empty_list))
                .importance(Importance::High)
                .doc("Field names on the record value to extract as the record key."),
        )
        .define(replace_null_with_default_key())
}

struct ValueToKey {
    fields: Vec<String>,
    replace_null_with_default: bool,
    cache: SchemaCache,
}

fn create(c: &ParsedConfig) -> Result<Box<dyn Transform>, ConfigErrors> {
    Ok(Box::new(ValueToKey {
        fields: c.list("fields"),
        replace_null_with_default: c.boolean("replace.null.with.default"),
        cache: SchemaCache::new(),
    }))
}

const NAME: &str = "ValueToKey";
const PURPOSE: &str = "copying fields from value to key";

impl Transform for ValueToKey {
    fn apply(&mut self, record: &mut Record) -> Result<Fate, String> {
        let key = match (&record.value.schema, &record.value.value) {
            (None, Value::Map(entries)) => SchemaAndValue::schemaless(Value::Map(
                self.fields
                    .iter()
                    .map(|f| {
                        (
                            Value::String(f.clone()),
                            map_get(entries, f).cloned().unwrap_or(Value::Null),
                        )
                    })
                    .collect(),
            )),
            (None, other) => {
                return Err(format!(
                    "{}: only Map objects supported in absence of schema for [{}], found: {}",
                    NAME,
                    PURPOSE,
                    other.kind_name()
                ))
            }
            (Some(_), Value::Struct(s)) => {
                let key_schema = self.cache.get_or_build(s.schema(), |schema| {
                    let mut b = SchemaBuilder::struct_();
                    for name in &self.fields {
                        let f = schema
                            .field(name)
                            .ok_or_else(|| format!("{}: field does not exist: {}", NAME, name))?;
                        b = b.field(name.clone(), f.schema.clone());
                    }
                    Ok(b.build())
                })?;
                let mut values = Vec::with_capacity(self.fields.len());
                let schema = s.schema();
                for name in &self.fields {
                    let f = schema
                        .field(name)
                        .ok_or_else(|| format!("{}: field does not exist: {}", NAME, name))?;
                    values.push(with_default(
                        f,
                        s.values()[f.index].clone(),
                        self.replace_null_with_default,
                    ));
                }
                let key = Struct::from_values(key_schema.clone(), values)?;
                SchemaAndValue::with_schema(key_schema, Value::Struct(key))
            }
            (Some(_), other) => return Err(require_struct_err(NAME, PURPOSE, other)),
        };
        record.key = key;
        Ok(Fate::Keep)
    }
}

#[cfg(test)]
mod tests {
    use super::super::util::testing::*;
    use crate::data::{SchemaAndValue, SchemaBuilder, SchemaType::*, Value};

    #[test]
    fn schemaless() {
        let mut t = transform("ValueToKey", &[("fields", "a,b")]);
        let r = value_record(SchemaAndValue::schemaless(smap(vec![
            ("a", Value::Int64(1)),
            ("b", Value::Int64(2)),
            ("c", Value::Int64(3)),
        ])));
        let out = apply(&mut t, r);
        assert!(out.key.schema.is_none());
        assert_eq!(
            out.key.value,
            smap(vec![("a", Value::Int64(1)), ("b", Value::Int64(2))])
        );
        assert_eq!(get(&out.value.value, "c"), &Value::Int64(3));
    }

    #[test]
    fn with_schema() {
        let schema = SchemaBuilder::struct_()
            .field("a", s(Int32))
            .field("b", s(Int32))
            .field("c", s(Int32))
            .build();
        let mut t = transform("ValueToKey", &[("fields", "a,b")]);
        let r = value_record(SchemaAndValue::with_schema(
            schema.clone(),
            Value::Struct(st(
                &schema,
                vec![Value::Int32(1), Value::Int32(2), Value::Int32(3)],
            )),
        ));
        let out = apply(&mut t, r);
        let ks = out.key.schema.clone().unwrap();
        assert_eq!(ks.fields.len(), 2);
        assert_eq!(ks.field("a").unwrap().schema, s(Int32));
        assert_eq!(ks.field("b").unwrap().schema, s(Int32));
        assert_eq!(get(&out.key.value, "a"), &Value::Int32(1));
        assert_eq!(get(&out.key.value, "b"), &Value::Int32(2));
        assert_eq!(out.value.schema.as_ref().unwrap(), &schema);
    }

    #[test]
    fn non_existing_field_fails() {
        let schema = SchemaBuilder::struct_().field("a", s(Int32)).build();
        let mut t = transform("ValueToKey", &[("fields", "not_exist")]);
        let e = try_apply(
            &mut t,
            value_record(SchemaAndValue::with_schema(
                schema.clone(),
                Value::Struct(st(&schema, vec![Value::Int32(1)])),
            )),
        )
        .unwrap_err();
        assert!(e.contains("field does not exist: not_exist"), "{}", e);
    }

    #[test]
    fn null_value_fails_like_connect() {
        let mut t = transform("ValueToKey", &[("fields", "a")]);
        let e = try_apply(&mut t, value_record(SchemaAndValue::NULL)).unwrap_err();
        assert!(e.contains("ValueToKey") && e.contains("null"), "{}", e);
    }
}
