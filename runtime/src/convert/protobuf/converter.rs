//! The `ProtobufConverter` itself: the record's schema → `.proto` text → subject → id
//! (from the registry, cached per Connect schema), value → dynamic message → wire
//! format; and back: id → schema text → descriptors (cached) → message indexes →
//! Connect schema (cached per id and message) and value.

use std::collections::HashMap;
use std::sync::Arc;

use bytes::Bytes;
use prost_reflect::prost::Message as _;
use prost_reflect::{DynamicMessage, FileDescriptor, MessageDescriptor};

use super::files::compile;
use super::from_proto::connect_schema_from_proto;
use super::indexes::{decode_indexes, encode_indexes, indexes_of, message_at};
use super::to_proto::proto_from_connect;
use super::value::{from_message, to_message};
use super::{protobuf_config_def, ProtobufOptions};
use crate::config::{ConfigDef, ConfigErrors, RawConfig};
use crate::convert::registry::{
    registry_config_def, remember_read, schema_to_write, unframe, RegistryClient, RegistryConfig,
    WriteCache, MAGIC_BYTE,
};
use crate::convert::{ConvertError, Converter};
use crate::data::{Headers, SchemaAndValue, SchemaRef};

pub(crate) fn config_def() -> ConfigDef {
    registry_config_def().merge(&protobuf_config_def())
}

pub(crate) fn create(raw: &RawConfig, is_key: bool) -> Result<Box<dyn Converter>, ConfigErrors> {
    let registry = RegistryConfig::parse(raw);
    let (p, mut issues) = protobuf_config_def().parse_lenient(raw);
    let opts = ProtobufOptions::parse(&p, &mut issues);
    match registry {
        Ok(r) if issues.is_empty() => Ok(Box::new(ProtobufConverter::new(&r, opts, is_key)?)),
        Ok(_) => Err(ConfigErrors(issues)),
        Err(mut e) => {
            e.0.extend(issues);
            Err(e)
        }
    }
}

/// A schema ready to write with: its id, message and message indexes.
struct WriteSchema {
    id: i32,
    message: MessageDescriptor,
    indexes: Vec<i32>,
}

/// A writer schema read from the registry, for one message of it.
struct ReadSchema {
    message: MessageDescriptor,
    connect: SchemaRef,
}

/// Confluent's `ProtobufConverter`. One per task and per key/value side.
pub struct ProtobufConverter {
    is_key: bool,
    config: RegistryConfig,
    opts: ProtobufOptions,
    client: RegistryClient,
    /// The schemas written so far (see `WriteCache`).
    written: WriteCache<WriteSchema>,
    files: HashMap<i32, FileDescriptor>,
    read: HashMap<(i32, Vec<i32>), Arc<ReadSchema>>,
}

