//! Connect schemas as JSON (the `schema` half of `JsonConverter`'s envelope), written in
//! Connect's field order: `type`, then `items`/`keys`,`values`/`fields`, `optional`,
//! `name`, `version`, `doc`, `parameters`, `default`; each struct field ends with `field`.

use serde_json::{Map, Value as Json};

use super::json_value::{value_from_json, value_to_json, DecimalFormat};
use super::ConvertError;
use crate::data::{Schema, SchemaBuilder, SchemaRef, SchemaType};

/// Writes a schema as Connect's JSON schema.
pub fn schema_to_json(schema: &Schema, decimal: DecimalFormat) -> Result<Json, ConvertError> {
    let mut o = Map::new();
    o.insert("type".into(), Json::String(schema.kind.name().into()));
    match schema.kind {
        SchemaType::Array => {
            let items = schema
                .value_schema
                .as_ref()
                .ok_or_else(|| ConvertError::new("array schema has no item schema"))?;
            o.insert("items".into(), schema_to_json(items, decimal)?);
        }
        SchemaType::Map => {
            let (k, v) = match (&schema.key_schema, &schema.value_schema) {
                (Some(k), Some(v)) => (k, v),
                _ => return Err(ConvertError::new("map schema lacks a key or value schema")),
            };
            o.insert("keys".into(), schema_to_json(k, decimal)?);
            o.insert("values".into(), schema_to_json(v, decimal)?);
        }
        SchemaType::Struct => {
            let mut fields = Vec::with_capacity(schema.fields.len());
            for f in &schema.fields {
                let mut fj = schema_to_json(&f.schema, decimal)?;
                fj.as_object_mut()
                    .expect("schema json is an object")
                    .insert("field".into(), Json::String(f.name.clone()));
                fields.push(fj);
            }
            o.insert("fields".into(), Json::Array(fields));
        }
        _ => {}
    }
    o.insert("optional".into(), Json::Bool(schema.optional));
    if let Some(n) = &schema.name {
        o.insert("name".into(), Json::String(n.clone()));
    }
    if let Some(v) = schema.version {
        o.insert("version".into(), Json::from(v));
    }
    if let Some(d) = &schema.doc {
        o.insert("doc".into(), Json::String(d.clone()));
    }
    if !schema.parameters.is_empty() {
        let p: Map<String, Json> = schema
            .parameters
            .iter()
            .map(|(k, v)| (k.clone(), Json::String(v.clone())))
            .collect();
        o.insert("parameters".into(), Json::Object(p));
    }
    if let Some(d) = &schema.default {
        o.insert(
            "default".into(),
            value_to_json(Some(schema), d, decimal, true)?,
        );
    }
    Ok(Json::Object(o))
}

/// Reads Connect's JSON schema. JSON `null` means no schema.
pub fn schema_from_json(json: &Json) -> Result<Option<SchemaRef>, ConvertError> {
    if json.is_null() {
        return Ok(None);
    }
    schema_from_json_inner(json).map(Some)
}

fn schema_from_json_inner(json: &Json) -> Result<SchemaRef, ConvertError> {
    let o = json
        .as_object()
        .ok_or_else(|| ConvertError::new("Schema must be a JSON object"))?;
    let type_name = o
        .get("type")
        .and_then(Json::as_str)
        .ok_or_else(|| ConvertError::new("Schema must contain 'type' field"))?;
    let kind = SchemaType::from_name(type_name)
        .ok_or_else(|| ConvertError::new(format!("Unknown schema type: {}", type_name)))?;
    let mut b = match kind {
        SchemaType::Array => {
            let items = o.get("items").filter(|v| !v.is_null()).ok_or_else(|| {
                ConvertError::new("Array schema did not specify the element type")
            })?;
            SchemaBuilder::array(schema_from_json_inner(items)?)
        }
        SchemaType::Map => {
            let k = o
                .get("keys")
                .filter(|v| !v.is_null())
                .ok_or_else(|| ConvertError::new("Map schema did not specify the key type"))?;
            let v = o
                .get("values")
                .filter(|v| !v.is_null())
                .ok_or_else(|| ConvertError::new("Map schema did not specify the value type"))?;
            SchemaBuilder::map(schema_from_json_inner(k)?, schema_from_json_inner(v)?)
        }
        SchemaType::Struct => {
            let fields = o.get("fields").and_then(Json::as_array).ok_or_else(|| {
                ConvertError::new("Struct schema's \"fields\" argument is not an array.")
            })?;
            let mut b = SchemaBuilder::struct_();
            let mut seen = std::collections::HashSet::with_capacity(fields.len());
            for f in fields {
                let name = f.get("field").and_then(Json::as_str).ok_or_else(|| {
                    ConvertError::new("Struct schema's field name not specified properly")
                })?;
                if !seen.insert(name) {
                    return Err(ConvertError::new(format!(
                        "Struct schema has the field {} twice",
                        name
                    )));
                }
                b = b.field(name, schema_from_json_inner(f)?);
            }
            b
        }
        _ => SchemaBuilder::new(kind),
    };
    if o.get("optional").and_then(Json::as_bool) == Some(true) {
        b = b.optional();
    }
    if let Some(n) = o.get("name").and_then(Json::as_str) {
        b = b.name(n);
    }
    if let Some(v) = o.get("version").and_then(Json::as_i64) {
        b = b.version(v as i32);
    }
    if let Some(d) = o.get("doc").and_then(Json::as_str) {
        b = b.doc(d);
    }
    if let Some(params) = o.get("parameters") {
        let p = params
            .as_object()
            .ok_or_else(|| ConvertError::new("Schema parameters must be a JSON object."))?;
        for (k, v) in p {
            let s = v
                .as_str()
                .ok_or_else(|| ConvertError::new("Schema parameters must have string values."))?;
            b = b.parameter(k.clone(), s);
        }
    }
    if let Some(d) = o.get("default").filter(|d| !d.is_null()) {
        let without_default = b.clone().build();
        let dv = value_from_json(Some(&without_default), d)?;
        b = b.default_value(dv);
    }
    Ok(b.build())
}
