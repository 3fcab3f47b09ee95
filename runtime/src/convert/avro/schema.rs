//! Connect schema → Avro schema, as Confluent's `AvroData.fromConnectSchema` writes it:
//! structs become records (unnamed ones `io.confluent.connect.avro.ConnectDefault`),
//! optional schemas unions with `null` (default null), int8/int16 `int` with
//! `connect.type`, Decimal/Date/Time/Timestamp Avro logical types, maps with string
//! keys Avro maps and other maps arrays of `io.confluent.connect.avro.MapEntry`
//! records, and the schema's name, version, doc and parameters as `connect.name`,
//! `connect.version`, `connect.doc` and `connect.parameters`.

use std::collections::HashMap;

use serde_json::{json, Map, Value as Json};

use crate::convert::ConvertError;
use crate::data::logical::Logical;
use crate::data::{Schema, SchemaType, Value};

/// Namespace Confluent gives the records it names itself.
pub(super) const NAMESPACE: &str = "io.confluent.connect.avro";
pub(super) const DEFAULT_RECORD: &str = "ConnectDefault";
pub(super) const MAP_ENTRY: &str = "MapEntry";
/// Confluent's default precision for Decimal schemas without `connect.decimal.precision`.
const DEFAULT_PRECISION: i64 = 64;
pub(super) const PRECISION_PARAM: &str = "connect.decimal.precision";

/// The Avro schema (JSON) for a Connect schema.
pub fn avro_schema_from_connect(schema: &Schema, meta: bool) -> Result<Json, ConvertError> {
    let mut b = Builder {
        meta,
        defined: HashMap::new(),
        unnamed: 0,
    };
    b.schema(schema, true)
}

struct Builder {
    meta: bool,
    /// Record names already defined in this schema, with their definitions: a second
    /// use refers to the first by name (Avro allows one definition per name).
    defined: HashMap<String, Json>,
    unnamed: usize,
}

impl Builder {
    /// `schema` as Avro; `wrap_optional`: an optional schema becomes `["null", T]`.
    fn schema(&mut self, s: &Schema, wrap_optional: bool) -> Result<Json, ConvertError> {
        let base = self.non_null(s)?;
        if s.optional && wrap_optional {
            Ok(json!(["null", base]))
        } else {
            Ok(base)
        }
    }

    fn meta_props(&self, s: &Schema, obj: &mut Map<String, Json>, with_name: bool) {
        if !self.meta {
            return;
        }
        if let Some(v) = s.version {
            obj.insert("connect.version".into(), json!(v));
        }
        if let Some(d) = &s.doc {
            obj.insert("connect.doc".into(), json!(d));
        }
        if !s.parameters.is_empty() {
            obj.insert("connect.parameters".into(), json!(s.parameters));
        }
        if with_name {
            if let Some(n) = &s.name {
                obj.insert("connect.name".into(), json!(n));
            }
        }
    }

    fn primitive(&self, s: &Schema, avro: &str, extra: &[(&str, Json)]) -> Json {
        let mut obj = Map::new();
        obj.insert("type".into(), json!(avro));
        for (k, v) in extra {
            obj.insert((*k).into(), v.clone());
        }
        self.meta_props(s, &mut obj, true);
        if obj.len() == 1 {
            json!(avro)
        } else {
            Json::Object(obj)
        }
    }

    fn non_null(&mut self, s: &Schema) -> Result<Json, ConvertError> {
        if let Some(l) = Logical::of(s) {
            return Ok(match l {
                Logical::Decimal { scale } => {
                    let precision = s
                        .parameters
                        .get(PRECISION_PARAM)
                        .and_then(|p| p.parse::<i64>().ok())
                        .unwrap_or(DEFAULT_PRECISION);
                    let mut obj = Map::new();
                    obj.insert("type".into(), json!("bytes"));
                    obj.insert("scale".into(), json!(scale));
                    obj.insert("precision".into(), json!(precision));
                    self.meta_props(s, &mut obj, true);
                    obj.insert("logicalType".into(), json!("decimal"));
                    Json::Object(obj)
                }
                Logical::Date => self.primitive(s, "int", &[("logicalType", json!("date"))]),
                Logical::Time => self.primitive(s, "int", &[("logicalType", json!("time-millis"))]),
                Logical::Timestamp => {
                    self.primitive(s, "long", &[("logicalType", json!("timestamp-millis"))])
                }
            });
        }
        Ok(match s.kind {
            SchemaType::Int8 if self.meta => {
                self.primitive(s, "int", &[("connect.type", json!("int8"))])
            }
            SchemaType::Int16 if self.meta => {
                self.primitive(s, "int", &[("connect.type", json!("int16"))])
            }
            SchemaType::Int8 | SchemaType::Int16 | SchemaType::Int32 => {
                self.primitive(s, "int", &[])
            }
            SchemaType::Int64 => self.primitive(s, "long", &[]),
            SchemaType::Float32 => self.primitive(s, "float", &[]),
            SchemaType::Float64 => self.primitive(s, "double", &[]),
            SchemaType::Boolean => self.primitive(s, "boolean", &[]),
            SchemaType::String => self.primitive(s, "string", &[]),
            SchemaType::Bytes => self.primitive(s, "bytes", &[]),
            SchemaType::Array => {
                let items = s
                    .value_schema
                    .as_ref()
                    .ok_or_else(|| ConvertError::new("an array schema without an item schema"))?;
                let mut obj = Map::new();
                obj.insert("type".into(), json!("array"));
                obj.insert("items".into(), self.schema(items, true)?);
                self.meta_props(s, &mut obj, true);
                Json::Object(obj)
            }
            SchemaType::Map => {
                let (Some(k), Some(v)) = (&s.key_schema, &s.value_schema) else {
                    return Err(ConvertError::new(
                        "a map schema without key and value schemas",
                    ));
                };
                let mut obj = Map::new();
                if k.kind == SchemaType::String && !k.optional && k.name.is_none() {
                    obj.insert("type".into(), json!("map"));
                    obj.insert("values".into(), self.schema(v, true)?);
                } else {
                    let entry = json!({
                        "type": "record",
                        "name": MAP_ENTRY,
                        "namespace": NAMESPACE,
                        "fields": [
                            {"name": "key", "type": self.schema(k, true)?},
                            {"name": "value", "type": self.schema(v, true)?},
                        ]
                    });
                    let full = format!("{}.{}", NAMESPACE, MAP_ENTRY);
                    obj.insert("type".into(), json!("array"));
                    obj.insert("items".into(), self.define(full, entry)?);
                }
                self.meta_props(s, &mut obj, true);
                Json::Object(obj)
            }
            SchemaType::Struct => self.record(s)?,
        })
    }

