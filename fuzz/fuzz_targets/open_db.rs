//! Fuzz target `open_db`: see `trace_inspector::fuzzing::open_db`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| trace_inspector::fuzzing::open_db(data));
