//! `DropHeaders`: removes headers by name.

use super::util::{non_empty_list, NameSet};
use super::{Fate, Transform, TransformPlugin};
use crate::config::{ConfigDef, ConfigErrors, ConfigKey, Importance, ParsedConfig, Validator};
use crate::data::Record;

pub(super) const PLUGIN: TransformPlugin = TransformPlugin {
    class: "org.apache.kafka.connect.transforms.DropHeaders",
    aliases: &[],
    doc: "Removes one or more headers from each record.",
    config_def,
    create,
};

pub(super) fn config_def() -> ConfigDef {
    ConfigDef::new().define(
        ConfigKey::list("headers")
            .validator(Validator::Custom(non_empty_list))
            .importance(Importance::High)
            .doc("The name of the headers to be removed."),
    )
}

struct DropHeaders {
    headers: NameSet,
}

fn create(c: &ParsedConfig) -> Result<Box<dyn Transform>, ConfigErrors> {
    Ok(Box::new(DropHeaders {
        headers: NameSet::new(c.list("headers")),
    }))
}

impl Transform for DropHeaders {
    fn apply(&mut self, record: &mut Record) -> Result<Fate, String> {
        if !record.headers.is_empty() {
            record.headers.retain(|h| !self.headers.contains(&h.key));
        }
        Ok(Fate::Keep)
    }
}

#[cfg(test)]
mod tests {
    use super::super::util::testing::*;
    use crate::data::{Record, SchemaAndValue};

    #[test]
    fn drops_every_named_header() {
        let mut t = transform("DropHeaders", &[("headers", "dropped1,dropped2")]);
        let mut r = Record::new("t", SchemaAndValue::NULL);
        r.headers.add_string("dropped1", "a");
        r.headers.add_string("kept", "b");
        r.headers.add_string("dropped2", "c");
        r.headers.add_string("dropped1", "d");
        let out = apply(&mut t, r);
        let keys: Vec<_> = out.headers.iter().map(|h| h.key.as_str()).collect();
        assert_eq!(keys, vec!["kept"]);
        // Absent headers are fine.
        let out = apply(&mut t, Record::new("t", SchemaAndValue::NULL));
        assert!(out.headers.is_empty());
    }

    #[test]
    fn needs_headers() {
        let e = try_transform("DropHeaders", &[("headers", "")])
            .err()
            .unwrap();
        assert_eq!(e.0[0].key, "headers");
        assert!(try_transform("DropHeaders", &[]).is_err());
    }
}
