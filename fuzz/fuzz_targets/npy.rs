#![no_main]
//! Fuzz target `npy`: see `sgm_train::fuzzing`.

libfuzzer_sys::fuzz_target!(|data: &[u8]| sgm_train::fuzzing::run("npy", data));
