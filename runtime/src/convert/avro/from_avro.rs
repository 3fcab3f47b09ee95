//! Avro schema → Connect schema, as Confluent's `AvroData.toConnectSchema` reads it:
//! the `connect.*` properties give back names, versions, docs, parameters and
//! int8/int16; Avro's decimal, date, time-millis and timestamp-millis become Connect's
//! logical types; a union with `null` is an optional schema; arrays of
//! `io.confluent.connect.avro.MapEntry` records are maps; enums are strings and fixed
//! is bytes. Unions of several non-null types are refused with a clear error.

use std::collections::HashMap;

use serde_json::{Map, Value as Json};

use super::schema::{DEFAULT_RECORD, MAP_ENTRY, NAMESPACE, PRECISION_PARAM};
use crate::convert::ConvertError;
use crate::data::{logical, SchemaBuilder, SchemaRef, SchemaType};

/// The Connect schema of an Avro schema (JSON text parsed by the caller).
pub fn connect_schema_from_avro(avro: &Json) -> Result<SchemaRef, ConvertError> {
    let mut r = Reader {
        named: HashMap::new(),
        depth: 0,
    };
    r.schema(avro, None, false)
}

struct Reader {
    /// Named types defined so far (full name → Connect schema, required form).
    named: HashMap<String, SchemaRef>,
    depth: usize,
}

const MAX_DEPTH: usize = 64;

fn full_name(obj: &Map<String, Json>, enclosing_ns: Option<&str>) -> Option<String> {
    let name = obj.get("name")?.as_str()?;
    if name.contains('.') {
        return Some(name.to_string());
    }
    match obj
        .get("namespace")
        .and_then(Json::as_str)
        .or(enclosing_ns)
        .filter(|ns| !ns.is_empty())
    {
        Some(ns) => Some(format!("{}.{}", ns, name)),
        None => Some(name.to_string()),
    }
}

