//! `ReplaceField$Key` / `ReplaceField$Value`: keeps, drops and renames fields.

use std::collections::HashMap;
use std::sync::Arc;

use super::util::{
    any_field_default, config_error, map_put, replace_null_with_default_key, require_map,
    require_struct_err, struct_builder_like, with_default_in_place, NameSet, SchemaCache, Side,
};
use super::{Fate, Transform, TransformPlugin};
use crate::config::{ConfigDef, ConfigErrors, ConfigKey, ParsedConfig, TypedValue, Validator};
use crate::data::{Record, SchemaAndValue, SchemaRef, Value};

const DOC: &str = "Filter or rename fields. Use the concrete transformation type designed for the record key (org.apache.kafka.connect.transforms.ReplaceField$Key) or value (org.apache.kafka.connect.transforms.ReplaceField$Value).";

pub(super) const KEY: TransformPlugin = TransformPlugin {
    class: "org.apache.kafka.connect.transforms.ReplaceField$Key",
    aliases: &["ReplaceField$Key"],
    doc: DOC,
    config_def,
    create: |c| create(c, Side::Key),
};

pub(super) const VALUE: TransformPlugin = TransformPlugin {
    class: "org.apache.kafka.connect.transforms.ReplaceField$Value",
    aliases: &["ReplaceField$Value"],
    doc: DOC,
    config_def,
    create: |c| create(c, Side::Value),
};

fn check_renames(v: &TypedValue) -> Result<(), String> {
    if let TypedValue::List(items) = v {
        parse_renames(items)?;
    }
    Ok(())
}

/// `old:new` pairs; anything but exactly two non-empty parts is rejected.
fn parse_renames(items: &[String]) -> Result<Vec<(String, String)>, String> {
    items
        .iter()
        .map(|m| {
            let parts: Vec<&str> = m.split(':').collect();
            match parts.as_slice() {
                [a, b] if !a.is_empty() && !b.is_empty() => Ok((a.to_string(), b.to_string())),
                _ => Err(format!(
                    "Invalid rename mapping: {} (expected a list of colon-delimited pairs, e.g. foo:bar,abc:xyz)",
                    m
                )),
            }
        })
        .collect()
}

pub(super) fn config_def() -> ConfigDef {
    ConfigDef::new()
        .define(
            ConfigKey::list("exclude")
                .default("")
                .doc("Fields to exclude. This takes precedence over the fields to include."),
        )
        .define(
            ConfigKey::list("include")
                .default("")
                .doc("Fields to include. If specified, only these fields will be used."),
        )
        .define(
            ConfigKey::list("renames")
                .default("")
                .validator(Validator::Custom(check_renames))
                .doc(
                    "Field rename mappings: a list of colon-delimited pairs, e.g. foo:bar,abc:xyz.",
                ),
        )
        .define(
            ConfigKey::list("blacklist")
                .optional()
                .doc("Deprecated. Use exclude instead; used only when exclude is not set."),
        )
        .define(
            ConfigKey::list("whitelist")
                .optional()
                .doc("Deprecated. Use include instead; used only when include is not set."),
        )
        .define(replace_null_with_default_key())
}

struct Names {
    exclude: NameSet,
    include: NameSet,
    renames: HashMap<String, String>,
}

struct ReplaceField {
    side: Side,
    name: &'static str,
    names: Names,
    replace_null_with_default: bool,
    /// Per input schema: the output schema and how to derive the values.
    cache: SchemaCache<(SchemaRef, Arc<Plan>)>,
}

/// How a struct's values become the output's, for one input schema.
struct Plan {
    /// Per input field: whether it stays.
    keep: Box<[bool]>,
    /// The indexes of the fields that go, ascending.
    dropped: Box<[usize]>,
    /// Whether any input field has a default (else nulls need no replacing).
    defaults: bool,
}

/// Up to this many dropped fields are removed one by one; more are filtered in one pass.
const REMOVE_ONE_BY_ONE: usize = 4;

fn create(c: &ParsedConfig, side: Side) -> Result<Box<dyn Transform>, ConfigErrors> {
    // The deprecated names apply only when the new ones are not set.
    let pick = |new: &str, old: &str| -> Vec<String> {
        if c.raw().contains_key(new) {
            c.list(new)
        } else {
            c.list(old)
        }
    };
    let renames = parse_renames(&c.list("renames")).map_err(|e| config_error("renames", e))?;
    Ok(Box::new(ReplaceField {
        side,
        name: match side {
            Side::Key => "ReplaceField$Key",
            Side::Value => "ReplaceField$Value",
        },
        names: Names {
            exclude: NameSet::new(pick("exclude", "blacklist")),
            include: NameSet::new(pick("include", "whitelist")),
            renames: renames.into_iter().collect(),
        },
        replace_null_with_default: c.boolean("replace.null.with.default"),
        cache: SchemaCache::new(),
    }))
}

const PURPOSE: &str = "field replacement";

impl Names {
    fn keep(&self, name: &str) -> bool {
        !self.exclude.contains(name) && (self.include.is_empty() || self.include.contains(name))
    }
    fn renamed<'a>(&'a self, name: &'a str) -> &'a str {
        self.renames.get(name).map(String::as_str).unwrap_or(name)
    }
}

