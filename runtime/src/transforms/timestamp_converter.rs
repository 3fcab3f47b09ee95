//! `TimestampConverter$Key` / `TimestampConverter$Value`: converts a timestamp field (or
//! the whole key or value) between strings, Unix epoch numbers and Connect's Date, Time
//! and Timestamp logical types.

use super::datefmt::DateFormat;
use super::util::{
    config_error, copy_basics, map_get, map_put, replace_null_with_default_key, require_struct_err,
    with_default, SchemaCache, Side,
};
use super::{Fate, Transform, TransformPlugin};
use crate::config::{ConfigDef, ConfigErrors, ConfigKey, Importance, ParsedConfig};
use crate::data::logical::{self, Logical};
use crate::data::{
    primitive, Record, Schema, SchemaAndValue, SchemaBuilder, SchemaRef, SchemaType, Struct, Value,
};

const DOC: &str = "Convert timestamps between different formats such as Unix epoch, strings, and Connect Date/Timestamp types. Applies to individual fields or to the entire value. Use the concrete transformation type designed for the record key (org.apache.kafka.connect.transforms.TimestampConverter$Key) or value (org.apache.kafka.connect.transforms.TimestampConverter$Value).";

pub(super) const KEY: TransformPlugin = TransformPlugin {
    class: "org.apache.kafka.connect.transforms.TimestampConverter$Key",
    aliases: &["TimestampConverter$Key"],
    doc: DOC,
    config_def,
    create: |c| create(c, Side::Key),
};

pub(super) const VALUE: TransformPlugin = TransformPlugin {
    class: "org.apache.kafka.connect.transforms.TimestampConverter$Value",
    aliases: &["TimestampConverter$Value"],
    doc: DOC,
    config_def,
    create: |c| create(c, Side::Value),
};

pub(super) fn config_def() -> ConfigDef {
    ConfigDef::new()
        .define(
            ConfigKey::string("field")
                .default("")
                .importance(Importance::High)
                .doc("The field containing the timestamp, or empty if the entire value is a timestamp"),
        )
        .define(
            ConfigKey::string("target.type")
                .one_of(&["string", "unix", "Date", "Time", "Timestamp"])
                .importance(Importance::High)
                .doc("The desired timestamp representation: string, unix, Date, Time, or Timestamp"),
        )
        .define(
            ConfigKey::string("format")
                .default("")
                .doc("A SimpleDateFormat-compatible format for the timestamp. Used to generate the output when type=string or used to parse the input if the input is a string. Sluice supports the letters y, M, d, D, E, a, H, k, h, K, m, s, S, z, Z, X and quoted literal text; times are in UTC."),
        )
        .define(
            ConfigKey::string("unix.precision")
                .default("milliseconds")
                .one_of(&["seconds", "milliseconds", "microseconds", "nanoseconds"])
                .importance(Importance::Low)
                .doc("The desired Unix precision for the timestamp: seconds, milliseconds, microseconds, or nanoseconds. Used to generate the output when type=unix or used to parse the input if the input is a Long. Note: This SMT will cause precision loss during conversions from, and to, values with sub-millisecond components."),
        )
        .define(replace_null_with_default_key())
}

/// A timestamp representation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    String,
    Unix,
    Date,
    Time,
    Timestamp,
}

impl Kind {
    fn parse(s: &str) -> Option<Kind> {
        Some(match s.to_ascii_lowercase().as_str() {
            "string" => Kind::String,
            "unix" => Kind::Unix,
            "date" => Kind::Date,
            "time" => Kind::Time,
            "timestamp" => Kind::Timestamp,
            _ => return None,
        })
    }
    fn schema(self, optional: bool) -> SchemaRef {
        match self {
            Kind::String => primitive(SchemaType::String, optional),
            Kind::Unix => primitive(SchemaType::Int64, optional),
            Kind::Date => logical::date_builder().set_optional(optional).build(),
            Kind::Time => logical::time_builder().set_optional(optional).build(),
            Kind::Timestamp => logical::timestamp_schema(optional),
        }
    }
    /// The kind a schema holds, if it is a timestamp-like schema.
    fn of_schema(schema: &Schema) -> Option<Kind> {
        match schema.logical() {
            Some(Logical::Timestamp) => Some(Kind::Timestamp),
            Some(Logical::Date) => Some(Kind::Date),
            Some(Logical::Time) => Some(Kind::Time),
            Some(Logical::Decimal { .. }) => None,
            None => match schema.kind {
                SchemaType::String => Some(Kind::String),
                SchemaType::Int64 => Some(Kind::Unix),
                _ => None,
            },
        }
    }
}

