//! Column types to Connect schemas, and PostgreSQL's binary wire format to Connect
//! values. Types without a native mapping are cast to text in the SELECT list, so
//! every column reaches Kafka.

use bytes::Bytes;
use sluice_runtime::data::logical::{date_builder, time_builder};
use sluice_runtime::data::{primitive, SchemaBuilder, SchemaRef, SchemaType, Value};
use tokio_postgres::types::{FromSql, Type};

use super::config::JdbcSourceConfig;
use super::granularity::Granularity;
use super::numeric::{self, NumericForm};
use super::quote::{quote_ident, quote_literal};

/// Microseconds between 1970-01-01 and PostgreSQL's epoch 2000-01-01.
pub const PG_EPOCH_MICROS: i64 = 946_684_800_000_000;
const PG_EPOCH_DAYS: i32 = 10_957;

/// How one column is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Bool,
    Int16,
    Int32,
    Int64,
    /// `oid`: unsigned 32-bit, widened.
    Oid,
    Float32,
    Float64,
    /// numeric as a Connect Decimal with this scale (any size).
    Decimal(i32),
    /// numeric read as `int8`, as an integer of this many bits (`numeric.mapping`).
    NumericInt(u8),
    /// Text-like (text, varchar, char, name, and anything cast to text).
    Text,
    Bytes,
    Date,
    Time,
    /// timestamptz, and timestamp read `AT TIME ZONE db.timezone`.
    Timestamp,
    /// A timestamp written as `timestamp.granularity` says (epoch micros or nanos).
    TimestampAs(Granularity),
    Uuid,
    Json,
    Jsonb,
    Array(Elem),
}

/// Element types of the arrays mapped natively.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Elem {
    Bool,
    Int16,
    Int32,
    Int64,
    Float32,
    Float64,
    Text,
}

/// A column as the source table or query describes it.
#[derive(Debug, Clone)]
pub struct SourceColumn {
    pub name: String,
    pub ty: Type,
    pub typmod: i32,
    pub nullable: bool,
}

/// How the SELECT list reads a column, and what comes back.
#[derive(Debug, Clone)]
pub struct ColumnPlan {
    pub name: String,
    pub kind: Kind,
    /// The SELECT list expression (quoted, with casts).
    pub expr: String,
    pub schema: SchemaRef,
}

