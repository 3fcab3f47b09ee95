//! Protobuf message descriptor → Connect schema, as Confluent's
//! `ProtobufData.toConnectSchema` maps it: a message is a struct named after the
//! message (its full name with `enhanced.protobuf.schema.support`); every field carries
//! its number as the `io.confluent.connect.protobuf.Tag` parameter and is optional
//! (with `optional.for.nullables` only proto3 `optional` fields are; with
//! `wrapper.for.nullables` message fields stay optional and `google.protobuf.*Value`
//! fields become optional primitives); `sint32`/`fixed32`... keep their type in
//! `io.confluent.connect.protobuf.Type`; enums are strings (int32 with
//! `int.for.enums`) with their symbols as parameters; `repeated` is an array; map
//! entries (`XEntry` with `key`/`value`) are maps; a `oneof` is an optional struct
//! named `io.confluent.connect.protobuf.Union.<name>` in a field `<name>_<index>`
//! (`<name>` without `generate.index.for.unions`); Confluent's and Google's types are
//! the logical types.

use prost_reflect::{Kind, MessageDescriptor, OneofDescriptor, Value as PValue};

use super::to_proto::{
    CONNECT_TYPE, DATE_TYPE, DECIMAL_TYPE, ENUM, TAG, TIMESTAMP_TYPE, TIME_TYPE, TYPE, UNION_PREFIX,
};
use super::ProtobufOptions;
use crate::data::logical::{date_builder, decimal_builder, time_builder, timestamp_builder};
use crate::data::{SchemaBuilder, SchemaRef, SchemaType};

const WRAPPERS: &[(&str, SchemaType)] = &[
    ("google.protobuf.DoubleValue", SchemaType::Float64),
    ("google.protobuf.FloatValue", SchemaType::Float32),
    ("google.protobuf.Int64Value", SchemaType::Int64),
    ("google.protobuf.UInt64Value", SchemaType::Int64),
    ("google.protobuf.Int32Value", SchemaType::Int32),
    ("google.protobuf.UInt32Value", SchemaType::Int64),
    ("google.protobuf.BoolValue", SchemaType::Boolean),
    ("google.protobuf.StringValue", SchemaType::String),
    ("google.protobuf.BytesValue", SchemaType::Bytes),
];

/// The Connect type a `google.protobuf.*Value` message unwraps to.
pub(super) fn wrapper_type(full_name: &str) -> Option<SchemaType> {
    WRAPPERS
        .iter()
        .find(|(n, _)| *n == full_name)
        .map(|(_, t)| *t)
}

/// The Connect schema of the top-level message `desc` (a wrapper message is its
/// primitive, as Confluent's `wrapper.for.raw.primitives` default does).
pub fn connect_schema_from_proto(
    desc: &MessageDescriptor,
    opts: &ProtobufOptions,
) -> Result<SchemaRef, String> {
    if let Some(t) = wrapper_type(desc.full_name()) {
        return Ok(SchemaBuilder::new(t).optional().build());
    }
    let mut stack = Vec::new();
    Ok(message_schema(desc, opts, &mut stack)?.build())
}

/// The name of the Connect field that holds a `oneof`.
pub(super) fn union_field_name(o: &OneofDescriptor, opts: &ProtobufOptions) -> String {
    if opts.generate_index_for_unions {
        let index = o
            .parent_message()
            .oneofs()
            .position(|x| x.name() == o.name())
            .unwrap_or(0);
        format!("{}_{}", o.name(), index)
    } else {
        o.name().to_string()
    }
}

