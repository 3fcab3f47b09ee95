//! `ByteArrayConverter`: bytes pass through untouched (no copy, no parse).

use bytes::Bytes;

use super::{ConvertError, Converter, HeaderConverter};
use crate::config::{ConfigErrors, RawConfig};
use crate::data::{primitive, Headers, SchemaAndValue, SchemaType, Value};

/// Pass-through converter for `Schema.OPTIONAL_BYTES` values.
#[derive(Debug, Default)]
pub struct ByteArrayConverter;

pub(super) fn create(_: &RawConfig, _is_key: bool) -> Result<Box<dyn Converter>, ConfigErrors> {
    Ok(Box::new(ByteArrayConverter))
}

pub(super) fn create_header(_: &RawConfig) -> Result<Box<dyn HeaderConverter>, ConfigErrors> {
    Ok(Box::new(ByteArrayConverter))
}

fn to_bytes(data: &SchemaAndValue) -> Result<Option<Bytes>, ConvertError> {
    if let Some(s) = &data.schema {
        if s.kind != SchemaType::Bytes {
            return Err(ConvertError::new(format!(
                "ByteArrayConverter is not compatible with objects of type {}",
                s.kind
            )));
        }
    }
    match &data.value {
        Value::Null => Ok(None),
        Value::Bytes(b) => Ok(Some(b.clone())),
        other => Err(ConvertError::new(format!(
            "ByteArrayConverter is not compatible with objects of type {}",
            other.kind_name()
        ))),
    }
}

impl Converter for ByteArrayConverter {
    fn from_connect(
        &mut self,
        _: &str,
        _: &Headers,
        data: &SchemaAndValue,
    ) -> Result<Option<Bytes>, ConvertError> {
        to_bytes(data)
    }
    fn from_connect_owned(
        &mut self,
        topic: &str,
        headers: &Headers,
        data: SchemaAndValue,
    ) -> Result<Option<Bytes>, (ConvertError, SchemaAndValue)> {
        let bytes_schema = data
            .schema
            .as_ref()
            .is_none_or(|s| s.kind == SchemaType::Bytes);
        match data.value {
            Value::Bytes(b) if bytes_schema => Ok(Some(b)),
            value => {
                let data = SchemaAndValue {
                    schema: data.schema,
                    value,
                };
                self.from_connect(topic, headers, &data)
                    .map_err(|e| (e, data))
            }
        }
    }
    fn to_connect_owned(
        &mut self,
        _: &str,
        _: &Headers,
        bytes: Option<Bytes>,
    ) -> Result<SchemaAndValue, ConvertError> {
        Ok(SchemaAndValue::with_schema(
            primitive(SchemaType::Bytes, true),
            bytes.map(Value::Bytes).unwrap_or(Value::Null),
        ))
    }
    fn to_connect(
        &mut self,
        _: &str,
        _: &Headers,
        bytes: Option<&Bytes>,
    ) -> Result<SchemaAndValue, ConvertError> {
        Ok(SchemaAndValue::with_schema(
            primitive(SchemaType::Bytes, true),
            bytes
                .map(|b| Value::Bytes(b.clone()))
                .unwrap_or(Value::Null),
        ))
    }
}

impl HeaderConverter for ByteArrayConverter {
    fn from_connect_header(
        &mut self,
        _: &str,
        _: &str,
        data: &SchemaAndValue,
    ) -> Result<Option<Bytes>, ConvertError> {
        to_bytes(data)
    }
    fn to_connect_header(
        &mut self,
        _: &str,
        _: &str,
        bytes: Option<&[u8]>,
    ) -> Result<SchemaAndValue, ConvertError> {
        Ok(SchemaAndValue::with_schema(
            primitive(SchemaType::Bytes, true),
            bytes
                .map(|b| Value::Bytes(Bytes::copy_from_slice(b)))
                .unwrap_or(Value::Null),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passes_bytes_without_copy() {
        let mut c = ByteArrayConverter;
        let payload = Bytes::from(vec![1u8, 2, 3]);
        let out = c
            .from_connect(
                "t",
                &Headers::new(),
                &SchemaAndValue::schemaless(Value::Bytes(payload.clone())),
            )
            .unwrap()
            .unwrap();
        assert_eq!(out.as_ptr(), payload.as_ptr(), "no copy");
        let back = c.to_connect("t", &Headers::new(), Some(&out)).unwrap();
        assert_eq!(back.value, Value::Bytes(payload));
    }

    #[test]
    fn rejects_other_types() {
        let mut c = ByteArrayConverter;
        let err = c
            .from_connect(
                "t",
                &Headers::new(),
                &SchemaAndValue::schemaless(Value::from("x")),
            )
            .unwrap_err();
        assert!(err.0.contains("not compatible"), "{}", err);
    }
}