#[derive(Debug, Clone, Copy)]
enum Precision {
    Seconds,
    Millis,
    Micros,
    Nanos,
}

struct Converter {
    target: Kind,
    format: Option<DateFormat>,
    precision: Precision,
}

const MS_PER_DAY: i64 = 86_400_000;

impl Converter {
    /// Epoch milliseconds of a value of kind `from` (`None`: infer from the value).
    fn to_millis(&self, v: &Value, from: Option<Kind>) -> Result<i64, String> {
        let from = match from {
            Some(k) => k,
            None => match v {
                Value::String(_) => Kind::String,
                Value::Int8(_) | Value::Int16(_) | Value::Int32(_) | Value::Int64(_) => Kind::Unix,
                other => {
                    return Err(format!(
                        "TimestampConverter does not support {} objects as timestamps",
                        other.kind_name()
                    ))
                }
            },
        };
        let bad = || {
            format!(
                "expected a {:?} timestamp but found a {} value",
                from,
                v.kind_name()
            )
        };
        Ok(match from {
            Kind::String => {
                let s = v.as_str().ok_or_else(bad)?;
                let f = self.format.as_ref().ok_or(
                    "TimestampConverter requires format option to be specified when using string timestamps",
                )?;
                f.parse(s).map_err(|_| {
                    format!(
                        "Could not parse timestamp: value ({}) does not match pattern ({})",
                        s,
                        f.pattern()
                    )
                })?
            }
            Kind::Unix => {
                let n = v.as_i64().ok_or_else(bad)?;
                match self.precision {
                    Precision::Seconds => n.saturating_mul(1000),
                    Precision::Millis => n,
                    Precision::Micros => n / 1000,
                    Precision::Nanos => n / 1_000_000,
                }
            }
            Kind::Date => v.as_i64().ok_or_else(bad)? * MS_PER_DAY,
            Kind::Time | Kind::Timestamp => v.as_i64().ok_or_else(bad)?,
        })
    }

    fn to_target(&self, ms: i64) -> Value {
        match self.target {
            Kind::String => Value::String(
                self.format
                    .as_ref()
                    .map(|f| f.format(ms))
                    .unwrap_or_default(),
            ),
            Kind::Unix => Value::Int64(match self.precision {
                Precision::Seconds => ms / 1000,
                Precision::Millis => ms,
                Precision::Micros => ms.saturating_mul(1000),
                Precision::Nanos => ms.saturating_mul(1_000_000),
            }),
            Kind::Date => Value::Int32(ms.div_euclid(MS_PER_DAY) as i32),
            Kind::Time => Value::Int32(ms.rem_euclid(MS_PER_DAY) as i32),
            Kind::Timestamp => Value::Int64(ms),
        }
    }

    fn convert(&self, v: Value, from: Option<Kind>) -> Result<Value, String> {
        if v.is_null() {
            return Ok(Value::Null);
        }
        Ok(self.to_target(self.to_millis(&v, from)?))
    }
}

struct TimestampConverter {
    side: Side,
    name: &'static str,
    field: String,
    conv: Converter,
    replace_null_with_default: bool,
    cache: SchemaCache,
}

fn create(c: &ParsedConfig, side: Side) -> Result<Box<dyn Transform>, ConfigErrors> {
    let target_raw = c.str("target.type");
    let target = Kind::parse(&target_raw).ok_or_else(|| {
        config_error(
            "target.type",
            format!("Unknown timestamp type in TimestampConverter: {}. Valid values are string, unix, Date, Time, Timestamp.", target_raw),
        )
    })?;
    let pattern = c.str("format");
    let format = if pattern.trim().is_empty() {
        if target == Kind::String {
            return Err(config_error(
                "format",
                "TimestampConverter requires format option to be specified when using string timestamps",
            ));
        }
        None
    } else {
        Some(DateFormat::new(&pattern).map_err(|e| {
            config_error(
                "format",
                format!("TimestampConverter requires a SimpleDateFormat-compatible pattern for string timestamps: {}", e),
            )
        })?)
    };
    let precision = match c.str("unix.precision").to_ascii_lowercase().as_str() {
        "seconds" => Precision::Seconds,
        "microseconds" => Precision::Micros,
        "nanoseconds" => Precision::Nanos,
        _ => Precision::Millis,
    };
    Ok(Box::new(TimestampConverter {
        side,
        name: match side {
            Side::Key => "TimestampConverter$Key",
            Side::Value => "TimestampConverter$Value",
        },
        field: c.str("field"),
        conv: Converter {
            target,
            format,
            precision,
        },
        replace_null_with_default: c.boolean("replace.null.with.default"),
        cache: SchemaCache::new(),
    }))
}

