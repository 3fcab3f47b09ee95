//! `InsertField$Key` / `InsertField$Value`: adds the topic, partition, offset, timestamp
//! or a static string as fields of a struct or schemaless map.

use super::util::{
    any_field_default, config_error, copy_basics, require_map, require_struct_err, SchemaCache,
    Side,
};
use super::{Fate, Transform, TransformPlugin};
use crate::config::{ConfigDef, ConfigErrors, ConfigKey, Importance, ParsedConfig};
use crate::data::logical::timestamp_schema;
use crate::data::{primitive, Record, SchemaBuilder, SchemaRef, SchemaType, Value};

const DOC: &str = "Insert field(s) using attributes from the record metadata or a configured static value. Use the concrete transformation type designed for the record key (org.apache.kafka.connect.transforms.InsertField$Key) or value (org.apache.kafka.connect.transforms.InsertField$Value).";

const OPTIONALITY: &str =
    "Suffix with ! to make this a required field, or ? to keep it optional (the default).";

pub(super) const KEY: TransformPlugin = TransformPlugin {
    class: "org.apache.kafka.connect.transforms.InsertField$Key",
    aliases: &["InsertField$Key"],
    doc: DOC,
    config_def,
    create: |c| create(c, Side::Key),
};

pub(super) const VALUE: TransformPlugin = TransformPlugin {
    class: "org.apache.kafka.connect.transforms.InsertField$Value",
    aliases: &["InsertField$Value"],
    doc: DOC,
    config_def,
    create: |c| create(c, Side::Value),
};

pub(super) fn config_def() -> ConfigDef {
    ConfigDef::new()
        .define(
            ConfigKey::string("topic.field")
                .optional()
                .doc(format!("Field name for Kafka topic. {}", OPTIONALITY)),
        )
        .define(
            ConfigKey::string("partition.field")
                .optional()
                .doc(format!("Field name for Kafka partition. {}", OPTIONALITY)),
        )
        .define(ConfigKey::string("offset.field").optional().doc(format!(
            "Field name for Kafka offset - only applicable to sink connectors. {}",
            OPTIONALITY
        )))
        .define(
            ConfigKey::string("timestamp.field")
                .optional()
                .doc(format!("Field name for record timestamp. {}", OPTIONALITY)),
        )
        .define(
            ConfigKey::string("static.field")
                .optional()
                .doc(format!("Field name for static data field. {}", OPTIONALITY)),
        )
        .define(
            ConfigKey::string("static.value")
                .optional()
                .doc("Static field value, if field name configured."),
        )
        .define(super::util::replace_null_with_default_key().importance(Importance::Medium))
}

/// A field to insert: its name and whether it is optional (`name?` or `name`) or
/// required (`name!`).
#[derive(Debug, Clone)]
struct Spec {
    name: String,
    optional: bool,
}

impl Spec {
    fn parse(s: Option<String>) -> Option<Spec> {
        let s = s?;
        if s.is_empty() {
            return None;
        }
        if let Some(n) = s.strip_suffix('?') {
            return Some(Spec {
                name: n.to_string(),
                optional: true,
            });
        }
        if let Some(n) = s.strip_suffix('!') {
            return Some(Spec {
                name: n.to_string(),
                optional: false,
            });
        }
        Some(Spec {
            name: s,
            optional: true,
        })
    }
}

struct InsertField {
    side: Side,
    name: &'static str,
    topic: Option<Spec>,
    partition: Option<Spec>,
    offset: Option<Spec>,
    timestamp: Option<Spec>,
    static_field: Option<Spec>,
    static_value: Option<String>,
    replace_null_with_default: bool,
    /// The updated schema of an input schema, and whether the input has field defaults.
    cache: SchemaCache<(SchemaRef, bool)>,
}

fn create(c: &ParsedConfig, side: Side) -> Result<Box<dyn Transform>, ConfigErrors> {
    let static_field = Spec::parse(c.string("static.field"));
    let static_value = c.string("static.value");
    if let (Some(f), None) = (&static_field, &static_value) {
        return Err(config_error(
            "static.value",
            format!("No value specified for static field: {}", f.name),
        ));
    }
    Ok(Box::new(InsertField {
        side,
        name: match side {
            Side::Key => "InsertField$Key",
            Side::Value => "InsertField$Value",
        },
        topic: Spec::parse(c.string("topic.field")),
        partition: Spec::parse(c.string("partition.field")),
        offset: Spec::parse(c.string("offset.field")),
        timestamp: Spec::parse(c.string("timestamp.field")),
        static_field,
        static_value,
        replace_null_with_default: c.boolean("replace.null.with.default"),
        cache: SchemaCache::new(),
    }))
}

const PURPOSE: &str = "field insertion";

