//! `SimpleHeaderConverter`: header values as text, following Connect's `Values` rules.
//! Writing: strings as they are, numbers and booleans as text, bytes as base64, lists
//! `[a,b]`, maps and structs `{"k":v}`, logical dates as ISO text. Reading infers the type:
//! `true`/`false`, the narrowest integer type (int8..int64), float32/float64, `[..]`
//! arrays, `{..}` maps, ISO dates/times/timestamps, else a string.

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;
use bytes::Bytes;

use super::{ConvertError, HeaderConverter};
use crate::config::{ConfigErrors, RawConfig};
use crate::data::logical::{self, Logical};
use crate::data::{primitive, SchemaAndValue, SchemaBuilder, SchemaRef, SchemaType, Value};

/// Connect's default header converter.
#[derive(Debug, Default)]
pub struct SimpleHeaderConverter;

pub(super) fn create(_: &RawConfig) -> Result<Box<dyn HeaderConverter>, ConfigErrors> {
    Ok(Box::new(SimpleHeaderConverter))
}

impl HeaderConverter for SimpleHeaderConverter {
    fn from_connect_header(
        &mut self,
        _: &str,
        _: &str,
        data: &SchemaAndValue,
    ) -> Result<Option<Bytes>, ConvertError> {
        if data.value.is_null() {
            return Ok(None);
        }
        Ok(Some(Bytes::from(to_text(data))))
    }

    fn to_connect_header(
        &mut self,
        _: &str,
        _: &str,
        bytes: Option<&[u8]>,
    ) -> Result<SchemaAndValue, ConvertError> {
        let Some(b) = bytes else {
            return Ok(SchemaAndValue::NULL);
        };
        match std::str::from_utf8(b) {
            Ok(s) => Ok(parse_string(s)),
            // Connect falls back to the raw bytes when the text cannot be parsed.
            Err(_) => Ok(SchemaAndValue::with_schema(
                primitive(SchemaType::Bytes, false),
                Value::Bytes(Bytes::copy_from_slice(b)),
            )),
        }
    }
}

/// Writes a value as header text, honouring logical types of its schema.
pub fn to_text(data: &SchemaAndValue) -> String {
    if let (Some(schema), v) = (&data.schema, &data.value) {
        if let Some(text) = logical_text(schema.logical(), v) {
            return text;
        }
    }
    value_to_string(&data.value)
}

fn logical_text(l: Option<Logical>, v: &Value) -> Option<String> {
    match (l?, v) {
        (Logical::Date, Value::Int32(days)) => {
            let (y, m, d) = logical::civil_from_days(*days as i64);
            Some(format!("{:04}-{:02}-{:02}", y, m, d))
        }
        (Logical::Time, Value::Int32(ms)) => {
            let ms = *ms as i64;
            Some(format!(
                "{:02}:{:02}:{:02}.{:03}Z",
                ms / 3_600_000,
                (ms / 60_000) % 60,
                (ms / 1000) % 60,
                ms % 1000
            ))
        }
        (Logical::Timestamp, Value::Int64(ms)) => Some(logical::format_timestamp_ms(*ms)),
        (Logical::Decimal { scale }, Value::Bytes(b)) => {
            logical::decimal_from_bytes(b).map(|u| logical::decimal_to_string(u, scale))
        }
        _ => None,
    }
}

/// Writes a value as text at the top level (strings unquoted).
pub fn value_to_string(v: &Value) -> String {
    let mut out = String::new();
    append(&mut out, v, false);
    out
}

