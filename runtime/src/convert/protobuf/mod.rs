//! `io.confluent.connect.protobuf.ProtobufConverter`: Connect values as Protobuf in
//! Confluent's wire format (magic byte, schema id, message indexes, payload), with the
//! `.proto` schemas in a Schema Registry (`schemaType` `PROTOBUF`). The schema mapping
//! follows Confluent's `ProtobufData` ([`to_proto`] one way, [`from_proto`] the other);
//! descriptors come from the `protox` compiler and values are encoded and decoded as
//! `prost-reflect` dynamic messages.

mod converter;
mod files;
mod from_proto;
mod indexes;
mod to_proto;
mod value;

use crate::config::{ConfigDef, ConfigIssue, ConfigKey, ParsedConfig};

pub use converter::ProtobufConverter;
pub(crate) use converter::{config_def, create};
pub use from_proto::connect_schema_from_proto;
pub use indexes::{decode_indexes, encode_indexes};
pub use to_proto::{proto_from_connect, ProtoText};
#[cfg(test)]
mod tests;

/// The settings of Confluent's `ProtobufDataConfig` that change the mapping.
#[derive(Debug, Clone, PartialEq)]
pub struct ProtobufOptions {
    /// `enhanced.protobuf.schema.support`: full names (package included) for the
    /// Connect names of messages, enums and oneofs read.
    pub enhanced: bool,
    /// `wrapper.for.nullables`: optional primitives as `google.protobuf.*Value`.
    pub wrapper_for_nullables: bool,
    /// `optional.for.nullables`: optional fields as proto3 `optional`.
    pub optional_for_nullables: bool,
    /// `int.for.enums`: enums read as int32 instead of strings.
    pub int_for_enums: bool,
    /// `generate.index.for.unions`: a oneof's Connect field is `<name>_<index>`.
    pub generate_index_for_unions: bool,
}

impl Default for ProtobufOptions {
    fn default() -> Self {
        ProtobufOptions {
            enhanced: false,
            wrapper_for_nullables: false,
            optional_for_nullables: false,
            int_for_enums: false,
            generate_index_for_unions: true,
        }
    }
}

/// Confluent's keys that Sluice knows but does not implement, with the only value
/// accepted (their default).
const UNSUPPORTED: &[(&str, &str, &str)] = &[
    ("scrub.invalid.names", "false", "Replace characters that are not valid in Protobuf names (Confluent's key; not supported: only false)."),
    ("generalized.sum.type.support", "false", "Confluent's generalized unions and enums (not supported: only false)."),
    ("optional.for.proto2", "true", "Read proto2 optional fields as optional (only true)."),
    ("wrapper.for.raw.primitives", "true", "Read a top-level google.protobuf.*Value message as its primitive (only true)."),
    ("generate.struct.for.nulls", "false", "Read unset message fields as structs of defaults (not supported: only false)."),
    ("flatten.unions", "false", "Read oneof members as fields of the message (not supported: only false)."),
    ("ignore.default.for.nullables", "false", "Write null instead of a field's default (not supported: only false)."),
];

pub(crate) fn protobuf_config_def() -> ConfigDef {
    let mut def = ConfigDef::new()
        .define(ConfigKey::boolean("enhanced.protobuf.schema.support").default("false").doc(
            "Name the Connect schemas of messages, enums and oneofs read with their full Protobuf names (package included).",
        ))
        .define(ConfigKey::boolean("wrapper.for.nullables").default("false").doc(
            "Write optional primitive fields as google.protobuf wrapper messages (Int32Value, StringValue, ...), and read wrapper fields as optional primitives.",
        ))
        .define(ConfigKey::boolean("optional.for.nullables").default("false").doc(
            "Write optional fields with proto3's optional keyword, and read only fields declared optional as optional.",
        ))
        .define(ConfigKey::boolean("int.for.enums").default("false").doc(
            "Read Protobuf enums as int32 (the number) instead of strings (the symbol).",
        ))
        .define(ConfigKey::boolean("generate.index.for.unions").default("true").doc(
            "Name the Connect field of a oneof <name>_<index> (false: <name>).",
        ));
    for (key, default, doc) in UNSUPPORTED {
        def = def.define(ConfigKey::boolean(*key).default(*default).doc(*doc));
    }
    def
}

impl ProtobufOptions {
    /// Reads the options; a non-default value of a key Sluice does not implement is
    /// an issue naming the key.
    pub(crate) fn parse(p: &ParsedConfig, issues: &mut Vec<ConfigIssue>) -> Self {
        for (key, default, _) in UNSUPPORTED {
            if p.boolean(key).to_string() != *default {
                issues.push(ConfigIssue::new(
                    *key,
                    format!(
                        "is not supported by Sluice's ProtobufConverter (only {}, Confluent's default)",
                        default
                    ),
                ));
            }
        }
        ProtobufOptions {
            enhanced: p.boolean("enhanced.protobuf.schema.support"),
            wrapper_for_nullables: p.boolean("wrapper.for.nullables"),
            optional_for_nullables: p.boolean("optional.for.nullables"),
            int_for_enums: p.boolean("int.for.enums"),
            generate_index_for_unions: p.boolean("generate.index.for.unions"),
        }
    }
}
