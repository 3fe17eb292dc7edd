#![no_main]
//! Fuzz target `config_toml`: see `sgm_cli::fuzzing`.

libfuzzer_sys::fuzz_target!(|data: &[u8]| sgm_cli::fuzzing::run("config_toml", data));
