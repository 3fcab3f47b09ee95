//! Connect values ↔ `prost_reflect::DynamicMessage`, following the Connect schema on
//! one side and the message descriptor on the other (as `ProtobufData.fromConnectData`
//! and `toConnectData` do). Errors name the field path.

use bytes::Bytes;
use prost_reflect::{
    DynamicMessage, FieldDescriptor, Kind, MapKey, MessageDescriptor, ReflectMessage,
    Value as PValue,
};

use super::from_proto::{has_optional_keyword, union_field_name, wrapper_type};
use super::to_proto::{DATE_TYPE, DECIMAL_TYPE, TIMESTAMP_TYPE, TIME_TYPE, UNION_PREFIX};
use super::ProtobufOptions;
use crate::convert::ConvertError;
use crate::data::logical::{
    civil_from_days, days_from_civil, decimal_from_bytes, decimal_to_bytes, Logical,
};
use crate::data::{Schema, SchemaRef, SchemaType, Struct, Value};

fn err(path: &str, msg: impl std::fmt::Display) -> ConvertError {
    if path.is_empty() {
        ConvertError::new(msg.to_string())
    } else {
        ConvertError::new(format!("field {}: {}", path, msg))
    }
}

fn join(path: &str, name: &str) -> String {
    if path.is_empty() {
        name.to_string()
    } else {
        format!("{}.{}", path, name)
    }
}

// ---------------------------------------------------------------- Connect → Protobuf

/// Builds the message `desc` from a Connect struct value.
pub fn to_message(
    desc: &MessageDescriptor,
    value: &Value,
    path: &str,
) -> Result<DynamicMessage, ConvertError> {
    let Value::Struct(s) = value else {
        return Err(err(
            path,
            format!(
                "a {} value for the struct schema of message {}",
                value.kind_name(),
                desc.full_name()
            ),
        ));
    };
    let mut msg = DynamicMessage::new(desc.clone());
    for (field, v) in s.iter() {
        if v.is_null() {
            continue;
        }
        let fpath = join(path, &field.name);
        if is_union(&field.schema) {
            let Value::Struct(u) = v else {
                return Err(err(&fpath, "a union value that is not a struct"));
            };
            let Some((member, mv)) = u.iter().find(|(_, mv)| !mv.is_null()) else {
                continue;
            };
            let fd = desc.get_field_by_name(&member.name).ok_or_else(|| {
                err(
                    &fpath,
                    format!("message {} has no field {}", desc.full_name(), member.name),
                )
            })?;
            let pv = single(&fd, &member.schema, mv, &join(&fpath, &member.name))?;
            msg.set_field(&fd, pv);
            continue;
        }
        let fd = desc.get_field_by_name(&field.name).ok_or_else(|| {
            err(
                &fpath,
                format!("message {} has no field {}", desc.full_name(), field.name),
            )
        })?;
        if let Some(pv) = field_value(&fd, &field.schema, v, &fpath)? {
            msg.set_field(&fd, pv);
        }
    }
    Ok(msg)
}

fn is_union(schema: &Schema) -> bool {
    schema.kind == SchemaType::Struct
        && schema
            .name
            .as_deref()
            .is_some_and(|n| n.starts_with(UNION_PREFIX))
}

