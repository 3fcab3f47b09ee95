//! The `JsonSchemaConverter` itself: the record's schema → JSON Schema → subject → id
//! (from the registry, cached per Connect schema and topic), value → JSON text in the
//! wire format; and back: id → JSON Schema (cached) → Connect schema, JSON → value.

use std::collections::HashMap;
use std::sync::Arc;

use bytes::Bytes;
use serde_json::Value as Json;

use super::from_json_schema::connect_schema_from_json_schema;
use super::to_json_schema::json_schema_from_connect;
use super::validate::validate;
use super::value::{json_from_connect, json_to_connect};
use crate::config::{ConfigDef, ConfigErrors, ConfigKey, RawConfig};
use crate::convert::registry::{
    frame, registry_config_def, remember_read, schema_to_write, unframe, RegistryClient,
    RegistryConfig, WriteCache,
};
use crate::convert::{ConvertError, Converter, DecimalFormat};
use crate::data::{Headers, SchemaAndValue, SchemaRef, SchemaType};

/// How values and schemas are mapped (Confluent's `JsonSchemaDataConfig` keys and the
/// serializer's `json.fail.invalid.schema`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JsonSchemaOptions {
    /// `decimal.format`: Decimal as base64 text (default) or a JSON number.
    pub decimal_format: DecimalFormat,
    /// `object.additional.properties`: when false, structs are written with
    /// `additionalProperties: false`.
    pub additional_properties: bool,
    /// `use.optional.for.nonrequired`: properties not in `required` read as optional.
    pub optional_for_nonrequired: bool,
    /// `json.fail.invalid.schema`: check each value against its JSON Schema.
    pub fail_invalid_schema: bool,
}

impl Default for JsonSchemaOptions {
    fn default() -> Self {
        JsonSchemaOptions {
            decimal_format: DecimalFormat::Base64,
            additional_properties: true,
            optional_for_nonrequired: false,
            fail_invalid_schema: false,
        }
    }
}

pub(crate) fn config_def() -> ConfigDef {
    registry_config_def()
        .define(
            ConfigKey::boolean("json.fail.invalid.schema")
                .default("false")
                .doc("Check every value against its JSON Schema when writing and reading (the structural keywords: type, properties, required, additionalProperties, items, enum, const, oneOf/anyOf/allOf, bounds); a value that does not match is a record error."),
        )
        .define(
            ConfigKey::string("decimal.format")
                .default("BASE64")
                .one_of(&["BASE64", "NUMERIC", "base64", "numeric"])
                .doc("How Decimal values are written: BASE64 (the unscaled bytes as base64 text, with a string schema) or NUMERIC (a JSON number, with a number schema). Both are read."),
        )
        .define(
            ConfigKey::boolean("object.additional.properties")
                .default("true")
                .doc("Whether the JSON Schemas of structs allow properties they do not list; false writes additionalProperties: false."),
        )
        .define(
            ConfigKey::boolean("use.optional.for.nonrequired")
                .default("false")
                .doc("Whether properties missing from a JSON Schema's required list read as optional Connect fields (otherwise only oneOf-with-null properties are optional)."),
        )
}

pub(crate) fn create(raw: &RawConfig, is_key: bool) -> Result<Box<dyn Converter>, ConfigErrors> {
    Ok(Box::new(JsonSchemaConverter::new(raw, is_key)?))
}

/// A schema ready to write with: its id and the JSON Schema the value must satisfy.
struct WriteSchema {
    id: i32,
    subject: String,
    schema: Json,
}

/// A writer schema read from the registry, with its Connect form.
struct ReadSchema {
    schema: Json,
    connect: SchemaRef,
}

/// Confluent's `JsonSchemaConverter`. One per task and per key/value side.
pub struct JsonSchemaConverter {
    is_key: bool,
    config: RegistryConfig,
    options: JsonSchemaOptions,
    client: RegistryClient,
    /// The schemas written so far (see `WriteCache`).
    written: WriteCache<WriteSchema>,
    read: HashMap<i32, Arc<ReadSchema>>,
}

