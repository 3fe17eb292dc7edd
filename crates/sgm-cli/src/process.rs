//! Process-wide CPU settings for the programs that train (`sgm` and `cargo xtask reproduce`). A library must not
//! make them on its own: they belong to whoever owns the process, which calls [`tune`] first thing in `main`.
//!
//! - **Allocator:** glibc's malloc returns every freed block above its mmap threshold to the kernel, so a training
//!   step that frees and reallocates its activations pays page faults and page zeroing on every tensor (measured on
//!   a ResNet18 48² batch-64 step: system time 0.86 s → 0.30 s per 3 steps, step time −20%). Raising the mmap and
//!   trim thresholds keeps the memory in the heap. mimalloc as the global allocator gave the same step time within
//!   noise but a 17% higher peak RSS, and glibc tuning needs no extra crate; `MALLOC_MMAP_THRESHOLD_` /
//!   `MALLOC_TRIM_THRESHOLD_` in the environment still win. One malloc arena for the whole process
//!   (`MALLOC_ARENA_MAX` wins): a step runs on whichever rayon worker picks it up (`sgm_models::on_workers`), and
//!   with an arena per thread each worker's arena kept its own copy of the freed activations (peak RSS of a
//!   PreActResNet18 48² evaluation 845 → 1537 MiB).
//! - **candle's element-wise thread pool:** candle 0.11 runs element-wise ops on its own spinning barrier pool
//!   next to rayon's (which runs the matrix products and sgm's kernels). With two sets of busy threads on few cores
//!   the waiters spin against the workers, and a train step takes longer (measured in `docs/performance.md`). sgm sets
//!   `CANDLE_NUM_THREADS=1` (element-wise ops on the calling thread) unless the environment sets it; the
//!   convolutions, matrix products and sgm's fused kernels still use `RAYON_NUM_THREADS` threads.
//!
//! `crates/sgm-cli/examples/bench.rs` (what `cargo xtask bench` times) applies the same settings.

/// Applies the settings above unless the environment already sets them. Call it before any thread starts and
/// before candle's first element-wise op.
pub fn tune() {
    if std::env::var_os("CANDLE_NUM_THREADS").is_none() {
        std::env::set_var("CANDLE_NUM_THREADS", "1");
    }
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        if std::env::var_os("MALLOC_MMAP_THRESHOLD_").is_none() {
            // SAFETY: mallopt only changes allocator parameters; no other thread exists yet.
            unsafe { libc::mallopt(libc::M_MMAP_THRESHOLD, 1 << 30) };
        }
        if std::env::var_os("MALLOC_TRIM_THRESHOLD_").is_none() {
            // SAFETY: as above.
            unsafe { libc::mallopt(libc::M_TRIM_THRESHOLD, i32::MAX) };
        }
        if std::env::var_os("MALLOC_ARENA_MAX").is_none() {
            // SAFETY: as above.
            unsafe { libc::mallopt(libc::M_ARENA_MAX, 1) };
        }
    }
}
