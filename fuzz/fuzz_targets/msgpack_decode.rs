//! `DynamicValue.msgpack` against a fuzzed type: `[type bytes][msgpack]` (see `crossrepl_fuzz::split_type`).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let (ty, bytes) = crossrepl_fuzz::split_type(data);
    crossrepl_fuzz::check_msgpack(&ty, bytes);
});
