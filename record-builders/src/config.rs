//! The record builder keys a queue connector embeds under its prefix (`amqp.`, `mqtt.`).

use sluice_runtime::config::{
    ConfigDef, ConfigErrors, ConfigIssue, ConfigKey, Importance, ParsedConfig,
};

use crate::key::KeySource;

/// The names `<prefix>record.builder` accepts: Sluice's short names, then the IBM MQ
/// source connector's class names as aliases.
pub const BUILDER_NAMES: &[&str] = &[
    "default",
    "json",
    "com.ibm.eventstreams.connect.mqsource.builders.DefaultRecordBuilder",
    "com.ibm.eventstreams.connect.mqsource.builders.JsonRecordBuilder",
];

/// Which builder.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BuilderKind {
    /// Body as bytes (or text), see [`BodyType`].
    Default,
    /// Body parsed as JSON.
    Json,
}

/// How the `default` builder presents the body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyType {
    /// The body bytes untouched (`Schema.OPTIONAL_BYTES`): use the ByteArrayConverter
    /// to write them to Kafka as they are.
    Bytes,
    /// The body decoded as UTF-8 text (`Schema.OPTIONAL_STRING`): use the
    /// StringConverter (or JsonConverter) to write it as text. A body that is not UTF-8
    /// is a failed record.
    String,
}

/// A queue connector's record builder settings, parsed once at task start.
#[derive(Debug, Clone)]
pub struct BuilderConfig {
    pub builder: BuilderKind,
    pub body_type: BodyType,
    /// Where the record key comes from; `None` gives a null key.
    pub key: Option<KeySource>,
    /// Copy the message's properties and headers to Kafka headers.
    pub copy_to_headers: bool,
    /// Prefix of the Kafka header names of copied standard properties (`amqp.`).
    pub property_header_prefix: String,
    /// `json` builder: read Connect's `{schema, payload}` envelope.
    pub json_schemas_enable: bool,
}

impl Default for BuilderConfig {
    fn default() -> Self {
        BuilderConfig {
            builder: BuilderKind::Default,
            body_type: BodyType::Bytes,
            key: None,
            copy_to_headers: false,
            property_header_prefix: String::new(),
            json_schemas_enable: false,
        }
    }
}

/// The record builder keys under `prefix` (e.g. `amqp.`). `what` names the source's
/// properties in the docs ("AMQP properties and headers").
pub fn config_def(prefix: &str, what: &str, group: &str) -> ConfigDef {
    ConfigDef::new()
        .define(
            ConfigKey::string(format!("{prefix}record.builder"))
                .default("default")
                .one_of(BUILDER_NAMES)
                .importance(Importance::High)
                .group(group)
                .doc("How a message becomes a record. `default`: the body is the value, as bytes or text (see `record.builder.body.type`). `json`: the body is parsed as JSON into a schemaless value (or read as Connect's {schema, payload} envelope with `record.builder.json.schemas.enable`); a body that is not valid JSON is a failed record (task fails, or DLQ with errors.tolerance=all). IBM MQ source builder class names are accepted as aliases."),
        )
        .define(
            ConfigKey::string(format!("{prefix}record.builder.body.type"))
                .default("bytes")
                .one_of(&["bytes", "string"])
                .group(group)
                .doc("`default` builder only. `bytes`: the value is the body untouched (optional bytes schema); pair it with value.converter=org.apache.kafka.connect.converters.ByteArrayConverter to write the body to Kafka byte for byte. `string`: the body is decoded as UTF-8 (optional string schema); pair it with the StringConverter to write text. A body that is not valid UTF-8 is then a failed record."),
        )
        .define(
            ConfigKey::boolean(format!("{prefix}record.builder.json.schemas.enable"))
                .default("false")
                .group(group)
                .doc("`json` builder only: the body is Connect's JsonConverter envelope {\"schema\": ..., \"payload\": ...} and the record gets that schema."),
        )
        .define(
            ConfigKey::string(format!("{prefix}record.builder.key.header"))
                .optional()
                .group(group)
                .doc(format!("Where the record key comes from; unset gives a null key. JMS names map onto the {what}: JMSMessageID (message_id), JMSCorrelationID (correlation_id), JMSCorrelationIDAsBytes (correlation_id as bytes), JMSType (type), JMSReplyTo (reply_to), JMSTimestamp (timestamp, epoch ms), JMSDestination (AMQP routing key / MQTT topic), JMSDeliveryMode, JMSPriority, JMSExpiration. Any other name is a property name (e.g. message_id, app_id, topic) or else an application header name. A message without it gets a null key.")),
        )
        .define(
            ConfigKey::boolean(format!("{prefix}properties.copy.to.kafka.headers"))
                .default("false")
                .group(group)
                .doc(format!("Copy the {what} to Kafka headers, keeping their types (strings, integers, booleans, floats, timestamps, bytes, nested tables as maps). Standard properties are named `{prefix}<property>` (e.g. `{prefix}message_id`); application headers keep their own names.")),
        )
}

