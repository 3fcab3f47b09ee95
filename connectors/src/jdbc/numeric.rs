//! `numeric` columns as Confluent's JDBC source maps them (`numeric.mapping`), and
//! PostgreSQL's binary numeric encoded as a Connect Decimal of any size.
//!
//! Confluent's rules (`GenericDatabaseDialect`, `case Types.NUMERIC`): `none` is always
//! a Decimal; `precision_only` makes `numeric(p,0)` with p up to 18 an integer;
//! `best_fit` makes p up to 18 an integer when the scale is 0 or negative and a double
//! when it is positive; `best_fit_eager_double` makes any positive scale a double,
//! whatever the precision. The integer's width follows the precision: INT64 above 9,
//! INT32 above 4, INT16 above 2, else INT8. A Decimal schema carries
//! `connect.decimal.precision`. Unbounded `numeric` (no precision, no scale) is a
//! Decimal with scale 127 under every mapping (Confluent's PostgreSQL dialect does that
//! under `none`; under the other mappings it would read such a column as INT8 and fail
//! on the first value outside -128..127).

use bytes::Bytes;
use sluice_runtime::data::logical::{decimal_builder, decimal_to_bytes};
use sluice_runtime::data::{primitive, SchemaRef, SchemaType, Value};

/// Connect's schema parameter with the column's declared precision.
pub const PRECISION_PARAM: &str = "connect.decimal.precision";
/// The scale of unbounded `numeric` (Confluent's `NUMERIC_TYPE_SCALE_HIGH`).
pub const UNBOUNDED_SCALE: i32 = 127;
const MAX_INTEGER_PRECISION: i32 = 18;
const SCALE_LOW: i32 = -84;

/// `numeric.mapping`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum NumericMapping {
    #[default]
    None,
    PrecisionOnly,
    BestFit,
    BestFitEagerDouble,
}

impl NumericMapping {
    /// Parses a `numeric.mapping` value (any case).
    pub fn parse(s: &str) -> Option<NumericMapping> {
        Some(match s.trim().to_ascii_lowercase().as_str() {
            "none" => NumericMapping::None,
            "precision_only" => NumericMapping::PrecisionOnly,
            "best_fit" => NumericMapping::BestFit,
            "best_fit_eager_double" => NumericMapping::BestFitEagerDouble,
            _ => return None,
        })
    }
}

/// How a numeric column reaches Connect.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NumericForm {
    /// An integer of this width (8, 16, 32, 64 bits), read as `int8` and range-checked.
    Integer(u8),
    /// A double, read as `float8`.
    Double,
    /// A Decimal with this scale.
    Decimal(i32),
}

/// Precision and scale of a `numeric` typmod (`None`: unbounded). PostgreSQL 15 keeps
/// the scale in 11 signed bits (negative scales), earlier versions in 16 unsigned.
pub fn precision_scale(typmod: i32) -> Option<(i32, i32)> {
    if typmod < 4 {
        return None;
    }
    let t = typmod - 4;
    let precision = (t >> 16) & 0xffff;
    let scale = ((t & 0x7ff) ^ 0x400) - 0x400;
    Some((precision, scale))
}

/// The form of a numeric column under `mapping` (Confluent's rules, see the module doc).
pub fn form(mapping: NumericMapping, typmod: i32) -> NumericForm {
    let Some((p, s)) = precision_scale(typmod) else {
        return NumericForm::Decimal(UNBOUNDED_SCALE);
    };
    let integer = NumericForm::Integer(match p {
        p if p > 9 => 64,
        p if p > 4 => 32,
        p if p > 2 => 16,
        _ => 8,
    });
    let fits = p <= MAX_INTEGER_PRECISION;
    let integral = (SCALE_LOW..=0).contains(&s);
    match mapping {
        NumericMapping::PrecisionOnly if s == 0 && fits => integer,
        NumericMapping::BestFit if fits && integral => integer,
        NumericMapping::BestFit if fits && s > 0 => NumericForm::Double,
        NumericMapping::BestFitEagerDouble if fits && integral => integer,
        NumericMapping::BestFitEagerDouble if s > 0 => NumericForm::Double,
        _ => NumericForm::Decimal(s),
    }
}