/// The value of one field (`None`: leave it unset, as for an empty array).
fn field_value(
    fd: &FieldDescriptor,
    schema: &Schema,
    v: &Value,
    path: &str,
) -> Result<Option<PValue>, ConvertError> {
    match (schema.kind, v) {
        (SchemaType::Map, Value::Map(entries)) => {
            let Kind::Message(entry) = fd.kind() else {
                return Err(err(path, "a map for a field that is not a map"));
            };
            let kf = entry.get_field_by_name("key");
            let vf = entry.get_field_by_name("value");
            let (Some(kf), Some(vf)) = (kf, vf) else {
                return Err(err(
                    path,
                    format!("{} is not a key/value entry", entry.full_name()),
                ));
            };
            let ks = schema
                .key_schema
                .as_deref()
                .ok_or_else(|| err(path, "map without key schema"))?;
            let vs = schema
                .value_schema
                .as_deref()
                .ok_or_else(|| err(path, "map without value schema"))?;
            if fd.is_map() {
                let mut m = std::collections::HashMap::new();
                for (k, val) in entries {
                    let pk = single(&kf, ks, k, path)?;
                    let key = map_key(pk).ok_or_else(|| {
                        err(path, "a map key of a type Protobuf map keys cannot have")
                    })?;
                    let pv = if val.is_null() {
                        vf.default_value()
                    } else {
                        single(&vf, vs, val, path)?
                    };
                    m.insert(key, pv);
                }
                return Ok(Some(PValue::Map(m)));
            }
            let mut list = Vec::with_capacity(entries.len());
            for (k, val) in entries {
                let mut e = DynamicMessage::new(entry.clone());
                if !k.is_null() {
                    e.set_field(&kf, single(&kf, ks, k, path)?);
                }
                if !val.is_null() {
                    e.set_field(&vf, single(&vf, vs, val, path)?);
                }
                list.push(PValue::Message(e));
            }
            Ok(Some(PValue::List(list)))
        }
        (SchemaType::Array, Value::Array(items)) => {
            if items.is_empty() {
                return Ok(None);
            }
            let is = schema
                .value_schema
                .as_deref()
                .ok_or_else(|| err(path, "array without item schema"))?;
            let mut list = Vec::with_capacity(items.len());
            for (i, item) in items.iter().enumerate() {
                if item.is_null() {
                    return Err(err(
                        &format!("{}[{}]", path, i),
                        "null array items have no Protobuf form",
                    ));
                }
                list.push(single(fd, is, item, &format!("{}[{}]", path, i))?);
            }
            Ok(Some(PValue::List(list)))
        }
        _ => Ok(Some(single(fd, schema, v, path)?)),
    }
}

fn map_key(v: PValue) -> Option<MapKey> {
    Some(match v {
        PValue::Bool(b) => MapKey::Bool(b),
        PValue::I32(i) => MapKey::I32(i),
        PValue::I64(i) => MapKey::I64(i),
        PValue::U32(i) => MapKey::U32(i),
        PValue::U64(i) => MapKey::U64(i),
        PValue::String(s) => MapKey::String(s),
        _ => return None,
    })
}

/// Number of decimal digits of the unscaled value (`BigDecimal.precision()`).
fn decimal_precision(bytes: &[u8]) -> u32 {
    let n = num_bigint::BigInt::from_signed_bytes_be(bytes);
    let digits = n.magnitude().to_string().len();
    digits.max(1) as u32
}

