//! Header values as the header converter reads them (`SimpleHeaderConverter`, Connect's
//! `Values.parseString`), then written back and read again.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sluice_runtime::convert::{HeaderConverter, SimpleHeaderConverter};

fuzz_target!(|data: &[u8]| {
    let mut c = SimpleHeaderConverter;
    let Ok(v) = c.to_connect_header("t", "h", Some(data)) else {
        return;
    };
    if let Ok(Some(text)) = c.from_connect_header("t", "h", &v) {
        let _ = c.to_connect_header("t", "h", Some(&text));
    }
});
