//! The REST request bodies, parsed as the handlers do: connector create, config put and
//! patch, config validate, offsets alter.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sluice_runtime::rest::bodies;

fuzz_target!(|data: &[u8]| {
    let Ok(body) = bodies::parse_body(data) else {
        return;
    };
    let _ = bodies::parse_create(&body);
    let _ = bodies::config_map(&body);
    let _ = bodies::parse_patch(&body);
    let _ = bodies::parse_offsets(&body);
    let _ = bodies::parse_state(Some(&body));
});
