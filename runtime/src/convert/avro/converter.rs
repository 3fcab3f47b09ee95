//! The `AvroConverter` itself: the record's schema → Avro schema → subject → id (from
//! the registry, cached per Connect schema), value → Avro binary in the wire format;
//! and back: id → writer schema (cached) → Connect schema and value.

use std::collections::HashMap;
use std::sync::Arc;

use apache_avro::Schema as AvroSchema;
use bytes::Bytes;
use serde_json::Value as Json;

use super::from_avro::connect_schema_from_avro;
use super::schema::{avro_schema_from_connect, DEFAULT_RECORD, NAMESPACE};
use super::value::{names_of, to_avro, to_connect, Names};
use crate::config::{ConfigDef, ConfigErrors, RawConfig};
use crate::convert::registry::{
    frame, registry_config_def, remember_read, schema_to_write, unframe, RegistryClient,
    RegistryConfig, WriteCache,
};
use crate::convert::{ConvertError, Converter};
use crate::data::{Headers, SchemaAndValue, SchemaRef, SchemaType};

pub(crate) fn config_def() -> ConfigDef {
    registry_config_def()
}

pub(crate) fn create(raw: &RawConfig, is_key: bool) -> Result<Box<dyn Converter>, ConfigErrors> {
    Ok(Box::new(AvroConverter::new(
        &RegistryConfig::parse(raw)?,
        is_key,
    )?))
}

/// A schema ready to write with: its id and the parsed Avro schema.
struct WriteSchema {
    id: i32,
    avro: AvroSchema,
    names: Names,
}

/// A writer schema read from the registry, with its Connect form.
struct ReadSchema {
    avro: AvroSchema,
    connect: SchemaRef,
}

/// Confluent's `AvroConverter`. One per task and per key/value side.
pub struct AvroConverter {
    is_key: bool,
    config: RegistryConfig,
    client: RegistryClient,
    /// The schemas written so far (see `WriteCache`).
    written: WriteCache<WriteSchema>,
    read: HashMap<i32, Arc<ReadSchema>>,
}

impl AvroConverter {
    /// A converter for keys (`is_key`) or values; reads the truststore, makes no request.
    pub fn new(config: &RegistryConfig, is_key: bool) -> Result<Self, ConfigErrors> {
        Ok(AvroConverter {
            is_key,
            config: config.clone(),
            client: RegistryClient::new(config)?,
            written: WriteCache::new(config.cache_size),
            read: HashMap::new(),
        })
    }

    /// HTTP requests made to the registry so far.
    pub fn registry_requests(&self) -> u64 {
        self.client.requests()
    }

    fn write_schema(
        &mut self,
        topic: &str,
        schema: &SchemaRef,
    ) -> Result<Arc<WriteSchema>, ConvertError> {
        if let Some(w) = self.written.by_identity(schema, topic) {
            return Ok(w);
        }
        let avro_json = avro_schema_from_connect(schema, self.config.connect_meta_data)?;
        let text = avro_json.to_string();
        let record_name = record_name(schema, &avro_json);
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
                let w = Arc::new(self.resolve_write_schema(&key.0, &key.1)?);
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
    ) -> Result<WriteSchema, ConvertError> {
        let reg = ConvertError::from;
        let (id, avro_text) = if self.config.use_latest_version {
            let latest = self.client.latest(subject).map_err(reg)?;
            if latest.schema_type != "AVRO" {
                return Err(ConvertError::new(format!(
                    "the latest schema of subject {} (id {}) is {}, not Avro",
                    subject, latest.id, latest.schema_type
                )));
            }
            (latest.id, latest.schema.clone())
        } else {
            let id = self
                .client
                .id_for(subject, "AVRO", text, self.config.auto_register)
                .map_err(reg)?;
            (id, text.to_string())
        };
        let avro = AvroSchema::parse_str(&avro_text).map_err(|e| {
            ConvertError::new(format!(
                "the Avro schema for subject {} does not parse: {}",
                subject, e
            ))
        })?;
        let names = names_of(&avro)?;
        Ok(WriteSchema { id, avro, names })
    }

    fn read_schema(&mut self, id: i32) -> Result<Arc<ReadSchema>, ConvertError> {
        if let Some(r) = self.read.get(&id) {
            return Ok(r.clone());
        }
        let s = self.client.schema_by_id(id).map_err(ConvertError::from)?;
        if s.schema_type != "AVRO" {
            return Err(ConvertError::new(format!(
                "schema id {} is a {} schema, not Avro (use the converter for that format)",
                id, s.schema_type
            )));
        }
        let json: Json = serde_json::from_str(&s.schema)
            .map_err(|e| ConvertError::new(format!("schema id {} is not valid JSON: {}", id, e)))?;
        let avro = AvroSchema::parse(&json).map_err(|e| {
            ConvertError::new(format!(
                "schema id {} is not a valid Avro schema: {}",
                id, e
            ))
        })?;
        let connect = connect_schema_from_avro(&json)
            .map_err(|e| ConvertError::new(format!("schema id {}: {}", id, e.0)))?;
        let r = Arc::new(ReadSchema { avro, connect });
        remember_read(&mut self.read, self.config.cache_size, id, r.clone());
        Ok(r)
    }

    /// Serializes `data` for `topic`: magic byte, schema id, Avro binary.
    pub fn serialize(
        &mut self,
        topic: &str,
        data: &SchemaAndValue,
    ) -> Result<Option<Bytes>, ConvertError> {
        let Some(schema) = schema_to_write("AvroConverter", self.is_key, data)? else {
            return Ok(None);
        };
        if data.value.is_null() {
            return Ok(None);
        }
        let w = self.write_schema(topic, schema)?;
        let avro_value = to_avro(&w.avro, &w.names, &data.value, "")?;
        let body = apache_avro::to_avro_datum(&w.avro, avro_value)
            .map_err(|e| ConvertError::new(format!("Avro encoding failed: {}", e)))?;
        Ok(Some(Bytes::from(frame(w.id, &body))))
    }

    /// Reads bytes in the wire format back into a Connect schema and value.
    pub fn deserialize(&mut self, bytes: Option<&[u8]>) -> Result<SchemaAndValue, ConvertError> {
        let Some(bytes) = bytes else {
            return Ok(SchemaAndValue::NULL);
        };
        let (id, mut body) = unframe(bytes)?;
        let r = self.read_schema(id)?;
        let avro_value = apache_avro::from_avro_datum(&r.avro, &mut body, None).map_err(|e| {
            ConvertError::new(format!(
                "the Avro data does not match its schema (id {}): {}",
                id, e
            ))
        })?;
        let value = to_connect(&r.connect, avro_value)?;
        Ok(SchemaAndValue::with_schema(r.connect.clone(), value))
    }
}

/// The full name of the top-level record, for the record name strategies.
fn record_name(schema: &SchemaRef, avro: &Json) -> Option<String> {
    if schema.kind != SchemaType::Struct {
        return None;
    }
    match &schema.name {
        Some(n) => Some(n.clone()),
        None => {
            let _ = avro;
            Some(format!("{}.{}", NAMESPACE, DEFAULT_RECORD))
        }
    }
}

impl Converter for AvroConverter {
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
