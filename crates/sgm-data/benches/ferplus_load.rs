//! FER+ loading speed (images/s): decoding all 35,710 PNGs from disk with the label rule, against serving the
//! decoded set from sgm-data's in-memory cache. Needs the real data: `SGM_DATA_DIR=… cargo bench -p sgm-data`
//! (reads `$SGM_DATA_DIR/ferplus`); without it the bench says so and measures nothing.
//!
//! "From disk" means from files through the OS page cache: after the first iteration the files are in memory, so
//! the figure is decode-bound, not disk-bound. Drop the page cache (`echo 3 > /proc/sys/vm/drop_caches`, as root)
//! before a run to see the cold-disk figure of the first iteration.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use sgm_data::{load, loaders::clear_cache, loaders::load_cached, Format, LoadOptions};
use std::path::PathBuf;

fn bench(c: &mut Criterion) {
    let Some(root) = std::env::var_os("SGM_DATA_DIR").map(|d| PathBuf::from(d).join("ferplus")) else {
        eprintln!("skipping the FER+ load bench: SGM_DATA_DIR is not set");
        return;
    };
    let opts = LoadOptions::default();
    let images: usize =
        load(Format::Ferplus, &root, &opts).expect("FER+ loads").report.splits.iter().map(|s| s.found).sum();
    let mut g = c.benchmark_group("ferplus-load");
    g.sample_size(10);
    g.throughput(Throughput::Elements(images as u64));
    g.bench_function("decode-from-files", |b| {
        b.iter(|| {
            clear_cache();
            load_cached(Format::Ferplus, &root, &opts).unwrap()
        })
    });
    load_cached(Format::Ferplus, &root, &opts).unwrap();
    g.bench_function("in-memory-cache", |b| b.iter(|| load_cached(Format::Ferplus, &root, &opts).unwrap()));
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
