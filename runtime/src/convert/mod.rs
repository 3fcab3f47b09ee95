//! Converters turn Connect values into the bytes stored in Kafka and back:
//! `StringConverter`, `ByteArrayConverter`, `JsonConverter`, the number converters, the
//! header converter, and Confluent's Schema Registry converters `AvroConverter`
//! ([`avro`]), `JsonSchemaConverter` ([`json_schema_registry`]) and `ProtobufConverter`
//! ([`protobuf`]) on a shared registry client ([`registry`]).
//! Connect's class names work as aliases.
//!
//! A converter instance belongs to one task (like in Connect), so it may keep caches
//! without locks.

pub mod avro;
mod bytearray;
mod header;
mod json;
mod json_schema;
pub mod json_schema_registry;
#[cfg(test)]
mod json_tests;
mod json_value;
mod json_write;
mod number;
pub mod protobuf;
pub mod registry;
mod string;

use bytes::Bytes;

use crate::config::{ConfigDef, ConfigErrors, RawConfig};
use crate::data::{Headers, SchemaAndValue};

pub use avro::AvroConverter;
pub use bytearray::ByteArrayConverter;
pub use header::{parse_string as parse_header_string, SimpleHeaderConverter};
pub use json::{JsonConverter, JsonConverterConfig};
pub use json_schema::{schema_from_json, schema_to_json};
pub use json_schema_registry::JsonSchemaConverter;
pub use json_value::{schemaless_from_json, value_from_json, value_to_json, DecimalFormat};
pub use number::{NumberConverter, NumberKind};
pub use protobuf::ProtobufConverter;
pub use string::StringConverter;

/// Why a conversion failed. The message names what was wrong. A retriable error (a
/// Schema Registry that cannot be reached or answers 5xx/429) is about the moment, not
/// the record: the task retries the record for `errors.retry.timeout` and then fails;
/// it is never skipped or sent to the dead letter queue.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{0}")]
pub struct ConvertError(pub String, bool);

impl ConvertError {
    /// An error about the data: subject to `errors.tolerance`.
    pub fn new(msg: impl Into<String>) -> Self {
        ConvertError(msg.into(), false)
    }

    /// An error that may go away by itself (a service the converter needs is down).
    pub fn retriable(msg: impl Into<String>) -> Self {
        ConvertError(msg.into(), true)
    }

    /// Whether retrying the same record may succeed.
    pub fn is_retriable(&self) -> bool {
        self.1
    }
}

/// Converts record keys or values between Connect values and bytes.
#[allow(clippy::wrong_self_convention)]
pub trait Converter: Send {
    /// Serializes a value for `topic`. `None` means a null Kafka key or value.
    fn from_connect(
        &mut self,
        topic: &str,
        headers: &Headers,
        data: &SchemaAndValue,
    ) -> Result<Option<Bytes>, ConvertError>;

    /// Like [`from_connect`](Self::from_connect) but may take the value apart to avoid a
    /// copy (a string or bytes value becomes the record's bytes as it is). On error the
    /// value is handed back unchanged.
    fn from_connect_owned(
        &mut self,
        topic: &str,
        headers: &Headers,
        data: SchemaAndValue,
    ) -> Result<Option<Bytes>, (ConvertError, SchemaAndValue)> {
        self.from_connect(topic, headers, &data)
            .map_err(|e| (e, data))
    }

    /// Whether [`to_connect_owned`](Self::to_connect_owned) makes the buffer it is
    /// given its own (a string does), and so copies it unless nobody else holds it. The
    /// Kafka consumer of a sink then gives each such field a buffer of its own rather
    /// than a slice of one shared by its batch.
    fn keeps_buffer(&self) -> bool {
        false
    }

    /// Like [`to_connect`](Self::to_connect) but takes the bytes, so a string or bytes
    /// value can reuse the buffer instead of copying it.
    fn to_connect_owned(
        &mut self,
        topic: &str,
        headers: &Headers,
        bytes: Option<Bytes>,
    ) -> Result<SchemaAndValue, ConvertError> {
        self.to_connect(topic, headers, bytes.as_ref())
    }

    /// Deserializes bytes read from `topic`. `None` (a null key or tombstone) gives null.
    fn to_connect(
        &mut self,
        topic: &str,
        headers: &Headers,
        bytes: Option<&Bytes>,
    ) -> Result<SchemaAndValue, ConvertError>;

