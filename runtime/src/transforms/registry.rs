//! The transforms and predicates Sluice provides, under Connect's class names.

use super::{
    cast, drop_headers, extract_field, filter, flatten, header_from, hoist_field, insert_field,
    insert_header, mask_field, predicates, regex_router, replace_field, set_schema_metadata,
    timestamp_converter, timestamp_router, value_to_key, PredicatePlugin, TransformPlugin,
};

static TRANSFORMS: &[TransformPlugin] = &[
    insert_field::KEY,
    insert_field::VALUE,
    replace_field::KEY,
    replace_field::VALUE,
    mask_field::KEY,
    mask_field::VALUE,
    value_to_key::PLUGIN,
    extract_field::KEY,
    extract_field::VALUE,
    hoist_field::KEY,
    hoist_field::VALUE,
    cast::KEY,
    cast::VALUE,
    flatten::KEY,
    flatten::VALUE,
    timestamp_router::PLUGIN,
    regex_router::PLUGIN,
    timestamp_converter::KEY,
    timestamp_converter::VALUE,
    set_schema_metadata::KEY,
    set_schema_metadata::VALUE,
    insert_header::PLUGIN,
    drop_headers::PLUGIN,
    header_from::KEY,
    header_from::VALUE,
    filter::PLUGIN,
];

static PREDICATES: &[PredicatePlugin] = &[
    predicates::TOPIC_NAME_MATCHES,
    predicates::HAS_HEADER_KEY,
    predicates::RECORD_IS_TOMBSTONE,
];

/// Every transform plugin.
pub fn transform_plugins() -> &'static [TransformPlugin] {
    TRANSFORMS
}

/// Every predicate plugin.
pub fn predicate_plugins() -> &'static [PredicatePlugin] {
    PREDICATES
}

pub fn find_transform(name: &str) -> Option<&'static TransformPlugin> {
    transform_plugins()
        .iter()
        .find(|p| crate::plugins::name_matches(p.class, p.aliases, None, name))
}

pub fn find_predicate(name: &str) -> Option<&'static PredicatePlugin> {
    predicate_plugins()
        .iter()
        .find(|p| crate::plugins::name_matches(p.class, p.aliases, None, name))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_plugin_is_found_by_class_and_short_name_and_documents_its_keys() {
        for p in transform_plugins() {
            assert!(std::ptr::eq(find_transform(p.class).unwrap(), p));
            let short = p.class.rsplit('.').next().unwrap();
            assert!(std::ptr::eq(find_transform(short).unwrap(), p), "{}", short);
            assert!(!p.doc.is_empty(), "{} has no doc", p.class);
            for k in (p.config_def)().keys() {
                assert!(!k.doc.is_empty(), "{} key {} has no doc", p.class, k.name);
            }
        }
        for p in predicate_plugins() {
            assert!(std::ptr::eq(find_predicate(p.class).unwrap(), p));
            let short = p.class.rsplit('.').next().unwrap();
            assert!(std::ptr::eq(find_predicate(short).unwrap(), p));
            assert!(!p.doc.is_empty());
            for k in (p.config_def)().keys() {
                assert!(!k.doc.is_empty(), "{} key {} has no doc", p.class, k.name);
            }
        }
        assert!(find_transform("org.apache.kafka.connect.transforms.InsertField$Value").is_some());
        assert!(find_transform("InsertField").is_none());
        assert!(
            find_predicate("org.apache.kafka.connect.transforms.predicates.RecordIsTombstone")
                .is_some()
        );
        assert_eq!(transform_plugins().len(), 26);
    }
}
