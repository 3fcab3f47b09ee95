//! Connect schema → `.proto` source, as Confluent's `ProtobufData.fromConnectSchema`
//! maps it: a struct is a proto3 message (package and name from the Connect schema's
//! name, `ConnectDefault1` when unnamed), its fields numbered 1, 2, ... (or by their
//! `io.confluent.connect.protobuf.Tag` parameter); nested structs and map entries are
//! nested messages; int8/int16 are `int32` with `connect.type` in
//! `(confluent.field_meta).params`; arrays are `repeated`; maps are `repeated
//! <Name>Entry` messages with `key = 1` and `value = 2`; optional fields stay plain
//! proto3 fields unless `optional.for.nullables` (`optional`) or `wrapper.for.nullables`
//! (`google.protobuf.*Value`) asks otherwise; Decimal, Date, Time and Timestamp are
//! `confluent.type.Decimal`, `google.type.Date`, `google.type.TimeOfDay` and
//! `google.protobuf.Timestamp`; unions (`io.confluent.connect.protobuf.Union.*`) are
//! `oneof`s; strings and int32 with Confluent's enum parameters are enums.

use std::collections::BTreeSet;
use std::fmt::Write;

use super::ProtobufOptions;
use crate::convert::ConvertError;
use crate::data::logical::{DATE, DECIMAL, DECIMAL_SCALE, TIME, TIMESTAMP};
use crate::data::{Schema, SchemaType};

pub(super) const DEFAULT_NAME: &str = "ConnectDefault";
pub(super) const TAG: &str = "io.confluent.connect.protobuf.Tag";
pub(super) const TYPE: &str = "io.confluent.connect.protobuf.Type";
pub(super) const ENUM: &str = "io.confluent.connect.protobuf.Enum";
pub(super) const UNION_PREFIX: &str = "io.confluent.connect.protobuf.Union.";
pub(super) const CONNECT_TYPE: &str = "connect.type";
pub(super) const PRECISION: &str = "connect.decimal.precision";
pub(super) const DECIMAL_TYPE: &str = "confluent.type.Decimal";
pub(super) const DATE_TYPE: &str = "google.type.Date";
pub(super) const TIME_TYPE: &str = "google.type.TimeOfDay";
pub(super) const TIMESTAMP_TYPE: &str = "google.protobuf.Timestamp";

/// The generated schema: `.proto` text and the full name of its top-level message.
#[derive(Debug, Clone, PartialEq)]
pub struct ProtoText {
    pub text: String,
    pub full_name: String,
}

#[derive(Default)]
struct Message {
    name: String,
    /// Field lines, in order (fields and oneofs).
    lines: Vec<String>,
    nested: Vec<Message>,
    enums: Vec<String>,
}

struct Ctx<'a> {
    opts: &'a ProtobufOptions,
    imports: BTreeSet<&'static str>,
    names: u32,
}

impl Ctx<'_> {
    fn name_or_default(&mut self, name: Option<&str>) -> String {
        match name {
            Some(n) if !n.is_empty() => n.to_string(),
            _ => {
                self.names += 1;
                format!("{}{}", DEFAULT_NAME, self.names)
            }
        }
    }

    fn unqualified(&mut self, name: Option<&str>) -> String {
        let full = self.name_or_default(name);
        full.rsplit('.').next().unwrap_or(&full).to_string()
    }
}