impl Transform for ReplaceField {
    fn apply(&mut self, record: &mut Record) -> Result<Fate, String> {
        let data = self.side.get_mut(record);
        if data.is_null() {
            return Ok(Fate::Keep);
        }
        if data.schema.is_none() {
            let entries = std::mem::take(require_map(self.name, PURPOSE, &mut data.value)?);
            let mut updated = Vec::with_capacity(entries.len());
            for (k, v) in entries {
                match k {
                    Value::String(name) => {
                        if !self.names.keep(&name) {
                            continue;
                        }
                        match self.names.renames.get(&name) {
                            Some(new) => map_put(&mut updated, new, v),
                            None => updated.push((Value::String(name), v)),
                        }
                    }
                    other => updated.push((other, v)),
                }
            }
            *data = SchemaAndValue::schemaless(Value::Map(updated));
            return Ok(Fate::Keep);
        }
        // A struct is changed where it is, in the record: its own vector keeps the
        // fields that stay.
        let Value::Struct(s) = &mut data.value else {
            return Err(require_struct_err(self.name, PURPOSE, &data.value));
        };
        let names = &self.names;
        let (updated, plan) = self.cache.get_or_build(s.schema(), |schema| {
            let mut b = struct_builder_like(schema);
            let mut keep = Vec::with_capacity(schema.fields.len());
            for f in &schema.fields {
                let k = names.keep(&f.name);
                if k {
                    b = b.field(names.renamed(&f.name).to_string(), f.schema.clone());
                }
                keep.push(k);
            }
            let dropped = keep
                .iter()
                .enumerate()
                .filter(|(_, k)| !**k)
                .map(|(i, _)| i);
            let plan = Plan {
                dropped: dropped.collect(),
                keep: keep.into(),
                defaults: any_field_default(schema),
            };
            Ok((b.build(), Arc::new(plan)))
        })?;
        let defaults = plan.defaults && self.replace_null_with_default;
        s.reshape(updated.clone(), |old, values| {
            if defaults {
                for ((f, v), k) in old
                    .fields
                    .iter()
                    .zip(values.iter_mut())
                    .zip(plan.keep.iter())
                {
                    if *k {
                        with_default_in_place(f, v, true);
                    }
                }
            }
            if plan.dropped.len() <= REMOVE_ONE_BY_ONE {
                for i in plan.dropped.iter().rev() {
                    values.remove(*i);
                }
            } else {
                let mut keep = plan.keep.iter();
                values.retain(|_| *keep.next().expect("a value per field"));
            }
            Ok(())
        })
        .map_err(|e| {
            format!(
                "{}: {} (duplicate field names after renaming?)",
                self.name, e
            )
        })?;
        data.schema = Some(updated);
        Ok(Fate::Keep)
    }
}

#[cfg(test)]
mod tests {
    use super::super::util::testing::*;
    use crate::data::{SchemaAndValue, SchemaBuilder, SchemaType::*, Value};

    #[test]
    fn tombstone_schemaless_and_with_schema() {
        let mut t = transform(
            "ReplaceField$Value",
            &[("include", "abc,foo"), ("renames", "abc:xyz,foo:bar")],
        );
        let r = value_record(SchemaAndValue::NULL);
        assert_eq!(apply(&mut t, r.clone()), r);
        let schema = SchemaBuilder::struct_()
            .optional()
            .field("abc", os(Int32))
            .build();
        let r = value_record(SchemaAndValue::with_schema(schema, Value::Null));
        assert_eq!(apply(&mut t, r.clone()), r);
    }

    /// Few dropped fields are removed one by one, many in one filtering pass; either
    /// way the kept values stay in order and nulls take their field's default unless
    /// `replace.null.with.default` is false.
    #[test]
    fn dropping_few_or_many_fields_with_defaults() {
        let with_default = SchemaBuilder::new(Int32)
            .optional()
            .default_value(Value::Int32(9))
            .build();
        let names = ["a", "b", "c", "d", "e", "f", "g", "h"];
        let mut b = SchemaBuilder::struct_().field("dflt", with_default);
        for n in names {
            b = b.field(n, s(Int32));
        }
        let schema = b.build();
        let mut values = vec![Value::Null];
        values.extend((0..names.len() as i32).map(Value::Int32));
        let rec = || {
            value_record(SchemaAndValue::with_schema(
                schema.clone(),
                Value::Struct(st(&schema, values.clone())),
            ))
        };
        for (exclude, kept) in [
            ("b,g", vec!["a", "c", "d", "e", "f", "h"]),
            ("a,b,d,e,g,h", vec!["c", "f"]),
        ] {
            for replace in [true, false] {
                let mut t = transform(
                    "ReplaceField$Value",
                    &[
                        ("exclude", exclude),
                        (
                            "replace.null.with.default",
                            if replace { "true" } else { "false" },
                        ),
                    ],
                );
                let out = apply(&mut t, rec());
                let expected_default = if replace {
                    Value::Int32(9)
                } else {
                    Value::Null
                };
                assert_eq!(get(&out.value.value, "dflt"), &expected_default);
                let Value::Struct(o) = &out.value.value else {
                    panic!("a struct")
                };
                let got: Vec<&str> = o
                    .schema()
                    .fields
                    .iter()
                    .skip(1)
                    .map(|f| f.name.as_str())
                    .collect();
                assert_eq!(got, kept, "exclude {}", exclude);
                for n in &kept {
                    let i = names.iter().position(|x| x == n).unwrap() as i32;
                    assert_eq!(get(&out.value.value, n), &Value::Int32(i), "field {}", n);
                }
            }
        }
    }

