#![no_main]
//! Fuzz target `config_toml`: see `sgm_train::fuzzing`.

libfuzzer_sys::fuzz_target!(|data: &[u8]| sgm_train::fuzzing::run("config_toml", data));
