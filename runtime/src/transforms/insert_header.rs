//! `InsertHeader`: adds a header with a literal value to every record.

use super::{Fate, Transform, TransformPlugin};
use crate::config::{ConfigDef, ConfigErrors, ConfigKey, Importance, ParsedConfig, Validator};
use crate::convert::parse_header_string;
use crate::data::{Record, SchemaAndValue};

pub(super) const PLUGIN: TransformPlugin = TransformPlugin {
    class: "org.apache.kafka.connect.transforms.InsertHeader",
    aliases: &[],
    doc: "Add a header to each record.",
    config_def,
    create,
};

pub(super) fn config_def() -> ConfigDef {
    ConfigDef::new()
        .define(
            ConfigKey::string("header")
                .validator(Validator::NonEmpty)
                .importance(Importance::High)
                .doc("The name of the header."),
        )
        .define(
            ConfigKey::string("value.literal")
                .importance(Importance::High)
                .doc("The literal value that is to be set as the header value on all records. The text is typed as Connect's Values.parseString does (e.g. 42 is an int8, true a boolean, [1,2] an array)."),
        )
}

struct InsertHeader {
    header: String,
    value: SchemaAndValue,
}

fn create(c: &ParsedConfig) -> Result<Box<dyn Transform>, ConfigErrors> {
    // Use the raw text: Connect does not trim the literal.
    let literal = c
        .raw()
        .get("value.literal")
        .cloned()
        .unwrap_or_else(|| c.str("value.literal"));
    Ok(Box::new(InsertHeader {
        header: c.str("header"),
        value: parse_header_string(&literal),
    }))
}

impl Transform for InsertHeader {
    fn apply(&mut self, record: &mut Record) -> Result<Fate, String> {
        record.headers.add(self.header.clone(), self.value.clone());
        Ok(Fate::Keep)
    }
}

#[cfg(test)]
mod tests {
    use super::super::util::testing::*;
    use crate::data::{Record, SchemaAndValue, SchemaType, Value};
    use bytes::Bytes;

    #[test]
    fn adds_typed_header_and_keeps_existing() {
        let mut t = transform(
            "InsertHeader",
            &[("header", "inserted"), ("value.literal", "inserted-value")],
        );
        let payload = Bytes::from_static(b"payload");
        let mut r = Record::new(
            "t",
            SchemaAndValue::schemaless(Value::Bytes(payload.clone())),
        );
        r.headers.add_string("existing", "existing-value");
        r.headers.add_string("inserted", "earlier");
        let out = apply(&mut t, r);
        assert_eq!(out.headers.len(), 3);
        let h = out.headers.last_with_name("inserted").unwrap();
        assert_eq!(h.value.value, Value::from("inserted-value"));
        assert_eq!(h.value.schema.as_ref().unwrap().kind, SchemaType::String);
        assert_eq!(
            out.headers.last_with_name("existing").unwrap().value.value,
            Value::from("existing-value")
        );
        match &out.value.value {
            Value::Bytes(b) => assert_eq!(b.as_ptr(), payload.as_ptr()),
            _ => panic!(),
        }

        let mut t = transform("InsertHeader", &[("header", "n"), ("value.literal", "42")]);
        let out = apply(&mut t, Record::new("t", SchemaAndValue::NULL));
        let h = out.headers.last_with_name("n").unwrap();
        assert_eq!(h.value.schema.as_ref().unwrap().kind, SchemaType::Int8);
        assert_eq!(h.value.value, Value::Int8(42));
    }

    #[test]
    fn config_required() {
        let e = try_transform("InsertHeader", &[("value.literal", "x")])
            .err()
            .unwrap();
        assert_eq!(e.0[0].key, "header");
        let e = try_transform("InsertHeader", &[("header", "")])
            .err()
            .unwrap();
        let keys: Vec<_> = e.0.iter().map(|i| i.key.as_str()).collect();
        assert_eq!(keys, vec!["header", "value.literal"]);
    }
}