fn message_schema(
    desc: &MessageDescriptor,
    opts: &ProtobufOptions,
    stack: &mut Vec<String>,
) -> Result<SchemaBuilder, String> {
    if stack.iter().any(|s| s == desc.full_name()) {
        return Err(format!(
            "message {} contains itself; recursive messages have no Connect schema",
            desc.full_name()
        ));
    }
    stack.push(desc.full_name().to_string());
    let name = if opts.enhanced {
        desc.full_name()
    } else {
        desc.name()
    };
    let mut b = SchemaBuilder::struct_().name(name);
    for o in desc.oneofs().filter(|o| !o.is_synthetic()) {
        let oname = if opts.enhanced {
            o.full_name()
        } else {
            o.name()
        };
        let mut u = SchemaBuilder::struct_().name(format!("{}{}", UNION_PREFIX, oname));
        for f in o.fields() {
            u = u.field(f.name(), field_schema(&f, opts, true, stack)?);
        }
        b = b.field(union_field_name(&o, opts), u.optional().build());
    }
    for f in desc.fields() {
        if f.containing_oneof().is_some_and(|o| !o.is_synthetic()) {
            continue;
        }
        b = b.field(f.name(), field_schema(&f, opts, false, stack)?);
    }
    stack.pop();
    Ok(b)
}

/// Whether the field was declared with `optional` (proto3) or is a proto2 optional.
pub(super) fn has_optional_keyword(f: &prost_reflect::FieldDescriptor) -> bool {
    f.field_descriptor_proto().proto3_optional()
        || (f.parent_file().syntax() == prost_reflect::Syntax::Proto2
            && f.cardinality() == prost_reflect::Cardinality::Optional
            && f.containing_oneof().is_none())
}

/// `(confluent.field_meta).params[key]` of a field.
pub(super) fn meta_param(f: &prost_reflect::FieldDescriptor, key: &str) -> Option<String> {
    let options = f.options();
    let ext = prost_reflect::ReflectMessage::descriptor(&options)
        .parent_pool()
        .get_extension_by_name("confluent.field_meta")?;
    if !options.has_extension(&ext) {
        return None;
    }
    let meta = options.get_extension(&ext);
    let PValue::Message(meta) = meta.as_ref() else {
        return None;
    };
    let params = meta.get_field_by_name("params")?;
    match params.as_ref() {
        PValue::Map(m) => m
            .get(&prost_reflect::MapKey::String(key.to_string()))
            .and_then(|v| v.as_str().map(str::to_string)),
        _ => None,
    }
}