const PURPOSE: &str = "converting timestamp formats";

impl TimestampConverter {
    fn convert_struct(&self, s: Struct, updated: &SchemaRef) -> Result<Struct, String> {
        let schema = s.schema().clone();
        let mut values = Vec::with_capacity(schema.fields.len());
        for (f, v) in schema.fields.iter().zip(s.into_values()) {
            let v = with_default(f, v, self.replace_null_with_default);
            if f.name == self.field {
                let from = Kind::of_schema(&f.schema);
                values.push(
                    self.conv
                        .convert(v, from)
                        .map_err(|e| format!("{}: field {}: {}", self.name, f.name, e))?,
                );
            } else {
                values.push(v);
            }
        }
        Struct::from_values(updated.clone(), values)
    }
}

fn not_timestamp(name: &str, schema: &Schema) -> String {
    format!(
        "{}: schema {} does not correspond to a known timestamp type format",
        name,
        schema.describe()
    )
}

impl Transform for TimestampConverter {
    fn apply(&mut self, record: &mut Record) -> Result<Fate, String> {
        let name = self.name;
        let SchemaAndValue { schema, mut value } = self.side.take(record);
        let out = match schema {
            None if self.field.is_empty() || value.is_null() => SchemaAndValue::schemaless(
                self.conv
                    .convert(value, None)
                    .map_err(|e| format!("{}: {}", name, e))?,
            ),
            None => {
                let entries = super::util::require_map(name, PURPOSE, &mut value)?;
                if let Some(v) = map_get(entries, &self.field) {
                    let converted = self
                        .conv
                        .convert(v.clone(), None)
                        .map_err(|e| format!("{}: field {}: {}", name, self.field, e))?;
                    map_put(entries, &self.field, converted);
                }
                SchemaAndValue::schemaless(value)
            }
            Some(schema) if self.field.is_empty() => {
                let from = Kind::of_schema(&schema).ok_or_else(|| not_timestamp(name, &schema))?;
                SchemaAndValue::with_schema(
                    self.conv.target.schema(schema.optional),
                    self.conv
                        .convert(value, Some(from))
                        .map_err(|e| format!("{}: {}", name, e))?,
                )
            }
            Some(schema) => {
                let field = &self.field;
                let target = self.conv.target;
                let updated = self.cache.get_or_build(&schema, |schema| {
                    if schema.kind != SchemaType::Struct {
                        return Err(format!(
                            "{}: only Struct objects supported for [{}], found: {}",
                            name,
                            PURPOSE,
                            schema.describe()
                        ));
                    }
                    let mut b =
                        copy_basics(schema, SchemaBuilder::struct_()).set_optional(schema.optional);
                    for f in &schema.fields {
                        if f.name == *field {
                            if Kind::of_schema(&f.schema).is_none() {
                                return Err(not_timestamp(name, &f.schema));
                            }
                            b = b.field(f.name.clone(), target.schema(f.schema.optional));
                        } else {
                            b = b.field(f.name.clone(), f.schema.clone());
                        }
                    }
                    Ok(b.build())
                })?;
                match value {
                    Value::Null => SchemaAndValue::with_schema(updated, Value::Null),
                    Value::Struct(s) => {
                        let st = self.convert_struct(s, &updated)?;
                        SchemaAndValue::with_schema(updated, Value::Struct(st))
                    }
                    other => return Err(require_struct_err(name, PURPOSE, &other)),
                }
            }
        };
        self.side.put(record, out);
        Ok(Fate::Keep)
    }
}

#[cfg(test)]
mod tests {
    use super::super::util::testing::*;
    use crate::data::logical;
    use crate::data::{SchemaAndValue, SchemaBuilder, SchemaType::*, Value};

    // 2017-01-01T01:02:03.004Z, Connect's test instant.
    const TS: i64 = 1_483_232_523_004;
    const DATE_DAYS: i32 = 17_167; // 2017-01-01
    const TIME_MS: i32 = 3_723_004; // 01:02:03.004
    const FMT: &str = "yyyy MM dd HH mm ss SSS z";
    const TS_STR: &str = "2017 01 01 01 02 03 004 UTC";