impl InsertField {
    fn required_missing(&self, spec: &Spec, what: &str) -> String {
        format!(
            "{}: required field {} cannot be set: the record has no {}",
            self.name, spec.name, what
        )
    }
}

impl Transform for InsertField {
    fn apply(&mut self, record: &mut Record) -> Result<Fate, String> {
        // The side is borrowed field by field, so that the record's topic, partition,
        // offset and timestamp stay readable while its key or value changes in place.
        let data = match self.side {
            Side::Key => &mut record.key,
            Side::Value => &mut record.value,
        };
        if data.is_null() {
            return Ok(Fate::Keep);
        }
        match data.schema {
            None => {
                let entries = require_map(self.name, PURPOSE, &mut data.value)?;
                let mut put = |name: &str, v: Value| super::util::map_put(entries, name, v);
                if let Some(f) = &self.topic {
                    put(&f.name, Value::String(String::from(&*record.topic)));
                }
                if let (Some(f), Some(p)) = (&self.partition, record.partition) {
                    put(&f.name, Value::Int32(p));
                }
                if let (Some(f), Some(o)) = (&self.offset, record.kafka_offset) {
                    put(&f.name, Value::Int64(o));
                }
                if let (Some(f), Some(ts)) = (&self.timestamp, record.timestamp) {
                    put(&f.name, Value::Int64(ts));
                }
                if let (Some(f), Some(v)) = (&self.static_field, &self.static_value) {
                    put(&f.name, Value::String(v.clone()));
                }
            }
            Some(_) => {
                let Value::Struct(s) = &mut data.value else {
                    return Err(require_struct_err(self.name, PURPOSE, &data.value));
                };
                let name = self.name;
                let specs = [
                    &self.topic,
                    &self.partition,
                    &self.offset,
                    &self.timestamp,
                    &self.static_field,
                ];
                let (updated, defaults) = self.cache.get_or_build(s.schema(), |schema| {
                    for spec in specs.iter().filter_map(|s| s.as_ref()) {
                        if schema.field(&spec.name).is_some() {
                            return Err(format!(
                                "{}: cannot insert field {}: the struct already has a field with that name",
                                name, spec.name
                            ));
                        }
                    }
                    let mut b = copy_basics(schema, SchemaBuilder::struct_());
                    for f in &schema.fields {
                        b = b.field(f.name.clone(), f.schema.clone());
                    }
                    let string = |o| primitive(SchemaType::String, o);
                    if let Some(f) = &self.topic {
                        b = b.field(f.name.clone(), string(f.optional));
                    }
                    if let Some(f) = &self.partition {
                        b = b.field(f.name.clone(), primitive(SchemaType::Int32, f.optional));
                    }
                    if let Some(f) = &self.offset {
                        b = b.field(f.name.clone(), primitive(SchemaType::Int64, f.optional));
                    }
                    if let Some(f) = &self.timestamp {
                        b = b.field(f.name.clone(), timestamp_schema(f.optional));
                    }
                    if let Some(f) = &self.static_field {
                        b = b.field(f.name.clone(), string(f.optional));
                    }
                    Ok((b.build(), any_field_default(schema)))
                })?;
                let defaults = defaults && self.replace_null_with_default;
                s.reshape(updated.clone(), |old, values| {
                    // A new vector of the new length: growing the struct's own one
                    // cost more for small structs (a realloc).
                    let mut grown = Vec::with_capacity(updated.fields.len());
                    grown.extend(std::mem::take(values));
                    if defaults {
                        for (f, v) in old.fields.iter().zip(grown.iter_mut()) {
                            super::util::with_default_in_place(f, v, true);
                        }
                    }
                    if self.topic.is_some() {
                        grown.push(Value::String(String::from(&*record.topic)));
                    }
                    if let Some(f) = &self.partition {
                        match record.partition {
                            Some(p) => grown.push(Value::Int32(p)),
                            None if f.optional => grown.push(Value::Null),
                            None => return Err(self.required_missing(f, "partition")),
                        }
                    }
                    if let Some(f) = &self.offset {
                        match record.kafka_offset {
                            Some(o) => grown.push(Value::Int64(o)),
                            None if f.optional => grown.push(Value::Null),
                            None => {
                                return Err(self.required_missing(
                                    f,
                                    "Kafka offset (source records have none)",
                                ))
                            }
                        }
                    }
                    if let Some(f) = &self.timestamp {
                        match record.timestamp {
                            Some(ts) => grown.push(Value::Int64(ts)),
                            None if f.optional => grown.push(Value::Null),
                            None => return Err(self.required_missing(f, "timestamp")),
                        }
                    }
                    if self.static_field.is_some() {
                        grown.push(
                            self.static_value
                                .clone()
                                .map(Value::String)
                                .unwrap_or(Value::Null),
                        );
                    }
                    *values = grown;
                    Ok(())
                })?;
                data.schema = Some(updated);
            }
        }
        Ok(Fate::Keep)
    }
}