impl JsonSchemaConverter {
    /// A converter for keys (`is_key`) or values from its config (registry keys and
    /// JSON Schema keys); reads the truststore, makes no request.
    pub fn new(raw: &RawConfig, is_key: bool) -> Result<Self, ConfigErrors> {
        let registry = RegistryConfig::parse(raw);
        let (p, issues) = config_def().parse_lenient(raw);
        let (config, mut all) = match registry {
            Ok(c) => (Some(c), Vec::new()),
            Err(e) => (None, e.0),
        };
        // the registry keys' problems are listed once
        all.extend(issues.into_iter().filter(|i| !all_keys_of_registry(&i.key)));
        if !all.is_empty() {
            return Err(ConfigErrors(all));
        }
        let config = config.expect("no problems means a registry config");
        let cache_size = config.cache_size;
        let options = JsonSchemaOptions {
            decimal_format: if p.str("decimal.format").eq_ignore_ascii_case("NUMERIC") {
                DecimalFormat::Numeric
            } else {
                DecimalFormat::Base64
            },
            additional_properties: p.boolean("object.additional.properties"),
            optional_for_nonrequired: p.boolean("use.optional.for.nonrequired"),
            fail_invalid_schema: p.boolean("json.fail.invalid.schema"),
        };
        Ok(JsonSchemaConverter {
            is_key,
            client: RegistryClient::new(&config)?,
            config,
            options,
            written: WriteCache::new(cache_size),
            read: HashMap::new(),
        })
    }

    /// HTTP requests made to the registry so far.
    pub fn registry_requests(&self) -> u64 {
        self.client.requests()
    }