    fn whole(cfg: &[(&str, &str)], input: SchemaAndValue) -> SchemaAndValue {
        let mut t = transform("TimestampConverter$Value", cfg);
        apply(&mut t, value_record(input)).value
    }

    fn ts_schema() -> SchemaAndValue {
        SchemaAndValue::with_schema(logical::timestamp_builder().build(), Value::Int64(TS))
    }

    #[test]
    fn config_errors() {
        let e = try_transform("TimestampConverter$Value", &[("target.type", "invalid")])
            .err()
            .unwrap();
        assert_eq!(e.0[0].key, "target.type");
        let e = try_transform("TimestampConverter$Value", &[("target.type", "string")])
            .err()
            .unwrap();
        assert_eq!(e.0[0].key, "format");
        assert!(e.0[0].message.contains("requires format option"));
        let e = try_transform(
            "TimestampConverter$Value",
            &[("target.type", "string"), ("format", "bad-format TT")],
        )
        .err()
        .unwrap();
        assert_eq!(e.0[0].key, "format");
        assert!(e.0[0].message.contains("SimpleDateFormat-compatible"));
        let e = try_transform(
            "TimestampConverter$Value",
            &[("target.type", "unix"), ("unix.precision", "minutes")],
        )
        .err()
        .unwrap();
        assert_eq!(e.0[0].key, "unix.precision");
    }

    #[test]
    fn schemaless_conversions() {
        let unix = SchemaAndValue::schemaless(Value::Int64(TS));
        assert_eq!(
            whole(&[("target.type", "Timestamp")], unix.clone()).value,
            Value::Int64(TS)
        );
        assert_eq!(
            whole(&[("target.type", "Date")], unix.clone()).value,
            Value::Int32(DATE_DAYS)
        );
        assert_eq!(
            whole(&[("target.type", "Time")], unix.clone()).value,
            Value::Int32(TIME_MS)
        );
        assert_eq!(
            whole(&[("target.type", "unix")], unix.clone()).value,
            Value::Int64(TS)
        );
        assert_eq!(
            whole(&[("target.type", "string"), ("format", FMT)], unix.clone()).value,
            Value::from(TS_STR)
        );
        let s = SchemaAndValue::schemaless(Value::from(TS_STR));
        assert_eq!(
            whole(&[("target.type", "unix"), ("format", FMT)], s).value,
            Value::Int64(TS)
        );
        assert!(whole(&[("target.type", "unix")], unix).schema.is_none());
    }

    #[test]
    fn with_schema_conversions() {
        let out = whole(&[("target.type", "Date")], ts_schema());
        assert_eq!(
            out.schema.as_ref().unwrap().name.as_deref(),
            Some(logical::DATE)
        );
        assert_eq!(out.value, Value::Int32(DATE_DAYS));
        let out = whole(&[("target.type", "Time")], ts_schema());
        assert_eq!(
            out.schema.as_ref().unwrap().name.as_deref(),
            Some(logical::TIME)
        );
        assert_eq!(out.value, Value::Int32(TIME_MS));
        let out = whole(&[("target.type", "unix")], ts_schema());
        assert_eq!(out.schema, Some(s(Int64)));
        assert_eq!(out.value, Value::Int64(TS));
        let out = whole(&[("target.type", "string"), ("format", FMT)], ts_schema());
        assert_eq!(out.schema, Some(s(String)));
        assert_eq!(out.value, Value::from(TS_STR));
        let date =
            SchemaAndValue::with_schema(logical::date_builder().build(), Value::Int32(DATE_DAYS));
        let out = whole(&[("target.type", "Timestamp")], date);
        assert_eq!(out.value, Value::Int64(DATE_DAYS as i64 * 86_400_000));
        let s_in = SchemaAndValue::with_schema(s(String), Value::from(TS_STR));
        let out = whole(&[("target.type", "Timestamp"), ("format", FMT)], s_in);
        assert_eq!(
            out.schema.as_ref().unwrap().name.as_deref(),
            Some(logical::TIMESTAMP)
        );
        assert_eq!(out.value, Value::Int64(TS));
    }