fn field_schema(
    f: &prost_reflect::FieldDescriptor,
    opts: &ProtobufOptions,
    oneof_member: bool,
    stack: &mut Vec<String>,
) -> Result<SchemaRef, String> {
    let mut optional = false;
    let mut b = match f.kind() {
        Kind::Int32 | Kind::Sint32 | Kind::Sfixed32 => {
            match meta_param(f, CONNECT_TYPE).as_deref() {
                Some("int8") => SchemaBuilder::new(SchemaType::Int8),
                Some("int16") => SchemaBuilder::new(SchemaType::Int16),
                _ => {
                    let b = SchemaBuilder::new(SchemaType::Int32);
                    match f.kind() {
                        Kind::Sint32 => b.parameter(TYPE, "sint32"),
                        Kind::Sfixed32 => b.parameter(TYPE, "sfixed32"),
                        _ => b,
                    }
                }
            }
        }
        k @ (Kind::Uint32
        | Kind::Fixed32
        | Kind::Int64
        | Kind::Uint64
        | Kind::Sint64
        | Kind::Fixed64
        | Kind::Sfixed64) => {
            let b = SchemaBuilder::new(SchemaType::Int64);
            let t = match k {
                Kind::Uint32 => "uint32",
                Kind::Fixed32 => "fixed32",
                Kind::Uint64 => "uint64",
                Kind::Sint64 => "sint64",
                Kind::Fixed64 => "fixed64",
                Kind::Sfixed64 => "sfixed64",
                _ => "",
            };
            if t.is_empty() {
                b
            } else {
                b.parameter(TYPE, t)
            }
        }
        Kind::Float => SchemaBuilder::new(SchemaType::Float32),
        Kind::Double => SchemaBuilder::new(SchemaType::Float64),
        Kind::Bool => SchemaBuilder::new(SchemaType::Boolean),
        Kind::String => SchemaBuilder::new(SchemaType::String),
        Kind::Bytes => SchemaBuilder::new(SchemaType::Bytes),
        Kind::Enum(e) => {
            let mut b = SchemaBuilder::new(if opts.int_for_enums {
                SchemaType::Int32
            } else {
                SchemaType::String
            })
            .name(if opts.enhanced {
                e.full_name()
            } else {
                e.name()
            })
            .parameter(ENUM, e.name());
            for v in e.values() {
                b = b.parameter(format!("{}.{}", ENUM, v.name()), v.number().to_string());
            }
            optional = true;
            b
        }
        Kind::Message(m) => {
            optional = true;
            match m.full_name() {
                DECIMAL_TYPE => {
                    let scale = meta_param(f, "scale")
                        .and_then(|s| s.parse().ok())
                        .unwrap_or(0);
                    let b = decimal_builder(scale);
                    match meta_param(f, "precision").and_then(|p| p.parse::<i32>().ok()) {
                        Some(p) => b.parameter(super::to_proto::PRECISION, p.to_string()),
                        None => b,
                    }
                }
                DATE_TYPE => date_builder(),
                TIME_TYPE => time_builder(),
                TIMESTAMP_TYPE => timestamp_builder(),
                name => match wrapper_type(name) {
                    Some(t) if opts.wrapper_for_nullables => SchemaBuilder::new(t),
                    _ if f.is_map() || is_map_entry_list(f, &m) => {
                        let fields: Vec<_> = m.fields().collect();
                        let name = map_field_name(if opts.enhanced {
                            m.full_name()
                        } else {
                            m.name()
                        });
                        SchemaBuilder::map(
                            field_schema(&fields[0], opts, false, stack)?,
                            field_schema(&fields[1], opts, false, stack)?,
                        )
                        .name(name)
                    }
                    _ => message_schema(&m, opts, stack)?,
                },
            }
        }
    };
    let is_map = f.is_map() || matches!(f.kind(), Kind::Message(m) if is_map_entry_list(f, &m));
    if f.is_list() && !is_map {
        let item = b.optional().build();
        b = SchemaBuilder::array(item);
        optional = true;
    } else if is_map {
        optional = true;
    }
    if oneof_member {
        optional = true;
    } else if opts.optional_for_nullables {
        if has_optional_keyword(f) {
            optional = true;
        }
    } else if !opts.wrapper_for_nullables {
        optional = true;
    }
    Ok(b.set_optional(optional)
        .parameter(TAG, f.number().to_string())
        .build())
}

/// A repeated message field whose message is a map entry: `<Name>Entry` with exactly
/// the fields `key` and `value`, neither repeated (`map<K, V>` fields are such too).
pub(super) fn is_map_entry_list(f: &prost_reflect::FieldDescriptor, m: &MessageDescriptor) -> bool {
    if !(f.is_list() || f.is_map()) {
        return false;
    }
    let fields: Vec<_> = m.fields().collect();
    m.name().ends_with("Entry")
        && fields.len() == 2
        && fields[0].name() == "key"
        && fields[1].name() == "value"
        && !fields[0].is_list()
        && !fields[1].is_list()
}

/// `toMapField`: `FooBarEntry` → `foo_bar`.
fn map_field_name(name: &str) -> String {
    let (prefix, last) = match name.rsplit_once('.') {
        Some((p, l)) => (Some(p), l),
        None => (None, name),
    };
    let last = match last.strip_suffix("Entry") {
        Some(stem) => {
            let mut out = String::new();
            for (i, c) in stem.chars().enumerate() {
                if c.is_ascii_uppercase() {
                    if i > 0 {
                        out.push('_');
                    }
                    out.push(c.to_ascii_lowercase());
                } else {
                    out.push(c);
                }
            }
            out
        }
        None => last.to_string(),
    };
    match prefix {
        Some(p) => format!("{}.{}", p, last),
        None => last,
    }
}