/// One non-repeated value of field `fd` (or one item of a repeated field).
fn single(
    fd: &FieldDescriptor,
    schema: &Schema,
    v: &Value,
    path: &str,
) -> Result<PValue, ConvertError> {
    let kind = fd.kind();
    if let Kind::Message(m) = &kind {
        let mut msg = DynamicMessage::new(m.clone());
        let set = |msg: &mut DynamicMessage, name: &str, val: PValue| -> Result<(), ConvertError> {
            msg.try_set_field_by_name(name, val)
                .map_err(|e| err(path, format!("{}: {}", m.full_name(), e)))
        };
        match (m.full_name(), schema.logical(), v) {
            (DECIMAL_TYPE, Some(Logical::Decimal { scale }), Value::Bytes(b)) => {
                set(&mut msg, "value", PValue::Bytes(b.clone()))?;
                set(&mut msg, "precision", PValue::U32(decimal_precision(b)))?;
                set(&mut msg, "scale", PValue::I32(scale))?;
                return Ok(PValue::Message(msg));
            }
            (DATE_TYPE, Some(Logical::Date), Value::Int32(days)) => {
                let (y, mo, d) = civil_from_days(*days as i64);
                set(&mut msg, "year", PValue::I32(y as i32))?;
                set(&mut msg, "month", PValue::I32(mo as i32))?;
                set(&mut msg, "day", PValue::I32(d as i32))?;
                return Ok(PValue::Message(msg));
            }
            (TIME_TYPE, Some(Logical::Time), Value::Int32(ms)) => {
                if !(0..86_400_000).contains(ms) {
                    return Err(err(path, format!("a Time of {} ms is outside one day", ms)));
                }
                set(&mut msg, "hours", PValue::I32(ms / 3_600_000))?;
                set(&mut msg, "minutes", PValue::I32(ms / 60_000 % 60))?;
                set(&mut msg, "seconds", PValue::I32(ms / 1000 % 60))?;
                set(&mut msg, "nanos", PValue::I32(ms % 1000 * 1_000_000))?;
                return Ok(PValue::Message(msg));
            }
            (TIMESTAMP_TYPE, Some(Logical::Timestamp), Value::Int64(ms)) => {
                set(&mut msg, "seconds", PValue::I64(ms.div_euclid(1000)))?;
                set(
                    &mut msg,
                    "nanos",
                    PValue::I32((ms.rem_euclid(1000) * 1_000_000) as i32),
                )?;
                return Ok(PValue::Message(msg));
            }
            _ => {}
        }
        if wrapper_type(m.full_name()).is_some() && schema.kind.is_primitive() {
            let inner = m
                .get_field_by_name("value")
                .ok_or_else(|| err(path, "wrapper without value"))?;
            let pv = single(&inner, schema, v, path)?;
            msg.set_field(&inner, pv);
            return Ok(PValue::Message(msg));
        }
        if schema.kind == SchemaType::Struct {
            return Ok(PValue::Message(to_message(m, v, path)?));
        }
        return Err(err(
            path,
            format!(
                "a Connect {} cannot be written as message {}",
                schema.describe(),
                m.full_name()
            ),
        ));
    }
    let mismatch = || {
        err(
            path,
            format!(
                "a {} value (schema {}) cannot be written to a Protobuf {:?} field",
                v.kind_name(),
                schema.describe(),
                kind
            ),
        )
    };
    let int = v.as_i64();
    Ok(match &kind {
        Kind::Enum(e) => match v {
            Value::String(s) => PValue::EnumNumber(
                e.get_value_by_name(s)
                    .ok_or_else(|| {
                        err(
                            path,
                            format!("{:?} is not a symbol of enum {}", s, e.full_name()),
                        )
                    })?
                    .number(),
            ),
            _ => PValue::EnumNumber(int.ok_or_else(mismatch)? as i32),
        },
        Kind::Int32 | Kind::Sint32 | Kind::Sfixed32 => {
            PValue::I32(int.ok_or_else(mismatch)? as i32)
        }
        Kind::Int64 | Kind::Sint64 | Kind::Sfixed64 => PValue::I64(int.ok_or_else(mismatch)?),
        Kind::Uint32 | Kind::Fixed32 => PValue::U32(int.ok_or_else(mismatch)? as u32),
        Kind::Uint64 | Kind::Fixed64 => PValue::U64(int.ok_or_else(mismatch)? as u64),
        Kind::Float => match v {
            Value::Float32(f) => PValue::F32(*f),
            Value::Float64(f) => PValue::F32(*f as f32),
            _ => return Err(mismatch()),
        },
        Kind::Double => match v {
            Value::Float64(f) => PValue::F64(*f),
            Value::Float32(f) => PValue::F64(*f as f64),
            _ => return Err(mismatch()),
        },
        Kind::Bool => match v {
            Value::Boolean(b) => PValue::Bool(*b),
            _ => return Err(mismatch()),
        },
        Kind::String => match v {
            Value::String(s) => PValue::String(s.clone()),
            _ => return Err(mismatch()),
        },
        Kind::Bytes => match v {
            Value::Bytes(b) => PValue::Bytes(b.clone()),
            _ => return Err(mismatch()),
        },
        Kind::Message(_) => unreachable!("handled above"),
    })
}