impl BuilderConfig {
    /// Reads the builder keys under `prefix` from a config parsed with [`config_def`].
    pub fn from_parsed(p: &ParsedConfig, prefix: &str) -> Result<Self, ConfigErrors> {
        let name = p.str(&format!("{prefix}record.builder"));
        let builder = match name.as_str() {
            n if n.eq_ignore_ascii_case("default") || n == BUILDER_NAMES[2] => BuilderKind::Default,
            n if n.eq_ignore_ascii_case("json") || n == BUILDER_NAMES[3] => BuilderKind::Json,
            other => {
                return Err(ConfigErrors(vec![ConfigIssue::new(
                    format!("{prefix}record.builder"),
                    format!("unknown record builder {}; known: default, json", other),
                )]))
            }
        };
        let body_type = if p
            .str(&format!("{prefix}record.builder.body.type"))
            .eq_ignore_ascii_case("string")
        {
            BodyType::String
        } else {
            BodyType::Bytes
        };
        let key = p
            .string(&format!("{prefix}record.builder.key.header"))
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
            .map(|s| KeySource::parse(&s));
        Ok(BuilderConfig {
            builder,
            body_type,
            key,
            copy_to_headers: p.boolean(&format!("{prefix}properties.copy.to.kafka.headers")),
            property_header_prefix: prefix.to_string(),
            json_schemas_enable: p.boolean(&format!("{prefix}record.builder.json.schemas.enable")),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sluice_runtime::config::RawConfig;

    fn parse(pairs: &[(&str, &str)]) -> Result<BuilderConfig, String> {
        let raw: RawConfig = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let p = config_def("amqp.", "AMQP properties", "Record builder")
            .parse(&raw)
            .map_err(|e| format!("{:?}", e))?;
        BuilderConfig::from_parsed(&p, "amqp.").map_err(|e| e.to_string())
    }

    #[test]
    fn defaults() {
        let c = parse(&[]).unwrap();
        assert_eq!(c.builder, BuilderKind::Default);
        assert_eq!(c.body_type, BodyType::Bytes);
        assert!(c.key.is_none());
        assert!(!c.copy_to_headers);
        assert!(!c.json_schemas_enable);
        assert_eq!(c.property_header_prefix, "amqp.");
    }

    #[test]
    fn names_and_aliases() {
        assert_eq!(
            parse(&[("amqp.record.builder", "JSON")]).unwrap().builder,
            BuilderKind::Json
        );
        assert_eq!(
            parse(&[(
                "amqp.record.builder",
                "com.ibm.eventstreams.connect.mqsource.builders.JsonRecordBuilder"
            )])
            .unwrap()
            .builder,
            BuilderKind::Json
        );
        let err = parse(&[("amqp.record.builder", "xml")]).unwrap_err();
        assert!(err.contains("amqp.record.builder"), "{}", err);
        let c = parse(&[
            ("amqp.record.builder.key.header", "JMSMessageID"),
            ("amqp.record.builder.body.type", "string"),
            ("amqp.properties.copy.to.kafka.headers", "true"),
        ])
        .unwrap();
        assert_eq!(c.key, Some(KeySource::parse("JMSMessageID")));
        assert_eq!(c.body_type, BodyType::String);
        assert!(c.copy_to_headers);
    }
}
