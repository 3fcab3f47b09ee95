//! Connect's logical types: Decimal, Date, Time and Timestamp, and conversions between
//! their physical form and the forms users and databases see.

use super::{Schema, SchemaBuilder, SchemaRef, SchemaType};

pub const DECIMAL: &str = "org.apache.kafka.connect.data.Decimal";
pub const DATE: &str = "org.apache.kafka.connect.data.Date";
pub const TIME: &str = "org.apache.kafka.connect.data.Time";
pub const TIMESTAMP: &str = "org.apache.kafka.connect.data.Timestamp";
/// Parameter of the Decimal logical type holding the scale.
pub const DECIMAL_SCALE: &str = "scale";

const MS_PER_DAY: i64 = 86_400_000;

/// The logical type a schema carries, recognised by its name and physical type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Logical {
    Decimal { scale: i32 },
    Date,
    Time,
    Timestamp,
}

impl Logical {
    pub fn of(schema: &Schema) -> Option<Logical> {
        let name = schema.name.as_deref()?;
        match (name, schema.kind) {
            (DECIMAL, SchemaType::Bytes) => {
                let scale = schema
                    .parameters
                    .get(DECIMAL_SCALE)
                    .and_then(|s| s.parse().ok())
                    .unwrap_or(0);
                Some(Logical::Decimal { scale })
            }
            (DATE, SchemaType::Int32) => Some(Logical::Date),
            (TIME, SchemaType::Int32) => Some(Logical::Time),
            (TIMESTAMP, SchemaType::Int64) => Some(Logical::Timestamp),
            _ => None,
        }
    }
}

/// `Decimal.builder(scale)`.
pub fn decimal_builder(scale: i32) -> SchemaBuilder {
    SchemaBuilder::new(SchemaType::Bytes)
        .name(DECIMAL)
        .version(1)
        .parameter(DECIMAL_SCALE, scale.to_string())
}
/// `Date.builder()`.
pub fn date_builder() -> SchemaBuilder {
    SchemaBuilder::new(SchemaType::Int32).name(DATE).version(1)
}
/// `Time.builder()`.
pub fn time_builder() -> SchemaBuilder {
    SchemaBuilder::new(SchemaType::Int32).name(TIME).version(1)
}
/// `Timestamp.builder()`.
pub fn timestamp_builder() -> SchemaBuilder {
    SchemaBuilder::new(SchemaType::Int64)
        .name(TIMESTAMP)
        .version(1)
}
pub fn timestamp_schema(optional: bool) -> SchemaRef {
    timestamp_builder().set_optional(optional).build()
}

/// Encodes an unscaled decimal as Connect does: minimal big-endian two's complement.
pub fn decimal_to_bytes(unscaled: i128) -> Vec<u8> {
    // Leading bits that only repeat the sign; one sign bit is kept.
    let repeats = if unscaled < 0 {
        (!unscaled).leading_zeros()
    } else {
        unscaled.leading_zeros()
    };
    let len = (129 - repeats as usize).div_ceil(8);
    unscaled.to_be_bytes()[16 - len..].to_vec()
}

/// Decodes big-endian two's-complement bytes; `None` if they do not fit in 128 bits.
pub fn decimal_from_bytes(bytes: &[u8]) -> Option<i128> {
    if bytes.is_empty() {
        return Some(0);
    }
    if bytes.len() > 16 {
        // Accept sign-extension padding beyond 16 bytes only.
        let pad = bytes.len() - 16;
        let fill = if bytes[pad] & 0x80 != 0 { 0xff } else { 0 };
        if bytes[..pad].iter().any(|b| *b != fill) {
            return None;
        }
        return decimal_from_bytes(&bytes[pad..]);
    }
    let fill = if bytes[0] & 0x80 != 0 { 0xffu8 } else { 0 };
    let mut buf = [fill; 16];
    buf[16 - bytes.len()..].copy_from_slice(bytes);
    Some(i128::from_be_bytes(buf))
}

