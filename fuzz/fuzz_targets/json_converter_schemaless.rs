//! `JsonConverter` with `schemas.enable=false`: plain JSON in, written back and read
//! again.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sluice_runtime::convert::JsonConverter;

fuzz_target!(|data: &[u8]| {
    let mut c = JsonConverter::with_schemas(false);
    let Ok(v) = c.deserialize(Some(data)) else {
        return;
    };
    if let Ok(Some(bytes)) = c.serialize(&v) {
        let back = c
            .deserialize(Some(&bytes))
            .expect("the converter reads what it wrote");
        assert_eq!(back.value, v.value, "a schemaless round trip keeps the value");
    }
});
