//! Column types to Connect schemas, and PostgreSQL's binary wire format to Connect
//! values. Types without a native mapping are cast to text in the SELECT list, so
//! every column reaches Kafka.

use bytes::Bytes;
use sluice_runtime::data::logical::{
    date_builder, decimal_builder, decimal_to_bytes, time_builder, timestamp_builder,
};
use sluice_runtime::data::{primitive, SchemaBuilder, SchemaRef, SchemaType, Value};
use tokio_postgres::types::{FromSql, Type};

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
    /// numeric(p, s): Connect Decimal with scale s.
    Decimal(i32),
    /// Text-like (text, varchar, char, name, and anything cast to text).
    Text,
    Bytes,
    Date,
    Time,
    /// timestamptz, and timestamp read `AT TIME ZONE db.timezone`.
    Timestamp,
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

fn numeric_scale(typmod: i32) -> Option<i32> {
    if typmod < 4 {
        None
    } else {
        Some((typmod - 4) & 0xffff)
    }
}

/// Plans how to read `col` (quoted as `qualified` in SQL).
pub fn plan_column(col: &SourceColumn, qualified: &str, timezone: &str) -> ColumnPlan {
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
        Type::NUMERIC => match numeric_scale(col.typmod) {
            Some(s) => (
                Kind::Decimal(s),
                decimal_builder(s).set_optional(opt).build(),
            ),
            None => {
                // Unconstrained numeric has no fixed scale; a Connect Decimal needs one.
                // The exact decimal text keeps every digit.
                expr = format!("{}::text", qualified);
                (Kind::Text, primitive(SchemaType::String, opt))
            }
        },
        Type::TEXT | Type::VARCHAR | Type::BPCHAR | Type::NAME => {
            (Kind::Text, primitive(SchemaType::String, opt))
        }
        Type::BYTEA => (Kind::Bytes, primitive(SchemaType::Bytes, opt)),
        Type::DATE => (Kind::Date, date_builder().set_optional(opt).build()),
        Type::TIME => (Kind::Time, time_builder().set_optional(opt).build()),
        Type::TIMESTAMPTZ => (
            Kind::Timestamp,
            timestamp_builder().set_optional(opt).build(),
        ),
        Type::TIMESTAMP => {
            expr = format!("({} AT TIME ZONE {})", qualified, quote_literal(timezone));
            (
                Kind::Timestamp,
                timestamp_builder().set_optional(opt).build(),
            )
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
        Kind::Decimal(scale) => {
            Value::Bytes(Bytes::from(decimal_to_bytes(numeric_unscaled(b, scale)?)))
        }
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

/// Binary numeric (base-10000 digits) to an unscaled value at `scale`.
fn numeric_unscaled(b: &[u8], scale: i32) -> Result<i128, String> {
    if b.len() < 8 {
        return Err("short numeric".into());
    }
    let ndigits = i16::from_be_bytes([b[0], b[1]]) as usize;
    let weight = i16::from_be_bytes([b[2], b[3]]) as i32;
    let sign = u16::from_be_bytes([b[4], b[5]]);
    match sign {
        0x0000 | 0x4000 => {}
        0xC000 => return Err("NaN cannot be represented as a Connect Decimal".into()),
        _ => return Err("infinite numeric cannot be represented as a Connect Decimal".into()),
    }
    if b.len() < 8 + 2 * ndigits {
        return Err("short numeric".into());
    }
    let mut v: i128 = 0;
    // Digit i has value d * 10000^(weight - i); we want value * 10^scale.
    // Accumulate all digits as an integer with exponent 10000^(weight - ndigits + 1).
    for i in 0..ndigits {
        let d = u16::from_be_bytes([b[8 + 2 * i], b[9 + 2 * i]]) as i128;
        v = v
            .checked_mul(10_000)
            .and_then(|x| x.checked_add(d))
            .ok_or("numeric overflows 128 bits")?;
    }
    // value = v * 10^(4 * (weight - ndigits + 1)); unscaled = value * 10^scale
    let exp10 = 4 * (weight - ndigits as i32 + 1) + scale;
    if exp10 >= 0 {
        for _ in 0..exp10 {
            v = v.checked_mul(10).ok_or("numeric overflows 128 bits")?;
        }
    } else {
        for _ in 0..(-exp10) {
            if v % 10 != 0 {
                return Err("numeric has more fractional digits than its scale".into());
            }
            v /= 10;
        }
    }
    Ok(if sign == 0x4000 { -v } else { v })
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

    fn numeric(ndigits: i16, weight: i16, sign: u16, dscale: u16, digits: &[u16]) -> Vec<u8> {
        let mut b = Vec::new();
        b.extend(ndigits.to_be_bytes());
        b.extend(weight.to_be_bytes());
        b.extend(sign.to_be_bytes());
        b.extend(dscale.to_be_bytes());
        for d in digits {
            b.extend(d.to_be_bytes());
        }
        b
    }

    #[test]
    fn numeric_to_unscaled() {
        // 12345.678 = [1, 2345, 6780] weight 1
        let b = numeric(3, 1, 0, 3, &[1, 2345, 6780]);
        assert_eq!(numeric_unscaled(&b, 3).unwrap(), 12_345_678);
        assert_eq!(numeric_unscaled(&b, 5).unwrap(), 1_234_567_800);
        // -0.05 = [500] weight -1
        let b = numeric(1, -1, 0x4000, 2, &[500]);
        assert_eq!(numeric_unscaled(&b, 2).unwrap(), -5);
        // 0
        let b = numeric(0, 0, 0, 2, &[]);
        assert_eq!(numeric_unscaled(&b, 2).unwrap(), 0);
        // 20000 = [2] weight 1
        let b = numeric(1, 1, 0, 0, &[2]);
        assert_eq!(numeric_unscaled(&b, 0).unwrap(), 20000);
        assert!(numeric_unscaled(&numeric(0, 0, 0xC000, 0, &[]), 0).is_err());
    }

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
