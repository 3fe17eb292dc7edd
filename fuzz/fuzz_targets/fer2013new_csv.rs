#![no_main]
//! Fuzz target `fer2013new_csv`: see `sgm_train::fuzzing`.

libfuzzer_sys::fuzz_target!(|data: &[u8]| sgm_train::fuzzing::run("fer2013new_csv", data));