/// The Connect schema of a numeric column read as `f`.
pub fn schema(f: NumericForm, typmod: i32, optional: bool) -> SchemaRef {
    match f {
        NumericForm::Integer(bits) => primitive(
            match bits {
                8 => SchemaType::Int8,
                16 => SchemaType::Int16,
                32 => SchemaType::Int32,
                _ => SchemaType::Int64,
            },
            optional,
        ),
        NumericForm::Double => primitive(SchemaType::Float64, optional),
        NumericForm::Decimal(scale) => {
            let precision = precision_scale(typmod).map_or(0, |(p, _)| p);
            decimal_builder(scale)
                .parameter(PRECISION_PARAM, precision.to_string())
                .set_optional(optional)
                .build()
        }
    }
}

/// An `int8` read for an integer form, checked against its width.
pub fn integer_value(bits: u8, v: i64) -> Result<Value, String> {
    let out = |what: &str| {
        format!(
            "value {} does not fit {} (numeric.mapping picked it for the column's precision)",
            v, what
        )
    };
    Ok(match bits {
        8 => Value::Int8(i8::try_from(v).map_err(|_| out("INT8"))?),
        16 => Value::Int16(i16::try_from(v).map_err(|_| out("INT16"))?),
        32 => Value::Int32(i32::try_from(v).map_err(|_| out("INT32"))?),
        _ => Value::Int64(v),
    })
}

/// PostgreSQL's binary numeric as a Connect Decimal value at `scale`: the unscaled
/// value as minimal big-endian two's complement, of any size. Digits beyond the scale
/// are rounded half-even (only unbounded numerics can have more than 127).
pub fn decimal_value(b: &[u8], scale: i32) -> Result<Value, String> {
    Ok(Value::Bytes(Bytes::from(decimal_bytes(b, scale)?)))
}

fn decimal_bytes(b: &[u8], scale: i32) -> Result<Vec<u8>, String> {
    if b.len() < 8 {
        return Err("short numeric".into());
    }
    let ndigits = i16::from_be_bytes([b[0], b[1]]).max(0) as usize;
    let weight = i16::from_be_bytes([b[2], b[3]]) as i64;
    let sign = u16::from_be_bytes([b[4], b[5]]);
    match sign {
        0x0000 | 0x4000 => {}
        0xC000 => return Err("NaN cannot be represented as a Connect Decimal".into()),
        _ => return Err("infinite numeric cannot be represented as a Connect Decimal".into()),
    }
    if b.len() < 8 + 2 * ndigits {
        return Err("short numeric".into());
    }
    let negative = sign == 0x4000;
    let exp = 4 * (weight - ndigits as i64 + 1);
    // unscaled = D * 10^(exp + scale), D the base-10000 digits as one number.
    let shift = exp + scale as i64;
    if ndigits <= 9 && 4 * ndigits as i64 + shift.max(0) <= 38 {
        // Fits 128 bits (10^38 < 2^127): the common case, without a digit buffer.
        if let Some(v) = small_unscaled(&b[8..8 + 2 * ndigits], shift) {
            return Ok(decimal_to_bytes(if negative { -v } else { v }));
        }
        return Err("invalid numeric digit".into());
    }
    // The base-10000 digits as decimal digits: value = D * 10^exp.
    let mut digits: Vec<u8> = Vec::with_capacity(4 * ndigits + 8);
    for i in 0..ndigits {
        let d = u16::from_be_bytes([b[8 + 2 * i], b[9 + 2 * i]]);
        if d >= 10_000 {
            return Err("invalid numeric digit".into());
        }
        digits.extend([
            (d / 1000) as u8,
            (d / 100 % 10) as u8,
            (d / 10 % 10) as u8,
            (d % 10) as u8,
        ]);
    }
    if shift >= 0 {
        digits.resize(digits.len() + shift as usize, 0);
    } else {
        round_half_even(&mut digits, (-shift) as usize);
    }
    if digits.len() <= 38 {
        // Fits 128 bits (10^38 < 2^127): the common case, without a big integer.
        let v = digits.iter().fold(0i128, |a, &d| a * 10 + d as i128);
        return Ok(decimal_to_bytes(if negative { -v } else { v }));
    }
    Ok(twos_complement(digits_to_bytes(&digits), negative))
}

