//! Small pieces every Schema Registry converter (Avro, JSON Schema, Protobuf) needs.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::Arc;

use crate::convert::ConvertError;
use crate::data::{SchemaAndValue, SchemaRef};

/// Keeps a schema read by id, emptying the cache first when it holds `capacity`
/// (`schema.registry` cache size): reads are rare, so no finer eviction is needed.
pub fn remember_read<K: Hash + Eq, V>(
    cache: &mut HashMap<K, Arc<V>>,
    capacity: usize,
    key: K,
    value: Arc<V>,
) {
    if cache.len() >= capacity {
        cache.clear();
    }
    cache.insert(key, value);
}

/// The schema of data to serialize: `Ok(None)` for a null without a schema (written as
/// null); an error naming the converter and the side for other schemaless data.
pub fn schema_to_write<'a>(
    converter: &str,
    is_key: bool,
    data: &'a SchemaAndValue,
) -> Result<Option<&'a SchemaRef>, ConvertError> {
    match &data.schema {
        Some(s) => Ok(Some(s)),
        None if data.value.is_null() => Ok(None),
        None => Err(ConvertError::new(format!(
            "{} needs a schema, and this record's {} has none (a schemaless {}, e.g. from JsonConverter with schemas.enable=false)",
            converter,
            if is_key { "key" } else { "value" },
            data.value.kind_name()
        ))),
    }
}