/// The `.proto` text for a Connect schema (a struct: Confluent also writes primitive
/// roots as `google.protobuf.*Value` messages, which Sluice does not).
pub fn proto_from_connect(
    schema: &Schema,
    opts: &ProtobufOptions,
) -> Result<ProtoText, ConvertError> {
    if schema.kind != SchemaType::Struct {
        return Err(ConvertError::new(format!(
            "ProtobufConverter writes struct schemas as Protobuf messages; this record's schema is {} (Confluent writes primitives as google.protobuf wrapper messages, which Sluice does not support yet)",
            schema.describe()
        )));
    }
    let mut ctx = Ctx {
        opts,
        imports: BTreeSet::new(),
        names: 0,
    };
    let full_name = ctx.name_or_default(schema.name.as_deref());
    let (package, name) = match full_name.rsplit_once('.') {
        Some((p, n)) => (Some(p.to_string()), n.to_string()),
        None => (None, full_name.clone()),
    };
    check_ident(&name, "message name")?;
    if let Some(p) = &package {
        for part in p.split('.') {
            check_ident(part, "package name")?;
        }
    }
    let msg = message(&mut ctx, &name, schema)?;
    let mut text = String::from("syntax = \"proto3\";\n");
    if let Some(p) = &package {
        let _ = writeln!(text, "package {};", p);
    }
    if !ctx.imports.is_empty() {
        text.push('\n');
        for i in &ctx.imports {
            let _ = writeln!(text, "import \"{}\";", i);
        }
    }
    text.push('\n');
    print_message(&msg, 0, &mut text);
    Ok(ProtoText { text, full_name })
}

/// Protobuf identifiers: letters, digits and `_`, not starting with a digit.
fn check_ident(s: &str, what: &str) -> Result<(), ConvertError> {
    let ok = !s.is_empty()
        && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !s.starts_with(|c: char| c.is_ascii_digit());
    if ok {
        Ok(())
    } else {
        Err(ConvertError::new(format!(
            "{:?} is not a valid Protobuf {} (letters, digits and _ only, not starting with a digit; Confluent's scrub.invalid.names is not supported)",
            s, what
        )))
    }
}

fn message(ctx: &mut Ctx, name: &str, schema: &Schema) -> Result<Message, ConvertError> {
    let mut m = Message {
        name: name.to_string(),
        ..Default::default()
    };
    let mut index = 1;
    for f in &schema.fields {
        let tag = match f.schema.parameters.get(TAG) {
            Some(t) => t.parse::<u32>().map_err(|_| {
                ConvertError::new(format!("field {}: {} {:?} is not a number", f.name, TAG, t))
            })?,
            None => {
                let t = index;
                index += 1;
                t
            }
        };
        if let Some(line) = field(ctx, &mut m, &f.schema, &f.name, tag, false)? {
            m.lines.push(line);
        }
    }
    Ok(m)
}

fn is_union(schema: &Schema) -> bool {
    schema.kind == SchemaType::Struct
        && schema
            .name
            .as_deref()
            .is_some_and(|n| n.starts_with(UNION_PREFIX))
}