fn append(out: &mut String, v: &Value, embedded: bool) {
    use std::fmt::Write;
    match v {
        Value::Null => out.push_str("null"),
        Value::Boolean(b) => write!(out, "{}", b).unwrap(),
        Value::Int8(x) => write!(out, "{}", x).unwrap(),
        Value::Int16(x) => write!(out, "{}", x).unwrap(),
        Value::Int32(x) => write!(out, "{}", x).unwrap(),
        Value::Int64(x) => write!(out, "{}", x).unwrap(),
        Value::Float32(x) => write!(out, "{:?}", x).unwrap(),
        Value::Float64(x) => write!(out, "{:?}", x).unwrap(),
        Value::String(s) => {
            if embedded {
                out.push('"');
                out.push_str(&s.replace('\\', "\\\\").replace('"', "\\\""));
                out.push('"');
            } else {
                out.push_str(s);
            }
        }
        Value::Bytes(b) => {
            if embedded {
                out.push('"');
            }
            out.push_str(&BASE64.encode(b));
            if embedded {
                out.push('"');
            }
        }
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                append(out, item, true);
            }
            out.push(']');
        }
        Value::Map(entries) => {
            out.push('{');
            for (i, (k, val)) in entries.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                append(out, k, true);
                out.push(':');
                append(out, val, true);
            }
            out.push('}');
        }
        Value::Struct(s) => {
            out.push('{');
            for (i, (f, val)) in s.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                append(out, &Value::String(f.name.clone()), true);
                out.push(':');
                append(out, val, true);
            }
            out.push('}');
        }
    }
}

/// Infers a typed value from header text, like Connect's `Values.parseString`.
pub fn parse_string(s: &str) -> SchemaAndValue {
    if s.is_empty() {
        return SchemaAndValue::with_schema(
            primitive(SchemaType::String, false),
            Value::String(String::new()),
        );
    }
    let t = s.trim();
    if t == "null" {
        return SchemaAndValue::NULL;
    }
    if t.starts_with('[') || t.starts_with('{') {
        let mut p = Parser {
            s: t.as_bytes(),
            pos: 0,
            text: t,
            depth: 0,
        };
        if let Ok(v) = p.embedded() {
            p.skip_ws();
            if p.pos == t.len() {
                return v;
            }
        }
    } else if let Some(v) = scalar(t) {
        return v;
    }
    SchemaAndValue::with_schema(
        primitive(SchemaType::String, false),
        Value::String(s.to_string()),
    )
}

fn scalar(t: &str) -> Option<SchemaAndValue> {
    match t {
        "true" => {
            return Some(SchemaAndValue::with_schema(
                primitive(SchemaType::Boolean, false),
                Value::Boolean(true),
            ))
        }
        "false" => {
            return Some(SchemaAndValue::with_schema(
                primitive(SchemaType::Boolean, false),
                Value::Boolean(false),
            ))
        }
        _ => {}
    }
    let first = t.as_bytes().first()?;
    if !(first.is_ascii_digit() || *first == b'-' || *first == b'+') {
        return None;
    }
    if let Some(v) = temporal(t) {
        return Some(v);
    }
    if let Ok(i) = t.parse::<i64>() {
        let (kind, v) = if let Ok(x) = i8::try_from(i) {
            (SchemaType::Int8, Value::Int8(x))
        } else if let Ok(x) = i16::try_from(i) {
            (SchemaType::Int16, Value::Int16(x))
        } else if let Ok(x) = i32::try_from(i) {
            (SchemaType::Int32, Value::Int32(x))
        } else {
            (SchemaType::Int64, Value::Int64(i))
        };
        return Some(SchemaAndValue::with_schema(primitive(kind, false), v));
    }
    let f: f64 = t.parse().ok()?;
    if !f.is_finite() {
        return None;
    }
    let as32 = f as f32;
    // Like Connect: any non-integral number that is finite as a float is a FLOAT32.
    if as32.is_finite() {
        return Some(SchemaAndValue::with_schema(
            primitive(SchemaType::Float32, false),
            Value::Float32(as32),
        ));
    }
    Some(SchemaAndValue::with_schema(
        primitive(SchemaType::Float64, false),
        Value::Float64(f),
    ))
}

fn digits(s: &str, range: std::ops::Range<usize>) -> Option<i64> {
    let part = s.get(range)?;
    if part.bytes().all(|b| b.is_ascii_digit()) {
        part.parse().ok()
    } else {
        None
    }
}

