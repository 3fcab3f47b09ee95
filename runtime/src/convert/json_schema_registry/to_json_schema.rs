//! Connect schema → JSON Schema, as Confluent's `JsonSchemaData.fromConnectSchema`
//! writes it:
//!
//! - int8/16/32/64 → `{"type":"integer","connect.type":"int8"}` (…), float32/64 →
//!   `{"type":"number","connect.type":"float32"}`, boolean → `boolean`, string →
//!   `string`, bytes → `{"type":"string","connect.type":"bytes"}` (base64 values);
//!   Decimal with `decimal.format=NUMERIC` is a `number` with `connect.type: bytes`;
//! - struct → `{"type":"object","title":<name>,"properties":{…}}`, each property with
//!   `connect.index` (its position), `additionalProperties: false` when
//!   `object.additional.properties=false`; no `required` list (Confluent writes none);
//! - optional → `{"oneOf":[{"type":"null"},<schema>]}` (`connect.index` on the `oneOf`);
//! - array → `{"type":"array","items":…}`; a map with required string keys →
//!   `{"type":"object","additionalProperties":<values>,"connect.type":"map"}`, any other
//!   map → an array of `{"key":…,"value":…}` objects with `connect.type: map`;
//! - the schema's name → `title` (so logical types keep theirs:
//!   `org.apache.kafka.connect.data.Decimal`, `…Date`, `…Time`, `…Timestamp`), version →
//!   `connect.version`, doc → `description`, parameters → `connect.parameters`, default
//!   → `default`;
//! - a string with `io.confluent.connect.json.Enum.*` parameters → `enum`, a struct named
//!   `io.confluent.connect.json.OneOf` (a union read from a `oneOf`) → `oneOf` again.

use serde_json::{json, Map, Value as Json};

use super::value::json_from_connect;
use super::JsonSchemaOptions;
use crate::convert::{ConvertError, DecimalFormat};
use crate::data::logical::DECIMAL;
use crate::data::{Schema, SchemaType};

/// Parameter prefix of the names Confluent's JSON Schema converter keeps to itself.
pub(super) const NAMESPACE: &str = "io.confluent.connect.json";
/// Name of the Connect struct that stands for a JSON Schema `oneOf`/`anyOf`.
pub(super) const ONE_OF: &str = "io.confluent.connect.json.OneOf";
/// Parameter marking a string schema as a JSON Schema `enum`.
pub(super) const ENUM: &str = "io.confluent.connect.json.Enum";
/// How a null enum symbol is kept in a parameter name.
pub(super) const NULL_MARKER: &str = "<NULL>";

/// The JSON Schema of a Connect schema, as Confluent's converter registers it.
pub fn json_schema_from_connect(
    schema: &Schema,
    options: &JsonSchemaOptions,
) -> Result<Json, ConvertError> {
    convert(schema, options, None, false)
}

fn non_optional(schema: &Schema) -> Schema {
    let mut s = schema.clone();
    s.optional = false;
    s
}

