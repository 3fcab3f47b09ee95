//! `JsonConverter` with `schemas.enable=true`: Connect's envelope in, and what it read
//! written back and read again.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sluice_runtime::convert::JsonConverter;

fuzz_target!(|data: &[u8]| {
    let mut c = JsonConverter::with_schemas(true);
    let Ok(v) = c.deserialize(Some(data)) else {
        return;
    };
    if let Ok(Some(bytes)) = c.serialize(&v) {
        // What the converter wrote it must read back.
        c.deserialize(Some(&bytes))
            .expect("the converter reads what it wrote");
    }
});