/// Formats Connect Decimal bytes (big-endian two's complement, any length) with a
/// scale as a plain decimal string; values beyond 128 bits (PostgreSQL's unbounded
/// numeric is scale 127) go through a big integer.
pub fn decimal_bytes_to_string(bytes: &[u8], scale: i32) -> String {
    match decimal_from_bytes(bytes) {
        Some(unscaled) => decimal_to_string(unscaled, scale),
        None => {
            let big = num_bigint::BigInt::from_signed_bytes_be(bytes);
            let (neg, digits) = match big.sign() {
                num_bigint::Sign::Minus => (true, (-big).to_string()),
                _ => (false, big.to_string()),
            };
            scaled_digits(neg, &digits, scale)
        }
    }
}

/// Formats an unscaled value with a scale as a plain decimal string (`12.30`).
pub fn decimal_to_string(unscaled: i128, scale: i32) -> String {
    scaled_digits(unscaled < 0, &unscaled.unsigned_abs().to_string(), scale)
}

/// `digits` (an unsigned unscaled value) placed at `scale`.
fn scaled_digits(neg: bool, digits: &str, scale: i32) -> String {
    let sign = if neg { "-" } else { "" };
    if scale <= 0 {
        let mut s = format!("{}{}", sign, digits);
        if digits != "0" {
            for _ in 0..(-scale) {
                s.push('0');
            }
        }
        return s;
    }
    let scale = scale as usize;
    let padded = if digits.len() <= scale {
        format!("{}{}", "0".repeat(scale - digits.len() + 1), digits)
    } else {
        digits.to_string()
    };
    let (int, frac) = padded.split_at(padded.len() - scale);
    format!("{}{}.{}", sign, int, frac)
}

/// Parses a decimal string into an unscaled value at `scale`; `None` if it is not a
/// number, needs more precision than the scale allows, or overflows 128 bits.
pub fn decimal_from_str(s: &str, scale: i32) -> Option<i128> {
    let s = s.trim();
    let (neg, body) = match s.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, s.strip_prefix('+').unwrap_or(s)),
    };
    let (mantissa, exp) = match body.find(['e', 'E']) {
        Some(i) => (&body[..i], body[i + 1..].parse::<i32>().ok()?),
        None => (body, 0),
    };
    let (int, frac) = match mantissa.find('.') {
        Some(i) => (&mantissa[..i], &mantissa[i + 1..]),
        None => (mantissa, ""),
    };
    if (int.is_empty() && frac.is_empty())
        || !int.bytes().all(|b| b.is_ascii_digit())
        || !frac.bytes().all(|b| b.is_ascii_digit())
    {
        return None;
    }
    let mut digits: String = format!("{}{}", int, frac);
    // value = digits * 10^(exp - frac.len()); we want digits * 10^(scale + exp - frac.len())
    let shift = scale as i64 + exp as i64 - frac.len() as i64;
    if shift >= 0 {
        for _ in 0..shift {
            digits.push('0');
        }
    } else {
        let cut = (-shift) as usize;
        if cut > digits.len() {
            if digits.bytes().any(|b| b != b'0') {
                return None;
            }
            digits = "0".into();
        } else {
            let (keep, dropped) = digits.split_at(digits.len() - cut);
            if dropped.bytes().any(|b| b != b'0') {
                return None;
            }
            digits = if keep.is_empty() {
                "0".into()
            } else {
                keep.to_string()
            };
        }
    }
    let v: i128 = digits.parse().ok()?;
    Some(if neg { -v } else { v })
}