fn convert(
    schema: &Schema,
    options: &JsonSchemaOptions,
    index: Option<usize>,
    ignore_optional: bool,
) -> Result<Json, ConvertError> {
    let mut out = Map::new();
    let mut connect_props = Map::new();
    let mut combined = false;
    match schema.kind {
        SchemaType::Int8 | SchemaType::Int16 | SchemaType::Int32 | SchemaType::Int64 => {
            out.insert("type".into(), json!("integer"));
            connect_props.insert("connect.type".into(), json!(schema.kind.name()));
        }
        SchemaType::Float32 | SchemaType::Float64 => {
            out.insert("type".into(), json!("number"));
            let t = if schema.kind == SchemaType::Float32 {
                "float32"
            } else {
                "float64"
            };
            connect_props.insert("connect.type".into(), json!(t));
        }
        SchemaType::Boolean => {
            out.insert("type".into(), json!("boolean"));
        }
        SchemaType::String => {
            let symbols: Vec<Json> = schema
                .parameters
                .keys()
                .filter_map(|k| k.strip_prefix(ENUM)?.strip_prefix('.'))
                .map(|s| {
                    if s == NULL_MARKER {
                        Json::Null
                    } else {
                        json!(s)
                    }
                })
                .collect();
            if schema.parameters.contains_key(ENUM) || !symbols.is_empty() {
                out.insert("enum".into(), Json::Array(symbols));
            } else {
                out.insert("type".into(), json!("string"));
            }
        }
        SchemaType::Bytes => {
            let numeric = schema.name.as_deref() == Some(DECIMAL)
                && options.decimal_format == DecimalFormat::Numeric;
            out.insert(
                "type".into(),
                json!(if numeric { "number" } else { "string" }),
            );
            connect_props.insert("connect.type".into(), json!("bytes"));
        }
        SchemaType::Array => {
            let items = schema.value_schema.as_deref().ok_or_else(|| {
                ConvertError::new("an array schema without an item schema has no JSON Schema")
            })?;
            out.insert("type".into(), json!("array"));
            out.insert("items".into(), convert(items, options, None, false)?);
        }
        SchemaType::Map => {
            let (Some(ks), Some(vs)) =
                (schema.key_schema.as_deref(), schema.value_schema.as_deref())
            else {
                return Err(ConvertError::new(
                    "a map schema without key and value schemas has no JSON Schema",
                ));
            };
            if ks.kind == SchemaType::String && !ks.optional {
                out.insert("type".into(), json!("object"));
                out.insert(
                    "additionalProperties".into(),
                    convert(vs, options, None, false)?,
                );
            } else {
                let entry = json!({
                    "type": "object",
                    "properties": {
                        "key": convert(ks, options, Some(0), false)?,
                        "value": convert(vs, options, Some(1), false)?,
                    }
                });
                out.insert("type".into(), json!("array"));
                out.insert("items".into(), entry);
            }
            connect_props.insert("connect.type".into(), json!("map"));
        }
        SchemaType::Struct => {
            if schema.name.as_deref() == Some(ONE_OF) {
                combined = true;
                let mut subs = Vec::new();
                if schema.optional {
                    subs.push(json!({"type": "null"}));
                }
                for f in &schema.fields {
                    subs.push(convert(
                        &non_optional(&f.schema),
                        options,
                        Some(f.index),
                        true,
                    )?);
                }
                out.insert("oneOf".into(), Json::Array(subs));
            } else if schema.optional && !ignore_optional {
                combined = true;
                out.insert(
                    "oneOf".into(),
                    json!([
                        {"type": "null"},
                        convert(&non_optional(schema), options, None, false)?
                    ]),
                );
            } else {
                let mut props = Map::new();
                for f in &schema.fields {
                    props.insert(
                        f.name.clone(),
                        convert(&f.schema, options, Some(f.index), false)?,
                    );
                }
                out.insert("type".into(), json!("object"));
                out.insert("properties".into(), Json::Object(props));
                if !options.additional_properties {
                    out.insert("additionalProperties".into(), json!(false));
                }
            }
        }
    }

    if !combined {
        if let Some(name) = &schema.name {
            out.insert("title".into(), json!(name));
        }
        if let Some(v) = schema.version {
            connect_props.insert("connect.version".into(), json!(v));
        }
        if let Some(doc) = &schema.doc {
            out.insert("description".into(), json!(doc));
        }
        let params: Map<String, Json> = schema
            .parameters
            .iter()
            .filter(|(k, _)| !k.starts_with(NAMESPACE))
            .map(|(k, v)| (k.clone(), json!(v)))
            .collect();
        if !params.is_empty() {
            connect_props.insert("connect.parameters".into(), Json::Object(params));
        }
        if let Some(d) = &schema.default {
            if let Some(j) = json_from_connect(schema, d, options)? {
                out.insert("default".into(), j);
            }
        }
        if schema.optional && !ignore_optional {
            out.extend(connect_props);
            let mut wrapper = Map::new();
            wrapper.insert("oneOf".into(), json!([{"type": "null"}, Json::Object(out)]));
            if let Some(i) = index {
                wrapper.insert("connect.index".into(), json!(i));
            }
            return Ok(Json::Object(wrapper));
        }
    }
    out.extend(connect_props);
    if let Some(i) = index {
        out.insert("connect.index".into(), json!(i));
    }
    Ok(Json::Object(out))
}
