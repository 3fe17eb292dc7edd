#![no_main]
//! Fuzz target `checkpoint`: see `sgm_cli::fuzzing`.

libfuzzer_sys::fuzz_target!(|data: &[u8]| sgm_cli::fuzzing::run("checkpoint", data));
