//! `ExtractField$Key` / `ExtractField$Value`: replaces the key or value with one of its
//! fields. With `field.syntax.version=V2`, dotted paths reach nested fields.

use super::util::{config_error, map_get, replace_null_with_default_key, with_default, Side};
use super::{Fate, Transform, TransformPlugin};
use crate::config::{ConfigDef, ConfigErrors, ConfigKey, ParsedConfig};
use crate::data::{Field, Record, SchemaAndValue, SchemaRef, Value};

const DOC: &str = "Extract the specified field from a Struct when schema present, or a Map in the case of schemaless data. Any null values are passed through unmodified. Use the concrete transformation type designed for the record key (org.apache.kafka.connect.transforms.ExtractField$Key) or value (org.apache.kafka.connect.transforms.ExtractField$Value).";

pub(super) const KEY: TransformPlugin = TransformPlugin {
    class: "org.apache.kafka.connect.transforms.ExtractField$Key",
    aliases: &["ExtractField$Key"],
    doc: DOC,
    config_def,
    create: |c| create(c, Side::Key),
};

pub(super) const VALUE: TransformPlugin = TransformPlugin {
    class: "org.apache.kafka.connect.transforms.ExtractField$Value",
    aliases: &["ExtractField$Value"],
    doc: DOC,
    config_def,
    create: |c| create(c, Side::Value),
};

pub(crate) const FIELD_SYNTAX_DOC: &str = "Defines the version of the syntax to access fields. If set to V1, then the field paths are limited to access the elements at the root level of the struct or map. If set to V2, the syntax will support accessing nested elements. To access nested elements, dotted notation is used. If dots are already included in the field name, then backtick pairs can be used to wrap field names containing dots. E.g. to access the subfield baz from a field named \"foo.bar\" in a struct/map the following format can be used to access its elements: \"`foo.bar`.baz\".";

pub(super) fn config_def() -> ConfigDef {
    ConfigDef::new()
        .define(ConfigKey::string("field").doc("Field name to extract."))
        .define(
            ConfigKey::string("field.syntax.version")
                .default("V1")
                .one_of(&["V1", "V2"])
                .doc(FIELD_SYNTAX_DOC),
        )
        .define(replace_null_with_default_key())
}

/// Splits a V2 field path: dots separate steps; a step wrapped in backticks may contain
/// dots (a backslash before a backtick inside keeps it literal).
pub(crate) fn parse_path_v2(path: &str) -> Result<Vec<String>, String> {
    let chars: Vec<char> = path.chars().collect();
    let mut steps = Vec::new();
    let mut i = 0;
    loop {
        let mut step = String::new();
        if chars.get(i) == Some(&'`') {
            // Find the closing backtick that ends the step (followed by '.' or the end).
            let mut j = i + 1;
            let mut closed = None;
            while j < chars.len() {
                match chars[j] {
                    '\\' if chars.get(j + 1) == Some(&'`') => {
                        step.push('`');
                        j += 2;
                        continue;
                    }
                    '`' if j + 1 == chars.len() || chars[j + 1] == '.' => {
                        closed = Some(j);
                        break;
                    }
                    c => step.push(c),
                }
                j += 1;
            }
            match closed {
                Some(j) => i = j + 1,
                None => {
                    // No closing backtick: the backtick is part of the name.
                    step.clear();
                    while i < chars.len() && chars[i] != '.' {
                        step.push(chars[i]);
                        i += 1;
                    }
                }
            }
        } else {
            while i < chars.len() && chars[i] != '.' {
                step.push(chars[i]);
                i += 1;
            }
        }
        steps.push(step);
        if i >= chars.len() {
            break;
        }
        i += 1; // the dot
        if i == chars.len() {
            steps.push(String::new());
            break;
        }
    }
    if steps.iter().any(|s| s.is_empty()) {
        return Err(format!("field path {} has an empty step", path));
    }
    Ok(steps)
}

