//! Fuzz target `spans`: see `trace_inspector::fuzzing::spans`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| trace_inspector::fuzzing::spans(data));