// ---------------------------------------------------------------- Protobuf → Connect

/// Reads `msg` as a value of the Connect schema made by
/// [`connect_schema_from_proto`](super::from_proto::connect_schema_from_proto).
pub fn from_message(
    schema: &SchemaRef,
    msg: &DynamicMessage,
    opts: &ProtobufOptions,
    path: &str,
) -> Result<Value, ConvertError> {
    if schema.kind != SchemaType::Struct {
        // a wrapper message at the root
        return match msg.get_field_by_name("value") {
            Some(v) => from_single(schema, &v, opts, path),
            None => Err(err(
                path,
                format!(
                    "message {} has no value field",
                    msg.descriptor().full_name()
                ),
            )),
        };
    }
    let desc = msg.descriptor();
    let mut values = Vec::with_capacity(schema.fields.len());
    let oneofs: Vec<_> = desc.oneofs().filter(|o| !o.is_synthetic()).collect();
    for field in &schema.fields {
        let fpath = join(path, &field.name);
        if let Some(o) = oneofs
            .iter()
            .find(|o| union_field_name(o, opts) == field.name)
        {
            let set = o.fields().find(|f| msg.has_field(f));
            let v = match set {
                None => Value::Null,
                Some(f) => {
                    let mut inner = Vec::with_capacity(field.schema.fields.len());
                    for m in &field.schema.fields {
                        if m.name == f.name() {
                            inner.push(field_from(
                                &m.schema,
                                &f,
                                msg,
                                opts,
                                &join(&fpath, &m.name),
                            )?);
                        } else {
                            inner.push(Value::Null);
                        }
                    }
                    Value::Struct(
                        Struct::from_values(field.schema.clone(), inner)
                            .map_err(|e| err(&fpath, e))?,
                    )
                }
            };
            values.push(v);
            continue;
        }
        let fd = desc.get_field_by_name(&field.name).ok_or_else(|| {
            err(
                &fpath,
                format!("message {} has no such field", desc.full_name()),
            )
        })?;
        let always = (!matches!(fd.kind(), Kind::Message(_)) || fd.is_list() || fd.is_map())
            && !has_optional_keyword(&fd);
        if always || msg.has_field(&fd) {
            values.push(field_from(&field.schema, &fd, msg, opts, &fpath)?);
        } else {
            values.push(Value::Null);
        }
    }
    Ok(Value::Struct(
        Struct::from_values(schema.clone(), values).map_err(|e| err(path, e))?,
    ))
}

fn field_from(
    schema: &SchemaRef,
    fd: &FieldDescriptor,
    msg: &DynamicMessage,
    opts: &ProtobufOptions,
    path: &str,
) -> Result<Value, ConvertError> {
    let v = msg.get_field(fd);
    from_single(schema, v.as_ref(), opts, path)
}

fn message_field<'a>(m: &'a DynamicMessage, name: &str) -> Option<std::borrow::Cow<'a, PValue>> {
    m.get_field_by_name(name)
}

fn int_of(m: &DynamicMessage, name: &str) -> i64 {
    match message_field(m, name).as_deref() {
        Some(PValue::I32(i)) => *i as i64,
        Some(PValue::I64(i)) => *i,
        Some(PValue::U32(i)) => *i as i64,
        Some(PValue::U64(i)) => *i as i64,
        _ => 0,
    }
}

