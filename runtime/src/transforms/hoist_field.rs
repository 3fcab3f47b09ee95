//! `HoistField$Key` / `HoistField$Value`: wraps the key or value in a one-field struct
//! (with a schema) or map (schemaless).

use super::util::{SchemaCache, Side};
use super::{Fate, Transform, TransformPlugin};
use crate::config::{ConfigDef, ConfigErrors, ConfigKey, ParsedConfig};
use crate::data::{Record, SchemaAndValue, SchemaBuilder, Struct, Value};

const DOC: &str = "Wrap data using the specified field name in a Struct when schema present, or a Map in the case of schemaless data. Use the concrete transformation type designed for the record key (org.apache.kafka.connect.transforms.HoistField$Key) or value (org.apache.kafka.connect.transforms.HoistField$Value).";

pub(super) const KEY: TransformPlugin = TransformPlugin {
    class: "org.apache.kafka.connect.transforms.HoistField$Key",
    aliases: &["HoistField$Key"],
    doc: DOC,
    config_def,
    create: |c| create(c, Side::Key),
};

pub(super) const VALUE: TransformPlugin = TransformPlugin {
    class: "org.apache.kafka.connect.transforms.HoistField$Value",
    aliases: &["HoistField$Value"],
    doc: DOC,
    config_def,
    create: |c| create(c, Side::Value),
};

pub(super) fn config_def() -> ConfigDef {
    ConfigDef::new().define(ConfigKey::string("field").doc(
        "Field name for the single field that will be created in the resulting Struct or Map.",
    ))
}

struct HoistField {
    side: Side,
    field: String,
    cache: SchemaCache,
}

fn create(c: &ParsedConfig, side: Side) -> Result<Box<dyn Transform>, ConfigErrors> {
    Ok(Box::new(HoistField {
        side,
        field: c.str("field"),
        cache: SchemaCache::new(),
    }))
}

impl Transform for HoistField {
    fn apply(&mut self, record: &mut Record) -> Result<Fate, String> {
        let SchemaAndValue { schema, value } = self.side.take(record);
        let out = match schema {
            None => SchemaAndValue::schemaless(Value::Map(vec![(
                Value::String(self.field.clone()),
                value,
            )])),
            Some(schema) => {
                let updated = self.cache.get_or_build(&schema, |_| {
                    Ok(SchemaBuilder::struct_()
                        .field(self.field.clone(), schema.clone())
                        .build())
                })?;
                if value.is_null() && !schema.optional && schema.default.is_none() {
                    return Err(format!(
                        "HoistField: cannot wrap a null {} in field {}: its schema is not optional",
                        self.side.name(),
                        self.field
                    ));
                }
                let st = Struct::from_values(updated.clone(), vec![value])?;
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
    use crate::data::{SchemaAndValue, SchemaType::*, Value};

    #[test]
    fn schemaless() {
        let mut t = transform("HoistField$Key", &[("field", "magic")]);
        let r = value_record(SchemaAndValue::NULL)
            .with_key(SchemaAndValue::schemaless(Value::Int64(42)));
        let out = apply(&mut t, r);
        assert!(out.key.schema.is_none());
        assert_eq!(out.key.value, smap(vec![("magic", Value::Int64(42))]));
    }

    #[test]
    fn with_schema() {
        let mut t = transform("HoistField$Key", &[("field", "magic")]);
        let r = value_record(SchemaAndValue::NULL)
            .with_key(SchemaAndValue::with_schema(s(Int32), Value::Int32(42)));
        let out = apply(&mut t, r);
        let ks = out.key.schema.clone().unwrap();
        assert_eq!(ks.kind, Struct);
        assert_eq!(ks.field("magic").unwrap().schema, s(Int32));
        assert_eq!(get(&out.key.value, "magic"), &Value::Int32(42));
    }

    #[test]
    fn nulls() {
        // Schemaless null is wrapped like any other value, as Connect does.
        let mut t = transform("HoistField$Value", &[("field", "f")]);
        let out = apply(&mut t, value_record(SchemaAndValue::NULL));
        assert_eq!(out.value.value, smap(vec![("f", Value::Null)]));
        // An optional schema may wrap a null.
        let out = apply(
            &mut t,
            value_record(SchemaAndValue::with_schema(os(String), Value::Null)),
        );
        assert_eq!(get(&out.value.value, "f"), &Value::Null);
        // A required one cannot.
        let e = try_apply(
            &mut t,
            value_record(SchemaAndValue::with_schema(s(String), Value::Null)),
        )
        .unwrap_err();
        assert!(
            e.contains("HoistField") && e.contains("not optional"),
            "{}",
            e
        );
    }
}