    /// Whether this converter can fail with a retriable error (it calls a remote
    /// service, such as a Schema Registry). A sink task then keeps each record's bytes
    /// until the record is converted, so that it can convert it again.
    fn may_fail_retriably(&self) -> bool {
        false
    }
}

/// Converts header values between Connect values and bytes.
#[allow(clippy::wrong_self_convention)]
pub trait HeaderConverter: Send {
    fn from_connect_header(
        &mut self,
        topic: &str,
        key: &str,
        data: &SchemaAndValue,
    ) -> Result<Option<Bytes>, ConvertError>;
    fn to_connect_header(
        &mut self,
        topic: &str,
        key: &str,
        bytes: Option<&[u8]>,
    ) -> Result<SchemaAndValue, ConvertError>;
}

/// A converter or header converter that users name in configs.
#[allow(clippy::type_complexity)]
pub struct ConverterPlugin {
    /// Connect's class name.
    pub class: &'static str,
    /// Other accepted names (short names).
    pub aliases: &'static [&'static str],
    pub doc: &'static str,
    pub config_def: fn() -> ConfigDef,
    /// Builds a record converter (`is_key` says whether it converts keys).
    pub create: Option<fn(&RawConfig, bool) -> Result<Box<dyn Converter>, ConfigErrors>>,
    /// Builds a header converter.
    pub create_header: Option<fn(&RawConfig) -> Result<Box<dyn HeaderConverter>, ConfigErrors>>,
}

impl ConverterPlugin {
    /// Does this plugin answer to `name` (see `plugins::name_matches`)?
    pub fn matches(&self, name: &str) -> bool {
        crate::plugins::name_matches(self.class, self.aliases, Some("Converter"), name)
    }
}

/// Every converter Sluice provides.
pub fn converter_plugins() -> &'static [ConverterPlugin] {
    static PLUGINS: &[ConverterPlugin] = &[
        ConverterPlugin {
            class: "org.apache.kafka.connect.storage.StringConverter",
            aliases: &["string", "StringConverter"],
            doc: "Keys or values as UTF-8 strings.",
            config_def: string::config_def,
            create: Some(string::create),
            create_header: Some(string::create_header),
        },
        ConverterPlugin {
            class: "org.apache.kafka.connect.converters.ByteArrayConverter",
            aliases: &["bytes", "bytearray", "ByteArrayConverter"],
            doc: "Keys or values passed through as bytes, untouched.",
            config_def: ConfigDef::new,
            create: Some(bytearray::create),
            create_header: Some(bytearray::create_header),
        },
        ConverterPlugin {
            class: "org.apache.kafka.connect.json.JsonConverter",
            aliases: &["json", "JsonConverter"],
            doc: "JSON, with Connect's {schema, payload} envelope when schemas.enable is true.",
            config_def: json::config_def,
            create: Some(json::create),
            create_header: Some(json::create_header),
        },
        ConverterPlugin {
            class: "org.apache.kafka.connect.converters.BooleanConverter",
            aliases: &["boolean", "BooleanConverter"],
            doc: "Booleans as one byte (0 or 1), as Kafka's BooleanSerializer writes them.",
            config_def: ConfigDef::new,
            create: Some(number::create_boolean),
            create_header: Some(number::create_boolean_header),
        },
        ConverterPlugin {
            class: "org.apache.kafka.connect.converters.ShortConverter",
            aliases: &["short", "ShortConverter"],
            doc: "16-bit integers, big-endian (Kafka's ShortSerializer).",
            config_def: ConfigDef::new,
            create: Some(number::create_short),
            create_header: Some(number::create_short_header),
        },
        ConverterPlugin {
            class: "org.apache.kafka.connect.converters.IntegerConverter",
            aliases: &["integer", "IntegerConverter"],
            doc: "32-bit integers, big-endian (Kafka's IntegerSerializer).",
            config_def: ConfigDef::new,
            create: Some(number::create_integer),
            create_header: Some(number::create_integer_header),
        },
        ConverterPlugin {
            class: "org.apache.kafka.connect.converters.LongConverter",
            aliases: &["long", "LongConverter"],
            doc: "64-bit integers, big-endian (Kafka's LongSerializer).",
            config_def: ConfigDef::new,
            create: Some(number::create_long),
            create_header: Some(number::create_long_header),
        },
        ConverterPlugin {
            class: "org.apache.kafka.connect.converters.FloatConverter",
            aliases: &["float", "FloatConverter"],
            doc: "32-bit IEEE 754 floats, big-endian (Kafka's FloatSerializer).",
            config_def: ConfigDef::new,
            create: Some(number::create_float),
            create_header: Some(number::create_float_header),
        },
        ConverterPlugin {
            class: "org.apache.kafka.connect.converters.DoubleConverter",
            aliases: &["double", "DoubleConverter"],
            doc: "64-bit IEEE 754 doubles, big-endian (Kafka's DoubleSerializer).",
            config_def: ConfigDef::new,
            create: Some(number::create_double),
            create_header: Some(number::create_double_header),
        },
        ConverterPlugin {
            class: "io.confluent.connect.avro.AvroConverter",
            aliases: &["avro", "AvroConverter"],
            doc: "Avro in Confluent's Schema Registry wire format (magic byte, schema id, Avro binary), with schemas registered in and read from a Schema Registry (schema.registry.url).",
            config_def: avro::config_def,
            create: Some(avro::create),
            create_header: None,
        },
        ConverterPlugin {
            class: "io.confluent.connect.json.JsonSchemaConverter",
            aliases: &["json-schema", "jsonschema", "JsonSchemaConverter"],
            doc: "JSON in Confluent's Schema Registry wire format (magic byte, schema id, JSON text), with JSON Schemas registered in and read from a Schema Registry (schema.registry.url).",
            config_def: json_schema_registry::config_def,
            create: Some(json_schema_registry::create),
            create_header: None,
        },
        ConverterPlugin {
            class: "io.confluent.connect.protobuf.ProtobufConverter",
            aliases: &["protobuf", "ProtobufConverter"],
            doc: "Protobuf in Confluent's Schema Registry wire format (magic byte, schema id, message indexes, Protobuf binary), with .proto schemas registered in and read from a Schema Registry (schema.registry.url).",
            config_def: protobuf::config_def,
            create: Some(protobuf::create),
            create_header: None,
        },
        ConverterPlugin {
            class: "org.apache.kafka.connect.storage.SimpleHeaderConverter",
            aliases: &["simple", "SimpleHeaderConverter"],
            doc: "Header values as strings, with types inferred when read back.",
            config_def: ConfigDef::new,
            create: None,
            create_header: Some(header::create),
        },
    ];
    PLUGINS
}