fn temporal(t: &str) -> Option<SchemaAndValue> {
    let b = t.as_bytes();
    let date = |s: &str| -> Option<i64> {
        if s.len() < 10 || s.as_bytes()[4] != b'-' || s.as_bytes()[7] != b'-' {
            return None;
        }
        let (y, m, d) = (digits(s, 0..4)?, digits(s, 5..7)?, digits(s, 8..10)?);
        if !(1..=12).contains(&m) || !(1..=31).contains(&d) {
            return None;
        }
        Some(logical::days_from_civil(y, m as u32, d as u32))
    };
    let time = |s: &str| -> Option<i64> {
        let sb = s.as_bytes();
        if s.len() != 13 || sb[2] != b':' || sb[5] != b':' || sb[8] != b'.' || sb[12] != b'Z' {
            return None;
        }
        let (h, m, sec, ms) = (
            digits(s, 0..2)?,
            digits(s, 3..5)?,
            digits(s, 6..8)?,
            digits(s, 9..12)?,
        );
        if h > 23 || m > 59 || sec > 59 {
            return None;
        }
        Some(((h * 60 + m) * 60 + sec) * 1000 + ms)
    };
    match b.len() {
        10 => date(t).map(|d| {
            SchemaAndValue::with_schema(logical::date_builder().build(), Value::Int32(d as i32))
        }),
        13 => time(t).map(|ms| {
            SchemaAndValue::with_schema(logical::time_builder().build(), Value::Int32(ms as i32))
        }),
        24 if b[10] == b'T' => {
            let d = date(&t[..10])?;
            let ms = time(&t[11..])?;
            Some(SchemaAndValue::with_schema(
                logical::timestamp_builder().build(),
                Value::Int64(d * 86_400_000 + ms),
            ))
        }
        _ => None,
    }
}

/// How deeply arrays and maps may nest in header text; deeper text is kept as a
/// string (as Connect's `Values` keeps text it cannot parse), so no input can exhaust
/// the stack.
const MAX_DEPTH: usize = 64;

struct Parser<'a> {
    s: &'a [u8],
    pos: usize,
    text: &'a str,
    depth: usize,
}

impl Parser<'_> {
    fn skip_ws(&mut self) {
        while self.pos < self.s.len() && self.s[self.pos].is_ascii_whitespace() {
            self.pos += 1;
        }
    }
    fn peek(&self) -> Option<u8> {
        self.s.get(self.pos).copied()
    }
    fn expect(&mut self, c: u8) -> Result<(), ()> {
        self.skip_ws();
        if self.peek() == Some(c) {
            self.pos += 1;
            Ok(())
        } else {
            Err(())
        }
    }

    fn embedded(&mut self) -> Result<SchemaAndValue, ()> {
        self.skip_ws();
        match self.peek() {
            Some(b'[' | b'{') if self.depth >= MAX_DEPTH => Err(()),
            Some(b'[') => {
                self.depth += 1;
                let r = self.array();
                self.depth -= 1;
                r
            }
            Some(b'{') => {
                self.depth += 1;
                let r = self.map();
                self.depth -= 1;
                r
            }
            Some(b'"') => self.quoted(),
            Some(_) => self.bare(),
            None => Err(()),
        }
    }

    fn quoted(&mut self) -> Result<SchemaAndValue, ()> {
        self.pos += 1;
        let mut out = String::new();
        let start = self.pos;
        let mut seg = start;
        while self.pos < self.s.len() {
            match self.s[self.pos] {
                b'\\' if self.pos + 1 < self.s.len() => {
                    out.push_str(&self.text[seg..self.pos]);
                    // The escaped character may take several bytes.
                    let c = self.text[self.pos + 1..].chars().next().ok_or(())?;
                    out.push(c);
                    self.pos += 1 + c.len_utf8();
                    seg = self.pos;
                }
                b'"' => {
                    out.push_str(&self.text[seg..self.pos]);
                    self.pos += 1;
                    return Ok(temporal(&out).unwrap_or_else(|| {
                        SchemaAndValue::with_schema(
                            primitive(SchemaType::String, false),
                            Value::String(out),
                        )
                    }));
                }
                _ => self.pos += 1,
            }
        }
        Err(())
    }

    fn bare(&mut self) -> Result<SchemaAndValue, ()> {
        let start = self.pos;
        while self.pos < self.s.len()
            && !matches!(self.s[self.pos], b',' | b':' | b']' | b'}' | b'[' | b'{')
        {
            self.pos += 1;
        }
        let token = self.text[start..self.pos].trim();
        if token.is_empty() {
            return Err(());
        }
        if token == "null" {
            return Ok(SchemaAndValue::NULL);
        }
        Ok(scalar(token).unwrap_or_else(|| {
            SchemaAndValue::with_schema(
                primitive(SchemaType::String, false),
                Value::String(token.to_string()),
            )
        }))
    }

    fn array(&mut self) -> Result<SchemaAndValue, ()> {
        self.pos += 1;
        let mut items: Vec<SchemaAndValue> = Vec::new();
        self.skip_ws();
        if self.peek() == Some(b']') {
            self.pos += 1;
            return Ok(SchemaAndValue::schemaless(Value::Array(Vec::new())));
        }
        loop {
            items.push(self.embedded()?);
            self.skip_ws();
            match self.peek() {
                Some(b',') => self.pos += 1,
                Some(b']') => {
                    self.pos += 1;
                    break;
                }
                _ => return Err(()),
            }
        }
        let schema = common_schema(items.iter());
        let values = items
            .into_iter()
            .map(|i| widen(i, schema.as_ref()))
            .collect();
        Ok(match schema {
            Some(s) => {
                SchemaAndValue::with_schema(SchemaBuilder::array(s).build(), Value::Array(values))
            }
            None => SchemaAndValue::schemaless(Value::Array(values)),
        })
    }

    fn map(&mut self) -> Result<SchemaAndValue, ()> {
        self.pos += 1;
        let mut entries = Vec::new();
        self.skip_ws();
        if self.peek() == Some(b'}') {
            self.pos += 1;
            return Ok(SchemaAndValue::schemaless(Value::Map(Vec::new())));
        }
        loop {
            let k = self.embedded()?;
            if k.value.is_null() {
                return Err(());
            }
            self.expect(b':')?;
            let v = self.embedded()?;
            entries.push((k, v));
            self.skip_ws();
            match self.peek() {
                Some(b',') => self.pos += 1,
                Some(b'}') => {
                    self.pos += 1;
                    break;
                }
                _ => return Err(()),
            }
        }
        let ks = common_schema(entries.iter().map(|(k, _)| k));
        let vs = common_schema(entries.iter().map(|(_, v)| v));
        let values = entries
            .into_iter()
            .map(|(k, v)| (widen(k, ks.as_ref()), widen(v, vs.as_ref())))
            .collect();
        Ok(match (ks, vs) {
            (Some(k), Some(v)) => {
                SchemaAndValue::with_schema(SchemaBuilder::map(k, v).build(), Value::Map(values))
            }
            _ => SchemaAndValue::schemaless(Value::Map(values)),
        })
    }
}