impl Reader {
    fn schema(
        &mut self,
        j: &Json,
        ns: Option<&str>,
        optional: bool,
    ) -> Result<SchemaRef, ConvertError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(ConvertError::new(format!(
                "Avro schema nested more than {} levels",
                MAX_DEPTH
            )));
        }
        let r = self.schema_inner(j, ns, optional);
        self.depth -= 1;
        r
    }

    fn schema_inner(
        &mut self,
        j: &Json,
        ns: Option<&str>,
        optional: bool,
    ) -> Result<SchemaRef, ConvertError> {
        match j {
            Json::String(t) => self.named_or_primitive(t, &Map::new(), ns, optional),
            Json::Array(branches) => {
                let non_null: Vec<&Json> = branches
                    .iter()
                    .filter(|b| b.as_str() != Some("null"))
                    .collect();
                match non_null.as_slice() {
                    [one] if non_null.len() < branches.len() => self.schema(one, ns, true),
                    [one] => self.schema(one, ns, optional),
                    _ => Err(ConvertError::new(format!(
                        "Avro unions of several non-null types are not supported: {}",
                        j
                    ))),
                }
            }
            Json::Object(obj) => {
                let t = obj.get("type").ok_or_else(|| {
                    ConvertError::new(format!("Avro schema without a type: {}", j))
                })?;
                match t {
                    Json::String(t) => self.named_or_primitive(t, obj, ns, optional),
                    // {"type": {...}} or {"type": [...]}: a wrapped schema
                    other => self.schema(other, ns, optional),
                }
            }
            _ => Err(ConvertError::new(format!("not an Avro schema: {}", j))),
        }
    }

    fn named_or_primitive(
        &mut self,
        t: &str,
        obj: &Map<String, Json>,
        ns: Option<&str>,
        optional: bool,
    ) -> Result<SchemaRef, ConvertError> {
        let logical_type = obj.get("logicalType").and_then(Json::as_str);
        let connect_type = obj.get("connect.type").and_then(Json::as_str);
        let mut b = match (t, logical_type) {
            ("null", _) => {
                return Err(ConvertError::new(
                    "the Avro schema \"null\" alone has no Connect equivalent",
                ))
            }
            ("bytes" | "fixed", Some("decimal")) => {
                let scale = obj.get("scale").and_then(Json::as_i64).unwrap_or(0) as i32;
                let mut b = logical::decimal_builder(scale);
                if let Some(p) = obj.get("precision").and_then(Json::as_i64) {
                    b = b.parameter(PRECISION_PARAM, p.to_string());
                }
                b
            }
            ("int", Some("date")) => logical::date_builder(),
            ("int", Some("time-millis")) => logical::time_builder(),
            ("long", Some("timestamp-millis")) => logical::timestamp_builder(),
            ("int", _) => SchemaBuilder::new(match connect_type {
                Some("int8") => SchemaType::Int8,
                Some("int16") => SchemaType::Int16,
                _ => SchemaType::Int32,
            }),
            ("long", _) => SchemaBuilder::new(SchemaType::Int64),
            ("float", _) => SchemaBuilder::new(SchemaType::Float32),
            ("double", _) => SchemaBuilder::new(SchemaType::Float64),
            ("boolean", _) => SchemaBuilder::new(SchemaType::Boolean),
            ("string", _) => SchemaBuilder::new(SchemaType::String),
            ("bytes", _) => SchemaBuilder::new(SchemaType::Bytes),
            ("fixed", _) => {
                let b = SchemaBuilder::new(SchemaType::Bytes);
                self.remember(obj, ns, &b);
                b
            }
            ("enum", _) => {
                let b = SchemaBuilder::new(SchemaType::String);
                self.remember(obj, ns, &b);
                b
            }
            ("array", _) => {
                let items = obj
                    .get("items")
                    .ok_or_else(|| ConvertError::new("an Avro array schema without items"))?;
                let item = self.schema(items, ns, false)?;
                if let Some((k, v)) = map_entry(&item) {
                    SchemaBuilder::map(k, v)
                } else {
                    SchemaBuilder::array(item)
                }
            }
            ("map", _) => {
                let values = obj
                    .get("values")
                    .ok_or_else(|| ConvertError::new("an Avro map schema without values"))?;
                SchemaBuilder::map(
                    crate::data::primitive(SchemaType::String, false),
                    self.schema(values, ns, false)?,
                )
            }
            ("record" | "error", _) => {
                let full = full_name(obj, ns)
                    .ok_or_else(|| ConvertError::new("an Avro record without a name"))?;
                let own_ns = full.rsplit_once('.').map(|(n, _)| n.to_string());
                let mut b = SchemaBuilder::struct_();
                let is_default = full == format!("{}.{}", NAMESPACE, DEFAULT_RECORD)
                    || full.starts_with(&format!("{}.{}", NAMESPACE, DEFAULT_RECORD));
                if !is_default {
                    b = b.name(full.clone());
                }
                if let Some(d) = obj.get("doc").and_then(Json::as_str) {
                    b = b.doc(d);
                }
                let fields = obj.get("fields").and_then(Json::as_array).ok_or_else(|| {
                    ConvertError::new(format!("Avro record {} without fields", full))
                })?;
                for f in fields {
                    let name = f.get("name").and_then(Json::as_str).ok_or_else(|| {
                        ConvertError::new(format!("a field of Avro record {} without a name", full))
                    })?;
                    let ty = f.get("type").ok_or_else(|| {
                        ConvertError::new(format!(
                            "field {} of Avro record {} without a type",
                            name, full
                        ))
                    })?;
                    let fs = self.schema(ty, own_ns.as_deref(), false)?;
                    b = b.field(name, fs);
                }
                b = self.meta(b, obj, true);
                let built = b.clone().build();
                self.named.insert(full, built.clone());
                return Ok(if optional {
                    SchemaBuilder::from_schema(&built).optional().build()
                } else {
                    built
                });
            }
            (name, _) => {
                let full = if name.contains('.') {
                    name.to_string()
                } else {
                    match ns {
                        Some(n) => format!("{}.{}", n, name),
                        None => name.to_string(),
                    }
                };
                let s = self
                    .named
                    .get(&full)
                    .or_else(|| self.named.get(name))
                    .ok_or_else(|| ConvertError::new(format!("unknown Avro type {}", name)))?;
                return Ok(if optional {
                    SchemaBuilder::from_schema(s).optional().build()
                } else {
                    s.clone()
                });
            }
        };
        b = self.meta(b, obj, false);
        if optional {
            b = b.optional();
        }
        Ok(b.build())
    }

    fn remember(&mut self, obj: &Map<String, Json>, ns: Option<&str>, b: &SchemaBuilder) {
        if let Some(full) = full_name(obj, ns) {
            self.named.insert(full, b.clone().build());
        }
    }

    /// Applies `connect.name`, `connect.version`, `connect.doc`, `connect.parameters`.
    fn meta(&self, mut b: SchemaBuilder, obj: &Map<String, Json>, record: bool) -> SchemaBuilder {
        if let Some(n) = obj.get("connect.name").and_then(Json::as_str) {
            b = b.name(n);
        }
        if let Some(v) = obj.get("connect.version").and_then(Json::as_i64) {
            b = b.version(v as i32);
        }
        if let Some(d) = obj.get("connect.doc").and_then(Json::as_str) {
            b = b.doc(d);
        } else if !record {
            if let Some(d) = obj.get("doc").and_then(Json::as_str) {
                b = b.doc(d);
            }
        }
        if let Some(Json::Object(p)) = obj.get("connect.parameters") {
            for (k, v) in p {
                if let Some(v) = v.as_str() {
                    b = b.parameter(k.clone(), v);
                }
            }
        }
        b
    }
}

/// `Some((key, value))` if `item` is Confluent's map entry record.
fn map_entry(item: &SchemaRef) -> Option<(SchemaRef, SchemaRef)> {
    if item.kind != SchemaType::Struct
        || item.name.as_deref() != Some(&format!("{}.{}", NAMESPACE, MAP_ENTRY))
        || item.fields.len() != 2
        || item.fields[0].name != "key"
        || item.fields[1].name != "value"
    {
        return None;
    }
    Some((item.fields[0].schema.clone(), item.fields[1].schema.clone()))
}