    #[test]
    fn unix_precisions() {
        let cases = [
            ("seconds", TS / 1000),
            ("milliseconds", TS),
            ("microseconds", TS * 1000),
            ("nanoseconds", TS * 1_000_000),
        ];
        for (p, expected) in cases {
            let out = whole(
                &[("target.type", "unix"), ("unix.precision", p)],
                ts_schema(),
            );
            assert_eq!(out.value, Value::Int64(expected), "{}", p);
            let back = whole(
                &[("target.type", "Timestamp"), ("unix.precision", p)],
                SchemaAndValue::with_schema(s(Int64), Value::Int64(expected)),
            );
            let want = if p == "seconds" { TS / 1000 * 1000 } else { TS };
            assert_eq!(back.value, Value::Int64(want), "{}", p);
        }
    }

    #[test]
    fn field_with_schema_and_schemaless() {
        let schema = SchemaBuilder::struct_()
            .field("ts", s(Int64))
            .field("other", s(String))
            .build();
        let mut t = transform(
            "TimestampConverter$Value",
            &[("field", "ts"), ("target.type", "Timestamp")],
        );
        let out = apply(
            &mut t,
            value_record(SchemaAndValue::with_schema(
                schema.clone(),
                Value::Struct(st(&schema, vec![Value::Int64(TS), Value::from("x")])),
            )),
        );
        let us = out.value.schema.clone().unwrap();
        assert_eq!(
            us.field("ts").unwrap().schema.name.as_deref(),
            Some(logical::TIMESTAMP)
        );
        assert_eq!(us.field("other").unwrap().schema, s(String));
        assert_eq!(get(&out.value.value, "ts"), &Value::Int64(TS));
        assert_eq!(get(&out.value.value, "other"), &Value::from("x"));

        let mut t = transform(
            "TimestampConverter$Value",
            &[("field", "ts"), ("target.type", "string"), ("format", FMT)],
        );
        let out = apply(
            &mut t,
            value_record(SchemaAndValue::schemaless(smap(vec![
                ("ts", Value::Int64(TS)),
                ("other", Value::from("x")),
            ]))),
        );
        assert_eq!(get(&out.value.value, "ts"), &Value::from(TS_STR));
        assert_eq!(get(&out.value.value, "other"), &Value::from("x"));
    }

    #[test]
    fn nulls() {
        // Whole value null, with and without schema.
        let out = whole(&[("target.type", "Date")], SchemaAndValue::NULL);
        assert_eq!(out, SchemaAndValue::NULL);
        let out = whole(
            &[("target.type", "Date")],
            SchemaAndValue::with_schema(
                logical::timestamp_builder().optional().build(),
                Value::Null,
            ),
        );
        assert!(out.schema.as_ref().unwrap().optional);
        assert_eq!(out.value, Value::Null);
        // Null field stays null; null struct stays null.
        let schema = SchemaBuilder::struct_()
            .optional()
            .field("ts", os(Int64))
            .build();
        let mut t = transform(
            "TimestampConverter$Value",
            &[("field", "ts"), ("target.type", "Timestamp")],
        );
        let out = apply(
            &mut t,
            value_record(SchemaAndValue::with_schema(
                schema.clone(),
                Value::Struct(st(&schema, vec![Value::Null])),
            )),
        );
        assert_eq!(get(&out.value.value, "ts"), &Value::Null);
        let out = apply(
            &mut t,
            value_record(SchemaAndValue::with_schema(schema, Value::Null)),
        );
        assert_eq!(out.value.value, Value::Null);
        let out = apply(&mut t, value_record(SchemaAndValue::NULL));
        assert_eq!(out.value, SchemaAndValue::NULL);
    }

    #[test]
    fn errors_name_the_problem() {
        let mut t = transform(
            "TimestampConverter$Value",
            &[("target.type", "unix"), ("format", "yyyy-MM-dd")],
        );
        let e = try_apply(
            &mut t,
            value_record(SchemaAndValue::schemaless(Value::from("not a date"))),
        )
        .unwrap_err();
        assert!(
            e.contains("TimestampConverter$Value")
                && e.contains("not a date")
                && e.contains("yyyy-MM-dd"),
            "{}",
            e
        );
        let e = try_apply(
            &mut t,
            value_record(SchemaAndValue::with_schema(
                s(Boolean),
                Value::Boolean(true),
            )),
        )
        .unwrap_err();
        assert!(
            e.contains("does not correspond to a known timestamp type"),
            "{}",
            e
        );
        let e = try_apply(
            &mut t,
            value_record(SchemaAndValue::schemaless(Value::Boolean(true))),
        )
        .unwrap_err();
        assert!(e.contains("does not support boolean"), "{}", e);
    }
}