/// The magnitude of at most nine base-10000 digits (big-endian pairs of bytes) times
/// `10^shift`, rounded half to even when `shift` drops digits; `None` for a digit
/// above 9999. The caller makes sure the result fits 38 decimal digits.
fn small_unscaled(pairs: &[u8], shift: i64) -> Option<i128> {
    let mut v: i128 = 0;
    for p in pairs.chunks_exact(2) {
        let d = u16::from_be_bytes([p[0], p[1]]);
        if d >= 10_000 {
            return None;
        }
        v = v * 10_000 + d as i128;
    }
    if shift >= 0 {
        return Some(v * 10i128.pow(shift as u32));
    }
    if -shift > 38 {
        // Below one half of the last kept digit (v < 10^36).
        return Some(0);
    }
    let div = 10i128.pow((-shift) as u32);
    let (q, r) = match (u64::try_from(v), u64::try_from(div)) {
        // Most numerics: a 64-bit division is far cheaper than a 128-bit one.
        (Ok(v), Ok(d)) => ((v / d) as i128, (v % d) as i128),
        _ => (v / div, v % div),
    };
    let half = div / 2;
    let up = r > half || (r == half && q % 2 == 1);
    Some(if up { q + 1 } else { q })
}

/// Drops the last `n` decimal digits, rounding half to even.
fn round_half_even(digits: &mut Vec<u8>, n: usize) {
    if n > digits.len() {
        // Everything is dropped and below one half (the first dropped digit is 0).
        digits.clear();
        return;
    }
    let keep = digits.len() - n;
    let dropped = &digits[keep..];
    let up = match dropped.first() {
        Some(&d) if d > 5 => true,
        Some(&5) => dropped[1..].iter().any(|&x| x != 0) || (keep > 0 && digits[keep - 1] % 2 == 1),
        _ => false,
    };
    digits.truncate(keep);
    if up {
        let mut i = digits.len();
        loop {
            if i == 0 {
                digits.insert(0, 1);
                break;
            }
            i -= 1;
            if digits[i] == 9 {
                digits[i] = 0;
            } else {
                digits[i] += 1;
                break;
            }
        }
    }
}

/// Decimal digits (most significant first) to big-endian unsigned bytes.
fn digits_to_bytes(digits: &[u8]) -> Vec<u8> {
    // Little-endian base 2^32 limbs; nine decimal digits at a time.
    let mut limbs: Vec<u32> = Vec::new();
    let start = digits.iter().position(|&d| d != 0).unwrap_or(digits.len());
    for chunk in digits[start..].chunks(9) {
        let mul = 10u64.pow(chunk.len() as u32);
        let mut carry = chunk.iter().fold(0u64, |a, &d| a * 10 + d as u64);
        for l in limbs.iter_mut() {
            let v = *l as u64 * mul + carry;
            *l = v as u32;
            carry = v >> 32;
        }
        if carry > 0 {
            limbs.push(carry as u32);
        }
    }
    let mut out: Vec<u8> = limbs.iter().rev().flat_map(|l| l.to_be_bytes()).collect();
    let first = out.iter().position(|&x| x != 0).unwrap_or(out.len());
    out.drain(..first);
    out
}

