#![no_main]
//! Fuzz target `safetensors`: see `sgm_cli::fuzzing`.

libfuzzer_sys::fuzz_target!(|data: &[u8]| sgm_cli::fuzzing::run("safetensors", data));