/// Plans how to read `col` (quoted as `qualified` in SQL) under the config's
/// `numeric.mapping`, `timestamp.granularity` and `db.timezone`.
pub fn plan_column(col: &SourceColumn, qualified: &str, cfg: &JdbcSourceConfig) -> ColumnPlan {
    let timezone = cfg.timezone.as_str();
    let opt = col.nullable;
    let mut expr = qualified.to_string();
    let (kind, schema) = match col.ty {
        Type::BOOL => (Kind::Bool, primitive(SchemaType::Boolean, opt)),
        Type::INT2 => (Kind::Int16, primitive(SchemaType::Int16, opt)),
        Type::INT4 => (Kind::Int32, primitive(SchemaType::Int32, opt)),
        Type::INT8 => (Kind::Int64, primitive(SchemaType::Int64, opt)),
        Type::OID => (Kind::Oid, primitive(SchemaType::Int64, opt)),
        Type::FLOAT4 => (Kind::Float32, primitive(SchemaType::Float32, opt)),
        Type::FLOAT8 => (Kind::Float64, primitive(SchemaType::Float64, opt)),
        Type::NUMERIC => {
            let form = numeric::form(cfg.numeric_mapping, col.typmod);
            let kind = match form {
                NumericForm::Integer(bits) => {
                    // Exact: the mapping picks integers for scales <= 0 only.
                    expr = format!("({})::int8", qualified);
                    Kind::NumericInt(bits)
                }
                NumericForm::Double => {
                    expr = format!("({})::float8", qualified);
                    Kind::Float64
                }
                NumericForm::Decimal(s) => Kind::Decimal(s),
            };
            (kind, numeric::schema(form, col.typmod, opt))
        }
        Type::TEXT | Type::VARCHAR | Type::BPCHAR | Type::NAME => {
            (Kind::Text, primitive(SchemaType::String, opt))
        }
        Type::BYTEA => (Kind::Bytes, primitive(SchemaType::Bytes, opt)),
        Type::DATE => (Kind::Date, date_builder().set_optional(opt).build()),
        Type::TIME => (Kind::Time, time_builder().set_optional(opt).build()),
        Type::TIMESTAMPTZ | Type::TIMESTAMP => {
            let tz = quote_literal(timezone);
            let g = cfg.granularity;
            match g {
                Granularity::Iso { nanos } => {
                    // The local date-time in db.timezone, as Confluent formats it.
                    let local = if col.ty == Type::TIMESTAMP {
                        qualified.to_string()
                    } else {
                        format!("({} AT TIME ZONE {})", qualified, tz)
                    };
                    expr = Granularity::iso_sql(nanos, &local);
                    (Kind::Text, g.schema(opt))
                }
                _ => {
                    if col.ty == Type::TIMESTAMP {
                        expr = format!("({} AT TIME ZONE {})", qualified, tz);
                    }
                    let kind = if g == Granularity::ConnectLogical {
                        Kind::Timestamp
                    } else {
                        Kind::TimestampAs(g)
                    };
                    (kind, g.schema(opt))
                }
            }
        }
        Type::UUID => (Kind::Uuid, primitive(SchemaType::String, opt)),
        Type::JSON => (Kind::Json, primitive(SchemaType::String, opt)),
        Type::JSONB => (Kind::Jsonb, primitive(SchemaType::String, opt)),
        _ => match array_elem(&col.ty) {
            Some(e) => {
                let item = match e {
                    Elem::Bool => SchemaType::Boolean,
                    Elem::Int16 => SchemaType::Int16,
                    Elem::Int32 => SchemaType::Int32,
                    Elem::Int64 => SchemaType::Int64,
                    Elem::Float32 => SchemaType::Float32,
                    Elem::Float64 => SchemaType::Float64,
                    Elem::Text => SchemaType::String,
                };
                (
                    Kind::Array(e),
                    SchemaBuilder::array(primitive(item, true))
                        .set_optional(opt)
                        .build(),
                )
            }
            None => {
                expr = format!("{}::text", qualified);
                (Kind::Text, primitive(SchemaType::String, opt))
            }
        },
    };
    let expr = if expr == qualified {
        expr
    } else {
        format!("{} AS {}", expr, quote_ident(&col.name))
    };
    ColumnPlan {
        name: col.name.clone(),
        kind,
        expr,
        schema,
    }
}

fn array_elem(ty: &Type) -> Option<Elem> {
    Some(match *ty {
        Type::BOOL_ARRAY => Elem::Bool,
        Type::INT2_ARRAY => Elem::Int16,
        Type::INT4_ARRAY => Elem::Int32,
        Type::INT8_ARRAY => Elem::Int64,
        Type::FLOAT4_ARRAY => Elem::Float32,
        Type::FLOAT8_ARRAY => Elem::Float64,
        Type::TEXT_ARRAY | Type::VARCHAR_ARRAY | Type::BPCHAR_ARRAY => Elem::Text,
        _ => return None,
    })
}

/// A column's raw binary value, decoded by [`decode`].
pub struct Raw<'a>(pub &'a [u8]);

impl<'a> FromSql<'a> for Raw<'a> {
    fn from_sql(
        _ty: &Type,
        raw: &'a [u8],
    ) -> Result<Self, Box<dyn std::error::Error + Sync + Send>> {
        Ok(Raw(raw))
    }
    fn accepts(_ty: &Type) -> bool {
        true
    }
}

fn be<const N: usize>(b: &[u8]) -> Result<[u8; N], String> {
    b.try_into()
        .map_err(|_| format!("expected {} bytes, got {}", N, b.len()))
}

fn text(b: &[u8]) -> Result<String, String> {
    std::str::from_utf8(b)
        .map(str::to_string)
        .map_err(|_| "invalid UTF-8".to_string())
}

/// Microseconds since the Unix epoch of a binary timestamp(tz).
pub fn timestamp_micros(b: &[u8]) -> Result<i64, String> {
    let v = i64::from_be_bytes(be::<8>(b)?);
    if v == i64::MAX || v == i64::MIN {
        return Err("infinite timestamps cannot be represented".into());
    }
    Ok(v + PG_EPOCH_MICROS)
}