    #[test]
    fn schemaless() {
        let mut t = transform(
            "ReplaceField$Value",
            &[("exclude", "dont"), ("renames", "abc:xyz,foo:bar")],
        );
        let r = value_record(SchemaAndValue::schemaless(smap(vec![
            ("dont", Value::from("whatever")),
            ("abc", Value::Int32(42)),
            ("foo", Value::Boolean(true)),
            ("etc", Value::from("etc")),
        ])));
        let out = apply(&mut t, r);
        let Value::Map(m) = &out.value.value else {
            panic!()
        };
        assert_eq!(m.len(), 3);
        assert_eq!(get(&out.value.value, "xyz"), &Value::Int32(42));
        assert_eq!(get(&out.value.value, "bar"), &Value::Boolean(true));
        assert_eq!(get(&out.value.value, "etc"), &Value::from("etc"));
        assert!(out.value.value.map_get("dont").is_none());
    }

    #[test]
    fn with_schema_include_and_rename() {
        let schema = SchemaBuilder::struct_()
            .name("n")
            .field("dont", s(String))
            .field("abc", s(Int32))
            .field("foo", s(Boolean))
            .field("etc", s(String))
            .build();
        let mut t = transform(
            "ReplaceField$Value",
            &[("include", "abc,foo"), ("renames", "abc:xyz,foo:bar")],
        );
        let r = value_record(SchemaAndValue::with_schema(
            schema.clone(),
            Value::Struct(st(
                &schema,
                vec![
                    Value::from("whatever"),
                    Value::Int32(42),
                    Value::Boolean(true),
                    Value::from("etc"),
                ],
            )),
        ));
        let out = apply(&mut t, r);
        let us = out.value.schema.clone().unwrap();
        assert_eq!(us.name.as_deref(), Some("n"));
        assert_eq!(us.fields.len(), 2);
        assert_eq!(us.fields[0].name, "xyz");
        assert_eq!(us.fields[0].schema, s(Int32));
        assert_eq!(us.fields[1].name, "bar");
        assert_eq!(us.fields[1].schema, s(Boolean));
        assert_eq!(get(&out.value.value, "xyz"), &Value::Int32(42));
        assert_eq!(get(&out.value.value, "bar"), &Value::Boolean(true));
    }

    #[test]
    fn deprecated_blacklist_and_whitelist() {
        let mut t = transform(
            "ReplaceField$Value",
            &[("blacklist", "a"), ("whitelist", "a,b")],
        );
        let out = apply(
            &mut t,
            value_record(SchemaAndValue::schemaless(smap(vec![
                ("a", Value::Int32(1)),
                ("b", Value::Int32(2)),
                ("c", Value::Int32(3)),
            ]))),
        );
        assert_eq!(out.value.value, smap(vec![("b", Value::Int32(2))]));
        // exclude wins over blacklist when both are set.
        let mut t = transform(
            "ReplaceField$Value",
            &[("blacklist", "a"), ("exclude", "c")],
        );
        let out = apply(
            &mut t,
            value_record(SchemaAndValue::schemaless(smap(vec![
                ("a", Value::Int32(1)),
                ("c", Value::Int32(3)),
            ]))),
        );
        assert_eq!(out.value.value, smap(vec![("a", Value::Int32(1))]));
    }

    #[test]
    fn key_variant_and_type_errors() {
        let mut t = transform("ReplaceField$Key", &[("exclude", "x")]);
        let r = value_record(SchemaAndValue::schemaless(Value::from("v"))).with_key(
            SchemaAndValue::schemaless(smap(vec![("x", Value::Int32(1)), ("y", Value::Int32(2))])),
        );
        let out = apply(&mut t, r);
        assert_eq!(out.key.value, smap(vec![("y", Value::Int32(2))]));
        let e = try_apply(
            &mut t,
            value_record(SchemaAndValue::NULL)
                .with_key(SchemaAndValue::schemaless(Value::Int32(3))),
        )
        .unwrap_err();
        assert!(
            e.contains("ReplaceField$Key") && e.contains("int32"),
            "{}",
            e
        );
    }

    #[test]
    fn bad_renames_rejected() {
        for bad in ["foo", "a:b:c", "a:"] {
            let e = try_transform("ReplaceField$Value", &[("renames", bad)])
                .err()
                .unwrap();
            assert_eq!(e.0[0].key, "renames");
            assert!(
                e.0[0].message.contains("Invalid rename mapping"),
                "{}",
                e.0[0].message
            );
        }
    }
}
