//! `JsonConverter`: JSON with or without Connect's `{"schema":..., "payload":...}`
//! envelope (`schemas.enable`, default true). `schema.content` (Kafka 4.0, KIP-1054)
//! gives the schema in the config: with `schemas.enable` the bytes read are then the
//! bare payload, without an envelope (writing is unchanged).
//!
//! Hostile input stays bounded: serde_json refuses arrays and objects nested
//! [`MAX_JSON_DEPTH`] levels deep or more before anything recurses on them (a record
//! error), and the cache of parsed schemas holds at most [`SCHEMA_CACHE_BYTES`] of
//! schema text.

use std::collections::HashMap;

use bytes::Bytes;
use serde_json::Value as Json;

use super::json_schema::{schema_from_json, schema_to_json};
use super::json_value::{value_from_json, value_from_json_with, DecimalFormat};
use super::json_write::{write_planned, write_value, StructPlan};
use super::{ConvertError, Converter, HeaderConverter};
use crate::config::{ConfigDef, ConfigErrors, ConfigKey, RawConfig};
use crate::data::{Headers, SchemaAndValue, SchemaRef, Value};

pub(super) fn config_def() -> ConfigDef {
    ConfigDef::new()
        .define(
            ConfigKey::boolean("schemas.enable")
                .default("true")
                .doc("Include schemas within each of the serialized values and keys."),
        )
        .define(
            ConfigKey::int("schemas.cache.size")
                .default("1000")
                .at_least(0.0)
                .doc(
                    "The maximum number of schemas that can be cached in this converter instance.",
                ),
        )
        .define(
            ConfigKey::string("decimal.format")
                .default("BASE64")
                .one_of(&["BASE64", "NUMERIC"])
                .doc("How decimals are written: BASE64 (default) or NUMERIC."),
        )
        .define(
            ConfigKey::boolean("replace.null.with.default")
                .default("true")
                .doc("A null field that has a default value is written, and read, as that default; false keeps the null (the field must be optional)."),
        )
        .define(
            ConfigKey::string("schema.content")
                .optional()
                .doc("When set, this is used as the schema for all messages, and the schemas within each of the message will be ignored. Otherwise, the schema will be included in the content of each message. This configuration applies only 'schemas.enable' is true, and it exclusively affects the sink connector."),
        )
        .define(
            ConfigKey::string("converter.type")
                .optional()
                .one_of(&["key", "value", "header"])
                .doc("Set by the worker: key, value or header."),
        )
}

/// The parsed `JsonConverter` settings.
#[derive(Debug, Clone)]
pub struct JsonConverterConfig {
    pub schemas_enable: bool,
    pub cache_size: usize,
    pub decimal_format: DecimalFormat,
    pub replace_null_with_default: bool,
    /// `schema.content`: the schema of every payload read (which then has no envelope).
    pub schema_content: Option<SchemaRef>,
}

impl JsonConverterConfig {
    pub fn parse(raw: &RawConfig) -> Result<Self, ConfigErrors> {
        let p = config_def().parse(raw).map_err(ConfigErrors)?;
        Ok(JsonConverterConfig {
            schemas_enable: p.boolean("schemas.enable"),
            cache_size: p.int("schemas.cache.size") as usize,
            decimal_format: if p.str("decimal.format").eq_ignore_ascii_case("NUMERIC") {
                DecimalFormat::Numeric
            } else {
                DecimalFormat::Base64
            },
            replace_null_with_default: p.boolean("replace.null.with.default"),
            schema_content: match p.string("schema.content") {
                Some(text) if !text.trim().is_empty() => parse_schema_content(&text)?,
                _ => None,
            },
        })
    }
}

/// Parses `schema.content` (a Connect schema in the envelope's JSON form); a schema
/// that is not valid JSON or not a Connect schema is a config error naming the key.
fn parse_schema_content(text: &str) -> Result<Option<SchemaRef>, ConfigErrors> {
    let issue = |why: String| {
        ConfigErrors(vec![crate::config::ConfigIssue::new(
            "schema.content",
            format!("not a Connect JSON schema: {}", why),
        )])
    };
    let json: Json = serde_json::from_str(text).map_err(|e| issue(e.to_string()))?;
    schema_from_json(&json).map_err(|e| issue(e.0))
}

impl Default for JsonConverterConfig {
    fn default() -> Self {
        JsonConverterConfig {
            schemas_enable: true,
            cache_size: 1000,
            decimal_format: DecimalFormat::Base64,
            replace_null_with_default: true,
            schema_content: None,
        }
    }
}

