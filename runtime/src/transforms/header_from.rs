//! `HeaderFrom$Key` / `HeaderFrom$Value`: copies or moves fields into headers.

use super::util::{
    config_error, map_get, map_remove, non_empty_list, replace_null_with_default_key, require_map,
    require_struct_err, struct_builder_like, with_default, NameSet, SchemaCache, Side,
};
use super::{Fate, Transform, TransformPlugin};
use crate::config::{ConfigDef, ConfigErrors, ConfigKey, Importance, ParsedConfig, Validator};
use crate::data::{Record, SchemaAndValue, Struct, Value};

const DOC: &str = "Moves or copies fields in the key/value of a record into that record's headers. Corresponding elements of fields and headers together identify a field and the header it should be moved or copied to. Use the concrete transformation type designed for the record key (org.apache.kafka.connect.transforms.HeaderFrom$Key) or value (org.apache.kafka.connect.transforms.HeaderFrom$Value).";

pub(super) const KEY: TransformPlugin = TransformPlugin {
    class: "org.apache.kafka.connect.transforms.HeaderFrom$Key",
    aliases: &["HeaderFrom$Key"],
    doc: DOC,
    config_def,
    create: |c| create(c, Side::Key),
};

pub(super) const VALUE: TransformPlugin = TransformPlugin {
    class: "org.apache.kafka.connect.transforms.HeaderFrom$Value",
    aliases: &["HeaderFrom$Value"],
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
                .doc("Field names in the record whose values are to be copied or moved to headers."),
        )
        .define(
            ConfigKey::list("headers")
                .validator(Validator::Custom(non_empty_list))
                .importance(Importance::High)
                .doc("Header names, in the same order as the field names listed in the fields configuration property."),
        )
        .define(
            ConfigKey::string("operation")
                .one_of(&["move", "copy"])
                .importance(Importance::High)
                .doc("Either move if the fields are to be moved to the headers (removed from the key/value), or copy if the fields are to be copied to the headers (retained in the key/value)."),
        )
        .define(replace_null_with_default_key())
}

struct HeaderFrom {
    side: Side,
    name: &'static str,
    pairs: Vec<(String, String)>,
    moved: NameSet,
    is_move: bool,
    replace_null_with_default: bool,
    cache: SchemaCache,
}

fn create(c: &ParsedConfig, side: Side) -> Result<Box<dyn Transform>, ConfigErrors> {
    let fields = c.list("fields");
    let headers = c.list("headers");
    if fields.len() != headers.len() {
        return Err(config_error(
            "headers",
            format!(
                "'fields' config must have the same number of elements as 'headers' config ({} fields, {} headers).",
                fields.len(),
                headers.len()
            ),
        ));
    }
    let is_move = c.str("operation").eq_ignore_ascii_case("move");
    Ok(Box::new(HeaderFrom {
        side,
        name: match side {
            Side::Key => "HeaderFrom$Key",
            Side::Value => "HeaderFrom$Value",
        },
        moved: NameSet::new(if is_move { fields.clone() } else { Vec::new() }),
        pairs: fields.into_iter().zip(headers).collect(),
        is_move,
        replace_null_with_default: c.boolean("replace.null.with.default"),
        cache: SchemaCache::new(),
    }))
}

impl Transform for HeaderFrom {
    fn apply(&mut self, record: &mut Record) -> Result<Fate, String> {
        if self.side.get(record).is_null() {
            return Ok(Fate::Keep);
        }
        let purpose = if self.is_move {
            "header move"
        } else {
            "header copy"
        };
        let SchemaAndValue { schema, mut value } = self.side.take(record);
        let out = match schema {
            None => {
                let entries = require_map(self.name, purpose, &mut value)?;
                for (field, header) in &self.pairs {
                    let v = if self.is_move {
                        map_remove(entries, field)
                    } else {
                        map_get(entries, field).cloned()
                    };
                    record.headers.add(
                        header.clone(),
                        SchemaAndValue::schemaless(v.unwrap_or(Value::Null)),
                    );
                }
                SchemaAndValue::schemaless(value)
            }
            Some(schema) => {
                let Value::Struct(s) = value else {
                    return Err(require_struct_err(self.name, purpose, &value));
                };
                for (field, header) in &self.pairs {
                    let f = s.schema().field(field).ok_or_else(|| {
                        format!(
                            "{}: field {} is not in the {} schema",
                            self.name,
                            field,
                            self.side.name()
                        )
                    })?;
                    let v = with_default(
                        f,
                        s.values()[f.index].clone(),
                        self.replace_null_with_default,
                    );
                    record.headers.add(
                        header.clone(),
                        SchemaAndValue::with_schema(f.schema.clone(), v),
                    );
                }
                if self.is_move {
                    let moved = &self.moved;
                    let updated = self.cache.get_or_build(&schema, |sc| {
                        let mut b = struct_builder_like(sc).set_optional(sc.optional);
                        for f in &sc.fields {
                            if !moved.contains(&f.name) {
                                b = b.field(f.name.clone(), f.schema.clone());
                            }
                        }
                        Ok(b.build())
                    })?;
                    let old = s.schema().clone();
                    let values: Vec<Value> = old
                        .fields
                        .iter()
                        .zip(s.into_values())
                        .filter(|(f, _)| !self.moved.contains(&f.name))
                        .map(|(f, v)| with_default(f, v, self.replace_null_with_default))
                        .collect();
                    let st = Struct::from_values(updated.clone(), values)?;
                    SchemaAndValue::with_schema(updated, Value::Struct(st))
                } else {
                    SchemaAndValue::with_schema(schema, Value::Struct(s))
                }
            }
        };
        self.side.put(record, out);
        Ok(Fate::Keep)
    }
}

