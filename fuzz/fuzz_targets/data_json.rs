//! Fuzz target `data_json`: see `trace_inspector::fuzzing::data_json`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| trace_inspector::fuzzing::data_json(data));