impl ProtobufConverter {
    /// A converter for keys (`is_key`) or values; reads the truststore, makes no request.
    pub fn new(
        config: &RegistryConfig,
        opts: ProtobufOptions,
        is_key: bool,
    ) -> Result<Self, ConfigErrors> {
        Ok(ProtobufConverter {
            is_key,
            config: config.clone(),
            opts,
            client: RegistryClient::new(config)?,
            written: WriteCache::new(config.cache_size),
            files: HashMap::new(),
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
        let proto = proto_from_connect(schema, &self.opts)?;
        let strategy = if self.is_key {
            self.config.key_strategy
        } else {
            self.config.value_strategy
        };
        let subject = strategy.subject(topic, self.is_key, Some(&proto.full_name))?;
        let key = (subject, proto.text);
        let w = match self.written.by_text(&key) {
            Some(w) => w,
            None => {
                let w = Arc::new(self.resolve_write_schema(&key.0, &key.1, &proto.full_name)?);
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
        full_name: &str,
    ) -> Result<WriteSchema, ConvertError> {
        let reg = ConvertError::from;
        let (id, proto_text) = if self.config.use_latest_version {
            let latest = self.client.latest(subject).map_err(reg)?;
            if latest.schema_type != "PROTOBUF" {
                return Err(ConvertError::new(format!(
                    "the latest schema of subject {} (id {}) is {}, not Protobuf",
                    subject, latest.id, latest.schema_type
                )));
            }
            (latest.id, latest.schema.clone())
        } else {
            let id = self
                .client
                .id_for(subject, "PROTOBUF", text, self.config.auto_register)
                .map_err(reg)?;
            (id, text.to_string())
        };
        let file = compile(&proto_text).map_err(|e| {
            ConvertError::new(format!(
                "the Protobuf schema for subject {} (id {}) does not compile: {}",
                subject, id, e
            ))
        })?;
        let message = file
            .parent_pool()
            .get_message_by_name(full_name)
            .filter(|m| m.parent_file().name() == file.name())
            .or_else(|| file.messages().next())
            .ok_or_else(|| {
                ConvertError::new(format!(
                    "the Protobuf schema for subject {} (id {}) declares no message",
                    subject, id
                ))
            })?;
        let indexes = indexes_of(&message);
        Ok(WriteSchema {
            id,
            message,
            indexes,
        })
    }

    fn file(&mut self, id: i32) -> Result<FileDescriptor, ConvertError> {
        if let Some(f) = self.files.get(&id) {
            return Ok(f.clone());
        }
        let s = self.client.schema_by_id(id).map_err(ConvertError::from)?;
        if s.schema_type != "PROTOBUF" {
            return Err(ConvertError::new(format!(
                "schema id {} is a {} schema, not Protobuf (use the converter for that format)",
                id, s.schema_type
            )));
        }
        let file = compile(&s.schema).map_err(|e| {
            ConvertError::new(format!(
                "schema id {} is not a valid Protobuf schema: {}",
                id, e
            ))
        })?;
        if self.files.len() >= self.config.cache_size {
            self.files.clear();
        }
        self.files.insert(id, file.clone());
        Ok(file)
    }

    fn read_schema(&mut self, id: i32, indexes: Vec<i32>) -> Result<Arc<ReadSchema>, ConvertError> {
        let key = (id, indexes);
        if let Some(r) = self.read.get(&key) {
            return Ok(r.clone());
        }
        let file = self.file(id)?;
        let message = message_at(&file, &key.1)
            .map_err(|e| ConvertError::new(format!("schema id {}: {}", id, e)))?;
        let connect = connect_schema_from_proto(&message, &self.opts).map_err(|e| {
            ConvertError::new(format!(
                "schema id {} message {}: {}",
                id,
                message.full_name(),
                e
            ))
        })?;
        let r = Arc::new(ReadSchema { message, connect });
        remember_read(&mut self.read, self.config.cache_size, key, r.clone());
        Ok(r)
    }

    /// Serializes `data` for `topic`: magic byte, schema id, message indexes, payload.
    pub fn serialize(
        &mut self,
        topic: &str,
        data: &SchemaAndValue,
    ) -> Result<Option<Bytes>, ConvertError> {
        let Some(schema) = schema_to_write("ProtobufConverter", self.is_key, data)? else {
            return Ok(None);
        };
        if data.value.is_null() {
            return Ok(None);
        }
        let w = self.write_schema(topic, schema)?;
        let msg = to_message(&w.message, &data.value, "")?;
        let mut out = Vec::with_capacity(8 + msg.encoded_len());
        out.push(MAGIC_BYTE);
        out.extend_from_slice(&w.id.to_be_bytes());
        encode_indexes(&w.indexes, &mut out);
        msg.encode(&mut out)
            .map_err(|e| ConvertError::new(format!("Protobuf encoding failed: {}", e)))?;
        Ok(Some(Bytes::from(out)))
    }

    /// Reads bytes in the wire format back into a Connect schema and value.
    pub fn deserialize(&mut self, bytes: Option<&[u8]>) -> Result<SchemaAndValue, ConvertError> {
        let Some(bytes) = bytes else {
            return Ok(SchemaAndValue::NULL);
        };
        let (id, body) = unframe(bytes)?;
        let (indexes, payload) = decode_indexes(body)?;
        let r = self.read_schema(id, indexes)?;
        let msg = DynamicMessage::decode(r.message.clone(), payload).map_err(|e| {
            ConvertError::new(format!(
                "the Protobuf data does not match its schema (id {}, message {}): {}",
                id,
                r.message.full_name(),
                e
            ))
        })?;
        let value = from_message(&r.connect, &msg, &self.opts, "")?;
        Ok(SchemaAndValue::with_schema(r.connect.clone(), value))
    }
}

impl Converter for ProtobufConverter {
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
