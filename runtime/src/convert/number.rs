//! Connect's number and boolean converters: `ShortConverter`, `IntegerConverter`,
//! `LongConverter`, `FloatConverter`, `DoubleConverter` and `BooleanConverter`. The bytes
//! are Kafka's serializers' (big-endian two's complement, IEEE 754 bits, one byte 0/1);
//! values come back with Connect's optional primitive schemas. Each is also a header
//! converter.

use bytes::Bytes;

use super::{ConvertError, Converter, HeaderConverter};
use crate::config::{ConfigErrors, RawConfig};
use crate::data::{primitive, Headers, SchemaAndValue, SchemaType, Value};

/// Which primitive a converter handles.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NumberKind {
    Short,
    Integer,
    Long,
    Float,
    Double,
    Boolean,
}

impl NumberKind {
    fn schema_type(self) -> SchemaType {
        match self {
            NumberKind::Short => SchemaType::Int16,
            NumberKind::Integer => SchemaType::Int32,
            NumberKind::Long => SchemaType::Int64,
            NumberKind::Float => SchemaType::Float32,
            NumberKind::Double => SchemaType::Float64,
            NumberKind::Boolean => SchemaType::Boolean,
        }
    }
    fn size(self) -> usize {
        match self {
            NumberKind::Boolean => 1,
            NumberKind::Short => 2,
            NumberKind::Integer | NumberKind::Float => 4,
            NumberKind::Long | NumberKind::Double => 8,
        }
    }
    fn name(self) -> &'static str {
        match self {
            NumberKind::Short => "ShortConverter",
            NumberKind::Integer => "IntegerConverter",
            NumberKind::Long => "LongConverter",
            NumberKind::Float => "FloatConverter",
            NumberKind::Double => "DoubleConverter",
            NumberKind::Boolean => "BooleanConverter",
        }
    }
}

/// One of Connect's number (or boolean) converters.
#[derive(Debug, Clone, Copy)]
pub struct NumberConverter(pub NumberKind);

macro_rules! creators {
    ($create:ident, $header:ident, $kind:expr) => {
        pub(super) fn $create(_: &RawConfig, _: bool) -> Result<Box<dyn Converter>, ConfigErrors> {
            Ok(Box::new(NumberConverter($kind)))
        }
        pub(super) fn $header(_: &RawConfig) -> Result<Box<dyn HeaderConverter>, ConfigErrors> {
            Ok(Box::new(NumberConverter($kind)))
        }
    };
}
creators!(create_short, create_short_header, NumberKind::Short);
creators!(create_integer, create_integer_header, NumberKind::Integer);
creators!(create_long, create_long_header, NumberKind::Long);
creators!(create_float, create_float_header, NumberKind::Float);
creators!(create_double, create_double_header, NumberKind::Double);
creators!(create_boolean, create_boolean_header, NumberKind::Boolean);

impl NumberConverter {
    fn serialize(&self, topic: &str, data: &SchemaAndValue) -> Result<Option<Bytes>, ConvertError> {
        let k = self.0;
        let wrong = |what: &str| {
            ConvertError::new(format!(
                "{} cannot serialize a {} for topic {}: it handles {} values",
                k.name(),
                what,
                topic,
                k.schema_type()
            ))
        };
        if let Some(s) = &data.schema {
            if s.kind != k.schema_type() {
                return Err(wrong(&s.kind.to_string()));
            }
        }
        let bytes: Vec<u8> = match (k, &data.value) {
            (_, Value::Null) => return Ok(None),
            (NumberKind::Short, Value::Int16(v)) => v.to_be_bytes().to_vec(),
            (NumberKind::Integer, Value::Int32(v)) => v.to_be_bytes().to_vec(),
            (NumberKind::Long, Value::Int64(v)) => v.to_be_bytes().to_vec(),
            (NumberKind::Float, Value::Float32(v)) => v.to_bits().to_be_bytes().to_vec(),
            (NumberKind::Double, Value::Float64(v)) => v.to_bits().to_be_bytes().to_vec(),
            (NumberKind::Boolean, Value::Boolean(b)) => vec![u8::from(*b)],
            (_, other) => return Err(wrong(other.kind_name())),
        };
        Ok(Some(Bytes::from(bytes)))
    }

