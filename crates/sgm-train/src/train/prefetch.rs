//! Batches built on a worker thread while the device runs the previous step.
//!
//! Every batch is a pure function of its position (the sampler's indices, the epoch and the batch number seed
//! its augmentation), so building it on another thread, ahead of time, gives exactly the batches of the serial
//! loop, in the same order: prefetching changes when a batch is built, never what it holds.

use std::sync::mpsc;

/// Calls `consume(i, make(i))` for `i` in `0..n`, in order, with `make` running on one worker thread up to
/// `depth` items ahead (a bounded channel). `depth = 0` is the serial loop on the calling thread.
///
/// The first error of either side stops both and is returned; items built ahead of an error are dropped.
pub fn prefetch<T, E>(
    n: usize,
    depth: usize,
    make: impl Fn(usize) -> Result<T, E> + Sync,
    mut consume: impl FnMut(usize, T) -> Result<(), E>,
) -> Result<(), E>
where
    T: Send,
    E: Send,
{
    if depth == 0 {
        for i in 0..n {
            consume(i, make(i)?)?;
        }
        return Ok(());
    }
    std::thread::scope(|scope| {
        let (tx, rx) = mpsc::sync_channel::<Result<T, E>>(depth);
        let make = &make;
        scope.spawn(move || {
            for i in 0..n {
                let item = make(i);
                let failed = item.is_err();
                // A closed channel means the consumer stopped (its own error): stop building.
                if tx.send(item).is_err() || failed {
                    return;
                }
            }
        });
        for i in 0..n {
            // The worker sends exactly one item per index until its first error, which it sends too.
            let item = rx.recv().expect("the prefetch worker ended without sending its item or error")?;
            consume(i, item)?;
        }
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn collect(n: usize, depth: usize) -> Vec<(usize, u64)> {
        let mut seen = Vec::new();
        prefetch(
            n,
            depth,
            |i| Ok::<_, String>((i as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15)),
            |i, v| {
                seen.push((i, v));
                Ok(())
            },
        )
        .unwrap();
        seen
    }

    #[test]
    fn same_items_in_the_same_order_as_the_serial_loop() {
        let serial = collect(50, 0);
        assert_eq!(serial.len(), 50);
        for depth in [1, 2, 8, 100] {
            assert_eq!(collect(50, depth), serial, "depth {depth}");
        }
        assert!(collect(0, 2).is_empty());
    }

    #[test]
    fn errors_of_either_side_stop_the_loop() {
        let mut consumed = 0;
        let e = prefetch(
            10,
            2,
            |i| if i == 4 { Err(format!("bad {i}")) } else { Ok(i) },
            |_, _| {
                consumed += 1;
                Ok(())
            },
        );
        assert_eq!(e, Err("bad 4".to_string()));
        assert_eq!(consumed, 4);
        let e = prefetch(10, 2, Ok::<_, String>, |i, _| if i == 2 { Err("stop".to_string()) } else { Ok(()) });
        assert_eq!(e, Err("stop".to_string()));
    }

    /// The training batches of an epoch (augmented, seeded by epoch and batch number) are the same tensors
    /// whether built on a worker thread ahead of time or one by one.
    #[test]
    fn prefetched_training_batches_equal_the_serial_ones() {
        use candle_core::{DType, Device};
        use sgm_data::augment::BatchBuilder;
        use sgm_data::sampler::StratifiedBatchSampler;
        use sgm_data::{generate_synth, Split, SynthConfig};

        let set = generate_synth(&SynthConfig::small(6, 2), Split::Train).unwrap();
        let mut cfg = crate::train::TrainConfig::default();
        cfg.model.input_size = 24;
        let builder = BatchBuilder::new(cfg.batch_config(), cfg.augment.clone(), 99, Device::Cpu).unwrap();
        let batches = StratifiedBatchSampler::all_classes(&set.labels(), 2, 5).unwrap().epoch(3);
        assert!(batches.len() >= 2);
        let run = |depth: usize| {
            let mut out = Vec::new();
            prefetch(
                batches.len(),
                depth,
                |b| builder.build(&set, &batches[b], 3, b as u64).map_err(|e| e.to_string()),
                |_, batch| {
                    let images = batch.images.to_dtype(DType::F32).unwrap().flatten_all().unwrap();
                    let labels = batch.labels.to_dtype(DType::U32).unwrap().to_vec1::<u32>().unwrap();
                    out.push((images.to_vec1::<f32>().unwrap(), labels, batch.indices));
                    Ok::<(), String>(())
                },
            )
            .unwrap();
            out
        };
        let serial = run(0);
        assert_eq!(serial.len(), batches.len());
        assert_eq!(run(2), serial);
        assert_eq!(run(1), serial);
    }
}
