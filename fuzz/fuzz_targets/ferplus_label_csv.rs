#![no_main]
//! Fuzz target `ferplus_label_csv`: see `sgm_train::fuzzing`.

libfuzzer_sys::fuzz_target!(|data: &[u8]| sgm_train::fuzzing::run("ferplus_label_csv", data));