    fn side(&self) -> &'static str {
        if self.is_key {
            "key"
        } else {
            "value"
        }
    }

    fn write_schema(
        &mut self,
        topic: &str,
        schema: &SchemaRef,
    ) -> Result<Arc<WriteSchema>, ConvertError> {
        if let Some(w) = self.written.by_identity(schema, topic) {
            return Ok(w);
        }
        let json_schema = json_schema_from_connect(schema, &self.options)?;
        let text = json_schema.to_string();
        // Confluent's subject strategies name a JSON Schema by its title
        let record_name = match schema.kind {
            SchemaType::Struct => schema.name.clone(),
            _ => None,
        };
        let strategy = if self.is_key {
            self.config.key_strategy
        } else {
            self.config.value_strategy
        };
        let subject = strategy.subject(topic, self.is_key, record_name.as_deref())?;
        let key = (subject, text);
        let w = match self.written.by_text(&key) {
            Some(w) => w,
            None => {
                let w = Arc::new(self.resolve_write_schema(&key.0, &key.1, json_schema)?);
                self.written.keep_text(key, w.clone());
                w
            }
        };
        self.written.keep_identity(schema, topic, w.clone());
        Ok(w)
    }

    fn resolve_write_schema(
        &mut self,
        subject: &str,
        text: &str,
        own: Json,
    ) -> Result<WriteSchema, ConvertError> {
        let reg = ConvertError::from;
        if self.config.use_latest_version {
            let latest = self.client.latest(subject).map_err(reg)?;
            if latest.schema_type != "JSON" {
                return Err(ConvertError::new(format!(
                    "the latest schema of subject {} (id {}) is {}, not a JSON Schema",
                    subject, latest.id, latest.schema_type
                )));
            }
            let schema = serde_json::from_str(&latest.schema).map_err(|e| {
                ConvertError::new(format!(
                    "the latest schema of subject {} (id {}) is not valid JSON: {}",
                    subject, latest.id, e
                ))
            })?;
            return Ok(WriteSchema {
                id: latest.id,
                subject: subject.to_string(),
                schema,
            });
        }
        let id = self
            .client
            .id_for(subject, "JSON", text, self.config.auto_register)
            .map_err(reg)?;
        Ok(WriteSchema {
            id,
            subject: subject.to_string(),
            schema: own,
        })
    }

    fn read_schema(&mut self, id: i32) -> Result<Arc<ReadSchema>, ConvertError> {
        if let Some(r) = self.read.get(&id) {
            return Ok(r.clone());
        }
        let s = self.client.schema_by_id(id).map_err(ConvertError::from)?;
        if s.schema_type != "JSON" {
            return Err(ConvertError::new(format!(
                "schema id {} is a {} schema, not a JSON Schema (use the converter for that format)",
                id, s.schema_type
            )));
        }
        let schema: Json = serde_json::from_str(&s.schema)
            .map_err(|e| ConvertError::new(format!("schema id {} is not valid JSON: {}", id, e)))?;
        let connect = connect_schema_from_json_schema(&schema, &self.options)
            .map_err(|e| ConvertError::new(format!("schema id {}: {}", id, e.0)))?;
        let r = Arc::new(ReadSchema { schema, connect });
        remember_read(&mut self.read, self.config.cache_size, id, r.clone());
        Ok(r)
    }

    /// Serializes `data` for `topic`: magic byte, schema id, JSON text.
    pub fn serialize(
        &mut self,
        topic: &str,
        data: &SchemaAndValue,
    ) -> Result<Option<Bytes>, ConvertError> {
        let Some(schema) = schema_to_write("JsonSchemaConverter", self.is_key, data)? else {
            return Ok(None);
        };
        if data.value.is_null() {
            return Ok(None);
        }
        let w = self.write_schema(topic, schema)?;
        let Some(json) = json_from_connect(schema, &data.value, &self.options)? else {
            return Ok(None);
        };
        if self.options.fail_invalid_schema {
            validate(&w.schema, &json).map_err(|e| {
                ConvertError::new(format!(
                    "the {} does not match its JSON Schema (subject {}, id {}): {}",
                    self.side(),
                    w.subject,
                    w.id,
                    e
                ))
            })?;
        }
        let body = serde_json::to_vec(&json)
            .map_err(|e| ConvertError::new(format!("JSON encoding failed: {}", e)))?;
        Ok(Some(Bytes::from(frame(w.id, &body))))
    }

    /// Reads bytes in the wire format back into a Connect schema and value.
    pub fn deserialize(&mut self, bytes: Option<&[u8]>) -> Result<SchemaAndValue, ConvertError> {
        let Some(bytes) = bytes else {
            return Ok(SchemaAndValue::NULL);
        };
        let (id, body) = unframe(bytes)?;
        let r = self.read_schema(id)?;
        let json: Json = serde_json::from_slice(body).map_err(|e| {
            ConvertError::new(format!(
                "the data after the schema id {} is not JSON: {}",
                id, e
            ))
        })?;
        if json.is_null() {
            return Ok(SchemaAndValue::NULL);
        }
        if self.options.fail_invalid_schema {
            validate(&r.schema, &json).map_err(|e| {
                ConvertError::new(format!(
                    "the {} does not match its JSON Schema (id {}): {}",
                    self.side(),
                    id,
                    e
                ))
            })?;
        }
        let value = json_to_connect(&r.connect, Some(&json)).map_err(|e| {
            ConvertError::new(format!(
                "the JSON does not match its schema (id {}): {}",
                id, e.0
            ))
        })?;
        Ok(SchemaAndValue::with_schema(r.connect.clone(), value))
    }
}

/// Whether `key` is one of the shared registry keys (their problems come from
/// [`RegistryConfig::parse`]).
fn all_keys_of_registry(key: &str) -> bool {
    registry_config_def().key(key).is_some()
}

impl Converter for JsonSchemaConverter {
    fn may_fail_retriably(&self) -> bool {
        true
    }

    fn from_connect(
        &mut self,
        topic: &str,
        _: &Headers,
        data: &SchemaAndValue,
    ) -> Result<Option<Bytes>, ConvertError> {
        self.serialize(topic, data)
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
