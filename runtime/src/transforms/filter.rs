//! `Filter`: drops every record it is applied to (use it with a predicate).

use super::{Fate, Transform, TransformPlugin};
use crate::config::{ConfigDef, ConfigErrors, ParsedConfig};
use crate::data::Record;

pub(super) const PLUGIN: TransformPlugin = TransformPlugin {
    class: "org.apache.kafka.connect.transforms.Filter",
    aliases: &[],
    doc: "Drops all records, filtering them from subsequent transformations in the chain. This is intended to be used conditionally to filter out records matching (or not matching) a particular predicate.",
    config_def: ConfigDef::new,
    create,
};

struct Filter;

fn create(_: &ParsedConfig) -> Result<Box<dyn Transform>, ConfigErrors> {
    Ok(Box::new(Filter))
}

impl Transform for Filter {
    fn apply(&mut self, _record: &mut Record) -> Result<Fate, String> {
        Ok(Fate::Drop)
    }
}

#[cfg(test)]
mod tests {
    use super::super::util::testing::*;
    use crate::data::{Record, SchemaAndValue};

    #[test]
    fn drops_everything() {
        let mut t = transform("Filter", &[]);
        assert!(try_apply(&mut t, Record::new("t", SchemaAndValue::NULL))
            .unwrap()
            .is_none());
    }
}
