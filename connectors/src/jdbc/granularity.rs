//! `timestamp.granularity`: how `timestamp` and `timestamptz` column values are
//! written, as Confluent's JDBC source offers it (`TimestampGranularity`): Connect's
//! Timestamp (milliseconds), epoch microseconds or nanoseconds as a number or a string,
//! or an ISO local date-time in `db.timezone` with 6 or 9 fractional digits.
//! Offsets are not affected: they always keep the full microseconds.

use sluice_runtime::data::logical::timestamp_builder;
use sluice_runtime::data::{primitive, SchemaRef, SchemaType, Value};

/// A `timestamp.granularity` value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Granularity {
    /// Connect's Timestamp logical type (int64 milliseconds).
    #[default]
    ConnectLogical,
    /// Epoch microseconds (`text`: as a decimal string).
    Micros { text: bool },
    /// Epoch nanoseconds (`text`: as a decimal string).
    Nanos { text: bool },
    /// `yyyy-MM-dd'T'HH:mm:ss.SSSSSS` (or 9 digits with `nanos`) in `db.timezone`.
    Iso { nanos: bool },
}

/// The accepted values, as Confluent names them.
pub const VALUES: &[&str] = &[
    "connect_logical",
    "micros_long",
    "micros_string",
    "micros_iso_datetime_string",
    "nanos_long",
    "nanos_string",
    "nanos_iso_datetime_string",
];

impl Granularity {
    /// Parses a value of [`VALUES`] (any case).
    pub fn parse(s: &str) -> Option<Granularity> {
        Some(match s.trim().to_ascii_lowercase().as_str() {
            "connect_logical" => Granularity::ConnectLogical,
            "micros_long" => Granularity::Micros { text: false },
            "micros_string" => Granularity::Micros { text: true },
            "micros_iso_datetime_string" => Granularity::Iso { nanos: false },
            "nanos_long" => Granularity::Nanos { text: false },
            "nanos_string" => Granularity::Nanos { text: true },
            "nanos_iso_datetime_string" => Granularity::Iso { nanos: true },
            _ => return None,
        })
    }

    /// The Connect schema of a timestamp column.
    pub fn schema(self, optional: bool) -> SchemaRef {
        match self {
            Granularity::ConnectLogical => timestamp_builder().set_optional(optional).build(),
            Granularity::Micros { text: false } | Granularity::Nanos { text: false } => {
                primitive(SchemaType::Int64, optional)
            }
            _ => primitive(SchemaType::String, optional),
        }
    }

    /// The value of a timestamp of `micros` since the epoch (not for `Iso`, which the
    /// SELECT list formats).
    pub fn value(self, micros: i64) -> Result<Value, String> {
        let nanos = || {
            micros.checked_mul(1000).ok_or_else(|| {
                "the timestamp does not fit epoch nanoseconds in 64 bits".to_string()
            })
        };
        Ok(match self {
            Granularity::Micros { text: false } => Value::Int64(micros),
            Granularity::Micros { text: true } => Value::String(micros.to_string()),
            Granularity::Nanos { text: false } => Value::Int64(nanos()?),
            Granularity::Nanos { text: true } => Value::String(nanos()?.to_string()),
            _ => Value::Int64(micros.div_euclid(1000)),
        })
    }

    /// The `to_char` format of the ISO forms (PostgreSQL keeps microseconds; the nanos
    /// form adds three zeros).
    pub fn iso_sql(nanos: bool, local_timestamp: &str) -> String {
        let s = format!(
            "to_char({}, 'YYYY-MM-DD\"T\"HH24:MI:SS.US')",
            local_timestamp
        );
        if nanos {
            format!("({} || '000')", s)
        } else {
            s
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_and_schemas() {
        for v in VALUES {
            assert!(Granularity::parse(v).is_some(), "{}", v);
        }
        assert_eq!(
            Granularity::parse("NANOS_LONG"),
            Some(Granularity::Nanos { text: false })
        );
        assert_eq!(Granularity::parse("seconds"), None);
        let us = 1_704_164_645_678_901i64;
        assert_eq!(
            Granularity::Nanos { text: false }.value(us).unwrap(),
            Value::Int64(us * 1000)
        );
        assert_eq!(
            Granularity::Nanos { text: true }.value(-1).unwrap(),
            Value::String("-1000".into())
        );
        assert_eq!(
            Granularity::Micros { text: true }.value(us).unwrap(),
            Value::String(us.to_string())
        );
        assert_eq!(
            Granularity::ConnectLogical.value(-1).unwrap(),
            Value::Int64(-1)
        );
        assert!(Granularity::Nanos { text: false }
            .value(i64::MAX / 10)
            .is_err());
        assert_eq!(
            Granularity::Iso { nanos: false }.schema(true).kind,
            SchemaType::String
        );
    }
}