/// A parsed field path: one step for V1, the dotted steps for V2.
pub(crate) fn parse_path(path: &str, version: &str) -> Result<Vec<String>, String> {
    if version.eq_ignore_ascii_case("V2") {
        parse_path_v2(path)
    } else {
        Ok(vec![path.to_string()])
    }
}

/// The field at `path` in a struct schema, `None` if absent.
pub(crate) fn field_at<'a>(schema: &'a SchemaRef, path: &[String]) -> Option<&'a Field> {
    let (last, parents) = path.split_last()?;
    let mut s = schema;
    for p in parents {
        s = &s.field(p)?.schema;
    }
    s.field(last)
}

/// The value at `path` (null if any step is missing or null).
pub(crate) fn value_at(v: &Value, path: &[String], replace_null_with_default: bool) -> Value {
    let mut cur = v;
    let mut owned;
    for step in path {
        match cur {
            Value::Struct(s) => match s.schema().field(step) {
                Some(f) => {
                    owned = with_default(f, s.values()[f.index].clone(), replace_null_with_default);
                    cur = &owned;
                    continue;
                }
                None => return Value::Null,
            },
            Value::Map(entries) => match map_get(entries, step) {
                Some(x) => cur = x,
                None => return Value::Null,
            },
            _ => return Value::Null,
        }
    }
    cur.clone()
}

struct ExtractField {
    side: Side,
    name: &'static str,
    original: String,
    path: Vec<String>,
    replace_null_with_default: bool,
}

fn create(c: &ParsedConfig, side: Side) -> Result<Box<dyn Transform>, ConfigErrors> {
    let original = c.str("field");
    let path = parse_path(&original, &c.str("field.syntax.version"))
        .map_err(|e| config_error("field", e))?;
    Ok(Box::new(ExtractField {
        side,
        name: match side {
            Side::Key => "ExtractField$Key",
            Side::Value => "ExtractField$Value",
        },
        original,
        path,
        replace_null_with_default: c.boolean("replace.null.with.default"),
    }))
}

const PURPOSE: &str = "field extraction";

