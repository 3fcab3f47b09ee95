//! Connector and worker configs as Java `.properties`, and format detection.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sluice_runtime::config::files::{parse_connector, parse_worker, Format};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let _ = parse_connector(text, Format::Properties, "fuzz.properties");
    let _ = parse_worker(text, Format::Properties, "fuzz.properties");
    let detected = Format::detect(std::path::Path::new("connector"), text);
    let _ = parse_connector(text, detected, "connector");
});