/// Finds a converter plugin by any of its names.
pub fn find_converter(name: &str) -> Option<&'static ConverterPlugin> {
    converter_plugins().iter().find(|p| p.matches(name))
}

fn unknown(key: &str, name: &str, header: bool) -> ConfigErrors {
    let known: Vec<&str> = converter_plugins()
        .iter()
        .filter(|p| {
            if header {
                p.create_header.is_some()
            } else {
                p.create.is_some()
            }
        })
        .map(|p| p.class)
        .collect();
    ConfigErrors(vec![crate::config::ConfigIssue::new(
        key,
        format!("unknown converter {}; known: {}", name, known.join(", ")),
    )])
}

/// Builds the record converter named `class` with its sub-config.
pub fn build_converter(
    key: &str,
    class: &str,
    config: &RawConfig,
    is_key: bool,
) -> Result<Box<dyn Converter>, ConfigErrors> {
    let plugin = find_converter(class).ok_or_else(|| unknown(key, class, false))?;
    let create = plugin.create.ok_or_else(|| unknown(key, class, false))?;
    create(config, is_key).map_err(|e| prefix_issues(e, key))
}

/// Builds the header converter named `class` with its sub-config.
pub fn build_header_converter(
    key: &str,
    class: &str,
    config: &RawConfig,
) -> Result<Box<dyn HeaderConverter>, ConfigErrors> {
    let plugin = find_converter(class).ok_or_else(|| unknown(key, class, true))?;
    let create = plugin
        .create_header
        .ok_or_else(|| unknown(key, class, true))?;
    create(config).map_err(|e| prefix_issues(e, key))
}

fn prefix_issues(mut e: ConfigErrors, key: &str) -> ConfigErrors {
    for i in &mut e.0 {
        i.key = format!("{}.{}", key, i.key);
    }
    e
}