/// One field line (or a whole `oneof` block), adding nested definitions to `parent`.
fn field(
    ctx: &mut Ctx,
    parent: &mut Message,
    schema: &Schema,
    name: &str,
    tag: u32,
    oneof_member: bool,
) -> Result<Option<String>, ConvertError> {
    check_ident(name, "field name")?;
    let mut label = match schema.kind {
        SchemaType::Array | SchemaType::Map => "repeated ",
        _ if ctx.opts.optional_for_nullables && schema.optional && !oneof_member => "optional ",
        _ => "",
    };
    let item = if schema.kind == SchemaType::Array {
        let item = schema
            .value_schema
            .as_deref()
            .ok_or_else(|| ConvertError::new(format!("array field {} has no item schema", name)))?;
        if item.kind == SchemaType::Array {
            return Err(ConvertError::new(format!(
                "field {}: arrays of arrays have no Protobuf form (Confluent refuses them too)",
                name
            )));
        }
        item
    } else {
        schema
    };
    if is_union(item) {
        let union = item.name.as_deref().unwrap_or_default();
        let oneof = union[UNION_PREFIX.len()..]
            .rsplit('.')
            .next()
            .unwrap_or_default()
            .to_string();
        check_ident(&oneof, "oneof name")?;
        let mut block = format!("oneof {} {{\n", oneof);
        for f in &item.fields {
            let tag = f
                .schema
                .parameters
                .get(TAG)
                .and_then(|t| t.parse::<u32>().ok())
                .ok_or_else(|| {
                    ConvertError::new(format!(
                        "union {} member {} has no {} parameter (the field number)",
                        union, f.name, TAG
                    ))
                })?;
            if let Some(line) = field(ctx, parent, &f.schema, &f.name, tag, true)? {
                block.push_str("  ");
                block.push_str(&line);
                block.push('\n');
            }
        }
        block.push('}');
        return Ok(Some(block));
    }
    let mut params: Vec<(&str, String)> = Vec::new();
    let ty = data_type(ctx, item, name, &mut params, oneof_member)?;
    match item.kind {
        SchemaType::Struct
            if item.logical().is_none() && !parent.nested.iter().any(|n| n.name == ty) =>
        {
            let nested = message(ctx, &ty, item)?;
            parent.nested.push(nested);
        }
        SchemaType::Map => {
            let mut entry = Message {
                name: ty.clone(),
                ..Default::default()
            };
            let key = item.key_schema.as_deref().ok_or_else(|| {
                ConvertError::new(format!("map field {} has no key schema", name))
            })?;
            let value = item.value_schema.as_deref().ok_or_else(|| {
                ConvertError::new(format!("map field {} has no value schema", name))
            })?;
            for (s, n, t) in [(key, "key", 1), (value, "value", 2)] {
                if let Some(line) = field(ctx, &mut entry, s, n, t, false)? {
                    entry.lines.push(line);
                }
            }
            if !parent.nested.iter().any(|n| n.name == ty) {
                parent.nested.push(entry);
            }
        }
        _ if item.parameters.contains_key(ENUM) => {
            let enum_name = item.parameters[ENUM].clone();
            if !parent
                .enums
                .iter()
                .any(|e| e.starts_with(&format!("enum {} ", enum_name)))
            {
                parent.enums.push(enum_definition(&enum_name, item)?);
            }
        }
        _ => {}
    }
    if ty.starts_with("google.protobuf.") && ty.ends_with("Value") {
        ctx.imports.insert("google/protobuf/wrappers.proto");
        if label == "optional " {
            label = "";
        }
    }
    let mut line = format!("{}{} {} = {}", label, ty, name, tag);
    if !params.is_empty() {
        ctx.imports.insert("confluent/meta.proto");
        let entries: Vec<String> = params
            .iter()
            .map(|(k, v)| format!("{{ key: {:?}, value: {:?} }}", k, v))
            .collect();
        let _ = write!(
            line,
            " [(confluent.field_meta) = {{ params: [{}] }}]",
            entries.join(", ")
        );
    }
    line.push(';');
    Ok(Some(line))
}

fn enum_definition(name: &str, schema: &Schema) -> Result<String, ConvertError> {
    check_ident(name, "enum name")?;
    let prefix = format!("{}.", ENUM);
    let mut values: Vec<(i32, &str)> = Vec::new();
    for (k, v) in &schema.parameters {
        if let Some(sym) = k.strip_prefix(&prefix) {
            let n = v.parse::<i32>().map_err(|_| {
                ConvertError::new(format!(
                    "enum {} symbol {}: {:?} is not a number",
                    name, sym, v
                ))
            })?;
            check_ident(sym, "enum symbol")?;
            values.push((n, sym));
        }
    }
    values.sort();
    let mut s = format!("enum {} {{\n", name);
    for (n, sym) in values {
        let _ = writeln!(s, "  {} = {};", sym, n);
    }
    s.push('}');
    Ok(s)
}