/// A magnitude and sign as Connect's minimal big-endian two's complement.
fn twos_complement(magnitude: Vec<u8>, negative: bool) -> Vec<u8> {
    let mut v = Vec::with_capacity(magnitude.len() + 1);
    v.push(0u8);
    v.extend(magnitude);
    if negative {
        for x in v.iter_mut() {
            *x = !*x;
        }
        for x in v.iter_mut().rev() {
            let (s, overflow) = x.overflowing_add(1);
            *x = s;
            if !overflow {
                break;
            }
        }
    }
    // Minimal form: drop a leading 0x00 / 0xff whose next byte carries the same sign.
    let mut start = 0;
    while start + 1 < v.len() {
        let (b, next_high) = (v[start], v[start + 1] & 0x80);
        if (b == 0x00 && next_high == 0) || (b == 0xff && next_high != 0) {
            start += 1;
        } else {
            break;
        }
    }
    v.split_off(start)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn numeric(weight: i16, sign: u16, digits: &[u16]) -> Vec<u8> {
        let mut b = Vec::new();
        b.extend((digits.len() as i16).to_be_bytes());
        b.extend(weight.to_be_bytes());
        b.extend(sign.to_be_bytes());
        b.extend(0u16.to_be_bytes());
        for d in digits {
            b.extend(d.to_be_bytes());
        }
        b
    }

    fn typmod(p: i32, s: i32) -> i32 {
        ((p << 16) | (s & 0x7ff)) + 4
    }

    #[test]
    fn forms_follow_confluent() {
        use NumericForm::*;
        use NumericMapping as M;
        let cases = [
            // (p, s): none, precision_only, best_fit, best_fit_eager_double
            ((5, 0), [Decimal(0), Integer(32), Integer(32), Integer(32)]),
            ((2, 0), [Decimal(0), Integer(8), Integer(8), Integer(8)]),
            ((4, 0), [Decimal(0), Integer(16), Integer(16), Integer(16)]),
            ((12, 0), [Decimal(0), Integer(64), Integer(64), Integer(64)]),
            ((20, 0), [Decimal(0), Decimal(0), Decimal(0), Decimal(0)]),
            ((10, 2), [Decimal(2), Decimal(2), Double, Double]),
            ((30, 5), [Decimal(5), Decimal(5), Decimal(5), Double]),
            (
                (5, -2),
                [Decimal(-2), Decimal(-2), Integer(32), Integer(32)],
            ),
        ];
        for ((p, s), want) in cases {
            let got = [M::None, M::PrecisionOnly, M::BestFit, M::BestFitEagerDouble]
                .map(|m| form(m, typmod(p, s)));
            assert_eq!(got, want, "numeric({},{})", p, s);
        }
        for m in [M::None, M::PrecisionOnly, M::BestFit, M::BestFitEagerDouble] {
            assert_eq!(form(m, -1), Decimal(UNBOUNDED_SCALE));
        }
        assert_eq!(precision_scale(typmod(5, -2)), Some((5, -2)));
        assert_eq!(precision_scale(typmod(1000, 1000)), Some((1000, 1000)));
    }

    #[test]
    fn decimal_bytes_match_the_i128_encoding() {
        // 12345.678 = [1, 2345, 6780] weight 1
        let b = numeric(1, 0, &[1, 2345, 6780]);
        assert_eq!(decimal_bytes(&b, 3).unwrap(), decimal_to_bytes(12_345_678));
        assert_eq!(
            decimal_bytes(&b, 5).unwrap(),
            decimal_to_bytes(1_234_567_800)
        );
        // -0.05 = [500] weight -1
        let b = numeric(-1, 0x4000, &[500]);
        assert_eq!(decimal_bytes(&b, 2).unwrap(), decimal_to_bytes(-5));
        assert_eq!(decimal_bytes(&numeric(0, 0, &[]), 2).unwrap(), vec![0]);
        // 20000 = [2] weight 1, at scale -2: 200
        let b = numeric(1, 0, &[2]);
        assert_eq!(decimal_bytes(&b, -2).unwrap(), decimal_to_bytes(200));
        for v in [127i128, 128, -128, -129, 255, -256, 65535, -65536] {
            let digits: Vec<u16> = if v.unsigned_abs() >= 10_000 {
                vec![
                    (v.unsigned_abs() / 10_000) as u16,
                    (v.unsigned_abs() % 10_000) as u16,
                ]
            } else {
                vec![v.unsigned_abs() as u16]
            };
            let weight = digits.len() as i16 - 1;
            let b = numeric(weight, if v < 0 { 0x4000 } else { 0 }, &digits);
            assert_eq!(decimal_bytes(&b, 0).unwrap(), decimal_to_bytes(v), "{}", v);
        }
        assert!(decimal_bytes(&numeric(0, 0xC000, &[]), 0).is_err());
    }

    #[test]
    fn unbounded_values_at_scale_127() {
        // 12.12 at scale 127: 1212 * 10^125, checked by decoding with the same digits.
        let b = numeric(0, 0, &[12, 1200]);
        let bytes = decimal_bytes(&b, 127).unwrap();
        let mut expect = vec![1, 2, 1, 2];
        expect.resize(4 + 125, 0);
        assert_eq!(bytes, digits_to_bytes(&expect));
        assert!(bytes[0] & 0x80 == 0);
        // -1e30 at scale 127: -(10^157), negative two's complement.
        let b = numeric(7, 0x4000, &[100]);
        let neg = decimal_bytes(&b, 127).unwrap();
        assert!(neg[0] & 0x80 != 0);
        assert_eq!(neg.len(), 66); // 10^157 needs 522 bits + a sign bit
    }

    #[test]
    fn the_big_path_agrees_with_i128() {
        for v in [i128::MAX / 7, -(i128::MAX / 3), 10i128.pow(37) + 12345, -1] {
            let digits: Vec<u8> = v
                .unsigned_abs()
                .to_string()
                .bytes()
                .map(|b| b - b'0')
                .collect();
            assert_eq!(
                twos_complement(digits_to_bytes(&digits), v < 0),
                decimal_to_bytes(v),
                "{}",
                v
            );
        }
    }

    #[test]
    fn the_small_path_agrees_with_the_digit_path() {
        // Through decimal digits, as for numerics of more than nine base-10000 digits.
        let by_digits = |ds: &[u16], shift: i64| -> i128 {
            let mut digits: Vec<u8> = ds
                .iter()
                .flat_map(|d| format!("{:04}", d).into_bytes())
                .map(|b| b - b'0')
                .collect();
            if shift >= 0 {
                digits.resize(digits.len() + shift as usize, 0);
            } else {
                round_half_even(&mut digits, (-shift) as usize);
            }
            digits.iter().fold(0i128, |a, &d| a * 10 + d as i128)
        };
        let pairs = |ds: &[u16]| -> Vec<u8> { ds.iter().flat_map(|d| d.to_be_bytes()).collect() };
        let sets: [&[u16]; 8] = [
            &[],
            &[5],
            &[15],
            &[12, 3400],
            &[9999, 9999, 5000],
            &[1, 2345, 6789, 5000, 1],
            &[2, 5000],
            &[9999; 9],
        ];
        for ds in sets {
            for shift in -40i64..=2 {
                assert_eq!(
                    small_unscaled(&pairs(ds), shift),
                    Some(by_digits(ds, shift)),
                    "{:?} shift {}",
                    ds,
                    shift
                );
            }
        }
        assert_eq!(small_unscaled(&pairs(&[10_000]), 0), None);
        assert!(decimal_bytes(&numeric(0, 0, &[10_000]), 0).is_err());
    }

    #[test]
    fn rounding_is_half_even() {
        let r = |d: &[u8], n| {
            let mut v = d.to_vec();
            round_half_even(&mut v, n);
            v
        };
        assert_eq!(r(&[1, 2, 5], 1), vec![1, 2]);
        assert_eq!(r(&[1, 3, 5], 1), vec![1, 4]);
        assert_eq!(r(&[1, 2, 5, 1], 2), vec![1, 3]);
        assert_eq!(r(&[9, 9, 6], 1), vec![1, 0, 0]);
        assert_eq!(r(&[4], 3), Vec::<u8>::new());
        // 0.5 -> 0, 1.5 -> 2 with nothing kept before
        assert_eq!(r(&[5], 1), Vec::<u8>::new());
    }

    #[test]
    fn integers_are_range_checked() {
        assert_eq!(integer_value(8, -128).unwrap(), Value::Int8(-128));
        assert!(integer_value(8, 990).unwrap_err().contains("INT8"));
        assert_eq!(integer_value(64, i64::MAX).unwrap(), Value::Int64(i64::MAX));
    }
}