impl Transform for ExtractField {
    fn apply(&mut self, record: &mut Record) -> Result<Fate, String> {
        let data = self.side.get(record);
        let out = match &data.schema {
            None => match &data.value {
                Value::Null => SchemaAndValue::NULL,
                v @ Value::Map(_) => SchemaAndValue::schemaless(value_at(
                    v,
                    &self.path,
                    self.replace_null_with_default,
                )),
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
                let field = field_at(schema, &self.path)
                    .ok_or_else(|| format!("{}: unknown field: {}", self.name, self.original))?;
                match &data.value {
                    Value::Null => SchemaAndValue::with_schema(field.schema.clone(), Value::Null),
                    v @ Value::Struct(_) => SchemaAndValue::with_schema(
                        field.schema.clone(),
                        value_at(v, &self.path, self.replace_null_with_default),
                    ),
                    other => {
                        return Err(super::util::require_struct_err(self.name, PURPOSE, other))
                    }
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
    use super::parse_path_v2;
    use crate::data::{SchemaAndValue, SchemaBuilder, SchemaType::*, Value};

    #[test]
    fn schemaless() {
        let mut t = transform("ExtractField$Key", &[("field", "magic")]);
        let r = value_record(SchemaAndValue::NULL).with_key(SchemaAndValue::schemaless(smap(
            vec![("magic", Value::Int64(42))],
        )));
        let out = apply(&mut t, r);
        assert!(out.key.schema.is_none());
        assert_eq!(out.key.value, Value::Int64(42));
    }

    #[test]
    fn schemaless_missing_field_and_null() {
        let mut t = transform("ExtractField$Key", &[("field", "nonexistent")]);
        let r = value_record(SchemaAndValue::NULL).with_key(SchemaAndValue::schemaless(smap(
            vec![("magic", Value::Int64(42))],
        )));
        assert_eq!(apply(&mut t, r).key, SchemaAndValue::NULL);
        let r = value_record(SchemaAndValue::NULL);
        assert_eq!(apply(&mut t, r).key, SchemaAndValue::NULL);
    }

    #[test]
    fn with_schema() {
        let schema = SchemaBuilder::struct_().field("magic", s(Int32)).build();
        let mut t = transform("ExtractField$Key", &[("field", "magic")]);
        let r = value_record(SchemaAndValue::NULL).with_key(SchemaAndValue::with_schema(
            schema.clone(),
            Value::Struct(st(&schema, vec![Value::Int32(42)])),
        ));
        let out = apply(&mut t, r);
        assert_eq!(out.key.schema, Some(s(Int32)));
        assert_eq!(out.key.value, Value::Int32(42));
    }

    #[test]
    fn with_schema_null_value_keeps_field_schema() {
        let schema = SchemaBuilder::struct_()
            .optional()
            .field("magic", s(Int32))
            .build();
        let mut t = transform("ExtractField$Value", &[("field", "magic")]);
        let out = apply(
            &mut t,
            value_record(SchemaAndValue::with_schema(schema, Value::Null)),
        );
        assert_eq!(out.value.schema, Some(s(Int32)));
        assert_eq!(out.value.value, Value::Null);
    }

    #[test]
    fn with_schema_unknown_field_fails() {
        let schema = SchemaBuilder::struct_().field("magic", s(Int32)).build();
        let mut t = transform("ExtractField$Value", &[("field", "nonexistent")]);
        let e = try_apply(
            &mut t,
            value_record(SchemaAndValue::with_schema(
                schema.clone(),
                Value::Struct(st(&schema, vec![Value::Int32(42)])),
            )),
        )
        .unwrap_err();
        assert!(e.contains("unknown field: nonexistent"), "{}", e);
    }

    #[test]
    fn nested_v2_paths() {
        let inner = SchemaBuilder::struct_().field("baz", s(String)).build();
        let schema = SchemaBuilder::struct_()
            .field("foo.bar", inner.clone())
            .build();
        let value = st(
            &schema,
            vec![Value::Struct(st(&inner, vec![Value::from("x")]))],
        );
        let mut t = transform(
            "ExtractField$Value",
            &[("field", "`foo.bar`.baz"), ("field.syntax.version", "V2")],
        );
        let out = apply(
            &mut t,
            value_record(SchemaAndValue::with_schema(schema, Value::Struct(value))),
        );
        assert_eq!(out.value.schema, Some(s(String)));
        assert_eq!(out.value.value, Value::from("x"));

        let mut t = transform(
            "ExtractField$Value",
            &[("field", "a.b"), ("field.syntax.version", "V2")],
        );
        let out = apply(
            &mut t,
            value_record(SchemaAndValue::schemaless(smap(vec![(
                "a",
                smap(vec![("b", Value::Int64(5))]),
            )]))),
        );
        assert_eq!(out.value.value, Value::Int64(5));
        // V1 treats the dotted name as one field.
        let mut t = transform("ExtractField$Value", &[("field", "a.b")]);
        let out = apply(
            &mut t,
            value_record(SchemaAndValue::schemaless(smap(vec![(
                "a.b",
                Value::Int64(6),
            )]))),
        );
        assert_eq!(out.value.value, Value::Int64(6));
    }

    #[test]
    fn v2_path_parsing() {
        assert_eq!(parse_path_v2("a.b.c").unwrap(), vec!["a", "b", "c"]);
        assert_eq!(parse_path_v2("`a.b`.c").unwrap(), vec!["a.b", "c"]);
        assert_eq!(parse_path_v2("a.`b.c`").unwrap(), vec!["a", "b.c"]);
        assert_eq!(parse_path_v2("`a\\`b`").unwrap(), vec!["a`b"]);
        assert!(parse_path_v2("a..b").is_err());
        assert!(parse_path_v2("a.").is_err());
        let e = try_transform(
            "ExtractField$Value",
            &[("field", "a..b"), ("field.syntax.version", "V2")],
        )
        .err()
        .unwrap();
        assert_eq!(e.0[0].key, "field");
    }
}