fn from_single(
    schema: &SchemaRef,
    v: &PValue,
    opts: &ProtobufOptions,
    path: &str,
) -> Result<Value, ConvertError> {
    match schema.logical() {
        Some(Logical::Decimal { scale }) => {
            let PValue::Message(m) = v else {
                return Err(err(
                    path,
                    "a Decimal that is not a confluent.type.Decimal message",
                ));
            };
            let bytes = match message_field(m, "value").as_deref() {
                Some(PValue::Bytes(b)) => b.clone(),
                _ => Bytes::new(),
            };
            let msg_scale = int_of(m, "scale") as i32;
            if msg_scale == scale {
                return Ok(Value::Bytes(if bytes.is_empty() {
                    Bytes::from_static(&[0])
                } else {
                    bytes
                }));
            }
            // rescale to the schema's scale when no digit is lost
            let unscaled = if bytes.is_empty() {
                Some(0)
            } else {
                decimal_from_bytes(&bytes)
            };
            let rescaled = unscaled.and_then(|u| {
                if msg_scale < scale {
                    10i128
                        .checked_pow((scale - msg_scale) as u32)
                        .and_then(|p| u.checked_mul(p))
                } else {
                    let p = 10i128.checked_pow((msg_scale - scale) as u32)?;
                    (u % p == 0).then(|| u / p)
                }
            });
            return match rescaled {
                Some(u) => Ok(Value::Bytes(Bytes::from(decimal_to_bytes(u)))),
                None => Err(err(
                    path,
                    format!(
                        "a decimal of scale {} does not fit the schema's scale {} (the field declares its scale in (confluent.field_meta).params, else 0; Connect decimals have one scale per field)",
                        msg_scale, scale
                    ),
                )),
            };
        }
        Some(Logical::Date) => {
            let PValue::Message(m) = v else {
                return Err(err(path, "a Date that is not a google.type.Date message"));
            };
            let (y, mo, d) = (int_of(m, "year"), int_of(m, "month"), int_of(m, "day"));
            if !(1..=12).contains(&mo) || !(1..=31).contains(&d) {
                return Err(err(path, format!("{}-{}-{} is not a valid date", y, mo, d)));
            }
            return Ok(Value::Int32(days_from_civil(y, mo as u32, d as u32) as i32));
        }
        Some(Logical::Time) => {
            let PValue::Message(m) = v else {
                return Err(err(
                    path,
                    "a Time that is not a google.type.TimeOfDay message",
                ));
            };
            let ms = int_of(m, "hours") * 3_600_000
                + int_of(m, "minutes") * 60_000
                + int_of(m, "seconds") * 1000
                + int_of(m, "nanos") / 1_000_000;
            return Ok(Value::Int32(ms as i32));
        }
        Some(Logical::Timestamp) => {
            let PValue::Message(m) = v else {
                return Err(err(
                    path,
                    "a Timestamp that is not a google.protobuf.Timestamp message",
                ));
            };
            let ms = int_of(m, "seconds")
                .saturating_mul(1000)
                .saturating_add(int_of(m, "nanos").div_euclid(1_000_000));
            return Ok(Value::Int64(ms));
        }
        None => {}
    }
    // a wrapper message read as its primitive (wrapper.for.nullables)
    if schema.kind.is_primitive() {
        if let PValue::Message(m) = v {
            if wrapper_type(m.descriptor().full_name()).is_some() {
                return match message_field(m, "value") {
                    Some(inner) => from_single(schema, inner.as_ref(), opts, path),
                    None => Ok(Value::Null),
                };
            }
        }
    }
    let mismatch = || {
        err(
            path,
            format!(
                "a Protobuf {:?} does not fit the Connect schema {}",
                v,
                schema.describe()
            ),
        )
    };
    Ok(match schema.kind {
        SchemaType::Int8 => Value::Int8(pint(v).ok_or_else(mismatch)? as i8),
        SchemaType::Int16 => Value::Int16(pint(v).ok_or_else(mismatch)? as i16),
        SchemaType::Int32 => Value::Int32(pint(v).ok_or_else(mismatch)? as i32),
        SchemaType::Int64 => Value::Int64(pint(v).ok_or_else(mismatch)?),
        SchemaType::Float32 => match v {
            PValue::F32(f) => Value::Float32(*f),
            PValue::F64(f) => Value::Float32(*f as f32),
            _ => return Err(mismatch()),
        },
        SchemaType::Float64 => match v {
            PValue::F64(f) => Value::Float64(*f),
            PValue::F32(f) => Value::Float64(*f as f64),
            _ => return Err(mismatch()),
        },
        SchemaType::Boolean => Value::Boolean(v.as_bool().ok_or_else(mismatch)?),
        SchemaType::String => match v {
            PValue::String(s) => Value::String(s.clone()),
            PValue::EnumNumber(n) => {
                let sym = schema
                    .parameters
                    .iter()
                    .find(|(k, val)| {
                        k.starts_with(super::to_proto::ENUM)
                            && k.len() > super::to_proto::ENUM.len()
                            && val.parse::<i32>().ok() == Some(*n)
                    })
                    .map(|(k, _)| k[super::to_proto::ENUM.len() + 1..].to_string());
                Value::String(sym.unwrap_or_else(|| n.to_string()))
            }
            _ => return Err(mismatch()),
        },
        SchemaType::Bytes => match v {
            PValue::Bytes(b) => Value::Bytes(b.clone()),
            _ => return Err(mismatch()),
        },
        SchemaType::Array => {
            let PValue::List(items) = v else {
                return Err(mismatch());
            };
            let is = schema
                .value_schema
                .as_ref()
                .ok_or_else(|| err(path, "array without item schema"))?;
            let mut out = Vec::with_capacity(items.len());
            for (i, item) in items.iter().enumerate() {
                out.push(from_single(is, item, opts, &format!("{}[{}]", path, i))?);
            }
            Value::Array(out)
        }
        SchemaType::Map => {
            let ks = schema
                .key_schema
                .as_ref()
                .ok_or_else(|| err(path, "map without key schema"))?;
            let vs = schema
                .value_schema
                .as_ref()
                .ok_or_else(|| err(path, "map without value schema"))?;
            let mut out = Vec::new();
            match v {
                PValue::Map(m) => {
                    let mut entries: Vec<_> = m.iter().collect();
                    entries.sort_by(|a, b| a.0.cmp(b.0));
                    for (k, val) in entries {
                        let kv = match k {
                            MapKey::Bool(b) => PValue::Bool(*b),
                            MapKey::I32(i) => PValue::I32(*i),
                            MapKey::I64(i) => PValue::I64(*i),
                            MapKey::U32(i) => PValue::U32(*i),
                            MapKey::U64(i) => PValue::U64(*i),
                            MapKey::String(s) => PValue::String(s.clone()),
                        };
                        out.push((
                            from_single(ks, &kv, opts, path)?,
                            from_single(vs, val, opts, path)?,
                        ));
                    }
                }
                PValue::List(items) => {
                    for item in items {
                        let PValue::Message(e) = item else {
                            return Err(mismatch());
                        };
                        let d = e.descriptor();
                        let key = entry_part(e, &d, "key", ks, opts, path)?;
                        let val = entry_part(e, &d, "value", vs, opts, path)?;
                        out.push((key, val));
                    }
                }
                _ => return Err(mismatch()),
            }
            Value::Map(out)
        }
        SchemaType::Struct => {
            let PValue::Message(m) = v else {
                return Err(mismatch());
            };
            from_message(schema, m, opts, path)?
        }
    })
}

fn entry_part(
    e: &DynamicMessage,
    d: &MessageDescriptor,
    name: &str,
    schema: &SchemaRef,
    opts: &ProtobufOptions,
    path: &str,
) -> Result<Value, ConvertError> {
    let f = d
        .get_field_by_name(name)
        .ok_or_else(|| err(path, format!("map entry without {}", name)))?;
    if matches!(f.kind(), Kind::Message(_)) && !e.has_field(&f) {
        return Ok(Value::Null);
    }
    from_single(schema, e.get_field(&f).as_ref(), opts, path)
}

fn pint(v: &PValue) -> Option<i64> {
    Some(match v {
        PValue::I32(i) => *i as i64,
        PValue::I64(i) => *i,
        PValue::U32(i) => *i as i64,
        PValue::U64(i) => *i as i64,
        PValue::EnumNumber(n) => *n as i64,
        _ => return None,
    })
}