    fn deserialize(
        &self,
        topic: &str,
        bytes: Option<&[u8]>,
    ) -> Result<SchemaAndValue, ConvertError> {
        let k = self.0;
        let schema = primitive(k.schema_type(), true);
        let Some(b) = bytes else {
            return Ok(SchemaAndValue::with_schema(schema, Value::Null));
        };
        if b.len() != k.size() {
            return Err(ConvertError::new(format!(
                "{} cannot read {} bytes from topic {}: a {} takes exactly {}",
                k.name(),
                b.len(),
                topic,
                k.schema_type(),
                k.size()
            )));
        }
        let value = match k {
            NumberKind::Short => Value::Int16(i16::from_be_bytes([b[0], b[1]])),
            NumberKind::Integer => Value::Int32(i32::from_be_bytes(b.try_into().expect("4 bytes"))),
            NumberKind::Long => Value::Int64(i64::from_be_bytes(b.try_into().expect("8 bytes"))),
            NumberKind::Float => Value::Float32(f32::from_bits(u32::from_be_bytes(
                b.try_into().expect("4 bytes"),
            ))),
            NumberKind::Double => Value::Float64(f64::from_bits(u64::from_be_bytes(
                b.try_into().expect("8 bytes"),
            ))),
            NumberKind::Boolean => match b[0] {
                0 => Value::Boolean(false),
                1 => Value::Boolean(true),
                other => {
                    return Err(ConvertError::new(format!(
                        "BooleanConverter cannot read byte {} from topic {}: a boolean is 0 or 1",
                        other, topic
                    )))
                }
            },
        };
        Ok(SchemaAndValue::with_schema(schema, value))
    }
}

impl Converter for NumberConverter {
    fn from_connect(
        &mut self,
        topic: &str,
        _: &Headers,
        data: &SchemaAndValue,
    ) -> Result<Option<Bytes>, ConvertError> {
        self.serialize(topic, data)
    }
    fn to_connect(
        &mut self,
        topic: &str,
        _: &Headers,
        bytes: Option<&Bytes>,
    ) -> Result<SchemaAndValue, ConvertError> {
        self.deserialize(topic, bytes.map(|b| &b[..]))
    }
}

impl HeaderConverter for NumberConverter {
    fn from_connect_header(
        &mut self,
        topic: &str,
        _: &str,
        data: &SchemaAndValue,
    ) -> Result<Option<Bytes>, ConvertError> {
        self.serialize(topic, data)
    }
    fn to_connect_header(
        &mut self,
        topic: &str,
        _: &str,
        bytes: Option<&[u8]>,
    ) -> Result<SchemaAndValue, ConvertError> {
        self.deserialize(topic, bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip(kind: NumberKind, v: Value, want: &[u8]) {
        let mut c = NumberConverter(kind);
        let bytes = c
            .from_connect("t", &Headers::new(), &SchemaAndValue::schemaless(v.clone()))
            .unwrap()
            .unwrap();
        assert_eq!(&bytes[..], want, "{:?}", kind);
        let back = c.to_connect("t", &Headers::new(), Some(&bytes)).unwrap();
        assert_eq!(back.value, v);
        assert_eq!(back.schema.unwrap().kind, kind.schema_type());
    }

    #[test]
    fn bytes_are_kafkas_serializers() {
        round_trip(NumberKind::Short, Value::Int16(-2), &[0xff, 0xfe]);
        round_trip(NumberKind::Integer, Value::Int32(258), &[0, 0, 1, 2]);
        round_trip(NumberKind::Long, Value::Int64(1), &[0, 0, 0, 0, 0, 0, 0, 1]);
        round_trip(NumberKind::Float, Value::Float32(1.5), &[0x3f, 0xc0, 0, 0]);
        round_trip(
            NumberKind::Double,
            Value::Float64(-2.0),
            &[0xc0, 0, 0, 0, 0, 0, 0, 0],
        );
        round_trip(NumberKind::Boolean, Value::Boolean(true), &[1]);
        round_trip(NumberKind::Boolean, Value::Boolean(false), &[0]);
    }

    #[test]
    fn wrong_sizes_types_and_bytes_are_errors_that_say_why() {
        let mut c = NumberConverter(NumberKind::Integer);
        let e = c
            .to_connect("t", &Headers::new(), Some(&Bytes::from_static(&[1, 2])))
            .unwrap_err();
        assert!(
            e.0.contains("cannot read 2 bytes") && e.0.contains("exactly 4"),
            "{e}"
        );
        let e = c
            .from_connect(
                "t",
                &Headers::new(),
                &SchemaAndValue::schemaless(Value::Int64(1)),
            )
            .unwrap_err();
        assert!(e.0.contains("IntegerConverter cannot serialize"), "{e}");
        let mut b = NumberConverter(NumberKind::Boolean);
        let e = b
            .to_connect("t", &Headers::new(), Some(&Bytes::from_static(&[7])))
            .unwrap_err();
        assert!(e.0.contains("byte 7"), "{e}");
        let null = c.to_connect("t", &Headers::new(), None).unwrap();
        assert_eq!(null.value, Value::Null);
        assert!(c
            .from_connect(
                "t",
                &Headers::new(),
                &SchemaAndValue::schemaless(Value::Null)
            )
            .unwrap()
            .is_none());
    }
}