/// JSON converter with small caches: schemas already written (their text, and what
/// writing their structs needs; by identity) and schemas already read (by their JSON
/// text).
pub struct JsonConverter {
    config: JsonConverterConfig,
    /// Schemas written, with their JSON text.
    written: Vec<(SchemaRef, Bytes)>,
    /// Where outputs are written before they are copied out at their exact size (one
    /// allocation per output instead of a guessed buffer plus the header `Bytes` adds
    /// to a buffer with room to spare).
    scratch: Vec<u8>,
    /// Struct schemas written, with what writing their fields needs.
    plans: Vec<(SchemaRef, StructPlan)>,
    read: HashMap<String, Option<SchemaRef>>,
    /// Bytes of schema text held by `read`.
    read_bytes: usize,
}

pub(super) fn create(raw: &RawConfig, _is_key: bool) -> Result<Box<dyn Converter>, ConfigErrors> {
    Ok(Box::new(JsonConverter::new(JsonConverterConfig::parse(
        raw,
    )?)))
}

pub(super) fn create_header(raw: &RawConfig) -> Result<Box<dyn HeaderConverter>, ConfigErrors> {
    Ok(Box::new(JsonConverter::new(JsonConverterConfig::parse(
        raw,
    )?)))
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Envelope<'a> {
    #[serde(borrow)]
    schema: &'a serde_json::value::RawValue,
    payload: Json,
}

/// JSON whose arrays and objects nest this deep (counting the envelope's own object)
/// is refused as a record error: serde_json's recursion limit, so nothing after the
/// parser ever recurses deeper.
pub const MAX_JSON_DEPTH: usize = 128;

/// The most schema text the read-schema cache keeps (it is cleared when a new entry
/// would pass this), so that large distinct schemas cannot grow it without bound.
pub const SCHEMA_CACHE_BYTES: usize = 16 * 1024 * 1024;

const ENVELOPE_REQUIRED: &str = "JsonConverter with schemas.enable requires \"schema\" and \"payload\" fields and may not contain additional fields. If you are trying to deserialize plain JSON data, set schemas.enable=false in your converter configuration.";

impl JsonConverter {
    pub fn new(config: JsonConverterConfig) -> Self {
        JsonConverter {
            config,
            written: Vec::new(),
            scratch: Vec::new(),
            plans: Vec::new(),
            read: HashMap::new(),
            read_bytes: 0,
        }
    }

    /// A converter with `schemas.enable` set as given and other settings at default.
    pub fn with_schemas(schemas_enable: bool) -> Self {
        Self::new(JsonConverterConfig {
            schemas_enable,
            ..Default::default()
        })
    }

    /// The envelope's `schema` text for `schema`, written once per schema: looked up
    /// by identity first (records of one stream share their schema), then by equality.
    fn schema_text(&mut self, schema: &SchemaRef) -> Result<Bytes, ConvertError> {
        if let Some((_, text)) = self
            .written
            .iter()
            .find(|(s, _)| std::sync::Arc::ptr_eq(s, schema))
            .or_else(|| self.written.iter().find(|(s, _)| **s == **schema))
        {
            return Ok(text.clone());
        }
        let json = schema_to_json(schema, self.config.decimal_format)?;
        let text = Bytes::from(serde_json::to_vec(&json).map_err(ser_err)?);
        if self.config.cache_size > 0 {
            if self.written.len() >= self.config.cache_size.min(64) {
                self.written.remove(0);
            }
            self.written.push((schema.clone(), text.clone()));
        }
        Ok(text)
    }

    /// Serializes to JSON bytes (envelope or plain), writing the value straight to
    /// text and the schema from its cached text.
    pub fn serialize(&mut self, data: &SchemaAndValue) -> Result<Option<Bytes>, ConvertError> {
        if data.schema.is_none() && data.value.is_null() {
            return Ok(None);
        }
        let mut buf = std::mem::take(&mut self.scratch);
        buf.clear();
        let written = self.write(&mut buf, data);
        let out = written.map(|()| Some(Bytes::copy_from_slice(&buf)));
        self.scratch = buf;
        out
    }

    fn write(&mut self, buf: &mut Vec<u8>, data: &SchemaAndValue) -> Result<(), ConvertError> {
        if self.config.schemas_enable {
            buf.extend_from_slice(b"{\"schema\":");
            match &data.schema {
                Some(s) => buf.extend_from_slice(&self.schema_text(s)?),
                None => buf.extend_from_slice(b"null"),
            }
            buf.extend_from_slice(b",\"payload\":");
        }
        let (decimal, replace) = (
            self.config.decimal_format,
            self.config.replace_null_with_default,
        );
        match &data.schema {
            Some(schema) if matches!(data.value, Value::Struct(_)) => match self.plan(schema) {
                Some(plan) => write_planned(buf, plan, schema, &data.value, decimal, replace)?,
                None => write_value(buf, Some(schema), &data.value, decimal, replace)?,
            },
            schema => write_value(buf, schema.as_deref(), &data.value, decimal, replace)?,
        }
        if self.config.schemas_enable {
            buf.push(b'}');
        }
        Ok(())
    }

