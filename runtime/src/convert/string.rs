//! `StringConverter`: UTF-8 text (or another `converter.encoding`, only UTF-8 is
//! supported) to and from `Schema.OPTIONAL_STRING` values.

use bytes::Bytes;

use super::{ConvertError, Converter, HeaderConverter};
use crate::config::{ConfigDef, ConfigErrors, ConfigIssue, ConfigKey, RawConfig};
use crate::data::{primitive, Headers, SchemaAndValue, SchemaType, Value};

pub(super) fn config_def() -> ConfigDef {
    ConfigDef::new().define(
        ConfigKey::string("converter.encoding")
            .default("UTF-8")
            .doc("Character encoding; Sluice supports UTF-8 only."),
    )
}

/// Text converter.
#[derive(Debug, Default)]
pub struct StringConverter;

fn check(config: &RawConfig) -> Result<(), ConfigErrors> {
    for key in [
        "converter.encoding",
        "serializer.encoding",
        "deserializer.encoding",
    ] {
        if let Some(enc) = config.get(key) {
            let e = enc.to_ascii_uppercase().replace('_', "-");
            if e != "UTF-8" && e != "UTF8" {
                return Err(ConfigErrors(vec![ConfigIssue::new(
                    key,
                    format!("encoding {} is not supported; use UTF-8", enc),
                )]));
            }
        }
    }
    Ok(())
}

pub(super) fn create(
    config: &RawConfig,
    _is_key: bool,
) -> Result<Box<dyn Converter>, ConfigErrors> {
    check(config)?;
    Ok(Box::new(StringConverter))
}

pub(super) fn create_header(config: &RawConfig) -> Result<Box<dyn HeaderConverter>, ConfigErrors> {
    check(config)?;
    Ok(Box::new(StringConverter))
}

impl StringConverter {
    fn to_bytes(data: &SchemaAndValue) -> Option<Bytes> {
        match &data.value {
            Value::Null => None,
            Value::String(s) => Some(Bytes::copy_from_slice(s.as_bytes())),
            other => Some(Bytes::from(super::header::value_to_string(other))),
        }
    }

    fn from_bytes(bytes: Option<&[u8]>) -> Result<SchemaAndValue, ConvertError> {
        let schema = primitive(SchemaType::String, true);
        match bytes {
            None => Ok(SchemaAndValue::with_schema(schema, Value::Null)),
            Some(b) => {
                let s = std::str::from_utf8(b).map_err(|e| {
                    ConvertError::new(format!("the data is not valid UTF-8 text: {}", e))
                })?;
                Ok(SchemaAndValue::with_schema(
                    schema,
                    Value::String(s.to_string()),
                ))
            }
        }
    }
}

impl Converter for StringConverter {
    fn from_connect(
        &mut self,
        _: &str,
        _: &Headers,
        data: &SchemaAndValue,
    ) -> Result<Option<Bytes>, ConvertError> {
        Ok(Self::to_bytes(data))
    }
    fn from_connect_owned(
        &mut self,
        _: &str,
        _: &Headers,
        data: SchemaAndValue,
    ) -> Result<Option<Bytes>, (ConvertError, SchemaAndValue)> {
        match data.value {
            // The string's buffer becomes the payload: no copy.
            Value::String(s) => Ok(Some(Bytes::from(s))),
            _ => Ok(Self::to_bytes(&data)),
        }
    }
    fn keeps_buffer(&self) -> bool {
        true
    }
    fn to_connect_owned(
        &mut self,
        _: &str,
        _: &Headers,
        bytes: Option<Bytes>,
    ) -> Result<SchemaAndValue, ConvertError> {
        let schema = primitive(SchemaType::String, true);
        match bytes {
            None => Ok(SchemaAndValue::with_schema(schema, Value::Null)),
            // Reuses the buffer when nobody else holds it.
            Some(b) => match String::from_utf8(Vec::from(b)) {
                Ok(s) => Ok(SchemaAndValue::with_schema(schema, Value::String(s))),
                Err(e) => Err(ConvertError::new(format!(
                    "the data is not valid UTF-8 text: {}",
                    e.utf8_error()
                ))),
            },
        }
    }
    fn to_connect(
        &mut self,
        _: &str,
        _: &Headers,
        bytes: Option<&Bytes>,
    ) -> Result<SchemaAndValue, ConvertError> {
        Self::from_bytes(bytes.map(|b| b.as_ref()))
    }
}

impl HeaderConverter for StringConverter {
    fn from_connect_header(
        &mut self,
        _: &str,
        _: &str,
        data: &SchemaAndValue,
    ) -> Result<Option<Bytes>, ConvertError> {
        Ok(Self::to_bytes(data))
    }
    fn to_connect_header(
        &mut self,
        _: &str,
        _: &str,
        bytes: Option<&[u8]>,
    ) -> Result<SchemaAndValue, ConvertError> {
        Self::from_bytes(bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_errors() {
        let mut c = StringConverter;
        let h = Headers::new();
        let out = c
            .from_connect("t", &h, &SchemaAndValue::schemaless(Value::from("héllo")))
            .unwrap();
        assert_eq!(out.as_deref(), Some("héllo".as_bytes()));
        let back = c.to_connect("t", &h, out.as_ref()).unwrap();
        assert_eq!(back.value, Value::from("héllo"));
        assert!(back.schema.unwrap().optional);
        assert_eq!(
            c.from_connect("t", &h, &SchemaAndValue::NULL).unwrap(),
            None
        );
        assert!(c.to_connect("t", &h, None).unwrap().value.is_null());
        let err = c
            .to_connect("t", &h, Some(&Bytes::from_static(&[0xff, 0xfe])))
            .unwrap_err();
        assert!(err.0.contains("UTF-8"));
        // Non-string values are written as text.
        let n = c
            .from_connect("t", &h, &SchemaAndValue::schemaless(Value::Int32(42)))
            .unwrap();
        assert_eq!(n.as_deref(), Some(&b"42"[..]));
    }

    #[test]
    fn only_utf8() {
        let cfg: RawConfig = [("converter.encoding".to_string(), "ISO-8859-1".to_string())].into();
        assert!(create(&cfg, false).is_err());
    }
}