    fn record(&mut self, s: &Schema) -> Result<Json, ConvertError> {
        let full = match &s.name {
            Some(n) => n.clone(),
            None => {
                self.unnamed += 1;
                if self.unnamed == 1 {
                    format!("{}.{}", NAMESPACE, DEFAULT_RECORD)
                } else {
                    format!("{}.{}{}", NAMESPACE, DEFAULT_RECORD, self.unnamed)
                }
            }
        };
        let (namespace, name) = match full.rsplit_once('.') {
            Some((ns, n)) => (Some(ns), n),
            None => (None, full.as_str()),
        };
        let mut obj = Map::new();
        obj.insert("type".into(), json!("record"));
        obj.insert("name".into(), json!(name));
        if let Some(ns) = namespace {
            obj.insert("namespace".into(), json!(ns));
        }
        if let Some(d) = &s.doc {
            obj.insert("doc".into(), json!(d));
        }
        let mut fields = Vec::with_capacity(s.fields.len());
        for f in &s.fields {
            let mut field = Map::new();
            field.insert("name".into(), json!(f.name));
            let fs = &f.schema;
            let default = fs.default.as_ref().filter(|d| !d.is_null());
            let ty = match (fs.optional, default) {
                // A non-null default must match the union's first branch.
                (true, Some(_)) => json!([self.non_null(fs)?, "null"]),
                _ => self.schema(fs, true)?,
            };
            field.insert("type".into(), ty);
            if let Some(d) = &fs.doc {
                field.insert("doc".into(), json!(d));
            }
            match default {
                Some(d) => {
                    field.insert("default".into(), default_json(fs, d)?);
                }
                None if fs.optional => {
                    field.insert("default".into(), Json::Null);
                }
                None => {}
            }
            fields.push(Json::Object(field));
        }
        obj.insert("fields".into(), Json::Array(fields));
        self.meta_props(s, &mut obj, true);
        self.define(full, Json::Object(obj))
    }

    /// The definition the first time a name is used, then the name alone.
    fn define(&mut self, full: String, def: Json) -> Result<Json, ConvertError> {
        match self.defined.get(&full) {
            None => {
                self.defined.insert(full, def.clone());
                Ok(def)
            }
            Some(d) if *d == def => Ok(json!(full)),
            Some(_) => Err(ConvertError::new(format!(
                "two different struct schemas are named {}; Avro needs one definition per name",
                full
            ))),
        }
    }
}

/// A field default as Avro JSON (bytes as ISO-8859-1 strings, as Avro specifies).
fn default_json(s: &Schema, v: &Value) -> Result<Json, ConvertError> {
    Ok(match v {
        Value::Null => Json::Null,
        Value::Boolean(b) => json!(b),
        Value::Int8(i) => json!(i),
        Value::Int16(i) => json!(i),
        Value::Int32(i) => json!(i),
        Value::Int64(i) => json!(i),
        Value::Float32(f) => json!(f),
        Value::Float64(f) => json!(f),
        Value::String(t) => json!(t),
        Value::Bytes(b) => json!(b.iter().map(|c| *c as char).collect::<String>()),
        Value::Array(items) => {
            let item = s.value_schema.as_deref();
            Json::Array(
                items
                    .iter()
                    .map(|i| match item {
                        Some(is) => default_json(is, i),
                        None => Err(ConvertError::new("array default without item schema")),
                    })
                    .collect::<Result<_, _>>()?,
            )
        }
        Value::Map(entries) => {
            let mut m = Map::new();
            let vs = s.value_schema.as_deref();
            for (k, val) in entries {
                let (Some(k), Some(vs)) = (k.as_str(), vs) else {
                    return Err(ConvertError::new(
                        "a map default needs string keys to be written as an Avro default",
                    ));
                };
                m.insert(k.to_string(), default_json(vs, val)?);
            }
            Json::Object(m)
        }
        Value::Struct(st) => {
            let mut m = Map::new();
            for (f, val) in st.iter() {
                m.insert(f.name.clone(), default_json(&f.schema, val)?);
            }
            Json::Object(m)
        }
    })
}
