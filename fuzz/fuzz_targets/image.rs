#![no_main]
//! Fuzz target `image`: see `sgm_cli::fuzzing`.

libfuzzer_sys::fuzz_target!(|data: &[u8]| sgm_cli::fuzzing::run("image", data));