#[cfg(test)]
mod tests {
    use super::super::util::testing::*;
    use crate::data::logical;
    use crate::data::{Record, SchemaAndValue, SchemaBuilder, SchemaType::*, Value};

    const CFG: &[(&str, &str)] = &[
        ("topic.field", "topic_field!"),
        ("partition.field", "partition_field"),
        ("timestamp.field", "timestamp_field?"),
        ("static.field", "instance_id"),
        ("static.value", "my-instance-id"),
    ];

    #[test]
    fn schemaless_insert_configured_fields() {
        let mut t = transform("InsertField$Value", CFG);
        let mut r = value_record(SchemaAndValue::schemaless(smap(vec![(
            "magic",
            Value::Int64(42),
        )])));
        r.partition = Some(0);
        let out = apply(&mut t, r);
        assert!(out.value.schema.is_none());
        let v = &out.value.value;
        assert_eq!(get(v, "magic"), &Value::Int64(42));
        assert_eq!(get(v, "topic_field"), &Value::from("test"));
        assert_eq!(get(v, "partition_field"), &Value::Int32(0));
        assert_eq!(get(v, "timestamp_field"), &Value::Int64(1_700_000_000_123));
        assert_eq!(get(v, "instance_id"), &Value::from("my-instance-id"));
    }

    #[test]
    fn offset_field_from_sink_records() {
        let mut t = transform("InsertField$Value", &[("offset.field", "off!")]);
        let mut r = value_record(SchemaAndValue::schemaless(smap(vec![(
            "a",
            Value::Int64(1),
        )])));
        r.kafka_offset = Some(77);
        assert_eq!(get(&apply(&mut t, r).value.value, "off"), &Value::Int64(77));
        let schema = SchemaBuilder::struct_()
            .field("a", crate::data::primitive(Int32, false))
            .build();
        let mut st = crate::data::Struct::new(schema.clone());
        st.put("a", Value::Int32(1)).unwrap();
        let mut r = value_record(SchemaAndValue::with_schema(
            schema.clone(),
            Value::Struct(st.clone()),
        ));
        r.kafka_offset = Some(78);
        let out = apply(&mut t, r);
        let Value::Struct(o) = &out.value.value else {
            panic!()
        };
        assert_eq!(o.get("off"), Some(&Value::Int64(78)));
        assert_eq!(
            out.value.schema.unwrap().field("off").unwrap().schema.kind,
            Int64
        );
        // A source record has no offset: a required offset field fails the record.
        let r = value_record(SchemaAndValue::with_schema(schema, Value::Struct(st)));
        assert!(try_apply(&mut t, r).unwrap_err().contains("off"));
    }

    #[test]
    fn schemaless_skips_missing_partition_and_timestamp() {
        let mut t = transform("InsertField$Value", CFG);
        let r = Record::new(
            "test",
            SchemaAndValue::schemaless(smap(vec![("magic", Value::Int64(42))])),
        );
        let out = apply(&mut t, r);
        assert!(out.value.value.map_get("partition_field").is_none());
        assert!(out.value.value.map_get("timestamp_field").is_none());
        assert_eq!(get(&out.value.value, "topic_field"), &Value::from("test"));
    }

    #[test]
    fn copy_schema_and_insert_configured_fields() {
        let schema = SchemaBuilder::struct_()
            .name("name")
            .version(1)
            .doc("doc")
            .field("magic", s(Int64))
            .build();
        let mut t = transform("InsertField$Value", CFG);
        let mut r = value_record(SchemaAndValue::with_schema(
            schema.clone(),
            Value::Struct(st(&schema, vec![Value::Int64(42)])),
        ));
        r.partition = Some(0);
        let out = apply(&mut t, r);
        let os_ = out.value.schema.clone().unwrap();
        assert_eq!(os_.name.as_deref(), Some("name"));
        assert_eq!(os_.version, Some(1));
        assert_eq!(os_.doc.as_deref(), Some("doc"));
        assert_eq!(os_.field("magic").unwrap().schema, s(Int64));
        assert_eq!(os_.field("topic_field").unwrap().schema, s(String));
        assert_eq!(os_.field("partition_field").unwrap().schema, os(Int32));
        let ts = &os_.field("timestamp_field").unwrap().schema;
        assert_eq!(ts.name.as_deref(), Some(logical::TIMESTAMP));
        assert!(ts.optional);
        assert_eq!(os_.field("instance_id").unwrap().schema, os(String));
        let v = &out.value.value;
        assert_eq!(get(v, "magic"), &Value::Int64(42));
        assert_eq!(get(v, "topic_field"), &Value::from("test"));
        assert_eq!(get(v, "partition_field"), &Value::Int32(0));
        assert_eq!(get(v, "timestamp_field"), &Value::Int64(1_700_000_000_123));
        assert_eq!(get(v, "instance_id"), &Value::from("my-instance-id"));
        if let Value::Struct(s) = v {
            s.validate().unwrap();
        }

        // A second record with the same schema reuses the derived schema.
        let mut r2 = value_record(SchemaAndValue::with_schema(
            schema.clone(),
            Value::Struct(st(&schema, vec![Value::Int64(7)])),
        ));
        r2.partition = Some(1);
        let out2 = apply(&mut t, r2);
        assert!(std::sync::Arc::ptr_eq(
            out2.value.schema.as_ref().unwrap(),
            &os_
        ));
    }

