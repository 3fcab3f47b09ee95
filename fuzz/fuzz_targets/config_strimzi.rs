//! Strimzi `KafkaConnector` resources: the input as a whole resource (YAML or JSON), and
//! as the `spec` of one.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sluice_runtime::config::files::{connector_from_json, parse_connector, Format};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let _ = parse_connector(text, Format::Yaml, "fuzz.yaml");
    let _ = parse_connector(text, Format::Json, "fuzz.json");
    if let Ok(spec) = serde_json::from_str::<serde_json::Value>(text) {
        let doc = serde_json::json!({
            "apiVersion": "kafka.strimzi.io/v1beta2",
            "kind": "KafkaConnector",
            "metadata": {"name": "fuzz"},
            "spec": spec,
        });
        let _ = connector_from_json(&doc, "fuzz.json");
    }
});
