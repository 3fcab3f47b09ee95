//! The MongoDB sink's mapping of record values to documents: bytes (BSON or JSON text),
//! strings (Extended JSON), and what the JsonConverter makes of the bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sluice_connectors::mongodb::to_document;
use sluice_runtime::convert::JsonConverter;
use sluice_runtime::data::{SchemaAndValue, Value};

fuzz_target!(|data: &[u8]| {
    let _ = to_document(&SchemaAndValue::schemaless(Value::Bytes(
        bytes::Bytes::copy_from_slice(data),
    )));
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = to_document(&SchemaAndValue::schemaless(Value::String(text.into())));
    }
    for schemas in [false, true] {
        if let Ok(v) = JsonConverter::with_schemas(schemas).deserialize(Some(data)) {
            let _ = to_document(&v);
        }
    }
});