fn numeric_rank(t: SchemaType) -> Option<u8> {
    Some(match t {
        SchemaType::Int8 => 0,
        SchemaType::Int16 => 1,
        SchemaType::Int32 => 2,
        SchemaType::Int64 => 3,
        SchemaType::Float32 => 4,
        SchemaType::Float64 => 5,
        _ => return None,
    })
}

fn common_schema<'a>(items: impl Iterator<Item = &'a SchemaAndValue>) -> Option<SchemaRef> {
    let mut common: Option<SchemaRef> = None;
    for i in items {
        let Some(s) = &i.schema else {
            if i.value.is_null() {
                continue;
            }
            return None;
        };
        common = match common {
            None => Some(s.clone()),
            Some(c) if c == *s => Some(c),
            Some(c) => match (numeric_rank(c.kind), numeric_rank(s.kind)) {
                (Some(a), Some(b)) if c.name.is_none() && s.name.is_none() => {
                    Some(if a >= b { c } else { s.clone() })
                }
                _ => return None,
            },
        };
    }
    common.map(|c| {
        if c.kind.is_primitive() && c.name.is_none() {
            primitive(c.kind, true)
        } else {
            c
        }
    })
}

fn widen(item: SchemaAndValue, to: Option<&SchemaRef>) -> Value {
    let Some(to) = to else {
        return item.value;
    };
    let v = item.value;
    let as_f64 = |v: &Value| -> Option<f64> {
        match v {
            Value::Float32(x) => Some(*x as f64),
            Value::Float64(x) => Some(*x),
            other => other.as_i64().map(|i| i as f64),
        }
    };
    match to.kind {
        SchemaType::Int16 => v.as_i64().map(|i| Value::Int16(i as i16)).unwrap_or(v),
        SchemaType::Int32 => v.as_i64().map(|i| Value::Int32(i as i32)).unwrap_or(v),
        SchemaType::Int64 => v.as_i64().map(Value::Int64).unwrap_or(v),
        SchemaType::Float32 => as_f64(&v).map(|f| Value::Float32(f as f32)).unwrap_or(v),
        SchemaType::Float64 => as_f64(&v).map(Value::Float64).unwrap_or(v),
        _ => v,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kind(s: &str) -> Option<SchemaType> {
        parse_string(s).schema.map(|s| s.kind)
    }

    #[test]
    fn hostile_text_never_panics_or_overflows_the_stack() {
        // 10,000 nested brackets: kept as a string, not parsed recursively.
        let deep = "[".repeat(10_000);
        assert_eq!(parse_string(&deep).value, Value::String(deep.clone()));
        let deep_closed = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
        assert_eq!(kind(&deep_closed), Some(SchemaType::String));
        let maps = "{\"a\":".repeat(5_000);
        assert_eq!(kind(&maps), Some(SchemaType::String));
        // Nesting within the limit still parses.
        let ok = format!("{}1{}", "[".repeat(60), "]".repeat(60));
        assert_eq!(kind(&ok), Some(SchemaType::Array));
        // A backslash before a multi-byte character.
        let v = parse_string("[\"\\é\"]").value;
        assert_eq!(v, Value::Array(vec![Value::String("é".into())]));
        for s in [
            r#"[""#,
            r#"["\"#,
            r#"["\é"#,
            r#"{"\€":1}"#,
            r#""\😀""#,
            r#"["a\"] {"#,
        ] {
            let _ = parse_string(s);
        }
    }

    #[test]
    fn infers_narrowest_types() {
        assert_eq!(kind("42"), Some(SchemaType::Int8));
        assert_eq!(kind("300"), Some(SchemaType::Int16));
        assert_eq!(kind("70000"), Some(SchemaType::Int32));
        assert_eq!(kind("5000000000"), Some(SchemaType::Int64));
        assert_eq!(kind("3.14"), Some(SchemaType::Float32));
        assert_eq!(kind("true"), Some(SchemaType::Boolean));
        assert_eq!(kind("hello"), Some(SchemaType::String));
        assert_eq!(kind("true}"), Some(SchemaType::String));
        assert_eq!(parse_string("null").value, Value::Null);
        assert_eq!(parse_string(" x ").value, Value::String(" x ".into()));
    }

    #[test]
    fn arrays_and_maps_round_trip() {
        let a = parse_string("[1,2,300]");
        assert_eq!(a.schema.as_ref().unwrap().kind, SchemaType::Array);
        assert_eq!(
            a.value,
            Value::Array(vec![Value::Int16(1), Value::Int16(2), Value::Int16(300)])
        );
        assert_eq!(to_text(&a), "[1,2,300]");
        let m = parse_string("{\"a\":1,\"b\":\"x y\"}");
        assert_eq!(m.value.map_get("b"), Some(&Value::String("x y".into())));
        assert_eq!(to_text(&m), "{\"a\":1,\"b\":\"x y\"}");
        // Unbalanced brackets fall back to the whole string.
        assert_eq!(parse_string("[1,2").value, Value::String("[1,2".into()));
    }

    #[test]
    fn temporal_values() {
        let d = parse_string("2024-02-29");
        assert_eq!(
            d.schema.as_ref().unwrap().name.as_deref(),
            Some(logical::DATE)
        );
        assert_eq!(to_text(&d), "2024-02-29");
        let ts = parse_string("2023-11-14T22:13:20.123Z");
        assert_eq!(ts.value, Value::Int64(1_700_000_000_123));
        assert_eq!(to_text(&ts), "2023-11-14T22:13:20.123Z");
    }

    #[test]
    fn converter_null_and_bytes() {
        let mut c = SimpleHeaderConverter;
        assert_eq!(
            c.from_connect_header("t", "h", &SchemaAndValue::NULL)
                .unwrap(),
            None
        );
        let b = c.to_connect_header("t", "h", Some(&[0xff, 0x00])).unwrap();
        assert_eq!(b.schema.unwrap().kind, SchemaType::Bytes);
        let out = c
            .from_connect_header("t", "h", &SchemaAndValue::schemaless(Value::Int32(7)))
            .unwrap()
            .unwrap();
        assert_eq!(&out[..], b"7");
    }
}
