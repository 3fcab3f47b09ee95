//! Connector and worker configs in YAML.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sluice_runtime::config::files::{parse_connector, parse_worker, Format};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let _ = parse_connector(text, Format::Yaml, "fuzz.yaml");
    let _ = parse_worker(text, Format::Yaml, "fuzz.yaml");
});