    /// The plan for writing structs of `schema`: found by identity (records of one
    /// stream share their schema), else by equality (then kept under the new `Arc`),
    /// else made and kept (at most 64 schemas, the oldest dropped first).
    fn plan(&mut self, schema: &SchemaRef) -> Option<&StructPlan> {
        let found = self
            .plans
            .iter()
            .position(|(s, _)| std::sync::Arc::ptr_eq(s, schema))
            .or_else(|| {
                let i = self.plans.iter().position(|(s, _)| **s == **schema)?;
                self.plans[i].0 = schema.clone();
                Some(i)
            });
        let i = match found {
            Some(i) => i,
            None => {
                let plan = StructPlan::new(schema)?;
                if self.plans.len() >= 64 {
                    self.plans.remove(0);
                }
                self.plans.push((schema.clone(), plan));
                self.plans.len() - 1
            }
        };
        Some(&self.plans[i].1)
    }

    /// Parses JSON bytes (envelope or plain).
    pub fn deserialize(&mut self, bytes: Option<&[u8]>) -> Result<SchemaAndValue, ConvertError> {
        let Some(bytes) = bytes else {
            return Ok(SchemaAndValue::NULL);
        };
        if !self.config.schemas_enable {
            let json: Json = serde_json::from_slice(bytes).map_err(de_err)?;
            return Ok(SchemaAndValue::schemaless(value_from_json(None, &json)?));
        }
        if let Some(schema) = &self.config.schema_content {
            let json: Json = serde_json::from_slice(bytes).map_err(de_err)?;
            let value =
                value_from_json_with(Some(schema), &json, self.config.replace_null_with_default)?;
            return Ok(SchemaAndValue::new(Some(schema.clone()), value));
        }
        let env: Envelope = match serde_json::from_slice(bytes) {
            Ok(e) => e,
            Err(e) if e.is_data() => return Err(ConvertError::new(ENVELOPE_REQUIRED)),
            Err(e) => return Err(de_err(e)),
        };
        let schema = self.read_schema(env.schema.get())?;
        let value = value_from_json_with(
            schema.as_ref(),
            &env.payload,
            self.config.replace_null_with_default,
        )?;
        Ok(SchemaAndValue::new(schema, value))
    }

    /// Bytes of schema text the read-schema cache holds.
    pub fn cached_schema_bytes(&self) -> usize {
        self.read_bytes
    }

    fn read_schema(&mut self, text: &str) -> Result<Option<SchemaRef>, ConvertError> {
        if let Some(s) = self.read.get(text) {
            return Ok(s.clone());
        }
        let json: Json = serde_json::from_str(text).map_err(de_err)?;
        let schema = schema_from_json(&json)?;
        if self.config.cache_size > 0 && text.len() <= SCHEMA_CACHE_BYTES {
            if self.read.len() >= self.config.cache_size
                || self.read_bytes + text.len() > SCHEMA_CACHE_BYTES
            {
                self.read.clear();
                self.read_bytes = 0;
            }
            self.read_bytes += text.len();
            self.read.insert(text.to_string(), schema.clone());
        }
        Ok(schema)
    }
}

fn ser_err(e: serde_json::Error) -> ConvertError {
    ConvertError::new(format!(
        "Converting Kafka Connect data to byte[] failed due to serialization error: {}",
        e
    ))
}

fn de_err(e: serde_json::Error) -> ConvertError {
    // serde_json reports its depth limit only in the message text.
    let why = if e.to_string().starts_with("recursion limit exceeded") {
        format!(
            " (arrays and objects nested {} levels deep or more are refused)",
            MAX_JSON_DEPTH
        )
    } else {
        String::new()
    };
    ConvertError::new(format!(
        "Converting byte[] to Kafka Connect data failed due to serialization error: {}{}",
        e, why
    ))
}

impl Converter for JsonConverter {
    fn from_connect(
        &mut self,
        _: &str,
        _: &Headers,
        data: &SchemaAndValue,
    ) -> Result<Option<Bytes>, ConvertError> {
        self.serialize(data)
    }
    fn to_connect(
        &mut self,
        _: &str,
        _: &Headers,
        bytes: Option<&Bytes>,
    ) -> Result<SchemaAndValue, ConvertError> {
        self.deserialize(bytes.map(|b| b.as_ref()))
    }
}

impl HeaderConverter for JsonConverter {
    fn from_connect_header(
        &mut self,
        _: &str,
        _: &str,
        data: &SchemaAndValue,
    ) -> Result<Option<Bytes>, ConvertError> {
        self.serialize(data)
    }
    fn to_connect_header(
        &mut self,
        _: &str,
        _: &str,
        bytes: Option<&[u8]>,
    ) -> Result<SchemaAndValue, ConvertError> {
        self.deserialize(bytes)
    }
}