    #[test]
    fn tombstones_pass_through() {
        let mut t = transform("InsertField$Value", CFG);
        let r = value_record(SchemaAndValue::NULL);
        let out = apply(&mut t, r.clone());
        assert_eq!(out, r);
        let schema = SchemaBuilder::struct_()
            .optional()
            .field("a", s(Int32))
            .build();
        let r = value_record(SchemaAndValue::with_schema(schema, Value::Null));
        assert_eq!(apply(&mut t, r.clone()), r);
    }

    #[test]
    fn key_variant_inserts_into_key() {
        let mut t = transform("InsertField$Key", &[("topic.field", "t")]);
        let r = Record::new("orders", SchemaAndValue::schemaless(Value::from("v"))).with_key(
            SchemaAndValue::schemaless(smap(vec![("id", Value::Int64(1))])),
        );
        let out = apply(&mut t, r);
        assert_eq!(get(&out.key.value, "t"), &Value::from("orders"));
        assert_eq!(out.value.value, Value::from("v"));
    }

    #[test]
    fn wrong_types_fail_with_message() {
        let mut t = transform("InsertField$Value", CFG);
        let e = try_apply(
            &mut t,
            value_record(SchemaAndValue::schemaless(Value::from("x"))),
        )
        .unwrap_err();
        assert!(
            e.contains("InsertField$Value") && e.contains("Map"),
            "{}",
            e
        );
        let e = try_apply(
            &mut t,
            value_record(SchemaAndValue::with_schema(s(String), Value::from("x"))),
        )
        .unwrap_err();
        assert!(e.contains("Struct"), "{}", e);
    }

    #[test]
    fn required_field_without_value_fails() {
        let mut t = transform("InsertField$Value", &[("partition.field", "p!")]);
        let schema = SchemaBuilder::struct_().field("a", s(Int32)).build();
        let r = Record::new(
            "t",
            SchemaAndValue::with_schema(
                schema.clone(),
                Value::Struct(st(&schema, vec![Value::Int32(1)])),
            ),
        );
        let e = try_apply(&mut t, r).unwrap_err();
        assert!(
            e.contains("required field p") && e.contains("partition"),
            "{}",
            e
        );
    }

    #[test]
    fn null_field_replaced_by_default_unless_disabled() {
        let schema = SchemaBuilder::struct_()
            .field(
                "a",
                SchemaBuilder::new(Int32)
                    .optional()
                    .default_value(Value::Int32(9))
                    .build(),
            )
            .build();
        let rec = || {
            value_record(SchemaAndValue::with_schema(
                schema.clone(),
                Value::Struct(st(&schema, vec![Value::Null])),
            ))
        };
        let mut t = transform("InsertField$Value", &[("topic.field", "t")]);
        assert_eq!(
            get(&apply(&mut t, rec()).value.value, "a"),
            &Value::Int32(9)
        );
        let mut t = transform(
            "InsertField$Value",
            &[("topic.field", "t"), ("replace.null.with.default", "false")],
        );
        assert_eq!(get(&apply(&mut t, rec()).value.value, "a"), &Value::Null);
    }

    #[test]
    fn existing_field_name_fails() {
        let schema = SchemaBuilder::struct_().field("topic", s(String)).build();
        let mut t = transform("InsertField$Value", &[("topic.field", "topic")]);
        let e = try_apply(
            &mut t,
            value_record(SchemaAndValue::with_schema(
                schema.clone(),
                Value::Struct(st(&schema, vec![Value::from("x")])),
            )),
        )
        .unwrap_err();
        assert!(e.contains("already has a field"), "{}", e);
    }

    #[test]
    fn static_field_needs_value() {
        let e = try_transform("InsertField$Value", &[("static.field", "x")])
            .err()
            .unwrap();
        assert_eq!(e.0[0].key, "static.value");
        assert!(e.0[0]
            .message
            .contains("No value specified for static field: x"));
    }
}
