//! How hard is the synthetic set? Renders train and test with the default [`SynthConfig`] (or the seed given as
//! the first argument), then classifies test by kNN (K = 11, Euclidean, uniform weights, as the paper's protocol)
//! on raw pixels fitted on train, and prints the accuracy, per-class recall and the render time.
//!
//! `cargo run -p sgm-data --example synth_difficulty -- [SEED] [--sheet grid.png]` also writes a contact sheet of
//! the first test images of every class and sub-class.

use rayon::prelude::*;
use sgm_data::synth::{generate, SynthConfig, EXPRESSION_NAMES, SUBCLASSES_PER_CLASS};
use sgm_data::{ImageSet, Split};
use std::time::Instant;

/// Predicted label of every `test` image by majority vote among its `k` nearest `train` images (ties → the
/// lowest label, as scikit-learn's argmax does).
fn knn_predict(train: &ImageSet, labels: &[u32], test: &ImageSet, k: usize) -> Vec<u32> {
    let to_f32 = |s: &ImageSet| -> Vec<f32> { s.pixels.iter().map(|&v| v as f32 / 255.0).collect() };
    let (tr, te) = (to_f32(train), to_f32(test));
    let d = train.height * train.width;
    let classes = labels.iter().max().map_or(0, |&m| m as usize + 1);
    (0..test.len())
        .into_par_iter()
        .map(|q| {
            let x = &te[q * d..(q + 1) * d];
            let mut dist: Vec<(f32, u32)> = (0..train.len())
                .map(|i| {
                    let y = &tr[i * d..(i + 1) * d];
                    (x.iter().zip(y).map(|(a, b)| (a - b) * (a - b)).sum::<f32>(), labels[i])
                })
                .collect();
            dist.select_nth_unstable_by(k - 1, |a, b| a.0.total_cmp(&b.0));
            let mut votes = vec![0usize; classes];
            for &(_, l) in &dist[..k] {
                votes[l as usize] += 1;
            }
            let best = *votes.iter().max().unwrap_or(&0);
            votes.iter().position(|&v| v == best).unwrap_or(0) as u32
        })
        .collect()
}

/// Accuracy of assigning every test image to the class whose mean train image is nearest (Euclidean).
fn nearest_centroid(train: &ImageSet, test: &ImageSet) -> f64 {
    let d = train.height * train.width;
    let c = train.num_classes();
    let mut means = vec![0f64; c * d];
    let counts = train.class_counts();
    for (i, s) in train.samples.iter().enumerate() {
        for (m, &v) in means[s.label as usize * d..][..d].iter_mut().zip(train.image(i)) {
            *m += v as f64 / counts[s.label as usize] as f64;
        }
    }
    let ok = (0..test.len())
        .filter(|&q| {
            let x = test.image(q);
            let dist =
                |k: usize| -> f64 { means[k * d..][..d].iter().zip(x).map(|(m, &v)| (m - v as f64).powi(2)).sum() };
            let best = (0..c).min_by(|&a, &b| dist(a).total_cmp(&dist(b))).unwrap_or(0);
            best as u32 == test.samples[q].label
        })
        .count();
    ok as f64 / test.len() as f64
}

fn contact_sheet(set: &ImageSet, path: &str) -> Result<(), Box<dyn std::error::Error>> {
    use sgm_plot::sheet::{contact_sheet, SheetCell, SheetLayout};
    let per = 6; // images per (class, sub-class) row; a row with fewer stays black
    let blank = vec![0u8; set.height * set.width];
    let mut cells = Vec::new();
    for label in 0..set.num_classes() as u32 {
        for sub in 0..SUBCLASSES_PER_CLASS as u32 {
            let picks: Vec<usize> = (0..set.len())
                .filter(|&i| set.samples[i].label == label && set.samples[i].subclass == Some(sub))
                .take(per)
                .collect();
            cells.extend((0..per).map(|c| SheetCell {
                pixels: picks.get(c).map_or(&blank[..], |&i| set.image(i)),
                frame: None,
                bar: None,
            }));
        }
    }
    let layout =
        SheetLayout { columns: per, height: set.height, width: set.width, gap: 0, bar: 0, background: [0, 0, 0] };
    let (w, h, rgb) = contact_sheet(&layout, &cells);
    let gray: Vec<u8> = rgb.chunks_exact(3).map(|p| p[0]).collect();
    image::GrayImage::from_raw(w, h, gray).ok_or("bad sheet size")?.save(path)?;
    Ok(())
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut cfg = SynthConfig::default();
    let mut sheet = None;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--sheet" => sheet = it.next().cloned(),
            "--nuisance" => cfg.nuisance = it.next().ok_or("--nuisance needs a value")?.parse()?,
            s => cfg.seed = s.parse()?,
        }
    }
    let t0 = Instant::now();
    let train = generate(&cfg, Split::Train)?;
    let test = generate(&cfg, Split::Test)?;
    let render_s = t0.elapsed().as_secs_f64();
    let t1 = Instant::now();
    let pred = knn_predict(&train, &train.labels(), &test, 11);
    let truth = test.labels();
    let correct = pred.iter().zip(&truth).filter(|(p, t)| p == t).count();
    println!(
        "seed {} nuisance {}: rendered {} images in {:.2} s; kNN (K=11, raw pixels) in {:.2} s",
        cfg.seed,
        cfg.nuisance,
        train.len() + test.len(),
        render_s,
        t1.elapsed().as_secs_f64()
    );
    println!("test accuracy: {:.2} % (chance 12.5 %)", 100.0 * correct as f64 / truth.len() as f64);
    for (c, name) in EXPRESSION_NAMES.iter().enumerate() {
        let n = truth.iter().filter(|&&t| t == c as u32).count();
        let ok = pred.iter().zip(&truth).filter(|(p, t)| **t == c as u32 && **p == c as u32).count();
        println!("  {name:<10} recall {:.1} %", 100.0 * ok as f64 / n.max(1) as f64);
    }
    println!("nearest class mean (a linear classifier), raw pixels: {:.2} %", 100.0 * nearest_centroid(&train, &test));
    // Sub-classes as 24 labels: how visible are the hidden factors to raw-pixel kNN?
    let sub = |s: &ImageSet| -> Vec<u32> {
        s.samples.iter().map(|m| m.label * SUBCLASSES_PER_CLASS as u32 + m.subclass.unwrap_or(0)).collect()
    };
    let sub_pred = knn_predict(&train, &sub(&train), &test, 11);
    let sub_truth = sub(&test);
    let sub_ok = sub_pred.iter().zip(&sub_truth).filter(|(p, t)| p == t).count();
    println!(
        "sub-class kNN (24 labels, K=11): {:.2} % (chance {:.1} %)",
        100.0 * sub_ok as f64 / sub_truth.len() as f64,
        100.0 / 24.0
    );
    if let Some(path) = sheet {
        contact_sheet(&test, &path)?;
        println!("contact sheet: {path}");
    }
    Ok(())
}