#[cfg(test)]
mod tests {
    use super::super::util::testing::*;
    use crate::data::{Record, SchemaAndValue, SchemaBuilder, SchemaType::*, Value};

    fn cfg(op: &'static str) -> Vec<(&'static str, &'static str)> {
        vec![
            ("fields", "field1,field2"),
            ("headers", "inserted1,inserted2"),
            ("operation", op),
        ]
    }

    fn record_with_headers(value: SchemaAndValue) -> Record {
        let mut r = value_record(value);
        r.headers.add_string("header1", "existing-value");
        r
    }

    #[test]
    fn schemaless_copy_and_move() {
        let v = || {
            SchemaAndValue::schemaless(smap(vec![
                ("field1", Value::from("field1-value")),
                ("field2", Value::from("field2-value")),
                ("field3", Value::from("field3-value")),
            ]))
        };
        let mut t = transform("HeaderFrom$Value", &cfg("copy"));
        let out = apply(&mut t, record_with_headers(v()));
        assert_eq!(out.value, v());
        let keys: Vec<_> = out.headers.iter().map(|h| h.key.as_str()).collect();
        assert_eq!(keys, vec!["header1", "inserted1", "inserted2"]);
        let h = out.headers.last_with_name("inserted1").unwrap();
        assert_eq!(
            h.value,
            SchemaAndValue::schemaless(Value::from("field1-value"))
        );

        let mut t = transform("HeaderFrom$Value", &cfg("move"));
        let out = apply(&mut t, record_with_headers(v()));
        assert_eq!(
            out.value.value,
            smap(vec![("field3", Value::from("field3-value"))])
        );
        assert_eq!(
            out.headers.last_with_name("inserted2").unwrap().value.value,
            Value::from("field2-value")
        );
    }

    #[test]
    fn with_schema_copy_and_move() {
        let schema = SchemaBuilder::struct_()
            .name("n")
            .field("field1", s(String))
            .field("field2", os(Int32))
            .field("field3", s(String))
            .build();
        let v = || {
            SchemaAndValue::with_schema(
                schema.clone(),
                Value::Struct(st(
                    &schema,
                    vec![Value::from("a"), Value::Int32(2), Value::from("c")],
                )),
            )
        };
        let mut t = transform("HeaderFrom$Value", &cfg("copy"));
        let out = apply(&mut t, record_with_headers(v()));
        assert_eq!(out.value, v());
        let h = out.headers.last_with_name("inserted2").unwrap();
        assert_eq!(
            h.value,
            SchemaAndValue::with_schema(os(Int32), Value::Int32(2))
        );

        let mut t = transform("HeaderFrom$Key", &cfg("move"));
        let out = apply(&mut t, value_record(SchemaAndValue::NULL).with_key(v()));
        let ks = out.key.schema.clone().unwrap();
        assert_eq!(ks.name.as_deref(), Some("n"));
        assert_eq!(ks.fields.len(), 1);
        assert_eq!(get(&out.key.value, "field3"), &Value::from("c"));
        assert_eq!(
            out.headers.last_with_name("inserted1").unwrap().value,
            SchemaAndValue::with_schema(s(String), Value::from("a"))
        );
    }

    #[test]
    fn missing_field_and_tombstone() {
        let mut t = transform("HeaderFrom$Value", &cfg("copy"));
        let schema = SchemaBuilder::struct_().field("field1", s(String)).build();
        let e = try_apply(
            &mut t,
            value_record(SchemaAndValue::with_schema(
                schema.clone(),
                Value::Struct(st(&schema, vec![Value::from("a")])),
            )),
        )
        .unwrap_err();
        assert!(
            e.contains("HeaderFrom$Value") && e.contains("field2"),
            "{}",
            e
        );
        // Schemaless: a missing field gives a null header.
        let out = apply(
            &mut t,
            value_record(SchemaAndValue::schemaless(smap(vec![]))),
        );
        assert_eq!(
            out.headers.last_with_name("inserted1").unwrap().value,
            SchemaAndValue::NULL
        );
        let r = value_record(SchemaAndValue::NULL);
        assert_eq!(apply(&mut t, r.clone()), r);
    }

    #[test]
    fn config_errors() {
        let e = try_transform(
            "HeaderFrom$Value",
            &[("fields", "a,b"), ("headers", "x"), ("operation", "copy")],
        )
        .err()
        .unwrap();
        assert_eq!(e.0[0].key, "headers");
        assert!(e.0[0].message.contains("same number of elements"));
        let e = try_transform(
            "HeaderFrom$Value",
            &[("fields", "a"), ("headers", "x"), ("operation", "steal")],
        )
        .err()
        .unwrap();
        assert_eq!(e.0[0].key, "operation");
    }
}