/// Decodes one non-null binary value.
pub fn decode(kind: Kind, b: &[u8]) -> Result<Value, String> {
    Ok(match kind {
        Kind::Bool => Value::Boolean(b.first().copied().unwrap_or(0) != 0),
        Kind::Int16 => Value::Int16(i16::from_be_bytes(be::<2>(b)?)),
        Kind::Int32 => Value::Int32(i32::from_be_bytes(be::<4>(b)?)),
        Kind::Int64 => Value::Int64(i64::from_be_bytes(be::<8>(b)?)),
        Kind::Oid => Value::Int64(u32::from_be_bytes(be::<4>(b)?) as i64),
        Kind::Float32 => Value::Float32(f32::from_be_bytes(be::<4>(b)?)),
        Kind::Float64 => Value::Float64(f64::from_be_bytes(be::<8>(b)?)),
        Kind::Decimal(scale) => numeric::decimal_value(b, scale)?,
        Kind::NumericInt(bits) => numeric::integer_value(bits, i64::from_be_bytes(be::<8>(b)?))?,
        Kind::Text | Kind::Json => Value::String(text(b)?),
        Kind::Jsonb => match b.split_first() {
            Some((1, rest)) => Value::String(text(rest)?),
            _ => return Err("unknown jsonb version".into()),
        },
        Kind::Bytes => Value::Bytes(Bytes::copy_from_slice(b)),
        Kind::Date => {
            let d = i32::from_be_bytes(be::<4>(b)?);
            if d == i32::MAX || d == i32::MIN {
                return Err("infinite dates cannot be represented".into());
            }
            Value::Int32(d + PG_EPOCH_DAYS)
        }
        Kind::Time => Value::Int32((i64::from_be_bytes(be::<8>(b)?) / 1000) as i32),
        Kind::Timestamp => Value::Int64(timestamp_micros(b)?.div_euclid(1000)),
        Kind::TimestampAs(g) => g.value(timestamp_micros(b)?)?,
        Kind::Uuid => {
            let u = be::<16>(b)?;
            let h: String = u.iter().map(|x| format!("{:02x}", x)).collect();
            Value::String(format!(
                "{}-{}-{}-{}-{}",
                &h[0..8],
                &h[8..12],
                &h[12..16],
                &h[16..20],
                &h[20..32]
            ))
        }
        Kind::Array(e) => decode_array(e, b)?,
    })
}

fn decode_array(e: Elem, b: &[u8]) -> Result<Value, String> {
    let rd = |at: usize| -> Result<i32, String> {
        b.get(at..at + 4)
            .map(|s| i32::from_be_bytes(s.try_into().unwrap()))
            .ok_or_else(|| "short array".to_string())
    };
    let ndim = rd(0)?;
    if ndim == 0 {
        return Ok(Value::Array(Vec::new()));
    }
    if ndim != 1 {
        return Err("only one-dimensional arrays are supported".into());
    }
    let len = rd(12)?.max(0) as usize;
    let mut at = 20;
    let mut out = Vec::with_capacity(len);
    let kind = match e {
        Elem::Bool => Kind::Bool,
        Elem::Int16 => Kind::Int16,
        Elem::Int32 => Kind::Int32,
        Elem::Int64 => Kind::Int64,
        Elem::Float32 => Kind::Float32,
        Elem::Float64 => Kind::Float64,
        Elem::Text => Kind::Text,
    };
    for _ in 0..len {
        let n = rd(at)?;
        at += 4;
        if n < 0 {
            out.push(Value::Null);
        } else {
            let n = n as usize;
            let s = b.get(at..at + n).ok_or("short array")?;
            out.push(decode(kind, s)?);
            at += n;
        }
    }
    Ok(Value::Array(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uuid_and_dates() {
        let u: Vec<u8> = (0u8..16).collect();
        assert_eq!(
            decode(Kind::Uuid, &u).unwrap(),
            Value::String("00010203-0405-0607-0809-0a0b0c0d0e0f".into())
        );
        assert_eq!(
            decode(Kind::Date, &0i32.to_be_bytes()).unwrap(),
            Value::Int32(10957)
        );
        assert_eq!(
            decode(Kind::Timestamp, &0i64.to_be_bytes()).unwrap(),
            Value::Int64(946_684_800_000)
        );
    }
}
