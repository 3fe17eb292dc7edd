//! Running a whole step on the thread pool's workers.
//!
//! Every CPU kernel of sgm (convolutions, BatchNorm, pooling, gemm's products, Adam) splits its work with rayon.
//! Called from a thread outside the pool, such as a program's main thread, each of those parallel sections is
//! injected into the pool while the caller sleeps on a latch: a wake-up and a sleep per section, hundreds of them
//! per training step. [`on_workers`] moves the whole step onto a worker once, so that the sections inside it fork
//! and join among the workers directly (the caller's own worker takes part, as OpenMP's master thread does).

/// Runs `f` on a worker of the current rayon pool (the global pool unless called inside another one) and returns
/// its result; the calling thread waits. Inside a worker already, `f` simply runs.
///
/// Allocation: the step runs on whichever worker picks it up, so with glibc's default of one malloc arena per thread
/// each worker's arena ends up holding its own copy of the freed activations (more page faults and a higher peak).
/// A process that uses this should cap the arenas (`mallopt(M_ARENA_MAX, 1)` or `MALLOC_ARENA_MAX=1`), as
/// `sgm_cli::process::tune` does for the `sgm` binary: measured on an AlexNet 48² training step, 1.51 s with an
/// arena per thread against 1.15 s with one.
pub fn on_workers<R: Send>(f: impl FnOnce() -> R + Send) -> R {
    rayon::scope(|_| f())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_closure_runs_on_a_worker_and_its_result_comes_back() {
        assert!(rayon::current_thread_index().is_none(), "the test harness thread is not a worker");
        let (index, sum) = on_workers(|| {
            use rayon::prelude::*;
            (rayon::current_thread_index(), (0..1000u64).into_par_iter().sum::<u64>())
        });
        assert!(index.is_some());
        assert_eq!(sum, 499_500);
        // Nested: already on a worker, it runs in place.
        assert!(on_workers(|| on_workers(|| rayon::current_thread_index().is_some())));
    }
}