/// The Protobuf type of a (non-array) field, as `dataTypeFromConnectSchema` picks it.
fn data_type(
    ctx: &mut Ctx,
    schema: &Schema,
    field_name: &str,
    params: &mut Vec<(&'static str, String)>,
    oneof_member: bool,
) -> Result<String, ConvertError> {
    match schema.name.as_deref() {
        Some(DECIMAL) if schema.kind == SchemaType::Bytes => {
            if let Some(p) = schema.parameters.get(PRECISION) {
                params.push(("precision", p.clone()));
            }
            if let Some(s) = schema.parameters.get(DECIMAL_SCALE) {
                params.push(("scale", s.clone()));
            }
            ctx.imports.insert("confluent/type/decimal.proto");
            return Ok(DECIMAL_TYPE.into());
        }
        Some(DATE) if schema.kind == SchemaType::Int32 => {
            ctx.imports.insert("google/type/date.proto");
            return Ok(DATE_TYPE.into());
        }
        Some(TIME) if schema.kind == SchemaType::Int32 => {
            ctx.imports.insert("google/type/timeofday.proto");
            return Ok(TIME_TYPE.into());
        }
        Some(TIMESTAMP) if schema.kind == SchemaType::Int64 => {
            ctx.imports.insert("google/protobuf/timestamp.proto");
            return Ok(TIMESTAMP_TYPE.into());
        }
        _ => {}
    }
    let wrap = ctx.opts.wrapper_for_nullables && schema.optional && !oneof_member;
    let wrapper = |w: &str, plain: String| {
        if wrap {
            format!("google.protobuf.{}", w)
        } else {
            plain
        }
    };
    let proto_type = schema.parameters.get(TYPE).cloned();
    Ok(match schema.kind {
        SchemaType::Int8 | SchemaType::Int16 => {
            params.push((
                CONNECT_TYPE,
                if schema.kind == SchemaType::Int8 {
                    "int8"
                } else {
                    "int16"
                }
                .into(),
            ));
            wrapper("Int32Value", "int32".into())
        }
        SchemaType::Int32 => {
            if let Some(e) = schema.parameters.get(ENUM) {
                return Ok(e.clone());
            }
            wrapper("Int32Value", proto_type.unwrap_or_else(|| "int32".into()))
        }
        SchemaType::Int64 => {
            let t = proto_type.unwrap_or_else(|| "int64".into());
            let w = match t.as_str() {
                "uint32" | "fixed32" => "UInt32Value",
                "uint64" | "fixed64" => "UInt64Value",
                _ => "Int64Value",
            };
            wrapper(w, t)
        }
        SchemaType::Float32 => wrapper("FloatValue", "float".into()),
        SchemaType::Float64 => wrapper("DoubleValue", "double".into()),
        SchemaType::Boolean => wrapper("BoolValue", "bool".into()),
        SchemaType::String => {
            if let Some(e) = schema.parameters.get(ENUM) {
                return Ok(e.clone());
            }
            wrapper("StringValue", "string".into())
        }
        SchemaType::Bytes => wrapper("BytesValue", "bytes".into()),
        SchemaType::Map => {
            let n = ctx.unqualified(schema.name.as_deref());
            format!("{}Entry", to_upper_camel(&n))
        }
        SchemaType::Struct => {
            let n = ctx.unqualified(schema.name.as_deref());
            check_ident(&n, "message name")?;
            if n == field_name {
                format!("{}Message", n)
            } else {
                n
            }
        }
        SchemaType::Array => {
            return Err(ConvertError::new(format!(
                "field {}: arrays of arrays have no Protobuf form",
                field_name
            )))
        }
    })
}

/// `toMapEntry`: `lower_underscore` names become `UpperCamel`.
fn to_upper_camel(s: &str) -> String {
    if !s.contains('_') {
        return s.to_string();
    }
    s.split('_')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let mut c = p.chars();
            match c.next() {
                Some(f) => f.to_ascii_uppercase().to_string() + &c.as_str().to_ascii_lowercase(),
                None => String::new(),
            }
        })
        .collect()
}

fn print_message(m: &Message, depth: usize, out: &mut String) {
    let pad = "  ".repeat(depth);
    let _ = writeln!(out, "{}message {} {{", pad, m.name);
    for l in &m.lines {
        for part in l.lines() {
            let _ = writeln!(out, "{}  {}", pad, part);
        }
    }
    for n in &m.nested {
        print_message(n, depth + 1, out);
    }
    for e in &m.enums {
        for part in e.lines() {
            let _ = writeln!(out, "{}  {}", pad, part);
        }
    }
    let _ = writeln!(out, "{}}}", pad);
}
