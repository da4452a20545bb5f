//! cty type JSON (`Type::from_json_bytes`, as schemas and dynamic values carry it) on arbitrary bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    crossrepl_fuzz::check_type_json(data);
});