/// Days since the epoch to (year, month, day), proleptic Gregorian.
pub fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// (year, month, day) to days since the epoch.
pub fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let m = m as i64;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Formats epoch milliseconds as ISO-8601 UTC (`2024-01-02T03:04:05.678Z`).
pub fn format_timestamp_ms(ms: i64) -> String {
    let days = ms.div_euclid(MS_PER_DAY);
    let rem = ms.rem_euclid(MS_PER_DAY);
    let (y, m, d) = civil_from_days(days);
    let h = rem / 3_600_000;
    let min = (rem / 60_000) % 60;
    let s = (rem / 1000) % 60;
    let milli = rem % 1000;
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
        y, m, d, h, min, s, milli
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimal_bytes_round_trip_minimal_twos_complement() {
        assert_eq!(decimal_to_bytes(0), vec![0]);
        assert_eq!(decimal_to_bytes(127), vec![0x7f]);
        assert_eq!(decimal_to_bytes(128), vec![0x00, 0x80]);
        assert_eq!(decimal_to_bytes(-1), vec![0xff]);
        assert_eq!(decimal_to_bytes(-128), vec![0x80]);
        assert_eq!(decimal_to_bytes(-129), vec![0xff, 0x7f]);
        for v in [
            0i128,
            1,
            -1,
            255,
            -256,
            1 << 70,
            -(1 << 90),
            i128::MAX,
            i128::MIN,
        ] {
            assert_eq!(decimal_from_bytes(&decimal_to_bytes(v)), Some(v));
        }
        // At every power of two: the fewest bytes that still carry the sign.
        for bit in 0..127 {
            let p = 1i128 << bit;
            for v in [p - 1, p, -p, -p - 1] {
                let b = decimal_to_bytes(v);
                assert_eq!(decimal_from_bytes(&b), Some(v), "{}", v);
                let fewer = &b[1..];
                assert!(
                    b.len() == 1 || decimal_from_bytes(fewer) != Some(v),
                    "{} in {} bytes, not minimal",
                    v,
                    b.len()
                );
            }
        }
    }

    #[test]
    fn decimal_strings() {
        assert_eq!(decimal_to_string(12345, 2), "123.45");
        assert_eq!(decimal_to_string(-5, 3), "-0.005");
        assert_eq!(decimal_to_string(7, 0), "7");
        assert_eq!(decimal_from_str("123.45", 2), Some(12345));
        assert_eq!(decimal_from_str("-0.005", 3), Some(-5));
        assert_eq!(decimal_from_str("1.5", 3), Some(1500));
        assert_eq!(decimal_from_str("1.25", 1), None);
        assert_eq!(decimal_from_str("1.20", 1), Some(12));
        assert_eq!(decimal_from_str("1e2", 0), Some(100));
        assert_eq!(decimal_from_str("abc", 0), None);
    }

    #[test]
    fn civil_dates() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(days_from_civil(2000, 3, 1), 11017);
        assert_eq!(civil_from_days(11017), (2000, 3, 1));
        assert_eq!(civil_from_days(-1), (1969, 12, 31));
        assert_eq!(
            format_timestamp_ms(1_700_000_000_123),
            "2023-11-14T22:13:20.123Z"
        );
    }

    #[test]
    fn decimals_beyond_128_bits_are_formatted() {
        // 12.12 at scale 127 (PostgreSQL unbounded numeric): 1212 followed by 125 zeros.
        let big =
            num_bigint::BigInt::parse_bytes(format!("1212{}", "0".repeat(125)).as_bytes(), 10)
                .unwrap();
        let text = decimal_bytes_to_string(&big.to_signed_bytes_be(), 127);
        assert_eq!(text, format!("12.12{}", "0".repeat(125)));
        let neg = decimal_bytes_to_string(&(-big).to_signed_bytes_be(), 127);
        assert_eq!(neg, format!("-12.12{}", "0".repeat(125)));
        assert_eq!(
            decimal_bytes_to_string(&decimal_to_bytes(-1230), 2),
            "-12.30"
        );
        assert_eq!(decimal_bytes_to_string(&decimal_to_bytes(5), -2), "500");
    }
}
