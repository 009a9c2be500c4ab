//! Fuzz target `timestamp`: see `trace_inspector::fuzzing::timestamp`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| trace_inspector::fuzzing::timestamp(data));
