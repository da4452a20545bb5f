//! `DynamicValue.json` (and raw state) against a fuzzed type: `[type bytes][JSON]` (see `crossrepl_fuzz::split_type`),
//! decoded with `ignore_undefined_attributes` off and on.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let (ty, bytes) = crossrepl_fuzz::split_type(data);
    crossrepl_fuzz::check_json(&ty, bytes);
});
